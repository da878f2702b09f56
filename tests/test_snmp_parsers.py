"""Pure tests of the SNMP parsers: our recordings (read without any agent) and the odd things
real agents send (wrong types, sentinels, overflowing Integer32, short BITS)."""

from __future__ import annotations

import pytest

from lab.snmp_recordings import DATA_DIR, load_snapshot
from muni_watchdog.checks.snmp import hostres, ifmib, printer, ups
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.values import Values, _under, bits, integer, text


def snap(name: str) -> dict:
    return load_snapshot(DATA_DIR / f"{name}.snmprec")


# ---- values -----------------------------------------------------------------------------
@pytest.mark.parametrize("raw, expected", [
    (b"HP LaserJet\x00\x00", "HP LaserJet"), (b"  padded  ", "padded"),
    (b"caf\xe9", "café"), (b"\xe2\x82\xac 5", "€ 5"), (42, "42"), (None, ""),
])
def test_text_tolerates_nuls_latin1_and_numbers(raw, expected):
    assert text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (5, 5), (b"17", 17), (b" 3.0 ", 3), (b"n/a", None), ("12", 12), (None, None),
])
def test_integer_reads_numbers_sent_as_strings(raw, expected):
    assert integer(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (bytes.fromhex("0400"), {5}), (bytes.fromhex("04"), {5}),        # one byte is fine
    (bytes.fromhex("8001"), {0, 15}), (b"", set()), (None, set()),
    (0x04, {5}),                                                    # INTEGER instead of BITS
])
def test_bits_msb_first_whatever_the_length(raw, expected):
    assert bits(raw) == expected


# ---- printer ----------------------------------------------------------------------------
def test_printer_supplies_sentinels_clamping_colour_and_waste():
    supplies = {s["index"]: s for s in printer.parse_supplies(snap("printer"))}
    assert printer.public(supplies["1.1"]) == {
        "index": "1.1", "descr": "Black Cartridge HP W2030X", "kind": "toner",
        "color": "black", "level_percent": 45.0, "state": "ok"}
    # -3 some remaining and -2 unknown: no percentage, never 0 or 100
    assert (supplies["1.2"]["level_percent"], supplies["1.2"]["state"]) == (None,
                                                                            "some_remaining")
    assert (supplies["1.3"]["level_percent"], supplies["1.3"]["state"]) == (None, "unknown")
    assert (supplies["1.4"]["level_percent"], supplies["1.4"]["state"]) == (8.0, "low")
    # 12000 of 10000: clamped to 100 and flagged
    assert supplies["1.5"]["level_percent"] == 100.0 and supplies["1.5"]["_over_capacity"]
    assert supplies["1.5"]["kind"] == "drum" and supplies["1.5"]["color"] is None
    # waste box at level 15 of 100: RFC 3805 says that is the room left, which is low
    assert supplies["1.6"]["kind"] == "waste_toner" and supplies["1.6"]["state"] == "low"
    assert printer.space_left_percent(supplies["1.6"]) == 15.0
    # -1 "other" level with -2 capacity
    assert (supplies["1.7"]["level_percent"], supplies["1.7"]["state"]) == (None, "unknown")


def test_printer_colour_from_description_when_no_colorant_table():
    values = {f"{O.PRT_SUPPLIES}.6.1.1": b"Toner Cartridge Magenta",
              f"{O.PRT_SUPPLIES}.5.1.1": 3, f"{O.PRT_SUPPLIES}.8.1.1": 200,
              f"{O.PRT_SUPPLIES}.9.1.1": 0}
    [supply] = printer.parse_supplies(values)
    assert supply["color"] == "magenta" and supply["level_percent"] == 0.0
    assert supply["state"] == "empty"


