"""Vulnerabilities and open doors in the monthly report: counted from the checks' last results
in the state database, the oldest fixable known-exploited finding in a plain sentence for
leadership, the details (each naming the services it endangers) for the technician, and the
checks that could not tell listed, never counted as clean."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import CheckKey, Metric, Outcome, Result, State
from muni_watchdog.core.transitions import Policy, decide
from muni_watchdog.reports.history import load_history, month_bounds
from muni_watchdog.reports.monthly import build_monthly_report
from muni_watchdog.reports.render import render_monthly_html, render_monthly_text
from muni_watchdog.reports.security import (
    load_security_summary,
    security_lines,
    security_sentence,
    security_summary,
)
from muni_watchdog.store.database import Store

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CONFIG = """
site: {name: Town of Example, timezone: UTC}
services:
  - id: records
    name: Clerk's records
    priority: 2
    rto: 8h
    rpo: 24h
    owner: {name: Pat, contact: pat@town.example}
    backup_owner: {name: Dana, contact: dana@msp.example}
    targets: [files, db, switch]
targets:
  - id: files
    kind: ssh
    host: 192.0.2.30
    description: File server
    ssh: {user: w, key_file: /nonexistent}
    checks: [{check: vulnerabilities}]
  - id: db
    kind: ssh
    host: 192.0.2.31
    ssh: {user: w, key_file: /nonexistent}
    checks: [{check: vulnerabilities, name: cves}, {check: disk}]
  - id: web
    kind: ssh
    host: 192.0.2.32
    ssh: {user: w, key_file: /nonexistent}
    checks: [{check: vulnerabilities}]
  - id: switch
    kind: snmp
    host: 192.0.2.2
    snmp: {community_file: /nonexistent}
    checks: [{check: system}, {check: exposure}]
