"""`run` always exits: a task that swallows its cancellation (as Python 3.11's wait_for
does when the answer and the cancel arrive together) or a worker thread that never returns
must not keep a stopped daemon alive (issue 17: alive 49 minutes after "stopped"; under
systemd every stop ended in SIGKILL)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
SYSTEMD_STOP_TIMEOUT = 20   # TimeoutStopSec in systemd/muni-watchdog.service

# The daemon as `muni-watchdog run` starts it, given one more site job that leaves a piece of
# work stuck; it sends itself SIGTERM a second after it started.
SCRIPT = """\
import asyncio, os, signal, sys, time
from muni_watchdog.core.logs import setup_logging
from muni_watchdog.daemon import service
from muni_watchdog.daemon.runtime import SiteJob

setup_logging("INFO")
stuck = sys.argv[3]


async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass   # a cancellation lost


class Stuck(SiteJob):
    async def install(self, config, runtime):
        loop = asyncio.get_running_loop()
        if stuck == "task":
            loop.create_task(stubborn(), name="stubborn-poll")
        else:
            loop.run_in_executor(None, time.sleep, 3600)
        loop.call_later(1, os.kill, os.getpid(), signal.SIGTERM)

standard_jobs = service.standard_jobs
service.standard_jobs = lambda: [*standard_jobs(), Stuck()]
sys.exit(service.run_daemon(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.parametrize("stuck, named", [("task", "stubborn-poll"), ("thread", "collect")])
def test_run_exits_even_when_work_is_stuck(tmp_path, stuck, named):
    config = tmp_path / "watchdog.yaml"
    config.write_text("site: {name: Testville}\ntargets: []\n")
    started = time.monotonic()
    try:
        out = subprocess.run([sys.executable, "-c", SCRIPT, str(config),
                              str(tmp_path / "state"), stuck], capture_output=True,
                             text=True, timeout=60, cwd=ROOT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the daemon did not exit: {exc.stderr}")
    took = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    assert took < SYSTEMD_STOP_TIMEOUT, out.stderr   # a liveness bound, not a benchmark
    assert "stopped" in out.stderr and named in out.stderr   # the stuck work is named
