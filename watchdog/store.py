"""The state database: one SQLite file (WAL) in the state directory, written by the daemon and
read concurrently by the CLI. All SQL lives here.

Tables: check_runs (bounded retention), current_state, events (hard state changes, kept),
notifications (the outbox: a row is written, in the same transaction as its event, before any
send is tried) and delivery_attempts (one row per try), plus acknowledgements and maintenance,
which the alerting work fills.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from muni_watchdog.model import CheckKey, Event, Outcome, State, StateType
from muni_watchdog.store_alerting import MIGRATION_ALERTING, AlertingStore
from muni_watchdog.store_reports import MIGRATION_COVERAGE, ReportStore
from muni_watchdog.transitions import CheckStatus

DB_NAME = "muni-watchdog.db"

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", """
CREATE TABLE check_runs (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    started_at TEXT NOT NULL, duration REAL NOT NULL,
    state INTEGER NOT NULL, summary TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '[]', items TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX check_runs_by_check ON check_runs (target, check_name, started_at);
CREATE INDEX check_runs_by_time ON check_runs (started_at);
CREATE TABLE current_state (
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    state INTEGER NOT NULL, state_type TEXT NOT NULL, hard_state INTEGER NOT NULL,
    attempt INTEGER NOT NULL, since TEXT, problem_since TEXT, last_check TEXT,
    last_hard_change TEXT, summary TEXT NOT NULL, flap_history TEXT NOT NULL,
    flapping INTEGER NOT NULL, notified_state INTEGER NOT NULL, checks_done INTEGER NOT NULL,
    memory TEXT NOT NULL DEFAULT '{}', services TEXT NOT NULL DEFAULT '[]',
    metrics TEXT NOT NULL DEFAULT '[]', items TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (target, check_name)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL, target TEXT NOT NULL, check_name TEXT NOT NULL,
    kind TEXT NOT NULL, state INTEGER NOT NULL, previous_state INTEGER NOT NULL,
    since TEXT NOT NULL, summary TEXT NOT NULL, services TEXT NOT NULL DEFAULT '[]',
    priority INTEGER, notify INTEGER NOT NULL, suppressed_reason TEXT
);
CREATE INDEX events_by_check ON events (target, check_name, at);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    event_id INTEGER REFERENCES events(id),
    channel TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT, sent_at TEXT
);
CREATE INDEX notifications_pending ON notifications (status, next_attempt_at);
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    started_at TEXT NOT NULL, finished_at TEXT,
    ok INTEGER, error TEXT
);
CREATE TABLE acknowledgements (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL, event_id INTEGER,
    by TEXT NOT NULL, reason TEXT, at TEXT NOT NULL, until TEXT
);
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL, owner TEXT NOT NULL, reason TEXT NOT NULL,
    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, recurrence TEXT,
    created_at TEXT NOT NULL, ended_at TEXT
);
"""),
    (2, "backup restore tests", """
