"""Coverage: when each check had fresh results (check_watch, kept after runs are pruned) and
when it first and last ran (check_seen, filled by a trigger on check_runs). The monthly report
tells watched time from gaps with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from muni_watchdog.core.model import CheckKey, Outcome, State
from muni_watchdog.store.timestamps import from_iso, iso

# A result stays fresh for two check intervals: N-central asks for a time-to-stale of at least
# twice the scan interval, Checkmk marks a service stale after 1.5; the margin absorbs the
# scheduler's jitter and a collection that runs up to its timeout.
FRESH_FOR_INTERVALS = 2.0


def record_watch(db: Any, key: CheckKey, at: datetime, outcome: Outcome,
                 interval: float) -> None:
    """Coverage, one row per stretch of results that came on time and agreed on whether
    they knew (UNKNOWN: they did not): a run extends the check's latest stretch, or starts
    a new one after a gap (no results for more than FRESH_FOR_INTERVALS intervals: the
    daemon or the box was down, the check hung) or when it starts or stops knowing.
    Runs are pruned after ``run_history``; these rows stay, for the monthly report."""
    known = int(outcome.state is not State.UNKNOWN)
    stale_after = FRESH_FOR_INTERVALS * interval
    # the connection itself: sqlite-utils' query() builds a dict per row, at every check run
    latest = db.conn.execute(
        "SELECT id, last_at, stale_after, known FROM check_watch WHERE target = ? AND "
        "check_name = ? ORDER BY started_at DESC, id DESC LIMIT 1",
        [key.target, key.check]).fetchone()
    if latest is not None and latest[3] == known:
        row_id, last_at, last_stale_after, _ = latest
        last = from_iso(last_at)
        if (at - last).total_seconds() <= last_stale_after:
            db.conn.execute("UPDATE check_watch SET last_at = ?, interval = ?, stale_after = ? "
                            "WHERE id = ?", [iso(max(at, last)), interval, stale_after, row_id])
            return
    db.conn.execute(
        "INSERT INTO check_watch (target, check_name, started_at, last_at, interval, "
        "stale_after, known, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [key.target, key.check, iso(at), iso(at), interval, stale_after, known,
         "" if known else outcome.summary[:300]])


class CoverageStore:
    """Reading coverage, for the reports (``self.db``: a sqlite_utils Database)."""

    db: Any

    def check_seen(self) -> list[dict[str, Any]]:
        """When each check first and last ran (kept after check runs are pruned)."""
        return list(self.db.query("SELECT * FROM check_seen ORDER BY target, check_name"))

    def check_watch(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Coverage rows (see :func:`record_watch`) that reach into [since, until], and each
        check's last row before ``since`` (to tell a gap from a stretch going on), oldest
        first."""
        return list(self.db.query(
            "SELECT * FROM check_watch WHERE last_at >= ? AND started_at <= ? "
            "UNION SELECT w.* FROM check_watch w JOIN (SELECT target, check_name, "
            "max(started_at) AS latest FROM check_watch WHERE last_at < ? "
            "GROUP BY target, check_name) p ON w.target = p.target AND "
            "w.check_name = p.check_name AND w.started_at = p.latest "
            "ORDER BY started_at, id", [iso(since), iso(until), iso(since)]))
