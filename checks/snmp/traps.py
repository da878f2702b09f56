"""SNMP traps: decode v1/v2c traps and informs, and turn UPS, printer and link traps from
known senders into events. The mapping is pure; :class:`TrapReceiver` is the UDP edge.

Traps complement polling, they do not replace it (Checkmk's and snmp_exporter's advice:
UDP traps get lost). What they add is speed: a UPS on battery is known the second it says so.
Senders are known by address (a configured ``snmp`` target's host); anything else is ignored
and counted, as is a trap whose community is not the target's.

The sender's address is checked *before* a byte is decoded, datagrams over
``MAX_TRAP_BYTES`` are dropped unread, the BER decoder bounds OIDs (128 sub-identifiers) and
integers and runs in linear time, and nothing raises out of the datagram handler: a stranger's
60 KB packet can neither stall the loop nor stop the receiver."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.trap_message import SNMP_TRAP_OID, Trap
from muni_watchdog.checks.snmp.ups import ALARMS
from muni_watchdog.checks.snmp.values import integer, oid_text, text
from muni_watchdog.core.model import State
from muni_watchdog.core.types import Strict

log = logging.getLogger("muni-watchdog")

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
# A trap from a UPS, printer or switch is a few hundred bytes (RFC 3417 3.2 only asks for
# 484); 8 KiB leaves room for long var-binds and SNMPv3's headers.
MAX_TRAP_BYTES = 8192
MAX_LOGGED_STRANGERS = 256   # addresses whose traps were ignored, named once each in the log
GENERIC_TRAPS = {0: "1.3.6.1.6.3.1.1.5.1", 1: "1.3.6.1.6.3.1.1.5.2", 2: "1.3.6.1.6.3.1.1.5.3",
                 3: "1.3.6.1.6.3.1.1.5.4", 4: "1.3.6.1.6.3.1.1.5.5"}


class TrapSettings(Strict):
    """The trap receiver's settings (for the daemon's configuration)."""

    enabled: bool = Field(False, description="Listen for SNMP traps from the snmp targets.")
    port: int = Field(162, ge=1, le=65535, description="UDP port (162 needs "
                      "CAP_NET_BIND_SERVICE; the unit grants it, or use e.g. 10162 and "
                      "forward).")
    bind: str = Field("0.0.0.0", description="Address to listen on.")


@dataclass(frozen=True)
class TrapEvent:
    """What the daemon records: a passive result on the target's ``traps`` check."""

    target: str
    state: State
    summary: str
    immediate: bool
    trap_oid: str


def message_version(data: bytes) -> int:
    """The msgVersion of an SNMP message (0 = v1, 1 = v2c, 3 = v3); raises ber.BerError."""
    try:
        tag, pos, end = ber._header(data, 0, len(data))
        if tag != ber.SEQUENCE:
            raise ber.BerError("not a sequence")
        tag, v_start, v_end = ber._header(data, pos, end)
    except IndexError as exc:
        raise ber.BerError(str(exc)) from None
    if tag != ber.INTEGER or not 0 < v_end - v_start <= 4:
        raise ber.BerError("no version")
    return int.from_bytes(data[v_start:v_end], "big", signed=True)


def decode_trap(data: bytes, sender: str) -> Trap:
    """Decode an SNMPv1 Trap-PDU, SNMPv2-Trap-PDU or InformRequest; raises ber.BerError."""
    version, community, pdu_type, message, start, end = ber.decode_message(data)
    fields = ber.decode_fields(message, start, end)
    if pdu_type == ber.TRAP_V1:
        if len(fields) < 6:
            raise ber.BerError("short SNMPv1 trap")
        enterprise = str(fields[0][1])
        # enterprise, agent-addr, generic-trap, specific-trap, time-stamp, variable-bindings
        generic, specific = integer(fields[2][1]) or 0, integer(fields[3][1]) or 0
        varbinds = dict(fields[5][1]) if isinstance(fields[5][1], list) else {}
        # RFC 3584 3.1: generic traps have their own OIDs; enterprise ones are
        # enterprise.0.specific
        trap_oid = GENERIC_TRAPS.get(generic, f"{enterprise}.0.{specific}")
        varbinds.setdefault(SYS_UPTIME, fields[4][1])
        return Trap(sender, version, community, trap_oid, varbinds)
    if pdu_type in (ber.TRAP_V2, ber.INFORM):
        if len(fields) < 4 or not isinstance(fields[3][1], list):
            raise ber.BerError("short SNMPv2 trap")
        varbinds = dict(fields[3][1])
        trap_oid = oid_text(varbinds.get(SNMP_TRAP_OID))
        if not trap_oid:
            raise ber.BerError("no snmpTrapOID.0")
        request_id = integer(fields[0][1]) if pdu_type == ber.INFORM else None
        return Trap(sender, version, community, trap_oid, varbinds, request_id)
    raise ber.BerError(f"PDU type {pdu_type:#x} is not a trap")


