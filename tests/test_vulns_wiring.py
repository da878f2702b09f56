"""The vulnerabilities check wired into the daemon, end to end on 127.0.0.1: the lab sshd
(this machine's real packages), a feed mirror serving feeds built for them (lab/vuln_lab.py),
the daemon's feed job downloading only what the server needs, and an SMTP server capturing
the alert — which names the service the server runs, its owner and the response promise.
Then the failure paths: no feed at all is UNKNOWN (never OK), a stale copy has its age said,
and the CLI updates and shows the feeds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.servers import free_port
from lab.ssh_lab import SshLab
from lab.vuln_lab import FEED_PATHS, FeedMirror, build_demo_feeds, feeds_yaml
from muni_watchdog.checks.vulns.feeds import FeedSource, read_copy, update_feed
from muni_watchdog.checks.vulns.settings import VulnerabilitySettings, feed_due
from muni_watchdog.core.model import CheckKey, State
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.vuln_feeds import VulnerabilityFeeds
from muni_watchdog.store.database import Store

pytestmark = pytest.mark.integration
KEY = CheckKey("file-server", "vulnerabilities")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def lab():
    server = SshLab().start()
    yield server
    server.stop()


@pytest.fixture
def mirror():
    feeds = build_demo_feeds(datetime.now(UTC), fix_days=9)
    server = FeedMirror({FEED_PATHS["debian-tracker"]: feeds.tracker,
                         FEED_PATHS["osv-debian"]: feeds.osv,
                         FEED_PATHS["kev"]: feeds.kev}).start()
    server.expected = feeds.expected  # type: ignore[attr-defined]
    yield server
    server.stop()


def write_config(path: Path, lab: SshLab, smtp_port: int, vulnerabilities: str,
                 check: str = "") -> None:
    known = lab.pin(path.parent / "known_hosts")
    path.write_text(f"""\
site:
  name: Testville
{vulnerabilities}services:
  - id: records
    name: Clerk's records
    priority: 2
    rto: 8h
    rpo: 24h
    response_sla: 4h
    owner: {{name: Pat Kim, contact: pat@town.example}}
    backup_owner: {{name: Dana Reyes, contact: dana@msp.example}}
    targets: [file-server]
targets:
  - id: file-server
    kind: ssh
    host: 127.0.0.1
    ssh:
      user: {lab.user}
      port: {lab.port}
      key_file: {lab.client_key}
      known_hosts: {known}
    checks:
      - check: vulnerabilities
{check}notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_port}?from=w@town.example&to=oncall@msp.example
  routes: [{{name: all, channels: [oncall]}}]
  weekly_test: null
""")


def run_daemon(config: Path, state: Path, until, timeout: float = 60.0):
    """Run the daemon with the feed job (ticking every second) until ``until(store)``."""
    feeds = VulnerabilityFeeds(tick=1.0)
    daemon = Daemon(config, state, jobs=[feeds])

    async def scenario():
        task = asyncio.ensure_future(daemon.run())
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                await asyncio.sleep(0.2)
                if daemon.store is not None and until(daemon.store):
                    return True
            return False
        finally:
            daemon.stopping.set()
            await task
    return asyncio.run(scenario())


def status(store: Store):
    return store.load_status(KEY)[0]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_daemon_downloads_what_the_server_needs_and_a_known_exploited_flaw_pages(
        lab, mirror, smtp_server, tmp_path):
    config = tmp_path / "c.yaml"
    write_config(config, lab, smtp_server.port, feeds_yaml(mirror))
    state = tmp_path / "state"
    done = run_daemon(config, state, lambda store: bool(smtp_server.messages))
    assert done, "no alert email"
    # The first run found a Debian server with no feed for it yet (UNKNOWN, soft); the job
    # then fetched the Debian feeds — only those, and KEV — and ran the check again.
    paths = {path for path, _ in mirror.requests}
    assert paths == set(FEED_PATHS.values())
    message = smtp_server.messages[0]
    subject = message["Subject"]
    assert subject.startswith("[Testville] [P2 CRITICAL] Clerk's records — file-server/vulnerabilities: "
                              "2 fixable CVEs, 1 known exploited: CVE-2023-4911 glibc")
    text = body(message)
    assert "Service: Clerk's records (priority 2)" in text
    assert "Owner: Pat Kim <pat@town.example>" in text
    assert "Respond within: 4 hours" in text
    store = Store.open(state, readonly=True)
    try:
        [row] = [r for r in store.current_states() if r["check_name"] == "vulnerabilities"]
        items = {(i["cve"], i["package"]): i for i in json.loads(row["items"])}
        assert set(items) == mirror.expected.findings
        assert items[("CVE-2023-4911", "glibc")]["services"] == ["Clerk's records"]
        assert json.loads(row["memory"])["system"] == "debian"
    finally:
        store.close()
    raw = state / "vulns" / "raw"
    assert {p.name for p in raw.glob("*.data")} == {"debian-tracker.data", "osv-debian.data",
                                                     "kev.data"}


def test_no_feed_at_all_is_unknown_never_ok(lab, smtp_server, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    feeds = (f"  vulnerabilities:\n    feeds:\n"
             f"      - {{name: debian-tracker, url: {dead}/tracker}}\n"
             f"      - {{name: kev, url: {dead}/kev}}\n")
    config = tmp_path / "c.yaml"
    write_config(config, lab, smtp_server.port, feeds,
                 "        retry_interval: 1s\n        max_attempts: 2\n")
    state = tmp_path / "state"
    tried = state / "vulns" / "raw" / "debian-tracker.meta.json"
    assert run_daemon(config, state, lambda store: bool(smtp_server.messages)
                      and tried.is_file())
    store = Store.open(state, readonly=True)
    try:
        found = status(store)
    finally:
        store.close()
    assert found is not None and found.hard_state is State.UNKNOWN
    assert "no downloaded vulnerability feed covers Debian:12" in found.summary
    assert smtp_server.messages, "an UNKNOWN that is hard is alerted"
    assert "[P2 UNKNOWN] Clerk's records — file-server/vulnerabilities" in \
        smtp_server.messages[0]["Subject"]
    # The job tried the Debian feed once the server was seen, and recorded why it failed.
    meta = json.loads((state / "vulns" / "raw" / "debian-tracker.meta.json").read_text())
    assert "Connection refused" in meta["last_error"]


def test_stale_copies_are_used_offline_with_their_age_said(lab, mirror, smtp_server,
                                                          tmp_path):
    state = tmp_path / "state"
    five_days_ago = datetime.now(UTC) - timedelta(days=5)
    for name, kind in (("debian-tracker", "debian-tracker"), ("osv-debian", "osv"),
                       ("kev", "kev")):
        result = update_feed(FeedSource(name, mirror.url(FEED_PATHS[name]), kind),
                             state / "vulns", five_days_ago)
        assert not result.error
    config = tmp_path / "c.yaml"
    write_config(config, lab, smtp_server.port, feeds_yaml(mirror))
    mirror.stop()   # offline from now on

    def stale_seen(store: Store) -> bool:
        found = status(store)
        return found is not None and "last download failed" in found.summary
    assert run_daemon(config, state, stale_seen), "no stale result"
    store = Store.open(state, readonly=True)
    try:
        found = status(store)
    finally:
        store.close()
    # The known-exploited finding still pages from the last copies; their age is said.
    assert found.state is State.CRITICAL
    assert "vulnerability feed debian-tracker is 5 days old (limit 2 days): last download " \
        "failed: " in found.summary
    copy = read_copy(state / "vulns" / "raw", "debian-tracker")
    assert copy is not None and copy.last_error


def test_cli_update_and_status(mirror, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("site:\n  name: Testville\n" + feeds_yaml(mirror) + """\
targets:
  - id: srv
    kind: ssh
    host: 127.0.0.1
    ssh: {user: w, key_file: /nonexistent}
    checks: [{check: vulnerabilities}]
