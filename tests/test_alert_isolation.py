"""An alert pass that raises on one item must not roll back everyone else's alerts.

A real state database (an SQLite file), a real configuration, and an item whose processing
raises: a response SLA that overflows a date (what `response_sla: 99999999999d` did before
durations were bounded), a damaged event row, a damaged incident in a group. The others are
alerted; the failing one is logged with its traceback, listed by `status`, and cleared when
it goes through again.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs
from muni_watchdog.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
FAST = "max_attempts: 1, recovery_attempts: 1"

CONFIG = f"""\
site: {{name: Testville}}
services:
  - id: email
    name: Staff email
    priority: 1
    rto: 4h
    rpo: 1d
    response_sla: 1h
    owner: {{name: Ann, contact: ann@town.example}}
    backup_owner: {{name: Bo, contact: bo@msp.example, channels: [bo]}}
    targets: [mail]
  - id: payments
    name: Payments
    priority: 1
    rto: 4h
    rpo: 1d
    response_sla: 1h
    owner: {{name: Pat, contact: pat@town.example}}
    backup_owner: {{name: Bo, contact: bo@msp.example, channels: [bo]}}
    targets: [pay]
targets:
  - id: mail
    kind: tcp
    host: 10.0.0.2
    checks:
      - {{check: tcp, name: smtp, port: 25, {FAST}}}
      - {{check: tcp, name: imap, port: 993, {FAST}}}
      - {{check: tcp, name: pop3, port: 995, max_attempts: 3}}
  - id: pay
    kind: tcp
    host: 10.0.0.3
    checks: [{{check: tcp, port: 443, {FAST}}}]
notify:
  channels:
    - {{name: oncall, url: "json://127.0.0.1:9/oncall"}}
    - {{name: bo, url: "json://127.0.0.1:9/bo"}}
  routes:
    - {{name: all, channels: [oncall]}}
  group_wait: 1s
  weekly_test: null
