"""The network diagram: devices and the links they advertise (LLDP, CDP). Pure, except for
:func:`render_svg`, which hands the DOT text to Graphviz (``dot -Tsvg``) for the layout.

In: the monitored devices, each with its identity (target id, name, class, model, address,
LLDP chassis id, interface MACs, system name) and the neighbours its ``neighbors`` check read.
Out: nodes by class (router, firewall, switch, wireless, server, storage, printer, UPS, and for
devices seen only as neighbours: phone, host, unknown), links labelled with the port at each
end, deduplicated when both ends advertise each other (and when CDP and LLDP report the same
link), a node standing for the unmanaged switch that must be there when one port has several
neighbours, and the devices seen but not monitored, drawn apart with a ready ``discover``
command. As JSON, DOT (labels escaped) or SVG.

Drawing (DOT, SVG) is in :mod:`muni_watchdog.reports.topology_render`.

A neighbour is matched to a monitored device by its chassis id (the device's own LLDP chassis
id or one of its interface MACs), then its name (without the domain: CDP says
``sw1.town.local``), then its management address; a MAC or address that two devices share
(two agents on one host, a VRRP address) matches nothing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

DEVICE_CLASSES = {"firewall": "firewall", "wireless": "wireless", "server": "server",
                  "storage": "storage", "printer": "printer", "ups": "ups"}
ROUTER_WORDS = re.compile(r"\b(router|edgerouter|edgeos|ccr\d|rb\d|isr\d|asr\d|gateway)",
                          re.I)
PLATFORM_HINTS = (
    (re.compile(r"printer|laserjet|officejet|imagerunner|bizhub|ecosys|workcentre", re.I),
     "printer"),
    (re.compile(r"\bups\b|smart-ups|management card", re.I), "ups"),
    (re.compile(r"\bphone\b", re.I), "phone"),
    (re.compile(r"access point|\bU6-|\bUAP|aironet", re.I), "wireless"),
    (re.compile(r"firewall|fortigate|opnsense|pfsense", re.I), "firewall"),
    (re.compile(r"linux|windows|freebsd|debian|ubuntu", re.I), "server"),
)
PORT = re.compile(r"^([a-z]*)[ -]?([\d/.:]+)$")


@dataclass(frozen=True)
class Device:
    """A monitored device as the diagram needs it (built from the store by the caller)."""

    id: str                                   # the target id
    name: str | None = None                   # sysName or description
    device_class: str | None = None           # checks.snmp.classes' class
    model: str | None = None
    address: str | None = None                # the target's host
    chassis_ids: tuple[str, ...] = ()          # its own LLDP chassis id(s)
    macs: tuple[str, ...] = ()                 # its interfaces' MACs
    capabilities: tuple[str, ...] = ()         # its own LLDP capabilities (router, bridge)
    neighbors: tuple[dict[str, Any], ...] = ()  # the neighbors check's contract dicts


@dataclass
class Node:
    id: str
    name: str
    kind: str
    monitored: bool
    model: str | None = None
    address: str | None = None
    platform: str | None = None
    chassis_id: str | None = None
    seen_from: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Edge:
    a: str
    a_port: str | None
    b: str
    b_port: str | None
    protocols: set[str] = field(default_factory=set)
    both_ends: bool = False


@dataclass
class Topology:
    nodes: dict[str, Node]
    edges: list[Edge]

    @property
    def unmonitored(self) -> list[Node]:
        return sorted((n for n in self.nodes.values() if not n.monitored and n.kind != "hub"),
                      key=lambda n: (n.name.lower(), n.id))


def name_key(name: str | None) -> str | None:
    """A name as neighbours may write it: lower case, without the domain (not for an IP)."""
    if not name or not name.strip():
        return None
    name = name.strip().lower()
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        return name.split(".")[0] or name


def same_port(one: str | None, other: str | None) -> bool:
    """``Gi1/0/3`` is ``GigabitEthernet1/0/3``, ``Eth1/49`` is ``Ethernet1/49``."""
    if not one or not other:
        return False
    one, other = one.strip().lower(), other.strip().lower()
    if one == other:
        return True
    a, b = PORT.match(one), PORT.match(other)
    return bool(a and b and a.group(2) == b.group(2) and a.group(1)[:2] == b.group(1)[:2])


def device_kind(device: Device) -> str:
    """The diagram's class of a monitored device: a network device is a router when it
    routes and does not bridge, or when its model says so (CCR, EdgeRouter, ISR...)."""
    if device.device_class in DEVICE_CLASSES:
        return DEVICE_CLASSES[device.device_class]
    if device.device_class == "network":
        caps = set(device.capabilities)
        if ("router" in caps and "bridge" not in caps) or ROUTER_WORDS.search(
                f"{device.model or ''} {device.name or ''}"):
            return "router"
        return "switch"
    return "unknown"


def neighbor_kind(neighbor: dict[str, Any]) -> str:
    """The class of a device known only from what it advertises."""
    caps = set(neighbor.get("remote_capabilities") or ())
    platform = neighbor.get("remote_platform") or ""
    if "telephone" in caps:
        return "phone"
    if "wlan-access-point" in caps:
        return "wireless"
    for pattern, kind in PLATFORM_HINTS:
        if pattern.search(platform):
            return kind
    if "router" in caps and ("bridge" not in caps or ROUTER_WORDS.search(platform)):
        return "router"
    if "bridge" in caps:
        return "switch"
    return "host" if "station" in caps else "unknown"


class _Index:
    """Monitored devices by chassis id, MAC, name and address; ambiguous keys dropped."""

    def __init__(self, devices: Sequence[Device]):
        self.by: dict[str, dict[str, str | None]] = {k: {} for k in
                                                     ("chassis", "mac", "name", "address")}
        for device in devices:
            for key in device.chassis_ids:
                self._add("chassis", key.lower(), device.id)
            for key in device.macs:
                self._add("mac", key.lower(), device.id)
            for name in {name_key(device.name), name_key(device.id)} - {None}:
                self._add("name", name, device.id)
            if device.address:
                self._add("address", device.address.lower(), device.id)

    def _add(self, kind: str, key: str, device_id: str) -> None:
        table = self.by[kind]
        table[key] = device_id if table.get(key, device_id) == device_id else None

    def match(self, neighbor: dict[str, Any]) -> str | None:
        chassis = (neighbor.get("remote_chassis_id") or "").lower()
        for kind, key in (("chassis", chassis), ("mac", chassis),
                          ("name", name_key(neighbor.get("remote_name"))),
                          ("address", (neighbor.get("remote_address") or "").lower())):
            if key and self.by[kind].get(key):
                return self.by[kind][key]
        return None


def _unmonitored_key(neighbor: dict[str, Any]) -> str:
    for field_name in ("remote_name", "remote_chassis_id", "remote_address"):
        value = neighbor.get(field_name)
        if value:
            return "seen:" + (name_key(value) if field_name == "remote_name" else value.lower())
    return "seen:" + f"{neighbor.get('remote_port') or 'unknown'}"


def _seen(nodes: dict[str, Node], key: str, neighbor: dict[str, Any], by: str) -> None:
    """Add or complete the node of a device seen only as a neighbour: a device without a
    system name is called by its platform ("HP LaserJet Pro M404dn"), else its chassis id;
    what one protocol leaves out (CDP has no chassis id) the other may tell."""
    node = nodes.get(key)
    if node is None:
        name = (neighbor.get("remote_name") or (neighbor.get("remote_platform") or "")[:40]
                or neighbor.get("remote_chassis_id") or neighbor.get("remote_address")
                or "unnamed device")
        node = nodes[key] = Node(key, name, neighbor_kind(neighbor), False)
    node.address = node.address or neighbor.get("remote_address")
    node.platform = node.platform or neighbor.get("remote_platform")
    node.chassis_id = node.chassis_id or neighbor.get("remote_chassis_id")
    if node.kind in ("unknown", "host"):
        node.kind = neighbor_kind(neighbor)
    seen = {"device": by, "port": neighbor["local_port"]}
    if seen not in node.seen_from:
        node.seen_from.append(seen)


def build(devices: Sequence[Device]) -> Topology:
    """The diagram's nodes and links from the devices and what each advertises."""
    index = _Index(devices)
    nodes = {d.id: Node(d.id, d.name or d.id, device_kind(d), True, d.model, d.address)
             for d in devices}
    halves: dict[tuple[str, str, str], dict[str, Any]] = {}   # (node, local port, other)
    for device in sorted(devices, key=lambda d: d.id):
        for neighbor in device.neighbors:
            other = index.match(neighbor)
            if other is None or other == device.id:     # itself: a shared MAC, not a loop
                other = _unmonitored_key(neighbor)
                _seen(nodes, other, neighbor, device.id)
            half = halves.setdefault((device.id, neighbor["local_port"], other),
                                     {"port": None, "protocols": set()})
            # LLDP names the port as the device's ifName does; CDP often spells it out
            if half["port"] is None or neighbor["protocol"] == "lldp":
                half["port"] = neighbor.get("remote_port") or half["port"]
            half["protocols"].add(neighbor["protocol"])
    return Topology(nodes, _edges(nodes, halves))


