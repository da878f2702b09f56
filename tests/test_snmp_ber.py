"""Our SNMPv1/v2c BER codec against hand-built messages and net-snmp's encodings."""

from __future__ import annotations

import pytest

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.ber import _int, _tlv, encode_oid


def response(varbinds: bytes, request_id: int = 7, status: int = 0, index: int = 0) -> bytes:
    pdu = _tlv(ber.RESPONSE, _int(request_id) + _int(status) + _int(index)
               + _tlv(ber.SEQUENCE, varbinds))
    return _tlv(ber.SEQUENCE, _int(1) + _tlv(ber.OCTET_STRING, b"public") + pdu)


def vb(oid: str, tag: int, content: bytes) -> bytes:
    return _tlv(ber.SEQUENCE, encode_oid(oid) + _tlv(tag, content))


def test_request_matches_net_snmp_bytes():
    # snmpget -v2c -c public HOST sysUpTime.0 with request id 1, as captured
    assert ber.encode_request(1, b"public", ber.GET, 1, ["1.3.6.1.2.1.1.3.0"]).hex() == (
        "302602010104067075626c6963a019020101020100020100300e300c06082b060102010103000500")
    bulk = ber.encode_request(1, b"c", ber.GETBULK, 2**31 - 1, ["1.3.6.1.2.1.2.2"], 0, 25)
    assert ber.request_id_of(bulk) is None  # a request is not a response


@pytest.mark.parametrize("tag, content, expected", [
    (ber.INTEGER, b"\xff", -1), (ber.INTEGER, b"\x00\x80", 128),
    (ber.COUNTER32, b"\x00\xff\xff\xff\xff", 4294967295),
    (ber.COUNTER64, b"\x00\xff\xff\xff\xff\xff\xff\xff\xff", 2**64 - 1),
    (ber.TIMETICKS, b"\x01\x00", 256), (ber.GAUGE32, b"\x64", 100),
    (ber.OCTET_STRING, b"\x04\x00", b"\x04\x00"), (ber.IP_ADDRESS, b"\xc0\x00\x02\x01",
                                                    "192.0.2.1"),
    (ber.OID, encode_oid("1.3.6.1.4.1.318.1.3.27")[2:], "1.3.6.1.4.1.318.1.3.27"),
    (ber.NULL, b"", None), (ber.NO_SUCH_OBJECT, b"", None), (ber.NO_SUCH_INSTANCE, b"", None),
    (ber.END_OF_MIB_VIEW, b"", ber.END_OF_MIB),
])
def test_values_of_every_type(tag, content, expected):
    request_id, status, index, varbinds = ber.decode_response(response(
        vb("1.3.6.1.2.1.1.1.0", tag, content)))
    assert (request_id, status, index) == (7, 0, 0)
    assert varbinds == [("1.3.6.1.2.1.1.1.0", expected)]


def test_long_lengths_and_big_arcs():
    long_text = b"x" * 300   # length in two bytes (0x82)
    oid = "1.3.6.1.4.1.2021.4294967295.0"
    message = response(vb(oid, ber.OCTET_STRING, long_text), request_id=2**31 - 1,
                       status=1, index=1)
    assert ber.request_id_of(message) == 2**31 - 1
    assert ber.decode_response(message) == (2**31 - 1, 1, 1, [(oid, long_text)])


@pytest.mark.parametrize("junk", [b"", b"\x30\x05\x02\x01", b"\x04\x02ab",
                                  b"\x30\x84\xff\xff\xff\xff",
                                  response(b"\x30\x03\x04\x01a")])
def test_malformed_answers_raise_ber_error(junk):
    with pytest.raises(ber.BerError):
        ber.decode_response(junk)


# ---- sizes are bounded per type (issue 17: a 5,001-byte TimeTicks crashed `discover`) ----
@pytest.mark.parametrize("tag, content", [
    (ber.TIMETICKS, b"\x01" * 5001),                 # the crash: a 40,000-bit "uptime"
    (ber.TIMETICKS, b"\x01\x00\x00\x00\x00"),        # 33 bits
    (ber.COUNTER32, b"\x00" * 6), (ber.GAUGE32, b"\xff" * 5),
    (ber.COUNTER64, b"\x01" + b"\x00" * 8),          # 65 bits
    (ber.COUNTER64, b"\x00" * 10),
    (ber.INTEGER, b"\x01\x00\x00\x00\x00"),          # beyond 32 bits
    (ber.INTEGER, b"\xff" * 6), (ber.INTEGER, b""),
])
def test_integers_beyond_their_type_are_decode_errors(tag, content):
    with pytest.raises(ber.BerError, match="bytes|bits"):
        ber.decode_response(response(vb("1.3.6.1.2.1.1.3.0", tag, content)))


