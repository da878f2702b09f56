"""Stopping without tracebacks, as a person meets it: the daemon stopped by SIGTERM while its
checks wait on a slow web server logs one line per cancelled check; Ctrl-C on a command
(the terminal signals the whole process group) ends it at once with exit code 130 and one
line; Ctrl-C on ``restore-test`` against the real restic mid-restore leaves no scratch
directory, no restic lock and no recorded run. Every process here is started for real."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.restic_lab import ResticLab
from lab.servers import HttpLab

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "muni_watchdog"]
# Far beyond any wait below: a check still waiting for its answer when the process ends
# proves that the stop did not wait for it.
SLOW = 600.0


def wait_until(condition, what: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:g}s"
        time.sleep(0.02)


@pytest.fixture
def slow_server():
    server = HttpLab().start()
    server.delay = SLOW
    yield server
    server.stop()


def web_config(tmp_path: Path, url: str) -> Path:
    # Two checks of one target: both start at once (first runs are spread by target).
    config = tmp_path / "c.yaml"
    config.write_text(f"""\
site: {{name: Testville}}
targets:
  - id: web
    kind: http
    host: 127.0.0.1
    checks:
      - {{check: http, name: front, url: "{url}", timeout: 15m}}
      - {{check: http, name: api, url: "{url}api", timeout: 15m}}
""")
    return config


def test_sigterm_with_checks_in_flight_logs_one_line_per_cancelled_check(tmp_path,
                                                                         slow_server):
    config = web_config(tmp_path, slow_server.url)
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        daemon = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--state-dir",
                                   str(tmp_path / "state")], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_until(lambda: slow_server.started >= 2, "two requests in flight", daemon)
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0
        finally:
            daemon.kill()
            daemon.wait()
    text = log.read_text()
    assert "Traceback" not in text and "CancelledError" not in text, text
    lines = text.splitlines()
    for check in ("web/front", "web/api"):
        said = [line for line in lines if line.endswith(f"cancelled at shutdown: {check}")]
        assert len(said) == 1, text
        assert " INFO " in said[0]
    assert any(line.endswith(" INFO stopped") for line in lines), text
    assert slow_server.requests == 0   # the answers never came: the stop did not wait


def test_ctrl_c_on_a_command_exits_130_at_once_in_one_line(tmp_path, slow_server):
    config = web_config(tmp_path, slow_server.url)
    # A new session, signalled as a whole: what a terminal's Ctrl-C does.
    proc = subprocess.Popen([*COMMAND, "check", "-c", str(config)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        wait_until(lambda: slow_server.started >= 2, "both requests sent", proc)
        os.killpg(proc.pid, signal.SIGINT)
        # Within the bound only if the blocked fetches were left behind (asyncio.run waited
        # for them: 15 minutes here).
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130, err
    assert err == "muni-watchdog check: stopped by SIGINT\n"
    assert out == ""


def test_ctrl_c_before_any_network_work_is_one_line_too(tmp_path):
    # canary write is synchronous; Python's own KeyboardInterrupt is what arrives there.
    script = ("import os, signal\n"
              "from muni_watchdog.backup_tests import canary\n"
              "def write(path, now):\n"
              "    os.kill(os.getpid(), signal.SIGINT)\n"
              "canary.write_canary = write\n"
              "from muni_watchdog.cli.main import main\n"
              f"raise SystemExit(main(['canary', 'write', {str(tmp_path / 'c')!r}]))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert (out.returncode, out.stderr) == (130, "muni-watchdog canary: interrupted\n")


# -- restore-test against the real restic ----------------------------------------------------

@pytest.fixture(scope="module")
def big_lab(tmp_path_factory):
    if shutil.which("restic") is None:
        pytest.skip("restic is not installed (apt-get install restic)")
    lab = ResticLab(tmp_path_factory.mktemp("lab")).create(small_files=10, large_files=3,
                                                           large_size=48 * 1024 * 1024)
    lab.nightly_backup()
    return lab


@pytest.mark.integration
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["ctrl-c", "sigterm"])
def test_stopping_restore_test_mid_restore_cleans_up_in_one_line(tmp_path, big_lab, signum,
                                                                 code):
    config = tmp_path / "c.yaml"
    scratch = tmp_path / "scratch"
    config.write_text(f"""\
site: {{name: T}}
services:
  - {{id: clerk, name: C, priority: 2, rto: 4h, rpo: 1d, owner: {{name: A, contact: a@t}},
     backup_owner: {{name: B, contact: b@t}}}}
backups:
{big_lab.backups_yaml("clerk", scratch_dir=str(scratch))}""")
    state = tmp_path / "state"
    proc = subprocess.Popen([*COMMAND, "restore-test", "--full", "-c", str(config),
                             "--state-dir", str(state)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        # restic is restoring into the scratch directory when the signal comes
        wait_until(lambda: any(p.is_file() for p in scratch.rglob("*")), "restored file",
                   proc, timeout=120)
        os.killpg(proc.pid, signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    name = signal.Signals(signum).name
    assert proc.returncode == code, err
    assert err == (f"muni-watchdog restore-test clerk-share: stopped by {name}; restic "
                   "stopped, scratch directory removed, nothing recorded\n")
    assert out == ""
    assert list(scratch.iterdir()) == []
    assert list((Path(big_lab.repository) / "locks").iterdir()) == []  # restic let go
    from muni_watchdog.store.database import Store
    store = Store.open(state, readonly=True)
    try:
        assert store.restore_tests() == []
    finally:
        store.close()


# -- a stop after a notification: Apprise's idle workers are not work ------------------------

# The daemon as `muni-watchdog run` starts it, given one more site job that sends one message
# through Apprise (as the outbox does, from a worker thread), then SIGTERM.
AFTER_A_SEND = """\
import asyncio, os, signal, sys
import apprise
from muni_watchdog.core.logs import setup_logging
from muni_watchdog.daemon import service
from muni_watchdog.daemon.runtime import SiteJob

setup_logging("INFO")


def send():
    notifier = apprise.Apprise()
    notifier.add(sys.argv[3])
    assert notifier.notify(title="test", body="one message")


class SendOnce(SiteJob):
    async def install(self, config, runtime):
        await asyncio.to_thread(send)
        asyncio.get_running_loop().call_later(0.5, os.kill, os.getpid(), signal.SIGTERM)

standard_jobs = service.standard_jobs
service.standard_jobs = lambda: [*standard_jobs(), SendOnce()]
sys.exit(service.run_daemon(sys.argv[1], sys.argv[2]))
"""


def test_a_stop_after_a_notification_waits_for_no_idle_worker(tmp_path):
    from lab.servers import HttpReceiver
    receiver = HttpReceiver().start()
    config = tmp_path / "watchdog.yaml"
    config.write_text("site: {name: Testville}\ntargets: []\n")
    try:
        out = subprocess.run([sys.executable, "-c", AFTER_A_SEND, str(config),
                              str(tmp_path / "state"), f"json://127.0.0.1:{receiver.port}/"],
                             capture_output=True, text=True, timeout=60, cwd=ROOT)
    finally:
        receiver.stop()
    assert len(receiver.requests) == 1
    assert out.returncode == 0, out.stderr
    assert out.stderr.rstrip().endswith("INFO stopped"), out.stderr
    assert "busy" not in out.stderr and " ERROR " not in out.stderr
