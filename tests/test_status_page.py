"""The residents' status page: its statuses and 90 days from the monthly report's outage rule,
announced maintenance, the static export (atomic files, the CLI, the daemon's schedule), and
never an internal name — every one the configuration and the history hold is grepped for."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from muni_watchdog.alerting.communication import post_update
from muni_watchdog.cli.main import main
from muni_watchdog.core.model import State
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.status_page_job import StatusPageExport
from muni_watchdog.reports.history import load_history
from muni_watchdog.reports.monthly import build_monthly_report
from muni_watchdog.reports.outages import service_availability
from muni_watchdog.reports.status_export import export_status_page, load_status_page
from muni_watchdog.reports.status_render import render_status_html, render_status_json
from muni_watchdog.store.database import Store
from tests.comms_fixture import KEYS, NOW, build_town, leaked, make_config, simulate

PORTAL, DB = KEYS[0], KEYS[2]


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    root = tmp_path_factory.mktemp("town")
    return root, build_town(root)


def open_store(town):
    return Store.open(town[0] / "state")


def page_of(town):
    store = open_store(town)
    try:
        return load_status_page(store, town[1], NOW)
    finally:
        store.close()


def test_an_outage_now_reads_in_plain_words_with_the_update_and_the_next_one(town):
    payments = page_of(town).services[0]
    assert payments.name == "Online utility payments"
    assert payments.status == "unavailable"
    # checked hourly in this history: the first failed result came at 06:00 (12:00 UTC); the
    # update posted at 07:30 promised the next one a cadence (30 minutes) later
    assert payments.sentence == ("Online utility payments — unavailable since 06:00. We are "
                                 "working on it. Next update by 08:00.")
    update = payments.updates[0]
    assert update.text == "We are restarting the payment system with the vendor."
    assert update.residents_can.startswith("Pay by phone")


def test_the_90_days_come_from_the_monthly_reports_outage_rule(town):
    page = page_of(town)
    payments = page.services[0]
    assert len(payments.days) == 90
    # monitored from Nov 4, 00:00 UTC (Nov 3 in Chicago): 22 local days with data
    assert [d.state for d in payments.days[:68]] == ["none"] * 68
    assert payments.days[68].state == "up"
    down_days = [d for d in payments.days if d.state == "down"]
    assert len(down_days) == 2                                    # twelve days ago, and today
    # the same computation as the monthly report, over the same span
    store = open_store(town)
    try:
        history = load_history(store, NOW - timedelta(days=91), NOW)
    finally:
        store.close()
    service = town[1].service_by_id["svc-payzq"]
    start = payments.days[0].day
    from datetime import datetime
    from zoneinfo import ZoneInfo
    since = datetime(start.year, start.month, start.day, tzinfo=ZoneInfo("America/Chicago"))
    measured = service_availability(history, town[1], service, since, NOW, [])
    assert sum(d.outage_seconds for d in payments.days) == measured.outage_seconds
    assert sum(d.unwatched_seconds for d in payments.days) == measured.unwatched_seconds
    month = build_monthly_report(history, town[1], 2026, 11, NOW).services[0]
    assert month.outage_seconds == measured.outage_seconds        # November holds all of it


def test_time_not_watched_is_shown_as_such_never_as_fine(town):
    payments = page_of(town).services[0]
    blind = [d for d in payments.days if d.unwatched_seconds]
    assert blind and all(d.state in ("unwatched", "partly") for d in blind)
    assert any(d.state == "unwatched" for d in blind)     # a day watched less than half
    assert all("not watched for" in d.words for d in blind)
    assert "not watched for" in payments.summary


def test_announced_maintenance_shows_ahead_and_while_it_runs_but_internal_windows_do_not(town):
    page = page_of(town)
    permits = page.services[1]
    assert permits.status == "under maintenance"
    assert permits.sentence.startswith("Building permits — under maintenance until 08:40.")
    assert "Permit applications are paused" in permits.sentence
    # each says when it really begins, not "now"
    assert page.announcements[0].start == NOW - timedelta(minutes=30)
    texts = [(a.services, a.text, a.active) for a in page.announcements]
    assert texts == [
        (["Building permits"], "Permit applications are paused while we upgrade the permit "
         "system.", True),
        (["Online utility payments"], "Online payments will be unavailable for an upgrade.",
         False)]
    assert page.overall == "Some services have problems: Online utility payments."


def test_a_service_not_public_is_not_on_the_page(town):
    assert [s.name for s in page_of(town).services] == ["Online utility payments",
                                                         "Building permits"]


def all_exported_text(folder: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()))


def test_no_internal_name_leaks_into_the_exported_files(town, tmp_path):
    store = open_store(town)
    try:
        written = export_status_page(store, town[1], tmp_path / "www", NOW)
        # the history really holds the internal names the page must leave out
        summaries = " ".join(i["summary"] for i in store.incidents(None))
        assert "paygw-qx41.corp.internal" in summaries
    finally:
        store.close()
    assert [p.name for p in written] == ["index.html", "status.json"]
    text = all_exported_text(tmp_path / "www").lower()
    assert leaked(text) == []
    # and what residents need is there
    for phrase in ("Online utility payments", "Pay by phone at 555-0199",
                   "Questions? Call Town Hall at 555-0100."):
        assert phrase.lower() in text


def test_the_export_is_two_whole_files_replaced_atomically(town, tmp_path):
    folder = tmp_path / "www"
    store = open_store(town)
    umask = os.umask(0o077)            # as the hardened unit runs
    try:
        export_status_page(store, town[1], folder, NOW)
        before = {p.name: p.stat().st_ino for p in folder.iterdir()}
        with (folder / "index.html").open(encoding="utf-8") as reader:   # a web server mid-read
            export_status_page(store, town[1], folder, NOW + timedelta(minutes=1))
            old = reader.read()
    finally:
        os.umask(umask)
        store.close()
    assert folder.stat().st_mode & 0o777 == 0o755              # a web server may list it
    assert old.rstrip().endswith("</html>")            # the old file stayed whole
    after = {p.name: p.stat().st_ino for p in folder.iterdir()}
    assert sorted(after) == ["index.html", "status.json"]      # no temporary file left
    assert all(after[name] != before[name] for name in after)  # renamed over, not rewritten
    for path in folder.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644             # the web server can read it
    data = json.loads((folder / "status.json").read_text())
    assert data["services"][0]["status"] == "unavailable"
    assert len(data["services"][0]["days"]) == 90
    html = (folder / "index.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html.lower()


def test_the_page_is_autoescaped(town):
    page = page_of(town)
    from dataclasses import replace
    evil = replace(page, contact="<script>alert(1)</script> & more")
    html = render_status_html(evil)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert json.loads(render_status_json(evil))["contact"] == evil.contact


def test_the_command_line_exports_the_page(town, tmp_path, capsys):
    root, _ = town
    code = main(["status-page", "export", str(tmp_path / "out"), "-c", str(root / "town.yaml"),
                 "--state-dir", str(root / "state")])
    assert code == 0
    assert "index.html" in capsys.readouterr().out
    assert "Online utility payments" in (tmp_path / "out" / "index.html").read_text()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    code = main(["status-page", "export", str(blocked), "-c", str(root / "town.yaml"),
                 "--state-dir", str(root / "state")])
    assert code == 1
    assert "cannot write the status page" in capsys.readouterr().err


# -- statuses set by what the on-call says, and by what the monitor does not know -------------

@pytest.fixture
def small(tmp_path):
    return make_config(), Store.open(tmp_path / "state")


def test_degraded_is_what_the_on_call_says_of_a_problem_that_is_not_an_outage(small):
    config, store = small
    slow = lambda key, m: State.WARNING if key == PORTAL and m >= NOW - timedelta(hours=2) \
        else State.OK  # noqa: E731
    simulate(store, config, NOW - timedelta(days=1), NOW, 3600, slow, keys=[PORTAL, DB])
    page = load_status_page(store, config, NOW)
    assert page.services[0].status == "operational"      # a warning alone is not news
    incident = store.incidents("open")[0]
    post_update(config, store, incident["id"], "Dana", "Payments are slow; they do go through.",
                "", None, NOW, status="degraded")
    payments = load_status_page(store, config, NOW).services[0]
    assert payments.status == "degraded"
    assert payments.sentence.startswith("Online utility payments — degraded since")


def test_a_service_the_monitor_cannot_see_now_is_not_known_not_fine(small):
    config, store = small
    blind = lambda key, m: State.UNKNOWN if key == DB and m >= NOW - timedelta(hours=3) \
        else State.OK  # noqa: E731
    simulate(store, config, NOW - timedelta(days=1), NOW, 3600, blind, keys=[PORTAL, DB])
    permits = load_status_page(store, config, NOW).services[1]
    assert permits.status == "not known right now"
    assert "we cannot confirm its status right now" in permits.sentence


# -- the daemon writes it on its schedule -----------------------------------------------------

@pytest.mark.integration
def test_the_daemon_exports_the_page_on_its_schedule(tmp_path, http_server):
    folder = tmp_path / "public"
    path = tmp_path / "town.yaml"
    path.write_text(f"""\
