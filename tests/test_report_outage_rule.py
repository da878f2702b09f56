"""What counts as an outage: each check type declares what its CRITICAL means, a result can
differ (a certificate expiring soon is not an outage), a check can override; the daemon records
it with every hard state change and the report counts by it (issue 10)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.checks import KINDS
from muni_watchdog.checks.impact import CHECK_TYPES, check_type_info
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.transitions import Policy, decide

POLICY = Policy(check_interval=60, retry_interval=20, max_attempts=2, recovery_attempts=1,
                flap_detection=False)
T0 = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)


# -- the declaration -----------------------------------------------------------------------------

def test_every_check_type_declares_what_its_critical_means():
    declared = set(CHECK_TYPES)
    for kind in KINDS.values():
        for name in kind.check_types:
            assert name in declared, f"check type {name!r} has no entry in checks.impact"
    # results no scheduled check produces: restore tests and traps are attention
    assert not CHECK_TYPES["restore_test"].affects_availability
    assert not CHECK_TYPES["traps"].affects_availability
    # the list: reachability is an outage, supplies/patches/disk/UPS are attention
    for name in ("http", "tcp", "system"):
        assert CHECK_TYPES[name].affects_availability, name
    for name in ("printer", "patches", "disk", "storage", "interfaces", "ups", "device",
                 "vulnerabilities", "exposure"):
        assert not CHECK_TYPES[name].affects_availability, name
    # an unknown type is counted, never hidden
    assert check_type_info("no-such-type").affects_availability


def test_outcome_judged_by_type_result_and_override():
    results = [Result(State.CRITICAL, "toner 2 %"),
               Result(State.CRITICAL, "certificate expires in 10 days",
                      affects_availability=False)]
    outcome = Outcome.of(results)
    assert not outcome.unavailable                       # not judged yet: never counted
    assert outcome.judged(True).unavailable             # the first result takes the default
    assert not outcome.judged(False).unavailable
    assert not outcome.judged(True, override=False).unavailable
    only_cert = Outcome.of(results[1:])
    assert not only_cert.judged(True).unavailable       # the result's own word wins
    assert only_cert.judged(False, override=True).unavailable   # the check's config wins
    # WARNING and UNKNOWN are never outages, whatever they say
    assert not Outcome.of([Result(State.WARNING, "slow", affects_availability=True)]).judged(True).unavailable
    assert not Outcome.of([Result(State.UNKNOWN, "?", affects_availability=True)]).judged(True).unavailable



def test_judging_copies_a_result_whole_and_keeps_an_outcome_already_settled():
    raw = Result(State.CRITICAL, "toner 2 %", details="black cartridge")
    outcome = Outcome.of([raw])
    judged = outcome.judged(False)
    (copy,) = judged.results
    assert copy == Result(State.CRITICAL, "toner 2 %", "black cartridge", False)
    assert copy is not raw and raw.affects_availability is None   # the original unchanged
    assert judged.judged(False) is judged            # settled: nothing copied again
    assert judged.judged(True) is judged             # a result's own word stays
    assert judged.judged(True, override=True).results[0].affects_availability is True

# -- the state machine records it ----------------------------------------------------------------

def test_outage_begins_and_ends_inside_a_hard_critical():
    """Certificate CRITICAL (attention), then the site stops answering, then answers again
    with the certificate still CRITICAL: two events, so the outage has a start and an end."""
    status = None
    events = []
    at = T0
    for unavailable in (False, False, True, True, False):
        decision = decide(status, State.CRITICAL, "x", POLICY, at, unavailable=unavailable)
        status, at = decision.status, at + timedelta(minutes=1)
        events += decision.events
    assert [(e.state, e.previous_state, e.unavailable, e.at.minute) for e in events] == [
        (State.CRITICAL, State.OK, False, 1),        # hard after 2 attempts: attention
        (State.CRITICAL, State.CRITICAL, True, 2),   # the site went down
        (State.CRITICAL, State.CRITICAL, False, 4)]  # it answers again
    assert not status.unavailable
    recovery = decide(status, State.OK, "ok", POLICY, at)
    assert recovery.events[0].kind == "recovery" and not recovery.status.unavailable


def test_only_a_critical_can_be_unavailable():
    decision = decide(None, State.WARNING, "slow", POLICY, T0, immediate=True,
                      unavailable=True)
    assert decision.events[0].state is State.WARNING and not decision.events[0].unavailable
    assert not decision.status.unavailable


# -- through the daemon's own path, against real servers -------------------------------------------

class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _config(tmp_path, https_url, ca_file, snmp_port, closed_port):
    community = tmp_path / "community"
    community.write_text("printer\n")
    owner = "owner: {name: Dana, contact: dana@town.example}\n" \
            "    backup_owner: {name: Bob, contact: bob@msp.example}"
    return f"""\
site: {{name: Town of Example, timezone: UTC}}
services:
  - id: web
    name: Web portal
    priority: 1
    rto: 4h
    rpo: 1d
    {owner}
    targets: [portal]
  - id: office
    name: Town hall office devices
    priority: 3
    rto: 1d
    rpo: 1d
    {owner}
    targets: [office-printer]
  - id: desk
    name: Front desk
    priority: 3
    rto: 1d
    rpo: 1d
    {owner}
    targets: [front-desk]
  - id: plotter
    name: Planning plotter
    priority: 4
    rto: 1d
    rpo: 1d
    {owner}
    targets: [plotter]
