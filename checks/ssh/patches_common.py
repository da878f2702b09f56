"""What every ``patches`` evaluation shares: the parameters and the judgement of pending
updates by age and of a pending reboot (Linux and Windows alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from muni_watchdog.checks.ssh.common import SshCheckParams, days
from muni_watchdog.checks.ssh.packages import PendingUpdate
from muni_watchdog.core.model import CheckContext, Metric, Result, State
from muni_watchdog.core.types import Duration, Timeout

DAY = 86400.0


class PatchesParams(SshCheckParams):
    check: Literal["patches"] = "patches"
    timeout: Timeout = Field(120.0, description="Longest the package queries may take.")
    security_warn_age: Duration = Field(3 * DAY, description="Warn when a security update has "
                                        "been pending this long.")
    security_crit_age: Duration | None = Field(
        None, description="Critical when a security update has been pending this long; "
        "default 14d, or 7d when the target is internet_facing.")
    other_warn_age: Duration | None = Field(30 * DAY, description="Warn when any other update "
                                            "has been pending this long.")
    lists_max_age: Duration = Field(48 * 3600, description="Package lists older than this "
                                    "make the result UNKNOWN: zero updates may only mean "
                                    "nobody ran apt-get update.")
    reboot_warn_age: Duration = Field(3 * DAY, description="Warn when a reboot has been "
                                      "pending this long.")
    reboot_crit_age: Duration = Field(14 * DAY, description="Critical after this long.")
    windows_install_warn_age: Duration = Field(
        35 * DAY, description="Windows: warn when no update was installed for this long (a "
        "monthly Patch Tuesday plus a few days).")
    windows_install_crit_age: Duration = Field(60 * DAY, description="Windows: critical after.")
    sudo: bool = Field(False, description="Run needrestart through `sudo -n` (it needs root "
                       "to see every process; see the README's sudoers lines).")

    def security_crit(self, internet_facing: bool) -> float:
        if self.security_crit_age is not None:
            return self.security_crit_age
        return 7 * DAY if internet_facing else 14 * DAY


# --- shared judgement -----------------------------------------------------------------------

def judge_updates(updates: list[PendingUpdate], params: PatchesParams, ctx: CheckContext,
                  internet_facing: bool, results: list[Result], security_known: bool = True
                  ) -> dict[str, Any]:
    """Counts and ages, first-seen times remembered. ``security_known=False`` (the host's
    repositories publish no advisories): no "no security updates" all-clear is given."""
    now = ctx.now
    seen_before: dict[str, str] = dict(ctx.memory.get("first_seen", {}))
    first_seen: dict[str, str] = {}
    items = []
    oldest = {True: 0.0, False: 0.0}
    count = {True: 0, False: 0}
    for update in updates:
        item = {"kind": "package", "name": update.name, "version": update.version,
                "current": update.current, "origins": list(update.origins),
                "security": update.security, "phased": update.phased}
        if update.severity:
            item["severity"] = update.severity
        if update.phased:  # not installable yet: neither counted nor aged
            items.append(item)
            continue
        # Keyed by package name: a newer version of a still-unpatched package keeps the age.
        seen = seen_before.get(update.name) or now.isoformat()
        first_seen[update.name] = seen
        age = (now - datetime.fromisoformat(seen)).total_seconds()
        item.update(first_seen=seen, pending_days=round(age / DAY, 2))
        items.append(item)
        count[update.security] += 1
        oldest[update.security] = max(oldest[update.security], age)
    crit = params.security_crit(internet_facing)
    if count[True]:
        state = State.CRITICAL if oldest[True] >= crit else \
            State.WARNING if oldest[True] >= params.security_warn_age else State.OK
        results.append(Result(state, f"{count[True]} security updates pending, oldest for "
                              f"{days(oldest[True])} (warn {days(params.security_warn_age)}, "
                              f"critical {days(crit)})"))
    elif security_known:
        results.append(Result(State.OK, "no security updates pending"))
    if count[False]:
        state = State.WARNING if params.other_warn_age is not None and \
            oldest[False] >= params.other_warn_age else State.OK
        what = "other updates" if security_known else "updates (which fix security " \
            "problems is unknown)"
        results.append(Result(state, f"{count[False]} {what} pending, oldest for "
                              f"{days(oldest[False])}"))
    metrics = [Metric("security_updates", count[True], min=0),
               Metric("other_updates", count[False], min=0),
               Metric("security_oldest", round(oldest[True] / DAY, 2), "d",
                      params.security_warn_age / DAY, crit / DAY, 0)]
    return {"items": items, "metrics": metrics, "memory": {"first_seen": first_seen}}


def judge_reboot(reboot: dict[str, Any], params: PatchesParams, ctx: CheckContext,
                 results: list[Result], memory: dict[str, Any]) -> None:
    if not reboot["required"]:
        return
    since_epoch = reboot.get("since_epoch")
    if since_epoch:
        since = datetime.fromtimestamp(since_epoch, UTC)
    else:
        since = datetime.fromisoformat(ctx.memory.get("reboot_since") or ctx.now.isoformat())
    memory["reboot_since"] = since.isoformat()
    reboot["since"] = since.isoformat()
    age = max(0.0, (ctx.now - since).total_seconds())
    state = State.CRITICAL if age >= params.reboot_crit_age else \
        State.WARNING if age >= params.reboot_warn_age else State.OK
    results.append(Result(state, f"reboot required for {days(age)}: "
                          f"{'; '.join(reboot['reasons'])}"))
