"""When the monitor knew: each scheduled check's coverage, from the store's ``check_watch``
rows. Pure; :func:`muni_watchdog.reports.outages.service_availability` is its one user.

A check *watches* from a result until the next one, as long as results come on time (within
the row's ``stale_after``: two check intervals) and are not UNKNOWN. It is *blind*:

- while its results are UNKNOWN (collection failed, the host did not answer over SSH...), from
  the first UNKNOWN result until the next result that knew — the reason is what it said;
- when a result did not come on time (the check hung, the daemon or the box was down), from
  when it was due (the last result plus one interval) until one came, or until now.

The monitoring itself was *not running* where no scheduled check of the site produced any
result at all, known or not. Before coverage was first recorded (a version without it) the
time is taken as watched, as it was judged then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.reports.history import CheckId, Interval, subtract, union, when


@dataclass(frozen=True)
class Blind:
    """A stretch of time in which one check did not know."""

    start: datetime
    end: datetime
    check: CheckId
    reason: str = ""            # what its UNKNOWN results said; "" when no result came


@dataclass(frozen=True)
class CheckCoverage:
    running: list[Interval]     # results came (known or not): the monitoring was running
    blind: list[Blind]


def rows_by_check(rows: Iterable[dict[str, Any]]) -> dict[CheckId, list[dict[str, Any]]]:
    found: dict[CheckId, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault((row["target"], row["check_name"]), []).append(row)
    for stretches in found.values():
        stretches.sort(key=lambda r: (r["started_at"], r["id"]))
    return found


def check_coverage(key: CheckId, rows: Sequence[dict[str, Any]], expected_from: datetime,
                   stop: datetime, configured: bool) -> CheckCoverage:
    """One check's coverage up to ``stop``, from ``expected_from`` (when it should have been
    reporting). A check no longer ``configured`` is not expected after its last result."""
    running: list[Interval] = []
    blind: list[Blind] = []
    cursor = expected_from
    for i, row in enumerate(rows):
        start, last = when(row["started_at"]), when(row["last_at"])
        due = last + timedelta(seconds=row["interval"])
        following = when(rows[i + 1]["started_at"]) if i + 1 < len(rows) else None
        if following is not None:
            on_time = (following - last).total_seconds() <= row["stale_after"]
            end = following if on_time else due
        elif configured and (stop - last).total_seconds() <= row["stale_after"]:
            end = max(stop, due)
        else:
            end = due
        if start > cursor:
            blind.append(Blind(cursor, start, key))       # nothing came when it was due
        running.append((start, end))
        if not row["known"]:
            blind.append(Blind(start, end, key, row["reason"] or "no result"))
        cursor = max(cursor, end)
    if configured and cursor < stop:
        blind.append(Blind(cursor, stop, key))
    return CheckCoverage(running, blind)


def not_running(coverages: Iterable[CheckCoverage], start: datetime,
                stop: datetime) -> list[Interval]:
    """When no scheduled check of the site produced a result: the monitoring was down."""
    running = [span for c in coverages for span in c.running]
    return subtract([(start, stop)], running) if start < stop else []


def blind_intervals(blinds: Iterable[Blind]) -> list[Interval]:
    return union((b.start, b.end) for b in blinds)
