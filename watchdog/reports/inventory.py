"""The device inventory a town hands to bidders and auditors. Pure: current state in, rows out.

Devices come from the items the checks stored:

* SNMP ``system`` (ENTITY-MIB, sysDescr, the vendor MIBs: class, vendor, model, serial,
  firmware, uptime; the ENTITY-MIB chassis item's manufacture date gives the age) and SNMP
  ``software`` (HOST-RESOURCES installed software);
* SSH ``uptime`` (boot time, OS from ``/etc/os-release``, kernel), ``patches`` (running
  kernel), ``software`` (dpkg, rpm or Windows programs, with versions) and ``hardware`` (CPU,
  memory, disks, maker and model, virtualisation);
* the ``lifecycle`` item of ``uptime``, ``system`` or ``software``: the OS's support status.

First and last seen come from the ``check_seen`` table. Hardware age: from the manufacture
date, else from the first-seen date (a lower bound, said in ``age_basis``), against the
replacement age of the device's class (``site.lifecycle.replacement_years``). A virtual
machine or container has no hardware age of its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from muni_watchdog.checks.lifecycle import hardware_age
from muni_watchdog.reports.history import when
from muni_watchdog.reports.topology import Device, device_kind

COLUMNS = ("target", "host", "device_class", "vendor", "model", "serial", "firmware_or_os",
           "uptime_seconds", "first_seen", "last_seen", "monitored_days", "mfg_date", "age_days",
           "software_count", "equipment_class", "age_basis", "replace_after_years",
           "hardware_status", "os_support", "support_ends", "cpu", "memory_bytes",
           "disk_bytes", "virtualization")
SOFTWARE_KEYS = ("name", "version", "type", "installed", "publisher", "arch", "manager")
PC_FORMS = {"desktop", "laptop", "all-in-one", "tablet"}


def _find(items: Sequence[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((i for i in items if i.get("kind") == kind), None)


def inventory(current: Sequence[dict[str, Any]], seen: Sequence[dict[str, Any]],
              hosts: dict[str, str], now: datetime,
              replacement_years: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """One row per device (target). ``monitored_days`` is how long we have known it;
    ``software`` lists the installed software when a check read it (each entry with the keys
    of :data:`SOFTWARE_KEYS` that its check knows)."""
    devices: dict[str, dict[str, Any]] = {}
    facts: dict[str, dict[str, Any]] = {}
    for row in current:
        target = row["target"]
        items = [i for i in json.loads(row.get("items") or "[]") if isinstance(i, dict)]
        system = next((i for i in items if "device_class" in i), None)
        found = {k: _find(items, k) for k in ("boot", "reboot", "chassis", "hardware", "os",
                                              "lifecycle", "lldp_identity")}
        software = [{k: i[k] for k in SOFTWARE_KEYS if k in i}
                    for i in items if i.get("kind") == "software"]
        if system is None and not software and not any(
                found[k] for k in ("boot", "reboot", "hardware", "os")):
            continue
        device = devices.setdefault(target, {c: None for c in COLUMNS} | {
            "target": target, "host": hosts.get(target), "software": []})
        mine = facts.setdefault(target, {})
        for key, item in found.items():
            if item is not None and (key != "lifecycle" or item.get("status") != "unknown"
                                     or key not in mine):
                mine[key] = item
        if software:
            device["software"] = software
            device["software_count"] = len(software)
        if system is not None:
            mine["system"] = system
            device.update(device_class=system.get("device_class"), vendor=system.get("vendor"),
                          model=system.get("model") or system.get("name"),
                          serial=system.get("serial"),
                          firmware_or_os=system.get("firmware") or _first_line(
                              system.get("descr")),
                          uptime_seconds=system.get("uptime_seconds"))
            mfg_date = system.get("mfg_date") or (found["chassis"] or {}).get("mfg_date")
            if mfg_date and _moment(mfg_date, now):
                device["mfg_date"] = mfg_date
    for target, device in devices.items():
        _ssh_host(device, facts[target], now)
    _seen(devices, seen, now)
    years = dict(replacement_years or {})
    for target, device in devices.items():
        _lifecycle(device, facts[target], now, years)
    return [devices[k] for k in sorted(devices)]


def _ssh_host(device: dict[str, Any], found: dict[str, Any], now: datetime) -> None:
    """What the SSH checks tell: OS, kernel, uptime, hardware."""
    boot, reboot, hardware, os_item = (found.get(k) for k in ("boot", "reboot", "hardware",
                                                               "os"))
    if boot is not None and boot.get("os"):
        kernel = f" (kernel {boot['kernel']})" if boot.get("kernel") else ""
        device["firmware_or_os"] = f"{boot['os']}{kernel}"
    elif os_item is not None and os_item.get("name") and device["firmware_or_os"] is None:
        build = f" (build {os_item['build']})" if os_item.get("build") else ""
        device["firmware_or_os"] = f"{os_item['name']}{build}"
    if boot is not None and boot.get("booted_at"):
        booted = when(boot["booted_at"]) if isinstance(boot["booted_at"], str) else None
        if booted is not None:
            device["uptime_seconds"] = round((now - booted).total_seconds())
    if reboot is not None and reboot.get("running_kernel"):
        device["firmware_or_os"] = device["firmware_or_os"] or \
            f"Linux {reboot['running_kernel']}"
    if any(x is not None for x in (boot, reboot, hardware, os_item)):
        device["device_class"] = device["device_class"] or "server"
    if hardware is not None:
        device["vendor"] = device["vendor"] or hardware.get("vendor")
        device["model"] = device["model"] or hardware.get("product")
        device["serial"] = device["serial"] or hardware.get("serial")
        if hardware.get("cpus"):
            device["cpu"] = f"{hardware['cpus']} × {hardware.get('cpu_model') or 'CPU'}"
        device["memory_bytes"] = hardware.get("memory_bytes")
        disks = hardware.get("disks")
        if disks is not None:
            device["disk_bytes"] = sum(d.get("size_bytes") or 0 for d in disks)
        device["virtualization"] = hardware.get("virtualization")


def _seen(devices: dict[str, dict[str, Any]], seen: Sequence[dict[str, Any]],
          now: datetime) -> None:
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


def equipment_class(device: dict[str, Any], found: dict[str, Any]) -> str | None:
    """The class a replacement age is kept for: switch or router for a network device (as
    the diagram tells them apart), pc for a desktop, laptop or Windows client, else the
    device class."""
    cls = device["device_class"]
    if cls is None:
        return None
    if "system" not in found:                       # an SSH host
        form = (found.get("hardware") or {}).get("form")
        windows_client = (found.get("os") or {}).get("id") == "windows"
        return "pc" if form in PC_FORMS or windows_client else "server"
    identity = found.get("lldp_identity") or {}
    kind = device_kind(Device(device["target"], found["system"].get("name"), cls,
                              device["model"], capabilities=tuple(
                                  identity.get("capabilities") or ())))
    return None if kind == "unknown" else kind


def _lifecycle(device: dict[str, Any], found: dict[str, Any], now: datetime,
               years: dict[str, int]) -> None:
    life = found.get("lifecycle")
    if life is not None:
        device["os_support"] = life.get("status")
        device["support_ends"] = life.get("support_end")
    kind = device["equipment_class"] = equipment_class(device, found)
    virt = device["virtualization"]
    if virt and virt != "none":
        device["hardware_status"] = "virtual"       # the host's age is what counts
        return
    made = _moment(device["mfg_date"], now) if device["mfg_date"] else None
    first = when(device["first_seen"]) if device["first_seen"] else None
    age = hardware_age(kind, now.date(), manufactured=made.date() if made else None,
                       first_seen=first.date() if first else None, replacement_years=years)
    device.update(age_days=age.age_days, age_basis=age.basis,
                  replace_after_years=age.replace_after_years, hardware_status=age.status)


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


SOFTWARE_COLUMNS = ("target", "host", "name", "version", "type", "installed", "publisher",
                    "arch", "manager")


def software_csv(rows: Sequence[dict[str, Any]]) -> str:
    """One line per installed package or program of every device that listed its software."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SOFTWARE_COLUMNS, lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        for entry in row.get("software") or ():
            writer.writerow({"target": row["target"], "host": row["host"], **entry})
    return out.getvalue()


def as_table(rows: Sequence[dict[str, Any]]) -> str:
    shown = ("target", "device_class", "vendor", "model", "serial", "firmware_or_os",
             "first_seen", "os_support", "hardware_status")
    table = [[c.upper() for c in shown]] + [[str(r[c] or "-")[:40] for c in shown] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(shown))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True))
                     .rstrip() for line in table) + "\n"
