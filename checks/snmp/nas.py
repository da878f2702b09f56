"""NAS health from the vendors' MIBs: disks (model, serial, status, temperature), RAID sets and
the box itself.

* Synology: SYNOLOGY-SYSTEM-MIB (.6574.1: system status, temperature, power, fans),
  SYNOLOGY-DISK-MIB (.6574.2: diskID, diskModel, diskType, diskStatus, diskTemperature, and
  diskHealthStatus from DSM 7.1) and SYNOLOGY-RAID-MIB (.6574.3: raidName, raidStatus).
* QNAP: NAS-MIB of QTS 4 (.24681.1.2: the hard disk table with HdStatus, HdTemperature,
  HdSmartInfo; the volume table with SysVolumeStatus) and QNAP-NAS-MIB of QTS 5 (.55062.1)
  and QuTS hero (.55062.2) (disk table with serial numbers, RAID table).

Each status becomes ``(word, severity)`` with severity one of ok, warning, critical, unknown.
Synology's states follow Checkmk's synology_raid/synology_disks plugins and the MIB texts;
QNAP's follow Checkmk's qnap_disks and centreon's storage::qnap::snmp. A row whose status was
not answered is reported as such (severity unknown), never as fine."""

from __future__ import annotations

import re
from typing import Any

from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.values import Snapshot, column, index_key, integer, text

SYNO_DISK = "1.3.6.1.4.1.6574.2.1.1"
SYNO_RAID = "1.3.6.1.4.1.6574.3.1.1"
SYNO_STATUS, SYNO_TEMPERATURE, SYNO_POWER = (f"{O.SYNO_SYSTEM}.{n}.0" for n in (1, 2, 3))
SYNO_FANS = {"system fan": f"{O.SYNO_SYSTEM}.4.1.0", "CPU fan": f"{O.SYNO_SYSTEM}.4.2.0"}
QNAP_DISK = "1.3.6.1.4.1.24681.1.2.11.1"
QNAP_VOLUME = "1.3.6.1.4.1.24681.1.2.17.1"
QTS_ROOTS = ("1.3.6.1.4.1.55062.1.10", "1.3.6.1.4.1.55062.2.10")  # QTS 5, QuTS hero
SCALARS = (SYNO_STATUS, SYNO_TEMPERATURE, SYNO_POWER, *SYNO_FANS.values())
TABLES = {"synology": (SYNO_DISK, SYNO_RAID), "qnap": (QNAP_DISK, QNAP_VOLUME),
          "qnap_qts": (f"{QTS_ROOTS[0]}.2.1", f"{QTS_ROOTS[0]}.5.1"),
          "qnap_hero": (f"{QTS_ROOTS[1]}.2.1", f"{QTS_ROOTS[1]}.5.1")}

# SYNOLOGY-RAID-MIB raidStatus; severities as Checkmk's synology_raid.
SYNO_RAID_STATUS = {
    1: ("normal", "ok"), 2: ("repairing", "warning"), 3: ("migrating", "warning"),
    4: ("expanding", "warning"), 5: ("deleting", "warning"), 6: ("creating", "warning"),
    7: ("RAID syncing", "ok"), 8: ("RAID parity checking", "ok"),
    9: ("RAID assembling", "warning"), 10: ("canceling", "warning"),
    11: ("DEGRADED", "critical"), 12: ("CRASHED", "critical"), 13: ("data scrubbing", "ok"),
    14: ("RAID deploying", "ok"), 15: ("RAID undeploying", "ok"),
    16: ("mounting SSD cache", "ok"), 17: ("unmounting SSD cache", "ok"),
    18: ("continuing an interrupted SHR expansion", "warning"),
    19: ("converting SHR to a pool", "ok"), 20: ("migrating SHR1 to SHR2", "ok"),
    21: ("status unknown", "unknown")}
# SYNOLOGY-DISK-MIB diskStatus. 3 "not initialized" is how SSD cache disks show up (Checkmk).
SYNO_DISK_STATUS = {1: ("normal", "ok"), 2: ("initialized, no data", "ok"),
                    3: ("not initialized", "warning"), 4: ("SYSTEM PARTITION FAILED", "critical"),
                    5: ("CRASHED", "critical")}
