"""Pure decisions of the restore tests: which subset the check reads (and keeps reading after
damage), how long a full restore takes, which restic locks may be cleared. No restic here."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from muni_watchdog.backup_tests.integrity import judge_check, plan_check
from muni_watchdog.backup_tests.report import BackupState, RestoreTestReport
from muni_watchdog.backup_tests.restic_messages import subset_of_pack
from muni_watchdog.backup_tests.restic_verdicts import CheckResult
from muni_watchdog.backup_tests.restore_timing import (
    TimedRestore,
    fit_model,
    judge_rto,
    remember,
)
from muni_watchdog.backup_tests.stale_locks import LockInfo, dead_owner_locks
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
PACK = "a56be873b4548df430c947e186ec7bd3e06b4b0aaa1dbb7e58f058032ae7dba3"
DAMAGED = CheckResult(1, (f"Pack ID does not match, want {PACK}, got 93804c3f",), (PACK,))
CLEAN = CheckResult(0)


# -- a failed subset is not forgotten ---------------------------------------------------------

def run_check(state: BackupState, result: CheckResult, n: int = 12, now=NOW):
    plan = plan_check(state, n)
    level, text, new = judge_check(result, plan, state, n, now)
    return plan, level, text, new


def test_rotation_advances_while_clean():
    plan, level, text, state = run_check(BackupState(subset_next=5), CLEAN)
    assert plan.arg == "--read-data-subset=5/12" and level is State.OK
    assert text == "repository check of 5/12 clean" and state.subset_next == 6
    plan, *_ = run_check(BackupState(subset_next=12), CLEAN)
    assert run_check(BackupState(subset_next=12), CLEAN)[3].subset_next == 1


def test_damaged_subset_is_read_again_and_stays_critical_until_it_passes():
    _, level, text, state = run_check(BackupState(subset_next=5), DAMAGED)
    assert level is State.CRITICAL and "damaged packs: a56be873b454" in text
    assert "in 5/12 of the stored data" in text
    assert state.failed_subset == "5/12" and state.subset_next == 5
    assert state.failed_packs == (PACK,) and state.failed_since == NOW.isoformat()
    # next week: the same subset again (the old code read 6/12, passed, and "recovered")
    plan, level, text, state = run_check(state, DAMAGED, now=LATER)
    assert plan.arg == "--read-data-subset=5/12" and plan.retry
    assert level is State.CRITICAL and "damaged since 2026-11-22" in text
    assert state.failed_since == NOW.isoformat()  # the first sighting is kept
    # a clean run of the same subset with nothing else changed: still that subset
    plan, level, text, state = run_check(state, CLEAN, now=LATER)
    assert plan.subset == "5/12" and level is State.OK
    assert "clean again: the damage found on 2026-11-22 (packs a56be873b454) reads clean now" \
        in text
    assert state.failed_subset is None and state.failed_packs == () and state.subset_next == 6


def test_a_check_without_verdict_changes_nothing():
    _, _, _, failed = run_check(BackupState(subset_next=5), DAMAGED)
    unknown = CheckResult(None, problem="restic check exited 0 but printed nothing")
    plan, level, text, state = run_check(failed, unknown)
    assert level is State.UNKNOWN and "printed nothing" in text
    assert state == failed  # neither forgotten nor advanced
    _, _, _, state = run_check(BackupState(subset_next=3), unknown)
    assert state.subset_next == 3


def test_failed_subset_in_another_numbering_reads_everything_once():
    _, _, _, failed = run_check(BackupState(subset_next=5), DAMAGED)
    plan = plan_check(failed, 24)  # read_data_subsets changed from 12 to 24 since
    assert plan.arg == "--read-data" and plan.subset == "all" and plan.retry
    _, level, _, state = run_check(failed, CLEAN, n=24)
    assert level is State.OK and state.failed_subset is None
    assert state.subset_next == 5  # the rotation resumes where it was
    # with read_data_subsets 1 every check is a full read, and a failure is still remembered
    _, level, text, state = run_check(BackupState(), DAMAGED, n=1)
    assert level is State.CRITICAL and state.failed_subset == "all"
    assert run_check(state, DAMAGED, n=1, now=LATER)[2].endswith(
        "this subset is read again at every test until it passes")


def test_subset_of_pack_follows_restic_buckets():
    # restic: (first byte of the pack id) % N == k - 1
    assert subset_of_pack(PACK, 256) == 0xA5 + 1
    assert subset_of_pack(PACK, 12) == 0xA5 % 12 + 1
    assert subset_of_pack("zz", 12) is None and subset_of_pack(PACK, 1) == 1


# -- the full restore time: start-up + bytes / throughput ----------------------------------

TRUE_STARTUP, TRUE_RATE, SNAPSHOT = 1.6, 180e6, 1_000_000_000  # the 1 GB repository


def measured(size: int, noise: float = 0.0) -> float:
    return TRUE_STARTUP + size / TRUE_RATE + noise


def old_estimate(size: int, seconds: float, list_seconds: float) -> float:
    """What the old code did: the sample's residual rate applied to the whole snapshot."""
    transfer = max(seconds - list_seconds, seconds * 0.1)
    return list_seconds + SNAPSHOT / (size / transfer)


