"""``ssh`` checks of the system itself: memory, load, uptime, services, timesync (and disk,
in checks_disk). Each reads its sections through ``read_section``: a command that is missing,
fails, complains on stderr, prints nothing or is cut short makes the check UNKNOWN with that
reason, never OK."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import CollectError, Evaluation, TargetInfo
from muni_watchdog.checks.lifecycle import lifecycle_item
from muni_watchdog.checks.ssh.checks_disk import DiskCheck, DiskParams
from muni_watchdog.checks.ssh.common import (
    HostKeyAlarm,
    RemoteData,
    SshCheckParams,
    alarm,
    days,
    gib,
    read_section,
    run_sections,
    section_problem,
)
from muni_watchdog.checks.ssh.connection import shell_command
from muni_watchdog.checks.ssh.system import (
    listed_units,
    parse_epoch,
    parse_failed_units,
    parse_key_values,
    parse_loadavg,
    parse_meminfo,
    parse_os_release,
    parse_uptime,
    systemd_absent,
)
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State
from muni_watchdog.core.types import Duration

__all__ = ["DiskCheck", "DiskParams", "LoadCheck", "MemoryCheck", "ServicesCheck",
           "TimesyncCheck", "UptimeCheck"]


def _level(value: float, warn: float | None, crit: float | None) -> State:
    if crit is not None and value >= crit:
        return State.CRITICAL
    if warn is not None and value >= warn:
        return State.WARNING
    return State.OK


def _parsed(parse, text: str):
    """A parser's answer, or CollectError with its complaint (never a bare ValueError)."""
    try:
        return parse(text)
    except ValueError as exc:
        raise CollectError(str(exc)) from None



class MemoryParams(SshCheckParams):
    check: Literal["memory"] = "memory"
    used_warn_percent: float = Field(90, description="Warn when RAM in use (total minus "
                                     "available) passes this (Zabbix {$MEMORY.UTIL.MAX}: 90).")
    used_crit_percent: float = Field(95, description="Critical above this.")
    swap_free_warn_percent: float = Field(50, description="Warn when less swap than this is "
                                          "free (Zabbix {$SWAP.PFREE.MIN.WARN}: 50).")