CREATE TABLE restore_tests (
    id INTEGER PRIMARY KEY,
    backup TEXT NOT NULL, service TEXT NOT NULL, started_at TEXT NOT NULL,
    full_drill INTEGER NOT NULL DEFAULT 0,
    snapshot_id TEXT, snapshot_time TEXT, age_seconds REAL,
    files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
    verified INTEGER NOT NULL DEFAULT 0, mismatched INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0, changed_since_backup INTEGER NOT NULL DEFAULT 0,
    integrity_subset TEXT, integrity_errors INTEGER,
    duration REAL NOT NULL, restore_seconds REAL, bytes_per_second REAL,
    estimated_full_restore_seconds REAL, estimate_basis TEXT, rto_seconds REAL,
    recovery_point TEXT, restic_version TEXT,
    verdict INTEGER NOT NULL, summary TEXT NOT NULL, problems TEXT NOT NULL DEFAULT '[]',
    report TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX restore_tests_by_backup ON restore_tests (backup, started_at);
CREATE TABLE restore_test_state (
    backup TEXT PRIMARY KEY,
    subset_next INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);
"""),
]
MIGRATIONS.append(MIGRATION_ALERTING)
MIGRATIONS.append((4, "reports: when each check was first and last run, monthly figures", """
CREATE TABLE check_seen (
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    first_run TEXT NOT NULL, last_run TEXT NOT NULL,
    PRIMARY KEY (target, check_name)
);
INSERT INTO check_seen (target, check_name, first_run, last_run)
    SELECT target, check_name, min(started_at), max(started_at) FROM check_runs
    GROUP BY target, check_name;
INSERT OR IGNORE INTO check_seen (target, check_name, first_run, last_run)
    SELECT target, check_name, min(since), max(at) FROM events GROUP BY target, check_name;
CREATE TRIGGER check_seen_on_run AFTER INSERT ON check_runs BEGIN
    INSERT INTO check_seen (target, check_name, first_run, last_run)
    VALUES (NEW.target, NEW.check_name, NEW.started_at, NEW.started_at)
    ON CONFLICT (target, check_name) DO UPDATE SET
        first_run = min(first_run, excluded.first_run),
        last_run = max(last_run, excluded.last_run);
END;
CREATE TABLE report_months (
    month TEXT PRIMARY KEY, figures TEXT NOT NULL, written_at TEXT NOT NULL
)
"""))
MIGRATIONS.append((5, "outages per result; the whole message kept for fallback copies", """
ALTER TABLE events ADD COLUMN unavailable INTEGER;
ALTER TABLE current_state ADD COLUMN unavailable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN message TEXT
"""))
MIGRATIONS.append((6, "incidents remember whether they are an outage, and what was told", """
ALTER TABLE incidents ADD COLUMN unavailable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN notified_unavailable INTEGER NOT NULL DEFAULT 0
"""))
MIGRATIONS.append(MIGRATION_COVERAGE)


def split_statements(script: str) -> list[str]:
    """Split SQL into statements; a trigger body's semicolons stay inside its statement."""
    statements, buffer = [], ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \n;"):
        statements.append(buffer.strip())
    return statements


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="milliseconds")


