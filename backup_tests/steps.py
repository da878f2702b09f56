"""The steps of a restore test that talk to restic, shared by the sample test, the full drill
and the repository check run apart (:mod:`.drill` puts them together): restic's version, the
restore, the check and its verdict, and what a run restores beside ``restic ls``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from muni_watchdog.backup_tests.integrity import CheckPlan, judge_check, plan_check
from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.report import BackupState, RestoreTestReport
from muni_watchdog.backup_tests.restic import Restic
from muni_watchdog.backup_tests.restic_output import OLDEST_SUPPORTED, Node, parse_version_number
from muni_watchdog.backup_tests.restic_verdicts import parse_check
from muni_watchdog.backup_tests.restore_timing import wants_probe
from muni_watchdog.backup_tests.sampling import (
    Rotation,
    Selection,
    include_patterns,
    select_sample,
)
from muni_watchdog.core.model import State


@dataclass(frozen=True)
class Early:
    """What a run restores beside the listing, chosen from the previous run's listing."""

    files: list[Node]
    patterns: list[str] | None
    needed: int
    selection: Selection | None   # None for a full drill


def select(files: Sequence[Node], backup: BackupParams, state: BackupState) -> Selection:
    """The sample of this run from ``files``: the rotation and the probe as ``state`` has them."""
    return select_sample(files, backup.canaries, backup.sample,
                         Rotation(state.sample_seed, state.sample_cursor, state.sample_cycle),
                         probe=wants_probe(state.timings))


def early_plan(cached: list[Node] | None, backup: BackupParams, state: BackupState,
               full: bool) -> Early | None:
    """What to restore beside ``restic ls``, from the previous run's listing (None: no
    listing kept, or nothing to restore)."""
    if cached is None:
        return None
    if full:
        return Early(cached, None, sum(n.size for n in cached), None) if cached else None
    selection = select(cached, backup, state)
    if not selection.files:
        return None
    return Early(list(selection.files),
                 include_patterns(selection.files, backup.sample.critical_paths),
                 selection.bytes, selection)


async def restore(restic: Restic, snapshot: list[str], target: Path,
                  patterns: list[str] | None, status: Callable[[dict], None] | None):
    """``restic restore SNAPSHOT --target T --verify [--include P ...]`` (exit 1: restic's
    errors, read by the caller)."""
    json_mode = restic.version.has_json_restore
    args = ["restore", *snapshot, "--target", str(target), "--verify"] + (
        ["--json"] if json_mode else [])
    for pattern in patterns or ():
        args += ["--include", pattern]
    return await restic.run_ok(args, accept=(0, 1), quiet_stderr=False,
                               on_status=status if json_mode else None)


async def stop(task: asyncio.Future) -> None:
    """Cancel a restic command still running (it is interrupted and removes its lock)."""
    if not task.done():
        task.cancel()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await task


async def detect_version(restic: Restic, report: RestoreTestReport,
                         state: BackupState) -> BackupState:
    """restic's version, remembered per binary (path, size, mtime) so an upgrade is noticed;
    sets ``restic.version`` and returns the state that remembers it."""
    binary = restic.binary_identity()
    cached = parse_version_number(state.restic_version) \
        if binary and binary == state.restic_binary else None
    version = cached or await restic.detect_version()
    restic.version = version
    state = replace(state, restic_binary=binary, restic_version=str(version))
    report.state = state
    report.restic_version = str(version)
    if version < OLDEST_SUPPORTED:
        report.add(State.WARNING, f"restic {version} is older than {OLDEST_SUPPORTED}, the "
                   "oldest supported; results may be wrong")
    return state


def start_check(restic: Restic, backup: BackupParams, report: RestoreTestReport,
                state: BackupState) -> tuple[asyncio.Future, CheckPlan]:
    """Start ``restic check`` of the subset due (integrity: structure plus one rotating slice
    of the stored data)."""
    plan = plan_check(state, backup.read_data_subsets)
    report.subset = plan.subset
    args = ["check", plan.arg] + (["--json"] if restic.version.has_json_check else [])
    return asyncio.ensure_future(restic.run_ok(args, accept=(0, 1), quiet_stderr=False)), plan


def judge_check_run(report: RestoreTestReport, run, plan: CheckPlan, state: BackupState,
                    backup: BackupParams, now: datetime) -> BackupState:
    """restic check's verdict into the report; the state with the rotation moved on."""
    check = parse_check(run.stdout, run.stderr, run.code)
    report.integrity_errors = check.errors
    name_packs(report, check)
    level, text, new_state = judge_check(check, plan, state, backup.read_data_subsets, now)
    report.add(level, text)
    return new_state


def name_packs(report: RestoreTestReport, found) -> None:
    """Add the packs restic named (in check, restore, or a failed command) to the report."""
    for pack in found.missing_packs:
        if pack not in report.missing_packs:
            report.missing_packs.append(pack)
    for pack in found.damaged_packs:
        if pack not in report.damaged_packs:
            report.damaged_packs.append(pack)
