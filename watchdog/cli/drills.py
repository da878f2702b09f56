"""Commands for drills: start one (an incident flagged as an exercise, paged, reminded and
escalated like a real one, every message saying [DRILL]), mark its steps, end it with its
form, and follow its changes until they are done."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from muni_watchdog.alerting.comms_times import pair_follow_ups, parse_due
from muni_watchdog.cli.common import (
    WhenError,
    add_config_option,
    add_state_dir_option,
    config_and_now,
    fail,
    open_config_and_store,
    open_store_for_write,
    print_or_write,
    row_time,
)
from muni_watchdog.cli.comms import add_follow_up_done, who


def _common(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_state_dir_option(p)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("drill", help="drills: start, step, end, list, report, follow-up",
                       description="A drill is an incident flagged as an exercise: it pages, "
                       "reminds and escalates like a real one (every message says [DRILL]) "
                       "and is measured the same way — time to acknowledge, to the first "
                       "update, to recover, communication against the cadence, the handoff — "
                       "but left out of availability and response-promise figures.")
    dsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    s = dsub.add_parser("start", help="start a drill of a service",
                        description="Start a drill: a flagged incident paged, escalated and "
                        "measured like a real one, left out of every availability figure.")
    _common(s)
    s.add_argument("service", help="service id")
    s.add_argument("--scenario", required=True, help='what is exercised, e.g. "payment '
                   'portal down"')
    s.add_argument("--by", default=None, help="who runs it (default: your login name)")
    s.set_defaults(handler=cmd_start)

    s = dsub.add_parser("step", help="mark a recovery step done",
                        description="Record a recovery step of a running drill (with "
                        "--recovered: the step that brought the service back).")
    _common(s)
    s.add_argument("drill", type=int, help="the drill's number (from 'drill list')")
    s.add_argument("text", help='e.g. "restored from backup"')
    s.add_argument("--recovered", action="store_true", help="this step brought the service "
                   "back: the drill's time to recover (the all-clear is sent)")
    s.add_argument("--by", default=None, help="who (default: your login name)")
    s.set_defaults(handler=cmd_step)

    s = dsub.add_parser("end", help="end a drill with its short form",
                        description="End a drill: what went well, and the changes it led to "
                        "(the guidance asks for two measurable ones), each with an owner and "
                        "a due date. Repeat --change/--owner/--due.")
    _common(s)
    s.add_argument("drill", type=int, help="the drill's number (from 'drill list')")
    s.add_argument("--went-well", default="", help="what went well")
    s.add_argument("--change", action="append", default=[], dest="changes",
                   help="a measurable change it led to (repeatable)")
    s.add_argument("--owner", action="append", default=[], dest="owners",
                   help="who owns the change before it (one per --change)")
    s.add_argument("--due", action="append", default=[], dest="dues",
                   help="'YYYY-MM-DD' (end of that day, site time), '+30d'")
    s.add_argument("--by", default=None, help="who (default: your login name)")
    s.set_defaults(handler=cmd_end)

    s = dsub.add_parser("list", help="drills done and running, and when each service is due",
                        description="List the drills done and running, and when each "
                        "priority 1-2 service is next due for one.")
    _common(s)
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(handler=cmd_list)

    s = dsub.add_parser("report", help="a drill's measures and timeline (--out: HTML)",
                        description="Print a drill's measures and timeline, or write them "
                        "as print-ready HTML with --out.")
    _common(s)
    s.add_argument("drill", type=int, help="the drill's number (from 'drill list')")
    s.add_argument("--out", help="write print-ready HTML to this file")
    s.set_defaults(handler=cmd_report)

    f = dsub.add_parser("follow-up", help="the changes drills led to: add, list, done",
                        description="The changes drills (and reviews) led to, each with an "
                        "owner and a due date: add, list, mark done.")
    fsub = f.add_subparsers(dest="follow_action", metavar="ACTION", required=True)
    a = fsub.add_parser("add", help="add a change to a drill",
                        description="Add a change a drill led to, with its owner and due date.")
    _common(a)
    a.add_argument("drill", type=int, help="the drill's number (from 'drill list')")
    a.add_argument("--text", required=True, help="the change, in plain words")
    a.add_argument("--owner", required=True, help="who makes it")
    a.add_argument("--due", required=True, help="by when: 'YYYY-MM-DD', '+30d' ...")
    a.add_argument("--by", default=None, help="who adds it (default: your login name)")
    a.set_defaults(handler=cmd_follow_up_add)
    ls = fsub.add_parser("list", help="open follow-ups (of drills and reviews)",
                         description="List the open follow-ups of drills and reviews (all "
                         "with --all).")
    _common(ls)
    ls.add_argument("--all", action="store_true", help="include those done")
    ls.set_defaults(handler=cmd_follow_up_list)
    add_follow_up_done(fsub)


def cmd_start(args) -> int:
    from muni_watchdog.alerting.drills import DrillError, start_drill
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
        drill, incident = start_drill(config, store, args.service, args.scenario, who(args),
                                      now)
    except (FileNotFoundError, DrillError) as exc:
        return fail(str(exc))
    service = config.service_by_id[args.service]
    print(f"""drill {drill} started: {service.name} — {args.scenario}
