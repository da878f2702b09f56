"""The one outage computation: which periods a service was unavailable, which it was not
watched, and its availability over the time it was.

The monthly report's paragraph and tables, its 6-month trend and ``/metrics`` all call
:func:`service_availability`, so they cannot disagree. The rule (README, "What counts as an
outage"): a period in which a check of the service was hard CRITICAL with a result that means
the service cannot be used (``checks.impact``), from its first failed result to the moment it
recovered or stopped meaning that; overlapping periods count once; maintenance windows that
cover the check are left out when ``reports.exclude_maintenance``.

Not watched (README, "Time the monitor did not know"): a period in which a check of the service
that can report an outage had no fresh result that knew (``muni_watchdog.reports.coverage``: UNKNOWN
results, results that did not come, the monitoring not running). It is neither up nor down:
availability is measured over the watched time, outages inside it are not counted, and a
target is "met" only when the month was watched enough to prove it. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from muni_watchdog.checks.impact import check_type_info
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.core.model import State
from muni_watchdog.reports.coverage import (
    Blind,
    CheckCoverage,
    blind_intervals,
    check_coverage,
    not_running,
    rows_by_check,
)
from muni_watchdog.reports.history import (
    CheckId,
    History,
    Interval,
    clip,
    seconds,
    subtract,
    union,
    when,
)
from muni_watchdog.reports.names import check_label

# A month watched less than this can't claim a target was met (it is "not proven"), however
# good the watched part looked; nor can one whose unwatched time exceeds what the target
# allows (99.9 % allows 43 minutes a month).
COVERAGE_NEEDED = 99.0


def _params(config: Any, target: str, check_name: str) -> Any:
    found = config.target_by_id.get(target)
    return next((p for p in getattr(found, "checks", None) or () if p.check_name == check_name),
                None)


def configured_affects_availability(config: Any, target: str, check_name: str) -> bool:
    """What a CRITICAL of (target, check) means by the configuration: the check's
    ``affects_availability:`` or its type's declaration. Used for events recorded before
    events carried the judgement of their own results."""
    params = _params(config, target, check_name)
    if params is not None and params.affects_availability is not None:
        return params.affects_availability
    return check_type_info(params.check if params else check_name).affects_availability


def can_report_outage(config: Any, target: str, check_name: str) -> bool:
    """Can this check say the service is down? Only such checks must be watched for the
    service's availability to be known (a patches check that cannot tell is not a blind
    spot for availability; a website check that cannot tell is)."""
    params = _params(config, target, check_name)
    if params is not None and params.affects_availability is not None:
        return params.affects_availability
    return check_type_info(params.check if params else check_name).can_report_outage


def is_outage(event: dict[str, Any], config: Any) -> bool:
    """Does this hard state change put its check into an outage? A drill's never does: it is
    an exercise, left out of availability (and measured in its own report)."""
    if event["kind"] != "problem" or event["state"] != State.CRITICAL:
        return False
    if is_drill(event["target"]):
        return False
    judged = event.get("unavailable")
    if judged is not None:
        return bool(judged)
    return configured_affects_availability(config, event["target"], event["check_name"])


def down_intervals(events: Sequence[dict[str, Any]], until: datetime,
                   config: Any) -> dict[CheckId, list[Interval]]:
    """Per check, its outage periods up to ``until`` (a check still down is down until then).

    An outage that begins with the problem itself starts at the first failed result (the
    event's ``since``: soft retries included); one that begins while the check was already in
    another problem state (WARNING, or CRITICAL needing only attention) starts at that event.
    """
    opened: dict[CheckId, datetime] = {}
    down: dict[CheckId, list[Interval]] = {}
    for event in events:
        at = when(event["at"])
        if at is None or at > until or event["kind"] not in ("problem", "recovery"):
            continue
        key = (event["target"], event["check_name"])
        if is_outage(event, config):
            if key not in opened:
                from_ok = event.get("previous_state", State.OK) == State.OK
                opened[key] = (when(event["since"]) or at) if from_ok else at
        elif key in opened:
            down.setdefault(key, []).append((opened.pop(key), at))
    for key, start in opened.items():
        down.setdefault(key, []).append((start, until))
    return down


def service_checks(history: History, service: Any) -> set[CheckId]:
    """The service's checks: those on its targets, and any recorded as belonging to it."""
    found = {(r["target"], r["check_name"]) for r in history.seen
             if r["target"] in service.targets}
    for row in [*history.events, *history.current]:
        if is_drill(row["target"]):
            continue          # a drill of the service is not one of its checks
        if row["target"] in service.targets or service.id in json.loads(
                row.get("services") or "[]"):
            found.add((row["target"], row["check_name"]))
    return found


@dataclass(frozen=True)
class Gap:
    """Time a service was not watched, and why, in leadership's words."""

    start: datetime
    end: datetime
    what: str | None     # the check in words ("pay.town.example (website)"); None: all checks
    reason: str          # "monitoring was not running", "no results", "no usable results: ..."


@dataclass(frozen=True)
class Availability:
    """A service over a period: since when it was monitored, when it was not watched, and
    when it was down while watched."""

    monitored_from: datetime | None
    monitored_seconds: float                       # from the first run to the period's end
    outages: list[Interval] = field(default_factory=list)     # watched and down
    unwatched: list[Interval] = field(default_factory=list)   # not watched (merged)
    gaps: list[Gap] = field(default_factory=list)             # the same time, with reasons

    @property
    def outage_seconds(self) -> float:
        return seconds(self.outages)

    @property
    def unwatched_seconds(self) -> float:
        return seconds(self.unwatched)

    @property
    def watched_seconds(self) -> float:
        return max(0.0, self.monitored_seconds - self.unwatched_seconds)

    @property
    def percent(self) -> float | None:
        """Availability in percent over the watched time; None when nothing was watched."""
        if self.watched_seconds <= 0:
            return None
        return 100.0 * (1 - self.outage_seconds / self.watched_seconds)

    @property
    def coverage(self) -> float | None:
        """Share of the monitored time that was watched, in percent."""
        if self.monitored_seconds <= 0:
            return None
        return 100.0 * self.watched_seconds / self.monitored_seconds

    def verdict(self, target_percent: float) -> str | None:
        """"met", "missed", "not proven" (watched too little to know), or None (no data).
        "missed" when the watched time is below the target; "met" only when, even if every
        unwatched minute had been an outage, the target would hold, and the month was
        watched at least COVERAGE_NEEDED."""
        measured = self.percent
        if measured is None:
            return None if self.monitored_seconds <= 0 else "not proven"
        if measured + 1e-9 < target_percent:
            return "missed"
        worst = 100.0 * (self.watched_seconds - self.outage_seconds) / self.monitored_seconds
        if (self.coverage or 0) + 1e-9 < COVERAGE_NEEDED or worst + 1e-9 < target_percent:
            return "not proven"
        return "met"


def coverage_checks(history: History, config: Any, checks: set[CheckId]) -> list[CheckId]:
    """Of a service's checks, those whose knowledge its availability depends on: scheduled
    checks (configured, or with coverage rows) that can report an outage — all scheduled
    ones when none can. Restore tests and traps are not scheduled: never a blind spot."""
    configured = {(t.id, p.check_name) for t in config.targets for p in t.checks}
    recorded = {(r["target"], r["check_name"]) for r in history.watch}
    scheduled = sorted(k for k in checks if k in configured or k in recorded)
    able = [k for k in scheduled if can_report_outage(config, *k)]
    return able or scheduled


def site_coverage(history: History, config: Any, stop: datetime) -> dict[CheckId, CheckCoverage]:
    """Every scheduled check's coverage up to ``stop`` (empty before coverage was recorded)."""
    recorded_from = when(history.watch_from)
    if recorded_from is None:
        return {}
    configured = {(t.id, p.check_name) for t in config.targets for p in t.checks}
    rows = rows_by_check(history.watch)
    first = {(r["target"], r["check_name"]): when(r["first_run"]) for r in history.seen}
    keys = set(rows) | {k for k in configured if k in first}
    found = {}
    for key in keys:
        mine = rows.get(key, [])
        began = [t for t in (first.get(key), when(mine[0]["started_at"]) if mine else None) if t]
        if not began:
            continue
        expected = max(recorded_from, min(began))
        if mine and (when(mine[0]["started_at"]) - expected).total_seconds() <= \
                mine[0]["stale_after"]:
            # after the upgrade, first runs are spread over an interval: not a gap
            expected = max(expected, when(mine[0]["started_at"]))
        found[key] = check_coverage(key, mine, expected, stop, key in configured)
    return found


def monitoring_stopped(history: History, config: Any, start: datetime,
                       stop: datetime) -> list[Interval]:
    """When no scheduled check of the site produced a result in [start, stop): the daemon or
    the box it runs on was down."""
    recorded_from = when(history.watch_from)
    if recorded_from is None:
        return []
    return not_running(site_coverage(history, config, stop).values(), max(start, recorded_from),
                       stop)


def service_availability(history: History, config: Any, service: Any, start: datetime,
                         stop: datetime, occurrences: Sequence[Any],
                         site: dict[CheckId, CheckCoverage] | None = None) -> Availability:
    """The service over [start, stop): judged from the first run of any of its checks (a
    partial month is not padded with assumed uptime), measured over the time it was watched.
    ``site``: :func:`site_coverage` at ``stop``, when the caller has it already."""
    checks = service_checks(history, service)
    first = history.first_run(checks)
    monitored_from = max(start, first) if first else None
    if monitored_from is None or monitored_from >= stop:
        return Availability(None, 0.0, [])
    site = site_coverage(history, config, stop) if site is None else site

    def excused(key: CheckId, intervals: list[Interval]) -> list[Interval]:
        intervals = clip(intervals, monitored_from, stop)
        if config.reports.exclude_maintenance:
            intervals = subtract(intervals, [(o.start, o.end) for o in occurrences
                                             if o.covers(key[0], [service.id])])
        return intervals

    blinds: list[Blind] = []
    for key in coverage_checks(history, config, checks):
        for b in site.get(key, CheckCoverage([], [])).blind:
            blinds += [Blind(a, z, key, b.reason) for a, z in excused(key, [(b.start, b.end)])]
    unwatched = blind_intervals(blinds)
    down = down_intervals(history.events, stop, config)
    spans: list[Interval] = []
    for key in checks:
        spans.extend(excused(key, down.get(key, [])))
    outages = subtract(union(spans), unwatched)
    stopped = not_running(site.values(), monitored_from, stop) if unwatched else []
    return Availability(monitored_from, (stop - monitored_from).total_seconds(), outages,
                        unwatched, _gaps(config, blinds, stopped, unwatched))


def _gaps(config: Any, blinds: list[Blind], stopped: list[Interval],
          unwatched: list[Interval]) -> list[Gap]:
    """The unwatched time with its reasons: the monitoring not running (it explains every
    check at once), then each check's own, oldest first."""
    off = union(span for a, b in stopped for span in clip(unwatched, a, b))
    gaps = [Gap(a, b, None, "monitoring was not running") for a, b in off]
    for blind in blinds:
        for a, b in subtract([(blind.start, blind.end)], off):
            gaps.append(Gap(a, b, check_label(config, *blind.check),
                            f"no usable results: {blind.reason}" if blind.reason
                            else "no results"))
    return sorted(gaps, key=lambda g: (g.start, g.what or ""))
