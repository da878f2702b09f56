"""HOST-RESOURCES-MIB (RFC 2790) storage and processors, UCD-SNMP-MIB memory."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.values import Snapshot, column, index_key, integer, oid_text, text

# hrStorageTypes (1.3.6.1.2.1.25.2.1.N) to the contract's names.
STORAGE_TYPES = {1: "other", 2: "ram", 3: "virtual_memory", 4: "fixed_disk", 5: "removable",
                 6: "removable", 7: "removable", 8: "other", 9: "flash", 10: "network_disk"}

# net-snmp's hrStorage rows (type other) for the kernel's buffers and page cache.
RECLAIMABLE_MEMORY = ("Memory buffers", "Cached memory")

TABLES = (O.HR_STORAGE, O.HR_PROCESSOR_LOAD)
SCALARS = (O.HR_MEMORY_SIZE, *O.UCD_SCALARS)


def _unsigned32(value: int | None) -> int | None:
    # hrStorageSize/Used are Integer32; agents with big volumes (Synology, QNAP) overflow into
    # negative numbers: read them back as unsigned.
    if value is None:
        return None
    return value + (1 << 32) if value < 0 else value


def parse_storage(snapshot: Snapshot) -> list[dict[str, Any]]:
    """One dict per hrStorage row with a known size, with the discover contract's fields."""
    descr = column(snapshot, O.HR_STORAGE, O.HR_STORAGE_DESCR)
    types = column(snapshot, O.HR_STORAGE, O.HR_STORAGE_TYPE)
    units = column(snapshot, O.HR_STORAGE, O.HR_STORAGE_UNITS)
    sizes = column(snapshot, O.HR_STORAGE, O.HR_STORAGE_SIZE)
    used = column(snapshot, O.HR_STORAGE, O.HR_STORAGE_USED)
    result = []
    for index in sorted(sizes, key=index_key):
        unit = integer(units.get(index)) or 0
        size = _unsigned32(integer(sizes.get(index)))
        used_units = _unsigned32(integer(used.get(index)))
        number = integer(index)
        if number is None or unit <= 0 or size is None or used_units is None:
            continue
        size_bytes, used_bytes = size * unit, min(used_units, size) * unit
        result.append({
            "index": number, "descr": text(descr.get(index)),
            "type": _type_name(types.get(index)),
            "size_bytes": size_bytes, "used_bytes": used_bytes,
            "used_percent": round(100.0 * used_bytes / size_bytes, 2) if size_bytes else 0.0,
        })
    return result


def storage_problems(snapshot: Snapshot) -> list[dict[str, Any]]:
    """hrStorage rows that cannot be judged, with the reason: a size, used amount or
    allocation unit not answered, not a number, or impossible (units of 0, more used than
    the size). ``{"index", "descr", "type", "problem"}``."""
    descr = column(snapshot, O.HR_STORAGE, O.HR_STORAGE_DESCR)
    types = column(snapshot, O.HR_STORAGE, O.HR_STORAGE_TYPE)
    cols = {name: column(snapshot, O.HR_STORAGE, col) for name, col in (
        ("hrStorageAllocationUnits", O.HR_STORAGE_UNITS), ("hrStorageSize", O.HR_STORAGE_SIZE),
        ("hrStorageUsed", O.HR_STORAGE_USED))}
    found = []
    for index in sorted(set(descr) | set(cols["hrStorageSize"]), key=index_key):
        number = integer(index)
        if number is None:
            continue
        problems = []
        for name, values in cols.items():
            if index not in values:
                problems.append(f"{name} not answered")
            elif integer(values[index]) is None:
                problems.append(f"{name} {text(values[index])!r} is not a number")
        unit = integer(cols["hrStorageAllocationUnits"].get(index))
        size = _unsigned32(integer(cols["hrStorageSize"].get(index)))
        used = _unsigned32(integer(cols["hrStorageUsed"].get(index)))
        if unit is not None and unit <= 0:
            problems.append(f"allocation unit of {unit} bytes")
        if size is not None and used is not None and used > size:
            problems.append(f"{used} units used of {size}")
        if problems:
            found.append({"index": number, "descr": text(descr.get(index)),
                          "type": _type_name(types.get(index)), "problem": ", ".join(problems)})
    return found


def _type_name(value) -> str:
    type_oid = oid_text(value)
    type_no = integer(type_oid.rsplit(".", 1)[-1]) if type_oid.startswith(
        O.HR_STORAGE_TYPES + ".") else None
    return STORAGE_TYPES.get(type_no, "other")


def parse_processors(snapshot: Snapshot) -> list[dict[str, Any]]:
    loads = column(snapshot, O.HR_PROCESSOR_LOAD.rsplit(".", 1)[0], 2)
    result = []
    for index in sorted(loads, key=index_key):
        load, number = integer(loads[index]), integer(index)
        if load is not None and number is not None and 0 <= load <= 100:
            result.append({"index": number, "load_percent": float(load)})
    return result


def parse_memory(snapshot: Snapshot, storage: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Memory in use without buffers and cache: UCD-SNMP-MIB when present (net-snmp counts
    buffers and cache as used in hrStorage "Physical memory", which would always look full),
    else the hrStorage ``ram`` row less net-snmp's "Memory buffers" and "Cached memory" rows."""
    total = integer(snapshot.get(O.UCD_MEM_TOTAL))
    avail = integer(snapshot.get(O.UCD_MEM_AVAIL))
    if total and avail is not None:
        buffers = integer(snapshot.get(O.UCD_MEM_BUFFER)) or 0
        cached = integer(snapshot.get(O.UCD_MEM_CACHED)) or 0
        used = max(0, total - avail - buffers - cached)
        return {"source": "ucd", "size_bytes": total * 1024, "used_bytes": used * 1024,
                "used_percent": round(100.0 * used / total, 2)}
    # net-snmp's own rows for the kernel's buffers and page cache (type other): a NAS on
    # net-snmp without UCD-SNMP-MIB answered (QNAP) showed 87 % used where 41 % was in use.
    reclaimable = sum(entry["used_bytes"] for entry in storage
                      if entry["descr"] in RECLAIMABLE_MEMORY and entry["type"] == "other")
    for entry in storage:
        if entry["type"] == "ram" and entry["size_bytes"]:
            size = entry["size_bytes"]
            used = entry["used_bytes"]
            if reclaimable < used:   # more than the row counts as used: not net-snmp's rows
                used -= reclaimable
            return {"source": "hrStorage", "size_bytes": size, "used_bytes": used,
                    "used_percent": round(100.0 * used / size, 2)}
    return None

