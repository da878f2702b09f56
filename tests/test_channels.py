"""Messages through real receivers: SMTP (email), an HTTPS Teams workflow endpoint, an HTTP SMS
gateway and a json:// webhook; fallback when a channel keeps failing; test-alert."""

import asyncio
import html as htmllib
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.servers import HttpReceiver, free_port, make_self_signed, tls_context
from muni_watchdog.alerting.delivery import Notifier
from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs
from muni_watchdog.store.database import Store

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


@pytest.fixture
def receivers(tmp_path):
    cert, key = make_self_signed(tmp_path / "tls", 90)
    teams = HttpReceiver(tls=tls_context(cert, key)).start()
    sms = HttpReceiver().start()
    hook = HttpReceiver().start()
    yield teams, sms, hook
    for r in (teams, sms, hook):
        r.stop()


def config_text(smtp_port, teams_port, sms_port, hook_port, extra=""):
    return f"""\
site: {{name: Testville, timezone: UTC}}
services:
  - id: email
    name: Staff email
    priority: 1
    impact: Staff cannot send or receive email.
    rto: 4h
    rpo: 1d
    owner: {{name: Ann Owner, contact: ann@town.example}}
    backup_owner: {{name: Bo Backup, contact: bo@msp.example}}
    targets: [mail]
targets:
  - id: mail
    kind: tcp
    host: mail.town.example
    checks: [{{check: tcp, port: 25, max_attempts: 1, recovery_attempts: 1}}]
notify:
  channels:
    - name: oncall-email
      url: mailto://127.0.0.1:{smtp_port}?from=watchdog@town.example&to=oncall@msp.example
    - name: msp-teams
      url_env: MW_TEAMS_URL
    - name: oncall-sms
      url: json://127.0.0.1:{sms_port}/sms
      format: sms
    - name: webhook
      url: json://127.0.0.1:{hook_port}/hook
{extra}
  routes:
    - {{name: all, priorities: [1], channels: [oncall-email, msp-teams, oncall-sms, webhook]}}
  weekly_test: null
"""


def run_problem(config, store, clock):
    spec = build_specs(config)[0]
    decision = decide(None, State.CRITICAL, "port 25: connection refused", spec.policy, clock())
    store.record_run(spec.key, clock(), 0.1, Outcome.of([Result(State.CRITICAL, "x")]),
                     decision.status, {}, spec.services, spec.priority,
                     decision.events)
    AlertProcessor(config, store, clock).process()


def test_each_channel_gets_its_own_layout(tmp_path, smtp_server, receivers, monkeypatch):
    teams, sms, hook = receivers
    monkeypatch.setenv("MW_TEAMS_URL", f"workflows://127.0.0.1:{teams.port}/wf1/sig1?verify=no")
    config = parse_config(config_text(smtp_server.port, teams.port, sms.port, hook.port),
                          "t.yaml")
    assert [config.channel_format(c.name) for c in config.notify.channels] == \
        ["email", "teams", "sms", "text"]
    store, clock = Store.open(tmp_path), Clock()
    run_problem(config, store, clock)
    assert asyncio.run(Notifier(config, store, clock).deliver_due()) == 4

    # email: HTML with the full incident, and a text part
    assert smtp_server.wait_for(1, 10)
    mail = smtp_server.messages[0]
    assert mail["Subject"] == ("[Testville] [P1 CRITICAL] Staff email — mail/tcp: port 25: connection "
                               "refused")
    html = mail.get_body(preferencelist=("html",)).get_content()
    for text in ("<b>Public impact:</b> Staff cannot send or receive email.",
                 "<b>Owner:</b> Ann Owner", "<b>Backup owner:</b> Bo Backup",
                 "muni-watchdog ack 1 ", "Last results:"):
        assert text in html, text
    assert "<script" not in html and "http://" not in html

    # Teams: a workflow post under the 1,000-character limit
    assert teams.wait_for(1, 10)
    path, _headers, raw = teams.requests[0]
    assert path.startswith("/workflows/wf1/triggers/manual/paths/invoke")
    assert "sig=sig1" in path
    card = raw.decode()
    assert "Staff email" in card and "mail/tcp" in card
    body = store.notifications()[1]["body"]
    assert len(store.notifications()[1]["title"]) + len(body) < 1000

    # SMS gateway: one short text
    assert sms.wait_for(1, 10)
    message = sms.json_bodies()[0]["message"]
    assert len(message) <= 160
    assert message.startswith("Testville: P1 CRITICAL mail/tcp: port 25: connection refused")
    assert message.endswith("ack 1")

    # plain webhook: title and text body
    assert hook.wait_for(1, 10)
    posted = hook.json_bodies()[0]
    assert posted["title"].startswith("[Testville] [P1 CRITICAL]") and "What to do:" in posted["message"]


