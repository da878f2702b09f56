"""Retention (store/retention.py): check runs thinned to the state changes after an hour and
counted in daily, then monthly aggregates; old coverage rows folded — and the monthly
reports read the same numbers before and after pruning."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from lab.servers import TcpListener
from muni_watchdog.alerting.delivery import Notifier
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import CheckKey, Outcome, Result, State
from muni_watchdog.core.transitions import Policy, decide
from muni_watchdog.daemon.engine import build_specs, close_sessions
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.writer import RunWriter
from muni_watchdog.reports.deliver import monthly_report
from muni_watchdog.reports.render import render_monthly_text
from muni_watchdog.store.database import Store
from muni_watchdog.store.retention import RUNS_IN_FULL

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEY = CheckKey("pay", "tcp")


def record(store: Store, at: datetime, state: State, previous=None, duration: float = 0.5):
    outcome = Outcome.of([Result(state, f"{state.name} at {at:%H:%M}")])
    decision = decide(previous, state, outcome.summary, Policy(60, 60, 1, 1), at)
    store.record_run(KEY, at, duration, outcome, decision.status, {}, ["web"], 2,
                     decision.events, interval=60)
    return decision.status


def test_runs_are_thinned_to_state_changes_and_counted_per_day(tmp_path):
    store = Store.open(tmp_path)
    states = [State.OK] * 100 + [State.CRITICAL] * 5 + [State.OK] * 95 + [State.WARNING]
    status = None
    for i, state in enumerate(states):
        status = record(store, T0 + timedelta(minutes=i), state, status, duration=i / 100)
    now = T0 + timedelta(minutes=len(states) - 1)
    removed = store.prune_history(now, run_history=14 * 86400)
    kept = [r for r in store.db.query("SELECT started_at, state FROM check_runs ORDER BY id")]
    cutoff = (now - RUNS_IN_FULL).isoformat(timespec="milliseconds")
    old = [r["state"] for r in kept if r["started_at"] <= cutoff]
    # Before the last hour: only the first run of each state is left.
    assert old == [0, 2, 0]
    # The last hour: every run.
    assert len([r for r in kept if r["started_at"] > cutoff]) == 60
    assert removed["check_runs"] == len(states) - len(kept)
    # Every run was counted once, whatever was removed; again after another pruning.
    store.prune_history(now + timedelta(hours=2), run_history=14 * 86400)
    [day] = store.day_counts("pay", "tcp")
    assert (day["runs"], day["ok"], day["critical"], day["warning"]) == (201, 195, 5, 1)
    assert day["duration_max"] == pytest.approx(2.0)
    assert day["duration_total"] == pytest.approx(sum(i / 100 for i in range(201)))
    # The recent runs the alert messages show are still there.
    assert len(store.recent_runs("pay", "tcp")) == 5
    # run_history still bounds the state changes kept.
    store.prune_history(now + timedelta(days=15), run_history=14 * 86400)
    assert store.db.execute("SELECT count(*) FROM check_runs").fetchone()[0] == 0


def test_old_days_fold_into_months_kept_for_good(tmp_path):
    store = Store.open(tmp_path)
    status = None
    for day in range(3):
        for minute in range(3):
            status = record(store, T0 + timedelta(days=day, minutes=minute), State.OK, status)
    store.prune_history(T0 + timedelta(days=3), run_history=86400)
    assert len(store.day_counts("pay", "tcp")) == 3
    store.prune_history(T0 + timedelta(days=500), run_history=86400)
    assert store.day_counts("pay", "tcp") == []
    [month] = store.db.query("SELECT * FROM check_months")
    assert (month["month"], month["runs"], month["ok"]) == ("2026-03", 9, 9)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.integration
def test_monthly_reports_read_the_same_numbers_after_pruning(tmp_path):
    """Ten generated months of hourly checks with outages and the box off for a day now
    and then; prune; the reports the next monthly runs send (with their 6-month trends)
    read the same, to the character."""
    port = TcpListener().start()
    config = parse_config(f"""\
site: {{name: Town of Example, timezone: UTC}}
services:
  - id: payments
    name: Payment portal
    priority: 2
    availability_target: 99.5
    rto: 8h
    rpo: 1d
    owner: {{name: Kim, contact: kim@town.example}}
    backup_owner: {{name: Bob, contact: bob@msp.example}}
    targets: [pay, web]
targets:
  - id: pay
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {port.port}, interval: 1h, max_attempts: 1,
               recovery_attempts: 1}}]
  - id: web
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {port.port}, interval: 1h, max_attempts: 2}}]
""", "town.yaml", check_secrets=False)
    clock = Clock(datetime(2025, 12, 1, tzinfo=UTC))
    store = Store.open(tmp_path / "state")
    daemon = Daemon(tmp_path / "town.yaml", tmp_path / "state", clock)
    daemon.config, daemon.store = config, store
    daemon.notifier = Notifier(config, store, clock)
    daemon.writer = RunWriter(store.record_runs, window=0)
    daemon.specs = {f"check:{s.key}": s for s in build_specs(config)}
    end = datetime(2026, 10, 1, 8, tzinfo=UTC)

    async def months() -> None:
        at = clock.now
        while at <= end:
            day, hour = at.timetuple().tm_yday, at.hour
            if not (day % 23 == 0 and hour < 20):        # the box off, now and then
                port.set_up(not (day % 9 == 0 and 3 <= hour < 6) and (day, hour) != (40, 12))
                clock.now = at
                for job_id in daemon.specs:
                    await daemon._run_check(job_id)
            at += timedelta(hours=1)
        await close_sessions(daemon.specs.values())
    try:
        asyncio.run(months())
    finally:
        port.stop()

    def reports() -> list[str]:
        return [render_monthly_text(monthly_report(store, config, y, m, end))
                for y, m in ((2026, 8), (2026, 9), (2026, 10))]
    before = reports()
    counts = {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("check_runs", "check_watch", "events")}
    aggregated = store.db.execute("SELECT count(*) FROM check_runs WHERE started_at <= ?", [
        (end - RUNS_IN_FULL).isoformat(timespec="milliseconds")]).fetchone()[0]
    removed = store.prune_history(end, config.site.run_history)
    after = reports()
    assert removed["check_runs"] > 0 and removed["check_watch"] > 0
    assert store.db.execute("SELECT count(*) FROM check_watch").fetchone()[0] < \
        counts["check_watch"]
    assert after == before
    assert "Payment portal" in after[1] and "not watched" in after[1]
    # Every run up to the last hour is in the daily counts.
    runs = store.db.execute("SELECT sum(runs) FROM check_days").fetchone()[0]
    assert runs == aggregated


def test_hard_problem_count_counts_hard_problems_only(tmp_path):
    """The daemon's status line counts checks in a hard problem (a soft one is not yet)."""
    store = Store.open(tmp_path)
    assert store.hard_problem_count() == 0
    status = record(store, T0, State.OK)
    status = record(store, T0 + timedelta(minutes=1), State.CRITICAL, status)
    assert status.state_type.value == "hard" and store.hard_problem_count() == 1
    record(store, T0 + timedelta(minutes=2), State.OK, status)
    assert store.hard_problem_count() == 0
    rows = store.current_states()
    assert sum(1 for r in rows if r["hard_state"] != 0) == store.hard_problem_count()
