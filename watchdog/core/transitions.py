"""The pure state machine: soft/hard states, recovery, flap detection, events.

``decide(previous, outcome_state, summary, policy, now)`` returns the new :class:`CheckStatus` and
the events it caused. Nothing here reads a clock, a file or the network, so it is table-tested.

Rules (Nagios/Icinga vocabulary):

* A non-OK result while the hard state is OK is a *soft* problem; after ``max_attempts``
  consecutive non-OK results it becomes *hard* and a PROBLEM event is raised. An ``immediate``
  outcome (a UPS on battery) becomes hard at once.
* While hard non-OK, a change to another non-OK state is a new hard state (PROBLEM event).
* Recovery needs ``recovery_attempts`` consecutive OK results; then a RECOVERY event.
* Availability: every hard CRITICAL records whether the service is unavailable (an outage) or
  only needs attention (``checks.impact``). When that changes while the check stays hard
  CRITICAL (a certificate expiring soon, then the site stops answering), a PROBLEM event in the
  same state records it, so the reports see the outage begin and end.
* The very first result for a check never raises an event when it is OK.
* Flapping uses Icinga 2's algorithm: the last 20 results, 1 where the state differed from the
  previous result, weighted 0.8 (oldest) to 1.18 (newest); flapping starts above 30 % and ends
  below 25 %. While flapping, hard changes are recorded but not notified; one FLAPPING_START and
  one FLAPPING_END event are. When flapping ends in a state other than the one last notified, a
  notification for the current state follows, so nothing is left unsaid.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from muni_watchdog.core.model import Event, EventKind, State, StateType

FLAP_WINDOW = 20


@dataclass(frozen=True)
class Policy:
    """How a check's state is judged over time; defaults come from the service priority."""

    check_interval: float
    retry_interval: float
    max_attempts: int = 3
    recovery_attempts: int = 2
    flap_high: float = 30.0
    flap_low: float = 25.0
    flap_detection: bool = True


@dataclass(frozen=True)
class CheckStatus:
    """What the state machine remembers about one check between runs."""

    state: State = State.OK                 # the latest result's state
    state_type: StateType = StateType.HARD
    hard_state: State = State.OK
    attempt: int = 0                        # consecutive results disagreeing with hard_state
    since: datetime | None = None           # when the latest result's state began
    problem_since: datetime | None = None   # when the current problem began (first non-OK)
    last_check: datetime | None = None
    last_hard_change: datetime | None = None
    summary: str = ""
    flap_history: tuple[bool, ...] = field(default_factory=tuple)   # oldest first, <= 20
    flapping: bool = False
    notified_state: State = State.OK        # the state the on-call was last told about
    checks_done: int = 0
    unavailable: bool = False               # the hard CRITICAL is an outage (not attention)

    @property
    def is_problem(self) -> bool:
        return not self.hard_state.is_ok


@dataclass(frozen=True)
class Decision:
    status: CheckStatus
    events: tuple[Event, ...]
    next_interval: float


def flap_percent(history: tuple[bool, ...]) -> float:
    """Icinga 2's weighted percentage of state changes over the last 20 results."""
    padded = (False,) * (FLAP_WINDOW - len(history)) + history[-FLAP_WINDOW:]
    weighted = sum(0.8 + 0.02 * i for i, changed in enumerate(padded) if changed)
    return 100.0 * weighted / FLAP_WINDOW


def decide(previous: CheckStatus | None, result: State, summary: str, policy: Policy,
           now: datetime, immediate: bool = False, unavailable: bool = False) -> Decision:
    """Apply one check result to the remembered status. ``unavailable``: the result's
    CRITICAL means the service cannot be used (``Outcome.unavailable``)."""
    unavailable = unavailable and result is State.CRITICAL
    first = previous is None or previous.checks_done == 0
    prev = previous or CheckStatus()
    events: list[Event] = []

    changed = (not first) and result != prev.state
    history = (prev.flap_history + (changed,))[-FLAP_WINDOW:]
    since = prev.since if (not first and not changed and prev.since) else now
    status = replace(prev, state=result, since=since, last_check=now, summary=summary,
                     flap_history=history, checks_done=prev.checks_done + 1)

    if result.is_ok:
        status = _on_ok(status, prev, policy, now, events, first)
    else:
        status = _on_problem(status, prev, result, policy, now, events, immediate or
                             policy.max_attempts <= 1, unavailable)

    status = _apply_flapping(status, prev, policy, now, events)
    next_interval = (policy.retry_interval if status.state_type is StateType.SOFT
                     else policy.check_interval)
    return Decision(status, tuple(events), next_interval)


