"""The ``vulnerabilities`` check type (ssh targets): the installed packages over SSH
(binary and source names and versions), matched against the vulnerability feeds the daemon
keeps in ``<state>/vulns`` (site.vulnerabilities), judged purely: a known-exploited CVE with
a fix is CRITICAL at once, others by severity and how long the fix has waited, no fix yet is
listed. No feed for the host is UNKNOWN, never OK.

The check does not download: the daemon's feed job does, on its own schedule, and gives the
check type a :class:`FeedAccess` (where the copies are, which feeds, how old they may be).
Each finding names the services the host serves (from :class:`TargetInfo`), and the check
remembers the host's system (its os-release ID), which tells the feed job what to download.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from muni_watchdog.checks.base import CollectError, Evaluation, TargetInfo
from muni_watchdog.checks.ssh.common import HostKeyAlarm, alarm
from muni_watchdog.checks.ssh.installed import collect_installed
from muni_watchdog.checks.vulns.params import VulnParams
from muni_watchdog.checks.vulns.settings import VulnerabilitySettings
from muni_watchdog.core.model import CheckContext

if TYPE_CHECKING:
    from muni_watchdog.checks.ssh.installed import InstalledSoftware
    from muni_watchdog.checks.vulns.index import FeedView

SYSTEM_KEY = "system"   # in the check's memory: the host's os-release ID


@dataclass(frozen=True)
class FeedAccess:
    """Where the feed copies are and how they are read: the advisory feeds by name, the KEV
    catalogue's name, and the site's age limits (a check's own parameters may override)."""

    directory: Path
    feeds: tuple[str, ...]
    kev: str
    max_age: float
    kev_max_age: float

    @classmethod
    def of(cls, settings: VulnerabilitySettings, directory: Path) -> FeedAccess:
        return cls(Path(directory), settings.advisory_feeds, settings.kev_name,
                   settings.max_age, settings.kev_max_age)


@dataclass(frozen=True)
class VulnRaw:
    installed: InstalledSoftware
    view: FeedView
    services: tuple[str, ...] = ()


def feeds_directory(state_dir: str | Path) -> Path:
    """Where the daemon keeps the feed copies: ``<state>/vulns``."""
    return Path(state_dir) / "vulns"


class VulnerabilitiesCheck:
    type = "vulnerabilities"
    Params = VulnParams

    def __init__(self, access: FeedAccess | None = None):
        self.access = access

    async def collect(self, target: TargetInfo, params: VulnParams
                      ) -> VulnRaw | HostKeyAlarm:
        access = self.access
        if access is None:
            raise CollectError("no vulnerability feeds to match against: the daemon "
                               "downloads them into <state>/vulns (muni-watchdog vulns "
                               "update); run this check in the daemon, or with "
                               "`muni-watchdog check --state-dir`")
        from muni_watchdog.checks.vulns.feeds import load_view
        from muni_watchdog.checks.vulns.match import package_names
        found = await collect_installed(target, params)
        if isinstance(found, HostKeyAlarm):
            return found
        # Reading the index is file I/O bounded by the host's packages: off the event loop.
        view = await asyncio.to_thread(load_view, access.directory, found.os,
                                       package_names(found), access.feeds, access.kev)
        return VulnRaw(found, view, target.services)

    def evaluate(self, raw: VulnRaw | HostKeyAlarm, params: VulnParams,
                 ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        from muni_watchdog.checks.vulns.judge import evaluate_vulnerabilities
        access = self.access
        if access is not None:
            params = params.model_copy(update={
                "feed_max_age": params.feed_max_age or access.max_age,
                "kev_max_age": params.kev_max_age or access.kev_max_age})
        evaluation = evaluate_vulnerabilities(raw.installed, raw.view, params, ctx)
        outcome = evaluation.outcome
        services = list(raw.services)
        items = tuple({**item, "services": services} if item.get("kind") == "vulnerability"
                      else item for item in outcome.items)
        memory = {**evaluation.memory, SYSTEM_KEY: raw.installed.os.id}
        return Evaluation(replace(outcome, items=items) if items != outcome.items
                          else outcome, memory)

