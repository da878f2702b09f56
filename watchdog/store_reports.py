"""The reports' half of the state database: coverage (when each check had fresh results) and
the read-only queries of :mod:`watchdog.reports`. Mixed into :class:`watchdog.store.Store`; all
its SQL lives here."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from muni_watchdog.model import CheckKey, Outcome, State

MIGRATION_COVERAGE = (7, "coverage: when each check had fresh results, kept after runs are "
                      "pruned", """
CREATE TABLE check_watch (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    started_at TEXT NOT NULL, last_at TEXT NOT NULL,
    interval REAL NOT NULL, stale_after REAL NOT NULL,
    known INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX check_watch_by_check ON check_watch (target, check_name, started_at);
CREATE INDEX check_watch_by_end ON check_watch (last_at)
""")

# A result stays fresh for two check intervals: N-central asks for a time-to-stale of at least
# twice the scan interval, Checkmk marks a service stale after 1.5; the margin absorbs the
# scheduler's jitter and a collection that runs up to its timeout.
FRESH_FOR_INTERVALS = 2.0


def _iso(moment: datetime | None) -> str | None:
    from muni_watchdog.store import iso
    return iso(moment)


def _from_iso(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


class ReportStore:
    """Methods for coverage and the reports (``self.db`` is a sqlite_utils Database)."""

    db: Any

    # -- coverage, written with each scheduled run ---------------------------------------------

    def _record_watch(self, key: CheckKey, at: datetime, outcome: Outcome,
                      interval: float) -> None:
        """Coverage, one row per stretch of results that came on time and agreed on whether
        they knew (UNKNOWN: they did not): a run extends the check's latest stretch, or starts
        a new one after a gap (no results for more than FRESH_FOR_INTERVALS intervals: the
        daemon or the box was down, the check hung) or when it starts or stops knowing.
        Runs are pruned after ``run_history``; these rows stay, for the monthly report."""
        known = int(outcome.state is not State.UNKNOWN)
        stale_after = FRESH_FOR_INTERVALS * interval
        rows = list(self.db.query(
            "SELECT id, last_at, stale_after, known FROM check_watch WHERE target = ? AND "
            "check_name = ? ORDER BY started_at DESC, id DESC LIMIT 1", [key.target, key.check]))
        if rows and rows[0]["known"] == known:
            last = _from_iso(rows[0]["last_at"])
            if (at - last).total_seconds() <= rows[0]["stale_after"]:
                self.db.execute("UPDATE check_watch SET last_at = ?, interval = ?, "
                                "stale_after = ? WHERE id = ?",
                                [_iso(max(at, last)), interval, stale_after, rows[0]["id"]])
                return
        self.db.execute(
            "INSERT INTO check_watch (target, check_name, started_at, last_at, interval, "
            "stale_after, known, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [key.target, key.check, _iso(at), _iso(at), interval, stale_after, known,
             "" if known else outcome.summary[:300]])

    # -- reading, for watchdog.reports (which reads everything once, then computes) -------

    def report_events(self, until: datetime) -> list[dict[str, Any]]:
        """Every hard state change up to ``until``, oldest first."""
        return list(self.db.query("SELECT * FROM events WHERE at <= ? ORDER BY at, id",
                                  [_iso(until)]))

    def report_incidents(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Incidents that were open at some time in [since, until)."""
        return list(self.db.query(
            "SELECT * FROM incidents WHERE opened_at < ? AND (resolved_at IS NULL OR "
            "resolved_at >= ?) ORDER BY opened_at, id", [_iso(until), _iso(since)]))

    def report_restore_tests(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT * FROM restore_tests WHERE started_at >= ? AND started_at < ? "
            "ORDER BY started_at, id", [_iso(since), _iso(until)]))

    def check_seen(self) -> list[dict[str, Any]]:
        """When each check first and last ran (kept after check runs are pruned)."""
        return list(self.db.query("SELECT * FROM check_seen ORDER BY target, check_name"))

    def check_watch(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Coverage rows (see ``_record_watch``) that reach into [since, until], and each
        check's last row before ``since`` (to tell a gap from a stretch going on), oldest
        first."""
        return list(self.db.query(
            "SELECT * FROM check_watch WHERE last_at >= ? AND started_at <= ? "
            "UNION SELECT w.* FROM check_watch w JOIN (SELECT target, check_name, "
            "max(started_at) AS latest FROM check_watch WHERE last_at < ? "
            "GROUP BY target, check_name) p ON w.target = p.target AND "
            "w.check_name = p.check_name AND w.started_at = p.latest "
            "ORDER BY started_at, id", [_iso(since), _iso(until), _iso(since)]))

    def watch_recorded_from(self) -> datetime | None:
        """When coverage began to be recorded (this version's first scheduled run): before
        it, reports cannot tell watched time from gaps."""
        row = next(self.db.query("SELECT min(started_at) AS first FROM check_watch"))
        return _from_iso(row["first"])

    def report_months(self) -> dict[str, dict[str, Any]]:
        """Figures saved by earlier monthly reports, by month (YYYY-MM)."""
        return {r["month"]: json.loads(r["figures"])
                for r in self.db.query("SELECT month, figures FROM report_months")}

    def save_report_month(self, month: str, figures: dict[str, Any], now: datetime) -> None:
        self.db.execute(
            "INSERT INTO report_months (month, figures, written_at) VALUES (?, ?, ?) "
            "ON CONFLICT (month) DO UPDATE SET figures = excluded.figures, "
            "written_at = excluded.written_at", [month, json.dumps(figures), _iso(now)])

    def notifications_since(self, since: datetime) -> list[dict[str, Any]]:
        """Outbox rows created since ``since`` joined to their event's check, for the digest."""
        return list(self.db.query(
            "SELECT n.id, n.channel, n.kind, n.status, n.created_at, e.target, e.check_name "
            "FROM notifications n LEFT JOIN events e ON e.id = n.event_id "
            "WHERE n.created_at >= ? ORDER BY n.id", [_iso(since)]))
