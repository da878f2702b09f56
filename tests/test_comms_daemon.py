"""Incident communication and drills end to end: the daemon on an event loop, the real alert
loop and outbox, an aiosmtpd server capturing every email, and the command line as the on-call
and the owner use it.

A drill of the payment portal: paged as [DRILL], escalated to the backup owner, an update
reminder when none was posted in time, acknowledged, updated, steps marked, the all-clear and
the closing update, ended with two changes — and measured, while availability and response
figures leave it out. A real outage: the update reaches the communications officer in plain
words and the status page, the closing update follows the recovery, the post-incident report
is drafted and completed."""

from __future__ import annotations

import asyncio
import email.message
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from muni_watchdog.cli.main import main
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.status_page_job import StatusPageExport
from muni_watchdog.reports.deliver import digest, monthly_report
from muni_watchdog.reports.drill_report import load_drill
from muni_watchdog.reports.postincident import load_post_incident
from muni_watchdog.store.database import Store

pytestmark = pytest.mark.integration


def write_config(path: Path, url: str, smtp_port: int, public: Path, cadence: str) -> None:
    mail = f"mailto://127.0.0.1:{smtp_port}?from=watchdog@town.example&to="
    path.write_text(f"""\
site: {{name: Testville, timezone: UTC}}
services:
  - id: payments
    name: Online utility payments
    priority: 1
    impact: Residents cannot pay water and tax bills online.
    rto: 4h
    rpo: 1h
    response_sla: 3s
    owner: {{name: Sam Owner, contact: sam@town.example, channels: [oncall]}}
    backup_owner: {{name: Lee Backup, contact: lee@msp.example, channels: [backup]}}
    targets: [portal-zq-internal]
targets:
  - id: portal-zq-internal
    kind: http
    host: 127.0.0.1
    checks: [{{check: http, url: "{url}", interval: 1s, retry_interval: 500ms}}]
notify:
  channels:
    - {{name: oncall, url: "{mail}oncall@msp.example"}}
    - {{name: backup, url: "{mail}lee@msp.example"}}
    - {{name: comms, url: "{mail}comms@town.example"}}
  routes:
    - {{name: technical, channels: [oncall]}}
    - {{name: residents, kind: update, priorities: [1, 2], channels: [comms]}}
  update_cadence: {{p1: {cadence}}}
  weekly_test: null
reports:
  status_page: {{export_dir: {public}, every: 1s}}
""")


def to(message: email.message.EmailMessage) -> str:
    return str(message["To"])


