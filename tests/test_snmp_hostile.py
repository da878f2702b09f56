"""SNMP against hostile agents (tests/hostile_agent.py on loopback): walks that end, answers
that are checked, polls that stop with their check, and a daemon that stops (issue 17)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from muni_watchdog.checks.snmp import transport
from muni_watchdog.checks.snmp.check_interfaces import NEED as INTERFACES_NEED
from muni_watchdog.checks.snmp.client import SnmpClient, SnmpError, WalkError
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.discover import discover
from muni_watchdog.checks.snmp.session import SnmpSession
from muni_watchdog.checks.snmp.walk import WalkLimits
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import State
from muni_watchdog.daemon.engine import build_specs, close_sessions, run_check
from tests.hostile_agent import HostileAgent

ROOT = Path(__file__).resolve().parent.parent
COMMUNITY = "hostile-c0mmunity"


@pytest.fixture
def agent(request):
    """A hostile agent in the mode given by ``@pytest.mark.parametrize('agent', [mode],
    indirect=True)``."""
    with HostileAgent(request.param, COMMUNITY) as started:
        yield started


def conn(tmp_path: Path, port: int, **extra) -> SnmpConnection:
    secret = tmp_path / "community"
    secret.write_text(COMMUNITY + "\n")
    extra.setdefault("timeout", "0.5s")
    extra.setdefault("retries", 1)
    return SnmpConnection(port=port, community_file=str(secret), **extra)


def discover_error(tmp_path: Path, port: int, limits: WalkLimits | None = None) -> SnmpError:
    async def run():
        session = SnmpSession("127.0.0.1", conn(tmp_path, port))
        if limits is not None:
            session.client.limits = limits
        try:
            from muni_watchdog.checks.snmp.discover import EVERYTHING
            await session.fetch(EVERYTHING)
        finally:
            await session.close()
    with pytest.raises(SnmpError) as caught:
        asyncio.run(run())
    return caught.value


def stays_quiet(agent: HostileAgent, seconds: float = 1.0) -> bool:
    before = agent.received
    time.sleep(seconds)
    return agent.received == before


# ---- walks that end, and never as a shorter table ---------------------------------------
@pytest.mark.parametrize("agent", ["normal"], indirect=True)
def test_the_well_behaved_agent_gives_everything(agent, tmp_path):
    found, _ = asyncio.run(discover("127.0.0.1", conn(tmp_path, agent.port)))
    assert [i["name"] for i in found["interfaces"]] == [f"g{n}" for n in range(1, 11)]
    assert found["system"]["uptime_seconds"] == 1234.56 and found["ups"] is None


@pytest.mark.parametrize("agent, words", [
    ("non-increasing", "OID not increasing: 1.3.6.1.2.1.2.2.1.1.2 after 1.3.6.1.2.1.2.2.1.1.10"),
    ("loop", "OID not increasing: 1.3.6.1.2.1.2.2.1.1.1 after 1.3.6.1.2.1.2.2.1.1.5"),
    ("empty", "without any var-bind"),
], indirect=["agent"])
def test_a_broken_table_is_a_failed_collection(agent, words, tmp_path):
    error = discover_error(tmp_path, agent.port)
    assert isinstance(error, WalkError) and error.reason == "incomplete"
    assert words in str(error) and "1.3.6.1.2.1.2.2.1" in error.failed


@pytest.mark.parametrize("agent", ["non-increasing"], indirect=True)
def test_ports_do_not_disappear_when_the_table_is_cut_short(agent, tmp_path):
    """The issue's false CRITICAL: ports seen up before, then a walk that stops at an
    out-of-order OID reported them as "disappeared". Now: UNKNOWN with the reason."""
    with HostileAgent("normal", COMMUNITY) as good:
        specs = {}
        for name, port in (("good", good.port), ("broken", agent.port)):
            secret = tmp_path / "community"
            secret.write_text(COMMUNITY)
            config = parse_config(f"""\
site: {{name: T}}
targets:
  - id: sw
    kind: snmp
    host: 127.0.0.1
    snmp: {{port: {port}, community_file: {secret}, timeout: 0.5s, retries: 0}}
    checks: [{{check: interfaces}}]
