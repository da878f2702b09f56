"""The residents' status page, as data: a pure function of a History, the configuration and
the clock. :mod:`.status_render` lays it out (HTML, JSON) and :mod:`.status_export` writes it.

What residents read, and only that: the public services (``public: true``; default priority
1-2 with impact text), each with its name, its impact, its status in plain words
("Online utility payments — unavailable since 13:22. We are working on it. Next update by
14:00."), the updates the on-call posted, the last 90 days as one bar a day, and maintenance
announced ahead. Never a target, host, address, check, owner or internal note: nothing here
reads them into the page (the test grepping an export for a config's every internal name
keeps it so).

The status and the bars come from the monthly report's one outage rule
(:func:`muni_watchdog.reports.outages.service_availability` and ``down_intervals``), time not
watched included: a day the monitor did not see is said, never shown as fine. Statuses follow
Atlassian Statuspage's components (operational, degraded, unavailable, under maintenance) and
its 90-day bars; "degraded" is what the on-call says in an update (a check cannot tell that
payments are slow but working), "not known right now" is said when the monitor does not know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from muni_watchdog.alerts.updates import (
    DEGRADED,
    MAINTENANCE,
    OPERATIONAL,
    UNAVAILABLE,
    UNKNOWN,
    PublicUpdate,
    when_words,
)
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.reports.history import (
    History,
    clip,
    maintenance_occurrences,
    seconds,
    when,
)
from muni_watchdog.reports.outages import (
    coverage_checks,
    down_intervals,
    service_availability,
    service_checks,
    site_coverage,
)
from muni_watchdog.reports.words import percent, span

DAYS_SHOWN = 90          # as Statuspage's uptime bars
PAST_DAYS = 7            # resolved incidents with updates stay listed this long
MOSTLY_UNWATCHED = 0.5   # a day watched less than half is grey, not green


@dataclass(frozen=True)
class DayBar:
    day: date
    state: str              # up, down, unwatched, partly (watched, partly not), none (no data)
    outage_seconds: float
    unwatched_seconds: float
    words: str              # "Nov 3: unavailable for 42 minutes"


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    impact: str
    status: str                          # OPERATIONAL, DEGRADED, UNAVAILABLE, MAINTENANCE, UNKNOWN
    sentence: str
    since: datetime | None
    next_update_by: datetime | None
    updates: list[PublicUpdate]          # the open incident's, newest first
    days: list[DayBar]
    summary: str                          # the 90 days in one sentence


@dataclass(frozen=True)
class Announcement:
    start: datetime
    end: datetime
    services: list[str]
    text: str
    active: bool


@dataclass(frozen=True)
class PastIncident:
    service: str
    since: datetime
    resolved_at: datetime
    updates: list[PublicUpdate]          # newest first


@dataclass(frozen=True)
class StatusPage:
    site: str
    title: str
    timezone: str
    generated_at: datetime
    status: str                          # the worst of the services
    overall: str
    contact: str
    services: list[ServiceStatus]
    announcements: list[Announcement] = field(default_factory=list)
    past: list[PastIncident] = field(default_factory=list)


def public_services(config: Any) -> list[Any]:
    return sorted((s for s in config.services if s.is_public), key=lambda s: (s.priority, s.id))


def build_status_page(history: History, config: Any, now: datetime) -> StatusPage:
    """The page at ``now``; ``history`` covers the last :data:`DAYS_SHOWN` days at least."""
    tz = config.site.timezone
    settings = config.reports.status_page
    first_day = now.astimezone(ZoneInfo(tz)).date() - timedelta(days=DAYS_SHOWN - 1)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=ZoneInfo(tz))
    occurrences = maintenance_occurrences(history.maintenance, start, now, tz)
    site = site_coverage(history, config, now)
    updates = _updates_by_service(history, config)
    services = [_service_status(history, config, s, start, now, occurrences, site,
                                updates.get(s.id, [])) for s in public_services(config)]
    order = [OPERATIONAL, UNKNOWN, MAINTENANCE, DEGRADED, UNAVAILABLE]
    worst = max((s.status for s in services), key=order.index, default=OPERATIONAL)
    return StatusPage(
        site=config.site.name,
        title=(settings.title if settings and settings.title else
               f"{config.site.name} service status"),
        timezone=tz, generated_at=now, status=worst, overall=_overall(services),
        contact=settings.contact if settings else "", services=services,
        announcements=announcements(history, config, now),
        past=_past(history, config, now))


def _overall(services: list[ServiceStatus]) -> str:
    affected = [s for s in services if s.status in (UNAVAILABLE, DEGRADED)]
    if not services:
        return "No services are listed on this page yet."
    if affected:
        names = ", ".join(s.name for s in affected)
        return f"Some services have problems: {names}."
    if any(s.status == MAINTENANCE for s in services):
        return "Some services are under maintenance; all others are operational."
    if any(s.status == UNKNOWN for s in services):
        return "All services we can see are operational; for some we cannot confirm it now."
    return "All services are operational."


def _updates_by_service(history: History, config: Any) -> dict[str, list[tuple[dict, dict]]]:
    """(incident, update row) pairs of real incidents, by their most important service."""
    found: dict[str, list[tuple[dict, dict]]] = {}
    for incident_id, rows in history.comms.updates.items():
        incident = history.comms.incidents.get(incident_id)
        if incident is None or is_drill(incident["target"]):
            continue      # a drill is an exercise: never on the public page
        ids = [s for s in json.loads(incident["services"] or "[]") if s in config.service_by_id]
        if not ids:
            continue
        service = min((config.service_by_id[s] for s in ids), key=lambda s: (s.priority, s.id))
        found.setdefault(service.id, []).extend((incident, row) for row in rows)
    return found


def _public(config: Any, service: Any, row: dict[str, Any]) -> PublicUpdate:
    return PublicUpdate(
        site=config.site.name, timezone=config.site.timezone, service=service.name,
        impact=service.impact, status=row["status"], since=when(row["since"]),
        at=when(row["at"]), number=row["number"], text=row["text"],
        residents_can=row["residents_can"], next_update_by=when(row["next_update_by"]))


def _service_status(history: History, config: Any, service: Any, start: datetime,
                    now: datetime, occurrences: list[Any], site: Any,
                    updates: list[tuple[dict, dict]]) -> ServiceStatus:
    measured = service_availability(history, config, service, start, now, occurrences, site)
    open_rows = [(i, u) for i, u in updates if i["status"] == "open"]
    current = sorted((_public(config, service, u) for _, u in open_rows),
                     key=lambda u: u.at, reverse=True)
    latest = current[0] if current else None
    outage = next((a for a, b in measured.outages if b >= now), None)
    down = _down_since(history, config, service, now)     # maintenance not left out
    maintenance = _maintenance_now(history, config, service, now)
    blind = _blind_since(history, config, service, site, now)
    said = latest.status if latest else None
    if maintenance is not None and (maintenance[1] or down or said):
        status, since = MAINTENANCE, maintenance[0].start
    elif outage is not None or said == UNAVAILABLE:
        status = UNAVAILABLE
        since = outage or down or (latest.since if latest else None)
    elif said == DEGRADED:
        status, since = DEGRADED, latest.since if latest else None
    elif blind is not None:
        status, since = UNKNOWN, blind
    else:
        status, since = OPERATIONAL, None
    next_by = latest.next_update_by if latest and latest.next_update_by and \
        latest.next_update_by > now else None
    sentence = _sentence(service.name, status, since, next_by, maintenance, config, now)
    return ServiceStatus(
        name=service.name, impact=service.impact, status=status, sentence=sentence,
        since=since, next_update_by=next_by, updates=current,
        days=day_bars(measured, start, now, config.site.timezone),
        summary=_ninety_days(measured))


def _sentence(name: str, status: str, since: datetime | None, next_by: datetime | None,
              maintenance: tuple[Any, str] | None, config: Any, now: datetime) -> str:
    tz = config.site.timezone
    at = f" since {when_words(since, tz, now)}" if since else ""
    nxt = f" Next update by {when_words(next_by, tz, now)}." if next_by else ""
    if status == UNAVAILABLE:
        return f"{name} — unavailable{at}. We are working on it.{nxt}"
    if status == DEGRADED:
        return f"{name} — degraded{at}: it works, but not fully. We are working on it.{nxt}"
    if status == MAINTENANCE and maintenance is not None:
        occurrence, text = maintenance
        return (f"{name} — under maintenance until {when_words(occurrence.end, tz, now)}."
                + (f" {text}" if text else "") + nxt)
    if status == UNKNOWN:
        return (f"{name} — we cannot confirm its status right now: our monitoring has had no "
                f"usable results{at}.")
    return f"{name} — operational."


def _down_since(history: History, config: Any, service: Any, now: datetime) -> datetime | None:
    """When the service's outage still going on began, by the outage rule alone (the
    status page says "under maintenance" for one inside a window)."""
    down = down_intervals(history.events, now, config)
    starts = [a for key in service_checks(history, service) for a, b in down.get(key, [])
              if b >= now]
    return min(starts) if starts else None


def _maintenance_now(history: History, config: Any, service: Any,
                     now: datetime) -> tuple[Any, str] | None:
    """The maintenance occurrence covering the service now, with its announcement ('' when
    it was not announced: then it only explains an outage)."""
    for row in history.maintenance:
        for occurrence in _whole_occurrences(row, now, now + timedelta(seconds=1),
                                             config.site.timezone):
            if _covers(occurrence, service):
                return occurrence, (row.get("announcement") or "").strip()
    return None


def _whole_occurrences(row: dict[str, Any], start: datetime, end: datetime,
                       tz: str) -> list[Any]:
    """The window's occurrences overlapping [start, end), each whole (not cut at start or
    end: residents read when it really begins and ends)."""
    if row.get("ended_at") and when(row["ended_at"]) <= start:
        return []
    if row.get("recurrence"):     # an occurrence lasts a day at most
        around = (start - timedelta(days=2), end + timedelta(days=2))
    else:
        around = (when(row["starts_at"]), when(row["ends_at"]))
    return [o for o in maintenance_occurrences([row], *around, tz)
            if o.start < end and o.end > start]


def _covers(occurrence: Any, service: Any) -> bool:
    return any(occurrence.covers(t, [service.id]) for t in service.targets) or \
        service.id in occurrence.services or (not occurrence.targets and
                                              not occurrence.services)


def _blind_since(history: History, config: Any, service: Any, site: Any,
                 now: datetime) -> datetime | None:
    """When the monitor stopped knowing about the service, if it does not know now."""
    starts = []
    for key in coverage_checks(history, config, service_checks(history, service)):
        coverage = site.get(key)
        for blind in coverage.blind if coverage else ():
            if blind.start <= now <= blind.end:
                starts.append(blind.start)
    return min(starts) if starts else None


def day_bars(measured: Any, start: datetime, now: datetime, tz: str) -> list[DayBar]:
    """One bar per local day from ``start`` to today, from the service's outages and the
    time it was not watched over the whole span (clipped per day)."""
    zone = ZoneInfo(tz)
    bars = []
    day = start.astimezone(zone).date()
    while len(bars) < DAYS_SHOWN:
        a = datetime(day.year, day.month, day.day, tzinfo=zone)
        b = min(a + timedelta(days=1), now)
        bars.append(_bar(day, measured, a, b))
        day += timedelta(days=1)
    return bars


def _bar(day: date, measured: Any, a: datetime, b: datetime) -> DayBar:
    label = day.strftime("%b %-d")
    began = measured.monitored_from
    if began is None or began >= b or a >= b:
        return DayBar(day, "none", 0.0, 0.0, f"{label}: no data")
    span_seconds = (b - max(a, began)).total_seconds()
    down = seconds(clip(measured.outages, a, b))
    blind = seconds(clip(measured.unwatched, a, b))
    words = [f"unavailable for {span(down)}"] if down else []
    if blind:
        words.append(f"not watched for {span(blind)}")
    if down:
        state = "down"
    elif blind >= MOSTLY_UNWATCHED * span_seconds:
        state = "unwatched"
    elif blind:
        state = "partly"
    else:
        state = "up"
    text = "; ".join(words) if words else "no outage"
    return DayBar(day, state, down, blind, f"{label}: {text}")


def _ninety_days(measured: Any) -> str:
    if measured.percent is None:
        return "No data for the last 90 days yet."
    text = f"{percent(measured.percent)} available over the last 90 days"
    if measured.unwatched_seconds:
        text += (f" (of the time it was watched; not watched for "
                 f"{span(measured.unwatched_seconds)})")
    return text + "."


def announcements(history: History, config: Any, now: datetime) -> list[Announcement]:
    """Announced maintenance of public services, running now or starting within the
    configured days (recurring windows: each occurrence)."""
    settings = config.reports.status_page
    ahead = timedelta(days=settings.announce_days if settings else 14)
    found = []
    for row in history.maintenance:
        text = (row.get("announcement") or "").strip()
        if not text or row.get("ended_at"):
            continue
        for occurrence in _whole_occurrences(row, now, now + ahead, config.site.timezone):
            names = [s.name for s in public_services(config) if _covers(occurrence, s)]
            if names:
                found.append(Announcement(occurrence.start, occurrence.end, names, text,
                                          occurrence.start <= now))
    return sorted(found, key=lambda a: a.start)


def _past(history: History, config: Any, now: datetime) -> list[PastIncident]:
    past = []
    for service_id, pairs in _updates_by_service(history, config).items():
        service = config.service_by_id[service_id]
        by_incident: dict[int, tuple[dict, list[dict]]] = {}
        for incident, row in pairs:
            by_incident.setdefault(incident["id"], (incident, []))[1].append(row)
        for incident, rows in by_incident.values():
            resolved = when(incident["resolved_at"])
            if incident["status"] == "open" or resolved is None or \
                    resolved < now - timedelta(days=PAST_DAYS):
                continue
            updates = sorted((_public(config, service, u) for u in rows), key=lambda u: u.at,
                             reverse=True)
            past.append(PastIncident(service.name, when(incident["opened_at"]), resolved,
                                     updates))
    return sorted(past, key=lambda p: p.resolved_at, reverse=True)
