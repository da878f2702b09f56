"""The system group, the device's identity (vendor, model, serial, firmware) and its class.

The class comes from the ordered evidence table in :mod:`checks.snmp.classes`. Identity comes
from ENTITY-MIB (the chassis), then the vendor MIBs that keep it elsewhere (UPS, NAS,
MikroTik), then what the matching class rule reads from sysDescr. Values that only look like
identity are left out: USB vendor/product ids ("0x1d6b", "0x0002") that RouterOS lists in
ENTITY-MIB for its USB ports, and a host's first hrDevice printer ("Microsoft Print To PDF")
unless the device is a printer."""

from __future__ import annotations

import re
from typing import Any

from muni_watchdog.checks.snmp import classes, entity
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.classes import DEVICE_CLASSES, PROBES, classify, enterprise  # noqa: F401
from muni_watchdog.checks.snmp.values import Snapshot, column, index_key, integer, oid_text, text

# Identity fallbacks when ENTITY-MIB is absent (printers, UPSes and NAS boxes rarely have it).
MODEL_OIDS = (O.APC_MODEL, O.CPS_MODEL, O.XUPS_MODEL, O.UPS_IDENT_MODEL, O.MGE_MODEL,
              O.LIEBERT_MODEL, O.SYNO_MODEL, O.QTS_MODEL, O.QNAP_MODEL, O.MIKROTIK_BOARD,
              O.ZYXEL_MODEL)
SERIAL_OIDS = (O.PRT_GENERAL_SERIAL, O.APC_SERIAL, O.CPS_SERIAL, O.LIEBERT_SERIAL,
               O.SYNO_SERIAL, O.QTS_SERIAL, O.MIKROTIK_SERIAL, O.ZYXEL_SERIAL, O.BROTHER_SERIAL)
FIRMWARE_OIDS = (O.APC_FIRMWARE, O.CPS_FIRMWARE, O.XUPS_SOFTWARE, O.UPS_IDENT_SOFTWARE,
                 O.LIEBERT_FIRMWARE, O.SYNO_VERSION, O.QTS_FIRMWARE, O.MIKROTIK_FIRMWARE,
                 O.ZYXEL_FIRMWARE)
VENDOR_OIDS = (O.UPS_IDENT_MANUFACTURER, O.XUPS_MANUFACTURER, O.LIEBERT_MANUFACTURER)
# Short names UPS cards put in upsIdentManufacturer for their maker's full one.
VENDOR_ALIASES = {"CPS": "CyberPower"}
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"
SCALARS = (*O.SYSTEM_SCALARS, O.HR_SYSTEM_UPTIME, *MODEL_OIDS, *SERIAL_OIDS, *FIRMWARE_OIDS,
           *VENDOR_OIDS, O.EXTEND_VERSION)
TABLES = (HR_DEVICE_TYPE, O.HR_DEVICE_DESCR, *entity.TABLES)
# Not identity: USB ids, placeholders agents fill empty fields with.
NOT_IDENTITY = re.compile(r"^(0x[0-9a-f]{1,4}|unknown|n/?a|none|not available|-+|0+)$", re.I)


def uptime_seconds(snapshot: Snapshot) -> float | None:
    """sysUpTime in seconds; None when missing or not a TimeTicks value (0 to 2^32-1)."""
    ticks = integer(snapshot.get(O.SYS_UPTIME))
    return None if ticks is None or not 0 <= ticks < 1 << 32 else ticks / 100.0


def plausible(value: str | None) -> str | None:
    """The value, or None when it only looks like identity (see NOT_IDENTITY)."""
    if value is None or NOT_IDENTITY.match(value.strip()):
        return None
    return value


def identity(snapshot: Snapshot, answering: set[str] | None = None) -> dict[str, str | None]:
    """Vendor, model, serial and firmware: ENTITY-MIB (the chassis, else the first row that
    has them), the vendor MIBs, then the class rule's vendor and the model it reads from
    sysDescr; the hrDevice printer's name only for printers."""
    answering = answering if answering is not None else set()
    result: dict[str, str | None] = {"vendor": None, "model": None, "serial": None,
                                     "firmware": None}
    found = entity.chassis(snapshot)
    if found is not None:
        result.update({key: plausible(found[key]) for key in result})
    for key, candidates in (("model", MODEL_OIDS), ("serial", SERIAL_OIDS),
                            ("firmware", FIRMWARE_OIDS), ("vendor", VENDOR_OIDS)):
        for oid in candidates:
            if result[key] is None:
                result[key] = plausible(text(snapshot.get(oid)) or None)
    rule = classes.matching_rule(snapshot, answering)
    if result["model"] is None and rule is not None and rule[1]:
        result["model"] = rule[1]
    if result["model"] is None and classify(snapshot, answering) == "printer":
        types = column(snapshot, HR_DEVICE_TYPE.rsplit(".", 1)[0], 2)
        for row in sorted(types, key=index_key):
            if oid_text(types[row]) == HR_DEVICE_PRINTER:
                result["model"] = plausible(
                    text(snapshot.get(f"{O.HR_DEVICE_DESCR}.{row}")) or None)
                break
    if result["vendor"] is None:
        result["vendor"] = classes.vendor(snapshot, answering)
    result["vendor"] = VENDOR_ALIASES.get(result["vendor"] or "", result["vendor"])
    return result


def parse_system(snapshot: Snapshot, answering: set[str]) -> dict[str, Any]:
    """The discover contract's ``system`` object."""
    uptime = uptime_seconds(snapshot)
    return {"descr": text(snapshot.get(O.SYS_DESCR)),
            "object_id": oid_text(snapshot.get(O.SYS_OBJECT_ID)),
            "name": text(snapshot.get(O.SYS_NAME)),
            "uptime_seconds": uptime if uptime is not None else 0,
            "device_class": classify(snapshot, answering)} | identity(snapshot, answering)


