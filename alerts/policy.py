"""Alert policy, pure: who is suppressed and why, when a group is ready, when to escalate or
remind, and whether a maintenance window is open. Time is always passed in.

Defaults, and where they come from:

* ``GROUP_WAIT`` 30s — Alertmanager's ``group_wait``. We flush a group *early* when no related
  check is still in a soft problem state: waiting longer could only delay the page.
* Reminders repeat while an incident is unacknowledged: P1 every 30 min (Icinga's notification
  ``interval`` default), P2 1h, P3 4h (Alertmanager's ``repeat_interval``), P4 and P5 daily.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from muni_watchdog.core.model import State

GROUP_WAIT = 30.0
REPEAT_INTERVAL = {1: 1800.0, 2: 3600.0, 3: 4 * 3600.0, 4: 86400.0, 5: 86400.0}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RECURRENCE = re.compile(r"^(?P<days>daily|[a-z,\-]+)\s+(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})$")


class RecurrenceError(ValueError):
    pass


@dataclass(frozen=True)
class Recurrence:
    """A weekly window: days of the week and a local start/end time (may cross midnight)."""

    days: frozenset[str]
    start: str
    end: str

    def describe(self) -> str:
        days = "daily" if len(self.days) == 7 else ",".join(d for d in DAYS if d in self.days)
        return f"{days} {self.start}-{self.end}"


def parse_recurrence(text: str) -> Recurrence:
    """``"sun 02:00-04:00"``, ``"mon,wed 22:00-23:30"``, ``"mon-fri 12:00-13:00"``, ``"daily
    01:00-02:00"``."""
    match = _RECURRENCE.match(text.strip().lower())
    if not match:
        raise RecurrenceError(f"{text!r} is not a recurring window; write DAYS HH:MM-HH:MM, e.g. "
                              "'sun 02:00-04:00', 'mon-fri 12:00-13:00' or 'daily 01:00-02:00'")
    days: set[str] = set()
    if match["days"] == "daily":
        days = set(DAYS)
    else:
        for part in match["days"].split(","):
            if "-" in part:
                first, _, last = part.partition("-")
                if first not in DAYS or last not in DAYS:
                    raise RecurrenceError(f"unknown day in {part!r}; use mon..sun")
                i, j = DAYS.index(first), DAYS.index(last)
                days.update(DAYS[i:j + 1] if i <= j else DAYS[i:] + DAYS[:j + 1])
            elif part in DAYS:
                days.add(part)
            else:
                raise RecurrenceError(f"unknown day {part!r}; use mon..sun")
    for hhmm in (match["start"], match["end"]):
        h, m = map(int, hhmm.split(":"))
        if h > 24 or m > 59:
            raise RecurrenceError(f"{hhmm!r} is not a time of day")
    if match["start"] == match["end"]:
        raise RecurrenceError("a window must not start and end at the same time")
    return Recurrence(frozenset(days), match["start"], match["end"])


@dataclass(frozen=True)
class Window:
    """A maintenance window (one-off: ``starts``/``ends``; recurring: ``recurrence`` within
    ``starts``..``ends`` as the period it applies to) scoped to targets and/or services."""

    id: int
    targets: frozenset[str]
    services: frozenset[str]
    starts: datetime
    ends: datetime
    recurrence: Recurrence | None = None
    reason: str = ""
    owner: str = ""

    def covers(self, target: str, services: Iterable[str]) -> bool:
        if not self.targets and not self.services:
            return True  # site-wide
        return target in self.targets or bool(self.services.intersection(services))


def occurrence(window: Window, now: datetime, tz: str) -> tuple[datetime, datetime] | None:
    """The window occurrence that contains ``now`` (start, end), or None."""
    if not window.starts <= now < window.ends:
        return None
    if window.recurrence is None:
        return window.starts, window.ends
    local = now.astimezone(ZoneInfo(tz))
    rec = window.recurrence
    for back in (0, 1):  # today's occurrence, or yesterday's when it crosses midnight
        day = (local - timedelta(days=back)).date()
        if DAYS[day.weekday()] not in rec.days:
            continue
        start = _at(day, rec.start, tz)
        end = _at(day, rec.end, tz)
        if end <= start:
            end += timedelta(days=1)
        if start <= now < end:
            return start, end
    return None


