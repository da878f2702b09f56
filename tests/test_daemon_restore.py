"""The daemon runs restore tests of a real restic repository, and a failing one alerts."""

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from lab.restic_lab import demo_backup
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.restore_tests import RestoreTests, backup_key

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("restic") is None,
                                 reason="restic is not installed (scripts/setup.sh installs it)")]


def write_config(path: Path, backup_item: str, smtp_port: int) -> None:
    path.write_text(f"""\
site: {{name: Testville}}
services:
  - id: records
    name: Clerk's records
    priority: 2
    rto: 8h
    rpo: 24h
    owner: {{name: Pat, contact: pat@town.example}}
    backup_owner: {{name: Dana, contact: dana@msp.example}}
    backups: [website-files]
backups:
{backup_item}notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_port}?from=w@town.example&to=o@town.example
  routes: [{{name: all, channels: [oncall]}}]
  weekly_test: null
""")


def test_scheduled_restore_test_is_a_check_result_and_failures_alert(tmp_path, smtp_server):
    lab, item = demo_backup(tmp_path / "lab", service="records")
    config = tmp_path / "c.yaml"
    write_config(config, item, smtp_server.port)
    restore = RestoreTests()
    daemon = Daemon(config, tmp_path / "state", jobs=[restore])

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        while daemon.scheduler is None or not daemon.scheduler.running:
            await asyncio.sleep(0.05)
        jobs = {job.id for job in daemon.scheduler.get_jobs()}
        assert "restore:website-files" in jobs
        await restore.run("website-files", False)
        first = daemon.store.load_status(daemon_key())[0]
        # now the repository's password is wrong: the next test fails and alerts
        password_file = Path(next(line.split(": ", 1)[1].strip() for line in item.splitlines()
                                  if "password_file" in line))
        password_file.write_text("not the password\n")
        await restore.run("website-files", False)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if smtp_server.messages:
                break
        daemon.stopping.set()
        await task
        return first

    def daemon_key():
        return backup_key("website-files")

    first = asyncio.run(scenario())
    assert first.state.name == "OK", first.summary
    assert smtp_server.wait_for(1, 10)
    subject = smtp_server.messages[0]["Subject"]
    assert subject.startswith("[Testville] [P2 CRITICAL] Clerk's records — backup:website-files/"
                              "restore_test")
    assert "wrong password" in subject.lower() or "wrong password" in \
        smtp_server.messages[0].get_body(preferencelist=("plain",)).get_content().lower()
    from muni_watchdog.store.database import Store
    store = Store.open(tmp_path / "state", readonly=True)
    rows = sorted(store.restore_tests(), key=lambda r: r["id"])
    assert [r["verdict"] for r in rows] == [0, 2]      # OK, then CRITICAL
    [state] = [s for s in store.current_states() if s["target"] == "backup:website-files"]
    assert json.loads(state["services"]) == ["records"]
