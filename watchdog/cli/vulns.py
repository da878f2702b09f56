"""``muni-watchdog vulns update|status``: the vulnerability feeds in ``<state>/vulns``.

``update`` downloads now what the daemon would download on its schedule (the feeds the
servers need, KEV always; ``--all`` or ``--feed`` choose), with the same limits; ``status``
shows each configured feed's copy: how old, how big, whether its last download failed, and
whether a server needs it. Both work while the daemon runs (downloads replace files
atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from muni_watchdog.checks.vulns.check import feeds_directory
from muni_watchdog.checks.vulns.settings import needed_sources
from muni_watchdog.cli.common import (
    EXIT_INVALID_CONFIG,
    add_config_option,
    add_state_dir_option,
    load_config_or_report,
    print_table,
)
from muni_watchdog.core.durations import humanize
from muni_watchdog.store.database import Store

EXIT_FAILED = 1
EXIT_UNKNOWN = 3


def register(sub) -> None:
    p = sub.add_parser(
        "vulns", help="the vulnerability feeds: download now, show their age",
        description="The vulnerability feeds (OSV, the Debian security tracker, CISA's "
        "known-exploited catalogue) the 'vulnerabilities' check matches against, kept in "
        "STATE_DIR/vulns.")
    groups = p.add_subparsers(dest="vulns_command", metavar="COMMAND", required=True)
    u = groups.add_parser(
        "update", help="download the feeds now",
        description="Download now (conditional GET, with the size and time limits) the feeds "
        "the servers need — those covering a system a vulnerabilities check has seen, and "
        "KEV. Exit 0 when every download succeeded or the copy was current, 1 when one "
        "failed (its last copy stays), 2 on a config error.")
    add_config_option(u)
    add_state_dir_option(u)
    chosen = u.add_mutually_exclusive_group()
    chosen.add_argument("--all", action="store_true", help="every configured feed")
    chosen.add_argument("--feed", action="append", metavar="NAME",
                        help="this feed (repeatable)")
    u.set_defaults(handler=cmd_update)
    s = groups.add_parser(
        "status", help="show each feed's age, size and last error",
        description="Show each configured feed's copy: when its server last confirmed it, its "
        "size, the last download error. Exit 0 when every needed feed is within "
        "site.vulnerabilities' age limits, 3 (UNKNOWN) when one is missing or too old.")
    add_config_option(s)
    add_state_dir_option(s)
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(handler=cmd_status)


def _act_as_state_owner(state_dir: Path) -> None:
    """As root, write as the state directory's owner (the service user), so the daemon can
    replace what this command downloaded (as :func:`open_store_for_write` does)."""
    if os.geteuid() != 0 or not state_dir.is_dir():
        return
    owner = state_dir.stat()
    if owner.st_uid != 0:
        os.setgid(owner.st_gid)
        os.setuid(owner.st_uid)


def _systems(config, state_dir: Path) -> set[str]:
    from muni_watchdog.daemon.vuln_feeds import systems_seen, vulnerability_checks
    try:
        store = Store.open(state_dir, readonly=True)
    except FileNotFoundError:
        return set()
    try:
        return systems_seen(store, vulnerability_checks(config))
    finally:
        store.close()


def cmd_update(args: argparse.Namespace) -> int:
    from muni_watchdog.daemon.vuln_feeds import download, due_sources
    config = load_config_or_report(args.config, check_secrets=False)
    if config is None:
        return EXIT_INVALID_CONFIG
    state_dir = Path(args.state_dir)
    directory = feeds_directory(state_dir)
    sources = config.site.vulnerabilities.sources()
    now = datetime.now(UTC)
    if args.feed:
        known = {s.name: s for s in sources}
        unknown = [n for n in args.feed if n not in known]
        if unknown:
            print(f"no feed named {', '.join(unknown)} in site.vulnerabilities (feeds: "
                  f"{', '.join(known)})", file=sys.stderr)
            return EXIT_INVALID_CONFIG
        chosen = [known[n] for n in dict.fromkeys(args.feed)]
    elif args.all:
        chosen = list(sources)
    else:
        systems = _systems(config, state_dir)
        chosen = due_sources(config, directory, systems, now, force=True)
        if not systems:
            print("No server's system is known yet (no vulnerabilities check has run with "
                  f"--state-dir {state_dir}): only the KEV catalogue is fetched. Use --feed "
                  "NAME or --all to fetch others now.")
    _act_as_state_owner(state_dir)
    failed = 0
    rows = []
    for source in chosen:
        result = download(source, directory, datetime.now(UTC))
        copy = result.copy
        if result.error:
            failed += 1
            kept = (f"the copy confirmed {_ago(copy.verified_at, now)} stays in use"
                    if copy is not None and copy.verified_at else "no copy")
            rows.append([source.name, "FAILED", f"{result.error} ({kept})"])
        elif result.changed:
            rows.append([source.name, "downloaded", f"{_size(copy.size if copy else 0)} "
                         f"from {source.url}"])
        else:
            rows.append([source.name, "unchanged", "the server confirmed the copy (304)"])
    if rows:
        print_table(["FEED", "RESULT", "DETAILS"], rows)
    return EXIT_FAILED if failed else 0


def feed_rows(config, state_dir: Path, now: datetime) -> list[dict[str, Any]]:
    """One row per configured feed: its copy's age and size, its last error, whether a
    server needs it, and whether it is within its age limit."""
    from muni_watchdog.checks.vulns.feeds import read_copy, read_meta
    from muni_watchdog.daemon.vuln_feeds import vulnerability_checks
    settings = config.site.vulnerabilities
    raw = feeds_directory(state_dir) / "raw"
    needed = {s.name for s in needed_sources(settings.sources(), _systems(config, state_dir))
              } if vulnerability_checks(config) else set()
    rows = []
    for source in settings.sources():
        copy = read_copy(raw, source.name)
        meta = read_meta(raw, source.name)
        limit = settings.kev_max_age if source.kind == "kev" else settings.max_age
        age = copy.age(now) if copy is not None else None
        rows.append({
            "feed": source.name, "kind": source.kind, "url": source.url,
            "needed": source.name in needed, "systems": list(source.systems),
            "confirmed_at": copy.verified_at.isoformat() if copy and copy.verified_at
            else None,
            "age_seconds": age, "max_age_seconds": limit,
            "fresh": age is not None and age <= limit,
            "size": copy.size if copy else None,
            "downloaded_at": copy.downloaded_at.isoformat() if copy and copy.downloaded_at
            else None,
            "last_error": str(meta.get("last_error") or "") or None,
            "last_attempt": meta.get("last_attempt")})
    return rows


def cmd_status(args: argparse.Namespace) -> int:
    config = load_config_or_report(args.config, check_secrets=False)
    if config is None:
        return EXIT_INVALID_CONFIG
    now = datetime.now(UTC)
    rows = feed_rows(config, Path(args.state_dir), now)
    stale = [r for r in rows if r["needed"] and not r["fresh"]]
    if args.json:
        print(json.dumps({"generated_at": now.isoformat(), "feeds": rows}, indent=2))
    else:
        print_table(["FEED", "NEEDED", "AGE", "SIZE", "LAST ERROR", "URL"], [
            [r["feed"], _needed(r), _age_words(r), _size(r["size"]) if r["size"] else "-",
             (r["last_error"] or "-")[:60], r["url"]] for r in rows])
        if stale:
            print(f"\n{len(stale)} needed feed(s) missing or older than allowed: "
                  f"{', '.join(r['feed'] for r in stale)} — the vulnerabilities checks are "
                  "UNKNOWN until `muni-watchdog vulns update` succeeds.")
    return EXIT_UNKNOWN if stale else 0


def _needed(row: dict[str, Any]) -> str:
    if row["needed"]:
        return "yes (always)" if row["kind"] == "kev" else "yes"
    if row["kind"] == "kev":
        return "no (no vulnerabilities check)"
    return "no (no server of " + "/".join(row["systems"]) + ")"


def _age_words(row: dict[str, Any]) -> str:
    if row["age_seconds"] is None:
        return "never downloaded"
    text = humanize(row["age_seconds"])
    return text if row["fresh"] else f"{text} (limit {humanize(row['max_age_seconds'])})"


def _ago(moment: datetime, now: datetime) -> str:
    return humanize(max(0.0, (now - moment).total_seconds())) + " ago"


def _size(n: int | None) -> str:
    if not n:
        return "0 B"
    for unit, size in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"

