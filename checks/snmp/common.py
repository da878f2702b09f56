"""What the SNMP checks share: getting the target's session, and judging a level."""

from __future__ import annotations

from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.snmp.session import Need, Poll, SnmpSession
from muni_watchdog.checks.snmp.values import Values
from muni_watchdog.core.model import Result, State


def session_of(target: TargetInfo) -> SnmpSession:
    """The target's shared session (made by the kind); a private one when run alone."""
    session = target.session
    if isinstance(session, SnmpSession):
        return session
    return SnmpSession.for_target(target)


async def fetch(target: TargetInfo, need: Need) -> Poll:
    return await session_of(target).fetch(need)


async def fetch_more(session: SnmpSession, first: Poll, need: Need) -> Poll:
    """``first`` plus what ``need`` asks beyond what it covered: a second step (a profile or
    vendor tables chosen from the probes) walks only what is new, not everything again."""
    session.follow_up(need)
    covered = first.covered
    extra = Need(need.scalars - covered.scalars, need.tables - covered.tables,
                 need.probes - covered.probes)
    if not (extra.scalars or extra.tables or extra.probes):
        return first
    second = await session.fetch(extra)
    if second is first:
        return first
    return Poll(Values({**first.values, **second.values}), first.answering | second.answering,
                second.fetched_at, first.requests + second.requests,
                first.seconds + second.seconds, covered | second.covered)


def high(value: float, warn: float | None, crit: float | None, text: str) -> Result:
    """A result for a value that is bad when high."""
    if crit is not None and value >= crit:
        return Result(State.CRITICAL, f"{text} (critical at {crit:g})")
    if warn is not None and value >= warn:
        return Result(State.WARNING, f"{text} (warning at {warn:g})")
    return Result(State.OK, text)


def low(value: float, warn: float | None, crit: float | None, text: str) -> Result:
    """A result for a value that is bad when low."""
    if crit is not None and value <= crit:
        return Result(State.CRITICAL, f"{text} (critical at {crit:g})")
    if warn is not None and value <= warn:
        return Result(State.WARNING, f"{text} (warning at {warn:g})")
    return Result(State.OK, text)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
