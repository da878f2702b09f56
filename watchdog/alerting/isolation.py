"""One bad item must not silence the others: each event, incident, maintenance window and
accepted risk of an alert pass runs in a savepoint of the pass's transaction.

When one raises (a bug, a value that overflows, a damaged row), only its savepoint is rolled
back; the traceback is logged once (not on every pass), and the failure is recorded in the
state database, where ``muni-watchdog status`` shows it until the item goes through again.
A database error is not isolated: the database itself failed, and the whole pass (one
transaction) is retried, as healthchecks' alert loop does with its flips.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import iso

log = logging.getLogger("muni-watchdog")


class Isolation:
    """Failure isolation for one alert pass at a time: :meth:`begin`, :meth:`run` per item,
    :meth:`finish` inside the pass's transaction."""

    def __init__(self, store: Store):
        self.store = store
        self.known: dict[str, dict[str, str]] = {}   # recorded by the pass before
        self.failed: dict[str, dict[str, str]] = {}  # failing in this pass
        self.now: datetime | None = None

    def begin(self, now: datetime) -> None:
        self.known = self.store.alert_errors()
        self.failed = {}
        self.now = now

    def finish(self) -> None:
        """Record this pass's failures; items that went through are cleared."""
        if self.failed != self.known:
            self.store.replace_alert_errors(self.failed)

    def run(self, key: str, subject: str, check: tuple[str, str] | None,
            work: Callable[..., Any], *args: Any, record: bool = True) -> Any:
        """``work(*args)`` in a savepoint; on an exception only it is rolled back, the failure
        is recorded under ``key`` (unless ``record`` is false: the caller retries in smaller
        parts) and None is returned."""
        # A plain savepoint, not sqlite-utils' atomic(): that names each one with
        # secrets.token_hex (a urandom call) through two context managers, and a pass with
        # 500 open incidents opens 1,500 of them (issue 16). Savepoints of one name nest:
        # RELEASE and ROLLBACK TO act on the innermost.
        conn = self.store.db.conn
        if not conn.in_transaction:
            with self.store.db.atomic():
                return self.run(key, subject, check, work, *args, record=record)
        conn.execute("SAVEPOINT isolated")
        try:
            result = work(*args)
        except BaseException as exc:
            # as atomic() does: an error that destroyed the transaction left no savepoint
            if conn.in_transaction:
                conn.execute("ROLLBACK TO SAVEPOINT isolated")
                conn.execute("RELEASE SAVEPOINT isolated")
            if isinstance(exc, sqlite3.Error) or not isinstance(exc, Exception):
                raise
            if record:
                self.record(key, subject, check, f"{type(exc).__name__}: {exc}", exc)
            return None
        conn.execute("RELEASE SAVEPOINT isolated")
        return result

    def each_incident(self, work: Callable[[dict], int | None]) -> int:
        """``work`` for every open incident, each isolated from the others; the messages
        written, summed."""
        sent = 0
        for incident in self.store.incidents("open"):
            sent += self.run(f"incident:{incident['id']}", f"incident {incident['id']}",
                             (incident["target"], incident["check_name"]), work, incident) or 0
        return sent

    def record(self, key: str, subject: str, check: tuple[str, str] | None, error: str,
               exc: BaseException | None = None) -> None:
        error = error[:500]
        before = self.known.get(key) or {}
        now_seen = self.failed.get(key) or {}
        # once, not on every pass (every 2 seconds) nor at every step of one pass
        if error not in (before.get("error"), now_seen.get("error")):
            where = f" target={check[0]} check={check[1]}" if check else ""
            log.error("alerts: %s%s could not be processed; it is skipped, everything else is "
                      "alerted as usual (see `muni-watchdog status`): %s", subject, where, error,
                      exc_info=exc)
        since = before.get("since") if before.get("error") == error else iso(self.now)
        self.failed[key] = {"subject": subject, "target": check[0] if check else "",
                            "check": check[1] if check else "", "error": error,
                            "since": since or ""}
