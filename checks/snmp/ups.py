"""UPS state from RFC 1628 UPS-MIB and the vendor MIBs small sites' UPSes actually speak:
APC PowerNet-MIB (with its high-precision group), CyberPower CPS-MIB, Eaton XUPS-MIB, MGE
MG-SNMP-UPS-MIB, Liebert/Vertiv LIEBERT-GP-POWER-MIB.

Every source becomes the same object (the discover contract's ``ups``): runtime in minutes
(UPS-MIB and Liebert minutes, PowerNet and CPS TimeTicks, XUPS and MGE seconds), sentinels
dropped. ``_output`` says what feeds the load, in one vocabulary for all MIBs: normal,
battery, bypass, boost, trim, eco, test, overload, off, other; None when not answered,
"invalid" for a value the MIB does not define."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.values import Snapshot, index_key, integer, oid_text, subtree, text

SCALARS = O.ALL_UPS_SCALARS
TABLES = O.UPS_TABLES

BATTERY_STATUS = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
# PowerNet upsBasicBatteryStatus: 4 batteryInFaultCondition, 5 noBatteryPresent.
APC_BATTERY_STATUS = {1: "unknown", 2: "normal", 3: "low", 4: "fault", 5: "missing"}
# UPS-MIB upsWellKnownAlarms (RFC 1628 section 6.3)
ALARMS = {1: "battery bad (replace battery)", 2: "on battery", 3: "low battery",
          4: "battery depleted", 5: "temperature out of range", 6: "input bad",
          7: "output bad", 8: "output overload", 9: "on bypass", 10: "bypass bad",
          11: "output off as requested", 12: "UPS off as requested", 13: "charger failed",
          14: "UPS output off", 15: "UPS system off", 16: "fan failure", 17: "fuse failure",
          18: "general fault", 19: "diagnostic test failed", 20: "communications lost",
          21: "awaiting power", 22: "shutdown pending", 23: "shutdown imminent",
          24: "test in progress"}
# What feeds the load, per MIB. RFC 1628 upsOutputSource (also Liebert's
# lgpPwrStateUpsOutputSource and the first seven of Eaton's xupsOutputSource).
RFC1628_OUTPUT = {1: "other", 2: "off", 3: "normal", 4: "bypass", 5: "battery", 6: "boost",
                  7: "trim"}
XUPS_OUTPUT = RFC1628_OUTPUT | {8: "normal", 9: "normal", 10: "eco", 11: "bypass", 12: "eco"}
# PowerNet upsBasicOutputStatus (as NUT's apc-mib reads it).
APC_OUTPUT = {2: "normal", 3: "battery", 4: "boost", 5: "off", 6: "bypass", 7: "off",
              8: "other", 9: "bypass", 10: "bypass", 11: "off", 12: "trim", 13: "eco",
              14: "normal", 15: "test", 16: "bypass", 17: "normal", 18: "eco", 19: "other",
              20: "eco", **{n: "other" for n in range(21, 29)}}
# CPS-MIB upsBaseOutputStatus (CPS MIB 2.9).
CPS_OUTPUT = {2: "normal", 3: "battery", 4: "boost", 5: "off", 6: "off", 7: "other",
              8: "eco", 9: "bypass", 10: "trim", 11: "overload"}
# Runtime values agents send when they do not know (minutes after conversion is checked too).
RUNTIME_SENTINEL_MINUTES = {999, 9999, 65535}
MAX_PLAUSIBLE_MINUTES = 7 * 24 * 60


def parse_ups(snapshot: Snapshot) -> dict[str, Any] | None:
    """The UPS object, from the richest source that answered; None when no UPS MIB answered.

    Vendor MIBs come first for APC/CyberPower (their RFC 1628 support, where it exists, is
    a thin add-on); RFC 1628 next (Liebert cards answer it fully where they have it); then
    Eaton, MGE and Liebert's own MIB. Extra private fields start with an underscore."""
    for parser in (_apc, _cyberpower, _rfc1628, _eaton, _mge, _liebert):
        found = parser(snapshot)
        if found is not None:
            return found
    return None


def public(ups: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ups.items() if not k.startswith("_")}


def _minutes(value: int | None, unit_seconds: float) -> float | None:
    if value is None or value < 0:
        return None
    minutes = value * unit_seconds / 60.0
    if (unit_seconds == 60 and value in RUNTIME_SENTINEL_MINUTES) or (
            minutes > MAX_PLAUSIBLE_MINUTES):
        return None
    return round(minutes, 1)


def _percent(value: int | None, scale: float = 1.0) -> float | None:
    if value is None or value < 0 or value * scale > 254:  # 255: "unknown" on several agents
        return None
    return round(min(value * scale, 100.0), 1)


def _number(value: int | None, scale: float = 1.0, low: float = -1e9,
            high: float = 1e9) -> float | None:
    if value is None:
        return None
    number = value * scale
    return round(number, 1) if low <= number <= high else None


