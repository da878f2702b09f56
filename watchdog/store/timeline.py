"""What happened to one incident, for the console's incident page: the check's state changes,
the messages written for it with each delivery attempt, and the audit entries naming it."""

from __future__ import annotations

from typing import Any


class TimelineStore:
    """Read-only queries of an incident's history (``self.db``: a sqlite_utils Database)."""

    db: Any

    def incident_events(self, target: str, check: str, since: str, until: str | None
                        ) -> list[dict[str, Any]]:
        """Hard state changes of a check from ``since`` to ``until`` (ISO; None: now)."""
        return list(self.db.query(
            "SELECT * FROM events WHERE target = ? AND check_name = ? AND at >= ? AND "
            "(? IS NULL OR at <= ?) ORDER BY at, id", [target, check, since, until, until]))

    def incident_notifications(self, incident_id: int) -> list[dict[str, Any]]:
        """Outbox rows written for the incident (its id in incident_ids), oldest first, and
        the fallback copies of those rows."""
        return list(self.db.query(
            "SELECT * FROM notifications WHERE id IN (SELECT n.id FROM notifications n, "
            "json_each(n.incident_ids) j WHERE j.value = ?) OR fallback_of IN (SELECT n.id "
            "FROM notifications n, json_each(n.incident_ids) j WHERE j.value = ?) ORDER BY id",
            [incident_id, incident_id]))

    def delivery_attempts(self, notification_ids: list[int]) -> list[dict[str, Any]]:
        if not notification_ids:
            return []
        marks = ", ".join("?" * len(notification_ids))
        return list(self.db.query(
            f"SELECT * FROM delivery_attempts WHERE notification_id IN ({marks}) ORDER BY id",
            notification_ids))

    def audit_for(self, subject: str) -> list[dict[str, Any]]:
        """Audit entries about one subject (e.g. ``incident 12``), oldest first."""
        return list(self.db.query("SELECT * FROM audit_log WHERE subject = ? ORDER BY id",
                                  [subject]))
