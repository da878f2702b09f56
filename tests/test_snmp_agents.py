"""SNMP against real agents on loopback, run as an unprivileged user: net-snmp's snmpd (v2c
and a v3 authPriv user) and snmpsim serving our recordings."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.snmp_lab import DATA_DIR, NetSnmpd, SnmpSim, record_agent
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.snmp.check_interfaces import InterfacesParams, evaluate_interfaces
from muni_watchdog.checks.snmp.check_system import SYSTEM_NEED
from muni_watchdog.checks.snmp.client import SnmpError
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.discover import EVERYTHING, discover
from muni_watchdog.checks.snmp.session import SnmpSession
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import CheckContext, State
from muni_watchdog.daemon.engine import build_specs, close_sessions, run_check

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("snmpd") is None and
                                 not Path("/usr/sbin/snmpd").exists(),
                                 reason="snmpd not installed (scripts/setup.sh installs it)")]
ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ("printer", "ups-rfc1628", "ups-apc", "switch", "nas")


@pytest.fixture(scope="module")
def sim():
    server = SnmpSim({name: DATA_DIR / f"{name}.snmprec" for name in RECORDINGS}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def snmpd():
    agent = NetSnmpd().start()
    yield agent
    agent.stop()


def community_conn(tmp_path: Path, port: int, community: str, **extra) -> SnmpConnection:
    secret = tmp_path / f"community-{community}"
    secret.write_text(community + "\n")
    return SnmpConnection(version=extra.pop("version", "2c"), port=port,
                          community_file=str(secret), **extra)


def v3_conn(agent: NetSnmpd, auth_password: str | None = None, **extra) -> SnmpConnection:
    auth = agent.secret_file("auth", auth_password or agent.auth_password)
    priv = agent.secret_file("priv", agent.priv_password)
    return SnmpConnection(version="3", port=agent.port, user=extra.pop("user", agent.user),
                          auth_protocol=agent.auth_protocol, auth_password_file=str(auth),
                          priv_protocol=agent.priv_protocol, priv_password_file=str(priv),
                          **extra)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "muni_watchdog", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


SYSTEM_KEYS = {"descr", "object_id", "name", "uptime_seconds", "device_class", "vendor",
               "model", "serial", "firmware"}
INTERFACE_KEYS = {"index", "name", "descr", "alias", "type", "admin_status", "oper_status",
                  "speed_bps", "in_octets", "out_octets", "in_errors", "out_errors"}
STORAGE_KEYS = {"index", "descr", "type", "size_bytes", "used_bytes", "used_percent"}
SUPPLY_KEYS = {"index", "descr", "kind", "color", "level_percent", "state"}
UPS_KEYS = {"source", "battery_status", "charge_percent", "runtime_minutes", "on_battery",
            "output_load_percent", "input_voltage", "temperature_c"}


def assert_contract(found: dict) -> None:
    assert set(found) == {"target", "system", "interfaces", "storage", "processors",
                          "supplies", "ups", "neighbors"}
    assert set(found["system"]) == SYSTEM_KEYS
    assert all(set(i) == INTERFACE_KEYS and isinstance(i["index"], int)
               for i in found["interfaces"])
    assert all(set(s) == STORAGE_KEYS for s in found["storage"])
    assert all(set(p) == {"index", "load_percent"} for p in found["processors"])
    assert all(set(s) == SUPPLY_KEYS and isinstance(s["index"], str)
               for s in found["supplies"])
    assert found["ups"] is None or set(found["ups"]) == UPS_KEYS
    assert isinstance(found["neighbors"], list)


# ---- discover (the JSON contract) -------------------------------------------------------
def test_discover_json_printer_via_cli(sim):
    out = cli("discover", f"127.0.0.1:{sim.port}", "--community", "printer", "--json")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert_contract(found)
    assert found["target"] == f"127.0.0.1:{sim.port}"
    assert found["system"]["device_class"] == "printer"
    assert found["system"]["model"] == "HP Color LaserJet M479fdw"
    levels = {s["index"]: (s["level_percent"], s["state"]) for s in found["supplies"]}
    assert levels == {"1.1": (45.0, "ok"), "1.2": (None, "some_remaining"),
                      "1.3": (None, "unknown"), "1.4": (8.0, "low"), "1.5": (100.0, "ok"),
                      "1.6": (15.0, "low"), "1.7": (None, "unknown")}
    assert found["ups"] is None


@pytest.mark.parametrize("community, device_class, check", [
    ("ups-rfc1628", "ups", lambda f: f["ups"]["on_battery"] is True
     and f["ups"]["runtime_minutes"] == 18.0),
    ("ups-apc", "ups", lambda f: f["ups"]["source"] == "apc"
     and f["ups"]["runtime_minutes"] == 44.0),
    ("switch", "network", lambda f: len(f["interfaces"]) == 25
     and f["system"]["serial"] == "3PL1234567"),
    ("nas", "storage", lambda f: any(v["descr"] == "/volume1" and v["size_bytes"] == 16 * 10**12
                                     for v in f["storage"])),
])
def test_discover_each_recording(sim, tmp_path, community, device_class, check):
    found, poll = asyncio.run(discover("127.0.0.1", community_conn(tmp_path, sim.port,
                                                                   community)))
    assert_contract(found)
    assert found["system"]["device_class"] == device_class
    assert check(found)
    json.dumps(found)  # serialisable as it is


def test_discover_text_prints_a_snippet_that_validates(sim, tmp_path):
    secret = tmp_path / "community"
    secret.write_text("switch\n")
    out = cli("discover", f"127.0.0.1:{sim.port}", "--community-file", str(secret))
    assert out.returncode == 0, out.stderr
    assert "core-switch — network, NETGEAR GS724Tv4" in out.stdout
    assert "      5 g5 (clerk-office): admin up, oper down" in out.stdout
    snippet = out.stdout.split("# Paste under targets:", 1)[1].split("\n", 1)[1]
    config = parse_config("site: {name: T}\ntargets:\n" + snippet, "snippet.yaml")
    target = config.targets[0]
    # a network device keeps its LLDP/CDP neighbours (for the topology and the assessment)
    assert [c.check for c in target.checks] == ["system", "interfaces", "neighbors"]
    assert "g5" not in target.checks[1].ports and "g1" in target.checks[1].ports


def test_discover_reports_an_unanswered_device():
    out = cli("discover", "127.0.0.1:9", "--timeout", "0.3s", "--retries", "0")
    assert out.returncode == 3
    assert "nothing listens on UDP port 9" in out.stderr


# ---- net-snmp snmpd: v2c, v3, errors ----------------------------------------------------
def test_snmpd_v2c_and_v3_authpriv_see_the_same_host(snmpd, tmp_path):
    v2c, poll = asyncio.run(discover("127.0.0.1", community_conn(tmp_path, snmpd.port,
                                                                 snmpd.community)))
    v3, _ = asyncio.run(discover("127.0.0.1", v3_conn(snmpd)))
    assert_contract(v2c)
    assert v2c["system"]["descr"] == v3["system"]["descr"]
    assert v2c["system"]["device_class"] == "server"
    assert v2c["system"]["object_id"].startswith("1.3.6.1.4.1.8072.")
    assert any(v["type"] == "fixed_disk" for v in v2c["storage"])
    # hrProcessorLoad stays absent for the first minute of a net-snmp agent: a real-world gap
    assert all(0 <= p["load_percent"] <= 100 for p in v2c["processors"])
    assert any(i["type"] == "softwareLoopback" for i in v2c["interfaces"])
    assert poll.requests < 30  # bulk walks, not one request per value


@pytest.mark.parametrize("variant, reason, words", [
    ("auth", "credentials", "wrong auth password"),
    ("user", "credentials", "is unknown to the agent"),
])
def test_snmpd_wrong_v3_credentials_are_named(snmpd, variant, reason, words):
    conn = v3_conn(snmpd, auth_password="not-the-password") if variant == "auth" else \
        v3_conn(snmpd, user="intruder")
    with pytest.raises(SnmpError) as caught:
        asyncio.run(discover("127.0.0.1", conn))
    assert caught.value.reason == reason and words in str(caught.value)


def test_wrong_community_looks_like_silence_and_says_so(snmpd, tmp_path):
    conn = community_conn(tmp_path, snmpd.port, "not-the-community", timeout="0.3s",
                          retries=0)
    with pytest.raises(SnmpError) as caught:
        asyncio.run(discover("127.0.0.1", conn))
    assert caught.value.reason == "no_answer"
    assert "host up" in str(caught.value) and "wrong community" in str(caught.value)


@pytest.mark.parametrize("forget_engine", [False, True], ids=["rebooted", "reset"])
def test_v3_session_survives_an_agent_restart(snmpd, forget_engine):
    """A rebooted agent has new boots and time (notInTimeWindow); a reset one a new engine
    id. Either way the session discovers the engine again instead of reporting an outage."""
    async def poll_twice():
        session = SnmpSession("127.0.0.1", v3_conn(snmpd, timeout="1s", retries=1))
        try:
            first = await session.fetch(SYSTEM_NEED)
            await asyncio.to_thread(snmpd.restart, forget_engine)
            await asyncio.sleep(5.5)   # older than the session's cache
            second = await session.fetch(SYSTEM_NEED)
            return first, second
        finally:
            await session.close()
    first, second = asyncio.run(poll_twice())
    boots = "1.3.6.1.6.3.10.2.1.2.0"
    assert second.values["1.3.6.1.2.1.1.3.0"] < first.values["1.3.6.1.2.1.1.3.0"] + 600
    if not forget_engine:
        assert second.values[boots] == first.values[boots] + 1


# ---- one poll for all checks of a target ------------------------------------------------
def test_checks_of_a_target_share_one_poll(sim, tmp_path):
    conn = community_conn(tmp_path, sim.port, "nas")
    session = SnmpSession("127.0.0.1", conn)
    target = TargetInfo("nas", "snmp", "127.0.0.1", conn, session)
    from muni_watchdog.checks.snmp import SNMP_KIND
    kinds = SNMP_KIND.check_types

    async def run():
        try:
            return await asyncio.gather(*(
                kinds[name].collect(target, kinds[name].Params(check=name))
                for name in ("system", "interfaces", "storage", "device")))
        finally:
            await session.close()
    results = asyncio.run(run())
    alone = SnmpSession("127.0.0.1", conn)
    asyncio.run(alone.fetch(EVERYTHING))
    # system + interfaces + storage + the device check's first step: one poll. The device
    # check's second step adds only what the NAS profile needs beyond it, the disk and RAID
    # tables of the NAS MIB the probes found (Synology): one more, small poll.
    assert session.polls == 2
    # No more requests than one walk of everything the checks could ask for.
    assert session.client.requests <= alone.client.requests
    assert results[3].device_class == "storage"


def test_getnext_and_v1_give_the_same_values_as_getbulk(sim, tmp_path):
    def values(**extra):
        session = SnmpSession("127.0.0.1", community_conn(tmp_path, sim.port, "switch",
                                                          **extra))
        poll = asyncio.run(session.fetch(EVERYTHING))
        return poll.values, session.client.requests
    bulk, bulk_requests = values()
    getnext, next_requests = values(bulk=False)
    v1, _ = values(version="1")
    counter = "1.3.6.1.2.1.2.2.1.10.24"  # varies with time

    def strip(values: dict) -> dict:
        return {k: v for k, v in values.items() if k != counter}
    assert strip(bulk) == strip(getnext)
    # SNMPv1 has no Counter64: the ifHC* columns are skipped, everything else is the same
    hc_columns = tuple(f"1.3.6.1.2.1.31.1.1.1.{c}." for c in (6, 7, 10, 11))
    assert strip(v1) == {k: v for k, v in strip(bulk).items() if not k.startswith(hc_columns)}
    assert next_requests > 5 * bulk_requests


def test_counter_wraps_between_polls_give_true_rates(sim, tmp_path):
    """snmpsim counts ifInOctets of port 24 up by 10^9 a second in 32 bits (a wrap every
    4.3 s): over three polls 2.3 s apart at least one interval wraps; every rate is right."""
    conn = community_conn(tmp_path, sim.port, "switch")
    params = InterfacesParams(ports=["g24"])
    memory: dict = {}
    rates = []
    started = datetime.now(UTC)
    t0 = time.monotonic()
    raw_values = []
    for _ in range(3):
        session = SnmpSession("127.0.0.1", conn)
        poll = asyncio.run(session.fetch(EVERYTHING))
        now = started + timedelta(seconds=time.monotonic() - t0)
        raw_values.append(poll.values["1.3.6.1.2.1.2.2.1.10.24"])
        evaluation = evaluate_interfaces(poll.values, params, CheckContext(now, memory))
        memory = evaluation.memory
        rates += [m.value for m in evaluation.outcome.metrics if m.name == "g24_in_bps"]
        time.sleep(2.3)
    assert any(b < a for a, b in zip(raw_values, raw_values[1:], strict=False)), raw_values
    assert len(rates) == 2
    for bps in rates:
        assert bps == pytest.approx(8e9, rel=0.15)


# ---- the engine and `check --json` ------------------------------------------------------
def test_check_json_on_simulated_devices(sim, tmp_path):
    config = tmp_path / "town.yaml"
    lines = ["site: {name: T}", "targets:"]
    for name in ("printer", "ups-rfc1628", "switch"):
        secret = tmp_path / f"c-{name}"
        secret.write_text(name)
        lines += [f"  - id: {name}", "    kind: snmp", "    host: 127.0.0.1",
                  f"    snmp: {{port: {sim.port}, community_file: {secret}}}"]
    config.write_text("\n".join(lines) + "\n")
    out = cli("check", "-c", str(config), "--json")
    results = {(r["target"], r["check"]): r for r in json.loads(out.stdout)["results"]}
    assert out.returncode == 2
    assert results[("printer", "system")]["status"] == "ok"
    printer = results[("printer", "device")]
    assert printer["status"] == "critical" and printer["summary"].startswith("paper jam")
    assert any(set(i) == SUPPLY_KEYS for i in printer["items"])
    ups = results[("ups-rfc1628", "device")]
    assert ups["status"] == "critical" and "ON BATTERY" in ups["summary"]
    assert [set(i) for i in ups["items"]] == [UPS_KEYS]
    switch = results[("switch", "device")]
    assert switch["status"] == "ok" and len(switch["items"]) == 25
    assert set(results[("switch", "system")]["items"][0]) == SYSTEM_KEYS


def test_engine_runs_snmp_checks_with_one_session_per_target(sim, tmp_path):
    secret = tmp_path / "c"
    secret.write_text("ups-apc")
    config = parse_config(f"""\
