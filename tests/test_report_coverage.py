"""Time the monitor did not know is not reported as up (issue 10, "No false all-clear").

A month in which the monitoring box was off for two days, or in which a server could not be
reached over SSH for three, used to show 100 % and "no outage" for those days. Now each is
"not watched", with its reason, in the paragraph, the tables, the trend and /metrics, and a
target cannot be "met" on a month not watched enough to prove it.

The months here are produced by the daemon's own check path (``Daemon._run_check``: the real
check, state machine and store) against real servers on loopback, with an injected clock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from lab.servers import TcpListener
from muni_watchdog.alerting.delivery import Notifier
from muni_watchdog.config.loading import parse_config
from muni_watchdog.daemon.engine import build_specs, close_sessions
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.writer import RunWriter
from muni_watchdog.reports.deliver import monthly_report
from muni_watchdog.reports.metrics import snapshot_from_store
from muni_watchdog.reports.render import render_monthly_html, render_monthly_text
from muni_watchdog.store.database import Store

OWNERS = ("owner: {name: Kim, contact: kim@town.example}\n"
          "    backup_owner: {name: Bob, contact: bob@msp.example}")


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _daemon(tmp_path, text: str) -> tuple[Daemon, Store, Clock]:
    config = parse_config(text, "town.yaml", check_secrets=False)
    clock = Clock(datetime(2000, 1, 1, tzinfo=UTC))
    store = Store.open(tmp_path / "state")
    daemon = Daemon(tmp_path / "town.yaml", tmp_path / "state", clock)
    daemon.config, daemon.store = config, store
    # simulated time runs the checks one after another: nothing finishes together, so
    # the writer's grouping window would only wait (0.25 s a run, 200 s a month)
    daemon.writer = RunWriter(store.record_runs, window=0)
    daemon.notifier = Notifier(config, store, clock)
    daemon.specs = {f"check:{s.key}": s for s in build_specs(config)}
    return daemon, store, clock


async def _run_all(daemon: Daemon, clock: Clock, at: datetime) -> None:
    clock.now = at
    for job_id in daemon.specs:
        await daemon._run_check(job_id)


@pytest.mark.integration
def test_a_month_with_the_monitoring_box_off_for_two_days(tmp_path):
    """May 2026: hourly checks; the box is off from May 1 10:00 (its last run) to May 3
    13:00 (its first run back); the portal's port is closed for one run on May 10."""
    port = TcpListener().start()
    daemon, store, clock = _daemon(tmp_path, f"""\
site: {{name: Town of Example, timezone: UTC}}
services:
  - id: payments
    name: Payment portal
    priority: 2
    availability_target: 99.5
    rto: 8h
    rpo: 1d
    {OWNERS}
    targets: [pay]
targets:
  - id: pay
    kind: tcp
    host: 127.0.0.1
    description: pay.town.example
    checks: [{{check: tcp, port: {port.port}, interval: 1h, max_attempts: 1,
               recovery_attempts: 1}}]
""")
    config = daemon.config
    off_from = datetime(2026, 5, 1, 10, tzinfo=UTC)
    back_at = datetime(2026, 5, 3, 13, tzinfo=UTC)
    down_at = datetime(2026, 5, 10, 14, tzinfo=UTC)

    async def month() -> None:
        at = datetime(2026, 4, 28, tzinfo=UTC)
        while at <= datetime(2026, 6, 1, 2, tzinfo=UTC):
            if not off_from < at < back_at:          # the box is off: nothing runs
                port.set_up(at != down_at)
                await _run_all(daemon, clock, at)
            at += timedelta(hours=1)
        await close_sessions(daemon.specs.values())

    try:
        asyncio.run(month())
    finally:
        port.stop()
    report = monthly_report(store, config, 2026, 5, datetime(2026, 6, 1, 8, tzinfo=UTC))
    # before: "Payment portal was down for 1 hour" and "met its availability target", as if
    # the two days the box was off had been two days up
    assert "not watched for 2 days 2 hours" in report.summary
    assert "met its availability target" not in report.summary
    [pay] = report.services
    blind = (back_at - (off_from + timedelta(hours=1))).total_seconds()   # from when due
    assert blind == 2 * 86400 + 2 * 3600
    assert pay.unwatched_seconds == blind
    assert report.stopped == [(off_from + timedelta(hours=1), back_at)]
    assert pay.outage_seconds == 3600                      # the closed port, while watched
    watched = 31 * 86400 - blind
    assert pay.availability == pytest.approx(100 * (1 - 3600 / watched))
    assert pay.verdict == "not proven"                     # 93 % of May watched
    paragraph = report.summary
    assert ("Payment portal: 99.855 % of the time it was watched; not watched for 2 days "
            "2 hours (monitoring was not running from May 1, 11:00 to May 3, 13:00).") \
        in paragraph
    assert "Availability target not proven for Payment portal" in paragraph
    assert "met its availability target" not in paragraph
    text = render_monthly_text(report)
    assert ("Availability: 99.855 % of the time it was watched (target 99.5 %, not proven); "
            "outage: 1 hour") in text
    assert ("Not watched: 2 days 2 hours (monitoring was not running from May 1, 11:00 to "
            "May 3, 13:00); no outage could be seen then.") in text
    page = render_monthly_html(report)
    assert "not proven" in page and "Not watched: 2 days 2 hours" in page
    [trend] = report.trailing
    assert trend.points[-1].text == "60 minutes, not watched for 2 days 2 hours"
    assert report.figures["unwatched_minutes"] == {"payments": blind / 60}
    # /metrics during May, after the box came back: the same computation
    snap = snapshot_from_store(store, config, datetime(2026, 5, 20, 12, 30, tzinfo=UTC))
    assert snap.unmonitored_seconds == {"payments": blind}
    assert snap.stopped_seconds == blind
    assert snap.outage_seconds == {"payments": 3600}
    # June so far: it ran on time, nothing unwatched
    june = monthly_report(store, config, 2026, 6, datetime(2026, 6, 1, 2, 30, tzinfo=UTC))
    assert june.services[0].unwatched_seconds == 0 and june.stopped == []


