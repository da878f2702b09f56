"""Commands that hold alerts back on purpose: maintenance windows (one-off or recurring) and
exceptions (accepted risks with an owner and a mandatory expiry).

Every window and exception is written with who, when and why, and chained into the append-only
audit log in the same transaction.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from muni_watchdog.cli.common import (
    WhenError,
    add_config_option,
    add_state_dir_option,
    config_and_now,
    fail,
    open_config_and_store,
    open_store_for_write,
    parse_when,
    row_time,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("maintenance", help="maintenance windows: add, list, end",
                       description="Maintenance windows hold notifications (checks keep "
                       "running); when one ends, everything in it is re-checked and one "
                       "summary is sent.")
    msub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    m = msub.add_parser("add", help="add a one-off or recurring window")
    add_config_option(m)
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
    m = msub.add_parser("list", help="list windows")
    add_config_option(m)
    add_state_dir_option(m)
    m.add_argument("--all", action="store_true", help="include ended windows")
    m.add_argument("--json", action="store_true")
    m.set_defaults(handler=cmd_maintenance_list)
    m = msub.add_parser("end", help="end a window now")
    add_config_option(m)
    add_state_dir_option(m)
    m.add_argument("id", type=int)
    m.add_argument("--by", required=True)
    m.add_argument("--reason", default="ended early")
    m.set_defaults(handler=cmd_maintenance_end)

    p = sub.add_parser("exception", help="accepted risks: add, list, end",
                       description="Accepted risks (e.g. updates deferred until after the "
                       "election): their problems are not alerted until the mandatory expiry, "
                       "which notifies.")
    esub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = esub.add_parser("add", help="accept a risk until a date")
    add_config_option(e)
    add_state_dir_option(e)
    e.add_argument("--target", required=True)
    e.add_argument("--check", default="*", help="one check of the target (default: all)")
    e.add_argument("--owner", required=True, help="who accepts the risk")
    e.add_argument("--reason", required=True)
    e.add_argument("--expires", required=True, help="'YYYY-MM-DD', '+30d' ...")
    e.set_defaults(handler=cmd_exception_add)
    e = esub.add_parser("list", help="list exceptions")
    add_config_option(e)
    add_state_dir_option(e)
    e.add_argument("--all", action="store_true")
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler=cmd_exception_list)
    e = esub.add_parser("end", help="end an exception now")
    add_config_option(e)
    add_state_dir_option(e)
    e.add_argument("id", type=int)
    e.add_argument("--by", required=True)
    e.add_argument("--reason", default="risk no longer accepted")
    e.set_defaults(handler=cmd_exception_end)


def cmd_maintenance_add(args) -> int:
    from muni_watchdog.alerts.policy import RecurrenceError, parse_recurrence
    config, now = config_and_now(args)
    if config is None:
        return 2
    unknown = [t for t in args.target if t not in config.target_by_id] + \
        [s for s in args.service if s not in config.service_by_id]
    if unknown:
        return fail(f"unknown target or service: {', '.join(unknown)}")
    if not (args.target or args.service or args.site):
        return fail("say what is in maintenance: --target, --service or --site")
    tz = config.site.timezone
    try:
        if args.every:
            recurrence = parse_recurrence(args.every).describe()
            starts = parse_when(args.start, tz, now) if args.start else now
            ends = parse_when(args.until, tz, now) if args.until else now + timedelta(days=365)
        else:
            if not (args.start and args.end):
                return fail("a one-off window needs --start and --end (or use --every)")
            recurrence = None
            starts, ends = parse_when(args.start, tz, now), parse_when(args.end, tz, now)
        if ends <= starts:
            return fail("the window ends before it starts")
        store = open_store_for_write(args.state_dir)
    except (WhenError, RecurrenceError, FileNotFoundError) as exc:
        return fail(str(exc))
    with store.db.atomic():
        window = store.add_maintenance(args.target, args.service, args.owner, args.reason,
                                       starts, ends, recurrence, now,
                                       announcement=args.announce)
        store.audit(args.owner, "maintenance add", f"maintenance {window}", args.reason, now,
                    {"targets": args.target, "services": args.service, "site": args.site,
                     "starts": starts.isoformat(), "ends": ends.isoformat(),
                     "every": recurrence, "announcement": args.announce})
    what = recurrence and f"every {recurrence}" or \
        f"{row_time(starts.isoformat(), tz)} to {row_time(ends.isoformat(), tz)}"
    print(f"maintenance {window} added: {what} ({args.reason}, {args.owner})")
    return 0


def cmd_maintenance_list(args) -> int:
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    rows = store.maintenance_windows(include_ended=args.all)
    if args.json:
        print(json.dumps({"maintenance": [{**r, "scope": json.loads(r["scope"])}
                                          for r in rows]}, indent=2))
        return 0
    tz = config.site.timezone
    if not rows:
        print("No maintenance windows.")
    for r in rows:
        scope = json.loads(r["scope"])
        where = ", ".join(scope["targets"] + scope["services"]) or "whole site"
        when = f"every {r['recurrence']}" if r["recurrence"] else \
            f"{row_time(r['starts_at'], tz)} to {row_time(r['ends_at'], tz)}"
        state = " [in progress]" if r["in_window"] else (" [ended]" if r["ended_at"] else "")
        print(f"#{r['id']} {when}: {where} — {r['reason']} ({r['owner']}){state}")
    return 0


def cmd_maintenance_end(args) -> int:
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
    except FileNotFoundError as exc:
        return fail(str(exc))
    rows = [r for r in store.maintenance_windows() if r["id"] == args.id]
    if not rows:
        return fail(f"no open maintenance window {args.id}")
    from muni_watchdog.store.timestamps import iso
    with store.db.atomic():
        # Ending the period makes the daemon see the window close: it re-checks and summarises.
        store.update_maintenance(args.id, ends_at=iso(now))
        store.audit(args.by, "maintenance end", f"maintenance {args.id}", args.reason, now)
    print(f"maintenance {args.id} ended; the daemon re-checks its targets and sends a summary")
    return 0


def cmd_exception_add(args) -> int:
    config, now = config_and_now(args)
    if config is None:
        return 2
    if args.target not in config.target_by_id:
        return fail(f"no target named {args.target}")
    try:
        expires = parse_when(args.expires, config.site.timezone, now)
        store = open_store_for_write(args.state_dir)
    except (WhenError, FileNotFoundError) as exc:
        return fail(str(exc))
    if expires <= now:
        return fail("the expiry must be in the future")
    with store.db.atomic():
        ex = store.add_exception(args.target, args.check, args.owner, args.reason, expires, now)
        store.audit(args.owner, "exception add", f"exception {ex}", args.reason, now,
                    {"target": args.target, "check": args.check,
                     "expires": expires.isoformat()})
    print(f"exception {ex} added: {args.target}/{args.check} until {expires.isoformat()}")
    return 0


def cmd_exception_list(args) -> int:
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    rows = store.exceptions(include_ended=args.all)
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
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
    except FileNotFoundError as exc:
        return fail(str(exc))
    if not any(r["id"] == args.id for r in store.exceptions()):
        return fail(f"no open exception {args.id}")
    from muni_watchdog.store.timestamps import iso
    with store.db.atomic():
        store.update_exception(args.id, ended_at=iso(now), expiry_notified=1)
        store.audit(args.by, "exception end", f"exception {args.id}", args.reason, now)
    print(f"exception {args.id} ended")
    return 0
