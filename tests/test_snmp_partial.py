"""Failure injection for every SNMP check (issue 10): an agent that answers some OIDs and not
others must never turn "no data" into "nothing wrong".

Each check starts from a recording it judges correctly, then the OIDs it judges by are hit by
one fault: no answer at all, a partial answer (one row's cell missing), the three SNMPv2
exceptions (noSuchObject, noSuchInstance, endOfMibView, passed through our BER decoder the
way the poller receives them), a value of the wrong type (OCTET STRING for INTEGER) and an
out-of-range value. The check must be UNKNOWN (or WARNING) and name what is missing, never OK
with nothing judged."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from lab.snmp_recordings import DATA_DIR, load_snapshot, probes_answering
from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.check_interfaces import InterfacesParams, evaluate_interfaces
from muni_watchdog.checks.snmp.check_nas import NasParams, evaluate_nas
from muni_watchdog.checks.snmp.check_printer import PrinterParams, evaluate_printer
from muni_watchdog.checks.snmp.check_software import SoftwareParams, evaluate_software
from muni_watchdog.checks.snmp.check_storage import StorageParams, evaluate_storage
from muni_watchdog.checks.snmp.check_system import SystemParams, evaluate_system
from muni_watchdog.checks.snmp.check_ups import UpsParams, evaluate_ups
from muni_watchdog.checks.snmp.classes import classify
from muni_watchdog.checks.snmp.device import DeviceCheck, DeviceParams, DeviceRaw
from muni_watchdog.checks.snmp.session import Poll
from muni_watchdog.core.model import CheckContext, State

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
class Exception_:
    """An SNMPv2 exception var-bind value (RFC 3416): a tag with no content."""

    def __init__(self, tag: int):
        self.tag = tag


EXCEPTIONS = {"noSuchObject": Exception_(ber.NO_SUCH_OBJECT),
              "noSuchInstance": Exception_(ber.NO_SUCH_INSTANCE),
              "endOfMibView": Exception_(ber.END_OF_MIB_VIEW)}
FAULTS = ("no answer", "partial", *EXCEPTIONS, "wrong type", "out of range")


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def _value(value) -> bytes:
    if isinstance(value, Exception_):
        return bytes([value.tag, 0])
    if isinstance(value, int):
        return _tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big",
                                         signed=True))
    if isinstance(value, bytes):
        return _tlv(0x04, value)
    return ber.encode_oid(value)   # the whole OBJECT IDENTIFIER TLV


def as_received(answer: dict) -> dict:
    """``answer`` ({oid: value, or an exception tag}) encoded as an agent's Response-PDU,
    decoded by our BER codec and kept the way the poller keeps values: exceptions and NULL
    dropped (client.get/walk). What the checks then see."""
    body = b"".join(_tlv(0x30, ber.encode_oid(oid) + _value(value))
                    for oid, value in answer.items())
    pdu = _tlv(0xA2, _value(7) + _value(0) + _value(0) + _tlv(0x30, body))
    _, _, _, varbinds = ber.decode_response(_tlv(0x30, _value(1) + _tlv(0x04, b"x") + pdu))
    return {oid: value for oid, value in varbinds
            if value is not None and value is not ber.END_OF_MIB}


class Case:
    """A check, the recording it starts from, the OIDs it judges by and the faults' values."""

    def __init__(self, recording: str, judged: str, partial_row: str,
                 evaluate: Callable[[dict], object], out_of_range: object,
                 wrong_type: object = b"n/a"):
        self.recording, self.judged, self.partial_row = recording, judged, partial_row
        self.evaluate, self.out_of_range, self.wrong_type = evaluate, out_of_range, wrong_type

    def snapshot(self, fault: str) -> dict:
        values = dict(load_snapshot(DATA_DIR / f"{self.recording}.snmprec"))
        hit = [oid for oid in values if oid == self.judged or oid.startswith(self.judged + ".")]
        assert hit, f"{self.judged} is not in {self.recording}"
        if fault == "no answer":
            return {}
        if fault == "partial":
            return {k: v for k, v in values.items() if k != f"{self.judged}.{self.partial_row}"
                    and k != self.judged}
        bad = {"wrong type": self.wrong_type, "out of range": self.out_of_range}.get(fault)
        injected = {oid: EXCEPTIONS[fault] if fault in EXCEPTIONS else bad for oid in hit}
        untouched = {k: v for k, v in values.items() if k not in injected}
        return {**untouched, **as_received(injected)}


