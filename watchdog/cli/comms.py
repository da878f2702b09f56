"""Commands for incident communication: public updates with the shared template, the
post-incident review and its report, and the residents' status page as static files.

Every update and review is written with who and when, chained into the audit log in the same
transaction; an update's messages to the update routes are written to the outbox with it (the
daemon sends them within seconds).
"""

from __future__ import annotations

import argparse
import getpass
import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from muni_watchdog.alerting.comms_times import pair_follow_ups, parse_next
from muni_watchdog.cli.common import (
    WhenError,
    add_config_option,
    add_state_dir_option,
    config_and_now,
    fail,
    open_config_and_store,
    open_store_for_write,
    print_or_write,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("incident", help="an incident's public updates, review and report",
                       description="Post a public update of an incident (the shared "
                       "template: what is affected, since when, what residents can do, what is "
                       "being done, next update by), review it once resolved, print its "
                       "post-incident report.")
    isub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    u = isub.add_parser("update", help="post a public update (status page and update routes)",
                        description="Post an update of an open incident: it goes to the "
                        "status page and to the channels of the notify routes of kind "
                        "'update', in plain language. The next one is due by --next-update "
                        "(default: the priority's cadence, P1 30m, P2 2h).")
    _common(u)
    u.add_argument("incident", type=int, help="the incident's number (from 'incidents')")
    u.add_argument("--text", required=True, help="what is being done, for residents")
    u.add_argument("--residents-can", help="what residents can do meanwhile (default: what "
                   "the previous update said)")
    u.add_argument("--next-update", help="when the next update comes: '30m', '+1h', "
                   "'14:00' (site time) or 'YYYY-MM-DD HH:MM'")
    u.add_argument("--status", choices=["unavailable", "degraded"],
                   help="what residents read (default: unavailable for an outage, degraded "
                   "otherwise)")
    u.add_argument("--by", default=None, help="who posts it (default: your login name)")
    u.add_argument("--dry-run", action="store_true", help="print the update, send nothing")
    u.set_defaults(handler=cmd_update)

    r = isub.add_parser("review", help="the owner's part of a post-incident review",
                        description="Write the cause and follow-ups (each with an owner and "
                        "a due date) of a resolved incident. Repeat --follow-up/--owner/--due "
                        "for several; one --owner or --due applies to every follow-up.")
    _common(r)
    r.add_argument("incident", type=int, help="the incident's number (from 'incidents')")
    r.add_argument("--cause", help="what caused it, in plain words")
    r.add_argument("--follow-up", action="append", default=[], dest="follow_ups",
                   help="a change to make (repeatable)")
    r.add_argument("--owner", action="append", default=[], dest="owners",
                   help="who owns the follow-up before it (one per --follow-up)")
    r.add_argument("--due", action="append", default=[], dest="dues",
                   help="'YYYY-MM-DD' (end of that day, site time), '+14d'")
    r.add_argument("--by", default=None, help="who writes it (default: your login name)")
    r.set_defaults(handler=cmd_review)

    rep = isub.add_parser("report", help="print the post-incident report, or write it as HTML",
                          description="The post-incident report: timeline, response promise, "
                          "time to recover against the RTO, updates as sent, cause and "
                          "follow-ups. --out writes print-ready HTML.")
    _common(rep)
    rep.add_argument("incident", type=int, help="the incident's number (from 'incidents')")
    rep.add_argument("--out", help="write HTML to this file")
    rep.set_defaults(handler=cmd_report)

    f = isub.add_parser("follow-up", help="mark a follow-up done",
                        description="Mark a follow-up of a review (or a drill) done.")
    fsub = f.add_subparsers(dest="follow_action", metavar="ACTION", required=True)
    add_follow_up_done(fsub)

    p = sub.add_parser("status-page", help="the residents' status page as static files",
                       description="Write the residents' status page (index.html and "
                       "status.json) into a folder, each file replaced atomically, for the "
                       "town's own web host. The daemon does it on reports.status_page.every.")
    ssub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = ssub.add_parser("export", help="write index.html and status.json into DIR",
                        description="Write the residents' status page (index.html and "
                        "status.json) into DIR now, as the daemon does on its schedule.")
    _common(e)
    e.add_argument("dir", help="the folder a web server publishes")
    e.set_defaults(handler=cmd_status_export)


def _common(p: argparse.ArgumentParser) -> None:
    add_config_option(p)
    add_state_dir_option(p)


def add_follow_up_done(fsub: argparse._SubParsersAction) -> None:
    d = fsub.add_parser("done", help="mark a follow-up done (of a drill or a review)",
                        description="Mark a follow-up (of a drill or a review) done; it leaves "
                        "the weekly digest.")
    _common(d)
    d.add_argument("id", type=int, help="the follow-up's number (digest, 'drill follow-up list')")
    d.add_argument("--by", default=None, help="who did it (default: your login name)")
    d.add_argument("--note", default="", help="what was done")
    d.set_defaults(handler=cmd_follow_up_done)


def who(args: argparse.Namespace) -> str:
    """--by, else the person behind sudo, else the login name."""
    return args.by or os.environ.get("SUDO_USER") or getpass.getuser()


def cmd_update(args) -> int:
    from muni_watchdog.alerting.communication import UpdateError, post_update
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        next_update = parse_next(args.next_update, config.site.timezone, now) \
            if args.next_update else None
        store = open_store_for_write(args.state_dir)
    except (WhenError, FileNotFoundError) as exc:
        return fail(str(exc))
    if args.dry_run:
        return _preview(config, store, args, next_update, now)
    try:
        posted = post_update(config, store, args.incident, who(args), args.text,
                             args.residents_can, next_update, now, status=args.status)
    except UpdateError as exc:
        return fail(str(exc))
    where = ", ".join(posted.channels) or "no channel"
    page = "the status page" if posted.public else "no status page (the service is not public)"
    nxt = (f"; next update due by {posted.next_update_by.astimezone(ZoneInfo(config.site.timezone)):%H:%M}"
           if posted.next_update_by else "")
    print(f"incident {args.incident}: update {posted.number} posted to {page} and {where}{nxt}")
    for note in posted.notes:
        print(f"note: {note}")
    return 0


def _preview(config, store, args, next_update, now) -> int:
    from muni_watchdog.alerting.communication import public_status
    from muni_watchdog.alerts.cadence import next_update_by
    from muni_watchdog.alerts.render import layout
    from muni_watchdog.alerts.updates import PublicUpdate, update_message
    from muni_watchdog.config.communication import cadence_of, primary_service
    incident = store.incident(args.incident)
    service = primary_service(config, incident) if incident else None
    if incident is None or service is None:
        return fail(f"no incident {args.incident} of a configured service")
    message = update_message(PublicUpdate(
        config.site.name, config.site.timezone, service.name, service.impact,
        public_status(incident, args.status), datetime.fromisoformat(incident["opened_at"]),
        now, len(store.updates(args.incident)) + 1, args.text, args.residents_can or "",
        next_update_by(now, cadence_of(config, incident), next_update), who(args)))
    print(layout(message, "text")[1], end="")
    return 0


def cmd_review(args) -> int:
    from muni_watchdog.alerting.communication import UpdateError, write_review
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        follow_ups = pair_follow_ups(args.follow_ups, args.owners, args.dues,
                                     config.site.timezone, now)
        store = open_store_for_write(args.state_dir)
    except (WhenError, FileNotFoundError) as exc:
        return fail(str(exc))
    if args.cause is None and not follow_ups:
        return fail("give --cause and/or --follow-up (with --owner and --due)")
    try:
        write_review(store, args.incident, who(args), args.cause, follow_ups, now)
    except UpdateError as exc:
        return fail(str(exc))
    print(f"incident {args.incident}: review written"
          + (f", {len(follow_ups)} follow-up(s) added" if follow_ups else "")
          + f"; see 'muni-watchdog incident report {args.incident}'")
    return 0


def cmd_report(args) -> int:
    from muni_watchdog.reports.comms_render import render_post_incident_html
    from muni_watchdog.reports.postincident import load_post_incident, render_post_incident_text
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    report = load_post_incident(store, config, args.incident, datetime.now(UTC))
    if report is None:
        return fail(f"no incident {args.incident}; see 'muni-watchdog incidents --all'")
    return print_or_write(args.out, lambda: render_post_incident_html(report),
                          lambda: render_post_incident_text(report))


def cmd_follow_up_done(args) -> int:
    from muni_watchdog.alerting.drills import DrillError, finish_follow_up
    config, now = config_and_now(args)
    if config is None:
        return 2
    try:
        store = open_store_for_write(args.state_dir)
        row = finish_follow_up(store, args.id, who(args), args.note, now)
    except (FileNotFoundError, DrillError) as exc:
        return fail(str(exc))
    print(f"follow-up {args.id} ({row['source']} {row['source_id']}: {row['text']}) done")
    return 0


def cmd_status_export(args) -> int:
    from muni_watchdog.reports.status_export import export_status_page
    config, store = open_config_and_store(args)
    if store is None:
        return 2 if config is None else 3
    try:
        written = export_status_page(store, config, args.dir, datetime.now(UTC))
    except OSError as exc:
        return fail(f"cannot write the status page into {args.dir}: {exc}", 1)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
