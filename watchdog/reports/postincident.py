"""The post-incident report, as data: drafted from the records when a P1/P2 incident closes,
completed by its owner (cause, follow-ups). Pure; :func:`load_post_incident` reads the store.

It tells, for leadership and the team: the timeline (first failure, confirmed, notified,
acknowledged, escalations, each update, recovered), whether the response promise was kept
(the monthly report's rule: acknowledged within ``response_sla`` of the first notification,
or resolved within it), the time to recover against the RTO, how the updates kept to the
cadence, the updates as they were sent, and the owner's part.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from muni_watchdog.alerts.cadence import CommunicationTiming, communication_timing
from muni_watchdog.alerts.updates import PublicUpdate
from muni_watchdog.config.communication import cadence_of, primary_service
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.reports.history import when
from muni_watchdog.reports.incidents import promise_kept
from muni_watchdog.reports.names import check_label

# What each kind of outbox row means on a timeline; kinds not listed are left out.
KIND_WORDS = {"problem": "Alert sent", "reminder": "Reminder sent (not yet acknowledged)",
              "escalation": "Escalated: the backup owner or the next step called",
              "update-reminder": "Update not posted on time: the on-call reminded",
              "recovery": "All-clear sent", "maintenance": "Maintenance summary sent"}


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str
    detail: str = ""


@dataclass(frozen=True)
class SentUpdate:
    update: PublicUpdate
    channels: list[str]
    delivered: list[str]          # channels that accepted it


@dataclass(frozen=True)
class PostIncidentReport:
    site: str
    timezone: str
    incident_id: int
    service: str
    priority: int
    impact: str
    owner: str
    backup_owner: str
    what: str                     # the check in words (internal report: it may say so)
    summary: str
    opened_at: datetime
    resolved_at: datetime | None
    generated_at: datetime
    timeline: list[TimelineEntry]
    response_sla: float
    acknowledge_seconds: float | None
    acknowledged_by: str | None
    promise_kept: bool | None
    recover_seconds: float | None
    rto: float
    timing: CommunicationTiming | None
    missed_updates: int
    updates: list[SentUpdate]
    cause: str = ""
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    drafted_at: datetime | None = None
    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    drill: str | None = None      # the scenario, for a drill's incident

    @property
    def within_rto(self) -> bool | None:
        return None if self.recover_seconds is None else self.recover_seconds <= self.rto

    @property
    def title(self) -> str:
        kind = "Drill report" if self.drill else "Post-incident report"
        return f"{self.site}: {kind}, incident {self.incident_id} ({self.service})"


def first_ack(incident: dict[str, Any], audit: Sequence[dict[str, Any]]
              ) -> tuple[datetime | None, str | None]:
    """The first acknowledgement (the audit log keeps every one; the incident only the
    last, and a worse state clears it)."""
    acks = [(when(a["at"]), a["actor"]) for a in audit if a["action"] == "ack"]
    if acks:
        return acks[0]
    return when(incident["acked_at"]), incident["acked_by"]


def sent_updates(config: Any, incident: dict[str, Any], updates: Sequence[dict[str, Any]],
                 notifications: Sequence[dict[str, Any]],
                 scenario: str | None = None) -> list[SentUpdate]:
    """Each update with the channels it went to and those that accepted it."""
    service = primary_service(config, incident)
    out = []
    for row in updates:
        sent = [n for n in notifications if n["kind"] in ("update", "resolved")
                and n["created_at"] == row["at"]]
        out.append(SentUpdate(
            PublicUpdate(site=config.site.name, timezone=config.site.timezone,
                         service=service.name if service else incident["target"],
                         impact=service.impact if service else "", status=row["status"],
                         since=when(row["since"]), at=when(row["at"]), number=row["number"],
                         text=row["text"], residents_can=row["residents_can"],
                         next_update_by=when(row["next_update_by"]), by=row["by"],
                         drill=scenario),
            json.loads(row["channels"] or "[]"),
            [n["channel"] for n in sent if n["status"] == "sent"]))
    return out


def timeline(incident: dict[str, Any], notifications: Sequence[dict[str, Any]],
             updates: Sequence[SentUpdate], audit: Sequence[dict[str, Any]],
             steps: Sequence[dict[str, Any]] = (), scenario: str | None = None
             ) -> list[TimelineEntry]:
    """Every moment of the incident, oldest first."""
    opened, hard = when(incident["opened_at"]), when(incident["hard_at"])
    # (the incident's summary is its latest result's: the recovery's, once it closed)
    entries = [TimelineEntry(opened, f"Drill started: {scenario}" if scenario else
                             "First failed result")]
    if hard and hard != opened:
        entries.append(TimelineEntry(hard, "Confirmed as a problem (hard state)"))
    # Entries of the same moment keep this order (the sort is stable): the service back,
    # then the all-clear it caused.
    for step in steps:
        entries.append(TimelineEntry(when(step["at"]), ("Service back: " if step["recovered"]
                                                        else "Step done: ") + step["text"],
                                     f"marked by {step['by']}"))
    if incident["resolved_at"]:
        entries.append(TimelineEntry(when(incident["resolved_at"]), "Drill outage ended" if
                                     scenario else "Recovered", incident["summary"]
                                     if not scenario else ""))
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for n in notifications:
        if n["kind"] in KIND_WORDS:
            groups.setdefault((n["kind"], n["created_at"][:16]), []).append(n)
    for (kind, _), rows in groups.items():
        detail = "to " + ", ".join(
            n["channel"] + {"sent": "", "failed": " (failed)"}.get(n["status"],
                                                                 " (not delivered yet)")
            for n in rows)
        if kind == "problem":
            detail += f": {rows[0]['title']}"      # what the on-call read first
        entries.append(TimelineEntry(when(rows[0]["created_at"]), KIND_WORDS[kind], detail))
    for entry in audit:
        if entry["action"] == "ack":
            entries.append(TimelineEntry(when(entry["at"]), f"Acknowledged by {entry['actor']}",
                                         entry["reason"]))
        elif entry["action"] == "ack cleared":
            entries.append(TimelineEntry(when(entry["at"]), "Acknowledgement cleared",
                                         entry["reason"]))
    for sent in updates:
        u = sent.update
        label = "Closing update sent" if u.resolved else f"Update {u.number} posted" + (
            f" by {u.by}" if u.by else "")
        entries.append(TimelineEntry(u.at, label, u.text))
    return sorted(entries, key=lambda e: e.at)


def build_post_incident(config: Any, incident: dict[str, Any], updates: Sequence[dict],
                        notifications: Sequence[dict], audit: Sequence[dict],
                        review: dict[str, Any] | None, follow_ups: Sequence[dict],
                        now: datetime, steps: Sequence[dict] = (),
                        scenario: str | None = None) -> PostIncidentReport:
    service = primary_service(config, incident)
    sla = service.effective_response_sla if service else 0.0
    told = when(incident["first_notified_at"])
    acked_at, acked_by = first_ack(incident, audit)
    resolved = when(incident["resolved_at"])
    opened = when(incident["opened_at"])
    sent = sent_updates(config, incident, updates, notifications, scenario)
    every = cadence_of(config, incident)
    public = [(s.update.at, s.update.next_update_by) for s in sent if not s.update.resolved]
    timing = communication_timing(told, public, every, resolved or now) if every else None
    return PostIncidentReport(
        site=config.site.name, timezone=config.site.timezone, incident_id=incident["id"],
        service=service.name if service else incident["target"],
        priority=incident["priority"], impact=service.impact if service else "",
        owner=service.owner.name if service else "", backup_owner=service.backup_owner.name
        if service else "",
        what=("a drill" if is_drill(incident["target"]) else
              check_label(config, incident["target"], incident["check_name"])),
        summary=incident["summary"], opened_at=opened, resolved_at=resolved, generated_at=now,
        timeline=timeline(incident, notifications, sent, audit, steps, scenario),
        response_sla=sla,
        acknowledge_seconds=(acked_at - told).total_seconds() if acked_at and told else None,
        acknowledged_by=acked_by,
        promise_kept=promise_kept(told, acked_at, resolved, sla, now),
        recover_seconds=(resolved - opened).total_seconds() if resolved else None,
        rto=service.rto if service else 0.0, timing=timing,
        missed_updates=incident.get("missed_updates") or 0, updates=sent,
        cause=(review or {}).get("cause") or "", reviewed_by=(review or {}).get("reviewed_by"),
        reviewed_at=when((review or {}).get("reviewed_at")),
        drafted_at=when((review or {}).get("drafted_at")), follow_ups=list(follow_ups),
        drill=scenario)


def load_post_incident(store: Any, config: Any, incident_id: int,
                       now: datetime) -> PostIncidentReport | None:
    """Read one incident's records and build its report (None: no such incident)."""
    incident = store.incident(incident_id)
    if incident is None:
        return None
    drill = store.drill_of_incident(incident_id)
    return build_post_incident(
        config, incident, store.updates(incident_id), store.incident_notifications(incident_id),
        store.audit_of(f"incident {incident_id}"), store.review(incident_id),
        store.follow_ups("incident", incident_id), now,
        store.drill_steps(drill["id"]) if drill else (), drill["scenario"] if drill else None)


