"""The per-target SNMP session: one poll fetches what all the target's checks need, once.

Checks of one target are started at the same moment by the scheduler. Each calls
:meth:`SnmpSession.fetch` with what it needs; the session waits ``GATHER_WINDOW`` for the
others, then walks the union once and answers everyone from that one snapshot. A snapshot
younger than ``CACHE_SECONDS`` answers later requests it covers without any I/O.

The poll runs in its own task, shared by the checks waiting on it: one check's timeout does
not cancel it for the others, but when the last check waiting on it is cancelled (its
timeout, a shutdown), the poll is cancelled too — it never outlives everyone who asked.

A subtree whose walk could not be finished is left out of the poll and recorded in
``Poll.failed``: a check that needs it gets the WalkError (UNKNOWN with the reason), the
others their complete tables."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.snmp.client import NEXT_OIDS_PER_PDU as NEXT_OIDS
from muni_watchdog.checks.snmp.client import SnmpClient, SnmpError, WalkError, diagnose
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.values import Value, Values

GATHER_WINDOW = 0.02   # seconds to wait for the other checks of the target
CACHE_SECONDS = 5.0    # a snapshot answers requests it covers for this long


@dataclass(frozen=True)
class Need:
    """What a check needs: scalar OIDs (GET), subtrees (walks) and named probe roots."""

    scalars: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()
    probes: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(cls, scalars: Iterable[str] = (), tables: Iterable[str] = (),
           probes: dict[str, str] | None = None) -> Need:
        return cls(frozenset(scalars), frozenset(tables),
                   frozenset((probes or {}).items()))

    def __or__(self, other: Need) -> Need:
        if _covers(self, other):
            return self
        if _covers(other, self):
            return other
        return _shared(Need(self.scalars | other.scalars, self.tables | other.tables,
                            self.probes | other.probes))


# Devices of one profile need the same union: one shared copy, not one per target (the
# frozensets of 500 targets' last needs were 3 MB of the daemon's memory).
_SHARED: dict[Need, Need] = {}
SHARED_MAX = 4096


def _shared(need: Need) -> Need:
    kept = _SHARED.get(need)
    if kept is None:
        if len(_SHARED) >= SHARED_MAX:
            _SHARED.clear()
        kept = _SHARED[need] = need
    return kept


@dataclass
class Poll:
    """What one poll of a target returned."""

    values: dict[str, Value] = field(default_factory=Values)
    answering: set[str] = field(default_factory=set)
    fetched_at: float = 0.0          # time.monotonic()
    requests: int = 0
    seconds: float = 0.0
    covered: Need = field(default_factory=Need)
    failed: dict[str, str] = field(default_factory=dict)   # subtree -> why it is missing

    def check(self, need: Need) -> Poll:
        """This poll, or the WalkError of the subtrees ``need`` asks for that failed."""
        error = WalkError(self.failed).only(need.tables) if self.failed else None
        if error is not None:
            raise error
        return self


def _covers(have: Need, need: Need) -> bool:
    return need.scalars <= have.scalars and need.tables <= have.tables and \
        need.probes <= have.probes


@dataclass(eq=False)
class _Batch:
    """One poll in progress and how many checks wait on it."""

    task: asyncio.Task
    waiters: int = 0
    need: Need | None = None    # set when it stops gathering and starts polling


class SnmpSession:
    """Made by the ``snmp`` target kind for each target (``TargetKind.session``)."""

    def __init__(self, host: str, conn: SnmpConnection, client: SnmpClient | None = None):
        self.host, self.conn = host, conn
        self.client = client or SnmpClient(host, conn)
        self._pending = Need()
        self._batch: _Batch | None = None     # the poll new requests still join
        self._running: set[asyncio.Task] = set()
        self._inflight: set[_Batch] = set()   # polls under way (past the gather window)
        self._cache: Poll | None = None
        self._follow_ups = Need()      # asked in a second step last poll: asked up front
        self._follow_ups_seen = Need()
        self.polls = 0
        self.values_polled = 0          # values of all polls (for the benchmark)
        self.last_need: Need | None = None
        self.last_requests = 0

    @classmethod
    def for_target(cls, target: TargetInfo) -> SnmpSession:
        assert isinstance(target.connection, SnmpConnection)
        return cls(target.host, target.connection)

    async def fetch(self, need: Need) -> Poll:
        """The values ``need`` asks for, from a shared poll. Raises SnmpError (WalkError for
        a needed subtree that could not be walked to its end)."""
        cache = self._cache
        if cache is not None and time.monotonic() - cache.fetched_at < CACHE_SECONDS and \
                _covers(cache.covered, need):
            return cache.check(need)
        # A poll already under way that asks all of it (a check started a moment after the
        # others, the scheduler's jitter): wait for it rather than ask the agent again.
        batch = next((b for b in self._inflight if b.need is not None and
                      _covers(b.need, need) and not b.task.done()), None)
        if batch is None:
            self._pending = self._pending | need
            if self._batch is None:
                task = asyncio.get_running_loop().create_task(self._run_batch())
                self._batch = _Batch(task)
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            batch = self._batch
        batch.waiters += 1
        try:
            # shield: one waiter's cancellation must not cancel the poll for the others
            return (await asyncio.shield(batch.task)).check(need)
        finally:
            batch.waiters -= 1
            if batch.waiters == 0 and not batch.task.done():
                # Nobody waits any more (timed out or shut down): stop polling the device.
                if self._batch is batch:
                    self._batch, self._pending = None, Need()
                self._inflight.discard(batch)   # nobody may join a poll being cancelled
                batch.task.cancel()

    def follow_up(self, need: Need) -> None:
        """``need`` is asked in a second step of this poll (a profile chosen from the first
        answers, :func:`common.fetch_more`): the next poll asks it with the first, so a
        device whose class did not change is polled in one round of requests."""
        self._follow_ups_seen = self._follow_ups_seen | need

    async def _run_batch(self) -> Poll:
        await asyncio.sleep(GATHER_WINDOW)
        # A new round (not the second step of this one): the second steps of the last round
        # join it; one not asked again (the class changed, the check was removed) is
        # dropped after one round.
        cache = self._cache
        need = self._pending
        new_round = cache is None or time.monotonic() - cache.fetched_at >= CACHE_SECONDS
        if new_round:
            self._follow_ups, self._follow_ups_seen = self._follow_ups_seen, Need()
            need = need | self._follow_ups
        batch = self._batch
        self._pending, self._batch = Need(), None
        if batch is not None:
            batch.need = need
            self._inflight.add(batch)
            batch.task.add_done_callback(lambda _: self._inflight.discard(batch))
        started, before = time.monotonic(), self.client.requests
        answers = self.client.answers
        poll = Poll(covered=need)
        try:
            try:
                values, poll.answering = await self.client.collect(
                    need.scalars, need.tables, dict(need.probes))
                poll.values = Values(values)
            except WalkError as exc:
                poll.values = Values(exc.complete)
                poll.answering = getattr(exc, "answering", set())
                poll.failed = exc.failed
        except SnmpError as exc:
            self._cache = None
            if exc.reason != "no_answer":
                raise
            if self.client.answers == answers:  # silent from the start: find out why
                raise await diagnose(self.host, self.conn.port) from None
            # Not "unreachable": it answered. A partial poll is a failed collection.
            raise SnmpError("incomplete", f"the agent stopped answering in the middle of the "
                            f"poll (after {self.client.answers - answers} answers); "
                            "nothing is judged from a partial poll") from None
        poll.fetched_at = time.monotonic()
        poll.requests = self.client.requests - before
        poll.seconds = poll.fetched_at - started
        self.polls += 1
        self.values_polled += len(poll.values)
        if new_round or self.last_need is None:
            self.last_need, self.last_requests = need, poll.requests
        else:   # a second step of the same round
            self.last_need, self.last_requests = self.last_need | need, \
                self.last_requests + poll.requests
        self._cache = poll
        # Forget it when it can no longer answer: a poll's values, OIDs and their index are
        # ~90 KiB for a server; 500 targets' last polls held for nothing were ~45 MB of RSS.
        asyncio.get_running_loop().call_later(CACHE_SECONDS + 0.1, self._expire, poll)
        return poll

    def _expire(self, poll: Poll) -> None:
        if self._cache is poll:
            self._cache = None

    def minimum_requests(self) -> int:
        """The fewest requests the last round's data needs (see bench/daemon_path.py): one
        GET for the scalars, one GETNEXT per 40 probes and empty subtrees, and per table
        (the columns under one parent OID) its var-binds, one past the end per column, over
        the most var-binds the agent put in one answer."""
        need, sizes = self.last_need, self.client.sizes
        if need is None:
            return 0
        empty = [root for root in need.tables if not sizes.get(root)]
        count = (1 if need.scalars else 0) + -(-(len(need.probes) + len(empty)) // NEXT_OIDS)
        tables: dict[str, int] = {}
        for root in need.tables:
            if sizes.get(root):
                parent = root.rsplit(".", 1)[0]
                tables[parent] = tables.get(parent, 0) + sizes[root] + 1
        cap = max(1, self.client.most_per_answer)
        return count + sum(-(-values // cap) for values in tables.values())

    async def close(self) -> None:
        """Cancel a poll still running (nobody will read it) and close the client."""
        running = [task for task in self._running if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=2)
        self._batch, self._pending = None, Need()
        await self.client.close()
