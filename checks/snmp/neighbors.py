"""Who is plugged in where: LLDP-MIB (IEEE 802.1AB-2005) and CISCO-CDP-MIB neighbour tables.

Pure: a poll's values in, the ``discover`` contract's ``neighbors`` list out (one dict per
neighbour and protocol, see :func:`parse_neighbors`), plus the device's own LLDP identity
(:func:`local_identity`) that lets the topology recognise it in its neighbours' tables.

What real agents do, and what is done about it:

* ``lldpRemLocalPortNum`` is an ``LldpPortNumber``: the bridge port (dot1dBasePort) on a
  switch, the ifIndex only on other systems (the MIB says so). Cisco IOS numbers ports 1..52
  while Gi1/0/1 is ifIndex 10101 and ifIndex 1 is Vlan1. So the local port is found through
  ``lldpLocPortTable`` (its port id by subtype, then its description, against ifName,
  ifDescr, ifAlias and ifPhysAddress; only a unique match counts), then BRIDGE-MIB's
  dot1dBasePortIfIndex, and only then taken as an ifIndex.
* MikroTik RouterOS indexes ``lldpRemTable`` by one neighbour number instead of
  timeMark.localPort.index; its local interface comes from MIKROTIK-MIB
  mtxrNeighborInterfaceID (an ifIndex).
* Chassis and port ids are shown by subtype: MAC addresses as ``aa:bb:cc:dd:ee:ff`` whether
  the agent sends six octets or text, network addresses (an IANA family octet, then the
  address) as IP text, names as text, anything else printable as text, else hex.
* The remote port is the port id when it is a name (interfaceName, portComponent); for a MAC,
  a network address or a locally assigned number (Juniper sends the ifIndex, HP the port
  number) the port description says more, when there is one.
* CDP device ids carry serials (``dc-sw1(FOC1234X0AB)`` is ``dc-sw1``); IP phones are named
  ``SEP`` + MAC and keep that name. cdpCacheSysName, when sent, is preferred.
* Management addresses sit in ``lldpRemManAddrTable``'s *index* (subtype, length, octets);
  some agents leave the length out, both forms are read.
* A missing system name is None, never "" (a printer behind a desk switch often has none).
"""

from __future__ import annotations

import re
from typing import Any

from muni_watchdog.checks.snmp.neighbor_values import (
    cdp_capabilities,
    chassis_id,
    first_line,
    ip_text,
    lldp_capabilities,
    mac_text,
    network_address,
    octets_text,
    port_id,
    printable,
)
from muni_watchdog.checks.snmp.values import Snapshot, Value, index_key, integer, subtree, text

LLDP = "1.0.8802.1.1.2.1"
LLDP_LOC_CHASSIS_SUBTYPE = f"{LLDP}.3.1.0"
LLDP_LOC_CHASSIS_ID = f"{LLDP}.3.2.0"
LLDP_LOC_SYS_NAME = f"{LLDP}.3.3.0"
LLDP_LOC_SYS_CAP_ENABLED = f"{LLDP}.3.6.0"
LLDP_LOC_PORT = f"{LLDP}.3.7.1"            # lldpLocPortEntry: 2 subtype, 3 id, 4 desc
LLDP_REM = f"{LLDP}.4.1.1"                 # lldpRemEntry
LLDP_REM_MAN_ADDR = f"{LLDP}.4.2.1"        # lldpRemManAddrEntry (3 IfSubtype, 4 IfId, 5 OID)
REM_CHASSIS_SUBTYPE, REM_CHASSIS_ID, REM_PORT_SUBTYPE, REM_PORT_ID = 4, 5, 6, 7
REM_PORT_DESC, REM_SYS_NAME, REM_SYS_DESC, REM_CAP_ENABLED = 8, 9, 10, 12
CDP_CACHE = "1.3.6.1.4.1.9.9.23.1.2.1.1"   # cdpCacheEntry, index cdpCacheIfIndex.DeviceIndex
CDP_ADDRESS_TYPE, CDP_ADDRESS, CDP_DEVICE_ID, CDP_DEVICE_PORT = 3, 4, 6, 7
CDP_PLATFORM, CDP_CAPABILITIES, CDP_SYS_NAME = 8, 9, 17
CDP_COLUMNS = (CDP_ADDRESS_TYPE, CDP_ADDRESS, CDP_DEVICE_ID, CDP_DEVICE_PORT, CDP_PLATFORM,
               CDP_CAPABILITIES, CDP_SYS_NAME)