def _at(day, hhmm: str, tz: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    base = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    return base + timedelta(hours=h, minutes=m)


def active_windows(windows: Sequence[Window], now: datetime, tz: str) -> list[Window]:
    return [w for w in windows if occurrence(w, now, tz) is not None]


def suppression_reason(target: str, services: Sequence[str], parents: Mapping[str, Sequence[str]],
                       down: Mapping[str, str], windows: Sequence[Window],
                       exceptions: Sequence[tuple[str, str, str, datetime]], check: str,
                       now: datetime, tz: str) -> str | None:
    """Why a problem on (target, check) must not be sent now, or None.

    ``down`` maps targets with an open hard problem to a word about it; ``exceptions`` are
    (target, check or "*", reason-with-owner, expires).
    """
    for window in active_windows(windows, now, tz):
        if window.covers(target, services):
            return f"maintenance: {window.reason} ({window.owner})"
    for ex_target, ex_check, why, expires in exceptions:
        if ex_target == target and ex_check in ("*", check) and now < expires:
            return f"accepted risk: {why}"
    for ancestor in _ancestors(target, parents):
        if ancestor in down:
            return parent_down_reason(ancestor)
    return None


def parent_down_reason(parent: str) -> str:
    """The suppression reason of a problem held because ``parent`` is down."""
    return f"parent {parent} down"


def held_by_parent(reason: str | None) -> str | None:
    """The parent named by a :func:`parent_down_reason`, else None."""
    if reason and reason.startswith("parent ") and reason.endswith(" down"):
        return reason[len("parent "):-len(" down")] or None
    return None


def _ancestors(target: str, parents: Mapping[str, Sequence[str]]) -> list[str]:
    seen: list[str] = []
    stack = list(parents.get(target, ()))
    while stack and len(seen) < 256:
        node = stack.pop(0)
        if node in seen or node == target:
            continue
        seen.append(node)
        stack.extend(parents.get(node, ()))
    return seen


def severity(state: int, unavailable: bool | None) -> tuple[int, int]:
    """How bad a problem is, to tell when it got worse: the state in Checkmk's order (OK <
    WARNING < UNKNOWN < CRITICAL), then, within CRITICAL, an outage (the service cannot be
    used, ``checks.impact``) above one that only needs attention."""
    judged = State(int(state))
    return judged.badness, int(bool(unavailable) and judged is State.CRITICAL)


def is_worse(state: int, unavailable: bool | None, than_state: int,
             than_unavailable: bool | None) -> bool:
    """A CRITICAL that needed attention (a certificate expiring in 10 days) and now means the
    service is unavailable (the site stops answering) is worse, like WARNING -> CRITICAL:
    the on-call is told again and an acknowledgement is cleared."""
    return severity(state, unavailable) > severity(than_state, than_unavailable)


def told_again(state: int, unavailable: bool | None, current: int,
               current_unavailable: bool | None, told: int | None,
               told_unavailable: bool | None) -> bool:
    """Does this hard change of an open incident page again (and clear its acknowledgement)?

    A worse state always does (WARNING -> CRITICAL). Within CRITICAL, becoming an outage
    does unless the on-call last heard of this incident as an outage already: a site going
    503 and back while its certificate stays short is not a new page each time (flap
    detection counts state changes, not this)."""
    if State(int(state)).badness != State(int(current)).badness:
        return is_worse(state, unavailable, current, current_unavailable)
    if not is_worse(state, unavailable, current, current_unavailable):
        return False
    return told is None or is_worse(state, unavailable, told, told_unavailable)


def group_ready(first_hard_at: datetime, now: datetime, related_still_soft: bool,
                group_wait: float = GROUP_WAIT) -> bool:
    """A group goes out when nothing related is still being confirmed, or group_wait passed."""
    return not related_still_soft or (now - first_hard_at).total_seconds() >= group_wait


def next_reminder(last_notified: datetime, priority: int) -> datetime:
    return last_notified + timedelta(seconds=REPEAT_INTERVAL.get(priority, 86400.0))


def escalation_due(opened_at: datetime, response_sla: float, level: int, now: datetime,
                   steps: Sequence[float] = ()) -> bool:
    """Step 1 (the backup owner) is due at opened + response SLA; further steps at their
    configured delays after that."""
    delays = [0.0, *steps]
    if level >= len(delays):
        return False
    return now >= opened_at + timedelta(seconds=response_sla + delays[level])
