"""``report monthly``, ``report digest``, ``report assessment``, ``inventory`` and ``topology``
(:mod:`.topology`): reports for people, read from the state database."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from muni_watchdog.cli import topology
from muni_watchdog.cli.common import add_config_option, add_state_dir_option, open_config_and_store

EXIT_INVALID_CONFIG = 2


def register(sub) -> None:
    p = sub.add_parser("report", help="the monthly leadership summary, the on-call digest and "
                       "the assessment",
                       description="Build a report from the state database. Without --send it "
                       "is printed (text) or written to --out (HTML).")
    reports = p.add_subparsers(dest="report", metavar="REPORT", required=True)
    m = reports.add_parser("monthly", help="the monthly leadership summary",
                           description="The monthly leadership summary for a month (default: "
                           "the last complete month, in the site's time zone). --send emails "
                           "it to reports.monthly.channel and archives the HTML in "
                           "STATE_DIR/reports/YYYY-MM.html.")
    add_config_option(m, state=True)
    add_state_dir_option(m)
    m.add_argument("--month", metavar="YYYY-MM", help="which month (default: the last one)")
    m.add_argument("--out", metavar="FILE", help="write the HTML here (default: print text)")
    m.add_argument("--send", action="store_true",
                   help="send it to reports.monthly.channel and archive it")
    m.set_defaults(handler=cmd_monthly)
    d = reports.add_parser("digest", help="the on-call weekly digest",
                           description="Open incidents, unacknowledged and flapping checks, the "
                           "noisiest checks, accepted risks expiring soon and devices due for "
                           "attention. --send sends it to reports.digest.channel.")
    add_config_option(d, state=True)
    add_state_dir_option(d)
    d.add_argument("--send", action="store_true", help="send it to reports.digest.channel")
    d.set_defaults(handler=cmd_digest)

    a = reports.add_parser(
        "assessment", help="the assessment for bids and budgets (HTML, CSV, SVG)",
        description="The town's IT assessment, for a request for proposals or a budget: the "
        "services ranked by public impact with how their RTO and RPO were met, the network "
        "diagram, the hardware with its age and support status, the software per host, the "
        "backup and recovery risks, the security posture and recommendations ranked by the "
        "services' priorities. Writes assessment.html (one print-ready document: print it "
        "to PDF from a browser), inventory.csv, software.csv and network.svg into --out.")
    add_config_option(a, state=True)
    add_state_dir_option(a)
    a.add_argument("--out", metavar="DIR", help="folder for the files (created; default "
                   "./assessment-YYYY-MM-DD)")
    a.set_defaults(handler=cmd_assessment)

    i = sub.add_parser("inventory", help="every device seen, for bidders and auditors",
                       description="Every device seen by the SNMP and SSH checks: class, "
                       "vendor, model, serial, firmware or OS, uptime, first and last seen, "
                       "hardware age against its class's replacement age, OS support "
                       "status, CPU, memory and disks; --json adds the installed software.")
    add_config_option(i, state=True)
    add_state_dir_option(i)
    form = i.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    form.add_argument("--json", action="store_true", help="a JSON list of objects")
    i.set_defaults(handler=cmd_inventory)
    topology.register(sub)


def cmd_monthly(args: argparse.Namespace) -> int:
    from muni_watchdog.alerts.send import DeliveryError
    from muni_watchdog.reports.deliver import monthly_report, send_monthly_report
    from muni_watchdog.reports.history import parse_month, previous_month
    from muni_watchdog.reports.render import render_monthly_html, render_monthly_text

    now = datetime.now(UTC)
    config, store = open_config_and_store(args, write=getattr(args, "send", False))
    if config is None:
        return EXIT_INVALID_CONFIG
    if store is None:
        return 1
    try:
        month = parse_month(args.month) if args.month else previous_month(
            now, config.site.timezone)
    except ValueError as exc:
        print(f"muni-watchdog: --month: {exc}", file=sys.stderr)
        return EXIT_INVALID_CONFIG
    if args.send:
        if config.reports.monthly is None:
            print("muni-watchdog: reports.monthly is not configured; add reports: monthly: "
                  "channel: NAME to the configuration", file=sys.stderr)
            return EXIT_INVALID_CONFIG
        try:
            path = send_monthly_report(config, store, args.state_dir, now, month)
        except DeliveryError as exc:
            print(f"muni-watchdog: sending the report failed: {exc}", file=sys.stderr)
            return 1
        print(f"sent to {config.reports.monthly.channel}; archived as {path}")
    report = monthly_report(store, config, *month, now)
    if args.out:
        Path(args.out).write_text(render_monthly_html(report), encoding="utf-8")
        print(f"wrote {args.out}")
    elif not args.send:
        sys.stdout.write(render_monthly_text(report))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from muni_watchdog.alerts.send import DeliveryError
    from muni_watchdog.reports.deliver import digest, send_digest
    from muni_watchdog.reports.digest import render_digest_text

    config, store = open_config_and_store(args, write=getattr(args, "send", False))
    if config is None:
        return EXIT_INVALID_CONFIG
    if store is None:
        return 1
    now = datetime.now(UTC)
    if args.send:
        if config.reports.digest is None:
            print("muni-watchdog: reports.digest is not configured; add reports: digest: "
                  "channel: NAME to the configuration", file=sys.stderr)
            return EXIT_INVALID_CONFIG
        try:
            send_digest(config, store, now)
        except DeliveryError as exc:
            print(f"muni-watchdog: sending the digest failed: {exc}", file=sys.stderr)
            return 1
        print(f"sent to {config.reports.digest.channel}")
        return 0
    sys.stdout.write(render_digest_text(digest(store, config, now)))
    return 0


def cmd_assessment(args: argparse.Namespace) -> int:
    from muni_watchdog.reports.assessment_files import write_assessment

    config, store = open_config_and_store(args)
    if config is None:
        return EXIT_INVALID_CONFIG
    if store is None:
        return 1
    now = datetime.now(UTC)
    out = Path(args.out or f"assessment-{now.date().isoformat()}")
    try:
        written = write_assessment(store, config, out, now)
    except OSError as exc:
        print(f"muni-watchdog: cannot write the assessment into {out}: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if not any(p.name == "network.svg" for p in written):
        print("no network.svg: no device has reported its neighbours yet, or Graphviz could "
              "not draw them (the document says which)", file=sys.stderr)
    return 0


def cmd_inventory(args: argparse.Namespace) -> int:
    from muni_watchdog.reports.inventory import as_csv, as_table, inventory

    config, store = open_config_and_store(args, write=getattr(args, "send", False))
    if config is None:
        return EXIT_INVALID_CONFIG
    if store is None:
        return 1
    hosts = {t.id: t.host for t in config.targets}
    rows = inventory(store.current_states(), store.check_seen(), hosts, datetime.now(UTC),
                     config.site.lifecycle.replacement_years)
    if args.csv:
        sys.stdout.write(as_csv(rows))
    elif args.json:
        print(json.dumps(rows, indent=1))
    else:
        sys.stdout.write(as_table(rows) if rows else "no devices seen yet\n")
    return 0