BRIDGE_PORT_IFINDEX = "1.3.6.1.2.1.17.1.4.1.2"          # BRIDGE-MIB dot1dBasePortIfIndex
MTXR_NEIGHBOR_IFINDEX = "1.3.6.1.4.1.14988.1.1.11.1.1.8"  # MIKROTIK-MIB mtxrNeighborInterfaceID
IF_DESCR, IF_PHYS_ADDRESS = "1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.6"
IFX_NAME, IFX_ALIAS = "1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.31.1.1.1.18"

SCALARS = (LLDP_LOC_CHASSIS_SUBTYPE, LLDP_LOC_CHASSIS_ID, LLDP_LOC_SYS_NAME,
           LLDP_LOC_SYS_CAP_ENABLED)
# Columns, not whole tables, where the rest is bulky (CDP's multi-line version strings, the
# IF-MIB counters): this check runs alone every few hours and should cost a few requests.
TABLES = (LLDP_LOC_PORT, LLDP_REM, LLDP_REM_MAN_ADDR,
          *(f"{CDP_CACHE}.{c}" for c in CDP_COLUMNS), BRIDGE_PORT_IFINDEX,
          MTXR_NEIGHBOR_IFINDEX, IF_DESCR, IF_PHYS_ADDRESS, IFX_NAME, IFX_ALIAS)

MAX_NEIGHBORS = 4096     # bound on what one device's tables can make us keep
CDP_IPV4, CDP_IPV6 = 1, 20          # CISCO-TC CiscoNetworkProtocol ip(1), ipv6(20)
CDP_SERIAL = re.compile(r"\s*\([^()]*\)\s*$")


# ---- the device's own ports ---------------------------------------------------------------

def interfaces(values: Snapshot) -> dict[int, dict[str, str | None]]:
    """ifIndex -> name (ifName, else ifDescr), descr, alias and MAC."""
    descr, name = subtree(values, IF_DESCR), subtree(values, IFX_NAME)
    alias, phys = subtree(values, IFX_ALIAS), subtree(values, IF_PHYS_ADDRESS)
    found: dict[int, dict[str, str | None]] = {}
    for index in set(descr) | set(name):
        number = integer(index)
        if number is None:
            continue
        found[number] = {"name": text(name.get(index)) or text(descr.get(index)) or None,
                         "descr": text(descr.get(index)) or None,
                         "alias": text(alias.get(index)) or None,
                         "mac": mac_text(phys.get(index))}
    return found


def _unique(ifaces: dict[int, dict], field: str, wanted: str | None) -> int | None:
    if not wanted:
        return None
    hits = [i for i, iface in ifaces.items()
            if iface.get(field) and iface[field].lower() == wanted.lower()]
    return hits[0] if len(hits) == 1 else None


def _local_port_entry(ifaces: dict[int, dict], entry: dict[str, Any]) -> int | None:
    """The ifIndex an lldpLocPortTable row describes, when exactly one interface fits."""
    subtype, port_id, desc = entry["subtype"], entry["id"], entry["desc"]
    if subtype == 3 and port_id:
        hit = _unique(ifaces, "mac", port_id)
        if hit is not None:
            return hit
    if subtype == 7 and port_id and port_id.isdigit() and int(port_id) in ifaces:
        return int(port_id)
    tries = {1: ("alias", "name", "descr"), 5: ("name", "descr", "alias")}.get(
        subtype, ("name", "descr", "alias"))
    for field in tries:
        hit = _unique(ifaces, field, port_id)
        if hit is not None:
            return hit
    for field in ("descr", "name", "alias"):
        hit = _unique(ifaces, field, desc)
        if hit is not None:
            return hit
    return None


