"""The system group, ENTITY-MIB identity, and the device class (printer, ups, network...).

The class comes from evidence in this order: which MIBs answer (a Printer-MIB supplies table
means a printer whatever the vendor), the sysObjectID enterprise number, words in sysDescr,
then the shape of the data (disks and no many-port switch means a server)."""

from __future__ import annotations

import re
from typing import Any

from checks.snmp import entity
from checks.snmp import oids as O
from checks.snmp.values import Snapshot, column, index_key, integer, oid_text, text

DEVICE_CLASSES = ("printer", "ups", "network", "server", "storage", "wireless", "firewall",
                  "unknown")
# Identity fallbacks when ENTITY-MIB is absent (printers and UPSes rarely have it).
MODEL_OIDS = (O.APC_MODEL, O.CPS_MODEL, O.XUPS_MODEL, O.UPS_IDENT_MODEL, O.MGE_MODEL)
SERIAL_OIDS = (O.PRT_GENERAL_SERIAL, O.APC_SERIAL, O.CPS_SERIAL)
FIRMWARE_OIDS = (O.APC_FIRMWARE, O.CPS_FIRMWARE, O.XUPS_SOFTWARE, O.UPS_IDENT_SOFTWARE)
VENDOR_OIDS = (O.UPS_IDENT_MANUFACTURER, O.XUPS_MANUFACTURER)
HR_DEVICE_TYPE = "1.3.6.1.2.1.25.3.2.1.2"
HR_DEVICE_PRINTER = "1.3.6.1.2.1.25.3.1.5"
SCALARS = (*O.SYSTEM_SCALARS, O.HR_SYSTEM_UPTIME, *MODEL_OIDS, *SERIAL_OIDS, *FIRMWARE_OIDS,
           *VENDOR_OIDS)
TABLES = (HR_DEVICE_TYPE, O.HR_DEVICE_DESCR, *entity.TABLES)
# Roots whose presence classifies a device (one GETNEXT each).
PROBES = {"printer": O.PRT_SUPPLIES, "ups": O.UPS_MIB, "apc": "1.3.6.1.4.1.318.1.1.1",
          "cyberpower": "1.3.6.1.4.1.3808.1.1.1", "eaton": "1.3.6.1.4.1.534.1",
          "mge": "1.3.6.1.4.1.705.1", "storage": O.HR_STORAGE, "interfaces": O.IF_TABLE}

ENTERPRISE_PREFIX = "1.3.6.1.4.1."
# Enterprise number -> (vendor, class when no MIB says otherwise; None: decide from the data).
ENTERPRISES: dict[int, tuple[str, str | None]] = {
    9: ("Cisco", "network"), 11: ("HP", None), 43: ("3Com", "network"), 171: ("D-Link", "network"),
    232: ("HPE", "server"), 253: ("Xerox", "printer"), 311: ("Microsoft", "server"),
    318: ("APC", "ups"), 367: ("Ricoh", "printer"), 534: ("Eaton", "ups"),
    641: ("Lexmark", "printer"), 674: ("Dell", "server"), 705: ("MGE", "ups"),
    890: ("Zyxel", "network"), 1248: ("Epson", "printer"), 1347: ("Kyocera", "printer"),
    1602: ("Canon", "printer"), 1916: ("Extreme Networks", "network"),
    2001: ("OKI", "printer"), 2435: ("Brother", "printer"), 2620: ("Check Point", "firewall"),
    2636: ("Juniper", "network"), 3808: ("CyberPower", "ups"), 4413: ("Broadcom", "network"),
    4526: ("Netgear", "network"), 6486: ("Alcatel-Lucent", "network"),
    6574: ("Synology", "storage"), 6876: ("VMware", "server"), 8072: ("net-snmp", None),
    9303: ("PacketFront", "network"), 11863: ("TP-Link", "network"),
    12325: ("pfSense", "firewall"), 12356: ("Fortinet", "firewall"),
    14179: ("Cisco Wireless", "wireless"), 14823: ("Aruba", "wireless"),
    14988: ("MikroTik", "network"), 18334: ("Konica Minolta", "printer"),
    24681: ("QNAP", "storage"), 25461: ("Palo Alto Networks", "firewall"),
    25506: ("H3C", "network"), 26543: ("Ruckus", "wireless"), 41112: ("Ubiquiti", "wireless"),
    4976: ("ReadyNAS", "storage"), 8741: ("SonicWall", "firewall"),
    3375: ("F5", "network"), 10002: ("Frogfoot/Ubiquiti", "wireless"),
    21067: ("Sophos", "firewall"), 3076: ("Cisco VPN", "firewall"),
}
NAS_VENDORS = (("synology", "Synology"), ("diskstation", "Synology"), ("qnap", "QNAP"),
               ("readynas", "NETGEAR"), ("truenas", "iXsystems"), ("asustor", "ASUSTOR"))