def test_printer_level_without_capacity_is_not_a_percentage():
    values = {f"{O.PRT_SUPPLIES}.6.1.1": b"Black", f"{O.PRT_SUPPLIES}.8.1.1": -2,
              f"{O.PRT_SUPPLIES}.9.1.1": 40}
    [supply] = printer.parse_supplies(values)
    assert supply["level_percent"] is None and supply["state"] == "unknown"


def test_printer_error_state_decodes_paper_jam():
    status = printer.parse_printer_status(snap("printer"))
    assert status["errors"] == ["paper jam"] and status["critical"] == ["paper jam"]
    values = {f"{O.HR_PRINTER}.1.1": 3, f"{O.HR_PRINTER}.2.1": bytes.fromhex("1284")}
    status = printer.parse_printer_status(values)
    assert status["status"] == "idle"
    assert status["errors"] == ["no toner", "offline", "input tray missing",
                                "input tray empty"]
    assert status["critical"] == ["no toner", "offline", "input tray missing"]
    assert printer.parse_printer_status({}) is None


# ---- UPS --------------------------------------------------------------------------------
def test_rfc1628_ups_on_battery():
    found = ups.parse_ups(snap("ups-rfc1628"))
    assert ups.public(found) == {
        "source": "rfc1628", "battery_status": "normal", "charge_percent": 87.0,
        "runtime_minutes": 18.0, "on_battery": True, "output_load_percent": 42.0,
        "input_voltage": 0.0, "temperature_c": 29.0}
    assert found["_alarms"] == ["on battery"] and found["_seconds_on_battery"] == 125


def test_apc_powernet_runtime_from_timeticks_and_replace_battery():
    found = ups.parse_ups(snap("ups-apc"))
    assert ups.public(found) == {
        "source": "apc", "battery_status": "normal", "charge_percent": 100.0,
        "runtime_minutes": 44.0, "on_battery": False, "output_load_percent": 31.0,
        "input_voltage": 231.0, "temperature_c": 27.0}
    assert found["_replace_battery"] is True
    assert ups.parse_ups(snap("ups-demo"))["_replace_battery"] is False


@pytest.mark.parametrize("minutes, expected", [(999, None), (65535, None), (-1, None),
                                               (0, 0.0), (45, 45.0)])
def test_rfc1628_runtime_sentinels_are_not_real(minutes, expected):
    values = {O.UPS_BATTERY_STATUS: 2, O.UPS_OUTPUT_SOURCE: 3, O.UPS_MINUTES_REMAINING: minutes,
              O.UPS_CHARGE: 255}
    found = ups.parse_ups(values)
    assert found["runtime_minutes"] == expected
    assert found["charge_percent"] is None  # 255: unknown
    assert found["on_battery"] is False


def test_cyberpower_eaton_and_mge():
    cps = ups.parse_ups({O.CPS_BATTERY_STATUS: 3, O.CPS_OUTPUT_STATUS: 3, O.CPS_CHARGE: 30,
                         O.CPS_RUNTIME: 60_000, O.CPS_INPUT_VOLTAGE: 2305,
                         O.CPS_OUTPUT_LOAD: 12})
    assert (cps["source"], cps["battery_status"], cps["on_battery"], cps["runtime_minutes"],
            cps["input_voltage"]) == ("cyberpower", "low", True, 10.0, 230.5)
    eaton = ups.parse_ups({O.XUPS_OUTPUT_SOURCE: 3, O.XUPS_ABM_STATUS: 8, O.XUPS_CHARGE: 100,
                           O.XUPS_RUNTIME: 1800, f"{O.XUPS_INPUT_VOLTAGE}.1": 229})
    assert (eaton["source"], eaton["on_battery"], eaton["runtime_minutes"],
            eaton["input_voltage"], eaton["_replace_battery"]) == ("eaton", False, 30.0,
                                                                   229.0, True)
    # xupsBatteryAbmStatus: 4 is the charger resting (normal), 5 unknown, 6 disconnected.
    abm = {n: ups.parse_ups({O.XUPS_OUTPUT_SOURCE: 3, O.XUPS_ABM_STATUS: n,
                             O.XUPS_CHARGE: 100})["battery_status"] for n in range(1, 9)}
    assert abm == {1: "normal", 2: "normal", 3: "normal", 4: "normal", 5: "unknown",
                   6: "missing", 7: "normal", 8: "normal"}
    mge = ups.parse_ups({O.MGE_ON_BATTERY: 1, O.MGE_CHARGE: 80, O.MGE_RUNTIME: 600,
                         O.MGE_LOW_BATTERY: 2})
    assert (mge["source"], mge["on_battery"], mge["runtime_minutes"], mge["battery_status"]
            ) == ("mge", True, 10.0, "normal")
    assert ups.parse_ups(snap("switch")) is None