""", "t.yaml")
            specs[name] = build_specs(config)[0]

        async def run(spec, memory):
            try:
                return await run_check(spec, memory, datetime.now(UTC))
            finally:
                await close_sessions([spec])
        first = asyncio.run(run(specs["good"], {}))
        assert first.outcome.state is State.OK, first.outcome.summary
        second = asyncio.run(run(specs["broken"], first.memory))
    assert second.outcome.state is State.UNKNOWN
    assert "OID not increasing" in second.outcome.summary
    assert "disappeared" not in second.outcome.summary


@pytest.mark.parametrize("agent", ["non-increasing"], indirect=True)
def test_checks_that_do_not_need_the_broken_table_still_work(agent, tmp_path):
    async def run():
        session = SnmpSession("127.0.0.1", conn(tmp_path, agent.port))
        try:
            from muni_watchdog.checks.snmp.check_system import SYSTEM_NEED
            system = asyncio.ensure_future(session.fetch(SYSTEM_NEED))
            interfaces = asyncio.ensure_future(session.fetch(INTERFACES_NEED))
            await asyncio.wait([system, interfaces])
            return system, interfaces, session.polls
        finally:
            await session.close()
    system, interfaces, polls = asyncio.run(run())
    assert polls == 1   # one shared poll
    assert system.result().values["1.3.6.1.2.1.1.5.0"] == b"hostile"
    assert isinstance(interfaces.exception(), WalkError)
    assert not any(oid.startswith("1.3.6.1.2.1.2.2.1.") for oid in system.result().values)


@pytest.mark.parametrize("agent, limits, words", [
    ("null-endless", WalkLimits(varbinds=20_000), "20,000 var-binds"),
    ("null-endless", WalkLimits(requests=300), "300 requests"),
    ("big-endless", None, "over the cap of 16,777,216 bytes per walk"),
    ("huge-endless", None, "14,000 bytes, over the cap of 4,096 bytes per value"),
], indirect=["agent"])
def test_endless_walks_end_at_a_cap(agent, limits, words, tmp_path):
    error = discover_error(tmp_path, agent.port, limits)
    assert isinstance(error, WalkError) and words in str(error)
    assert stays_quiet(agent, 0.3)


@pytest.mark.parametrize("agent", ["huge-value"], indirect=True)
def test_a_huge_scalar_is_an_error_naming_it(agent, tmp_path):
    error = discover_error(tmp_path, agent.port)
    assert "the value of 1.3.6.1.2.1.1.1.0 is 14,000 bytes" in str(error)


@pytest.mark.parametrize("agent, reason", [("mid-error", "protocol"),
                                           ("falls-silent", "incomplete")], indirect=["agent"])
def test_an_error_or_silence_mid_walk_fails_the_poll(agent, reason, tmp_path):
    error = discover_error(tmp_path, agent.port)
    assert error.reason == reason
    assert "genErr" in str(error) if reason == "protocol" else "stopped answering" in str(error)


# ---- answers are checked before they are believed ---------------------------------------
@pytest.mark.parametrize("agent", ["wrong-community", "garbage-id"], indirect=True)
def test_invalid_answers_are_ignored_and_the_valid_one_is_taken(agent, tmp_path):
    found, _ = asyncio.run(discover("127.0.0.1", conn(tmp_path, agent.port)))
    assert len(found["interfaces"]) == 10 and found["system"]["name"] == "hostile"


@pytest.mark.parametrize("agent", ["only-wrong"], indirect=True)
def test_only_invalid_answers_time_out_and_say_why(agent, tmp_path):
    client = SnmpClient("127.0.0.1", conn(tmp_path, agent.port, retries=0))
    with pytest.raises(SnmpError) as caught:
        asyncio.run(client.get(["1.3.6.1.2.1.1.5.0"]))
    assert caught.value.reason == "protocol" and "refused" in str(caught.value)
    assert COMMUNITY not in str(caught.value)


@pytest.mark.parametrize("agent", ["unrequested"], indirect=True)
def test_var_binds_nobody_asked_for_are_dropped(agent, tmp_path):
    found, poll = asyncio.run(discover("127.0.0.1", conn(tmp_path, agent.port)))
    assert found["ups"] is None   # was: on_battery true, depleted
    assert "1.3.6.1.2.1.33.1.4.1.0" not in poll.values


@pytest.mark.parametrize("agent", ["huge-timeticks"], indirect=True)
def test_discover_reports_a_huge_timeticks_cleanly(agent, tmp_path):
    secret = tmp_path / "community"
    secret.write_text(COMMUNITY)
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "discover",
                          f"127.0.0.1:{agent.port}", "--community-file", str(secret),
                          "--timeout", "0.5s", "--retries", "0"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 3, out.stderr
    assert "TimeTicks of 5001 bytes" in out.stderr and "Traceback" not in out.stderr


# ---- polls stop with their checks -------------------------------------------------------
@pytest.mark.parametrize("agent", ["slow-endless"], indirect=True)
def test_a_timed_out_check_cancels_its_poll(agent, tmp_path):
    """Each timed-out run used to leave its poll running (shielded) at hundreds of
    requests a second; now the poll stops with the last check waiting on it."""
    secret = tmp_path / "community"
    secret.write_text(COMMUNITY)
    config = parse_config(f"""\
site: {{name: T}}
targets:
  - id: sw
    kind: snmp
    host: 127.0.0.1
    snmp: {{port: {agent.port}, community_file: {secret}, max_repetitions: 1}}
    checks: [{{check: interfaces, timeout: 100ms}}]
