"""A small, fast BER codec for SNMPv1/v2c messages (RFC 1157, RFC 3416): GET, GETNEXT and
GETBULK requests, and their responses.

Why our own: pysnmp decodes through pyasn1 at about 0.25 ms of CPU per value, more than
forking net-snmp's C tools costs per value; this codec needs about a tenth of that. SNMPv3
(USM security) stays with pysnmp. Decoding is defensive: a malformed answer raises
:class:`BerError`, never anything else, and in time linear in its length. Sizes are bounded
as the SMI bounds them, so a hostile agent cannot hand us a 40,000-digit "counter":
INTEGER/Integer32, Counter32, Gauge32 and TimeTicks hold at most 32 bits, Counter64 64 bits
(net-snmp's ``asn_parse_int``/``asn_parse_unsigned_int`` refuse longer ones too), an OBJECT
IDENTIFIER at most 128 sub-identifiers of at most 32 bits each (RFC 2578 3.5 and 7.1.3)."""

from __future__ import annotations

import functools
from typing import NamedTuple

GET, GETNEXT, RESPONSE, GETBULK = 0xA0, 0xA1, 0xA2, 0xA5
TRAP_V1, INFORM, TRAP_V2 = 0xA4, 0xA6, 0xA7
INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
UNSIGNED_TAGS = frozenset((COUNTER32, GAUGE32, TIMETICKS, COUNTER64))
MAX_OID_ARCS = 128          # RFC 2578 3.5: at most 128 sub-identifiers
MAX_ARC = 2**32 - 1         # RFC 2578 7.1.3: each at most 2^32-1
# The largest encoding of each integer type: a 32-bit unsigned value may need a leading
# zero byte (5 bytes), a 64-bit one 9. INTEGER is Integer32, but agents send unsigned
# 32-bit values in it too (hrStorageSize of a big disk), so it gets 5 bytes as well.
INTEGER_BYTES = {INTEGER: 5, COUNTER32: 5, GAUGE32: 5, TIMETICKS: 5, COUNTER64: 9}
TYPE_NAMES = {INTEGER: "INTEGER", COUNTER32: "Counter32", GAUGE32: "Gauge32",
              TIMETICKS: "TimeTicks", COUNTER64: "Counter64"}


class EndOfMibView:
    """The value of a var-bind past the end of the agent's MIB view."""

    def __repr__(self) -> str:
        return "endOfMibView"


END_OF_MIB = EndOfMibView()


class BerError(ValueError):
    """The bytes are not a well-formed SNMP message."""


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _int(value: int) -> bytes:
    return _tlv(INTEGER, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big",
                                        signed=True))


@functools.lru_cache(maxsize=4096)
def encode_oid(oid: str) -> bytes:
    # cached: a poll asks the same roots and continuation OIDs every interval (issue 16:
    # 114,000 encodings in three minutes of 500 devices)
    arcs = [int(a) for a in oid.strip(".").split(".")]
    if len(arcs) < 2:
        arcs.append(0)
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _tlv(OID, bytes(out))


@functools.lru_cache(maxsize=4096)
def _request_varbind(oid: str) -> bytes:
    # The var-bind a request carries (the OID and NULL), cached with the OID's encoding.
    return _tlv(SEQUENCE, encode_oid(oid) + b"\x05\x00")


