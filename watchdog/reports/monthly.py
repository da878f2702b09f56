"""The monthly leadership summary, as numbers: a pure function of a History and the config.

Definitions (the README's "Reports" section states them for readers):
- Outages and availability come from :mod:`muni_watchdog.reports.outages` (one rule, one
  computation, shared with the trend and ``/metrics``). Availability is judged over the
  monitored part of the month (from the first run of any of the service's checks), so a
  partial month is not padded with assumed uptime, and within it over the time the service
  was watched (fresh results that knew): time it was not watched is said, never counted as up,
  and a target is "met" only when the month was watched enough to prove it. An incident
  spanning the month end counts its minutes in each month and is listed in the month it
  opened.
- The response promise is kept when the incident was acknowledged within ``response_sla`` of
  the first notification, or resolved within it without needing anyone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.core.model import State
from muni_watchdog.reports.history import (
    History,
    maintenance_occurrences,
    month_bounds,
    month_name,
    when,
)
from muni_watchdog.reports.incidents import IncidentLine, incident_lines
from muni_watchdog.reports.monthly_comms import comms_lines, review_lines, service_drills
from muni_watchdog.reports.names import check_label, target_name
from muni_watchdog.reports.outages import (
    Availability,
    monitoring_stopped,
    service_availability,
    site_coverage,
)
from muni_watchdog.reports.patches import PatchSummary, patch_summary
from muni_watchdog.reports.security import SecuritySummary, security_summary
from muni_watchdog.reports.trends import (
    CURRENT_STATE_VALID_FOR,
    Changes,
    MetricTrend,
    changes,
    month_figures,
    trends,
)


@dataclass(frozen=True)
class RestoreTestLine:
    at: datetime
    backup: str
    verdict: str
    full_drill: bool
    age_seconds: float | None
    restore_seconds: float | None
    summary: str
    integrity_errors: int | None = None


@dataclass(frozen=True)
class BackupSummary:
    configured: list[str]
    tests: list[RestoreTestLine]
    passed: int
    worst_age_seconds: float | None
    restore_estimate_seconds: float | None
    restore_measured: bool
    coverage: dict[str, float]       # backup -> share of the repository re-read this quarter
    # repository checks run apart from the restore tests (check_schedule), this month
    checks: list[RestoreTestLine] = field(default_factory=list)

    @property
    def run(self) -> int:
        return len(self.tests)

    @property
    def damage_found(self) -> list[RestoreTestLine]:
        """The month's repository checks (apart or inside a test) that found damage."""
        return [t for t in self.checks if t.integrity_errors]


@dataclass(frozen=True)
class ServiceReport:
    id: str
    name: str
    priority: int
    owner: str
    backup_owner: str
    rto: float
    rpo: float
    response_sla: float
    target_percent: float
    measured: Availability
    incidents: list[IncidentLine]
    backups: BackupSummary
    patches: PatchSummary
    exceptions: list[dict[str, Any]]
    maintenance: list[tuple[datetime, datetime, str, str]]  # start, end, owner, reason
    reviews: list[Any] = field(default_factory=list)    # post-incident reports (monthly_comms)
    drills: list[Any] = field(default_factory=list)     # drills of the month, measured
    drill_due: Any = None                               # when the next drill is due
    comms: list[str] = field(default_factory=list)      # the three above, in sentences

    @property
    def monitored_seconds(self) -> float:
        return self.measured.monitored_seconds

    @property
    def outages(self) -> list[tuple[datetime, datetime]]:
        return self.measured.outages

    @property
    def outage_seconds(self) -> float:
        return self.measured.outage_seconds

    @property
    def unwatched_seconds(self) -> float:
        return self.measured.unwatched_seconds

    @property
    def availability(self) -> float | None:
        """Over the time the service was watched."""
        return self.measured.percent

    @property
    def verdict(self) -> str | None:
        """"met", "missed", "not proven" or None (not monitored)."""
        return self.measured.verdict(self.target_percent)

    @property
    def met_target(self) -> bool | None:
        verdict = self.verdict
        return None if verdict is None else verdict == "met"

    @property
    def promises_missed(self) -> int:
        return sum(1 for i in self.incidents if i.promise_kept is False)