def test_failing_channel_falls_back_and_reports_the_failure(tmp_path, smtp_server, receivers,
                                                            monkeypatch):
    teams, sms, hook = receivers
    monkeypatch.setenv("MW_TEAMS_URL", f"workflows://127.0.0.1:{teams.port}/wf1/sig1?verify=no")
    dead = free_port()
    text = config_text(smtp_server.port, teams.port, sms.port, hook.port, extra=f"""\
    - name: broken-email
      url: mailto://127.0.0.1:{dead}?from=watchdog@town.example&to=oncall@msp.example
      fallback: oncall-sms
""").replace("channels: [oncall-email, msp-teams, oncall-sms, webhook]",
             "channels: [broken-email]")
    config = parse_config(text, "t.yaml")
    store, clock = Store.open(tmp_path), Clock()
    notifier = Notifier(config, store, clock)
    run_problem(config, store, clock)
    for _ in range(3):
        asyncio.run(notifier.deliver_due())
        clock.now += timedelta(minutes=5)
    assert sms.wait_for(1, 10)
    message = sms.json_bodies()[0]["message"]
    assert "via oncall-sms" in message and "broken-email failing" in message
    rows = store.notifications()
    original, copy = rows[0], rows[1]
    assert original["channel"] == "broken-email" and original["status"] == "pending"
    assert original["attempts"] == 3 and original["fallback_sent"] == 1
    assert copy["channel"] == "oncall-sms" and copy["fallback_of"] == original["id"]
    assert copy["status"] == "sent"
    # later messages for the failing channel go the same way at once
    spec = build_specs(config)[0]
    previous, _ = store.load_status(spec.key)
    decision = decide(previous, State.OK, "back", spec.policy, clock())
    store.record_run(spec.key, clock(), 0.1, Outcome.of([Result(State.OK, "back")]),
                     decision.status, {}, spec.services, spec.priority,
                     decision.events)
    AlertProcessor(config, store, clock).process()
    asyncio.run(notifier.deliver_due())
    assert sms.wait_for(2, 10)
    assert "RECOVERED" in sms.json_bodies()[1]["message"]


def test_test_alert_command(tmp_path, smtp_server):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(smtp_server.port, 1, 1, 1).replace(
        "      url_env: MW_TEAMS_URL\n", "      url: json://127.0.0.1:9/x\n"))
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "test-alert", "-c", str(config),
                          "oncall-email"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "oncall-email: test message delivered" in out.stdout
    assert smtp_server.wait_for(1, 10)
    assert smtp_server.messages[0]["Subject"] == "[Testville] [TEST] muni-watchdog: test message"
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "test-alert", "-c", str(config),
                          "webhook"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 1 and "webhook: NOT delivered" in out.stderr


def test_weekly_test_message_reaches_every_channel(tmp_path, smtp_server, receivers,
                                                   monkeypatch):
    teams, sms, hook = receivers
    monkeypatch.setenv("MW_TEAMS_URL", f"workflows://127.0.0.1:{teams.port}/wf1/sig1?verify=no")
    config = parse_config(config_text(smtp_server.port, teams.port, sms.port, hook.port),
                          "t.yaml")
    store, clock = Store.open(tmp_path), Clock()
    notifier = Notifier(config, store, clock)
    assert notifier.queue_test([c.name for c in config.notify.channels], clock(), "weekly") == 4
    assert asyncio.run(notifier.deliver_due()) == 4
    assert smtp_server.wait_for(1, 10) and teams.wait_for(1, 10) and sms.wait_for(1, 10)
    assert smtp_server.messages[0]["Subject"] == "[Testville] [TEST] muni-watchdog: the weekly test message"
    assert sms.json_bodies()[0]["message"] == "Testville: muni-watchdog weekly test: this channel works."
    assert hook.wait_for(1, 10)