def local_ports(values: Snapshot) -> dict[int, dict[str, Any]]:
    """lldpLocPortTable: LldpPortNumber -> {subtype, id, desc}."""
    rows: dict[int, dict[str, Any]] = {}
    for oid, value in subtree(values, LLDP_LOC_PORT).items():
        column, _, index = oid.partition(".")
        number = integer(index)
        if number is None or column not in ("2", "3", "4"):
            continue
        row = rows.setdefault(number, {"subtype": None, "id": None, "desc": None})
        if column == "2":
            row["subtype"] = integer(value)
        elif column == "3":
            row["raw_id"] = value
        else:
            row["desc"] = printable(value)
    for row in rows.values():
        row["id"] = port_id(row["subtype"], row.pop("raw_id", None))
    return rows


def resolve_local_port(number: int, loc: dict[int, dict], ifaces: dict[int, dict],
                       bridge: dict[int, int]) -> tuple[str, int | None]:
    """(name, ifIndex or None) of the local port an LldpPortNumber stands for."""
    entry = loc.get(number)
    if entry is not None:
        hit = _local_port_entry(ifaces, entry)
        if hit is not None:
            return ifaces[hit]["name"] or f"ifIndex {hit}", hit
    base = bridge.get(number)
    if base is not None and base in ifaces:
        return ifaces[base]["name"] or f"ifIndex {base}", base
    if number in ifaces:
        return ifaces[number]["name"] or f"ifIndex {number}", number
    if entry is not None and (entry["desc"] or entry["id"]):
        return entry["desc"] or entry["id"], None
    return f"port {number}", None


def _bridge_ports(values: Snapshot) -> dict[int, int]:
    ports = {}
    for index, value in subtree(values, BRIDGE_PORT_IFINDEX).items():
        port, if_index = integer(index), integer(value)
        if port is not None and if_index:
            ports[port] = if_index
    return ports


# ---- LLDP-MIB ------------------------------------------------------------------------------

def _rem_key(parts: list[int]) -> tuple[int, int] | None:
    """(LldpPortNumber or -neighbour number, lldpRemIndex) from a lldpRemTable row index:
    timeMark.localPortNum.index, or RouterOS's single neighbour number (port looked up in
    MIKROTIK-MIB, marked by a negative port)."""
    if len(parts) == 3:
        return parts[1], parts[2]
    if len(parts) == 2:                    # an agent that leaves the time mark out
        return parts[0], parts[1]
    if len(parts) == 1:
        return -parts[0], parts[0]
    return None


def _parts(index: str) -> list[int] | None:
    try:
        return [int(p) for p in index.split(".")]
    except ValueError:
        return None


def _remote_rows(values: Snapshot) -> dict[tuple[int, int], dict[int, Value]]:
    rows: dict[tuple[int, int], dict[int, Value]] = {}
    table = subtree(values, LLDP_REM)
    for oid in sorted(table, key=index_key):   # a later time mark overwrites an earlier one
        column, _, index = oid.partition(".")
        parts, col = _parts(index), integer(column)
        key = _rem_key(parts) if parts else None
        if key is None or col is None:
            continue
        if key not in rows and len(rows) >= MAX_NEIGHBORS:
            continue
        rows.setdefault(key, {})[col] = table[oid]
    return rows


def _management_addresses(values: Snapshot, keys: set[tuple[int, int]]
                          ) -> dict[tuple[int, int], list[str]]:
    """IP addresses from lldpRemManAddrTable's index, by remote row: IPv4 first."""
    found: dict[tuple[int, int], set[str]] = {}
    for oid in subtree(values, LLDP_REM_MAN_ADDR):
        parts = _parts(oid.partition(".")[2])
        if not parts:
            continue
        for width in (3, 2, 1):                # time mark, port, index; or fewer (see above)
            key = _rem_key(parts[:width])
            if key in keys and len(parts) > width + 1:
                address = _index_address(parts[width], parts[width + 1:])
                if address:
                    found.setdefault(key, set()).add(address)
                break
    return {key: sorted(addrs, key=lambda a: (":" in a, a)) for key, addrs in found.items()}


