"""The monthly report's numbers from a history with known answers (tests/report_fixture.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from muni_watchdog.reports.deliver import monthly_report
from muni_watchdog.reports.history import maintenance_occurrences, subtract, union
from tests.report_fixture import NOW, build, make_config


@pytest.fixture
def report(tmp_path):
    store = build(tmp_path)
    return monthly_report(store, make_config(), 2026, 11, NOW)


def test_availability_counts_month_end_overlap_once_and_excludes_maintenance(report):
    email = report.services[0]
    assert email.id == "email"
    # 30 min after midnight Nov 1 + 50 min on the 12th; the 60 min in maintenance excluded
    assert email.outage_seconds == 80 * 60
    assert email.monitored_seconds == 30 * 86400
    assert email.availability == pytest.approx(100 * (1 - 80 / 43200))
    assert email.target_percent == 99.9 and email.met_target is False


def test_partial_month_is_judged_over_the_monitored_part(report):
    pay = report.services[1]
    assert pay.monitored_seconds == 15 * 86400      # from Nov 16
    assert pay.outage_seconds == 0 and pay.availability == 100.0
    assert pay.target_percent == 99.5 and pay.met_target


def test_incident_response_against_promise(report):
    [incident] = report.services[0].incidents
    assert incident.acknowledge_seconds == 19 * 60 and incident.promise_kept is True
    assert incident.recover_seconds == 50 * 60
    [open_one] = report.services[1].incidents
    assert open_one.promise_kept is False   # P2 4h promise, never acknowledged, month ended


def test_restore_failed_then_passed_drill_measured_and_coverage(report):
    backups = report.services[0].backups
    assert [t.verdict for t in backups.tests] == ["critical", "ok", "ok"]
    assert backups.run == 3 and backups.passed == 2
    assert backups.worst_age_seconds == 5 * 3600
    assert backups.restore_estimate_seconds == 2400 and backups.restore_measured
    # subsets 4/12 (Oct), 2/12, 3/12 read cleanly this quarter; 1/12 had errors
    assert backups.coverage == {"mail-backup": pytest.approx(3 / 12)}
    assert report.services[1].backups.configured == []


def test_patching_exceptions_and_maintenance(report):
    email, pay = report.services
    assert email.patches.overdue == [("mail", "openssl", 10.0)]
    assert email.patches.reboots == [("mail", "/run/reboot-required")]
    assert pay.patches.hosts == 0
    assert [x["reason"] for x in pay.exceptions] == ["vendor upgrade scheduled"]
    assert [m[3] for m in email.maintenance] == ["patch night"]


def test_trends_and_changes(report):
    [restore_rate, latency] = report.leading
    [outage] = report.trailing
    assert [p.month for p in outage.points] == ["2026-06", "2026-07", "2026-08", "2026-09",
                                                 "2026-10", "2026-11"]
    assert [p.value for p in outage.points] == [None, None, None, None, 30.0, 80.0]
    assert restore_rate.points[-2].value == 100.0
    assert restore_rate.current == pytest.approx(66.7)
    assert latency.current == 10.0
    assert report.changes.new_problems == ["pay (website)"]
    assert report.changes.fixed_problems == ["mail (website)"]


def test_summary_speaks_plainly(report):
    text = report.summary
    assert "Email was down for 1 hour 20 minutes (2 times)" in text
    assert "Below its availability target: Email." in text
    assert "1 accepted risk is open" in text
    assert "not answered within the promised time" in text


def test_no_data_is_said_not_invented(tmp_path):
    from muni_watchdog.store.database import Store
    store = Store.open(tmp_path / "empty")
    report = monthly_report(store, make_config(), 2026, 11, NOW)
    assert all(s.availability is None for s in report.services)
    assert "no data yet" in __import__("muni_watchdog.reports.render", fromlist=["x"]) \
        .render_monthly_text(report)
    assert "Monitoring had not started" in report.summary
    assert all(p.value is None for p in report.trailing[0].points)


def test_interval_helpers_and_recurring_maintenance():
    d = lambda h: datetime(2026, 11, 1, h, tzinfo=UTC)  # noqa: E731
    assert union([(d(1), d(3)), (d(2), d(4)), (d(6), d(7))]) == [(d(1), d(4)), (d(6), d(7))]
    assert subtract([(d(1), d(5))], [(d(2), d(3))]) == [(d(1), d(2)), (d(3), d(5))]
    rows = [{"scope": "{}", "starts_at": "2026-10-01T00:00:00+00:00",
             "ends_at": "2027-01-01T00:00:00+00:00", "ended_at": None,
             "recurrence": "sun 02:00-04:00", "owner": "Dana", "reason": "patch night"}]
    found = maintenance_occurrences(rows, datetime(2026, 11, 1, tzinfo=UTC),
                                    datetime(2026, 12, 1, tzinfo=UTC), "UTC")
    assert [o.start.day for o in found] == [1, 8, 15, 22, 29]
    assert all((o.end - o.start).total_seconds() == 7200 for o in found)


def test_a_short_outage_is_named_in_the_paragraph_and_never_shown_as_100_percent(tmp_path):
    """Issue 10: Payments at 63.3 % (target 99.5 %, missed) while the paragraph said "No
    service had an outage" — outages under 60 s were skipped in the paragraph only."""
    from muni_watchdog.reports.render import render_monthly_text
    from muni_watchdog.store.database import Store
    from tests.report_fixture import event, run

    store = Store.open(tmp_path / "short")
    # payments monitored for the last 2 minutes of the month; down 44 s of them
    run(store, "pay", "http", "2026-11-30T23:58:00", ["payments"])
    event(store, "pay", "http", "problem", 2, "2026-11-30T23:58:30", "2026-11-30T23:58:40",
          ["payments"])
    event(store, "pay", "http", "recovery", 0, "2026-11-30T23:58:30", "2026-11-30T23:59:14",
          ["payments"])
    # email monitored all month, one 1-second outage
    run(store, "mail", "tcp", "2026-10-01T00:00:00", ["email"])
    event(store, "mail", "tcp", "problem", 2, "2026-11-05T10:00:00", "2026-11-05T10:00:00",
          ["email"])
    event(store, "mail", "tcp", "recovery", 0, "2026-11-05T10:00:00", "2026-11-05T10:00:01",
          ["email"])
    report = monthly_report(store, make_config(), 2026, 11, NOW)
    email, pay = report.services
    assert pay.outage_seconds == 44 and pay.availability == pytest.approx(100 * (1 - 44 / 120))
    assert pay.met_target is False
    assert email.outage_seconds == 1 and email.met_target
    assert "No service had an outage" not in report.summary
    assert "Payment portal was down for under a minute (the 30th)" in report.summary
    assert "Email was down for under a minute (the 5th)" in report.summary
    assert "Below its availability target: Payment portal." in report.summary
    text = render_monthly_text(report)
    assert "Availability: 63.333 % (target 99.5 %, missed)" in text
    # 1 s in 30 days is 99.99996 %: shown as 99.999 %, never 100 % beside an outage
    assert "Availability: 99.999 % (target 99.9 %, met); outage: under a minute" in text
    [trend] = report.trailing
    assert trend.points[-1].value == pytest.approx(45 / 60)
    assert trend.points[-1].text == "under 1 minute"      # not "0 minutes" (was round(.., 1))