targets:
  - id: portal
    kind: http
    host: 127.0.0.1
    checks: [{{check: http, url: "{https_url}", ca_file: "{ca_file}", max_attempts: 1, interval: 30m}}]
  - id: office-printer
    kind: snmp
    host: 127.0.0.1
    description: Office printer
    snmp: {{version: "2c", port: {snmp_port}, community_file: {community}}}
    checks: [{{check: printer, max_attempts: 1, interval: 30m}}]
  - id: plotter
    kind: snmp
    host: 127.0.0.1
    snmp: {{version: "2c", port: {snmp_port}, community_file: {community}}}
    checks: [{{check: printer, max_attempts: 1, interval: 30m, affects_availability: true}}]
  - id: front-desk
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {closed_port}, max_attempts: 1, interval: 30m, timeout: 2s}}]
"""


@pytest.mark.integration
def test_low_toner_and_a_soon_expiring_certificate_are_not_outages(tmp_path,
                                                                   make_https_server):
    import shutil

    from lab.servers import free_port
    from lab.snmp_lab import DATA_DIR, SnmpSim
    from muni_watchdog.alerting.delivery import Notifier
    from muni_watchdog.alerting.processor import AlertProcessor
    from muni_watchdog.config.loading import parse_config
    from muni_watchdog.daemon.engine import build_specs, close_sessions
    from muni_watchdog.daemon.loop import Daemon
    from muni_watchdog.daemon.writer import RunWriter
    from muni_watchdog.reports.deliver import monthly_report
    from muni_watchdog.reports.render import render_monthly_text
    from muni_watchdog.store.database import Store

    if shutil.which("snmpd") is None and not __import__("os").path.exists("/usr/sbin/snmpd"):
        pytest.skip("net-snmp not installed (scripts/setup.sh installs it)")
    # the check's clock is T0; the certificate expires 10.5 days after it (CRITICAL at 14)
    days = (T0 - datetime.now(UTC)).total_seconds() / 86400 + 10.5
    server, ca_file = make_https_server(days)
    sim = SnmpSim({"printer": DATA_DIR / "printer.snmprec"}).start()
    try:
        config = parse_config(_config(tmp_path, server.url, ca_file, sim.port, free_port()),
                              "town.yaml")
        clock = Clock(T0)
        store = Store.open(tmp_path / "state")
        daemon = Daemon(tmp_path / "town.yaml", tmp_path / "state", clock)
        daemon.config, daemon.store = config, store
        # simulated time runs the checks one after another: nothing finishes together, so
        # the writer's grouping window would only wait (0.25 s a run, 200 s a month)
        daemon.writer = RunWriter(store.record_runs, window=0)
        daemon.notifier = Notifier(config, store, clock)
        specs = build_specs(config)
        daemon.specs = {f"check:{s.key}": s for s in specs}

        async def run_all():
            for job_id in daemon.specs:
                await daemon._run_check(job_id)
            AlertProcessor(config, store, clock).process()

        async def scenario():
            # every check runs every 30 minutes (interval: 30m), so the report's hour was
            # watched throughout: its outages are measured, not guessed
            await run_all()                       # 12:00 all hard CRITICAL at once
            clock.now += timedelta(minutes=30)
            server.status = 503                   # 12:30 the portal stops working
            await run_all()
            clock.now += timedelta(minutes=10)
            server.status = 200                   # 12:40 it works again, cert still short
            await run_all()
            clock.now += timedelta(minutes=20)    # 13:00 the report is read
            await close_sessions(specs)

        asyncio.run(scenario())
        states = {r["target"]: r["hard_state"] for r in store.current_states()}
        assert states == {"portal": 2, "office-printer": 2, "plotter": 2, "front-desk": 2}
        report = monthly_report(store, config, 2027, 3, clock.now)
    finally:
        sim.stop()

    web, desk, office, plotter = report.services
    # the portal: only the 10 minutes it answered 503 are an outage, not the certificate
    assert web.outages == [(T0 + timedelta(minutes=30), T0 + timedelta(minutes=40))]
    # the office printer's paper jam and 8 % toner are not an outage
    assert office.outages == [] and office.availability == 100.0 and office.met_target
    assert [i.what for i in office.incidents] == ["Office printer (printer supplies and paper)"]
    # the front desk's refused port is, from its first failed result
    assert desk.outages == [(T0, T0 + timedelta(hours=1))]
    # the plotter's check says its CRITICAL is an outage (affects_availability: true)
    assert plotter.outages == [(T0, T0 + timedelta(hours=1))]
    text = render_monthly_text(report)
    assert "Web portal was down for 10 minutes" in text
    assert "Front desk was down for 1 hour" in text
    assert "Town hall office devices was down" not in text
    assert "Office printer (printer supplies and paper)" in text   # its incident is listed
    assert "office-printer/printer" not in text and "front-desk/tcp" not in text
