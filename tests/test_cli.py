"""The command line: help everywhere, validate's exit codes, and the check --json contract."""

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from lab.servers import free_port
from muni_watchdog.cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "muni_watchdog"]


def cli(*args, **kw):
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, **kw)


def subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", subcommands())
def test_every_command_has_help_and_is_in_the_readme(command):
    out = cli(command, "--help")
    assert out.returncode == 0
    assert out.stdout.startswith(f"usage: muni-watchdog {command}")
    assert f"muni-watchdog {command}" in (ROOT / "README.md").read_text()


def test_version():
    out = cli("version")
    assert out.returncode == 0 and out.stdout.startswith("muni-watchdog 0.")


def test_validate_exit_codes(tmp_path):
    ok = cli("validate", "--no-secrets", "-c", "etc/muni-watchdog.example.yaml")
    assert ok.returncode == 0, ok.stderr
    assert "OK — 4 services, 9 targets, 26 checks" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {name: T, timezone: Nowhere/Town}\nservices: 3\n")
    out = cli("validate", "-c", str(bad))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"{bad}:1: site.timezone: 'Nowhere/Town' is not a time zone; use an IANA name such as "
        "America/New_York or Europe/Berlin",
        f"{bad}:2: services: expected a list here (items starting with '- '), got 3",
        f"{bad}: 2 errors; nothing was started",
    ]


def check_config(tmp_path, web_url: str, tcp_port: int) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"""\
site: {{name: T}}
services:
  - id: web
    name: Website
    priority: 2
    rto: 4h
    rpo: 1d
    owner: {{name: A, contact: a@t.example}}
    backup_owner: {{name: B, contact: b@t.example}}
    targets: [web, port]
targets:
  - id: web
    kind: http
    host: 127.0.0.1
    checks: [{{check: http, url: "{web_url}", keyword: Welcome}}]
  - id: port
    kind: tcp
    host: 127.0.0.1
    checks: [{{check: tcp, port: {tcp_port}}}]
""")
    return path


def test_check_json_contract(tmp_path, http_server, tcp_listener):
    config = check_config(tmp_path, http_server.url, tcp_listener.port)
    out = cli("check", "-c", str(config), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"checked_at", "results"}
    assert datetime.fromisoformat(doc["checked_at"]).tzinfo is not None
    assert [(r["target"], r["check"]) for r in doc["results"]] == [("web", "http"),
                                                                  ("port", "tcp")]
    for result in doc["results"]:
        assert set(result) == {"services", "target", "check", "status", "summary", "metrics",
                               "items"}
        assert result["services"] == ["web"] and result["status"] == "ok"
        assert isinstance(result["summary"], str) and isinstance(result["items"], list)
        for metric in result["metrics"]:
            assert set(metric) == {"name", "value", "unit", "warn", "crit"}
            assert isinstance(metric["value"], int | float)
    web = doc["results"][0]
    rt = next(m for m in web["metrics"] if m["name"] == "response_time")
    assert (rt["unit"], rt["warn"], rt["crit"]) == ("s", 5.0, None)


@pytest.mark.parametrize("status, code, word", [(200, 0, "OK"), (500, 2, "CRITICAL")])
def test_check_table_and_exit_code(tmp_path, http_server, tcp_listener, status, code, word):
    http_server.status = status
    config = check_config(tmp_path, http_server.url, tcp_listener.port)
    out = cli("check", "-c", str(config), "--target", "web")
    assert out.returncode == code
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["STATUS", "TARGET", "CHECK", "SERVICES", "SUMMARY"]
    assert lines[1].split()[:4] == [word, "web", "http", "web"] and len(lines) == 2


def test_check_unknown_target_and_closed_port(tmp_path, http_server):
    config = check_config(tmp_path, http_server.url, free_port())
    out = cli("check", "-c", str(config), "--target", "nope")
    assert out.returncode == 2 and "no target named nope" in out.stderr
    out = cli("check", "-c", str(config), "--json")
    assert out.returncode == 2
    assert json.loads(out.stdout)["results"][1]["status"] == "critical"


def test_status_without_a_database(tmp_path):
    out = cli("status", "--state-dir", str(tmp_path))
    assert out.returncode == 3 and "no state database" in out.stderr


def test_configuration_reference_is_current():
    from muni_watchdog.config.reference import render_reference
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == render_reference(), \
        "regenerate with: .venv/bin/python -m muni_watchdog.config.reference > docs/configuration.md"
