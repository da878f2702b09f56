"""``patches``: pending updates judged by *age*, and reboots pending, over SSH.

Debian/Ubuntu (apt), RHEL family (dnf, or yum on RHEL/CentOS 7), SUSE (zypper) and Windows
(PowerShell). The first time each pending update is seen is remembered (the check's memory, kept
in the state database); an update pending for days is what matters, not how many there are.
"""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.base import CollectError, Evaluation, TargetInfo
from muni_watchdog.checks.ssh.common import (
    HostKeyAlarm,
    RemoteData,
    alarm,
    days,
    exit_reason,
    run_powershell,
    run_sections,
)
from muni_watchdog.checks.ssh.connection import CommandResult
from muni_watchdog.checks.ssh.patches_common import DAY, PatchesParams, judge_reboot, judge_updates
from muni_watchdog.checks.ssh.patches_linux import linux_parts, lists_age, read_family, read_reboot
from muni_watchdog.checks.ssh.windows import PATCH_SCRIPT, parse_windows_patches, powershell_errors
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

__all__ = ["DAY", "PatchesCheck", "PatchesParams", "linux_parts"]


class PatchesCheck:
    """Pending updates judged by how long they have been pending (first-seen times kept in
    the state database), stale package lists (UNKNOWN), and reboots pending. Debian/Ubuntu:
    `apt-get -s dist-upgrade` (security = a -security origin, Ubuntu ESM included; phased
    updates not counted); RHEL: `dnf check-update` (or `yum` on RHEL 7; obsoleting
    replacements count) + `updateinfo list`; SUSE: `zypper list-patches` (zypper's own count
    checked); Windows: PowerShell (hotfixes, last install, pending reboot)."""

    type = "patches"
    Params = PatchesParams

    async def collect(self, target: TargetInfo, params: PatchesParams):
        from muni_watchdog.checks.ssh.common import session_of
        async with session_of(target) as session:
            os_name = await session.detect_os(min(params.timeout, 30))
            if os_name == "windows":
                result = await run_powershell(target, params, PATCH_SCRIPT)
                return result if isinstance(result, HostKeyAlarm) else \
                    ("windows", result, bool(getattr(target.connection, "internet_facing",
                                                     False)))
            return await run_sections(target, params, linux_parts(params.sudo))

    def evaluate(self, raw, params: PatchesParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        if isinstance(raw, tuple):
            return _evaluate_windows(raw[1], raw[2], params, ctx)
        return _evaluate_linux(raw, params, ctx)


def _evaluate_linux(raw: RemoteData, params: PatchesParams, ctx: CheckContext) -> Evaluation:
    family = read_family(raw, params.sudo)
    results: list[Result] = list(family.results)
    age, why = lists_age(raw, family)
    if age is None:
        results.append(Result(State.UNKNOWN, f"cannot tell when the {family.name} package "
                              f"lists were last refreshed ({why}); pending updates cannot be "
                              "trusted"))
    elif age > params.lists_max_age:
        results.append(Result(State.UNKNOWN, f"{family.name} package lists are {days(age)} "
                              f"old (more than {params.lists_max_age / 3600:g}h): refresh them "
                              f"({family.refresh}) — until then the count of pending updates "
                              "means nothing"))
    evaluation = judge_updates(family.updates, params, ctx, raw.internet_facing, results,
                               family.security_known)
    reboot, unknown = read_reboot(raw, family.name)
    if unknown:
        results.append(Result(State.UNKNOWN, "cannot tell whether a reboot is pending: "
                              + "; ".join(unknown)))
    judge_reboot(reboot, params, ctx, results, evaluation["memory"])
    metrics = evaluation["metrics"]
    if age is not None:
        metrics.append(Metric("lists_age", round(age / 3600, 2), "h",
                              params.lists_max_age / 3600, min=0))
    items = evaluation["items"] + family.notes + [dict(reboot, kind="reboot")]
    return Evaluation(Outcome.of(results, metrics, items), evaluation["memory"])


# --- Windows --------------------------------------------------------------------------------

def _evaluate_windows(result: CommandResult, internet_facing: bool, params: PatchesParams,
                      ctx: CheckContext) -> Evaluation:
    errors = powershell_errors(result.stderr)
    if result.exit_status != 0:
        said = errors[0] if errors else result.stdout.strip()[-300:]
        raise CollectError(f"PowerShell: {exit_reason(result.exit_status)}"
                           + (f": {said}" if said else ""))
    if errors:
        raise CollectError(f"PowerShell reported an error: {errors[0]}")
    if not result.stdout.strip():
        raise CollectError("PowerShell printed nothing")
    try:
        state = parse_windows_patches(result.stdout)
    except ValueError as exc:
        raise CollectError(f"PowerShell's answer is not the expected JSON: {exc}") from None
    results: list[Result] = []
    evaluation: dict[str, Any] = {"items": [], "metrics": [], "memory": {"first_seen": {}}}
    if state.pending is None:
        results.append(Result(State.UNKNOWN, state.search_error or "update search failed"))
    else:
        evaluation = judge_updates(state.pending, params, ctx, internet_facing, results)
    last = state.last_install or state.last_hotfix
    if last is not None:
        age = (ctx.now - last).total_seconds()
        level = State.CRITICAL if age >= params.windows_install_crit_age else \
            State.WARNING if age >= params.windows_install_warn_age else State.OK
        results.append(Result(level, f"last update installed {days(age)} ago "
                              f"({last.date().isoformat()})"))
        evaluation["metrics"].append(Metric("last_install_age", round(age / DAY, 1), "d",
                                            params.windows_install_warn_age / DAY,
                                            params.windows_install_crit_age / DAY, 0))
    else:
        results.append(Result(State.UNKNOWN, "no installed update has a date"))
    reboot = {"required": state.reboot_pending, "reasons": state.reboot_reasons}
    judge_reboot(reboot, params, ctx, results, evaluation["memory"])
    items = evaluation["items"] + [dict(h, kind="hotfix") for h in state.hotfixes[-20:]] + \
        [dict(reboot, kind="reboot")]
    return Evaluation(Outcome.of(results, evaluation["metrics"], items), evaluation["memory"])