# ---- interfaces -------------------------------------------------------------------------
def test_switch_interfaces_contract_and_64_bit_preference():
    ports = {p["index"]: p for p in ifmib.parse_interfaces(snap("switch"))}
    assert len(ports) == 25
    assert ports[1] == {
        "index": 1, "name": "g1", "descr": "g1", "alias": "uplink-router",
        "type": "ethernetCsmacd", "admin_status": "up", "oper_status": "up",
        "speed_bps": 1_000_000_000, "in_octets": 10**12 + 10**9,
        "out_octets": 5 * 10**11 + 10**9, "in_errors": 0, "out_errors": 0}
    assert ports[5]["oper_status"] == "down" and ports[7]["admin_status"] == "down"
    assert ports[24]["in_octets"] == 4_294_000_000  # no ifHC counters: the 32-bit one
    assert ifmib.counter_bits(snap("switch"), 24) == 32
    assert ifmib.counter_bits(snap("switch"), 1) == 64
    assert ports[1000]["type"] == "softwareLoopback" and ports[1000]["speed_bps"] is None


def test_high_speed_used_when_ifspeed_saturates():
    values = {f"{O.IF_TABLE}.2.1": b"te1", f"{O.IF_TABLE}.5.1": 4_294_967_295,
              f"{O.IF_X_TABLE}.15.1": 10_000, f"{O.IF_TABLE}.8.1": 7}
    [port] = ifmib.parse_interfaces(values)
    assert port["speed_bps"] == 10_000_000_000 and port["oper_status"] == "lowerLayerDown"
    assert port["in_octets"] is None and port["admin_status"] == "unknown"


# ---- HOST-RESOURCES ---------------------------------------------------------------------
def test_nas_storage_reads_overflowed_integer32_as_unsigned():
    volumes = {v["descr"]: v for v in hostres.parse_storage(snap("nas"))}
    big = volumes["/volume1"]
    assert big["size_bytes"] == 16 * 10**12 and big["type"] == "fixed_disk"
    assert big["used_percent"] == pytest.approx(85.0, abs=0.01)
    assert volumes["Physical memory"]["type"] == "ram"
    assert volumes["Virtual memory"]["type"] == "virtual_memory"
    assert [p["load_percent"] for p in hostres.parse_processors(snap("nas"))] == [12.0, 13.0,
                                                                                   14.0, 15.0]


def test_memory_excludes_buffers_and_cache():
    storage = hostres.parse_storage(snap("nas"))
    memory = hostres.parse_memory(snap("nas"), storage)
    # 8,000,000 kB total - 1,200,000 free - 900,000 buffers - 4,000,000 cached
    assert memory["source"] == "ucd" and memory["used_percent"] == pytest.approx(23.75)
    without_ucd = {k: v for k, v in snap("nas").items() if not k.startswith("1.3.6.1.4.1.2021")}
    assert hostres.parse_memory(without_ucd, storage)["source"] == "hrStorage"


