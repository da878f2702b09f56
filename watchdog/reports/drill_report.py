"""Drills measured: a pure function of a drill's records (its incident, steps, updates and
outbox rows), and when each service's next drill is due. :func:`load_drill` reads the store.

Measured the same way as a real incident (the incident is one): time to acknowledge from the
first alert, time to the first update and the updates against the cadence, time to recover
(from the start to the step marked ``recovered``) against the RTO, and the handoff: who
acknowledged, whether the backup owner was called and reached. The guidance's yardstick is a
resident-facing service drilled in under 90 minutes, with two measurable changes after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.core.durations import humanize
from muni_watchdog.core.exercise import CHANGES_ASKED
from muni_watchdog.reports.history import when
from muni_watchdog.reports.postincident import (
    PostIncidentReport,
    build_post_incident,
    follow_up_words,
    promise_words,
    timing_words,
)

# "Start with one resident-facing service your team can drill in under 90 minutes."
DRILL_WITHIN = 90 * 60.0


@dataclass(frozen=True)
class DrillMeasures:
    id: int
    service_id: str
    service: str
    scenario: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    recovered_at: datetime | None
    went_well: str
    report: PostIncidentReport          # the drill's incident: timeline, ack, updates
    steps: list[dict[str, Any]]
    backup_owner: str
    backup_owner_called: bool
    backup_owner_reached: bool | None   # None: not called
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def recover_seconds(self) -> float | None:
        if self.recovered_at is None:
            return None
        return (self.recovered_at - self.started_at).total_seconds()

    @property
    def duration_seconds(self) -> float | None:
        end = self.ended_at
        return None if end is None else (end - self.started_at).total_seconds()

    @property
    def within_90_minutes(self) -> bool | None:
        """Recovered within 90 minutes of the start (None: not recovered, still running)."""
        seconds = self.recover_seconds
        return None if seconds is None else seconds <= DRILL_WITHIN

    @property
    def first_update_seconds(self) -> float | None:
        posted = [s.update.at for s in self.report.updates if not s.update.resolved]
        return (posted[0] - self.started_at).total_seconds() if posted else None

    @property
    def acked_by_backup_owner(self) -> bool:
        who = (self.report.acknowledged_by or "").strip().lower()
        mine = self.backup_owner.strip().lower()
        return bool(who) and bool(mine) and (who in mine or mine in who)


def measure_drill(config: Any, drill: dict[str, Any], incident: dict[str, Any] | None,
                  steps: Sequence[dict], updates: Sequence[dict], notifications: Sequence[dict],
                  audit: Sequence[dict], changes: Sequence[dict], now: datetime) -> DrillMeasures:
    service = config.service_by_id.get(drill["service"])
    if incident is None:   # the drill row was written, its incident not (never expected)
        incident = {"id": drill["incident_id"] or 0, "target": f"drill:{drill['id']}",
                    "check_name": "exercise", "services": f'["{drill["service"]}"]',
                    "priority": service.priority if service else 3, "summary": "",
                    "opened_at": drill["started_at"], "hard_at": drill["started_at"],
                    "resolved_at": drill["ended_at"], "first_notified_at": None,
                    "acked_at": None, "acked_by": None, "unavailable": 1, "status": "resolved",
                    "missed_updates": 0}
    report = build_post_incident(config, incident, updates, notifications, audit, None, (),
                                 now, steps, drill["scenario"])
    escalations = [n for n in notifications if n["kind"] == "escalation"]
    return DrillMeasures(
        id=drill["id"], service_id=drill["service"],
        service=service.name if service else drill["service"], scenario=drill["scenario"],
        started_at=when(drill["started_at"]), started_by=drill["started_by"],
        ended_at=when(drill["ended_at"]), recovered_at=when(drill["recovered_at"]),
        went_well=drill["went_well"] or "", report=report, steps=list(steps),
        backup_owner=service.backup_owner.name if service else "",
        backup_owner_called=bool(escalations),
        backup_owner_reached=any(n["status"] == "sent" for n in escalations)
        if escalations else None, changes=list(changes))


def load_drill(store: Any, config: Any, drill_id: int, now: datetime) -> DrillMeasures | None:
    drill = store.drill(drill_id)
    if drill is None:
        return None
    incident_id = drill["incident_id"]
    incident = store.incident(incident_id) if incident_id else None
    return measure_drill(
        config, drill, incident, store.drill_steps(drill_id),
        store.updates(incident_id) if incident_id else [],
        store.incident_notifications(incident_id) if incident_id else [],
        store.audit_of(f"incident {incident_id}") if incident_id else [],
        store.follow_ups("drill", drill_id), now)


def drills_from_history(comms: Any, config: Any, now: datetime) -> list[DrillMeasures]:
    """Every drill in a report's history (CommsHistory), measured."""
    found = []
    for drill in comms.drills:
        incident_id = drill["incident_id"]
        found.append(measure_drill(
            config, drill, comms.incidents.get(incident_id), comms.steps.get(drill["id"], []),
            comms.updates.get(incident_id, []), comms.notifications.get(incident_id, []), (),
            comms.follow_ups_of("drill", drill["id"]), now))
    return found


