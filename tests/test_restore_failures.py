"""Failures on the real restic: every way restic can fail or be damaged reads as a problem.

A wrapper placed as the configured restic (``restic_command``) runs the real one and breaks
what one command prints; the repository is damaged with the real files (a pack deleted, a byte
flipped in a blob); runs are killed with SIGKILL. Each must end UNKNOWN or CRITICAL with the
reason — never OK — and what was found must be remembered and named.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

import muni_watchdog.backup_tests.restic as restic_module
from lab.restic_lab import ResticLab, faulty_restic, hang_seconds
from muni_watchdog.backup_tests.drill import run_repository_check, run_restore_test
from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.report import BackupState
from muni_watchdog.backup_tests.restic_messages import subset_of_pack
from muni_watchdog.core.model import State

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("restic") is None, reason="restic not installed")]

ROOT = Path(__file__).resolve().parent.parent
BAD = (State.UNKNOWN, State.CRITICAL)


def params(lab: ResticLab, **extra) -> BackupParams:
    data = yaml.safe_load(lab.backups_yaml("clerk"))[0]
    return BackupParams(**(data | {"sample": {"files": 5}} | extra))


def run(backup: BackupParams, lab: ResticLab, state: BackupState | None = None):
    return asyncio.run(run_restore_test(
        backup, 86400, 4 * 3600, state or BackupState.initial(), full=False,
        clock=lambda: datetime.now(UTC), work_dir=lab.base / "state"))


def check_apart(backup: BackupParams, lab: ResticLab, state: BackupState | None = None):
    """The repository check as its own job (check_schedule) runs it."""
    return asyncio.run(run_repository_check(
        backup, state or BackupState.initial(), clock=lambda: datetime.now(UTC),
        work_dir=lab.base / "state"))


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory):
    """One small repository for the read-only failure matrix."""
    lab = ResticLab(tmp_path_factory.mktemp("matrix") / "lab").create(
        small_files=20, large_files=1, large_size=512 * 1024)
    lab.nightly_backup()
    return lab


# -- the failure-injection matrix ------------------------------------------------------------

# restic check's failures, inside a test and on its own schedule alike
CHECK_FAULTS = [
    ("check", "exit", State.CRITICAL, "restic check: exit code 2, not in restic's table"),
    ("check", "stderr", State.CRITICAL, "repository check found 1 error(s) in 1/12 of the "
     "stored data: error: injected failure"),
    ("check", "silent", State.UNKNOWN, "restic check exited 0 but printed nothing"),
    ("check", "half", State.UNKNOWN, "restic check exited 0 but stopped before its verdict"),
]

@pytest.mark.parametrize("command, fault, verdict, reason", [
    ("version", "exit", State.CRITICAL, "restic version: exit code 2, not in restic's table"),
    ("version", "stderr", State.UNKNOWN, "stderr says: error: injected failure"),
    ("version", "silent", State.UNKNOWN, "not restic version output"),
    ("version", "half", State.UNKNOWN, "not restic version output"),
    ("ls", "exit", State.CRITICAL, "restic ls: exit code 2, not in restic's table"),
    ("ls", "stderr", State.UNKNOWN, "restic ls exited 0, yet stderr says: error: injected"),
    ("ls", "silent", State.UNKNOWN, "restic ls printed nothing"),
    ("ls", "half", State.UNKNOWN, "restic ls output is cut or damaged"),
    ("restore", "exit", State.CRITICAL, "restic restore: exit code 2, not in restic's table"),
    ("restore", "stderr", State.UNKNOWN, "restic restore exited 0, yet stderr says: error"),
    ("restore", "silent", State.UNKNOWN, "restic restore exited 0 without 'finished verifying"),
    ("restore", "half", State.UNKNOWN, "restic restore exited 0 without 'finished verifying"),
    *CHECK_FAULTS,
])
def test_failure_matrix_never_ok(shared_lab, command, fault, verdict, reason):
    wrapper = faulty_restic(shared_lab.base / f"restic-{command}-{fault}", command, fault)
    report = run(params(shared_lab, restic_command=str(wrapper)), shared_lab)
    assert report.verdict is verdict, report.problems
    assert reason in report.summary
    assert os.listdir(shared_lab.base / "scratch") == []
    if command == "check" and verdict is State.UNKNOWN:
        # no verdict from the check: the rotation does not move on as if 1/12 had been read
        assert report.integrity_errors is None and report.state.subset_next == 1


def test_the_half_fault_cuts_inside_a_line(tmp_path):
    # A cut just after a newline leaves whole JSON lines: a shorter listing that nothing can
    # tell from a real one (the matrix's rare flake). The stand-in always cuts inside a line.
    real = tmp_path / "real"
    real.write_text("#!/bin/sh\nprintf 'abc\\ndef\\n'\n")   # 8 bytes: half is "abc\n"
    real.chmod(0o755)
    wrapper = faulty_restic(tmp_path / "wrapper", "ls", "half", real=str(real))
    out = subprocess.run([str(wrapper), "ls"], capture_output=True, timeout=30)
    assert (out.returncode, out.stdout) == (0, b"abc\nd")


@pytest.mark.parametrize("command, fault, verdict, reason", [
    ("version", "exit", State.CRITICAL, "restic version: exit code 2, not in restic's table"),
    ("version", "silent", State.UNKNOWN, "not restic version output"),
    *CHECK_FAULTS,
    ("check", "hang", State.UNKNOWN, "restic check: failed (no answer within 3 s; stopped)"),
])
def test_repository_check_apart_never_ok_on_failure(shared_lab, command, fault, verdict,
                                                    reason):
    wrapper = faulty_restic(shared_lab.base / f"restic-apart-{command}-{fault}", command, fault)
    report = check_apart(params(shared_lab, restic_command=str(wrapper), timeout="3s"),
                         shared_lab)
    assert report.kind == "repository_check"
    assert report.verdict is verdict, report.problems
    assert reason in report.summary
    if verdict is State.UNKNOWN:
        # no verdict: the rotation does not move on as if 1/12 had been read
        assert report.integrity_errors is None
        assert report.state.subset_next == 1


def test_sample_without_the_check_runs_no_restic_check(shared_lab):
    """With the check apart, a sample test is the listing and one restore: a broken
    ``restic check`` does not touch it, and the check's rotation is left as it was."""
    wrapper = faulty_restic(shared_lab.base / "restic-no-check", "check", "exit")
    backup = params(shared_lab, restic_command=str(wrapper))
    state = BackupState(subset_next=5, sample_seed="s", failed_subset=None)
    report = asyncio.run(run_restore_test(
        backup, 86400, 4 * 3600, state, full=False, clock=lambda: datetime.now(UTC),
        work_dir=shared_lab.base / "state", check=False))
    assert report.verdict is State.OK, report.problems
    assert report.subset is None and report.integrity_errors is None
    assert report.state.subset_next == 5 and report.state.sample_cursor != ""
    # the same state with the check inside the test does run it, and it fails
    inside = run(backup, shared_lab, state)
    assert inside.verdict is State.CRITICAL and "restic check: exit code 2" in inside.summary


