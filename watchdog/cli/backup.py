"""``restore-test`` and ``canary write``: backup restore tests from the command line.

Wiring only: the work is in ``backup_tests`` and the run's wiring (the live source over SSH,
the stored row) in :mod:`muni_watchdog.daemon.restore_tests`, shared with the daemon; this
loads the config, keeps the rotation state and the history in the store, and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from muni_watchdog.cli.common import (
    EXIT_INVALID_CONFIG,
    add_config_option,
    add_state_dir_option,
    load_config_or_report,
)
from muni_watchdog.cli.interrupt import Stopped, run_stoppable
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.model import State

if TYPE_CHECKING:
    from muni_watchdog.backup_tests.report import RestoreTestReport

# The restore-test machinery (backup_tests, sh) is imported by the commands that use it: the
# daemon's `run` imports this module for its parser, and a town without backups configured
# would carry 20 modules (1.4 MB of RSS) for nothing.


def register(sub) -> None:
    p = sub.add_parser(
        "restore-test", help="restore a sample of a backup now and verify it",
        description="Run one restore test per backup now (or of BACKUP_ID): freshness against "
        "the service's rpo, a sample "
        "restore (canaries, critical paths, rotating random files) verified against the "
        "snapshot and the live source, and the estimated full restore time against the rto. "
        "Each run is stored. A backup with a check_schedule (the default) has its repository "
        "check run apart: --check runs it now. Exit code by verdict: 0 OK, 1 WARNING, "
        "2 CRITICAL, 3 UNKNOWN.")
    add_config_option(p)
    add_state_dir_option(p)
    p.add_argument("backup", nargs="?", metavar="BACKUP_ID", help="only this backup")
    p.add_argument("--full", action="store_true",
                   help="full drill: restore the whole snapshot, verify and time it")
    p.add_argument("--check", action="store_true",
                   help="only the repository check: restic check reading the next rotating "
                   "subset of the stored data (what check_schedule runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object per backup")
    p.set_defaults(handler=cmd_restore_test)

    p = sub.add_parser("canary", help="write a canary file before a backup",
                       description="Canary files carry known content and a timestamp; the "
                       "restore test checks the restored copy and dates the recovery point.")
    canary_sub = p.add_subparsers(dest="canary_command", metavar="ACTION", required=True)
    w = canary_sub.add_parser("write", help="write (replace) a canary file",
                              description="Write a canary at PATH (atomically). Run it just "
                              "before each backup, e.g. in the backup job's pre-hook.")
    w.add_argument("path", metavar="PATH", help="the canary file, inside the backed-up tree")
    w.set_defaults(handler=cmd_canary_write)


def cmd_canary_write(args: argparse.Namespace) -> int:
    from muni_watchdog.backup_tests.canary import write_canary
    try:
        canary = write_canary(args.path, datetime.now(UTC))
    except OSError as exc:
        print(f"cannot write canary {args.path}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"canary written: {args.path} ({canary.created_at.isoformat()})")
    return 0


def cmd_restore_test(args: argparse.Namespace) -> int:
    from muni_watchdog.backup_tests.report import BackupState
    from muni_watchdog.backup_tests.restore_progress import progress_text
    from muni_watchdog.daemon.restore_tests import WORK_SUBDIR, report_row, run_backup_job
    from muni_watchdog.store.database import Store
    if args.full and args.check:
        print("--full and --check exclude each other (a full drill checks the repository "
              "too)", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    config = load_config_or_report(args.config, check_secrets=False)
    if config is None:
        return EXIT_INVALID_CONFIG
    backups = config.backups
    if args.backup:
        backups = [b for b in backups if b.id == args.backup]
        if not backups:
            known = ", ".join(b.id for b in config.backups) or "none"
            print(f"no backup named {args.backup} in {args.config} (known: {known})",
                  file=sys.stderr)
            return EXIT_INVALID_CONFIG
    if not backups:
        print(f"{args.config}: no backups configured", file=sys.stderr)
        return 0
    store = Store.open(args.state_dir)
    work_dir = Path(args.state_dir) / WORK_SUBDIR
    show_progress = sys.stderr.isatty() and not args.json
    reports = []
    try:
        for backup in backups:
            state = BackupState.from_dict(store.restore_test_state(backup.id))

            def progress(text: str, backup_id: str = backup.id) -> None:
                if show_progress:
                    print(f"{backup_id}: {text}…", file=sys.stderr, flush=True)

            def status(line: dict, backup_id: str = backup.id) -> None:
                # one line, rewritten in place: files, bytes, rate, time left
                print(f"\r{backup_id}: {progress_text(line)}\033[K", end="", file=sys.stderr,
                      flush=True)

            try:
                # Ctrl-C or SIGTERM cancels the run at an await: restic is interrupted (it
                # removes its lock) and the scratch directory removed before Stopped.
                kind = "drill" if args.full else "repository_check" if args.check else "sample"
                report = run_stoppable(run_backup_job(
                    config, backup, kind, state, clock=lambda: datetime.now(UTC),
                    work_dir=work_dir, progress=progress,
                    status=status if show_progress else None))
                if show_progress:
                    print(file=sys.stderr)
            except Stopped as stop:
                if show_progress:
                    print(file=sys.stderr)
                print(f"muni-watchdog restore-test {backup.id}: stopped by {stop}; restic "
                      "stopped, scratch directory removed, nothing recorded", file=sys.stderr)
                return stop.exit_code
            store.record_restore_test(report_row(report),
                                      report.state.as_dict() if report.state else None)
            reports.append(report)
            if args.json:
                print(json.dumps(report.as_json()), flush=True)
            else:
                print_report(report)
    finally:
        store.close()
    return int(State.worst(r.verdict for r in reports))


def print_report(report: RestoreTestReport) -> None:
    data = report.as_json()
    what = "repository check" if report.kind == "repository_check" else \
        "full drill" if report.full else "sample test"
    print(f"{report.backup} (service {report.service}): {report.verdict.name} — {what}")
    if report.snapshot_id:
        print(f"  snapshot   {report.snapshot_id[:8]} of {report.snapshot_time:%Y-%m-%d %H:%M} "
              f"UTC, {humanize(report.age_seconds or 0)} old")
    if report.subset:
        found = "no verdict" if report.integrity_errors is None else \
            f"{report.integrity_errors} error(s)"
        packs = report.missing_packs + report.damaged_packs
        print(f"  integrity  check of {report.subset} of the stored data: {found}"
              + (f" (packs {', '.join(p[:12] for p in packs[:5])})" if packs else ""))
    elif report.kind == "restore_test" and report.snapshot_id:
        print("  integrity  the repository check runs on its own (check_schedule); "
              "restore-test --check runs it now")
    s = data["sample"]
    if report.files:
        print(f"  restored   {s['files']} files, {s['bytes'] / 1e6:.1f} MB: {s['verified']} "
              f"verified, {s['mismatched']} mismatched, {s['changed_since_backup']} changed "
              f"since backup, {s['missing']} missing from the backup")
    for canary in report.canaries:
        print(f"  canary     {canary['path']}: {canary['status']}")
    if report.restore_seconds is not None:
        rate = f", {report.bytes_per_second / 1e6:.1f} MB/s" if report.bytes_per_second else ""
        print(f"  timing     restore {report.restore_seconds:.2f} s{rate}")
    if report.estimated_full_restore_seconds is not None:
        print(f"  full restore  {humanize(report.estimated_full_restore_seconds)} "
              f"({report.estimate_basis}), rto {humanize(report.rto_seconds or 0)}")
    for lock in report.lock_cleared:
        print(f"  lock       cleared a stale restic lock of PID {lock['pid']} on "
              f"{lock['hostname']} (that process is gone)")
    for problem in report.problems:
        print(f"  {problem.state.name:<9}  {problem.text}")