def test_fallback_email_carries_the_whole_message_with_the_failure_on_top(tmp_path,
                                                                         smtp_server):
    """Issue 10: the copy sent through the backup relay held only the subject and "Sent
    through backup-relay because relay failed 3 times". It must be the whole message."""
    dead = free_port()
    text = config_text(smtp_server.port, 1, 1, 1, extra=f"""\
    - name: relay
      url: mailto://127.0.0.1:{dead}?from=watchdog@town.example&to=oncall@msp.example
      fallback: backup-relay
    - name: backup-relay
      url: mailto://127.0.0.1:{smtp_server.port}?from=watchdog@town.example&to=oncall@msp.example
""").replace("channels: [oncall-email, msp-teams, oncall-sms, webhook]", "channels: [relay]")
    text = text.replace("      url_env: MW_TEAMS_URL\n", "      url: json://127.0.0.1:9/x\n")
    config = parse_config(text, "t.yaml")
    store, clock = Store.open(tmp_path), Clock()
    notifier = Notifier(config, store, clock)
    run_problem(config, store, clock)
    for _ in range(3):
        asyncio.run(notifier.deliver_due())
        clock.now += timedelta(minutes=5)
    assert smtp_server.wait_for(1, 10)
    mail = smtp_server.messages[0]
    assert mail["Subject"] == ("[Testville] [via backup-relay] [P1 CRITICAL] Staff email — mail/tcp: port "
                               "25: connection refused")
    html = mail.get_body(preferencelist=("html",)).get_content()
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    for body in (re.sub(r"<[^>]+>", " ", html), plain):
        flat = " ".join(htmllib.unescape(body).split())
        failure = flat.index("DELIVERY PROBLEM: sent through backup-relay because channel "
                             "relay failed 3 times")
        for part in ("PROBLEM: mail/tcp is CRITICAL [incident 1]",
                     "Service: Staff email (priority 1)",
                     "Public impact: Staff cannot send or receive email.",
                     "Owner: Ann Owner <ann@town.example>",
                     "Backup owner: Bo Backup <bo@msp.example>", "Last results:",
                     'muni-watchdog ack 1 '):
            assert flat.find(part) > failure, (part, flat[:400])
    # the original is still retried on its own channel
    original = store.notifications()[0]
    assert original["channel"] == "relay" and original["status"] == "pending"


@pytest.mark.parametrize("source, target", [("email", "text"), ("text", "email"),
                                            ("teams", "email"), ("sms", "email"),
                                            ("email", "sms"), ("email", "teams")])
def test_a_fallback_copy_is_the_whole_message_in_its_own_layout(source, target):
    """Every pair of layouts: the copy is laid out for the fallback channel from the whole
    message, whatever the failing channel's own layout was (an SMS's 160 characters do not
    become the email)."""
    from muni_watchdog.alerting.delivery import fallback_copy
    from muni_watchdog.alerts.render import (
        AlertInfo,
        ServiceInfo,
        layout,
        message_to_json,
        problem_message,
    )
    from muni_watchdog.store.outbox import PendingNotification

    at = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    alert = AlertInfo(
        site="Testville", timezone="UTC", kind="problem", state="critical",
        previous_state="ok", target="mail", host="mail.town.example", check="tcp",
        summary="port 25: connection refused", since=at - timedelta(minutes=2), at=at,
        services=(ServiceInfo("email", "Staff email", 1, "Ann Owner", "Bo Backup",
                              "Staff cannot send or receive email.", 3600),),
        priority=1, incident=7, recent=((at, "critical", "port 25: connection refused"),))
    message = problem_message("Testville", [alert])
    title, body, body_format = layout(message, source)
    note = PendingNotification(1, None, "primary", "k", title, body, at, 3, at, body_format,
                               "problem", False, "boom", message_to_json(message))
    copy_title, copy_body, copy_format, copy_message = fallback_copy(
        note, "spare", target, 3, "connection refused")
    assert (copy_title, copy_body, copy_format) == layout(
        __import__("muni_watchdog.alerts.render", fromlist=["x"]).message_from_json(copy_message), target)
    if target == "sms":
        assert len(copy_body) <= 160 and copy_body.startswith("[via spare: primary failing]")
        return
    assert copy_title.startswith("[via spare] [P1 CRITICAL]")
    flat = " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", copy_body)).split())
    failure = flat.index("DELIVERY PROBLEM: sent through spare because channel primary failed "
                         "3 times: connection refused")
    for part in ("Public impact: Staff cannot send or receive email.", "Owner: Ann Owner",
                 "Backup owner: Bo Backup", "muni-watchdog ack 7"):
        assert flat.find(part) > failure, part
    if target != "teams":
        assert flat.find("Last results:") > failure
