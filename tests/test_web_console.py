"""The web console over real HTTP on loopback: accounts and roles, sessions, CSRF and
same-origin POSTs, the login limit, acknowledge links (expired, forged, other recipient,
replayed, scanned), forms with a missing field, unknown pages, escaping, and agreement with
the command line on every state."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from lab.servers import free_port
from muni_watchdog.alerting.ack_links import AckLinks, load_key
from muni_watchdog.config.loading import load_config
from muni_watchdog.core.signing import sign
from muni_watchdog.store.database import Store
from tests.web_fixture import ConsoleServer, csrf_of, make_incident, site_config

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@pytest.fixture
def console(tmp_path):
    port = free_port()
    path = tmp_path / "c.yaml"
    path.write_text(site_config(port, extra="reports:\n  metrics: {}\n"))
    config = load_config(path)
    store = Store.open(tmp_path / "state")
    make_incident(config, store)
    store.close()
    server = ConsoleServer(path, tmp_path / "state").start()
    server.path = path
    yield server
    server.stop()


def db(server) -> Store:
    return Store.open(server.state, readonly=True)


def incident(server, number=1) -> dict:
    store = db(server)
    try:
        return store.incident(number)
    finally:
        store.close()


def email_link(server, channel="oncall") -> str:
    store = db(server)
    try:
        body = next(r["body"] for r in store.notifications() if r["channel"] == channel)
    finally:
        store.close()
    return re.search(r'href="([^"]+/ack/[^"]+)"', body)[1]


def post(session, server, path, data, origin=True, **kw):
    headers = {"Origin": server.url} if origin else {}
    headers.update(kw.pop("headers", {}))
    return session.post(server.url + path, data=data, headers=headers,
                        allow_redirects=False, timeout=30, **kw)


def test_login_sets_a_strict_httponly_cookie_and_pages_need_it(console):
    anonymous = requests.Session()
    page = anonymous.get(console.url + "/", allow_redirects=False, timeout=10)
    assert page.status_code == 303 and page.headers["Location"] == "/login?next=/"
    assert anonymous.get(console.url + "/api/now", timeout=10).status_code == 401
    login = anonymous.get(console.url + "/login", timeout=10)
    wrong = post(anonymous, console, "/login", {"name": "otto", "password": "nope",
                                                "csrf": csrf_of(login.text)})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    ok = post(anonymous, console, "/login", {"name": "otto", "password": "oncall-password-1",
                                             "csrf": csrf_of(login.text), "next": "/services"})
    assert ok.status_code == 303 and ok.headers["Location"] == "/services"
    cookie = next(c for c in ok.raw.headers.getlist("Set-Cookie") if "mw_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie       # plain http on loopback; https public_url sets it
    page = anonymous.get(console.url + "/", timeout=10)
    assert page.status_code == 200 and "mail/tcp" in page.text
    headers = page.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "same-origin"
    # a next= that leaves the console is not followed
    fresh = requests.Session()
    login = fresh.get(console.url + "/login", timeout=10)
    evil = post(fresh, console, "/login", {"name": "otto", "password": "oncall-password-1",
                                           "csrf": csrf_of(login.text),
                                           "next": "//evil.example/"})
    assert evil.headers["Location"] == "/"


def test_login_is_rate_limited_per_user(console):
    session = requests.Session()
    token = csrf_of(session.get(console.url + "/login", timeout=10).text)
    for _ in range(5):
        assert post(session, console, "/login", {"name": "ada", "password": "wrong",
                                                 "csrf": token}).status_code == 401
    blocked = post(session, console, "/login", {"name": "ada",
                                                "password": "admin-password-123",
                                                "csrf": token})
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text
    # another user from the same address: the address limit has been reached too
    other = post(session, console, "/login", {"name": "vera", "password": "viewer-password-1",
                                              "csrf": token})
    assert other.status_code == 429


def test_unauthenticated_and_forged_posts_change_nothing(console):
    anonymous = requests.Session()
    for path, data in (("/incidents/1/ack", {"reason": "x"}),
                       ("/maintenance", {"owner": "x", "reason": "y", "site": "on",
                                         "kind": "once", "start": "now", "end": "+1h"}),
                       ("/exceptions", {"target": "mail", "owner": "x", "reason": "y",
                                        "expires": "+1d"})):
        answer = post(anonymous, console, path, data)
        assert answer.status_code == 403 and "not logged in" in answer.text
    otto = console.login("otto")
    missing = post(otto, console, "/incidents/1/ack", {"reason": "no token"})
    assert missing.status_code == 403 and "security token" in missing.text
    wrong = post(otto, console, "/incidents/1/ack", {"reason": "x", "csrf": "A" * 43})
    assert wrong.status_code == 403
    token = csrf_of(otto.get(console.url + "/incidents/1", timeout=10).text)
    cross = otto.post(console.url + "/incidents/1/ack", data={"reason": "x", "csrf": token},
                      headers={"Origin": "http://evil.example"}, allow_redirects=False,
                      timeout=10)
    assert cross.status_code == 403 and "another site" in cross.text
    fetch_site = post(otto, console, "/incidents/1/ack", {"reason": "x", "csrf": token},
                      headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_site.status_code == 403
    assert incident(console)["acked_by"] is None
    store = db(console)
    assert store.audit_entries() == [] and store.maintenance_windows() == []
    store.close()


def test_roles_viewer_reads_oncall_acks_and_maintains_admin_accepts_risks(console):
    vera, otto, ada = console.login("vera"), console.login("otto"), console.login("ada")
    page = vera.get(console.url + "/incidents/1", timeout=10)
    assert page.status_code == 200 and "Acknowledge incident 1" not in page.text
    token = csrf_of(page.text)
    refused = post(vera, console, "/incidents/1/ack", {"csrf": token})
    assert refused.status_code == 403 and "needs the oncall role" in refused.text
    token = csrf_of(otto.get(console.url + "/maintenance", timeout=10).text)
    assert post(otto, console, "/exceptions", {"csrf": token, "target": "mail", "owner": "o",
                                               "reason": "r", "expires": "+1d"}
                ).status_code == 403
    added = post(otto, console, "/maintenance", {
        "csrf": token, "kind": "every", "every": "sun 02:00-04:00", "targets": ["mail"],
        "owner": "Otto Oncall", "reason": "patch night"})
    assert added.status_code == 303
    token = csrf_of(ada.get(console.url + "/maintenance", timeout=10).text)
    assert post(ada, console, "/exceptions", {
        "csrf": token, "target": "printer", "check": "*", "owner": "Clerk Kim",
        "reason": "driver replaced in spring", "expires": "+30d"}).status_code == 303
    assert post(ada, console, "/maintenance/1/end", {"csrf": token}).status_code == 303
    store = db(console)
    audit = [(a["actor"], a["action"], json.loads(a["data"]).get("owner"))
             for a in store.audit_entries()]
    store.close()
    assert audit == [("otto", "maintenance add", "Otto Oncall"),
                     ("ada", "exception add", "Clerk Kim"), ("ada", "maintenance end", None)]
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "audit", "verify",
                          "--state-dir", str(console.state)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0 and "3 entries, chain intact" in out.stdout


def test_a_form_with_a_missing_field_comes_back_with_the_error(console):
    otto, ada = console.login("otto"), console.login("ada")
    token = csrf_of(otto.get(console.url + "/maintenance", timeout=10).text)
    answer = post(otto, console, "/maintenance", {"csrf": token, "kind": "once",
                                                  "targets": ["mail"], "start": "now",
                                                  "end": "+2h", "owner": "Otto Oncall",
                                                  "reason": ""})
    assert answer.status_code == 400 and "reason is required" in answer.text
    assert 'value="Otto Oncall"' in answer.text and 'value="+2h"' in answer.text
    answer = post(otto, console, "/maintenance", {"csrf": token, "kind": "once",
                                                  "targets": ["mail"], "start": "someday",
                                                  "end": "+2h", "owner": "O", "reason": "r"})
    assert answer.status_code == 400 and "start: &#39;someday&#39; is not a time" in answer.text
    token = csrf_of(ada.get(console.url + "/maintenance", timeout=10).text)
    answer = post(ada, console, "/exceptions", {"csrf": token, "target": "mail", "owner": "K",
                                                "reason": "r", "expires": ""})
    assert answer.status_code == 400 and "expires is required" in answer.text
    page = otto.get(console.url + "/incidents/1", timeout=10)
    answer = post(otto, console, "/incidents/1/ack", {"csrf": csrf_of(page.text),
                                                      "until": "tomorrowish"})
    assert answer.status_code == 400 and "Until:" in answer.text
    store = db(console)
    assert store.maintenance_windows() == [] and store.exceptions() == []
    assert store.incident(1)["acked_by"] is None
    store.close()


def test_unknown_pages_and_incidents_are_404_pages(console):
    otto = console.login("otto")
    for path in ("/incidents/99", "/nothing-here", "/reports/monthly/2020-01"):
        answer = otto.get(console.url + path, timeout=10)
        assert answer.status_code == 404 and "<h1>" in answer.text, path
    token = csrf_of(otto.get(console.url + "/", timeout=10).text)
    assert post(otto, console, "/incidents/99/ack", {"csrf": token}).status_code == 404
    # no reports.status_page: no public status page, and the menu does not offer one
    for path in ("/status", "/status.json"):
        assert requests.get(console.url + path, timeout=10).status_code == 404, path
    assert 'href="/status"' not in otto.get(console.url + "/", timeout=10).text


def test_ack_from_the_console_is_audited_with_the_user_and_escaped_everywhere(console):
    otto = console.login("otto")
    token = csrf_of(otto.get(console.url + "/incidents/1", timeout=10).text)
    answer = post(otto, console, "/incidents/1/ack", {"csrf": token, "reason": XSS,
                                                      "until": "+4h"})
    assert answer.status_code == 303
    row = incident(console)
    assert row["acked_by"] == "otto" and row["ack_reason"] == XSS
    for path in ("/incidents/1", "/incidents", "/audit"):
        page = otto.get(console.url + path, timeout=10).text
        assert "<script>window.pwned" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page, path
    timeline = otto.get(console.url + "/incidents/1", timeout=10).text
    assert "Acknowledged by otto via console" in timeline
    store = db(console)
    [entry] = store.audit_entries()
    store.close()
    assert (entry["actor"], entry["action"], json.loads(entry["data"])["via"]) == \
        ("otto", "ack", "console")


def test_acknowledge_link_get_shows_post_acknowledges_replay_shows_who(console):
    link = email_link(console)
    scanner = requests.get(link, timeout=10)          # a mail scanner follows the link
    assert scanner.status_code == 200 and "Acknowledge incident 1" in scanner.text
    assert 'value="Ann Owner"' in scanner.text        # the recipient, editable
    assert incident(console)["acked_by"] is None      # ... and nothing happened
    phone = requests.Session()
    token = csrf_of(phone.get(link, timeout=10).text)
    missing = phone.post(link, data={"csrf": token, "by": "", "reason": "r"},
                         headers={"Origin": console.url}, timeout=10)
    assert missing.status_code == 400 and "say who acknowledges it" in missing.text
    no_token = phone.post(link, data={"by": "Ann"}, headers={"Origin": console.url}, timeout=10)
    assert no_token.status_code == 403
    done = phone.post(link, data={"csrf": token, "by": "Ann Owner", "reason": XSS},
                      headers={"Origin": console.url}, timeout=10)
    assert done.status_code == 200 and "Incident 1 acknowledged" in done.text
    assert "&lt;script&gt;" in done.text and "<script>window" not in done.text
    row = incident(console)
    assert (row["acked_by"], row["ack_reason"]) == ("Ann Owner", XSS)
    store = db(console)
    [entry] = store.audit_entries()
    store.close()
    assert (entry["actor"], entry["action"], entry["subject"]) == ("Ann Owner", "ack",
                                                                   "incident 1")
    assert json.loads(entry["data"])["via"] == "link"
    assert json.loads(entry["data"])["recipient"] == "oncall"
    # replayed: shows who acknowledged, and a second POST changes nothing
    again = requests.get(link, timeout=10)
    assert again.status_code == 200 and "Already acknowledged by" in again.text
    replay = phone.post(link, data={"csrf": token, "by": "Mallory", "reason": "mine now"},
                        headers={"Origin": console.url}, timeout=10)
    assert "Already acknowledged by" in replay.text and incident(console)["acked_by"] == \
        "Ann Owner"


def test_expired_forged_and_other_recipient_links_are_refused(console):
    store = Store.open(console.state)
    links = AckLinks(console.config, store, load_key(console.state))
    expired = links.long_link(1, "oncall", datetime.now(UTC) - timedelta(hours=25))
    not_sent = links.long_link(1, "backup", datetime.now(UTC))   # signed, but never sent there
    store.close()
    good = email_link(console)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    other_key = good.rsplit("/", 1)[0] + "/" + sign(b"z" * 32, "ack-link",
                                                    {"i": 1, "r": "oncall", "e": 2 ** 31})
    for link, status, words in ((expired, 410, "This link has expired"),
                                (forged, 403, "This link is not valid"),
                                (other_key, 403, "This link is not valid"),
                                (not_sent, 403, "was not sent to you"),
                                (console.url + "/a/doesnotexist", 403, "not valid")):
        page = requests.get(link, timeout=10)
        assert page.status_code == status and words in page.text, link
        assert 'name="csrf"' not in page.text
        posted = requests.post(link, data={"by": "X", "csrf": "y"},
                               headers={"Origin": console.url}, timeout=10)
        assert posted.status_code == status, link
    assert incident(console)["acked_by"] is None


def test_short_link_from_the_sms_acknowledges(console):
    store = db(console)
    sms = next(r["body"] for r in store.notifications() if r["channel"] == "sms")
    store.close()
    link = re.search(r"(http://\S+/a/\S+)$", sms)[1]
    session = requests.Session()
    page = session.get(link, timeout=10)
    assert page.status_code == 200 and 'value="sms"' in page.text
    done = session.post(link, data={"csrf": csrf_of(page.text), "by": "Dana on call"},
                        headers={"Origin": console.url}, timeout=10)
    assert done.status_code == 200 and incident(console)["acked_by"] == "Dana on call"


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "muni_watchdog", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def test_console_and_command_line_agree_on_every_state(console):
    otto = console.login("otto")
    token = csrf_of(otto.get(console.url + "/", timeout=10).text)
    post(otto, console, "/incidents/1/ack", {"csrf": token, "reason": "on it"})
    out = cli("ack", "1", "--by", "Dana", "--reason", "taking over", "-c", str(console.path),
              "--state-dir", str(console.state))
    assert out.returncode == 0, out.stderr
    status = json.loads(cli("status", "--json", "-c", str(console.path), "--state-dir",
                            str(console.state)).stdout)
    page = otto.get(console.url + "/api/now", timeout=10).json()
    for data in (status, page):
        data.pop("generated_at")
    assert page.pop("worst") == "critical"
    assert page == status and page["incidents"][0]["acked_by"] == "Dana"
    listing = json.loads(cli("incidents", "--all", "--json", "-c", str(console.path),
                             "--state-dir", str(console.state)).stdout)
    assert otto.get(console.url + "/api/incidents?all=1", timeout=10).json() == listing
    html = otto.get(console.url + "/", timeout=10).text
    for check in status["checks"]:
        assert f'data-check="{check["target"]}/{check["check"]}" ' \
            f'data-state="{check["state"]}"' in html
    assert "by Dana" in html


def test_metrics_on_the_console_port(console):
    answer = requests.get(console.url + "/metrics", timeout=30)
    assert answer.status_code == 200
    assert "muni_watchdog_open_incidents 1.0" in answer.text
    assert 'muni_watchdog_check_state{check="tcp",site="Town of Ashby",target="mail"} 2.0' \
        in answer.text


def test_the_demo_narrator_acknowledges_through_a_link_like_a_browser(console):
    from lab.demo import tap_acknowledge
    said = tap_acknowledge(email_link(console), "replacing the cable")
    assert said.startswith("Incident 1 acknowledged: By Ann Owner: replacing the cable")
    assert incident(console)["acked_by"] == "Ann Owner"
    assert tap_acknowledge(email_link(console), "again").startswith("nothing to acknowledge")


def test_version_option_and_audit_with_a_config(console):
    out = cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("muni-watchdog 0.")
    out = cli("audit", "-c", str(console.path), "--state-dir", str(console.state))
    assert out.returncode == 0 and "The audit log is empty." in out.stdout


def test_state_commands_find_the_config_the_daemon_recorded(console, tmp_path):
    """Without -c (and no /etc file), the configuration is the one the daemon of the state
    directory recorded when it started."""
    store = Store.open(console.state)
    store.set_state("config_path", str(console.path))
    store.close()
    env = {k: v for k, v in __import__("os").environ.items() if k != "MUNI_WATCHDOG_CONFIG"}
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "incidents", "--json",
                          "--state-dir", str(console.state)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["incidents"][0]["owner"] == "Ann Owner"


def test_metrics_listener_only_when_its_own_address_is_given(tmp_path):
    """With the console on, /metrics is on the console's port; the stand-alone listener runs
    only when reports.metrics.listen is written out (kept for existing scrapers)."""
    import asyncio
    import types
    import urllib.request

    from muni_watchdog.config.loading import parse_config
    from muni_watchdog.daemon.report_jobs import MetricsEndpoint

    runtime = types.SimpleNamespace(state_dir=tmp_path)
    Store.open(tmp_path).close()
    shared = parse_config(site_config(free_port(), extra="reports:\n  metrics: {}\n"), "t.yaml")
    endpoint = MetricsEndpoint()
    asyncio.run(endpoint.install(shared, runtime))
    assert endpoint._server is None
    port = free_port()
    own = parse_config(site_config(free_port(), extra=f"reports:\n  metrics: {{listen: "
                                   f"127.0.0.1:{port}}}\n"), "t.yaml")
    asyncio.run(endpoint.install(own, runtime))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            assert b"muni_watchdog_open_incidents" in answer.read()
    finally:
        asyncio.run(endpoint.close())


def test_a_live_only_status_page_is_served_without_an_export(tmp_path):
    """reports.status_page without export_dir: the console serves /status, and no job writes
    files anywhere; without the console as well, validate says the page would go nowhere."""
    import asyncio

    from muni_watchdog.config.loading import ConfigError, parse_config
    from muni_watchdog.daemon.status_page_job import JOB_ID, StatusPageExport

    text = site_config(free_port(), extra="reports:\n  status_page: {contact: Call 555-0100}\n")
    path = tmp_path / "town.yaml"
    path.write_text(text)
    state = tmp_path / "state"
    Store.open(state).close()
    server = ConsoleServer(path, state).start()
    try:
        page = requests.get(server.url + "/status", timeout=10)
        assert page.status_code == 200 and "Staff email" in page.text
        assert "Call 555-0100" in page.text
    finally:
        server.stop()

    class Jobs:                                   # what install asks of the runtime
        def __init__(self):
            from apscheduler.schedulers.asyncio import AsyncIOScheduler
            self.scheduler, self.removed = AsyncIOScheduler(), []

        def remove_jobs(self, *ids):
            self.removed.extend(ids)
    jobs = Jobs()
    asyncio.run(StatusPageExport().install(server.config, jobs))
    assert jobs.removed == [JOB_ID] and jobs.scheduler.get_jobs() == []

    nowhere = text[:text.index("  web:\n")] + text[text.index("services:\n"):]   # no site.web
    with pytest.raises(ConfigError) as refused:
        parse_config(nowhere, "town.yaml", check_secrets=False)
    assert "reports.status_page: the status page would go nowhere: give export_dir" in \
        str(refused.value)