SYNO_HEALTH = {1: ("normal", "ok"), 2: ("health warning", "warning"),
               3: ("health critical", "critical"), 4: ("FAILING", "critical")}
# NAS-MIB HdStatus; -5 is an empty bay.
QNAP_HD_STATUS = {0: ("ready", "ok"), -4: ("unknown", "unknown"), -6: ("INVALID", "critical"),
                  -9: ("READ/WRITE ERROR", "critical")}
NO_DISK = -5
QTS_SMART = {0: ("good", "ok"), 1: ("SMART warning", "warning"), 2: ("SMART abnormal", "critical"),
             -1: ("SMART error", "critical")}
QTS_RAID = {0: ("ready", "ok"), -1: ("single disk", "ok"), 1: ("initializing", "warning"),
            2: ("DEGRADED", "critical"), 3: ("DEAD", "critical"), 4: ("rebuilding", "warning"),
            5: ("synchronizing", "ok"), 6: ("parity checking", "ok")}
# Statuses QNAP sends as text (SysVolumeStatus, HdSmartInfo, newer QTS tables), by keyword.
WORDS = ((re.compile(r"degrad", re.I), "critical"),
         (re.compile(r"dead|crash|fail|error|abnormal|not active|unmounted", re.I), "critical"),
         (re.compile(r"rebuild|repair|recover|migrat|expand|initiali|warn", re.I), "warning"),
         (re.compile(r"ready|good|normal|sync|scrub|parity|check|^ok$|^--$", re.I), "ok"))


def _word(value) -> tuple[str, str]:
    said = text(value)
    for pattern, severity in WORDS:
        if pattern.search(said):
            return said, severity
    return said or "empty", "unknown"


def _status(value, table: dict, what: str) -> tuple[str, str]:
    """(word, severity) of a status cell: not answered, a number from ``table``, or text."""
    if value is None:
        return f"{what} not answered", "unknown"
    number = integer(value)
    if number is not None:
        return table.get(number, (f"{what} {number}", "unknown"))
    return _word(value)


def temperature_c(value) -> int | None:
    """°C from 36, b"36" or QNAP's "38 C/100.4 F"; None when absent or implausible."""
    number = integer(value)
    if number is None:
        found = re.match(r"\s*(-?\d+)", text(value))
        number = int(found.group(1)) if found else None
    return number if number is not None and -20 < number < 120 else None


def parse_nas(snapshot: Snapshot, answering: set[str]) -> dict[str, Any] | None:
    """``{"vendor", "system": [(what, word, severity)], "disks": [...], "raids": [...]}``,
    or None when no NAS MIB answered. A disk: ``{"kind": "disk", "id", "model", "serial",
    "type", "status", "severity", "health", "temperature_c"}``; a RAID set or volume:
    ``{"kind": "raid", "name", "status", "severity"}``."""
    if "synology" in answering:
        return {"vendor": "Synology", "system": _syno_system(snapshot),
                "disks": _syno_disks(snapshot), "raids": _syno_raids(snapshot)}
    for key, root in (("qnap_hero", QTS_ROOTS[1]), ("qnap_qts", QTS_ROOTS[0])):
        disks = _qts_disks(snapshot, root)
        if key in answering and disks:
            return {"vendor": "QNAP", "system": [], "disks": disks,
                    "raids": _qts_raids(snapshot, root)}
    if answering & {"qnap", "qnap_qts", "qnap_hero"}:
        return {"vendor": "QNAP", "system": [], "disks": _qnap_disks(snapshot),
                "raids": _qnap_volumes(snapshot)}
    return None


def _syno_system(s: Snapshot) -> list[tuple[str, str, str]]:
    found = []
    for what, oid in (("system", SYNO_STATUS), ("power supply", SYNO_POWER), *SYNO_FANS.items()):
        if oid in s:
            word, severity = _status(s.get(oid), {1: ("normal", "ok"),
                                                  2: ("FAILED", "critical")}, what)
            found.append((what, word, severity))
    return found


