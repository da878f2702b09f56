"""``storage``: disks (percent used *and* free space), days until full, CPU and memory.

A volume is a problem only when it is both fuller than the percentage *and* has less free
space than the absolute amount: 80 % of a 16 TB NAS volume still leaves 3.2 TB, which is no
emergency, while 80 % of a 20 GB system disk is. Growth over recent polls (kept in memory)
gives the days until full.

Which rows are volumes: hrStorageFixedDisk, NetworkDisk and FlashMemory rows, and rows of
type "other" (or none) whose description is a mount point: FreeBSD's bsnmpd (pfSense,
OPNsense) does not use hrStorageFixedDisk, so "/" would never be checked. Pseudo
filesystems (/dev, /proc, /sys, /run, /var/run...) are excluded by ``exclude``.

Volumes smaller than ``min_size_gib`` (1 GiB) are listed but not judged: appliances keep
firmware partitions of a few hundred MB that run nearly full by design (QNAP's /mnt/ext at
93 %, /mnt/HDA_ROOT), and at that size every percentage is also "little free space". Those
listed in ``small_volumes`` (default /boot, which fills up with old kernels) are judged.

A row whose size, used amount or allocation unit the agent did not answer is UNKNOWN."""

from __future__ import annotations

import fnmatch
import functools
import re
from typing import Any, Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import hostres
from muni_watchdog.checks.snmp.common import fetch, high, human_bytes
from muni_watchdog.checks.snmp.rates import days_until_full, thin_samples
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

NEED = Need.of(hostres.SCALARS, hostres.TABLES)
GIB = 1024 ** 3
DISK_TYPES = {"fixed_disk", "network_disk", "flash"}
MOUNT_POINT = re.compile(r"^/[^\s]*$")
SAMPLE_EVERY = 1800       # one growth sample per 30 minutes...
SAMPLES_KEPT = 7 * 86400  # ...over the last 7 days (at most 336 per volume)


class StorageParams(CheckParams):
    check: Literal["storage"] = "storage"
    used_warn_percent: float = Field(80, description="Warn above this % used (with free "
                                     "space below free_warn_gib).")
    used_crit_percent: float = Field(90, description="Critical above this % used (with free "
                                     "space below free_crit_gib).")
    free_warn_gib: float = Field(50, description="A volume fuller than used_warn_percent "
                                 "warns only if it also has less free space than this.")
    free_crit_gib: float = Field(10, description="Likewise for critical.")
    full_warn_days: float | None = Field(14, description="Warn when the growth of the last "
                                         "days would fill a volume within this many days.")
    full_crit_days: float | None = Field(3, description="Critical within this many days.")
    exclude: list[str] = Field(
        ["/run", "/run/*", "/var/run", "/dev", "/dev/*", "/sys", "/sys/*", "/proc", "/proc/*",
         "/compat/*/proc", "/snap/*", "/boot/efi"],
        description="Volumes to ignore, by description (shell patterns).")
    min_size_gib: float = Field(
        1.0, ge=0, description="Volumes smaller than this are listed but not judged "
        "(appliances' firmware partitions run nearly full by design); 0 judges all.")
    small_volumes: list[str] = Field(
        ["/boot"], description="Volumes judged even when smaller than min_size_gib, by "
        "description (shell patterns).")
    cpu_warn_percent: float | None = Field(80, description="Average processor load warning "
                                           "(Checkmk's hr_cpu default 80/90).")
    cpu_crit_percent: float | None = Field(90, description="Average processor load critical.")
    memory_warn_percent: float | None = Field(90, description="Memory in use (without "
                                              "buffers and cache) warning.")
    memory_crit_percent: float | None = Field(95, description="Memory in use critical.")


class StorageCheck:
    type = "storage"
    Params = StorageParams

    async def collect(self, target: TargetInfo, params: StorageParams) -> Poll:
        return await fetch(target, NEED)

    def evaluate(self, raw: Poll, params: StorageParams, ctx: CheckContext) -> Evaluation:
        return evaluate_storage(raw.values, params, ctx)


def judge_volume(volume: dict[str, Any], params: StorageParams) -> Result:
    free = volume["size_bytes"] - volume["used_bytes"]
    percent = volume["used_percent"]
    text = (f"{volume['descr']} {percent:.0f} % used, {human_bytes(free)} free of "
            f"{human_bytes(volume['size_bytes'])}")
    if percent >= params.used_crit_percent and free < params.free_crit_gib * GIB:
        return Result(State.CRITICAL, text)
    if percent >= params.used_warn_percent and free < params.free_warn_gib * GIB:
        return Result(State.WARNING, text)
    return Result(State.OK, text)


