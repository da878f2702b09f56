"""``disk`` over SSH: every real filesystem, space, inodes and days until full."""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import Evaluation, TargetInfo
from muni_watchdog.checks.ssh.common import (
    HostKeyAlarm,
    RemoteData,
    SshCheckParams,
    alarm,
    exit_reason,
    gib,
    read_section,
    run_sections,
    section_problem,
)
from muni_watchdog.checks.ssh.sections import Section
from muni_watchdog.checks.ssh.system import parse_df, parse_df_errors, real_filesystems
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

FORECAST_WINDOW = 7 * 86400
FORECAST_POINTS = 200


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
                                     "skip (and whose df errors to ignore); shell patterns, "
                                     "e.g. /snap/*.")
    include_remote: bool = Field(False, description="Also check NFS/CIFS mounts (a hung "
                                 "server can make df hang; off by default, as check_disk -l).")


def _level(value: float, warn: float | None, crit: float | None) -> State:
    if crit is not None and value >= crit:
        return State.CRITICAL
    if warn is not None and value >= warn:
        return State.WARNING
    return State.OK


def _ignored(mount: str, params: DiskParams) -> bool:
    return any(fnmatch.fnmatchcase(mount, p) for p in params.ignore_mounts)


def df_failures(found: Section, params: DiskParams, what: str = "df") -> dict[str, Result]:
    """df exits 1 when it could not read some filesystems and names them on stderr (a stale
    NFS handle, a permission denied): each is UNKNOWN, unless its mount is ignored. Keyed by
    mount, so the same failure seen by ``df -k`` and ``df -i`` is said once."""
    results: dict[str, Result] = {}
    errors = parse_df_errors(found.stderr)
    for mount, reason in errors:
        if mount is not None and _ignored(mount, params):
            continue
        if mount is None:
            said = f"{what}: {exit_reason(found.rc)}" if found.rc else f"{what} reported an error"
            results[reason] = Result(State.UNKNOWN, f"{said}: {reason}")
        else:
            results[mount] = Result(State.UNKNOWN, f"df cannot read {mount}: {reason} (add "
                                    "it to ignore_mounts if it does not matter)")
    if found.rc != 0 and not errors:
        results[what] = Result(State.UNKNOWN, f"{what}: {exit_reason(found.rc)} without "
                               "saying why; some filesystems may be missing")
    return results


class DiskCheck:
    """Every real filesystem (`df -PTkl`, `df -PTil`; pseudo filesystems ignored): used
    percent AND absolute free space (Zabbix's rule), free inodes (Checkmk's levels), and
    days until full from a week of remembered usage. A filesystem df cannot read is
    UNKNOWN, never skipped in silence."""

    type = "disk"
    Params = DiskParams

    async def collect(self, target: TargetInfo, params: DiskParams) -> RemoteData | HostKeyAlarm:
        local = "" if params.include_remote else "l"
        return await run_sections(target, params, [
            ("df", f"df -PTk{local}"),
            ("dfi", f"df -PTi{local}"),
        ])

    def evaluate(self, raw, params: DiskParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        # Exit 1 is df's "some filesystems failed": judged below, per filesystem.
        blocks = read_section(raw, "df", "df -PTk", (0, 1), check_stderr=False)
        failures = df_failures(blocks, params, "df -PTk")
        inode_problem = section_problem(raw, "dfi", "df -PTi", (0, 1), check_stderr=False)
        if inode_problem:
            failures["df -PTi"] = Result(State.UNKNOWN, f"free inodes unknown: {inode_problem}")
            inodes = {}
        else:
            found = raw.sections["dfi"]
            failures = {**df_failures(found, params, "df -PTi"), **failures}
            inodes = {r.mount: r for r in real_filesystems(parse_df(found.text))}
        results = list(failures.values())
        now = ctx.now.timestamp()
        rows = [r for r in real_filesystems(parse_df(blocks.text))
                if not _ignored(r.mount, params)]
        history: dict[str, list[list[float]]] = dict(ctx.memory.get("history", {}))
        new_history: dict[str, list[list[float]]] = {}
        metrics, items = [], []
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
