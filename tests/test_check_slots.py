"""The checks' scheduler jobs: one per target and interval, a run per check at a time
(daemon/slots.py, issue 16). A real APScheduler on a real loop; the run is a coroutine
that records what was started and waits until the test lets it end."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from muni_watchdog.daemon.schedules import interval_trigger
from muni_watchdog.daemon.slots import CheckSlots, slot_id, spread


class Runs:
    """The run the slots call: records each start, ends when released."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.fail: set[str] = set()

    async def __call__(self, check_id: str) -> None:
        self.started.append(check_id)
        gate = self.release.setdefault(check_id, asyncio.Event())
        await gate.wait()
        gate.clear()
        if check_id in self.fail:
            raise RuntimeError("a bug in the run")

    def end(self, check_id: str) -> None:
        self.release.setdefault(check_id, asyncio.Event()).set()


def now() -> datetime:
    return datetime.now(UTC)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def scheduled(scheduler: AsyncIOScheduler) -> set[str]:
    return {job.id for job in scheduler.get_jobs()}


def make(stopping=lambda: False) -> tuple[AsyncIOScheduler, CheckSlots, Runs]:
    scheduler = AsyncIOScheduler(timezone=UTC)
    runs = Runs()
    later = now() + timedelta(hours=1)   # the tests run turns themselves
    slots = CheckSlots(scheduler, runs, now, stopping)
    for check_id, target, interval in [("check:sw1/system", "sw1", 60),
                                       ("check:sw1/device", "sw1", 60),
                                       ("check:sw1/backup", "sw1", 3600),
                                       ("check:sw2/system", "sw2", 60)]:
        slots.add(check_id, target, interval, later)
    return scheduler, slots, runs


def test_the_checks_of_a_target_and_interval_share_one_job_that_starts_each_once():
    async def scenario():
        scheduler, slots, runs = make()
        scheduler.start()
        assert scheduled(scheduler) == {"checks:sw1@60s", "checks:sw1@3600s",
                                        "checks:sw2@60s"}
        await slots._turn(slot_id("sw1", 60))
        await settle()
        assert runs.started == ["check:sw1/system", "check:sw1/device"]
        scheduler.shutdown(wait=False)
        for check_id in runs.started:
            runs.end(check_id)
        await settle()
        assert slots.running == {}
    asyncio.run(scenario())


def test_a_check_still_running_skips_its_turn_and_holds_back_only_itself(caplog):
    async def scenario():
        _, slots, runs = make()
        await slots._turn(slot_id("sw1", 60))
        await settle()
        runs.end("check:sw1/device")          # device ends; system hangs on
        await settle()
        with caplog.at_level(logging.WARNING, logger="muni-watchdog"):
            await slots._turn(slot_id("sw1", 60))
            await settle()
        assert runs.started == ["check:sw1/system", "check:sw1/device", "check:sw1/device"]
        assert "check sw1/system: its last run has not ended; this turn is skipped" \
            in caplog.text
        runs.end("check:sw1/system")
        await settle()
        await slots._turn(slot_id("sw1", 60))   # ended: it runs again at the next turn
        await settle()
        assert runs.started.count("check:sw1/system") == 2
    asyncio.run(scenario())


def test_a_check_whose_interval_changes_moves_to_its_targets_slot_of_that_interval():
    async def scenario():
        scheduler, slots, runs = make()
        scheduler.start()
        slots.move("check:sw1/system", 20)      # a soft problem: the retry interval
        assert slots.members[slot_id("sw1", 20)] == ["check:sw1/system"]
        assert slots.members[slot_id("sw1", 60)] == ["check:sw1/device"]
        job = scheduler.get_job(slot_id("sw1", 20))
        # a new slot's first turn is one interval away (with at most 5 % jitter)
        assert timedelta(seconds=18) < job.next_run_time - now() <= timedelta(seconds=21)
        slots.move("check:sw2/system", 20)      # sw2's only 60 s check: its job goes
        assert slot_id("sw2", 60) not in scheduled(scheduler)
        assert slot_id("sw2", 20) in scheduled(scheduler)
        slots.move("check:sw1/system", 60)      # recovered: back with device
        assert slots.members[slot_id("sw1", 60)] == ["check:sw1/device", "check:sw1/system"]
        assert slot_id("sw1", 20) not in scheduled(scheduler)
        slots.move("check:unknown/x", 20)      # a check it does not schedule: nothing
        assert slots.slot_of("check:unknown/x") is None
        slots.clear()
        assert scheduled(scheduler) == set() and slots.members == {}
        scheduler.shutdown(wait=False)
    asyncio.run(scenario())