def ctx(memory=None) -> CheckContext:
    return CheckContext(T0, memory or {})


def _device(values: dict):
    answering = probes_answering(values)
    raw = DeviceRaw(classify(values, answering), Poll(values, answering))
    return DeviceCheck().evaluate(raw, DeviceParams(), ctx())


CASES = {
    "system": Case("switch", O.SYS_UPTIME, "", lambda v: evaluate_system(
        Poll(v, {"interfaces"}), SystemParams(), ctx()), -5),
    "interfaces": Case("switch", f"{O.IF_TABLE}.{O.IF_OPER}", "1", lambda v: evaluate_interfaces(
        v, InterfacesParams(), ctx()), 9),
    "storage": Case("nas", f"{O.HR_STORAGE}.{O.HR_STORAGE_UNITS}", "51",
                    lambda v: evaluate_storage(v, StorageParams(), ctx()), 0),
    "printer": Case("printer-canon", f"{O.PRT_SUPPLIES}.{O.PRT_SUPPLY_LEVEL}", "1.5",
                    lambda v: evaluate_printer(v, PrinterParams(), ctx()), -7),
    "ups": Case("ups-bypass", O.UPS_OUTPUT_SOURCE, "", lambda v: evaluate_ups(
        v, UpsParams(), ctx()), 42),
    "nas": Case("nas", "1.3.6.1.4.1.6574.3.1.1.3", "0", lambda v: evaluate_nas(
        v, probes_answering(v), NasParams(), ctx()), 99),
    # a name sent as an INTEGER is the wrong type; a name has no range (see below for types)
    "software": Case("nas", "1.3.6.1.2.1.25.6.3.1.2", "1", lambda v: evaluate_software(
        v, SoftwareParams()), None, wrong_type=7),
    "device": Case("printer-canon", f"{O.PRT_SUPPLIES}.{O.PRT_SUPPLY_LEVEL}", "1.2", _device,
                   -7),
}
# What each check must say (a regex on its results), by fault; "*" for the rest.
EXPECTED = {
    "system": {"no answer": "no sysUpTime", "partial": "no sysUpTime",
               "*": "no sysUpTime|is not a TimeTicks value"},
    "interfaces": {"no answer": "no IF-MIB interface table",
                   "partial": "port g1: ifOperStatus not answered",
                   "wrong type": "no usable ifOperStatus .*is not an IF-MIB status",
                   "out of range": "no usable ifOperStatus .*9. is not an IF-MIB status",
                   "*": "no usable ifOperStatus .*not answered"},
    "storage": {"no answer": "no HOST-RESOURCES-MIB",
                "partial": "/volume1: hrStorageAllocationUnits not answered",
                "wrong type": "/volume1: hrStorageAllocationUnits 'n/a' is not a number",
                "out of range": "/volume1: allocation unit of 0 bytes",
                "*": "/volume1: hrStorageAllocationUnits not answered"},
    "printer": {"no answer": "no Printer-MIB supplies",
                "partial": "Waste Toner Container: level not answered",
                "wrong type": "Black Toner: level 'n/a' is not a number",
                "out of range": "Black Toner: level -7 is not defined by RFC 3805",
                "*": "Black Toner: level not answered"},
    "ups": {"no answer": "no UPS MIB answered",
            "out of range": "upsOutputSource value its MIB does not define",
            "*": "upsOutputSource not answered"},
    "nas": {"no answer": "no NAS MIB answered",
            "partial": "RAID Storage Pool 1: raidStatus not answered",
            "wrong type": "RAID Storage Pool 1: n/a",
            "out of range": "RAID Storage Pool 1: raidStatus 99",
            "*": "RAID Storage Pool 1: raidStatus not answered"},
    "software": {"no answer": "no installed software listed",
                 "partial": "1 more listed without a name",
                 "*": "5 installed packages without their names"},
    "device": {"no answer": "nothing to judge for a unknown: no IF-MIB answered",
               "partial": "Cyan Toner: level not answered",
               "wrong type": "Black Toner: level 'n/a' is not a number",
               "out of range": "Black Toner: level -7 is not defined by RFC 3805",
               "*": "Black Toner: level not answered"},
}


MATRIX = [(check, fault) for check in sorted(CASES) for fault in FAULTS
          if CASES[check].out_of_range is not None or fault != "out of range"]