def test_fit_from_sample_runs_is_close_where_the_old_estimate_was_far_off():
    rng = random.Random(4)
    sizes = [2_600_000, 48_000_000, 9_500_000, 70_000_000]  # 50-file samples: some with scans
    history: tuple = ()
    olds = []
    for size in sizes:
        seconds = measured(size, rng.uniform(-0.08, 0.08))
        olds.append(old_estimate(size, seconds, list_seconds=0.6))
        run = TimedRestore(size, seconds)
        model = fit_model(history, run, startup_floor=0.6)
        history = remember(history, run)
    truth = measured(SNAPSHOT)
    assert model.kind == "fit" and model.samples == 4
    assert 0.8 * truth <= model.seconds(SNAPSHOT) <= 1.6 * truth
    assert max(olds) > 3 * truth  # the defect: small samples dominated by start-up
    assert model.basis(SNAPSHOT).startswith("estimate from 4 sample runs: ")
    assert " s start-up + 1.0 GB at " in model.basis(SNAPSHOT)


def test_a_single_run_is_only_an_upper_bound_and_says_so():
    size = 3_000_000
    model = fit_model((), TimedRestore(size, measured(size)), startup_floor=0.6)
    assert model.kind == "upper_bound"
    assert model.seconds(SNAPSHOT) >= measured(SNAPSHOT)
    assert model.basis(SNAPSHOT).startswith("upper bound from this one sample run")
    # runs of one size cannot tell start-up from throughput either
    history = remember((), TimedRestore(size, measured(size)))
    assert fit_model(history, TimedRestore(size + 1000, measured(size)), 0.6).kind == \
        "upper_bound"


def test_a_drill_anchors_the_fit_and_is_itself_a_measurement():
    drill = TimedRestore(SNAPSHOT, measured(SNAPSHOT), full=True)
    model = fit_model((), drill, startup_floor=0.6)
    assert model.kind == "measured" and model.seconds(SNAPSHOT) == pytest.approx(drill.seconds)
    history = remember((), drill)
    sample = TimedRestore(3_000_000, measured(3_000_000))
    model = fit_model(history, sample, startup_floor=0.6)
    assert model.kind == "fit" and model.drills == 1 and model.samples == 1
    assert model.seconds(SNAPSHOT) == pytest.approx(measured(SNAPSHOT), rel=0.01)
    assert model.startup_seconds == pytest.approx(TRUE_STARTUP, abs=0.05)
    assert model.basis(SNAPSHOT).startswith("estimate from 1 sample run and 1 full drill: ")


def test_a_canary_sized_run_gives_no_estimate_at_all():
    assert fit_model((), TimedRestore(227, 0.85), startup_floor=0.5) is None


def test_larger_not_slower_gives_no_slope():
    history = remember((), TimedRestore(2_000_000, 3.0))
    model = fit_model(history, TimedRestore(40_000_000, 2.0), startup_floor=0.5)
    assert model.kind == "upper_bound"  # noise, not a throughput


def test_history_is_bounded_and_survives_the_store():
    history: tuple = ()
    for i in range(20):
        history = remember(history, TimedRestore(i * 1000, 1.0 + i, at=f"2026-11-{i + 1:02d}"))
    assert len(history) == 12 and history[-1]["at"] == "2026-11-20"
    from muni_watchdog.daemon.restore_tests import report_row
    store = Store.memory()
    state = BackupState(sample_seed="s", timings=history, failed_subset="3/12",
                        failed_packs=(PACK,), failed_since=NOW.isoformat())
    store.record_restore_test(report_row(RestoreTestReport("b", "s", NOW)), state.as_dict())
    again = BackupState.from_dict(json.loads(json.dumps(store.restore_test_state("b"))))
    assert again == state