""", "t.yaml")
    spec = build_specs(config)[0]

    async def run():
        result = await run_check(spec, {}, datetime.now(UTC))
        await asyncio.sleep(0.5)
        quiet_from = agent.received
        await asyncio.sleep(1.0)
        return result, agent.received - quiet_from
    result, sent_after = asyncio.run(run())
    assert result.outcome.state is State.UNKNOWN and "no result within" in \
        result.outcome.summary
    assert sent_after == 0


@pytest.mark.parametrize("agent", ["null-endless"], indirect=True)
def test_a_poll_goes_on_while_another_check_still_waits(agent, tmp_path):
    async def run():
        session = SnmpSession("127.0.0.1", conn(tmp_path, agent.port))
        session.client.limits = WalkLimits(varbinds=5_000)

        async def impatient():
            async with asyncio.timeout(0.1):
                await session.fetch(INTERFACES_NEED)
        results = await asyncio.gather(impatient(), session.fetch(INTERFACES_NEED),
                                       return_exceptions=True)
        await session.close()
        return results
    impatient, patient = asyncio.run(run())
    assert isinstance(impatient, TimeoutError)
    assert isinstance(patient, WalkError) and "5,000 var-binds" in str(patient)


@pytest.mark.parametrize("agent", ["slow-endless"], indirect=True)
def test_closing_a_session_cancels_its_poll(agent, tmp_path):
    async def run():
        session = SnmpSession("127.0.0.1", conn(tmp_path, agent.port))
        fetch = asyncio.ensure_future(session.fetch(INTERFACES_NEED))
        await asyncio.sleep(0.3)
        await session.close()
        await asyncio.sleep(0.2)
        before = agent.received
        await asyncio.sleep(0.5)   # still inside the loop: nothing but the session stops it
        return fetch, agent.received - before
    fetch, sent_after_close = asyncio.run(run())
    assert fetch.cancelled() and sent_after_close == 0


# ---- bursts: the shared socket's receive buffer -----------------------------------------
def test_the_shared_socket_asks_for_a_4_mib_receive_buffer():
    async def granted():
        client_socket = await transport._endpoint(socket.AF_INET)
        assert client_socket.transport is not None
        return transport.receive_buffer_bytes()
    size = asyncio.run(granted())
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    if os.geteuid() == 0 or rmem_max >= transport.RECEIVE_BUFFER:
        assert size >= transport.RECEIVE_BUFFER
    else:   # capped by the kernel: still as much as it allows (Linux doubles it)
        assert size >= min(rmem_max * 2, transport.RECEIVE_BUFFER)


def test_a_capped_buffer_falls_back_gracefully(monkeypatch, caplog):
    """Unprivileged, the kernel caps SO_RCVBUF at net.core.rmem_max: the socket still
    works, with the most the kernel grants, and the log says how to raise it."""
    caplog.set_level(logging.INFO, logger="muni-watchdog")
    monkeypatch.setattr(transport.os, "geteuid", lambda: 1000)   # no SO_RCVBUFFORCE
    monkeypatch.setattr(transport, "_warned_small_buffer", False)
    rmem_max = int(Path("/proc/sys/net/core/rmem_max").read_text())
    sock = transport._bound_socket(socket.AF_INET, rmem_max * 4)
    try:
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    finally:
        sock.close()
    assert granted == rmem_max * 2   # what Linux grants: the cap, doubled for overhead
    assert "sysctl -w net.core.rmem_max=" in caplog.text


# ---- the daemon as a process stops, and stops polling ----------------------------------
@pytest.mark.e2e
def test_the_daemon_stops_within_5s_of_sigterm_and_polls_no_more(tmp_path):
    """After SIGTERM the daemon used to log "stopped" and live on, still sending. Several
    targets with endless walks and timed-out checks; then SIGTERM."""
    with HostileAgent("slow-endless", COMMUNITY) as agent:
        secret = tmp_path / "community"
        secret.write_text(COMMUNITY)
        targets = "".join(f"""
  - id: dev{n}
    kind: snmp
    host: 127.0.0.1
    snmp: {{port: {agent.port}, community_file: {secret}, timeout: 1s, retries: 0,
            max_repetitions: 1}}
    checks:
      - {{check: interfaces, interval: 2s, retry_interval: 2s, timeout: 100ms}}
      - {{check: system, interval: 2s, retry_interval: 2s, timeout: 100ms}}
""" for n in range(4))
        config = tmp_path / "watchdog.yaml"
        config.write_text("site: {name: Testville}\ntargets:" + targets)
        log = tmp_path / "daemon.log"
        with log.open("w") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "muni_watchdog", "run", "-c", str(config),
                 "--state-dir", str(tmp_path / "state")], stdout=out,
                stderr=subprocess.STDOUT, cwd=ROOT)
            try:
                deadline = time.monotonic() + 60
                while "no result within" not in log.read_text():   # a run has timed out
                    assert daemon.poll() is None and time.monotonic() < deadline, \
                        log.read_text()
                    time.sleep(0.2)
                while time.monotonic() - agent.last_received > 0.2:   # the next runs poll
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
                daemon.send_signal(signal.SIGTERM)
                sent = time.monotonic()
                code = daemon.wait(timeout=30)
                took = time.monotonic() - sent
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()
        received_at_exit = agent.received
        time.sleep(1.0)
        text = log.read_text()
        assert code == 0 and took < 5, (took, text[-3000:])
        assert "stopped" in text and "still running" not in text and "still busy" not in text
        assert agent.received == received_at_exit   # nothing arrives after the exit