@pytest.mark.parametrize("check, fault", MATRIX)
def test_no_data_is_never_nothing_wrong(check, fault):
    case = CASES[check]
    good = case.evaluate(load_snapshot(DATA_DIR / f"{case.recording}.snmprec")).outcome
    assert good.state is not State.UNKNOWN, good.summary   # the check works on the recording
    outcome = case.evaluate(case.snapshot(fault)).outcome
    assert outcome.state in (State.UNKNOWN, State.WARNING), outcome.summary
    expected = EXPECTED[check].get(fault, EXPECTED[check]["*"])
    assert any(re.search(expected, r.summary) for r in outcome.results
               if not r.state.is_ok), outcome.summary


def test_the_ber_round_trip_drops_what_the_poller_drops():
    got = as_received({"1.3.6.1.2.1.1.3.0": EXCEPTIONS["noSuchObject"],
                       "1.3.6.1.2.1.1.4.0": EXCEPTIONS["noSuchInstance"],
                       "1.3.6.1.2.1.1.5.0": b"x",
                       "1.3.6.1.2.1.1.6.0": EXCEPTIONS["endOfMibView"], "1.3.6.1.2.1.1.7.0": 72})
    assert got == {"1.3.6.1.2.1.1.5.0": b"x", "1.3.6.1.2.1.1.7.0": 72}


def test_software_type_out_of_range_is_listed_as_unknown_not_misread():
    values = dict(load_snapshot(DATA_DIR / "nas.snmprec"))
    values["1.3.6.1.2.1.25.6.3.1.4.1"] = 99    # hrSWInstalledType is 1..4
    outcome = evaluate_software(values, SoftwareParams()).outcome
    assert outcome.state is State.OK   # every name was read: the inventory is complete
    dsm = next(i for i in outcome.items if i["name"].startswith("DSM"))
    assert dsm["type"] == "unknown"


def test_software_names_sent_as_integers_are_not_names():
    values = {"1.3.6.1.2.1.25.6.3.1.2.1": 7, "1.3.6.1.2.1.25.6.3.1.4.1": 4}
    outcome = evaluate_software(values, SoftwareParams()).outcome
    assert outcome.state is State.UNKNOWN and "1 installed packages without" in outcome.summary


def test_interfaces_wait_to_choose_their_ports_until_every_status_is_known():
    values = dict(load_snapshot(DATA_DIR / "switch.snmprec"))
    del values[f"{O.IF_TABLE}.{O.IF_OPER}.1"]
    first = evaluate_interfaces(values, InterfacesParams(), ctx())
    assert first.outcome.state is State.UNKNOWN and first.memory["watched"] is None
    whole = load_snapshot(DATA_DIR / "switch.snmprec")
    second = evaluate_interfaces(whole, InterfacesParams(), ctx(first.memory))
    assert second.outcome.state is State.OK and "g1" in second.memory["watched"]
    # a watched port whose status goes missing later is UNKNOWN, not down and not up
    third = evaluate_interfaces(values, InterfacesParams(), ctx(second.memory))
    assert (State.UNKNOWN, "port g1 (uplink-router): ifOperStatus not answered") in {
        (r.state, r.summary) for r in third.outcome.results}


def test_printer_error_state_not_reported_is_unknown_when_no_level_is_either():
    values = {f"{O.HR_PRINTER}.{O.HR_PRINTER_STATUS}.1": 3}
    outcome = evaluate_printer(values, PrinterParams(), ctx()).outcome
    assert outcome.state is State.UNKNOWN
    assert "hrPrinterDetectedErrorState not answered" in outcome.summary


def test_ups_reporting_no_battery_state_at_all_is_unknown():
    values = {O.UPS_OUTPUT_SOURCE: 3, O.UPS_BATTERY_STATUS: 1}
    outcome = evaluate_ups(values, UpsParams(), ctx()).outcome
    assert outcome.state is State.UNKNOWN
    assert outcome.summary == "the UPS reports neither its battery status nor its charge"


def test_storage_used_above_size_is_unknown_not_clamped_to_full():
    values = dict(load_snapshot(DATA_DIR / "nas.snmprec"))
    values[f"{O.HR_STORAGE}.6.31"] = 700_000   # "/" has 600,000 units
    outcome = evaluate_storage(values, StorageParams(), ctx()).outcome
    assert (State.UNKNOWN, "/: 700000 units used of 600000") in {
        (r.state, r.summary) for r in outcome.results}