Incident {incident} is being paged as [DRILL] (as a P{service.priority} problem: reminders, and the
backup owner after {service.effective_response_sla / 60:g} minutes unacknowledged). Respond as you would:
  muni-watchdog ack {incident} --by "NAME" --reason "..."
  muni-watchdog incident update {incident} --text "what is being done" --residents-can "..."
  muni-watchdog drill step {drill} "restored from backup"
  muni-watchdog drill step {drill} "portal back" --recovered
  muni-watchdog drill end {drill} --went-well "..." --change "..." --owner "..." --due YYYY-MM-DD""")
    return 0


def cmd_step(args) -> int:
    from muni_watchdog.alerting.drills import DrillError, mark_step
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
        drill = store.drill(args.drill)
        mark_step(store, args.drill, args.text, who(args), args.recovered, now)
    except (FileNotFoundError, DrillError) as exc:
        return fail(str(exc))
    elapsed = now - datetime.fromisoformat(drill["started_at"])
    minutes = elapsed.total_seconds() / 60
    print(f"drill {args.drill}: step marked at +{minutes:.0f} min: {args.text}"
          + (" — the service is back; the all-clear is sent" if args.recovered else ""))
    return 0


def cmd_end(args) -> int:
    from muni_watchdog.alerting.drills import Change, DrillError, end_drill
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        changes = [Change(t, o, d) for t, o, d in pair_follow_ups(
            args.changes, args.owners, args.dues, config.site.timezone, now)]
        store = open_store_for_write(args.state_dir)
        notes = end_drill(store, args.drill, who(args), args.went_well, changes, now)
    except (WhenError, FileNotFoundError, DrillError) as exc:
        return fail(str(exc))
    print(f"drill {args.drill} ended; {len(changes)} change(s) recorded. Its report: "
          f"muni-watchdog drill report {args.drill}")
    for note in notes:
        print(f"note: {note}")
    return 0


def cmd_list(args) -> int:
    from muni_watchdog.reports.drill_list import drill_list_dict, load_drill_list
    from muni_watchdog.reports.drill_report import summary_words
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    now = datetime.now(UTC)
    tz = config.site.timezone
    listing = load_drill_list(store, config, now)
    if args.json:
        print(json.dumps(drill_list_dict(listing, now), indent=2))
        return 0
    for m in listing.drills:
        state = "running" if m.ended_at is None else "ended"
        print(f"#{m.id} {m.service} ({state}): {summary_words(m, tz)}")
    if not listing.drills:
        print("No drills yet.")
    for d in listing.dues:
        print(f"{d.service}: {d.words(tz, now)}")
    return 0


def cmd_report(args) -> int:
    from muni_watchdog.reports.comms_render import render_drill_html
    from muni_watchdog.reports.drill_report import load_drill, render_drill_text
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    measured = load_drill(store, config, args.drill, datetime.now(UTC))
    if measured is None:
        return fail(f"no drill {args.drill}; see 'muni-watchdog drill list'")
    return print_or_write(args.out, lambda: render_drill_html(measured),
                          lambda: render_drill_text(measured))


def cmd_follow_up_add(args) -> int:
    from muni_watchdog.alerting.drills import Change, DrillError, add_follow_up
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        due = parse_due(args.due, config.site.timezone, now)
        store = open_store_for_write(args.state_dir)
        if store.drill(args.drill) is None:
            return fail(f"no drill {args.drill}; see 'muni-watchdog drill list'")
        number = add_follow_up(store, "drill", args.drill, Change(args.text, args.owner, due),
                               who(args), now)
    except (WhenError, FileNotFoundError, DrillError) as exc:
        return fail(str(exc))
    print(f"follow-up {number} added to drill {args.drill}")
    return 0


def cmd_follow_up_list(args) -> int:
    from muni_watchdog.reports.postincident import follow_up_words
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    rows = store.follow_ups(open_only=not args.all)
    now = datetime.now(UTC)
    for f in rows:
        print(f"#{f['id']} ({f['source']} {f['source_id']}, added {row_time(f['created_at'], config.site.timezone)}) "
              f"{follow_up_words(f, config.site.timezone, now)}")
    if not rows:
        print("No open follow-ups." if not args.all else "No follow-ups.")
    return 0
