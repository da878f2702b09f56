"""The walk bookkeeping (pure): a subtree is walked to its end or the walk fails loudly,
never a shorter table; every bound ends a walk as a failure."""

from __future__ import annotations

import pytest

from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.errors import WalkError
from muni_watchdog.checks.snmp.walk import Walk, WalkLimits

IF_INDEX = "1.3.6.1.2.1.2.2.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"


def feed(walk: Walk, agent, width: int = 1, steps: int = 1000) -> None:
    """Drive ``walk`` with ``agent(last_oids) -> answer`` (what a client does, minus I/O)."""
    for _ in range(steps):
        batch = walk.batch(width)
        if not batch:
            return
        walk.take(batch, agent([last for _, last in batch]))
    raise AssertionError("the walk did not end")


def table(rows) -> list[tuple[str, object]]:
    return [(f"{IF_INDEX}.{r}", r) for r in rows]


def getnext_over(order: list[tuple[str, object]], after: str = "1.3.6.1.2.1.2.2.1.2.1"):
    """An agent answering GETNEXT from ``order`` as its own (maybe broken) sequence."""
    oids = [oid for oid, _ in order]

    def agent(lasts):
        answer = []
        for last in lasts:
            position = oids.index(last) + 1 if last in oids else 0
            answer.append(order[position] if position < len(order) else (after, b"x"))
        return answer
    return agent


def test_a_whole_table_is_returned():
    walk = Walk([IF_INDEX])
    feed(walk, getnext_over(table(range(1, 11))))
    assert walk.result() == dict(table(range(1, 11)))


@pytest.mark.parametrize("order, what", [
    # the case: one non-increasing OID used to return 4 of 10 rows, no error
    ([1, 2, 3, 4, 3, 5, 6, 7, 8, 9, 10], "OID not increasing"),
    ([1, 10, 2, 3, 4, 5, 6, 7, 8, 9], "OID not increasing"),     # rows sorted as text
    ([1, 2, 3, 4, 4], "OID not increasing"),                      # the same OID again
])
def test_a_walk_that_ends_early_is_an_error_not_a_short_table(order, what):
    walk = Walk([IF_INDEX])
    feed(walk, getnext_over(table(order)))
    with pytest.raises(WalkError, match=what) as caught:
        walk.result()
    assert caught.value.reason == "incomplete" and IF_INDEX in caught.value.failed
    assert caught.value.complete == {}   # no partial rows handed out


def test_a_looping_agent_is_stopped_at_the_first_repeat():
    calls = []

    def agent(lasts):
        calls.append(lasts)
        n = int(lasts[0].rsplit(".", 1)[1]) if lasts[0] != IF_INDEX else 0
        return [(f"{IF_INDEX}.{n % 5 + 1}", 1)]   # 1, 2, 3, 4, 5, 1, 2, ...
    walk = Walk([IF_INDEX])
    feed(walk, agent)
    with pytest.raises(WalkError, match="not increasing"):
        walk.result()
    assert len(calls) == 6


def test_a_backwards_jump_out_of_the_subtree_is_an_error_not_the_end():
    walk = Walk([IF_DESCR])
    feed(walk, lambda lasts: [(f"{IF_DESCR}.1", b"a")] if lasts[0] == IF_DESCR
         else [("1.3.6.1.2.1.1.1.0", b"sysDescr")])
    with pytest.raises(WalkError, match="not increasing"):
        walk.result()


def test_end_of_mib_view_and_the_next_subtree_end_a_walk_normally():
    walk = Walk([IF_INDEX, IF_DESCR])

    def agent(lasts):
        answer = []
        for last in lasts:
            if last.startswith(IF_INDEX):
                answer.append((f"{IF_INDEX}.1", 1) if last == IF_INDEX else
                              (f"{IF_DESCR}.1", b"next subtree"))
            else:
                answer.append((f"{IF_DESCR}.1", b"eth0") if last == IF_DESCR else
                              (last, ber.END_OF_MIB))
        return answer
    feed(walk, agent, width=2)
    assert walk.result() == {f"{IF_INDEX}.1": 1, f"{IF_DESCR}.1": b"eth0"}