def _index_address(family: int, rest: list[int]) -> str | None:
    """The address octets of a management-address index, with or without the length octet
    (the MIB has it; some agents leave it out): the reading whose size fits the family."""
    size = {1: 4, 2: 16}.get(family)
    if size is None or any(not 0 <= p <= 255 for p in rest):
        return None
    for octets in (rest[1:] if rest and rest[0] == len(rest) - 1 else None, rest):
        if octets is not None and len(octets) == size:
            return ip_text(bytes(octets))
    return None


def _remote_port(row: dict[int, Value]) -> str | None:
    subtype = integer(row.get(REM_PORT_SUBTYPE))
    shown = port_id(subtype, row.get(REM_PORT_ID))
    desc = printable(row.get(REM_PORT_DESC))
    if subtype in (2, 5) and shown and printable(row.get(REM_PORT_ID)):
        return shown
    return desc or shown


def _address_chassis(row: dict[int, Value]) -> str | None:
    """An IP phone's chassis id is often its address (networkAddress): the address to
    reach it when no management address is advertised."""
    if integer(row.get(REM_CHASSIS_SUBTYPE)) == 5:
        return network_address(row.get(REM_CHASSIS_ID))
    return None


def parse_lldp(values: Snapshot, ifaces: dict[int, dict] | None = None) -> list[dict[str, Any]]:
    """The LLDP neighbours, in the contract's form (see :func:`parse_neighbors`)."""
    ifaces = interfaces(values) if ifaces is None else ifaces
    loc, bridge = local_ports(values), _bridge_ports(values)
    mikrotik = {integer(k): integer(v)
                for k, v in subtree(values, MTXR_NEIGHBOR_IFINDEX).items()}
    rows = _remote_rows(values)
    addresses = _management_addresses(values, set(rows))
    found = []
    for (number, rem_index), row in rows.items():
        if not any(c in row for c in (REM_CHASSIS_ID, REM_PORT_ID, REM_SYS_NAME)):
            continue
        if number < 0:                     # RouterOS: the neighbour's interface is an ifIndex
            if_index = mikrotik.get(rem_index)
            name = (ifaces.get(if_index) or {}).get("name") if if_index else None
            local = (name or (f"ifIndex {if_index}" if if_index else "unknown port"),
                     if_index if if_index in ifaces else None)
        else:
            local = resolve_local_port(number, loc, ifaces, bridge)
        found.append({
            "protocol": "lldp", "local_port": local[0], "local_port_index": local[1],
            "remote_name": printable(row.get(REM_SYS_NAME)),
            "remote_port": _remote_port(row),
            "remote_platform": first_line(row.get(REM_SYS_DESC)),
            "remote_address": (addresses.get((number, rem_index)) or [None])[0]
            or _address_chassis(row),
            "remote_chassis_id": chassis_id(integer(row.get(REM_CHASSIS_SUBTYPE)),
                                            row.get(REM_CHASSIS_ID)),
            "remote_capabilities": lldp_capabilities(row.get(REM_CAP_ENABLED)),
        })
    return found


# ---- CISCO-CDP-MIB -------------------------------------------------------------------------

def cdp_name(device_id: Value | None) -> str | None:
    """The name in a CDP device id: NX-OS and others append the serial in parentheses
    (``dc-sw1(FOC1234X0AB)``); a device id in binary (a MAC) is no name."""
    shown = printable(device_id)
    if shown is None:
        return None
    return CDP_SERIAL.sub("", shown).strip() or None


def _cdp_address(kind: int | None, value: Value | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):             # an agent that sends an IpAddress
        return ip_text(value.encode())
    if kind in (CDP_IPV4, CDP_IPV6, None):
        return ip_text(value)
    return None


