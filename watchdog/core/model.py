"""The vocabulary every part of muni-watchdog speaks: states, results, metrics, outcomes, events.

Nothing here does I/O. Checks produce an :class:`Outcome`; the state machine turns outcomes into
:class:`Event` objects; the store and the alerting code read them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from muni_watchdog.core.text import plain_text


class State(enum.IntEnum):
    """A check state. The integer is the monitoring-plugins exit code (0/1/2/3).

    Ordering by *badness* is explicit (Checkmk's order: CRIT > UNKNOWN > WARN > OK), because the
    plugin codes put UNKNOWN above CRIT, which is not what "worst" means to a person.
    """

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def badness(self) -> int:
        return _BADNESS[self]

    @property
    def label(self) -> str:
        """The lower-case name used in JSON and the CLI: ok, warning, critical, unknown."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> State:
        key = text.strip().upper()
        aliases = {"WARN": "WARNING", "CRIT": "CRITICAL", "UNKN": "UNKNOWN"}
        return cls[aliases.get(key, key)]

    @classmethod
    def worst(cls, states: Iterable[State]) -> State:
        """The worst of ``states`` (OK for none)."""
        return max(states, key=lambda s: s.badness, default=cls.OK)

    @property
    def is_ok(self) -> bool:
        return self is State.OK


_BADNESS = {State.OK: 0, State.WARNING: 1, State.UNKNOWN: 2, State.CRITICAL: 3}


@dataclass(frozen=True)
class Metric:
    """A measured value, with the thresholds it was judged against (perfdata)."""

    name: str
    value: float
    unit: str = ""
    warn: float | None = None
    crit: float | None = None
    min: float | None = None
    max: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit, "warn": self.warn,
                "crit": self.crit}

    def perfdata(self) -> str:
        """Nagios perfdata: ``'label'=value[UOM];[warn];[crit];[min];[max]``."""
        def num(v: float | None) -> str:
            return "" if v is None else f"{v:g}"

        parts = [f"{self.value:g}{self.unit}", num(self.warn), num(self.crit), num(self.min),
                 num(self.max)]
        return f"'{self.name}'=" + ";".join(parts).rstrip(";")


@dataclass(frozen=True)
class Result:
    """One judgement inside a check: a state and a one-line summary a person can read.

    ``affects_availability`` says what a CRITICAL of this result means: True, the service
    cannot be used (an outage: the website does not answer); False, someone should look but
    the service works (its certificate expires in 10 days, toner is low); None, as the check
    type declares (``checks.impact``). A check marks only the results that differ from its
    type; the engine fills in the rest (:meth:`Outcome.judged`).
    """

    state: State
    summary: str
    details: str = ""
    affects_availability: bool | None = None

    def __post_init__(self) -> None:
        # Every check's text passes here on its way to a summary, an alert or a terminal:
        # what another program printed (restic, a plugin, a device) loses its escapes here.
        object.__setattr__(self, "summary", plain_text(self.summary))
        object.__setattr__(self, "details", plain_text(self.details))

    def with_availability(self, value: bool | None) -> Result:
        """The same result with ``affects_availability`` set: a copy of its fields, without
        ``dataclasses.replace``'s field walk and a second pass of the texts through
        :func:`plain_text` (they are plain already); done for most results of every run."""
        copy = object.__new__(Result)
        copy.__dict__.update(self.__dict__)
        object.__setattr__(copy, "affects_availability", value)
        return copy


@dataclass(frozen=True)
class Outcome:
    """Everything one check run produced.

    ``immediate`` asks the state machine to skip soft retries (a UPS on battery must page at once).
    ``items`` are the typed objects a check found (interfaces, filesystems, packages...).
    """

    results: tuple[Result, ...]
    metrics: tuple[Metric, ...] = ()
    items: tuple[Mapping[str, Any], ...] = ()
    immediate: bool = False

    @classmethod
    def of(cls, results: Sequence[Result], metrics: Sequence[Metric] = (),
           items: Sequence[Mapping[str, Any]] = (), immediate: bool = False) -> Outcome:
        return cls(tuple(results), tuple(metrics), tuple(items), immediate)

    @classmethod
    def unknown(cls, reason: str) -> Outcome:
        """The outcome of a check that could not find out: UNKNOWN with the reason."""
        return cls((Result(State.UNKNOWN, reason),))

    @property
    def state(self) -> State:
        return State.worst(r.state for r in self.results)

    @property
    def summary(self) -> str:
        """The worst results first, then the others; OK details only when all is OK."""
        if not self.results:
            return "no result"
        worst = self.state
        if worst is State.OK:
            return ", ".join(r.summary for r in self.results)
        bad = sorted((r for r in self.results if not r.state.is_ok),
                     key=lambda r: -r.state.badness)
        return ", ".join(r.summary for r in bad)

    def judged(self, default: bool, override: bool | None = None) -> Outcome:
        """Every result with its availability meaning settled: the check's own
        ``affects_availability:`` when set (it overrides everything), else what the result
        says, else ``default`` (the check type's)."""
        def settle(r: Result) -> Result:
            value = override if override is not None else (
                r.affects_availability if r.affects_availability is not None else default)
            if value is r.affects_availability:   # settled already: the same frozen result
                return r
            return r.with_availability(value)
        results = tuple(settle(r) for r in self.results)
        if all(new is old for new, old in zip(results, self.results, strict=True)):
            return self
        return replace(self, results=results)

    @property
    def unavailable(self) -> bool:
        """True when a CRITICAL result means the service cannot be used: an outage.
        Results not yet :meth:`judged` (None) do not count."""
        return any(r.state is State.CRITICAL and r.affects_availability is True
                   for r in self.results)


class StateType(enum.StrEnum):
    SOFT = "soft"
    HARD = "hard"


class EventKind(enum.StrEnum):
    PROBLEM = "problem"          # hard change into a non-OK state, or between non-OK states
    RECOVERY = "recovery"        # hard change back to OK
    FLAPPING_START = "flapping_start"
    FLAPPING_END = "flapping_end"


@dataclass(frozen=True)
class Event:
    """A hard state change (or flapping change) worth recording, and perhaps notifying."""

    kind: EventKind
    state: State
    previous_state: State
    at: datetime
    since: datetime
    summary: str
    notify: bool = True
    suppressed_reason: str | None = None
    unavailable: bool = False    # the (CRITICAL) state means the service cannot be used


@dataclass(frozen=True)
class CheckKey:
    """Identifies one check on one target."""

    target: str
    check: str

    def __str__(self) -> str:
        return f"{self.target}/{self.check}"


@dataclass(frozen=True)
class CheckContext:
    """What a pure ``evaluate`` may know besides the raw data: the clock and remembered values.

    ``memory`` holds what the check asked to keep from its previous run (counter values for rates,
    first-seen times); ``evaluate`` returns the new memory alongside its outcome.
    """

    now: datetime
    memory: Mapping[str, Any] = field(default_factory=dict)
