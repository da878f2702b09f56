"""Neighbours wired in (issue 14): ``discover --json`` carries them in the contract's schema,
the discover snippet keeps the neighbors check on network devices, the state database keeps
each link with its first and last seen, and ``topology`` draws the network from it."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.lldp_lab import start_pair
from muni_watchdog.checks.snmp import neighbors as N
from muni_watchdog.checks.snmp.check_neighbors import NeighborsParams, evaluate_neighbors
from muni_watchdog.checks.snmp.check_system import SystemParams, evaluate_system
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.discover import NEIGHBOR_KEYS, describe
from muni_watchdog.checks.snmp.session import Poll
from muni_watchdog.cli.main import main
from muni_watchdog.cli.snmp import config_snippet
from muni_watchdog.core.model import CheckContext, State
from muni_watchdog.store.database import Store
from tests.assessment_fixture import record, snapshot, snmp_device

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=6)
SVG = "{http://www.w3.org/2000/svg}"


# ---- discover --json ------------------------------------------------------------------------

def test_discover_json_lists_neighbours_in_exactly_the_contracts_schema():
    values, answering = snapshot("cisco-core")
    found = describe("10.0.0.2:161", Poll(values, answering))["neighbors"]
    assert NEIGHBOR_KEYS == ("protocol", "local_port", "local_port_index", "remote_name",
                             "remote_port", "remote_platform", "remote_address",
                             "remote_chassis_id")
    assert all(tuple(n) == NEIGHBOR_KEYS for n in found)
    assert found[0] == {"protocol": "lldp", "local_port": "Gi1/0/1",
                        "local_port_index": 10101, "remote_name": "annex-sw",
                        "remote_port": "24", "remote_platform": found[0]["remote_platform"],
                        "remote_address": "10.0.0.13", "remote_chassis_id": "94:40:c9:11:22:00"}
    assert found[0]["remote_platform"].startswith("Aruba JL259A 2930F")
    assert [n["remote_name"] for n in found] == [
        n["remote_name"] for n in N.parse_neighbors(values)]


def test_discover_json_without_lldp_or_cdp_has_an_empty_list():
    values, answering = snapshot("printer")
    assert describe("p:161", Poll(values, answering))["neighbors"] == []


def _found(device_class: str) -> dict:
    return {"system": {"name": "sw-1", "device_class": device_class, "vendor": None,
                       "model": None}, "interfaces": []}


def _args() -> argparse.Namespace:
    return argparse.Namespace(community_file="/etc/muni-watchdog/snmp-community")


@pytest.mark.parametrize("device_class, listed", [
    ("network", True), ("wireless", True), ("firewall", True), ("printer", False),
    ("server", False), ("ups", False)])
def test_the_discover_snippet_keeps_neighbours_on_network_devices(device_class, listed):
    # listing checks replaces the defaults (system, device, neighbors): the snippet must
    # list neighbors itself where LLDP is expected
    snippet = config_snippet(_found(device_class), "192.0.2.9", SnmpConnection(
        community_file="/etc/muni-watchdog/snmp-community"), _args())
    assert ("      - check: neighbors" in snippet.splitlines()) is listed


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("snmpd") is None and not Path("/usr/sbin/snmpd").exists(),
                    reason="snmpd not installed (scripts/setup.sh installs it)")
def test_discover_json_of_a_real_agent_that_advertises_its_peer(tmp_path):
    core, access = start_pair()
    try:
        secret = core.secret_file("community", core.community)
        done = subprocess.run(
            [sys.executable, "-m", "muni_watchdog", "discover", f"127.0.0.1:{core.port}",
             "--community-file", str(secret), "--json"], capture_output=True, text=True,
            timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        text = subprocess.run(
            [sys.executable, "-m", "muni_watchdog", "discover", f"127.0.0.1:{core.port}",
             "--community-file", str(secret)], capture_output=True, text=True, timeout=120,
            cwd=ROOT)
    finally:
        core.stop()
        access.stop()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["neighbors"] == [{
        "protocol": "lldp", "local_port": "lo", "local_port_index": 1,
        "remote_name": "lab-access", "remote_port": "lo",
        "remote_platform": "net-snmp lab agent (access)", "remote_address": "127.0.0.1",
        "remote_chassis_id": "02:00:00:00:0a:02"}]
    assert "Neighbours (1, LLDP/CDP):\n  lo: lab-access port lo (LLDP) — 127.0.0.1" in text.stdout


# ---- links in the state database ----------------------------------------------------------

def without_gw_main(values: dict) -> dict:
    """The cisco-core recording with gw-main unplugged from Gi1/0/24 (LLDP row 0.24.7)."""
    row = ".0.24."
    return {k: v for k, v in values.items()
            if not (k.startswith(N.LLDP_REM + ".") and row in k)
            and not (k.startswith(N.LLDP_REM_MAN_ADDR + ".") and row in k)}


def test_links_are_kept_with_first_and_last_seen_and_a_lost_one_warns():
    store = Store.memory()
    first = snmp_device(store, "town-core", "cisco-core", T0)
    values, _ = snapshot("cisco-core")
    assert len(without_gw_main(values)) < len(values)
    second = snmp_device(store, "town-core", "cisco-core", T1, without_gw_main(values))
    assert first.state is State.OK
    assert second.state is State.WARNING
    assert any(r.summary.startswith("Gi1/0/24 lost its neighbour gw-main")
               for r in second.results)
    links = {(r["local_port"], r["remote_key"]): r for r in store.links("town-core")}
    # CDP and LLDP of access-2 are one link; 8 links on 6 ports
    assert set(links) == {("Gi1/0/1", "annex-sw"), ("Gi1/0/2", "access-2"),
                          ("Gi1/0/3", "dc-sw1"), ("Gi1/0/5", "sep001122334455"),
                          ("Gi1/0/7", "chassis_id:a0:8c:fd:12:34:56"),
                          ("Gi1/0/7", "ap-council-chamber"), ("Gi1/0/24", "gw-main")}
    gone = links[("Gi1/0/24", "gw-main")]
    assert (gone["first_seen"], gone["last_seen"]) == (_iso(T0), _iso(T0))
    kept = links[("Gi1/0/1", "annex-sw")]
    assert (kept["first_seen"], kept["last_seen"]) == (_iso(T0), _iso(T1))
    assert (kept["remote_port"], kept["remote_address"], kept["protocol"]) == (
        "24", "10.0.0.13", "lldp")


def test_a_links_first_seen_comes_from_the_checks_memory_when_the_table_is_new():
    # a database whose links table was added after the check had been running: the check
    # remembered when it first saw each link, and that is kept, not the day of the upgrade
    store = Store.memory()
    snmp_device(store, "town-core", "cisco-core", T0)
    store.db.execute("DELETE FROM links")
    snmp_device(store, "town-core", "cisco-core", T1)
    assert {r["first_seen"] for r in store.links()} == {_iso(T0)}
    assert {r["last_seen"] for r in store.links()} == {_iso(T1)}


def test_only_neighbour_items_fill_the_links_table_whatever_the_check_is_called():
    store = Store.memory()
    values, answering = snapshot("aruba-2930f")
    system = evaluate_system(Poll(values, answering), SystemParams(), CheckContext(T0, {}))
    record(store, "annex-sw", "system", T0, system.outcome)
    assert store.links() == []                    # a system item is no link
    found = evaluate_neighbors(values, answering, NeighborsParams(name="lldp"),
                               CheckContext(T0, {}))
    record(store, "annex-sw", "lldp", T0, found.outcome)
    assert {(r["target"], r["local_port"], r["remote_name"]) for r in store.links()} == {
        ("annex-sw", "5", "records-srv.town.local"), ("annex-sw", "24", "town-core")}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


# ---- topology from the state database --------------------------------------------------------

TOWN_YAML = """\
site: {name: Town of Demo}
targets:
  - {id: demo-switch, kind: snmp, host: 127.0.0.1, snmp: {community_env: C}}
  - {id: demo-printer, kind: snmp, host: 127.0.0.1, snmp: {community_env: C}}
  - {id: demo-ups, kind: snmp, host: 127.0.0.1, snmp: {community_env: C}}
