"""The daemon as a process: a target fails and recovers; reload; stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.servers import HttpLab

pytestmark = pytest.mark.e2e

COMMAND = [sys.executable, "-m", "muni_watchdog"]


def write_config(path: Path, web_url: str, smtp_port: int, extra_targets: str = "") -> None:
    path.write_text(f"""\
site: {{name: Testville, timezone: Europe/Berlin}}
services:
  - id: web
    name: Town website
    priority: 1
    rto: 4h
    rpo: 24h
    owner: {{name: Jane Clerk, contact: jane@town.example}}
    backup_owner: {{name: Bob Tech, contact: bob@msp.example}}
    targets: [web]
targets:
  - id: web
    kind: http
    host: 127.0.0.1
    checks:
      - check: http
        url: {web_url}
        interval: 1s
        retry_interval: 500ms
        timeout: 2s
{extra_targets}
notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@town.example&to=oncall@msp.example
  routes:
    - name: all
      channels: [oncall]
""")


class NotifySocket:
    """Plays systemd's side of $NOTIFY_SOCKET."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                return self.messages

    def close(self):
        self.sock.close()


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def daemon_env(tmp_path, http_server, smtp_server):
    config = tmp_path / "muni-watchdog.yaml"
    write_config(config, http_server.url, smtp_server.port)
    notify = NotifySocket(tmp_path / "notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="1000000",
               PYTHONUNBUFFERED="1")
    env.pop("WATCHDOG_PID", None)
    log = (tmp_path / "daemon.log").open("w+")
    proc = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--state-dir",
                             str(tmp_path / "state")], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=Path(__file__).parent.parent)
    yield proc, config, notify, tmp_path, lambda: (tmp_path / "daemon.log").read_text()
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    notify.close()
    log.close()


def status_json(state_dir: Path) -> dict:
    out = subprocess.run([*COMMAND, "status", "--json", "--state-dir", str(state_dir)],
                         capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout)


def test_failure_and_recovery_send_exactly_one_email_each(daemon_env, http_server,
                                                          smtp_server):
    proc, config, notify, tmp, log = daemon_env
    wait_until(lambda: "READY=1" in "".join(notify.drain()), 20, "READY=1")
    wait_until(lambda: http_server.requests >= 2, 20, "the first checks")
    assert status_json(tmp / "state")["checks"][0]["state"] == "ok"

    http_server.status = 500
    assert smtp_server.wait_for(1, 20), log()
    http_server.status = 200
    assert smtp_server.wait_for(2, 20), log()
    time.sleep(3)  # plenty of further checks: nothing more may arrive
    subjects = smtp_server.subjects()
    assert len(subjects) == 2, subjects
    assert subjects[0].startswith("[Testville] [P1 CRITICAL] Town website — web/http: HTTP 500")
    assert subjects[1].startswith("[Testville] [P1 RECOVERED] Town website — web/http is OK after")

    status = status_json(tmp / "state")
    assert status["checks"][0]["state"] == "ok" and status["problems"] == []
    assert status["notifications"] == {"sent": 2}
    text = log()
    assert "target=web check=http PROBLEM OK -> CRITICAL: HTTP 500" in text
    assert "target=web check=http RECOVERY CRITICAL -> OK: HTTP 200" in text
    assert "channel=oncall sent notification 1: [Testville] [P1 CRITICAL]" in text
    messages = notify.drain()
    assert any(m == "WATCHDOG=1" for m in messages)
    assert any(m.startswith("STATUS=") for m in messages)


def test_reload_refuses_a_broken_config_and_stops_on_sigterm(daemon_env, http_server,
                                                             smtp_server, tcp_listener):
    proc, config, notify, tmp, log = daemon_env
    wait_until(lambda: "READY=1" in "".join(notify.drain()), 20, "READY=1")
    good = config.read_text()
    config.write_text(good.replace("priority: 1", "priority: 9").replace("kind: http",
                                                                         "kind: htp"))
    proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reload refused" in log(), 10, "the refusal")
    assert "config: " + str(config) + ":5: services[0].priority: Input should be less than or equal to 5 (got 9)" in log()
    assert proc.poll() is None
    requests = http_server.requests
    wait_until(lambda: http_server.requests > requests + 2, 10, "checks to keep running")

    # A valid new config is taken: a second target appears.
    write_config(config, http_server.url, smtp_server.port, extra_targets=f"""\
  - id: gateway
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {tcp_listener.port}, interval: 1s}}]
""")
    proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "reloaded: 2 checks on 2 targets" in log(), 10, "the reload")
    wait_until(lambda: len(status_json(tmp / "state")["checks"]) == 2, 15, "the new check")
    assert "RELOADING=1" in notify.drain()

    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    assert "stopped" in log()
    assert "STOPPING=1" in notify.drain()
    assert smtp_server.messages == []


