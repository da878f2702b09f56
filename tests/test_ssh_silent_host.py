"""A host where something accepts the SSH port's connection and never says a word (a dead
proxy, a hung sshd): our one line says why the check is UNKNOWN, and paramiko's own account
(an ERROR line plus its traceback, one log record per line, from its transport thread)
stays out of the log unless asked for with --log-level DEBUG."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from lab.servers import SilentListener

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "muni_watchdog"]
PARAMIKO_SAYS = ("Error reading SSH protocol banner", "Exception (client)", "Traceback",
                 "paramiko")


@pytest.fixture
def mute_host():
    listener = SilentListener()
    yield listener
    listener.stop()


def config_for(tmp_path: Path, port: int) -> Path:
    key = tmp_path / "id_ed25519"
    key.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()))
    key.chmod(0o600)
    config = tmp_path / "c.yaml"
    config.write_text(f"""\
site: {{name: Testville}}
targets:
  - id: mute
    kind: ssh
    host: 127.0.0.1
    ssh: {{user: watchdog, port: {port}, key_file: {key}, known_hosts: {tmp_path}/known_hosts,
           connect_timeout: 1s}}
    checks: [{{check: load}}]
""")
    return config


def test_check_says_why_in_one_line_and_paramiko_stays_quiet(tmp_path, mute_host):
    config = config_for(tmp_path, mute_host.port)
    out = subprocess.run([*COMMAND, "check", "-c", str(config)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 3
    assert f"SSH handshake with 127.0.0.1:{mute_host.port} failed: no SSH banner within 1s" \
        in out.stdout
    assert out.stderr == ""


def test_paramiko_is_heard_when_asked_for_everything(tmp_path, mute_host):
    config = config_for(tmp_path, mute_host.port)
    out = subprocess.run([*COMMAND, "--log-level", "DEBUG", "check", "-c", str(config)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 3
    assert "Error reading SSH protocol banner" in out.stderr


@pytest.mark.e2e
def test_the_daemon_logs_our_line_not_paramikos_traceback(tmp_path, mute_host):
    config = config_for(tmp_path, mute_host.port)
    log = tmp_path / "stderr.log"
    ours = f"target=mute check=load SOFT UNKNOWN attempt 1/3: SSH handshake with " \
           f"127.0.0.1:{mute_host.port} failed: no SSH banner within 1s"
    with log.open("w") as stderr:
        daemon = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--state-dir",
                                   str(tmp_path / "state")], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 60
            while ours not in log.read_text():
                assert daemon.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
        finally:
            daemon.kill()
            daemon.wait()
    text = log.read_text()
    assert mute_host.accepted >= 1   # it did connect, and heard nothing
    assert [word for word in PARAMIKO_SAYS if word in text] == [], text
    assert " ERROR " not in text, text