def encode_request(version: int, community: bytes, pdu_type: int, request_id: int,
                   oids: list[str], non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """A request message; ``version`` 0 is SNMPv1, 1 is SNMPv2c."""
    varbinds = b"".join(map(_request_varbind, oids))
    second, third = (non_repeaters, max_repetitions) if pdu_type == GETBULK else (0, 0)
    pdu = _tlv(pdu_type, _int(request_id) + _int(second) + _int(third)
               + _tlv(SEQUENCE, varbinds))
    return _tlv(SEQUENCE, _int(version) + _tlv(OCTET_STRING, community) + pdu)


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the TLV at ``pos``."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise BerError("bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    else:
        length = first
    if pos + length > end:
        raise BerError("truncated")
    return tag, pos, pos + length


_ARC_TEXT = [str(i) for i in range(128)]
_HEAD_TEXT = [f"0.{i}" if i < 40 else f"1.{i - 40}" if i < 80 else f"2.{i - 80}"
              for i in range(128)]


# The text of the OIDs decoded lately, by their encoding: the same OIDs come back at every
# poll and from every device of a model (a 48-port switch's ifTable is the same 1,200 OIDs on
# each), and decoding was a tenth of the daemon's CPU per value (issue 16). Bounded: emptied
# when full (16,384 OIDs: ~3 MB at most; a town's devices have fewer distinct OIDs).
OID_CACHE_SIZE = 16_384
_OID_TEXT: dict[bytes, str] = {}


def decode_oid(data: bytes, start: int, end: int) -> str:
    """The dotted text of the OID content ``data[start:end]``; raises BerError for an empty
    OID, more than 128 sub-identifiers or one beyond 32 bits (linear time in any case)."""
    chunk = data[start:end]
    text = _OID_TEXT.get(chunk)
    if text is None:
        text = _decode_oid(chunk)
        if len(_OID_TEXT) >= OID_CACHE_SIZE:
            _OID_TEXT.clear()
        _OID_TEXT[chunk] = text
    return text


def _decode_oid(chunk: bytes) -> str:
    size = len(chunk)
    if size > MAX_OID_ARCS * 5:  # each sub-identifier takes at most 5 bytes
        raise BerError(f"OID of {size} bytes is longer than {MAX_OID_ARCS} "
                       "sub-identifiers")
    if chunk.isascii() and size:  # every sub-identifier one byte: most OIDs, the fast way
        if size >= MAX_OID_ARCS:  # the first byte holds two arcs
            raise BerError(f"OID with more than {MAX_OID_ARCS} sub-identifiers")
        if size == 1:
            return _HEAD_TEXT[chunk[0]]
        return _HEAD_TEXT[chunk[0]] + "." + ".".join(map(_ARC_TEXT.__getitem__, chunk[1:]))
    arcs = []
    value = 0
    for byte in chunk:
        if byte & 0x80:
            value = (value << 7) | (byte & 0x7F)
            if value > MAX_ARC:  # already too long before its last byte: stop growing it
                raise BerError("OID sub-identifier longer than 32 bits")
        else:
            arcs.append((value << 7) | byte)
            value = 0
    if not arcs or chunk[-1] & 0x80:
        raise BerError("empty or unterminated OID")
    if len(arcs) >= MAX_OID_ARCS:
        raise BerError(f"OID with more than {MAX_OID_ARCS} sub-identifiers")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    if head[1] > MAX_ARC or (len(arcs) > 1 and max(arcs[1:]) > MAX_ARC):
        raise BerError("OID sub-identifier longer than 32 bits")
    return ".".join(map(str, (*head, *arcs[1:])))


def _integer(tag: int, data: bytes, start: int, end: int) -> int:
    size = end - start
    if 0 < size < 5:   # fits whatever the type: the common case, decided without lookups
        return int.from_bytes(data[start:end], "big", signed=tag == INTEGER)
    limit = INTEGER_BYTES[tag]
    if size == 0 or size > limit:
        raise BerError(f"{TYPE_NAMES[tag]} of {size} bytes (at most {limit})")
    if tag == INTEGER:
        value = int.from_bytes(data[start:end], "big", signed=True)
        if not -2**31 <= value < 2**32:
            raise BerError("INTEGER beyond 32 bits")
        return value
    if size == limit and data[start]:  # only a leading zero may be extra
        raise BerError(f"{TYPE_NAMES[tag]} beyond {64 if tag == COUNTER64 else 32} bits")
    return int.from_bytes(data[start:end], "big")


def _value(tag: int, data: bytes, start: int, end: int):
    if tag == OCTET_STRING or tag == OPAQUE:
        return data[start:end]
    if tag == INTEGER or tag in UNSIGNED_TAGS:
        return _integer(tag, data, start, end)
    if tag == OID:
        return decode_oid(data, start, end)
    if tag == IP_ADDRESS:
        return ".".join(map(str, data[start:end]))
    if tag == END_OF_MIB_VIEW:
        return END_OF_MIB
    return None  # NULL, noSuchObject, noSuchInstance, unknown application types


def request_id_of(data: bytes) -> int | None:
    """The request id of a response, cheaply (to route it), or None if it is not one."""
    try:
        _, pos, end = _header(data, 0, len(data))
        _, v_start, v_end = _header(data, pos, end)
        _, c_start, c_end = _header(data, v_end, end)
        tag, p_start, p_end = _header(data, c_end, end)
        if tag != RESPONSE:
            return None
        tag, r_start, r_end = _header(data, p_start, p_end)
        if tag != INTEGER:
            return None
        return _integer(INTEGER, data, r_start, r_end)
    except (BerError, IndexError):
        return None


class Answer(NamedTuple):
    """A decoded Response-PDU and the header a manager checks it against."""

    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[str, object]]


