"""A town for the console's communication pages: the daemon run as a process with its console
on, an SMTP server capturing every message, a notify route of ``kind: update`` to the
communications officer, the status page exported every second, and a portal whose port the
test opens to make it recover. Used by tests/test_web_comms.py (HTTP) and
tests/test_web_comms_browser.py (Chromium)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from lab.servers import SmtpCapture, free_port
from muni_watchdog.store.database import Store
from tests.web_fixture import PASSWORDS, users_yaml

ROOT = Path(__file__).resolve().parent.parent
# Internal names the residents' page must never show: hosts, the address, channels, owners
# and their contacts, and the service that is not public.
INTERNAL = ["portalhost-zq", "printhost-zq", "127.0.0.1", "Ann Owner", "ann@ashby.example",
            "Bo Backup", "bo@msp.example", "oncall@msp.example", "comms@ashby.example",
            "comms-zq", "Front-desk printing", "Pat Clerk"]


def config_text(web_port: int, smtp_port: int, portal_port: int, closed: int,
                public: Path) -> str:
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
  - id: payments
    name: Online utility payments
    priority: 1
    impact: Residents cannot pay water and tax bills online.
    rto: 4h
    rpo: 1h
    response_sla: 1h
    owner: {{name: Ann Owner, contact: ann@ashby.example, channels: [oncall]}}
    backup_owner: {{name: Bo Backup, contact: bo@msp.example, channels: [backup]}}
    targets: [portalhost-zq]
  - id: printing
    name: Front-desk printing
    priority: 3
    rto: 1d
    rpo: 7d
    owner: {{name: Pat Clerk, contact: pat@ashby.example}}
    backup_owner: {{name: Bo Backup, contact: bo@msp.example}}
    targets: [printhost-zq]
targets:
  - id: portalhost-zq
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {portal_port}, interval: 1s, max_attempts: 1}}]
  - id: printhost-zq
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {closed}, interval: 2s, max_attempts: 1}}]
notify:
  channels:
    - {{name: oncall, url: "{mail}&to=oncall@msp.example"}}
    - {{name: backup, url: "{mail}&to=bo@msp.example"}}
    - {{name: comms-zq, url: "{mail}&to=comms@ashby.example"}}
  routes:
    - {{name: all, channels: [oncall]}}
    - {{name: residents, kind: update, priorities: [1, 2], channels: [comms-zq]}}
  weekly_test: null
reports:
  status_page: {{export_dir: {public}, every: 1s}}
"""


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found[1]


class CommsTown:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.smtp = SmtpCapture().start()
        self.web_port = free_port()
        self.portal_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.state = tmp / "state"
        self.public = tmp / "public"
        self.config_path = tmp / "ashby.yaml"
        self.config_path.write_text(config_text(self.web_port, self.smtp.port,
                                                self.portal_port, free_port(), self.public))
        self.listener: socket.socket | None = None
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

    def portal_back(self) -> None:
        """Open the portal's port: its check recovers, its incident resolves."""
        self.listener = socket.create_server(("127.0.0.1", self.portal_port), backlog=50)

    def read(self, fn):
        store = Store.open(self.state, readonly=True)
        try:
            return fn(store)
        finally:
            store.close()

    def incident_of(self, target: str, status: str | None = "open") -> dict | None:
        rows = self.read(lambda s: [i for i in s.incidents(status) if i["target"] == target])
        return rows[0] if rows else None

    def mails(self, to: str, word: str = "") -> list:
        return [m for m in list(self.smtp.messages)
                if to in str(m["To"]) and word in str(m["Subject"])]

    def login(self, name: str) -> requests.Session:
        session = requests.Session()
        token = csrf_of(session.get(f"{self.url}/login", timeout=10).text)
        answer = session.post(f"{self.url}/login", data={
            "name": name, "password": PASSWORDS[name], "csrf": token, "next": "/"},
            headers={"Origin": self.url}, allow_redirects=False, timeout=30)
        assert answer.status_code == 303, answer.text
        return session

    def post(self, session: requests.Session, path: str, data: dict, page: str | None = None,
             origin: str | None = None, token: bool = True) -> requests.Response:
        """POST a form as the browser would from ``page`` (its CSRF token)."""
        data = dict(data)
        if token:
            data["csrf"] = csrf_of(session.get(self.url + (page or path), timeout=10).text)
        return session.post(self.url + path, data=data, allow_redirects=False, timeout=30,
                            headers={"Origin": origin or self.url})

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "muni_watchdog", *args, "-c",
                               str(self.config_path), "--state-dir", str(self.state)],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)

    def stop(self) -> None:
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(10)
        if self.listener is not None:
            self.listener.close()
        self.smtp.stop()
        self.log.close()
