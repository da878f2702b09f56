"""What the daemon lends the site jobs it is given, and what a site job is.

A site job (restore tests, reports, the metrics endpoint, the trap receiver, the heartbeat,
the weekly channel test) is an object the daemon receives when it is built: the daemon installs
it with every configuration it runs (at start and on each reload) and closes it when it stops.
A daemon given no jobs runs the checks and the alert loop alone, which is how its tests run it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from muni_watchdog.alerting.delivery import Notifier
from muni_watchdog.checks.base import CheckType
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import CheckKey, Outcome
from muni_watchdog.core.transitions import Decision, Policy, decide
from muni_watchdog.daemon.slots import CheckSlots
from muni_watchdog.store.database import Store


def check_job_id(key: CheckKey) -> str:
    """The scheduler's id of a check's job."""
    return f"check:{key}"


class Runtime:
    """The running daemon's scheduler, store, clock and state directory, and the notifier of
    its current configuration (replaced on every reload)."""

    def __init__(self, scheduler: AsyncIOScheduler, store: Store,
                 clock: Callable[[], datetime], state_dir: Path):
        self.scheduler = scheduler
        self.store = store
        self.clock = clock
        self.state_dir = state_dir
        self.notifier: Notifier | None = None
        self.slots: CheckSlots | None = None   # the checks' scheduler jobs (the daemon's)

    def remove_jobs(self, *job_ids: str) -> None:
        for job_id in job_ids:
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)

    def wake(self, job_id: str) -> None:
        """Run a daemon job (``alerts``, ``outbox``) now rather than at its next turn."""
        self.scheduler.modify_job(job_id, next_run_time=self.clock())

    def run_checks_now(self, keys: Iterable[CheckKey]) -> None:
        """Run these scheduled checks now (those that are scheduled)."""
        if self.slots is not None:
            self.slots.start_now(check_job_id(key) for key in keys)

    def record_passive(self, key: CheckKey, outcome: Outcome, services: Iterable[str],
                       priority: int | None) -> Decision:
        """Record a result that no scheduled check produced (a restore test, a trap): one
        result decides (no soft retries), then the ordinary store and alert path."""
        previous, _memory = self.store.load_status(key)
        policy = Policy(check_interval=7 * 86400, retry_interval=7 * 86400, max_attempts=1,
                        recovery_attempts=1, flap_detection=False)
        now = self.clock()
        decision = decide(previous, outcome.state, outcome.summary, policy, now, True)
        self.store.record_run(key, now, 0.0, outcome, decision.status, {}, tuple(services),
                              priority, decision.events)
        return decision


class SiteJob:
    """A job the daemon is given. ``install`` replaces the job's scheduler entries (and
    listeners) for ``config``; it is called at start and on every reload."""

    async def install(self, config: Config, runtime: Runtime) -> None:
        raise NotImplementedError

    def check_keys(self, config: Config) -> set[CheckKey]:
        """The checks this job records results for: their state is kept across reloads."""
        return set()

    def check_types(self, config: Config, runtime: Runtime) -> Mapping[str, CheckType]:
        """Check types this job wires for ``config`` (by type name), replacing the registered
        instances: what they need of the daemon (a directory, the store) is given here."""
        return {}

    async def close(self) -> None:
        """Release what ``install`` opened (a port, a server) when the daemon stops."""