@pytest.mark.parametrize("percent, kind, expected", [
    (50, "fit", State.OK), (90, "fit", State.WARNING), (150, "fit", State.WARNING),
    (400, "upper_bound", State.WARNING),
    (50, "measured", State.OK), (90, "measured", State.WARNING),
    (150, "measured", State.CRITICAL),
])
def test_rto_critical_only_from_a_measured_drill(percent, kind, expected):
    from muni_watchdog.backup_tests.restore_timing import RestoreModel
    model = RestoreModel(1.0, 1e8, kind)
    rto = 3600
    level, text = judge_rto(rto * percent / 100, rto, 80, 100, model, "basis")
    assert level is expected
    if kind != "measured" and percent > 100:
        assert text.endswith("estimate exceeds the RTO — run a full drill to confirm")
    assert ("took" if kind == "measured" else "estimated at") in text


# -- stale locks: only a dead owner on this host ----------------------------------------------

def test_only_locks_of_dead_processes_on_this_host_are_stale():
    mine_dead = LockInfo("a" * 64, "townhall", 4242, NOW, True)
    mine_alive = LockInfo("b" * 64, "townhall", 1, NOW, False)
    elsewhere = LockInfo("c" * 64, "nas", 4242, NOW, True)
    no_pid = LockInfo("d" * 64, "townhall", 0, NOW, True)
    from muni_watchdog.backup_tests.stale_locks import pid_alive
    alive = {1}.__contains__
    assert dead_owner_locks([mine_dead, mine_alive, elsewhere], "townhall", alive) == \
        [mine_dead]
    assert dead_owner_locks([no_pid], "townhall") == []  # pid 0 is never "provably dead"
    assert pid_alive(1) and not pid_alive(2**22 + 12345)
    assert mine_dead.describe() == "exclusive lock aaaaaaaa of PID 4242 on townhall from " \
        "2026-11-22 03:00 UTC"


# -- the probe: every other sample restores larger files, so there are two sizes to fit ----

def test_probe_adds_larger_files_within_the_caps():
    from muni_watchdog.backup_tests.params import SampleParams
    from muni_watchdog.backup_tests.restic_output import Node
    from muni_watchdog.backup_tests.sampling import PROBE_MIN, Rotation, select_sample
    small = [Node(f"/s/doc{i}", "file", 30_000, None) for i in range(500)]
    scans = [Node(f"/s/scan{i}", "file", 32_000_000, None) for i in range(20)]
    params = SampleParams(files=50, max_file_size=256_000_000)
    plain = select_sample(small + scans, [], params, Rotation("seed"))
    probed = select_sample(small + scans, [], params, Rotation("seed"), probe=True)
    assert plain.probe == () and len(probed.probe) >= 3
    assert set(plain.paths) < set(probed.paths)  # the same random sample, plus the probe
    assert sum(n.size for n in probed.files if n.path in probed.probe) >= PROBE_MIN
    assert probed.random_count == plain.random_count and probed.rotation == plain.rotation
    later = select_sample(small + scans, [], params, plain.rotation, probe=True)
    assert later.probe != probed.probe  # another probe next time
    capped = select_sample(small + scans, [], SampleParams(files=50, max_bytes=40_000_000),
                           Rotation("seed"), probe=True)
    assert capped.bytes <= 40_000_000
    tiny = select_sample(small, [], params, Rotation("seed"), probe=True)
    assert len(tiny.probe) >= 1  # no large file: the largest that fits still adds bytes


def test_probe_every_other_sample_run():
    from muni_watchdog.backup_tests.restore_timing import wants_probe
    assert wants_probe(())
    history = remember((), TimedRestore(100_000_000, 1.4, probe=True))
    assert not wants_probe(history)
    history = remember(history, TimedRestore(1_700_000, 0.8))
    assert wants_probe(history)
    assert wants_probe(remember(history, TimedRestore(10**9, 6.0, full=True)))  # drills skip
