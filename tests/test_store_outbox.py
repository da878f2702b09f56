"""The state database and the outbox, on a real SQLite file and a real SMTP server."""

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from lab.servers import SmtpCapture, free_port
from muni_watchdog.alerting.delivery import Notifier
from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import Metric, Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs
from muni_watchdog.store.database import Store
from muni_watchdog.store.migrations import MIGRATIONS

T0 = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


class Clock:
    def __init__(self, start=T0):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


def config_text(smtp_port: int) -> str:
    return f"""\
site: {{name: Testville, timezone: America/Chicago}}
services:
  - id: web
    name: Town website
    priority: 1
    impact: Meeting notices are unreachable.
    rto: 4h
    rpo: 24h
    owner: {{name: Jane Clerk, contact: jane@town.example}}
    backup_owner: {{name: Bob Tech, contact: bob@msp.example}}
    targets: [web]
targets:
  - id: web
    kind: http
    host: www.town.example
notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@town.example&to=oncall@msp.example
  routes:
    - name: all
      channels: [oncall]
  retry: {{first_delay: 10s, max_delay: 1m, give_up_after: 1h}}
"""


def outcome(state: State, summary: str) -> Outcome:
    return Outcome.of([Result(state, summary)], [Metric("response_time", 0.1, "s")])


def feed(store, notifier, spec, results, clock):
    """Run results through the state machine, the store and the alert loop, as the daemon."""
    alerts = AlertProcessor(notifier.config, store, clock)
    for state, summary in results:
        previous, _memory = store.load_status(spec.key)
        decision = decide(previous, state, summary, spec.policy, clock())
        store.record_run(spec.key, clock(), 0.1, outcome(state, summary), decision.status, {},
                         spec.services, spec.priority, decision.events)
        alerts.process()
        clock.advance(10)


def test_schema_wal_and_migrations(tmp_path):
    store = Store.open(tmp_path / "state")
    assert store.schema_version == max(v for v, _name, _sql in MIGRATIONS)
    assert next(store.db.query("PRAGMA journal_mode"))["journal_mode"] == "wal"
    assert store.migrate() == 0  # idempotent
    assert {"check_runs", "current_state", "events", "notifications", "delivery_attempts",
            "acknowledgements", "maintenance"} <= set(store.db.table_names())
    assert oct((tmp_path / "state" / "muni-watchdog.db").stat().st_mode & 0o777) == "0o600"
    store.close()


def test_record_is_atomic_and_readable_concurrently(tmp_path):
    store = Store.open(tmp_path)
    clock = Clock()
    config = parse_config(config_text(25), "t.yaml")
    spec = build_specs(config)[0]
    notifier = Notifier(config, store, clock)
    feed(store, notifier, spec, [(State.CRITICAL, "HTTP 500")] * 3, clock)
    reader = Store.open(tmp_path, readonly=True)
    [row] = reader.current_states()
    assert (row["hard_state"], row["state_type"]) == (2, "hard")
    assert len(reader.recent_events()) == 1
    assert [n["channel"] for n in reader.notifications()] == ["oncall"]
    with pytest.raises(sqlite3.OperationalError):
        reader.db.execute("DELETE FROM events")  # the CLI cannot write

    # A failure inside the transaction leaves nothing behind: not the run, the state or event.
    runs_before = store.db.table("check_runs").count
    previous, _ = store.load_status(spec.key)
    decision = decide(previous, State.OK, "fine", spec.policy, clock())
    decision = decide(decision.status, State.OK, "fine", spec.policy, clock())
    assert decision.events
    # the event insert, the last write of the transaction, fails (as on a full disk)
    store.db.execute("CREATE TRIGGER fail_events BEFORE INSERT ON events "
                     "BEGIN SELECT RAISE(ABORT, 'simulated failure'); END")
    with pytest.raises(sqlite3.IntegrityError):
        store.record_run(spec.key, clock(), 0.1, outcome(State.OK, "fine"), decision.status,
                         {}, spec.services, spec.priority, decision.events)
    assert store.db.table("check_runs").count == runs_before
    assert store.load_status(spec.key)[0].hard_state is State.CRITICAL
    assert len(store.recent_events()) == 1


def test_prune_runs_keeps_recent_history(tmp_path):
    store = Store.open(tmp_path)
    clock = Clock()
    config = parse_config(config_text(25), "t.yaml")
    spec = build_specs(config)[0]
    feed(store, Notifier(config, store, clock), spec, [(State.OK, "ok")] * 5, clock)
    assert store.prune_runs(T0 + timedelta(seconds=25)) == 3
    assert store.db.table("check_runs").count == 2


