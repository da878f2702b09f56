"""Checks scheduled together: one scheduler job per target and interval (a *slot*), which
starts each of its checks as a task of its own.

The checks of one target share one poll (:mod:`muni_watchdog.checks.snmp.session`), so they
are meant to run together; a job per check woke APScheduler three times a minute for every
device, and its bookkeeping of each run (the next fire time with jitter, the job store, the
executor's future and events: ~120 µs) was the largest cost left in the daemon's path after
the checks themselves (issue 16). A slot does that once per target and interval.

What a job per check gave is kept per check: a check still running from its last turn is
not started again (APScheduler's ``max_instances=1``; logged as APScheduler logged it, a
warning), so a hung check holds back only itself, never the other checks of its target. A
check whose interval changes (a soft problem: the retry interval) moves to the slot of its
target and new interval, which a job is made for when it has none (first run one interval
from now, as ``reschedule_job`` did); a slot left without checks loses its job.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler

from muni_watchdog.daemon.schedules import interval_trigger

log = logging.getLogger("muni-watchdog")
GOLDEN = 0.6180339887


def slot_id(target: str, interval: float) -> str:
    """The scheduler's id of a slot: ``"checks:web@60s"``."""
    return f"checks:{target}@{interval:g}s"


class CheckSlots:
    """The scheduler jobs of the configured checks, a job per target and interval.

    ``run(check_id)`` runs one check (the daemon's ``_run_check``); check ids are the
    daemon's (``check:TARGET/CHECK``). ``stopping()``: the daemon is stopping (a run
    cancelled then is one INFO line)."""

    def __init__(self, scheduler: BaseScheduler, run: Callable[[str], Awaitable[None]],
                 clock: Callable[[], datetime], stopping: Callable[[], bool] = lambda: False):
        self.scheduler = scheduler
        self.stopping = stopping
        self.run = run
        self.clock = clock
        self.members: dict[str, list[str]] = {}     # slot id -> its check ids, in order
        self.placed: dict[str, tuple[str, float]] = {}   # check id -> (target, interval)
        self.running: dict[str, asyncio.Task] = {}  # check id -> its run under way

    def slot_of(self, check_id: str) -> str | None:
        """The id of the slot a check is in (None: not scheduled)."""
        placed = self.placed.get(check_id)
        return slot_id(*placed) if placed is not None else None

    def add(self, check_id: str, target: str, interval: float,
            first_run: datetime | None = None) -> str:
        """Schedule a check with the others of its target and interval; ``first_run``: when
        a new slot runs first (by default one interval from now, with jitter). Returns the
        slot's id."""
        slot = slot_id(target, interval)
        self.placed[check_id] = (target, interval)
        members = self.members.get(slot)
        if members is not None:
            members.append(check_id)
            return slot
        self.members[slot] = [check_id]
        when = {} if first_run is None else {"next_run_time": first_run}
        self.scheduler.add_job(self._turn, interval_trigger(interval), args=[slot], id=slot,
                               name=f"{target} every {interval:g}s",
                               misfire_grace_time=max(1, int(interval)), **when)
        return slot

    def discard(self, check_id: str) -> None:
        """Take a check off its slot (the slot's job goes with its last check)."""
        slot = self.slot_of(check_id)
        if slot is None:
            return
        del self.placed[check_id]
        members = self.members.get(slot, [])
        if check_id in members:
            members.remove(check_id)
        if not members:
            self.members.pop(slot, None)
            if self.scheduler.get_job(slot):
                self.scheduler.remove_job(slot)

    def move(self, check_id: str, interval: float) -> None:
        """A check's interval changed: to its target's slot of that interval."""
        placed = self.placed.get(check_id)
        if placed is None or placed[1] == interval:
            return
        target = placed[0]
        self.discard(check_id)
        self.add(check_id, target, interval)

    def clear(self) -> None:
        """Every slot's job removed (a reload installs the new ones). Runs under way go on."""
        for check_id in list(self.placed):
            self.discard(check_id)

    def wake_targets(self, targets: set[str]) -> None:
        """Run every check of these targets now (their slots' next turns move to now, and
        the turn after comes one interval later)."""
        now = self.clock()
        for slot, members in self.members.items():
            if members and self.placed[members[0]][0] in targets:
                self.scheduler.modify_job(slot, next_run_time=now)

    def start_now(self, check_ids: Iterable[str]) -> None:
        """Run these checks now, apart from their slots' turns."""
        for check_id in check_ids:
            if check_id in self.placed:
                self.start(check_id)

    async def _turn(self, slot: str) -> None:
        for check_id in list(self.members.get(slot, ())):
            self.start(check_id)

    def start(self, check_id: str) -> None:
        if check_id in self.running:
            log.warning("check %s: its last run has not ended; this turn is skipped",
                        check_id.removeprefix("check:"))
            return
        task = asyncio.ensure_future(self.run(check_id))
        self.running[check_id] = task
        task.add_done_callback(lambda done: self._finished(check_id, done))

    def _finished(self, check_id: str, task: asyncio.Task) -> None:
        if self.running.get(check_id) is task:
            del self.running[check_id]
        if task.cancelled():
            # The stop working as designed: a line, not a traceback (:mod:`.cancelled`).
            # Nothing else of ours cancels a run, so any other cancellation is said louder.
            stopping = self.stopping()
            log.log(logging.INFO if stopping else logging.WARNING, "cancelled%s: %s",
                    " at shutdown" if stopping else "", check_id.removeprefix("check:"))
            return
        error = task.exception()
        if error is not None:   # the run catches its own failures: this is a bug, said once
            log.error("check %s failed outside its run", check_id.removeprefix("check:"),
                      exc_info=error)


def spread(interval: float, index: int, now: datetime) -> datetime:
    """A target's first turn: spread over the interval by its place in the configuration
    (the golden ratio's multiples modulo 1 fill the interval evenly, whatever the count)."""
    return now + timedelta(seconds=interval * ((index * GOLDEN) % 1.0))
