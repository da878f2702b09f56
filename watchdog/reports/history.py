"""The data a report needs, read once from the state database, and the time arithmetic on it.

Everything after :func:`load_history` is pure: reports are functions of a :class:`History`, a
configuration and a clock, so tests build a history with known answers and check the numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from muni_watchdog.alerts.policy import DAYS, RecurrenceError, parse_recurrence
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.core.model import State
from muni_watchdog.reports.comms_history import CommsHistory, load_comms

Interval = tuple[datetime, datetime]
CheckId = tuple[str, str]


def when(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


@dataclass(frozen=True)
class History:
    """Rows from the state database (as dicts, times as ISO text), read in one go."""

    events: Sequence[dict[str, Any]] = ()
    incidents: Sequence[dict[str, Any]] = ()
    maintenance: Sequence[dict[str, Any]] = ()
    exceptions: Sequence[dict[str, Any]] = ()
    restore_tests: Sequence[dict[str, Any]] = ()
    repository_checks: Sequence[dict[str, Any]] = ()   # restic check run apart from the tests
    current: Sequence[dict[str, Any]] = ()
    seen: Sequence[dict[str, Any]] = ()
    saved_months: dict[str, dict[str, Any]] = field(default_factory=dict)
    notifications: Sequence[dict[str, Any]] = ()
    watch: Sequence[dict[str, Any]] = ()        # coverage rows (muni_watchdog.reports.coverage)
    watch_from: str | None = None               # when coverage began to be recorded
    comms: CommsHistory = field(default_factory=CommsHistory)  # updates, reviews, drills

    def first_run(self, checks: Iterable[CheckId]) -> datetime | None:
        wanted = set(checks)
        times = [when(r["first_run"]) for r in self.seen
                 if (r["target"], r["check_name"]) in wanted]
        return min((t for t in times if t), default=None)


def load_history(store: Any, since: datetime, until: datetime) -> History:
    """Read what reports over [since, until) need; the only function here that does I/O."""
    incidents = store.report_incidents(since, until)
    return History(
        events=store.report_events(until),
        incidents=incidents,
        maintenance=store.maintenance_windows(include_ended=True),
        exceptions=store.exceptions(include_ended=True),
        restore_tests=store.report_restore_tests(since, until),
        repository_checks=store.report_restore_tests(since, until, kind="repository_check"),
        current=store.current_states(),
        seen=store.check_seen(),
        saved_months=store.report_months(),
        notifications=store.notifications_since(since),
        watch=store.check_watch(since, until),
        watch_from=iso_or_none(store.watch_recorded_from()),
        comms=load_comms(store, (i["id"] for i in incidents)),
    )


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# -- months --------------------------------------------------------------------------------

def parse_month(text: str) -> tuple[int, int]:
    """``"2026-11"`` -> (2026, 11); ValueError with the expected form otherwise."""
    try:
        year, month = (int(p) for p in text.split("-"))
        if not 1 <= month <= 12 or not 2000 <= year <= 2999:
            raise ValueError
    except ValueError:
        raise ValueError(f"{text!r} is not a month; write YYYY-MM, e.g. 2026-11") from None
    return year, month


def month_name(year: int, month: int) -> str:
    return datetime(year, month, 1).strftime("%B %Y")


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def month_bounds(year: int, month: int, tz: str) -> Interval:
    """Local midnight of the 1st to local midnight of the next 1st, as aware datetimes."""
    zone = ZoneInfo(tz)
    ny, nm = shift_month(year, month, 1)
    return datetime(year, month, 1, tzinfo=zone), datetime(ny, nm, 1, tzinfo=zone)


def previous_month(now: datetime, tz: str) -> tuple[int, int]:
    """The last complete month at ``now`` in the site's time zone (what the 1st reports on)."""
    local = now.astimezone(ZoneInfo(tz))
    return shift_month(local.year, local.month, -1)


# -- interval arithmetic ----------------------------------------------------------------------

def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    out = [(max(a, start), min(b, end)) for a, b in intervals]
    return [(a, b) for a, b in out if a < b]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping intervals, so two checks down at once count once."""
    merged: list[Interval] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    holes = union(holes)
    out: list[Interval] = []
    for a, b in union(intervals):
        cursor = a
        for h0, h1 in holes:
            if h1 <= cursor or h0 >= b:
                continue
            if h0 > cursor:
                out.append((cursor, h0))
            cursor = max(cursor, h1)
        if cursor < b:
            out.append((cursor, b))
    return out


def seconds(intervals: Iterable[Interval]) -> float:
    return sum((b - a).total_seconds() for a, b in intervals)


# -- what the events say ------------------------------------------------------------------------

def states_at(events: Sequence[dict[str, Any]], moment: datetime) -> dict[CheckId, State]:
    """The hard state of every check that had an event, at ``moment`` (drills are
    exercises, not checks)."""
    states: dict[CheckId, State] = {}
    for event in events:
        at = when(event["at"])
        if at is None or at > moment or event["kind"] not in ("problem", "recovery"):
            continue
        if is_drill(event["target"]):
            continue
        states[(event["target"], event["check_name"])] = State(event["state"])
    return states


# -- maintenance --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Occurrence:
    start: datetime
    end: datetime
    targets: frozenset[str]
    services: frozenset[str]
    owner: str
    reason: str
    recurring: bool

    def covers(self, target: str, services: Iterable[str]) -> bool:
        if not self.targets and not self.services:
            return True  # site-wide
        return target in self.targets or bool(self.services.intersection(services))


def maintenance_occurrences(windows: Sequence[dict[str, Any]], start: datetime, end: datetime,
                            tz: str) -> list[Occurrence]:
    """Every maintenance window occurrence overlapping [start, end), recurring ones expanded
    day by day in the site's time zone (as alerts.policy.occurrence does), clipped to the
    window's validity and to an early end."""
    zone = ZoneInfo(tz)
    found: list[Occurrence] = []
    for row in windows:
        scope = json.loads(row["scope"] or "{}")
        valid_from = when(row["starts_at"])
        valid_to = min(t for t in (when(row["ends_at"]), when(row.get("ended_at"))) if t)
        spans: list[Interval] = []
        if not row.get("recurrence"):
            spans = [(valid_from, valid_to)]
        else:
            try:
                rec = parse_recurrence(row["recurrence"])
            except RecurrenceError:
                continue
            day = (max(start, valid_from).astimezone(zone) - timedelta(days=1)).date()
            last = min(end, valid_to).astimezone(zone).date()
            while day <= last:
                if DAYS[day.weekday()] in rec.days:
                    a = _local(day, rec.start, zone)
                    b = _local(day, rec.end, zone)
                    spans.append((a, b if b > a else b + timedelta(days=1)))
                day += timedelta(days=1)
        for a, b in clip(clip(spans, valid_from, valid_to), start, end):
            found.append(Occurrence(a, b, frozenset(scope.get("targets") or ()),
                                    frozenset(scope.get("services") or ()), row["owner"],
                                    row["reason"], bool(row.get("recurrence"))))
    return sorted(found, key=lambda o: o.start)


def _local(day, hhmm: str, zone: ZoneInfo) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=h, minutes=m)
