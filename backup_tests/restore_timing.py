"""How long a full restore takes: measured by a drill, or estimated from the runs we have.

Pure. A restore costs a fixed start-up (open the repository, load the index and the snapshot's
trees: seconds, whatever the size) plus the bytes at some throughput:

    seconds = startup + bytes / throughput

A 50-file sample restores a few MB, so its time is mostly start-up; dividing the snapshot size
by the sample's bytes-per-second therefore overstated a full restore 3-46x (1 GB repository:
18-274 s estimated, 6 s measured). Instead we fit the line through recent runs of different
sizes (least squares; with three or more runs, one standard error slower, so noise makes the
estimate longer, not shorter). Every other sample adds one larger "probe" file (see
``sampling``), so there are runs of two sizes to fit. With a single run, or runs all of one size, only an upper
bound is honest: start-up as measured by ``restic ls`` and the rest of the run charged to its
bytes; below 1 MB not even that (no estimate, and the report says why). A full drill is a
measurement.

The RTO rule (the README states it): a measured drill over the RTO is CRITICAL; an estimate
never is — over the RTO it is a WARNING that says "run a full drill to confirm".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.report import RestoreTestReport
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.model import State

HISTORY = 12          # restores remembered per backup (about a quarter of weekly tests)
MIN_SPREAD = 2.0      # the largest run must restore at least twice the bytes of the smallest
MIN_SPAN = 1_000_000  # ... and at least 1 MB more, or the slope is noise


@dataclass(frozen=True)
class TimedRestore:
    """One restore: how many bytes, how long restic took, whether it was a full drill, and
    whether the sample had its probe files."""

    bytes: int
    seconds: float
    full: bool = False
    at: str = ""
    probe: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "seconds": round(self.seconds, 3), "full": self.full,
                "at": self.at, "probe": self.probe}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimedRestore | None:
        try:
            return cls(int(data["bytes"]), float(data["seconds"]), bool(data.get("full")),
                       str(data.get("at", "")), bool(data.get("probe")))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class RestoreModel:
    """``startup_seconds + bytes / bytes_per_second``, and what it rests on."""

    startup_seconds: float
    bytes_per_second: float
    kind: str                # measured | fit | upper_bound
    samples: int = 0         # sample runs used
    drills: int = 0          # full drills used

    def seconds(self, size: int) -> float:
        return self.startup_seconds + size / self.bytes_per_second

    def basis(self, size: int, seconds: float | None = None) -> str:
        """The estimate's basis in words, e.g. "estimate from 4 sample runs: 1.6 s start-up +
        7.3 GB at 180 MB/s"."""
        if self.kind == "measured":
            return f"measured by this full drill: {human_bytes(size)} in {seconds or 0:.1f} s"
        line = (f"{self.startup_seconds:.1f} s start-up + {human_bytes(size)} at "
                f"{human_bytes(self.bytes_per_second)}/s")
        if self.kind == "upper_bound":
            return (f"upper bound from this one sample run: {line}; a small sample overstates "
                    "it, runs of other sizes or a full drill narrow it")
        runs = _count(self.samples, "sample run")
        if self.drills:
            runs += f" and {_count(self.drills, 'full drill')}"
        return f"estimate from {runs}: {line}"


def remember(history: Iterable[dict[str, Any]], run: TimedRestore,
             limit: int = HISTORY) -> tuple[dict[str, Any], ...]:
    """The stored history with ``run`` appended, the oldest dropped beyond ``limit``."""
    runs = [r for r in (TimedRestore.from_dict(d) for d in history) if r is not None]
    return tuple(r.as_dict() for r in [*runs, run][-limit:])


def wants_probe(history: Sequence[dict[str, Any]]) -> bool:
    """Add the larger probe files to this sample? Every other sample run (the first too), so
    the history holds runs of two sizes."""
    samples = [r for r in (TimedRestore.from_dict(d) for d in history)
               if r is not None and not r.full]
    return not samples or not samples[-1].probe


