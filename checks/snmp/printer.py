"""Printer-MIB (RFC 3805) marker supplies and HOST-RESOURCES-MIB printer status.

RFC 3805 levels: -1 "other", -2 "unknown" and -3 "some remaining" are not percentages, and
never become 0 % or 100 %. For a receptacle (prtMarkerSuppliesClass receptacleThatIsFilled(4):
waste toner, waste ink) the RFC defines prtMarkerSuppliesLevel as the *remaining space*: a
waste box at 100 of 100 is empty, one near 0 is nearly full. So the level is what is left for
every supply, consumable or receptacle, and is judged the same way.

A supply whose level or capacity the agent did not answer (noSuchObject, a missing column, a
value that is not a number) is not "fine": it carries ``_missing`` and the check says UNKNOWN."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.values import Snapshot, bits, column, index_key, integer, text

TABLES = (O.PRT_SUPPLIES, O.PRT_COLORANT_VALUE, O.HR_PRINTER, O.HR_DEVICE_DESCR)
SCALARS = (O.PRT_GENERAL_SERIAL,)

# PrtMarkerSuppliesTypeTC (RFC 3805 / IANA-PRINTER-MIB)
SUPPLY_KINDS = {1: "other", 2: "unknown", 3: "toner", 4: "waste_toner", 5: "ink",
                6: "ink_cartridge", 7: "ink_ribbon", 8: "waste_ink", 9: "drum", 10: "developer",
                11: "fuser_oil", 12: "solid_wax", 13: "ribbon_wax", 14: "waste_wax",
                15: "fuser", 16: "corona_wire", 17: "fuser_oil_wick", 18: "cleaner_unit",
                19: "fuser_cleaning_pad", 20: "transfer_unit", 21: "toner_cartridge",
                22: "fuser_oiler", 23: "water", 24: "waste_water", 25: "glue_water_additive",
                26: "waste_paper", 27: "binding_supply", 28: "banding_supply",
                29: "stitching_wire", 30: "shrink_wrap", 31: "paper_wrap", 32: "staples",
                33: "inserts", 34: "covers"}
WASTE_TYPES = {4, 8, 14, 24, 26}
RECEPTACLE_CLASS = 4  # receptacleThatIsFilled
SENTINELS = {-1: "other", -2: "unknown", -3: "some_remaining"}
# Ricoh (and its Lanier, Savin, Gestetner, NRG brands) report -3 while toner lasts and -100
# when it is out (Ricoh's MIB documentation, LibreNMS #4177): read -100 as empty.
RICOH_EMPTY = -100
COLOURS = ("black", "cyan", "magenta", "yellow", "light cyan", "light magenta", "photo black",
           "matte black", "gray", "grey", "red", "green", "blue")

PRINTER_STATUS = {1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}
# hrPrinterDetectedErrorState bits, RFC 2790 (8..15 added by RFC 3805).
ERROR_BITS = {0: "low paper", 1: "no paper", 2: "low toner", 3: "no toner", 4: "door open",
              5: "paper jam", 6: "offline", 7: "service requested", 8: "input tray missing",
              9: "output tray missing", 10: "marker supply missing", 11: "output near full",
              12: "output full", 13: "input tray empty", 14: "overdue preventive maintenance"}
CRITICAL_ERRORS = {1, 3, 4, 5, 6, 10, 12, 8, 9}
WARNING_ERRORS = {0, 2, 7, 11, 13, 14}


def parse_supplies(snapshot: Snapshot, warn: float = 20.0) -> list[dict[str, Any]]:
    """One dict per marker supply (the discover contract's fields).

    ``level_percent`` is the level in percent of the maximum capacity (clamped to 100; a level
    above the maximum is common after a refill), or None for the sentinels; for a receptacle
    it is the room left. ``state`` says how much is left: ok, low (at or below ``warn``
    percent), empty (nothing left), some_remaining, unknown. Private fields: ``_waste``,
    ``_over_capacity``, ``_missing`` (what the agent did not answer, or answered with
    something that is not a level)."""
    descr = column(snapshot, O.PRT_SUPPLIES, O.PRT_SUPPLY_DESCR)
    levels = column(snapshot, O.PRT_SUPPLIES, O.PRT_SUPPLY_LEVEL)
    maxima = column(snapshot, O.PRT_SUPPLIES, O.PRT_SUPPLY_MAX)
    types = column(snapshot, O.PRT_SUPPLIES, O.PRT_SUPPLY_TYPE)
    classes = column(snapshot, O.PRT_SUPPLIES, O.PRT_SUPPLY_CLASS)
    colorant_of = column(snapshot, O.PRT_SUPPLIES, O.PRT_SUPPLY_COLORANT)
    colorants = column(snapshot, O.PRT_COLORANT_VALUE.rsplit(".", 1)[0], 4)
    supplies = []
    rows = set(descr) | set(levels) | set(maxima) | set(types)
    for index in sorted(rows, key=index_key):
        type_no = integer(types.get(index)) or 2
        description = text(descr.get(index))
        is_waste = (integer(classes.get(index)) == RECEPTACLE_CLASS or type_no in WASTE_TYPES)
        level, maximum = integer(levels.get(index)), integer(maxima.get(index))
        missing = _missing(index, levels, maxima, level, maximum)
        if level == RICOH_EMPTY:
            level = 0
        percent, over = _percent(level, maximum)
        supplies.append({
            "index": index, "descr": description, "kind": SUPPLY_KINDS.get(type_no, "other"),
            "color": _colour(index, colorant_of.get(index), colorants, description),
            "level_percent": percent,
            "state": "unknown" if missing else _state(level, percent, warn),
        } | ({"_over_capacity": over} if over else {}) | ({"_waste": True} if is_waste else {})
          | ({"_missing": missing} if missing else {}))
    return supplies


def _missing(index: str, levels: dict, maxima: dict, level: int | None,
             maximum: int | None) -> list[str]:
    """What keeps a supply from being judged: a level or capacity not answered, not a
    number, or a negative number RFC 3805 does not define."""
    found = []
    if index not in levels:
        found.append("level not answered")
    elif level is None:
        found.append(f"level {text(levels[index])!r} is not a number")
    elif level < -3 and level != RICOH_EMPTY:
        found.append(f"level {level} is not defined by RFC 3805")
    if level is not None and level > 0:
        if index not in maxima:
            found.append("capacity not answered")
        elif maximum is None:
            found.append(f"capacity {text(maxima[index])!r} is not a number")
    return found


def public(supply: dict[str, Any]) -> dict[str, Any]:
    """The supply without our private markers (``_waste``, ``_over_capacity``...)."""
    return {k: v for k, v in supply.items() if not k.startswith("_")}


def space_left_percent(supply: dict[str, Any]) -> float | None:
    """What the thresholds judge: the level in percent. For a consumable that is what is
    left; for a receptacle RFC 3805 already reports the room left (not how full it is)."""
    return supply["level_percent"]


def _percent(level: int | None, maximum: int | None) -> tuple[float | None, bool]:
    if level is None or level < 0:
        return None, False
    if maximum is None or maximum <= 0:
        # No capacity known: only a level of exactly 0 says something ("empty").
        return (0.0, False) if level == 0 else (None, False)
    percent = 100.0 * level / maximum
    if percent > 100.0:
        return 100.0, True
    return round(percent, 1), False


def _state(level: int | None, percent: float | None, warn: float) -> str:
    if level is not None and level < 0:
        return "some_remaining" if level == -3 else "unknown"
    if percent is None:
        return "unknown"
    if percent <= 0:
        return "empty"
    if percent <= warn:
        return "low"
    return "ok"


def _colour(index: str, colorant_index, colorants: dict, description: str) -> str | None:
    device = index.split(".")[0]
    number = integer(colorant_index)
    if number and number > 0:
        value = text(colorants.get(f"{device}.{number}"))
        if value and value.lower() not in ("unknown", "other"):
            return value.lower()
    lowered = description.lower()
    for colour in COLOURS:
        if colour in lowered:
            return "gray" if colour == "grey" else colour
    return None


def parse_printer_status(snapshot: Snapshot) -> dict[str, Any] | None:
    """hrPrinterStatus and the decoded hrPrinterDetectedErrorState of the first printer."""
    statuses = column(snapshot, O.HR_PRINTER, O.HR_PRINTER_STATUS)
    errors = column(snapshot, O.HR_PRINTER, O.HR_PRINTER_ERRORS)
    rows = sorted(set(statuses) | set(errors), key=index_key)
    if not rows:
        return None
    row = rows[0]
    found = bits(errors.get(row))
    return {"status": PRINTER_STATUS.get(integer(statuses.get(row)), "unknown"),
            "errors_answered": row in errors,
            "errors": [ERROR_BITS[b] for b in sorted(found) if b in ERROR_BITS],
            "critical": [ERROR_BITS[b] for b in sorted(found & CRITICAL_ERRORS)],
            "warning": [ERROR_BITS[b] for b in sorted(found & WARNING_ERRORS)]}
