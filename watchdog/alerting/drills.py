"""Drills: an incident flagged as an exercise, measured like a real one.

:func:`start_drill` opens the drill's incident (target ``drill:ID``, CRITICAL, an outage) ready
to be sent: the alert loop pages, reminds and escalates it as any incident of the service,
every message saying ``[DRILL]``; the on-call acknowledges it (``muni-watchdog ack``) and posts
updates (``muni-watchdog incident update``) as they would. :func:`mark_step` records the owner's
recovery steps; the one marked ``recovered`` ends the simulated outage (a recovery event: the
all-clear goes to everyone told). :func:`end_drill` closes it with the short form: what went
well and the changes it led to, each with an owner and a due date.

The CLI calls these now; the web console will call the same functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from muni_watchdog.config.models import Config
from muni_watchdog.core.exercise import CHANGES_ASKED, DRILL_CHECK, drill_target
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import iso


class DrillError(ValueError):
    """A drill command that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Change:
    """A change a drill led to (a follow-up): what, who, by when."""

    text: str
    owner: str
    due: datetime


def start_drill(config: Config, store: Store, service_id: str, scenario: str, by: str,
                now: datetime) -> tuple[int, int]:
    """Open a drill of ``service_id``; returns (drill number, incident number)."""
    service = config.service_by_id.get(service_id)
    if service is None:
        known = ", ".join(sorted(config.service_by_id)) or "none configured"
        raise DrillError(f"no service {service_id!r} (services: {known})")
    if not scenario.strip():
        raise DrillError('say what is being exercised: --scenario "payment portal down"')
    with store.db.atomic():
        drill_id = store.add_drill(service.id, scenario.strip(), by, now)
        incident_id = store.create_incident(
            target=drill_target(drill_id), check_name=DRILL_CHECK,
            services=json.dumps([service.id]), priority=service.priority,
            state=int(State.CRITICAL), summary=f"drill: {scenario.strip()}",
            opened_at=iso(now), hard_at=iso(now), unavailable=1, pending=1)
        store.update_drill(drill_id, incident_id=incident_id)
        store.audit(by, "drill start", f"drill {drill_id}", scenario.strip(), now,
                    {"service": service.id, "incident": incident_id})
    return drill_id, incident_id


def _open_drill(store: Store, drill_id: int) -> dict[str, Any]:
    drill = store.drill(drill_id)
    if drill is None:
        raise DrillError(f"no drill {drill_id}; see 'muni-watchdog drill list'")
    if drill["ended_at"]:
        raise DrillError(f"drill {drill_id} ended at {drill['ended_at']}; start another with "
                         "'muni-watchdog drill start'")
    return drill


def _end_outage(store: Store, drill: dict[str, Any], summary: str, now: datetime) -> None:
    incident = store.incident(drill["incident_id"]) if drill["incident_id"] else None
    if incident is not None and incident["status"] == "open":
        store.add_drill_recovery(drill["id"], incident, summary, now)


def mark_step(store: Store, drill_id: int, text: str, by: str, recovered: bool,
              now: datetime) -> int:
    """Record a recovery step done; ``recovered`` marks the service back (the first such
    step is the drill's time to recover). Returns the step's id."""
    drill = _open_drill(store, drill_id)
    if not text.strip():
        raise DrillError('say what was done: drill step N "restored from backup"')
    with store.db.atomic():
        step = store.add_drill_step(drill_id, by, text.strip(), recovered, now)
        if recovered and drill["recovered_at"] is None:
            store.update_drill(drill_id, recovered_at=iso(now))
            _end_outage(store, drill, f"drill: {text.strip()}", now)
        store.audit(by, "drill step", f"drill {drill_id}", text.strip(), now,
                    {"recovered": recovered})
    return step


def end_drill(store: Store, drill_id: int, by: str, went_well: str, changes: Sequence[Change],
              now: datetime) -> list[str]:
    """Close the drill with its form; returns notes for the person (e.g. fewer changes than
    the guidance asks for). A drill whose service was never marked back is closed too, and
    its time to recover stays "not recovered during the drill"."""
    drill = _open_drill(store, drill_id)
    for change in changes:
        if not change.text.strip() or not change.owner.strip():
            raise DrillError("each change needs its text and an owner")
    with store.db.atomic():
        _end_outage(store, drill, "drill ended", now)
        store.update_drill(drill_id, ended_at=iso(now), ended_by=by,
                           went_well=went_well.strip())
        for change in changes:
            store.add_follow_up("drill", drill_id, change.text.strip(), change.owner.strip(),
                                change.due, by, now)
        store.audit(by, "drill end", f"drill {drill_id}", went_well.strip(), now,
                    {"changes": [c.text for c in changes]})
    notes = []
    if drill["recovered_at"] is None:
        notes.append("no step was marked --recovered: the drill's time to recover is not "
                     "measured")
    if len(changes) < CHANGES_ASKED:
        notes.append(f"the guidance asks that a drill lead to {CHANGES_ASKED} measurable "
                     f"changes; {len(changes)} recorded (add more: muni-watchdog drill "
                     f"follow-up add {drill_id} ...)")
    return notes


def add_follow_up(store: Store, source: str, source_id: int, change: Change, by: str,
                  now: datetime) -> int:
    """A follow-up of a drill or a post-incident review, written with the audit entry."""
    if not change.text.strip() or not change.owner.strip():
        raise DrillError("a follow-up needs its text and an owner")
    with store.db.atomic():
        follow_up = store.add_follow_up(source, source_id, change.text.strip(),
                                        change.owner.strip(), change.due, by, now)
        store.audit(by, "follow-up add", f"{source} {source_id}", change.text.strip(), now,
                    {"owner": change.owner, "due": change.due.isoformat(),
                     "follow_up": follow_up})
    return follow_up


def finish_follow_up(store: Store, follow_up_id: int, by: str, note: str,
                     now: datetime) -> dict[str, Any]:
    """Mark a follow-up done; returns its row as it was."""
    row = store.follow_up(follow_up_id)
    if row is None:
        raise DrillError(f"no follow-up {follow_up_id}; see 'muni-watchdog drill follow-up "
                         "list'")
    if row["done_at"]:
        raise DrillError(f"follow-up {follow_up_id} was done already ({row['done_at']}, "
                         f"{row['done_by']})")
    with store.db.atomic():
        store.finish_follow_up(follow_up_id, by, note.strip(), now)
        store.audit(by, "follow-up done", f"{row['source']} {row['source_id']}", row["text"],
                    now, {"follow_up": follow_up_id, "note": note.strip()})
    return row
