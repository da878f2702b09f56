"""Incident communication: posting a public update (the CLI and the console call
:func:`post_update`), and the alert pass's part (:class:`Communication`): reminding the on-call
when an update is due, the closing update when an incident that had updates resolves, and the
post-incident report drafted when a P1/P2 incident closes (quietly: the weekly digest lists
reviews still waiting for their cause).

One cadence per service: the open incidents of one service (say the portal's http and tcp
checks) share their due time, and only the oldest of them reminds; a drill has its own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerts.cadence import cadence_step, first_update_due, next_update_by
from muni_watchdog.alerts.updates import (
    DEGRADED,
    OPERATIONAL,
    UNAVAILABLE,
    PublicUpdate,
    reminder_message,
    resolved_text,
    update_message,
)
from muni_watchdog.config.communication import cadence_group, cadence_of, primary_service
from muni_watchdog.config.models import Config
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso

log = logging.getLogger("muni-watchdog")
REVIEW_UP_TO_PRIORITY = 2      # a P1/P2 incident that closes gets a post-incident report


class UpdateError(ValueError):
    """An update that cannot be posted; the message says why and what to do."""


@dataclass(frozen=True)
class PostedUpdate:
    incident_id: int
    number: int
    channels: list[str]
    next_update_by: datetime | None
    public: bool                       # the service is on the status page
    notes: list[str] = field(default_factory=list)


STATUSES = (UNAVAILABLE, DEGRADED)


def public_status(incident: dict[str, Any], said: str | None = None) -> str:
    """What an update says of the service: what the on-call said (unavailable, degraded),
    else unavailable for an outage or a drill's simulated one and degraded for a problem
    that is not an outage; operational once resolved."""
    if incident["status"] != "open":
        return OPERATIONAL
    if said is not None:
        return said
    return UNAVAILABLE if incident["unavailable"] or is_drill(incident["target"]) else DEGRADED


def public_update(config: Config, incident: dict[str, Any], row: dict[str, Any],
                  scenario: str | None) -> PublicUpdate:
    """A stored update row as the template reads it."""
    service = primary_service(config, incident)
    return PublicUpdate(
        site=config.site.name, timezone=config.site.timezone,
        service=service.name if service else "A town service",
        impact=service.impact if service else "", status=row["status"],
        since=from_iso(row["since"]), at=from_iso(row["at"]), number=row["number"],
        text=row["text"], residents_can=row["residents_can"],
        next_update_by=from_iso(row["next_update_by"]), by=row["by"], drill=scenario)


def post_update(config: Config, store: Store, incident_id: int, by: str, text: str,
                residents_can: str | None, next_update: datetime | None, now: datetime,
                kind: str = "update", status: str | None = None) -> PostedUpdate:
    """Write an update of an open incident and its messages to the update routes' channels,
    in one transaction, and move the service's next due time. ``residents_can`` None keeps
    what the previous update said; ``next_update`` None promises one cadence on; ``status``
    (unavailable, degraded) is what residents read, by default from the incident."""
    incident = store.incident(incident_id)
    if incident is None:
        raise UpdateError(f"no incident {incident_id}; see 'muni-watchdog incidents'")
    if kind == "update" and incident["status"] != "open":
        raise UpdateError(f"incident {incident_id} is resolved; its closing update is sent "
                          "by itself. Write what caused it in its review: muni-watchdog "
                          f"incident review {incident_id} --cause ...")
    service = primary_service(config, incident)
    if service is None:
        raise UpdateError(f"incident {incident_id} ({incident['target']}) belongs to no "
                          "configured service; updates speak of services to residents")
    if not text.strip():
        raise UpdateError("say what is being done (--text); even 'we are still working on "
                          "it' tells residents someone is")
    if status is not None and status not in STATUSES:
        raise UpdateError(f"status {status!r}: say {' or '.join(STATUSES)}")
    if next_update is not None and next_update <= now:
        raise UpdateError("the next update must be promised for a time still to come")
    every = cadence_of(config, incident)
    earlier = store.updates(incident_id)
    if residents_can is None:
        residents_can = earlier[-1]["residents_can"] if earlier else ""
    promised = None if kind == "resolved" else next_update_by(now, every, next_update)
    drill = store.drill_of_incident(incident_id)
    messages = MessageWriter(config, store)
    channels = messages.channels_for(incident["priority"], "critical", now, kind="update")
    notes = []
    if every and next_update is not None and (next_update - now).total_seconds() > every:
        notes.append(f"the cadence for priority {incident['priority']} is every "
                     f"{humanize(every)}; a reminder comes if no update is posted by "
                     f"{promised.isoformat()}")
    with store.db.atomic():
        _, number = store.add_update(
            incident_id, by, kind, public_status(incident, status) if kind == "update"
            else OPERATIONAL,
            service.name, from_iso(incident["opened_at"]), text.strip(), residents_can.strip(),
            promised, channels, now)
        row = store.updates(incident_id)[-1]
        message = update_message(public_update(config, incident, row,
                                               drill["scenario"] if drill else None))
        if channels:
            messages.write(message, channels, kind if kind == "resolved" else "update",
                           [incident_id], now)
        group = cadence_group(config, incident)
        sharing = [i["id"] for i in store.incidents("open")
                   if _readable_group(config, i) == group] or [incident_id]
        if promised is not None:
            store.set_update_due(sharing, promised)
        store.audit(by, "incident update" if kind == "update" else "incident closed",
                    f"incident {incident_id}", text.strip(), now,
                    {"number": number, "channels": channels,
                     "next_update_by": promised.isoformat() if promised else None})
    if not channels:
        notes.append("no notify route of kind 'update' matches: the update is on the status "
                     "page only")
    return PostedUpdate(incident_id, number, channels, promised, service.is_public, notes)


def _readable_group(config: Config, incident: dict[str, Any]) -> str | None:
    try:
        return cadence_group(config, incident)
    except Exception:        # a damaged row: not part of anyone's cadence
        return None


class Communication:
    """The alert pass's part of incident communication (see the module docstring)."""

    def __init__(self, config: Config, store: Store, isolation: Isolation,
                 messages: MessageWriter):
        self.config = config
        self.store = store
        self.isolation = isolation
        self.messages = messages
        self._leads: dict[str, int] = {}

    def process(self, now: datetime) -> int:
        """Remind, close and draft; returns the messages written."""
        self._leads = {}
        for incident in self.store.incidents("open"):
            group = self._group(incident)
            if group is not None and self._held_to_cadence(incident):
                self._leads.setdefault(group, incident["id"])
        sent = self.isolation.each_incident(lambda incident: self._remind(incident, now))
        for incident in self.store.resolved_needing_final_update():
            sent += self.isolation.run(f"closing:{incident['id']}", f"incident {incident['id']}",
                                       (incident["target"], incident["check_name"]),
                                       self._close, incident, now) or 0
        for incident in self.store.incidents_needing_review(REVIEW_UP_TO_PRIORITY):
            sent += self.isolation.run(f"review:{incident['id']}", f"incident {incident['id']}",
                                       (incident["target"], incident["check_name"]),
                                       self._draft_review, incident, now) or 0
        return sent

    def _group(self, incident: dict[str, Any]) -> str | None:
        """The incident's cadence group; None for a row that cannot be read (a damaged row
        is recorded by its own isolated step, and must not stop the others')."""
        return _readable_group(self.config, incident)

    def _held_to_cadence(self, incident: dict[str, Any]) -> bool:
        return (cadence_of(self.config, incident) is not None and
                bool(incident["first_notified_at"]) and not incident["suppressed_reason"])

    def _remind(self, incident: dict[str, Any], now: datetime) -> int:
        group = cadence_group(self.config, incident)
        if group is None or self._leads.get(group) != incident["id"]:
            return 0
        every = cadence_of(self.config, incident)
        assert every is not None
        due = from_iso(incident["next_update_due"])
        if due is None:
            due = first_update_due(from_iso(incident["first_notified_at"]), every)
            self.store.set_update_due([incident["id"]], due)
        step = cadence_step(due, now, every)
        if not step.remind:
            return 0
        self.store.count_missed_updates(incident["id"], step.missed, step.next_due)
        service = primary_service(self.config, incident)
        message = reminder_message(
            self.config.site.name, self.config.site.timezone, incident["id"],
            service.name if service else incident["target"], incident["priority"], due,
            incident["missed_updates"] + step.missed, every, now)
        told = json.loads(incident["channels_told"])
        log.warning("target=%s check=%s incident %d: the public update due at %s was not "
                    "posted (%d missed); reminding %s", incident["target"],
                    incident["check_name"], incident["id"], due.isoformat(),
                    incident["missed_updates"] + step.missed, ", ".join(told) or "nobody")
        return self.messages.write(message, told, "update-reminder", [incident["id"]], now)

    def _close(self, incident: dict[str, Any], now: datetime) -> int:
        group = cadence_group(self.config, incident)
        if any(self._group(i) == group for i in self.store.incidents("open")):
            return 0    # the service is still affected: its closing update waits for the end
        posted = post_update(self.config, self.store, incident["id"], "muni-watchdog",
                             resolved_text(), "", None, now, kind="resolved")
        return len(posted.channels)

    def _draft_review(self, incident: dict[str, Any], now: datetime) -> int:
        """Draft the review: its report is built from the records whenever it is read; the
        owner's part (cause, follow-ups) waits in the weekly digest until it is written."""
        self.store.add_review(incident["id"], now)
        log.info("incident %d resolved: post-incident report drafted", incident["id"])
        return 0


