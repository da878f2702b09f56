"""Which slice of the stored data ``restic check`` reads this run, and what its answer means.

Pure. ``--read-data-subset=k/N`` reads the packs whose id's first byte modulo N is k-1, so the
whole repository is re-read every N runs. A subset that found damage must not be forgotten at
the next run (which would read the next subset, pass, and look like a recovery with nothing
repaired): it stays the subset read, and the verdict stays CRITICAL naming the packs, until it
reads clean (after ``restic repair packs``, say) or a full ``--read-data`` check passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from muni_watchdog.backup_tests.report import BackupState
from muni_watchdog.backup_tests.restic_verdicts import CheckResult
from muni_watchdog.core.model import State

_ID64 = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{52}\b")


@dataclass(frozen=True)
class CheckPlan:
    arg: str                 # --read-data or --read-data-subset=k/N
    subset: str              # "k/N" or "all"
    k: int | None            # None: all the data
    retry: bool = False      # re-reading a subset that failed before


def plan_check(state: BackupState, subsets: int) -> CheckPlan:
    """The subset to read: a failed one again, else the next in the rotation."""
    if subsets == 1:
        return CheckPlan("--read-data", "all", None, retry=state.failed_subset is not None)
    failed = _parse_subset(state.failed_subset)
    if failed is not None:
        k, n = failed
        if n == subsets:
            return CheckPlan(f"--read-data-subset={k}/{n}", f"{k}/{n}", k, retry=True)
    if state.failed_subset is not None:
        # the failure was in another numbering ("all", or read_data_subsets changed since):
        # only a full read is sure to include the damaged packs again
        return CheckPlan("--read-data", "all", None, retry=True)
    k = min(max(state.subset_next, 1), subsets)
    return CheckPlan(f"--read-data-subset={k}/{subsets}", f"{k}/{subsets}", k)


def judge_check(check: CheckResult, plan: CheckPlan, state: BackupState, subsets: int,
                now: datetime) -> tuple[State, str, BackupState]:
    """The check's verdict line and the integrity part of the next state."""
    if check.errors is None:  # no verdict: read the same subset next time
        return State.UNKNOWN, check.problem, state
    since = state.failed_since[:10] if state.failed_since else None
    if check.errors:
        detail = "; ".join(shorten_ids(m) for m in check.messages[:3]) or "see restic check"
        text = (f"repository check found {check.errors} error(s) in {plan.subset} of the "
                f"stored data{_packs_text(check)}: {detail}")
        if plan.retry and since:
            text += (f" — damaged since {since}; this subset is read again at every test "
                     "until it passes")
        keep_since = state.failed_since if plan.retry and state.failed_since else now.isoformat()
        return State.CRITICAL, text, replace(state, failed_subset=plan.subset,
                                             failed_since=keep_since,
                                             failed_packs=check.packs[:20])
    text = f"repository check of {plan.subset} clean"
    if plan.retry and since:
        packs = f" (packs {', '.join(p[:12] for p in state.failed_packs[:5])})" \
            if state.failed_packs else ""
        text += f" again: the damage found on {since}{packs} reads clean now"
    next_k = plan.k % subsets + 1 if plan.k is not None else state.subset_next
    return State.OK, text, replace(state, subset_next=next_k, failed_subset=None,
                                   failed_since=None, failed_packs=())


def _packs_text(check: CheckResult) -> str:
    parts = []
    if check.missing_packs:
        parts.append(f"missing packs: {', '.join(p[:12] for p in check.missing_packs[:5])}"
                     + (f" and {len(check.missing_packs) - 5} more"
                        if len(check.missing_packs) > 5 else ""))
    if check.damaged_packs:
        parts.append(f"damaged packs: {', '.join(p[:12] for p in check.damaged_packs[:5])}"
                     + (f" and {len(check.damaged_packs) - 5} more"
                        if len(check.damaged_packs) > 5 else ""))
    return f" ({'; '.join(parts)})" if parts else ""


def shorten_ids(text: str) -> str:
    """64-hex ids cut to 12 characters for a summary line (the JSON keeps them whole)."""
    return _ID64.sub(lambda m: m[1], text)


def _parse_subset(text: str | None) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)/(\d+)", text or "")
    if not match:
        return None
    k, n = int(match[1]), int(match[2])
    return (k, n) if 1 <= k <= n else None
