"""``muni-watchdog topology``: the network diagram, from what the devices advertise (LLDP,
CDP) as the state database last stored it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from muni_watchdog.cli.common import add_config_option, add_state_dir_option, open_config_and_store

EXIT_INVALID_CONFIG = 2


def register(sub) -> None:
    p = sub.add_parser(
        "topology", help="the network diagram, from what the devices advertise (LLDP/CDP)",
        description="The network as its devices advertise it (LLDP and CDP, read by the "
        "neighbors checks every 6 hours and kept in the state database): devices by class "
        "with name, model and address, links with the port at each end, and the devices seen "
        "but not monitored, each with a ready discover command. Prints a text list; --json "
        "the data, --dot Graphviz DOT, --svg OUT the drawing (needs Graphviz: apt install "
        "graphviz). Exit 0, 1 when there is no state database or Graphviz failed.")
    add_config_option(p)
    add_state_dir_option(p)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="nodes, edges (with first and last "
                      "seen) and the unmonitored devices as JSON")
    form.add_argument("--dot", action="store_true", help="Graphviz DOT on standard output")
    form.add_argument("--svg", metavar="OUT", help="write the diagram as SVG to OUT")
    p.set_defaults(handler=cmd_topology)


def cmd_topology(args: argparse.Namespace) -> int:
    from muni_watchdog.reports.network import network_topology, topology_json
    from muni_watchdog.reports.topology_render import TopologyError, render_svg, to_dot

    config, store = open_config_and_store(args)
    if config is None:
        return EXIT_INVALID_CONFIG
    if store is None:
        return 1
    hosts = {t.id: t.host for t in config.targets}
    topology = network_topology(store.current_states(), hosts)
    if args.json:
        print(json.dumps(topology_json(topology, store.links()), indent=1))
    elif args.dot:
        sys.stdout.write(to_dot(topology))
    elif args.svg:
        try:
            svg = render_svg(to_dot(topology))
        except TopologyError as exc:
            print(f"muni-watchdog topology: {exc}", file=sys.stderr)
            return 1
        Path(args.svg).write_text(svg, encoding="utf-8")
        print(f"wrote {args.svg} ({len(topology.nodes)} devices, {len(topology.edges)} links)")
    else:
        sys.stdout.write(as_text(topology_json(topology, store.links())))
    return 0


def as_text(data: dict) -> str:
    """Devices by class, the links, and what was seen but is not monitored."""
    names = {n["id"]: n["name"] for n in data["nodes"]}
    monitored = [n for n in data["nodes"] if n["monitored"]]
    if not monitored:
        return ("no devices in the state database yet: the SNMP targets' system and "
                "neighbors checks fill it (neighbors runs every 6 hours)\n")
    lines = [f"Devices ({len(monitored)}):"]
    for n in sorted(monitored, key=lambda n: (n["class"], n["name"])):
        detail = ", ".join(x for x in (n["model"], n["address"]) if x)
        lines.append(f"  {n['class']:<9} {n['name']}" + (f" ({detail})" if detail else ""))
    lines.append(f"Links ({len(data['edges'])}):")
    for e in data["edges"]:
        since = f"  since {e['first_seen'][:10]}" if e.get("first_seen") else ""
        lines.append(f"  {names[e['a']]} {e['a_port'] or ''} — {names[e['b']]} "
                     f"{e['b_port'] or ''}".replace("  —", " —") + since)
    if data["unmonitored"]:
        lines.append(f"Seen, not monitored ({len(data['unmonitored'])}):")
        for u in data["unmonitored"]:
            where = ", ".join(f"{names.get(s['device'], s['device'])} {s['port']}"
                              for s in u["seen_from"])
            lines.append(f"  {u['class']:<9} {u['name']} (on {where})")
            lines.append(f"            {u['discover'] or 'no address advertised: find it on '}"
                         + ("" if u["discover"] else where))
    return "\n".join(lines) + "\n"
