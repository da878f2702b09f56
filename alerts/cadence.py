"""The update cadence, pure: when the next public update of an incident is due, what a missed
one counts, and how an incident's updates kept to the cadence (for post-incident and drill
reports). Time is always passed in.

The rule: the first update is due one cadence after the on-call was first told (P1: 30
minutes); each update promises the next ("next update by", one cadence later unless it says
otherwise). When a due time passes without an update, the on-call is reminded once and one
missed update is counted for every cadence period that went by (a daemon that was down for
two periods counts two), and the next one is due a period later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class CadenceStep:
    remind: bool            # the due time passed with no update: remind the on-call now
    missed: int             # updates missed (periods that passed without one)
    next_due: datetime


def first_update_due(told_at: datetime, every: float) -> datetime:
    return told_at + timedelta(seconds=every)


def cadence_step(due: datetime, now: datetime, every: float) -> CadenceStep:
    """Is an update overdue at ``now``? Counts every period that passed since ``due``."""
    if now < due:
        return CadenceStep(False, 0, due)
    missed = int((now - due).total_seconds() // every) + 1
    return CadenceStep(True, missed, due + timedelta(seconds=every * missed))


def next_update_by(now: datetime, every: float | None, asked: datetime | None) -> datetime | None:
    """What an update posted at ``now`` promises: the time asked for, else one cadence on
    (None when the priority has no cadence and nothing was asked)."""
    if asked is not None:
        return asked
    return None if every is None else now + timedelta(seconds=every)


@dataclass(frozen=True)
class UpdateTiming:
    number: int
    at: datetime
    due: datetime | None        # when it was due (None: no cadence and no promise)

    @property
    def late_seconds(self) -> float:
        return 0.0 if self.due is None else max(0.0, (self.at - self.due).total_seconds())

    @property
    def on_time(self) -> bool:
        return self.late_seconds == 0.0


@dataclass(frozen=True)
class CommunicationTiming:
    every: float | None                 # the cadence (None: the priority has none)
    first_update_seconds: float | None  # from when the on-call was told to the first update
    updates: tuple[UpdateTiming, ...]
    missed: int                         # due times that passed without an update

    @property
    def on_time(self) -> int:
        return sum(1 for u in self.updates if u.on_time)


def communication_timing(told_at: datetime | None, updates: Sequence[tuple[datetime,
                         datetime | None]], every: float | None,
                         end: datetime) -> CommunicationTiming:
    """How an incident's updates kept to the cadence, replayed from the facts.

    ``updates``: (posted at, next update promised by) in order; ``end``: when the incident
    closed (or now). The same rule as the live reminders (:func:`cadence_step`)."""
    timings: list[UpdateTiming] = []
    missed = 0
    due = first_update_due(told_at, every) if told_at is not None and every else None
    for number, (at, promised) in enumerate(updates, start=1):
        timings.append(UpdateTiming(number, at, due))
        if due is not None and every and at > due:
            missed += cadence_step(due, at, every).missed
        due = next_update_by(at, every, promised)
    if due is not None and every and end > due:
        missed += cadence_step(due, end, every).missed
    first = (updates[0][0] - told_at).total_seconds() if updates and told_at else None
    return CommunicationTiming(every, first, tuple(timings), missed)