DESCR_HINTS = (
    (re.compile(r"synology|diskstation|qnap|readynas|truenas|freenas|nas\b", re.I), "storage"),
    (re.compile(r"printer|laserjet|officejet|imagerunner|bizhub|ecosys|workcentre|mfc-|"
                r"\bhl-\d", re.I), "printer"),
    (re.compile(r"\bups\b|smart-ups|powerware|eaton|cyberpower|back-ups", re.I), "ups"),
    (re.compile(r"pfsense|opnsense|fortigate|sonicwall|firewall|asa\b|sophos", re.I), "firewall"),
    (re.compile(r"access point|unifi|\bap\b|wireless|airos|aironet", re.I), "wireless"),
    (re.compile(r"switch|router|routeros|procurve|catalyst|ios software|junos|edgeos|"
                r"netgear|tp-link", re.I), "network"),
    (re.compile(r"linux|windows|freebsd|sunos|darwin|esxi", re.I), "server"),
)


def uptime_seconds(snapshot: Snapshot) -> float | None:
    ticks = integer(snapshot.get(O.SYS_UPTIME))
    return None if ticks is None else ticks / 100.0


def enterprise(object_id: str) -> int | None:
    if not object_id.startswith(ENTERPRISE_PREFIX):
        return None
    return integer(object_id[len(ENTERPRISE_PREFIX):].split(".")[0])


def identity(snapshot: Snapshot) -> dict[str, str | None]:
    """Vendor, model, serial and firmware from ENTITY-MIB (the chassis, else the first row
    that has them), Printer-MIB's serial, and the sysObjectID's enterprise."""
    result: dict[str, str | None] = {"vendor": None, "model": None, "serial": None,
                                     "firmware": None}
    found = entity.chassis(snapshot)
    if found is not None:
        result.update({key: found[key] for key in result})
    for key, candidates in (("model", MODEL_OIDS), ("serial", SERIAL_OIDS),
                            ("firmware", FIRMWARE_OIDS), ("vendor", VENDOR_OIDS)):
        for oid in candidates:
            if result[key] is None:
                result[key] = text(snapshot.get(oid)) or None
    if result["model"] is None:
        types = column(snapshot, HR_DEVICE_TYPE.rsplit(".", 1)[0], 2)
        for row in sorted(types, key=index_key):
            if oid_text(types[row]) == HR_DEVICE_PRINTER:
                result["model"] = text(snapshot.get(f"{O.HR_DEVICE_DESCR}.{row}")) or None
                break
    number = enterprise(oid_text(snapshot.get(O.SYS_OBJECT_ID)))
    if result["vendor"] is None and number in ENTERPRISES:
        result["vendor"] = ENTERPRISES[number][0]
    if result["vendor"] in (None, "net-snmp"):
        # NAS boxes run net-snmp under their own name: say whose box it is.
        descr = text(snapshot.get(O.SYS_DESCR)).lower()
        for word, vendor in NAS_VENDORS:
            if word in descr:
                result["vendor"] = vendor
                break
    return result


def classify(snapshot: Snapshot, answering: set[str]) -> str:
    """The device class; ``answering`` holds the PROBES keys whose subtree answered."""
    if "printer" in answering:
        return "printer"
    if answering & {"ups", "apc", "cyberpower", "eaton", "mge"}:
        return "ups"
    descr = text(snapshot.get(O.SYS_DESCR))
    number = enterprise(oid_text(snapshot.get(O.SYS_OBJECT_ID)))
    by_enterprise = ENTERPRISES.get(number, ("", None))[1] if number is not None else None
    if by_enterprise in ("printer", "ups"):
        by_enterprise = None  # they would have answered their MIB; trust the data instead
    for pattern, device_class in DESCR_HINTS:
        if pattern.search(descr):
            if device_class in ("storage", "firewall", "wireless") or by_enterprise is None:
                return device_class if device_class not in ("printer", "ups") else "unknown"
            break
    if by_enterprise is not None:
        return by_enterprise
    if "storage" in answering:
        return "server"
    if "interfaces" in answering:
        return "network"
    return "unknown"


def parse_system(snapshot: Snapshot, answering: set[str]) -> dict[str, Any]:
    """The discover contract's ``system`` object."""
    uptime = uptime_seconds(snapshot)
    return {"descr": text(snapshot.get(O.SYS_DESCR)),
            "object_id": oid_text(snapshot.get(O.SYS_OBJECT_ID)),
            "name": text(snapshot.get(O.SYS_NAME)),
            "uptime_seconds": uptime if uptime is not None else 0,
            "device_class": classify(snapshot, answering)} | identity(snapshot)


