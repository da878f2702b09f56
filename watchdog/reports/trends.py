"""The monthly report's headline figures, their 6-month trends, and what changed. Pure.

Outage minutes come from :func:`muni_watchdog.reports.outages.service_availability`, the same
computation as the report's tables and paragraph, kept unrounded so that a 20-second outage
is never shown as "0 minutes" next to "down for under a minute".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.core.model import State
from muni_watchdog.reports.history import (
    History,
    Interval,
    maintenance_occurrences,
    month_bounds,
    seconds,
    shift_month,
    states_at,
    union,
    when,
)
from muni_watchdog.reports.incidents import incident_lines
from muni_watchdog.reports.names import check_label
from muni_watchdog.reports.outages import service_availability, site_coverage
from muni_watchdog.reports.patches import security_pending
from muni_watchdog.reports.words import trend_words

RESIDENT_FACING = (1, 2)  # priorities whose outage minutes are the trailing metric
TREND_MONTHS = 6
CURRENT_STATE_VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class TrendPoint:
    month: str
    value: float | None
    text: str = ""        # the value in words, the same in the HTML and the text part


@dataclass(frozen=True)
class MetricTrend:
    key: str
    label: str
    unit: str
    better: str                      # "higher" or "lower"
    points: list[TrendPoint]

    @property
    def current(self) -> float | None:
        return self.points[-1].value if self.points else None


@dataclass(frozen=True)
class Changes:
    new_problems: list[str]          # in leadership's words (names, not check ids)
    fixed_problems: list[str]
    notes: list[str]


def month_figures(history: History, config: Any, start: datetime, stop: datetime,
                  now: datetime) -> dict[str, Any]:
    """The month's headline numbers (saved with each sent report, for later trends)."""
    occurrences = maintenance_occurrences(history.maintenance, start, stop, config.site.timezone)
    site = site_coverage(history, config, stop)
    outage: dict[str, float] = {}
    unwatched: dict[str, float] = {}
    blind: list[Interval] = []        # when some resident-facing service was not watched
    for service in config.services:
        measured = service_availability(history, config, service, start, stop, occurrences,
                                        site)
        if measured.monitored_seconds > 0:
            outage[service.id] = measured.outage_seconds / 60
            unwatched[service.id] = measured.unwatched_seconds / 60
            if service.priority in RESIDENT_FACING:
                blind += measured.unwatched
    monitored = bool(outage)
    resident = [sid for sid in outage if config.service_by_id[sid].priority in RESIDENT_FACING]
    tests = [t for t in history.restore_tests if start <= when(t["started_at"]) < stop]
    missed = sum(1 for s in config.services
                 for i in incident_lines(history, config, s, start, stop)
                 if i.promise_kept is False)
    fresh = now - stop <= CURRENT_STATE_VALID_FOR
    latency, pending = _patch_latency(history.current) if fresh else (None, None)
    return {
        "monitored": monitored,
        "outage_minutes": outage,
        "resident_facing_outage_minutes": sum(outage[sid] for sid in resident)
        if monitored else None,
        # not watched: no outage could be seen then (the trend says so beside the minutes)
        "unwatched_minutes": unwatched,
        "resident_facing_unwatched_minutes": seconds(union(blind)) / 60
        if monitored else None,
        "restore_tests": len(tests),
        "restore_pass_rate": round(100.0 * sum(t["verdict"] == State.OK for t in tests)
                                   / len(tests), 1) if tests else None,
        # Pending updates are only kept as they are now: good for a month that just ended.
        "security_patch_latency": latency,
        "security_updates_pending": pending,
        "missed_response_promises": missed if monitored else None,
        "problems": sorted(f"{t}/{c}" for (t, c), s in states_at(history.events, stop).items()
                           if s != State.OK),
    }


def _patch_latency(current: Sequence[dict[str, Any]]) -> tuple[float | None, int | None]:
    """(days the oldest pending security update has waited, how many are pending), over
    every patches check now; (None, None) without patches checks."""
    days: list[float] = []
    seen_patches = False
    for row in current:
        if not row["check_name"].startswith("patches"):
            continue
        seen_patches = True
        days += security_pending(json.loads(row["items"] or "[]"))
    if not seen_patches:
        return None, None
    return (round(max(days), 1) if days else 0.0), len(days)


METRICS = {
    "restore_pass_rate": ("Restore tests passed", "%", "higher"),
    "security_patch_latency": ("Oldest security update waiting", "days", "lower"),
    "outage_minutes": ("Outage minutes of resident-facing services", "minutes", "lower"),
    "missed_response_promises": ("Incidents not answered within the promise", "", "lower"),
}
FIGURE_OF = {"outage_minutes": "resident_facing_outage_minutes"}


def trends(history: History, config: Any, year: int, month: int, now: datetime,
           figures: dict[str, Any]) -> tuple[list[MetricTrend], list[MetricTrend]]:
    """Each chosen metric over the last 6 months: computed from the kept history, or from the
    figures saved when that month's report was sent (patch latency cannot be recomputed)."""
    tz = config.site.timezone
    per_month: list[tuple[str, dict[str, Any]]] = []
    for back in range(TREND_MONTHS - 1, 0, -1):
        y, m = shift_month(year, month, -back)
        key = f"{y:04d}-{m:02d}"
        start, end = month_bounds(y, m, tz)
        computed = month_figures(history, config, start, min(end, now), now)
        saved = history.saved_months.get(key, {})
        per_month.append((key, {**computed, **{k: v for k, v in saved.items()
                                               if computed.get(k) is None}}))
    per_month.append((f"{year:04d}-{month:02d}", figures))

    def trend(key: str) -> MetricTrend:
        label, unit, better = METRICS[key]
        figure = FIGURE_OF.get(key, key)
        return MetricTrend(key, label, unit, better,
                           [TrendPoint(k, f.get(figure), trend_words(key, f.get(figure), f))
                            for k, f in per_month])

    return ([trend(k) for k in config.reports.leading],
            [trend(k) for k in config.reports.trailing])


def changes(history: History, config: Any, year: int, month: int, stop: datetime,
            figures: dict[str, Any]) -> Changes:
    """Problems present at the end of this month and not at its start (new), and the reverse
    (fixed), plus movements of the headline figures against last month."""
    start, _ = month_bounds(year, month, config.site.timezone)
    before = {f"{t}/{c}" for (t, c), s in states_at(history.events, start).items()
              if s != State.OK}
    after = set(figures["problems"])
    notes = []
    py, pm = shift_month(year, month, -1)
    prev = history.saved_months.get(f"{py:04d}-{pm:02d}")
    if prev and prev.get("restore_pass_rate") is not None and \
            figures.get("restore_pass_rate") is not None:
        delta = figures["restore_pass_rate"] - prev["restore_pass_rate"]
        if abs(delta) >= 1:
            notes.append(f"restore tests passed {figures['restore_pass_rate']:.0f} % "
                         f"({'up' if delta > 0 else 'down'} from "
                         f"{prev['restore_pass_rate']:.0f} %)")

    def named(ids: set[str]) -> list[str]:
        return sorted(check_label(config, *key.split("/", 1)) for key in ids)

    return Changes(named(after - before), named(before - after), notes)
