"""The residents' status page written as static files on a schedule
(``reports.status_page: {export_dir, every}``), so a town publishes it on its own web host
without exposing this box. Each run reads the store through its own connection in a worker
thread; a failure is logged and the next run tries again (the files in place stay whole: each
is replaced by one rename)."""

from __future__ import annotations

import asyncio
import logging

from apscheduler.triggers.interval import IntervalTrigger

from muni_watchdog.config.models import Config
from muni_watchdog.daemon.runtime import Runtime, SiteJob
from muni_watchdog.store.database import Store

log = logging.getLogger("muni-watchdog")
JOB_ID = "status-page"


class StatusPageExport(SiteJob):
    config: Config | None = None
    runtime: Runtime | None = None
    _failing: str | None = None

    async def install(self, config: Config, runtime: Runtime) -> None:
        self.config, self.runtime = config, runtime
        runtime.remove_jobs(JOB_ID)
        settings = config.reports.status_page
        if settings is not None and settings.export_dir is not None:   # else: live only
            runtime.scheduler.add_job(self.export, IntervalTrigger(seconds=settings.every),
                                      id=JOB_ID, next_run_time=runtime.clock(),
                                      misfire_grace_time=int(settings.every))

    async def export(self) -> None:
        from muni_watchdog.reports.status_export import export_status_page
        config, runtime = self.config, self.runtime
        if config is None or runtime is None or config.reports.status_page is None or \
                config.reports.status_page.export_dir is None:
            return
        folder, now, state_dir = config.reports.status_page.export_dir, runtime.clock(), \
            runtime.state_dir

        def work() -> None:
            store = Store.open(state_dir)
            try:
                export_status_page(store, config, folder, now)
            finally:
                store.close()
        try:
            await asyncio.to_thread(work)
        except asyncio.CancelledError:
            # The daemon is stopping: the thread finishes its write (each file is replaced
            # whole) or not at all; nothing to report, and no traceback in the journal.
            log.debug("status page: export interrupted by the stop")
            return
        except Exception as exc:  # the page must never stop monitoring; try again next time
            error = f"{type(exc).__name__}: {exc}"
            if error != self._failing:    # once per distinct failure, not every minute
                log.error("status page: cannot write %s: %s", folder, error)
            self._failing = error
            return
        if self._failing:
            log.info("status page: written to %s again", folder)
        self._failing = None
        log.debug("status page written to %s", folder)