def _on_ok(status: CheckStatus, prev: CheckStatus, policy: Policy, now: datetime,
           events: list[Event], first: bool) -> CheckStatus:
    if prev.hard_state.is_ok:
        return replace(status, state_type=StateType.HARD, attempt=0, problem_since=None)
    attempt = prev.attempt + 1 if prev.state.is_ok else 1
    if attempt < policy.recovery_attempts:
        return replace(status, state_type=StateType.SOFT, attempt=attempt)
    events.append(Event(EventKind.RECOVERY, State.OK, prev.hard_state, now,
                        prev.problem_since or now, status.summary))
    return replace(status, state_type=StateType.HARD, hard_state=State.OK, attempt=0,
                   problem_since=None, last_hard_change=now, unavailable=False)


def _on_problem(status: CheckStatus, prev: CheckStatus, result: State, policy: Policy,
                now: datetime, events: list[Event], immediate: bool,
                unavailable: bool = False) -> CheckStatus:
    if prev.hard_state.is_ok:
        attempt = prev.attempt + 1 if not prev.state.is_ok else 1
        problem_since = prev.problem_since if (attempt > 1 and prev.problem_since) else now
        status = replace(status, problem_since=problem_since)
        if attempt < policy.max_attempts and not immediate:
            return replace(status, state_type=StateType.SOFT, attempt=attempt)
        events.append(Event(EventKind.PROBLEM, result, State.OK, now, problem_since,
                            status.summary, unavailable=unavailable))
        return replace(status, state_type=StateType.HARD, hard_state=result, attempt=0,
                       last_hard_change=now, unavailable=unavailable)
    # Already a hard problem; a non-OK result after a soft recovery attempt keeps it hard.
    status = replace(status, state_type=StateType.HARD, attempt=0)
    if result != prev.hard_state or unavailable != prev.unavailable:
        events.append(Event(EventKind.PROBLEM, result, prev.hard_state, now,
                            prev.problem_since or now, status.summary,
                            unavailable=unavailable))
        return replace(status, hard_state=result, last_hard_change=now,
                       unavailable=unavailable)
    return status


def _apply_flapping(status: CheckStatus, prev: CheckStatus, policy: Policy, now: datetime,
                    events: list[Event]) -> CheckStatus:
    if not policy.flap_detection:
        return _mark_notified(status, events)
    percent = flap_percent(status.flap_history)
    threshold = policy.flap_low if prev.flapping else policy.flap_high
    flapping = percent > threshold
    if flapping and not prev.flapping:
        # Hard changes in this same run are history, not news: the flapping event says it all.
        held = [replace(e, notify=False, suppressed_reason="flapping") for e in events]
        events[:] = held
        events.append(Event(EventKind.FLAPPING_START, status.hard_state, prev.hard_state, now,
                            now, f"state changes {percent:.0f}% of the last {FLAP_WINDOW} "
                            f"checks; notifications held until it settles"))
        return replace(status, flapping=True)
    if prev.flapping and flapping:
        events[:] = [replace(e, notify=False, suppressed_reason="flapping") for e in events]
        return status
    if prev.flapping and not flapping:
        events.append(Event(EventKind.FLAPPING_END, status.hard_state, prev.hard_state, now, now,
                            f"stopped flapping ({percent:.0f}%); now {status.hard_state.label}"))
        status = replace(status, flapping=False)
        if status.hard_state != status.notified_state and not any(
                e.kind in (EventKind.PROBLEM, EventKind.RECOVERY) for e in events):
            kind = EventKind.RECOVERY if status.hard_state.is_ok else EventKind.PROBLEM
            events.append(Event(kind, status.hard_state, status.notified_state, now,
                                status.problem_since or status.since or now, status.summary,
                                unavailable=status.unavailable))
    return _mark_notified(status, events)


def _mark_notified(status: CheckStatus, events: list[Event]) -> CheckStatus:
    for event in events:
        if event.notify and event.kind in (EventKind.PROBLEM, EventKind.RECOVERY):
            status = replace(status, notified_state=event.state)
    return status
