"""HOST-RESOURCES-MIB (RFC 2790) hrSWInstalledTable: the software installed on a host.

net-snmp serves it from dpkg or rpm (one row per package, the name as ``name_version`` with
no date), Windows from the registry's uninstall list (with dates). A host has a few thousand
rows at most; the list is capped so one runaway agent cannot fill the state database."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp.dateandtime import date_and_time
from muni_watchdog.checks.snmp.values import Snapshot, column, index_key, integer, text

HR_SW_INSTALLED = "1.3.6.1.2.1.25.6.3.1"
SW_NAME, SW_TYPE, SW_DATE = 2, 4, 5
TABLES = tuple(f"{HR_SW_INSTALLED}.{c}" for c in (SW_NAME, SW_TYPE, SW_DATE))
TYPES = {1: "unknown", 2: "operating_system", 3: "device_driver", 4: "application"}
MAX_SOFTWARE = 2000


def unnamed_rows(snapshot: Snapshot) -> int:
    """Rows the agent lists (by type or date) without answering their name, or with an
    INTEGER for it: a partial answer. (An empty name is an answer, and skipped.)"""
    names = column(snapshot, HR_SW_INSTALLED, SW_NAME)
    listed = set(names) | set(column(snapshot, HR_SW_INSTALLED, SW_TYPE)) | set(
        column(snapshot, HR_SW_INSTALLED, SW_DATE))
    return sum(1 for index in listed if index not in names or isinstance(names[index], int))


def _name(value) -> str:
    """A package name: text; an INTEGER in the name column is not one."""
    return "" if isinstance(value, int) else text(value)


def parse_software(snapshot: Snapshot, limit: int = MAX_SOFTWARE) -> tuple[list[dict[str, Any]],
                                                                            int]:
    """The installed software as ``{"kind": "software", "name", "type", "installed"}`` items,
    sorted by name (at most ``limit``), and how many rows the agent listed in all."""
    names = column(snapshot, HR_SW_INSTALLED, SW_NAME)
    types = column(snapshot, HR_SW_INSTALLED, SW_TYPE)
    dates = column(snapshot, HR_SW_INSTALLED, SW_DATE)
    found = []
    for index in sorted(names, key=index_key):
        name = _name(names[index])
        if not name:
            continue
        found.append({"kind": "software", "name": name[:200],
                      "type": TYPES.get(integer(types.get(index)) or 1, "unknown"),
                      "installed": date_and_time(dates.get(index))})
    found.sort(key=lambda item: item["name"].lower())
    return found[:limit], len(found)
