"""The per-target SNMP session: one poll fetches what all the target's checks need, once.

Checks of one target are started at the same moment by the scheduler. Each calls
:meth:`SnmpSession.fetch` with what it needs; the session waits ``GATHER_WINDOW`` for the
others, then walks the union once and answers everyone from that one snapshot. A snapshot
younger than ``CACHE_SECONDS`` answers later requests it covers without any I/O."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from checks.base import TargetInfo
from checks.snmp.client import SnmpClient, SnmpError, diagnose
from checks.snmp.connection import SnmpConnection
from checks.snmp.values import Value

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
        return Need(self.scalars | other.scalars, self.tables | other.tables,
                    self.probes | other.probes)


@dataclass
class Poll:
    """What one poll of a target returned."""

    values: dict[str, Value] = field(default_factory=dict)
    answering: set[str] = field(default_factory=set)
    fetched_at: float = 0.0          # time.monotonic()
    requests: int = 0
    seconds: float = 0.0
    covered: Need = field(default_factory=Need)


class SnmpSession:
    """Made by the ``snmp`` target kind for each target (``TargetKind.session``)."""

    def __init__(self, host: str, conn: SnmpConnection, client: SnmpClient | None = None):
        self.host, self.conn = host, conn
        self.client = client or SnmpClient(host, conn)
        self._pending = Need()
        self._batch: asyncio.Task | None = None
        self._cache: Poll | None = None
        self.polls = 0

    @classmethod
    def for_target(cls, target: TargetInfo) -> SnmpSession:
        assert isinstance(target.connection, SnmpConnection)
        return cls(target.host, target.connection)

    async def fetch(self, need: Need) -> Poll:
        """The values ``need`` asks for, from a shared poll. Raises SnmpError."""
        cache = self._cache
        if cache is not None and time.monotonic() - cache.fetched_at < CACHE_SECONDS and (
                need.scalars <= cache.covered.scalars and need.tables <= cache.covered.tables
                and need.probes <= cache.covered.probes):
            return cache
        self._pending = self._pending | need
        if self._batch is None:
            self._batch = asyncio.get_running_loop().create_task(self._run_batch())
        return await asyncio.shield(self._batch)

    async def _run_batch(self) -> Poll:
        await asyncio.sleep(GATHER_WINDOW)
        need, self._pending, self._batch = self._pending, Need(), None
        started, before = time.monotonic(), self.client.requests
        try:
            poll = Poll(covered=need)
            if need.probes:
                poll.answering = await self.client.probe(dict(need.probes))
            if need.scalars:
                poll.values.update(await self.client.get(need.scalars))
            if need.tables:
                poll.values.update(await self.client.walk(need.tables))
        except SnmpError as exc:
            self._cache = None
            if exc.reason == "no_answer":
                raise await diagnose(self.host, self.conn.port) from None
            raise
        poll.fetched_at = time.monotonic()
        poll.requests = self.client.requests - before
        poll.seconds = poll.fetched_at - started
        self.polls += 1
        self._cache = poll
        return poll

    async def close(self) -> None:
        await self.client.close()
