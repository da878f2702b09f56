"""What leadership reads agrees with itself (issue 10): held incidents name what held them,
rounding never contradicts a verdict, no check ids, patch figures said together, and counts
agree with their nouns and verbs."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.reports.deliver import monthly_report
from muni_watchdog.reports.render import render_monthly_html, render_monthly_text
from muni_watchdog.reports.words import (
    days_against,
    duration_against,
    patch_words,
    percent,
    summary_paragraph,
    trend_words,
)
from muni_watchdog.store.database import Store

NOUNS = ("service", "incident", "time", "restore test", "accepted risk", "security update",
         "day", "hour", "minute", "second", "check")
UNITS = {"day": 86400, "hour": 3600, "minute": 60, "second": 1}


def grammar_errors(text: str) -> list[str]:
    """Counts that disagree with their noun or verb: "1 services", "2 service", "0 of 1
    service with backups were", "1 accepted risk are"."""
    found = []
    for noun in NOUNS:
        found += re.findall(rf"\b1 {noun}s\b", text)
        found += re.findall(rf"(?<![\d.])(?:0|[2-9]|\d\d+) {noun}\b(?!s)", text)
    found += re.findall(r"\b1 [a-z ]+? (?:are|were)\b(?! proven)", text)
    found += re.findall(r"\bof 1 service with backups were\b", text)
    return found


def seconds_of(words: str) -> float:
    """"1 minute 22 seconds" -> 82."""
    total = 0.0
    for count, unit in re.findall(r"(\d+) (day|hour|minute|second)s?", words):
        total += int(count) * UNITS[unit]
    return total


# -- rounding never contradicts the verdict --------------------------------------------------

def test_ack_of_1m22s_against_a_1_minute_promise():
    assert duration_against(82, 60) == "1 minute 22 seconds"
    assert duration_against(50, 60) == "50 seconds"
    assert duration_against(3 * 3600 + 30, 3 * 3600) == "3 hours 30 seconds"
    assert duration_against(5 * 3600, 4 * 3600) == "5 hours"        # plainly over: plain words


def test_duration_words_agree_with_the_verdict_for_any_value():
    rng = random.Random(10)
    for _ in range(5000):
        limit = rng.choice([60, 300, 3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 5 * 86400])
        actual = max(0.0, limit + rng.uniform(-1.5, 1.5) * rng.choice([1, 30, 90, 3600]))
        shown = seconds_of(duration_against(actual, limit))
        if actual > limit:
            assert shown > limit, (actual, limit, duration_against(actual, limit))
        else:
            assert shown <= limit, (actual, limit, duration_against(actual, limit))


def test_days_over_a_policy_never_read_as_the_policy():
    assert days_against(3.2, 3) == "3.2 days"
    assert days_against(10, 3) == "10 days"
    assert days_against(1.0, 3) == "1 day"
    rng = random.Random(3)
    for _ in range(2000):
        policy = rng.choice([1, 3, 7, 14])
        days = rng.uniform(0, 30)
        shown = float(days_against(days, policy).split()[0])
        assert (shown > policy) == (days > policy) or days <= policy


def test_availability_is_never_shown_as_100_with_an_outage_and_agrees_with_the_target():
    rng = random.Random(7)
    for _ in range(5000):
        monitored = rng.choice([120, 86400, 30 * 86400, 31 * 86400])
        down = rng.choice([0.001, 1, 44, rng.uniform(0, monitored)])
        value = 100 * (1 - down / monitored)
        text = percent(value)
        assert text != "100 %"
        target = rng.choice([95.0, 98.0, 99.0, 99.5, 99.9, 99.95, 99.99])
        met = value + 1e-9 >= target
        assert (float(text.split()[0]) >= target) == met, (value, text, target)
    assert percent(100.0) == "100 %" and percent(None) == "no data yet"


