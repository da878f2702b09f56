"""The daemon is given its site jobs; it does not inherit them. A daemon given none runs its
checks and the alert loop alone; the service's standard jobs add the heartbeat, the weekly
channel test, restore tests, reports, /metrics and traps; every job is installed with each
configuration (start and reload) and closed when the daemon stops."""

from __future__ import annotations

import asyncio

from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.runtime import SiteJob
from muni_watchdog.daemon.service import standard_jobs
from muni_watchdog.daemon.slots import slot_id
from tests.test_daemon_reload import config_text

DAEMON_OWN = {"outbox", "alerts", "housekeeping", "status"}
WEB_CHECKS = slot_id("web", 1)   # the job of target web's checks (every 1 s)


def site_config(url: str) -> str:
    return config_text(url) + f"""\
notify:
  channels:
    - {{name: oncall, url: "json://127.0.0.1:9/oncall"}}
  routes: [{{name: all, channels: [oncall]}}]
  weekly_test: "mon 10:00"
  heartbeat: {{url: "{url}/heartbeat", interval: 1h}}
reports:
  monthly: {{channel: oncall}}
  digest: {{channel: oncall}}
"""


class Recording(SiteJob):
    """A site job that writes down what the daemon asks of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def install(self, config, runtime):
        interval = config.targets[0].checks[0].interval
        self.calls.append(f"install {interval:g}s")
        runtime.remove_jobs("recording")        # install replaces what it installed before
        runtime.scheduler.add_job(self.tick, "interval", hours=1, id="recording")

    async def tick(self) -> None:
        pass

    async def close(self) -> None:
        self.calls.append("close")


def run(daemon: Daemon, scenario) -> None:
    async def main():
        task = asyncio.ensure_future(daemon.run())
        while daemon.scheduler is None or not daemon.scheduler.running:
            await asyncio.sleep(0.05)
        try:
            return await scenario()
        finally:
            daemon.stopping.set()
            assert await task == 0
    return asyncio.run(main())


def job_ids(daemon: Daemon) -> set[str]:
    return {job.id for job in daemon.scheduler.get_jobs()}


def test_a_daemon_given_no_site_jobs_runs_its_checks_and_alert_loop_only(tmp_path, http_server):
    config = tmp_path / "c.yaml"
    config.write_text(site_config(http_server.url))
    bare = Daemon(config, tmp_path / "bare")

    async def scenario():
        while bare.store.load_status(bare.specs["check:web/http"].key)[0] is None:
            await asyncio.sleep(0.05)          # its check ran and was recorded
        return job_ids(bare)

    assert run(bare, scenario) == {WEB_CHECKS} | DAEMON_OWN


def test_the_standard_jobs_add_the_sites_schedule(tmp_path, http_server):
    config = tmp_path / "c.yaml"
    config.write_text(site_config(http_server.url))
    served = http_server.requests
    daemon = Daemon(config, tmp_path / "state", jobs=standard_jobs())

    async def scenario():
        while http_server.requests < served + 2:   # the heartbeat and the check both call
            await asyncio.sleep(0.05)
        return job_ids(daemon)

    assert run(daemon, scenario) == {WEB_CHECKS, "heartbeat", "weekly-test",
                                     "report-monthly", "report-digest"} | DAEMON_OWN


def test_a_job_is_installed_with_each_configuration_and_closed_at_stop(tmp_path, http_server):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(http_server.url))
    job = Recording()
    daemon = Daemon(config, tmp_path / "state", jobs=[job])

    async def scenario():
        assert "recording" in job_ids(daemon)
        config.write_text(config_text(http_server.url).replace("interval: 1s", "interval: 7s"))
        assert await daemon.reload() is True
        assert "recording" in job_ids(daemon)

    run(daemon, scenario)
    assert job.calls == ["install 1s", "install 7s", "close"]