def from_iso(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


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


class Store(AlertingStore, ReportStore):
    def __init__(self, db: sqlite_utils.Database, path: Path | None = None):
        self.db = db
        self.path = path
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA foreign_keys = ON")

    @classmethod
    def open(cls, state_dir: str | Path, readonly: bool = False) -> Store:
        """Open (and migrate) the database in ``state_dir``; ``readonly`` for the CLI."""
        state_dir = Path(state_dir)
        path = state_dir / DB_NAME
        if readonly:
            if not path.exists():
                raise FileNotFoundError(f"no state database at {path}; has the daemon run "
                                        "with this --state-dir?")
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            return cls(sqlite_utils.Database(conn), path)
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        db = sqlite_utils.Database(path)
        store = cls(db, path)
        db.enable_wal()
        db.execute("PRAGMA synchronous = NORMAL")
        store.migrate()
        os.chmod(path, 0o600)
        return store

    @classmethod
    def memory(cls) -> Store:
        store = cls(sqlite_utils.Database(memory=True))
        store.migrate()
        return store

    def migrate(self) -> int:
        self.db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                        "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {r["version"] for r in self.db.query("SELECT version FROM schema_migrations")}
        applied = 0
        for version, name, sql in MIGRATIONS:
            if version in done:
                continue
            with self.db.atomic():
                for statement in split_statements(sql):
                    self.db.execute(statement)
                self.db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                [version, name, iso(datetime.now(UTC))])
            applied += 1
        return applied

    @property
    def schema_version(self) -> int:
        row = next(self.db.query("SELECT max(version) AS v FROM schema_migrations"))
        return row["v"] or 0

    def close(self) -> None:
        self.db.close()

    # -- check state -----------------------------------------------------------------------

    def load_status(self, key: CheckKey) -> tuple[CheckStatus | None, dict[str, Any]]:
        rows = list(self.db.query(
            "SELECT * FROM current_state WHERE target = ? AND check_name = ?",
            [key.target, key.check]))
        if not rows:
            return None, {}
        return _status_from_row(rows[0]), json.loads(rows[0]["memory"])

    def record_run(self, key: CheckKey, started_at: datetime, duration: float, outcome: Outcome,
                   status: CheckStatus, memory: dict[str, Any], services: Sequence[str],
                   priority: int | None,
                   events: Iterable[Event], interval: float | None = None) -> list[int]:
        """Write a run, the new current state and its events atomically (the alert loop turns
        the events into incidents and outbox rows). ``interval``: the check runs every so
        many seconds (scheduled checks), so the run also extends its coverage record.

        Returns the ids of the events written.
        """
        metrics = json.dumps([m.as_dict() for m in outcome.metrics])
        items = json.dumps(list(outcome.items), default=str)
        event_ids = []
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO check_runs (target, check_name, started_at, duration, state, "
                "summary, metrics, items) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [key.target, key.check, iso(started_at), round(duration, 4),
                 int(outcome.state), outcome.summary, metrics, items])
            row = _status_to_row(status)
            row.update(target=key.target, check_name=key.check, memory=json.dumps(memory),
                       services=json.dumps(list(services)), metrics=metrics, items=items)
            self.db.table("current_state").upsert(row, pk=("target", "check_name"))
            for event in events:
                event_ids.append(self._insert_event(key, event, services, priority))
            if interval:
                self._record_watch(key, started_at, outcome, interval)
        return event_ids

    def _insert_event(self, key: CheckKey, event: Event, services: Sequence[str],
                      priority: int | None) -> int:
        cursor = self.db.execute(
            "INSERT INTO events (at, target, check_name, kind, state, previous_state, since, "
            "summary, services, priority, notify, suppressed_reason, processed, unavailable) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            [iso(event.at), key.target, key.check, str(event.kind), int(event.state),
             int(event.previous_state), iso(event.since), event.summary,
             json.dumps(list(services)), priority, int(event.notify), event.suppressed_reason,
             int(event.unavailable)])
        return cursor.lastrowid

    def remove_checks_not_in(self, keys: set[CheckKey]) -> int:
        """Forget the current state of checks no longer configured (history stays)."""
        gone = [r for r in self.db.query("SELECT target, check_name FROM current_state")
                if CheckKey(r["target"], r["check_name"]) not in keys]
        with self.db.atomic():
            for r in gone:
                self.db.execute("DELETE FROM current_state WHERE target = ? AND check_name = ?",
                                [r["target"], r["check_name"]])
        return len(gone)

    def prune_runs(self, before: datetime) -> int:
        with self.db.atomic():
            cursor = self.db.execute("DELETE FROM check_runs WHERE started_at < ?",
                                     [iso(before)])
        return cursor.rowcount

    # -- outbox ------------------------------------------------------------------------------

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

    # -- reading, for the CLI ----------------------------------------------------------------

    def current_states(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM current_state ORDER BY target, check_name"))

    def recent_events(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM events ORDER BY id DESC LIMIT ?", [limit]))

    def notification_counts(self) -> dict[str, int]:
        return {r["status"]: r["n"] for r in self.db.query(
            "SELECT status, count(*) AS n FROM notifications GROUP BY status")}

    def notifications(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM notifications ORDER BY id"))

    # -- restore tests -----------------------------------------------------------------------

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

    def restore_tests(self, backup: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Recent restore test runs, newest first."""
        where, args = ("WHERE backup = ?", [backup]) if backup else ("", [])
        return list(self.db.query(f"SELECT * FROM restore_tests {where} ORDER BY id DESC "
                                  "LIMIT ?", [*args, limit]))


def _status_to_row(status: CheckStatus) -> dict[str, Any]:
    row = asdict(status)
    for key in ("since", "problem_since", "last_check", "last_hard_change"):
        row[key] = iso(row[key])
    for key in ("state", "hard_state", "notified_state"):
        row[key] = int(row[key])
    row["state_type"] = str(status.state_type)
    row["flap_history"] = "".join("1" if c else "0" for c in status.flap_history)
    row["flapping"] = int(status.flapping)
    row["unavailable"] = int(status.unavailable)
    return row


def _status_from_row(row: dict[str, Any]) -> CheckStatus:
    return CheckStatus(
        state=State(row["state"]), state_type=StateType(row["state_type"]),
        hard_state=State(row["hard_state"]), attempt=row["attempt"],
        since=from_iso(row["since"]), problem_since=from_iso(row["problem_since"]),
        last_check=from_iso(row["last_check"]),
        last_hard_change=from_iso(row["last_hard_change"]), summary=row["summary"],
        flap_history=tuple(c == "1" for c in row["flap_history"]),
        flapping=bool(row["flapping"]), notified_state=State(row["notified_state"]),
        checks_done=row["checks_done"], unavailable=bool(row.get("unavailable")))