def test_patch_figures_are_said_together():
    assert patch_words(88, 0.3) == "88 security updates pending, the oldest waiting less " \
        "than a day"
    assert patch_words(1, 10.4) == "1 security update pending, waiting 10 days"
    assert patch_words(0, None) == "no security updates pending"
    figures = {"security_updates_pending": 88}
    assert trend_words("security_patch_latency", 0.0, figures) == \
        "88 pending, oldest less than a day"
    assert trend_words("security_patch_latency", 0.0, {"security_updates_pending": 0}) == \
        "none pending"
    assert trend_words("outage_minutes", 0.3, {}) == "under 1 minute"


# -- grammar by count --------------------------------------------------------------------------

def _fake_report(tested: int, proven: int, incidents: int, missed: int, risks: int,
                 blind: int = 0):
    from datetime import UTC, datetime, timedelta

    from muni_watchdog.reports.outages import Gap
    start = datetime(2026, 5, 1, 10, 2, tzinfo=UTC)
    gaps = [Gap(start, start + timedelta(days=2, hours=3), None, "monitoring was not running"),
            Gap(start + timedelta(days=5), start + timedelta(days=5, hours=2),
                "pay (website)", "no usable results: SSH: timed out")]

    def service(i):
        ok = i < proven
        unwatched = i < blind
        test = SimpleNamespace(verdict="ok" if ok else "critical")
        backups = SimpleNamespace(configured=["b"] if i < tested else [],
                                  run=1 if i < tested else 0, tests=[test],
                                  restore_estimate_seconds=60, worst_age_seconds=60)
        return SimpleNamespace(
            name=f"Service {i}", backups=backups, rto=3600, rpo=3600, availability=100.0,
            outages=[], outage_seconds=0, met_target=not unwatched,
            verdict="not proven" if unwatched else "met", monitored_seconds=30 * 86400,
            unwatched_seconds=(2 * 86400 + 5 * 3600) if unwatched else 0,
            measured=SimpleNamespace(gaps=gaps if unwatched else []),
            incidents=[object()] * (incidents if i == 0 else 0),
            promises_missed=missed if i == 0 else 0)
    return SimpleNamespace(services=[service(i) for i in range(max(tested, 1))],
                           exceptions=[{}] * risks, partial_from=None, timezone="UTC")


@pytest.mark.parametrize("tested", range(0, 4))
def test_summary_grammar_for_every_count(tested):
    for proven in range(0, tested + 1):
        for incidents, missed in ((0, 0), (1, 0), (1, 1), (2, 1), (3, 2)):
            for risks in (0, 1, 2):
                for blind in range(0, max(tested, 1) + 1):
                    text = summary_paragraph(_fake_report(tested, proven, incidents, missed,
                                                          risks, blind))
                    assert grammar_errors(text) == [], text
    assert "0 of 1 service" not in summary_paragraph(_fake_report(1, 0, 0, 0, 0))
    assert summary_paragraph(_fake_report(1, 0, 0, 0, 0)).startswith(
        "Service 0, the one service with backups, was not proven restorable")
    assert "1 incident; it was answered" in summary_paragraph(_fake_report(1, 1, 1, 0, 0))


def test_grammar_lint_finds_what_it_should():
    assert grammar_errors("0 of 1 service with backups were proven") != []
    assert grammar_errors("1 services; 2 incident") != []
    assert grammar_errors("1 accepted risk are open") != []
    assert grammar_errors("2 services, 1 incident, 10 days, 1 day 2 hours") == []


# -- held, names, acknowledgement: a month through the real alert path --------------------------

