"""The ssh checks against a real OpenSSH sshd on loopback (lab/ssh_lab.py), running real
commands on this machine — including a real ``apt-get -s dist-upgrade``."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.ssh_lab import SshLab
from muni_watchdog.checks import KINDS
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.ssh.connection import SshConnection, SshSession
from muni_watchdog.core.model import CheckContext, CheckKey, State
from muni_watchdog.core.transitions import Policy
from muni_watchdog.daemon.engine import CheckSpec, run_check

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
SSH = KINDS["ssh"]
SYSTEMD = Path("/run/systemd/system").is_dir()  # sd_booted(): is systemd the init here?


@pytest.fixture(scope="module")
def lab():
    server = SshLab().start()
    yield server
    server.stop()


@pytest.fixture
def known_hosts(tmp_path, lab):
    return lab.pin(tmp_path / "known_hosts")


def target(lab, known_hosts, **overrides) -> TargetInfo:
    conn = SshConnection(**lab.connection(known_hosts, **overrides))
    info = TargetInfo("lab", "ssh", "127.0.0.1", conn)
    return replace(info, session=SshSession.for_target(info))


def spec(info: TargetInfo, check: str, **params) -> CheckSpec:
    check_type = SSH.check_types[check]
    return CheckSpec(CheckKey(info.id, check), check_type,
                     check_type.Params(check=check, **params), info, Policy(60, 10, 3, 2),
                     (), 3)


def run(info: TargetInfo, check: str, memory=None, **params):
    async def go():
        try:
            return await run_check(spec(info, check, **params), memory or {},
                                   datetime.now(UTC))
        finally:
            await info.session.close()
    return asyncio.run(go())


def test_every_check_runs_over_one_reused_connection(lab, known_hosts):
    info = target(lab, known_hosts)

    async def go():
        try:
            results = {}
            for check in ("disk", "memory", "load", "uptime", "timesync"):
                # Without systemd (a container) only the clock offset can be judged.
                params = {"sync_status_required": SYSTEMD} if check == "timesync" else {}
                results[check] = await run_check(spec(info, check, **params), {},
                                                 datetime.now(UTC))
            return results
        finally:
            await info.session.close()

    results = asyncio.run(go())
    assert info.session.connects == 1
    for check, result in results.items():
        assert result.outcome.state is not State.UNKNOWN, (check, result.outcome.summary)
    root = next(i for i in results["disk"].outcome.items if i["mount"] == "/")
    assert root["free_bytes"] > 0 and root["type"] not in ("tmpfs", "proc")
    assert "clock offset" in results["timesync"].outcome.summary


def test_real_apt_get_dist_upgrade_simulation(lab, known_hosts):
    expected = subprocess.run(
        ["apt-get", "-s", "-q", "-o", "Debug::NoLocking=true", "dist-upgrade"],
        capture_output=True, text=True, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
        timeout=120).stdout.count("\nInst ")
    result = run(target(lab, known_hosts), "patches")
    packages = [i for i in result.outcome.items if i["kind"] == "package"]
    assert len(packages) == expected
    if packages:
        assert {"name", "version", "origins", "security", "first_seen"} <= set(packages[0])
    assert result.memory["first_seen"].keys() == {p["name"] for p in packages}
    assert any(m.name == "lists_age" for m in result.outcome.metrics)


def test_plugin_command_exit_code_summary_and_perfdata(lab, known_hosts, tmp_path):
    result = run(target(lab, known_hosts), "command",
                 command=["sh", "-c", "echo 'PROCS WARNING: 300 | procs=300;250;400;0'; exit 1"])
    assert result.outcome.state is State.WARNING
    assert result.outcome.summary == "PROCS WARNING: 300"
    assert result.outcome.metrics[0].value == 300 and result.outcome.metrics[0].warn == 250


def test_arguments_reach_the_plugin_verbatim_never_through_a_shell(lab, known_hosts):
    evil = "x'; touch /tmp/muni-pwned; echo '$(id)"
    result = run(target(lab, known_hosts), "command", command=["printf", "%s\\n", evil])
    assert result.outcome.summary == evil
    assert not Path("/tmp/muni-pwned").exists()


def test_non_utf8_output_and_the_output_cap(lab, known_hosts):
    result = run(target(lab, known_hosts), "command", command=["printf", "caf\\351 OK\\n"])
    assert result.outcome.summary == "caf\ufffd OK"
    big = run(target(lab, known_hosts, max_output=4096), "command",
              command=["head", "-c", "100000", "/dev/zero"])
    assert big.outcome.state is State.UNKNOWN and "exceeds 4096 bytes" in big.outcome.summary


def test_a_hanging_command_is_unknown_in_bounded_time(lab, known_hosts):
    started = time.monotonic()
    result = run(target(lab, known_hosts), "command", command=["sleep", "60"], timeout="2s")
    assert result.outcome.state is State.UNKNOWN
    assert "did not finish within 2s" in result.outcome.summary
    assert time.monotonic() - started < 8


def test_reconnects_after_the_connection_dropped(lab, known_hosts):
    info = target(lab, known_hosts)

    async def go():
        try:
            first = await run_check(spec(info, "load"), {}, datetime.now(UTC))
            info.session._transport.close()  # the server or the network dropped it
            second = await run_check(spec(info, "load"), {}, datetime.now(UTC))
            return first, second
        finally:
            await info.session.close()

    first, second = asyncio.run(go())
    assert first.outcome.state is State.OK and second.outcome.state is State.OK
    assert info.session.connects == 2


def test_unknown_host_key_is_refused_with_fingerprint_and_the_fix(lab, tmp_path):
    result = run(target(lab, tmp_path / "empty_known_hosts"), "load")
    assert result.outcome.state is State.UNKNOWN
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(lab.host_key.with_suffix(".pub"))],
                                 capture_output=True, text=True).stdout.split()[1]
    assert fingerprint.startswith("SHA256:") and fingerprint in result.outcome.summary
    assert "muni-watchdog trust-host" in result.outcome.summary


def _config(tmp_path: Path, lab: SshLab, known: Path) -> Path:
    ssh = lab.connection(known)
    path = tmp_path / "town.yaml"
    path.write_text(f"""\