def test_restic_that_never_answers_is_unknown_and_stopped(shared_lab):
    wrapper = faulty_restic(shared_lab.base / "restic-hang", "ls", "hang")
    report = run(params(shared_lab, restic_command=str(wrapper), timeout="3s"), shared_lab)
    assert report.verdict is State.UNKNOWN
    assert "restic ls: failed (no answer within 3 s; stopped)" in report.summary
    # SIGINT at the timeout ended it: the stand-in (an exec'd sleep) is not left running
    # (a moment allowed for its exit; another run's sleep has another length)
    sleep = f"sleep\0{hang_seconds(wrapper)}\0".encode()
    deadline = time.monotonic() + 5
    while [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline(pid) == sleep]:
        assert time.monotonic() < deadline, "the hung restic stand-in is still running"
        time.sleep(0.1)


def test_output_over_the_cap_is_cut_and_unknown(shared_lab, monkeypatch):
    monkeypatch.setattr(restic_module, "OUTPUT_CAP", 4096)  # ls --json of 20+ files is more
    report = run(params(shared_lab), shared_lab)
    assert report.verdict is State.UNKNOWN
    assert "restic ls cannot be trusted: printed more than 4096 bytes" in report.summary


@pytest.mark.parametrize("job", [run, check_apart], ids=["restore test", "check apart"])
def test_restic_missing_wrong_password_missing_repository(shared_lab, tmp_path, job):
    missing = job(params(shared_lab, restic_command=str(tmp_path / "no-restic")), shared_lab)
    assert missing.verdict is State.UNKNOWN
    assert "could not run restic" in missing.summary and "is not an executable" in \
        missing.summary
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-it\n")
    bad_password = job(params(shared_lab, password_file=str(wrong)), shared_lab)
    assert bad_password.verdict is State.CRITICAL and "wrong password" in bad_password.summary
    nothing = job(params(shared_lab, repository=str(tmp_path / "none")), shared_lab)
    assert nothing.verdict is State.CRITICAL and "does not exist" in nothing.summary


# -- damage: remembered, named ---------------------------------------------------------------

@pytest.fixture
def lab(tmp_path):
    lab = ResticLab(tmp_path / "lab").create(small_files=30, large_files=3,
                                             large_size=6 * 1024 * 1024)
    lab.nightly_backup()
    return lab


