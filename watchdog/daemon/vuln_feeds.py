"""The vulnerability feeds as a site job: downloaded on a schedule into ``<state>/vulns``, and
the ``vulnerabilities`` check type wired to read them there.

Only the feeds the town's servers need are downloaded: each ``vulnerabilities`` check
remembers its host's system (its os-release ID), and a feed is fetched once a server it covers
has been seen — CISA's KEV catalogue always. Every minute the job looks for a feed that is due
(no copy, another URL, not confirmed for ``site.vulnerabilities.refresh``; a failed download
waits an hour), downloads it in a worker thread with its size and time limits, and, when new
data came (or a feed started or stopped failing), runs the vulnerabilities checks again.
Offline, the last copies stay and the check states their age.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from muni_watchdog.checks.base import CheckType
from muni_watchdog.checks.vulns.check import (
    SYSTEM_KEY,
    FeedAccess,
    VulnerabilitiesCheck,
    feeds_directory,
)
from muni_watchdog.checks.vulns.settings import feed_due, needed_sources
from muni_watchdog.checks.vulns.sources import FeedSource
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import CheckKey
from muni_watchdog.daemon.runtime import Runtime, SiteJob

if TYPE_CHECKING:
    from muni_watchdog.checks.vulns.feeds import FetchResult

log = logging.getLogger("muni-watchdog")
TICK = 60.0   # how often the job looks for a due feed (cheap: a few small files and rows)


def vulnerabilities_check(config: Config, state_dir: Path) -> VulnerabilitiesCheck:
    """The check type reading the feed copies in ``<state_dir>/vulns`` (the daemon's, and
    ``muni-watchdog check``'s)."""
    return VulnerabilitiesCheck(FeedAccess.of(config.site.vulnerabilities,
                                              feeds_directory(state_dir)))


def vulnerability_checks(config: Config) -> set[CheckKey]:
    """Every configured ``vulnerabilities`` check."""
    return {CheckKey(t.id, p.check_name) for t in config.targets for p in t.checks
            if p.check == "vulnerabilities"}


def systems_seen(store, keys: Iterable[CheckKey]) -> set[str]:
    """The os-release IDs the vulnerabilities checks found on their hosts (their memory)."""
    found = set()
    for key in keys:
        _status, memory = store.load_status(key)
        system = memory.get(SYSTEM_KEY) if isinstance(memory, dict) else None
        if isinstance(system, str) and system:
            found.add(system)
    return found


def due_sources(config: Config, directory: Path, systems: Iterable[str], now: datetime,
                force: bool = False) -> list[FeedSource]:
    """The needed feeds that should be downloaded now (all needed ones with ``force``)."""
    from muni_watchdog.checks.vulns.feeds import read_meta
    settings = config.site.vulnerabilities
    raw = Path(directory) / "raw"
    due = []
    for source in needed_sources(settings.sources(), systems):
        has_copy = (raw / f"{source.name}.data").is_file()
        if force or feed_due(source, read_meta(raw, source.name), has_copy, now,
                             settings.refresh):
            due.append(source)
    return due


def download(source: FeedSource, directory: Path, now: datetime) -> FetchResult:
    """One feed, with its limits (blocking: run it in a thread); logged either way."""
    from muni_watchdog.checks.vulns.feeds import update_feed
    result = update_feed(source, directory, now)
    copy = result.copy
    if result.error:
        kept = (f"; the copy from {copy.verified_at:%Y-%m-%d %H:%M} UTC stays in use"
                if copy is not None and copy.verified_at else "; there is no copy yet")
        log.warning("vulnerability feed %s: download failed: %s%s", source.name,
                    result.error, kept)
    elif result.changed:
        log.info("vulnerability feed %s: downloaded %d bytes from %s", source.name,
                 copy.size if copy else 0, source.url)
    else:
        log.debug("vulnerability feed %s: unchanged (304)", source.name)
    return result


class VulnerabilityFeeds(SiteJob):
    """``site.vulnerabilities``: keeps the needed feeds fresh and wires the check type."""

    config: Config | None = None
    runtime: Runtime | None = None

    def __init__(self, tick: float = TICK):
        self.every = tick

    async def install(self, config: Config, runtime: Runtime) -> None:
        self.config, self.runtime = config, runtime
        runtime.remove_jobs("vuln-feeds")
        if vulnerability_checks(config):
            runtime.scheduler.add_job(self.tick, IntervalTrigger(seconds=self.every),
                                      id="vuln-feeds", next_run_time=runtime.clock(),
                                      misfire_grace_time=max(1, int(self.every)))

    def check_types(self, config: Config, runtime: Runtime) -> Mapping[str, CheckType]:
        return {"vulnerabilities": vulnerabilities_check(config, runtime.state_dir)}

    async def tick(self) -> list[str]:
        """Download the feeds that are due, one after the other; returns their names. When
        new data came, the vulnerabilities checks run again."""
        from muni_watchdog.checks.vulns.feeds import read_meta
        config, runtime = self.config, self.runtime
        if config is None or runtime is None:
            return []
        keys = vulnerability_checks(config)
        directory = feeds_directory(runtime.state_dir)
        try:
            systems = systems_seen(runtime.store, keys)
            due = due_sources(config, directory, systems, runtime.clock())
        except Exception:  # a damaged meta file or row must not stop the daemon
            log.exception("vulnerability feeds: cannot tell which feeds are due")
            return []
        changed = False
        for source in due:
            failing_before = bool(read_meta(directory / "raw", source.name).get("last_error"))
            try:
                result = await asyncio.to_thread(download, source, directory, runtime.clock())
            except Exception:  # a bug in one download must not stop the others
                log.exception("vulnerability feed %s: download crashed", source.name)
                continue
            # New data, or a feed that just started or stopped failing: the checks say so.
            changed = changed or result.changed or bool(result.error) != failing_before
        if changed:
            runtime.run_checks_now(keys)
        return [s.name for s in due]