class MemoryCheck:
    """RAM in use (MemTotal minus MemAvailable, /proc/meminfo) and free swap."""

    type = "memory"
    Params = MemoryParams

    async def collect(self, target: TargetInfo, params: MemoryParams):
        return await run_sections(target, params, [("meminfo", "cat /proc/meminfo")])

    def evaluate(self, raw, params: MemoryParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        info = parse_meminfo(read_section(raw, "meminfo", "cat /proc/meminfo").text)
        total = info.get("MemTotal")
        available = info.get("MemAvailable")
        if not total or available is None:
            raise CollectError("/proc/meminfo lacks MemTotal or MemAvailable")
        used_pct = 100.0 * (total - available) / total
        results = [Result(_level(used_pct, params.used_warn_percent, params.used_crit_percent),
                          f"RAM {used_pct:.0f}% used ({gib(available)} available of "
                          f"{gib(total)})")]
        metrics = [Metric("mem_used", round(used_pct, 2), "%", params.used_warn_percent,
                          params.used_crit_percent, 0, 100)]
        swap_total, swap_free = info.get("SwapTotal", 0), info.get("SwapFree", 0)
        if swap_total:
            free_pct = 100.0 * swap_free / swap_total
            state = State.WARNING if free_pct < params.swap_free_warn_percent else State.OK
            results.append(Result(state, f"swap {free_pct:.0f}% free"))
            metrics.append(Metric("swap_free", round(free_pct, 2), "%", min=0, max=100))
        return Evaluation(Outcome.of(results, metrics))


class LoadParams(SshCheckParams):
    check: Literal["load"] = "load"
    per_cpu_warn: float = Field(5.0, description="Warn when the 15-minute load per CPU passes "
                                "this (Checkmk cpu.loads: 5).")
    per_cpu_crit: float = Field(10.0, description="Critical above this (Checkmk: 10).")


class LoadCheck:
    """The 15-minute load average per CPU (/proc/loadavg, nproc)."""

    type = "load"
    Params = LoadParams

    async def collect(self, target: TargetInfo, params: LoadParams):
        return await run_sections(target, params, [("loadavg", "cat /proc/loadavg"),
                                                    ("cpus", "nproc")])

    def evaluate(self, raw, params: LoadParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        one, five, fifteen = _parsed(parse_loadavg,
                                     read_section(raw, "loadavg", "cat /proc/loadavg").text)
        cpus_text = read_section(raw, "cpus", "nproc").text.strip()
        if not cpus_text.isdigit() or int(cpus_text) < 1:
            raise CollectError(f"nproc: {cpus_text[:40]!r} is not a number of CPUs")
        cpus = int(cpus_text)
        per_cpu = fifteen / cpus
        state = _level(per_cpu, params.per_cpu_warn, params.per_cpu_crit)
        metrics = [Metric("load1", one, min=0), Metric("load5", five, min=0),
                   Metric("load15", fifteen, "", params.per_cpu_warn * cpus,
                          params.per_cpu_crit * cpus, 0)]
        return Evaluation(Outcome.of([Result(state, f"load {one:.2f} {five:.2f} {fifteen:.2f} "
                                             f"on {cpus} CPUs")], metrics))


class UptimeParams(SshCheckParams):
    check: Literal["uptime"] = "uptime"
    recent_reboot_warn: Duration = Field(600, description="Warn while the uptime is below this "
                                         "(Zabbix: 10m), and on the first run after a reboot.")
    os_support_warning: bool = Field(
        True, description="Warn when the operating system is out of support or its support "
        "ends within 180 days (checks/data/lifecycle.json, with each vendor's source).")
    extended_support: bool = Field(
        False, description="The town pays for extended support of this host's OS (Ubuntu "
        "Pro ESM, RHEL ELS, SUSE LTSS): count it as supported.")


class UptimeCheck:
    """Uptime, and reboot detection: warns while the uptime is short and on the first run
    after the boot time changed."""

    type = "uptime"
    Params = UptimeParams

    async def collect(self, target: TargetInfo, params: UptimeParams):
        return await run_sections(target, params, [("now", "date +%s"),
                                                    ("uptime", "cat /proc/uptime"),
                                                    ("os", "cat /etc/os-release"),
                                                    ("kernel", "uname -srm")])

    def evaluate(self, raw, params: UptimeParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        uptime = _parsed(parse_uptime, read_section(raw, "uptime", "cat /proc/uptime").text)
        remote_now = _parsed(parse_epoch, read_section(raw, "now", "date +%s").text)
        boot = remote_now - uptime
        previous = ctx.memory.get("boot_epoch")
        rebooted = previous is not None and boot > float(previous) + 60
        text = f"up {days(uptime)}"
        state = State.OK
        if uptime < params.recent_reboot_warn or rebooted:
            state = State.WARNING
            text = f"rebooted {days(uptime)} ago"
        booted_at = datetime.fromtimestamp(boot, UTC).isoformat()
        # For the inventory: the OS and kernel, when the host tells (a missing file is fine).
        os_release = parse_os_release(_optional(raw, "os"))
        kernel = _optional(raw, "kernel").strip()[:200] or None
        item = {"kind": "boot", "booted_at": booted_at, "rebooted": rebooted,
                "os": os_release.get("PRETTY_NAME") or os_release.get("NAME"),
                "os_id": os_release.get("ID"), "os_version": os_release.get("VERSION_ID"),
                "kernel": kernel}
        results, items = [Result(state, text)], [item]
        if item["os_id"]:
            # the OS's support end (issue 14): flagged here, listed in the inventory
            life, warning = lifecycle_item(item["os_id"], item["os_version"], ctx.now.date(),
                                           name=os_release.get("NAME"),
                                           extended=params.extended_support)
            items.append(life)
            if warning is not None and params.os_support_warning:
                results.append(warning)
        return Evaluation(
            Outcome.of(results, [Metric("uptime", round(uptime), "s", min=0)], items),
            {"boot_epoch": boot})


def _optional(raw, name: str) -> str:
    """A section's text, or "" when the command failed, complained or was cut: a host without
    /etc/os-release or uname still has an uptime. Inventory only — no verdict rests on it."""
    problem = section_problem(raw, name, name, allow_empty=True)
    return "" if problem else raw.sections[name].text


# --- services and time ----------------------------------------------------------------------

class ServicesParams(SshCheckParams):
    check: Literal["services"] = "services"
    units: list[str] = Field(default_factory=list, description="Units that must be active, "
                             "e.g. [smbd.service, postgresql.service].",
                             examples=[["smbd.service"]])
    ignore_failed: list[str] = Field(default_factory=list, description="Failed units to "
                                     "ignore; shell patterns.")
    failed_state: Literal["warning", "critical"] = Field(
        "critical", description="State for a failed unit (Checkmk systemd units: critical).")


class ServicesCheck:
    """systemd: every failed unit, and named units that must be active. The failed units read
    must add up to systemctl's own count ("N loaded units listed.")."""

    type = "services"
    Params = ServicesParams

    async def collect(self, target: TargetInfo, params: ServicesParams):
        # With the legend: systemctl's own count tells a complete answer from a cut one.
        parts = [("failed", "systemctl list-units --failed --all --plain --no-pager")]
        if params.units:
            parts.append(("active", shell_command(["systemctl", "is-active", "--",
                                                   *params.units])))
        return await run_sections(target, params, parts)

    def evaluate(self, raw, params: ServicesParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        _raise_if_no_systemd(raw, "failed")
        failed = read_section(raw, "failed", "systemctl list-units --failed")
        units = parse_failed_units(failed.text)
        listed = listed_units(failed.text)
        if listed is None:
            raise CollectError("systemctl list-units printed no count of units ('N loaded "
                               "units listed.'): its output was not understood")
        if listed != len(units):
            raise CollectError(f"systemctl listed {listed} failed units, but {len(units)} "
                               "could be read")
        bad = State.parse(params.failed_state)
        results, items = [], []
        for unit in units:
            ignored = any(fnmatch.fnmatchcase(unit.name, p) for p in params.ignore_failed)
            items.append({"kind": "unit", "name": unit.name, "active": unit.active,
                          "sub": unit.sub, "description": unit.description,
                          "ignored": ignored})
            if not ignored:
                results.append(Result(bad, f"{unit.name} failed"))
        if params.units:
            # is-active exits 3 when a unit is not active: the answer is in the lines.
            states = read_section(raw, "active", "systemctl is-active", (0, 1, 2, 3, 4)
                                  ).text.splitlines()
            if len(states) != len(params.units):
                raise CollectError(f"systemctl is-active answered {len(states)} lines for "
                                   f"{len(params.units)} units")
            for name, active in zip(params.units, states, strict=True):
                active = active.strip() or "unknown"
                items.append({"kind": "unit", "name": name, "active": active, "required": True})
                if active != "active":
                    # a required unit down is the service down (checks.impact)
                    results.append(Result(State.CRITICAL, f"{name} is {active}",
                                          affects_availability=True))
        if not results:
            results.append(Result(State.OK, f"no failed units; {len(params.units)} required "
                                  "units active"))
        return Evaluation(Outcome.of(results, items=items))


def _no_systemd(raw: RemoteData, name: str) -> str | None:
    found = raw.sections.get(name)
    if found is None or found.cut or found.rc == 0:
        return None
    return systemd_absent(found.stderr + "\n" + found.text)


def _raise_if_no_systemd(raw: RemoteData, name: str) -> None:
    absent = _no_systemd(raw, name)
    if absent:
        raise CollectError(f"systemd cannot answer on this host: {absent}")


class TimesyncParams(SshCheckParams):
    check: Literal["timesync"] = "timesync"
    offset_warn: Duration = Field(60, description="Warn when the server's clock differs from "
                                  "the monitor's by more than this.")
    offset_crit: Duration = Field(240, description="Critical above this (Kerberos refuses "
                                  "tickets beyond 5 minutes of skew).")
    sync_status_required: bool = Field(
        True, description="Also require `timedatectl show` to tell whether the clock is "
        "synchronised (UNKNOWN when it cannot). Set false on hosts without systemd "
        "(containers, OpenRC), where only the clock offset can be judged.")


class TimesyncCheck:
    """The server's clock against the monitor's (measured at the middle of the round trip)
    and `timedatectl show` (NTPSynchronized, NTP)."""

    type = "timesync"
    Params = TimesyncParams

    async def collect(self, target: TargetInfo, params: TimesyncParams):
        return await run_sections(target, params, [("timedatectl", "timedatectl show"),
                                                    ("clock", "date +%s.%N")])

    def evaluate(self, raw, params: TimesyncParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        remote = _parsed(lambda t: parse_epoch(t, "date +%s.%N"),
                         read_section(raw, "clock", "date +%s.%N").text)
        offset = remote - (raw.sent_at + raw.received_at) / 2
        results = [Result(_level(abs(offset), params.offset_warn, params.offset_crit),
                          f"clock offset {offset:+.1f}s")]
        absent = _no_systemd(raw, "timedatectl")
        problem = section_problem(raw, "timedatectl", "timedatectl show")
        info = {} if problem else parse_key_values(raw.sections["timedatectl"].text)
        if absent and not params.sync_status_required:
            results.append(Result(State.OK, f"no systemd ({absent}): judged by the clock "
                                  "offset only"))
        elif problem:
            hint = " (set sync_status_required: false on hosts without systemd)" \
                if absent else ""
            results.append(Result(State.UNKNOWN, "cannot tell whether the clock is "
                                  f"synchronised: {problem}{hint}"))
        elif "NTPSynchronized" not in info:
            results.append(Result(State.UNKNOWN, "timedatectl show did not say whether the "
                                  "clock is synchronised (no NTPSynchronized=)"))
        elif info["NTPSynchronized"] != "yes":
            results.append(Result(State.WARNING, "clock not synchronised "
                                  f"(NTPSynchronized={info['NTPSynchronized']})"))
        elif info.get("NTP") == "no":
            results.append(Result(State.WARNING, "network time sync is switched off (NTP=no)"))
        else:
            results.append(Result(State.OK, "synchronised"))
        return Evaluation(Outcome.of(
            results, [Metric("offset", round(offset, 3), "s", params.offset_warn,
                             params.offset_crit)],
            [{"kind": "clock", "offset_seconds": round(offset, 3),
              "ntp_synchronized": info.get("NTPSynchronized"), "ntp": info.get("NTP"),
              "timezone": info.get("Timezone")}]))
