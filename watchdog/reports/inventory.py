"""The device inventory a town hands to bidders and auditors. Pure: current state in, rows out.

Devices come from the items of SNMP ``system`` checks (ENTITY-MIB, sysDescr, the vendor MIBs:
class, vendor, model, serial, firmware, uptime; the ENTITY-MIB chassis item's manufacture date
gives the age), SNMP ``software`` checks (HOST-RESOURCES installed software) and from SSH targets (``uptime``'s boot time and OS
(``/etc/os-release``, ``uname``),
``patches``' running kernel). First and last seen come from the ``check_seen`` table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from muni_watchdog.reports.history import when

COLUMNS = ("target", "host", "device_class", "vendor", "model", "serial", "firmware_or_os",
           "uptime_seconds", "first_seen", "last_seen", "monitored_days", "mfg_date", "age_days",
           "software_count")


def inventory(current: Sequence[dict[str, Any]], seen: Sequence[dict[str, Any]],
              hosts: dict[str, str], now: datetime) -> list[dict[str, Any]]:
    """One row per device (target). ``age_days`` is filled only when the device reports a
    manufacture date (``mfg_date``); ``monitored_days`` is how long we have known it.
    ``software`` lists the installed software (name, type, installed) when a check read it."""
    devices: dict[str, dict[str, Any]] = {}
    for row in current:
        target, check = row["target"], row["check_name"]
        items = json.loads(row.get("items") or "[]")
        system = next((i for i in items if "device_class" in i), None)
        boot = next((i for i in items if i.get("kind") == "boot"), None)
        reboot = next((i for i in items if i.get("kind") == "reboot"), None)
        chassis = next((i for i in items if i.get("kind") == "chassis"), None)
        software = [{k: i.get(k) for k in ("name", "type", "installed")}
                    for i in items if i.get("kind") == "software"]
        if system is None and boot is None and reboot is None and not software:
            continue
        device = devices.setdefault(target, {c: None for c in COLUMNS} | {
            "target": target, "host": hosts.get(target), "software": []})
        if software:
            device["software"] = software
            device["software_count"] = len(software)
        if system is not None:
            device.update(device_class=system.get("device_class"), vendor=system.get("vendor"),
                          model=system.get("model") or system.get("name"),
                          serial=system.get("serial"),
                          firmware_or_os=system.get("firmware") or _first_line(
                              system.get("descr")),
                          uptime_seconds=system.get("uptime_seconds"))
            mfg_date = system.get("mfg_date") or (chassis or {}).get("mfg_date")
            if mfg_date:
                made = _moment(mfg_date, now)
                device["mfg_date"] = mfg_date
                device["age_days"] = round((now - made).total_seconds() / 86400) if made else None
        if boot is not None and boot.get("os"):
            kernel = f" (kernel {boot['kernel']})" if boot.get("kernel") else ""
            device["firmware_or_os"] = f"{boot['os']}{kernel}"
        if boot is not None and boot.get("booted_at"):
            device["device_class"] = device["device_class"] or "server"
            booted = when(boot["booted_at"]) if isinstance(boot["booted_at"], str) else None
            if booted is not None:
                device["uptime_seconds"] = round((now - booted).total_seconds())
        if reboot is not None and reboot.get("running_kernel"):
            device["device_class"] = device["device_class"] or "server"
            device["firmware_or_os"] = device["firmware_or_os"] or \
                f"Linux {reboot['running_kernel']}"
        del check
    for row in seen:
        device = devices.get(row["target"])
        if device is None:
            continue
        first, last = when(row["first_run"]), when(row["last_run"])
        if device["first_seen"] is None or row["first_run"] < device["first_seen"]:
            device["first_seen"] = row["first_run"]
            device["monitored_days"] = round((now - first).total_seconds() / 86400, 1)
        if device["last_seen"] is None or row["last_run"] > device["last_seen"]:
            device["last_seen"] = last.isoformat() if last else None
    return [devices[k] for k in sorted(devices)]


def _moment(text: str, now: datetime) -> datetime | None:
    """A DateAndTime as ISO text; one without an offset (the 8-octet form) is taken in now's
    zone, and garbage is None rather than an error in a report."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo)


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0][:120] if text else None


def as_csv(rows: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def as_table(rows: Sequence[dict[str, Any]]) -> str:
    shown = ("target", "device_class", "vendor", "model", "serial", "firmware_or_os",
             "first_seen")
    table = [[c.upper() for c in shown]] + [[str(r[c] or "-")[:40] for c in shown] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(shown))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     .rstrip() for line in table) + "\n"