"""
POLICY = Policy(check_interval=3600, retry_interval=60, max_attempts=1, recovery_attempts=1)


def config():
    return parse_config(CONFIG, "town.yaml", check_secrets=False)


def vuln(cve: str, package: str, fix_days: float | None, kev: bool = False,
         fixed: str | None = "2.0") -> dict:
    item = {"kind": "vulnerability", "cve": cve, "package": package, "installed": "1.0",
            "fixed": fixed, "status": "fixable" if fixed else "no fix yet", "kev": kev,
            "services": ["Clerk's records"]}
    if fixed:
        item["fix_available_days"] = fix_days
    if kev:
        item["kev_date_added"] = "2023-11-21"
    return item


def door(finding: str, severity: str, accepted: bool = False) -> dict:
    return {"kind": "exposure", "finding": finding, "where": "tcp/23", "severity": severity,
            "title": f"{finding} open", "fix": f"Turn {finding} off.", "accepted": accepted,
            "services": ["Clerk's records"]}


def record(store: Store, target: str, check: str, state: State, items: list[dict],
           summary: str = "", at: datetime = NOW - timedelta(hours=2),
           metrics: tuple[Metric, ...] = ()) -> None:
    outcome = Outcome.of([Result(state, summary or state.label)], metrics, items=items)
    decision = decide(None, state, outcome.summary, POLICY, at, True)
    store.record_run(CheckKey(target, check), at, 0.1, outcome, decision.status, {}, (), 2,
                     decision.events)


def town_store() -> Store:
    store = Store.memory()
    record(store, "files", "vulnerabilities", State.CRITICAL, [
        vuln("CVE-2023-4911", "glibc", 9.4, kev=True), vuln("CVE-2025-6020", "pam", 1.0),
        vuln("CVE-2016-2781", "coreutils", None, fixed=None)])
    # The items are bounded (fixable first); the metrics count all: 1,200 without a fix.
    record(store, "db", "cves", State.CRITICAL, [vuln("CVE-2024-3094", "xz-utils", 2.0,
                                                      kev=True)],
           metrics=(Metric("fixable_cves", 1), Metric("unfixed_cves", 1200)))
    record(store, "db", "disk", State.OK, [{"kind": "filesystem", "mount": "/"}])
    record(store, "web", "vulnerabilities", State.UNKNOWN, [],
           "no downloaded vulnerability feed covers Debian:12")
    record(store, "switch", "exposure", State.CRITICAL, [
        door("telnet", "critical"), door("ftp", "warning"), door("rdp", "warning", True)])
    return store


def test_counts_the_oldest_known_exploited_and_says_it_plainly():
    store = town_store()
    summary = load_security_summary(store, config())
    assert (summary.servers_checked, summary.servers_with_fixable, summary.fixable,
            summary.unfixed) == (2, 2, 3, 1201)
    assert summary.servers_known_exploited == 2
    oldest = summary.oldest_known_exploited
    assert (oldest.target, oldest.cve, oldest.fix_days) == ("files", "CVE-2023-4911", 9.4)
    assert oldest.target_name == "File server" and oldest.services == ("Clerk's records",)
    assert (len(summary.doors), summary.critical_doors, summary.accepted_doors) == (2, 1, 1)
    assert summary.unknown == [("web", "vulnerabilities",
                                "no downloaded vulnerability feed covers Debian:12")]
    assert security_sentence(summary) == (
        "2 servers have a flaw that criminals are known to exploit; a fix has been available "
        "for 9 days. 1 device has 2 open doors an attacker would try first, 1 of them "
        "serious. 1 security check could not tell and is listed below.")
    lines = security_lines(summary)
    assert lines[0] == ("Known vulnerabilities: 3 fixable flaws on 2 servers of 2 checked, 2 "
                        "known to be exploited; 1201 without a fix yet (listed, not "
                        "alarmed).")
    assert ("Known exploited: File server (Clerk's records): CVE-2023-4911 in glibc 1.0, "
            "fixed in 2.0, available for 9 days.") in lines
    assert ("Open door on switch (Clerk's records): telnet open (tcp/23, critical). Fix: "
            "Turn telnet off.") in lines
    assert lines[-1] == ("Could not tell (vulnerabilities) on web: no downloaded "
                         "vulnerability feed covers Debian:12")


def test_nothing_found_is_said_and_no_checks_says_nothing():
    clean = [{"target": "files", "check_name": "vulnerabilities", "state": 0,
              "items": json.dumps([vuln("CVE-1", "pam", 1.0)]), "last_check": None},
             {"target": "switch", "check_name": "exposure", "state": 0, "items": "[]",
              "last_check": None}]
    summary = security_summary(clean, config())
    assert security_sentence(summary) == (
        "No server has a flaw that criminals are known to exploit (1 other fixable flaw waits "
        "for updates). No open doors were found on the devices checked.")
    assert security_sentence(security_summary([], config())) == ""
    assert security_lines(security_summary([], config())) == []


def test_monthly_report_carries_it_in_the_paragraph_and_a_section():
    store = town_store()
    start, end = month_bounds(2026, 11, "UTC")
    report = build_monthly_report(load_history(store, start, end), config(), 2026, 11, NOW)
    assert report.security is not None
    assert report.summary.endswith("2 servers have a flaw that criminals are known to "
                                   "exploit; a fix has been available for 9 days. 1 device "
                                   "has 2 open doors an attacker would try first, 1 of them "
                                   "serious. 1 security check could not tell and is listed "
                                   "below.")
    text = render_monthly_text(report)
    assert "KNOWN VULNERABILITIES AND OPEN DOORS" in text
    assert "- Known exploited: File server (Clerk's records): CVE-2023-4911" in text
    html = render_monthly_html(report)
    assert "Known vulnerabilities and open doors" in html
    assert "Clerk&#x27;s records" in html and "<script" not in html
    # A month long past: today's findings say nothing about it.
    old = build_monthly_report(load_history(store, start, end), config(), 2026, 11,
                               NOW + timedelta(days=30))
    assert old.security is None and "criminals" not in old.summary