def test_damaged_subset_stays_read_and_critical_until_repaired(lab):
    scan = lab.source / "archive" / "scan-1.bin"
    pack, _, _ = lab.blob_locations(scan)[0]
    original = pack.read_bytes()
    lab.flip_byte_in(scan)
    k = subset_of_pack(pack.name, 256)
    backup = params(lab, read_data_subsets=256, sample={"files": 0})
    first = run(backup, lab, BackupState(subset_next=k, sample_seed="s"))
    assert first.verdict is State.CRITICAL
    assert first.subset == f"{k}/256" and first.damaged_packs == [pack.name]
    assert f"damaged packs: {pack.name[:12]}" in first.summary
    assert first.state.failed_subset == f"{k}/256" and first.state.subset_next == k
    # the next run reads the same subset again (before: the next one, and came back OK)
    second = run(backup, lab, first.state)
    assert second.subset == f"{k}/256" and second.verdict is State.CRITICAL
    assert "damaged since" in second.summary and second.damaged_packs == [pack.name]
    # repaired (the good pack is back): clean again, said so, and the rotation moves on
    pack.write_bytes(original)
    third = run(backup, lab, second.state)
    assert third.verdict is State.OK, third.problems
    assert "reads clean now" in third.summary and third.state.failed_subset is None
    assert third.state.subset_next == k % 256 + 1


def test_damage_found_apart_stays_until_it_reads_clean(lab):
    """The check on its own schedule remembers damage exactly as inside the test: the same
    subset is read at every check until it passes; sample tests in between leave it alone."""
    scan = lab.source / "archive" / "scan-1.bin"
    pack, _, _ = lab.blob_locations(scan)[0]
    original = pack.read_bytes()
    lab.flip_byte_in(scan)
    k = subset_of_pack(pack.name, 256)
    backup = params(lab, read_data_subsets=256, sample={"files": 0}, canaries=[])
    first = check_apart(backup, lab, BackupState(subset_next=k, sample_seed="s"))
    assert first.verdict is State.CRITICAL and first.damaged_packs == [pack.name]
    assert first.state.failed_subset == f"{k}/256"
    # a sample test between the checks (the damaged file is not chosen) keeps the failure
    between = asyncio.run(run_restore_test(
        backup, 86400, 4 * 3600, first.state, full=False, clock=lambda: datetime.now(UTC),
        work_dir=lab.base / "state", check=False))
    assert between.state.failed_subset == f"{k}/256" and between.subset is None
    second = check_apart(backup, lab, between.state)
    assert second.subset == f"{k}/256" and second.verdict is State.CRITICAL
    assert "damaged since" in second.summary
    pack.write_bytes(original)
    third = check_apart(backup, lab, second.state)
    assert third.verdict is State.OK, third.problems
    assert "reads clean now" in third.summary and third.state.subset_next == k % 256 + 1


def test_missing_pack_is_counted_and_named(lab):
    trees = lab.tree_packs()
    canary = {p.name for p, _, _ in lab.blob_locations(lab.canary)}
    data = [p for p in lab.data_packs() if p.is_file() and p.name not in trees]
    # restic fills packs in parallel: a small tree may leave no data pack without the canary
    # (then the canary's own pack goes, and the restore says so too)
    gone = next((p for p in data if p.name not in canary), data[0])
    gone.unlink()
    # read a subset without that pack: "does not exist" comes from the pack listing alone
    other = subset_of_pack(gone.name, 256) % 256 + 1
    backup = params(lab, read_data_subsets=256, sample={"files": 0})
    report = run(backup, lab, BackupState(subset_next=other, sample_seed="s"))
    assert report.verdict is State.CRITICAL
    assert report.missing_packs == [gone.name] and report.integrity_errors == 1
    assert f"missing packs: {gone.name[:12]}" in report.summary
    assert "does not exist" in report.summary
    data = report.as_json()["integrity"]
    assert data["missing_packs"] == [gone.name] and data["errors"] == 1


def test_nothing_to_verify_is_a_warning(tmp_path):
    empty = ResticLab(tmp_path / "empty")
    empty.source.mkdir(parents=True)
    (empty.source / "only-a-folder").mkdir()
    empty.create()
    empty.run("backup", "--host", "townhall", str(empty.source))
    backup = params(empty, canaries=[], source=None)
    report = run(backup, empty)
    assert report.verdict is State.WARNING, report.problems
    assert "nothing to verify: 0 of 0 restored files verified, the snapshot has no regular " \
        "files" in report.summary