def fit_model(history: Iterable[dict[str, Any]], current: TimedRestore,
              startup_floor: float) -> RestoreModel | None:
    """The restore model after ``current`` (already a measurement when it is a full drill).

    ``history`` is what the state remembers (without ``current``); ``startup_floor`` is the
    least a restore can cost before its first byte: this run's ``restic ls`` time. None when
    nothing can be said: no fit, and this run restored less than 1 MB."""
    if current.full and current.bytes > 0 and current.seconds > 0:
        return RestoreModel(0.0, current.bytes / current.seconds, "measured", drills=1)
    runs = [r for r in (TimedRestore.from_dict(d) for d in history) if r is not None]
    points = [r for r in [*runs, current] if r.seconds > 0 and r.bytes >= 0][-HISTORY:]
    fitted = _least_squares(points)
    if fitted is not None:
        startup, per_byte = fitted
        drills = sum(1 for r in points if r.full)
        return RestoreModel(startup, 1 / per_byte, "fit", len(points) - drills, drills)
    if current.bytes < MIN_SPAN or current.seconds <= 0:
        return None  # a canary-sized restore is all start-up: it tells nothing of throughput
    startup = min(max(startup_floor, 0.0), current.seconds)
    transfer = max(current.seconds - startup, current.seconds * 0.1)
    return RestoreModel(startup, current.bytes / transfer, "upper_bound", samples=1)


def _least_squares(points: Sequence[TimedRestore]) -> tuple[float, float] | None:
    """(startup, seconds per byte) of the line through ``points``; None when they cannot
    tell a slope (fewer than two, too little spread in size, or larger was not slower)."""
    if len(points) < 2:
        return None
    xs = [float(p.bytes) for p in points]
    ys = [p.seconds for p in points]
    low, high = min(xs), max(xs)
    if high < MIN_SPREAD * low or high - low < MIN_SPAN:
        return None
    n = len(points)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    if slope <= 0:
        return None
    startup = mean_y - slope * mean_x
    if startup < 0:  # through the origin instead: a restore never takes negative time
        startup, slope = 0.0, sum(x * y for x, y in zip(xs, ys, strict=True)) / \
            sum(x * x for x in xs)
    if n >= 3:  # one standard error slower: uncertainty lengthens the estimate
        residual = sum((y - startup - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
        slope += math.sqrt(residual / (n - 2) / sxx)
    return startup, slope


def judge_timing(report: RestoreTestReport, backup: BackupParams,
                 history: Sequence[dict[str, Any]], *, full: bool, probe: bool,
                 startup_floor: float, today: str) -> tuple[dict[str, Any], ...]:
    """Fill the report's estimate (or say why there is none) and judge it against the rto;
    returns the timing history to store, with this run added."""
    run = TimedRestore(report.bytes, report.restore_seconds or 0.0, full, today,
                       probe=probe and not full)
    model = fit_model(history, run, startup_floor) if report.bytes else None
    if model is None and report.bytes:
        report.estimate_basis = (f"not estimated: this run restored {human_bytes(report.bytes)}"
                                 ", too little to tell restic's start-up from its throughput; "
                                 "a larger sample or a full drill measures it")
        report.add(State.OK, f"full restore time {report.estimate_basis}")
    if model is not None:
        size = report.snapshot_bytes or 0
        seconds = run.seconds if full else model.seconds(size)
        report.estimated_full_restore_seconds = seconds
        report.bytes_per_second = model.bytes_per_second
        report.startup_seconds = model.startup_seconds
        report.estimate_kind = model.kind
        report.estimate_basis = model.basis(size, report.restore_seconds)
        if report.rto_seconds:
            report.add(*judge_rto(seconds, report.rto_seconds, backup.rto_warn_percent,
                                  backup.rto_crit_percent, model, report.estimate_basis))
    if run.seconds > 0 and report.bytes:
        return remember(history, run)
    return tuple(history)


def judge_rto(estimate: float, rto: float, warn_percent: float, crit_percent: float,
              model: RestoreModel, basis: str) -> tuple[State, str]:
    """A measured drill over ``crit_percent`` of the rto is CRITICAL; an estimate at most a
    WARNING that asks for a drill (a model is not evidence enough to page someone)."""
    percent = estimate / rto * 100 if rto else 0
    measured = model.kind == "measured"
    text = (f"full restore {'took' if measured else 'estimated at'} {humanize(estimate)} "
            f"({basis}; {percent:.0f} % of the rto {humanize(rto)})")
    if measured:
        if percent > crit_percent:
            return State.CRITICAL, text
        return (State.WARNING if percent > warn_percent else State.OK), text
    if percent > 100:
        return State.WARNING, text + ": estimate exceeds the RTO — run a full drill to confirm"
    if percent > crit_percent:
        return State.WARNING, text + (f": estimate above {crit_percent:g} % of the RTO — run "
                                      "a full drill to confirm")
    return (State.WARNING if percent > warn_percent else State.OK), text


def human_bytes(size: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} B"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")
