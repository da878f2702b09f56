"""Restore tests against the real restic (Debian's) and real repositories in temp directories."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from lab.restic_lab import ResticLab
from muni_watchdog.backup_tests.drill import run_restore_test
from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.report import BackupState, report_to_outcome
from muni_watchdog.backup_tests.restic_messages import subset_of_pack
from muni_watchdog.backup_tests.restic_output import parse_version
from muni_watchdog.core.model import State

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("restic") is None, reason="restic not installed")]

ROOT = Path(__file__).resolve().parent.parent
DAY = 86400


@pytest.fixture
def lab(tmp_path):
    lab = ResticLab(tmp_path / "lab").create(small_files=40, large_files=1,
                                             large_size=1024 * 1024)
    lab.nightly_backup()
    return lab


def params(lab: ResticLab, **extra) -> BackupParams:
    data = yaml.safe_load(lab.backups_yaml("clerk"))[0]
    return BackupParams(**(data | {"sample": {"files": 10}} | extra))


def run(backup: BackupParams, lab: ResticLab, *, full=False, state=None, clock=None,
        rpo=DAY, rto=4 * 3600, **kwargs):
    return asyncio.run(run_restore_test(
        backup, rpo, rto, state or BackupState.initial(), full=full,
        clock=clock or (lambda: datetime.now(UTC)), work_dir=lab.base / "state", **kwargs))


def scratch_entries(lab: ResticLab) -> list[str]:
    return os.listdir(lab.base / "scratch")


def test_clean_run_passes_with_exact_counts(lab):
    report = run(params(lab), lab)
    assert report.verdict is State.OK, report.problems
    data = report.as_json()
    version = subprocess.run(["restic", "version"], capture_output=True, text=True).stdout
    assert data["restic_version"] == str(parse_version(version))
    # 10 random files, the canary, and (every other run) the larger probe file for timing
    assert data["sample"] == {"files": 12, "bytes": data["sample"]["bytes"], "verified": 12,
                              "mismatched": 0, "missing": 0, "changed_since_backup": 0}
    assert data["sample"]["bytes"] >= 1024 * 1024  # the probe: the lab's 1 MiB scan
    canary_size = lab.canary.stat().st_size
    assert data["sample"]["bytes"] > canary_size
    assert data["integrity"] == {"subset": "1/12", "errors": 0, "damaged_packs": [],
                                 "missing_packs": []}
    assert data["lock_cleared"] == []
    assert data["canaries"] == [{"path": str(lab.canary), "status": "ok"}]
    assert 0 <= data["snapshot"]["age_seconds"] < 120
    assert data["timing"]["restore_seconds"] > 0 and data["timing"]["rto_seconds"] == 14400
    assert data["timing"]["estimated_full_restore_seconds"] > 0
    # one run alone: only an upper bound is honest, and it says so
    assert data["timing"]["estimate_kind"] == "upper_bound"
    assert data["timing"]["estimate_basis"].startswith("upper bound from this one sample run")
    assert report.state.subset_next == 2 and report.state.sample_cursor
    assert report.recovery_point is not None
    assert report_to_outcome(report).state is State.OK
    assert scratch_entries(lab) == []
    # the next run continues the rotation: a new slice and other files
    again = run(params(lab), lab, state=report.state)
    assert again.subset == "2/12" and again.verdict is State.OK
    assert again.files == 11  # no probe this time: runs of two sizes for the timing model
    assert again.state.sample_cursor > report.state.sample_cursor or again.state.sample_cycle


def test_full_drill_restores_everything_and_calibrates(lab):
    report = run(params(lab), lab, full=True)
    assert report.verdict is State.OK, report.problems
    assert report.files == 42  # 40 documents, 1 scan, the canary
    assert report.verified == 42
    assert report.estimate_kind == "measured"
    assert report.estimate_basis.startswith("measured by this full drill: ")
    assert report.estimated_full_restore_seconds == report.restore_seconds
    assert report.state.drill_bytes_per_second > 0
    assert [t["full"] for t in report.state.timings] == [True]
    # a sample far smaller than the drill (its probe cannot take the 1 MiB scan)
    sample = run(params(lab, sample={"files": 2, "max_file_size": 500_000}), lab,
                 state=report.state)
    assert [t["full"] for t in sample.state.timings] == [True, False]
    # whether a 2 MB lab's timings show a slope is up to the machine's noise (the fit itself
    # is tested on numbers in test_restore_model); either way the basis says what it is
    if sample.estimate_kind == "fit":
        assert sample.estimate_basis.startswith("estimate from 1 sample run and 1 full drill: ")
    else:
        assert sample.estimate_kind is None
        assert sample.estimate_basis.startswith("not estimated: this run restored ")


def test_flipped_byte_found_by_read_data_and_reported_critical(lab):
    pack = lab.flip_byte_in(lab.source / "archive" / "scan-0.bin")
    report = run(params(lab, read_data_subsets=1), lab)
    assert report.verdict is State.CRITICAL
    assert report.integrity_errors >= 1
    text = " ".join(p.text for p in report.problems)
    assert "repository check found" in text and "in all of the stored data" in text
    assert pack.name[:8] in text  # names what is damaged
    assert report.damaged_packs == [pack.name]
    assert scratch_entries(lab) == []


def test_flipped_byte_found_by_restore_verify_when_subset_misses_it(lab):
    # deterministic: the byte flipped lies inside a data blob of scan-0.bin (found through the
    # snapshot's trees and the index), and the subset read is one without that pack
    scan = lab.source / "archive" / "scan-0.bin"
    pack = lab.flip_byte_in(scan)
    other = subset_of_pack(pack.name, 256) % 256 + 1
    backup = params(lab, read_data_subsets=256, sample={"files": 1000,
                                                        "critical_paths": ["/"]})
    report = run(backup, lab, state=BackupState(subset_next=other, sample_seed="s"))
    assert report.subset == f"{other}/256"
    assert report.integrity_errors == 0  # the slice read did not include the pack
    assert report.verdict is State.CRITICAL
    [damaged] = [p.text for p in report.problems if "did not restore intact" in p.text]
    assert damaged.startswith(f"1 file(s) did not restore intact: {scan} — restic: ")
    assert "ciphertext verification failed" in damaged
    assert report.mismatched == 1 and report.verified == report.files - 1
    assert scratch_entries(lab) == []


def test_snapshot_older_than_rpo_is_flagged(lab):
    backup = params(lab, canary_max_age="30d")
    later = datetime.now(UTC) + timedelta(hours=30)
    warn = run(backup, lab, clock=lambda: later)
    assert warn.verdict is State.WARNING
    assert warn.problems[0].text.startswith("newest snapshot 30 hours old (rpo 24 hours)")
    much_later = datetime.now(UTC) + timedelta(days=3)
    crit = run(backup, lab, clock=lambda: much_later)
    assert crit.verdict is State.CRITICAL
    # the canary bounds the recovery point too
    stale = run(params(lab), lab, clock=lambda: much_later)
    assert any("canary" in p.text and "stale" in p.text for p in stale.problems)


def test_wrong_password_says_so(lab, tmp_path):
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-it\n")
    report = run(params(lab, password_file=str(wrong)), lab)
    assert report.verdict is State.CRITICAL
    assert report.summary.startswith("wrong password for repository of backup clerk-share")
    assert "not-it" not in report.summary


def test_missing_repository_is_critical(lab, tmp_path):
    report = run(params(lab, repository=str(tmp_path / "nothing")), lab)
    assert report.verdict is State.CRITICAL
    assert "does not exist" in report.summary


def test_lock_held_by_another_restic_retries_then_unknown(lab):
    # a backup reading stdin holds its lock until stdin closes; check needs an exclusive lock
    holder = subprocess.Popen(["restic", "backup", "--stdin", "--stdin-filename", "dump.sql"],
                              env=lab.env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    delays = []

    async def fast_sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0.2)

    try:
        deadline = time.monotonic() + 10
        while not list((Path(lab.repository) / "locks").iterdir()):
            assert time.monotonic() < deadline, "restic did not take its lock"
            time.sleep(0.05)
        report = run(params(lab, lock_wait="3s"), lab, sleep=fast_sleep)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert report.verdict is State.UNKNOWN
    assert "repository is locked" in report.summary and "postponed" in report.summary
    assert delays[:2] == [2.0, 4.0][:len(delays[:2])] and len(delays) >= 1
    assert report.lock_cleared == []  # its owner is alive: never removed
    assert scratch_entries(lab) == []
    # once the backup is done the next run passes and no lock was removed by force
    assert run(params(lab), lab).verdict is State.OK


def test_changed_canary_is_critical(lab):
    body = json.loads(lab.canary.read_text())
    body["created_at"] = datetime.now(UTC).isoformat()  # edited: the digest no longer matches
    lab.canary.write_text(json.dumps(body))
    lab.run("backup", "--host", "townhall", str(lab.source))
    report = run(params(lab), lab)
    assert report.verdict is State.CRITICAL
    assert report.canaries == [{"path": str(lab.canary), "status": "corrupt"}]
    assert "content changed" in report.summary


def test_file_changed_after_backup_is_not_corruption(lab):
    doc = next(lab.source.rglob("doc-00003.txt"))
    time.sleep(0.01)
    doc.write_bytes(b"edited by the clerk after the backup")
    tree_path = str(doc)
    report = run(params(lab, sample={"files": 0, "critical_paths": [tree_path]}), lab)
    assert report.verdict is State.OK, report.problems
    assert report.changed_since_backup == 1 and report.mismatched == 0
    assert report.files == 2  # the changed file and the canary


def test_critical_folder_restored_whole_by_its_own_pattern(lab):
    # the folder is one --include pattern (issue 16): restic must still restore every file
    # under it, each verified; a file missing from the restore would count as damaged
    folder = lab.source / "dept-1"
    under = sorted(p for p in folder.rglob("*") if p.is_file())
    report = run(params(lab, sample={"files": 0, "critical_paths": [str(folder) + "/"]}), lab)
    assert report.verdict is State.OK, report.problems
    assert report.files == len(under) + 1 == report.verified   # and the canary
    assert report.mismatched == 0


def test_excluded_file_is_missing_from_backup(lab):
    (lab.source / "dept-0" / "budget.xlsx").write_bytes(b"numbers")
    lab.run("backup", "--host", "townhall", "--exclude", "*.xlsx", str(lab.source))
    report = run(params(lab, sample={"files": 1000}), lab)
    assert report.verdict is State.WARNING
    assert report.missing == 1
    assert "missing from the backup" in report.summary
    assert str(lab.source / "dept-0" / "budget.xlsx") in report.summary


def test_cli_restore_test_json_contract_and_store(lab, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"""\
site: {{name: T}}
services:
  - id: clerk
    name: Clerk records
    priority: 2
    rto: 4h
    rpo: 1d
    owner: {{name: A, contact: a@t.example}}
    backup_owner: {{name: B, contact: b@t.example}}
    backups: [clerk-share]