def test_memory_from_hrstorage_alone_leaves_out_net_snmps_buffers_and_cache_rows():
    # net-snmp's hrStorage on Linux (a QNAP answers it without UCD-SNMP-MIB): "Physical
    # memory" counts buffers and cache as used; its rows 6 and 7 (type other) say how much.
    base, kinds = O.HR_STORAGE, "1.3.6.1.2.1.25.2.1"
    rows = {1: (b"Physical memory", 2, 8_000_000, 7_000_000),
            6: (b"Memory buffers", 1, 8_000_000, 900_000),
            7: (b"Cached memory", 1, 4_000_000, 4_000_000),
            3: (b"Virtual memory", 3, 10_000_000, 7_200_000)}
    values = {}
    for index, (descr, kind, size, used) in rows.items():
        values |= {f"{base}.3.{index}": descr, f"{base}.2.{index}": f"{kinds}.{kind}",
                   f"{base}.4.{index}": 1024, f"{base}.5.{index}": size,
                   f"{base}.6.{index}": used}
    memory = hostres.parse_memory(values, hostres.parse_storage(values))
    # 7,000,000 kB "used" - 900,000 buffers - 4,000,000 cached of 8,000,000
    assert memory == {"source": "hrStorage", "size_bytes": 8_192_000_000,
                      "used_bytes": 2_150_400_000, "used_percent": 26.25}
    # Without those rows (another agent), the row is all there is.
    del values[f"{base}.5.6"], values[f"{base}.5.7"]
    assert hostres.parse_memory(values, hostres.parse_storage(values))["used_percent"] == 87.5


def test_storage_rows_with_bad_units_are_skipped():
    base = O.HR_STORAGE
    values = {f"{base}.3.1": b"/", f"{base}.4.1": 0, f"{base}.5.1": 100, f"{base}.6.1": 50,
              f"{base}.3.2": b"/data", f"{base}.4.2": 4096, f"{base}.5.2": 100,
              f"{base}.6.2": 150, f"{base}.2.2": f"{O.HR_STORAGE_TYPES}.10"}
    [row] = hostres.parse_storage(values)
    assert row["descr"] == "/data" and row["used_percent"] == 100.0  # used capped at size
    assert row["type"] == "network_disk"


# ---- system and classes -----------------------------------------------------------------
@pytest.mark.parametrize("recording, answering, expected", [
    ("printer", {"printer", "interfaces"}, "printer"),
    ("ups-rfc1628", {"ups"}, "ups"),
    ("ups-apc", {"apc"}, "ups"),
    ("switch", {"interfaces"}, "network"),
    ("nas", {"synology", "storage", "interfaces"}, "storage"),
])
def test_device_class_of_each_recording(recording, answering, expected):
    assert sysmod.classify(snap(recording), answering) == expected


@pytest.mark.parametrize("descr, object_id, answering, expected", [
    ("Linux web 6.1.0", "1.3.6.1.4.1.8072.3.2.10", {"storage", "interfaces"}, "server"),
    ("Cisco IOS Software, C2960", "1.3.6.1.4.1.9.1.1208", {"interfaces"}, "network"),
    ("FortiGate-60F", "1.3.6.1.4.1.12356.101.1.1", {"interfaces"}, "firewall"),
    ("UAP-AC-Pro 6.5", "1.3.6.1.4.1.41112.1.6", {"interfaces"}, "wireless"),
    ("pfSense fw.town 2.7", "1.3.6.1.4.1.12325.1.1.2.1.1", {"interfaces"}, "firewall"),
    ("Brother NC-8300h", "1.3.6.1.4.1.2435.2.3.9.1", set(), "unknown"),
    ("", "", set(), "unknown"),
    ("something", "1.3.6.1.4.1.99999.1", {"interfaces"}, "network"),
])
def test_device_class_rules(descr, object_id, answering, expected):
    values = {O.SYS_DESCR: descr.encode(), O.SYS_OBJECT_ID: object_id}
    assert sysmod.classify(values, answering) == expected


