"""SIGKILL the daemon at random moments during a burst of problems and recoveries: every
message still arrives, and a message is repeated at most once per kill (the window between an
SMTP server accepting it and the outbox recording that)."""

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.servers import HttpLab

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
TARGETS = 4


def config(servers, smtp_port) -> str:
    targets = "".join(f"""\
  - id: web{i}
    kind: http
    host: 127.0.0.1
    checks: [{{check: http, url: "{s.url}", interval: 1s, retry_interval: 500ms,
              max_attempts: 1, recovery_attempts: 1, timeout: 2s}}]
""" for i, s in enumerate(servers))
    return f"""\
site: {{name: Testville}}
services:
  - id: web
    name: Websites
    priority: 1
    rto: 4h
    rpo: 1d
    owner: {{name: A, contact: a@town.example}}
    backup_owner: {{name: B, contact: b@town.example}}
    targets: [{", ".join(f"web{i}" for i in range(len(servers)))}]
targets:
{targets}notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_port}?from=w@town.example&to=o@town.example
  routes: [{{name: all, channels: [oncall]}}]
  retry: {{first_delay: 1s, max_delay: 2s}}
  weekly_test: null
"""


def test_no_message_lost_and_duplicates_bounded_under_sigkill(tmp_path, smtp_server):
    rng = random.Random(20261122)
    servers = [HttpLab().start() for _ in range(TARGETS)]
    path = tmp_path / "c.yaml"
    path.write_text(config(servers, smtp_server.port))
    log = (tmp_path / "daemon.log").open("a")
    env = dict(os.environ, PYTHONUNBUFFERED="1")

    def start():
        return subprocess.Popen([sys.executable, "-m", "muni_watchdog", "run", "-c", str(path),
                                 "--state-dir", str(tmp_path / "state")], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    kills = 0
    proc = start()
    try:
        time.sleep(3)
        for phase_status in (500, 200):
            for server in servers:
                server.status = phase_status
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                time.sleep(rng.uniform(0.3, 1.6))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = start()
        # calm: let everything be delivered
        expected = 2 * TARGETS
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(smtp_server.messages) < expected:
            time.sleep(0.2)
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        for server in servers:
            server.stop()
        log.close()
    subjects = smtp_server.subjects()
    per_target = collections.defaultdict(collections.Counter)
    for subject in subjects:
        target = subject.split("— ")[1].split("/")[0]
        kind = "problem" if "CRITICAL]" in subject else "recovery"
        per_target[target][kind] += 1
    # nothing lost: every target's problem and recovery arrived
    assert sorted(per_target) == [f"web{i}" for i in range(TARGETS)], \
        (tmp_path / "daemon.log").read_text()[-3000:]
    for target, counts in per_target.items():
        assert counts["problem"] >= 1 and counts["recovery"] >= 1, (target, counts)
    duplicates = len(subjects) - 2 * TARGETS
    assert 0 <= duplicates <= kills, (duplicates, kills, subjects)
    print(f"{kills} kills, {len(subjects)} messages, {duplicates} duplicates")