backups:
{lab.backups_yaml("clerk")}""")
    state_dir = tmp_path / "state"
    cmd = [sys.executable, "-m", "muni_watchdog", "restore-test", "-c", str(config),
           "--state-dir", str(state_dir)]
    out = subprocess.run([*cmd, "--json"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["backup"] == "clerk-share" and data["verdict"] == "ok"
    assert data["sample"]["files"] == 42 and data["sample"]["verified"] == 42  # all of them
    text = subprocess.run(cmd + ["clerk-share"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert text.returncode == 0
    assert text.stdout.startswith("clerk-share (service clerk): OK — sample test")
    # the repository check has its own schedule (check_schedule, the default): not in the test
    assert "integrity  the repository check runs on its own" in text.stdout
    assert data["integrity"]["subset"] is None and data["kind"] == "restore_test"
    # --check runs it now, one rotating subset after the other
    check = subprocess.run([*cmd, "--check", "--json"], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
    assert check.returncode == 0, check.stderr
    checked = json.loads(check.stdout)
    assert checked["kind"] == "repository_check" and checked["integrity"]["errors"] == 0
    assert checked["sample"]["files"] == 0 and checked["snapshot"]["id"] is None
    text = subprocess.run(cmd + ["--check", "clerk-share"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert text.stdout.startswith("clerk-share (service clerk): OK — repository check")
    assert "integrity  check of 2/12 of the stored data: 0 error(s)" in text.stdout
    both = subprocess.run(cmd + ["--check", "--full"], capture_output=True, text=True, cwd=ROOT)
    assert both.returncode == 2 and "exclude each other" in both.stderr
    unknown = subprocess.run(cmd + ["nope"], capture_output=True, text=True, cwd=ROOT)
    assert unknown.returncode == 2 and "known: clerk-share" in unknown.stderr
    from muni_watchdog.store.database import Store
    store = Store.open(state_dir, readonly=True)
    assert [r["integrity_subset"] for r in store.restore_tests()] == [None, None]
    assert [r["integrity_subset"] for r in store.restore_tests(kind="repository_check")] == \
        ["2/12", "1/12"]
    assert BackupState.from_dict(store.restore_test_state("clerk-share")).subset_next == 3
    store.close()


def test_sigterm_mid_restore_leaves_no_scratch(tmp_path):
    lab = ResticLab(tmp_path / "big").create(small_files=10, large_files=3,
                                             large_size=48 * 1024 * 1024)
    lab.nightly_backup()
    config = tmp_path / "c.yaml"
    config.write_text(f"""\
