"""The console on loopback for tests: a state database with an incident, and the console
served from a thread with its own event loop (its own connection to the database, as the
daemon's loop has). The browser tests run the daemon itself (tests/test_web_browser.py)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from muni_watchdog.alerting.ack_links import load_key
from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.config.loading import load_config
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs
from muni_watchdog.store.database import Store
from muni_watchdog.web.passwords import hash_password

PASSWORDS = {"vera": "viewer-password-1", "otto": "oncall-password-1",
             "ada": "admin-password-123"}
_HASHES: dict[str, str] = {}


def users_yaml() -> str:
    roles = {"vera": "viewer", "otto": "oncall", "ada": "admin"}
    for name, password in PASSWORDS.items():
        _HASHES.setdefault(name, hash_password(password))
    return "".join(f"      - {{name: {n}, role: {roles[n]}, password_hash: '{_HASHES[n]}'}}\n"
                   for n in PASSWORDS)


def site_config(port: int, smtp_port: int = 9, extra_site: str = "",
                extra: str = "") -> str:
    return f"""\
site:
  name: Town of Ashby
  short_name: Ashby
  timezone: America/Chicago
{extra_site}  web:
    listen: 127.0.0.1:{port}
    public_url: http://127.0.0.1:{port}
    users:
{users_yaml()}services:
  - id: email
    name: Staff email
    priority: 1
    impact: Staff cannot send or receive email.
    rto: 4h
    rpo: 1d
    response_sla: 1h
    owner: {{name: Ann Owner, contact: ann@town.example, channels: [oncall]}}
    backup_owner: {{name: Bo Backup, contact: bo@msp.example, channels: [backup]}}
    targets: [mail]
targets:
  - id: mail
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: 9, max_attempts: 1}}]
  - id: printer
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: 9, max_attempts: 1}}]
notify:
  channels:
    - {{name: oncall, url: "mailto://127.0.0.1:{smtp_port}?from=w@town.example&to=oncall@msp.example"}}
    - {{name: backup, url: "mailto://127.0.0.1:{smtp_port}?from=w@town.example&to=bo@msp.example"}}
    - {{name: sms, url: "json://127.0.0.1:{smtp_port}/sms", format: sms}}
  routes:
    - {{name: all, channels: [oncall, sms]}}
  weekly_test: null
{extra}"""


def make_incident(config, store: Store, target: str = "mail", summary: str = "port 9: refused",
                  now: datetime | None = None) -> None:
    """A hard CRITICAL on ``target`` and one alert pass: an incident, told to its routes."""
    now = now or datetime.now(UTC)
    spec = next(s for s in build_specs(config) if s.key.target == target)
    decision = decide(None, State.CRITICAL, summary, spec.policy, now)
    store.record_run(spec.key, now, 0.1, Outcome.of([Result(State.CRITICAL, summary)]),
                     decision.status, {}, spec.services, spec.priority, decision.events)
    AlertProcessor(config, store, lambda: now).process()


class ConsoleServer:
    """The console of ``state`` served from a thread until :meth:`stop`."""

    def __init__(self, config_path: Path, state: Path, clock=None):
        self.config = load_config(config_path)
        self.state = state
        self.port = self.config.site.web.address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock = clock or (lambda: datetime.now(UTC))
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from aiohttp import web

        from muni_watchdog.web.app import build_app
        from muni_watchdog.web.console import Console
        from muni_watchdog.web.registry import Registry

        loop = asyncio.new_event_loop()
        self._loop = loop
        store = Store.open(self.state)
        self.console = Console(self.config, store, self.state,
                               load_key(self.state, None), self.clock, Registry())
        runner = web.AppRunner(build_app(self.console), handle_signals=False)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._runner = runner
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        store.close()
        loop.close()

    def start(self) -> ConsoleServer:
        self._thread.start()
        assert self._ready.wait(20), "the console did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def login(self, name: str, password: str | None = None) -> requests.Session:
        """A logged-in HTTP session (as a browser: the login form's token and cookie)."""
        session = requests.Session()
        page = session.get(f"{self.url}/login", timeout=10)
        token = csrf_of(page.text)
        answer = session.post(f"{self.url}/login", data={
            "name": name, "password": password or PASSWORDS[name], "csrf": token,
            "next": "/"}, headers={"Origin": self.url}, allow_redirects=False, timeout=30)
        assert answer.status_code == 303, answer.text
        return session


def csrf_of(page: str) -> str:
    import re
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found[1]


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)