def _varbinds(data: bytes, start: int, end: int) -> list[tuple[str, object]]:
    varbinds = []
    pos = start
    while pos < end:
        # The usual var-bind: short-form lengths for the sequence and the OID (read inline:
        # this loop is most of an answer's CPU); anything else takes the general path.
        if (data[pos] == SEQUENCE and data[pos + 1] < 0x80 and data[pos + 2] == OID
                and data[pos + 3] < 0x80):
            vb_end = pos + 2 + data[pos + 1]
            o_start = pos + 4
            o_end = o_start + data[pos + 3]
            if vb_end > end or o_end > vb_end:
                raise BerError("truncated")
        else:
            tag, vb_start, vb_end = _header(data, pos, end)
            if tag != SEQUENCE:
                raise BerError("var-bind is not a sequence")
            o_tag, o_start, o_end = _header(data, vb_start, vb_end)
            if o_tag != OID:
                raise BerError("var-bind without an OID")
        oid = decode_oid(data, o_start, o_end)
        tag = data[o_end]
        size = data[o_end + 1]
        if size < 0x80 and o_end + 2 + size == vb_end:
            # The usual value, short-form and filling the var-bind: strings, and integers
            # that fit any integer type, decoded without the general path's calls.
            if tag == OCTET_STRING:
                varbinds.append((oid, data[o_end + 2:vb_end]))
                pos = vb_end
                continue
            if 0 < size < 5 and (tag == INTEGER or tag in UNSIGNED_TAGS):
                varbinds.append((oid, int.from_bytes(data[o_end + 2:vb_end], "big",
                                                     signed=tag == INTEGER)))
                pos = vb_end
                continue
        tag, val_start, val_end = _header(data, o_end, vb_end)
        varbinds.append((oid, _value(tag, data, val_start, val_end)))
        pos = vb_end
    return varbinds


def decode_answer(data: bytes) -> Answer:
    """The whole Response-PDU message; raises BerError (only) when any part of it is not
    well-formed. Values: int, bytes, str (OID, IpAddress), ``END_OF_MIB``, or None (NULL,
    noSuchObject, noSuchInstance)."""
    try:
        version, community, pdu_type, _, p_start, p_end = decode_message(data)
        if pdu_type != RESPONSE:
            raise BerError(f"PDU type {pdu_type:#x} is not a response")
        numbers = []
        pos = p_start
        for _ in range(3):
            tag, n_start, n_end = _header(data, pos, p_end)
            if tag != INTEGER:
                raise BerError("request-id, error-status or error-index missing")
            numbers.append(_integer(INTEGER, data, n_start, n_end))
            pos = n_end
        tag, l_start, l_end = _header(data, pos, p_end)
        if tag != SEQUENCE:
            raise BerError("no var-bind list")
        return Answer(version, community, numbers[0], numbers[1], numbers[2],
                      _varbinds(data, l_start, l_end))
    except (IndexError, ValueError) as exc:  # BerError is a ValueError
        if isinstance(exc, BerError):
            raise
        raise BerError(str(exc)) from None


def decode_response(data: bytes) -> tuple[int, int, int, list[tuple[str, object]]]:
    """(request id, error status, error index, [(oid, value)]) of a Response-PDU."""
    answer = decode_answer(data)
    return answer.request_id, answer.error_status, answer.error_index, answer.varbinds


def decode_message(data: bytes) -> tuple[int, bytes, int, bytes, int, int]:
    """(version, community, PDU type, the whole message, PDU start, PDU end) of any
    SNMPv1/v2c message; raises BerError."""
    try:
        tag, pos, end = _header(data, 0, len(data))
        if tag != SEQUENCE:
            raise BerError("not a sequence")
        tag, v_start, v_end = _header(data, pos, end)
        if tag != INTEGER:
            raise BerError("no version")
        version = _integer(INTEGER, data, v_start, v_end)
        tag, c_start, c_end = _header(data, v_end, end)
        if tag != OCTET_STRING:
            raise BerError("no community (an SNMPv3 message?)")
        pdu_type, p_start, p_end = _header(data, c_end, end)
        return version, data[c_start:c_end], pdu_type, data, p_start, p_end
    except (IndexError, ValueError) as exc:
        if isinstance(exc, BerError):
            raise
        raise BerError(str(exc)) from None


def decode_fields(data: bytes, start: int, end: int) -> list[tuple[int, object]]:
    """The TLVs between ``start`` and ``end`` as (tag, value); a SEQUENCE of var-binds
    becomes a list of (oid, value). Raises BerError (only)."""
    try:
        fields: list[tuple[int, object]] = []
        pos = start
        while pos < end:
            tag, v_start, v_end = _header(data, pos, end)
            if tag == SEQUENCE:
                fields.append((tag, _varbinds(data, v_start, v_end)))
            else:
                fields.append((tag, _value(tag, data, v_start, v_end)))
            pos = v_end
        return fields
    except (IndexError, ValueError) as exc:
        if isinstance(exc, BerError):
            raise
        raise BerError(str(exc)) from None


def encode_response_to(version: int, community: bytes, request_id: int,
                       varbinds: list[tuple[str, object]]) -> bytes:
    """The Response-PDU acknowledging an InformRequest (its var-binds echoed, values NULL)."""
    body = b"".join(_tlv(SEQUENCE, encode_oid(o) + b"\x05\x00") for o, _ in varbinds)
    pdu = _tlv(RESPONSE, _int(request_id) + _int(0) + _int(0) + _tlv(SEQUENCE, body))
    return _tlv(SEQUENCE, _int(version) + _tlv(OCTET_STRING, community) + pdu)
