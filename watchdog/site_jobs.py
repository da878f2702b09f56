"""The site-level jobs of the daemon: heartbeat, weekly channel tests, restore tests, reports
and the metrics endpoint. A mixin of :class:`watchdog.daemon.Daemon`, which owns the scheduler,
the store and the configuration these methods use."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from muni_watchdog.config import Config
from muni_watchdog.model import CheckKey
from muni_watchdog.store import Store
from muni_watchdog.transitions import Policy, decide

log = logging.getLogger("muni-watchdog")


def backup_key(backup_id: str) -> CheckKey:
    """Restore tests appear as the check ``restore_test`` of the target ``backup:ID``."""
    return CheckKey(f"backup:{backup_id}", "restore_test")


def weekly_trigger(when: str, tz: str) -> CronTrigger:
    """``"mon 10:00"`` (validated by the config) as a cron trigger in the site's zone."""
    day, hhmm = when.split()
    hour, minute = map(int, hhmm.split(":"))
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=tz)


def _ping(url: str) -> None:
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (configured URL)
        response.read(1024)


class SiteJobs:
    """Needs from the daemon: scheduler, store, config, clock, state_dir, notifier."""

    scheduler: Any
    store: Store | None
    config: Config | None
    notifier: Any
    _metrics_server: Any
    _metrics_address: tuple[str, int] | None
    _trap_receiver: Any

    def _remove_jobs(self, *job_ids: str) -> None:
        for job_id in job_ids:
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)

    def _install_site_jobs(self, config: Config) -> None:
        """The heartbeat ping and the weekly channel test, replaced on every reload."""
        assert self.scheduler is not None
        self._remove_jobs("heartbeat", "weekly-test")
        beat = config.notify.heartbeat
        if beat is not None:
            self.scheduler.add_job(self._heartbeat, IntervalTrigger(seconds=beat.interval),
                                   id="heartbeat", next_run_time=self.clock())
        if config.notify.weekly_test and config.notify.channels:
            self.scheduler.add_job(self._weekly_test, weekly_trigger(
                config.notify.weekly_test, config.site.timezone), id="weekly-test",
                misfire_grace_time=3600)

    def _install_report_jobs(self, config: Config) -> None:
        """The monthly leadership summary, the weekly digest, and the /metrics endpoint."""
        assert self.scheduler is not None
        self._remove_jobs("report-monthly", "report-digest")
        tz = config.site.timezone
        monthly = config.reports.monthly
        if monthly is not None:
            hour, minute = map(int, monthly.time.split(":"))
            self.scheduler.add_job(self._send_report, CronTrigger(
                day=monthly.day, hour=hour, minute=minute, timezone=tz), args=["monthly", 0],
                id="report-monthly", misfire_grace_time=6 * 3600)
        digest = config.reports.digest
        if digest is not None:
            self.scheduler.add_job(self._send_report, weekly_trigger(digest.when, tz),
                                   args=["digest", 0], id="report-digest",
                                   misfire_grace_time=6 * 3600)
        self._start_metrics(config)

    def _start_metrics(self, config: Config) -> None:
        from muni_watchdog.reports.metrics import start_metrics_server, store_snapshot
        wanted = config.reports.metrics.address if config.reports.metrics else None
        if wanted == self._metrics_address:
            return
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server, self._metrics_address = None, None
        if wanted is None:
            return
        try:
            server, _thread = start_metrics_server(*wanted, store_snapshot(str(self.state_dir),
                                                                           config))
        except OSError as exc:
            log.error("metrics: cannot listen on %s:%s: %s", *wanted, exc)
            return
        self._metrics_server, self._metrics_address = server, wanted
        log.info("metrics: serving /metrics on %s:%s", *wanted)

    async def _send_report(self, which: str, attempt: int) -> None:
        """Build and send a report in a worker thread (it has its own database connection);
        a failed send is tried again in 15 minutes, up to 8 times."""
        from muni_watchdog.reports.deliver import send_digest, send_monthly_report
        config, now = self.config, self.clock()
        if config is None:
            return

        def work() -> str:
            store = Store.open(self.state_dir)
            try:
                if which == "monthly":
                    return str(send_monthly_report(config, store, self.state_dir, now))
                return send_digest(config, store, now).title
            finally:
                store.close()
        try:
            result = await asyncio.to_thread(work)
            log.info("report: %s sent (%s)", which, result)
        except Exception as exc:  # a failed report must not stop monitoring; try again
            log.error("report: %s not sent (attempt %d): %s", which, attempt + 1, exc)
            if attempt < 7 and self.scheduler:
                self.scheduler.add_job(self._send_report, "date", args=[which, attempt + 1],
                                       run_date=self.clock() + timedelta(minutes=15))

    def _install_backup_jobs(self, config: Config) -> None:
        """One job per backup for the sample restore test, one more for a full drill."""
        assert self.scheduler is not None
        for job in self.scheduler.get_jobs():
            if job.id.startswith(("restore:", "drill:")):
                self.scheduler.remove_job(job.id)
        for backup in config.backups:
            jobs = [("restore", backup.schedule, False)]
            if backup.full_drill_schedule:
                jobs.append(("drill", backup.full_drill_schedule, True))
            for prefix, cron, full in jobs:
                # APScheduler counts a numeric day-of-week 0 as Monday, crontab as Sunday; the
                # config validator accepts names (sun) and documents this.
                trigger = CronTrigger.from_crontab(cron, timezone=config.site.timezone)
                self.scheduler.add_job(self._restore_test, trigger, args=[backup.id, full],
                                       id=f"{prefix}:{backup.id}", misfire_grace_time=3600)

    async def _restore_test(self, backup_id: str, full: bool) -> None:
        """Run a restore test and treat its verdict as an ordinary check result."""
        from muni_watchdog.backup_tests.drill import run_restore_test
        from muni_watchdog.backup_tests.report import BackupState, report_to_outcome
        from muni_watchdog.cli_backup import remote_source, report_row
        config, store = self.config, self.store
        if config is None or store is None:
            return
        backup = next((b for b in config.backups if b.id == backup_id), None)
        if backup is None:
            return
        service = config.service_by_id[backup.service]
        where = f"target=backup:{backup.id} check=restore_test"
        log.info("%s %s started", where, "full drill" if full else "sample restore test")
        try:
            state = BackupState.from_dict(store.restore_test_state(backup.id))
            async with remote_source(config, backup) as source_reader:
                report = await run_restore_test(backup, service.rpo, service.rto, state,
                                                full=full, clock=self.clock,
                                                work_dir=self.state_dir / "restore-tests",
                                                source_reader=source_reader)
            store.record_restore_test(report_row(report),
                                      report.state.as_dict() if report.state else None)
            outcome = report_to_outcome(report)
            decision = self._record_passive(backup_key(backup.id), outcome, (service.id,),
                                            service.priority)
        except sqlite3.Error as exc:
            log.error("%s could not record the result: %s", where, exc)
            return
        except Exception:  # a bug in the test must not take the daemon down
            log.exception("%s failed", where)
            return
        log.log(logging.INFO if outcome.state.is_ok else logging.WARNING, "%s %s: %s", where,
                outcome.state.name, outcome.summary)
        if decision.events and self.scheduler:
            self.scheduler.modify_job("alerts", next_run_time=self.clock())

    def _record_passive(self, key: CheckKey, outcome, services, priority):
        """Record a result that no scheduled check produced (a restore test, a trap): one
        result decides (no soft retries), then the ordinary store and alert path."""
        assert self.store is not None
        previous, _memory = self.store.load_status(key)
        policy = Policy(check_interval=7 * 86400, retry_interval=7 * 86400, max_attempts=1,
                        recovery_attempts=1, flap_detection=False)
        now = self.clock()
        decision = decide(previous, outcome.state, outcome.summary, policy, now, True)
        self.store.record_run(key, now, 0.0, outcome, decision.status, {}, tuple(services),
                              priority, decision.events)
        return decision

    async def _start_traps(self, config: Config) -> None:
        """(Re)start the SNMP trap receiver for the snmp targets of ``config`` (v1/v2c by
        community, v3 by USM user)."""
        from muni_watchdog.checks.snmp.traps import TrapReceiver
        from muni_watchdog.checks.snmp.traps_v3 import V3User
        from muni_watchdog.secrets import SecretError, read_secret
        if self._trap_receiver is not None:
            await self._trap_receiver.close()
            self._trap_receiver = None
        settings = config.site.snmp_traps
        if not settings.enabled:
            return
        senders: dict[str, tuple[str, bytes]] = {}
        v3_users: dict[str, tuple[str, V3User]] = {}
        for target in config.targets:
            c = getattr(target, "snmp", None)
            if target.kind != "snmp" or c is None:
                continue
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(target.host, None)
                if c.version == "3":
                    user = V3User(c.user, c.auth_protocol, c.auth_ref and read_secret(c.auth_ref),
                                  c.priv_protocol, c.priv_ref and read_secret(c.priv_ref))
                else:
                    community = read_secret(c.community_ref).encode()
            except (OSError, SecretError) as exc:
                log.warning("traps: target=%s cannot be a trap sender: %s", target.id, exc)
                continue
            for info in infos:
                if c.version == "3":
                    v3_users[info[4][0]] = (target.id, user)
                else:
                    senders[info[4][0]] = (target.id, community)
        try:
            self._trap_receiver = await TrapReceiver(senders, self._trap_event, settings.port,
                                                     settings.bind, v3_users).start()
        except OSError as exc:
            log.error("traps: cannot listen on %s:%d: %s (port 162 needs privileges; see the "
                      "unit file's note, or use a port above 1023)", settings.bind,
                      settings.port, exc)
            return
        log.info("traps: listening on %s:%d for %d senders", settings.bind,
                 self._trap_receiver.port, len(senders) + len(v3_users))

    def _trap_event(self, event) -> None:
        from muni_watchdog.model import Outcome, Result
        config = self.config
        if config is None or self.store is None:
            return
        services = [s.id for s in config.services_of(event.target)]
        outcome = Outcome.of([Result(event.state, event.summary)], immediate=event.immediate)
        try:
            decision = self._record_passive(CheckKey(event.target, "traps"), outcome, services,
                                            config.priority_of(event.target))
        except sqlite3.Error as exc:
            log.error("target=%s check=traps could not record a trap: %s", event.target, exc)
            return
        log.warning("target=%s check=traps %s: %s", event.target, event.state.name,
                    event.summary)
        if decision.events and self.scheduler:
            self.scheduler.modify_job("alerts", next_run_time=self.clock())

    async def _heartbeat(self) -> None:
        beat = self.config.notify.heartbeat if self.config else None
        if beat is None:
            return
        from muni_watchdog.secrets import SecretError, read_secret
        try:
            url = beat.url or read_secret(beat.secret_ref)  # type: ignore[arg-type]
            await asyncio.wait_for(asyncio.to_thread(_ping, url), 15)
            log.debug("heartbeat sent")
        except (SecretError, OSError, TimeoutError) as exc:
            log.warning("heartbeat failed: %s", exc)

    async def _weekly_test(self) -> None:
        if self.notifier is None or self.config is None:
            return
        names = [c.name for c in self.config.notify.channels]
        try:
            self.notifier.queue_test(names, self.clock(), "weekly")
            log.info("weekly test message queued for %s", ", ".join(names))
            if self.scheduler:
                self.scheduler.modify_job("outbox", next_run_time=self.clock())
        except sqlite3.Error as exc:
            log.error("weekly test: %s", exc)
