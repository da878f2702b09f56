"""Restore tests as the daemon runs them: one scheduled job per backup (one more for the full
drill), whose verdict is recorded as the check ``restore_test`` of the target ``backup:ID``,
and one for the repository check on its own (``check_schedule``), recorded as the check
``repository_check``. The wiring a run needs, the backup's live source read over SSH and the
stored row, serves ``muni-watchdog restore-test`` too.

The runs of one backup take turns (a lock per backup): each reads the backup's state (the
check's rotation, the sample's) when its turn comes and stores it after, so neither undoes the
other's move."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from muni_watchdog.backup_tests.params import BackupParams, RemoteSource
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import CheckKey
from muni_watchdog.daemon.runtime import Runtime, SiteJob

if TYPE_CHECKING:
    from muni_watchdog.backup_tests.live_source import RemoteSourceReader
    from muni_watchdog.backup_tests.report import BackupState, RestoreTestReport

# The restore machinery (backup_tests' drill, restic driver, sh) is imported by the first
# run: a daemon without backups does not carry its 20 modules (1.2 MB of RSS).
log = logging.getLogger("muni-watchdog")
WORK_SUBDIR = "restore-tests"  # restic cache, temp and lock files, under the state directory


def backup_key(backup_id: str, kind: str = "restore_test") -> CheckKey:
    """Restore tests appear as the check ``restore_test`` of the target ``backup:ID``, the
    repository checks run apart as ``repository_check``."""
    return CheckKey(f"backup:{backup_id}", kind)


def checks_apart(backup: BackupParams) -> bool:
    """Whether the repository check runs on its own schedule, not inside the sample test."""
    return backup.check_schedule is not None


def check_name(kind: str) -> str:
    """The check a run of ``kind`` ("sample", "drill", "repository_check") is recorded as."""
    return "repository_check" if kind == "repository_check" else "restore_test"


async def run_backup_job(config, backup: BackupParams, kind: str, state: BackupState, *,
                         clock, work_dir, progress=None, status=None) -> RestoreTestReport:
    """One run as the daemon and the CLI make it: ``kind`` is "sample", "drill" or
    "repository_check"; a sample leaves the repository check to its own job when the backup
    has a ``check_schedule`` (a drill always checks: it is the quarter's whole proof). A
    restore test reads a live source on an ssh target over a session of its own."""
    from muni_watchdog.backup_tests.drill import run_repository_check, run_restore_test
    if kind == "repository_check":
        return await run_repository_check(backup, state, clock=clock, work_dir=work_dir,
                                          progress=progress)
    service = config.service_by_id[backup.service]
    full = kind == "drill"
    async with remote_source(config, backup) as reader:
        return await run_restore_test(backup, service.rpo, service.rto, state, full=full,
                                      clock=clock, work_dir=work_dir, progress=progress,
                                      status=status, source_reader=reader,
                                      check=full or not checks_apart(backup))


@contextlib.asynccontextmanager
async def remote_source(config, backup: BackupParams
                        ) -> AsyncIterator[RemoteSourceReader | None]:
    """The reader of a backup's live source on an ssh target (None for a local or no source),
    over a session of its own that is closed afterwards; wiring for the daemon and the CLI."""
    source = backup.source
    if not isinstance(source, RemoteSource):
        yield None
        return
    from muni_watchdog.backup_tests.live_source import RemoteSourceReader, SourceUnavailable
    from muni_watchdog.checks.base import CollectError, TargetInfo
    from muni_watchdog.checks.ssh.connection import SshSession
    target = config.target_by_id[source.target]  # validation made sure it exists, kind ssh
    session = SshSession.for_target(TargetInfo(target.id, target.kind, target.host,
                                               target.ssh))

    async def run(command: str, timeout: float) -> tuple[int, str, str]:
        try:
            result = await session.run(command, timeout)
        except CollectError as exc:
            raise SourceUnavailable(str(exc)) from None
        return result.exit_status, result.stdout, result.stderr

    try:
        yield RemoteSourceReader(run, source.path, f"{target.id}:{source.path}")
    finally:
        await session.close()


def report_row(report: RestoreTestReport) -> dict[str, Any]:
    """The restore_tests row of a report."""

    def iso(moment: datetime | None) -> str | None:
        return None if moment is None else moment.astimezone(UTC).isoformat()

    return {
        "backup": report.backup, "service": report.service, "started_at": iso(report.started_at),
        "kind": report.kind,
        "full_drill": int(report.full), "snapshot_id": report.snapshot_id,
        "snapshot_time": iso(report.snapshot_time), "age_seconds": report.age_seconds,
        "files": report.files, "bytes": report.bytes, "verified": report.verified,
        "mismatched": report.mismatched, "missing": report.missing,
        "changed_since_backup": report.changed_since_backup,
        "integrity_subset": report.subset, "integrity_errors": report.integrity_errors,
        "duration": round(report.duration, 3), "restore_seconds": report.restore_seconds,
        "bytes_per_second": report.bytes_per_second,
        "estimated_full_restore_seconds": report.estimated_full_restore_seconds,
        "estimate_basis": report.estimate_basis, "rto_seconds": report.rto_seconds,
        "recovery_point": iso(report.recovery_point), "restic_version": report.restic_version,
        "verdict": int(report.verdict), "summary": report.summary,
        "problems": json.dumps([p.text for p in report.problems]),
        "report": json.dumps(report.as_json()),
    }


class RestoreTests(SiteJob):
    """Per backup: a job for the sample restore test, one for a full drill, one for the
    repository check; each verdict is an ordinary check result (soft/hard, alerts, reports)."""

    config: Config | None = None
    runtime: Runtime | None = None
    _turns: dict[str, asyncio.Lock] | None = None

    async def install(self, config: Config, runtime: Runtime) -> None:
        self.config, self.runtime = config, runtime
        for job in runtime.scheduler.get_jobs():
            if job.id.startswith(("restore:", "drill:", "check:")):
                runtime.scheduler.remove_job(job.id)
        for backup in config.backups:
            jobs = [("restore", backup.schedule, "sample")]
            if backup.full_drill_schedule:
                jobs.append(("drill", backup.full_drill_schedule, "drill"))
            if backup.check_schedule:
                jobs.append(("check", backup.check_schedule, "repository_check"))
            for prefix, cron, kind in jobs:
                # APScheduler counts a numeric day-of-week 0 as Monday, crontab as Sunday; the
                # config validator accepts names (sun) and documents this.
                trigger = CronTrigger.from_crontab(cron, timezone=config.site.timezone)
                key = backup_key(backup.id, check_name(kind))
                runtime.scheduler.add_job(self.run, trigger, args=[backup.id, kind],
                                          id=f"{prefix}:{backup.id}", misfire_grace_time=3600,
                                          name=str(key) + (" (full drill)" if kind == "drill"
                                                           else ""))

    def check_keys(self, config: Config) -> set[CheckKey]:
        return {backup_key(b.id) for b in config.backups} | {
            backup_key(b.id, "repository_check") for b in config.backups if checks_apart(b)}

    async def run(self, backup_id: str, kind: str | bool) -> None:
        """Run a restore test (``kind`` "sample" or "drill"; True/False: a job stored by an
        older version) or a repository check, and treat its verdict as a check result."""
        if isinstance(kind, bool):
            kind = "drill" if kind else "sample"
        if self._turns is None:
            self._turns = {}
        async with self._turns.setdefault(backup_id, asyncio.Lock()):
            await self._run(backup_id, kind)

    async def _run(self, backup_id: str, kind: str) -> None:
        from muni_watchdog.backup_tests.report import BackupState, report_to_outcome
        config, runtime = self.config, self.runtime
        if config is None or runtime is None:
            return
        store = runtime.store
        backup = next((b for b in config.backups if b.id == backup_id), None)
        if backup is None:
            return
        service = config.service_by_id[backup.service]
        where = f"target=backup:{backup.id} check={check_name(kind)}"
        log.info("%s %s started", where, {"drill": "full drill", "sample": "sample restore "
                                           "test"}.get(kind, "repository check"))
        try:
            state = BackupState.from_dict(store.restore_test_state(backup.id))
            report = await run_backup_job(config, backup, kind, state, clock=runtime.clock,
                                          work_dir=runtime.state_dir / WORK_SUBDIR)
            store.record_restore_test(report_row(report),
                                      report.state.as_dict() if report.state else None)
            outcome = report_to_outcome(report)
            decision = runtime.record_passive(backup_key(backup.id, check_name(kind)), outcome,
                                              (service.id,), service.priority)
        except sqlite3.Error as exc:
            log.error("%s could not record the result: %s", where, exc)
            return
        except Exception:  # a bug in the test must not take the daemon down
            log.exception("%s failed", where)
            return
        log.log(logging.INFO if outcome.state.is_ok else logging.WARNING, "%s %s: %s", where,
                outcome.state.name, outcome.summary)
        if decision.events:
            runtime.wake("alerts")
