"""The network diagram (issue 14): built from neighbour lists the ``neighbors`` check read from
the recordings, checked as JSON, as DOT, and as the SVG Graphviz draws from it (parsed as
XML: its node and edge groups)."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from lab.snmp_recordings import DATA_DIR, load_snapshot, probes_answering
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.check_neighbors import NeighborsParams, evaluate_neighbors
from muni_watchdog.core.model import CheckContext
from muni_watchdog.reports import topology as T
from muni_watchdog.reports.topology_render import TopologyError, dot_string, render_svg, to_dot

SVG = "{http://www.w3.org/2000/svg}"
# target id, recording, host
TOWN = (("town-core", "cisco-core", "10.0.0.2"), ("annex-sw", "aruba-2930f", "10.0.0.13"),
        ("hall-ex", "junos-ex", "10.0.0.14"), ("gw-main", "routeros-lldp", "10.0.0.1"),
        ("access-2", "cisco-ios", "10.0.0.12"), ("ap-council", "unifi-ap", "10.0.0.25"))


def device(target: str, recording: str, host: str) -> T.Device:
    """The Device the store's items of this target give: its system item and what its
    neighbors check produced on the recording."""
    values = load_snapshot(DATA_DIR / f"{recording}.snmprec")
    answering = probes_answering(values)
    outcome = evaluate_neighbors(values, answering, NeighborsParams(),
                                 CheckContext(datetime(2026, 11, 22, tzinfo=UTC), {})).outcome
    items = [sysmod.parse_system(values, answering), *outcome.items]
    return T.device_from_items(target, host, items)


@pytest.fixture(scope="module")
def town() -> T.Topology:
    return T.build([device(*row) for row in TOWN])


def edge_tuples(topology: T.Topology) -> set[tuple]:
    return {(e.a, e.a_port, e.b, e.b_port, e.both_ends) for e in topology.edges}


def test_links_once_per_cable_with_both_ports(town):
    assert edge_tuples(town) == {
        # advertised by both ends: one link, each end naming its own port
        ("annex-sw", "24", "town-core", "Gi1/0/1", True),
        ("gw-main", "ether2", "town-core", "Gi1/0/24", True),
        ("gw-main", "ether3", "hall-ex", "ge-0/0/0", True),
        # access-2 is monitored (found by its name without the domain), sends no LLDP
        ("town-core", "Gi1/0/2", "access-2", "Gi0/1", False),
        # two neighbours on Gi1/0/7: the desk switch between is drawn
        ("town-core", "Gi1/0/7", "hub:town-core:Gi1/0/7", None, False),
        ("hub:town-core:Gi1/0/7", None, "ap-council", "eth0", False),
        ("hub:town-core:Gi1/0/7", None, "seen:a0:8c:fd:12:34:56",
         "HP ETHERNET MULTI-ENVIRONMENT", False),
        ("town-core", "Gi1/0/3", "seen:dc-sw1", "Ethernet1/49", False),
        ("town-core", "Gi1/0/5", "seen:sep001122334455", "SW PORT", False),
        ("annex-sw", "5", "seen:records-srv", "eno1", False),
        ("hall-ex", "ge-0/0/10", "seen:ap-hall", "eth0", False),
    }
    cdp_and_lldp = next(e for e in town.edges if e.b == "access-2")
    assert cdp_and_lldp.protocols == {"cdp", "lldp"}


def test_classes_of_monitored_and_seen_devices(town):
    kinds = {node.id: node.kind for node in town.nodes.values()}
    assert kinds == {
        "town-core": "switch", "annex-sw": "switch", "hall-ex": "switch",
        "gw-main": "router", "access-2": "switch", "ap-council": "wireless",
        "hub:town-core:Gi1/0/7": "hub", "seen:a0:8c:fd:12:34:56": "printer",
        "seen:dc-sw1": "switch", "seen:sep001122334455": "phone",
        "seen:records-srv": "server", "seen:ap-hall": "wireless"}


def test_unmonitored_devices_with_a_discover_line(town):
    listed = {u["name"]: (u["class"], u["address"], u["discover"], u["seen_from"])
              for u in T.as_json(town)["unmonitored"]}
    assert listed == {
        "HP LaserJet Pro M404dn": ("printer", "10.0.30.15",
                                   "muni-watchdog discover 10.0.30.15",
                                   [{"device": "town-core", "port": "Gi1/0/7"}]),
        "SEP001122334455": ("phone", "10.0.20.21", "muni-watchdog discover 10.0.20.21",
                            [{"device": "town-core", "port": "Gi1/0/5"}]),
        "ap-hall": ("wireless", None, None, [{"device": "hall-ex", "port": "ge-0/0/10"}]),
        "dc-sw1": ("switch", "10.0.0.20", "muni-watchdog discover 10.0.0.20",
                   [{"device": "town-core", "port": "Gi1/0/3"}]),
        "records-srv.town.local": ("server", "10.0.0.40", "muni-watchdog discover 10.0.0.40",
                                   [{"device": "annex-sw", "port": "5"}]),
    }
    phone = next(u for u in T.as_json(town)["unmonitored"] if u["class"] == "phone")
    assert phone["chassis_id"] == "10.0.20.21"       # CDP has none; LLDP completes it


def dot_edges(dot: str) -> set[tuple[str, str, str, str]]:
    pattern = re.compile(r'^  "([^"]+)" -- "([^"]+)" \[taillabel="([^"]*)", '
                         r'headlabel="([^"]*)"', re.M)
    return set(pattern.findall(dot))


def test_dot_has_every_node_edge_and_the_clusters(town):
    dot = to_dot(town)
    assert dot_edges(dot) == {(e.a, e.b, e.a_port or "", e.b_port or "") for e in town.edges}
    for node in town.nodes.values():
        assert re.search(rf'^ +"{re.escape(node.id)}" \[label=', dot, re.M), node.id
    unmonitored = dot[dot.index("subgraph cluster_unmonitored"):dot.index("subgraph "
                                                                          "cluster_legend")]
    assert 'label="seen, not monitored"' in unmonitored
    assert all(f'"{n.id}"' in unmonitored for n in town.unmonitored)
    assert '"town-core"' not in unmonitored.split("--")[0]


def svg_groups(svg: str) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    """{node title: its classes} and {edge title: its texts}."""
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for group in root.iter(f"{SVG}g"):
        classes = set((group.get("class") or "").split())
        title = group.find(f"{SVG}title")
        if "node" in classes:
            nodes[title.text] = classes - {"node"}
        elif "edge" in classes:
            edges.setdefault(title.text, []).extend(t.text for t in group.iter(f"{SVG}text"))
    return nodes, edges


def test_svg_drawn_by_graphviz_has_the_nodes_edges_and_legend(town):
    svg = render_svg(to_dot(town))
    nodes, edges = svg_groups(svg)
    drawn = {title: classes for title, classes in nodes.items()
             if not title.startswith("legend:")}
    assert drawn == {node.id: {node.kind} for node in town.nodes.values()}
    legend = {title[len("legend:"):] for title in nodes if title.startswith("legend:")}
    assert legend == {node.kind for node in town.nodes.values()}
    real = {title: texts for title, texts in edges.items() if not title.startswith("legend:")}
    assert set(real) == {f"{e.a}--{e.b}" for e in town.edges}
    assert sorted(real["annex-sw--town-core"]) == ["24", "Gi1/0/1"]
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "seen, not monitored" in texts
    assert "muni" not in " ".join(texts)              # no command lines in the picture


HOSTILE = 'evil "quoted" \\N \\l <b>&amp;</b>\nsecond line'


def test_labels_are_escaped_for_dot_and_svg():
    topology = T.build([T.Device("sw-1", HOSTILE, "network", 'model\\"x', "10.0.0.9")])
    svg = render_svg(to_dot(topology))
    nodes, _ = svg_groups(svg)
    assert "sw-1" in nodes
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    # Graphviz got the characters, not its own escapes: \N did not become the node id
    assert 'evil "quoted" \\N \\l <b>&amp;</b> second line' in texts
    assert 'model\\"x' in texts
    assert dot_string('a"b\\') == '"a\\"b\\\\"'


def test_a_device_behind_a_desk_switch_that_reports_back_joins_the_inferred_switch():
    printer = {"protocol": "lldp", "local_port": "g7", "remote_name": None,
               "remote_chassis_id": "aa:aa:aa:aa:aa:01", "remote_port": "p1",
               "remote_platform": "HP LaserJet", "remote_address": "10.0.0.50",
               "remote_capabilities": ["station"]}
    ap = {"protocol": "lldp", "local_port": "g7", "remote_name": "ap-1",
          "remote_chassis_id": "aa:aa:aa:aa:aa:02", "remote_port": "eth0",
          "remote_platform": "AP", "remote_address": None,
          "remote_capabilities": ["wlan-access-point"]}
    back = {"protocol": "lldp", "local_port": "eth0", "remote_name": "sw",
            "remote_chassis_id": "aa:aa:aa:aa:aa:00", "remote_port": "g7",
            "remote_platform": None, "remote_address": None, "remote_capabilities": []}
    topology = T.build([T.Device("sw", "sw", "network", chassis_ids=("aa:aa:aa:aa:aa:00",),
                                 neighbors=(printer, ap)),
                        T.Device("ap-1", "ap-1", "wireless", neighbors=(back,))])
    assert edge_tuples(topology) == {
        ("sw", "g7", "hub:sw:g7", None, False),
        ("hub:sw:g7", None, "ap-1", "eth0", True),
        ("hub:sw:g7", None, "seen:aa:aa:aa:aa:aa:01", "p1", False)}


def _link(local: str, name: str, port: str) -> dict:
    return {"protocol": "lldp", "local_port": local, "remote_name": name, "remote_port": port,
            "remote_chassis_id": None, "remote_platform": None, "remote_address": None,
            "remote_capabilities": ["bridge"]}


def test_two_cables_between_two_switches_stay_two_links():
    a = T.Device("a", "a", "network", neighbors=(_link("Gi1/0/47", "b", "GigabitEthernet0/1"),
                                                 _link("Gi1/0/48", "b", "Gi0/2")))
    b = T.Device("b", "b", "network", neighbors=(_link("Gi0/1", "a", "Gi1/0/47"),
                                                 _link("Gi0/2", "a", "Gi1/0/48")))
    assert edge_tuples(T.build([a, b])) == {("a", "Gi1/0/47", "b", "Gi0/1", True),
                                            ("a", "Gi1/0/48", "b", "Gi0/2", True)}


def test_a_shared_mac_or_address_identifies_nobody():
    # two agents on one host share its MACs and address: only chassis ids and names count
    neighbor = {**_link("lo", "", "lo"), "remote_name": None,
                "remote_chassis_id": "02:00:00:00:00:99", "remote_address": "127.0.0.1"}
    one = T.Device("one", "one", "server", address="127.0.0.1", macs=("02:00:00:00:00:99",),
                   neighbors=(neighbor,))
    two = T.Device("two", "two", "server", address="127.0.0.1", macs=("02:00:00:00:00:99",))
    topology = T.build([one, two])
    assert [n.id for n in topology.unmonitored] == ["seen:02:00:00:00:00:99"]


@pytest.mark.parametrize("port_a, port_b, same", [
    ("Gi1/0/3", "GigabitEthernet1/0/3", True), ("Eth1/49", "Ethernet1/49", True),
    ("Te1/1/1", "TenGigabitEthernet1/1/1", True), ("ge-0/0/1", "ge-0/0/1", True),
    ("Gi1/0/3", "Gi1/0/30", False), ("Gi1/0/3", "Te1/0/3", False), ("24", "24", True),
    (None, "x", False),
])
def test_port_names_compare_across_abbreviations(port_a, port_b, same):
    assert T.same_port(port_a, port_b) is same


def _script(tmp_path, body: str):
    path = tmp_path / "fake-dot"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_graphviz_failures_are_errors_that_say_what_to_do(tmp_path, town):
    dot = to_dot(town)
    with pytest.raises(TopologyError, match="apt install graphviz"):
        render_svg(dot, binary=str(tmp_path / "no-such-dot"))
    with pytest.raises(TopologyError, match="exit 3.*syntax error in line 1"):
        render_svg(dot, binary=_script(tmp_path, "echo 'syntax error in line 1' >&2; exit 3"))
    with pytest.raises(TopologyError, match="no SVG"):
        render_svg(dot, binary=_script(tmp_path, "cat >/dev/null"))
    with pytest.raises(TopologyError, match="longer than 0.5s"):
        render_svg(dot, timeout=0.5, binary=_script(tmp_path, "sleep 5"))
    with pytest.raises(TopologyError):                   # Graphviz itself rejecting input
        render_svg("graph { a -- }")
