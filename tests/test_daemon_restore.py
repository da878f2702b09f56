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


async def started(daemon: Daemon) -> asyncio.Future:
    """The daemon running in the background, its scheduler started."""
    task = asyncio.ensure_future(daemon.run())
    while daemon.scheduler is None or not daemon.scheduler.running:
        await asyncio.sleep(0.05)
    return task


def test_scheduled_restore_test_is_a_check_result_and_failures_alert(tmp_path, smtp_server):
    lab, item = demo_backup(tmp_path / "lab", service="records")
    config = tmp_path / "c.yaml"
    write_config(config, item, smtp_server.port)
    restore = RestoreTests()
    daemon = Daemon(config, tmp_path / "state", jobs=[restore])

    async def scenario():
        task = await started(daemon)
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


def test_repository_check_runs_apart_and_both_runs_keep_their_state(tmp_path, smtp_server):
    """The check has its own job and check key; a sample test and a check started together
    take turns, so neither overwrites the rotation the other moved on."""
    lab, item = demo_backup(tmp_path / "lab", service="records")
    config = tmp_path / "c.yaml"
    write_config(config, item + '    check_schedule: "0 5 * * sun"\n', smtp_server.port)
    restore = RestoreTests()
    daemon = Daemon(config, tmp_path / "state", jobs=[restore])

    async def scenario():
        task = await started(daemon)
        jobs = {job.id: job for job in daemon.scheduler.get_jobs()}
        assert {"restore:website-files", "check:website-files"} <= set(jobs)
        assert jobs["check:website-files"].args == ("website-files", "repository_check")
        await asyncio.gather(restore.run("website-files", "sample"),
                             restore.run("website-files", "repository_check"))
        sample = daemon.store.load_status(backup_key("website-files"))[0]
        check = daemon.store.load_status(backup_key("website-files", "repository_check"))[0]
        daemon.stopping.set()
        await task
        return sample, check

    sample, check = asyncio.run(scenario())
    assert sample.state.name == "OK", sample.summary
    assert check.state.name == "OK" and "repository check of 1/12 clean" in check.summary
    assert "repository check" not in sample.summary   # the sample test did not check
    from muni_watchdog.backup_tests.report import BackupState
    from muni_watchdog.store.database import Store
    store = Store.open(tmp_path / "state", readonly=True)
    state = BackupState.from_dict(store.restore_test_state("website-files"))
    assert state.subset_next == 2          # the check moved its rotation on...
    assert state.sample_cursor != ""       # ...and the sample its own: both kept
    assert [r["integrity_subset"] for r in store.restore_tests()] == [None]
    assert [r["integrity_subset"] for r in store.restore_tests(kind="repository_check")] == \
        ["1/12"]
    keys = {(s["target"], s["check_name"]) for s in store.current_states()}
    assert ("backup:website-files", "repository_check") in keys
    store.close()