site: {{name: Testville}}
targets:
  - id: files
    kind: ssh
    host: 127.0.0.1
    ssh: {json.dumps(ssh)}
    checks:
      - check: load
""")
    return path


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "muni_watchdog", *args], capture_output=True,
                          text=True, input=stdin, timeout=60, cwd=ROOT)


def test_trust_host_shows_fingerprint_asks_and_records(lab, tmp_path):
    known = tmp_path / "pins" / "known_hosts"
    config = _config(tmp_path, lab, known)
    declined = cli("trust-host", "-c", str(config), "files", stdin="n\n")
    assert declined.returncode == 1 and not known.exists()
    assert "SHA256:" in declined.stdout
    trusted = cli("trust-host", "-c", str(config), "files", "--yes")
    assert trusted.returncode == 0, trusted.stderr
    assert f"[127.0.0.1]:{lab.port} ssh-ed25519" in known.read_text()
    checked = cli("check", "-c", str(config), "--json")
    assert json.loads(checked.stdout)["results"][0]["status"] == "ok", checked.stdout


def test_changed_host_key_is_critical_and_no_command_ran(tmp_path):
    impostor = SshLab().start()
    try:
        known = impostor.pin(tmp_path / "known_hosts")
        ok = run(target(impostor, known), "load")
        assert ok.outcome.state is State.OK
        assert "Starting session: command" in impostor.log_text()  # the log shows commands
        impostor.restart_with_new_host_key()
        result = run(target(impostor, known), "load")
        assert result.outcome.state is State.CRITICAL and result.outcome.immediate
        assert "host key" in result.outcome.summary and "CHANGED" in result.outcome.summary
        log = impostor.log_text()
        after = log[log.rindex("Server listening"):]
        assert "Connection from 127.0.0.1" in after  # we did talk to it...
        assert "Accepted publickey" not in after     # ...but never logged in
        assert "Starting session" not in after and "req exec" not in after
        config = _config(tmp_path, impostor, known)
        refused = cli("trust-host", "-c", str(config), "files", "--yes")
        assert refused.returncode == 1 and "DIFFERENT key" in refused.stderr
    finally:
        impostor.stop()


class BlackHole:
    """Accepts TCP connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_black_hole_is_unknown_in_time_while_another_target_keeps_its_schedule(
        lab, known_hosts, tmp_path):
    hole = BlackHole()
    try:
        dead = target(lab, known_hosts, port=hole.port, connect_timeout="2s")
        alive = target(lab, known_hosts)

        async def go():
            async def dead_run():
                started = time.monotonic()
                results = await asyncio.gather(*(run_check(spec(dead, c), {},
                                                           datetime.now(UTC))
                                                 for c in ("load", "memory", "disk")))
                return results, time.monotonic() - started

            async def alive_every_half_second():
                times = []
                for _ in range(6):
                    started = time.monotonic()
                    result = await run_check(spec(alive, "load"), {}, datetime.now(UTC))
                    assert result.outcome.state is State.OK
                    times.append(time.monotonic() - started)
                    await asyncio.sleep(0.5)
                return times

            try:
                return await asyncio.gather(dead_run(), alive_every_half_second())
            finally:
                await dead.session.close()
                await alive.session.close()

        (dead_results, dead_seconds), alive_times = asyncio.run(go())
    finally:
        hole.close()
    for result in dead_results:
        assert result.outcome.state is State.UNKNOWN
        assert "no SSH banner within 2s" in result.outcome.summary
    # Three checks of the dead host share one connect attempt: one timeout, not three.
    assert dead_seconds < 5
    assert max(alive_times) < 1.5  # well under the dead host's 2 s connect timeout


