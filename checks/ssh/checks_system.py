"""``ssh`` checks of the system itself: disk, memory, load, uptime, services, timesync."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from checks.base import CollectError, Evaluation, TargetInfo
from checks.ssh.common import (
    HostKeyAlarm,
    RemoteData,
    SshCheckParams,
    alarm,
    days,
    gib,
    run_sections,
    section,
)
from checks.ssh.connection import shell_command
from checks.ssh.system import (
    parse_df,
    parse_failed_units,
    parse_key_values,
    parse_loadavg,
    parse_meminfo,
    parse_os_release,
    parse_uptime,
    real_filesystems,
    systemd_absent,
)
from watchdog.model import CheckContext, Metric, Outcome, Result, State
from watchdog.types import Duration

FORECAST_WINDOW = 7 * 86400
FORECAST_POINTS = 200


def _level(value: float, warn: float | None, crit: float | None) -> State:
    if crit is not None and value >= crit:
        return State.CRITICAL
    if warn is not None and value >= warn:
        return State.WARNING
    return State.OK


# --- disk -----------------------------------------------------------------------------------

class DiskParams(SshCheckParams):
    check: Literal["disk"] = "disk"
    used_warn_percent: float = Field(80, ge=0, le=100, description="Warn above this used "
                                     "percentage (Checkmk df and Zabbix: 80)...")
    used_crit_percent: float = Field(90, ge=0, le=100, description="...critical above this "
                                     "(Checkmk df and Zabbix: 90).")
    free_warn_gb: float | None = Field(10, ge=0, description="...but only when less than this "
                                       "many GiB are free, or it fills within forecast_warn_days "
                                       "(Zabbix's {$VFS.FS.FREE.MIN.WARN} 10G): a big volume "
                                       "at 85% with 500 GiB free is fine. null: percent only.")
    free_crit_gb: float | None = Field(5, ge=0, description="Same for critical (Zabbix: 5G).")
    forecast_warn_days: float = Field(7, ge=0, description="Counts as low on space when the "
                                      "trend fills it within this many days.")
    forecast_crit_days: float = Field(1, ge=0, description="Critical horizon (Zabbix: 1d).")
    inodes_free_warn_percent: float = Field(10, ge=0, le=100, description="Warn below this "
                                            "percentage of free inodes (Checkmk: 10).")
    inodes_free_crit_percent: float = Field(5, ge=0, le=100, description="Critical below "
                                            "(Checkmk: 5).")
    ignore_mounts: list[str] = Field(default_factory=list, description="Mount points to "
                                     "skip; shell patterns, e.g. /snap/*.")
    include_remote: bool = Field(False, description="Also check NFS/CIFS mounts (a hung "
                                 "server can make df hang; off by default, as check_disk -l).")


class DiskCheck:
    """Every real filesystem (`df -PTkl`, `df -PTil`; pseudo filesystems ignored): used
    percent AND absolute free space (Zabbix's rule), free inodes (Checkmk's levels), and
    days until full from a week of remembered usage."""

    type = "disk"
    Params = DiskParams

    async def collect(self, target: TargetInfo, params: DiskParams) -> RemoteData | HostKeyAlarm:
        local = "" if params.include_remote else "l"
        return await run_sections(target, params, [
            ("now", "date +%s"),
            ("df", f"df -PTk{local}"),
            ("dfi", f"df -PTi{local}"),
        ])

    def evaluate(self, raw, params: DiskParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        blocks = section(raw, "df")
        if blocks.rc not in (0, 1) or not blocks.text.strip():
            raise CollectError(f"df failed: {blocks.text.strip()[:200]}")
        now = ctx.now.timestamp()
        inodes = {r.mount: r for r in real_filesystems(parse_df(section(raw, "dfi").text))}
        rows = [r for r in real_filesystems(parse_df(blocks.text))
                if not any(fnmatch.fnmatchcase(r.mount, p) for p in params.ignore_mounts)]
        history: dict[str, list[list[float]]] = dict(ctx.memory.get("history", {}))
        new_history: dict[str, list[list[float]]] = {}
        results, metrics, items = [], [], []
        for row in rows:
            used, free = row.used * 1024, row.avail * 1024
            percent = 100.0 * row.used / max(1, row.used + row.avail)  # as df's Use%
            points = _remember(history.get(row.mount, []), now, used)
            new_history[row.mount] = points
            days_left = _days_until_full(points, free)
            state = _disk_state(percent, free, days_left, params)
            text = f"{row.mount} {percent:.0f}% used ({gib(free)} free)"
            if days_left is not None and days_left < 60:
                text += f", full in {days_left:.1f} days"
            if not state.is_ok:
                results.append(Result(state, text))
            node = inodes.get(row.mount)
            inode_free_pct = None
            if node is not None and node.size > 0:
                inode_free_pct = 100.0 * node.avail / node.size
                istate = _level(-inode_free_pct, -params.inodes_free_warn_percent,
                                -params.inodes_free_crit_percent)
                if not istate.is_ok:
                    results.append(Result(istate, f"{row.mount} only {inode_free_pct:.1f}% "
                                          "inodes free"))
                metrics.append(Metric(f"{row.mount} inodes_free", round(inode_free_pct, 2),
                                      "%", min=0, max=100))
            metrics.append(Metric(f"{row.mount} used", round(percent, 2), "%",
                                  params.used_warn_percent, params.used_crit_percent, 0, 100))
            metrics.append(Metric(f"{row.mount} free", free, "B", min=0))
            items.append({"kind": "filesystem", "mount": row.mount, "device": row.device,
                          "type": row.fstype, "size_bytes": row.size * 1024,
                          "used_bytes": used, "free_bytes": free,
                          "used_percent": round(percent, 1),
                          "inodes_free_percent": None if inode_free_pct is None
                          else round(inode_free_pct, 1),
                          "days_until_full": None if days_left is None
                          else round(days_left, 1), "state": state.label})
        if not rows:
            results.append(Result(State.UNKNOWN, "no real filesystem found in df's output"))
        elif not results:
            fullest = max(items, key=lambda i: i["used_percent"])
            results.append(Result(State.OK, f"{len(rows)} filesystems; fullest "
                                  f"{fullest['mount']} {fullest['used_percent']:.0f}% used"))
        return Evaluation(Outcome.of(results, metrics, items), {"history": new_history})


def _remember(points: list[list[float]], now: float, used: float) -> list[list[float]]:
    kept = [p for p in points if now - FORECAST_WINDOW <= p[0] < now] + [[now, used]]
    while len(kept) > FORECAST_POINTS:  # thin the oldest half, keep the recent detail
        half = len(kept) // 2
        kept = kept[:half:2] + kept[half:]
    return kept


def _days_until_full(points: list[list[float]], free: float) -> float | None:
    """Least-squares growth over the remembered week; None without an hour of history or
    when usage is not growing."""
    if len(points) < 3 or points[-1][0] - points[0][0] < 3600:
        return None
    n = len(points)
    mean_t = sum(p[0] for p in points) / n
    mean_u = sum(p[1] for p in points) / n
    var = sum((p[0] - mean_t) ** 2 for p in points)
    if var == 0:
        return None
    slope = sum((p[0] - mean_t) * (p[1] - mean_u) for p in points) / var  # bytes per second
    if slope <= 0:
        return None
    return free / slope / 86400


def _disk_state(percent: float, free: float, days_left: float | None, p: DiskParams) -> State:
    def short(limit_gb: float | None, horizon: float) -> bool:
        if limit_gb is None:
            return True
        return free < limit_gb * 1024 ** 3 or (days_left is not None and days_left < horizon)

    if percent >= p.used_crit_percent and short(p.free_crit_gb, p.forecast_crit_days):
        return State.CRITICAL
    if percent >= p.used_warn_percent and short(p.free_warn_gb, p.forecast_warn_days):
        return State.WARNING
    return State.OK


# --- memory, load, uptime -------------------------------------------------------------------

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
        info = parse_meminfo(section(raw, "meminfo").text)
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
        one, five, fifteen = parse_loadavg(section(raw, "loadavg").text)
        cpus = max(1, int(section(raw, "cpus").text.strip() or 1))
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
        uptime = parse_uptime(section(raw, "uptime").text)
        remote_now = float(section(raw, "now").text.strip())
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
        return Evaluation(
            Outcome.of([Result(state, text)], [Metric("uptime", round(uptime), "s", min=0)],
                       [item]),
            {"boot_epoch": boot})


def _optional(raw, name: str) -> str:
    """A section's text, or "" when the command failed or is missing: a host without
    /etc/os-release or uname still has an uptime."""
    found = raw.sections.get(name)
    return found.text if found is not None and found.rc == 0 else ""


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
    """systemd: every failed unit, and named units that must be active."""

    type = "services"
    Params = ServicesParams

    async def collect(self, target: TargetInfo, params: ServicesParams):
        parts = [("failed", "systemctl list-units --failed --all --plain --no-legend "
                            "--no-pager 2>&1")]
        if params.units:
            parts.append(("active", shell_command(["systemctl", "is-active", "--",
                                                   *params.units]) + " 2>&1"))
        return await run_sections(target, params, parts)

    def evaluate(self, raw, params: ServicesParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        failed_text = section(raw, "failed").text
        absent = systemd_absent(failed_text)
        if absent:
            raise CollectError(f"systemd cannot answer on this host: {absent}")
        bad = State.parse(params.failed_state)
        results, items = [], []
        for unit in parse_failed_units(failed_text):
            ignored = any(fnmatch.fnmatchcase(unit.name, p) for p in params.ignore_failed)
            items.append({"kind": "unit", "name": unit.name, "active": unit.active,
                          "sub": unit.sub, "description": unit.description,
                          "ignored": ignored})
            if not ignored:
                results.append(Result(bad, f"{unit.name} failed"))
        if params.units:
            states = section(raw, "active").text.splitlines()
            for name, active in zip(params.units, states + [""] * len(params.units),
                                    strict=False):
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


class TimesyncParams(SshCheckParams):
    check: Literal["timesync"] = "timesync"
    offset_warn: Duration = Field(60, description="Warn when the server's clock differs from "
                                  "the monitor's by more than this.")
    offset_crit: Duration = Field(240, description="Critical above this (Kerberos refuses "
                                  "tickets beyond 5 minutes of skew).")


class TimesyncCheck:
    """The server's clock against the monitor's (measured at the middle of the round trip)
    and `timedatectl show` (NTPSynchronized, NTP)."""

    type = "timesync"
    Params = TimesyncParams

    async def collect(self, target: TargetInfo, params: TimesyncParams):
        return await run_sections(target, params, [("timedatectl", "timedatectl show 2>&1"),
                                                    ("clock", "date +%s.%N")])

    def evaluate(self, raw, params: TimesyncParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        remote = float(section(raw, "clock").text.strip())
        offset = remote - (raw.sent_at + raw.received_at) / 2
        results = [Result(_level(abs(offset), params.offset_warn, params.offset_crit),
                          f"clock offset {offset:+.1f}s")]
        text = section(raw, "timedatectl").text
        absent = systemd_absent(text)
        info = {} if absent else parse_key_values(text)
        if absent:
            results.append(Result(State.OK, "timedatectl not available (no systemd); judged "
                                  "by the clock offset only"))
        elif info.get("NTPSynchronized") == "no":
            results.append(Result(State.WARNING, "clock not synchronised (NTPSynchronized=no)"))
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

