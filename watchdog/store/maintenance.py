"""Maintenance windows (one-off or recurring) and exceptions (accepted risks with an owner and
an expiry): what holds alerts back on purpose."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import iso


class MaintenanceStore:
    """Methods for the maintenance and exceptions tables (``self.db``: a sqlite_utils
    Database)."""

    db: Any

    def add_maintenance(self, targets: list[str], services: list[str], owner: str, reason: str,
                        starts: datetime, ends: datetime, recurrence: str | None,
                        now: datetime, announcement: str | None = None) -> int:
        """``announcement``: the words residents read about it on the status page (the
        reason is internal and never shown there)."""
        cursor = self.db.execute(
            "INSERT INTO maintenance (scope, owner, reason, starts_at, ends_at, recurrence, "
            "created_at, announcement) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [json.dumps({"targets": targets, "services": services}), owner, reason,
             iso(starts), iso(ends), recurrence, iso(now), announcement or None])
        return cursor.lastrowid

    def maintenance_windows(self, include_ended: bool = False) -> list[dict[str, Any]]:
        where = "" if include_ended else "WHERE ended_at IS NULL"
        return list(self.db.query(f"SELECT * FROM maintenance {where} ORDER BY id"))

    def update_maintenance(self, window_id: int, **fields: Any) -> None:
        self.db.table("maintenance").update(window_id, fields)

    def add_exception(self, target: str, check: str, owner: str, reason: str,
                      expires: datetime, now: datetime) -> int:
        cursor = self.db.execute(
            "INSERT INTO exceptions (target, check_name, owner, reason, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", [target, check, owner, reason, iso(now),
                                          iso(expires)])
        return cursor.lastrowid

    def exceptions(self, include_ended: bool = False) -> list[dict[str, Any]]:
        where = "" if include_ended else "WHERE ended_at IS NULL"
        return list(self.db.query(f"SELECT * FROM exceptions {where} ORDER BY id"))

    def update_exception(self, exception_id: int, **fields: Any) -> None:
        self.db.table("exceptions").update(exception_id, fields)
