"""Checks' results: check_runs (bounded retention), current_state (one row per check, the
state machine's memory) and events (hard state changes, kept; the alert loop consumes them)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from muni_watchdog.core.model import CheckKey, Event, Outcome, State, StateType
from muni_watchdog.core.transitions import CheckStatus
from muni_watchdog.store.coverage import record_watch
from muni_watchdog.store.links import record_links
from muni_watchdog.store.timestamps import from_iso, iso


@dataclass(frozen=True)
class RunRecord:
    """What one scheduled run writes (see :meth:`CheckStateStore.record_run`)."""

    key: CheckKey
    started_at: datetime
    duration: float
    outcome: Outcome
    status: CheckStatus
    memory: dict[str, Any]
    services: Sequence[str]
    priority: int | None
    events: tuple[Event, ...] = ()
    interval: float | None = None


class CheckStateStore:
    """Methods for check runs, current state and events (``self.db``: a sqlite_utils
    Database)."""

    db: Any
    # The state machine's columns of the rows this object committed, by check: this process
    # is current_state's only writer, so the next run of a check reads back what it wrote
    # without a query (issue 16). Filled only after a commit; a failed write leaves it alone.
    # (Made empty by Store.__init__.)
    _written: dict[CheckKey, dict[str, Any]]

    def load_status(self, key: CheckKey) -> tuple[CheckStatus | None, dict[str, Any]]:
        row = self._written.get(key)
        if row is None:
            # The state machine's columns and the check's memory: not the items and metrics
            # (most of a row's bytes), which nothing here reads.
            found = self.db.conn.execute(_LOAD_SQL, [key.target, key.check]).fetchone()
            if found is None:
                return None, {}
            row = dict(zip(_LOAD_COLUMNS, found, strict=True))
        return _status_from_row(row), json.loads(row["memory"])

    def record_run(self, key: CheckKey, started_at: datetime, duration: float, outcome: Outcome,
                   status: CheckStatus, memory: dict[str, Any], services: Sequence[str],
                   priority: int | None,
                   events: Iterable[Event], interval: float | None = None) -> list[int]:
        """Write a run, the new current state and its events atomically (the alert loop turns
        the events into incidents and outbox rows). ``interval``: the check runs every so
        many seconds (scheduled checks), so the run also extends its coverage record.

        Returns the ids of the events written.
        """
        return self.record_runs([RunRecord(key, started_at, duration, outcome, status, memory,
                                           services, priority, tuple(events), interval)])[0]

    def record_runs(self, runs: Sequence[RunRecord]) -> list[list[int]]:
        """:meth:`record_run` for several runs in one transaction (the checks that finished
        together: one commit, not one per check). All are written or none."""
        written: dict[CheckKey, dict[str, Any]] = {}
        try:
            with self.db.atomic():
                ids = [self._write_run(run, written) for run in runs]
        except BaseException:
            self._forget(written)   # what the database holds now is read again
            raise
        if self.db.conn.in_transaction:   # inside a caller's transaction: not committed yet
            self._forget(written)
        else:
            self._written.update(written)
        return ids

    def _forget(self, keys: Iterable[CheckKey]) -> None:
        for key in keys:
            self._written.pop(key, None)

    def _write_run(self, run: RunRecord, written: dict[CheckKey, dict[str, Any]]) -> list[int]:
        key, outcome = run.key, run.outcome
        metrics = json.dumps([m.as_dict() for m in outcome.metrics])
        items = json.dumps(list(outcome.items), default=str)
        conn = self.db.conn
        started = iso(run.started_at)
        # A run keeps its metrics, not its items (device facts, port lists: four fifths of
        # a run's bytes): current_state holds the latest, which is what reads them.
        conn.execute(
            "INSERT INTO check_runs (target, check_name, started_at, duration, state, "
            "summary, metrics) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [key.target, key.check, started, round(run.duration, 4),
             int(outcome.state), outcome.summary, metrics])
        row = _status_to_row(run.status)
        row.update(target=key.target, check_name=key.check, memory=json.dumps(run.memory),
                   services=_services_json(tuple(run.services)), metrics=metrics, items=items)
        # A plain upsert: sqlite-utils' upsert() reads the table's schema on every call.
        conn.execute(_upsert_sql(tuple(row)), list(row.values()))
        written[key] = {column: row[column] for column in _LOAD_COLUMNS}
        record_links(conn, key.target, started, items)
        event_ids = [self._insert_event(key, event, run.services, run.priority)
                     for event in run.events]
        if run.interval:
            record_watch(self.db, key, run.started_at, outcome, run.interval)
        return event_ids

    def _insert_event(self, key: CheckKey, event: Event, services: Sequence[str],
                      priority: int | None) -> int:
        cursor = self.db.execute(
            "INSERT INTO events (at, target, check_name, kind, state, previous_state, since, "
            "summary, services, priority, notify, suppressed_reason, processed, unavailable) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            [iso(event.at), key.target, key.check, str(event.kind), int(event.state),
             int(event.previous_state), iso(event.since), event.summary,
             _services_json(tuple(services)), priority, int(event.notify), event.suppressed_reason,
             int(event.unavailable)])
        return cursor.lastrowid

    def remove_checks_not_in(self, keys: set[CheckKey]) -> int:
        """Forget the current state of checks no longer configured (history stays)."""
        gone = [r for r in self.db.query("SELECT target, check_name FROM current_state")
                if CheckKey(r["target"], r["check_name"]) not in keys]
        self._written.clear()
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

    def current_states(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM current_state ORDER BY target, check_name"))

    def current_items(self, target: str, checks: Iterable[str]) -> list[dict[str, Any]]:
        """The items the named checks of ``target`` recorded last (what a device said it is,
        for the exposure check's facts); a damaged row gives none rather than an error."""
        names = list(checks)
        if not names:
            return []
        rows = self.db.query(
            f"SELECT items FROM current_state WHERE target = ? AND check_name IN "
            f"({', '.join('?' * len(names))}) ORDER BY last_check DESC", [target, *names])
        items: list[dict[str, Any]] = []
        for row in rows:
            try:
                found = json.loads(row["items"] or "[]")
            except ValueError:
                continue
            items += [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []
        return items

    def recent_events(self, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM events ORDER BY id DESC LIMIT ?", [limit]))

    def unprocessed_events(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM events WHERE processed = 0 ORDER BY id"))

    def mark_processed(self, event_id: int) -> None:
        self.db.execute("UPDATE events SET processed = 1 WHERE id = ?", [event_id])

    def recent_runs(self, target: str, check: str, limit: int = 5) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT started_at, state, summary FROM check_runs WHERE target = ? AND "
            "check_name = ? ORDER BY id DESC LIMIT ?", [target, check, limit]))

    def hard_problem_count(self) -> int:
        """Checks in a hard problem state now (the daemon's status line every 30 s: a count,
        not every row with its items and memory read into Python)."""
        return self.db.execute(
            "SELECT count(*) FROM current_state WHERE hard_state != 0").fetchone()[0]

    def soft_problem_targets(self) -> set[str]:
        return {r["target"] for r in self.db.query(
            "SELECT DISTINCT target FROM current_state WHERE state_type = 'soft' AND state != 0")}


@functools.lru_cache(maxsize=256)
def _services_json(services: tuple[str, ...]) -> str:
    """A check's services as JSON (the same few lists at every run)."""
    return json.dumps(list(services))


@functools.lru_cache(maxsize=8)
def _upsert_sql(columns: tuple[str, ...]) -> str:
    """The current_state upsert for these columns (the same few every run)."""
    return (f"INSERT INTO current_state ({', '.join(columns)}) VALUES "
            f"({', '.join('?' * len(columns))}) ON CONFLICT (target, check_name) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in columns
                        if c not in ("target", "check_name")))


_STATUS_FIELDS = tuple(f.name for f in fields(CheckStatus))


_LOAD_COLUMNS = (*_STATUS_FIELDS, "memory")
_LOAD_SQL = (f"SELECT {', '.join(_LOAD_COLUMNS)} FROM current_state "
             "WHERE target = ? AND check_name = ?")


def _status_to_row(status: CheckStatus) -> dict[str, Any]:
    # a plain read of the fields: dataclasses.asdict() deep-copies each value (issue 16:
    # 3 % of the daemon path's CPU, for a flat record of scalars)
    row = {name: getattr(status, name) for name in _STATUS_FIELDS}
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
