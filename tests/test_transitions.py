"""Table tests for the pure state machine: soft/hard, retries, recovery, flapping."""

from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.core.model import EventKind, State, StateType
from muni_watchdog.core.transitions import CheckStatus, Policy, decide, flap_percent

OK, W, C, U = State.OK, State.WARNING, State.CRITICAL, State.UNKNOWN
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
P1 = Policy(check_interval=30, retry_interval=10, max_attempts=3, recovery_attempts=2)


def run(states, policy=P1, immediate_at=(), start=None):
    """Feed results 10s apart; return (final status, [(step, kind, state)], intervals)."""
    status = start
    events, intervals = [], []
    for i, state in enumerate(states):
        d = decide(status, state, f"result {i}", policy, T0 + timedelta(seconds=10 * i),
                   immediate=i in immediate_at)
        status = d.status
        intervals.append(d.next_interval)
        events += [(i, e.kind, e.state, e.notify) for e in d.events]
    return status, events, intervals


def kinds(events):
    return [(step, kind.value, state.name) for step, kind, state, _notify in events]


@pytest.mark.parametrize("states, expected", [
    # first OK: no event, ever
    ([OK], []),
    ([OK, OK, OK], []),
    # a problem becomes hard on the third consecutive failure
    ([OK, C, C, C], [(3, "problem", "CRITICAL")]),
    ([C, C, C], [(2, "problem", "CRITICAL")]),
    # two failures then OK: soft only, nothing sent
    ([OK, C, C, OK, C, C, OK], []),
    # failures of different kinds count together; the hard state is the last one's
    ([OK, W, C, U], [(3, "problem", "UNKNOWN")]),
    # recovery needs two OKs
    ([C, C, C, OK, OK], [(2, "problem", "CRITICAL"), (4, "recovery", "OK")]),
    ([C, C, C, OK, C, OK, OK], [(2, "problem", "CRITICAL"), (6, "recovery", "OK")]),
    # while hard, a change between problem states is immediate
    ([C, C, C, W, C], [(2, "problem", "CRITICAL"), (3, "problem", "WARNING"),
                       (4, "problem", "CRITICAL")]),
    # repeated failures while hard say nothing more
    ([C, C, C, C, C, C], [(2, "problem", "CRITICAL")]),
])
def test_soft_hard_table(states, expected):
    _status, events, _ = run(states)
    assert kinds(events) == expected


def test_max_attempts_one_is_immediate():
    policy = Policy(60, 20, max_attempts=1, recovery_attempts=1)
    _, events, _ = run([OK, C, OK], policy)
    assert kinds(events) == [(1, "problem", "CRITICAL"), (2, "recovery", "OK")]


def test_immediate_outcome_skips_retries():
    _, events, _ = run([OK, C], immediate_at={1})
    assert kinds(events) == [(1, "problem", "CRITICAL")]


def test_intervals_switch_to_retry_while_soft():
    _, _, intervals = run([OK, C, C, C, OK, OK])
    assert intervals == [30, 10, 10, 30, 10, 30]


def test_problem_since_is_the_first_failure_and_recovery_reports_it():
    status = None
    times = [T0 + timedelta(seconds=s) for s in (0, 30, 40, 50, 80, 90)]
    results = [OK, C, C, C, OK, OK]
    found = []
    for at, state in zip(times, results, strict=True):
        d = decide(status, state, "x", P1, at)
        status = d.status
        found += d.events
    problem, recovery = found
    assert problem.since == times[1] and problem.at == times[3]
    assert recovery.since == times[1] and recovery.at == times[5]
    assert status.problem_since is None and status.hard_state is OK


def test_soft_state_fields():
    status, _, _ = run([OK, C, C])
    assert status.state_type is StateType.SOFT and status.attempt == 2
    assert status.hard_state is OK and status.state is C


def test_flap_percent_weights_recent_changes_more():
    assert flap_percent((True,) + (False,) * 19) == pytest.approx(4.0)   # oldest: 0.8/20
    assert flap_percent((False,) * 19 + (True,)) == pytest.approx(5.9)   # newest: 1.18/20
    assert flap_percent(()) == 0
    assert flap_percent((True,) * 20) == pytest.approx(99.0)


def test_flapping_gives_one_event_instead_of_a_storm():
    flapping_policy = Policy(30, 10, max_attempts=1, recovery_attempts=1)
    states = [OK] + [C, OK] * 10
    status, events, _ = run(states, flapping_policy)
    sent = [(s, k.value) for s, k, _state, notify in events if notify]
    # one problem, one recovery, another problem... until flapping starts; then silence
    starts = [s for s, k in sent if k == "flapping_start"]
    assert len(starts) == 1
    assert all(s <= starts[0] for s, _ in sent)
    assert len(sent) <= 8  # without flap detection this would be 20 messages
    held = [k for s, k, _st, notify in events if not notify]
    assert held and set(held) <= {EventKind.PROBLEM, EventKind.RECOVERY}
    assert status.flapping


@pytest.mark.parametrize("tail, final", [([C] * 25, C), ([OK] * 25, OK)])
def test_flapping_ends_and_the_on_call_knows_the_real_state(tail, final):
    policy = Policy(30, 10, max_attempts=1, recovery_attempts=1)
    status, events, _ = run([OK] + [C, OK] * 8 + tail, policy)
    notified = [(k.value, st) for _s, k, st, notify in events if notify]
    assert [k for k, _ in notified].count("flapping_start") == 1
    assert [k for k, _ in notified].count("flapping_end") == 1
    end = [k for k, _ in notified].index("flapping_end")
    assert notified[end][1] is final            # the end message states the real state
    assert not status.flapping and status.hard_state is final
    assert status.notified_state is final       # and nothing is left untold


def test_recovery_after_flapping_is_sent_when_last_told_state_was_a_problem():
    policy = Policy(30, 10, max_attempts=1, recovery_attempts=1)
    # flapping starts on an OK result, so the last thing told was a problem
    status, events, _ = run([OK] + [C, OK] * 8 + [C] * 3 + [OK] * 25, policy)
    notified = [(k.value, st) for _s, k, st, notify in events if notify]
    end = [k for k, _ in notified].index("flapping_end")
    told_before = [st for k, st in notified[:end] if k in ("problem", "recovery")]
    if told_before and told_before[-1] is not OK:
        assert ("recovery", OK) in notified[end:]
    assert status.notified_state is OK


def test_flapping_thresholds_have_hysteresis():
    # after one unchanged result this window weighs 28 %: between leave (25) and enter (30)
    history = (False,) * 15 + (True,) * 5
    flapping = CheckStatus(checks_done=20, flapping=True, flap_history=history)
    assert decide(flapping, OK, "x", P1, T0).status.flapping
    calm = CheckStatus(checks_done=20, flapping=False, flap_history=history)
    assert not decide(calm, OK, "x", P1, T0).status.flapping
    assert 25 < flap_percent(history[1:] + (False,)) < 30


def test_no_flap_detection_when_disabled():
    policy = Policy(30, 10, max_attempts=1, recovery_attempts=1, flap_detection=False)
    _, events, _ = run([OK] + [C, OK] * 10, policy)
    assert all(notify for *_x, notify in events)
    assert len(events) == 20
