"""The daemon: wires config, checks, state machine, store and outbox on an asyncio loop.

APScheduler 3 runs one interval job per target and interval (:mod:`.slots`: coalesce, misfire
grace), first runs spread over the interval, with jitter; the job starts each check of the
target, one run per check at a time. A soft problem moves its check to the retry interval.
The site jobs it is given (:mod:`.runtime`: restore tests, reports, traps, ...) are
installed with each configuration. SIGHUP reloads (an invalid config is refused and the old one
keeps running), SIGTERM stops cleanly within bounds (:mod:`.shutdown`), and systemd hears
READY, STATUS and WATCHDOG.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from muni_watchdog.alerting.delivery import Notifier
from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.config.loading import ConfigError, load_config
from muni_watchdog.config.models import Config
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon import reload as reloading
from muni_watchdog.daemon import sdnotify
from muni_watchdog.daemon.cancelled import quiet_cancellations
from muni_watchdog.daemon.engine import CheckSpec, build_specs, close_sessions, log_run, run_check
from muni_watchdog.daemon.reload import OffLoopLoader, refuse
from muni_watchdog.daemon.runtime import Runtime, SiteJob, check_job_id
from muni_watchdog.daemon.shutdown import cancel_running
from muni_watchdog.daemon.slots import CheckSlots, spread
from muni_watchdog.daemon.writer import RunWriter
from muni_watchdog.store.check_state import RunRecord
from muni_watchdog.store.daemon_state import CONFIG_PATH_KEY
from muni_watchdog.store.database import Store

log = logging.getLogger("muni-watchdog")
OUTBOX_INTERVAL = 5.0
ALERTS_INTERVAL = 2.0
# A run with events wakes the alert pass at once, but no sooner than this after the last
# pass began: each pass walks every open incident, and a storm of state changes (500
# devices flapping on a loaded host) woke it 3 times a second (issue 16); a lone event is
# still alerted within a second.
ALERTS_MIN_GAP = 1.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def freeze_start_up() -> None:
    """Keep what start-up made (the libraries' modules, the configuration, the checks: it
    lives as long as the process or the configuration) out of the garbage collector's full
    passes, which otherwise walk all of it again and again (``gc.freeze``, made for this).
    Called before the first check runs, so nothing transient is frozen with it."""
    gc.collect()
    gc.freeze()


def thaw() -> None:
    """At a reload: what was frozen may be garbage now (the replaced configuration), and
    frozen garbage in a cycle is never collected. Not frozen again: checks are running,
    and their polls would be frozen with the new configuration."""
    gc.unfreeze()


class Daemon:
    def __init__(self, config_path: str | Path, state_dir: str | Path,
                 clock: Callable[[], datetime] = utcnow, *, jobs: Sequence[SiteJob] = ()):
        self.config_path = Path(config_path)
        self.state_dir = Path(state_dir)
        self.clock = clock
        self.jobs = list(jobs)
        self.config: Config | None = None
        self.store: Store | None = None
        self.notifier: Notifier | None = None
        self.alerts: AlertProcessor | None = None
        self.runtime: Runtime | None = None
        self.specs: dict[str, CheckSpec] = {}
        self.slots: CheckSlots | None = None   # the checks' scheduler jobs
        self.scheduler: AsyncIOScheduler | None = None
        self.stopping = asyncio.Event()
        self.loader = OffLoopLoader(self.config_path)
        self._foreign_tasks: set[asyncio.Task] = set()
        self._reload_task: asyncio.Task | None = None
        self._reload_again = False
        self.executor: ThreadPoolExecutor | None = None
        self.unquiet: Callable[[], None] = lambda: None
        self.writer: RunWriter | None = None   # the checks' runs, a transaction per group
        self._alerts_began: datetime | None = None

    async def run(self) -> int:
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            for issue in exc.issues:
                log.error("config: %s", issue)
            log.error("not starting: fix the configuration (muni-watchdog validate -c %s)",
                      self.config_path)
            return 2
        loop = asyncio.get_running_loop()
        self._foreign_tasks = set(asyncio.all_tasks())  # not ours to cancel at shutdown
        self.executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="collect")
        loop.set_default_executor(self.executor)
        self.store = Store.open(self.state_dir)
        # The command line finds the configuration through the state directory (CLI `ack`).
        self.store.set_state(CONFIG_PATH_KEY, str(self.config_path.resolve()))
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        self.runtime = Runtime(self.scheduler, self.store, self.clock, self.state_dir)
        self.slots = self.runtime.slots = CheckSlots(
            self.scheduler, self._run_check, self.clock, self.stopping.is_set)
        # Until the process ends (run_daemon's loop clean-up cancels leftovers too).
        self.unquiet = quiet_cancellations(self.stopping.is_set)
        await self._apply(config)
        self.scheduler.add_job(self._deliver, IntervalTrigger(seconds=OUTBOX_INTERVAL),
                               id="outbox", name="outbox", next_run_time=self.clock())
        self.scheduler.add_job(self._process_alerts, IntervalTrigger(seconds=ALERTS_INTERVAL),
                               id="alerts", name="alert loop", next_run_time=self.clock())
        self.scheduler.add_job(self._housekeeping, IntervalTrigger(hours=1), id="housekeeping",
                               name="housekeeping",
                               next_run_time=self.clock() + timedelta(seconds=60))
        self.scheduler.add_job(self._report_status, IntervalTrigger(seconds=30), id="status",
                               name="status", next_run_time=self.clock() + timedelta(seconds=2))
        self.scheduler.start()   # its first wake-up comes from the loop: nothing has run
        freeze_start_up()
        loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._request_reload)
        pinger = asyncio.ensure_future(self._watchdog_pings())
        sdnotify.notify("READY=1\nSTATUS=started")
        log.info("started: site=%r, %d checks on %d targets, state in %s", config.site.name,
                 len(self.specs), len(config.targets), self.state_dir)
        await self.stopping.wait()
        sdnotify.notify("STOPPING=1")
        log.info("stopping")
        pinger.cancel()
        self.scheduler.shutdown(wait=False)
        await cancel_running(self._foreign_tasks)
        await close_sessions(self.specs.values(), bound=2.0)
        if self.writer is not None:
            self.writer.flush()
        for job in self.jobs:
            try:
                await job.close()
            except Exception:  # one job's listener must not keep the others open
                log.warning("shutdown: closing %s failed", type(job).__name__, exc_info=True)
        self.store.close()
        log.info("stopped")
        return 0

    async def _apply(self, config: Config) -> list[CheckSpec]:
        """Install a validated config: the site jobs, then the checks, a scheduler job per
        target and interval (:mod:`.slots`), first runs spread out over the interval by
        target, so the checks of one target run together and share one poll. Returns the
        replaced specs, whose sessions the caller closes."""
        assert self.scheduler is not None and self.store is not None
        assert self.runtime is not None and self.slots is not None
        old = list(self.specs.values())
        self.slots.clear()
        self.config = config
        self.notifier = self.runtime.notifier = Notifier(config, self.store, self.clock)
        self.alerts = AlertProcessor(config, self.store, self.clock, recheck=self._recheck)
        wired = {}
        for job in self.jobs:
            await job.install(config, self.runtime)
            wired.update(job.check_types(config, self.runtime))
        specs = build_specs(config, wired)
        self.specs = {check_job_id(spec.key): spec for spec in specs}
        now = self.clock()
        target_index = {t.id: i for i, t in enumerate(config.targets)}
        for job_id, spec in self.specs.items():
            status, _ = self.store.load_status(spec.key)
            interval = spec.policy.check_interval
            if status is not None and status.state_type.value == "soft":
                interval = spec.policy.retry_interval
            self.slots.add(job_id, spec.key.target, interval,
                           spread(interval, target_index[spec.key.target], now))
        kept = {s.key for s in specs}
        for job in self.jobs:
            kept |= job.check_keys(config)
        self.store.remove_checks_not_in(kept)
        return old

    def _recheck(self, targets: set[str]) -> None:
        """Run the checks of these targets now (after a maintenance window ends)."""
        if self.slots is not None:
            self.slots.wake_targets(targets)

    async def _process_alerts(self) -> None:
        if self.alerts is None:
            return
        self._alerts_began = self.clock()
        try:
            if self.alerts.process() and self.scheduler:
                self.scheduler.modify_job("outbox", next_run_time=self.clock())
        except sqlite3.Error as exc:
            log.error("alerts: cannot update the state database: %s", exc)
        except Exception:  # a bug here must not stop monitoring; the step is retried
            log.exception("alerts: processing failed; will retry")

    # -- reload (SIGHUP) --------------------------------------------------------------------

    def _request_reload(self) -> None:
        """SIGHUP: reload in a task we hold on to; a SIGHUP during a reload runs one more
        reload after it (the file may have changed again), never two at once."""
        if self._reload_task is not None and not self._reload_task.done():
            self._reload_again = True
            log.info("reload requested while one is running; reloading again after it")
            return
        self._reload_task = asyncio.ensure_future(self._reload_until_settled())

    async def _reload_until_settled(self) -> None:
        while True:
            self._reload_again = False
            await self.reload()
            if not self._reload_again:
                return

    async def reload(self) -> bool:
        """Read, validate and install the configuration file again (off the loop, within a
        time budget: :mod:`.reload`); on any failure keep the running configuration, log
        "reload refused: REASON" and tell systemd."""
        log.info("reloading configuration from %s", self.config_path)
        try:
            config = await self.loader.load()
        except ConfigError as exc:
            for issue in exc.issues:
                log.error("config: %s", issue)
            n = len(exc.issues)
            return refuse(f"the new configuration has {n} error{'s' if n != 1 else ''} "
                          f"(first: {exc.issues[0]})")
        except TimeoutError:
            return refuse(f"reading and validating the file took longer than "
                          f"{reloading.RELOAD_BUDGET:g}s")
        except Exception as exc:  # never a task that dies unseen: every failure is reported
            log.error("reload: loading the configuration failed", exc_info=True)
            return refuse(f"loading it failed: {type(exc).__name__}: {exc}")
        sdnotify.notify("RELOADING=1")
        previous = self.config
        try:
            await close_sessions(await self._apply(config))
        except Exception as exc:
            log.error("reload: installing the new configuration failed", exc_info=True)
            await self._reinstall(previous)
            return refuse(f"installing it failed: {type(exc).__name__}: {exc}",
                          reloading=True)
        thaw()
        sdnotify.notify("READY=1\nSTATUS=configuration reloaded")
        log.info("reloaded: %d checks on %d targets", len(self.specs), len(config.targets))
        return True

    async def _reinstall(self, previous: Config | None) -> None:
        """Put the configuration that ran before a failed reload back in place."""
        if previous is None:
            return
        try:
            await close_sessions(await self._apply(previous))
        except Exception:
            log.critical("reload: the previous configuration could not be reinstalled either; "
                         "restart the service", exc_info=True)

    # -- the daemon's own jobs --------------------------------------------------------------

    async def _run_check(self, job_id: str) -> None:
        spec = self.specs.get(job_id)
        if spec is None or self.store is None or self.notifier is None:
            return
        try:
            previous, memory = self.store.load_status(spec.key)
            result = await run_check(spec, memory, self.clock())
            decision = decide(previous, result.outcome.state, result.outcome.summary,
                              spec.policy, result.started_at, result.outcome.immediate,
                              unavailable=result.outcome.unavailable)
            await self._writer().write(RunRecord(
                spec.key, result.started_at, result.duration, result.outcome,
                decision.status, dict(result.memory), spec.services, spec.priority,
                tuple(decision.events), spec.policy.check_interval))
        except sqlite3.Error as exc:
            # Nothing was committed, so the same transition is decided again next run: an
            # alert is delayed by a full disk, never lost.
            log.error("target=%s check=%s could not record the result: %s", spec.key.target,
                      spec.key.check, exc)
            return
        log_run(spec, decision)
        if self.slots is not None:
            self.slots.move(job_id, decision.next_interval)
        if decision.events and self.scheduler:
            self._wake_alerts()

    def _wake_alerts(self) -> None:
        """Run the alert pass now, or ALERTS_MIN_GAP after the last one began if that is
        later; never later than it is already due."""
        assert self.scheduler is not None
        wanted = self.clock()
        if self._alerts_began is not None:
            wanted = max(wanted, self._alerts_began + timedelta(seconds=ALERTS_MIN_GAP))
        job = self.scheduler.get_job("alerts")
        if job is not None and (job.next_run_time is None or job.next_run_time > wanted):
            self.scheduler.modify_job("alerts", next_run_time=wanted)

    def _writer(self) -> RunWriter:
        assert self.store is not None
        if self.writer is None:
            self.writer = RunWriter(self.store.record_runs)
        return self.writer

    async def _deliver(self) -> None:
        if self.notifier is None:
            return
        try:
            await self.notifier.deliver_due()
        except sqlite3.Error as exc:
            log.error("outbox: cannot read or update the state database: %s", exc)

    async def _housekeeping(self) -> None:
        if self.store is None or self.config is None:
            return
        try:
            # Runs thinned to the state changes, counted first in daily aggregates; old
            # coverage rows folded (store.retention): the database stays small.
            removed = self.store.prune_history(self.clock(), self.config.site.run_history)
            if any(removed.values()):
                log.info("housekeeping: removed %s", ", ".join(
                    f"{n} {table} rows" for table, n in removed.items() if n))
        except sqlite3.Error as exc:
            log.error("housekeeping: %s", exc)

    async def _report_status(self) -> None:
        if self.store is None:
            return
        try:
            problems = self.store.hard_problem_count()
            pending = self.store.notification_counts().get("pending", 0)
        except sqlite3.Error:
            return
        sdnotify.notify(f"STATUS={len(self.specs)} checks, {problems} hard problems, "
                        f"{pending} notifications waiting")

    async def _watchdog_pings(self) -> None:
        interval = sdnotify.watchdog_interval()
        if not interval:
            return
        while True:
            # Pinging from the event loop proves the loop is not blocked.
            sdnotify.notify("WATCHDOG=1")
            await asyncio.sleep(interval)