@pytest.mark.parametrize("tag, content, expected", [
    (ber.INTEGER, b"\x80\x00\x00\x00", -2**31),
    (ber.INTEGER, b"\x00\xff\xff\xff\xff", 2**32 - 1),   # unsigned sent as INTEGER
    (ber.TIMETICKS, b"\xff\xff\xff\xff", 2**32 - 1),     # no leading zero: still unsigned
    (ber.COUNTER64, b"\xff" * 8, 2**64 - 1),
])
def test_integers_at_the_edge_of_their_type_decode(tag, content, expected):
    assert ber.decode_response(response(vb("1.3.6.1.2.1.1.3.0", tag, content)))[3] == [
        ("1.3.6.1.2.1.1.3.0", expected)]


@pytest.mark.parametrize("field", ["version", "request_id", "status"])
def test_request_id_status_and_version_are_bounded_too(field):
    long = _tlv(ber.INTEGER, b"\x01" * 9)
    numbers = {"version": _int(1), "request_id": _int(7), "status": _int(0)} | {field: long}
    pdu = _tlv(ber.RESPONSE, numbers["request_id"] + numbers["status"] + _int(0)
               + _tlv(ber.SEQUENCE, vb("1.3.6.1.2.1.1.3.0", ber.NULL, b"")))
    message = _tlv(ber.SEQUENCE, numbers["version"] + _tlv(ber.OCTET_STRING, b"public") + pdu)
    with pytest.raises(ber.BerError, match="INTEGER of 9 bytes"):
        ber.decode_answer(message)


def _raw_oid(arcs: list[int]) -> bytes:
    return encode_oid(".".join(map(str, arcs)))


@pytest.mark.parametrize("oid_tlv", [
    _raw_oid([1, 3] + [1] * 127),                       # 129 sub-identifiers
    _raw_oid([1, 3, 6, 2**32]),                         # a sub-identifier beyond 32 bits
    _tlv(ber.OID, b"\x2b" + b"\xff" * 60_000 + b"\x01"),  # one 420,000-bit sub-identifier
    _tlv(ber.OID, b"\x2b\x06\x81"),                     # unterminated
    _tlv(ber.OID, b""),
])
def test_oids_beyond_rfc_2578_are_decode_errors(oid_tlv):
    message = response(_tlv(ber.SEQUENCE, oid_tlv + b"\x05\x00"))
    with pytest.raises(ber.BerError):
        ber.decode_response(message)
    version, community, pdu, data, start, end = ber.decode_message(message)
    with pytest.raises(ber.BerError):   # the trap receiver's path
        ber.decode_fields(data, start, end)


def test_decoded_oids_are_remembered_within_a_bound_and_bad_ones_never(monkeypatch):
    """The OID cache (issue 16): a second decoding of the same bytes gives the same text
    from the cache; a bad OID is an error every time; the cache never outgrows its bound."""
    from muni_watchdog.checks.snmp import walk
    monkeypatch.setattr(ber, "OID_CACHE_SIZE", 8)
    monkeypatch.setattr(ber, "_OID_TEXT", {})
    monkeypatch.setattr(walk, "_ARCS", {})
    oid = "1.3.6.1.2.1.2.2.1.10.1000"      # 1000: a two-byte sub-identifier
    message = response(vb(oid, ber.COUNTER32, b"\x01"))
    assert ber.decode_response(message)[3] == [(oid, 1)]
    assert ber.decode_response(message)[3] == [(oid, 1)]
    assert list(ber._OID_TEXT.values()) == [oid]
    bad = response(_tlv(ber.SEQUENCE, _tlv(ber.OID, b"\x2b\x06\x81") + b"\x05\x00"))
    for _ in range(2):
        with pytest.raises(ber.BerError):
            ber.decode_response(bad)
    for i in range(40):
        text = f"1.3.6.1.4.1.{i}"
        assert ber.decode_response(response(vb(text, ber.NULL, b"")))[3] == [(text, None)]
        assert walk.oid_tuple(text) == (1, 3, 6, 1, 4, 1, i)
        assert len(ber._OID_TEXT) <= 8 and len(walk._ARCS) <= 8
    assert walk.oid_tuple("1.3.6.1.2.1.10") > walk.oid_tuple("1.3.6.1.2.1.9")


def test_longest_valid_oid_decodes():
    oid = "1.3." + ".".join([str(2**32 - 1)] * 126)    # 128 sub-identifiers
    assert ber.decode_response(response(vb(oid, ber.NULL, b"")))[3] == [(oid, None)]


def test_every_truncation_and_mutation_is_a_ber_error_or_a_value():
    """A mutation fuzz over one real answer: only BerError, never another exception."""
    import random
    message = response(vb("1.3.6.1.2.1.1.3.0", ber.TIMETICKS, b"\x01\x02\x03")
                       + vb("1.3.6.1.2.1.2.2.1.2.1", ber.OCTET_STRING, b"eth0")
                       + vb("1.3.6.1.2.1.31.1.1.1.6.1", ber.COUNTER64, b"\x01" * 8))
    rng = random.Random(17)
    for cut in range(len(message)):
        with pytest.raises(ber.BerError):
            ber.decode_answer(message[:cut])
    for _ in range(5000):
        mutated = bytearray(message)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        try:
            ber.decode_answer(bytes(mutated))
        except ber.BerError:
            pass
