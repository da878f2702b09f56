"""The reports' own queries: the history they read at once (events, incidents) and the figures
each monthly report saves (report_months) for the trends of the next ones."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from muni_watchdog.store.timestamps import iso


class ReportStore:
    """Read-only queries of :mod:`muni_watchdog.reports`, which reads everything once and then
    computes, and the monthly figures (``self.db``: a sqlite_utils Database)."""

    db: Any

    def report_events(self, until: datetime) -> list[dict[str, Any]]:
        """Every hard state change up to ``until``, oldest first."""
        return list(self.db.query("SELECT * FROM events WHERE at <= ? ORDER BY at, id",
                                  [iso(until)]))

    def report_incidents(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Incidents that were open at some time in [since, until)."""
        return list(self.db.query(
            "SELECT * FROM incidents WHERE opened_at < ? AND (resolved_at IS NULL OR "
            "resolved_at >= ?) ORDER BY opened_at, id", [iso(until), iso(since)]))

    def current_rows(self, keys: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """The current state of the given (target, check name) pairs, those that have one
        (the security summary reads its checks' last results so)."""
        wanted = sorted(set(keys))
        rows: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 400):   # SQLite's variable limit, with room
            chunk = wanted[start:start + 400]
            where = " OR ".join("(target = ? AND check_name = ?)" for _ in chunk)
            rows += self.db.query(f"SELECT * FROM current_state WHERE {where} "
                                  "ORDER BY target, check_name",
                                  [v for pair in chunk for v in pair])
        return rows

    def report_months(self) -> dict[str, dict[str, Any]]:
        """Figures saved by earlier monthly reports, by month (YYYY-MM)."""
        return {r["month"]: json.loads(r["figures"])
                for r in self.db.query("SELECT month, figures FROM report_months")}

    def save_report_month(self, month: str, figures: dict[str, Any], now: datetime) -> None:
        self.db.execute(
            "INSERT INTO report_months (month, figures, written_at) VALUES (?, ?, ?) "
            "ON CONFLICT (month) DO UPDATE SET figures = excluded.figures, "
            "written_at = excluded.written_at", [month, json.dumps(figures), iso(now)])
