"""The alert loop with a real store and an injected clock: incidents, suppression, grouping,
escalation, reminders, acknowledgements, maintenance and accepted risks."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import Metric, Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs
from muni_watchdog.store.database import Store

OK, W, C = State.OK, State.WARNING, State.CRITICAL
MONDAY_1PM = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
FAST = "max_attempts: 1, recovery_attempts: 1"

CONFIG = f"""\
site: {{name: Testville, timezone: UTC}}
services:
  - id: email
    name: Staff email
    priority: 1
    rto: 4h
    rpo: 1d
    response_sla: 1h
    owner: {{name: Ann, contact: ann@town.example, channels: [ann]}}
    backup_owner: {{name: Bo, contact: bo@msp.example, channels: [bo]}}
    targets: [mail]
    escalation: [{{after: 1h, channels: [lead]}}]
  - id: printing
    name: Printing
    priority: 4
    rto: 2d
    rpo: 7d
    owner: {{name: Pat, contact: pat@town.example}}
    backup_owner: {{name: Bo, contact: bo@msp.example}}
    targets: [printer]
targets:
  - id: switch
    kind: tcp
    host: 10.0.0.1
    checks: [{{check: tcp, port: 22, {FAST}}}]
  - id: mail
    kind: tcp
    host: 10.0.0.2
    parents: [switch]
    checks:
      - {{check: tcp, name: smtp, port: 25, {FAST}}}
      - {{check: tcp, name: imap, port: 993, max_attempts: 2, recovery_attempts: 1}}
  - id: printer
    kind: tcp
    host: 10.0.0.3
    parents: [switch]
    checks: [{{check: tcp, port: 9100, {FAST}}}]
notify:
  channels:
    - {{name: oncall, url: "json://127.0.0.1:9/oncall", format: email}}
    - {{name: sms, url: "json://127.0.0.1:9/sms", format: sms}}
    - {{name: ann, url: "json://127.0.0.1:9/ann"}}
    - {{name: bo, url: "json://127.0.0.1:9/bo"}}
    - {{name: lead, url: "json://127.0.0.1:9/lead"}}
  routes:
    - {{name: urgent, priorities: [1], channels: [oncall, sms]}}
    - {{name: site, priorities: [2, 3], channels: [oncall]}}
    - {{name: low, priorities: [4, 5], hours: business, channels: [oncall]}}
  fallback_channels: [oncall]
  weekly_test: null
