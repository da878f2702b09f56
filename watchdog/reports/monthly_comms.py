"""The monthly report's communication and drill lines, per service: the post-incident reports
of the month's incidents (with their cause and follow-ups), the drills done with their
measured times, and when the next drill is due — next to the restore tests. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from muni_watchdog.core.durations import humanize
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.reports.drill_report import (
    DrillDue,
    DrillMeasures,
    drill_dues,
    drills_from_history,
    summary_words,
)
from muni_watchdog.reports.history import History, when
from muni_watchdog.reports.words import plural, stamp


@dataclass(frozen=True)
class ReviewLine:
    incident_id: int
    opened_at: datetime
    recover_seconds: float | None
    rto: float
    updates: int
    missed_updates: int
    cause: str
    follow_ups: int
    follow_ups_open: int


def review_lines(history: History, service: Any, start: datetime,
                 stop: datetime) -> list[ReviewLine]:
    """Post-incident reports of the service's incidents opened in [start, stop)."""
    comms = history.comms
    lines = []
    for incident_id, review in sorted(comms.reviews.items()):
        incident = comms.incidents.get(incident_id)
        if incident is None or is_drill(incident["target"]):
            continue
        opened = when(incident["opened_at"])
        if service.id not in json.loads(incident["services"] or "[]") or \
                not start <= opened < stop:
            continue
        resolved = when(incident["resolved_at"])
        follow = comms.follow_ups_of("incident", incident_id)
        lines.append(ReviewLine(
            incident_id, opened, (resolved - opened).total_seconds() if resolved else None,
            service.rto,
            sum(1 for u in comms.updates.get(incident_id, []) if u["kind"] == "update"),
            incident.get("missed_updates") or 0, review["cause"] or "", len(follow),
            sum(1 for f in follow if not f["done_at"])))
    return lines


def service_drills(history: History, config: Any, service: Any, start: datetime,
                   stop: datetime, now: datetime) -> tuple[list[DrillMeasures], DrillDue | None]:
    """The service's drills started in [start, stop), measured, and its next drill's due
    date as of ``stop``."""
    drills = [m for m in drills_from_history(history.comms, config, now)
              if m.service_id == service.id and start <= m.started_at < stop]
    done = [d for d in history.comms.drills if when(d["started_at"]) < stop]
    due = next((d for d in drill_dues(config, done) if d.service_id == service.id), None)
    return drills, due


def comms_lines(reviews: list[ReviewLine], drills: list[DrillMeasures], due: DrillDue | None,
                tz: str, now: datetime) -> list[str]:
    """One sentence each, in leadership's words."""
    lines = []
    for r in reviews:
        recovered = ("still open" if r.recover_seconds is None else
                     f"recovered in {humanize(r.recover_seconds)} "
                     f"({'within' if r.recover_seconds <= r.rto else 'over'} the "
                     f"{humanize(r.rto)} recovery target)")
        told = (f"{plural(r.updates, 'public update')}" +
                (f", {r.missed_updates} missed" if r.missed_updates else "")
                if r.updates or r.missed_updates else "no public update")
        cause = f"cause: {r.cause}" if r.cause else "cause not written yet"
        follow = (f"{plural(r.follow_ups, 'follow-up')} ({r.follow_ups_open} open)"
                  if r.follow_ups else "no follow-up recorded")
        lines.append(f"Post-incident report, incident {r.incident_id} of "
                     f"{stamp(r.opened_at, tz)}: {recovered}; {told}; {cause}; {follow}.")
    for m in drills:
        lines.append(f"Drill: {summary_words(m, tz)}.")
    if due is not None:
        lines.append(f"Drills: {due.words(tz, now)}.")
    return lines