@dataclass(frozen=True)
class DrillDue:
    service_id: str
    service: str
    every: float
    last: datetime | None           # when the last completed drill ended
    due: datetime | None            # None: never drilled, due now

    def overdue(self, now: datetime) -> bool:
        return self.due is None or self.due <= now

    def words(self, tz: str, now: datetime) -> str:
        from muni_watchdog.reports.words import stamp
        if self.last is None:
            return f"never drilled: a drill is due now (every {humanize(self.every)})"
        state = "overdue since" if self.overdue(now) else "next due by"
        return (f"last drilled {stamp(self.last, tz)}; {state} {stamp(self.due, tz)} "
                f"(every {humanize(self.every)})")


def drill_dues(config: Any, drills: Sequence[dict[str, Any]]) -> list[DrillDue]:
    """For every service with a drill cadence (``drill_every``), when its next is due."""
    dues = []
    for service in sorted(config.services, key=lambda s: (s.priority, s.id)):
        every = service.effective_drill_every
        if every is None:
            continue
        ended = [when(d["ended_at"]) for d in drills
                 if d["service"] == service.id and d["ended_at"]]
        last = max(ended) if ended else None
        dues.append(DrillDue(service.id, service.name, every, last,
                             last + timedelta(seconds=every) if last else None))
    return dues


def measures_words(m: DrillMeasures) -> list[str]:
    """The drill's measures in sentences, for the text layouts and the monthly report."""
    r = m.report
    lines = []
    if m.recover_seconds is None:
        lines.append("Time to recover: not measured (no step was marked as the service "
                     "back)." if m.ended_at else "Time to recover: still running.")
    else:
        within = "within" if m.within_90_minutes else "over"
        rto = "within" if m.recover_seconds <= r.rto else "over"
        lines.append(f"Time to recover: {humanize(m.recover_seconds)} from the start ({within} "
                     f"the 90-minute drill; {rto} the RTO of {humanize(r.rto)}).")
    if r.acknowledge_seconds is not None:
        lines.append(f"Time to acknowledge: {humanize(r.acknowledge_seconds)} after the first "
                     f"alert, by {r.acknowledged_by} (a real incident's promise: "
                     f"{humanize(r.response_sla)}, {'kept' if r.promise_kept else 'missed'}).")
    else:
        lines.append("Time to acknowledge: nobody acknowledged. " + promise_words(r))
    lines.append("Time to first update: " + (humanize(m.first_update_seconds) + " from the "
                                              "start." if m.first_update_seconds is not None
                                              else "no update was posted."))
    lines.append("Communication: " + timing_words(r))
    if not m.backup_owner_called:
        handoff = "the backup owner was not needed"
    elif m.backup_owner_reached:
        handoff = f"the backup owner ({m.backup_owner}) was called and the message delivered"
    else:
        handoff = f"the backup owner ({m.backup_owner}) was called but NOT reached"
    who = (f"acknowledged by {r.acknowledged_by}" + (" (the backup owner)"
                                                    if m.acked_by_backup_owner else "")
           if r.acknowledged_by else "nobody acknowledged")
    lines.append(f"Handoff: {who}; {handoff}.")
    return lines


def render_drill_text(m: DrillMeasures) -> str:
    from muni_watchdog.reports.words import stamp
    tz = m.report.timezone
    title = f"{m.report.site}: drill {m.id}, {m.service} — {m.scenario}"
    out = [title, "=" * len(title), "",
           f"Started {stamp(m.started_at, tz)} by {m.started_by}; " +
           (f"ended {stamp(m.ended_at, tz)}." if m.ended_at else "still running."), ""]
    out += measures_words(m) + ["", "STEPS AND TIMELINE"]
    for e in m.report.timeline:
        seconds = max(0, round((e.at - m.started_at).total_seconds()))
        clock = f"+{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        out.append(f"  {clock:>9}  {e.what}" + (f" — {e.detail}" if e.detail else ""))
    out += ["", "WHAT WENT WELL", f"  {m.went_well or '(not written yet)'}", "",
            f"CHANGES IT LED TO ({len(m.changes)} of the {CHANGES_ASKED} the guidance asks for)"]
    out += [f"  #{c['id']} {follow_up_words(c, tz, m.report.generated_at)}"
            for c in m.changes] or ["  none yet"]
    return "\n".join(out) + "\n"


def summary_words(m: DrillMeasures, tz: str) -> str:
    """One sentence for the monthly report and the digest."""
    from muni_watchdog.reports.words import stamp
    parts = [f"drill {m.id} on {stamp(m.started_at, tz)} \"{m.scenario}\""]
    r = m.report
    parts.append(f"acknowledged in {humanize(r.acknowledge_seconds)}" if
                 r.acknowledge_seconds is not None else "not acknowledged")
    parts.append(f"first update after {humanize(m.first_update_seconds)}" if
                 m.first_update_seconds is not None else "no update")
    parts.append(f"recovered in {humanize(m.recover_seconds)}" if m.recover_seconds is not None
                 else "recovery not marked")
    done = sum(1 for c in m.changes if c["done_at"])
    parts.append(f"{len(m.changes)} change{'s' if len(m.changes) != 1 else ''} "
                 f"({done} done)")
    return ", ".join(parts)