site: {{name: T}}
services:
  - {{id: clerk, name: C, priority: 2, rto: 4h, rpo: 1d, owner: {{name: A, contact: a@t}},
     backup_owner: {{name: B, contact: b@t}}}}
backups:
{lab.backups_yaml("clerk")}""")
    proc = subprocess.Popen([sys.executable, "-m", "muni_watchdog", "restore-test", "--full",
                             "-c", str(config), "--state-dir", str(tmp_path / "state")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    scratch = lab.base / "scratch"
    while not any(scratch.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "restore never started"
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert list(scratch.iterdir()) == []


def test_sftp_repository_through_a_test_sshd(tmp_path):
    import pwd

    from lab.ssh_lab import SshLab

    class SftpLab(SshLab):
        def _config(self) -> str:
            return super()._config() + "Subsystem sftp internal-sftp\n"

    sshd = SftpLab(log_level="INFO").start()
    remote = Path("/nonexistent")
    try:
        known_hosts = sshd.pin(tmp_path / "known_hosts")
        ssh = (f"ssh -F /dev/null -p {sshd.port} -i {sshd.client_key} -o BatchMode=yes "
               f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes "
               f"{sshd.user}@127.0.0.1 -s sftp")
        # the sshd runs as an unprivileged account, which cannot enter pytest's 0700 tmp_path
        remote = Path(tempfile.mkdtemp(prefix="muni-sftp-repo-"))
        remote.chmod(0o755)
        account = pwd.getpwnam(sshd.user)
        os.chown(remote, account.pw_uid, account.pw_gid)
        lab = ResticLab(tmp_path / "lab")
        lab.repository = f"sftp:restic-lab:{remote}/repo"
        lab.options = [f"sftp.command={ssh}"]
        lab.create(small_files=20, large_files=1, large_size=256 * 1024)
        lab.nightly_backup()
        report = run(params(lab, options=lab.options), lab)
        assert report.verdict is State.OK, report.problems
        assert report.files == 12 and report.verified == 12  # with the probe file
        assert report.canaries[0]["status"] == "ok"
        assert scratch_entries(lab) == []
    finally:
        sshd.stop()
        shutil.rmtree(remote, ignore_errors=True)


def test_restic_version_is_asked_once_per_binary(lab):
    calls = lab.base / "calls.log"
    wrapper = lab.base / "restic-wrapper"
    wrapper.write_text(f"#!/bin/sh\necho \"$1\" >> {calls}\nexec restic \"$@\"\n")
    wrapper.chmod(0o755)
    backup = params(lab, restic_command=str(wrapper))
    first = run(backup, lab)
    second = run(backup, lab, state=first.state)
    assert first.verdict is second.verdict is State.OK, second.problems
    assert second.restic_version == first.restic_version == first.state.restic_version
    assert calls.read_text().split().count("version") == 1
    os.utime(wrapper, ns=(0, 0))  # "upgraded": a different binary must be asked again
    run(backup, lab, state=second.state)
    assert calls.read_text().split().count("version") == 2
    # the check still runs on every run, after the restore
    assert calls.read_text().split().count("check") == 3
