"""The daemon writes the runs that finish together in one transaction (issue 16), and each
run's caller still hears its own outcome: its event ids, or the error that kept the whole
group out of the database (nothing committed, so the transition is decided again)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from muni_watchdog.core.model import CheckKey, Outcome, Result, State
from muni_watchdog.core.transitions import Policy, decide
from muni_watchdog.daemon.writer import RunWriter
from muni_watchdog.store.check_state import RunRecord
from muni_watchdog.store.database import Store

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
AT_ONCE = Policy(60, 60, max_attempts=1)   # a problem is hard (an event) at the first run


def run(key: CheckKey, at, state: State, previous, memory: dict) -> RunRecord:
    outcome = Outcome.of([Result(state, f"{state.name} on {key.target}")])
    decision = decide(previous, state, outcome.summary, AT_ONCE, at)
    return RunRecord(key, at, 0.25, outcome, decision.status, memory, ["records"], 1,
                     tuple(decision.events), 60)


def keys(n: int) -> list[CheckKey]:
    return [CheckKey(f"dev-{i}", "device") for i in range(n)]


def test_runs_finished_within_the_window_share_one_transaction(tmp_path):
    store = Store.open(tmp_path)
    writer = RunWriter(store.record_runs, window=0.2)

    async def finish(key: CheckKey, after: float) -> list[int]:
        await asyncio.sleep(after)   # checks finishing a few milliseconds apart
        return await writer.write(run(key, T0, State.CRITICAL, None, {"n": key.target}))

    async def finish_all() -> list[list[int]]:
        return await asyncio.gather(*(finish(key, i * 0.01) for i, key in enumerate(keys(8))))

    ids = asyncio.run(asyncio.wait_for(finish_all(), 10))
    assert writer.transactions == 1
    assert all(len(found) == 1 for found in ids)   # each caller got its own event's id
    assert len({found[0] for found in ids}) == 8
    fresh = Store.open(tmp_path, readonly=True)
    for key in keys(8):
        status, memory = fresh.load_status(key)
        assert status.state is State.CRITICAL and memory == {"n": key.target}
    rows = fresh.db.conn.execute("SELECT id, target FROM events ORDER BY id").fetchall()
    assert {target: row_id for row_id, target in rows} == \
        {key.target: found[0] for key, found in zip(keys(8), ids, strict=True)}


def test_a_failed_group_write_reaches_every_caller_and_commits_nothing(tmp_path):
    store = Store.open(tmp_path)
    writer = RunWriter(store.record_runs, window=0.05)
    store.db.conn.execute("PRAGMA query_only = ON")   # every write now fails in SQLite

    async def finish_all() -> list:
        return await asyncio.gather(
            *(writer.write(run(key, T0, State.CRITICAL, None, {})) for key in keys(3)),
            return_exceptions=True)

    outcomes = asyncio.run(asyncio.wait_for(finish_all(), 10))
    assert len(outcomes) == 3
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes), outcomes
    store.db.conn.execute("PRAGMA query_only = OFF")
    for key in keys(3):
        assert store.load_status(key) == (None, {})   # the next run decides it again
    assert store.db.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    assert store.db.conn.execute("SELECT count(*) FROM check_runs").fetchone()[0] == 0


def test_what_is_queued_at_shutdown_is_written(tmp_path):
    store = Store.open(tmp_path)
    writer = RunWriter(store.record_runs, window=60)   # would wait a minute

    async def queue_then_flush() -> list[int]:
        pending = asyncio.ensure_future(
            writer.write(run(keys(1)[0], T0, State.CRITICAL, None, {})))
        await asyncio.sleep(0.05)
        writer.flush()                                  # what the daemon does when it stops
        return await asyncio.wait_for(pending, 5)

    assert len(asyncio.run(queue_then_flush())) == 1    # its event's id
    assert Store.open(tmp_path, readonly=True).load_status(keys(1)[0])[0].state is State.CRITICAL


@pytest.mark.parametrize("window", [0.0, 0.05])
def test_runs_apart_are_written_apart(tmp_path, window):
    store = Store.open(tmp_path)
    writer = RunWriter(store.record_runs, window=window)

    async def two_apart() -> None:
        await writer.write(run(keys(2)[0], T0, State.OK, None, {}))
        await writer.write(run(keys(2)[1], T0, State.OK, None, {}))

    asyncio.run(two_apart())
    assert writer.transactions == 2
