"""The people-facing alert commands, run as processes against a real state database."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.cli.common import WhenError, parse_when
from muni_watchdog.config.loading import load_config
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs
from muni_watchdog.store.database import Store

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """\
site: {name: Testville, timezone: America/Chicago}
services:
  - id: email
    name: Staff email
    priority: 1
    rto: 4h
    rpo: 1d
    owner: {name: Ann Owner, contact: ann@town.example}
    backup_owner: {name: Bo, contact: bo@msp.example}
    targets: [mail]
targets:
  - id: mail
    kind: tcp
    host: 10.0.0.2
    checks: [{check: tcp, port: 25, max_attempts: 1}]
notify:
  channels: [{name: oncall, url: "json://127.0.0.1:9/x"}]
  routes: [{name: all, channels: [oncall]}]
"""


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    config = load_config(path)
    store = Store.open(tmp_path / "state")
    spec = build_specs(config)[0]
    now = datetime.now(UTC)
    decision = decide(None, State.CRITICAL, "port 25: refused", spec.policy, now)
    store.record_run(spec.key, now, 0.1, Outcome.of([Result(State.CRITICAL, "refused")]),
                     decision.status, {}, spec.services, spec.priority,
                     decision.events)
    AlertProcessor(config, store, lambda: now).process()
    store.close()
    return path, tmp_path / "state"


def cli(*args):
    return subprocess.run([sys.executable, "-m", "muni_watchdog", *args], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def test_incidents_ack_and_audit(site):
    config, state = site
    out = cli("incidents", "-c", str(config), "--state-dir", str(state), "--json")
    [incident] = json.loads(out.stdout)["incidents"]
    assert (incident["id"], incident["state"], incident["owner"], incident["acked_by"]) == \
        (1, "critical", "Ann Owner", None)
    text = cli("incidents", "-c", str(config), "--state-dir", str(state)).stdout
    assert text.startswith("#1 P1 CRITICAL mail/tcp since") and "NOT acknowledged" in text

    out = cli("ack", "1", "--by", "Dana", "--reason", "rebooting", "--until", "+4h", "-c",
              str(config), "--state-dir", str(state))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("incident 1 (mail/tcp) acknowledged by Dana until ")
    status = json.loads(cli("status", "--json", "-c", str(config), "--state-dir",
                            str(state)).stdout)
    assert status["incidents"][0]["acked_by"] == "Dana"
    assert status["incidents"][0]["owner"] == "Ann Owner"
    table = cli("status", "-c", str(config), "--state-dir", str(state)).stdout
    assert "Open incidents (1):" in table and "by Dana" in table

    assert cli("ack", "7", "--by", "Dana", "-c", str(config), "--state-dir",
               str(state)).returncode == 2
    audit = json.loads(cli("audit", "--json", "--state-dir", str(state)).stdout)["audit"]
    assert [(a["actor"], a["action"], a["subject"], a["reason"]) for a in audit] == [
        ("Dana", "ack", "incident 1", "rebooting")]
    out = cli("audit", "verify", "--state-dir", str(state))
    assert out.returncode == 0 and out.stdout.strip() == "OK: 1 entries, chain intact"


def test_maintenance_and_exceptions_are_recorded_and_audited(site):
    config, state = site
    out = cli("maintenance", "add", "--service", "email", "--every", "sun 02:00-04:00",
              "--owner", "Dana", "--reason", "patch night", "-c", str(config), "--state-dir",
              str(state))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "maintenance 1 added: every sun 02:00-04:00 (patch night, Dana)"
    out = cli("maintenance", "add", "--target", "mail", "--start", "2026-12-01 22:00", "--end",
              "2026-12-01 23:00", "--owner", "Dana", "--reason", "disk swap", "-c", str(config),
              "--state-dir", str(state))
    assert out.returncode == 0, out.stderr
    listing = cli("maintenance", "list", "-c", str(config), "--state-dir", str(state)).stdout
    assert "#1 every sun 02:00-04:00: email — patch night (Dana)" in listing
    assert "#2 2026-12-01 22:00 to 2026-12-01 23:00: mail — disk swap (Dana)" in listing
    bad = cli("maintenance", "add", "--target", "nope", "--start", "now", "--end", "+1h",
              "--owner", "D", "--reason", "r", "-c", str(config), "--state-dir", str(state))
    assert bad.returncode == 2 and "no target named nope (known: " in bad.stderr
    bad = cli("maintenance", "add", "--site", "--every", "someday 02:00-04:00", "--owner", "D",
              "--reason", "r", "-c", str(config), "--state-dir", str(state))
    assert bad.returncode == 2 and "unknown day 'someday'; use mon..sun" in bad.stderr
    assert cli("maintenance", "end", "2", "--by", "Dana", "-c", str(config), "--state-dir",
               str(state)).returncode == 0

    out = cli("exception", "add", "--target", "mail", "--owner", "Clerk Kim", "--reason",
              "voting PC: updates deferred until after the election", "--expires",
              "2030-11-10", "-c", str(config), "--state-dir", str(state))
    assert out.returncode == 0, out.stderr
    listing = cli("exception", "list", "-c", str(config), "--state-dir", str(state)).stdout
    assert listing.startswith("#1 mail/* until 2030-11-10 00:00: voting PC")
    no_expiry = cli("exception", "add", "--target", "mail", "--owner", "K", "--reason", "r",
                    "-c", str(config), "--state-dir", str(state))
    assert no_expiry.returncode == 2 and "--expires" in no_expiry.stderr
    assert cli("exception", "end", "1", "--by", "Kim", "-c", str(config), "--state-dir",
               str(state)).returncode == 0
    actions = [a["action"] for a in json.loads(cli("audit", "--json", "--state-dir",
                                                   str(state)).stdout)["audit"]]
    assert actions == ["maintenance add", "maintenance add", "maintenance end",
                       "exception add", "exception end"]
    assert cli("audit", "verify", "--state-dir", str(state)).returncode == 0


@pytest.mark.parametrize("text, expected", [
    ("now", "2026-11-22T20:00:00+00:00"),
    ("+2h", "2026-11-22T22:00:00+00:00"),
    ("90m", "2026-11-22T21:30:00+00:00"),
    ("2026-12-01 22:00", "2026-12-01T22:00:00-06:00"),
    ("2026-12-01", "2026-12-01T00:00:00-06:00"),
    ("2026-12-01T10:00:00+00:00", "2026-12-01T10:00:00+00:00"),
])
def test_parse_when(text, expected):
    now = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    assert parse_when(text, "America/Chicago", now).isoformat() == expected


def test_parse_when_rejects_nonsense():
    with pytest.raises(WhenError, match="is not a time"):
        parse_when("next tuesday", "UTC", datetime.now(UTC))
