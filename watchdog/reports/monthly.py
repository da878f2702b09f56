"""The monthly leadership summary, as numbers: a pure function of a History and the config.

Definitions (the README's "Reports" section states them for readers):
- An outage is a period in which any check of the service's targets was hard CRITICAL, from
  its first failed result to its recovery; overlapping outages count once; downtime inside a
  maintenance window covering the check is not counted when ``reports.exclude_maintenance``.
- Availability is judged over the monitored part of the month (from the first run of any of
  the service's checks, up to the end of the month or now), so a partial month is not padded
  with assumed uptime. An incident spanning the month end counts its minutes in each month and
  is listed in the month it opened.
- The response promise is kept when the incident was acknowledged within ``response_sla`` of
  the first notification, or resolved within it without needing anyone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchdog.model import State
from watchdog.reports.history import (
    History,
    clip,
    down_intervals,
    maintenance_occurrences,
    month_bounds,
    month_name,
    seconds,
    shift_month,
    states_at,
    subtract,
    union,
    when,
)

RESIDENT_FACING = (1, 2)  # priorities whose outage minutes are the trailing metric
DEFAULT_SECURITY_POLICY_DAYS = 3.0
TREND_MONTHS = 6
CURRENT_STATE_VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class IncidentLine:
    id: int
    check: str
    opened_at: datetime
    resolved_at: datetime | None
    acknowledge_seconds: float | None
    recover_seconds: float | None
    promise_kept: bool | None       # None: nobody was told (held by maintenance or exception)
    acked_by: str | None
    summary: str


@dataclass(frozen=True)
class RestoreTestLine:
    at: datetime
    backup: str
    verdict: str
    full_drill: bool
    age_seconds: float | None
    restore_seconds: float | None
    summary: str


@dataclass(frozen=True)
class BackupSummary:
    configured: list[str]
    tests: list[RestoreTestLine]
    passed: int
    worst_age_seconds: float | None
    restore_estimate_seconds: float | None
    restore_measured: bool
    coverage: dict[str, float]       # backup -> share of the repository re-read this quarter

    @property
    def run(self) -> int:
        return len(self.tests)


@dataclass(frozen=True)
class PatchSummary:
    hosts: int
    overdue: list[tuple[str, str, float]]   # (target, package, days pending)
    reboots: list[tuple[str, str]]           # (target, reason)
    policy_days: float
    checked_at: datetime | None


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
    monitored_seconds: float
    outage_seconds: float
    outages: list[tuple[datetime, datetime]]
    incidents: list[IncidentLine]
    backups: BackupSummary
    patches: PatchSummary
    exceptions: list[dict[str, Any]]
    maintenance: list[tuple[datetime, datetime, str, str]]  # start, end, owner, reason

    @property
    def availability(self) -> float | None:
        if self.monitored_seconds <= 0:
            return None
        return 100.0 * (1 - self.outage_seconds / self.monitored_seconds)

    @property
    def met_target(self) -> bool | None:
        a = self.availability
        return None if a is None else a + 1e-9 >= self.target_percent

    @property
    def promises_missed(self) -> int:
        return sum(1 for i in self.incidents if i.promise_kept is False)


@dataclass(frozen=True)
class TrendPoint:
    month: str
    value: float | None


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
    new_problems: list[str]
    fixed_problems: list[str]
    notes: list[str]


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
    services: list[ServiceReport]
    leading: list[MetricTrend]
    trailing: list[MetricTrend]
    changes: Changes
    exceptions: list[dict[str, Any]]
    maintenance_count: int
    summary: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


def build_monthly_report(history: History, config: Any, year: int, month: int,
                         now: datetime) -> MonthlyReport:
    """The report for one month (pure). ``now`` bounds a month still in progress."""
    tz = config.site.timezone
    start, end = month_bounds(year, month, tz)
    stop = min(end, now)
    occurrences = maintenance_occurrences(history.maintenance, start, stop, tz)
    services = [service_report(history, config, s, start, stop, now, occurrences)
                for s in sorted(config.services, key=lambda s: (s.priority, s.id))]
    first = history.first_run((r["target"], r["check_name"]) for r in history.seen)
    figures = month_figures(history, config, start, stop, now)
    leading, trailing = trends(history, config, year, month, now, figures)
    exceptions = active_exceptions(history.exceptions, stop)
    report = MonthlyReport(
        site=config.site.name, timezone=tz, month=f"{year:04d}-{month:02d}",
        title=month_name(year, month), start=start, end=end, generated_at=now,
        partial_from=first if first and start < first < stop else None,
        services=services, leading=leading, trailing=trailing,
        changes=changes(history, config, year, month, stop, figures),
        exceptions=exceptions, maintenance_count=len(occurrences), figures=figures)
    return _with_summary(report)


def service_report(history: History, config: Any, service: Any, start: datetime,
                   stop: datetime, now: datetime, occurrences: Sequence[Any]) -> ServiceReport:
    checks = service_checks(history, service)
    first = history.first_run(checks)
    monitored_from = max(start, first) if first else stop
    outages = service_outages(history, config, service, checks, monitored_from, stop,
                              occurrences)
    return ServiceReport(
        id=service.id, name=service.name, priority=service.priority,
        owner=service.owner.name, backup_owner=service.backup_owner.name,
        rto=service.rto, rpo=service.rpo, response_sla=service.effective_response_sla,
        target_percent=service.effective_availability_target,
        monitored_seconds=max(0.0, (stop - monitored_from).total_seconds()),
        outage_seconds=seconds(outages), outages=outages,
        incidents=incident_lines(history.incidents, service, start, stop),
        backups=backup_summary(history.restore_tests, service, start, stop),
        patches=patch_summary(history.current, config, service),
        exceptions=[e for e in active_exceptions(history.exceptions, stop)
                    if e["target"] in service.targets],
        maintenance=[(o.start, o.end, o.owner, o.reason) for o in occurrences
                     if o.end <= now and any(o.covers(t, [service.id]) for t in
                                             service.targets)])


def service_checks(history: History, service: Any) -> set[tuple[str, str]]:
    """The service's checks: those on its targets, and any recorded as belonging to it."""
    found = {(r["target"], r["check_name"]) for r in history.seen
             if r["target"] in service.targets}
    for row in [*history.events, *history.current]:
        if row["target"] in service.targets or service.id in json.loads(
                row.get("services") or "[]"):
            found.add((row["target"], row["check_name"]))
    return found