def test_waking_a_target_brings_its_slots_forward_and_start_now_runs_only_those_named():
    async def scenario():
        scheduler, slots, runs = make()
        scheduler.start()
        before = now()
        slots.wake_targets({"sw1"})
        for slot in (slot_id("sw1", 60), slot_id("sw1", 3600)):
            assert scheduler.get_job(slot).next_run_time <= now()
        assert scheduler.get_job(slot_id("sw2", 60)).next_run_time > before + \
            timedelta(minutes=30)
        scheduler.pause()
        slots.start_now(["check:sw2/system", "check:gone/http"])
        await settle()
        assert runs.started == ["check:sw2/system"]
        scheduler.shutdown(wait=False)
    asyncio.run(scenario())


def test_a_run_cancelled_at_shutdown_is_one_info_line_and_a_bug_is_logged(caplog):
    stopping = False

    async def scenario():
        nonlocal stopping
        _, slots, runs = make(lambda: stopping)
        runs.fail.add("check:sw2/system")
        with caplog.at_level(logging.INFO, logger="muni-watchdog"):
            await slots._turn(slot_id("sw2", 60))
            await settle()
            runs.end("check:sw2/system")
            await settle()
            await slots._turn(slot_id("sw1", 60))
            await settle()
            stopping = True
            for task in list(slots.running.values()):
                task.cancel()
            await settle()
        assert slots.running == {}
    asyncio.run(scenario())
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("ERROR", "check sw2/system failed outside its run") in records
    assert ("INFO", "cancelled at shutdown: sw1/system") in records
    assert ("INFO", "cancelled at shutdown: sw1/device") in records
    assert "Traceback" not in "".join(m for _, m in records)


def test_first_turns_are_spread_over_the_interval_by_the_targets_place():
    start = now()
    offsets = sorted((spread(60, i, start) - start).total_seconds() for i in range(10))
    assert offsets[0] == 0.0 and offsets[-1] < 60
    assert min(b - a for a, b in zip(offsets, offsets[1:], strict=False)) > 2   # no bunching


def test_a_checks_interval_is_kept_on_average_however_its_runs_are_jittered():
    """APScheduler 3 counts the next run from the last jittered one: a 60 s check ran every
    61.5 s on average. Runs here are jittered from a steady beat."""
    trigger = interval_trigger(60)
    start = now()
    runs = [trigger.get_next_fire_time(None, start)]
    for _ in range(1000):
        # asked twice from each run, as APScheduler does (the due runs, then the next)
        trigger.get_next_fire_time(runs[-1], runs[-1])
        runs.append(trigger.get_next_fire_time(runs[-1], runs[-1]))
    # one steady beat b, every 60 s, and each run within its 5 % of jitter after it:
    # b + 60 n <= run n <= b + 60 n + 3 for some b
    lags = [run - timedelta(seconds=60 * n) for n, run in enumerate(runs)]
    assert max(lags) - min(lags) <= timedelta(seconds=3)
    periods = [(b - a).total_seconds() for a, b in zip(runs, runs[1:], strict=False)]
    assert abs(sum(periods) / len(periods) - 60) < 0.01   # every 60 s, not 61.5
    assert len(set(periods)) > 100                        # and jittered all the same
    moved = runs[-1] + timedelta(seconds=17)              # "run now" moved a run by hand
    after = trigger.get_next_fire_time(moved, moved)
    assert moved + timedelta(seconds=60) <= after <= moved + timedelta(seconds=63)
    again = trigger.get_next_fire_time(after, after)      # the new beat goes on from there
    assert moved + timedelta(seconds=120) <= again <= moved + timedelta(seconds=123)
