"""One restore test run (the issue's steps 1-9): the entry point the daemon and the CLI call.

    report = await run_restore_test(backup, rpo, rto, state, full=False, clock=now,
                                    work_dir=state_dir / "restore-tests")
    outcome = report_to_outcome(report); store report.state for the next run

State comes in and the new state goes out in ``report.state``; nothing here touches the store.
A run that cannot find out (repository locked by a backup, another test running, no scratch
space, timeout, restic missing, output empty or cut) is UNKNOWN; a backup that cannot be opened
or read back is CRITICAL. Nothing restic did not confirm is taken as a pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from muni_watchdog.backup_tests import steps
from muni_watchdog.backup_tests.integrity import (
    plan_check,
    shorten_ids,
)
from muni_watchdog.backup_tests.listing_cache import forget_listing, load_listing, save_listing
from muni_watchdog.backup_tests.live_source import LiveFile, RemoteSourceReader, SourceUnavailable
from muni_watchdog.backup_tests.params import BackupParams, RemoteSource
from muni_watchdog.backup_tests.repo_lock import Busy, repository_lock
from muni_watchdog.backup_tests.report import BackupState, RestoreTestReport, judge_age
from muni_watchdog.backup_tests.restic import Restic, ResticError
from muni_watchdog.backup_tests.restic_messages import named_packs
from muni_watchdog.backup_tests.restic_output import (
    Failure,
    error_message,
    stderr_lines,
)
from muni_watchdog.backup_tests.restic_verdicts import (
    no_snapshot_matched,
    parse_restore,
    read_listing,
)
from muni_watchdog.backup_tests.restore_timing import judge_timing
from muni_watchdog.backup_tests.sampling import (
    chosen_in,
    include_patterns,
    missing_paths,
)
from muni_watchdog.backup_tests.scratch import ScratchError, private_scratch_async, sweep_stale
from muni_watchdog.backup_tests.verify import (
    check_canary,
    missing_from_backup,
    relative_to_root,
    same_snapshot,
    snapshot_root,
    verify_restored,
)
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.model import State

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# Failures that mean "could not find out" rather than "the backup is bad".
_UNKNOWN_FAILURES = {Failure.LOCKED, Failure.INTERRUPTED, Failure.NOT_INSTALLED,
                     Failure.BAD_OUTPUT}


async def run_restore_test(backup: BackupParams, rpo_seconds: float, rto_seconds: float,
                           state: BackupState, *, full: bool, clock: Callable[[], datetime],
                           work_dir: Path, progress: Progress | None = None,
                           status: Callable[[dict], None] | None = None,
                           environ: dict[str, str] | None = None,
                           sleep=None,
                           source_reader: RemoteSourceReader | None = None,
                           check: bool = True) -> RestoreTestReport:
    """Run one restore test of ``backup``; never raises for a failed test (the report says).

    ``source_reader`` reads the live data when ``backup.source`` is on an SSH target: the
    caller builds it from that target's session (this package does not do SSH itself).
    ``status``: called with restic's status lines during the restore (a terminal's progress
    line: :mod:`.restore_progress`); the daemon passes none.
    ``check``: also run the repository check (one read-data subset) after the restore; the
    daemon passes False when the backup's ``check_schedule`` runs it on its own
    (:func:`run_repository_check`), so a sample test is one restic restore and its listing."""
    report = RestoreTestReport(backup.id, backup.service, clock(), full=full,
                               rpo_seconds=rpo_seconds, rto_seconds=rto_seconds, state=state)
    say = progress or (lambda _text: None)

    async def body(restic: Restic) -> None:
        await asyncio.to_thread(sweep_stale, backup.scratch_dir)
        await _run(restic, backup, report, state, full, clock, say, source_reader, status,
                   check, work_dir)

    return await _guarded(backup, report, work_dir, body, environ, sleep)


async def run_repository_check(backup: BackupParams, state: BackupState, *,
                               clock: Callable[[], datetime], work_dir: Path,
                               progress: Progress | None = None,
                               environ: dict[str, str] | None = None,
                               sleep=None) -> RestoreTestReport:
    """Check the repository of ``backup`` on its own: ``restic check`` reading the next
    rotating subset of the stored data (or the damaged one again). Never raises.

    The report has ``kind`` "repository_check", the integrity fields and the new state; no
    restore. Run apart from the sample test because restic's check takes an exclusive lock:
    inside the test it could only follow the restore, adding its whole time to every test."""
    report = RestoreTestReport(backup.id, backup.service, clock(), state=state,
                               kind="repository_check")
    say = progress or (lambda _text: None)

    async def body(restic: Restic) -> None:
        current = await steps.detect_version(restic, report, state)
        say(f"checking the repository ({plan_check(current, backup.read_data_subsets).subset} "
            "of the stored data)")
        checking, plan = steps.start_check(restic, backup, report, current)
        report.state = steps.judge_check_run(report, await checking, plan, current, backup, clock())

    return await _guarded(backup, report, work_dir, body, environ, sleep)


async def _guarded(backup: BackupParams, report: RestoreTestReport, work_dir: Path, body,
                   environ: dict[str, str] | None, sleep) -> RestoreTestReport:
    """Run ``body(restic)`` under the repository lock, turning every failure into the
    report's words (UNKNOWN when we could not find out, CRITICAL when the backup is bad)."""
    started = time.monotonic()
    kwargs = {"environ": environ} | ({"sleep": sleep} if sleep else {})
    restic = None
    try:
        restic = Restic(backup, work_dir, **kwargs)
        async with repository_lock(work_dir, backup.repository, wait=backup.lock_wait):
            await body(restic)
    except ResticError as exc:
        level = State.UNKNOWN if exc.failure in _UNKNOWN_FAILURES or "no answer within" in \
            exc.message else State.CRITICAL
        report.add(level, _explain(exc, backup))
        steps.name_packs(report, named_packs(stderr_lines(exc.stderr, True)))
    except (Busy, ScratchError) as exc:
        report.add(State.UNKNOWN, str(exc))
    except OSError as exc:
        report.add(State.UNKNOWN, f"restore test could not run: {exc}")
    finally:
        for lock in restic.cleared_locks if restic is not None else ():
            report.lock_cleared.append(lock.as_json())
            report.add(State.OK, f"cleared a stale restic lock left by a killed run "
                       f"({lock.describe()}; that process is gone)")
    report.duration = time.monotonic() - started
    return report


