"""IF-MIB (RFC 2863): the interface list, with 64-bit counters from ifXTable where present."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.values import Snapshot, column, index_key, integer, text

ADMIN_STATUS = {1: "up", 2: "down", 3: "testing"}
OPER_STATUS = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent",
               7: "lowerLayerDown"}
# IANAifType-MIB names of the types a town hall's devices show.
IF_TYPES = {1: "other", 6: "ethernetCsmacd", 23: "ppp", 24: "softwareLoopback",
            53: "propVirtual", 71: "ieee80211", 117: "gigabitEthernet", 131: "tunnel",
            135: "l2vlan", 136: "l3ipvlan", 161: "ieee8023adLag", 209: "bridge",
            94: "adsl", 97: "vdsl", 244: "wwanPP2", 62: "fastEther", 69: "fastEtherFX"}

TABLES = (O.IF_TABLE, O.IF_X_TABLE)


def parse_interfaces(snapshot: Snapshot) -> list[dict[str, Any]]:
    """One dict per interface, with the discover contract's field names.

    Octet counters prefer ifHCIn/OutOctets (64-bit) and fall back to the 32-bit ones; the
    speed prefers ifHighSpeed (Mbit/s) when ifSpeed is saturated at 4,294,967,295."""
    descr = column(snapshot, O.IF_TABLE, O.IF_DESCR)
    indexes = _indexes(snapshot)
    cols = {c: column(snapshot, O.IF_TABLE, c) for c in (
        O.IF_TYPE, O.IF_SPEED, O.IF_ADMIN, O.IF_OPER, O.IF_IN_OCTETS, O.IF_OUT_OCTETS,
        O.IF_IN_ERRORS, O.IF_OUT_ERRORS, O.IF_IN_DISCARDS, O.IF_OUT_DISCARDS)}
    xcols = {c: column(snapshot, O.IF_X_TABLE, c) for c in (
        O.IFX_NAME, O.IFX_HC_IN_OCTETS, O.IFX_HC_OUT_OCTETS, O.IFX_HIGH_SPEED, O.IFX_ALIAS)}
    interfaces = []
    for index in sorted(indexes, key=index_key):
        number = integer(index.split(".")[0] if index else None)
        if number is None:
            continue
        type_no = integer(cols[O.IF_TYPE].get(index))
        hc_in = integer(xcols[O.IFX_HC_IN_OCTETS].get(index))
        hc_out = integer(xcols[O.IFX_HC_OUT_OCTETS].get(index))
        interfaces.append({
            "index": number,
            "name": text(xcols[O.IFX_NAME].get(index)) or text(descr.get(index)),
            "descr": text(descr.get(index)),
            "alias": text(xcols[O.IFX_ALIAS].get(index)),
            "type": IF_TYPES.get(type_no, str(type_no)) if type_no is not None else "other",
            "admin_status": ADMIN_STATUS.get(integer(cols[O.IF_ADMIN].get(index)), "unknown"),
            "oper_status": OPER_STATUS.get(integer(cols[O.IF_OPER].get(index)), "unknown"),
            "speed_bps": _speed(integer(cols[O.IF_SPEED].get(index)),
                                integer(xcols[O.IFX_HIGH_SPEED].get(index))),
            "in_octets": hc_in if hc_in is not None else
            integer(cols[O.IF_IN_OCTETS].get(index)),
            "out_octets": hc_out if hc_out is not None else
            integer(cols[O.IF_OUT_OCTETS].get(index)),
            "in_errors": integer(cols[O.IF_IN_ERRORS].get(index)),
            "out_errors": integer(cols[O.IF_OUT_ERRORS].get(index)),
        })
    return interfaces


def status_problems(snapshot: Snapshot) -> dict[int, str]:
    """Interfaces whose ifOperStatus was not answered (noSuchInstance, a missing column) or
    is not a status IF-MIB defines (a string, 0, 9...), by index: their state is not known,
    which is neither "up" nor "down"."""
    opers = column(snapshot, O.IF_TABLE, O.IF_OPER)
    problems = {}
    for index in _indexes(snapshot):
        number = integer(index.split(".")[0] if index else None)
        if number is None:
            continue
        if index not in opers:
            problems[number] = "ifOperStatus not answered"
        elif integer(opers[index]) not in OPER_STATUS:
            problems[number] = f"ifOperStatus {text(opers[index])!r} is not an IF-MIB status"
    return problems


def discards(snapshot: Snapshot) -> dict[int, tuple[int | None, int | None]]:
    """In and out discards per interface index (not in the contract's objects)."""
    ins = column(snapshot, O.IF_TABLE, O.IF_IN_DISCARDS)
    outs = column(snapshot, O.IF_TABLE, O.IF_OUT_DISCARDS)
    result = {}
    for index in set(ins) | set(outs):
        number = integer(index)
        if number is not None:
            result[number] = (integer(ins.get(index)), integer(outs.get(index)))
    return result


def _indexes(snapshot: Snapshot) -> set[str]:
    """Every interface row any of the naming or status columns lists."""
    return (set(column(snapshot, O.IF_TABLE, O.IF_DESCR))
            | set(column(snapshot, O.IF_TABLE, O.IF_OPER))
            | set(column(snapshot, O.IF_X_TABLE, O.IFX_NAME)))


def counter_bits(snapshot: Snapshot, index: int) -> int:
    """64 when the interface's octet counters come from ifXTable, else 32 (for wrap math)."""
    return 64 if f"{O.IF_X_TABLE}.{O.IFX_HC_IN_OCTETS}.{index}" in snapshot else 32


def _speed(if_speed: int | None, high_speed_mbps: int | None) -> int | None:
    if high_speed_mbps and (if_speed is None or if_speed >= 4_294_967_295):
        return high_speed_mbps * 1_000_000
    if if_speed:
        return if_speed
    return high_speed_mbps * 1_000_000 if high_speed_mbps else None
