"""The outbox: notifications (a row is written, in the same transaction as what caused it,
before any send is tried) and delivery_attempts (one row per try, written before it is tried
and finished after)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import from_iso, iso


@dataclass(frozen=True)
class PendingNotification:
    id: int
    event_id: int | None
    channel: str
    idempotency_key: str
    title: str
    body: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    body_format: str = "text"
    kind: str = "problem"
    fallback_sent: bool = False
    last_error: str | None = None
    message: str | None = None      # the Message as JSON, to lay out a fallback copy anew


class OutboxStore:
    """Methods for notifications and delivery attempts (``self.db``: a sqlite_utils
    Database)."""

    db: Any

    def add_notification(self, channel: str, key: str, title: str, body: str, body_format: str,
                         kind: str, incident_ids: list[int], now: datetime,
                         event_id: int | None = None, fallback_of: int | None = None,
                         message: str | None = None) -> int:
        """``message``: the Message as JSON (alerts.render.message_to_json), kept so that a
        fallback copy carries the whole message, laid out for its own channel."""
        cursor = self.db.execute(
            "INSERT INTO notifications (event_id, channel, idempotency_key, title, body, "
            "created_at, next_attempt_at, body_format, incident_ids, kind, fallback_of, "
            "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [event_id, channel, key, title, body, iso(now), iso(now), body_format,
             json.dumps(incident_ids), kind, fallback_of, message])
        return cursor.lastrowid

    def mark_fallback_sent(self, notification_id: int) -> None:
        self.db.execute("UPDATE notifications SET fallback_sent = 1 WHERE id = ?",
                        [notification_id])

    def pending_notifications(self, limit: int = 1000) -> list[PendingNotification]:
        """Unsent notifications, oldest first (whether or not their retry time has come)."""
        rows = self.db.query("SELECT * FROM notifications WHERE status = 'pending' ORDER BY id "
                             "LIMIT ?", [limit])
        return [PendingNotification(r["id"], r["event_id"], r["channel"], r["idempotency_key"],
                                    r["title"], r["body"], from_iso(r["created_at"]),
                                    r["attempts"], from_iso(r["next_attempt_at"]),
                                    r["body_format"], r["kind"], bool(r["fallback_sent"]),
                                    r["last_error"], r.get("message"))
                for r in rows]

    def start_attempt(self, notification_id: int, now: datetime) -> int:
        """Write the attempt before it is tried, so a crash mid-send leaves a trace."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO delivery_attempts (notification_id, started_at) VALUES (?, ?)",
                [notification_id, iso(now)])
            self.db.execute("UPDATE notifications SET attempts = attempts + 1 WHERE id = ?",
                            [notification_id])
        return cursor.lastrowid

    def finish_attempt(self, attempt_id: int, notification_id: int, now: datetime, ok: bool,
                       error: str | None, next_attempt_at: datetime | None) -> None:
        status = "sent" if ok else ("pending" if next_attempt_at else "failed")
        with self.db.atomic():
            self.db.execute("UPDATE delivery_attempts SET finished_at = ?, ok = ?, error = ? "
                            "WHERE id = ?", [iso(now), int(ok), error, attempt_id])
            self.db.execute(
                "UPDATE notifications SET status = ?, last_error = ?, sent_at = ?, "
                "next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
                [status, error, iso(now) if ok else None, iso(next_attempt_at),
                 notification_id])

    def notification_counts(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in self.db.query(
            "SELECT status, count(*) AS n FROM notifications GROUP BY status")}

    def notifications(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM notifications ORDER BY id"))

    def notifications_since(self, since: datetime) -> list[dict[str, Any]]:
        """Outbox rows created since ``since`` joined to their event's check, for the digest."""
        return list(self.db.query(
            "SELECT n.id, n.channel, n.kind, n.status, n.created_at, e.target, e.check_name "
            "FROM notifications n LEFT JOIN events e ON e.id = n.event_id "
            "WHERE n.created_at >= ? ORDER BY n.id", [iso(since)]))