def test_problem_and_recovery_email_content(tmp_path, smtp_server):
    store = Store.open(tmp_path)
    clock = Clock()
    config = parse_config(config_text(smtp_server.port), "t.yaml")
    spec = build_specs(config)[0]
    notifier = Notifier(config, store, clock)
    feed(store, notifier, spec, [(State.OK, "HTTP 200 OK")] +
         [(State.CRITICAL, "HTTP 503 Service Unavailable (expected 2xx/3xx)")] * 3, clock)
    assert asyncio.run(notifier.deliver_due()) == 1
    feed(store, notifier, spec, [(State.OK, "HTTP 200 OK")] * 2, clock)
    # the recovery goes to the channels that were told of the problem
    assert asyncio.run(notifier.deliver_due()) == 1
    assert smtp_server.wait_for(2, 10)
    problem, recovery = smtp_server.messages
    assert problem["Subject"] == ("[Testville] [P1 CRITICAL] Town website — web/http: HTTP 503 Service "
                                  "Unavailable (expected 2xx/3xx)")
    body = problem.get_body(preferencelist=("plain",)).get_content()
    for text in ("Testville — muni-watchdog", "PROBLEM: web/http is CRITICAL",
                 "Service: Town website (priority 1)",
                 "Public impact: Meeting notices are unreachable.",
                 "Owner: Jane Clerk <jane@town.example>",
                 "Backup owner: Bob Tech <bob@msp.example>",
                 "Target: web (www.town.example)",
                 "Since: 2026-11-02 07:00 CST (20 seconds ago)"):
        assert text in body, text
    assert recovery["Subject"] == "[Testville] [P1 RECOVERED] Town website — web/http is OK after 40 seconds"
    assert "RECOVERED: web/http is OK again (was CRITICAL for 40 seconds)" in \
        recovery.get_body(preferencelist=("plain",)).get_content()
    rows = store.notifications()
    assert [r["status"] for r in rows] == ["sent", "sent"]
    attempts = list(store.db.query("SELECT * FROM delivery_attempts"))
    assert [a["ok"] for a in attempts] == [1, 1] and all(a["finished_at"] for a in attempts)


def test_smtp_down_then_back_delivers_everything_in_order(tmp_path):
    port = free_port()
    store = Store.open(tmp_path)
    clock = Clock()
    config = parse_config(config_text(port), "t.yaml")
    spec = build_specs(config)[0]
    notifier = Notifier(config, store, clock)
    # problem, recovery, problem again: three messages while the SMTP server is down
    feed(store, notifier, spec, [(State.CRITICAL, "down 1")] * 3 + [(State.OK, "up")] * 2 +
         [(State.CRITICAL, "down 2")] * 3, clock)
    assert asyncio.run(notifier.deliver_due()) == 0
    first = store.notifications()[0]
    assert (first["status"], first["attempts"]) == ("pending", 1)
    assert "Connection error" in first["last_error"] or "connect" in first["last_error"].lower()
    # only the oldest message per channel is tried: later ones wait their turn
    assert [n["attempts"] for n in store.notifications()] == [1, 0, 0]
    clock.advance(5)
    assert asyncio.run(notifier.deliver_due()) == 0   # retry not due yet (10s backoff)
    assert store.notifications()[0]["attempts"] == 1
    clock.advance(6)
    asyncio.run(notifier.deliver_due())
    assert store.notifications()[0]["attempts"] == 2  # tried again, failed, backs off 20s

    smtp = SmtpCapture(port=port).start()
    try:
        clock.advance(21)
        assert asyncio.run(notifier.deliver_due()) == 3
        assert smtp.wait_for(3, 10)
        subjects = smtp.subjects()
    finally:
        smtp.stop()
    assert [s.split("] ", 1)[1].split("]")[0] for s in subjects] == [
        "[P1 CRITICAL", "[P1 RECOVERED", "[P1 CRITICAL"]
    assert "down 1" in subjects[0] and "down 2" in subjects[2]
    assert [n["status"] for n in store.notifications()] == ["sent"] * 3
    assert asyncio.run(notifier.deliver_due()) == 0  # nothing is sent twice


def test_give_up_after_the_limit_is_recorded(tmp_path):
    store = Store.open(tmp_path)
    clock = Clock()
    config = parse_config(config_text(free_port()), "t.yaml")
    spec = build_specs(config)[0]
    notifier = Notifier(config, store, clock)
    feed(store, notifier, spec, [(State.CRITICAL, "down")] * 3, clock)
    asyncio.run(notifier.deliver_due())
    clock.advance(3601)
    asyncio.run(notifier.deliver_due())
    [row] = store.notifications()
    assert row["status"] == "failed" and row["attempts"] == 2