# trap OID -> (state, summary, immediate); the names are the MIBs'.
TRAP_MEANINGS: dict[str, tuple[State, str, bool]] = {
    # UPS-MIB (RFC 1628) upsTraps
    "1.3.6.1.2.1.33.2.1": (State.CRITICAL, "UPS on battery (upsTrapOnBattery)", True),
    "1.3.6.1.2.1.33.2.2": (State.OK, "UPS self-test completed (upsTrapTestCompleted)", False),
    # APC PowerNet-MIB (v1 enterprise 318, specific trap numbers)
    "1.3.6.1.4.1.318.0.1": (State.WARNING, "APC: communication with the UPS lost", False),
    "1.3.6.1.4.1.318.0.2": (State.CRITICAL, "APC: UPS overload", True),
    "1.3.6.1.4.1.318.0.3": (State.WARNING, "APC: UPS self-test failed", False),
    "1.3.6.1.4.1.318.0.4": (State.CRITICAL, "APC: UPS battery discharged", True),
    "1.3.6.1.4.1.318.0.5": (State.CRITICAL, "APC: UPS on battery", True),
    "1.3.6.1.4.1.318.0.7": (State.CRITICAL, "APC: UPS battery low", True),
    "1.3.6.1.4.1.318.0.9": (State.OK, "APC: mains power restored", False),
    "1.3.6.1.4.1.318.0.11": (State.OK, "APC: battery no longer low", False),
    # CyberPower CPS-MIB
    "1.3.6.1.4.1.3808.0.5": (State.CRITICAL, "CyberPower: UPS on battery", True),
    "1.3.6.1.4.1.3808.0.7": (State.CRITICAL, "CyberPower: UPS battery low", True),
    "1.3.6.1.4.1.3808.0.9": (State.OK, "CyberPower: mains power restored", False),
    # SNMPv2-MIB / IF-MIB generic traps
    "1.3.6.1.6.3.1.1.5.1": (State.WARNING, "the device restarted (coldStart)", False),
    "1.3.6.1.6.3.1.1.5.2": (State.OK, "the SNMP agent restarted (warmStart)", False),
    "1.3.6.1.6.3.1.1.5.3": (State.WARNING, "a port went down (linkDown)", False),
    "1.3.6.1.6.3.1.1.5.4": (State.OK, "a port came up (linkUp)", False),
}
UPS_ALARM_ADDED, UPS_ALARM_REMOVED = "1.3.6.1.2.1.33.2.3", "1.3.6.1.2.1.33.2.4"
UPS_ALARM_DESCR_PREFIX = "1.3.6.1.2.1.33.1.6.2.1.2."
UPS_WELL_KNOWN = "1.3.6.1.2.1.33.1.6.3."
PRINTER_ALERT = "1.3.6.1.2.1.43.18.2.0.1"       # printerV2Alert
PRT_ALERT_SEVERITY = "1.3.6.1.2.1.43.18.1.1.2."
PRT_ALERT_CODE = "1.3.6.1.2.1.43.18.1.1.7."
PRT_ALERT_DESCR = "1.3.6.1.2.1.43.18.1.1.8."
# PrtAlertCodeTC (RFC 3805) codes a clerk understands
PRINTER_ALERT_CODES = {3: "cover open", 5: "interlock open", 8: "paper jam",
                       9: "a part is missing", 501: "door open", 801: "input tray empty",
                       901: "output tray full", 1101: "toner low", 1102: "toner empty",
                       1103: "waste toner full", 1104: "waste toner almost full",
                       1105: "toner cartridge missing", 1301: "fuser over temperature",
                       1302: "fuser under temperature", 1503: "drum near end of life",
                       1504: "drum at end of life"}