def _rows(s: Snapshot, entry: str, columns: dict[str, int]) -> dict[str, dict[str, Any]]:
    cells = {name: column(s, entry, col) for name, col in columns.items()}
    indexes = set().union(*(set(c) for c in cells.values()))
    return {i: {name: cells[name].get(i) for name in columns}
            for i in sorted(indexes, key=index_key)}


def _syno_disks(s: Snapshot) -> list[dict[str, Any]]:
    disks = []
    rows = _rows(s, SYNO_DISK, {"id": 2, "model": 3, "type": 4, "status": 5, "temp": 6,
                                "health": 13})
    for index, row in rows.items():
        kind = text(row["type"])
        word, severity = _status(row["status"], SYNO_DISK_STATUS, "diskStatus")
        if integer(row["status"]) == 3 and re.search(r"ssd|nvme", kind, re.I):
            word, severity = "not initialized (SSD cache)", "ok"
        health = None if row["health"] is None else _status(row["health"], SYNO_HEALTH,
                                                            "diskHealthStatus")
        disks.append(_disk(text(row["id"]) or f"disk {index}", row["model"], None, kind,
                           (word, severity), health, temperature_c(row["temp"])))
    return disks


def _disk(disk_id: str, model, serial, kind: str | None, status: tuple[str, str],
          health: tuple[str, str] | None, temperature: int | None) -> dict[str, Any]:
    return {"kind": "disk", "id": disk_id, "model": text(model) or None,
            "serial": text(serial) or None, "type": kind or None, "status": status[0],
            "severity": status[1], "health": health, "temperature_c": temperature}


def _syno_raids(s: Snapshot) -> list[dict[str, Any]]:
    rows = _rows(s, SYNO_RAID, {"name": 2, "status": 3})
    return [_raid(text(row["name"]) or f"RAID {index}",
                  _status(row["status"], SYNO_RAID_STATUS, "raidStatus"))
            for index, row in rows.items()]


def _raid(name: str, status: tuple[str, str]) -> dict[str, Any]:
    return {"kind": "raid", "name": name, "status": status[0], "severity": status[1]}


def _qnap_disks(s: Snapshot) -> list[dict[str, Any]]:
    disks = []
    rows = _rows(s, QNAP_DISK, {"id": 2, "temp": 3, "status": 4, "model": 5, "smart": 7})
    for index, row in rows.items():
        if integer(row["status"]) == NO_DISK:
            continue  # an empty bay
        smart = None if row["smart"] is None else _word(row["smart"])
        disks.append(_disk(text(row["id"]) or f"HDD {index}", row["model"], None, None,
                           _status(row["status"], QNAP_HD_STATUS, "HdStatus"), smart,
                           temperature_c(row["temp"])))
    return disks


def _qnap_volumes(s: Snapshot) -> list[dict[str, Any]]:
    rows = _rows(s, QNAP_VOLUME, {"name": 2, "status": 6})
    return [_raid(text(row["name"]) or f"volume {index}",
                  _status(row["status"], {}, "SysVolumeStatus"))
            for index, row in rows.items()]


def _qts_disks(s: Snapshot, root: str) -> list[dict[str, Any]]:
    rows = _rows(s, f"{root}.2.1", {"id": 2, "vendor": 3, "model": 4, "serial": 5, "type": 6,
                                    "smart": 7, "temp": 8})
    return [_disk(text(row["id"]) or f"disk {index}",
                  " ".join(filter(None, (text(row["vendor"]), text(row["model"])))), row["serial"],
                  text(row["type"]), _status(row["smart"], QTS_SMART, "diskSMARTInfo"), None,
                  temperature_c(row["temp"]))
            for index, row in rows.items()]


def _qts_raids(s: Snapshot, root: str) -> list[dict[str, Any]]:
    rows = _rows(s, f"{root}.5.1", {"id": 2, "name": 3, "status": 4})
    return [_raid(text(row["name"]) or text(row["id"]) or f"RAID {index}",
                  _status(row["status"], QTS_RAID, "raidStatus"))
            for index, row in rows.items()]