def test_pending_security_updates_are_counted_with_their_age(tmp_path):
    """Issue 10: "Oldest security update waiting: 0 days" next to "88 security updates
    pending". The report and its trend now say both, the same way."""
    from muni_watchdog.reports.render import render_monthly_html, render_monthly_text
    from muni_watchdog.store.database import Store
    from tests.report_fixture import run, state_row

    store = Store.open(tmp_path / "patches")
    run(store, "mail", "tcp", "2026-10-01T00:00:00", ["email"])
    items = [{"kind": "package", "name": f"lib{i}", "security": True, "pending_days": 0.2}
             for i in range(88)]
    items.append({"kind": "package", "name": "phased", "security": True, "phased": True,
                  "pending_days": 30.0})           # not offered yet: not waiting on anyone
    state_row(store, "mail", "patches", items, ["email"])
    report = monthly_report(store, make_config(), 2026, 11, NOW)
    text = render_monthly_text(report)
    assert "Patching: 88 security updates pending, the oldest waiting less than a day; none " \
        "over the 3-day patch policy." in text
    [_, latency] = report.leading
    assert latency.points[-1].text == "88 pending, oldest less than a day"
    assert not re.search(r"\b0 days", text + render_monthly_html(report))


def test_repository_checks_run_apart_count_and_damage_is_told(tmp_path):
    """Checks on their own schedule (kind repository_check) are not restore tests, but the
    quarter's coverage counts what they read clean and leadership is told of damage found."""
    from muni_watchdog.reports.render import render_monthly_text
    from tests.report_fixture import t
    store = build(tmp_path)
    for at, subset, errors in (("2026-11-20T05:00:00", "5/12", 0),
                               ("2026-11-26T05:00:00", "6/12", 2)):
        store.record_restore_test(dict(
            backup="mail-backup", service="email", started_at=t(at), kind="repository_check",
            integrity_subset=subset, integrity_errors=errors, duration=30,
            verdict=2 if errors else 0, summary="repository check"), None)
    report = monthly_report(store, make_config(), 2026, 11, NOW)
    backups = report.services[0].backups
    assert backups.run == 3 and backups.passed == 2     # the restore tests alone
    # 4/12 (Oct), 2/12 and 3/12 in tests, 5/12 apart read clean; 1/12 and 6/12 had errors
    assert backups.coverage == {"mail-backup": pytest.approx(4 / 12)}
    assert [c.integrity_errors for c in backups.damage_found] == [1, 2]
    text = render_monthly_text(report)
    assert "3 restore tests run, 2 passed" in text
    assert re.search(r"Repository mail-backup: the check on [^.]*26[^.]* found damaged stored "
                     r"data \(2 errors\)", text), text
    assert "Repository mail-backup: 33 % of the stored data re-read and verified" in text