"""


class Lab:
    def __init__(self, state_dir: Path, config=None):
        self.config = config or parse_config(CONFIG, "t.yaml")
        self.store = Store.open(state_dir)          # a real SQLite file, WAL, migrations
        self.now = START
        self.alerts = AlertProcessor(self.config, self.store, lambda: self.now)
        self.specs = {str(s.key): s for s in build_specs(self.config)}
        self.seen = 0

    def result(self, key: str, state: State) -> None:
        spec = self.specs[key]
        previous, _ = self.store.load_status(spec.key)
        decision = decide(previous, state, f"{key} {state.name}", spec.policy, self.now)
        self.store.record_run(spec.key, self.now, 0.1, Outcome.of([Result(state, "x")]),
                              decision.status, {}, spec.services, spec.priority,
                              decision.events)

    def process(self) -> list[tuple[str, str, str]]:
        self.alerts.process()
        rows = self.store.notifications()[self.seen:]
        self.seen += len(rows)
        return [(r["kind"], r["channel"], r["title"]) for r in rows]


def overflowing_sla(config):
    """The configuration as validation let it through before durations had a bound."""
    services = [s.model_copy(update={"response_sla": 99999999999 * 86400.0})
                if s.id == "email" else s for s in config.services]
    return config.model_copy(update={"services": services})


def status(state_dir: Path) -> tuple[int, dict, str]:
    command = [sys.executable, "-m", "muni_watchdog", "status", "--state-dir", str(state_dir),
               "-c", "/nonexistent.yaml"]
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60,
                             cwd=ROOT)
    text = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    return as_json.returncode, json.loads(as_json.stdout), text.stdout


def test_an_overflowing_escalation_does_not_stop_the_other_alerts(tmp_path, caplog):
    lab = Lab(tmp_path / "state", overflowing_sla(parse_config(CONFIG, "t.yaml")))
    lab.result("mail/smtp", State.CRITICAL)
    lab.result("pay/tcp", State.CRITICAL)
    lab.now += timedelta(seconds=5)
    assert sorted(c for k, c, _ in lab.process() if k == "problem") == ["oncall", "oncall"]
    lab.now += timedelta(hours=1, minutes=1)   # past the 1h SLA of payments
    with caplog.at_level(logging.ERROR, logger="muni-watchdog"):
        sent = lab.process()
    # payments escalates to the backup owner although email's escalation raised
    assert ("escalation", "bo") in [(k, c) for k, c, _ in sent]
    assert any("Payments" in title for k, _, title in sent if k == "escalation")
    assert "incident 1 target=mail check=smtp could not be processed" in caplog.text
    assert "OverflowError" in caplog.text and "Traceback" in caplog.text

    code, report, text = status(tmp_path / "state")
    [error] = report["alert_errors"]
    assert (error["key"], error["target"], error["check"]) == ("incident:1", "mail", "smtp")
    assert error["error"].startswith("OverflowError")
    assert code == 2                 # CRITICAL problems; an alerting error is at least UNKNOWN
    assert "ALERTING ERRORS (1)" in text and "mail/smtp" in text

    caplog.clear()                   # the same failure on the next pass: no new traceback
    lab.now += timedelta(minutes=1)
    with caplog.at_level(logging.ERROR, logger="muni-watchdog"):
        lab.process()
    assert "could not be processed" not in caplog.text
    assert status(tmp_path / "state")[1]["alert_errors"][0]["since"] == error["since"]
    lab.store.close()


def test_a_damaged_event_is_held_back_alone_and_cleared_when_repaired(tmp_path):
    lab = Lab(tmp_path / "state")
    lab.result("mail/smtp", State.CRITICAL)
    lab.result("pay/tcp", State.CRITICAL)
    [bad, _] = lab.store.unprocessed_events()
    lab.store.db.execute("UPDATE events SET services = 'not json' WHERE id = ?", [bad["id"]])
    lab.now += timedelta(seconds=5)
    sent = lab.process()
    assert [t for _, _, t in sent] == ["[Testville] [P1 CRITICAL] Payments — pay/tcp: pay/tcp CRITICAL"]
    # a later event of the same check waits for the damaged one (order is kept)
    lab.result("mail/smtp", State.OK)
    lab.now += timedelta(seconds=5)
    assert lab.process() == []
    errors = status(tmp_path / "state")[1]["alert_errors"]
    assert [(e["key"], e["error"].split(":")[0]) for e in errors] == [
        (f"event:{bad['id']}", "JSONDecodeError"), (f"event:{bad['id'] + 2}", "waiting for an "
                                                    "earlier event of this check that failed")]

    lab.store.db.execute("UPDATE events SET services = '[\"email\"]' WHERE id = ?", [bad["id"]])
    lab.now += timedelta(seconds=5)
    lab.process()
    assert status(tmp_path / "state")[1]["alert_errors"] == []
    assert lab.store.incidents("open") == [i for i in lab.store.incidents("open")
                                           if i["target"] == "pay"]
    lab.store.close()


def test_one_damaged_incident_of_a_group_does_not_hold_back_its_neighbour(tmp_path):
    lab = Lab(tmp_path / "state")
    lab.result("mail/pop3", State.CRITICAL)        # soft: the target's group waits for it
    lab.result("mail/smtp", State.CRITICAL)
    lab.result("mail/imap", State.CRITICAL)
    assert lab.process() == []                     # both incidents open, grouped, waiting
    smtp = next(i for i in lab.store.incidents("open") if i["check_name"] == "smtp")
    lab.store.update_incident(smtp["id"], services="{damaged")
    lab.now += timedelta(seconds=5)
    sent = lab.process()
    assert [t for _, _, t in sent] == ["[Testville] [P1 CRITICAL] Staff email — mail/imap: mail/imap "
                                       "CRITICAL"]
    errors = status(tmp_path / "state")[1]["alert_errors"]
    assert [e["key"] for e in errors] == [f"incident:{smtp['id']}"]
    lab.store.close()


@pytest.mark.parametrize("table", ["events"])
def test_a_database_failure_still_rolls_back_the_whole_pass(tmp_path, table):
    """Not every error is isolated: when the database itself fails, nothing of the pass is
    kept, and the next pass does it all again (an alert is delayed, never lost)."""
    lab = Lab(tmp_path / "state")
    lab.result("pay/tcp", State.CRITICAL)
    lab.store.db.execute(f"CREATE TRIGGER fail BEFORE UPDATE ON {table} BEGIN "
                         "SELECT RAISE(ABORT, 'disk I/O error'); END")
    lab.now += timedelta(seconds=5)
    with pytest.raises(Exception, match="disk I/O error"):
        lab.process()
    assert lab.store.notifications() == [] and lab.store.incidents("open") == []
    lab.store.db.execute("DROP TRIGGER fail")
    assert [k for k, _, _ in lab.process()] == ["problem"]
    lab.store.close()
