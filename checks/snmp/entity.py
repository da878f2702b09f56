"""ENTITY-MIB (RFC 6933) entPhysicalTable: the parts of a device, and its chassis.

A switch stack or a modular router lists its chassis, modules, power supplies, fans and
ports; the chassis row (entPhysicalClass 3) names the box: maker, model, serial, firmware and
manufacture date. Many agents leave columns empty (""), and some have no chassis row: then the
first row that has the value stands in, as LibreNMS and Checkmk do."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.dateandtime import date_and_time
from muni_watchdog.checks.snmp.values import (
    Snapshot,
    column,
    index_key,
    integer,
    subtree,
    text,
)

ENT_DESCR, ENT_NAME, ENT_HARDWARE, ENT_MFG_DATE = 2, 7, 8, 17
# entPhysicalClass values (PhysicalClass TC).
CLASSES = {1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container",
           6: "power_supply", 7: "fan", 8: "sensor", 9: "module", 10: "port", 11: "stack",
           12: "cpu", 13: "energy_object", 14: "battery", 15: "storage_drive"}
CHASSIS = 3
COLUMNS = (ENT_DESCR, O.ENT_CLASS, ENT_NAME, ENT_HARDWARE, O.ENT_FIRMWARE, O.ENT_SOFTWARE,
           O.ENT_SERIAL, O.ENT_MFG, O.ENT_MODEL, ENT_MFG_DATE)
TABLES = tuple(f"{O.ENT_PHYSICAL}.{c}" for c in COLUMNS)
MAX_ENTITIES = 500   # a chassis switch stack lists a few hundred; more is a runaway agent
FALLBACK_ROWS = 50
IDENTITY_FIELDS = ("vendor", "model", "serial")
TEXT_FIELDS = (("descr", ENT_DESCR), ("name", ENT_NAME), ("hardware_rev", ENT_HARDWARE),
               ("firmware_rev", O.ENT_FIRMWARE), ("software_rev", O.ENT_SOFTWARE),
               ("serial", O.ENT_SERIAL), ("vendor", O.ENT_MFG), ("model", O.ENT_MODEL))


def parse_entities(snapshot: Snapshot) -> list[dict[str, Any]]:
    """One dict per entPhysicalEntry (at most MAX_ENTITIES), chassis rows first; empty text
    columns are None."""
    if not subtree(snapshot, O.ENT_PHYSICAL):
        return []   # no ENTITY-MIB: one look, not one per column (most agents in a town)
    indexes: set[str] = set()
    for col in COLUMNS:
        indexes |= set(column(snapshot, O.ENT_PHYSICAL, col))
    classes = column(snapshot, O.ENT_PHYSICAL, O.ENT_CLASS)
    rows = sorted(indexes, key=lambda i: (integer(classes.get(i)) != CHASSIS, index_key(i)))
    result = []
    for index in rows[:MAX_ENTITIES]:
        number = integer(classes.get(index))
        entity: dict[str, Any] = {"index": index,
                                  "class": CLASSES.get(number or 0, "unknown")}
        for key, col in TEXT_FIELDS:
            entity[key] = text(snapshot.get(f"{O.ENT_PHYSICAL}.{col}.{index}")) or None
        entity["mfg_date"] = date_and_time(snapshot.get(f"{O.ENT_PHYSICAL}.{ENT_MFG_DATE}.{index}"))
        result.append(entity)
    return result


def chassis(snapshot: Snapshot) -> dict[str, Any] | None:
    """The device's identity from ENTITY-MIB, None when the agent has no ENTITY-MIB: the
    chassis row (else the first row); its vendor, model, serial and firmware when empty are
    taken from the first of the next rows that has them (as before ENTITY-MIB dates were read).
    ``firmware`` is entPhysicalFirmwareRev, else entPhysicalSoftwareRev."""
    entities = parse_entities(snapshot)
    if not entities:
        return None
    found = dict(entities[0])
    for key in IDENTITY_FIELDS:
        found[key] = next((e[key] for e in entities[:FALLBACK_ROWS] if e[key]), None)
    found["firmware"] = next((e["firmware_rev"] or e["software_rev"]
                              for e in entities[:FALLBACK_ROWS]
                              if e["firmware_rev"] or e["software_rev"]), None)
    return found
