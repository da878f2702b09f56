"""Commands for people around alerts: incidents, ack, maintenance, exceptions, audit, tests.

Every acknowledgement, maintenance window and exception is written with who, when and why, and
chained into the append-only audit log in the same transaction.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from muni_watchdog.cli import (
    add_config_option,
    add_state_dir_option,
    load_config_or_report,
    open_config_and_store,
    open_store_for_write,
)
from muni_watchdog.durations import DurationError, humanize, parse_duration
from muni_watchdog.model import State


class WhenError(ValueError):
    pass


def parse_when(text: str, tz: str, now: datetime) -> datetime:
    """``now``, ``+2h`` / ``2h``, ``2026-11-29 02:00`` or ``2026-11-29`` (site time), ISO."""
    text = text.strip()
    if text == "now":
        return now
    if re.fullmatch(r"\+?[\d.]+(ms|s|m|h|d|w)(\d+(ms|s|m|h|d|w))*", text):
        try:
            return now + timedelta(seconds=parse_duration(text.lstrip("+")))
        except DurationError as exc:
            raise WhenError(str(exc)) from None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ZoneInfo(tz))
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WhenError(f"{text!r} is not a time: write 'now', '+2h', 'YYYY-MM-DD HH:MM' "
                        "(site time) or ISO-8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


def _fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code


def _row_time(text: str | None, tz: str) -> str:
    if not text:
        return "-"
    return datetime.fromisoformat(text).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incidents", help="list open incidents (or all with --all)",
                       description="List incidents: target, state, since, owner, and who "
                       "acknowledged them.")
    add_config_option(p)
    add_state_dir_option(p)
    p.add_argument("--all", action="store_true", help="include resolved incidents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_incidents)

    p = sub.add_parser("ack", help="acknowledge an incident",
                       description="Acknowledge an incident: stops reminders and escalation. "
                       "A worse state clears the acknowledgement and notifies again.")
    add_config_option(p)
    add_state_dir_option(p)
    p.add_argument("incident", type=int, help="incident number (from the alert or 'incidents')")
    p.add_argument("--by", required=True, help="who takes it")
    p.add_argument("--reason", default="", help="what you are doing about it")
    p.add_argument("--until", help="acknowledgement expires then ('+4h', 'YYYY-MM-DD HH:MM')")
    p.set_defaults(handler=cmd_ack)

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

    p = sub.add_parser("audit", help="the audit log; 'audit verify' checks its hash chain",
                       description="Show the append-only audit log of acknowledgements, "
                       "maintenance and exceptions. 'audit verify' exits 1 if the chain is "
                       "broken.")
    add_state_dir_option(p)
    p.add_argument("action", nargs="?", choices=["verify"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_audit)

    p = sub.add_parser("test-alert", help="send a test message to a channel now",
                       description="Send a test message through one channel, directly (the "
                       "daemon also sends one weekly). Exit 0 when delivered, 1 when not.")
    add_config_option(p)
    p.add_argument("channel")
    p.set_defaults(handler=cmd_test_alert)


def _context(args):
    config = load_config_or_report(args.config, check_secrets=False)
    if config is None:
        return None, None
    return config, datetime.now(UTC)


def cmd_incidents(args) -> int:
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    rows = store.incidents(None if args.all else "open")
    now = datetime.now(UTC)
    tz = config.site.timezone
    out = []
    for r in rows:
        services = json.loads(r["services"])
        owner = config.service_by_id[services[0]].owner.name if services and \
            services[0] in config.service_by_id else None
        out.append({"id": r["id"], "target": r["target"], "check": r["check_name"],
                    "services": services, "priority": r["priority"],
                    "state": State(r["state"]).label, "summary": r["summary"],
                    "opened_at": r["opened_at"], "status": r["status"],
                    "resolved_at": r["resolved_at"], "owner": owner,
                    "suppressed": r["suppressed_reason"], "acked_by": r["acked_by"],
                    "acked_at": r["acked_at"], "ack_reason": r["ack_reason"],
                    "ack_until": r["ack_until"], "escalation_level": r["escalation_level"],
                    "channels_told": json.loads(r["channels_told"])})
    if args.json:
        print(json.dumps({"incidents": out}, indent=2))
        return 0
    if not out:
        print("No open incidents." if not args.all else "No incidents.")
        return 0
    for i in out:
        age = humanize((now - datetime.fromisoformat(i["opened_at"])).total_seconds())
        ack = f"acked by {i['acked_by']}" if i["acked_by"] else "NOT acknowledged"
        held = f", held: {i['suppressed']}" if i["suppressed"] else ""
        status = "" if i["status"] == "open" else f" [resolved {_row_time(i['resolved_at'], tz)}]"
        print(f"#{i['id']} P{i['priority']} {i['state'].upper()} {i['target']}/{i['check']} "
              f"since {_row_time(i['opened_at'], tz)} ({age}) — owner {i['owner'] or '-'}, "
              f"{ack}{held}{status}\n    {i['summary']}")
    return 0


def cmd_ack(args) -> int:
    config, now = _context(args)
    if config is None:
        return 2
    try:
        until = parse_when(args.until, config.site.timezone, now) if args.until else None
        store = open_store_for_write(args.state_dir)
    except (WhenError, FileNotFoundError) as exc:
        return _fail(str(exc))
    incident = store.incident(args.incident)
    if incident is None:
        return _fail(f"no incident {args.incident}; see 'muni-watchdog incidents'")
    if incident["status"] != "open":
        return _fail(f"incident {args.incident} is already resolved")
    with store.db.atomic():
        store.acknowledge(args.incident, args.by, args.reason, until, now)
        store.audit(args.by, "ack", f"incident {args.incident}", args.reason, now,
                    {"target": incident["target"], "check": incident["check_name"],
                     "until": until.isoformat() if until else None})
    print(f"incident {args.incident} ({incident['target']}/{incident['check_name']}) "
          f"acknowledged by {args.by}" + (f" until {until.isoformat()}" if until else ""))
    return 0


def cmd_maintenance_add(args) -> int:
    from muni_watchdog.alerts.policy import RecurrenceError, parse_recurrence
    config, now = _context(args)
    if config is None:
        return 2
    unknown = [t for t in args.target if t not in config.target_by_id] + \
        [s for s in args.service if s not in config.service_by_id]
    if unknown:
        return _fail(f"unknown target or service: {', '.join(unknown)}")
    if not (args.target or args.service or args.site):
        return _fail("say what is in maintenance: --target, --service or --site")
    tz = config.site.timezone
    try:
        if args.every:
            recurrence = parse_recurrence(args.every).describe()
            starts = parse_when(args.start, tz, now) if args.start else now
            ends = parse_when(args.until, tz, now) if args.until else now + timedelta(days=365)
        else:
            if not (args.start and args.end):
                return _fail("a one-off window needs --start and --end (or use --every)")
            recurrence = None
            starts, ends = parse_when(args.start, tz, now), parse_when(args.end, tz, now)
        if ends <= starts:
            return _fail("the window ends before it starts")
        store = open_store_for_write(args.state_dir)
    except (WhenError, RecurrenceError, FileNotFoundError) as exc:
        return _fail(str(exc))
    with store.db.atomic():
        window = store.add_maintenance(args.target, args.service, args.owner, args.reason,
                                       starts, ends, recurrence, now)
        store.audit(args.owner, "maintenance add", f"maintenance {window}", args.reason, now,
                    {"targets": args.target, "services": args.service, "site": args.site,
                     "starts": starts.isoformat(), "ends": ends.isoformat(),
                     "every": recurrence})
    what = recurrence and f"every {recurrence}" or \
        f"{_row_time(starts.isoformat(), tz)} to {_row_time(ends.isoformat(), tz)}"
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
            f"{_row_time(r['starts_at'], tz)} to {_row_time(r['ends_at'], tz)}"
        state = " [in progress]" if r["in_window"] else (" [ended]" if r["ended_at"] else "")
        print(f"#{r['id']} {when}: {where} — {r['reason']} ({r['owner']}){state}")
    return 0


def cmd_maintenance_end(args) -> int:
    config, now = _context(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
    except FileNotFoundError as exc:
        return _fail(str(exc))
    rows = [r for r in store.maintenance_windows() if r["id"] == args.id]
    if not rows:
        return _fail(f"no open maintenance window {args.id}")
    from muni_watchdog.store import iso
    with store.db.atomic():
        # Ending the period makes the daemon see the window close: it re-checks and summarises.
        store.update_maintenance(args.id, ends_at=iso(now))
        store.audit(args.by, "maintenance end", f"maintenance {args.id}", args.reason, now)
    print(f"maintenance {args.id} ended; the daemon re-checks its targets and sends a summary")
    return 0


def cmd_exception_add(args) -> int:
    config, now = _context(args)
    if config is None:
        return 2
    if args.target not in config.target_by_id:
        return _fail(f"no target named {args.target}")
    try:
        expires = parse_when(args.expires, config.site.timezone, now)
        store = open_store_for_write(args.state_dir)
    except (WhenError, FileNotFoundError) as exc:
        return _fail(str(exc))
    if expires <= now:
        return _fail("the expiry must be in the future")
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
              f"{_row_time(r['expires_at'], config.site.timezone)}: {r['reason']} "
              f"({r['owner']})" + (" [ended]" if r["ended_at"] else ""))
    return 0


def cmd_exception_end(args) -> int:
    config, now = _context(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
    except FileNotFoundError as exc:
        return _fail(str(exc))
    if not any(r["id"] == args.id for r in store.exceptions()):
        return _fail(f"no open exception {args.id}")
    from muni_watchdog.store import iso
    with store.db.atomic():
        store.update_exception(args.id, ended_at=iso(now), expiry_notified=1)
        store.audit(args.by, "exception end", f"exception {args.id}", args.reason, now)
    print(f"exception {args.id} ended")
    return 0


def cmd_audit(args) -> int:
    from muni_watchdog.store import Store
    try:
        store = Store.open(args.state_dir, readonly=True)
    except FileNotFoundError as exc:
        return _fail(str(exc), 3)
    if args.action == "verify":
        ok, message = store.verify_audit()
        print(("OK: " if ok else "BROKEN: ") + message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    rows = store.audit_entries()
    if args.json:
        print(json.dumps({"audit": [{**r, "data": json.loads(r["data"])} for r in rows]},
                         indent=2))
        return 0
    for r in rows:
        print(f"{r['at']}  {r['actor']}  {r['action']}  {r['subject']}"
              + (f"  — {r['reason']}" if r["reason"] else ""))
    if not rows:
        print("The audit log is empty.")
    return 0


def cmd_test_alert(args) -> int:
    from muni_watchdog.alerts.render import layout, notice_message
    from muni_watchdog.alerts.send import DeliveryError, send
    from muni_watchdog.secrets import SecretError
    config = load_config_or_report(args.config)
    if config is None:
        return 2
    if args.channel not in {c.name for c in config.notify.channels}:
        return _fail(f"no channel named {args.channel}; channels: "
                     f"{', '.join(c.name for c in config.notify.channels) or 'none'}")
    message = notice_message(
        config.site.name, "[TEST] muni-watchdog: test message",
        ["This test was sent with 'muni-watchdog test-alert'. If you read it, alerts reach "
         "you through this channel.", "No action is needed."],
        "muni-watchdog test: this channel works.")
    try:
        urls = config.channel_urls()[args.channel]
        title, body, body_format = layout(message, config.channel_format(args.channel))
        send(urls, title, body, body_format)
    except (DeliveryError, SecretError) as exc:
        return _fail(f"channel {args.channel}: NOT delivered: {exc}", 1)
    print(f"channel {args.channel}: test message delivered")
    return 0
