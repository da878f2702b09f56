"""What one poll sends: the requests snmpsim receives for a device, counted on the wire by a
UDP relay in front of it, against the minimum computed from the device's recording — one
GET for the scalars, one GETNEXT-like request for the probes and the empty subtrees, and per
table ⌈(values + one past the end per column) / 64⌉ (snmpsim answers at most 64 var-binds:
its ``--max-varbinds`` default)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from lab.snmp_lab import DATA_DIR, LOOPBACK, SnmpSim
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.snmp import SNMP_KIND, ber
from muni_watchdog.checks.snmp.check_system import SYSTEM_NEED
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.session import Need, SnmpSession
from muni_watchdog.checks.snmp.values import Values, column, subtree
from muni_watchdog.checks.snmp.walk import Walk, oid_tuple

SNMPSIM_MAX_VARBINDS = 64
RECORDINGS = ("local-snmpd", "switch", "printer")


@pytest.fixture(scope="module")
def sim():
    server = SnmpSim({name: DATA_DIR / f"{name}.snmprec" for name in RECORDINGS}).start()
    yield server
    server.stop()


class Relay(asyncio.DatagramProtocol):
    """Forwards datagrams to the agent and its answers back; keeps every request it saw as
    (PDU type, OIDs, max-repetitions) and every answer's var-binds."""

    def __init__(self, agent_port: int):
        self.agent_port = agent_port
        self.requests: list[tuple[int, tuple[str, ...], int]] = []
        self.answers: list[list[tuple[str, object]]] = []
        self.client = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: self, local_addr=(LOOPBACK, 0))
        relay = self

        class Upstream(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                relay.answers.append(ber.decode_answer(data).varbinds)
                relay.transport.sendto(data, relay.client)
        self.upstream, _ = await loop.create_datagram_endpoint(
            Upstream, remote_addr=(LOOPBACK, self.agent_port))
        return self.transport.get_extra_info("sockname")[1]

    def datagram_received(self, data, addr):
        self.client = addr
        _, _, pdu_type, message, start, end = ber.decode_message(data)
        fields = ber.decode_fields(message, start, end)
        oids = tuple(oid for oid, _ in fields[3][1])
        self.requests.append((pdu_type, oids, fields[2][1] if pdu_type == ber.GETBULK else 0))
        self.upstream.sendto(data)

    def close(self):
        self.transport.close()
        self.upstream.close()


def recorded_oids(name: str) -> list[str]:
    lines = (DATA_DIR / f"{name}.snmprec").read_text().splitlines()
    return [line.split("|", 1)[0] for line in lines if line.strip()]


def minimum(need: Need, recording: str) -> int:
    """The fewest requests that fetch ``need`` from the recording (see the module doc)."""
    oids = recorded_oids(recording)
    sizes = {root: sum(1 for oid in oids if oid.startswith(root + ".")) for root in need.tables}
    quiet = len(need.probes) + sum(1 for size in sizes.values() if size == 0)
    tables: Counter = Counter()
    for root, size in sizes.items():
        if size:
            tables[root.rsplit(".", 1)[0]] += size + 1
    return (1 if need.scalars else 0) + -(-quiet // 40) + sum(
        -(-values // SNMPSIM_MAX_VARBINDS) for values in tables.values())


def target(tmp_path: Path, port: int, community: str) -> TargetInfo:
    secret = tmp_path / f"{community}.community"
    secret.write_text(community)
    conn = SnmpConnection(port=port, community_file=str(secret))
    info = TargetInfo(community, "snmp", LOOPBACK, conn)
    return replace(info, session=SnmpSession.for_target(info))


async def poll_rounds(info: TargetInfo, relay: Relay, rounds: list[tuple[str, ...]]):
    """Each round: the checks collect together, as the scheduler starts them; between
    rounds the snapshot ages out. Returns the relay's requests of each round."""
    kinds = SNMP_KIND.check_types
    seen = []
    for checks in rounds:
        before = len(relay.requests)
        await asyncio.gather(*(kinds[c].collect(info, kinds[c].Params(check=c))
                               for c in checks))
        seen.append(relay.requests[before:])
        info.session._cache.fetched_at -= 60   # the next round is a new poll
    return seen


@pytest.mark.parametrize("recording", RECORDINGS)
def test_a_poll_sends_the_minimum_and_repeats_nothing(sim, tmp_path, recording):
    async def run():
        relay = Relay(sim.port)
        port = await relay.start()
        info = target(tmp_path, port, recording)
        try:
            rounds = await poll_rounds(info, relay, [
                ("system", "device", "neighbors"), ("system", "device"), ("system", "device")])
            return rounds, info.session, relay
        finally:
            relay.close()
            await info.session.close()
    rounds, session, relay = asyncio.run(run())
    for requests in rounds:   # no request repeated within one poll
        assert not [r for r, n in Counter(requests).items() if n > 1], requests
    need = session.last_need
    assert need is not None and need.tables >= SYSTEM_NEED.tables
    expected = minimum(need, recording)
    # Once the device's tables are known, a poll is one round at the minimum...
    assert len(rounds[1]) == expected, rounds[1]
    assert len(rounds[2]) == expected, rounds[2]
    assert session.minimum_requests() == expected
    # ...with one GET for all the scalars (the device check's profile included).
    gets = [r for r in rounds[2] if r[0] == ber.GET]
    assert len(gets) == 1 and set(gets[0][1]) == need.scalars


def test_a_known_table_is_asked_at_its_size_not_rows_past_its_end(sim, tmp_path):
    async def run():
        relay = Relay(sim.port)
        port = await relay.start()
        info = target(tmp_path, port, "local-snmpd")
        try:
            await poll_rounds(info, relay, [("system", "device")])
            before = len(relay.answers)
            requests_before = len(relay.requests)
            await poll_rounds(info, relay, [("system", "device")])
            return (relay.requests[requests_before:], relay.answers[before:],
                    info.session.last_need)
        finally:
            relay.close()
            await info.session.close()
    requests, answers, need = asyncio.run(run())
    roots = sorted(need.tables, key=oid_tuple)
    for (pdu_type, oids, reps), answer in zip(requests, answers, strict=True):
        if pdu_type != ber.GETBULK or reps == 1:
            continue
        # A table asked at its size: at most one var-bind past its end per OID asked.
        outside = [oid for oid, _ in answer
                   if not any(oid.startswith(root + ".") for root in roots)]
        assert len(outside) <= len(oids), (oids, reps, outside)


def test_a_check_started_a_moment_later_joins_the_poll_under_way(sim, tmp_path):
    async def run():
        relay = Relay(sim.port)
        port = await relay.start()
        info = target(tmp_path, port, "switch")
        session = info.session
        try:
            first = asyncio.ensure_future(session.fetch(SYSTEM_NEED))
            await asyncio.sleep(0.05)   # past the gather window: the poll is on the wire
            second = await session.fetch(Need(SYSTEM_NEED.scalars))
            await first
            return session.polls, second, first.result()
        finally:
            relay.close()
            await session.close()
    polls, second, first = asyncio.run(run())
    assert polls == 1
    assert second is first


def test_the_second_step_of_a_poll_is_asked_with_the_first_next_time(sim, tmp_path):
    async def run():
        relay = Relay(sim.port)
        port = await relay.start()
        info = target(tmp_path, port, "local-snmpd")
        try:
            rounds = await poll_rounds(info, relay, [("device",), ("device",), ("system",)])
            return rounds, info.session.polls
        finally:
            relay.close()
            await info.session.close()
    rounds, polls = asyncio.run(run())
    # first round: the probes, then the profile's tables; second round: one poll
    assert polls == 2 + 1 + 1
    # The profile (storage + interfaces) is asked up front in the second round:
    assert any("1.3.6.1.2.1.25.2.3.1" in oids for _, oids, _ in rounds[1][:3])


# ---- the pure parts ------------------------------------------------------------------------
def test_plan_groups_empty_subtrees_and_sizes_known_tables():
    roots = ["1.3.6.1.2.1.2.2.1", "1.3.6.1.4.1.9.9.23.1.2.1.1.3", "1.3.6.1.4.1.9.9.23.1.2.1.1.4",
             "1.3.6.1.2.1.47.1.1.1.1.2", "1.3.6.1.2.1.47.1.1.1.1.5", "1.3.6.1.2.1.99"]
    sizes = {roots[0]: 88, roots[1]: 0, roots[2]: 0, roots[3]: 5, roots[4]: 4}
    walk = Walk(roots)
    batch, reps = walk.plan(sizes, 25, 250)
    assert reps == 1 and [r for r, _ in batch] == [roots[1], roots[2]]   # the empty ones
    walk.take(batch, [("1.3.6.1.4.1.9.9.23.1.2.1.1.3.1", 1), ("1.3.6.1.4.1.9.9.23.1.2.1.1.5.1", 1)])
    # cdp column 3 turned out not empty: it is walked on, not dropped
    assert roots[1] in walk.pending and roots[2] not in walk.pending
    batch, reps = walk.plan(sizes, 25, 250)
    assert [r for r, _ in batch] == [roots[0]] and reps == 89     # one table at its size
    walk.take(batch, [(f"{roots[0]}.1.{i}", i) for i in range(1, 89)] + [("1.3.6.1.2.1.2.3", 0)])
    batch, reps = walk.plan(sizes, 25, 250)
    assert [r for r, _ in batch] == [roots[3], roots[4]] and reps == 6  # entity columns
    assert walk.plan({}, 25, 250)[1] == 25   # never walked: the configured repetitions
    assert walk.plan(sizes, 25, 10)[1] <= 10   # the cap holds


def test_indexed_values_read_as_a_scan_does():
    rng = random.Random(7)
    oids = {f"1.3.6.1.2.1.{rng.choice((2, 25, 31))}.{rng.randint(1, 3)}.1."
            f"{rng.randint(1, 20)}.{rng.randint(1, 300)}": rng.randint(0, 9) for _ in range(600)}
    indexed, plain = Values(oids), dict(oids)
    for table in ("1.3.6.1.2.1.2.1.1", "1.3.6.1.2.1.25.3.1", "1.3.6.1.2.1.31.2.1"):
        for col in range(0, 22):
            assert list(column(indexed, table, col).items()) == \
                list(column(plain, table, col).items())
    assert list(subtree(indexed, "1.3.6.1.2.1.25").items()) == \
        list(subtree(plain, "1.3.6.1.2.1.25").items())
    indexed["1.3.6.1.2.1.25.1.1.1.1"] = 5     # changed after a look: looked up again
    assert subtree(indexed, "1.3.6.1.2.1.25.1.1.1")["1"] == 5
    indexed["1.3.6.1.2.1.25.1.1.1.1"] = 6     # the same size, another value
    assert subtree(indexed, "1.3.6.1.2.1.25.1.1.1")["1"] == 6
    del indexed["1.3.6.1.2.1.25.1.1.1.1"]
    assert "1" not in subtree(indexed, "1.3.6.1.2.1.25.1.1.1")
    indexed.update({"1.3.6.1.2.1.25.1.1.1.2": 7})
    assert subtree(indexed, "1.3.6.1.2.1.25.1.1.1")["2"] == 7
    looked = column(indexed, "1.3.6.1.2.1.25.3.1", 5)
    looked["changed by the caller"] = 1      # a caller's change is not the snapshot's
    assert "changed by the caller" not in column(indexed, "1.3.6.1.2.1.25.3.1", 5)
    assert list(column(indexed, "1.3.6.1.2.1.25.3.1", 5).items()) == \
        list(column(dict(indexed), "1.3.6.1.2.1.25.3.1", 5).items())


def test_a_session_forgets_its_last_poll_when_it_can_no_longer_answer(sim, tmp_path,
                                                                      monkeypatch):
    from muni_watchdog.checks.snmp import session as session_module
    monkeypatch.setattr(session_module, "CACHE_SECONDS", 0.2)

    async def run():
        info = target(tmp_path, sim.port, "switch")
        session = info.session
        try:
            await session.fetch(SYSTEM_NEED)
            held = session._cache is not None
            await asyncio.sleep(0.5)
            return held, session._cache
        finally:
            await session.close()
    held, later = asyncio.run(run())
    assert held and later is None   # no target keeps a stale snapshot (RSS at 500 targets)


def test_targets_of_one_profile_share_one_union_of_needs():
    # 500 targets' last needs were 500 copies of the same frozensets (3 MB of RSS).
    a = Need.of(scalars=["1.3.6.1.2.1.1.3.0"], tables=["1.3.6.1.2.1.2.2.1.2"])
    b = Need.of(tables=["1.3.6.1.2.1.25.2.3.1.3"], probes={"ups": "1.3.6.1.2.1.33.1.1"})
    first = Need.of(scalars=["1.3.6.1.2.1.1.3.0"], tables=["1.3.6.1.2.1.2.2.1.2"]) | b
    second = a | Need.of(tables=["1.3.6.1.2.1.25.2.3.1.3"],
                         probes={"ups": "1.3.6.1.2.1.33.1.1"})
    assert first is second
    assert first.tables == {"1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.25.2.3.1.3"}
    assert first.scalars == {"1.3.6.1.2.1.1.3.0"} and dict(first.probes) == {
        "ups": "1.3.6.1.2.1.33.1.1"}
    assert (first | a) is first and (a | first) is first   # nothing new: no new object
    assert (Need() | a) is a