def service_outages(history: History, config: Any, service: Any, checks: set[tuple[str, str]],
                    start: datetime, stop: datetime, occurrences: Sequence[Any]
                    ) -> list[tuple[datetime, datetime]]:
    if start >= stop:
        return []
    down = down_intervals(history.events, stop)
    spans = []
    for key in checks:
        intervals = clip(down.get(key, []), start, stop)
        if config.reports.exclude_maintenance:
            holes = [(o.start, o.end) for o in occurrences
                     if o.covers(key[0], [service.id])]
            intervals = subtract(intervals, holes)
        spans.extend(intervals)
    return union(spans)


def incident_lines(incidents: Sequence[dict[str, Any]], service: Any, start: datetime,
                   stop: datetime) -> list[IncidentLine]:
    lines = []
    sla = service.effective_response_sla
    for row in incidents:
        opened = when(row["opened_at"])
        if service.id not in json.loads(row["services"] or "[]") or not start <= opened < stop:
            continue
        resolved, told, acked = (when(row["resolved_at"]), when(row["first_notified_at"]),
                                 when(row["acked_at"]))
        kept: bool | None = None
        if told is not None:
            due = told + timedelta(seconds=sla)
            if acked is not None:
                kept = acked <= due
            elif resolved is not None:
                kept = resolved <= due
            else:
                kept = stop <= due
        lines.append(IncidentLine(
            id=row["id"], check=f"{row['target']}/{row['check_name']}", opened_at=opened,
            resolved_at=resolved,
            acknowledge_seconds=(acked - told).total_seconds() if acked and told else None,
            recover_seconds=(resolved - opened).total_seconds() if resolved else None,
            promise_kept=kept, acked_by=row["acked_by"], summary=row["summary"]))
    return lines


def backup_summary(tests: Sequence[dict[str, Any]], service: Any, start: datetime,
                   stop: datetime) -> BackupSummary:
    mine = [t for t in tests if t["service"] == service.id or t["backup"] in service.backups]
    month = [t for t in mine if start <= when(t["started_at"]) < stop]
    lines = [RestoreTestLine(
        at=when(t["started_at"]), backup=t["backup"], verdict=State(t["verdict"]).label,
        full_drill=bool(t["full_drill"]), age_seconds=t["age_seconds"],
        restore_seconds=t["restore_seconds"], summary=t["summary"]) for t in month]
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
        coverage=quarter_coverage(mine, stop))


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


