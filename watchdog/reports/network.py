"""The network diagram from the state database: what each monitored device's checks last
stored (the SNMP ``system`` item, the ``neighbors`` check's ``neighbor`` and ``lldp_identity``
items, an SSH host's ``hardware`` item) drawn by :mod:`muni_watchdog.reports.topology`, with
each link's first and last seen from the ``links`` table.

Why the state database and not a live poll: the daemon reads every device's neighbour tables
every 6 hours already, so the diagram costs no SNMP request, works from a laptop holding a
copy of the database, and shows the same network as the inventory and the assessment beside
it. ``discover HOST`` polls one device live when a fresher view is wanted.

:func:`network_svg` is what the web console and the assessment embed."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from muni_watchdog.reports.topology import Device, Topology, as_json, build, device_from_items
from muni_watchdog.reports.topology_render import render_svg, to_dot


def _items_by_target(current: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in current:
        try:
            items = json.loads(row.get("items") or "[]")
        except ValueError:
            continue
        found.setdefault(row["target"], []).extend(i for i in items if isinstance(i, dict))
    return found


def _ssh_model(hardware: Mapping[str, Any]) -> str | None:
    virt = hardware.get("virtualization")
    if virt and virt != "none":
        return f"{'container' if hardware.get('container') else 'virtual machine'} ({virt})"
    words = [w for w in (hardware.get("vendor"), hardware.get("product")) if w]
    return " ".join(words) or None


def devices_from_states(current: Sequence[Mapping[str, Any]], hosts: Mapping[str, str]
                        ) -> list[Device]:
    """One :class:`Device` per monitored device: SNMP targets (their ``system`` item) and SSH
    hosts (``boot`` or ``hardware`` item: a server). HTTP and TCP targets are services, not
    boxes, and are not drawn."""
    devices = []
    for target, items in sorted(_items_by_target(current).items()):
        system = next((i for i in items if "device_class" in i), None)
        if system is not None or any(i.get("kind") == "lldp_identity" for i in items):
            devices.append(device_from_items(target, hosts.get(target), items))
            continue
        hardware = next((i for i in items if i.get("kind") == "hardware"), None)
        boot = next((i for i in items if i.get("kind") == "boot"), None)
        if hardware is not None or boot is not None:
            devices.append(Device(target, target, "server",
                                  _ssh_model(hardware or {}), hosts.get(target)))
    return devices


def network_topology(current: Sequence[Mapping[str, Any]], hosts: Mapping[str, str]
                     ) -> Topology:
    return build(devices_from_states(current, hosts))


def topology_json(topology: Topology, links: Sequence[Mapping[str, Any]] = ()
                  ) -> dict[str, Any]:
    """:func:`topology.as_json`, each edge with ``first_seen``/``last_seen`` from the links
    table (either end's record; None for a link the table does not hold yet)."""
    data = as_json(topology)
    kept: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for link in links:
        kept.setdefault((link["target"], link["local_port"]), []).append(link)
    for edge in data["edges"]:
        rows = kept.get((edge["a"], edge["a_port"]), []) + kept.get((edge["b"], edge["b_port"]),
                                                                      [])
        edge["first_seen"] = min((r["first_seen"] for r in rows), default=None)
        edge["last_seen"] = max((r["last_seen"] for r in rows), default=None)
    return data


def network_svg(store: Any, config: Any, timeout: float = 30.0) -> str:
    """The diagram as SVG, for the web console and the assessment (I/O: reads the store,
    runs Graphviz). Raises ``TopologyError`` when Graphviz cannot draw it."""
    hosts = {t.id: t.host for t in config.targets}
    return render_svg(to_dot(network_topology(store.current_states(), hosts)), timeout=timeout)