@pytest.mark.integration
def test_a_month_with_a_server_unreachable_over_ssh_for_three_days(tmp_path):
    """November 2026, daily checks over SSH against a real sshd: it is stopped for the runs
    of Nov 10, 11 and 12 (every SSH check is UNKNOWN), back on Nov 13."""
    from lab.ssh_lab import SshLab

    lab = SshLab().start()
    try:
        known = lab.pin(tmp_path / "known_hosts")
        conn = lab.connection(known)
        daemon, store, clock = _daemon(tmp_path, f"""\
site: {{name: Town of Example, timezone: UTC}}
services:
  - id: files
    name: File server
    priority: 3
    rto: 1d
    rpo: 1d
    {OWNERS}
    targets: [files]
targets:
  - id: files
    kind: ssh
    host: 127.0.0.1
    ssh: {{user: {conn['user']}, port: {conn['port']}, key_file: {conn['key_file']},
           known_hosts: {conn['known_hosts']}}}
    checks:
      # (/proc/loadavg in a container is the whole host's: a busy CI host must not turn
      #  the day the server came back into a WARNING — only reachability is under test)
      - {{check: load, interval: 1d, max_attempts: 1, affects_availability: true,
          per_cpu_warn: 100000, per_cpu_crit: 200000}}
      - {{check: disk, interval: 1d, max_attempts: 1}}
""")
        config = daemon.config
        unreachable = {datetime(2026, 11, d, tzinfo=UTC) for d in (10, 11, 12)}

        async def month() -> None:
            at = datetime(2026, 10, 30, tzinfo=UTC)
            while at <= datetime(2026, 12, 1, tzinfo=UTC):
                if at in unreachable and lab._process is not None:
                    lab._terminate()                       # the server drops off the net,
                    await close_sessions(daemon.specs.values())   # and our connection too
                    daemon.specs = {f"check:{s.key}": s for s in build_specs(config)}
                elif at not in unreachable and lab._process is None:
                    lab._spawn()                           # back, same address and key
                await _run_all(daemon, clock, at)
                at += timedelta(days=1)
            await close_sessions(daemon.specs.values())

        asyncio.run(month())
    finally:
        lab.stop()
    states = {(r["check_name"], r["started_at"][:10]): r["state"] for r in
              store.db.query("SELECT check_name, started_at, state FROM check_runs")}
    assert states[("load", "2026-11-11")] == 3 and states[("disk", "2026-11-11")] == 3
    assert states[("load", "2026-11-13")] == 0
    report = monthly_report(store, config, 2026, 11, datetime(2026, 12, 1, 8, tzinfo=UTC))
    assert "not watched for 3 days" in report.summary        # before: "No service had an
    assert "No service had an outage." not in report.summary  # outage." and 100 %, met
    [files] = report.services
    # from the first UNKNOWN result to the next one that knew: 3 days; the disk check's
    # UNKNOWN (attention only) adds nothing; the monitoring itself ran throughout
    assert files.unwatched_seconds == 3 * 86400
    assert report.stopped == []
    assert files.outage_seconds == 0 and files.availability == 100.0
    assert files.verdict == "not proven"
    [gap] = files.measured.gaps
    assert gap.what == "files (processor load)" and gap.reason.startswith("no usable results")
    paragraph = report.summary
    assert "No service had an outage while it was watched." in paragraph
    assert ("File server: 100 % of the time it was watched; not watched for 3 days (files "
            "(processor load) could not tell for 3 days: cannot connect to 127.0.0.1:") in paragraph
    assert "No service had an outage." not in paragraph
    text = render_monthly_text(report)
    assert "Availability: 100 % of the time it was watched (target 99 %, not proven)" in text


