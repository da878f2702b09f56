"""Restore tests: one row per run (restore_tests: samples, drills, and the repository checks
run apart, by ``kind``) and each backup's rotation state (restore_test_state: which integrity
subset and sample come next)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import iso


class RestoreTestStore:
    """Methods for the restore test tables (``self.db``: a sqlite_utils Database)."""

    db: Any

    def record_restore_test(self, row: dict[str, Any], state: dict[str, Any] | None) -> int:
        """Write one restore test run and, when given, the backup's new rotation state."""
        columns = ", ".join(row)
        with self.db.atomic():
            cursor = self.db.execute(
                f"INSERT INTO restore_tests ({columns}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()))
            if state is not None:
                self.db.execute(
                    "INSERT INTO restore_test_state (backup, subset_next, state, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (backup) DO UPDATE SET "
                    "subset_next = excluded.subset_next, state = excluded.state, "
                    "updated_at = excluded.updated_at",
                    [row["backup"], int(state.get("subset_next", 1)), json.dumps(state),
                     row["started_at"]])
        return cursor.lastrowid

    def restore_test_state(self, backup: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT state FROM restore_test_state WHERE backup = ?",
                                  [backup]))
        return json.loads(rows[0]["state"]) if rows else None

    def restore_tests(self, backup: str | None = None, limit: int = 100,
                      kind: str = "restore_test") -> list[dict[str, Any]]:
        """Recent runs of ``kind`` ("restore_test", samples and drills, or "repository_check",
        the checks run apart), newest first."""
        where, args = ("AND backup = ?", [backup]) if backup else ("", [])
        return list(self.db.query(f"SELECT * FROM restore_tests WHERE kind = ? {where} "
                                  "ORDER BY id DESC LIMIT ?", [kind, *args, limit]))

    def report_restore_tests(self, since: datetime, until: datetime,
                             kind: str = "restore_test") -> list[dict[str, Any]]:
        """The runs of ``kind`` started in [since, until), oldest first."""
        return list(self.db.query(
            "SELECT * FROM restore_tests WHERE kind = ? AND started_at >= ? AND started_at < ? "
            "ORDER BY started_at, id", [kind, iso(since), iso(until)]))