def _explain(exc: ResticError, backup: BackupParams) -> str:
    if exc.command == "ls" and no_snapshot_matched(exc.message):
        return ("no snapshot in the repository matches this backup (host/paths/tags): "
                "nothing to restore")
    if exc.failure is Failure.NOT_INSTALLED:
        return f"restore test of backup {backup.id} could not run restic: {exc.message}"
    if exc.failure is Failure.BAD_OUTPUT:
        return f"restic {exc.command} cannot be trusted: {exc.message}"
    if exc.failure is Failure.WRONG_PASSWORD:
        return (f"wrong password for repository of backup {backup.id}: restic cannot open it "
                "with the configured password_file/password_command")
    if exc.failure is Failure.NO_REPOSITORY:
        return f"repository of backup {backup.id} does not exist or cannot be reached ({exc.message})"
    if exc.failure is Failure.LOCKED:
        return (f"repository is locked (a backup or maintenance is running) and stayed locked "
                f"for {humanize(backup.lock_wait)}; test postponed ({exc.message})")
    return str(exc)


async def _run(restic: Restic, backup: BackupParams, report: RestoreTestReport,
               state: BackupState, full: bool, clock: Callable[[], datetime],
               say: Progress, source_reader: RemoteSourceReader | None,
               status: Callable[[dict], None] | None, check: bool,
               work_dir: Path) -> None:
    # 1. version
    state = await steps.detect_version(restic, report, state)
    version = restic.version

    # 2. freshness, from the newest snapshot of the series; one `ls latest` also lists it
    # (every restic command pays the key derivation, ~0.5 s: one call fewer per run). With the
    # previous run's listing the restore starts beside it (listing_cache): the two openings of
    # the repository overlap.
    say("reading the newest snapshot")
    early = steps.early_plan(load_listing(work_dir, backup), backup, state, full)
    listing_run = asyncio.ensure_future(restic.run_ok(
        ["ls", "--json", "latest", *restic.snapshot_filter()], quiet_stderr=False))
    checking: asyncio.Future | None = None
    plan = None
    new_state = state
    try:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(steps.stop, listing_run)
            first = contextlib.AsyncExitStack()   # the scratch of the restore beside the listing
            await stack.enter_async_context(first)
            restoring = None
            if early is not None:
                target = await first.enter_async_context(private_scratch_async(
                    backup.scratch_dir, backup.id, early.needed))
                say(f"restoring {len(early.files)} files ({early.needed / 1e6:.1f} MB)"
                    + (" — full drill" if full else "") + ", while restic lists the snapshot")
                restoring = asyncio.ensure_future(steps.restore(
                    restic, ["latest", *restic.snapshot_filter()], target, early.patterns,
                    status))
                first.push_async_callback(steps.stop, restoring)
            run = await listing_run
            list_seconds = run.seconds
            said = [line for line in stderr_lines(run.stderr) if not no_snapshot_matched(line)]
            listing = read_listing(run.stdout, run.stderr)
            problem = listing.problem or (
                f"restic ls exited 0, yet stderr says: {said[0].strip()[:200]}" if said else "")
            if problem:
                report.add(State.UNKNOWN, problem)
                return
            snap = listing.snapshot
            if snap is None:
                forget_listing(work_dir, backup)
                report.add(State.CRITICAL, "no snapshot in the repository matches this backup "
                           "(host/paths/tags): nothing to restore")
                return
            files = [node for node in listing.nodes if node.type == "file"]
            await asyncio.to_thread(save_listing, work_dir, backup, files)
            now = clock()
            report.snapshot_id, report.snapshot_time = snap.id, snap.time
            report.age_seconds = max(0.0, (now - snap.time).total_seconds())
            level, text = judge_age(report.age_seconds, report.rpo_seconds or 0,
                                    backup.rpo_warn_percent, backup.rpo_crit_percent,
                                    "newest snapshot")
            report.add(level, text)

            # 3. choose what to restore (chosen before the listing came when the restore
            # started beside it: then what the snapshot holds of that choice is verified)
            report.snapshot_bytes = sum(node.size for node in files)
            selection = early.selection if early is not None and early.selection else \
                steps.select(files, backup, state)
            chosen = files if full else chosen_in(files, selection, backup.sample.critical_paths)
            in_snapshot = {node.path for node in files}
            if not full:
                new_state = replace(new_state, sample_cursor=selection.rotation.cursor,
                                    sample_cycle=selection.rotation.cycle)
                report.coverage = selection.coverage
            for path in missing_paths(files, backup.sample.critical_paths):
                report.add(State.CRITICAL, f"critical path {path} is not in the snapshot")
            needed = sum(node.size for node in chosen)
            patterns = None if full else include_patterns(chosen, backup.sample.critical_paths)

            # 4-5. restore into private scratch, verify, time
            run = None
            if restoring is not None:
                run = await restoring
                if not await asyncio.to_thread(same_snapshot, run, snap, target, chosen):
                    # a backup finished between the two restic commands: the restore found
                    # another snapshot; again, by the listed snapshot's id
                    log.info("backup %s: the restore beside the listing did not restore "
                             "snapshot %s; restoring it by id", backup.id, snap.short_id)
                    await first.aclose()
                    restoring = run = None
            if restoring is None:
                target = await stack.enter_async_context(private_scratch_async(
                    backup.scratch_dir, backup.id, needed))
                if full or chosen:
                    say(f"restoring {len(chosen)} files ({needed / 1e6:.1f} MB)"
                        + (" — full drill" if full else ""))
                    run = await steps.restore(restic, [snap.id], target, patterns, status)
            if run is not None:
                restore = parse_restore(run.stdout, run.stderr)
                report.restore_seconds = run.seconds
                _judge_restore_output(report, run, restore, version.has_json_restore)
            else:
                restore = parse_restore("", "")
                report.restore_seconds = 0.0
            # 6. integrity (unless the backup's check_schedule runs it apart): structure plus
            # one rotating slice of the stored data. After the restore (never beside it: that
            # would distort the measured restore time), while the restored files are verified
            # and the scratch directory is removed.
            if check:
                checking, plan = steps.start_check(restic, backup, report, state)
                say(f"verifying restored files; checking repository ({report.subset} of the "
                    "stored data)")
            else:
                say("verifying restored files")
            source = Path(backup.source) if isinstance(backup.source, str) else None
            root = snapshot_root(snap.paths, (node.path for node in files))
            remote = None
            if isinstance(backup.source, RemoteSource):
                remote = await _remote_facts(backup, source_reader, chosen, root, snap.time,
                                             report)
            # hashing and walking block: in a thread, so the daemon's event loop keeps running
            verification = await asyncio.to_thread(verify_restored, target, chosen,
                                                   restore.errors, snap.time, source, root,
                                                   remote=remote)
            canary_age = backup.canary_max_age or report.rpo_seconds or 86400
            canaries = [check_canary(target, path, now, canary_age, path in in_snapshot)
                        for path in backup.canaries]
        check_run = await checking if checking is not None else None
    finally:
        if checking is not None:
            await steps.stop(checking)  # the run failed or was cancelled: stop restic check too
    if check_run is not None and plan is not None:
        new_state = steps.judge_check_run(report, check_run, plan, new_state, backup, now)
    report.files, report.bytes = verification.files, verification.bytes
    report.verified = verification.verified
    report.mismatched = len(verification.mismatched) + len(verification.damaged)
    report.changed_since_backup = len(verification.changed_since_backup)
    steps.name_packs(report, restore)
    if verification.damaged:
        report.add(State.CRITICAL, f"{len(verification.damaged)} file(s) did not restore "
                   f"intact: {_paths(verification.damaged)}"
                   + (f" — restic: {shorten_ids(restore.errors[0])}" if restore.errors else ""))
    elif restore.errors:
        report.add(State.CRITICAL, f"restore reported errors: {'; '.join(restore.errors[:3])}")
    if verification.mismatched:
        report.add(State.CRITICAL, f"{len(verification.mismatched)} file(s) differ from the "
                   f"live source although unchanged since the backup (corruption): "
                   f"{_paths(verification.mismatched)}")
    if source is not None and source.is_dir():
        missing, examined = await asyncio.to_thread(
            missing_from_backup, source, root, {n.path for n in files}, snap.time,
            max(backup.sample.files, 1))
        report.missing = len(missing)
        if missing:
            report.add(State.WARNING, f"{len(missing)} of {examined} sampled live files older "
                       f"than the snapshot are missing from the backup (wrong exclude or "
                       f"path?): {_paths(missing)}")
    elif source is not None:
        report.add(State.WARNING, f"source {source} is not a readable directory; no comparison "
                   "with the live data")
    elif remote is not None and source_reader is not None:
        try:
            live = await source_reader.old_files(snap.time.timestamp(),
                                                 max(backup.sample.files, 1), backup.timeout)
        except SourceUnavailable as exc:
            report.add(State.WARNING, f"live source {source_reader.where}: {exc}; no check "
                       "for files missing from the backup")
        else:
            tree = [(root.rstrip("/") + "/" + rel) for rel in live]
            known = {n.path for n in files}
            missing = sorted(p for p in tree if p not in known)
            report.missing = len(missing)
            if missing:
                report.add(State.WARNING, f"{len(missing)} of {len(tree)} sampled live files "
                           f"on {source_reader.where} older than the snapshot are missing from "
                           f"the backup (wrong exclude or path?): {_paths(missing)}")
    _judge_canaries(report, canaries)
    if report.files:
        report.add(State.OK, f"{report.verified} of {report.files} restored files verified")
    else:
        why = "the snapshot has no regular files" if not files else (
            "no file was chosen (sample.files 0 and no canaries or critical paths, or every "
            "file above sample.max_file_size)")
        report.add(State.WARNING, f"nothing to verify: 0 of 0 restored files verified, {why}; "
                   "this test proves nothing about the data")

    # 7. timing: measured by us; the full restore estimated from the runs we have
    new_state = replace(new_state, timings=judge_timing(
        report, backup, state.timings, full=full, probe=bool(selection.probe),
        startup_floor=list_seconds, today=now.date().isoformat()))
    if full and report.bytes and report.restore_seconds:
        new_state = replace(new_state, drill_bytes_per_second=report.bytes /
                            report.restore_seconds, drill_at=now.isoformat())
    report.state = new_state


