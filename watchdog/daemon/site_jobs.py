"""The site's own small jobs: the heartbeat ping to an external dead-man's switch and the weekly
test message to every channel."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from apscheduler.triggers.interval import IntervalTrigger

from muni_watchdog.config.models import Config
from muni_watchdog.core.secrets import SecretError, read_secret
from muni_watchdog.daemon.runtime import Runtime, SiteJob
from muni_watchdog.daemon.schedules import weekly_trigger

log = logging.getLogger("muni-watchdog")


def _ping(url: str) -> None:
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (configured URL)
        response.read(1024)


class Heartbeat(SiteJob):
    """``notify.heartbeat``: a GET to a URL every interval, so that a silent daemon (or box)
    is noticed from outside."""

    config: Config | None = None

    async def install(self, config: Config, runtime: Runtime) -> None:
        self.config = config
        runtime.remove_jobs("heartbeat")
        beat = config.notify.heartbeat
        if beat is not None:
            runtime.scheduler.add_job(self.beat, IntervalTrigger(seconds=beat.interval),
                                      id="heartbeat", next_run_time=runtime.clock())

    async def beat(self) -> None:
        beat = self.config.notify.heartbeat if self.config else None
        if beat is None:
            return
        try:
            url = beat.url or read_secret(beat.secret_ref)  # type: ignore[arg-type]
            await asyncio.wait_for(asyncio.to_thread(_ping, url), 15)
            log.debug("heartbeat sent")
        except (SecretError, OSError, TimeoutError) as exc:
            log.warning("heartbeat failed: %s", exc)


class WeeklyChannelTest(SiteJob):
    """``notify.weekly_test``: a test message to every channel, so that a broken channel is
    found before an alert needs it."""

    config: Config | None = None
    runtime: Runtime | None = None

    async def install(self, config: Config, runtime: Runtime) -> None:
        self.config, self.runtime = config, runtime
        runtime.remove_jobs("weekly-test")
        if config.notify.weekly_test and config.notify.channels:
            runtime.scheduler.add_job(self.queue, weekly_trigger(
                config.notify.weekly_test, config.site.timezone), id="weekly-test",
                misfire_grace_time=3600)

    async def queue(self) -> None:
        runtime = self.runtime
        if runtime is None or runtime.notifier is None or self.config is None:
            return
        names = [c.name for c in self.config.notify.channels]
        try:
            runtime.notifier.queue_test(names, runtime.clock(), "weekly")
            log.info("weekly test message queued for %s", ", ".join(names))
            runtime.wake("outbox")
        except sqlite3.Error as exc:
            log.error("weekly test: %s", exc)
