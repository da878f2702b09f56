"""SNMP traps: the pure trap -> event mapping, and the receiver fed by net-snmp's snmptrap and
snmpinform on loopback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.trap_message import SNMP_TRAP_OID, Trap
from muni_watchdog.checks.snmp.traps import TrapReceiver, decode_trap, map_trap, message_version
from muni_watchdog.checks.snmp.traps_v3 import V3User
from muni_watchdog.core.model import State

SENDERS = {"127.0.0.1": ("ups-basement", b"traps-secret")}


def trap(oid: str, varbinds=None, sender="127.0.0.1", community=b"traps-secret") -> Trap:
    return Trap(sender, 1, community, oid, varbinds or {})


@pytest.mark.parametrize("oid, varbinds, state, summary, immediate", [
    ("1.3.6.1.2.1.33.2.1", {}, State.CRITICAL, "UPS on battery (upsTrapOnBattery)", True),
    ("1.3.6.1.4.1.318.0.5", {}, State.CRITICAL, "APC: UPS on battery", True),
    ("1.3.6.1.4.1.318.0.9", {}, State.OK, "APC: mains power restored", False),
    ("1.3.6.1.2.1.33.2.3", {"1.3.6.1.2.1.33.1.6.2.1.2.7": "1.3.6.1.2.1.33.1.6.3.3"},
     State.CRITICAL, "UPS alarm: low battery", True),
    ("1.3.6.1.2.1.33.2.3", {"1.3.6.1.2.1.33.1.6.2.1.2.7": "1.3.6.1.2.1.33.1.6.3.1"},
     State.WARNING, "UPS alarm: battery bad (replace battery)", False),
    ("1.3.6.1.2.1.33.2.4", {"1.3.6.1.2.1.33.1.6.2.1.2.7": "1.3.6.1.2.1.33.1.6.3.2"},
     State.OK, "UPS alarm cleared: on battery", False),
    ("1.3.6.1.2.1.43.18.2.0.1", {"1.3.6.1.2.1.43.18.1.1.2.1.5": 3,
                                 "1.3.6.1.2.1.43.18.1.1.7.1.5": 8},
     State.CRITICAL, "printer: paper jam", False),
    ("1.3.6.1.2.1.43.18.2.0.1", {"1.3.6.1.2.1.43.18.1.1.2.1.6": 4,
                                 "1.3.6.1.2.1.43.18.1.1.7.1.6": 9999,
                                 "1.3.6.1.2.1.43.18.1.1.8.1.6": b"Tray 2 low"},
     State.WARNING, "printer: Tray 2 low", False),
    ("1.3.6.1.6.3.1.1.5.3", {}, State.WARNING, "a port went down (linkDown)", False),
])
def test_trap_meanings(oid, varbinds, state, summary, immediate):
    event = map_trap(trap(oid, varbinds), SENDERS)
    assert (event.target, event.state, event.summary, event.immediate) == (
        "ups-basement", state, summary, immediate)


def test_unknown_senders_wrong_communities_and_meaningless_traps_are_ignored():
    assert map_trap(trap("1.3.6.1.2.1.33.2.1", sender="192.0.2.99"), SENDERS) is None
    assert map_trap(trap("1.3.6.1.2.1.33.2.1", community=b"public"), SENDERS) is None
    assert map_trap(trap("1.3.6.1.4.1.99999.0.1"), SENDERS) is None


def test_malformed_packets_raise_ber_errors_only():
    for junk in (b"", b"\x30", b"\x30\x03\x02\x01\x01", bytes(range(60)),
                 ber.encode_request(1, b"c", ber.GET, 1, ["1.3.6.1.2.1.1.3.0"])):
        with pytest.raises(ber.BerError):
            decode_trap(junk, "127.0.0.1")


needs_snmptrap = pytest.mark.skipif(shutil.which("snmptrap") is None,
                                    reason="net-snmp's snmptrap not installed (setup.sh "
                                    "installs the snmp package)")


async def _receive(commands: list[list[str]], senders=SENDERS,
                   v3_users=None) -> tuple[list, TrapReceiver]:
    events = []
    receiver = await TrapReceiver(senders, events.append, port=0, bind="127.0.0.1",
                                  v3_users=v3_users).start()
    try:
        for command in commands:
            args = [a.replace("PORT", str(receiver.port)) for a in command]
            process = await asyncio.create_subprocess_exec(
                *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env={"MIBS": "", "PATH": "/usr/bin"})
            _, err = await asyncio.wait_for(process.communicate(), 20)
            assert process.returncode == 0, err
        for _ in range(50):
            if receiver.received >= len(commands):
                break
            await asyncio.sleep(0.05)
    finally:
        await receiver.close()
    return events, receiver


@pytest.mark.integration
@needs_snmptrap
def test_receiver_turns_real_v1_and_v2c_traps_into_events():
    events, receiver = asyncio.run(_receive([
        # v2c upsTrapOnBattery
        ["snmptrap", "-v2c", "-c", "traps-secret", "127.0.0.1:PORT", "", "1.3.6.1.2.1.33.2.1",
         "1.3.6.1.2.1.33.1.2.2.0", "i", "5"],
        # v1 APC PowerNet trap 9: power restored (enterprise 318, specific 9)
        ["snmptrap", "-v1", "-c", "traps-secret", "127.0.0.1:PORT", "1.3.6.1.4.1.318",
         "127.0.0.1", "6", "9", ""],
        # v2c inform: the receiver must answer it, or snmpinform fails
        ["snmpinform", "-v2c", "-c", "traps-secret", "-t", "2", "-r", "0",
         "127.0.0.1:PORT", "", "1.3.6.1.4.1.318.0.5"],
        # a stranger's community
        ["snmptrap", "-v2c", "-c", "public", "127.0.0.1:PORT", "", "1.3.6.1.2.1.33.2.1"],
    ]))
    assert [(e.target, e.state, e.summary, e.immediate) for e in events] == [
        ("ups-basement", State.CRITICAL, "UPS on battery (upsTrapOnBattery)", True),
        ("ups-basement", State.OK, "APC: mains power restored", False),
        ("ups-basement", State.CRITICAL, "APC: UPS on battery", True),
    ]
    assert receiver.ignored == 1


@pytest.mark.integration
@needs_snmptrap
def test_receiver_ignores_unknown_senders():
    events, receiver = asyncio.run(_receive(
        [["snmptrap", "-v2c", "-c", "traps-secret", "127.0.0.1:PORT", "",
          "1.3.6.1.2.1.33.2.1"]], senders={"192.0.2.5": ("ups", b"traps-secret")}))
    assert events == [] and receiver.ignored == 1


# ---- SNMPv3 (USM by pysnmp, on the same socket) ---------------------------------------------

V3_USERS = {"127.0.0.1": ("ups-basement", V3User("watchdog", "SHA", "auth-secret-1",
                                                 "AES", "priv-secret-1"))}
V3_AUTH_ONLY = {"127.0.0.1": ("ups-basement", V3User("monitor", "SHA-256", "auth-secret-2"))}


def v3(command: str, user: str, auth: str, priv: str | None, oid: str,
       level: str | None = None, engine_id: str = "0x80001f8880aabbccdd01") -> list[str]:
    args = [command, "-v3", "-u", user, "-l", level or ("authPriv" if priv else "authNoPriv"),
            "-a", "SHA-256" if user == "monitor" else "SHA", "-A", auth]
    if priv:
        args += ["-x", "AES", "-X", priv]
    # a trap carries the sender's engine id; an inform discovers the receiver's
    args += ["-e", engine_id] if command == "snmptrap" else ["-t", "2", "-r", "0"]
    return [*args, "127.0.0.1:PORT", "", oid]


def test_message_version_tells_v1_v2c_and_v3_apart():
    assert message_version(ber.encode_request(0, b"c", ber.GET, 1, ["1.3.6.1"])) == 0
    assert message_version(ber.encode_request(1, b"c", ber.GET, 1, ["1.3.6.1"])) == 1
    with pytest.raises(ber.BerError):
        message_version(b"\x30\x03\x04\x01\x03")


@pytest.mark.integration
@needs_snmptrap
def test_receiver_authenticates_and_decrypts_real_v3_traps_and_informs():
    events, receiver = asyncio.run(_receive([
        v3("snmptrap", "watchdog", "auth-secret-1", "priv-secret-1", "1.3.6.1.2.1.33.2.1"),
        v3("snmpinform", "watchdog", "auth-secret-1", "priv-secret-1", "1.3.6.1.4.1.318.0.9"),
        # v2c still served on the same port
        ["snmptrap", "-v2c", "-c", "traps-secret", "127.0.0.1:PORT", "", "1.3.6.1.4.1.318.0.5"],
    ], v3_users=V3_USERS))
    assert [(e.target, e.state, e.summary, e.immediate) for e in events] == [
        ("ups-basement", State.CRITICAL, "UPS on battery (upsTrapOnBattery)", True),
        ("ups-basement", State.OK, "APC: mains power restored", False),
        ("ups-basement", State.CRITICAL, "APC: UPS on battery", True),
    ]
    assert receiver.ignored == 0


@pytest.mark.integration
@needs_snmptrap
def test_receiver_accepts_auth_no_priv_v3_traps_and_informs():
    events, receiver = asyncio.run(_receive([
        v3("snmptrap", "monitor", "auth-secret-2", None, "1.3.6.1.2.1.33.2.1"),
        v3("snmpinform", "monitor", "auth-secret-2", None, "1.3.6.1.6.3.1.1.5.3"),
    ], senders={}, v3_users=V3_AUTH_ONLY))
    assert [(e.state, e.summary) for e in events] == [
        (State.CRITICAL, "UPS on battery (upsTrapOnBattery)"),
        (State.WARNING, "a port went down (linkDown)")]
    assert receiver.ignored == 0


@pytest.mark.integration
@needs_snmptrap
def test_receiver_ignores_v3_traps_with_wrong_passwords_unknown_users_or_less_security():
    events, receiver = asyncio.run(_receive([
        v3("snmptrap", "watchdog", "wrong-password", "priv-secret-1", "1.3.6.1.2.1.33.2.1"),
        v3("snmptrap", "watchdog", "auth-secret-1", "wrong-privacy", "1.3.6.1.2.1.33.2.1",
           engine_id="0x80001f8880aabbccdd02"),
        v3("snmptrap", "stranger", "auth-secret-1", "priv-secret-1", "1.3.6.1.2.1.33.2.1"),
        # right auth password, but the target requires privacy
        v3("snmptrap", "watchdog", "auth-secret-1", None, "1.3.6.1.2.1.33.2.1"),
        # and after all that, the right credentials still work
        v3("snmptrap", "watchdog", "auth-secret-1", "priv-secret-1", "1.3.6.1.4.1.318.0.9"),
    ], v3_users=V3_USERS))
    assert [e.summary for e in events] == ["APC: mains power restored"]
    assert receiver.ignored == 4


@pytest.mark.integration
@needs_snmptrap
def test_receiver_ignores_v3_traps_from_unknown_addresses_and_v3_without_v3_targets():
    events, receiver = asyncio.run(_receive([
        v3("snmptrap", "watchdog", "auth-secret-1", "priv-secret-1", "1.3.6.1.2.1.33.2.1")],
        v3_users={"192.0.2.5": V3_USERS["127.0.0.1"]}))
    assert events == [] and receiver.ignored == 1
    events, receiver = asyncio.run(_receive([
        v3("snmptrap", "watchdog", "auth-secret-1", "priv-secret-1", "1.3.6.1.2.1.33.2.1")]))
    assert events == [] and receiver.ignored == 1


# ---- hostile datagrams (issue 17) -----------------------------------------------------------
def _v2_trap(community: bytes, oid_tlv: bytes) -> bytes:
    """An SNMPv2-Trap whose snmpTrapOID.0 value is ``oid_tlv`` (hand-built, any size)."""
    varbinds = ber._tlv(ber.SEQUENCE, ber.encode_oid(SNMP_TRAP_OID) + oid_tlv)
    pdu = ber._tlv(ber.TRAP_V2, ber._int(1) + ber._int(0) + ber._int(0)
                   + ber._tlv(ber.SEQUENCE, varbinds))
    return ber._tlv(ber.SEQUENCE, ber._int(1) + ber._tlv(ber.OCTET_STRING, community) + pdu)


LONG_OID = ber._tlv(ber.OID, b"\x2b" + b"\xff" * 60_000 + b"\x01")   # 60 KB, one sub-id
MANY_ARCS = ber._tlv(ber.OID, b"\x2b" + b"\x01" * 20_000)             # 20,001 sub-ids


class _Transport:
    def __init__(self):
        self.sent = []

    def sendto(self, data, addr):
        self.sent.append((data, addr))


def _receiver(events: list, **extra) -> TrapReceiver:
    return TrapReceiver(SENDERS, events.append, port=0, **extra)


def test_a_strangers_packet_is_not_decoded(monkeypatch):
    """The sender's address is checked first: a stranger's 60 KB packet is never parsed."""
    import muni_watchdog.checks.snmp.traps as traps

    def must_not_decode(*args):
        raise AssertionError("decoded a stranger's packet")
    monkeypatch.setattr(traps, "decode_trap", must_not_decode)
    monkeypatch.setattr(traps, "message_version", must_not_decode)
    events: list = []
    receiver = _receiver(events)
    for _ in range(3):
        receiver.handle(_v2_trap(b"traps-secret", LONG_OID), ("192.0.2.66", 162), _Transport())
    assert events == [] and receiver.ignored == 3 and receiver.received == 3


@pytest.mark.parametrize("packet", [
    _v2_trap(b"traps-secret", LONG_OID),                 # over the size cap
    _v2_trap(b"traps-secret", MANY_ARCS[:4000]),         # under it, too many sub-ids
    _v2_trap(b"traps-secret", ber._tlv(ber.OID, b"\x2b" + b"\xff" * 4000 + b"\x01")),
    _v2_trap(b"traps-secret", ber._tlv(ber.TIMETICKS, b"\x01" * 5001)),
    bytes(8000),
])
def test_hostile_packets_from_a_known_sender_are_ignored_without_raising(packet, caplog):
    events: list = []
    receiver = _receiver(events)
    receiver.handle(packet, ("127.0.0.1", 162), _Transport())   # must not raise
    assert events == [] and receiver.ignored == 1
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)


def test_a_long_oid_is_a_ber_error_not_a_value_error():
    """The old decoder built one 420,000-bit integer (quadratic) and then raised ValueError
    (int -> str over 4,300 digits) out of the datagram handler."""
    oid = ber._tlv(ber.OID, b"\x2b" + b"\xff" * 4000 + b"\x01")
    with pytest.raises(ber.BerError):
        decode_trap(_v2_trap(b"traps-secret", oid), "127.0.0.1")


def test_nothing_raises_out_of_the_handler(monkeypatch, caplog):
    """Even a bug in decoding is caught, counted and logged: the loop keeps receiving."""
    import muni_watchdog.checks.snmp.traps as traps

    def broken(*args):
        raise RuntimeError("a bug")
    monkeypatch.setattr(traps, "decode_trap", broken)
    events: list = []
    receiver = _receiver(events)
    receiver.handle(b"\x30\x00", ("127.0.0.1", 162), _Transport())
    assert receiver.ignored == 1 and "could not be handled" in caplog.text


def test_a_valid_trap_still_gets_through_after_hostile_ones():
    events: list = []
    receiver = _receiver(events)
    transport = _Transport()
    for packet in (_v2_trap(b"traps-secret", LONG_OID), bytes(100)):
        receiver.handle(packet, ("127.0.0.1", 162), transport)
    good = _v2_trap(b"traps-secret", ber.encode_oid("1.3.6.1.2.1.33.2.1"))
    receiver.handle(good, ("127.0.0.1", 162), transport)
    assert [(e.target, e.summary) for e in events] == [
        ("ups-basement", "UPS on battery (upsTrapOnBattery)")]