def test_one_broken_subtree_fails_alone():
    walk = Walk([IF_INDEX, IF_DESCR])

    def agent(lasts):
        answer = []
        for last in lasts:
            if last.startswith(IF_INDEX):   # loops
                answer.append((f"{IF_INDEX}.1", 1))
            else:
                answer.append((f"{IF_DESCR}.1", b"eth0") if last == IF_DESCR else
                              (last, ber.END_OF_MIB))
        return answer
    feed(walk, agent, width=2)
    with pytest.raises(WalkError) as caught:
        walk.result()
    assert set(caught.value.failed) == {IF_INDEX}
    assert caught.value.complete == {f"{IF_DESCR}.1": b"eth0"}
    assert caught.value.only({IF_DESCR}) is None
    assert caught.value.only({IF_INDEX, IF_DESCR}).failed.keys() == {IF_INDEX}


def test_getbulk_rows_map_to_their_roots_and_a_short_answer_keeps_the_rest_pending():
    walk = Walk([IF_INDEX, IF_DESCR])
    batch = walk.batch(2)
    # one full row, then half a row (the agent trimmed its answer to fit)
    walk.take(batch, [(f"{IF_INDEX}.1", 1), (f"{IF_DESCR}.1", b"a"), (f"{IF_INDEX}.2", 2)])
    assert walk.pending == {IF_INDEX: f"{IF_INDEX}.2", IF_DESCR: f"{IF_DESCR}.1"}


def test_an_answer_without_var_binds_fails_instead_of_looping_or_ending_silently():
    walk = Walk([IF_INDEX])
    feed(walk, lambda lasts: [])
    with pytest.raises(WalkError, match="without any var-bind"):
        walk.result()


def endless(value):
    def agent(lasts):
        answer = []
        for last in lasts:
            head, _, n = last.rpartition(".")
            answer.append((f"{last}.1" if last.count(".") < 12 else f"{head}.{int(n) + 1}",
                           value))
        return answer
    return agent


@pytest.mark.parametrize("limits, agent, words", [
    (WalkLimits(varbinds=1000), endless(None), "1,000 var-binds"),
    (WalkLimits(requests=50), endless(None), "50 requests"),
    (WalkLimits(bytes=10_000), endless(b"x" * 1000), "bytes per walk"),
    (WalkLimits(value_bytes=100), endless(b"x" * 101), "101 bytes, over the cap of 100"),
])
def test_every_cap_ends_an_endless_walk_as_a_failure(limits, agent, words):
    walk = Walk([IF_INDEX, IF_DESCR], limits)
    feed(walk, agent, width=2, steps=100_000)
    with pytest.raises(WalkError, match=words) as caught:
        walk.result()
    assert set(caught.value.failed) == {IF_INDEX, IF_DESCR} and caught.value.complete == {}


def test_null_values_count_towards_the_cap():
    walk = Walk([IF_INDEX], WalkLimits(varbinds=100))
    feed(walk, endless(None), steps=1000)
    assert walk.varbinds == 100 and walk.requests == 100


def test_the_wall_time_cap_ends_a_slow_walk():
    now = [0.0]

    def clock():
        return now[0]

    def slow_agent(lasts):
        now[0] += 10.0   # each answer takes 10 s
        return endless(1)(lasts)
    walk = Walk([IF_INDEX], WalkLimits(seconds=60), clock=clock)
    feed(walk, slow_agent)
    with pytest.raises(WalkError, match="60 s"):
        walk.result()
    assert walk.requests <= 7


def test_a_value_at_the_cap_is_kept_whole():
    walk = Walk([IF_DESCR], WalkLimits(value_bytes=100))
    feed(walk, getnext_over([(f"{IF_DESCR}.1", b"y" * 100)], after="1.3.6.1.2.1.2.2.1.3.1"))
    assert walk.result() == {f"{IF_DESCR}.1": b"y" * 100}