def test_nothing_chosen_to_verify_is_a_warning(lab):
    report = run(params(lab, canaries=[], sample={"files": 0}), lab)
    assert report.verdict is State.WARNING and report.files == 0
    assert "nothing to verify: 0 of 0 restored files verified, no file was chosen" in \
        report.summary


# -- a killed run: restic dies with it, and a lock it could not remove is cleared -----------

def _config(tmp_path: Path, lab: ResticLab) -> Path:
    config = tmp_path / "c.yaml"
    config.write_text(f"""\
site: {{name: T}}
services:
  - {{id: clerk, name: C, priority: 2, rto: 4h, rpo: 1d, owner: {{name: A, contact: a@t}},
     backup_owner: {{name: B, contact: b@t}}}}
backups:
{lab.backups_yaml("clerk")}    lock_wait: 10s
""")
    return config


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _restic_children(pid: int, command: bytes = b"") -> list[int]:
    """The restic processes ``pid`` started (running ``command`` when given)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:]
            if name == "restic" and int(rest.split()[1]) == pid and rest.split()[0] != "Z" \
                    and (not command or b"\0" + command + b"\0" in b"\0" + _cmdline(entry)):
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_full_drill(config: Path, state_dir: Path, lab: ResticLab):
    """Start ``restore-test --full`` and return it and its restic restore once that holds
    its lock (not restic ls or check: they end too soon to be caught at work)."""
    cli = subprocess.Popen([sys.executable, "-m", "muni_watchdog", "restore-test", "--full",
                            "-c", str(config), "--state-dir", str(state_dir)], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    locks = Path(lab.repository) / "locks"
    deadline = time.monotonic() + 60
    while True:
        assert cli.poll() is None and time.monotonic() < deadline, "restore never started"
        children = _restic_children(cli.pid, b"restore")
        if any((lab.base / "scratch").iterdir()) and children and any(locks.iterdir()):
            time.sleep(0.5)  # past restic's lock creation: it holds it now
            # The lock seen may have been restic ls's beside the restore, gone by now: only a
            # restore still running with a lock in place is caught at work.
            children = _restic_children(cli.pid, b"restore")
            if children and any(locks.iterdir()):
                return cli, children
        time.sleep(0.01)


def _next_run(config: Path, state_dir: Path, *extra: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "muni_watchdog", "restore-test", "--json",
                           *extra, "-c", str(config), "--state-dir", str(state_dir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout)


@pytest.fixture
def big_lab(tmp_path):
    lab = ResticLab(tmp_path / "big").create(small_files=10, large_files=3,
                                             large_size=48 * 1024 * 1024)
    lab.nightly_backup()
    return lab


def test_sigkill_of_the_cli_takes_restic_along_and_leaves_no_lock(big_lab, tmp_path):
    config, state_dir = _config(tmp_path, big_lab), tmp_path / "state"
    cli, children = _start_full_drill(config, state_dir, big_lab)
    assert children, "restic was not started by the CLI"
    cli.send_signal(signal.SIGKILL)
    cli.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children):  # parent-death signal: SIGINT, then it ends
        assert time.monotonic() < deadline, "restic outlived the killed CLI"
        time.sleep(0.05)
    # restic removed its own lock on the way out (an orphan killed by EIO left it behind)
    assert list((Path(big_lab.repository) / "locks").iterdir()) == []
    data = _next_run(config, state_dir)
    assert data["verdict"] == "ok" and data["lock_cleared"] == []


def test_stale_lock_of_a_killed_run_is_cleared_and_said(big_lab, tmp_path):
    config, state_dir = _config(tmp_path, big_lab), tmp_path / "state"
    cli, children = _start_full_drill(config, state_dir, big_lab)
    for pid in [cli.pid, *children]:  # power loss, OOM killer: restic gets no chance either
        os.kill(pid, signal.SIGKILL)
    cli.wait(timeout=30)
    locks = list((Path(big_lab.repository) / "locks").iterdir())
    assert len(locks) == 1, "the killed restic should have left its lock"
    # a sample test only takes shared locks: the stale one does not stop it
    sample = _next_run(config, state_dir)
    assert sample["verdict"] == "ok" and sample["lock_cleared"] == [], sample["problems"]
    assert len(list((Path(big_lab.repository) / "locks").iterdir())) == 1
    # the repository check needs the repository alone: it clears the stale lock and says so
    data = _next_run(config, state_dir, "--check")
    assert data["verdict"] == "ok", data["problems"]
    assert [lock["pid"] for lock in data["lock_cleared"]] == children
    assert data["lock_cleared"][0]["id"] == locks[0].name[:8]
    assert "cleared a stale restic lock left by a killed run" in data["summary"]
    assert list((Path(big_lab.repository) / "locks").iterdir()) == []
