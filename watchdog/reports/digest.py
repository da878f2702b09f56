"""The on-call weekly digest for the MSP: what needs a technician's attention. Pure."""

from __future__ import annotations

import html
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.core.exercise import is_drill
from muni_watchdog.core.model import State
from muni_watchdog.reports.history import History, when
from muni_watchdog.reports.outages import monitoring_stopped, site_coverage
from muni_watchdog.reports.words import plural, span, stamp

EXPIRING_WITHIN = timedelta(days=14)
DISK_FULL_WITHIN_DAYS = 30.0


@dataclass(frozen=True)
class Digest:
    site: str
    timezone: str
    generated_at: datetime
    open_incidents: list[str]
    unacknowledged: list[str]
    flapping: list[str]
    noisiest: list[tuple[str, int]]
    expiring: list[str]
    devices: list[str]
    not_watched: list[str] = field(default_factory=list)   # no fresh result that knows
    follow_ups: list[str] = field(default_factory=list)    # open, of drills and reviews
    reviews: list[str] = field(default_factory=list)       # post-incident, cause not written
    drills: list[str] = field(default_factory=list)        # drills due or running

    @property
    def title(self) -> str:
        return f"{self.site}: on-call weekly digest"


def build_digest(history: History, config: Any, now: datetime) -> Digest:
    tz = config.site.timezone
    open_rows = [i for i in history.incidents if i["status"] == "open"]
    incidents = [("[DRILL] " if is_drill(i["target"]) else "") +
                 f"#{i['id']} P{i['priority']} {i['target']}/{i['check_name']} "
                 f"{State(i['state']).label} since {stamp(when(i['opened_at']), tz)}: "
                 f"{i['summary']}" + (f" (acknowledged by {i['acked_by']})" if i["acked_by"]
                                      else "") for i in open_rows]
    unacked = [f"#{i['id']} {i['target']}/{i['check_name']}" for i in open_rows
               if not i["acked_by"] and not i["suppressed_reason"]]
    flapping = [f"{r['target']}/{r['check_name']}" for r in history.current if r["flapping"]]
    week = now - timedelta(days=7)
    counts = Counter(f"{n['target']}/{n['check_name']}" for n in history.notifications
                     if n.get("target") and when(n["created_at"]) >= week)
    expiring = [f"{x['target']}: {x['reason']} (owner {x['owner']}) expires "
                f"{stamp(when(x['expires_at']), tz)}" for x in history.exceptions
                if x["ended_at"] is None and now <= when(x["expires_at"]) <= now + EXPIRING_WITHIN]
    follow_ups, reviews, drills = comms_items(history, config, now)
    return Digest(config.site.name, tz, now, incidents, unacked, flapping,
                  counts.most_common(5), expiring, devices_due(history.current),
                  not_watched(history, config, now), follow_ups, reviews, drills)


def comms_items(history: History, config: Any, now: datetime
                ) -> tuple[list[str], list[str], list[str]]:
    """Follow-ups still open (of drills and post-incident reviews: they stay here until
    done), post-incident reports waiting for their cause, and drills due or running."""
    from muni_watchdog.reports.drill_report import drill_dues
    from muni_watchdog.reports.postincident import follow_up_words
    tz = config.site.timezone
    comms = history.comms
    follow_ups = [f"#{f['id']} ({f['source']} {f['source_id']}) "
                  f"{follow_up_words(f, tz, now)}; when done: muni-watchdog drill follow-up "
                  f"done {f['id']} --by NAME" for f in comms.follow_ups if not f["done_at"]]
    reviews = [f"incident {i} (P{comms.incidents[i]['priority']}, "
               f"{stamp(when(comms.incidents[i]['opened_at']), tz)}): cause not written; "
               f"muni-watchdog incident review {i} --cause ..."
               for i, r in sorted(comms.reviews.items())
               if not r["cause"] and i in comms.incidents]
    drills = [f"drill {d['id']} of {d['service']} running since "
              f"{stamp(when(d['started_at']), tz)}: {d['scenario']}"
              for d in comms.drills if not d["ended_at"]]
    drills += [f"{d.service}: {d.words(tz, now)}" for d in drill_dues(config, comms.drills)
               if d.overdue(now) or d.due - now <= timedelta(days=30)]
    return follow_ups, reviews, drills