def parse_cdp(values: Snapshot, ifaces: dict[int, dict] | None = None) -> list[dict[str, Any]]:
    """The CDP neighbours, in the contract's form."""
    ifaces = interfaces(values) if ifaces is None else ifaces
    rows: dict[tuple[int, int], dict[int, Value]] = {}
    for column in CDP_COLUMNS:
        for index, value in subtree(values, f"{CDP_CACHE}.{column}").items():
            parts = _parts(index)
            if parts and len(parts) == 2 and (tuple(parts) in rows
                                              or len(rows) < MAX_NEIGHBORS):
                rows.setdefault((parts[0], parts[1]), {})[column] = value
    found = []
    for (if_index, _), row in sorted(rows.items()):
        if CDP_DEVICE_ID not in row and CDP_SYS_NAME not in row:
            continue
        device_id = row.get(CDP_DEVICE_ID)
        name = printable(row.get(CDP_SYS_NAME)) or cdp_name(device_id)
        found.append({
            "protocol": "cdp",
            "local_port": (ifaces.get(if_index) or {}).get("name") or f"ifIndex {if_index}",
            "local_port_index": if_index,
            "remote_name": name,
            "remote_port": printable(row.get(CDP_DEVICE_PORT)),
            "remote_platform": first_line(row.get(CDP_PLATFORM)),
            "remote_address": _cdp_address(integer(row.get(CDP_ADDRESS_TYPE)),
                                           row.get(CDP_ADDRESS)),
            # a device id that is a MAC (cdpGlobalDeviceIdFormat macAddress) identifies the
            # chassis; a name does not
            "remote_chassis_id": None if name else (mac_text(device_id)
                                                    or octets_text(device_id)),
            "remote_capabilities": cdp_capabilities(row.get(CDP_CAPABILITIES)),
        })
    return found


# ---- both, and the device itself -----------------------------------------------------------

def parse_neighbors(values: Snapshot) -> list[dict[str, Any]]:
    """Every neighbour the device advertises, one dict per neighbour and protocol (a Cisco
    neighbour seen by CDP and LLDP is listed twice, once per protocol):

    ``protocol`` "lldp" | "cdp"; ``local_port`` the local port's ifName (else ifDescr);
    ``local_port_index`` its ifIndex or None; ``remote_name`` the advertised system name or
    None; ``remote_port`` the advertised port id or description; ``remote_platform`` the
    platform / system description or None; ``remote_address`` a management IPv4 (else IPv6)
    address or None; ``remote_chassis_id`` text or None; ``remote_capabilities`` the
    advertised capabilities (bridge, router, telephone, wlan-access-point, station...)."""
    ifaces = interfaces(values)
    found = parse_lldp(values, ifaces) + parse_cdp(values, ifaces)
    return sorted(found, key=lambda n: (
        n["local_port_index"] if n["local_port_index"] is not None else 1 << 40,
        n["local_port"], n["protocol"], n["remote_name"] or "", n["remote_port"] or ""))


def lldp_answered(values: Snapshot) -> bool:
    """Whether the agent implements LLDP-MIB (its local data answers, even with no
    neighbour)."""
    return any(oid.startswith(LLDP + ".") for oid in values)


def cdp_answered(values: Snapshot) -> bool:
    """Whether the CDP cache had rows (an empty cache and no CDP-MIB look alike)."""
    return any(oid.startswith(CDP_CACHE + ".") for oid in values)


def local_identity(values: Snapshot) -> dict[str, Any]:
    """What neighbours see of this device: its LLDP chassis id and system name, the MACs of
    its interfaces and its enabled capabilities (to recognise it in other devices' tables)."""
    macs = sorted({i["mac"] for i in interfaces(values).values()
                   if i["mac"] and i["mac"] not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff")})
    subtype = integer(values.get(LLDP_LOC_CHASSIS_SUBTYPE))
    return {"chassis_id": chassis_id(subtype, values.get(LLDP_LOC_CHASSIS_ID)),
            "sys_name": printable(values.get(LLDP_LOC_SYS_NAME)),
            "macs": macs[:256],
            "capabilities": lldp_capabilities(values.get(LLDP_LOC_SYS_CAP_ENABLED))}
