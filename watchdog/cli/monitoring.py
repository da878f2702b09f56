"""The daemon's own commands: ``validate`` a configuration, ``run`` the daemon, ``check`` every
target once now, and show the ``status`` the daemon recorded."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from muni_watchdog.cli.common import (
    EXIT_INVALID_CONFIG,
    add_config_option,
    add_state_dir_option,
    config_path,
    load_config_or_report,
    print_table,
)
from muni_watchdog.cli.interrupt import run_stoppable
from muni_watchdog.config.loading import ConfigError, load_config
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.model import State


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a configuration file and report every error",
                       description="Validate the configuration. Exit 0 when valid, 2 with "
                       "every error as FILE:LINE: path: message when not.")
    add_config_option(p)
    p.add_argument("--no-secrets", action="store_true",
                   help="do not try to read secret files (for checking a config elsewhere)")
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("run", help="run the daemon (what the systemd unit starts)",
                       description="Run the monitoring daemon in the foreground. SIGHUP "
                       "reloads the configuration, SIGTERM stops.")
    add_config_option(p)
    add_state_dir_option(p)
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("check", help="run every check once now and print the results",
                       description="Run each configured check once (no state, no alerts). "
                       "Exit code as monitoring plugins: 0 OK, 1 WARNING, 2 CRITICAL, "
                       "3 UNKNOWN (the worst result).")
    add_config_option(p)
    add_state_dir_option(p)
    p.add_argument("--target", action="append", metavar="ID",
                   help="only this target (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("status", help="show the current state of every check",
                       description="Show the state of every check and the open problems, read "
                       "from the state database while the daemon runs. Exit code: the worst "
                       "hard state (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).")
    add_config_option(p, state=True)
    add_state_dir_option(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_status)


def cmd_validate(args: argparse.Namespace) -> int:
    config = load_config_or_report(args.config, check_secrets=not args.no_secrets)
    if config is None:
        return EXIT_INVALID_CONFIG
    checks = sum(len(t.checks) for t in config.targets)
    print(f"{args.config}: OK — {len(config.services)} services, {len(config.targets)} "
          f"targets, {checks} checks, {len(config.backups)} backups, "
          f"{len(config.notify.channels)} channels")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from muni_watchdog.daemon.service import run_daemon
    return run_daemon(args.config, args.state_dir)


def cmd_check(args: argparse.Namespace) -> int:
    from muni_watchdog.daemon.engine import build_specs, close_sessions, run_check
    config = load_config_or_report(args.config, check_secrets=False)
    if config is None:
        return EXIT_INVALID_CONFIG
    specs = build_specs(config, _wired(config, args.state_dir))
    if args.target:
        unknown = set(args.target) - {t.id for t in config.targets}
        if unknown:
            print(f"no target named {', '.join(sorted(unknown))} in {args.config}",
                  file=sys.stderr)
            return EXIT_INVALID_CONFIG
        specs = [s for s in specs if s.key.target in args.target]
    now = datetime.now(UTC)

    async def run_all():
        try:
            return await asyncio.gather(*(run_check(s, {}, now) for s in specs))
        finally:
            await close_sessions(specs)

    results = run_stoppable(run_all())  # Ctrl-C: one line, at once (cli.interrupt)
    rows = [{"services": list(s.services), "target": s.key.target, "check": s.key.check,
             "status": r.outcome.state.label, "summary": r.outcome.summary,
             "metrics": [m.as_dict() for m in r.outcome.metrics],
             "items": list(r.outcome.items)} for s, r in zip(specs, results, strict=True)]
    if args.json:
        print(json.dumps({"checked_at": now.isoformat(), "results": rows}, indent=2,
                         default=str))
    else:
        print_table(["STATUS", "TARGET", "CHECK", "SERVICES", "SUMMARY"],
                     [[r["status"].upper(), r["target"], r["check"],
                       ",".join(r["services"]) or "-", r["summary"]] for r in rows])
    worst = State.worst(r.outcome.state for r in results)
    return int(worst)


def _wired(config, state_dir: str) -> dict:
    """The check types the daemon wires, here from the state directory when it exists: the
    vulnerability feeds' copies, and what the store knows for the exposure check."""
    from muni_watchdog.daemon.exposure_facts import exposure_check
    from muni_watchdog.daemon.vuln_feeds import vulnerabilities_check
    from muni_watchdog.store.database import Store
    try:
        store = Store.open(state_dir, readonly=True)
    except FileNotFoundError:
        store = None
    return {"vulnerabilities": vulnerabilities_check(config, Path(state_dir)),
            "exposure": exposure_check(config, store)}