"""


class Clock:
    def __init__(self, start=MONDAY_1PM):
        self.now = start

    def __call__(self):
        return self.now


class Harness:
    def __init__(self, text=CONFIG, start=MONDAY_1PM):
        self.config = parse_config(text, "t.yaml")
        self.store = Store.memory()
        self.clock = Clock(start)
        self.rechecked: list[set[str]] = []
        self.alerts = AlertProcessor(self.config, self.store, self.clock,
                                     recheck=self.rechecked.append)
        self.specs = {str(s.key): s for s in build_specs(self.config)}
        self.seen = 0

    def result(self, key: str, state: State, summary: str = "") -> None:
        spec = self.specs[key]
        previous, _ = self.store.load_status(spec.key)
        summary = summary or f"{key} is {state.name}"
        decision = decide(previous, state, summary, spec.policy, self.clock())
        outcome = Outcome.of([Result(state, summary)], [Metric("m", 1)])
        self.store.record_run(spec.key, self.clock(), 0.1, outcome, decision.status, {},
                              spec.services, spec.priority, decision.events)

    def advance(self, seconds: float) -> None:
        self.clock.now += timedelta(seconds=seconds)

    def process(self) -> list[tuple[str, str, str]]:
        """Run the loop; return the new outbox rows as (kind, channel, title)."""
        self.alerts.process()
        rows = self.store.notifications()[self.seen:]
        self.seen += len(rows)
        return [(r["kind"], r["channel"], r["title"]) for r in rows]

    def incident(self, target: str, check: str) -> dict:
        rows = [i for i in self.store.incidents(None) if (i["target"], i["check_name"]) ==
                (target, check)]
        return rows[0]


@pytest.fixture
def lab():
    return Harness()


def test_problem_then_recovery_exactly_once(lab):
    lab.result("mail/smtp", C, "port 25: connection refused")
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("problem", "oncall"), ("problem", "sms")]
    assert sent[0][2] == "[Testville] [P1 CRITICAL] Staff email — mail/smtp: port 25: connection refused"
    assert lab.process() == []           # nothing twice
    lab.result("mail/smtp", C)           # still critical: nothing new
    assert lab.process() == []
    lab.advance(60)
    lab.result("mail/smtp", OK, "port 25 open")
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("recovery", "oncall"), ("recovery", "sms")]
    assert lab.incident("mail", "smtp")["status"] == "resolved"


def test_sms_body_fits_160_and_email_is_html(lab):
    lab.result("mail/smtp", C, "port 25: connection refused " + "x" * 300)
    lab.process()
    rows = {r["channel"]: r for r in lab.store.notifications()}
    assert len(rows["sms"]["body"]) <= 160 and rows["sms"]["body"].startswith("Testville: P1 CRITICAL")
    assert rows["oncall"]["body_format"] == "html"
    body = rows["oncall"]["body"]
    for text in ("<b>Owner:</b> Ann &lt;ann@town.example&gt;", "Backup owner:",
                 "Respond within:</b> 1 hour", "muni-watchdog ack 1 --by"):
        assert text in body, text


def test_parent_down_holds_children_and_its_recovery_releases_them(lab):
    lab.result("switch/tcp", C, "port 22: no answer")
    lab.result("printer/tcp", C, "port 9100: no answer")
    sent = lab.process()
    # one message, about the switch; the printer is listed as also affected, not paged
    assert [(k, c) for k, c, _ in sent] == [("problem", "oncall")]
    body = lab.store.notifications()[0]["body"]
    assert "Also affected" in body and "printer/tcp CRITICAL: port 9100: no answer" in body
    assert lab.incident("printer", "tcp")["suppressed_reason"] == "parent switch down"
    # another child, confirmed later: held as well, and the switch's recipients hear of it
    # at once in one follow-up (not when the switch recovers), and only once
    lab.result("mail/smtp", C)
    follow_up = lab.process()
    assert [(k, c) for k, c, _ in follow_up] == [("children", "oncall")]
    assert follow_up[0][2].startswith("[Testville] [P3 ALSO AFFECTED] switch down: mail/smtp")
    body = lab.store.notifications()[-1]["body"]
    assert "mail/smtp CRITICAL" in body and "printer/tcp" not in body  # told before
    assert lab.incident("mail", "smtp")["suppressed_reason"] == "parent switch down"
    assert lab.process() == []
    # the switch comes back; the printer is still down: now the printer is told
    lab.advance(120)
    lab.result("switch/tcp", OK)
    lab.result("mail/smtp", OK)  # this child recovered while held: nobody hears of it
    sent = lab.process()
    assert ("recovery", "oncall") in [(k, c) for k, c, _ in sent]
    printer = [t for k, c, t in sent if k == "problem"]
    assert printer == ["[Testville] [P4 CRITICAL] Printing — printer/tcp: port 9100: no answer"]
    assert not any("mail/smtp" in t for _k, _c, t in sent)
    # and the printer's recovery goes to whoever got its problem
    lab.result("printer/tcp", OK)
    assert [(k, c) for k, c, _ in lab.process()] == [("recovery", "oncall")]


def test_problems_on_one_target_are_grouped_while_others_are_confirmed(lab):
    lab.result("mail/smtp", C, "smtp down")
    lab.result("mail/imap", C, "imap down")      # soft 1/2
    assert lab.process() == []                   # waits: imap is being confirmed
    lab.advance(10)
    lab.result("mail/imap", C, "imap down")      # hard now
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("problem", "oncall"), ("problem", "sms")]
    assert sent[0][2].endswith("(+1 more)")
    body = lab.store.notifications()[0]["body"]
    assert "mail/smtp is CRITICAL" in body and "mail/imap is CRITICAL" in body


def test_group_wait_bounds_the_delay(lab):
    lab.result("mail/smtp", C)
    lab.result("mail/imap", C)                   # soft, and stays soft
    assert lab.process() == []
    lab.advance(31)
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("problem", "oncall"), ("problem", "sms")]


def test_reminders_then_escalation_to_backup_owner_then_next_step(lab):
    lab.result("mail/smtp", C)
    lab.process()
    lab.advance(30 * 60)
    assert [(k, c) for k, c, _ in lab.process()] == [("reminder", "oncall"),
                                                     ("reminder", "sms")]
    lab.advance(30 * 60)                         # the response SLA (1h) has passed
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("escalation", "bo")]
    assert sent[0][2].startswith("[Testville] [P1 ESCALATED CRITICAL] Staff email")
    lab.advance(60 * 60)                         # the next configured step, 1h later
    kinds = [(k, c) for k, c, _ in lab.process()]
    assert ("escalation", "lead") in kinds
    lab.advance(60)
    lab.result("mail/smtp", OK)
    recovered = sorted(c for k, c, _ in lab.process() if k == "recovery")
    assert recovered == ["bo", "lead", "oncall", "sms"]   # everyone who was told


def test_acknowledgement_stops_reminders_and_escalation(lab):
    lab.result("mail/smtp", C)
    lab.process()
    incident = lab.incident("mail", "smtp")
    lab.advance(10 * 60)
    lab.store.acknowledge(incident["id"], "Dana", "rebooting the mail server", None,
                          lab.clock())
    for _ in range(8):
        lab.advance(30 * 60)
        assert lab.process() == []


def test_an_expiring_acknowledgement_resumes_reminders(lab):
    lab.result("mail/smtp", C)
    lab.process()
    incident = lab.incident("mail", "smtp")
    lab.store.acknowledge(incident["id"], "Dana", "", lab.clock() + timedelta(minutes=40),
                          lab.clock())
    lab.advance(35 * 60)
    assert lab.process() == []
    lab.advance(10 * 60)
    assert [k for k, _c, _t in lab.process()] == ["reminder", "reminder"]


def test_worse_state_on_an_acknowledged_incident_notifies_again(lab):
    lab.result("mail/smtp", W, "slow")
    lab.process()
    incident = lab.incident("mail", "smtp")
    lab.store.acknowledge(incident["id"], "Dana", "watching", None, lab.clock())
    lab.result("mail/smtp", C, "down")
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("problem", "oncall"), ("problem", "sms")]
    assert lab.incident("mail", "smtp")["acked_by"] is None
    assert lab.store.audit_entries()[-1]["action"] == "ack cleared"


def test_maintenance_holds_then_rechecks_and_sends_one_summary(lab):
    now = lab.clock()
    lab.store.add_maintenance([], ["email"], "Dana", "patch night", now,
                              now + timedelta(hours=1), None, now)
    lab.process()
    lab.result("mail/smtp", C, "rebooting")
    lab.result("mail/imap", C, "rebooting")
    lab.advance(10)
    lab.result("mail/imap", C, "rebooting")
    assert lab.process() == []
    assert lab.incident("mail", "smtp")["suppressed_reason"] == "maintenance: patch night (Dana)"
    lab.result("mail/smtp", OK, "back")          # came back inside the window: silence
    assert lab.process() == []
    lab.advance(3600)
    assert lab.process() == []                   # the window ended: re-check first
    assert lab.rechecked == [{"mail"}]
    lab.result("mail/imap", C, "imap did not come back")
    lab.advance(21)
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("maintenance", "oncall"), ("maintenance", "sms")]
    assert sent[0][2] == "[Testville] [Maintenance ended] patch night: 1 of 2 checks OK; 1 still failing"
    body = lab.store.notifications()[-2]["body"]
    assert "mail/imap CRITICAL: imap did not come back" in body
    # the summary counts as telling: the recovery goes to the same channels
    lab.result("mail/imap", OK)
    assert [(k, c) for k, c, _ in lab.process()] == [("recovery", "oncall"),
                                                     ("recovery", "sms")]


def test_recurring_window_holds_only_inside_its_hours():
    lab = Harness(start=datetime(2026, 11, 1, 1, 50, tzinfo=UTC))   # a Sunday, 01:50
    now = lab.clock()
    lab.store.add_maintenance(["printer"], [], "Dana", "patch night", now,
                              now + timedelta(days=30), "sun 02:00-04:00", now)
    lab.result("switch/tcp", C)   # not in the window's scope
    lab.advance(15 * 60)          # 02:05, inside
    lab.result("printer/tcp", C)
    sent = lab.process()
    assert [t.split("] ")[1].split("]")[0] for _k, _c, t in sent] == ["[P3 CRITICAL"]  # switch only
    assert lab.incident("printer", "tcp")["suppressed_reason"] == \
        "maintenance: patch night (Dana)"


def test_accepted_risk_holds_until_expiry_then_notifies(lab):
    now = lab.clock()
    lab.store.add_exception("printer", "*", "Clerk Kim", "old driver until budget", now +
                            timedelta(days=1), now)
    lab.store.add_exception("switch", "*", "Ann", "firmware pinned", now +
                            timedelta(days=2), now)
    lab.result("printer/tcp", C)
    assert lab.process() == []
    assert lab.incident("printer", "tcp")["suppressed_reason"].startswith(
        "accepted risk: old driver until budget (Clerk Kim, until")
    lab.advance(86400)
    sent = lab.process()
    kinds = [(k, c) for k, c, _ in sent]
    assert ("exception", "oncall") in kinds and ("problem", "oncall") in kinds
    assert [t for k, _c, t in sent if k == "exception"] == [
        "[Testville] [Accepted risk expired] printer: old driver until budget"]
    assert lab.store.audit_entries()[-1]["action"] == "exception expired"
    lab.advance(86400)   # Ann's exception: Ann owns the email service and has a channel
    sent = lab.process()
    assert ("exception", "ann") in [(k, c) for k, c, _ in sent]


def test_low_priority_waits_for_business_hours():
    lab = Harness(start=datetime(2026, 11, 2, 22, 0, tzinfo=UTC))  # Monday 22:00
    lab.result("printer/tcp", C)
    assert lab.process() == []                   # P4: business hours only, not the fallback
    lab.advance(10 * 3600)                       # Tuesday 08:00
    sent = lab.process()
    assert [(k, c) for k, c, _ in sent] == [("problem", "oncall")]


def test_flapping_sends_one_message_and_holds_the_incident(lab):
    for i in range(12):
        lab.result("mail/smtp", C if i % 2 == 0 else OK)
        lab.advance(10)
    sent = lab.process()
    kinds = [k for k, _c, _t in sent]
    assert kinds.count("flapping_start") == 2     # to oncall and sms, once
    assert kinds.count("problem") <= 2 * 3        # the storm is cut short


def test_audit_log_is_chained_and_detects_tampering(tmp_path):
    store = Store.open(tmp_path)
    now = MONDAY_1PM
    store.audit("Dana", "ack", "incident 1", "on it", now)
    store.audit("Dana", "maintenance add", "maintenance 1", "patch night", now, {"x": 1})
    store.audit("Kim", "exception add", "exception 1", "election", now)
    assert store.verify_audit() == (True, "3 entries, chain intact")
    with pytest.raises(Exception, match="append-only"):
        store.db.execute("UPDATE audit_log SET reason = 'nothing' WHERE id = 2")
    # someone with the file drops the guard and edits history: the chain shows it
    store.db.execute("DROP TRIGGER audit_log_no_update")
    store.db.execute("UPDATE audit_log SET reason = 'nothing' WHERE id = 2")
    ok, message = store.verify_audit()
    assert not ok and message.startswith("entry 2: its content does not match its hash")
    store.db.execute("DROP TRIGGER audit_log_no_delete")
    store.db.execute("UPDATE audit_log SET reason = 'patch night' WHERE id = 2")
    store.db.execute("DELETE FROM audit_log WHERE id = 2")
    ok, message = store.verify_audit()
    assert not ok and message.startswith("entry 3: its link to the previous entry is broken")


def test_incident_rows_record_who_was_told(lab):
    lab.result("mail/smtp", C)
    lab.process()
    incident = lab.incident("mail", "smtp")
    assert json.loads(incident["channels_told"]) == ["oncall", "sms"]
    assert incident["first_notified_at"] and incident["notified_state"] == 2
