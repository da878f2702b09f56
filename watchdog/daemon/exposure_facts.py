"""The ``exposure`` check wired with what the daemon knows of each target.

The check probes one target; what to probe depends on facts beyond its host name
(:class:`TargetFacts`): its device class (an HTTP page is a management interface on a switch
or printer, not on a web server), the URLs of its http checks (their TLS endpoints), whether
it is Windows (RDP is expected there), its SNMP and SSH ports, and the services it serves.
They come from the configuration and from what the target's own checks last recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from muni_watchdog.checks.base import CheckType, TargetInfo
from muni_watchdog.checks.exposure.check import ExposureCheck, facts_from_target
from muni_watchdog.checks.exposure.params import TargetFacts
from muni_watchdog.config.models import Config
from muni_watchdog.daemon.runtime import Runtime, SiteJob


def device_class(target: Any, items: list[dict[str, Any]]) -> str | None:
    """The class a ``device`` check is told (``device_class: printer``), else the one the
    target's SNMP ``system`` or ``device`` check last detected (None: not known yet)."""
    for params in target.checks:
        told = getattr(params, "device_class", "auto")
        if params.check == "device" and told not in ("auto", None):
            return str(told)
    return next((str(i["device_class"]) for i in items if i.get("device_class")), None)


def target_facts(config: Config, store: Any, info: TargetInfo) -> TargetFacts:
    """Everything the exposure check should know about ``info``'s target: the connection's
    facts, the URLs of its http checks, its device class, whether it runs Windows."""
    facts = facts_from_target(info)
    target = config.target_by_id.get(info.id)
    if target is None:
        return facts
    urls = tuple(p.resolved_url(target.host) for p in target.checks if p.check == "http")
    named = [p.check_name for p in target.checks
             if p.check in ("system", "device", "uptime", "vulnerabilities")]
    items = store.current_items(target.id, named) if store is not None else []
    windows = facts.windows or any(i.get("kind") == "hotfix" or i.get("os_id") == "windows"
                                   for i in items)
    return replace(facts, urls=urls, device_class=device_class(target, items),
                   windows=windows)


class ExposureFacts(SiteJob):
    """Gives the ``exposure`` check type its facts (the configuration and the store)."""

    async def install(self, config: Config, runtime: Runtime) -> None:
        return None

    def check_types(self, config: Config, runtime: Runtime) -> Mapping[str, CheckType]:
        return {"exposure": exposure_check(config, runtime.store)}


def exposure_check(config: Config, store: Any) -> ExposureCheck:
    """The check type with facts from ``config`` and ``store`` (None: the config's only)."""
    return ExposureCheck(lambda info: target_facts(config, store, info))