def test_invalid_config_at_start_exits_2(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("site: {name: T}\ntargets:\n  - id: x\n    kind: tcp\n")
    proc = subprocess.run([*COMMAND, "run", "-c", str(config), "--state-dir",
                           str(tmp_path / "s")], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert f"{config}:3: targets[0].host: required key 'host' is missing; add it" in proc.stderr


def test_heartbeat_pings_while_running(tmp_path, http_server, smtp_server):
    config = tmp_path / "c.yaml"
    write_config(config, http_server.url, smtp_server.port)
    beat = HttpLab().start()
    try:
        config.write_text(config.read_text().replace("  routes:", f"""\
  heartbeat: {{url: "{beat.url}ping", interval: 1s}}
  routes:"""))
        proc = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--state-dir",
                                 str(tmp_path / "state")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)
        try:
            wait_until(lambda: beat.requests >= 3, 20, "three heartbeats")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
        count = beat.requests
        time.sleep(2)
        assert beat.requests == count  # a dead daemon sends no heartbeat
    finally:
        beat.stop()


def test_a_notify_socket_nobody_reads_never_blocks(tmp_path):
    from muni_watchdog.daemon import sdnotify
    path = tmp_path / "full.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    try:
        os.environ["NOTIFY_SOCKET"] = str(path)
        started = time.monotonic()
        results = [sdnotify.notify("WATCHDOG=1") for _ in range(200)]
        assert time.monotonic() - started < 5        # returns at once instead of hanging
        assert results[0] is True and results[-1] is False   # the queue filled up: dropped
    finally:
        os.environ.pop("NOTIFY_SOCKET", None)
        sock.close()


def test_metrics_endpoint_and_monthly_report_from_the_daemon(tmp_path, http_server,
                                                             smtp_server):
    import asyncio
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from lab.servers import free_port
    from muni_watchdog.daemon.loop import Daemon
    from muni_watchdog.daemon.report_jobs import MetricsEndpoint, ReportJobs

    config = tmp_path / "c.yaml"
    write_config(config, http_server.url, smtp_server.port)
    port = free_port()
    config.write_text(config.read_text() + f"""\
reports:
  monthly: {{channel: oncall}}
  metrics: {{listen: "127.0.0.1:{port}"}}
""")
    reports = ReportJobs()
    daemon = Daemon(config, tmp_path / "state", jobs=[reports, MetricsEndpoint()])

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        while daemon.scheduler is None or not daemon.scheduler.running:
            await asyncio.sleep(0.05)
        assert daemon.scheduler.get_job("report-monthly") is not None
        while not http_server.requests:
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        text = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
            .read().decode())
        await reports.send("monthly", 0)
        daemon.stopping.set()
        await task
        return text

    text = asyncio.run(scenario())
    families = {f.name: f for f in text_string_to_metric_families(text)}
    [sample] = [s for s in families["muni_watchdog_check_state"].samples
                if s.labels.get("target") == "web"]
    assert sample.value == 0
    assert smtp_server.wait_for(1, 20)
    assert "IT report for" in smtp_server.messages[0]["Subject"]
    assert list((tmp_path / "state" / "reports").glob("*.html"))


@pytest.mark.skipif(__import__("shutil").which("snmptrap") is None,
                    reason="net-snmp's snmptrap is not installed (scripts/setup.sh installs it)")