@dataclass(frozen=True)
class MonthlyReport:
    site: str
    timezone: str
    month: str                       # YYYY-MM
    title: str                       # "November 2026"
    start: datetime
    end: datetime
    generated_at: datetime
    partial_from: datetime | None    # monitoring started inside the month
    stopped: list[tuple[datetime, datetime]]  # the monitoring itself was not running
    services: list[ServiceReport]
    leading: list[MetricTrend]
    trailing: list[MetricTrend]
    changes: Changes
    exceptions: list[dict[str, Any]]
    maintenance_count: int
    summary: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    # Known vulnerabilities and open doors as they are now (None: no such checks, or the
    # report is for a month that ended too long ago to say).
    security: SecuritySummary | None = None


def build_monthly_report(history: History, config: Any, year: int, month: int,
                         now: datetime) -> MonthlyReport:
    """The report for one month (pure). ``now`` bounds a month still in progress."""
    tz = config.site.timezone
    start, end = month_bounds(year, month, tz)
    stop = min(end, now)
    occurrences = maintenance_occurrences(history.maintenance, start, stop, tz)
    site = site_coverage(history, config, stop)
    services = [service_report(history, config, s, start, stop, now, occurrences, site)
                for s in sorted(config.services, key=lambda s: (s.priority, s.id))]
    first = history.first_run((r["target"], r["check_name"]) for r in history.seen)
    figures = month_figures(history, config, start, stop, now)
    leading, trailing = trends(history, config, year, month, now, figures)
    exceptions = [named_exception(x, config) for x in active_exceptions(history.exceptions,
                                                                        stop)]
    report = MonthlyReport(
        site=config.site.name, timezone=tz, month=f"{year:04d}-{month:02d}",
        title=month_name(year, month), start=start, end=end, generated_at=now,
        partial_from=first if first and start < first < stop else None,
        stopped=monitoring_stopped(history, config, max(start, first or start), stop),
        services=services, leading=leading, trailing=trailing,
        changes=changes(history, config, year, month, stop, figures),
        exceptions=exceptions, maintenance_count=len(occurrences), figures=figures,
        security=_security(history, config, stop, now))
    return _with_summary(report)


def _security(history: History, config: Any, stop: datetime, now: datetime
              ) -> SecuritySummary | None:
    """Only the current findings are known: good for a month that just ended."""
    if now - stop > CURRENT_STATE_VALID_FOR:
        return None
    summary = security_summary(history.current, config)
    return summary if summary.configured else None


def service_report(history: History, config: Any, service: Any, start: datetime,
                   stop: datetime, now: datetime, occurrences: Sequence[Any],
                   site: Any = None) -> ServiceReport:
    drills, drill_due = service_drills(history, config, service, start, stop, now)
    reviews = review_lines(history, service, start, stop)
    return ServiceReport(
        id=service.id, name=service.name, priority=service.priority,
        owner=service.owner.name, backup_owner=service.backup_owner.name,
        rto=service.rto, rpo=service.rpo, response_sla=service.effective_response_sla,
        target_percent=service.effective_availability_target,
        measured=service_availability(history, config, service, start, stop, occurrences,
                                      site),
        incidents=incident_lines(history, config, service, start, stop),
        backups=backup_summary(history.restore_tests, service, start, stop,
                               history.repository_checks),
        patches=patch_summary(history.current, config, service),
        exceptions=[named_exception(e, config) for e in active_exceptions(history.exceptions,
                                                                          stop)
                    if e["target"] in service.targets],
        maintenance=[(o.start, o.end, o.owner, o.reason) for o in occurrences
                     if o.end <= now and any(o.covers(t, [service.id]) for t in
                                             service.targets)],
        reviews=reviews, drills=drills, drill_due=drill_due,
        comms=comms_lines(reviews, drills, drill_due, config.site.timezone, stop))


