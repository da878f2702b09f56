"""The daemon: wires config, checks, state machine, store and outbox on an asyncio loop.

APScheduler 3 runs one interval job per check (coalesce, max_instances=1, misfire grace),
first runs spread over the interval, with jitter. A soft problem switches its job to the retry
interval. SIGHUP reloads (an invalid config is refused and the old one keeps running), SIGTERM
stops cleanly, and systemd hears READY, STATUS and WATCHDOG.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from muni_watchdog import sdnotify
from muni_watchdog.alerting import AlertProcessor
from muni_watchdog.config import Config, ConfigError, load_config
from muni_watchdog.engine import CheckSpec, build_specs, close_sessions, run_check
from muni_watchdog.model import CheckKey, EventKind
from muni_watchdog.notifier import Notifier
from muni_watchdog.site_jobs import SiteJobs, backup_key
from muni_watchdog.store import Store
from muni_watchdog.transitions import decide

log = logging.getLogger("muni-watchdog")
GOLDEN = 0.6180339887
OUTBOX_INTERVAL = 5.0
ALERTS_INTERVAL = 2.0
RELOAD_BUDGET = 30.0  # seconds to read and validate a reloaded file; the unit's WatchdogSec=60s
# Shutdown bounds: systemd's TimeoutStopSec (20 s in our unit) must never be reached.
CANCEL_SECONDS = 3.0     # tasks: checks, polls, deliveries
EXIT_SECONDS = 3.0       # worker threads (a blocking send or restic call) after the loop


def utcnow() -> datetime:
    return datetime.now(UTC)


class Daemon(SiteJobs):
    def __init__(self, config_path: str | Path, state_dir: str | Path,
                 clock: Callable[[], datetime] = utcnow):
        self.config_path = Path(config_path)
        self.state_dir = Path(state_dir)
        self.clock = clock
        self.config: Config | None = None
        self.store: Store | None = None
        self.notifier: Notifier | None = None
        self.alerts: AlertProcessor | None = None
        self.specs: dict[str, CheckSpec] = {}
        self.intervals: dict[str, float] = {}
        self.scheduler: AsyncIOScheduler | None = None
        self.stopping = asyncio.Event()
        self._foreign_tasks: set[asyncio.Task] = set()
        self._metrics_server = None
        self._trap_receiver = None
        self._metrics_address: tuple[str, int] | None = None
        self.executor: ThreadPoolExecutor | None = None

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
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        self._apply(config)
        await self._start_traps(config)
        self.scheduler.add_job(self._deliver, IntervalTrigger(seconds=OUTBOX_INTERVAL),
                               id="outbox", next_run_time=self.clock())
        self.scheduler.add_job(self._process_alerts, IntervalTrigger(seconds=ALERTS_INTERVAL),
                               id="alerts", next_run_time=self.clock())
        self.scheduler.add_job(self._housekeeping, IntervalTrigger(hours=1), id="housekeeping",
                               next_run_time=self.clock() + timedelta(seconds=60))
        self.scheduler.add_job(self._report_status, IntervalTrigger(seconds=30), id="status",
                               next_run_time=self.clock() + timedelta(seconds=2))
        self.scheduler.start()
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
        await self._cancel_running()
        await close_sessions(self.specs.values(), bound=2.0)
        if self._trap_receiver is not None:
            await self._trap_receiver.close()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
        self.store.close()
        log.info("stopped")
        return 0

    async def _cancel_running(self, bound: float = CANCEL_SECONDS) -> None:
        """Cancel every task of ours (checks, polls, sends) and wait for them, within
        ``bound`` seconds. A task that swallowed a cancellation is cancelled again each
        round; one still running at the end is named in the log (and abandoned)."""
        current = asyncio.current_task()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + bound
        tasks: set[asyncio.Task] = set()
        while True:
            tasks = {t for t in asyncio.all_tasks() if t is not current and not t.done()
                     and t not in self._foreign_tasks}
            if not tasks or loop.time() >= deadline:
                break
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=min(0.5, max(0.0, deadline - loop.time())))
        for task in tasks:
            log.warning("shutdown: task %s still running after %gs: %s", task.get_name(),
                        bound, task.get_coro())

    def _apply(self, config: Config) -> list[CheckSpec]:
        """Install a validated config: one job per check, first runs spread out over the
        interval by target, so the checks of one target run together and share one poll.
        Returns the replaced specs, whose sessions the caller closes."""
        assert self.scheduler is not None and self.store is not None
        old = list(self.specs.values())
        for job_id in list(self.specs):
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
        self.config = config
        self.notifier = Notifier(config, self.store, self.clock)
        self.alerts = AlertProcessor(config, self.store, self.clock, recheck=self._recheck)
        self._install_site_jobs(config)
        self._install_backup_jobs(config)
        self._install_report_jobs(config)
        specs = build_specs(config)
        self.specs = {f"check:{spec.key}": spec for spec in specs}
        self.intervals = {}
        now = self.clock()
        target_index = {t.id: i for i, t in enumerate(config.targets)}
        for job_id, spec in self.specs.items():
            status, _ = self.store.load_status(spec.key)
            interval = spec.policy.check_interval
            if status is not None and status.state_type.value == "soft":
                interval = spec.policy.retry_interval
            offset = interval * ((target_index[spec.key.target] * GOLDEN) % 1.0)
            self.intervals[job_id] = interval
            self.scheduler.add_job(self._run_check, self._trigger(interval), args=[job_id],
                                   id=job_id, next_run_time=now + timedelta(seconds=offset),
                                   misfire_grace_time=max(1, int(interval)))
        self.store.remove_checks_not_in(
            {s.key for s in specs} | {backup_key(b.id) for b in config.backups} |
            {CheckKey(t.id, "traps") for t in config.targets if t.kind == "snmp"})
        return old

    def _recheck(self, targets: set[str]) -> None:
        """Run the checks of these targets now (after a maintenance window ends)."""
        if self.scheduler is None:
            return
        for job_id, spec in self.specs.items():
            if spec.key.target in targets and self.scheduler.get_job(job_id):
                self.scheduler.modify_job(job_id, next_run_time=self.clock())

    async def _process_alerts(self) -> None:
        if self.alerts is None:
            return
        try:
            if self.alerts.process() and self.scheduler:
                self.scheduler.modify_job("outbox", next_run_time=self.clock())
        except sqlite3.Error as exc:
            log.error("alerts: cannot update the state database: %s", exc)
        except Exception:  # a bug here must not stop monitoring; the step is retried
            log.exception("alerts: processing failed; will retry")

    @staticmethod
    def _trigger(interval: float) -> IntervalTrigger:
        return IntervalTrigger(seconds=interval, jitter=max(0.0, min(interval * 0.05, 10.0)))

    # -- reload (SIGHUP) --------------------------------------------------------------------

    _reload_task: asyncio.Task | None = None
    _reload_again = False
    _reload_thread: threading.Thread | None = None

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
        """Read, validate and install the configuration file again; on any failure keep the
        running configuration, log "reload refused: REASON" and tell systemd.

        The file is read and validated in a thread with a time budget, so the event loop goes
        on running checks and watchdog pings meanwhile (the file's size, nesting and value
        count are bounded by the loader, so the thread's memory is bounded too)."""
        log.info("reloading configuration from %s", self.config_path)
        try:
            config = await self._load_off_loop()
        except ConfigError as exc:
            for issue in exc.issues:
                log.error("config: %s", issue)
            n = len(exc.issues)
            return self._refuse(f"the new configuration has {n} error{'s' if n != 1 else ''} "
                                f"(first: {exc.issues[0]})")
        except TimeoutError:
            return self._refuse(f"reading and validating the file took longer than "
                                f"{RELOAD_BUDGET:g}s")
        except Exception as exc:  # never a task that dies unseen: every failure is reported
            log.error("reload: loading the configuration failed", exc_info=True)
            return self._refuse(f"loading it failed: {type(exc).__name__}: {exc}")
        sdnotify.notify("RELOADING=1")
        previous = self.config
        try:
            await close_sessions(self._apply(config))
            await self._start_traps(config)
        except Exception as exc:
            log.error("reload: installing the new configuration failed", exc_info=True)
            await self._reinstall(previous)
            return self._refuse(f"installing it failed: {type(exc).__name__}: {exc}",
                                reloading=True)
        sdnotify.notify("READY=1\nSTATUS=configuration reloaded")
        log.info("reloaded: %d checks on %d targets", len(self.specs), len(config.targets))
        return True

    async def _load_off_loop(self) -> Config:
        """``load_config`` in a daemon thread, awaited for at most RELOAD_BUDGET seconds.

        A daemon thread, not an executor: one that overruns the budget is abandoned (it ends
        by itself: the loader's limits bound its work) and never delays the daemon's exit."""
        if self._reload_thread is not None and self._reload_thread.is_alive():
            raise RuntimeError("the previous reload is still reading the file; send SIGHUP "
                               "again in a moment")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Config] = loop.create_future()

        def settle(outcome: Config | BaseException) -> None:
            if future.done():  # the budget ran out and the waiter is gone
                return
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        def work() -> None:
            try:
                outcome: Config | BaseException = load_config(self.config_path)
            except BaseException as exc:  # noqa: BLE001 — handed to the loop, which reports it
                outcome = exc
            try:
                loop.call_soon_threadsafe(settle, outcome)
            except RuntimeError:  # the loop has closed: the daemon is gone
                pass

        self._reload_thread = threading.Thread(target=work, name="config-reload", daemon=True)
        self._reload_thread.start()
        try:
            config = await asyncio.wait_for(future, RELOAD_BUDGET)
        except TimeoutError:
            raise  # the thread is abandoned and stays recorded until it ends by itself
        except BaseException:
            self._reload_thread = None
            raise
        # The thread has handed over its result but may not have returned yet: it is done,
        # and must not make the next SIGHUP look like an overlapping reload.
        self._reload_thread = None
        return config

    async def _reinstall(self, previous: Config | None) -> None:
        """Put the configuration that ran before a failed reload back in place."""
        if previous is None:
            return
        try:
            await close_sessions(self._apply(previous))
            await self._start_traps(previous)
        except Exception:
            log.critical("reload: the previous configuration could not be reinstalled either; "
                         "restart the service", exc_info=True)

    @staticmethod
    def _refuse(reason: str, reloading: bool = False) -> bool:
        log.error("reload refused: %s; still running the previous configuration", reason)
        status = f"STATUS=reload refused: {reason}"[:400]
        sdnotify.notify(("READY=1\n" if reloading else "") + status)
        return False

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
            self.store.record_run(spec.key, result.started_at, result.duration, result.outcome,
                                  decision.status, dict(result.memory), spec.services,
                                  spec.priority, decision.events,
                                  interval=spec.policy.check_interval)
        except sqlite3.Error as exc:
            # Nothing was committed, so the same transition is decided again next run: an
            # alert is delayed by a full disk, never lost.
            log.error("target=%s check=%s could not record the result: %s", spec.key.target,
                      spec.key.check, exc)
            return
        self._log_run(spec, decision)
        if decision.next_interval != self.intervals.get(job_id) and self.scheduler:
            self.intervals[job_id] = decision.next_interval
            self.scheduler.reschedule_job(job_id, trigger=self._trigger(decision.next_interval))
        if decision.events and self.scheduler:
            self.scheduler.modify_job("alerts", next_run_time=self.clock())

    @staticmethod
    def _log_run(spec: CheckSpec, decision) -> None:
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
            removed = self.store.prune_runs(self.clock() - timedelta(
                seconds=self.config.site.run_history))
            if removed:
                log.info("housekeeping: removed %d check runs older than the run history",
                         removed)
        except sqlite3.Error as exc:
            log.error("housekeeping: %s", exc)

    async def _report_status(self) -> None:
        if self.store is None:
            return
        try:
            states = self.store.current_states()
            pending = self.store.notification_counts().get("pending", 0)
        except sqlite3.Error:
            return
        problems = sum(1 for s in states if s["hard_state"] != 0)
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


def run_daemon(config_path: str | Path, state_dir: str | Path) -> int:
    """Run the daemon until SIGTERM/SIGINT; always returns (or exits) within the shutdown
    bounds. Not ``asyncio.run``: its clean-up waits without limit for every leftover task
    and for the executor's threads, so one stuck task kept a stopped daemon alive."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    daemon = Daemon(config_path, state_dir)
    code = 1
    try:
        code = loop.run_until_complete(daemon.run())
    finally:
        _close_loop(loop, daemon.executor)
    return code


def _close_loop(loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor | None,
                bound: float = CANCEL_SECONDS) -> None:
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        loop.run_until_complete(asyncio.wait(leftover, timeout=bound))
    try:
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), bound))
    except (TimeoutError, RuntimeError):
        pass
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    asyncio.set_event_loop(None)
    loop.close()
    deadline = time.monotonic() + EXIT_SECONDS
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if stuck:
        # Python would wait for these at exit, without limit: a stop must never hang.
        log.error("stopped, but threads %s are still busy; exiting without them",
                  ", ".join(stuck))
        logging.shutdown()
        os._exit(0)