def test_a_ups_on_battery_trap_alerts_at_once(tmp_path, smtp_server):
    from lab.servers import free_port
    community = tmp_path / "community"
    community.write_text("traps-secret\n")
    trap_port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(f"""\
site:
  name: Testville
  snmp_traps: {{enabled: true, port: {trap_port}, bind: 127.0.0.1}}
services:
  - id: power
    name: Server closet power
    priority: 1
    rto: 1h
    rpo: 1d
    owner: {{name: A, contact: a@town.example}}
    backup_owner: {{name: B, contact: b@town.example}}
    targets: [ups]
targets:
  - id: ups
    kind: snmp
    host: 127.0.0.1
    snmp: {{version: 2c, port: {free_port()}, community_file: {community}}}
    checks: [{{check: system, interval: 1h}}]
notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_server.port}?from=w@town.example&to=o@town.example
  routes: [{{name: all, channels: [oncall]}}]
  weekly_test: null
""")
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--state-dir",
                                 str(tmp_path / "state")], stdout=out, stderr=subprocess.STDOUT,
                                cwd=Path(__file__).parent.parent)
        try:
            wait_until(lambda: "traps: listening" in log.read_text(), 20, "the trap receiver")
            for community_sent in ("wrong-community", "traps-secret"):
                subprocess.run(["snmptrap", "-v2c", "-c", community_sent,
                                f"127.0.0.1:{trap_port}", "", "1.3.6.1.2.1.33.2.1"],
                               check=True, timeout=10)
            assert smtp_server.wait_for(1, 20), log.read_text()
            time.sleep(1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    subjects = smtp_server.subjects()
    assert subjects == ["[Testville] [P1 CRITICAL] Server closet power — ups/traps: UPS on battery "
                        "(upsTrapOnBattery)"], subjects


@pytest.mark.skipif(__import__("shutil").which("snmptrap") is None,
                    reason="net-snmp's snmptrap is not installed (scripts/setup.sh installs it)")
def test_a_v3_ups_on_battery_trap_pages_once(tmp_path, smtp_server):
    from lab.servers import free_port
    (tmp_path / "auth").write_text("v3-auth-secret\n")
    (tmp_path / "priv").write_text("v3-priv-secret\n")
    trap_port = free_port()
    config = tmp_path / "c.yaml"
    config.write_text(f"""\
site:
  name: Testville
  snmp_traps: {{enabled: true, port: {trap_port}, bind: 127.0.0.1}}
services:
  - id: power
    name: Server closet power
    priority: 1
    rto: 1h
    rpo: 1d
    owner: {{name: A, contact: a@town.example}}
    backup_owner: {{name: B, contact: b@town.example}}
    targets: [ups]
targets:
  - id: ups
    kind: snmp
    host: 127.0.0.1
    snmp: {{version: 3, port: {free_port()}, user: watchdog, auth_protocol: SHA-256,
            auth_password_file: {tmp_path / "auth"}, priv_protocol: AES,
            priv_password_file: {tmp_path / "priv"}}}
    checks: [{{check: system, interval: 1h}}]
notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_server.port}?from=w@town.example&to=o@town.example
  routes: [{{name: all, channels: [oncall]}}]
  weekly_test: null
""")
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--state-dir",
                                 str(tmp_path / "state")], stdout=out, stderr=subprocess.STDOUT,
                                cwd=Path(__file__).parent.parent)
        try:
            wait_until(lambda: "traps: listening" in log.read_text(), 20, "the trap receiver")
            for auth_password in ("wrong-password", "v3-auth-secret"):
                subprocess.run(["snmptrap", "-v3", "-u", "watchdog", "-l", "authPriv",
                                "-a", "SHA-256", "-A", auth_password, "-x", "AES",
                                "-X", "v3-priv-secret", "-e", "0x80001f8880ccddeeff01",
                                f"127.0.0.1:{trap_port}", "", "1.3.6.1.2.1.33.2.1"],
                               check=True, timeout=10, env={"MIBS": "", "PATH": "/usr/bin"})
            assert smtp_server.wait_for(1, 20), log.read_text()
            time.sleep(1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)
    subjects = smtp_server.subjects()
    assert subjects == ["[Testville] [P1 CRITICAL] Server closet power — ups/traps: UPS on battery "
                        "(upsTrapOnBattery)"], subjects
    assert "not authenticated" in log.read_text()
