"""Incidents: one row per problem from its first hard state to its recovery, with who was told,
when to remind, the escalation level and the acknowledgement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import iso


class IncidentStore:
    """Methods for the incidents table (``self.db``: a sqlite_utils Database)."""

    db: Any

    def open_incident(self, target: str, check: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM incidents WHERE status = 'open' AND target = ? "
                                  "AND check_name = ? ORDER BY id DESC LIMIT 1", [target, check]))
        return rows[0] if rows else None

    def incident(self, incident_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM incidents WHERE id = ?", [incident_id]))
        return rows[0] if rows else None

    def create_incident(self, **fields: Any) -> int:
        return self.db.table("incidents").insert(fields).last_pk

    def update_incident(self, incident_id: int, **fields: Any) -> None:
        self.db.table("incidents").update(incident_id, fields)

    def incidents(self, status: str | None = "open", limit: int = 500) -> list[dict[str, Any]]:
        if status is None:
            return list(self.db.query("SELECT * FROM incidents ORDER BY id DESC LIMIT ?",
                                      [limit]))
        return list(self.db.query("SELECT * FROM incidents WHERE status = ? ORDER BY id",
                                  [status]))

    def acknowledge(self, incident_id: int, by: str, reason: str, until: datetime | None,
                    now: datetime) -> None:
        self.update_incident(incident_id, acked_by=by, acked_at=iso(now), ack_reason=reason,
                             ack_until=iso(until))