def _first_of(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _ups(source: str, status: str, charge, runtime, output: str | None, load, voltage,
         temperature, **private: Any) -> dict[str, Any]:
    on_battery = None if output is None else output == "battery"
    return {"source": source, "battery_status": status, "charge_percent": charge,
            "runtime_minutes": runtime, "on_battery": on_battery,
            "output_load_percent": load, "input_voltage": voltage,
            "temperature_c": temperature, "_output": output} | {
        f"_{k}": v for k, v in private.items()}


def _first(values: dict) -> int | None:
    for index in sorted(values, key=index_key):
        number = integer(values[index])
        if number is not None:
            return number
    return None


def _output(mapping: dict[int, str], number: int | None) -> str | None:
    """The vocabulary word; "invalid" for a number the MIB does not define."""
    if number is None:
        return None
    return mapping.get(number, "invalid")


def _rfc1628(s: Snapshot) -> dict[str, Any] | None:
    status_no = integer(s.get(O.UPS_BATTERY_STATUS))
    source_no = integer(s.get(O.UPS_OUTPUT_SOURCE))
    if status_no is None and source_no is None:
        return None
    alarms = []
    for value in subtree(s, O.UPS_ALARM_DESCR).values():
        alarm_oid = oid_text(value)
        if alarm_oid.startswith(O.UPS_WELL_KNOWN_ALARMS + "."):
            number = integer(alarm_oid.rsplit(".", 1)[-1])
            alarms.append(ALARMS.get(number, f"alarm {number}"))
    loads = [integer(v) for v in subtree(s, O.UPS_OUTPUT_LOAD).values()]
    loads = [v for v in loads if v is not None and 0 <= v <= 200]
    return _ups("rfc1628", BATTERY_STATUS.get(status_no, "unknown"),
                _percent(integer(s.get(O.UPS_CHARGE))),
                _minutes(integer(s.get(O.UPS_MINUTES_REMAINING)), 60),
                _output(RFC1628_OUTPUT, source_no),
                float(max(loads)) if loads else None,
                _number(_first(subtree(s, O.UPS_INPUT_VOLTAGE)), 1, 0, 1000),
                _number(integer(s.get(O.UPS_BATTERY_TEMPERATURE)), 1, -50, 150),
                alarms=alarms, replace_battery="battery bad (replace battery)" in alarms,
                seconds_on_battery=integer(s.get(O.UPS_SECONDS_ON_BATTERY)),
                vendor=text(s.get(O.UPS_IDENT_MANUFACTURER)) or None,
                model=text(s.get(O.UPS_IDENT_MODEL)) or None,
                firmware=text(s.get(O.UPS_IDENT_SOFTWARE)) or None)


def _apc(s: Snapshot) -> dict[str, Any] | None:
    status_no, output_no = integer(s.get(O.APC_BATTERY_STATUS)), integer(s.get(O.APC_OUTPUT_STATUS))
    # Newer cards fill only the high-precision group (tenths): read it first, fall back.
    charge = _first_of(_percent(integer(s.get(O.APC_HP_CHARGE)), 0.1),
                       _percent(integer(s.get(O.APC_CHARGE))))
    if status_no is None and output_no is None and charge is None:
        return None
    return _ups("apc", APC_BATTERY_STATUS.get(status_no, "unknown"), charge,
                _minutes(integer(s.get(O.APC_RUNTIME)), 0.01),  # TimeTicks
                _output(APC_OUTPUT, None if output_no == 1 else output_no),
                _first_of(_percent(integer(s.get(O.APC_HP_OUTPUT_LOAD)), 0.1),
                          _percent(integer(s.get(O.APC_OUTPUT_LOAD)))),
                _first_of(_number(integer(s.get(O.APC_HP_INPUT_VOLTAGE)), 0.1, 0, 1000),
                          _number(integer(s.get(O.APC_INPUT_VOLTAGE)), 1, 0, 1000)),
                _first_of(_number(integer(s.get(O.APC_HP_TEMPERATURE)), 0.1, -50, 150),
                          _number(integer(s.get(O.APC_TEMPERATURE)), 1, -50, 150)),
                # the replace indicator, or a bad external battery pack (LibreNMS alerts
                # on one or more; -1 or absent: the unit has no packs to count)
                replace_battery=(integer(s.get(O.APC_REPLACE)) == 2
                                 or (integer(s.get(O.APC_BAD_PACKS)) or 0) >= 1), alarms=[],
                model=text(s.get(O.APC_MODEL)) or None,
                firmware=text(s.get(O.APC_FIRMWARE)) or None,
                serial=text(s.get(O.APC_SERIAL)) or None)


def _cyberpower(s: Snapshot) -> dict[str, Any] | None:
    status_no, output_no = integer(s.get(O.CPS_BATTERY_STATUS)), integer(s.get(O.CPS_OUTPUT_STATUS))
    charge = _percent(integer(s.get(O.CPS_CHARGE)))
    if status_no is None and output_no is None and charge is None:
        return None
    return _ups("cyberpower", BATTERY_STATUS.get(status_no, "unknown"), charge,
                _minutes(integer(s.get(O.CPS_RUNTIME)), 0.01),
                _output(CPS_OUTPUT, None if output_no == 1 else output_no),
                _percent(integer(s.get(O.CPS_OUTPUT_LOAD))),
                _number(integer(s.get(O.CPS_INPUT_VOLTAGE)), 0.1, 0, 1000),  # tenths
                _number(integer(s.get(O.CPS_TEMPERATURE)), 1, -50, 150),
                replace_battery=integer(s.get(O.CPS_REPLACE)) == 2, alarms=[],
                model=text(s.get(O.CPS_MODEL)) or None,
                firmware=text(s.get(O.CPS_FIRMWARE)) or None,
                serial=text(s.get(O.CPS_SERIAL)) or None)


# XUPS-MIB xupsBatteryAbmStatus: 1 charging, 2 discharging, 3 floating, 4 resting (the ABM
# charger at rest: normal), 5 unknown, 6 batteryDisconnected, 7 under test, 8 checkBattery
# (NUT's "replace battery": the replace warning, below). 6 was read as unknown, which a
# full charge reading made OK.
XUPS_ABM_STATUS = {1: "normal", 2: "normal", 3: "normal", 4: "normal", 6: "missing",
                   7: "normal", 8: "normal"}


def _eaton(s: Snapshot) -> dict[str, Any] | None:
    source_no, abm = integer(s.get(O.XUPS_OUTPUT_SOURCE)), integer(s.get(O.XUPS_ABM_STATUS))
    charge = _percent(integer(s.get(O.XUPS_CHARGE)))
    if source_no is None and abm is None and charge is None:
        return None
    status = XUPS_ABM_STATUS.get(abm, "unknown")
    if charge is not None and charge <= 20 and source_no == 5:
        status = "low"
    return _ups("eaton", status, charge, _minutes(integer(s.get(O.XUPS_RUNTIME)), 1),
                _output(XUPS_OUTPUT, source_no),
                _percent(integer(s.get(O.XUPS_OUTPUT_LOAD))),
                _number(_first(subtree(s, O.XUPS_INPUT_VOLTAGE)), 1, 0, 1000),
                _number(integer(s.get(O.XUPS_AMBIENT_TEMP)), 1, -50, 150),
                replace_battery=abm == 8, alarms=[],
                vendor=text(s.get(O.XUPS_MANUFACTURER)) or "Eaton",
                model=text(s.get(O.XUPS_MODEL)) or None,
                firmware=text(s.get(O.XUPS_SOFTWARE)) or None)


def _mge(s: Snapshot) -> dict[str, Any] | None:
    on_battery, charge = integer(s.get(O.MGE_ON_BATTERY)), _percent(integer(s.get(O.MGE_CHARGE)))
    if on_battery is None and charge is None:
        return None
    low = integer(s.get(O.MGE_LOW_BATTERY))
    status = "low" if low == 1 else ("normal" if low == 2 else "unknown")
    output = {1: "battery", 2: "normal"}.get(on_battery) if on_battery is not None else None
    return _ups("mge", status, charge, _minutes(integer(s.get(O.MGE_RUNTIME)), 1),
                output, None, None, None,
                replace_battery=integer(s.get(O.MGE_REPLACE)) == 1, alarms=[],
                vendor="MGE", model=text(s.get(O.MGE_MODEL)) or None)


# LIEBERT-GP-POWER-MIB: lgpPwrBatteryCapacityStatus 1 unknown 2 normal 3 low 4 depleted;
# lgpPwrBatteryTestResult 3 failed, 5 systemFailure.
def _liebert(s: Snapshot) -> dict[str, Any] | None:
    status_no = integer(s.get(O.LIEBERT_CAPACITY_STATUS))
    source_no = integer(s.get(O.LIEBERT_OUTPUT_SOURCE))
    charge = _percent(integer(s.get(O.LIEBERT_CHARGE)))
    if status_no is None and source_no is None and charge is None:
        return None
    test = integer(s.get(O.LIEBERT_TEST_RESULT))
    return _ups("liebert", BATTERY_STATUS.get(status_no, "unknown"), charge,
                _minutes(integer(s.get(O.LIEBERT_RUNTIME)), 60),
                _output(RFC1628_OUTPUT, source_no), None, None, None,
                replace_battery=test in (3, 5), alarms=[],
                vendor=text(s.get(O.LIEBERT_MANUFACTURER)) or "Vertiv",
                model=text(s.get(O.LIEBERT_MODEL)) or None,
                firmware=text(s.get(O.LIEBERT_FIRMWARE)) or None,
                serial=text(s.get(O.LIEBERT_SERIAL)) or None)
