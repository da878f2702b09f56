"""A state database of a small town, written the way the daemon writes it (``record_run`` with
the outcomes the real checks compute from the SNMP recordings), for the topology, inventory
and assessment tests (issue 14)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lab.snmp_recordings import DATA_DIR, load_snapshot, probes_answering
from muni_watchdog.checks.snmp.check_neighbors import NeighborsParams, evaluate_neighbors
from muni_watchdog.checks.snmp.check_system import SystemParams, evaluate_system
from muni_watchdog.checks.snmp.session import Poll
from muni_watchdog.core.model import CheckContext, CheckKey, Outcome
from muni_watchdog.core.transitions import Policy, decide
from muni_watchdog.store.database import Store

POLICY = Policy(check_interval=60, retry_interval=20)


def record(store: Store, target: str, check: str, at: datetime, outcome: Outcome,
           memory: Mapping[str, Any] | None = None, services: Sequence[str] = ()) -> None:
    """One scheduled run, recorded as the daemon records it."""
    key = CheckKey(target, check)
    previous, _ = store.load_status(key)
    decision = decide(previous, outcome.state, outcome.summary, POLICY, at)
    store.record_run(key, at, 0.1, outcome, decision.status, dict(memory or {}),
                     list(services), None, decision.events, interval=POLICY.check_interval)


def snapshot(recording: str) -> tuple[dict, set[str]]:
    values = load_snapshot(DATA_DIR / f"{recording}.snmprec")
    return values, probes_answering(values)


def snmp_device(store: Store, target: str, recording: str, at: datetime,
                values: dict | None = None, services: Sequence[str] = ()) -> Outcome:
    """The ``system`` and ``neighbors`` checks of one SNMP device, on a recording (or on
    ``values``, a changed copy of it), recorded; returns the neighbors outcome."""
    recorded, answering = snapshot(recording)
    values = recorded if values is None else values
    system = evaluate_system(Poll(values, answering), SystemParams(),
                             CheckContext(at, _memory(store, target, "system")))
    record(store, target, "system", at, system.outcome, system.memory, services)
    found = evaluate_neighbors(values, answering, NeighborsParams(),
                               CheckContext(at, _memory(store, target, "neighbors")))
    record(store, target, "neighbors", at, found.outcome, found.memory, services)
    return found.outcome


def _memory(store: Store, target: str, check: str) -> dict[str, Any]:
    return store.load_status(CheckKey(target, check))[1]
