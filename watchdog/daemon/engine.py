"""Run one check: collect with a timeout, evaluate purely, and never let an error escape.

Used by the daemon (scheduled, with state) and by ``muni-watchdog check`` (once, stateless);
:func:`log_run` writes what a scheduled run decided.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from muni_watchdog.checks import KINDS
from muni_watchdog.checks.base import CheckParams, CheckType, CollectError, TargetInfo
from muni_watchdog.checks.impact import check_type_info
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import CheckContext, CheckKey, EventKind, Outcome
from muni_watchdog.core.transitions import Decision, Policy

log = logging.getLogger("muni-watchdog")


@dataclass(frozen=True)
class CheckSpec:
    """Everything needed to run and judge one configured check."""

    key: CheckKey
    check_type: CheckType
    params: CheckParams
    target: TargetInfo
    policy: Policy
    services: tuple[str, ...]
    priority: int


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    memory: Mapping[str, Any]
    started_at: datetime
    duration: float


def build_specs(config: Config, check_types: Mapping[str, CheckType] | None = None
                ) -> list[CheckSpec]:
    """One spec per configured check; checks of a target share one session (if its kind has
    one), which :func:`close_sessions` closes. ``check_types`` replaces the registered
    instance of a check type by one the daemon wired (the vulnerability feeds' directory, the
    store's facts for exposure)."""
    wired = dict(check_types or {})
    specs = []
    for target in config.targets:
        kind = KINDS[target.kind]
        served = config.services_of(target.id)
        info = TargetInfo(target.id, target.kind, target.host,
                          getattr(target, target.kind, None),
                          services=tuple(s.name for s in served))
        if kind.session is not None:
            info = replace(info, session=kind.session(info))
        services = tuple(s.id for s in served)
        for params in target.checks:
            check_type = wired.get(params.check) or kind.check_types[params.check]
            specs.append(CheckSpec(
                CheckKey(target.id, params.check_name), check_type, params,
                info, config.policy_for(target.id, params), services,
                config.priority_of(target.id)))
    return specs


async def run_check(spec: CheckSpec, memory: Mapping[str, Any], now: datetime) -> RunResult:
    """Collect and evaluate; any failure becomes UNKNOWN with the reason, never an exception."""
    started = time.monotonic()
    # The collect step has its own timeouts; this outer bound catches a check that ignores them.
    # It cancels the collection (and, through the session, a poll nobody else waits on).
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that
    # arrives as the inner step completes, and then waits for that step forever.
    limit = spec.params.timeout * 3 + 5
    try:
        async with asyncio.timeout(limit):
            raw = await spec.check_type.collect(spec.target, spec.params)
        evaluation = spec.check_type.evaluate(raw, spec.params, CheckContext(now, memory))
        outcome, new_memory = evaluation.outcome, evaluation.memory
    except TimeoutError:
        outcome, new_memory = Outcome.unknown(f"no result within {limit:g}s"), memory
    except CollectError as exc:
        outcome, new_memory = Outcome.unknown(str(exc)), memory
    except Exception as exc:  # a bug in one check must not stop the others
        log.exception("target=%s check=%s crashed", spec.key.target, spec.key.check)
        outcome = Outcome.unknown(f"check failed: {type(exc).__name__}: {exc}")
        new_memory = memory
    # What each CRITICAL means for availability (checks.impact), settled once, here.
    outcome = outcome.judged(check_type_info(spec.params.check).affects_availability,
                             spec.params.affects_availability)
    return RunResult(outcome, dict(new_memory), now, time.monotonic() - started)


CLOSE_SECONDS = 5.0   # all sessions together: a shutdown must end within systemd's bound


async def close_sessions(specs: Iterable[CheckSpec], bound: float = CLOSE_SECONDS) -> None:
    """Close every target session once (connections, pollers), all at once and within
    ``bound`` seconds in total; errors are only logged."""
    sessions: dict[int, tuple[str, Any]] = {}
    for spec in specs:
        session = spec.target.session
        if session is not None:
            sessions.setdefault(id(session), (spec.key.target, session))

    async def close(target: str, session: Any) -> None:
        try:
            await session.close()
        except Exception as exc:  # closing must never stop a reload or a shutdown
            log.warning("target=%s closing its session failed: %s", target, exc)
    if not sessions:
        return
    tasks = [asyncio.ensure_future(close(t, s)) for t, s in sessions.values()]
    _, late = await asyncio.wait(tasks, timeout=bound)
    for task in late:
        task.cancel()
    if late:
        log.warning("%d target sessions did not close within %gs; abandoned", len(late),
                    bound)


def log_run(spec: CheckSpec, decision: Decision) -> None:
    """One line per hard change (WARNING; a recovery INFO), soft attempts at INFO, the rest
    at DEBUG."""
    status = decision.status
    where = f"target={spec.key.target} check={spec.key.check}"
    for event in decision.events:
        level = logging.INFO if event.kind is EventKind.RECOVERY else logging.WARNING
        held = f" (held: {event.suppressed_reason})" if event.suppressed_reason else ""
        log.log(level, "%s %s %s -> %s%s: %s", where, event.kind.upper(),
                event.previous_state.name, event.state.name, held, event.summary)
    if not decision.events:
        if status.state_type.value == "soft":
            if status.state.is_ok:
                log.info("%s RECOVERING %d/%d: %s", where, status.attempt,
                         spec.policy.recovery_attempts, status.summary)
            else:
                log.info("%s SOFT %s attempt %d/%d: %s", where, status.state.name,
                         status.attempt, spec.policy.max_attempts, status.summary)
        else:
            log.debug("%s %s: %s", where, status.state.name, status.summary)
