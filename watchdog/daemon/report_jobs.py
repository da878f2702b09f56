"""The reports' jobs: the monthly leadership summary and the weekly digest on their schedule,
and the OpenMetrics endpoint (``/metrics``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from muni_watchdog.config.models import Config
from muni_watchdog.daemon.runtime import Runtime, SiteJob
from muni_watchdog.daemon.schedules import weekly_trigger
from muni_watchdog.store.database import Store

log = logging.getLogger("muni-watchdog")


class ReportJobs(SiteJob):
    """``reports.monthly`` and ``reports.digest``: built and sent in a worker thread; a failed
    send is tried again in 15 minutes, up to 8 times."""

    config: Config | None = None
    runtime: Runtime | None = None

    async def install(self, config: Config, runtime: Runtime) -> None:
        self.config, self.runtime = config, runtime
        runtime.remove_jobs("report-monthly", "report-digest")
        tz = config.site.timezone
        monthly = config.reports.monthly
        if monthly is not None:
            hour, minute = map(int, monthly.time.split(":"))
            runtime.scheduler.add_job(self.send, CronTrigger(
                day=monthly.day, hour=hour, minute=minute, timezone=tz), args=["monthly", 0],
                id="report-monthly", misfire_grace_time=6 * 3600)
        digest = config.reports.digest
        if digest is not None:
            runtime.scheduler.add_job(self.send, weekly_trigger(digest.when, tz),
                                      args=["digest", 0], id="report-digest",
                                      misfire_grace_time=6 * 3600)

    async def send(self, which: str, attempt: int) -> None:
        """Build and send a report in a worker thread (it has its own database connection);
        a failed send is tried again in 15 minutes, up to 8 times."""
        from muni_watchdog.reports.deliver import send_digest, send_monthly_report
        config, runtime = self.config, self.runtime
        if config is None or runtime is None:
            return
        now, state_dir = runtime.clock(), runtime.state_dir

        def work() -> str:
            store = Store.open(state_dir)
            try:
                if which == "monthly":
                    return str(send_monthly_report(config, store, state_dir, now))
                return send_digest(config, store, now).title
            finally:
                store.close()
        try:
            result = await asyncio.to_thread(work)
            log.info("report: %s sent (%s)", which, result)
        except Exception as exc:  # a failed report must not stop monitoring; try again
            log.error("report: %s not sent (attempt %d): %s", which, attempt + 1, exc)
            if attempt < 7:
                runtime.scheduler.add_job(self.send, "date", args=[which, attempt + 1],
                                          run_date=runtime.clock() + timedelta(minutes=15))


class MetricsEndpoint(SiteJob):
    """``reports.metrics``: ``/metrics`` served from a thread; kept running across reloads
    while its address stays the same. With the web console on, the console serves it on its
    own port instead, unless ``reports.metrics.listen`` is given explicitly."""

    def __init__(self) -> None:
        self._server: Any = None
        self._address: tuple[str, int] | None = None

    async def install(self, config: Config, runtime: Runtime) -> None:
        metrics = config.reports.metrics
        wanted = metrics.address if metrics else None
        if metrics and config.site.web is not None and "listen" not in metrics.model_fields_set:
            wanted = None  # the console serves /metrics on its port: one port to open
        if wanted == self._address:
            return
        await self.close()
        if wanted is None:
            return
        # prometheus_client (2.6 MB of RSS) is imported only when /metrics is served here
        from muni_watchdog.reports.metrics import start_metrics_server, store_snapshot
        try:
            server, _thread = start_metrics_server(*wanted, store_snapshot(
                str(runtime.state_dir), config))
        except OSError as exc:
            log.error("metrics: cannot listen on %s:%s: %s", *wanted, exc)
            return
        self._server, self._address = server, wanted
        log.info("metrics: serving /metrics on %s:%s", *wanted)

    async def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server, self._address = None, None
