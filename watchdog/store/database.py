"""The state database: one SQLite file (WAL) in the state directory, written by the daemon and
read concurrently by the CLI. ``Store`` combines one class per family of tables (each module
of this package holds its family's SQL); the schema is built by :mod:`.migrations`."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from muni_watchdog.store.ack_links import AckLinkStore
from muni_watchdog.store.audit import AuditStore
from muni_watchdog.store.check_state import CheckStateStore
from muni_watchdog.store.comms import CommsStore
from muni_watchdog.store.coverage import CoverageStore
from muni_watchdog.store.daemon_state import DaemonStateStore
from muni_watchdog.store.drills import DrillStore
from muni_watchdog.store.incidents import IncidentStore
from muni_watchdog.store.links import LinkStore
from muni_watchdog.store.maintenance import MaintenanceStore
from muni_watchdog.store.migrations import MIGRATIONS, split_statements
from muni_watchdog.store.outbox import OutboxStore
from muni_watchdog.store.reports import ReportStore
from muni_watchdog.store.restore_tests import RestoreTestStore
from muni_watchdog.store.retention import RetentionStore
from muni_watchdog.store.timeline import TimelineStore
from muni_watchdog.store.timestamps import iso

DB_NAME = "muni-watchdog.db"


class Store(CheckStateStore, CoverageStore, OutboxStore, IncidentStore, MaintenanceStore,
            AuditStore, DaemonStateStore, RestoreTestStore, ReportStore, AckLinkStore,
            TimelineStore, RetentionStore, CommsStore, DrillStore, LinkStore):
    """The state database; its methods come from one class per family of tables."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None = None):
        self.db = db
        self.path = path
        self._written = {}   # CheckStateStore: the rows this object committed, by check
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

    def changes(self) -> tuple[int, int]:
        """A marker that moves whenever the database changes: this connection's writes
        (total_changes) and other processes' commits (data_version). For caches."""
        row = next(self.db.query("PRAGMA data_version"))
        return self.db.conn.total_changes, int(next(iter(row.values())))

    def close(self) -> None:
        self.db.close()
