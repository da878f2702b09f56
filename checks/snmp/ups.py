"""UPS state from RFC 1628 UPS-MIB and the vendor MIBs small sites' UPSes actually speak:
APC PowerNet-MIB, CyberPower CPS-MIB, Eaton XUPS-MIB, MGE MG-SNMP-UPS-MIB.

Every source becomes the same object (the discover contract's ``ups``): runtime in minutes
(UPS-MIB minutes, PowerNet and CPS TimeTicks, XUPS and MGE seconds), sentinels dropped."""

from __future__ import annotations

from typing import Any

from checks.snmp import oids as O
from checks.snmp.values import Snapshot, index_key, integer, oid_text, subtree, text

SCALARS = O.ALL_UPS_SCALARS
TABLES = O.UPS_TABLES

BATTERY_STATUS = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
# UPS-MIB upsWellKnownAlarms (RFC 1628 section 6.3)
ALARMS = {1: "battery bad (replace battery)", 2: "on battery", 3: "low battery",
          4: "battery depleted", 5: "temperature out of range", 6: "input bad",
          7: "output bad", 8: "output overload", 9: "on bypass", 10: "bypass bad",
          11: "output off as requested", 12: "UPS off as requested", 13: "charger failed",
          14: "UPS output off", 15: "UPS system off", 16: "fan failure", 17: "fuse failure",
          18: "general fault", 19: "diagnostic test failed", 20: "communications lost",
          21: "awaiting power", 22: "shutdown pending", 23: "shutdown imminent",
          24: "test in progress"}
# Runtime values agents send when they do not know (minutes after conversion is checked too).
RUNTIME_SENTINEL_MINUTES = {999, 9999, 65535}
MAX_PLAUSIBLE_MINUTES = 7 * 24 * 60


def parse_ups(snapshot: Snapshot) -> dict[str, Any] | None:
    """The UPS object, from the richest source that answered; None when no UPS MIB answered.

    Vendor MIBs come first for APC/CyberPower (their RFC 1628 support, where it exists, is
    a thin add-on); RFC 1628 next; then Eaton and MGE. Extra private fields (``_alarms``,
    ``_replace_battery``, ``_seconds_on_battery``) start with an underscore."""
    for parser in (_apc, _cyberpower, _rfc1628, _eaton, _mge):
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


def _percent(value: int | None) -> float | None:
    if value is None or value < 0 or value > 254:  # 255: "unknown" on several agents
        return None
    return float(min(value, 100))


def _number(value: int | None, scale: float = 1.0, low: float = -1e9,
            high: float = 1e9) -> float | None:
    if value is None:
        return None
    number = value * scale
    return round(number, 1) if low <= number <= high else None


def _ups(source: str, status: str, charge, runtime, on_battery, load, voltage, temperature,
         **private: Any) -> dict[str, Any]:
    return {"source": source, "battery_status": status, "charge_percent": charge,
            "runtime_minutes": runtime, "on_battery": on_battery,
            "output_load_percent": load, "input_voltage": voltage,
            "temperature_c": temperature} | {f"_{k}": v for k, v in private.items()}


def _first(values: dict) -> int | None:
    for index in sorted(values, key=index_key):
        number = integer(values[index])
        if number is not None:
            return number
    return None


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
    on_battery = None if source_no is None else source_no == 5
    return _ups("rfc1628", BATTERY_STATUS.get(status_no, "unknown"),
                _percent(integer(s.get(O.UPS_CHARGE))),
                _minutes(integer(s.get(O.UPS_MINUTES_REMAINING)), 60), on_battery,
                float(max(loads)) if loads else None,
                _number(_first(subtree(s, O.UPS_INPUT_VOLTAGE)), 1, 0, 1000),
                _number(integer(s.get(O.UPS_BATTERY_TEMPERATURE)), 1, -50, 150),
                alarms=alarms, replace_battery="battery bad (replace battery)" in alarms,
                seconds_on_battery=integer(s.get(O.UPS_SECONDS_ON_BATTERY)),
                vendor=text(s.get(O.UPS_IDENT_MANUFACTURER)) or None,
                model=text(s.get(O.UPS_IDENT_MODEL)) or None,
                firmware=text(s.get(O.UPS_IDENT_SOFTWARE)) or None)


# PowerNet upsBasicOutputStatus / CPS upsBaseOutputStatus values meaning "on battery".
APC_ON_BATTERY = {3}
CPS_ON_BATTERY = {3}
APC_BATTERY_STATUS = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}  # 4: inFaultCondition


def _powernet(s: Snapshot, source: str, scalars: tuple, voltage_scale: float) -> dict | None:
    (model, firmware, serial, status, charge, temperature, runtime, replace, voltage,
     output, load) = scalars
    status_no, output_no = integer(s.get(status)), integer(s.get(output))
    if status_no is None and output_no is None and integer(s.get(charge)) is None:
        return None
    return _ups(source, APC_BATTERY_STATUS.get(status_no, "unknown"),
                _percent(integer(s.get(charge))),
                _minutes(integer(s.get(runtime)), 0.01),  # TimeTicks: hundredths of a second
                None if output_no is None else output_no in APC_ON_BATTERY,
                _percent(integer(s.get(load))),
                _number(integer(s.get(voltage)), voltage_scale, 0, 1000),
                _number(integer(s.get(temperature)), 1, -50, 150),
                replace_battery=integer(s.get(replace)) == 2, alarms=[],
                model=text(s.get(model)) or None, firmware=text(s.get(firmware)) or None,
                serial=text(s.get(serial)) or None)


def _apc(s: Snapshot) -> dict[str, Any] | None:
    return _powernet(s, "apc", O.APC_SCALARS, 1.0)


def _cyberpower(s: Snapshot) -> dict[str, Any] | None:
    return _powernet(s, "cyberpower", O.CPS_SCALARS, 0.1)


# XUPS xupsOutputSource: 5 battery; xupsBatteryAbmStatus: 2 discharging, 8 checkBattery
def _eaton(s: Snapshot) -> dict[str, Any] | None:
    source_no, abm = integer(s.get(O.XUPS_OUTPUT_SOURCE)), integer(s.get(O.XUPS_ABM_STATUS))
    charge = _percent(integer(s.get(O.XUPS_CHARGE)))
    if source_no is None and abm is None and charge is None:
        return None
    status = "unknown" if abm in (None, 5, 6) else "normal"
    if charge is not None and charge <= 20 and source_no == 5:
        status = "low"
    return _ups("eaton", status, charge, _minutes(integer(s.get(O.XUPS_RUNTIME)), 1),
                None if source_no is None else source_no == 5,
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
    return _ups("mge", status, charge, _minutes(integer(s.get(O.MGE_RUNTIME)), 1),
                None if on_battery is None else on_battery == 1, None, None, None,
                replace_battery=integer(s.get(O.MGE_REPLACE)) == 1, alarms=[],
                vendor="MGE", model=text(s.get(O.MGE_MODEL)) or None)


