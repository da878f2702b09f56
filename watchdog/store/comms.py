"""Incident communication: the public updates of an incident (and when the next is due), the
post-incident reviews drafted when a P1/P2 incident closes, and follow-ups (of reviews and of
drills) with an owner and a due date until they are done."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import iso


class CommsStore:
    """Methods for incident_updates, incident_reviews and follow_ups (``self.db``: a
    sqlite_utils Database)."""

    db: Any

    # -- updates ------------------------------------------------------------------------------

    def add_update(self, incident_id: int, by: str, kind: str, status: str, affected: str,
                   since: datetime, text: str, residents_can: str,
                   next_update_by: datetime | None, channels: list[str],
                   now: datetime) -> tuple[int, int]:
        """Write an update; returns (row id, its number within the incident: 1, 2, ...)."""
        row = next(self.db.query("SELECT coalesce(max(number), 0) + 1 AS n FROM "
                                 "incident_updates WHERE incident_id = ?", [incident_id]))
        cursor = self.db.execute(
            "INSERT INTO incident_updates (incident_id, number, at, by, kind, status, affected, "
            "since, text, residents_can, next_update_by, channels) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [incident_id, row["n"], iso(now), by, kind, status, affected, iso(since), text,
             residents_can, iso(next_update_by), json.dumps(channels)])
        return cursor.lastrowid, row["n"]

    def updates(self, incident_id: int) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM incident_updates WHERE incident_id = ? "
                                  "ORDER BY number", [incident_id]))

    def updates_of(self, incident_ids: Iterable[int]) -> list[dict[str, Any]]:
        """The updates of these incidents, by incident and number."""
        ids = json.dumps(sorted(set(incident_ids)))
        return list(self.db.query(
            "SELECT * FROM incident_updates WHERE incident_id IN (SELECT value FROM "
            "json_each(?)) ORDER BY incident_id, number", [ids]))

    def incidents_by_id(self, incident_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = json.dumps(sorted(set(incident_ids)))
        return {r["id"]: r for r in self.db.query(
            "SELECT * FROM incidents WHERE id IN (SELECT value FROM json_each(?))", [ids])}

    def updates_since(self, since: datetime) -> list[dict[str, Any]]:
        """Updates posted since ``since`` and every update of an incident still open, with
        their incident's status, oldest first (the status page's input)."""
        return list(self.db.query(
            "SELECT u.*, i.status AS incident_status, i.services AS services, "
            "i.target AS target, i.resolved_at AS resolved_at, i.opened_at AS opened_at "
            "FROM incident_updates u JOIN incidents i ON i.id = u.incident_id "
            "WHERE u.at >= ? OR i.status = 'open' ORDER BY u.at, u.id", [iso(since)]))

    def set_update_due(self, incident_ids: Iterable[int], due: datetime | None) -> None:
        for incident_id in incident_ids:
            self.db.execute("UPDATE incidents SET next_update_due = ? WHERE id = ?",
                            [iso(due), incident_id])

    def count_missed_updates(self, incident_id: int, missed: int, next_due: datetime) -> None:
        self.db.execute("UPDATE incidents SET missed_updates = missed_updates + ?, "
                        "next_update_due = ? WHERE id = ?", [missed, iso(next_due), incident_id])

    def resolved_needing_final_update(self) -> list[dict[str, Any]]:
        """Resolved incidents that had public updates but not yet the closing one."""
        return list(self.db.query(
            "SELECT * FROM incidents i WHERE status = 'resolved' AND EXISTS (SELECT 1 FROM "
            "incident_updates u WHERE u.incident_id = i.id AND u.kind = 'update') AND NOT "
            "EXISTS (SELECT 1 FROM incident_updates u WHERE u.incident_id = i.id AND "
            "u.kind = 'resolved') ORDER BY id"))

    # -- post-incident reviews ----------------------------------------------------------------

    def incidents_needing_review(self, max_priority: int = 2) -> list[dict[str, Any]]:
        """Resolved incidents of priority 1..max_priority that someone was told of, with no
        review drafted yet (drills are reviewed by their own form)."""
        return list(self.db.query(
            "SELECT * FROM incidents i WHERE status = 'resolved' AND priority <= ? AND "
            "first_notified_at IS NOT NULL AND target NOT LIKE 'drill:%' AND NOT EXISTS "
            "(SELECT 1 FROM incident_reviews r WHERE r.incident_id = i.id) ORDER BY id",
            [max_priority]))

    def add_review(self, incident_id: int, now: datetime) -> None:
        self.db.execute("INSERT OR IGNORE INTO incident_reviews (incident_id, drafted_at) "
                        "VALUES (?, ?)", [incident_id, iso(now)])

    def review(self, incident_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM incident_reviews WHERE incident_id = ?",
                                  [incident_id]))
        return rows[0] if rows else None

    def reviews(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM incident_reviews ORDER BY incident_id"))

    def write_review(self, incident_id: int, cause: str | None, by: str, now: datetime) -> None:
        """Fill in (or correct) the owner's part of a review; the draft is made if missing."""
        self.add_review(incident_id, now)
        if cause is not None:
            self.db.execute("UPDATE incident_reviews SET cause = ? WHERE incident_id = ?",
                            [cause, incident_id])
        self.db.execute("UPDATE incident_reviews SET reviewed_by = ?, reviewed_at = ? "
                        "WHERE incident_id = ?", [by, iso(now), incident_id])

    # -- follow-ups ---------------------------------------------------------------------------

    def add_follow_up(self, source: str, source_id: int, text: str, owner: str, due: datetime,
                      by: str, now: datetime) -> int:
        """``source``: 'incident' (a post-incident review) or 'drill'."""
        cursor = self.db.execute(
            "INSERT INTO follow_ups (source, source_id, text, owner, due, created_at, "
            "created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [source, source_id, text, owner, iso(due), iso(now), by])
        return cursor.lastrowid

    def follow_ups(self, source: str | None = None, source_id: int | None = None,
                   open_only: bool = False) -> list[dict[str, Any]]:
        where, args = [], []
        if source is not None:
            where.append("source = ?")
            args.append(source)
        if source_id is not None:
            where.append("source_id = ?")
            args.append(source_id)
        if open_only:
            where.append("done_at IS NULL")
        sql = "SELECT * FROM follow_ups" + (" WHERE " + " AND ".join(where) if where else "")
        return list(self.db.query(sql + " ORDER BY due, id", args))

    def follow_up(self, follow_up_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM follow_ups WHERE id = ?", [follow_up_id]))
        return rows[0] if rows else None

    def finish_follow_up(self, follow_up_id: int, by: str, note: str, now: datetime) -> None:
        self.db.execute("UPDATE follow_ups SET done_at = ?, done_by = ?, done_note = ? "
                        "WHERE id = ?", [iso(now), by, note, follow_up_id])

    # -- what an incident's report reads ------------------------------------------------------

    def incident_notifications(self, incident_id: int) -> list[dict[str, Any]]:
        """Every outbox row about an incident (alerts, escalations, updates), oldest first."""
        return list(self.db.query(
            "SELECT id, channel, kind, title, status, created_at, sent_at, attempts, "
            "last_error FROM notifications n WHERE EXISTS (SELECT 1 FROM "
            "json_each(n.incident_ids) WHERE value = ?) ORDER BY id", [incident_id]))

    def audit_of(self, subject: str) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM audit_log WHERE subject = ? ORDER BY id",
                                  [subject]))
