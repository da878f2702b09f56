"""Real devices that were classed, named or judged wrongly (issue 17), on recordings written
from the vendors' MIBs (lab/snmp_vendor_recordings.py): pure tests on each recording, then
the same recordings served by snmpsim and polled for real."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.snmp_lab import SnmpSim
from lab.snmp_recordings import DATA_DIR, all_devices, load_snapshot, probes_answering
from lab.snmp_vendor_recordings import VENDOR_DEVICES
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.snmp import classes
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.check_nas import NasParams, evaluate_nas
from muni_watchdog.checks.snmp.check_printer import PrinterParams, evaluate_printer
from muni_watchdog.checks.snmp.check_storage import StorageParams, evaluate_storage
from muni_watchdog.checks.snmp.check_ups import UpsParams, evaluate_ups
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.device import DeviceCheck, DeviceParams, DeviceRaw
from muni_watchdog.checks.snmp.discover import discover
from muni_watchdog.checks.snmp.session import Poll, SnmpSession
from muni_watchdog.checks.snmp.values import text
from muni_watchdog.core.model import CheckContext, State

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def snap(name: str) -> dict:
    return load_snapshot(DATA_DIR / f"{name}.snmprec")


def ctx(memory=None) -> CheckContext:
    return CheckContext(T0, memory or {})


def results(outcome) -> set[tuple[State, str]]:
    return {(r.state, r.summary) for r in outcome.results}


# ---- device classes and identity ---------------------------------------------------------
# recording: (class, vendor, model, serial). Before: Aruba CX "server", UniFi AP "network",
# EdgeOS/EdgeSwitch "wireless", Synology "server", OPNsense "server" or vendor "pfSense",
# USG FLEX "server", Liebert "network", RouterOS "0x1d6b"/"0x0002", Windows "Microsoft Print
# To PDF".
DEVICES = {
    "aruba-cx": ("network", "Aruba", "JL658A", "SG0ZKMV04Q"),
    "unifi-ap": ("wireless", "Ubiquiti", "U6-Lite", None),
    "edgeos": ("network", "Ubiquiti", None, None),
    "edgeswitch": ("network", "Ubiquiti", "EdgeSwitch 24-Port Lite", None),
    "nas": ("storage", "Synology", "DS920+", "2080PDN123456"),
    "qnap": ("storage", "QNAP", "TS-453Be", None),
    "qnap-qts": ("storage", "QNAP", "TS-464", "Q221I12345"),
    "opnsense": ("firewall", "OPNsense", None, None),
    "opnsense-bsnmpd": ("firewall", "OPNsense", None, None),
    "pfsense": ("firewall", "Netgate", None, None),
    "usg-flex": ("firewall", "Zyxel", "USG FLEX 100", "S212Z12345678"),
    "liebert": ("ups", "Vertiv", "GXT5-1500IRT2UXL", "2102700123AFA"),
    "routeros": ("network", "MikroTik", "CCR2004-16G-2S+", "HEX0A1B2C3D"),
    "windows": ("server", "Microsoft", None, None),
    "cisco-ios": ("network", "Cisco", None, None),
    "printer-ricoh": ("printer", "Ricoh", None, None),
    "printer-canon": ("printer", "Canon", None, None),
    "ups-apc-highprec": ("ups", "APC", "Smart-UPS 1500", "3S2112X12345"),
    "ups-bypass": ("ups", "Socomec", "NETYS RT 1/1 3kVA", None),
}


@pytest.mark.parametrize("recording", sorted(DEVICES))
def test_class_and_identity_of_each_real_device(recording):
    values = snap(recording)
    found = sysmod.parse_system(values, probes_answering(values))
    assert (found["device_class"], found["vendor"], found["model"], found["serial"]) == (
        DEVICES[recording])


def test_every_vendor_recording_is_pinned_by_a_test():
    assert set(VENDOR_DEVICES) - {"printer-konica", "printer-partial", "ups-partial"} <= set(
        DEVICES)


# Cases for the rules no recording reaches (each from the vendor's documented sysDescr).
RULE_CASES = [
    ("Cisco Adaptive Security Appliance Version 9.16(4)", "1.3.6.1.4.1.9.1.2313", set(),
     "firewall", "Cisco"),
    ("HPE ANW R9Y04A 6100 48G CL4 4SFP+ Sw PL.10.16.1030", "1.3.6.1.4.1.47196.4.1", set(),
     "network", "HPE Aruba Networking"),
    ("FreeBSD gw 13.2-RELEASE-p7 FreeBSD 13.2-RELEASE-p7 stable/24.1-n254984-2a9af2d SMP "
     "amd64", "1.3.6.1.4.1.8072.3.2.8", {"storage"}, "firewall", "OPNsense"),
    ("FreeBSD files 14.1-RELEASE FreeBSD 14.1-RELEASE GENERIC amd64",
     "1.3.6.1.4.1.8072.3.2.8", {"storage"}, "server", "net-snmp"),
    ("USG FLEX 200H", "1.3.6.1.4.1.8072.3.2.10", {"storage"}, "firewall", "Zyxel"),
    ("Hardware: AMD64 Family 25 - Software: Windows Version 6.3 (Build 20348 Multiprocessor "
     "Free)", "", {"storage"}, "server", "Microsoft"),
    ("Linux 5.10.0 #1 SMP armv7l", "1.3.6.1.4.1.10002.1", {"interfaces"}, "wireless",
     "Ubiquiti"),
    ("ReadyNAS OS 6.10.9", "1.3.6.1.4.1.4526.100.16.1", {"storage"}, "storage", "NETGEAR"),
    ("TrueNAS-13.0-U6.1. Hardware: amd64", "1.3.6.1.4.1.8072.3.2.8", {"storage"}, "storage",
     "iXsystems"),
    # host names are no evidence: net-snmp's second word
    ("Linux backup-nas 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 x86_64",
     "1.3.6.1.4.1.8072.3.2.10", {"storage", "interfaces"}, "server", "net-snmp"),
    ("Linux pfsense-log 6.1.0-18-amd64 #1 SMP x86_64", "1.3.6.1.4.1.8072.3.2.10",
     {"storage"}, "server", "net-snmp"),
    ("Linux ap-hall 5.4.0 #1 SMP x86_64", "1.3.6.1.4.1.8072.3.2.10", {"interfaces"},
     "server", "net-snmp"),
    ("EdgeRouter X 2.0.9", "1.3.6.1.4.1.8072.3.2.10", {"interfaces"}, "network", "Ubiquiti"),
    ("CSS326-24G-2S+ SwOS v2.17", "1.3.6.1.4.1.14988.2", {"interfaces"}, "network",
     "MikroTik"),
]


@pytest.mark.parametrize("descr, object_id, answering, expected, vendor", RULE_CASES)
def test_class_rules_from_documented_sysdescr(descr, object_id, answering, expected, vendor):
    values = {O.SYS_DESCR: descr.encode(), O.SYS_OBJECT_ID: object_id}
    assert classes.classify(values, answering) == expected
    assert classes.vendor(values, answering) == vendor


def test_every_class_rule_is_reached_by_a_recording_or_a_case():
    reached = set()
    for name in all_devices():
        values = snap(name)
        found = classes.matching_rule(values, probes_answering(values))
        reached |= {found[0]} if found else set()
    for descr, object_id, answering, *_ in RULE_CASES:
        found = classes.matching_rule({O.SYS_DESCR: descr.encode(),
                                       O.SYS_OBJECT_ID: object_id}, answering)
        reached |= {found[0]} if found else set()
    assert set(classes.RULES) - reached == set()


def test_rules_only_match_at_arc_boundaries():
    # 1.3.6.1.4.1.1413 is not Broadcom (4413) and 1.3.6.1.4.1.147196 is not HPE (47196)
    for object_id in ("1.3.6.1.4.1.44130", "1.3.6.1.4.1.147196.4.1.1.1.100"):
        values = {O.SYS_DESCR: b"EdgeSwitch 8", O.SYS_OBJECT_ID: object_id}
        assert classes.matching_rule(values, set()) is None


def test_sysdescr_keeps_its_line_breaks_as_spaces():
    descr = sysmod.parse_system(snap("cisco-ios"), {"interfaces"})["descr"]
    assert "RELEASE SOFTWARE (fc3) Technical Support: http://www.cisco.com/techsupport" in descr
    assert "Inc. Compiled Sat 19-Aug-17" in descr and "\n" not in descr
    assert text(b"a\tb\r\nc\x00d") == "a b cd"


def test_usb_ids_and_placeholders_are_not_identity():
    assert [sysmod.plausible(v) for v in ("0x1d6b", "0x0002", "Unknown", "N/A", "--",
                                          "CCR2004", "0xdeadbeef1")] == [
        None, None, None, None, None, "CCR2004", "0xdeadbeef1"]


def test_a_hosts_first_printer_is_not_its_model():
    windows = sysmod.parse_system(snap("windows"), {"storage", "interfaces"})
    assert windows["model"] is None
    printer = sysmod.parse_system(snap("printer"), {"printer"})
    assert printer["model"] == "HP Color LaserJet M479fdw"


# ---- printers: RFC 3805 receptacles and "some remaining" --------------------------------
def test_empty_ricoh_waste_box_is_all_room_left_and_minus_100_is_empty():
    outcome = evaluate_printer(snap("printer-ricoh"), PrinterParams(), ctx()).outcome
    found = results(outcome)
    assert (State.OK, "Waste Toner: 100 % room left") in found
    assert (State.CRITICAL, "Toner Magenta: 0 % left (critical at 10)") in found
    assert (State.OK, "Toner Black: some remaining (no level reported)") in found
    assert not any("Waste" in r.summary and not r.state.is_ok for r in outcome.results)


def test_canon_waste_box_at_6030_of_6700_has_90_percent_room():
    outcome = evaluate_printer(snap("printer-canon"), PrinterParams(), ctx()).outcome
    assert outcome.state is State.OK
    assert (State.OK, "Waste Toner Container: 90 % room left") in results(outcome)
    [item] = [i for i in outcome.items if i["kind"] == "waste_toner"]
    assert (item["level_percent"], item["state"]) == (90.0, "ok")


@pytest.mark.parametrize("waste_level, state, words", [
    (3, State.CRITICAL, "Waste: 3 % room left (critical at 10)"),    # nearly full
    (15, State.WARNING, "Waste: 15 % room left (warning at 20)"),
    (80, State.OK, "Waste: 80 % room left"),
    (0, State.CRITICAL, "Waste: 0 % room left (critical at 10)"),    # full
])
def test_a_receptacle_near_zero_is_nearly_full(waste_level, state, words):
    t = O.PRT_SUPPLIES
    values = {f"{t}.4.1.1": 4, f"{t}.5.1.1": 8, f"{t}.6.1.1": b"Waste",
              f"{t}.8.1.1": 100, f"{t}.9.1.1": waste_level}
    outcome = evaluate_printer(values, PrinterParams(), ctx()).outcome
    assert (state, words) in results(outcome)


def test_konica_some_remaining_is_ok_with_a_note_and_warning_on_request():
    outcome = evaluate_printer(snap("printer-konica"), PrinterParams(), ctx()).outcome
    assert outcome.state is State.OK
    assert (State.OK, "Toner (Black): some remaining (no level reported)") in results(outcome)
    strict = evaluate_printer(snap("printer-konica"),
                              PrinterParams(some_remaining_state="warning"), ctx()).outcome
    assert strict.state is State.WARNING


# ---- UPS: bypass, high precision, Liebert ------------------------------------------------
def test_ups_on_bypass_with_an_empty_alarm_table_warns():
    outcome = evaluate_ups(snap("ups-bypass"), UpsParams(), ctx()).outcome
    assert outcome.state is State.WARNING and not outcome.immediate
    assert outcome.summary == "ON BYPASS: the load runs on raw mains, unprotected by the UPS"


@pytest.mark.parametrize("source, state, words", [
    (1, State.OK, "output source 'other' reported"),
    (2, State.CRITICAL, "UPS OUTPUT OFF: the load has no power"),
    (3, State.OK, "on mains power"),
    (4, State.WARNING, "ON BYPASS"),
    (5, State.CRITICAL, "ON BATTERY"),
    (6, State.OK, "boosting a low input voltage (AVR)"),
    (7, State.OK, "trimming a high input voltage (AVR)"),
    (9, State.UNKNOWN, "upsOutputSource value its MIB does not define"),
])
def test_rfc1628_output_source_states(source, state, words):
    values = {O.UPS_BATTERY_STATUS: 2, O.UPS_CHARGE: 100, O.UPS_OUTPUT_SOURCE: source}
    outcome = evaluate_ups(values, UpsParams(), ctx()).outcome
    assert outcome.state is state
    assert any(words in r.summary for r in outcome.results)


def test_output_switched_off_on_request_is_a_warning():
    values = {O.UPS_BATTERY_STATUS: 2, O.UPS_CHARGE: 100, O.UPS_OUTPUT_SOURCE: 2,
              f"{O.UPS_ALARM_DESCR}.1": f"{O.UPS_WELL_KNOWN_ALARMS}.11"}
    assert evaluate_ups(values, UpsParams(), ctx()).outcome.state is State.WARNING


def test_apc_high_precision_only_card_reads_charge_load_voltage_temperature():
    outcome = evaluate_ups(snap("ups-apc-highprec"), UpsParams(), ctx()).outcome
    [ups] = outcome.items
    assert (ups["charge_percent"], ups["output_load_percent"], ups["input_voltage"],
            ups["temperature_c"], ups["runtime_minutes"]) == (100.0, 18.7, 230.4, 26.2, 52.0)
    assert outcome.state is State.OK
    # the basic/advanced OIDs still count when the high-precision ones are missing
    values = {O.APC_BATTERY_STATUS: 2, O.APC_OUTPUT_STATUS: 2, O.APC_CHARGE: 97,
              O.APC_OUTPUT_LOAD: 30}
    [basic] = evaluate_ups(values, UpsParams(), ctx()).outcome.items
    assert (basic["charge_percent"], basic["output_load_percent"]) == (97.0, 30.0)


@pytest.mark.parametrize("status, state", [
    (2, State.OK), (3, State.CRITICAL), (4, State.OK), (6, State.WARNING),
    (7, State.CRITICAL), (9, State.WARNING), (12, State.OK), (15, State.OK),
    (1, State.UNKNOWN), (99, State.UNKNOWN)])
def test_apc_output_status_battery_bypass_off_boost_trim(status, state):
    # onLine, onBattery, onSmartBoost, softwareBypass, off, switchedBypass, onSmartTrim,
    # onBatteryTest, unknown, undefined
    values = {O.APC_BATTERY_STATUS: 2, O.APC_OUTPUT_STATUS: status, O.APC_CHARGE: 100}
    assert evaluate_ups(values, UpsParams(), ctx()).outcome.state is state


def test_liebert_ups_is_checked_from_its_own_mib():
    outcome = evaluate_ups(snap("liebert"), UpsParams(), ctx()).outcome
    assert outcome.state is State.OK
    [ups] = outcome.items
    assert (ups["source"], ups["on_battery"], ups["charge_percent"], ups["runtime_minutes"]) == (
        "liebert", False, 100.0, 38.0)
    values = dict(snap("liebert"))
    values[O.LIEBERT_OUTPUT_SOURCE] = 5
    assert evaluate_ups(values, UpsParams(), ctx()).outcome.state is State.CRITICAL


def test_liebert_answering_rfc1628_is_read_from_rfc1628():
    values = dict(snap("liebert"))
    values.update({O.UPS_BATTERY_STATUS: 2, O.UPS_OUTPUT_SOURCE: 4, O.UPS_CHARGE: 97})
    outcome = evaluate_ups(values, UpsParams(), ctx()).outcome
    assert outcome.items[0]["source"] == "rfc1628" and outcome.state is State.WARNING


@pytest.mark.parametrize("status, words", [(4, "battery fault"), (5, "battery missing")])
def test_apc_battery_fault_and_missing_are_critical(status, words):
    values = {O.APC_BATTERY_STATUS: status, O.APC_OUTPUT_STATUS: 2, O.APC_CHARGE: 100}
    outcome = evaluate_ups(values, UpsParams(), ctx()).outcome
    assert outcome.state is State.CRITICAL and outcome.summary == words


# ---- NAS ---------------------------------------------------------------------------------
@pytest.mark.parametrize("recording, state, words", [
    ("nas", State.OK, "Synology: 2 RAID sets, 4 of 4 disks fine"),
    ("nas-degraded", State.CRITICAL, "RAID Storage Pool 1: DEGRADED"),
    ("nas-repairing", State.WARNING, "RAID Storage Pool 1: repairing"),
    ("qnap", State.OK, "QNAP: 1 RAID set, 3 of 3 disks fine"),
    ("qnap-qts", State.CRITICAL, "RAID RAID 1 Disk Volume: DEGRADED"),
])
def test_nas_raid_and_disks(recording, state, words):
    values = snap(recording)
    outcome = evaluate_nas(values, probes_answering(values), NasParams(), ctx()).outcome
    assert outcome.state is state
    assert any(words == r.summary for r in outcome.results)


def test_crashed_disk_is_critical_and_items_carry_model_and_serial():
    values = snap("nas-degraded")
    outcome = evaluate_nas(values, probes_answering(values), NasParams(), ctx()).outcome
    assert (State.CRITICAL, "Disk 3 (WD40EFPX-68C6CN0): CRASHED") in results(outcome)
    disks = [i for i in outcome.items if i["kind"] == "disk"]
    assert [d["id"] for d in disks] == ["Disk 1", "Disk 2", "Disk 3", "Disk 4"]
    assert disks[2]["status"] == "CRASHED" and disks[2]["health"] == "FAILING"
    qts = snap("qnap-qts")
    items = evaluate_nas(qts, probes_answering(qts), NasParams(), ctx()).outcome.items
    assert {(i["id"], i["model"], i["serial"]) for i in items if i["kind"] == "disk"} == {
        ("HDD1", "Seagate ST4000VN006-3CW104", "ZW6ABC12"),
        ("HDD2", "Seagate ST4000VN006-3CW104", "ZW6ABC34")}


@pytest.mark.parametrize("temperature, state", [(45, State.OK), (52, State.WARNING),
                                                (61, State.CRITICAL)])
def test_disk_temperature_levels(temperature, state):
    values = dict(snap("nas"))
    values["1.3.6.1.4.1.6574.2.1.1.6.1"] = temperature
    outcome = evaluate_nas(values, {"synology"}, NasParams(), ctx()).outcome
    assert outcome.state is state


def test_qnap_empty_bay_is_not_a_disk_and_text_temperatures_are_read():
    values = snap("qnap")
    outcome = evaluate_nas(values, probes_answering(values), NasParams(), ctx()).outcome
    disks = [i for i in outcome.items if i["kind"] == "disk"]
    assert [(d["id"], d["temperature_c"]) for d in disks] == [("HDD1", 37), ("HDD2", 38),
                                                               ("HDD3", 39)]


def test_ssd_cache_not_initialized_is_fine_an_hdd_is_not():
    values = dict(snap("nas"))
    values["1.3.6.1.4.1.6574.2.1.1.5.3"] = 3
    assert evaluate_nas(values, {"synology"}, NasParams(), ctx()).outcome.state is State.WARNING
    values["1.3.6.1.4.1.6574.2.1.1.4.3"] = b"NVMe"
    assert evaluate_nas(values, {"synology"}, NasParams(), ctx()).outcome.state is State.OK


# ---- storage: tiny firmware partitions, bsnmpd's "/" -------------------------------------
def test_qnap_tiny_system_partition_at_93_percent_is_not_critical():
    outcome = evaluate_storage(snap("qnap"), StorageParams(), ctx()).outcome
    assert outcome.state is State.OK
    assert "/mnt/ext" not in outcome.summary
    assert (State.OK, "2 volumes under 1 GiB not judged") in results(outcome)
    assert any(i.get("descr") == "/mnt/ext" for i in outcome.items)   # still listed
    judged = evaluate_storage(snap("qnap"), StorageParams(min_size_gib=0), ctx()).outcome
    assert judged.state is State.CRITICAL and "/mnt/ext 93 % used" in judged.summary


def test_small_boot_volume_is_still_judged():
    values = dict(snap("qnap"))
    values[f"{O.HR_STORAGE}.3.32"] = b"/boot"
    outcome = evaluate_storage(values, StorageParams(), ctx()).outcome
    assert outcome.state is State.CRITICAL and "/boot 93 % used" in outcome.summary


def test_bsnmpd_root_of_type_other_is_checked_and_pseudo_filesystems_are_not():
    outcome = evaluate_storage(snap("pfsense"), StorageParams(), ctx()).outcome
    assert outcome.state is State.CRITICAL
    assert outcome.summary == "/ 94 % used, 1.1 GiB free of 19.1 GiB"
    assert "/dev" not in str(results(outcome)) and "/var/run" not in str(results(outcome))


# ---- the device profiles on the recordings -----------------------------------------------
@pytest.mark.parametrize("recording, state, words", [
    ("nas-degraded", State.CRITICAL, r"RAID Storage Pool 1: DEGRADED"),
    ("qnap", State.OK, r"^storage profile, QNAP"),
    ("pfsense", State.CRITICAL, r"^/ 94 % used"),
    ("liebert", State.OK, r"^ups profile, on mains power, charge 100 %"),
    ("aruba-cx", State.OK, r"^network profile, 27 of 27 watched ports up"),
    ("printer-partial", State.UNKNOWN, r"Black Cartridge HP 26X: level not answered"),
    ("ups-partial", State.UNKNOWN, r"upsOutputSource not answered"),
])
def test_device_profile_of_real_devices(recording, state, words):
    values = snap(recording)
    answering = probes_answering(values)
    raw = DeviceRaw(classes.classify(values, answering), Poll(values, answering))
    outcome = DeviceCheck().evaluate(raw, DeviceParams(), ctx()).outcome
    assert outcome.state is state and re.search(words, outcome.summary), outcome.summary


# ---- the same devices polled over SNMP (snmpsim on loopback) ------------------------------
SERVED = sorted(set(DEVICES) | {"nas-degraded", "printer-partial", "ups-partial"})


@pytest.fixture(scope="module")
def sim():
    server = SnmpSim({name: DATA_DIR / f"{name}.snmprec" for name in SERVED}).start()
    yield server
    server.stop()


def _conn(tmp_path: Path, port: int, community: str) -> SnmpConnection:
    secret = tmp_path / f"community-{community}"
    secret.write_text(community + "\n")
    return SnmpConnection(version="2c", port=port, community_file=str(secret))


@pytest.mark.integration
@pytest.mark.parametrize("recording", sorted(DEVICES))
def test_discover_classes_and_names_each_real_device(sim, tmp_path, recording):
    found, _ = asyncio.run(discover("127.0.0.1", _conn(tmp_path, sim.port, recording)))
    system = found["system"]
    assert (system["device_class"], system["vendor"], system["model"], system["serial"]) == (
        DEVICES[recording])


@pytest.mark.integration
@pytest.mark.parametrize("recording, state, words", [
    ("nas-degraded", State.CRITICAL, "RAID Storage Pool 1: DEGRADED"),
    ("printer-ricoh", State.CRITICAL, "Toner Magenta: 0 % left"),
    ("printer-canon", State.OK, "Waste Toner Container: 90 % room left"),
    ("ups-bypass", State.WARNING, "ON BYPASS"),
    ("ups-apc-highprec", State.OK, "input 230.4 V"),
    ("pfsense", State.CRITICAL, "/ 94 % used"),
    ("printer-partial", State.UNKNOWN, "level not answered"),
    ("ups-partial", State.UNKNOWN, "upsOutputSource not answered"),
])
def test_device_check_over_snmp(sim, tmp_path, recording, state, words):
    conn = _conn(tmp_path, sim.port, recording)
    session = SnmpSession("127.0.0.1", conn)
    target = TargetInfo(recording, "snmp", "127.0.0.1", conn, session)

    async def run():
        try:
            return await DeviceCheck().collect(target, DeviceParams())
        finally:
            await session.close()
    raw = asyncio.run(run())
    outcome = DeviceCheck().evaluate(raw, DeviceParams(), ctx()).outcome
    assert outcome.state is state and words in " | ".join(r.summary for r in outcome.results)
