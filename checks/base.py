"""The check contract: ``collect`` does the I/O, ``evaluate`` judges the data, purely.

A check type is a class with:

* ``type``: its name in the config (``check: http``);
* ``Params``: a pydantic model of its own parameters, with defaults and descriptions;
* ``async collect(target, params)``: fetch raw data, with timeouts; may raise
  :class:`CollectError` (or anything: the engine turns exceptions into UNKNOWN);
* ``evaluate(raw, params, ctx) -> Evaluation``: pure; no clock but ``ctx.now``, no I/O.

Targets belong to a *kind* (``http``, ``tcp``, later ``snmp`` and ``ssh``) that says which check
types may run on them and what connection settings they carry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from muni_watchdog.core.model import CheckContext, Outcome
from muni_watchdog.core.types import Interval, Strict, Timeout


class CollectError(RuntimeError):
    """Raised by ``collect`` when the data could not be fetched; the message is the reason."""


class CheckParams(Strict):
    """Settings every check has. Check types subclass this with their own parameters."""

    check: str
    name: str | None = Field(
        None, description="Name of this check on the target; defaults to the check type. "
        "Needed when a target has two checks of the same type.")
    interval: Interval | None = Field(
        None, description="How often to run it; default from the service priority.")
    retry_interval: Interval | None = Field(
        None, description="How often to re-check while a problem is soft; default from the "
        "service priority.")
    max_attempts: int | None = Field(
        None, ge=1, le=20, description="Consecutive failures before a problem is hard (alerts).")
    recovery_attempts: int | None = Field(
        None, ge=1, le=20, description="Consecutive successes before a recovery is declared.")
    timeout: Timeout = Field(10.0, description="Longest a single run may take (then UNKNOWN).")
    affects_availability: bool | None = Field(
        None, description="Whether this check's CRITICAL is an outage of its services "
        "(counted against their availability) — true — or only needs attention — false. "
        "Default: as its check type declares (see 'What counts as an outage').")

    @property
    def check_name(self) -> str:
        return self.name or self.check


class TargetSession(Protocol):
    """State shared by all checks of one target: an SSH connection, an SNMP poller that
    fetches once what several checks ask for at the same time. Made by the target's kind."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TargetInfo:
    """What a check learns about its target: never the whole configuration."""

    id: str
    kind: str
    host: str
    connection: BaseModel | None = None
    session: TargetSession | None = field(default=None, compare=False)
    # The names of the services that run on the target (the config's services → targets), so
    # a finding can say what it endangers without the check seeing the whole config.
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """An outcome plus what the check wants remembered for its next run (counters, times)."""

    outcome: Outcome
    memory: Mapping[str, Any] = field(default_factory=dict)


class CheckType(Protocol):
    type: ClassVar[str]
    Params: ClassVar[type[CheckParams]]

    async def collect(self, target: TargetInfo, params: Any) -> Any: ...

    def evaluate(self, raw: Any, params: Any, ctx: CheckContext) -> Evaluation: ...


@dataclass(frozen=True)
class TargetKind:
    """A kind of target: its connection settings and the check types that run on it."""

    name: str
    description: str
    check_types: Mapping[str, CheckType]
    connection: type[BaseModel] | None = None
    default_checks: Callable[[], list[dict[str, Any]]] = list
    # Makes the per-target session (see TargetSession); None when checks need nothing shared.
    session: Callable[[TargetInfo], TargetSession] | None = None
