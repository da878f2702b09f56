"""The restore beside the listing (issue 16): from the second run on, a restore test chooses
its files from the previous run's listing and starts ``restic restore latest`` beside
``restic ls``. What it verifies against is still the new listing, and a restore that found
another snapshot (a backup finished between the two commands) is done again by the listed
snapshot's id — on the real restic."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import UTC, datetime

import pytest
import yaml

from lab.restic_lab import ResticLab
from muni_watchdog.backup_tests.drill import run_restore_test
from muni_watchdog.backup_tests.listing_cache import load_listing, save_listing
from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.report import BackupState
from muni_watchdog.backup_tests.restic_output import Node, Snapshot
from muni_watchdog.backup_tests.verify import same_snapshot
from muni_watchdog.core.model import State

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("restic") is None, reason="restic not installed")]

OVERLAP = "while restic lists the snapshot"


def params(lab: ResticLab, **extra) -> BackupParams:
    data = yaml.safe_load(lab.backups_yaml("clerk"))[0]
    return BackupParams(**(data | {"sample": {"files": 8}} | extra))


def run(backup: BackupParams, lab: ResticLab, state: BackupState, full: bool = False):
    said: list[str] = []
    report = asyncio.run(run_restore_test(
        backup, 86400, 4 * 3600, state, full=full, clock=lambda: datetime.now(UTC),
        work_dir=lab.base / "state", progress=said.append, check=False))
    return report, said


@pytest.fixture
def lab(tmp_path):
    lab = ResticLab(tmp_path / "lab").create(small_files=40, large_files=1,
                                             large_size=512 * 1024)
    lab.nightly_backup()
    return lab


def test_second_run_restores_beside_the_listing_and_verifies_the_new_snapshot(lab):
    backup = params(lab, sample={"files": 8, "critical_paths": [str(lab.source / "dept-1")]})
    first, said = run(backup, lab, BackupState.initial())
    assert first.verdict is State.OK, first.problems
    assert not any(OVERLAP in line for line in said)          # no listing kept yet
    assert load_listing(lab.base / "state", backup) is not None
    # the share changes and is backed up again: new files, a deleted one, a changed one
    (lab.source / "dept-1" / "new-minutes.txt").write_bytes(b"minutes of the meeting")
    gone = next(p for p in sorted((lab.source / "dept-2").rglob("*.txt")))
    gone.unlink()
    lab.nightly_backup()
    second, said = run(backup, lab, first.state)
    assert any(OVERLAP in line for line in said), said
    assert second.verdict is State.OK, second.problems
    # verified against the new listing: the new file of the critical folder is restored and
    # counted, the deleted file is not looked for
    critical = [n for n in load_listing(lab.base / "state", backup)
                if n.path.startswith(str(lab.source / "dept-1") + "/")]
    assert str(lab.source / "dept-1" / "new-minutes.txt") in {n.path for n in critical}
    assert second.files >= len(critical) + 1 and second.verified == second.files
    assert second.snapshot_id != first.snapshot_id
    # the rotation moved on as in a run without the head start
    assert second.state.sample_cursor != first.state.sample_cursor
    assert second.coverage > first.coverage


def test_restore_of_another_snapshot_is_done_again_by_id(lab, tmp_path):
    """A backup finishing between ``ls`` and ``restore``: simulated by a restic whose
    ``restore latest`` restores the snapshot before the newest."""
    backup_params = params(lab)
    first, _ = run(backup_params, lab, BackupState.initial())
    older = lab.nightly_backup()
    for path in sorted(lab.source.rglob("*.txt")):   # every document changes
        path.write_bytes(path.read_bytes() + b" amended")
    lab.nightly_backup()
    log = tmp_path / "restores.log"
    wrapper = tmp_path / "restic-racing"
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = restore ]; then echo "$2" >> {log}; fi\n'
                       f'if [ "$1" = restore ] && [ "$2" = latest ]; then\n'
                       f'  shift 2; exec restic restore {older} "$@"\nfi\n'
                       'exec restic "$@"\n')
    wrapper.chmod(0o755)
    racing = params(lab, restic_command=str(wrapper))
    second, said = run(racing, lab, first.state)
    assert any(OVERLAP in line for line in said)
    restores = log.read_text().split()
    assert restores[0] == "latest" and restores[1] == second.snapshot_id  # again, by id
    assert second.verdict is State.OK, second.problems     # no false "did not restore intact"
    assert second.verified == second.files > 0


def test_full_drill_restores_beside_the_listing(lab):
    backup = params(lab)
    first, _ = run(backup, lab, BackupState.initial())
    drill, said = run(backup, lab, first.state, full=True)
    assert any(OVERLAP in line and "full drill" in line for line in said), said
    assert drill.verdict is State.OK, drill.problems
    files = [n for n in load_listing(lab.base / "state", backup)]
    assert drill.files == len(files) and drill.verified == drill.files


@pytest.mark.parametrize("content", ["", "not json", '{"key": [1], "files": []}',
                                     '{"key": "x"}', "[]"])
def test_unusable_listing_is_no_head_start(lab, content):
    backup = params(lab)
    first, _ = run(backup, lab, BackupState.initial())
    cache = lab.base / "state" / "listings" / f"{backup.id}.json"
    assert cache.is_file() and oct(cache.stat().st_mode & 0o777) == "0o600"
    cache.write_text(content)
    assert load_listing(lab.base / "state", backup) is None
    second, said = run(backup, lab, first.state)
    assert second.verdict is State.OK and not any(OVERLAP in line for line in said)
    assert load_listing(lab.base / "state", backup) is not None   # written anew


def test_listing_of_another_series_is_not_used(tmp_path):
    base = BackupParams(id="b", service="s", repository="/r", password_file="/p", host="a")
    save_listing(tmp_path, base, [Node("/s/a", "file", 1, None)])
    assert load_listing(tmp_path, base) == [Node("/s/a", "file", 1, None)]
    for other in (base.model_copy(update={"host": "b"}),
                  base.model_copy(update={"repository": "/other"}),
                  base.model_copy(update={"tags": ["x"]})):
        assert load_listing(tmp_path, other) is None


def test_same_snapshot_reads_sizes_times_and_restic_014s_line(tmp_path):
    restored = tmp_path / "srv" / "a.txt"
    restored.parent.mkdir(parents=True)
    restored.write_bytes(b"12345")
    os.utime(restored, (1_700_000_000, 1_700_000_000))
    snap = Snapshot("0123456789abcdef", "01234567", datetime.now(UTC), "h", ("/srv",))
    node = Node("/srv/a.txt", "file", 5, "2023-11-14T22:13:20.000000001Z")

    class Run:
        stdout = ""

    assert same_snapshot(Run, snap, tmp_path, [node])
    assert not same_snapshot(Run, snap, tmp_path, [Node("/srv/a.txt", "file", 6, None)])
    assert not same_snapshot(Run, snap, tmp_path, [Node("/srv/b.txt", "file", 5, None)])
    later = Node("/srv/a.txt", "file", 5, "2023-11-14T23:13:20+01:00")  # same instant
    assert same_snapshot(Run, snap, tmp_path, [later])
    assert not same_snapshot(Run, snap, tmp_path, [Node("/srv/a.txt", "file", 5,
                                                        "2023-11-14T22:13:25Z")])
    Run.stdout = "restoring <Snapshot 89abcdef of [/srv] at 2026 by root@vm> to /t\n"
    assert not same_snapshot(Run, snap, tmp_path, [node])
    Run.stdout = "restoring <Snapshot 01234567 of [/srv] at 2026 by root@vm> to /t\n"
    assert same_snapshot(Run, snap, tmp_path, [node])
    assert json.loads(json.dumps(node.mtime)) == node.mtime
