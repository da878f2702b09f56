"""The on-call's path in a real browser: Debian's headless Chromium, driven by Playwright,
against the daemon run as a process with its console on. An incident's email arrives at the
test SMTP server; the console shows it; the backup owner acknowledges from the link in the
escalation email on a 400 px phone; the next escalation step never comes. Refused: expired,
forged, replayed and other-recipient links, unauthenticated POSTs, a form posted from another
origin; a <script> in a reason is inert. Screenshots of the main pages at 400 and 1280 px go
to test-artifacts/ (MUNI_WATCHDOG_DOCS_SCREENSHOT=1 also refreshes docs/console-phone.png)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.servers import HttpLab, SmtpCapture, free_port
from muni_watchdog.alerting.ack_links import AckLinks, load_key
from muni_watchdog.config.loading import load_config
from muni_watchdog.store.database import Store
from tests.web_fixture import PASSWORDS, users_yaml

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SLA, NEXT_STEP = 6, 20      # seconds: the response promise, then the step after the backup
XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)",
                allow_module_level=True)


def config_text(web_port: int, smtp_port: int, closed: int) -> str:
    mail = f"mailto://127.0.0.1:{smtp_port}?from=watchdog@ashby.example"
    return f"""\
site:
  name: Town of Ashby
  short_name: Ashby
  timezone: America/Chicago
  web:
    listen: 127.0.0.1:{web_port}
    public_url: http://127.0.0.1:{web_port}
    users:
{users_yaml()}services:
  - id: email
    name: Staff email
    priority: 1
    impact: Staff cannot send or receive email.
    rto: 4h
    rpo: 1d
    response_sla: {SLA}s
    owner: {{name: Ann Owner, contact: ann@ashby.example, channels: [oncall]}}
    backup_owner: {{name: Bo Backup, contact: bo@msp.example, channels: [backup]}}
    escalation: [{{after: {NEXT_STEP}s, channels: [lead]}}]
    targets: [mail]
  - id: printing
    name: Front-desk printing
    priority: 3
    rto: 1d
    rpo: 7d
    owner: {{name: Pat Clerk, contact: pat@ashby.example}}
    backup_owner: {{name: Bo Backup, contact: bo@msp.example}}
    targets: [printer]
targets:
  - id: mail
    kind: tcp
    host: 127.0.0.1
    description: Mail server
    checks: [{{check: tcp, port: {closed}, interval: 2s, max_attempts: 1}}]
  - id: printer
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {closed}, interval: 2s, max_attempts: 1}}]
notify:
  channels:
    - {{name: oncall, url: "{mail}&to=oncall@msp.example"}}
    - {{name: backup, url: "{mail}&to=bo@msp.example"}}
    - {{name: lead, url: "{mail}&to=lead@msp.example"}}
  routes:
    - {{name: all, channels: [oncall]}}
  weekly_test: null
reports:
  metrics: {{}}
