"""What the communication reports read from the state database, at once: incident updates,
post-incident reviews, follow-ups, drills and their steps, and the outbox rows of the
incidents they are about. Everything after :func:`load_comms` is pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CommsHistory:
    """Rows as the store returns them (times as ISO text), keyed for lookups."""

    incidents: dict[int, dict[str, Any]] = field(default_factory=dict)   # the ones below
    updates: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by incident
    reviews: dict[int, dict[str, Any]] = field(default_factory=dict)       # by incident
    follow_ups: Sequence[dict[str, Any]] = ()
    drills: Sequence[dict[str, Any]] = ()
    steps: dict[int, list[dict[str, Any]]] = field(default_factory=dict)   # by drill
    notifications: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by incident

    def follow_ups_of(self, source: str, source_id: int) -> list[dict[str, Any]]:
        return [f for f in self.follow_ups
                if f["source"] == source and f["source_id"] == source_id]


def load_comms(store: Any, incident_ids: Iterable[int] = ()) -> CommsHistory:
    """Every drill, review and follow-up (a town has a few a year), the incidents and updates
    of those and of ``incident_ids``, and the outbox rows of the drills' incidents (their
    handoff is measured from them)."""
    drills = store.drills()
    reviews = {r["incident_id"]: r for r in store.reviews()}
    exercised = {d["incident_id"] for d in drills if d["incident_id"]}
    wanted = set(incident_ids) | set(reviews) | exercised
    incidents = store.incidents_by_id(wanted)
    updates: dict[int, list[dict[str, Any]]] = {}
    for row in store.updates_of(incidents):
        updates.setdefault(row["incident_id"], []).append(row)
    return CommsHistory(
        incidents=incidents, updates=updates, reviews=reviews,
        follow_ups=store.follow_ups(), drills=drills,
        steps={d["id"]: store.drill_steps(d["id"]) for d in drills},
        notifications={i: store.incident_notifications(i) for i in exercised})