def write_review(store: Store, incident_id: int, by: str, cause: str | None,
                 follow_ups: list[tuple[str, str, datetime]], now: datetime) -> dict[str, Any]:
    """The owner's part of a post-incident review: the cause and follow-ups (text, owner,
    due), written with the audit entry. Any resolved incident may be reviewed; P1/P2 ones
    are drafted by themselves when they close. Returns the incident."""
    incident = store.incident(incident_id)
    if incident is None:
        raise UpdateError(f"no incident {incident_id}; see 'muni-watchdog incidents --all'")
    if is_drill(incident["target"]):
        raise UpdateError(f"incident {incident_id} is a drill; close it with 'muni-watchdog "
                          "drill end' and its form")
    if incident["status"] == "open":
        raise UpdateError(f"incident {incident_id} is still open; review it once it is "
                          "resolved")
    for text, owner, _due in follow_ups:
        if not text.strip() or not owner.strip():
            raise UpdateError("each follow-up needs its text and an owner")
    with store.db.atomic():
        store.write_review(incident_id, cause.strip() if cause is not None else None, by, now)
        for text, owner, due in follow_ups:
            store.add_follow_up("incident", incident_id, text.strip(), owner.strip(), due, by,
                                now)
        store.audit(by, "incident review", f"incident {incident_id}", (cause or "").strip(),
                    now, {"follow_ups": [t for t, _, _ in follow_ups]})
    return incident
