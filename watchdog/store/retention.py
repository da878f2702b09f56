"""How long the history is kept, so the state database stays small (under 50 MB per 100
targets per year: bench/history_growth.py) while the monthly report keeps its numbers.

* ``check_runs``: every run for ``RUNS_IN_FULL``, and each check's last ``RECENT_KEPT``
  (the alert messages show them); after that only the runs that changed the state (the
  first of each state), until ``run_history``. Every run is first counted in ``check_days`` (runs per state, duration),
  and days older than ``DAYS_KEPT`` are folded into ``check_months``, kept for good —
  Checkmk's RRDs and Zabbix's trends keep history the same way: full detail briefly, then
  ever coarser aggregates.
* ``check_watch`` (coverage): the rows that ended before the oldest month a monthly report
  reads (its 6-month trends, one month of slack: ``WATCH_MONTHS``) go, except each check's
  last row before that month (it tells a gap from a stretch going on); when coverage began
  to be recorded is kept in ``daemon_state``. Events, incidents and the saved monthly
  figures are small and kept for good (the outage computation reads every event).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.store.timestamps import from_iso, iso

RUNS_IN_FULL = timedelta(hours=1)
RECENT_KEPT = 5           # each check's latest runs stay (the alert messages show them)
DAYS_KEPT = 400
WATCH_MONTHS = 7          # the report's 6 months of trends, and the month before
AGGREGATED_UNTIL = "runs-aggregated-until"
WATCH_FROM = "watch-recorded-from"


def month_start(at: datetime, back: int = 0) -> datetime:
    """The first moment of the month ``back`` months before ``at``'s."""
    index = at.year * 12 + at.month - 1 - back
    return at.replace(year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0,
                      second=0, microsecond=0)


class RetentionStore:
    """Pruning with aggregation (``self.db``: a sqlite_utils Database)."""

    db: Any

    def prune_history(self, now: datetime, run_history: float) -> dict[str, int]:
        """Aggregate and thin the history as the module says; one transaction. Returns the
        rows removed per table."""
        removed = {}
        with self.db.atomic():
            removed["check_runs"] = self._thin_runs(now, run_history)
            removed["check_days"] = self._fold_days(now)
            removed["check_watch"] = self._prune_watch(now)
        return removed

    def _state(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM daemon_state WHERE key = ?", [key]))
        return rows[0]["value"] if rows else None

    def _set_state(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO daemon_state (key, value) VALUES (?, ?) ON CONFLICT(key) "
                        "DO UPDATE SET value = excluded.value", [key, value])

    def _thin_runs(self, now: datetime, run_history: float) -> int:
        upto = iso(now - RUNS_IN_FULL)
        since = self._state(AGGREGATED_UNTIL) or ""
        conn = self.db.conn
        # Count every run once in its day (the runs since the last time, up to the hour).
        conn.execute(
            "INSERT INTO check_days (target, check_name, day, runs, ok, warning, critical, "
            "unknown, duration_total, duration_max) SELECT target, check_name, "
            "substr(started_at, 1, 10), count(*), sum(state = 0), sum(state = 1), "
            "sum(state = 2), sum(state = 3), sum(duration), max(duration) FROM check_runs "
            "WHERE started_at > ? AND started_at <= ? GROUP BY 1, 2, 3 "
            "ON CONFLICT (target, check_name, day) DO UPDATE SET runs = runs + excluded.runs, "
            "ok = ok + excluded.ok, warning = warning + excluded.warning, "
            "critical = critical + excluded.critical, unknown = unknown + excluded.unknown, "
            "duration_total = duration_total + excluded.duration_total, "
            "duration_max = max(duration_max, excluded.duration_max)", [since, upto])
        self._set_state(AGGREGATED_UNTIL, upto)
        # Of those, keep the runs that changed the state (the previous run of the same check
        # had another state, or there was none).
        thinned = conn.execute(
            "DELETE FROM check_runs WHERE id IN (SELECT id FROM (SELECT id, started_at, state, "
            "lag(state) OVER (PARTITION BY target, check_name ORDER BY started_at, id) AS "
            "before FROM check_runs WHERE started_at <= ?) WHERE started_at > ? AND "
            "before IS state) AND id NOT IN (SELECT id FROM (SELECT id, row_number() OVER "
            "(PARTITION BY target, check_name ORDER BY started_at DESC, id DESC) AS newest "
            "FROM check_runs) WHERE newest <= ?)", [upto, since, RECENT_KEPT]).rowcount
        old = conn.execute("DELETE FROM check_runs WHERE started_at < ?",
                           [iso(now - timedelta(seconds=run_history))]).rowcount
        return thinned + old

    def _fold_days(self, now: datetime) -> int:
        cutoff = (now - timedelta(days=DAYS_KEPT)).date().isoformat()
        conn = self.db.conn
        conn.execute(
            "INSERT INTO check_months (target, check_name, month, runs, ok, warning, "
            "critical, unknown, duration_total, duration_max) SELECT target, check_name, "
            "substr(day, 1, 7), sum(runs), sum(ok), sum(warning), sum(critical), "
            "sum(unknown), sum(duration_total), max(duration_max) FROM check_days "
            "WHERE day < ? GROUP BY 1, 2, 3 ON CONFLICT (target, check_name, month) DO UPDATE "
            "SET runs = runs + excluded.runs, ok = ok + excluded.ok, "
            "warning = warning + excluded.warning, critical = critical + excluded.critical, "
            "unknown = unknown + excluded.unknown, "
            "duration_total = duration_total + excluded.duration_total, "
            "duration_max = max(duration_max, excluded.duration_max)", [cutoff])
        return conn.execute("DELETE FROM check_days WHERE day < ?", [cutoff]).rowcount

    def _prune_watch(self, now: datetime) -> int:
        cutoff = iso(month_start(now, WATCH_MONTHS))
        first = next(self.db.query("SELECT min(started_at) AS first FROM check_watch"))["first"]
        if first is not None and first < cutoff and self._state(WATCH_FROM) is None:
            self._set_state(WATCH_FROM, first)
        # Rows that ended before the cutoff, except each check's latest such row.
        return self.db.conn.execute(
            "DELETE FROM check_watch WHERE last_at < ? AND id NOT IN (SELECT w.id FROM "
            "check_watch w JOIN (SELECT target, check_name, max(started_at) AS latest FROM "
            "check_watch WHERE last_at < ? GROUP BY target, check_name) p ON "
            "w.target = p.target AND w.check_name = p.check_name AND "
            "w.started_at = p.latest)", [cutoff, cutoff]).rowcount

    def watch_recorded_from(self) -> datetime | None:
        """When coverage began to be recorded (this version's first scheduled run), also
        after the oldest coverage rows were pruned: before it, reports cannot tell watched
        time from gaps."""
        row = next(self.db.query("SELECT min(started_at) AS first FROM check_watch"))
        kept = self._state(WATCH_FROM)
        firsts = [value for value in (row["first"], kept) if value]
        return from_iso(min(firsts)) if firsts else None

    def day_counts(self, target: str, check: str) -> list[dict[str, Any]]:
        """The daily aggregates of one check, oldest first."""
        return list(self.db.query("SELECT * FROM check_days WHERE target = ? AND "
                                  "check_name = ? ORDER BY day", [target, check]))