site: {{name: T}}
targets:
  - id: ups
    kind: snmp
    host: 127.0.0.1
    snmp: {{port: {sim.port}, community_file: {secret}}}
    checks: [{{check: system}}, {{check: ups}}]
""", "t.yaml")
    specs = build_specs(config)
    assert specs[0].target.session is specs[1].target.session

    async def run():
        try:
            return await asyncio.gather(*(run_check(s, {}, datetime.now(UTC)) for s in specs))
        finally:
            await close_sessions(specs)
    system, ups = asyncio.run(run())
    assert system.outcome.state is State.OK
    assert ups.outcome.state is State.WARNING and ups.outcome.summary == "replace the battery"
    assert specs[0].target.session.polls == 1


# ---- snmpsim's recorder against the local snmpd -----------------------------------------
def test_recording_of_the_local_snmpd_serves_the_same_answers(snmpd, tmp_path):
    recording = record_agent(snmpd.port, snmpd.community, tmp_path / "local.snmprec",
                             roots=("1.3.6.1.2.1.1", "1.3.6.1.2.1.2", "1.3.6.1.2.1.25.2"))
    assert recording.read_text().startswith("1.3.6.1.2.1.1.1.0|4")  # 4 or 4x (hex)
    replay = SnmpSim({"local": recording}).start()
    try:
        live, _ = asyncio.run(discover("127.0.0.1", community_conn(tmp_path, snmpd.port,
                                                                   snmpd.community)))
        replayed, _ = asyncio.run(discover("127.0.0.1", community_conn(tmp_path, replay.port,
                                                                       "local")))
    finally:
        replay.stop()
    assert replayed["system"]["descr"] == live["system"]["descr"]
    assert replayed["system"]["device_class"] == "server"
    assert [i["name"] for i in replayed["interfaces"]] == [i["name"] for i in live["interfaces"]]
    assert {v["descr"] for v in replayed["storage"]} == {v["descr"] for v in live["storage"]}


def test_committed_local_snmpd_recording_parses():
    from lab.snmp_recordings import load_snapshot
    from muni_watchdog.checks.snmp import hostres, ifmib
    values = load_snapshot(DATA_DIR / "local-snmpd.snmprec")
    assert ifmib.parse_interfaces(values) and hostres.parse_storage(values)


# ---- the demo lab's devices -------------------------------------------------------------
def test_demo_devices_start_and_their_snippet_is_a_valid_config(tmp_path):
    from lab.snmp_lab import start_demo_devices
    started = time.monotonic()
    snippet, stop = start_demo_devices(tmp_path / "demo")
    try:
        config = parse_config("site: {name: Demo}\ntargets:\n" + snippet, "demo.yaml")
        assert [t.id for t in config.targets] == ["demo-printer", "demo-ups", "demo-switch"]
        specs = build_specs(config)

        async def run():
            try:
                return await asyncio.gather(*(run_check(s, {}, datetime.now(UTC))
                                              for s in specs))
            finally:
                await close_sessions(specs)
        outcomes = {(s.key.target, s.key.check): r.outcome for s, r in
                    zip(specs, asyncio.run(run()), strict=True)}
        elapsed = time.monotonic() - started
        printer = outcomes.pop(("demo-printer", "device"))
        # Every SNMP target has the exposure check by default: snmpsim speaks SNMPv3 while the
        # demo polls it with v2c — a true open door (a warning), nothing else.
        doors = {k: outcomes.pop(k) for k in list(outcomes) if k[1] == "exposure"}
        assert len(doors) == 3 and all(
            o.state is State.WARNING and [i["finding"] for i in o.items] ==
            ["snmp_v1v2c_with_v3"] for o in doors.values()), doors
        assert all(o.state is State.OK for o in outcomes.values()), outcomes
        black = next(i for i in printer.items if i.get("color") == "black")
        # Falling 0.25 %/s from 35 % since the simulator started (a loaded machine is slow to
        # get here): the level read and the verdict must both follow the clock.
        level = black["level_percent"]
        assert 35 - 0.25 * elapsed - 1 <= level <= 35
        expected = State.OK if level > 20 else State.WARNING if level > 10 else State.CRITICAL
        assert printer.state is expected, printer
    finally:
        stop()


def test_discover_v3_authpriv_via_cli(snmpd):
    conn = v3_conn(snmpd)
    out = cli("discover", f"127.0.0.1:{snmpd.port}", "--v3-user", snmpd.user,
              "--auth-protocol", "sha-256", "--auth-password-file", conn.auth_password_file,
              "--priv-protocol", "AES", "--priv-password-file", conn.priv_password_file)
    assert out.returncode == 0, out.stderr
    assert "— server," in out.stdout
    assert (f"snmp: {{version: 3, port: {snmpd.port}, user: {snmpd.user}, auth_protocol: "
            f"SHA-256, auth_password_file: {conn.auth_password_file}, priv_protocol: AES, "
            f"priv_password_file: {conn.priv_password_file}}}") in out.stdout


# ---- inventory: ENTITY-MIB and installed software (hrSWInstalledTable) ------------------
def _software_of(port: int, conn: SnmpConnection):
    from muni_watchdog.checks.snmp.check_software import NEED as SOFTWARE_NEED
    from muni_watchdog.checks.snmp.check_software import SoftwareParams, evaluate_software

    async def run():
        session = SnmpSession("127.0.0.1", conn)
        try:
            system, software = await asyncio.gather(session.fetch(SYSTEM_NEED),
                                                    session.fetch(SOFTWARE_NEED))
        finally:
            await session.close()
        assert system is software and session.polls == 1  # one poll for both checks
        return system
    poll = asyncio.run(run())
    return poll, evaluate_software(poll.values, SoftwareParams()).outcome


def test_switch_recording_gives_entity_chassis_and_its_date(sim, tmp_path):
    from muni_watchdog.checks.snmp import entity
    found, poll = asyncio.run(discover("127.0.0.1", community_conn(tmp_path, sim.port,
                                                                   "switch")))
    assert_contract(found)  # the discover contract keeps its keys
    assert (found["system"]["vendor"], found["system"]["model"], found["system"]["serial"],
            found["system"]["firmware"]) == ("NETGEAR", "GS724Tv4", "3PL1234567", "6.3.1.4")
    assert entity.chassis(poll.values)["mfg_date"] == "2017-06-21T09:30:00+02:00"


def test_software_from_the_nas_recording_over_snmp(sim, tmp_path):
    poll, outcome = _software_of(sim.port, community_conn(tmp_path, sim.port, "nas"))
    assert outcome.summary == "5 installed packages"
    dates = {i["name"]: i["installed"] for i in outcome.items}
    assert dates["DSM 7.2.1-69057 Update 5"] == "2024-03-14T10:30:15+01:00"
    assert dates["Synology Photos 1.6.1-0071"] is None


def test_software_from_net_snmp_reads_dpkg(snmpd, tmp_path):
    # Debian's snmpd serves hrSWInstalledTable from the dpkg database: name_version, type 4
    poll, outcome = _software_of(snmpd.port, community_conn(tmp_path, snmpd.port,
                                                            snmpd.community))
    names = [i["name"] for i in outcome.items]
    assert len(names) > 50 and any(n.startswith("snmpd_") for n in names)
    assert {i["type"] for i in outcome.items} <= {"application", "unknown", "operating_system"}
    assert outcome.state is State.OK