# -- the whole class, fast: the real state machine and store, results given --------------------

from muni_watchdog.core.model import CheckKey, Outcome, Result, State  # noqa: E402
from muni_watchdog.core.transitions import decide  # noqa: E402
from muni_watchdog.reports.outages import COVERAGE_NEEDED, Availability  # noqa: E402

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
AFTER = datetime(2026, 12, 1, 8, tzinfo=UTC)
CLASS_CONFIG = f"""\
site: {{name: Town of Example, timezone: UTC}}
services:
  - id: web
    name: Web portal
    priority: 1
    rto: 4h
    rpo: 1d
    {OWNERS}
    targets: [portal, files]
  - id: printing
    name: Printing
    priority: 4
    rto: 1d
    rpo: 1d
    {OWNERS}
    targets: [printer]
targets:
  - {{id: portal, kind: tcp, host: 127.0.0.1,
     checks: [{{check: tcp, port: 443, interval: 1h, max_attempts: 1, recovery_attempts: 1}}]}}
  - id: files
    kind: ssh
    host: 127.0.0.1
    ssh: {{user: lab, key_file: /nonexistent, known_hosts: /nonexistent}}
    checks: [{{check: patches, interval: 1h, max_attempts: 1}}]
  - {{id: printer, kind: tcp, host: 127.0.0.1,
     checks: [{{check: tcp, port: 9100, interval: 1h, max_attempts: 1,
                affects_availability: false}}]}}
"""


class Site:
    """Hourly results for November written through decide() and Store.record_run."""

    def __init__(self, text: str = CLASS_CONFIG):
        self.config = parse_config(text, "town.yaml", check_secrets=False)
        self.store = Store.memory()
        self.specs = {str(s.key): s for s in build_specs(self.config)}

    def result(self, key: str, at: datetime, state: State = State.OK,
               unavailable: bool = False, summary: str = "") -> None:
        spec = self.specs[key]
        previous, _ = self.store.load_status(spec.key)
        summary = summary or f"{key} {state.name}"
        decision = decide(previous, state, summary, spec.policy, at, unavailable=unavailable)
        self.store.record_run(spec.key, at, 0.1, Outcome.of([Result(state, summary)]),
                              decision.status, {}, spec.services, spec.priority,
                              decision.events, interval=spec.policy.check_interval)

    def hourly(self, key: str, start: datetime, stop: datetime, **kw) -> None:
        at = start
        while at < stop:
            self.result(key, at, **kw)
            at += timedelta(hours=1)

    def report(self, now: datetime = AFTER):
        return monthly_report(self.store, self.config, 2026, 11, now)


def service(report, sid):
    return next(s for s in report.services if s.id == sid)


def test_a_restart_within_two_intervals_is_not_a_gap_and_a_longer_one_is():
    site = Site()
    site.hourly("portal/tcp", NOV - timedelta(days=1), NOV + timedelta(days=10))
    # restarted: the next run came 1 h 50 min after the last (day 9, 23:00): within 2 hours
    restart = NOV + timedelta(days=9, hours=23, minutes=110)
    site.hourly("portal/tcp", restart, NOV + timedelta(days=20))
    assert service(site.report(NOV + timedelta(days=20)), "web").unwatched_seconds == 0
    # stopped: the next run came 3 hours after the last: blind from when one was due
    last = NOV + timedelta(days=19, hours=23, minutes=50)
    site.hourly("portal/tcp", last + timedelta(hours=3), DEC + timedelta(hours=2))
    web = service(site.report(), "web")
    assert web.measured.unwatched == [(last + timedelta(hours=1), last + timedelta(hours=3))]
    # 2 hours unwatched could hide more than the 43 minutes the 99.9 % target allows
    assert web.availability == 100.0 and web.verdict == "not proven"


