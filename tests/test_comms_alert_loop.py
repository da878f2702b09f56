"""The alert loop's part of incident communication, with an injected clock: reminders when a
public update is due (one per service, counted), the closing update, post-incident drafts;
and the commands' refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from muni_watchdog.alerting.comms_times import pair_follow_ups, parse_due, parse_next
from muni_watchdog.alerting.communication import UpdateError, post_update, write_review
from muni_watchdog.alerting.drills import Change, DrillError, end_drill, mark_step, start_drill
from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.cli.common import WhenError
from muni_watchdog.cli.main import main
from muni_watchdog.core.model import State
from muni_watchdog.reports.postincident import load_post_incident
from muni_watchdog.store.database import Store
from tests.comms_fixture import KEYS, NOW, config_text, make_config, simulate

PORTAL, PROBE, DB, JUMP, WIFI = KEYS
M = timedelta(minutes=1)
DOWN = NOW - 60 * M


class Loop:
    """The alert processor on a store, with a clock the test moves."""

    def __init__(self, config, store):
        self.config, self.store = config, store
        self.now = NOW
        self.processor = AlertProcessor(config, store, lambda: self.now)

    def at(self, moment) -> list[dict]:
        """Run a pass at ``moment``; the outbox rows it wrote."""
        self.now = moment
        before = len(self.store.notifications())
        self.processor.process()
        return self.store.notifications()[before:]


def outage(keys, until=None):
    def state(key, moment):
        return State.CRITICAL if key in keys and moment >= DOWN and (
            until is None or moment < until) else State.OK
    return state


@pytest.fixture
def town():
    config = make_config()
    store = Store.memory()
    return config, store, Loop(config, store)


def told(store, incident_id):
    return store.incident(incident_id)["first_notified_at"]


def test_a_due_update_reminds_the_on_call_once_per_service_and_is_counted(town):
    config, store, loop = town
    simulate(store, config, NOW - 2 * 60 * M, DOWN + 2 * M, 60, outage({PORTAL, PROBE}),
             keys=[PORTAL, PROBE])
    incidents = store.incidents("open")
    assert len(incidents) == 2                         # the portal's two checks, one service
    first = min(i["id"] for i in incidents)
    notified = min(store.incident(i["id"])["first_notified_at"] for i in incidents)
    from datetime import datetime
    due = datetime.fromisoformat(notified) + 30 * M
    def update_reminders(rows):
        return [r for r in rows if r["kind"] == "update-reminder"]

    assert update_reminders(loop.at(due - M)) == []
    reminders = update_reminders(loop.at(due))       # (the unacknowledged P1's own too)
    assert len(reminders) == 1                       # one, for the service
    assert json.loads(reminders[0]["incident_ids"]) == [first]
    assert "UPDATE DUE" in reminders[0]["title"]
    assert update_reminders(loop.at(due + M)) == []                # once, not every pass
    assert store.incident(first)["missed_updates"] == 1
    # an update moves the due time of every open incident of the service
    post_update(config, store, first, "Dana", "Restarting it.", "", None, due + 10 * M)
    assert {store.incident(i["id"])["next_update_due"] for i in incidents} == {
        (due + 40 * M).isoformat(timespec="milliseconds")}
    assert update_reminders(loop.at(due + 39 * M)) == []
    again = update_reminders(loop.at(due + 41 * M))       # now to the backup owner too
    assert {tuple(json.loads(r["incident_ids"])) for r in again} == {(first,)}
    assert store.incident(first)["missed_updates"] == 2


def test_no_cadence_for_a_service_residents_do_not_see(town):
    config, store, loop = town
    simulate(store, config, NOW - 2 * 60 * M, NOW, 60, outage({WIFI}), keys=[WIFI])
    assert store.incidents("open")[0]["priority"] == 4
    assert [r for r in loop.at(NOW + 5 * 60 * M) if r["kind"] == "update-reminder"] == []


def test_the_closing_update_waits_for_the_services_last_incident(town):
    config, store, loop = town
    simulate(store, config, NOW - 2 * 60 * M, NOW, 60, outage({PORTAL, PROBE}),
             keys=[PORTAL, PROBE])
    http = next(i for i in store.incidents("open") if i["check_name"] == "httpzz-main")
    post_update(config, store, http["id"], "Dana", "Restarting it.", "", None, NOW)
    # the http check recovers, the probe does not: the service is still affected
    simulate(store, config, NOW + M, NOW + 3 * M, 60, outage({PROBE}), keys=[PORTAL, PROBE])
    assert store.incident(http["id"])["status"] == "resolved"
    assert [u["kind"] for u in store.updates(http["id"])] == ["update"]
    simulate(store, config, NOW + 4 * M, NOW + 6 * M, 60, outage(set()), keys=[PORTAL, PROBE])
    closing = store.updates(http["id"])[-1]
    assert closing["kind"] == "resolved" and closing["status"] == "operational"
    assert json.loads(closing["channels"]) == ["comms-zx"]
    assert [n["kind"] for n in store.notifications() if n["channel"] == "comms-zx"] == [
        "update", "resolved"]


def test_a_closed_p1_or_p2_incident_gets_its_review_drafted_and_no_other(town):
    config, store, loop = town
    simulate(store, config, NOW - 2 * 60 * M, NOW, 60, outage({PORTAL, WIFI}, until=NOW - M),
             keys=[PORTAL, WIFI])
    drill, incident = start_drill(config, store, "svc-payzq", "portal down", "Dana", NOW)
    loop.at(NOW + M)
    mark_step(store, drill, "portal back", "Dana", True, NOW + 2 * M)
    loop.at(NOW + 3 * M)
    reviewed = {r["incident_id"] for r in store.reviews()}
    priorities = {store.incident(i)["priority"] for i in reviewed}
    assert priorities == {1}                       # the P4 wifi incident is not reviewed
    assert incident not in reviewed                # a drill has its own form
    report = load_post_incident(store, config, min(reviewed), NOW + 3 * M)
    assert report.recover_seconds is not None and report.within_rto
    assert report.promise_kept is True             # recovered within the hour, unacknowledged
    assert [e.what for e in report.timeline] == ["First failed result", "Alert sent",
                                                 "Recovered", "All-clear sent"]


def test_the_commands_refuse_what_cannot_be_done(town):
    config, store, loop = town
    simulate(store, config, NOW - 10 * M, NOW, 60, outage({PORTAL}, until=NOW - 2 * M),
             keys=[PORTAL])
    closed = store.incidents(None)[0]["id"]
    with pytest.raises(UpdateError, match="is resolved"):
        post_update(config, store, closed, "Dana", "x", "", None, NOW)
    with pytest.raises(UpdateError, match="no incident 99"):
        post_update(config, store, 99, "Dana", "x", "", None, NOW)
    with pytest.raises(UpdateError, match="each follow-up needs"):
        write_review(store, closed, "Dana", "cause", [(" ", "Sam", NOW)], NOW)
    with pytest.raises(DrillError, match="no service 'nope'"):
        start_drill(config, store, "nope", "x", "Dana", NOW)
    drill, _ = start_drill(config, store, "svc-payzq", "portal down", "Dana", NOW)
    with pytest.raises(UpdateError, match="is a drill"):
        write_review(store, store.drill(drill)["incident_id"], "Dana", "c", [], NOW)
    notes = end_drill(store, drill, "Dana", "quick", [Change("A runbook", "Sam", NOW)], NOW)
    assert any("2 measurable changes; 1 recorded" in n for n in notes)
    assert any("time to recover is not measured" in n for n in notes)
    with pytest.raises(DrillError, match="ended at"):
        mark_step(store, drill, "late", "Dana", False, NOW)
    _, running = start_drill(config, store, "svc-payzq", "again", "Dana", NOW)
    with pytest.raises(UpdateError, match="a time still to come"):
        post_update(config, store, running, "Dana", "x", "", NOW - M, NOW)
    with pytest.raises(UpdateError, match="status 'fine'"):
        post_update(config, store, running, "Dana", "x", "", None, NOW, status="fine")


def test_the_command_line_reads_times_as_people_write_them():
    tz = "America/Chicago"
    assert parse_next("30m", tz, NOW) == NOW + 30 * M
    assert parse_next("08:00", tz, NOW) == NOW + 20 * M                 # 07:40 now, site time
    assert parse_next("07:00", tz, NOW) == NOW + timedelta(hours=23, minutes=20)  # tomorrow
    due = parse_due("2026-12-15", tz, NOW)
    assert due.isoformat() == "2026-12-15T23:59:59-06:00"               # the whole day
    pairs = pair_follow_ups(["a", "b"], ["Sam"], ["+7d", "+14d"], tz, NOW)
    assert [(t, o) for t, o, _ in pairs] == [("a", "Sam"), ("b", "Sam")]
    with pytest.raises(WhenError, match="one --owner for all"):
        pair_follow_ups(["a", "b", "c"], ["Sam", "Lee"], ["+7d"], tz, NOW)
    with pytest.raises(WhenError, match="belong to a --follow-up"):
        pair_follow_ups([], ["Sam"], [], tz, NOW)


def test_an_update_can_be_previewed_without_sending(tmp_path, capsys):
    config = make_config()
    (tmp_path / "town.yaml").write_text(config_text())
    store = Store.open(tmp_path / "state")
    simulate(store, config, NOW - 10 * M, NOW, 60, outage({PORTAL}), keys=[PORTAL])
    store.close()
    code = main(["incident", "update", "1", "--text", "Restarting the portal.", "--dry-run",
                 "-c", str(tmp_path / "town.yaml"), "--state-dir", str(tmp_path / "state")])
    out = capsys.readouterr().out
    assert code == 0 and "What is being done: Restarting the portal." in out
    store = Store.open(tmp_path / "state")
    assert store.updates(1) == [] and all(n["kind"] != "update" for n in store.notifications())


def test_a_running_drill_is_not_an_open_incident_for_the_msps_monitoring(town):
    from muni_watchdog.reports.metrics import snapshot_from_store
    config, store, loop = town
    simulate(store, config, NOW - 10 * M, NOW, 60, outage({PORTAL}), keys=[PORTAL])
    start_drill(config, store, "svc-payzq", "portal down", "Dana", NOW)
    assert len(store.incidents("open")) == 2
    assert snapshot_from_store(store, config).open_incidents == 1
