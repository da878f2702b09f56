"""Drills: an exercise of one service (its incident is flagged by its ``drill:ID`` target), the
steps its owner marks done, and the recovery event that ends the simulated outage."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from muni_watchdog.core.exercise import DRILL_CHECK, drill_target
from muni_watchdog.core.model import State
from muni_watchdog.store.timestamps import iso


class DrillStore:
    """Methods for drills and drill_steps (``self.db``: a sqlite_utils Database)."""

    db: Any

    def add_drill(self, service: str, scenario: str, by: str, now: datetime) -> int:
        cursor = self.db.execute(
            "INSERT INTO drills (service, scenario, started_at, started_by) VALUES (?, ?, ?, ?)",
            [service, scenario, iso(now), by])
        return cursor.lastrowid

    def update_drill(self, drill_id: int, **fields: Any) -> None:
        self.db.table("drills").update(drill_id, fields)

    def drill(self, drill_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM drills WHERE id = ?", [drill_id]))
        return rows[0] if rows else None

    def drills(self, service: str | None = None) -> list[dict[str, Any]]:
        if service is None:
            return list(self.db.query("SELECT * FROM drills ORDER BY started_at, id"))
        return list(self.db.query("SELECT * FROM drills WHERE service = ? ORDER BY "
                                  "started_at, id", [service]))

    def drills_for_assessment(self) -> list[dict[str, Any]]:
        """Every drill, oldest first, in the shape ``reports.assessment.drill_records`` reads:
        service, started_at, ended_at, scenario, recovered_seconds (start to service back,
        None while not recovered)."""
        return list(self.db.query(
            "SELECT service, started_at, ended_at, scenario, CASE WHEN recovered_at IS NULL "
            "THEN NULL ELSE CAST(round((julianday(recovered_at) - julianday(started_at)) * 86400) "
            "AS INTEGER) "
            "END AS recovered_seconds FROM drills ORDER BY started_at, id"))

    def drill_of_incident(self, incident_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM drills WHERE incident_id = ?", [incident_id]))
        return rows[0] if rows else None

    def add_drill_step(self, drill_id: int, by: str, text: str, recovered: bool,
                       now: datetime) -> int:
        cursor = self.db.execute(
            "INSERT INTO drill_steps (drill_id, at, by, text, recovered) VALUES (?, ?, ?, ?, ?)",
            [drill_id, iso(now), by, text, int(recovered)])
        return cursor.lastrowid

    def drill_steps(self, drill_id: int) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM drill_steps WHERE drill_id = ? ORDER BY at, id",
                                  [drill_id]))

    def add_drill_recovery(self, drill_id: int, incident: dict[str, Any], summary: str,
                           now: datetime) -> int:
        """The event that ends the drill's simulated outage: the alert loop resolves its
        incident and sends the all-clear to everyone told, as for a real recovery."""
        cursor = self.db.execute(
            "INSERT INTO events (at, target, check_name, kind, state, previous_state, since, "
            "summary, services, priority, notify, suppressed_reason, processed, unavailable) "
            "VALUES (?, ?, ?, 'recovery', ?, ?, ?, ?, ?, ?, 1, NULL, 0, 0)",
            [iso(now), drill_target(drill_id), DRILL_CHECK, int(State.OK),
             int(incident["state"]), incident["opened_at"], summary,
             incident["services"] or json.dumps([]), incident["priority"]])
        return cursor.lastrowid
