"""A run with events wakes the alert pass at once, but a storm of them does not run a pass
per event: each pass walks every open incident (issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from muni_watchdog.daemon.loop import ALERTS_MIN_GAP, Daemon

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Scheduler:
    """The two calls the wake-up makes, on one job, as APScheduler 3 answers them."""

    def __init__(self, due: datetime | None):
        self.job = SimpleNamespace(next_run_time=due)
        self.modified: list[datetime] = []

    def get_job(self, job_id: str):
        assert job_id == "alerts"
        return self.job

    def modify_job(self, job_id: str, next_run_time: datetime) -> None:
        self.job.next_run_time = next_run_time
        self.modified.append(next_run_time)


def daemon_at(tmp_path, now: list[datetime], due: datetime | None) -> Daemon:
    daemon = Daemon(tmp_path / "none.yaml", tmp_path / "state", clock=lambda: now[0])
    daemon.scheduler = Scheduler(due)  # type: ignore[assignment]
    return daemon


def test_a_lone_event_wakes_the_alert_pass_at_once(tmp_path):
    now = [T0]
    daemon = daemon_at(tmp_path, now, T0 + timedelta(seconds=2))
    daemon._alerts_began = T0 - timedelta(seconds=1.5)
    daemon._wake_alerts()
    assert daemon.scheduler.modified == [T0]


def test_a_storm_of_events_runs_one_pass_per_gap_not_one_per_event(tmp_path):
    now = [T0]
    daemon = daemon_at(tmp_path, now, T0 + timedelta(seconds=2))
    daemon._alerts_began = T0                      # a pass just began
    gap = T0 + timedelta(seconds=ALERTS_MIN_GAP)
    for step in range(5):                          # events every 0.1 s after it
        now[0] = T0 + timedelta(seconds=0.1 * (step + 1))
        daemon._wake_alerts()
    assert daemon.scheduler.modified == [gap]      # one wake-up, at the gap; not five
    assert daemon.scheduler.job.next_run_time == gap


def test_a_wake_up_never_delays_a_pass_already_due_sooner(tmp_path):
    now = [T0]
    daemon = daemon_at(tmp_path, now, T0 + timedelta(seconds=0.3))
    daemon._alerts_began = T0
    daemon._wake_alerts()
    assert daemon.scheduler.modified == []
    assert daemon.scheduler.job.next_run_time == T0 + timedelta(seconds=0.3)