def not_watched(history: History, config: Any, now: datetime) -> list[str]:
    """Checks that do not know right now (UNKNOWN, or no result came: a hung check never
    pages), and the times this week the monitoring itself was not running — the same
    computation as the monthly report's "not watched"."""
    tz = config.site.timezone
    found = []
    for (target, check), coverage in sorted(site_coverage(history, config, now).items()):
        current = [b for b in coverage.blind if b.start <= now <= b.end]
        if current:
            blind = current[-1]
            what = (f"no usable results since {stamp(blind.start, tz)}: {blind.reason}"
                    if blind.reason else f"no results since {stamp(blind.start, tz)}")
            found.append(f"{target}/{check}: {what}")
    stopped = monitoring_stopped(history, config, now - timedelta(days=7), now)
    if len(stopped) == 1:
        (a, b), = stopped
        found.append(f"the monitoring itself was not running from {stamp(a, tz)} to "
                     f"{stamp(b, tz)} ({span((b - a).total_seconds())})")
    elif stopped:
        total = sum((b - a).total_seconds() for a, b in stopped)
        found.append(f"the monitoring itself was not running {plural(len(stopped), 'time')} "
                     f"this week, {span(total)} in all (last from {stamp(stopped[-1][0], tz)})")
    return found


def devices_due(current: list[dict[str, Any]] | Any) -> list[str]:
    """Toner low, UPS battery to replace, disks filling within 30 days — from the items and
    metrics the SNMP and SSH checks keep in their current state."""
    due = []
    for row in current:
        where = f"{row['target']}"
        for item in json.loads(row.get("items") or "[]"):
            level = item.get("level_percent")
            # the supply's own state: for a waste box the level is how full it is
            if "level_percent" in item and item.get("state") in ("low", "empty"):
                due.append(f"{where}: {item.get('descr') or item.get('kind')} at "
                           f"{level if level is not None else '?'} %")
            if item.get("replace_battery"):
                due.append(f"{where}: UPS battery needs replacing")
        for metric in json.loads(row.get("metrics") or "[]"):
            if str(metric.get("name", "")).endswith("days_until_full") and \
                    metric.get("value") is not None and metric["value"] <= DISK_FULL_WITHIN_DAYS:
                volume = metric["name"].removesuffix("_days_until_full")
                due.append(f"{where}: {volume} full in about {metric['value']:.0f} days")
    return sorted(set(due))


SECTIONS = (("Open incidents", "open_incidents"), ("Not acknowledged", "unacknowledged"),
            ("Open follow-ups (drills and post-incident reviews)", "follow_ups"),
            ("Post-incident reports waiting for their cause", "reviews"),
            ("Drills due within 30 days, or running", "drills"),
            ("Not watched (no fresh result that knows)", "not_watched"),
            ("Flapping checks", "flapping"), ("Accepted risks expiring within 14 days",
                                               "expiring"), ("Devices due for attention",
                                                             "devices"))


def render_digest_text(d: Digest) -> str:
    out = [d.title, f"Week to {stamp(d.generated_at, d.timezone)}", ""]
    for heading, name in SECTIONS:
        items = getattr(d, name)
        out += [heading.upper(), *([f"- {x}" for x in items] or ["- none"]), ""]
    out += ["NOISIEST CHECKS (alerts this week)",
            *([f"- {k}: {n}" for k, n in d.noisiest] or ["- none"])]
    return "\n".join(out) + "\n"


def render_digest_html(d: Digest) -> str:
    font = "font-family:Arial,Helvetica,sans-serif;font-size:14px;"
    parts = [f'<h2 style="{font}font-size:20px">{html.escape(d.title)}</h2>']
    sections = [(h, getattr(d, n)) for h, n in SECTIONS]
    sections.append(("Noisiest checks (alerts this week)", [f"{k}: {n}" for k, n in d.noisiest]))
    for heading, items in sections:
        parts.append(f'<h3 style="{font}font-size:16px">{html.escape(heading)}</h3>')
        parts.append("".join(f'<p style="{font}margin:2px 0">&bull; {html.escape(x)}</p>'
                             for x in items) or f'<p style="{font}color:#777">None.</p>')
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
            + "".join(parts) + "</body></html>\n")
