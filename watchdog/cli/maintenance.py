"""Commands that hold alerts back on purpose: maintenance windows (one-off or recurring) and
exceptions (accepted risks with an owner and a mandatory expiry).

Every window and exception is written with who, when and why, and chained into the append-only
audit log in the same transaction.
"""

from __future__ import annotations

import argparse
import json

from muni_watchdog.cli.common import (
    add_config_option,
    add_state_dir_option,
    config_and_now,
    fail,
    open_config_and_store,
    open_store_for_write,
    row_time,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("maintenance", help="maintenance windows: add, list, end",
                       description="Maintenance windows hold notifications (checks keep "
                       "running); when one ends, everything in it is re-checked and one "
                       "summary is sent.")
    msub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    m = msub.add_parser("add", help="add a one-off or recurring window",
                        description="Add a maintenance window for targets, services or the "
                        "whole site: one-off (--start, --end) or recurring (--every).")
    add_config_option(m, state=True)
    add_state_dir_option(m)
    m.add_argument("--target", action="append", default=[], help="target id (repeatable)")
    m.add_argument("--service", action="append", default=[], help="service id (repeatable)")
    m.add_argument("--site", action="store_true", help="the whole site")
    m.add_argument("--start", help="one-off start ('now', '+10m', 'YYYY-MM-DD HH:MM')")
    m.add_argument("--end", help="one-off end ('+2h', 'YYYY-MM-DD HH:MM')")
    m.add_argument("--every", help="recurring: 'sun 02:00-04:00', 'mon-fri 12:00-13:00'")
    m.add_argument("--until", help="recurring windows apply until then (default: one year)")
    m.add_argument("--owner", required=True, help="who is responsible")
    m.add_argument("--reason", required=True, help="why, e.g. 'patch night'")
    m.add_argument("--announce", help="announce it on the residents' status page with these "
                   "words, e.g. 'Online payments are unavailable Sunday 2-4 am for an upgrade.' "
                   "(the reason stays internal)")
    m.set_defaults(handler=cmd_maintenance_add)
    m = msub.add_parser("list", help="list windows",
                        description="List the maintenance windows in force or to come (and "
                        "the ended ones with --all).")
    add_config_option(m, state=True)
    add_state_dir_option(m)
    m.add_argument("--all", action="store_true", help="include ended windows")
    m.add_argument("--json", action="store_true", help="print JSON instead of a table")
    m.set_defaults(handler=cmd_maintenance_list)
    m = msub.add_parser("end", help="end a window now",
                        description="End a maintenance window now: what it covered is "
                        "re-checked and one summary is sent.")
    add_config_option(m, state=True)
    add_state_dir_option(m)
    m.add_argument("id", type=int, help="the window's number (from 'maintenance list')")
    m.add_argument("--by", required=True, help="who ends it (for the audit log)")
    m.add_argument("--reason", default="ended early", help="why (default: ended early)")
    m.set_defaults(handler=cmd_maintenance_end)

    p = sub.add_parser("exception", help="accepted risks: add, list, end",
                       description="Accepted risks (e.g. updates deferred until after the "
                       "election): their problems are not alerted until the mandatory expiry, "
                       "which notifies.")
    esub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = esub.add_parser("add", help="accept a risk until a date",
                        description="Accept a risk on a target (or one of its checks): its "
                        "problems are not alerted until --expires, when the owner is told.")
    add_config_option(e, state=True)
    add_state_dir_option(e)
    e.add_argument("--target", required=True, help="target id")
    e.add_argument("--check", default="*", help="one check of the target (default: all)")
    e.add_argument("--owner", required=True, help="who accepts the risk")
    e.add_argument("--reason", required=True, help="why the risk is accepted")
    e.add_argument("--expires", required=True, help="'YYYY-MM-DD', '+30d' ...")
    e.set_defaults(handler=cmd_exception_add)
    e = esub.add_parser("list", help="list exceptions",
                        description="List the accepted risks in force (and the ended or "
                        "expired ones with --all).")
    add_config_option(e, state=True)
    add_state_dir_option(e)
    e.add_argument("--all", action="store_true", help="include ended and expired ones")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.set_defaults(handler=cmd_exception_list)
    e = esub.add_parser("end", help="end an exception now",
                        description="End an accepted risk now: its problems alert again.")
    add_config_option(e, state=True)
    add_state_dir_option(e)
    e.add_argument("id", type=int, help="the exception's number (from 'exception list')")
    e.add_argument("--by", required=True, help="who ends it (for the audit log)")
    e.add_argument("--reason", default="risk no longer accepted",
                   help="why (default: risk no longer accepted)")
    e.set_defaults(handler=cmd_exception_end)


def cmd_maintenance_add(args) -> int:
    from muni_watchdog.alerting.holds import HoldError, add_maintenance
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
        window, starts, ends, recurrence = add_maintenance(
            config, store, targets=args.target, services=args.service, site=args.site,
            owner=args.owner, reason=args.reason, now=now, start=args.start, end=args.end,
            every=args.every, until=args.until, announcement=args.announce)
    except (HoldError, FileNotFoundError) as exc:
        return fail(str(exc))
    tz = config.site.timezone
    what = recurrence and f"every {recurrence}" or \
        f"{row_time(starts.isoformat(), tz)} to {row_time(ends.isoformat(), tz)}"
    print(f"maintenance {window} added: {what} ({args.reason}, {args.owner})")
    return 0


def cmd_maintenance_list(args) -> int:
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    from muni_watchdog.reports.status import maintenance_list
    rows = maintenance_list(store, include_ended=args.all)
    if args.json:
        print(json.dumps({"maintenance": rows}, indent=2))
        return 0
    tz = config.site.timezone
    if not rows:
        print("No maintenance windows.")
    for r in rows:
        scope = r["scope"]
        where = ", ".join(scope["targets"] + scope["services"]) or "whole site"
        when = f"every {r['recurrence']}" if r["recurrence"] else \
            f"{row_time(r['starts_at'], tz)} to {row_time(r['ends_at'], tz)}"
        state = " [in progress]" if r["in_window"] else (" [ended]" if r["ended_at"] else "")
        print(f"#{r['id']} {when}: {where} — {r['reason']} ({r['owner']}){state}")
    return 0


def cmd_maintenance_end(args) -> int:
    from muni_watchdog.alerting.holds import HoldError, end_maintenance
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        # Ending the period makes the daemon see the window close: it re-checks and summarises.
        end_maintenance(open_store_for_write(args.state_dir), args.id, args.by, args.reason,
                        now)
    except (HoldError, FileNotFoundError) as exc:
        return fail(str(exc))
    print(f"maintenance {args.id} ended; the daemon re-checks its targets and sends a summary")
    return 0


def cmd_exception_add(args) -> int:
    from muni_watchdog.alerting.holds import HoldError, add_exception
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
        ex, expires = add_exception(config, store, target=args.target, check=args.check,
                                    owner=args.owner, reason=args.reason,
                                    expires=args.expires, now=now)
    except (HoldError, FileNotFoundError) as exc:
        return fail(str(exc))
    print(f"exception {ex} added: {args.target}/{args.check} until {expires.isoformat()}")
    return 0


def cmd_exception_list(args) -> int:
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    from muni_watchdog.reports.status import exception_list
    rows = exception_list(store, include_ended=args.all)
    if args.json:
        print(json.dumps({"exceptions": rows}, indent=2))
        return 0
    if not rows:
        print("No exceptions.")
    for r in rows:
        print(f"#{r['id']} {r['target']}/{r['check_name']} until "
              f"{row_time(r['expires_at'], config.site.timezone)}: {r['reason']} "
              f"({r['owner']})" + (" [ended]" if r["ended_at"] else ""))
    return 0


def cmd_exception_end(args) -> int:
    from muni_watchdog.alerting.holds import HoldError, end_exception
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        end_exception(open_store_for_write(args.state_dir), args.id, args.by, args.reason, now)
    except (HoldError, FileNotFoundError) as exc:
        return fail(str(exc))
    print(f"exception {args.id} ended")
    return 0