"""


@pytest.fixture
def demo_state(tmp_path):
    """The demo lab's three SNMP devices, as the daemon stored them."""
    state = tmp_path / "state"
    store = Store.open(state)
    for target, recording in (("demo-switch", "switch"), ("demo-printer", "printer-demo"),
                              ("demo-ups", "ups-demo")):
        snmp_device(store, target, recording, T0)
    store.close()
    config = tmp_path / "town.yaml"
    config.write_text(TOWN_YAML)
    return ["-c", str(config), "--state-dir", str(state)]


def test_topology_json_from_the_state_database(demo_state, capsys):
    assert main(["topology", *demo_state, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    edges = {(e["a"], e["a_port"], e["b"], e["b_port"]): e for e in data["edges"]}
    # the printer advertises the switch back: one link, each end naming its own port
    assert set(edges) == {("demo-printer", "eth0", "demo-switch", "g3"),
                          ("demo-switch", "g1", "seen:gw-main", "ether5"),
                          ("demo-switch", "g4", "demo-ups", "eth0")}
    assert edges[("demo-printer", "eth0", "demo-switch", "g3")]["both_ends"] is True
    assert all(e["first_seen"] == _iso(T0) for e in data["edges"])
    classes = {n["id"]: (n["class"], n["name"], n["address"]) for n in data["nodes"]}
    assert classes["demo-switch"] == ("switch", "core-switch", "127.0.0.1")
    assert classes["demo-printer"][0] == "printer" and classes["demo-ups"][0] == "ups"
    assert [(u["name"], u["discover"]) for u in data["unmonitored"]] == [
        ("gw-main", "muni-watchdog discover 10.0.0.1")]


def test_topology_text_names_links_and_what_to_discover(demo_state, capsys):
    assert main(["topology", *demo_state]) == 0
    out = capsys.readouterr().out
    assert "  switch    core-switch (GS724Tv4, 127.0.0.1)" in out
    assert "  core-switch g4 — ups-server-room eth0  since 2026-11-02" in out
    assert "Seen, not monitored (1):\n  router    gw-main (on core-switch g1)\n" in out
    assert "            muni-watchdog discover 10.0.0.1" in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_topology_svg_draws_the_devices_and_links(demo_state, tmp_path, capsys):
    out = tmp_path / "network.svg"
    assert main(["topology", *demo_state, "--svg", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    root = ET.fromstring(out.read_text())
    titles = {g.find(f"{SVG}title").text: g.get("class") for g in root.iter(f"{SVG}g")
              if (g.get("class") or "").split()[:1] in (["node"], ["edge"])}
    assert titles["demo-switch"] == "node switch" and titles["seen:gw-main"] == "node router"
    assert {t for t, c in titles.items() if c.startswith("edge") and "legend" not in t} == {
        "demo-printer--demo-switch", "demo-switch--seen:gw-main", "demo-switch--demo-ups"}


def test_topology_without_a_state_database_says_so(tmp_path, capsys):
    config = tmp_path / "town.yaml"
    config.write_text(TOWN_YAML)
    assert main(["topology", "-c", str(config), "--state-dir", str(tmp_path / "none")]) == 1
    assert "no state database" in capsys.readouterr().err


def test_topology_svg_without_graphviz_says_how_to_install_it(demo_state, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "network.svg"
    assert main(["topology", *demo_state, "--svg", str(out)]) == 1
    assert "install the graphviz package (apt install graphviz)" in capsys.readouterr().err
    assert not out.exists()
