"""The one outage computation: which periods a service was unavailable, and its availability.

The monthly report's paragraph and tables, its 6-month trend and ``/metrics`` all call
:func:`service_availability`, so they cannot disagree. The rule (README, "What counts as an
outage"): a period in which a check of the service was hard CRITICAL with a result that means
the service cannot be used (``checks.impact``), from its first failed result to the moment it
recovered or stopped meaning that; overlapping periods count once; maintenance windows that
cover the check are left out when ``reports.exclude_maintenance``. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks.impact import check_type_info
from watchdog.model import State
from watchdog.reports.history import (
    CheckId,
    History,
    Interval,
    clip,
    seconds,
    subtract,
    union,
    when,
)


def configured_affects_availability(config: Any, target: str, check_name: str) -> bool:
    """What a CRITICAL of (target, check) means by the configuration: the check's
    ``affects_availability:`` or its type's declaration. Used for events recorded before
    events carried the judgement of their own results."""
    found = config.target_by_id.get(target)
    for params in getattr(found, "checks", None) or ():
        if params.check_name == check_name:
            if params.affects_availability is not None:
                return params.affects_availability
            return check_type_info(params.check).affects_availability
    return check_type_info(check_name).affects_availability


def is_outage(event: dict[str, Any], config: Any) -> bool:
    """Does this hard state change put its check into an outage?"""
    if event["kind"] != "problem" or event["state"] != State.CRITICAL:
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
        if row["target"] in service.targets or service.id in json.loads(
                row.get("services") or "[]"):
            found.add((row["target"], row["check_name"]))
    return found


@dataclass(frozen=True)
class Availability:
    """A service over a period: how long it was watched, and when it was down."""

    monitored_from: datetime | None
    monitored_seconds: float
    outages: list[Interval] = field(default_factory=list)

    @property
    def outage_seconds(self) -> float:
        return seconds(self.outages)

    @property
    def percent(self) -> float | None:
        """Availability in percent over the monitored part; None when not monitored."""
        if self.monitored_seconds <= 0:
            return None
        return 100.0 * (1 - self.outage_seconds / self.monitored_seconds)


def service_availability(history: History, config: Any, service: Any, start: datetime,
                         stop: datetime, occurrences: Sequence[Any]) -> Availability:
    """The service over [start, stop): judged from the first run of any of its checks (a
    partial month is not padded with assumed uptime)."""
    checks = service_checks(history, service)
    first = history.first_run(checks)
    monitored_from = max(start, first) if first else None
    if monitored_from is None or monitored_from >= stop:
        return Availability(None, 0.0, [])
    down = down_intervals(history.events, stop, config)
    spans: list[Interval] = []
    for key in checks:
        intervals = clip(down.get(key, []), monitored_from, stop)
        if config.reports.exclude_maintenance:
            intervals = subtract(intervals, [(o.start, o.end) for o in occurrences
                                             if o.covers(key[0], [service.id])])
        spans.extend(intervals)
    return Availability(monitored_from, (stop - monitored_from).total_seconds(), union(spans))
