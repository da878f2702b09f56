"""The next run of a check reads back the state it wrote without a query (issue 16): what it
reads is what the database holds — after a commit, after a failed write, after a check was
removed — to the millisecond, as a fresh process reading the file would see it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from muni_watchdog.core.model import CheckKey, Outcome, Result, State
from muni_watchdog.core.transitions import Policy, decide
from muni_watchdog.store.check_state import RunRecord
from muni_watchdog.store.database import Store

KEY = CheckKey("nas", "device")
OTHER = CheckKey("printer", "device")
# not UTC and with microseconds: the database keeps UTC to the millisecond
T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
POLICY = Policy(60, 60, 2, 1)


def run(key: CheckKey, at: datetime, state: State, previous, memory: dict) -> RunRecord:
    outcome = Outcome.of([Result(state, f"{state.name} at {at:%H:%M:%S}")])
    decision = decide(previous, state, outcome.summary, POLICY, at)
    return RunRecord(key, at, 0.25, outcome, decision.status, memory, ["records"], 1,
                     tuple(decision.events), 60)


def fresh(store: Store, key: CheckKey):
    return Store.open(store.path.parent, readonly=True).load_status(key)


def test_what_a_run_reads_back_is_what_the_file_holds(tmp_path):
    store = Store.open(tmp_path)
    assert store.load_status(KEY) == (None, {})
    previous = None
    for minute, state in enumerate([State.OK, State.CRITICAL, State.CRITICAL, State.OK]):
        memory = {"ifInOctets": {"2": 1000 * minute}, "at": minute * 60.5}
        [record] = [run(KEY, T0 + timedelta(minutes=minute), state, previous, memory)]
        store.record_runs([record])
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        status, remembered = store.load_status(KEY)
        store.db.conn.set_trace_callback(None)
        assert statements == []   # no query: what was committed is known
        assert (status, remembered) == fresh(store, KEY)
        assert remembered == memory and remembered is not memory
        assert status.last_check == (T0 + timedelta(minutes=minute)).replace(
            microsecond=123000).astimezone(UTC)
        previous = status
    assert previous.hard_state is State.OK and previous.checks_done == 4
    # what a caller does with the memory it was given does not change the next read
    remembered["ifInOctets"]["2"] = -1
    assert store.load_status(KEY)[1]["ifInOctets"]["2"] == 3000


def test_a_failed_write_leaves_the_last_committed_state(tmp_path):
    store = Store.open(tmp_path)
    store.record_runs([run(KEY, T0, State.OK, None, {"n": 1})])
    before = store.load_status(KEY)
    broken = run(OTHER, T0, State.OK, None, {"n": 1})
    broken = RunRecord(*[getattr(broken, f) for f in ("key", "started_at", "duration")],
                       outcome=broken.outcome, status=broken.status, memory={"n": object()},
                       services=broken.services, priority=1)
    critical = run(KEY, T0 + timedelta(minutes=1), State.CRITICAL, before[0], {"n": 2})
    with pytest.raises(TypeError):   # the second run cannot be written: neither is
        store.record_runs([critical, broken])
    assert store.load_status(KEY) == before == fresh(store, KEY)
    assert store.load_status(OTHER) == (None, {}) == fresh(store, OTHER)


def test_a_write_inside_a_callers_transaction_is_read_from_the_file(tmp_path):
    store = Store.open(tmp_path)
    store.record_runs([run(KEY, T0, State.OK, None, {"n": 1})])
    try:
        with store.db.atomic():
            store.record_runs([run(KEY, T0 + timedelta(minutes=1), State.CRITICAL,
                                   store.load_status(KEY)[0], {"n": 2})])
            raise sqlite3.OperationalError("the caller's transaction fails afterwards")
    except sqlite3.OperationalError:
        pass
    assert store.load_status(KEY) == fresh(store, KEY)
    assert store.load_status(KEY)[1] == {"n": 1}


def test_a_removed_check_starts_again_from_nothing(tmp_path):
    store = Store.open(tmp_path)
    store.record_runs([run(KEY, T0, State.CRITICAL, None, {"n": 1}),
                       run(OTHER, T0, State.OK, None, {"n": 1})])
    assert store.remove_checks_not_in({OTHER}) == 1
    assert store.load_status(KEY) == (None, {}) == fresh(store, KEY)
    assert store.load_status(OTHER) == fresh(store, OTHER) != (None, {})