@functools.lru_cache(maxsize=64)
def _glob(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for a list of fnmatch patterns (fnmatch.fnmatch per pattern and row was 1.5 %
    of the daemon path's CPU: every storage row against every exclude, every poll)."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def matches_any(text: str, patterns) -> bool:
    """``fnmatch.fnmatch(text, p)`` for any p in ``patterns`` (case-sensitive, as on POSIX)."""
    pattern = _glob(tuple(patterns))
    return pattern is not None and pattern.match(text) is not None


def is_volume(row: dict[str, Any], params: StorageParams) -> bool:
    """A row that is a filesystem to judge: a disk type, or a mount point of type "other"."""
    if matches_any(row["descr"], params.exclude):
        return False
    return row["type"] in DISK_TYPES or (row["type"] == "other"
                                         and bool(MOUNT_POINT.match(row["descr"])))


def evaluate_storage(values, params: StorageParams, ctx: CheckContext) -> Evaluation:
    storage = hostres.parse_storage(values)
    processors = hostres.parse_processors(values)
    problems = [p for p in hostres.storage_problems(values) if is_volume(p, params)]
    if not storage and not processors and not problems:
        return Evaluation(Outcome.unknown("the device has no HOST-RESOURCES-MIB storage or "
                                          "processor table"), ctx.memory)
    now = ctx.now.timestamp()
    results: list[Result] = [Result(State.UNKNOWN, f"{p['descr'] or p['index']}: "
                                    f"{p['problem']}") for p in problems]
    metrics: list[Metric] = []
    history: dict[str, list] = {}
    unjudged = {p["index"] for p in problems}
    candidates = [v for v in storage if v["size_bytes"] > 0 and v["index"] not in unjudged
                  and is_volume(v, params)]
    volumes = [v for v in candidates if v["size_bytes"] >= params.min_size_gib * GIB
               or matches_any(v["descr"], params.small_volumes)]
    small = len(candidates) - len(volumes)
    for volume in volumes:
        result = judge_volume(volume, params)
        old = [tuple(s) for s in (ctx.memory.get("growth") or {}).get(volume["descr"], [])]
        kept = thin_samples(old, now, SAMPLES_KEPT, 0)
        if not kept or now - kept[-1][0] >= SAMPLE_EVERY:
            kept.append((now, volume["used_bytes"]))
        history[volume["descr"]] = [list(s) for s in kept]
        series = kept if kept[-1][0] == now else [*kept, (now, volume["used_bytes"])]
        forecast = days_until_full(series, volume["size_bytes"])
        if forecast is not None:
            metrics.append(Metric(f"{volume['descr']}_days_until_full", round(forecast, 1), "d",
                                  params.full_warn_days, params.full_crit_days))
            judged = _judge_forecast(volume["descr"], forecast, params)
            if judged.state.badness > result.state.badness:
                result = judged
        if not result.state.is_ok or len(volumes) <= 4:
            results.append(result)
        metrics.append(Metric(f"{volume['descr']}_used", volume["used_bytes"], "B",
                              min=0, max=volume["size_bytes"]))
    if len(volumes) > 4 and all(r.state.is_ok for r in results):
        results.append(Result(State.OK, f"{len(volumes)} volumes fine"))
    if small:
        results.append(Result(State.OK, f"{small} volume{'s' if small > 1 else ''} under "
                              f"{params.min_size_gib:g} GiB not judged"))
    if processors:
        load = sum(p["load_percent"] for p in processors) / len(processors)
        results.append(high(load, params.cpu_warn_percent, params.cpu_crit_percent,
                            f"CPU {load:.0f} % ({len(processors)} processors)"))
        metrics.append(Metric("cpu_load", round(load, 1), "%", params.cpu_warn_percent,
                              params.cpu_crit_percent, 0, 100))
    memory_use = hostres.parse_memory(values, storage)
    if memory_use is not None:
        results.append(high(memory_use["used_percent"], params.memory_warn_percent,
                            params.memory_crit_percent,
                            f"memory {memory_use['used_percent']:.0f} % used"))
        metrics.append(Metric("memory_used", memory_use["used_bytes"], "B", min=0,
                              max=memory_use["size_bytes"]))
    if not volumes and not problems and processors == [] and memory_use is None:
        results.append(Result(State.UNKNOWN, "no volume, processor or memory to judge"))
    items = storage + processors
    return Evaluation(Outcome.of(results, metrics, items), {"growth": history})


def _judge_forecast(descr: str, days: float, params: StorageParams) -> Result:
    text = f"{descr} full in {days:.1f} days at the recent growth"
    if params.full_crit_days is not None and days <= params.full_crit_days:
        return Result(State.CRITICAL, text)
    if params.full_warn_days is not None and days <= params.full_warn_days:
        return Result(State.WARNING, text)
    return Result(State.OK, text)