def test_an_outage_in_unwatched_time_counts_neither_as_down_nor_as_up():
    """Hard CRITICAL (down), then the box is off for a day, then still down: only the hours
    it was seen down are an outage; the day is not watched."""
    site = Site()
    site.hourly("portal/tcp", NOV - timedelta(days=1), NOV + timedelta(days=5))
    down = NOV + timedelta(days=5)
    site.result("portal/tcp", down, State.CRITICAL, unavailable=True)
    site.result("portal/tcp", down + timedelta(hours=1), State.CRITICAL, unavailable=True)
    back = down + timedelta(days=1, hours=2)      # off after the 01:00 run, back at 02:00 +1d
    site.result("portal/tcp", back, State.CRITICAL, unavailable=True)
    site.hourly("portal/tcp", back + timedelta(hours=1), DEC + timedelta(hours=2))
    web = service(site.report(), "web")
    blind = (down + timedelta(hours=2), back)
    assert web.measured.unwatched == [blind]
    assert web.outages == [(down, blind[0]), (back, back + timedelta(hours=1))]
    assert web.verdict == "missed"               # 3 hours down of the watched time


def test_a_check_that_cannot_report_an_outage_is_not_a_blind_spot():
    """The file server's patches check (attention only) UNKNOWN for a week does not make the
    web portal unwatched; the printer's only check (not an outage by config) still counts
    for Printing, which has nothing else to watch it."""
    site = Site()
    for key in ("portal/tcp", "files/patches", "printer/tcp"):
        site.hourly(key, NOV - timedelta(days=1), NOV + timedelta(days=3))
    site.hourly("portal/tcp", NOV + timedelta(days=3), DEC + timedelta(hours=2))
    site.hourly("files/patches", NOV + timedelta(days=3), NOV + timedelta(days=10),
                state=State.UNKNOWN, summary="apt-get: lists could not be parsed")
    site.hourly("files/patches", NOV + timedelta(days=10), DEC + timedelta(hours=2))
    site.hourly("printer/tcp", NOV + timedelta(days=3), NOV + timedelta(days=4),
                state=State.UNKNOWN, summary="no route to host")
    site.hourly("printer/tcp", NOV + timedelta(days=4), DEC + timedelta(hours=2))
    report = site.report()
    assert service(report, "web").unwatched_seconds == 0
    printing = service(report, "printing")
    assert printing.unwatched_seconds == 86400
    assert [g.reason for g in printing.measured.gaps] == ["no usable results: no route to "
                                                          "host"]
    assert report.stopped == []


def test_maintenance_excuses_unwatched_time_as_it_excuses_outages():
    site = Site()
    site.hourly("portal/tcp", NOV - timedelta(days=1), NOV + timedelta(days=7))
    window = (NOV + timedelta(days=7), NOV + timedelta(days=7, hours=3))
    site.store.add_maintenance(["portal"], [], "Dana", "patch night", *window, None,
                               NOV)
    site.hourly("portal/tcp", window[0], window[1], state=State.UNKNOWN,
                summary="rebooting")
    site.hourly("portal/tcp", window[1], DEC + timedelta(hours=2))
    assert service(site.report(), "web").unwatched_seconds == 0


def test_a_check_removed_from_the_configuration_is_not_blind_after_its_last_result():
    site = Site()
    site.hourly("portal/tcp", NOV - timedelta(days=1), DEC + timedelta(hours=2))
    site.hourly("printer/tcp", NOV - timedelta(days=1), NOV + timedelta(days=2))
    # the printer's tcp check is replaced by one that has not run yet
    site.config = parse_config(CLASS_CONFIG.replace("check: tcp, port: 9100",
                                                    "check: tcp, name: lpd, port: 515"),
                               "town.yaml", check_secrets=False)
    report = site.report()
    assert service(report, "printing").monitored_seconds == 30 * 86400
    assert service(report, "printing").unwatched_seconds == 0
    assert report.stopped == []


def test_a_check_that_stopped_reporting_is_blind_until_now_and_metrics_say_so():
    site = Site()
    site.hourly("portal/tcp", NOV - timedelta(days=1), NOV + timedelta(days=14, hours=1))
    now = NOV + timedelta(days=15)                # its last result: 14th 00:00
    snap = snapshot_from_store(site.store, site.config, now)
    blind = (now - (NOV + timedelta(days=14, hours=1))).total_seconds()
    assert snap.unmonitored_seconds["web"] == blind
    assert snap.stopped_seconds == blind          # nothing else ran: the monitoring is down
    web = service(site.report(now), "web")
    assert [g.reason for g in web.measured.gaps] == ["monitoring was not running"]
    assert web.verdict == "not proven"
    # a result on time is fresh: 1 h 59 min after the last one, nothing is blind yet
    fresh = NOV + timedelta(days=14, hours=1, minutes=59)
    assert snapshot_from_store(site.store, site.config, fresh).unmonitored_seconds["web"] == 0