def promise_words(r: PostIncidentReport) -> str:
    promised = humanize(r.response_sla)
    if r.promise_kept is None:
        return "Nobody was called (the incident was held), so no response promise applied."
    if r.acknowledge_seconds is not None:
        return (f"Acknowledged by {r.acknowledged_by} {humanize(r.acknowledge_seconds)} after "
                f"the first alert: the {promised} response promise was "
                f"{'kept' if r.promise_kept else 'missed'}.")
    return (f"Not acknowledged; it ended within the {promised} promise." if r.promise_kept
            else f"Not acknowledged within the {promised} response promise: missed.")


def recover_words(r: PostIncidentReport) -> str:
    if r.recover_seconds is None:
        return "Not recovered yet."
    verdict = "within" if r.within_rto else "over"
    return (f"Recovered after {humanize(r.recover_seconds)}, {verdict} the recovery target "
            f"(RTO) of {humanize(r.rto)}.")


def timing_words(r: PostIncidentReport) -> str:
    t = r.timing
    if t is None:
        return "No update cadence applied (not a public service's outage)."
    posted = sum(1 for s in r.updates if not s.update.resolved)
    if not posted:
        return (f"No update was posted (cadence: every {humanize(t.every or 0)}); "
                f"{r.missed_updates or t.missed} missed.")
    late = [u for u in t.updates if not u.on_time]
    text = (f"{posted} update{'s' if posted != 1 else ''}, the first "
            f"{humanize(t.first_update_seconds or 0)} after the first alert (cadence: every "
            f"{humanize(t.every or 0)}); ")
    text += "all on time" if not late else ", ".join(
        f"update {u.number} {humanize(u.late_seconds)} late" for u in late)
    # as counted live by the reminders, or as replayed from the record when the daemon was
    # not running to count it
    missed = max(r.missed_updates, t.missed)
    return text + (f"; {missed} missed." if missed else ".")


