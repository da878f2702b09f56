"""A CRITICAL that needed attention and becomes an outage is told again (issue 10).

An incident CRITICAL because a certificate expires in 10 days, whose site then stops answering
while it stays CRITICAL, used to be recorded (the state machine's event with ``unavailable``)
and never sent: the alert loop compared states only. "Attention -> outage" is now a worse
state: a new message to everyone told of the incident, an acknowledgement cleared — and the
same when the change happened while the incident was held (maintenance, flapping).
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.alerting.delivery import Notifier
from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.alerts.policy import is_worse, severity, told_again
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs, close_sessions
from muni_watchdog.store.database import Store

T0 = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _config(smtp_port: int, url: str = "https://127.0.0.1:9/", ca_file: str = "",
            extra: str = "") -> str:
    ca = f', ca_file: "{ca_file}"' if ca_file else ""
    return f"""\
site: {{name: Town of Example, timezone: UTC}}
services:
  - id: web
    name: Web portal
    priority: 1
    impact: Residents cannot pay bills online.
    rto: 4h
    rpo: 1d
    response_sla: 5m
    owner: {{name: Dana, contact: dana@town.example, channels: [oncall]}}
    backup_owner: {{name: Bob, contact: bob@msp.example, channels: [backup]}}
    targets: [portal]
targets:
  - id: portal
    kind: http
    host: 127.0.0.1
    checks: [{{check: http, url: "{url}"{ca}, max_attempts: 1, recovery_attempts: 1}}]
notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@town.example&to=oncall@msp.example
    - name: backup
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@town.example&to=bob@msp.example
  routes:
    - {{name: urgent, priorities: [1], channels: [oncall]}}
  weekly_test: null
{extra}"""


# -- the rule, pure ------------------------------------------------------------------------------

def test_an_outage_is_worse_than_a_critical_needing_attention_and_nothing_else_changes():
    states = [State.OK, State.WARNING, State.UNKNOWN, State.CRITICAL]
    for (a, ua), (b, ub) in itertools.product(
            itertools.product(states, (False, True)), repeat=2):
        by_state = a.badness > b.badness
        if a.badness != b.badness:
            # between different states the order is exactly the states' order
            assert is_worse(a, ua, b, ub) == by_state, (a, ua, b, ub)
        else:
            # the same state is worse only as CRITICAL outage over CRITICAL attention
            assert is_worse(a, ua, b, ub) == (a is State.CRITICAL and ua and not ub)
    # "unavailable" on a state that is not CRITICAL means nothing
    assert severity(State.WARNING, True) == severity(State.WARNING, False)
    assert severity(State.CRITICAL, None) == severity(State.CRITICAL, False)


def test_told_again_for_a_worse_state_or_a_new_outage_not_for_an_outage_already_told():
    C, W, U, OK = State.CRITICAL, State.WARNING, State.UNKNOWN, State.OK
    states = [OK, W, U, C]
    flags = (False, True)
    for new, cur, told in itertools.product(itertools.product(states, flags), repeat=3):
        (s, u), (cs, cu), (ts, tu) = new, cur, told
        if s.badness != cs.badness:       # the existing rule for states, whatever was told
            assert told_again(s, u, cs, cu, ts, tu) == (s.badness > cs.badness)
    assert told_again(C, True, C, False, C, False)      # attention -> outage
    assert told_again(C, True, C, False, None, None)    # never told (held): told now
    assert told_again(C, True, C, False, W, False)
    assert not told_again(C, True, C, False, C, True)   # they last heard "down" already
    assert not told_again(C, False, C, True, C, True)   # outage -> attention: better
    assert not told_again(C, True, C, True, C, False)   # nothing changed


# -- through the real check, state machine, alert loop, outbox and an SMTP server ----------------

@pytest.mark.integration
def test_certificate_critical_then_site_down_tells_everyone_now_unavailable(
        tmp_path, make_https_server, smtp_server):
    from muni_watchdog.daemon.loop import Daemon
    from muni_watchdog.daemon.writer import RunWriter

    # the check's clock is T0; the certificate expires 10.5 days after it (CRITICAL at 14)
    days = (T0 - datetime.now(UTC)).total_seconds() / 86400 + 10.5
    server, ca_file = make_https_server(days)
    config = parse_config(_config(smtp_server.port, server.url, ca_file), "town.yaml")
    clock = Clock()
    store = Store.open(tmp_path / "state")
    daemon = Daemon(tmp_path / "town.yaml", tmp_path / "state", clock)
    daemon.config, daemon.store = config, store
    # simulated time runs the checks one after another: nothing finishes together, so
    # the writer's grouping window would only wait (0.25 s a run, 200 s a month)
    daemon.writer = RunWriter(store.record_runs, window=0)
    notifier = daemon.notifier = Notifier(config, store, clock)
    specs = build_specs(config)
    daemon.specs = {f"check:{s.key}": s for s in specs}
    alerts = AlertProcessor(config, store, clock)

    async def step(minutes: float) -> None:
        clock.now = T0 + timedelta(minutes=minutes)
        for job_id in daemon.specs:
            await daemon._run_check(job_id)
        alerts.process()
        await notifier.deliver_due()

    async def scenario() -> None:
        await step(0)                 # 12:00 the certificate expires in 10 days: CRITICAL
        assert smtp_server.wait_for(1, 10)
        await step(6)                 # 12:06 nobody answered in 5 minutes: the backup owner
        assert smtp_server.wait_for(2, 10)
        incident = store.incidents("open")[0]
        store.acknowledge(incident["id"], "Bob", "renewing the certificate", None, clock())
        server.status = 503           # 12:10 the site stops answering, still CRITICAL
        await step(10)
        assert smtp_server.wait_for(4, 10)
        await step(12)                # 12:12 still down: nothing new to say
        await close_sessions(specs)

    asyncio.run(scenario())
    first, escalated, *now_down = smtp_server.messages
    assert first["Subject"].startswith("[Town of Example] [P1 CRITICAL] Web portal — portal/http: TLS "
                                       "certificate expires in 10 days")
    assert escalated["Subject"].startswith("[Town of Example] [P1 ESCALATED CRITICAL]")
    # both people who heard of the incident hear it is now an outage
    assert sorted(m["To"] for m in now_down) == ["bob@msp.example", "oncall@msp.example"]
    for mail in now_down:
        assert mail["Subject"].startswith("[Town of Example] [P1 CRITICAL: NOW UNAVAILABLE] Web portal — "
                                          "portal/http:"), mail["Subject"]
        assert "503" in mail["Subject"]
        body = mail.get_body(preferencelist=("html",)).get_content()
        assert "the service is now unavailable (until now it only needed attention)" in body
        assert "Residents cannot pay bills online." in body
        assert "muni-watchdog ack 1 " in body
    assert len(smtp_server.messages) == 4       # 12:12 added nothing
    incident = store.incidents("open")[0]
    assert incident["acked_by"] is None         # the acknowledgement was of a lesser problem
    assert incident["unavailable"] == 1 and incident["notified_unavailable"] == 1
    cleared = [a for a in store.audit_entries() if a["action"] == "ack cleared"]
    assert [a["reason"] for a in cleared] == ["the service is now unavailable"]


# -- the whole class, with the real state machine and a real SQLite store -------------------------

class Lab:
    def __init__(self, tmp_path, extra: str = ""):
        self.config = parse_config(_config(25, extra=extra), "town.yaml")
        self.store = Store.open(tmp_path / "state")
        self.clock = Clock()
        self.alerts = AlertProcessor(self.config, self.store, self.clock)
        [self.spec] = build_specs(self.config)
        self.seen = 0

    def result(self, summary: str, unavailable: bool, state: State = State.CRITICAL) -> None:
        previous, _ = self.store.load_status(self.spec.key)
        decision = decide(previous, state, summary, self.spec.policy, self.clock(),
                          unavailable=unavailable)
        self.store.record_run(self.spec.key, self.clock(), 0.1,
                              Outcome.of([Result(state, summary)]), decision.status, {},
                              self.spec.services, self.spec.priority, decision.events)

    def process(self, after: float = 60) -> list[tuple[str, str, str]]:
        self.clock.now += timedelta(seconds=after)
        self.alerts.process()
        rows = self.store.notifications()[self.seen:]
        self.seen += len(rows)
        return [(r["kind"], r["channel"], r["title"]) for r in rows]


def test_outage_ending_while_still_critical_is_not_a_new_alarm(tmp_path):
    lab = Lab(tmp_path)
    lab.result("HTTP 503", unavailable=True)
    assert [k for k, _c, _t in lab.process()] == ["problem"]
    lab.result("TLS certificate expires in 10 days", unavailable=False)
    assert lab.process() == []                  # better, not worse: no page at night
    lab.result("HTTP 503", unavailable=True)     # down again: the on-call last heard "down"
    assert lab.process() == []


def test_becoming_unavailable_inside_maintenance_is_told_when_it_ends(tmp_path):
    lab = Lab(tmp_path)
    lab.result("TLS certificate expires in 10 days", unavailable=False)
    assert [t for _k, _c, t in lab.process()] == [
        "[Town of Example] [P1 CRITICAL] Web portal — portal/http: TLS certificate expires in 10 days"]
    now = lab.clock()
    lab.store.add_maintenance(["portal"], [], "Dana", "web server patches", now,
                              now + timedelta(minutes=30), None, now)
    lab.result("HTTP 503", unavailable=True)
    assert lab.process() == []                   # held by the window
    lab.clock.now += timedelta(minutes=30)
    lab.process()                                # the window ends: re-check first
    lab.result("HTTP 503", unavailable=True)
    sent = lab.process(after=30)
    # the maintenance summary tells the on-call it is down after the window; the incident
    # records that they know (no second page for it)
    assert [k for k, _c, _t in sent][0] == "maintenance"
    summary = lab.store.notifications()[-len(sent)]["body"]
    assert "Still failing:" in summary and "portal/http CRITICAL: HTTP 503" in summary
    assert "problem" not in [k for k, _c, _t in sent]
    assert lab.store.incidents("open")[0]["notified_unavailable"] == 1


def test_becoming_unavailable_under_an_accepted_risk_is_told_when_the_risk_expires(tmp_path):
    """Held while an accepted risk covers the check; when it expires, what the on-call heard
    ("needs attention") differs from what is true ("down"): they are told."""
    lab = Lab(tmp_path)
    lab.result("TLS certificate expires in 10 days", unavailable=False)
    assert [k for k, _c, _t in lab.process()] == ["problem"]
    now = lab.clock()
    lab.store.add_exception("portal", "*", "Dana", "new certificate ordered",
                            now + timedelta(hours=2), now)
    lab.result("HTTP 503", unavailable=True)
    assert lab.process() == []
    assert lab.store.incidents("open")[0]["suppressed_reason"].startswith("accepted risk")
    lab.clock.now += timedelta(hours=2)
    sent = lab.process()
    assert [(k, c) for k, c, _t in sent if k == "problem"] == [("problem", "oncall")]
    [title] = [t for k, _c, t in sent if k == "problem"]
    assert title == "[Town of Example] [P1 CRITICAL: NOW UNAVAILABLE] Web portal — portal/http: HTTP 503"