def patch_summary(current: Sequence[dict[str, Any]], config: Any, service: Any) -> PatchSummary:
    overdue, reboots, hosts, checked = [], [], 0, []
    policy_days = DEFAULT_SECURITY_POLICY_DAYS
    for row in current:
        if row["target"] not in service.targets or not row["check_name"].startswith("patches"):
            continue
        hosts += 1
        checked.append(when(row["last_check"]))
        policy = _security_policy_days(config, row["target"], row["check_name"])
        policy_days = policy
        for item in json.loads(row["items"] or "[]"):
            if item.get("kind") == "package" and item.get("security") and \
                    (item.get("pending_days") or 0) > policy:
                overdue.append((row["target"], item["name"], float(item["pending_days"])))
            if item.get("kind") == "reboot" and item.get("required"):
                reasons = item.get("reasons") or ["reboot required"]
                reboots.append((row["target"], "; ".join(reasons)))
    return PatchSummary(hosts, sorted(overdue, key=lambda o: -o[2]), reboots, policy_days,
                        max((c for c in checked if c), default=None))


def _security_policy_days(config: Any, target_id: str, check_name: str) -> float:
    target = config.target_by_id.get(target_id)
    for params in getattr(target, "checks", []) or []:
        if getattr(params, "check", None) == "patches" and hasattr(params, "security_warn_age"):
            return params.security_warn_age / 86400
    return DEFAULT_SECURITY_POLICY_DAYS


def active_exceptions(rows: Sequence[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """Accepted risks in force at ``moment``."""
    return [r for r in rows if when(r["created_at"]) <= moment < when(r["expires_at"])
            and (r["ended_at"] is None or when(r["ended_at"]) > moment)]


# -- figures, trends, changes -----------------------------------------------------------------

def month_figures(history: History, config: Any, start: datetime, stop: datetime,
                  now: datetime) -> dict[str, Any]:
    """The month's headline numbers (saved with each sent report, for later trends)."""
    occurrences = maintenance_occurrences(history.maintenance, start, stop, config.site.timezone)
    outage: dict[str, float] = {}
    monitored = False
    for service in config.services:
        checks = service_checks(history, service)
        first = history.first_run(checks)
        if first is None or first >= stop:
            continue
        monitored = True
        outage[service.id] = seconds(service_outages(
            history, config, service, checks, max(start, first), stop, occurrences)) / 60
    tests = [t for t in history.restore_tests if start <= when(t["started_at"]) < stop]
    missed = sum(1 for s in config.services
                 for i in incident_lines(history.incidents, s, start, stop)
                 if i.promise_kept is False)
    return {
        "monitored": monitored,
        "outage_minutes": outage,
        "resident_facing_outage_minutes": round(sum(
            m for sid, m in outage.items()
            if config.service_by_id[sid].priority in RESIDENT_FACING), 1) if monitored else None,
        "restore_tests": len(tests),
        "restore_pass_rate": round(100.0 * sum(t["verdict"] == State.OK for t in tests)
                                   / len(tests), 1) if tests else None,
        # Pending updates are only kept as they are now: good for a month that just ended.
        "security_patch_latency": _patch_latency(history.current)
        if now - stop <= CURRENT_STATE_VALID_FOR else None,
        "missed_response_promises": missed if monitored else None,
        "problems": sorted(f"{t}/{c}" for (t, c), s in states_at(history.events, stop).items()
                           if s != State.OK),
    }


def _patch_latency(current: Sequence[dict[str, Any]]) -> float | None:
    """Days the oldest pending security update has waited, over every patches check now."""
    days: list[float] = []
    seen_patches = False
    for row in current:
        if not row["check_name"].startswith("patches"):
            continue
        seen_patches = True
        days += [float(i.get("pending_days") or 0) for i in json.loads(row["items"] or "[]")
                 if i.get("kind") == "package" and i.get("security") and not i.get("phased")]
    if not seen_patches:
        return None
    return round(max(days), 1) if days else 0.0


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
                           [TrendPoint(k, f.get(figure)) for k, f in per_month])

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
    return Changes(sorted(after - before), sorted(before - after), notes)


def report_figures(report: MonthlyReport) -> dict[str, Any]:
    """The JSON-safe figures of a report, saved in the state database when it is sent."""
    return json.loads(json.dumps(report.figures, default=str))


def report_as_dict(report: MonthlyReport) -> dict[str, Any]:
    return json.loads(json.dumps(asdict(report), default=str))


def _with_summary(report: MonthlyReport) -> MonthlyReport:
    from dataclasses import replace

    from watchdog.reports.words import summary_paragraph
    return replace(report, summary=summary_paragraph(report))