"""


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def mails(smtp, to: str, word: str = "") -> list:
    return [m for m in list(smtp.messages) if to in str(m["To"]) and word in str(m["Subject"])]


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


class Town:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.smtp = SmtpCapture().start()
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.state = tmp / "state"
        self.config_path = tmp / "ashby.yaml"
        self.config_path.write_text(config_text(self.web_port, self.smtp.port, free_port()))
        self.log = open(tmp / "daemon.log", "w")  # noqa: SIM115 (closed in stop)
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "muni_watchdog", "run", "-c", str(self.config_path),
             "--state-dir", str(self.state)], cwd=ROOT, stdout=self.log,
            stderr=subprocess.STDOUT)
        wait_until(self._listening, 30, "the console to listen")

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.web_port), timeout=0.5):
                return True
        except OSError:
            return False

    def store(self) -> Store:
        return Store.open(self.state, readonly=True)

    def incident(self, number: int) -> dict:
        store = self.store()
        try:
            return store.incident(number)
        finally:
            store.close()

    def stop(self) -> None:
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
        self.smtp.stop()
        self.log.close()


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    town = Town(tmp_path_factory.mktemp("ashby"))
    yield town
    town.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def phone(browser):
    return browser.new_context(viewport={"width": 400, "height": 860}, device_scale_factor=1,
                               is_mobile=True, has_touch=True)


def desk(browser):
    return browser.new_context(viewport={"width": 1280, "height": 900})


def login(page, town, name: str) -> None:
    page.goto(town.url + "/")
    assert page.url.startswith(town.url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(town.url + "/")


def shoot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    # nothing is cut off on the right: the page is no wider than the window
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: {width}px wide"
    return path


def test_oncall_acknowledges_from_the_emailed_link_and_escalation_stops(town, browser):
    first = wait_until(lambda: mails(town.smtp, "oncall@", "Staff email"), 60,
                       "the problem email")[0]
    assert str(first["Subject"]).startswith("[Ashby] [P1 CRITICAL] Staff email — mail/tcp")
    assert f"{town.url}/ack/" in text_of(first)           # the text part has the link too

    desk_context = desk(browser)
    page = desk_context.new_page()
    login(page, town, "otto")
    row = page.locator("#incidents tr[data-incident='1']")
    row.wait_for()
    assert "mail/tcp" in row.inner_text() and "NO" in row.inner_text()
    shoot(page, "now-1280")

    # the response promise passes: the backup owner gets the escalation, with their own link
    escalated = wait_until(lambda: mails(town.smtp, "bo@", "ESCALATED"), 60,
                           "the escalation email")[0]
    escalated_at = time.monotonic()
    link = re.search(r'href="([^"]+/ack/[^"]+)"', html_of(escalated))[1]
    assert link != re.search(r'href="([^"]+/ack/[^"]+)"', html_of(first))[1]

    # tap 1: the link opens on the phone (no login); tap 2: the big button
    mobile = phone(browser)
    tap = mobile.new_page()
    tap.goto(link)
    button = tap.locator("button.primary")
    assert button.inner_text() == "Acknowledge incident 1"
    assert tap.input_value("input[name=by]") == "Bo Backup"
    shot = shoot(tap, "ack-400")
    if os.environ.get("MUNI_WATCHDOG_DOCS_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "console-phone.png")
    assert town.incident(1)["acked_by"] is None          # opening it acknowledged nothing
    button.click()
    tap.locator("#acknowledged").wait_for()
    assert "Incident 1 acknowledged" in tap.inner_text("#acknowledged")
    shoot(tap, "acked-400")
    incident = town.incident(1)
    assert incident["acked_by"] == "Bo Backup" and incident["escalation_level"] == 1

    # the console shows it at once (the now page refreshes without a reload)
    page.locator("#incidents tr[data-incident='1']", has_text="by Bo Backup").wait_for(
        timeout=20000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

    # replayed: the same link only says who acknowledged it
    tap.goto(link)
    assert "Already acknowledged by Bo Backup" in tap.inner_text("#already")
    assert tap.locator("button.primary").count() == 0

    # the next escalation step (the lead) was due NEXT_STEP seconds after the backup owner:
    # it never comes, and the incident stays at level 1
    time.sleep(max(0.0, escalated_at + NEXT_STEP + 8 - time.monotonic()))
    assert mails(town.smtp, "lead@") == []
    assert town.incident(1)["escalation_level"] == 1
    page.goto(f"{town.url}/incidents/1")
    timeline = page.inner_text("ol.timeline")
    for words in ("First failed result", "Confirmed CRITICAL", "Problem message written for "
                  "oncall", "Delivered to oncall", "Escalated: escalation to backup",
                  "Acknowledged by Bo Backup via link"):
        assert words in timeline, words
    shoot(page, "incident-1280")
    mobile.close()
    desk_context.close()


def test_bad_links_are_refused_and_change_nothing(town, browser):
    wait_until(lambda: town.incident(2), 60, "the printer's incident")
    store = Store.open(town.state)
    links = AckLinks(load_config(town.config_path), store, load_key(town.state))
    now = datetime.now(UTC)
    expired = links.long_link(2, "oncall", now - timedelta(days=2))
    other = links.long_link(2, "lead", now)             # valid, but never sent to the lead
    store.close()
    good = wait_until(lambda: mails(town.smtp, "oncall@", "printer"), 60, "printer email")[0]
    good_link = re.search(r'href="([^"]+/ack/[^"]+)"', html_of(good))[1]
    forged = good_link[:-4] + ("AAAA" if not good_link.endswith("AAAA") else "BBBB")
    context = phone(browser)
    page = context.new_page()
    for link, words in ((expired, "This link has expired"), (forged, "This link is not valid"),
                        (other, "was not sent to you")):
        answer = page.goto(link)
        assert answer.status in (403, 410) and words in page.inner_text("main"), link
        assert page.locator("form input[name=by]").count() == 0
    shoot(page, "expired-400")
    assert town.incident(2)["acked_by"] is None
    context.close()


def test_unauthenticated_and_cross_origin_posts_are_refused(town, browser, tmp_path):
    wait_until(lambda: town.incident(2), 60, "the printer's incident")
    context = desk(browser)
    anonymous = context.request.post(f"{town.url}/incidents/2/ack", form={"reason": "x"})
    assert anonymous.status == 403
    page = context.new_page()
    login(page, town, "otto")
    # a page on another origin that posts a form to the console as soon as it loads
    evil = HttpLab(body=f"""<html><body><form id="f" method="post"
        action="{town.url}/incidents/2/ack"><input name="reason" value="forged by evil">
        </form><script>document.getElementById('f').submit()</script></body></html>""")
    evil.start()
    try:
        with page.expect_navigation(url=f"{town.url}/incidents/2/ack"):
            page.goto(evil.url)
        assert "nothing was changed" in page.inner_text("main")
    finally:
        evil.stop()
    assert town.incident(2)["acked_by"] is None
    context.close()


def test_script_in_a_reason_is_inert_and_cli_agrees(town, browser):
    wait_until(lambda: town.incident(2), 60, "the printer's incident")
    context = desk(browser)
    page = context.new_page()
    login(page, town, "otto")
    page.goto(f"{town.url}/incidents/2")
    page.fill("input[name=reason]", XSS)
    page.click("#ack button[type=submit]")
    page.wait_for_url(f"{town.url}/incidents/2")
    assert page.evaluate("window.pwned") is None
    assert XSS in page.inner_text("main")                 # shown as text
    for path in ("/", "/incidents", "/audit"):
        page.goto(town.url + path)
        page.wait_for_timeout(300)
        assert page.evaluate("window.pwned") is None, path
    # the console's data is the CLI's
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "status", "--json",
                          "--state-dir", str(town.state)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    status = json.loads(out.stdout)
    now = page.evaluate("fetch('/api/now').then(r => r.json())")
    by_check = {(c["target"], c["check"]): c["state"] for c in status["checks"]}
    assert {(c["target"], c["check"]): c["state"] for c in now["checks"]} == by_check
    assert [(i["id"], i["acked_by"]) for i in now["incidents"]] == \
        [(i["id"], i["acked_by"]) for i in status["incidents"]]
    context.close()


def test_the_ack_command_printed_in_the_email_works_as_printed(town):
    mail = wait_until(lambda: mails(town.smtp, "oncall@", "printer"), 60, "printer email")[0]
    command = re.search(r"On the box: (muni-watchdog ack 2 .*)", text_of(mail))[1]
    assert f"--state-dir {town.state}" in command and " -c " not in command
    args = shlex.split(command.replace("YOUR NAME", "Pat at the desk"))
    env = {k: v for k, v in os.environ.items() if k not in ("MUNI_WATCHDOG_CONFIG",
                                                            "STATE_DIRECTORY")}
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", *args[1:]],
                         capture_output=True, text=True, cwd=ROOT, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert town.incident(2)["acked_by"] == "Pat at the desk"
    # and with $STATE_DIRECTORY set (as under systemd), the state directory is found too
    env["STATE_DIRECTORY"] = str(town.state)
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "audit", "-c",
                          str(town.config_path)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60, env=env)
    assert out.returncode == 0 and "Pat at the desk  ack  incident 2" in out.stdout


def test_screenshots_of_the_main_pages(town, browser):
    for width, context in ((400, phone(browser)), (1280, desk(browser))):
        page = context.new_page()
        login(page, town, "ada")
        for name, path in (("now", "/"), ("incidents", "/incidents"),
                           ("services", "/services"), ("maintenance", "/maintenance"),
                           ("reports", "/reports"), ("digest", "/reports/digest"),
                           ("audit", "/audit"), ("incident", "/incidents/1")):
            answer = page.goto(town.url + path)
            assert answer.status == 200, path
            shoot(page, f"{name}-{width}")
        assert "Chain verified" in page.goto(town.url + "/audit").text()
        context.close()
    import urllib.request  # /metrics on the console's port, no login
    with urllib.request.urlopen(f"{town.url}/metrics", timeout=30) as answer:
        assert "muni_watchdog_open_incidents" in answer.read().decode()


def test_the_alert_email_reads_on_a_400px_phone(town, browser):
    mail = wait_until(lambda: mails(town.smtp, "bo@", "ESCALATED"), 60, "escalation email")[0]
    context = phone(browser)
    page = context.new_page()
    page.set_content(html_of(mail))
    shoot(page, "email-400")                    # asserts nothing is wider than the phone
    button = page.locator("a", has_text="Acknowledge incident 1")
    box = button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 400 and box["height"] >= 30
    text = text_of(mail)
    lines = text[text.index("Last results:"):].splitlines()
    assert lines[1].strip() and lines[2].strip()          # single-spaced, not double
    context.close()