""")
    state = tmp_path / "state"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "muni_watchdog", "vulns", *args, "-c",
                               str(config), "--state-dir", str(state)], capture_output=True,
                              text=True, timeout=120, cwd=ROOT)
    before = cli("status", "--json")
    assert before.returncode == 3          # KEV needed (a vulnerabilities check), no copy
    rows = {r["feed"]: r for r in json.loads(before.stdout)["feeds"]}
    assert rows["kev"]["needed"] and rows["kev"]["age_seconds"] is None
    assert not rows["debian-tracker"]["needed"]   # no Debian server seen yet

    only_kev = cli("update")
    assert only_kev.returncode == 0, only_kev.stderr
    assert "only the KEV catalogue is fetched" in only_kev.stdout
    assert "kev" in only_kev.stdout and "debian-tracker" not in only_kev.stdout
    everything = cli("update", "--all")
    assert everything.returncode == 0, everything.stderr
    assert "debian-tracker  downloaded" in everything.stdout
    again = cli("update", "--feed", "kev")
    assert "unchanged" in again.stdout

    shown = cli("status")
    assert shown.returncode == 0, shown.stdout
    line = next(ln for ln in shown.stdout.splitlines() if ln.startswith("kev "))
    assert "yes (always)" in line and f"{len(mirror.files[FEED_PATHS['kev']])} B" in line
    mirror.stop()
    failed = cli("update", "--feed", "kev")
    assert failed.returncode == 1 and "FAILED" in failed.stdout
    assert "stays in use" in failed.stdout


def test_a_failed_download_waits_an_hour_and_a_new_mirror_is_fetched_at_once():
    source = VulnerabilitySettings().sources()[0]
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    fresh = {"url": source.url, "verified_at": (now - timedelta(hours=2)).isoformat(),
             "last_attempt": (now - timedelta(hours=2)).isoformat()}
    assert not feed_due(source, fresh, True, now, 86400)
    old = {**fresh, "verified_at": (now - timedelta(days=1, minutes=1)).isoformat()}
    assert feed_due(source, old, True, now, 86400)
    failing = {**old, "last_error": "refused",
               "last_attempt": (now - timedelta(minutes=20)).isoformat()}
    assert not feed_due(source, failing, True, now, 86400)
    assert feed_due(source, {**failing, "last_attempt": (now - timedelta(minutes=61))
                             .isoformat()}, True, now, 86400)
    assert feed_due(source, {**fresh, "url": "https://mirror.example/x"}, True, now, 86400)
    assert feed_due(source, {}, False, now, 86400)


def test_check_once_reads_the_feeds_from_the_state_directory(lab, mirror, smtp_server,
                                                             tmp_path):
    config = tmp_path / "c.yaml"
    write_config(config, lab, smtp_server.port, feeds_yaml(mirror))
    state = tmp_path / "state"

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "muni_watchdog", *args, "-c", str(config),
                               "--state-dir", str(state)], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
    without = cli("check", "--json")
    [row] = json.loads(without.stdout)["results"]
    assert row["status"] == "unknown" and "no downloaded vulnerability feed" in row["summary"]
    assert cli("vulns", "update", "--all").returncode == 0
    found = cli("check", "--json")
    assert found.returncode == 2, found.stderr
    [row] = json.loads(found.stdout)["results"]
    assert row["summary"].startswith("2 fixable CVEs, 1 known exploited: CVE-2023-4911")
    assert {(i["cve"], i["package"]) for i in row["items"]} == mirror.expected.findings
