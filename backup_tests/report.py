"""The result of one restore test: what was found, judged into a verdict, as JSON or an Outcome.

Pure. ``BackupState`` is what a backup remembers between runs (the read-data-subset position and
a subset that failed, the sample rotation, the timings of recent restores); the caller stores it
(``restore_test_state`` in the state database, through ``Store.record_restore_test``).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from muni_watchdog.core.durations import humanize
from muni_watchdog.core.model import Metric, Outcome, Result, State
from muni_watchdog.core.text import plain_text


@dataclass(frozen=True)
class BackupState:
    subset_next: int = 1            # k of the next --read-data-subset=k/N
    sample_seed: str = ""
    sample_cursor: str = ""
    sample_cycle: int = 0
    drill_bytes_per_second: float | None = None   # measured by the last full drill
    drill_at: str | None = None
    restic_binary: str | None = None   # path:size:mtime of the restic last asked its version
    restic_version: str | None = None  # what it said, so it is not asked again every run
    # a check that found damage: that subset ("k/N", or "all") is read again at every run
    # until it passes, with the packs restic named and the date it was first seen
    failed_subset: str | None = None
    failed_since: str | None = None
    failed_packs: tuple[str, ...] = ()
    # recent restores, newest last: {"bytes", "seconds", "full", "at"} (restore_timing)
    timings: tuple[dict[str, Any], ...] = ()

    @classmethod
    def initial(cls) -> BackupState:
        return cls(sample_seed=secrets.token_hex(8))

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> BackupState:
        if not data:
            return cls.initial()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("failed_packs", "timings"):  # JSON gives lists back
            known[name] = tuple(known.get(name) or ())
        state = cls(**known)
        return state if state.sample_seed else replace(state, sample_seed=secrets.token_hex(8))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Problem:
    state: State
    text: str

    def __post_init__(self) -> None:
        # restic's words (and the file names it quotes) become the summary, the alert and
        # the stored row: without terminal escapes (core.text).
        self.text = plain_text(self.text)


@dataclass
class RestoreTestReport:
    backup: str
    service: str
    started_at: datetime
    full: bool = False
    kind: str = "restore_test"   # or "repository_check": restic check alone, no restore
    restic_version: str | None = None
    snapshot_id: str | None = None
    snapshot_time: datetime | None = None
    age_seconds: float | None = None
    rpo_seconds: float | None = None
    subset: str | None = None
    integrity_errors: int | None = None
    damaged_packs: list[str] = field(default_factory=list)   # named by check or restore
    missing_packs: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    verified: int = 0
    mismatched: int = 0
    missing: int = 0
    changed_since_backup: int = 0
    canaries: list[dict[str, Any]] = field(default_factory=list)
    restore_seconds: float | None = None
    bytes_per_second: float | None = None
    estimated_full_restore_seconds: float | None = None
    estimate_basis: str = ""
    estimate_kind: str | None = None     # measured | fit | upper_bound (restore_timing)
    startup_seconds: float | None = None  # the model's fixed cost of a restore
    rto_seconds: float | None = None
    lock_cleared: list[dict[str, Any]] = field(default_factory=list)  # stale restic locks
    snapshot_bytes: int | None = None
    coverage: float | None = None
    duration: float = 0.0
    recovery_point: datetime | None = None
    problems: list[Problem] = field(default_factory=list)
    findings: list[Result] = field(default_factory=list)   # OK facts for the summary
    state: BackupState | None = None                         # new state to store

    def add(self, state: State, text: str) -> None:
        if state is State.OK:
            self.findings.append(Result(State.OK, text))
        else:
            self.problems.append(Problem(state, text))

    @property
    def verdict(self) -> State:
        return State.worst(p.state for p in self.problems)

    @property
    def summary(self) -> str:
        if self.problems:
            worst = sorted(self.problems, key=lambda p: -p.state.badness)
            return "; ".join(p.text for p in worst[:3]) + (
                f" (+{len(worst) - 3} more)" if len(worst) > 3 else "")
        return "; ".join(r.summary for r in self.findings) or "restore test passed"

    def as_json(self) -> dict[str, Any]:
        """The ``restore-test --json`` object (the issue's contract)."""
        return {
            "backup": self.backup, "service": self.service, "verdict": self.verdict.label,
            "summary": self.summary, "restic_version": self.restic_version,
            "snapshot": {"id": self.snapshot_id,
                         "time": self.snapshot_time.isoformat() if self.snapshot_time else None,
                         "age_seconds": _round(self.age_seconds)},
            "integrity": {"subset": self.subset, "errors": self.integrity_errors,
                          "damaged_packs": list(self.damaged_packs),
                          "missing_packs": list(self.missing_packs)},
            "sample": {"files": self.files, "bytes": self.bytes, "verified": self.verified,
                       "mismatched": self.mismatched, "missing": self.missing,
                       "changed_since_backup": self.changed_since_backup},
            "canaries": [{"path": c["path"], "status": c["status"]} for c in self.canaries],
            "timing": {"restore_seconds": _round(self.restore_seconds),
                       "bytes_per_second": _round(self.bytes_per_second),
                       "estimated_full_restore_seconds":
                           _round(self.estimated_full_restore_seconds),
                       "rto_seconds": _round(self.rto_seconds),
                       "estimate_basis": self.estimate_basis or None,
                       "estimate_kind": self.estimate_kind,
                       "startup_seconds": _round(self.startup_seconds)},
            "lock_cleared": list(self.lock_cleared),
            "problems": [p.text for p in self.problems],
            "kind": self.kind,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def judge_age(age: float, limit: float, warn_percent: float, crit_percent: float,
              what: str) -> tuple[State, str]:
    """``what`` is e.g. 'newest snapshot'; percentages of ``limit`` give the state."""
    percent = age / limit * 100 if limit else 0
    text = f"{what} {humanize(age)} old (rpo {humanize(limit)})"
    if percent > crit_percent:
        return State.CRITICAL, text
    if percent > warn_percent:
        return State.WARNING, text
    return State.OK, text


def report_to_outcome(report: RestoreTestReport) -> Outcome:
    """The run as an ordinary check result, so alerts and ``status`` see it."""
    results = [Result(p.state, p.text) for p in report.problems] or list(report.findings) or [
        Result(State.OK, "restore test passed")]
    if report.kind == "repository_check":
        metrics = [] if report.integrity_errors is None else [
            Metric("integrity_errors", report.integrity_errors, min=0, crit=1)]
        return Outcome.of(results, metrics, [report.as_json()], immediate=True)
    metrics = []
    if report.age_seconds is not None:
        rpo = report.rpo_seconds
        metrics.append(Metric("snapshot_age", round(report.age_seconds, 1), "s",
                              warn=rpo, crit=2 * rpo if rpo else None, min=0))
    if report.restore_seconds is not None:
        metrics.append(Metric("restore_time", round(report.restore_seconds, 3), "s", min=0))
    if report.bytes_per_second is not None:
        metrics.append(Metric("restore_throughput", round(report.bytes_per_second), "B/s",
                              min=0))
    if report.estimated_full_restore_seconds is not None:
        rto = report.rto_seconds
        metrics.append(Metric("estimated_full_restore", round(
            report.estimated_full_restore_seconds, 1), "s", warn=0.8 * rto if rto else None,
            crit=rto, min=0))
    metrics.append(Metric("files_verified", report.verified, min=0))
    metrics.append(Metric("files_mismatched", report.mismatched, min=0))
    items = [report.as_json()]
    # immediate: a weekly test must not wait for three weekly failures before it alerts
    return Outcome.of(results, metrics, items, immediate=True)