site: {{name: Testville, timezone: UTC}}
services:
  - id: web
    name: Town website
    priority: 1
    impact: Meeting notices cannot be read.
    rto: 4h
    rpo: 24h
    owner: {{name: Jane Hidden-Owner, contact: jane@town.example}}
    backup_owner: {{name: Bob Tech, contact: bob@msp.example}}
    targets: [web-zq-internal]
targets:
  - id: web-zq-internal
    kind: http
    host: 127.0.0.1
    checks: [{{check: http, url: "{http_server.url}", interval: 1s}}]
reports:
  status_page: {{export_dir: {folder}, every: 1s}}
""")
    daemon = Daemon(path, tmp_path / "state", jobs=[StatusPageExport()])

    async def scenario():
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            index = folder / "index.html"
            if index.exists() and "Town website — operational." in index.read_text():
                return index.read_text()
            await asyncio.sleep(0.2)
        raise AssertionError("the daemon did not write the status page")

    async def run():
        task = asyncio.ensure_future(daemon.run())
        while daemon.scheduler is None or not daemon.scheduler.running:
            await asyncio.sleep(0.05)
        try:
            return await scenario()
        finally:
            daemon.stopping.set()
            assert await task == 0

    html = asyncio.run(run())
    assert "web-zq-internal" not in html and "Hidden-Owner" not in html
    assert os.path.exists(folder / "status.json")
