"""Pure alert policy: recurring windows, routing by hours, escalation and reminder timing."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.alerts.policy import (
    RecurrenceError,
    Window,
    escalation_due,
    group_ready,
    next_reminder,
    occurrence,
    parse_recurrence,
    suppression_reason,
)
from muni_watchdog.alerts.route import choose_channels, in_business_hours, waits_for_hours

UTC0 = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)  # a Sunday


@pytest.mark.parametrize("text, days, start, end", [
    ("sun 02:00-04:00", {"sun"}, "02:00", "04:00"),
    ("mon-fri 12:00-13:00", {"mon", "tue", "wed", "thu", "fri"}, "12:00", "13:00"),
    ("fri-mon 23:00-01:00", {"fri", "sat", "sun", "mon"}, "23:00", "01:00"),
    ("daily 01:00-02:00", {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "01:00", "02:00"),
    ("Mon,Wed 22:00-23:30", {"mon", "wed"}, "22:00", "23:30"),
])
def test_parse_recurrence(text, days, start, end):
    rec = parse_recurrence(text)
    assert (set(rec.days), rec.start, rec.end) == (days, start, end)


@pytest.mark.parametrize("text, message", [
    ("sunday", "is not a recurring window"),
    ("sun 02:00", "is not a recurring window"),
    ("funday 02:00-03:00", "unknown day 'funday'"),
    ("sun 02:00-02:00", "must not start and end at the same time"),
    ("sun 25:00-26:00", "is not a time of day"),
])
def test_parse_recurrence_errors(text, message):
    with pytest.raises(RecurrenceError, match=message):
        parse_recurrence(text)


def window(recurrence=None, starts=UTC0, ends=UTC0 + timedelta(days=30), **kw):
    return Window(1, frozenset(kw.get("targets", ())), frozenset(kw.get("services", ())),
                  starts, ends, parse_recurrence(recurrence) if recurrence else None,
                  "patch night", "Dana")


@pytest.mark.parametrize("moment, inside", [
    (datetime(2026, 11, 1, 1, 59, tzinfo=UTC), False),
    (datetime(2026, 11, 1, 2, 0, tzinfo=UTC), True),
    (datetime(2026, 11, 1, 3, 59, tzinfo=UTC), True),
    (datetime(2026, 11, 1, 4, 0, tzinfo=UTC), False),
    (datetime(2026, 11, 8, 2, 30, tzinfo=UTC), True),     # the next Sunday
    (datetime(2026, 11, 2, 2, 30, tzinfo=UTC), False),    # a Monday
])
def test_weekly_window(moment, inside):
    assert (occurrence(window("sun 02:00-04:00"), moment, "UTC") is not None) is inside


def test_window_crossing_midnight_and_in_local_time():
    w = window("sat 23:00-01:00")
    assert occurrence(w, datetime(2026, 11, 7, 23, 30, tzinfo=UTC), "UTC")
    assert occurrence(w, datetime(2026, 11, 8, 0, 30, tzinfo=UTC), "UTC")   # Sunday 00:30
    assert not occurrence(w, datetime(2026, 11, 8, 1, 30, tzinfo=UTC), "UTC")
    # 02:00-04:00 in Chicago (UTC-6 in November) is 08:00-10:00 UTC
    local = window("sun 02:00-04:00")
    assert occurrence(local, datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "America/Chicago")
    assert not occurrence(local, datetime(2026, 11, 1, 3, 0, tzinfo=UTC), "America/Chicago")


def test_one_off_window_and_its_period():
    w = window(None, UTC0, UTC0 + timedelta(hours=2))
    assert occurrence(w, UTC0 + timedelta(hours=1), "UTC") == (w.starts, w.ends)
    assert occurrence(w, UTC0 + timedelta(hours=2), "UTC") is None
    bounded = window("daily 01:00-02:00", ends=UTC0 + timedelta(days=1))
    assert occurrence(bounded, datetime(2026, 11, 2, 1, 30, tzinfo=UTC), "UTC") is None


def test_suppression_reasons_in_order():
    parents = {"printer": ["switch"], "switch": ["ups"]}
    now = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    w = window("sun 02:00-04:00", targets=["printer"])
    assert suppression_reason("printer", [], parents, {}, [w], [], "tcp", now, "UTC") == \
        "maintenance: patch night (Dana)"
    assert suppression_reason("printer", [], parents, {"ups": "on battery"}, [], [], "tcp",
                              now, "UTC") == "parent ups down"      # a grandparent counts
    risk = [("printer", "*", "old driver (Kim)", now + timedelta(days=1))]
    assert suppression_reason("printer", [], parents, {}, [], risk, "tcp", now, "UTC") == \
        "accepted risk: old driver (Kim)"
    expired = [("printer", "*", "old driver (Kim)", now - timedelta(seconds=1))]
    assert suppression_reason("printer", [], parents, {}, [], expired, "tcp", now, "UTC") is None
    other_check = [("printer", "snmp", "x", now + timedelta(days=1))]
    assert suppression_reason("printer", [], parents, {}, [], other_check, "tcp", now,
                              "UTC") is None


@dataclass
class Route:
    name: str
    priorities: list
    states: list
    hours: str
    channels: list


@dataclass
class Hours:
    days: list
    start: str = "08:00"
    end: str = "17:00"


ROUTES = [Route("p1", [1], ["warning", "critical", "unknown"], "any", ["sms", "teams"]),
          Route("day", [2, 3, 4], ["critical"], "business", ["email"]),
          Route("night", [2], ["critical"], "after_hours", ["sms"])]
HOURS = Hours(["mon", "tue", "wed", "thu", "fri"])


@pytest.mark.parametrize("priority, state, when, expected", [
    (1, "critical", datetime(2026, 11, 2, 3, 0), ["sms", "teams"]),     # Monday 03:00
    (2, "critical", datetime(2026, 11, 2, 10, 0), ["email"]),           # Monday 10:00
    (2, "critical", datetime(2026, 11, 2, 20, 0), ["sms"]),             # Monday 20:00
    (2, "critical", datetime(2026, 11, 1, 10, 0), ["sms"]),             # Sunday: after hours
    (4, "critical", datetime(2026, 11, 2, 20, 0), ["fallback"]),        # no route at night
    (3, "warning", datetime(2026, 11, 2, 10, 0), ["fallback"]),         # state not routed
    (2, "critical", datetime(2026, 11, 2, 17, 0), ["sms"]),             # 17:00 is after hours
])
def test_routing_by_priority_state_and_hours(priority, state, when, expected):
    assert choose_channels(ROUTES, priority, state, when, HOURS, ["fallback"]) == expected


def test_waiting_for_hours_is_not_a_missing_route():
    assert waits_for_hours(ROUTES, 4, "critical")
    assert not waits_for_hours(ROUTES, 3, "warning")
    assert in_business_hours(datetime(2026, 11, 2, 8, 0), HOURS)
    assert not in_business_hours(datetime(2026, 11, 2, 7, 59), HOURS)


def test_timers():
    t = UTC0
    assert next_reminder(t, 1) == t + timedelta(minutes=30)
    assert next_reminder(t, 3) == t + timedelta(hours=4)
    assert next_reminder(t, 4) == t + timedelta(days=1)
    assert not escalation_due(t, 3600, 0, t + timedelta(minutes=59))
    assert escalation_due(t, 3600, 0, t + timedelta(minutes=60))
    assert not escalation_due(t, 3600, 1, t + timedelta(minutes=90), steps=[3600])
    assert escalation_due(t, 3600, 1, t + timedelta(minutes=120), steps=[3600])
    assert not escalation_due(t, 3600, 2, t + timedelta(days=9), steps=[3600])
    assert group_ready(t, t, related_still_soft=False)
    assert not group_ready(t, t + timedelta(seconds=29), related_still_soft=True)
    assert group_ready(t, t + timedelta(seconds=30), related_still_soft=True)
