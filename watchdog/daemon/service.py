"""The daemon as the service runs it: given its standard site jobs, run until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
from pathlib import Path

from muni_watchdog.daemon.exposure_facts import ExposureFacts
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.report_jobs import MetricsEndpoint, ReportJobs
from muni_watchdog.daemon.restore_tests import RestoreTests
from muni_watchdog.daemon.runtime import SiteJob
from muni_watchdog.daemon.shutdown import close_loop
from muni_watchdog.daemon.site_jobs import Heartbeat, WeeklyChannelTest
from muni_watchdog.daemon.trap_receiver import TrapListener
from muni_watchdog.daemon.vuln_feeds import VulnerabilityFeeds


def standard_jobs() -> list[SiteJob]:
    """The site jobs of a running service, in the order they are installed."""
    return [Heartbeat(), WeeklyChannelTest(), RestoreTests(), ReportJobs(), MetricsEndpoint(),
            TrapListener(), VulnerabilityFeeds(), ExposureFacts()]


def run_daemon(config_path: str | Path, state_dir: str | Path) -> int:
    """Run the daemon until SIGTERM/SIGINT; always returns (or exits) within the shutdown
    bounds. Not ``asyncio.run``: its clean-up waits without limit for every leftover task
    and for the executor's threads, so one stuck task kept a stopped daemon alive."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    daemon = Daemon(config_path, state_dir, jobs=standard_jobs())
    code = 1
    try:
        code = loop.run_until_complete(daemon.run())
    finally:
        close_loop(loop, daemon.executor)
    return code
