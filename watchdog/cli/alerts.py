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
from muni_watchdog.core.model import State


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
                    "channels_told": json.loads(r["channels_told"]),
                    "drill": is_drill(r["target"]),
                    "next_update_due": r.get("next_update_due"),
                    "missed_updates": r.get("missed_updates") or 0})
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
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        until = parse_when(args.until, config.site.timezone, now) if args.until else None
        store = open_store_for_write(args.state_dir)
    except (WhenError, FileNotFoundError) as exc:
        return fail(str(exc))
    incident = store.incident(args.incident)
    if incident is None:
        return fail(f"no incident {args.incident}; see 'muni-watchdog incidents'")
    if incident["status"] != "open":
        return fail(f"incident {args.incident} is already resolved")
    with store.db.atomic():
        store.acknowledge(args.incident, args.by, args.reason, until, now)
        store.audit(args.by, "ack", f"incident {args.incident}", args.reason, now,
                    {"target": incident["target"], "check": incident["check_name"],
                     "until": until.isoformat() if until else None})
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
    from muni_watchdog.alerts.render import layout, notice_message
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
        title, body, body_format = layout(message, config.channel_format(args.channel))
        send(urls, title, body, body_format)
    except (DeliveryError, SecretError) as exc:
        return fail(f"channel {args.channel}: NOT delivered: {exc}", 1)
    print(f"channel {args.channel}: test message delivered")
    return 0
