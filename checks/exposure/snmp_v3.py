"""Does an agent speak SNMPv3? The engine-discovery message of RFC 3414 §4 (pure).

A manager that does not know an agent's engine id sends a noAuthNoPriv, *reportable* request
with an empty engine id and user name and no var-binds; a v3 agent answers with a Report PDU
carrying ``usmStatsUnknownEngineIDs.0`` and its own ``msgAuthoritativeEngineID``. No user, no
password: the same first exchange every v3 manager makes (net-snmp's ``snmpget -v3`` does).

Encoding uses our BER helpers (:mod:`checks.snmp.ber`, as the v3 trap receiver does)."""

from __future__ import annotations

from dataclasses import dataclass

from muni_watchdog.checks.snmp import ber

USM_STATS_UNKNOWN_ENGINE_IDS = "1.3.6.1.6.3.15.1.1.4.0"
REPORT = 0xA8
MSG_MAX_SIZE = 65507
REPORTABLE = 0x04           # msgFlags: noAuthNoPriv, reportable
USM = 3                     # msgSecurityModel


@dataclass(frozen=True)
class V3Answer:
    msg_id: int
    engine_id: bytes
    report_oids: tuple[str, ...]

    @property
    def is_discovery_report(self) -> bool:
        return USM_STATS_UNKNOWN_ENGINE_IDS in self.report_oids


def discovery_request(msg_id: int, request_id: int) -> bytes:
    """The engine-discovery GetRequest."""
    tlv, integer = ber._tlv, ber._int
    header = tlv(ber.SEQUENCE, integer(msg_id) + integer(MSG_MAX_SIZE)
                 + tlv(ber.OCTET_STRING, bytes((REPORTABLE,))) + integer(USM))
    usm = tlv(ber.SEQUENCE, tlv(ber.OCTET_STRING, b"") + integer(0) + integer(0)
              + tlv(ber.OCTET_STRING, b"") + tlv(ber.OCTET_STRING, b"")
              + tlv(ber.OCTET_STRING, b""))
    pdu = tlv(ber.GET, integer(request_id) + integer(0) + integer(0) + tlv(ber.SEQUENCE, b""))
    scoped = tlv(ber.SEQUENCE, tlv(ber.OCTET_STRING, b"") + tlv(ber.OCTET_STRING, b"") + pdu)
    return tlv(ber.SEQUENCE, integer(3) + header + tlv(ber.OCTET_STRING, usm) + scoped)


def _int_at(data: bytes, pos: int, end: int) -> tuple[int, int]:
    tag, start, stop = ber._header(data, pos, end)
    if tag != ber.INTEGER:
        raise ber.BerError("expected an INTEGER")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def parse_v3_answer(data: bytes) -> V3Answer:
    """msgID, the authoritative engine id and the var-bind OIDs of an unencrypted SNMPv3
    Report; raises ber.BerError for anything else."""
    try:
        tag, pos, end = ber._header(data, 0, len(data))
        if tag != ber.SEQUENCE:
            raise ber.BerError("not a sequence")
        version, pos = _int_at(data, pos, end)
        if version != 3:
            raise ber.BerError(f"message version {version} is not SNMPv3")
        tag, g_start, g_end = ber._header(data, pos, end)          # msgGlobalData
        msg_id, _ = _int_at(data, g_start, g_end)
        tag, s_start, s_end = ber._header(data, g_end, end)        # msgSecurityParameters
        if tag != ber.OCTET_STRING:
            raise ber.BerError("no msgSecurityParameters")
        _, u_start, u_end = ber._header(data, s_start, s_end)
        tag, e_start, e_end = ber._header(data, u_start, u_end)
        if tag != ber.OCTET_STRING:
            raise ber.BerError("no msgAuthoritativeEngineID")
        engine_id = data[e_start:e_end]
        tag, p_start, p_end = ber._header(data, s_end, end)        # ScopedPDU, plain
        if tag != ber.SEQUENCE:
            raise ber.BerError("encrypted or malformed ScopedPDU")
        _, _, c_end = ber._header(data, p_start, p_end)            # contextEngineID
        _, _, n_end = ber._header(data, c_end, p_end)              # contextName
        pdu_type, pdu_start, pdu_end = ber._header(data, n_end, p_end)
        if pdu_type != REPORT:
            raise ber.BerError(f"PDU type {pdu_type:#x} is not a Report")
        pos = pdu_start
        for _ in range(3):                                         # request id, status, index
            _, pos = _int_at(data, pos, pdu_end)
        _, l_start, l_end = ber._header(data, pos, pdu_end)
        oids = []
        pos = l_start
        while pos < l_end and len(oids) < 16:
            _, vb_start, vb_end = ber._header(data, pos, l_end)
            tag, o_start, o_end = ber._header(data, vb_start, vb_end)
            if tag != ber.OID:
                raise ber.BerError("var-bind without an OID")
            oids.append(ber.decode_oid(data, o_start, o_end))
            pos = vb_end
    except (IndexError, ValueError) as exc:
        if isinstance(exc, ber.BerError):
            raise
        raise ber.BerError(str(exc)) from None
    return V3Answer(msg_id, engine_id, tuple(oids))