def body(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part else ""


class Town:
    """The daemon, its files, and the command line, for one test."""

    def __init__(self, tmp_path: Path, url: str, smtp, cadence: str):
        self.config = tmp_path / "town.yaml"
        self.state = tmp_path / "state"
        self.public = tmp_path / "public"
        self.smtp = smtp
        write_config(self.config, url, smtp.port, self.public, cadence)
        self.daemon = Daemon(self.config, self.state, jobs=[StatusPageExport()])

    async def cli(self, *args: str) -> int:
        """A command as the on-call types it (in a thread: the daemon's loop keeps going)."""
        return await asyncio.to_thread(main, [*args, "-c", str(self.config),
                                              "--state-dir", str(self.state)])

    async def mail(self, predicate, what: str, timeout: float = 40.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            found = [m for m in list(self.smtp.messages) if predicate(m)]
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        raise AssertionError(f"no email: {what}; got {self.smtp.subjects()}")

    async def until(self, predicate, what: str, timeout: float = 40.0):
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if predicate():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(what)

    def store(self) -> Store:
        return Store.open(self.state, readonly=True)

    def reviewed(self, incident: int) -> bool:
        store = self.store()
        try:
            return store.review(incident) is not None
        finally:
            store.close()

    def run(self, scenario):
        async def main_task():
            task = asyncio.ensure_future(self.daemon.run())
            while self.daemon.scheduler is None or not self.daemon.scheduler.running:
                await asyncio.sleep(0.05)
            try:
                return await scenario()
            finally:
                self.daemon.stopping.set()
                assert await task == 0
        return asyncio.run(main_task())


def test_a_drill_end_to_end_is_paged_measured_and_left_out_of_the_figures(
        tmp_path, http_server, smtp_server, capsys):
    town = Town(tmp_path, http_server.url, smtp_server, cadence="4s")

    def subject(text: str, whom: str):
        # every message names the site first: "[Testville] [DRILL] [P1 CRITICAL] ..."
        return lambda m: str(m["Subject"]).startswith(f"[Testville] {text}") and whom in to(m)

    async def scenario():
        await town.until(lambda: (town.public / "index.html").exists(), "no status page")
        assert await town.cli("drill", "start", "payments", "--scenario",
                              "payment portal down", "--by", "Sam Owner") == 0
        started = capsys.readouterr().out
        assert "drill 1 started" in started and "muni-watchdog ack 1" in started
        page = await town.mail(subject("[DRILL] [P1 CRITICAL]", "oncall"), "the drill's page")
        assert "THIS IS A DRILL (drill 1: payment portal down)" in body(page)
        await town.mail(subject("[DRILL] [P1 ESCALATED CRITICAL]", "lee@"),
                        "the escalation to the backup owner")
        await town.mail(subject("[DRILL] [P1 UPDATE DUE]", "oncall"), "the update reminder")
        assert await town.cli("ack", "1", "--by", "Lee Backup", "--reason", "drill") == 0
        assert await town.cli("incident", "update", "1", "--text",
                              "Restoring the portal from last night's backup.",
                              "--residents-can", "Pay by phone at 555-0199.",
                              "--by", "Sam Owner") == 0
        update = await town.mail(subject("[DRILL] [Update 1] Online utility payments — "
                                         "unavailable since", "comms@"), "the update")
        text = body(update)
        assert "What you can do meanwhile: Pay by phone at 555-0199." in text
        assert "portal-zq-internal" not in text and "127.0.0.1" not in text
        assert await town.cli("drill", "step", "1", "restored from backup",
                              "--by", "Sam Owner") == 0
        assert await town.cli("drill", "step", "1", "portal back", "--recovered",
                              "--by", "Sam Owner") == 0
        for whom in ("oncall", "lee@"):
            await town.mail(subject("[DRILL] [P1 RECOVERED]", whom), f"the all-clear to {whom}")
        await town.mail(subject("[DRILL] [Resolved] Online utility payments — working again",
                                "comms@"), "the closing update")
        assert await town.cli("drill", "end", "1", "--went-well",
                              "The backup owner took over within minutes.",
                              "--change", "Put the vendor's phone number in the runbook",
                              "--owner", "Sam Owner", "--due", "2026-12-15",
                              "--change", "Restore test of the portal database weekly",
                              "--owner", "Lee Backup", "--due", "2027-01-10",
                              "--by", "Sam Owner") == 0
        await asyncio.sleep(1.5)                       # one more status page export
        return (town.public / "index.html").read_text()

    page = town.run(scenario)
    subjects = smtp_server.subjects()
    assert subjects and all(s.startswith("[Testville] [DRILL] ") for s in subjects), subjects
    # residents never see an exercise
    assert "drill" not in page.lower() and "Online utility payments — operational." in page

    now = datetime.now(UTC)
    store = town.store()
    try:
        from muni_watchdog.config.loading import load_config
        config = load_config(town.config, check_secrets=False)
        measured = load_drill(store, config, 1, now)
        report = monthly_report(store, config, now.year, now.month, now)
        weekly = digest(store, config, now)
    finally:
        store.close()
    assert measured.report.acknowledged_by == "Lee Backup" and measured.acked_by_backup_owner
    assert measured.backup_owner_called and measured.backup_owner_reached
    assert measured.report.missed_updates >= 1             # the reminder counted one
    assert measured.first_update_seconds is not None
    assert measured.recover_seconds is not None and measured.within_90_minutes
    assert [s["text"] for s in measured.steps] == ["restored from backup", "portal back"]
    assert len(measured.changes) == 2
    # left out of availability and response promises, listed as a drill
    payments = report.services[0]
    assert payments.outage_seconds == 0 and payments.incidents == []
    assert any(line.startswith("Drill: drill 1 on") for line in payments.comms)
    assert any(line.startswith("Drills: last drilled") and "next due by" in line
               for line in payments.comms)
    assert len(weekly.follow_ups) == 2

    assert main(["drill", "follow-up", "done", str(measured.changes[0]["id"]), "--by", "Sam",
                 "-c", str(town.config), "--state-dir", str(town.state)]) == 0
    store = town.store()
    try:
        assert len(digest(store, config, datetime.now(UTC)).follow_ups) == 1   # until done
    finally:
        store.close()
    assert main(["incidents", "--all", "-c", str(town.config), "--state-dir",
                 str(town.state)]) == 0
    assert "[DRILL] #1 P1 OK drill:1/exercise" in capsys.readouterr().out
    assert main(["incidents", "--all", "--json", "-c", str(town.config), "--state-dir",
                 str(town.state)]) == 0
    listed = json.loads(capsys.readouterr().out)["incidents"][0]
    assert listed["drill"] is True and listed["missed_updates"] >= 1
    assert main(["drill", "report", "1", "-c", str(town.config), "--state-dir",
                 str(town.state)]) == 0
    text = capsys.readouterr().out
    assert "Handoff: acknowledged by Lee Backup (the backup owner)" in text
    assert "CHANGES IT LED TO (2 of the 2 the guidance asks for)" in text
    html = tmp_path / "drill.html"
    assert main(["drill", "report", "1", "--out", str(html), "-c", str(town.config),
                 "--state-dir", str(town.state)]) == 0
    assert "@page" in html.read_text() and "Drill measures" in html.read_text()


def test_an_outage_is_told_to_residents_closed_and_reviewed(tmp_path, http_server, smtp_server,
                                                           capsys):
    town = Town(tmp_path, http_server.url, smtp_server, cadence="1h")

    async def scenario():
        await town.until(lambda: (town.public / "index.html").exists(), "no status page")
        http_server.status = 503
        alert = await town.mail(lambda m: "[P1 CRITICAL]" in str(m["Subject"]), "the alert")
        assert "portal-zq-internal" in str(alert["Subject"])   # the technical alert names it
        assert await town.cli("incident", "update", "1", "--text",
                              "The payment vendor is restarting the portal.",
                              "--residents-can", "Pay at the Town Hall counter.",
                              "--next-update", "20m", "--by", "Dana") == 0
        update = await town.mail(lambda m: "comms@" in to(m), "the update")
        await town.until(lambda: "The payment vendor is restarting the portal." in
                         (town.public / "index.html").read_text(), "update not on the page")
        page = (town.public / "index.html").read_text()
        assert "Online utility payments — unavailable since" in page
        http_server.status = 200
        closing = await town.mail(lambda m: "comms@" in to(m) and "[Resolved]" in
                                  str(m["Subject"]), "the closing update")
        await town.until(lambda: town.reviewed(1), "no review drafted")
        return update, closing

    update, closing = town.run(scenario)
    text = body(update)
    assert str(update["Subject"]).startswith("[Testville] [Update 1] Online utility payments — unavailable "
                                             "since")
    for internal in ("portal-zq-internal", "127.0.0.1", "http", "P1", "ack"):
        assert internal not in text, internal
    assert "This is the last update about it." in body(closing)

    assert main(["incident", "review", "1", "--cause", "The vendor's certificate renewal "
                 "restarted the portal.", "--follow-up", "Ask the vendor for change notices",
                 "--owner", "Sam Owner", "--due", "+14d", "--by", "Sam Owner", "-c",
                 str(town.config), "--state-dir", str(town.state)]) == 0
    assert main(["incident", "report", "1", "-c", str(town.config), "--state-dir",
                 str(town.state)]) == 0
    report = capsys.readouterr().out
    for phrase in ("First failed result", "Alert sent", "Update 1 posted by Dana",
                   "Recovered", "Closing update sent", "within the recovery target",
                   "The vendor's certificate renewal restarted the portal.",
                   "Ask the vendor for change notices — owner Sam Owner"):
        assert phrase in report, phrase
    store = town.store()
    try:
        from muni_watchdog.config.loading import load_config
        config = load_config(town.config, check_secrets=False)
        now = datetime.now(UTC)
        review = load_post_incident(store, config, 1, now)
        monthly = monthly_report(store, config, now.year, now.month, now)
    finally:
        store.close()
    assert review.timing is not None and review.timing.updates[0].on_time
    assert review.recover_seconds < timedelta(hours=4).total_seconds()
    assert any(line.startswith("Post-incident report, incident 1") and "cause: The vendor's"
               in line for line in monthly.services[0].comms)
