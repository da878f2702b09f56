"""ENTITY-MIB, hrSWInstalledTable and DateAndTime: pure parsers on the lab's recordings and on
odd encodings real agents send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lab.snmp_lab import DATA_DIR
from lab.snmp_recordings import load_snapshot
from muni_watchdog.checks.snmp import entity, software
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.check_software import SoftwareParams, evaluate_software
from muni_watchdog.checks.snmp.check_system import SystemParams, evaluate_system
from muni_watchdog.checks.snmp.dateandtime import date_and_time
from muni_watchdog.checks.snmp.session import Poll
from muni_watchdog.core.model import CheckContext, State

E = "1.3.6.1.2.1.47.1.1.1.1"
SW = "1.3.6.1.2.1.25.6.3.1"


@pytest.mark.parametrize("raw, expected", [
    ("07e3030e0a1e0f00", "2019-03-14T10:30:15"),                      # 8 octets: local time
    ("07e3030e0a1e0f052b0200", "2019-03-14T10:30:15.500000+02:00"),   # 11 octets, UTC+2
    ("07e3030e0a1e0f002d0530", "2019-03-14T10:30:15-05:48"),          # west, odd minutes
    ("07e3030e0a1e0f002b0000", "2019-03-14T10:30:15+00:00"),          # UTC
    ("07e3030e0a1e3c00", "2019-03-14T10:30:59"),                      # leap second 60
    ("07e3030e0a1e0f00200000", "2019-03-14T10:30:15"),                # bad direction: no zone
    ("0000000000000000", None),                                       # "not known"
    ("07e30d0e0a1e0f00", None),                                       # month 13
    ("07e3020e0a1e0f", None),                                         # 7 octets
    ("ffff", None), ("", None),
])
def test_date_and_time_octets(raw, expected):
    assert date_and_time(bytes.fromhex(raw)) == expected


def test_date_and_time_as_text_and_wrong_types():
    assert date_and_time(b"2019-03-14") == "2019-03-14T00:00:00"   # a DisplayString date
    assert date_and_time(b"2019-03-14 08:05:01") == "2019-03-14T08:05:01"
    assert date_and_time(b"not a date") is None
    assert date_and_time(42) is None and date_and_time(None) is None


def test_entity_chassis_from_the_switch_recording():
    values = load_snapshot(DATA_DIR / "switch.snmprec")
    parts = entity.parse_entities(values)
    assert [(p["index"], p["class"], p["name"]) for p in parts] == [
        ("1", "chassis", "Unit 1"), ("2", "power_supply", "PSU 1")]
    assert parts[1]["serial"] is None and parts[1]["mfg_date"] is None
    found = entity.chassis(values)
    assert (found["vendor"], found["model"], found["serial"], found["firmware"],
            found["hardware_rev"], found["mfg_date"]) == (
        "NETGEAR", "GS724Tv4", "3PL1234567", "6.3.1.4", "B1.0.0.4", "2017-06-21T09:30:00+02:00")


def test_entity_prefers_the_chassis_row_and_fills_gaps_from_others():
    values = {f"{E}.5.1001": 10, f"{E}.11.1001": b"PORT-SERIAL", f"{E}.13.1001": b"SFP-10G",
              f"{E}.5.2": 9, f"{E}.12.2": b"Cisco", f"{E}.9.2": b"15.2(7)E",
              f"{E}.5.1": 3, f"{E}.13.1": b"WS-C2960X-24PS-L", f"{E}.11.1": b"FOC1234X0AB",
              f"{E}.12.1": b"  ", f"{E}.17.1": bytes.fromhex("07df0b02000000002b0000")}
    found = entity.chassis(values)
    assert (found["class"], found["model"], found["serial"], found["vendor"],
            found["firmware"], found["mfg_date"]) == (
        "chassis", "WS-C2960X-24PS-L", "FOC1234X0AB", "Cisco", "15.2(7)E",
        "2015-11-02T00:00:00+00:00")
    assert entity.chassis({}) is None


def test_system_identity_prefers_entity_mib_over_vendor_oids():
    values = {"1.3.6.1.2.1.1.1.0": b"APC Web/SNMP Management Card",
              "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.318.1.3.27",
              "1.3.6.1.4.1.318.1.1.1.1.1.1.0": b"Smart-UPS 1500",
              "1.3.6.1.4.1.318.1.1.1.1.2.3.0": b"AS1911123456",
              f"{E}.5.1": 3, f"{E}.13.1": b"SMX1500RMI2UNC", f"{E}.11.1": b"3S1911X12345"}
    identity = sysmod.identity(values)
    assert (identity["vendor"], identity["model"], identity["serial"]) == (
        "APC", "SMX1500RMI2UNC", "3S1911X12345")
    del values[f"{E}.5.1"], values[f"{E}.13.1"], values[f"{E}.11.1"]
    assert sysmod.identity(values)["model"] == "Smart-UPS 1500"   # no ENTITY-MIB: as before


def test_system_check_adds_a_chassis_item_and_keeps_the_contract_object():
    values = load_snapshot(DATA_DIR / "switch.snmprec")
    ctx = CheckContext(datetime(2026, 12, 1, tzinfo=UTC), {})
    items = evaluate_system(Poll(values, {"interfaces"}), SystemParams(), ctx).outcome.items
    system, chassis = items
    assert set(system) == {"descr", "object_id", "name", "uptime_seconds", "device_class",
                           "vendor", "model", "serial", "firmware"}
    assert chassis["kind"] == "chassis" and chassis["mfg_date"].startswith("2017-06-21")
    printer = load_snapshot(DATA_DIR / "printer.snmprec")
    assert len(evaluate_system(Poll(printer, {"printer"}), SystemParams(), ctx)
               .outcome.items) == 1   # no ENTITY-MIB: no chassis item


def test_installed_software_from_the_nas_recording():
    items, total = software.parse_software(load_snapshot(DATA_DIR / "nas.snmprec"))
    assert total == 5
    assert [(i["name"], i["type"], i["installed"]) for i in items] == [
        ("Active Backup for Business 2.7.0-13233", "application", None),
        ("Antivirus Essential 1.4.7-3054", "device_driver", None),
        ("DSM 7.2.1-69057 Update 5", "operating_system", "2024-03-14T10:30:15+01:00"),
        ("Hyper Backup 4.1.0-3718", "application", "2024-01-20T08:30:00"),
        ("Synology Photos 1.6.1-0071", "application", None)]
    assert all(i["kind"] == "software" for i in items)


def test_installed_software_is_capped_and_says_so():
    # net-snmp on Debian: "name_version", type 4, a zero-length date; one Latin-1 name
    values = {}
    for i in range(1, 2501):
        values[f"{SW}.2.{i}"] = f"pkg{i:05d}_1.{i}-1".encode()
        values[f"{SW}.4.{i}"] = 4
        values[f"{SW}.5.{i}"] = b""
    values[f"{SW}.2.9999"] = "caf\xe9-tools_2.0".encode("latin-1")
    values[f"{SW}.2.10000"] = b"   "   # blank names are skipped
    items, total = software.parse_software(values)
    assert total == 2501 and len(items) == software.MAX_SOFTWARE
    assert items[0]["name"] == "caf\xe9-tools_2.0" and items[1]["name"] == "pkg00001_1.1-1"
    outcome = evaluate_software(values, SoftwareParams(max_items=100)).outcome
    assert outcome.state is State.OK and len(outcome.items) == 100
    assert outcome.summary == "2501 installed packages (only the first 100 by name are kept)"
    assert outcome.metrics[0].value == 2501
    empty = evaluate_software({}, SoftwareParams()).outcome
    assert "no HOST-RESOURCES hrSWInstalledTable" in empty.summary and not empty.items