UPS_ALARM_CRITICAL = {2, 3, 4, 8, 14, 15, 22, 23}   # on battery, low, depleted, overload...


def _find(varbinds: Mapping[str, Any], prefix: str) -> Any:
    for oid, value in varbinds.items():
        if oid.startswith(prefix):
            return value
    return None


def map_trap(trap: Trap, senders: Mapping[str, tuple[str, bytes]]) -> TrapEvent | None:
    """The event for a trap, or None when it is to be ignored: an unknown sender, a wrong
    community, or a trap with no meaning to us (logged by the receiver, not alerted)."""
    known = senders.get(trap.sender)
    if known is None or trap.community != known[1]:
        return None
    return event_for(trap, known[0])


def event_for(trap: Trap, target: str) -> TrapEvent | None:
    """The event of an accepted trap from ``target`` (v1/v2c by community, v3 by USM user),
    or None for a trap with no meaning to us."""
    meaning = TRAP_MEANINGS.get(trap.trap_oid)
    if meaning is not None:
        return TrapEvent(target, meaning[0], meaning[1], meaning[2], trap.trap_oid)
    if trap.trap_oid in (UPS_ALARM_ADDED, UPS_ALARM_REMOVED):
        alarm_oid = oid_text(_find(trap.varbinds, UPS_ALARM_DESCR_PREFIX))
        number = integer(alarm_oid.rsplit(".", 1)[-1]) if alarm_oid.startswith(
            UPS_WELL_KNOWN) else None
        name = ALARMS.get(number, "an alarm") if number else "an alarm"
        if trap.trap_oid == UPS_ALARM_REMOVED:
            return TrapEvent(target, State.OK, f"UPS alarm cleared: {name}", False,
                             trap.trap_oid)
        critical = number in UPS_ALARM_CRITICAL
        return TrapEvent(target, State.CRITICAL if critical else State.WARNING,
                         f"UPS alarm: {name}", critical, trap.trap_oid)
    if trap.trap_oid == PRINTER_ALERT:
        severity = integer(_find(trap.varbinds, PRT_ALERT_SEVERITY))
        code = integer(_find(trap.varbinds, PRT_ALERT_CODE))
        what = PRINTER_ALERT_CODES.get(code) or text(_find(trap.varbinds, PRT_ALERT_DESCR)) \
            or "printer alert"
        state = State.CRITICAL if severity == 3 else State.WARNING if severity in (4, 5) \
            else State.OK
        return TrapEvent(target, state, f"printer: {what}", False, trap.trap_oid)
    return None


class _TrapProtocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: TrapReceiver):
        self.receiver = receiver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.receiver.handle(data, addr, self.transport)


