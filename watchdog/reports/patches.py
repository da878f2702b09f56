"""Patching, as the monthly report counts it: security updates pending and how long they have
waited against the patches check's own ``security_warn_age``, and reboots required."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from muni_watchdog.reports.history import when
from muni_watchdog.reports.names import target_name

DEFAULT_SECURITY_POLICY_DAYS = 3.0


@dataclass(frozen=True)
class PatchSummary:
    hosts: int
    overdue: list[tuple[str, str, float]]   # (target name, package, days pending)
    reboots: list[tuple[str, str]]           # (target name, reason)
    policy_days: float
    checked_at: datetime | None
    pending: int = 0                         # security updates pending (not phased)
    oldest_days: float | None = None         # how long the oldest of them has waited


def security_pending(items: Sequence[dict[str, Any]]) -> list[float]:
    """Days each pending security update has waited (phased updates are not offered yet, so
    they are not waiting on anyone). The report's patch line and its trend count these."""
    return [float(i.get("pending_days") or 0) for i in items
            if i.get("kind") == "package" and i.get("security") and not i.get("phased")]


def patch_summary(current: Sequence[dict[str, Any]], config: Any, service: Any) -> PatchSummary:
    overdue, reboots, hosts, checked, waiting = [], [], 0, [], []
    policy_days = DEFAULT_SECURITY_POLICY_DAYS
    for row in current:
        if row["target"] not in service.targets or not row["check_name"].startswith("patches"):
            continue
        hosts += 1
        checked.append(when(row["last_check"]))
        policy = _security_policy_days(config, row["target"], row["check_name"])
        policy_days = policy
        name = target_name(config, row["target"])
        items = json.loads(row["items"] or "[]")
        waiting += security_pending(items)
        for item in items:
            if item.get("kind") == "package" and item.get("security") and \
                    not item.get("phased") and (item.get("pending_days") or 0) > policy:
                overdue.append((name, item["name"], float(item["pending_days"])))
            if item.get("kind") == "reboot" and item.get("required"):
                reasons = item.get("reasons") or ["reboot required"]
                reboots.append((name, "; ".join(reasons)))
    return PatchSummary(hosts, sorted(overdue, key=lambda o: -o[2]), reboots, policy_days,
                        max((c for c in checked if c), default=None), len(waiting),
                        max(waiting) if waiting else None)


def _security_policy_days(config: Any, target_id: str, check_name: str) -> float:
    target = config.target_by_id.get(target_id)
    for params in getattr(target, "checks", []) or []:
        if getattr(params, "check", None) == "patches" and hasattr(params, "security_warn_age"):
            return params.security_warn_age / 86400
    return DEFAULT_SECURITY_POLICY_DAYS