def cmd_status(args: argparse.Namespace) -> int:
    from muni_watchdog.reports.status import status_report, worst_state
    from muni_watchdog.store.database import Store
    from muni_watchdog.store.timestamps import from_iso
    try:
        store = Store.open(args.state_dir, readonly=True)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 3
    now = datetime.now(UTC)
    report = status_report(store, _owners(config_path(args)), now)
    store.close()
    worst = worst_state(report)
    if args.json:
        print(json.dumps(report, indent=2))
        return int(worst)
    checks, problems, incidents = report["checks"], report["problems"], report["incidents"]
    alert_errors, counts = report["alert_errors"], report["notifications"]

    def ago(text: str | None) -> str:
        moment = from_iso(text)
        return "-" if moment is None else humanize((now - moment).total_seconds()) + " ago"

    if alert_errors:
        print(f"ALERTING ERRORS ({len(alert_errors)}): these items could not be processed, so "
              "their alerts may not have gone out; the daemon log has the details:")
        print_table(["SINCE", "ITEM", "TARGET/CHECK", "ERROR"], [
            [ago(e["since"]), e["subject"], f"{e['target']}/{e['check']}" if e["target"]
             else "-", e["error"]] for e in alert_errors])
        print()
    if incidents:
        print(f"Open incidents ({len(incidents)}):")
        print_table(["#", "PRIO", "STATE", "TARGET/CHECK", "AGE", "OWNER", "ACKNOWLEDGED"], [
            [str(i["id"]), f"P{i['priority']}", i["state"].upper(),
             f"{i['target']}/{i['check']}", ago(i["opened_at"]).removesuffix(" ago"),
             i["owner"] or "-", f"by {i['acked_by']}" if i["acked_by"] else
             (f"no (held: {i['suppressed']})" if i["suppressed"] else "NO")]
            for i in incidents])
        print()
    if problems:
        print(f"Open problems ({len(problems)}):")
        print_table(["STATE", "TARGET", "CHECK", "SINCE", "SUMMARY"], [
            [_state_text(c), c["target"], c["check"], ago(c["problem_since"]), c["summary"]]
            for c in problems])
        print()
    else:
        print("No open problems.\n")
    print(f"All checks ({len(checks)}):")
    print_table(["STATE", "TARGET", "CHECK", "SERVICES", "LAST CHECK", "SUMMARY"], [
        [_state_text(c), c["target"], c["check"], ",".join(c["services"]) or "-",
         ago(c["last_check"]), c["summary"]] for c in checks])
    print(f"\nNotifications: {counts.get('sent', 0)} sent, {counts.get('pending', 0)} waiting, "
          f"{counts.get('failed', 0)} failed")
    return int(worst)


def _owners(path: str | None) -> dict[str, str]:
    """Service id -> owner name, when the configuration can be read (status works without)."""
    if path is None:
        return {}
    try:
        config = load_config(path, check_secrets=False)
    except (ConfigError, OSError):
        return {}
    return {s.id: s.owner.name for s in config.services}


def _state_text(c: dict) -> str:
    text = c["state"].upper()
    if c["state_type"] == "soft":
        text = f"{c['last_result'].upper()} (soft {c['attempt']})"
    if c["flapping"]:
        text += " FLAPPING"
    return text