def _edges(nodes: dict[str, Node], halves: dict[tuple[str, str, str], dict[str, Any]]
           ) -> list[Edge]:
    by_port: dict[tuple[str, str], list[str]] = {}
    for device, port, other in halves:
        by_port.setdefault((device, port), []).append(other)
    hubs = {key: f"hub:{key[0]}:{key[1]}" for key, others in by_port.items()
            if len(others) > 1}            # several neighbours on a port: a switch between
    edges: list[Edge] = []
    behind: dict[tuple[str, str], Edge] = {}   # (hub, device behind it) -> its edge
    for (device, port), hub in hubs.items():
        nodes[hub] = Node(hub, "unmanaged switch?", "hub", False,
                          platform=f"on {nodes[device].name} {port}")
        protocols = set().union(*(halves[(device, port, o)]["protocols"]
                                  for o in by_port[(device, port)]))
        edges.append(Edge(device, port, hub, None, protocols))
        for other in by_port[(device, port)]:
            half = halves[(device, port, other)]
            edge = Edge(hub, None, other, half["port"], set(half["protocols"]))
            behind[(hub, other)] = edge
            edges.append(edge)
    pending: dict[frozenset[str], list[Edge]] = {}
    for (device, port, other), half in halves.items():
        if (device, port) in hubs:
            continue
        # a device behind a hub that reports the switch it reaches through it: its end of
        # the hub's link, not a second cable
        hub_edge = next((behind[(hub, device)] for (owner, _), hub in hubs.items()
                         if owner == other and (hub, device) in behind), None)
        if hub_edge is not None:
            hub_edge.b_port, hub_edge.both_ends = port, True
            hub_edge.protocols |= half["protocols"]
            continue
        pending.setdefault(frozenset((device, other)), []).append(
            Edge(device, port, other, half["port"], set(half["protocols"])))
    for pair in pending.values():
        edges.extend(_merge_both_ends(pair))
    return sorted(edges, key=lambda e: (e.a, e.a_port or "", e.b, e.b_port or ""))