CONFIG = """
site: {name: Town of Example, timezone: UTC}
services:
  - id: desk
    name: Front desk
    priority: 3
    rto: 4h
    rpo: 1d
    response_sla: 1m
    owner: {name: Dana, contact: dana@town.example}
    backup_owner: {name: Bob, contact: bob@msp.example}
    targets: [front-desk-printer, front-desk-pc]
targets:
  - id: core-switch
    kind: snmp
    host: 192.0.2.2
    description: Core switch
    snmp: {community_file: /nonexistent}
    checks: [{check: system, max_attempts: 1, recovery_attempts: 1}]
  - id: front-desk-printer
    kind: tcp
    host: 192.0.2.40
    parents: [core-switch]
    checks: [{check: tcp, port: 9100, max_attempts: 1, recovery_attempts: 1}]
  - id: front-desk-pc
    kind: tcp
    host: 192.0.2.41
    checks: [{check: tcp, port: 3389, max_attempts: 1, recovery_attempts: 1}]
notify:
  channels: [{name: oncall, url: "json://127.0.0.1:9/x"}]
  fallback_channels: [oncall]
"""


def _run(store, config, target, check, state, at, items=()):
    from muni_watchdog.core.transitions import decide
    from muni_watchdog.daemon.engine import build_specs
    spec = next(s for s in build_specs(config) if s.key.target == target)
    previous, _ = store.load_status(spec.key)
    outcome = Outcome.of([Result(state, f"{check} {state.name}")], items=items).judged(True)
    decision = decide(previous, state, outcome.summary, spec.policy, at,
                      unavailable=outcome.unavailable)
    store.record_run(spec.key, at, 0.1, outcome, decision.status, {}, spec.services,
                     spec.priority, decision.events)


def test_held_by_parent_names_it_and_the_acknowledgement_agrees(tmp_path):
    from muni_watchdog.alerting.processor import AlertProcessor
    config = parse_config(CONFIG, "town.yaml", check_secrets=False)
    store = Store.open(tmp_path)
    t0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    clock = SimpleNamespace(now=t0)
    alerts = AlertProcessor(config, store, lambda: clock.now)
    switch_item = [{"kind": "system", "device_class": "network"}]
    for target in ("core-switch", "front-desk-printer", "front-desk-pc"):
        _run(store, config, target, "x", State.OK, t0 - timedelta(days=5), switch_item)
    # the switch goes down; the printer behind it too: held, nobody called about the printer
    _run(store, config, "core-switch", "system", State.CRITICAL, t0, switch_item)
    alerts.process()
    _run(store, config, "front-desk-printer", "tcp", State.CRITICAL, t0 + timedelta(seconds=5))
    clock.now = t0 + timedelta(seconds=10)
    alerts.process()
    _run(store, config, "front-desk-printer", "tcp", State.OK, t0 + timedelta(minutes=3))
    _run(store, config, "core-switch", "system", State.OK, t0 + timedelta(minutes=4),
         switch_item)
    clock.now = t0 + timedelta(minutes=4)
    alerts.process()
    # the PC fails on its own; acknowledged 1 min 22 s after the call: the 1 minute promise
    # was missed, and the words must not say "1 minute"
    t1 = t0 + timedelta(hours=2)
    _run(store, config, "front-desk-pc", "tcp", State.CRITICAL, t1)
    clock.now = t1 + timedelta(seconds=1)
    alerts.process()
    [pc] = [i for i in store.incidents("open") if i["target"] == "front-desk-pc"]
    store.update_incident(pc["id"], acked_by="Dana", acked_at=(
        datetime.fromisoformat(pc["first_notified_at"]) + timedelta(seconds=82)).isoformat())
    report = monthly_report(store, config, 2026, 11, datetime(2026, 12, 1, 8, tzinfo=UTC))
    text = render_monthly_text(report)
    page = render_monthly_html(report)
    printer_line = next(line for line in text.splitlines()
                        if line.startswith("Incident") and "front-desk-printer" in line)
    assert "nobody needed to be called (held: its switch Core switch was down)" in printer_line
    assert "maintenance or an accepted risk" not in text
    pc_line = next(line for line in text.splitlines()
                   if line.startswith("Incident") and "front-desk-pc (network port)" in line)
    assert "acknowledged in 1 minute 22 seconds, later than the promised 1 minute" in pc_line
    # leadership never sees a check id
    for t in config.targets:
        for params in t.checks:
            assert f"{t.id}/{params.check_name}" not in text + page
    assert grammar_errors(text) == []
