"""Commands for people around alerts: incidents, ack, the audit log, test messages.

Every acknowledgement is written with who, when and why, and chained into the append-only
audit log in the same transaction (maintenance windows and accepted risks too:
:mod:`.maintenance`).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from muni_watchdog.cli.common import (
    WhenError,
    add_config_option,
    add_state_dir_option,
    config_and_now,
    fail,
    load_config_or_report,
    open_config_and_store,
    open_store_for_write,
    parse_when,
    row_time,
)
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.exercise import is_drill


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incidents", help="list open incidents (or all with --all)",
                       description="List incidents: target, state, since, owner, and who "
                       "acknowledged them.")
    add_config_option(p, state=True)
    add_state_dir_option(p)
    p.add_argument("--all", action="store_true", help="include resolved incidents")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_incidents)

    p = sub.add_parser("ack", help="acknowledge an incident",
                       description="Acknowledge an incident: stops reminders and escalation. "
                       "A worse state clears the acknowledgement and notifies again.")
    add_config_option(p, state=True)
    add_state_dir_option(p)
    p.add_argument("incident", type=int, help="incident number (from the alert or 'incidents')")
    p.add_argument("--by", required=True, help="who takes it")
    p.add_argument("--reason", default="", help="what you are doing about it")
    p.add_argument("--until", help="acknowledgement expires then ('+4h', 'YYYY-MM-DD HH:MM')")
    p.set_defaults(handler=cmd_ack)

    p = sub.add_parser("audit", help="the audit log; 'audit verify' checks its hash chain",
                       description="Show the append-only audit log of acknowledgements, "
                       "maintenance and exceptions. 'audit verify' exits 1 if the chain is "
                       "broken.")
    add_config_option(p, state=True)  # accepted like every state command's (not needed)
    add_state_dir_option(p)
    p.add_argument("action", nargs="?", choices=["verify"],
                   help="verify: check the hash chain instead of listing (exit 1 if broken)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_audit)

    p = sub.add_parser("test-alert", help="send a test message to a channel now",
                       description="Send a test message through one channel, directly (the "
                       "daemon also sends one weekly). Exit 0 when delivered, 1 when not.")
    add_config_option(p)
    p.add_argument("channel", help="a channel's name in notify.channels")
    p.set_defaults(handler=cmd_test_alert)


def cmd_incidents(args) -> int:
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    from muni_watchdog.reports.status import incident_list
    out = incident_list(store, config, include_resolved=args.all)
    now = datetime.now(UTC)
    tz = config.site.timezone
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
        status = "" if i["status"] == "open" else f" [resolved {row_time(i['resolved_at'], tz)}]"
        drill = "[DRILL] " if is_drill(i["target"]) else ""
        print(f"{drill}#{i['id']} P{i['priority']} {i['state'].upper()} {i['target']}/{i['check']} "
              f"since {row_time(i['opened_at'], tz)} ({age}) — owner {i['owner'] or '-'}, "
              f"{ack}{held}{status}\n    {i['summary']}")
    return 0


def cmd_ack(args) -> int:
    from muni_watchdog.alerting.acks import AckError, acknowledge
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        until = parse_when(args.until, config.site.timezone, now) if args.until else None
        store = open_store_for_write(args.state_dir)
        incident = acknowledge(store, args.incident, args.by, args.reason, until, now)
    except (WhenError, FileNotFoundError, AckError) as exc:
        return fail(str(exc))
    print(f"incident {args.incident} ({incident['target']}/{incident['check_name']}) "
          f"acknowledged by {args.by}" + (f" until {until.isoformat()}" if until else ""))
    return 0


def cmd_audit(args) -> int:
    from muni_watchdog.store.database import Store
    try:
        store = Store.open(args.state_dir, readonly=True)
    except FileNotFoundError as exc:
        return fail(str(exc), 3)
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
    from muni_watchdog.alerts.render import layout, notice_message, stamp
    from muni_watchdog.alerts.send import DeliveryError, send
    from muni_watchdog.core.secrets import SecretError
    config = load_config_or_report(args.config)
    if config is None:
        return 2
    if args.channel not in {c.name for c in config.notify.channels}:
        return fail(f"no channel named {args.channel}; channels: "
                     f"{', '.join(c.name for c in config.notify.channels) or 'none'}")
    message = notice_message(
        config.site.name, "[TEST] muni-watchdog: test message",
        ["This test was sent with 'muni-watchdog test-alert'. If you read it, alerts reach "
         "you through this channel.", "No action is needed."],
        "muni-watchdog test: this channel works.")
    try:
        urls = config.channel_urls()[args.channel]
        title, body, body_format = layout(stamp(message, config.site.label),
                                          config.channel_format(args.channel))
        send(urls, title, body, body_format)
    except (DeliveryError, SecretError) as exc:
        return fail(f"channel {args.channel}: NOT delivered: {exc}", 1)
    print(f"channel {args.channel}: test message delivered")
    return 0