def _merge_both_ends(pair: list[Edge]) -> list[Edge]:
    """One link per cable: a's report (a: pa -> b: pb) and b's (b: pb' -> a: pa') are the
    same link when a port agrees on either end, or when each side reports just one."""
    if not pair:
        return []
    first = pair[0].a
    mine = [e for e in pair if e.a == first]
    theirs = [e for e in pair if e.a != first]
    merged = []
    for edge in mine:
        match = next((t for t in theirs if same_port(edge.a_port, t.b_port)
                      or same_port(edge.b_port, t.a_port)), None)
        if match is None and len(mine) == 1 and len(theirs) == 1:
            match = theirs[0]
        if match is not None:
            theirs.remove(match)
            edge.b_port = match.a_port or edge.b_port   # each end names its own port
            edge.protocols |= match.protocols
            edge.both_ends = True
        merged.append(edge)
    return merged + theirs


def as_json(topology: Topology) -> dict[str, Any]:
    """``{"nodes": [...], "edges": [...], "unmonitored": [...]}``; each unmonitored device
    has the ``discover`` command that adds it (None when it advertised no address)."""
    nodes = [{"id": n.id, "name": n.name, "class": n.kind, "model": n.model,
              "address": n.address, "monitored": n.monitored, "platform": n.platform}
             for n in sorted(topology.nodes.values(), key=lambda n: n.id)]
    edges = [{"a": e.a, "a_port": e.a_port, "b": e.b, "b_port": e.b_port,
              "protocols": sorted(e.protocols), "both_ends": e.both_ends}
             for e in topology.edges]
    unmonitored = [{"id": n.id, "name": n.name, "class": n.kind, "address": n.address,
                    "platform": n.platform, "chassis_id": n.chassis_id,
                    "seen_from": n.seen_from, "discover": discover_line(n.address)}
                   for n in topology.unmonitored]
    return {"nodes": nodes, "edges": edges, "unmonitored": unmonitored}


def discover_line(address: str | None) -> str | None:
    return f"muni-watchdog discover {address}" if address else None


NEIGHBOR_FIELDS = ("protocol", "local_port", "local_port_index", "remote_name", "remote_port",
                   "remote_platform", "remote_address", "remote_chassis_id",
                   "remote_capabilities")


def device_from_items(target: str, host: str | None, items: Iterable[dict[str, Any]]
                      ) -> Device:
    """A :class:`Device` from the items a target's checks stored: the SNMP ``system`` item
    (name, class, model), the ``neighbors`` check's ``neighbor`` items and its
    ``lldp_identity`` item (chassis id, MACs, capabilities)."""
    system: dict[str, Any] = {}
    identity: dict[str, Any] = {}
    found = []
    for item in items:
        if "device_class" in item and not system:
            system = item
        elif item.get("kind") == "lldp_identity":
            identity = item
        elif item.get("kind") == "neighbor":
            found.append({k: item.get(k) for k in NEIGHBOR_FIELDS})
    return Device(target, system.get("name") or identity.get("sys_name") or target,
                  system.get("device_class"), system.get("model"), host,
                  tuple(c for c in [identity.get("chassis_id")] if c),
                  tuple(identity.get("macs") or ()), tuple(identity.get("capabilities") or ()),
                  tuple(found))