def test_system_identity_from_entity_mib_and_fallbacks():
    switch = sysmod.parse_system(snap("switch"), {"interfaces"})
    assert (switch["vendor"], switch["model"], switch["serial"], switch["firmware"]) == (
        "NETGEAR", "GS724Tv4", "3PL1234567", "6.3.1.4")
    assert switch["uptime_seconds"] == 12_345_678.0
    laser = sysmod.parse_system(snap("printer"), {"printer"})
    assert (laser["vendor"], laser["model"], laser["serial"]) == (
        "HP", "HP Color LaserJet M479fdw", "CNBRM7G0QF")
    apc = sysmod.parse_system(snap("ups-apc"), {"apc"})
    assert (apc["vendor"], apc["model"], apc["serial"]) == ("APC", "Smart-UPS X 1500",
                                                          "AS1911123456")
    assert set(apc) == {"descr", "object_id", "name", "uptime_seconds", "device_class",
                        "vendor", "model", "serial", "firmware"}


def test_office_printer_and_ups_makers_by_their_own_numbers_and_mibs():
    def found(object_id: str, **more) -> dict:
        values = {O.SYS_DESCR: b"", O.SYS_OBJECT_ID: object_id} | more
        return sysmod.parse_system(values, {"printer"})
    # Copier makers once without a vendor: Sharp, Toshiba, Samsung, Fuji Xerox.
    assert [found(f"1.3.6.1.4.1.{number}.3.1")["vendor"] for number in (2385, 1129, 236, 297)
            ] == ["Sharp", "Toshiba", "Samsung", "Fuji Xerox"]
    # A Brother's serial is in its own MIB only.
    brother = found("1.3.6.1.4.1.2435.2.3.9.1", **{O.BROTHER_SERIAL: b"E7Z123456"})
    assert (brother["vendor"], brother["serial"]) == ("Brother", "E7Z123456")
    # CyberPower's card names its maker "CPS" in UPS-MIB.
    cyberpower = found("1.3.6.1.4.1.3808.1.1.3", **{O.UPS_IDENT_MANUFACTURER: b"CPS"})
    assert cyberpower["vendor"] == "CyberPower"


def test_nas_vendor_from_its_mib_not_net_snmp_nor_its_host_name():
    # sysDescr "Linux records 4.4.302+ ...": the SYNOLOGY-SYSTEM-MIB answering says NAS
    nas = sysmod.parse_system(snap("nas"), {"synology", "storage", "interfaces"})
    assert (nas["vendor"], nas["device_class"], nas["model"], nas["serial"]) == (
        "Synology", "storage", "DS920+", "2080PDN123456")
    assert sysmod.parse_system(snap("nas"), {"storage", "interfaces"})["device_class"] == (
        "server")


def test_values_under_finds_a_prefix_as_a_scan_would_and_sees_changes():
    snapshot = Values({"1.3.6.1.2.1.2.2.1.2.10": b"eth10", "1.3.6.1.2.1.2.2.1.2.2": b"eth2",
                       "1.3.6.1.2.1.2.2.1.20.1": 5, "1.3.6.1.2.1.2.2.1.2.1": b"lo"})
    scan = dict(snapshot)
    prefix = "1.3.6.1.2.1.2.2.1.2."
    assert list(snapshot.under(prefix).items()) == list(_under(scan, prefix).items()) == [
        ("10", b"eth10"), ("2", b"eth2"), ("1", b"lo")]   # the snapshot's order; not .20.
    found = snapshot.under(prefix)
    found["99"] = b"mine"                              # the caller's copy
    assert "99" not in snapshot.under(prefix)
    snapshot["1.3.6.1.2.1.2.2.1.2.3"] = b"eth3"        # a change is seen
    assert snapshot.under(prefix)["3"] == b"eth3"
    del snapshot["1.3.6.1.2.1.2.2.1.2.10"]
    assert "10" not in snapshot.under(prefix) and snapshot.under("9.9.") == {}