class TrapReceiver:
    """Listens on UDP; calls ``on_event(TrapEvent)`` for each meaningful trap from a known
    sender. ``senders``: {address: (target id, community bytes)} for v1/v2c; ``v3_users``:
    {address: (target id, :class:`checks.snmp.traps_v3.V3User`)} for v3. Informs are
    acknowledged only when they come from a known sender with the right community or
    credentials.

    One socket serves every version: a datagram's msgVersion (0, 1 or 3) picks our BER codec
    or, for v3, the pysnmp engine of :mod:`checks.snmp.traps_v3` (USM needs it)."""

    def __init__(self, senders: Mapping[str, tuple[str, bytes]],
                 on_event: Callable[[TrapEvent], None], port: int = 162,
                 bind: str = "0.0.0.0", v3_users: Mapping[str, tuple[str, Any]] | None = None):
        self.senders, self.on_event = dict(senders), on_event
        self.v3_users = dict(v3_users or {})
        self.port, self.bind = port, bind
        self.ignored = 0
        self.received = 0
        self._strangers: set[str] = set()
        self._transport: asyncio.DatagramTransport | None = None
        self._v3: Any = None

    async def start(self) -> TrapReceiver:
        loop = asyncio.get_running_loop()
        if self.v3_users:
            from muni_watchdog.checks.snmp.traps_v3 import V3TrapEngine
            self._v3 = V3TrapEngine(self.v3_users)
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _TrapProtocol(self), local_addr=(self.bind, self.port))
        if self._v3 is not None:
            self._v3.attach(self._transport)
        self.port = self._transport.get_extra_info("sockname")[1]
        return self

    def handle(self, data: bytes, addr, transport) -> None:
        """One datagram; never raises (it runs inside the event loop's protocol callback)."""
        self.received += 1
        try:
            self._handle(data, addr, transport)
        except Exception:  # a bug here must not stop the receiver, nor the loop
            self.ignored += 1
            log.exception("trap from %s could not be handled", addr[0])

    def _ignore_stranger(self, sender: str, why: str) -> None:
        self.ignored += 1
        if sender in self._strangers:
            return
        if len(self._strangers) < MAX_LOGGED_STRANGERS:
            self._strangers.add(sender)
            log.info("trap from %s ignored: %s (logged once per address)", sender, why)

    def _handle(self, data: bytes, addr, transport) -> None:
        sender = addr[0]
        if sender not in self.senders and sender not in self.v3_users:
            self._ignore_stranger(sender, "unknown sender")  # checked before any decoding
            return
        if len(data) > MAX_TRAP_BYTES:
            self.ignored += 1
            log.info("trap from %s ignored: %d bytes, over the %d-byte cap", sender,
                     len(data), MAX_TRAP_BYTES)
            return
        try:
            version = message_version(data)
        except ber.BerError:
            version = None
        if version == 3:
            self._handle_v3(data, addr)
            return
        try:
            trap = decode_trap(data, addr[0])
        except ber.BerError as exc:
            self.ignored += 1
            log.debug("trap from %s ignored: %s", addr[0], exc)
            return
        known = self.senders.get(trap.sender)
        if known is None or trap.community != known[1]:
            self.ignored += 1
            log.info("trap %s from %s ignored: %s", trap.trap_oid, addr[0],
                     "unknown sender" if known is None else "wrong community")
            return
        if trap.inform_request_id is not None and transport is not None:
            transport.sendto(ber.encode_response_to(trap.version, trap.community,
                                                    trap.inform_request_id,
                                                    list(trap.varbinds.items())), addr)
        event = map_trap(trap, self.senders)
        if event is None:
            log.info("target=%s trap %s has no meaning here; ignored", known[0], trap.trap_oid)
            return
        try:
            self.on_event(event)
        except Exception:  # a bad consumer must not stop the receiver
            log.exception("target=%s handling trap %s failed", known[0], trap.trap_oid)

    def _handle_v3(self, data: bytes, addr) -> None:
        from muni_watchdog.checks.snmp.traps_v3 import V3Ignored
        if self._v3 is None:
            self.ignored += 1
            log.info("trap from %s ignored: SNMPv3, and no v3 target is configured", addr[0])
            return
        try:
            trap = self._v3.receive(data, addr)
        except V3Ignored as exc:
            self.ignored += 1
            log.info("SNMPv3 trap from %s ignored: %s", addr[0], exc)
            return
        if trap is None:  # an engine id discovery probe, answered by pysnmp
            self.received -= 1
            return
        target = self.v3_users[addr[0]][0]
        event = event_for(trap, target)
        if event is None:
            log.info("target=%s trap %s has no meaning here; ignored", target, trap.trap_oid)
            return
        try:
            self.on_event(event)
        except Exception:  # a bad consumer must not stop the receiver
            log.exception("target=%s handling trap %s failed", target, trap.trap_oid)

    async def close(self) -> None:
        if self._v3 is not None:
            self._v3.close()
            self._v3 = None
        if self._transport is not None:
            self._transport.close()
