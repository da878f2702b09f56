"""``patches``: pending updates judged by *age*, and reboots pending, over SSH.

Debian/Ubuntu (apt), RHEL family (dnf), SUSE (zypper) and Windows (PowerShell). The first time
each pending update is seen is remembered (the check's memory, kept in the state database);
an update pending for days is what matters, not how many there are.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from checks.base import CollectError, Evaluation, TargetInfo
from checks.ssh.common import (
    ABSENT,
    HostKeyAlarm,
    RemoteData,
    SshCheckParams,
    alarm,
    days,
    run_powershell,
    run_sections,
)
from checks.ssh.connection import CommandResult
from checks.ssh.packages import (
    PendingUpdate,
    kernels_from_boot,
    merge_dnf,
    newest_mtime,
    parse_apt_simulation,
    parse_dnf_check_update,
    parse_dnf_security,
    parse_needrestart,
    parse_zypper_patches,
    parse_zypper_updates,
    version_key,
)
from checks.ssh.sections import Section
from checks.ssh.windows import PATCH_SCRIPT, parse_windows_patches
from watchdog.model import CheckContext, Metric, Outcome, Result, State
from watchdog.types import Duration, Timeout

DAY = 86400.0

APT_SIMULATE = ("apt-get -s -q -o Debug::NoLocking=true "
                "-o APT::Get::Show-User-Simulation-Note=false dist-upgrade")
APT_LISTS = ("/var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release "
             "/var/lib/apt/lists/partial /var/lib/apt/periodic/update-success-stamp "
             "/var/lib/apt/periodic/update-stamp")


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


def linux_parts(sudo: bool) -> list[tuple[str, str]]:
    root = "sudo -n " if sudo else ""
    need = "command -v {0} >/dev/null 2>&1 || exit 200; "
    return [
        ("now", "date +%s"),
        ("apt_lists", "command -v apt-get >/dev/null 2>&1 || exit 200; date +%s; "
                      f"stat -c '%Y %n' {APT_LISTS} 2>/dev/null; true"),
        ("apt", need.format("apt-get") + APT_SIMULATE + " 2>&1"),
        ("dnf_cache", "command -v dnf >/dev/null 2>&1 || exit 200; date +%s; "
                      "stat -c '%Y %n' /var/cache/dnf/*/repodata/repomd.xml 2>/dev/null; true"),
        ("dnf", need.format("dnf") + "dnf -q -C check-update 2>&1"),
        ("dnf_security", need.format("dnf") +
         "dnf -q -C updateinfo list --security --available 2>/dev/null"),
        ("dnf_restart", need.format("dnf") + "dnf -q -C needs-restarting -r 2>&1"),
        ("zypper_cache", "command -v zypper >/dev/null 2>&1 || exit 200; date +%s; "
                         "stat -c '%Y %n' /var/cache/zypp/raw/*/repodata/repomd.xml "
                         "2>/dev/null; true"),
        ("zypper_patches", need.format("zypper") + "zypper -n --no-refresh -q list-patches "
                           "--category security 2>&1"),
        ("zypper_updates", need.format("zypper") + "zypper -n --no-refresh -q list-updates "
                           "2>&1"),
        ("zypper_reboot", need.format("zypper") + "zypper -n needs-rebooting >/dev/null 2>&1"),
        ("reboot_flag", "[ -f /run/reboot-required ] || exit 1; stat -c %Y "
                        "/run/reboot-required; cat /run/reboot-required.pkgs 2>/dev/null; true"),
        ("kernel", "uname -r; ls -1 /boot/vmlinuz-* 2>/dev/null; true"),
        ("needrestart", "[ -x /usr/sbin/needrestart ] || exit 200; "
                        f"{root}/usr/sbin/needrestart -b 2>/dev/null"),
    ]


class PatchesCheck:
    """Pending updates judged by how long they have been pending (first-seen times kept in
    the state database), stale package lists (UNKNOWN), and reboots pending. Debian/Ubuntu:
    `apt-get -s dist-upgrade` (security = a -security origin, Ubuntu ESM included; phased
    updates not counted); RHEL: `dnf check-update` + `dnf updateinfo list --security`; SUSE:
    `zypper list-patches --category security`; Windows: PowerShell (hotfixes, last install,
    pending reboot)."""

    type = "patches"
    Params = PatchesParams

    async def collect(self, target: TargetInfo, params: PatchesParams):
        from checks.ssh.common import session_of
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


# --- Linux ----------------------------------------------------------------------------------

def _present(raw: RemoteData, name: str) -> Section | None:
    found = raw.sections.get(name)
    return None if found is None or found.rc == ABSENT else found


def _evaluate_linux(raw: RemoteData, params: PatchesParams, ctx: CheckContext) -> Evaluation:
    results: list[Result] = []
    notes: list[dict[str, Any]] = []
    apt, dnf, zypper = (_present(raw, "apt"), _present(raw, "dnf"),
                        _present(raw, "zypper_patches"))
    if apt is not None:
        family, cache = "apt", raw.sections.get("apt_lists")
        sim = parse_apt_simulation(apt.text)
        if apt.rc != 0:
            raise CollectError("apt-get -s dist-upgrade failed: " +
                               ("; ".join(sim.errors) or apt.text.strip()[-300:]))
        updates = sim.updates
        notes += [{"kind": "kept_back", "name": n} for n in sim.kept_back]
        notes += [{"kind": "removal", "name": n} for n in sim.removals]
    elif dnf is not None:
        family, cache = "dnf", raw.sections.get("dnf_cache")
        if dnf.rc not in (0, 100):
            raise CollectError(f"dnf check-update failed (exit {dnf.rc}): "
                               f"{dnf.text.strip()[-300:]}")
        security = parse_dnf_security(raw.sections["dnf_security"].text) \
            if "dnf_security" in raw.sections else {}
        updates = merge_dnf(parse_dnf_check_update(dnf.text), security)
    elif zypper is not None:
        family, cache = "zypper", raw.sections.get("zypper_cache")
        if zypper.rc not in (0, 100, 101, 102, 103):
            raise CollectError(f"zypper list-patches failed (exit {zypper.rc}): "
                               f"{zypper.text.strip()[-300:]}")
        updates = parse_zypper_patches(zypper.text) + [
            u for u in parse_zypper_updates(raw.sections["zypper_updates"].text)]
    else:
        raise CollectError("no apt-get, dnf or zypper on this host")

    remote_now, newest = newest_mtime(cache.text) if cache else (None, None)
    lists_age = None if remote_now is None or newest is None else max(0.0, remote_now - newest)
    if lists_age is None:
        results.append(Result(State.UNKNOWN, f"cannot tell when the {family} package lists "
                              "were last refreshed; pending updates cannot be trusted"))
    elif lists_age > params.lists_max_age:
        results.append(Result(State.UNKNOWN, f"{family} package lists are {days(lists_age)} "
                              f"old (more than {params.lists_max_age / 3600:g}h): refresh them "
                              "(apt-daily.timer / dnf-makecache.timer) — until then the count "
                              "of pending updates means nothing"))
    internet = raw.internet_facing
    evaluation = _judge_updates(updates, params, ctx, internet, results)
    reboot = _reboot_linux(raw, family)
    _judge_reboot(reboot, params, ctx, results, evaluation["memory"])
    metrics = evaluation["metrics"]
    if lists_age is not None:
        metrics.append(Metric("lists_age", round(lists_age / 3600, 2), "h",
                              params.lists_max_age / 3600, min=0))
    items = evaluation["items"] + notes + [dict(reboot, kind="reboot")]
    return Evaluation(Outcome.of(results, metrics, items), evaluation["memory"])


def _reboot_linux(raw: RemoteData, family: str) -> dict[str, Any]:
    reasons: list[str] = []
    since: float | None = None
    flag = raw.sections.get("reboot_flag")
    if flag is not None and flag.rc == 0 and flag.text.strip():
        lines = flag.text.splitlines()
        since = float(lines[0]) if lines[0].strip().isdigit() else None
        pkgs = [ln.strip() for ln in lines[1:] if ln.strip()]
        reasons.append("/run/reboot-required" + (f" ({', '.join(pkgs[:5])})" if pkgs else ""))
    kernel = raw.sections.get("kernel")
    running = newest_kernel = None
    if kernel is not None and kernel.text.strip():
        lines = kernel.text.splitlines()
        running = lines[0].strip()
        installed = kernels_from_boot("\n".join(lines[1:]))
        # Only comparable when the running kernel is one of the installed ones (not a
        # container's host kernel).
        if installed and running in installed:
            newest_kernel = installed[-1]
            if version_key(newest_kernel) > version_key(running):
                reasons.append(f"kernel {newest_kernel} installed, {running} running")
    restart = _present(raw, "needrestart")
    services: list[str] = []
    if restart is not None:
        info = parse_needrestart(restart.text)
        services = list(info["services"])  # type: ignore[arg-type]
        if (info.get("kernel_status") or 0) >= 2 and not any("kernel" in r for r in reasons):
            reasons.append(f"needrestart: kernel {info.get('kernel_expected') or 'upgrade'} "
                           "pending")
    dnf_restart = _present(raw, "dnf_restart") if family == "dnf" else None
    if dnf_restart is not None and dnf_restart.rc == 1:
        reasons.append("dnf needs-restarting -r: core libraries or services updated")
    zypper_reboot = _present(raw, "zypper_reboot") if family == "zypper" else None
    if zypper_reboot is not None and zypper_reboot.rc == 102:
        reasons.append("zypper needs-rebooting")
    return {"required": bool(reasons), "reasons": reasons, "since_epoch": since,
            "running_kernel": running, "newest_kernel": newest_kernel,
            "services_to_restart": services}


# --- shared judgement -----------------------------------------------------------------------

def _judge_updates(updates: list[PendingUpdate], params: PatchesParams, ctx: CheckContext,
                   internet_facing: bool, results: list[Result]) -> dict[str, Any]:
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
    else:
        results.append(Result(State.OK, "no security updates pending"))
    if count[False]:
        state = State.WARNING if params.other_warn_age is not None and \
            oldest[False] >= params.other_warn_age else State.OK
        results.append(Result(state, f"{count[False]} other updates pending, oldest for "
                              f"{days(oldest[False])}"))
    metrics = [Metric("security_updates", count[True], min=0),
               Metric("other_updates", count[False], min=0),
               Metric("security_oldest", round(oldest[True] / DAY, 2), "d",
                      params.security_warn_age / DAY, crit / DAY, 0)]
    return {"items": items, "metrics": metrics, "memory": {"first_seen": first_seen}}


def _judge_reboot(reboot: dict[str, Any], params: PatchesParams, ctx: CheckContext,
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


# --- Windows --------------------------------------------------------------------------------

def _evaluate_windows(result: CommandResult, internet_facing: bool, params: PatchesParams,
                      ctx: CheckContext) -> Evaluation:
    if result.exit_status != 0 and not result.stdout.strip():
        raise CollectError(f"PowerShell failed (exit {result.exit_status}): "
                           f"{result.stderr.strip()[-300:]}")
    try:
        state = parse_windows_patches(result.stdout)
    except ValueError as exc:
        raise CollectError(f"PowerShell did not print JSON: {exc}") from None
    results: list[Result] = []
    evaluation: dict[str, Any] = {"items": [], "metrics": [], "memory": {"first_seen": {}}}
    if state.pending is None:
        results.append(Result(State.UNKNOWN, state.search_error or "update search failed"))
    else:
        evaluation = _judge_updates(state.pending, params, ctx, internet_facing, results)
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
    _judge_reboot(reboot, params, ctx, results, evaluation["memory"])
    items = evaluation["items"] + [dict(h, kind="hotfix") for h in state.hotfixes[-20:]] + \
        [dict(reboot, kind="reboot")]
    return Evaluation(Outcome.of(results, evaluation["metrics"], items), evaluation["memory"])

