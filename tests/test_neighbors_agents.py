"""Neighbours over real SNMP on loopback (issue 14): snmpsim serving the LLDP/CDP recordings,
and two net-snmp agents that advertise each other, drawn as a diagram by Graphviz."""

from __future__ import annotations

import asyncio
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.lldp_lab import start_pair
from lab.snmp_lab import DATA_DIR, SnmpSim
from lab.snmp_neighbor_recordings import NEIGHBOR_DEVICES
from lab.snmp_recordings import load_snapshot
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.snmp import SNMP_KIND, neighbors
from muni_watchdog.checks.snmp.check_neighbors import NeighborsCheck, NeighborsParams
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.session import SnmpSession
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import CheckContext, State
from muni_watchdog.daemon.engine import build_specs, close_sessions, run_check
from muni_watchdog.reports import topology as T
from muni_watchdog.reports.topology_render import render_svg, to_dot

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("snmpd") is None and
                                 not Path("/usr/sbin/snmpd").exists(),
                                 reason="snmpd not installed (scripts/setup.sh installs it)")]
RECORDINGS = (*NEIGHBOR_DEVICES, "switch")
SVG = "{http://www.w3.org/2000/svg}"
NOW = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim():
    server = SnmpSim({name: DATA_DIR / f"{name}.snmprec" for name in RECORDINGS}).start()
    yield server
    server.stop()


def conn_for(tmp_path: Path, port: int, community: str, **extra) -> SnmpConnection:
    secret = tmp_path / f"community-{community}"
    secret.write_text(community + "\n")
    return SnmpConnection(port=port, community_file=str(secret), **extra)


def collect(conn: SnmpConnection, params: NeighborsParams | None = None):
    async def run():
        session = SnmpSession("127.0.0.1", conn)
        try:
            target = TargetInfo("t", "snmp", "127.0.0.1", conn, session)
            return await NeighborsCheck().collect(target, params or NeighborsParams())
        finally:
            await session.close()
    return asyncio.run(run())


@pytest.mark.parametrize("recording", RECORDINGS)
def test_neighbours_over_snmp_are_those_of_the_recording(sim, tmp_path, recording):
    poll = collect(conn_for(tmp_path, sim.port, recording))
    expected = neighbors.parse_neighbors(load_snapshot(DATA_DIR / f"{recording}.snmprec"))
    assert expected and neighbors.parse_neighbors(poll.values) == expected


@pytest.mark.parametrize("extra", [{"bulk": False}, {"version": "1"}])
def test_getnext_and_v1_read_the_same_neighbours(sim, tmp_path, extra):
    bulk = neighbors.parse_neighbors(collect(conn_for(tmp_path, sim.port, "cisco-core")).values)
    other = collect(conn_for(tmp_path, sim.port, "cisco-core", **extra))
    assert neighbors.parse_neighbors(other.values) == bulk


def test_neighbors_shares_the_targets_poll(sim, tmp_path):
    conn = conn_for(tmp_path, sim.port, "switch")
    session = SnmpSession("127.0.0.1", conn)
    target = TargetInfo("switch", "snmp", "127.0.0.1", conn, session)
    kinds = SNMP_KIND.check_types

    async def run():
        try:
            return await asyncio.gather(*(
                kinds[name].collect(target, kinds[name].Params(check=name))
                for name in ("system", "interfaces", "neighbors")))
        finally:
            await session.close()
    _, _, poll = asyncio.run(run())
    assert session.polls == 1          # one walk for the three checks
    assert set(neighbors.TABLES) <= poll.covered.tables
    assert [n["remote_name"] for n in neighbors.parse_neighbors(poll.values)] == [
        "gw-main", "clerk-printer", "ups-server-room"]


def test_a_target_without_checks_reads_its_neighbours_every_six_hours(sim, tmp_path):
    secret = tmp_path / "c"
    secret.write_text("aruba-2930f")
    config = parse_config(f"""\
site: {{name: T}}
targets:
  - id: annex-sw
    kind: snmp
    host: 127.0.0.1
    snmp: {{port: {sim.port}, community_file: {secret}}}
""", "t.yaml")
    specs = build_specs(config)
    spec = next(s for s in specs if s.params.check == "neighbors")
    assert spec.params.interval == 21600

    async def run():
        try:
            return await run_check(spec, {}, NOW)
        finally:
            await close_sessions(specs)
    result = asyncio.run(run())
    assert result.outcome.state is State.OK
    assert result.outcome.summary.startswith("2 neighbours on 2 ports (LLDP): 5 records-srv")
    assert set(result.memory["links"]) == {"5|records-srv", "24|town-core"}


def test_two_net_snmp_agents_advertise_each_other_and_are_drawn_as_one_link(tmp_path):
    core, access = start_pair()
    try:
        devices = []
        for agent in (core, access):
            conn = SnmpConnection(port=agent.port, community_file=str(
                agent.secret_file("community", agent.community)))
            poll = collect(conn)
            evaluation = NeighborsCheck().evaluate(poll, NeighborsParams(),
                                                   CheckContext(NOW, {}))
            assert evaluation.outcome.state is State.OK
            devices.append(T.device_from_items(agent.me.name, "127.0.0.1", [
                {"kind": "system", "device_class": "network", "name": agent.me.name,
                 "model": None}, *evaluation.outcome.items]))
    finally:
        core.stop()
        access.stop()
    seen = {d.id: [(n["local_port"], n["local_port_index"], n["remote_name"], n["remote_port"],
                    n["remote_chassis_id"]) for n in d.neighbors] for d in devices}
    # port number 101 is not an ifIndex: lldpLocPortTable maps it to net-snmp's own lo
    assert seen == {"lab-core": [("lo", 1, "lab-access", "lo", "02:00:00:00:0a:02")],
                    "lab-access": [("lo", 1, "lab-core", "lo", "02:00:00:00:0c:01")]}
    # both agents run on this host: same MACs, same address; the chassis ids tell them apart
    topology = T.build(devices)
    assert [(e.a, e.a_port, e.b, e.b_port, e.both_ends) for e in topology.edges] == [
        ("lab-access", "lo", "lab-core", "lo", True)]
    assert topology.unmonitored == []
    svg = ET.fromstring(render_svg(to_dot(topology)))
    groups = [(g.get("class"), g.find(f"{SVG}title").text) for g in svg.iter(f"{SVG}g")
              if g.get("class") and g.get("class").split()[0] in ("node", "edge")]
    assert ("node switch", "lab-core") in groups and ("node switch", "lab-access") in groups
    assert [t for c, t in groups if c.startswith("edge") and not t.startswith("legend")] == [
        "lab-access--lab-core"]