def _judge_restore_output(report: RestoreTestReport, run, restore, json_mode: bool) -> None:
    """restic's own word on the restore: its errors, or its confirmation that it finished."""
    if run.code != 0:
        if not restore.errors:
            report.add(State.CRITICAL, f"restic restore failed (exit {run.code}): "
                       f"{error_message(run.stderr) or 'no message'}")
        return
    said = stderr_lines(run.stderr)
    if said:
        report.add(State.UNKNOWN, f"restic restore exited 0, yet stderr says: "
                   f"{said[0].strip()[:200]}")
    elif not restore.confirmed(json_mode):
        what = "its JSON summary" if json_mode else "'finished verifying N files'"
        report.add(State.UNKNOWN, f"restic restore exited 0 without {what}: output empty or "
                   "cut, so restic's verification is not confirmed (sizes were still checked)")


async def _remote_facts(backup: BackupParams, reader: RemoteSourceReader | None,
                        chosen: list, root: str, snapshot_time: datetime,
                        report: RestoreTestReport) -> dict[str, LiveFile] | None:
    """What the live copies of ``chosen`` look like on the SSH target, by tree path."""
    assert isinstance(backup.source, RemoteSource)
    if reader is None:
        report.add(State.WARNING, f"source on target {backup.source.target}: no SSH session "
                   "was provided; no comparison with the live data")
        return None
    relative = {node.path: rel for node in chosen
                if (rel := relative_to_root(root, node.path)) is not None}
    try:
        facts = await reader.stat_and_hash(list(relative.values()), snapshot_time.timestamp(),
                                           backup.timeout)
    except SourceUnavailable as exc:
        report.add(State.WARNING, f"live source {reader.where} could not be read ({exc}); no "
                   "comparison with the live data")
        return None
    return {tree: facts[rel] for tree, rel in relative.items() if rel in facts}


def _judge_canaries(report: RestoreTestReport, canaries) -> None:
    for canary in canaries:
        entry = {"path": canary.path, "status": canary.status}
        if canary.created_at:
            entry["created_at"] = canary.created_at.isoformat()
        report.canaries.append(entry)
        if canary.status != "ok":
            report.add(State.CRITICAL, f"canary {canary.path} {canary.status}: {canary.detail}")
    points = [c.created_at for c in canaries if c.status == "ok" and c.created_at]
    if points:
        report.recovery_point = min(points)
        report.add(State.OK, f"canary proves data of {report.recovery_point:%Y-%m-%d %H:%M} "
                   "recoverable")


def _paths(paths: list[str], limit: int = 5) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")