def test_evaluate_is_pure_given_memory(lab, known_hosts):
    info = target(lab, known_hosts)
    first = run(info, "uptime")
    boot = first.memory["boot_epoch"]
    again = SSH.check_types["uptime"].evaluate  # an earlier boot remembered → reboot seen
    assert boot > 0 and callable(again)
    second = run(target(lab, known_hosts), "uptime", memory={"boot_epoch": boot - 3600})
    assert second.outcome.state is State.WARNING and "rebooted" in second.outcome.summary
    assert CheckContext  # the context type is what evaluate receives


def test_uptime_reports_the_os_for_the_inventory(lab, known_hosts):
    import platform
    from pathlib import Path

    from muni_watchdog.checks.ssh.system import parse_os_release
    outcome = run(target(lab, known_hosts), "uptime").outcome
    [item] = [i for i in outcome.items if i["kind"] == "boot"]   # (then its support end)
    local = parse_os_release(Path("/etc/os-release").read_text())
    assert item["os"] == local["PRETTY_NAME"] and item["os_id"] == local["ID"]
    assert item["kernel"].startswith(f"Linux {platform.release()}")


def test_an_encrypted_client_key_logs_in_with_its_passphrase(lab, known_hosts, tmp_path):
    """paramiko hands the passphrase to cryptography, which takes bytes only: a passphrase
    read from a file as text once made every encrypted key fail at check time."""
    key = tmp_path / "encrypted_key"
    shutil.copy(lab.client_key, key)
    subprocess.run(["ssh-keygen", "-q", "-p", "-N", "correct horse", "-f", str(key)],
                   check=True)
    good = tmp_path / "passphrase"
    good.write_text("correct horse\n")
    info = target(lab, known_hosts, key_file=str(key), passphrase_file=str(good))
    assert run(info, "uptime").outcome.state is State.OK

    wrong = tmp_path / "wrong-passphrase"
    wrong.write_text("battery staple\n")
    info = target(lab, known_hosts, key_file=str(key), passphrase_file=str(wrong))
    outcome = run(info, "uptime").outcome
    assert outcome.state is State.UNKNOWN
    assert "cannot load SSH key" in outcome.summary
    assert "battery" not in outcome.summary
