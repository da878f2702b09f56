"""Pure tests: the update cadence, the shared incident template, update routes, and drills
left out of availability and response-promise figures (but measured)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from muni_watchdog.alerts.cadence import (
    cadence_step,
    communication_timing,
    first_update_due,
    next_update_by,
)
from muni_watchdog.alerts.render import layout
from muni_watchdog.alerts.route import choose_channels, waits_for_hours
from muni_watchdog.alerts.updates import (
    DEGRADED,
    OPERATIONAL,
    UNAVAILABLE,
    PublicUpdate,
    headline,
    mark_drill,
    reminder_message,
    template_lines,
    update_message,
)
from muni_watchdog.config.communication import cadence_group, cadence_of
from muni_watchdog.core.exercise import drill_id_of, drill_target, is_drill
from muni_watchdog.reports.history import History, states_at
from muni_watchdog.reports.incidents import incident_lines, promise_kept
from muni_watchdog.reports.outages import down_intervals, service_availability, service_checks
from tests.comms_fixture import make_config

T0 = datetime(2026, 11, 24, 19, 22, tzinfo=UTC)      # 13:22 in Chicago
M = timedelta(minutes=1)


# -- cadence -----------------------------------------------------------------------------------

def test_the_first_update_is_due_one_cadence_after_the_on_call_was_told():
    assert first_update_due(T0, 1800) == T0 + 30 * M


@pytest.mark.parametrize("now, remind, missed, next_due", [
    (T0 + 29 * M, False, 0, T0 + 30 * M),        # not yet due
    (T0 + 30 * M, True, 1, T0 + 60 * M),         # due now: remind, one missed
    (T0 + 59 * M, True, 1, T0 + 60 * M),
    (T0 + 95 * M, True, 3, T0 + 120 * M),        # the daemon was down: every period counts
])
def test_a_due_update_not_posted_reminds_once_and_counts_each_period(now, remind, missed,
                                                                     next_due):
    step = cadence_step(T0 + 30 * M, now, 1800)
    assert (step.remind, step.missed, step.next_due) == (remind, missed, next_due)


def test_an_update_promises_the_next_one_cadence_on_unless_it_says_otherwise():
    assert next_update_by(T0, 1800, None) == T0 + 30 * M
    assert next_update_by(T0, 1800, T0 + 10 * M) == T0 + 10 * M
    assert next_update_by(T0, None, None) is None


def test_timing_replays_the_cadence_from_the_record():
    # told at T0; cadence 30 min: update 1 at +20 (on time, promises +50), update 2 at +65
    # (15 minutes late: one missed), closed at +200 with nothing more (due +95: 4 missed)
    timing = communication_timing(T0, [(T0 + 20 * M, None), (T0 + 65 * M, None)], 1800,
                                  T0 + 200 * M)
    assert timing.first_update_seconds == 20 * 60
    assert [u.on_time for u in timing.updates] == [True, False]
    assert timing.updates[1].late_seconds == 15 * 60
    assert timing.missed == 1 + 4
    assert timing.on_time == 1


def test_an_update_on_the_minute_it_is_due_is_on_time():
    timing = communication_timing(T0, [(T0 + 30 * M, None)], 1800, T0 + 40 * M)
    assert timing.updates[0].on_time and timing.missed == 0


def test_no_update_at_all_counts_every_period_until_the_end():
    timing = communication_timing(T0, [], 1800, T0 + 61 * M)
    assert timing.missed == 2 and timing.first_update_seconds is None


# -- the template ------------------------------------------------------------------------------

def update(**changes) -> PublicUpdate:
    fields = dict(site="Town of Example", timezone="America/Chicago",
                  service="Online utility payments",
                  impact="Residents cannot pay water and tax bills online.",
                  status=UNAVAILABLE, since=T0, at=T0 + 23 * M, number=1,
                  text="We are restarting the payment system.",
                  residents_can="Pay by phone at 555-0199.", next_update_by=T0 + 38 * M,
                  by="Dana")
    fields.update(changes)
    return PublicUpdate(**fields)


def test_the_template_has_its_five_fields_in_order():
    lines = template_lines(update())
    assert lines == [
        "What is affected: Online utility payments. Residents cannot pay water and tax bills "
        "online.",
        "Since: Tuesday, November 24, 13:22.",
        "What you can do meanwhile: Pay by phone at 555-0199.",
        "What is being done: We are restarting the payment system.",
        "Next update by 14:00."]


def test_the_headline_is_what_a_resident_reads():
    assert headline(update()) == "Online utility payments — unavailable since 13:22."
    assert headline(update(status=DEGRADED)) == "Online utility payments — degraded since 13:22."
    closing = update(status=OPERATIONAL, at=T0 + 50 * M, next_update_by=None)
    assert headline(closing) == ("Online utility payments — working again since 14:12 "
                                 "(affected since 13:22).")
    assert template_lines(closing)[-1] == "This is the last update about it."


def test_an_update_message_speaks_plainly_in_every_layout():
    message = update_message(update())
    assert message.title == "[Update 1] Online utility payments — unavailable since 13:22."
    for fmt in ("email", "text", "teams", "sms"):
        title, body, _ = layout(message, fmt)
        # what a reader sees: the email's HTML without its tags and styles ("background")
        text = title + " " + re.sub(r"<style.*?</style>|<[^>]+>", " ", body, flags=re.S)
        for internal in ("P1", "CRITICAL", "ack", "muni-watchdog ack", "target", "check"):
            assert not re.search(rf"\b{re.escape(internal)}\b", text, re.I), (fmt, internal)
    assert "Next update by 14:00" in layout(message, "sms")[1]


def test_a_drill_says_so_first_everywhere():
    marked = mark_drill(update_message(update()), 3, "payment portal down")
    assert marked.title.startswith("[DRILL] ")
    assert marked.lines[2].startswith("THIS IS A DRILL (drill 3: payment portal down)")
    assert layout(marked, "sms")[1].startswith("[DRILL] ")
    assert mark_drill(marked, 3, "x") == marked          # never twice
    assert update_message(update(drill="portal down")).title.startswith("[DRILL] ")


def test_the_reminder_gives_the_exact_command():
    message = reminder_message("Town", "UTC", 12, "Online utility payments", 1, T0, 2, 1800,
                               T0 + M)
    assert "[P1 UPDATE DUE]" in message.title
    assert any("muni-watchdog incident update 12 --text" in line for line in message.lines)
    assert "Missed updates for this incident so far: 2." in message.lines


# -- routes ------------------------------------------------------------------------------------

def route(name, kind="alert", **changes):
    fields = dict(name=name, kind=kind, priorities=[1, 2, 3, 4, 5],
                  states=["warning", "critical", "unknown"], hours="any", channels=[name])
    fields.update(changes)
    return SimpleNamespace(**fields)


HOURS = SimpleNamespace(days=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="17:00")


def test_update_routes_carry_updates_only_and_alert_routes_alerts_only():
    routes = [route("oncall"), route("comms", kind="update", priorities=[1, 2])]
    assert choose_channels(routes, 1, "critical", T0, HOURS) == ["oncall"]
    assert choose_channels(routes, 1, "critical", T0, HOURS, kind="update") == ["comms"]
    assert choose_channels(routes, 3, "critical", T0, HOURS, kind="update") == []
    # an update route limited to business hours never makes an alert wait for its hours
    routes = [route("comms", kind="update", hours="business")]
    assert not waits_for_hours(routes, 1, "critical")


# -- which incidents are held to a cadence -----------------------------------------------------

def incident(**changes) -> dict:
    row = dict(id=4, target="pay-zq7-portal", check_name="httpzz-main",
               services=json.dumps(["svc-payzq"]), priority=1, unavailable=1,
               next_update_due=None, status="open")
    row.update(changes)
    return row


def test_the_cadence_applies_to_outages_of_public_services_and_to_drills():
    config = make_config()
    assert cadence_of(config, incident()) == 1800
    assert cadence_of(config, incident(priority=2)) == 7200
    # a certificate expiring in ten days (CRITICAL, not an outage) is not news for residents
    assert cadence_of(config, incident(unavailable=0)) is None
    # ... unless the on-call began to tell them about it
    assert cadence_of(config, incident(unavailable=0, next_update_due="x")) == 1800
    # a service that is not public (priority 4, no impact text) has none
    hidden = incident(target="lib-zq-wifi", services=json.dumps(["svc-hiddenzq"]), priority=4)
    assert cadence_of(config, hidden) is None
    # a drill always has one, and its own group
    drill = incident(target=drill_target(7), check_name="exercise", unavailable=1)
    assert cadence_of(config, drill) == 1800
    assert cadence_group(config, drill) == "drill:7"
    assert cadence_group(config, incident()) == "svc-payzq"


# -- drills: left out of the figures -----------------------------------------------------------

def test_drill_targets_are_recognised():
    assert is_drill("drill:3") and drill_id_of("drill:3") == 3
    assert not is_drill("pay-zq7-portal") and drill_id_of("pay-zq7-portal") is None


def event(target, check, kind, state, at, since=None, unavailable=1):
    return dict(target=target, check_name=check, kind=kind, state=state, previous_state=0,
                at=at.isoformat(), since=(since or at).isoformat(), unavailable=unavailable,
                services=json.dumps(["svc-payzq"]), summary="")


def test_a_drill_never_counts_as_an_outage_or_as_a_check_of_its_service():
    config = make_config()
    service = config.service_by_id["svc-payzq"]
    real = [event("pay-zq7-portal", "httpzz-main", "problem", 2, T0 + 10 * M),
            event("pay-zq7-portal", "httpzz-main", "recovery", 0, T0 + 20 * M)]
    drill = [event("drill:1", "exercise", "problem", 2, T0),
             event("drill:1", "exercise", "recovery", 0, T0 + 60 * M)]
    down = down_intervals(real + drill, T0 + 90 * M, config)
    assert list(down) == [("pay-zq7-portal", "httpzz-main")]
    history = History(events=real + drill, seen=[
        dict(target="pay-zq7-portal", check_name="httpzz-main",
             first_run=(T0 - 60 * M).isoformat(), last_run=(T0 + 90 * M).isoformat())])
    assert ("drill:1", "exercise") not in service_checks(history, service)
    measured = service_availability(history, config, service, T0 - 60 * M, T0 + 90 * M, [])
    assert measured.outage_seconds == 10 * 60          # the real ten minutes, not the drill
    assert ("drill:1", "exercise") not in states_at(drill, T0 + 30 * M)


def test_a_drill_is_left_out_of_response_promises():
    config = make_config()
    service = config.service_by_id["svc-payzq"]
    late = T0 + timedelta(hours=3)      # acknowledged 3 hours after the alert
    rows = [dict(id=1, target="drill:1", check_name="exercise", services='["svc-payzq"]',
                 opened_at=T0.isoformat(), resolved_at=(T0 + 4 * 60 * M).isoformat(),
                 first_notified_at=T0.isoformat(), acked_at=late.isoformat(),
                 acked_by="Dana", summary="drill", suppressed_reason=None),
            dict(id=2, target="pay-zq7-portal", check_name="httpzz-main",
                 services='["svc-payzq"]', opened_at=T0.isoformat(),
                 resolved_at=(T0 + 10 * M).isoformat(), first_notified_at=T0.isoformat(),
                 acked_at=(T0 + 5 * M).isoformat(), acked_by="Dana", summary="503",
                 suppressed_reason=None)]
    lines = incident_lines(History(incidents=rows), config, service, T0 - M, T0 + 600 * M)
    assert [line.id for line in lines] == [2]
    # the drill itself is still measured with the same rule
    assert promise_kept(T0, late, None, service.effective_response_sla, T0) is False