def render_post_incident_text(r: PostIncidentReport) -> str:
    """The report as plain text (the command line's output)."""
    from muni_watchdog.alerts.updates import update_message
    from muni_watchdog.reports.words import stamp
    tz = r.timezone
    out = [r.title, "=" * len(r.title), ""]
    if r.drill:
        out += [f"THIS WAS A DRILL: {r.drill}", ""]
    out += [f"Service: {r.service} (priority {r.priority}); owner {r.owner}, backup owner "
            f"{r.backup_owner}", f"What failed: {r.what}",
            f"From {stamp(r.opened_at, tz)} to "
            f"{stamp(r.resolved_at, tz) if r.resolved_at else 'now (still open)'}", "",
            promise_words(r), recover_words(r), timing_words(r), "", "TIMELINE"]
    for e in r.timeline:
        out.append(f"  {stamp(e.at, tz)}  {e.what}" + (f" — {e.detail}" if e.detail else ""))
    out += ["", "UPDATES AS SENT"]
    if not r.updates:
        out.append("  none")
    for s in r.updates:
        message = update_message(s.update)
        out += [f"  [{', '.join(s.channels) or 'status page only'}] {message.title}"]
        out += [f"    {line}" for line in message.lines[2:] if line]
    out += ["", "CAUSE", f"  {r.cause or '(not written yet: muni-watchdog incident review N --cause ...)'}",
            "", "FOLLOW-UPS"]
    if not r.follow_ups:
        out.append("  none yet")
    for f in r.follow_ups:
        out.append(f"  #{f['id']} {follow_up_words(f, tz, r.generated_at)}")
    return "\n".join(out) + "\n"


def follow_up_words(f: dict[str, Any], tz: str, now: datetime) -> str:
    """"Add the vendor's number to the runbook — owner Sam, due Dec 15 (open, overdue)"."""
    from zoneinfo import ZoneInfo
    due = when(f["due"])
    state = (f"done {when(f['done_at']).astimezone(ZoneInfo(tz)):%b %-d} by {f['done_by']}"
             if f["done_at"] else ("open, overdue" if due < now else "open"))
    return (f"{f['text']} — owner {f['owner']}, due "
            f"{due.astimezone(ZoneInfo(tz)):%b %-d, %Y} ({state})")
