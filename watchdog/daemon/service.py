"""The daemon as the service runs it: given its standard site jobs, run until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
from pathlib import Path

from muni_watchdog.core.eventloop import new_event_loop
from muni_watchdog.daemon.exposure_facts import ExposureFacts
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.memory import limit_malloc_arenas
from muni_watchdog.daemon.report_jobs import MetricsEndpoint, ReportJobs
from muni_watchdog.daemon.restore_tests import RestoreTests
from muni_watchdog.daemon.runtime import SiteJob
from muni_watchdog.daemon.shutdown import close_loop
from muni_watchdog.daemon.site_jobs import Heartbeat, WeeklyChannelTest
from muni_watchdog.daemon.status_page_job import StatusPageExport
from muni_watchdog.daemon.trap_receiver import TrapListener
from muni_watchdog.daemon.vuln_feeds import VulnerabilityFeeds
from muni_watchdog.daemon.web_console import WebConsole


def standard_jobs() -> list[SiteJob]:
    """The site jobs of a running service, in the order they are installed."""
    return [Heartbeat(), WeeklyChannelTest(), RestoreTests(), ReportJobs(), MetricsEndpoint(),
            TrapListener(), WebConsole(), StatusPageExport(), VulnerabilityFeeds(),
            ExposureFacts()]


def run_daemon(config_path: str | Path, state_dir: str | Path) -> int:
    """Run the daemon until SIGTERM/SIGINT; always returns (or exits) within the shutdown
    bounds. Not ``asyncio.run``: its clean-up waits without limit for every leftover task
    and for the executor's threads, so one stuck task kept a stopped daemon alive."""
    limit_malloc_arenas()   # before any worker thread: flat RSS (see .memory)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    daemon = Daemon(config_path, state_dir, jobs=standard_jobs())
    code = 1
    try:
        code = loop.run_until_complete(daemon.run())
    finally:
        close_loop(loop, daemon.executor)
        daemon.unquiet()
    return code