def test_a_store_without_coverage_records_is_judged_as_before():
    """Months before coverage was recorded: no figure turns into 'not watched'."""
    site = Site()
    spec = site.specs["portal/tcp"]
    site.store.db.execute("INSERT INTO check_runs (target, check_name, started_at, duration, "
                          "state, summary) VALUES ('portal', 'tcp', ?, 0.1, 0, 'ok')",
                          [(NOV - timedelta(days=3)).isoformat()])
    assert spec.key == CheckKey("portal", "tcp")
    report = site.report()
    web = service(report, "web")
    assert web.unwatched_seconds == 0 and web.availability == 100.0 and web.verdict == "met"
    assert "watched" not in report.summary


def test_met_needs_the_month_watched_and_the_target_to_hold_if_every_gap_was_down():
    month = 30 * 86400.0
    start = NOV

    def avail(unwatched: float, outage: float) -> Availability:
        gaps = [(start, start + timedelta(seconds=unwatched))] if unwatched else []
        downs = [(DEC - timedelta(seconds=outage), DEC)] if outage else []
        return Availability(start, month, downs, gaps)

    assert avail(0, 0).verdict(99.9) == "met"
    assert avail(40 * 60, 0).verdict(99.9) == "met"              # 40 min: within 43 allowed
    assert avail(50 * 60, 0).verdict(99.9) == "not proven"       # could hide a miss
    assert avail(50 * 60, 0).verdict(99.0) == "met"
    assert avail(month * (100 - COVERAGE_NEEDED) / 100 + 60, 0).verdict(95.0) == "not proven"
    assert avail(60, 3 * 3600).verdict(99.9) == "missed"         # measured below the target
    assert avail(month, 0).verdict(99.9) == "not proven"         # never watched
    assert avail(month, 0).percent is None
    assert Availability(None, 0.0).verdict(99.9) is None         # not monitored yet


def test_the_weekly_digest_names_checks_that_do_not_know_now():
    """A hung check never pages and an UNKNOWN one may be held: the on-call digest lists
    both, and the monitoring's own downtime this week."""
    from muni_watchdog.reports.deliver import digest
    from muni_watchdog.reports.digest import render_digest_text

    site = Site()
    now = NOV + timedelta(days=20)
    site.hourly("portal/tcp", now - timedelta(days=9), now - timedelta(days=6))
    site.hourly("portal/tcp", now - timedelta(days=5), now - timedelta(hours=5))  # hung
    site.hourly("printer/tcp", now - timedelta(days=9), now - timedelta(days=6))
    site.hourly("printer/tcp", now - timedelta(days=5), now - timedelta(days=2))
    site.hourly("printer/tcp", now - timedelta(days=2), now + timedelta(minutes=1),
                state=State.UNKNOWN, summary="SNMP: no answer from 127.0.0.1")
    text = render_digest_text(digest(site.store, site.config, now))
    section = text.split("NOT WATCHED (NO FRESH RESULT THAT KNOWS)\n")[1].split("\n\n")[0]
    assert section.splitlines() == [
        # its last result at 18:00, the next was due at 19:00
        "- portal/tcp: no results since Nov 20, 19:00",
        "- printer/tcp: no usable results since Nov 19, 00:00: SNMP: no answer from 127.0.0.1",
        # neither check ran from Nov 15, 00:00 (due) to Nov 16, 00:00
        "- the monitoring itself was not running from Nov 15, 00:00 to Nov 16, 00:00 (24 "
        "hours)"]


def test_coverage_begins_without_a_false_gap_when_this_version_is_installed():
    """Checks that ran before coverage was recorded start recording one by one over their
    first interval after the upgrade: that spread is not a gap; a check that never reports
    after the upgrade is."""
    site = Site()
    for key in ("portal/tcp", "printer/tcp"):
        site.store.db.execute("INSERT INTO check_runs (target, check_name, started_at, "
                              "duration, state, summary) VALUES (?, ?, ?, 0.1, 0, 'ok')",
                              [*key.split("/"), (NOV - timedelta(days=30)).isoformat()])
    upgrade = NOV + timedelta(days=3)
    site.hourly("portal/tcp", upgrade, DEC + timedelta(hours=2))
    site.hourly("printer/tcp", upgrade + timedelta(minutes=50), NOV + timedelta(days=10))
    report = site.report()
    assert service(report, "web").unwatched_seconds == 0
    printing = service(report, "printing")
    last = NOV + timedelta(days=9, hours=23, minutes=50)
    assert printing.measured.unwatched == [(last + timedelta(hours=1), DEC)]
    assert [g.reason for g in printing.measured.gaps] == ["no results"]