def backup_summary(tests: Sequence[dict[str, Any]], service: Any, start: datetime,
                   stop: datetime, checks: Sequence[dict[str, Any]] = ()) -> BackupSummary:
    """The service's restore tests of [start, stop), and its repository checks (``checks``:
    the runs of kind repository_check, apart from the tests)."""
    def ours(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        return [t for t in rows if t["service"] == service.id or t["backup"] in service.backups]

    def line(t: dict[str, Any]) -> RestoreTestLine:
        return RestoreTestLine(
            at=when(t["started_at"]), backup=t["backup"], verdict=State(t["verdict"]).label,
            full_drill=bool(t["full_drill"]), age_seconds=t["age_seconds"],
            restore_seconds=t["restore_seconds"], summary=t["summary"],
            integrity_errors=t.get("integrity_errors"))

    mine, apart = ours(tests), ours(checks)
    month = [t for t in mine if start <= when(t["started_at"]) < stop]
    lines = [line(t) for t in month]
    checked = sorted((t for t in [*month, *apart] if start <= when(t["started_at"]) < stop
                      and t.get("integrity_subset")), key=lambda t: when(t["started_at"]))
    ages = [t["age_seconds"] for t in month if t["age_seconds"] is not None]
    latest = next((t for t in reversed(month) if t["estimated_full_restore_seconds"]
                   is not None), None)
    drill = next((t for t in reversed(month) if t["full_drill"] and t["restore_seconds"]),
                 None)
    estimate, measured = (drill["restore_seconds"], True) if drill else \
        ((latest["estimated_full_restore_seconds"], False) if latest else (None, False))
    return BackupSummary(
        configured=list(service.backups), tests=lines,
        passed=sum(1 for t in month if t["verdict"] == State.OK),
        worst_age_seconds=max(ages) if ages else None,
        restore_estimate_seconds=estimate, restore_measured=measured,
        coverage=quarter_coverage([*mine, *apart], stop), checks=[line(t) for t in checked])


def quarter_coverage(tests: Sequence[dict[str, Any]], stop: datetime) -> dict[str, float]:
    """Per backup, the share of its stored data re-read without error since the start of the
    calendar quarter (restic check --read-data-subset=k/N, one k per test)."""
    local = (stop - timedelta(seconds=1)).astimezone(stop.tzinfo)
    quarter_start = local.replace(month=(local.month - 1) // 3 * 3 + 1, day=1, hour=0,
                                  minute=0, second=0, microsecond=0)
    read: dict[str, tuple[set[int], int]] = {}
    for t in tests:
        subset = t.get("integrity_subset") or ""
        if t.get("integrity_errors") != 0 or "/" not in subset:
            continue
        if not quarter_start <= when(t["started_at"]) < stop:
            continue
        k, _, n = subset.partition("/")
        if k.isdigit() and n.isdigit() and int(n) > 0:
            parts, _ = read.get(t["backup"], (set(), int(n)))
            read[t["backup"]] = (parts | {int(k)}, int(n))
    return {b: min(1.0, len(parts) / n) for b, (parts, n) in read.items()}


def active_exceptions(rows: Sequence[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """Accepted risks in force at ``moment``."""
    return [r for r in rows if when(r["created_at"]) <= moment < when(r["expires_at"])
            and (r["ended_at"] is None or when(r["ended_at"]) > moment)]


def named_exception(row: dict[str, Any], config: Any) -> dict[str, Any]:
    """The exception with ``what`` it covers in leadership's words."""
    what = target_name(config, row["target"]) if row["check_name"] == "*" else \
        check_label(config, row["target"], row["check_name"])
    return {**row, "what": what}


def report_figures(report: MonthlyReport) -> dict[str, Any]:
    """The JSON-safe figures of a report, saved in the state database when it is sent."""
    return json.loads(json.dumps(report.figures, default=str))


def report_as_dict(report: MonthlyReport) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(report), default=str))


def _with_summary(report: MonthlyReport) -> MonthlyReport:
    from dataclasses import replace

    from muni_watchdog.reports.security import security_sentence
    from muni_watchdog.reports.words import summary_paragraph
    paragraph = summary_paragraph(report)
    if report.security is not None:   # what an attacker would find, last
        paragraph = f"{paragraph} {security_sentence(report.security)}".strip()
    return replace(report, summary=paragraph)
