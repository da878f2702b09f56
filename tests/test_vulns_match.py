"""Matching installed packages with advisories, and judging the findings (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.checks.ssh.installed import InstalledPackage, InstalledSoftware, OsIdentity
from muni_watchdog.checks.vulns.index import FeedState, FeedView
from muni_watchdog.checks.vulns.judge import evaluate_vulnerabilities
from muni_watchdog.checks.vulns.kev import KevEntry
from muni_watchdog.checks.vulns.match import match, package_names, verdict
from muni_watchdog.checks.vulns.params import VulnParams
from muni_watchdog.checks.vulns.records import Advisory, Range, ecosystem_of
from muni_watchdog.core.model import CheckContext, State

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DEBIAN = OsIdentity("debian", "12", "bookworm", pretty_name="Debian GNU/Linux 12 (bookworm)")
ECO = ecosystem_of(DEBIAN)
FRESH = (FeedState("debian-tracker", NOW - timedelta(hours=2)),)
KEV_STATE = FeedState("kev", NOW - timedelta(hours=5))
OPENSSH = [InstalledPackage(n, "1:9.2p1-2+deb12u2", "openssh", "1:9.2p1-2+deb12u2", "amd64")
           for n in ("openssh-client", "openssh-server", "openssh-sftp-server")]
REGRESSHION = Advisory("Debian:12", "openssh", "DSA-5724-1", ("CVE-2024-6387",),
                       (Range(None, "1:9.2p1-2+deb12u3", None),), severity="high",
                       published="2024-07-01T00:00:00Z", fix_seen=NOW.isoformat())


def host(*packages: InstalledPackage, internet: bool = False) -> InstalledSoftware:
    return InstalledSoftware(DEBIAN, "dpkg", tuple(packages), internet_facing=internet)


def view(*advisories: Advisory, kev=None, feeds=FRESH, kev_state=KEV_STATE, problems=()):
    by_package: dict[str, list[Advisory]] = {}
    for a in advisories:
        by_package.setdefault(a.package, []).append(a)
    return FeedView(ECO, {k: tuple(v) for k, v in by_package.items()}, feeds,
                    kev if kev is not None else {}, kev_state, problems)


def run(installed, feed_view, memory=None, now=NOW, **params):
    return evaluate_vulnerabilities(installed, feed_view, VulnParams(**params),
                                    CheckContext(now, memory or {}))


def test_the_summary_a_technician_acts_on():
    kev = {"CVE-2024-6387": KevEntry("CVE-2024-6387", "2024-07-10")}
    low = Advisory("Debian:12", "tar", "CVE-2026-0001", ("CVE-2026-0001",),
                   (Range(None, "1.34+dfsg-1.2+deb12u2", None),), severity="low")
    tar = InstalledPackage("tar", "1.34+dfsg-1.2+deb12u1", "tar", "1.34+dfsg-1.2+deb12u1")
    result = run(host(*OPENSSH, tar), view(REGRESSHION, low, kev=kev))
    outcome = result.outcome
    assert outcome.state is State.CRITICAL
    assert outcome.summary == ("2 fixable CVEs, 1 known exploited: CVE-2024-6387 openssh "
                               "(3 packages) 1:9.2p1-2+deb12u2 → 1:9.2p1-2+deb12u3, fix "
                               "available for 874 days 12 hours")
    item = next(i for i in outcome.items if i["cve"] == "CVE-2024-6387")
    assert item["kev"] and item["kev_date_added"] == "2024-07-10" and item["state"] == "critical"
    assert item["binaries"][0] == "openssh-client 1:9.2p1-2+deb12u2"
    assert item["fix_available_since"] == "2024-07-01T00:00:00+00:00"  # the DSA's date
    assert outcome.items[0]["cve"] == "CVE-2024-6387"  # known exploited first
    metrics = {m.name: m.value for m in outcome.metrics}
    assert metrics["fixable_cves"] == 2 and metrics["known_exploited_fixable"] == 1


def test_kev_with_a_fix_is_critical_at_once_even_if_the_fix_is_new():
    fresh = Advisory("Debian:12", "openssh", "CVE-2024-6387", ("CVE-2024-6387",),
                     (Range(None, "1:9.2p1-2+deb12u3", None),), severity="low",
                     fix_seen=NOW.isoformat(), source="debian-tracker")
    kev = {"CVE-2024-6387": KevEntry("CVE-2024-6387", "2024-07-10")}
    assert run(host(*OPENSSH), view(fresh, kev=kev)).outcome.state is State.CRITICAL
    assert run(host(*OPENSSH), view(fresh)).outcome.state is State.OK


@pytest.mark.parametrize(("severity", "days", "internet", "state"), [
    ("high", 1, False, State.OK), ("high", 3, False, State.WARNING),
    ("high", 13, False, State.WARNING), ("high", 14, False, State.CRITICAL),
    ("high", 7, True, State.CRITICAL), ("critical", 20, False, State.CRITICAL),
    ("medium", 13, False, State.OK), ("medium", 14, False, State.WARNING),
    ("medium", 300, False, State.WARNING), ("unknown", 14, False, State.WARNING),
    ("low", 300, False, State.OK), ("negligible", 300, False, State.OK)])
def test_by_severity_and_fix_age(severity, days, internet, state):
    advisory = Advisory("Debian:12", "openssh", "CVE-2024-6387", ("CVE-2024-6387",),
                        (Range(None, "1:9.2p1-2+deb12u3", None),), severity=severity,
                        fix_seen=(NOW - timedelta(days=days)).isoformat())
    assert run(host(*OPENSSH, internet=internet), view(advisory)).outcome.state is state


def test_thresholds_are_the_patches_checks():
    assert VulnParams().security_warn_age == 3 * 86400
    assert VulnParams().security_crit(False) == 14 * 86400
    assert VulnParams().security_crit(True) == 7 * 86400
    assert VulnParams(security_crit_age="5d").security_crit(True) == 5 * 86400


def test_no_fix_yet_is_listed_not_alarmed():
    open_cve = Advisory("Debian:12", "openssh", "CVE-2023-51767", ("CVE-2023-51767",),
                        (Range(None, None, None),), severity="high")
    outcome = run(host(*OPENSSH), view(open_cve)).outcome
    assert outcome.state is State.OK
    assert outcome.summary == ("no fixable CVEs in 3 installed packages, 1 CVE without a fix "
                               "yet (listed, not alarmed), feed data 5 hours old")
    assert outcome.items[0]["status"] == "no fix yet" and outcome.items[0]["fixed"] is None


def test_source_version_not_binary_version_is_compared():
    """bsdutils 1:2.38.1-5+deb12u3 is built from util-linux 2.38.1-5+deb12u3: a fix in
    util-linux 2.38.1-5+deb12u4 is missing, though the binary's epoch sorts it above."""
    bsd = InstalledPackage("bsdutils", "1:2.38.1-5+deb12u3", "util-linux", "2.38.1-5+deb12u3")
    fix = Advisory("Debian:12", "util-linux", "CVE-2026-9999", ("CVE-2026-9999",),
                   (Range(None, "2.38.1-5+deb12u4", None),), severity="high")
    findings, problems = match(host(bsd), view(fix))
    assert [(f.vuln, f.installed, f.fixed) for f in findings] == \
        [("CVE-2026-9999", "2.38.1-5+deb12u3", "2.38.1-5+deb12u4")]
    assert problems == []


def test_binnmu_source_version_matches_the_feed():
    bash = InstalledPackage("bash", "5.2.15-2+b8", "bash", "5.2.15-2")
    fixed_in_source = Advisory("Debian:12", "bash", "CVE-2026-1", ("CVE-2026-1",),
                               (Range(None, "5.2.15-2+deb12u1", None),))
    assert match(host(bash), view(fixed_in_source))[0][0].installed == "5.2.15-2"


def test_a_fixed_package_has_no_finding_and_the_same_cve_is_one_finding():
    current = [InstalledPackage(p.name, "1:9.2p1-2+deb12u10", "openssh", "1:9.2p1-2+deb12u10")
               for p in OPENSSH]
    assert match(host(*current), view(REGRESSHION))[0] == []
    tracker_row = Advisory("Debian:12", "openssh", "CVE-2024-6387", ("CVE-2024-6387",),
                           (Range(None, "1:9.2p1-2+deb12u3", None),), severity="high",
                           source="debian-tracker")
    findings, _ = match(host(*OPENSSH), view(REGRESSHION, tracker_row))
    assert len(findings) == 1 and findings[0].advisories == ("CVE-2024-6387", "DSA-5724-1")


def test_a_missing_fix_wins_over_an_open_entry_and_the_highest_fix_is_named():
    open_row = Advisory("Debian:12", "openssh", "DEBIAN-CVE-2024-6387", ("CVE-2024-6387",),
                        (Range(None, None, None),))
    later = Advisory("Debian:12", "openssh", "DSA-9999-1", ("CVE-2024-6387",),
                     (Range(None, "1:9.2p1-2+deb12u5", None),))
    (finding,), _ = match(host(*OPENSSH), view(open_row, REGRESSHION, later))
    assert finding.fixed == "1:9.2p1-2+deb12u5"


@pytest.mark.parametrize(("installed", "expected"), [
    ("1.0", "fixable:1.2"), ("1.2", "fixed"), ("1.9", "fixed"), ("2.1", "open"),
    ("2.3", "open"), ("2.4", "fixed"), ("3.5", "open")])
def test_verdict_over_ranges_and_last_affected(installed, expected):
    advisory = Advisory("Debian:12", "p", "X-1", (), (
        Range(None, "1.2", None), Range("2.0", None, "2.3"), Range("3.0", None, None)))
    assert verdict("dpkg", installed, advisory) == expected
    introduced_later = Advisory("Debian:12", "p", "X-2", (), (Range("2.0", "2.5", None),))
    assert verdict("dpkg", "1.0", introduced_later) is None  # before the bug came in


def test_listed_versions_without_ranges():
    advisory = Advisory("Debian:12", "p", "X-1", (), (), ("2.3.9-1", "2.3.9-1+deb12u1"))
    assert verdict("dpkg", "2.3.9-1+deb12u1", advisory) == "open"
    assert verdict("dpkg", "2.3.9-1+deb12u2", advisory) is None


def test_an_unreadable_version_is_reported_not_skipped_silently():
    bad = Advisory("Debian:12", "openssh", "X-1", ("CVE-2026-2",),
                   (Range(None, "not a version", None),))
    outcome = run(host(*OPENSSH), view(bad)).outcome
    assert outcome.state is State.UNKNOWN and "could not be compared" in outcome.summary


def test_first_seen_is_kept_and_pruned():
    open_cve = Advisory("Debian:12", "openssh", "CVE-2023-51767", ("CVE-2023-51767",),
                        (Range(None, None, None),))
    earlier = (NOW - timedelta(days=40)).isoformat()
    memory = {"first_seen": {"CVE-2023-51767|openssh": earlier, "CVE-2000-1|gone": earlier}}
    result = run(host(*OPENSSH), view(open_cve), memory)
    assert result.memory == {"first_seen": {"CVE-2023-51767|openssh": earlier}}
    assert result.outcome.items[0]["first_seen"] == earlier


def test_fix_age_without_any_feed_date_counts_from_first_seen_here():
    undated = Advisory("Debian:12", "openssh", "CVE-2024-6387", ("CVE-2024-6387",),
                       (Range(None, "1:9.2p1-2+deb12u3", None),), severity="high")
    first = run(host(*OPENSSH), view(undated))
    assert first.outcome.state is State.OK
    later = run(host(*OPENSSH), view(undated), first.memory, NOW + timedelta(days=15))
    assert later.outcome.state is State.CRITICAL
    assert "fix available for 15 days" in later.outcome.summary


def test_no_feed_at_all_is_unknown_never_ok():
    outcome = run(host(*OPENSSH), FeedView(ECO, problems=(
        "no downloaded vulnerability feed covers Debian:12",))).outcome
    assert outcome.state is State.UNKNOWN and "covers Debian:12" in outcome.summary
    unsupported = run(host(*OPENSSH), FeedView(None, problems=("Alpine: no feed",))).outcome
    assert unsupported.state is State.UNKNOWN


def test_stale_feed_and_missing_kev_are_unknown_alongside_the_findings():
    stale = (FeedState("debian-tracker", NOW - timedelta(days=9), "connection refused"),)
    kev = {"CVE-2024-6387": KevEntry("CVE-2024-6387", "2024-07-10")}
    outcome = run(host(*OPENSSH), view(REGRESSHION, kev=kev, feeds=stale)).outcome
    assert outcome.state is State.CRITICAL  # the finding still pages
    texts = [r.summary for r in outcome.results if r.state is State.UNKNOWN]
    assert any("9 days old" in t and "connection refused" in t for t in texts)
    no_kev = run(host(*OPENSSH), FeedView(ECO, {}, FRESH, None,
                                          FeedState("kev", None, "never downloaded"))).outcome
    assert no_kev.state is State.UNKNOWN and "known-exploited catalogue" in no_kev.summary
    old_kev = run(host(*OPENSSH), view(kev_state=FeedState("kev", NOW - timedelta(days=8))))
    assert old_kev.outcome.state is State.UNKNOWN


def test_offline_within_the_limit_uses_the_last_copy_and_says_how_old():
    offline = (FeedState("debian-tracker", NOW - timedelta(hours=30), "connection refused"),)
    outcome = run(host(*OPENSSH), view(feeds=offline)).outcome
    assert outcome.state is State.OK
    assert outcome.summary.endswith(", feed data 30 hours old; last download failed for "
                                    "debian-tracker (connection refused): using the last copy")
    # The site's max_age is the default; a check may set its own.
    strict = run(host(*OPENSSH), view(feeds=offline), feed_max_age="1d").outcome
    assert strict.state is State.UNKNOWN and "(limit 24 hours)" in strict.summary


def test_windows_is_honestly_partial():
    fixes = InstalledSoftware(OsIdentity("windows", "10.0.17763"), "windows-hotfix", (
        InstalledPackage("KB5034127", "2024-01-12", "KB5034127", ""),), partial=True)
    outcome = run(fixes, view()).outcome
    assert outcome.state is State.UNKNOWN and "only the 1 installed hotfixes" in outcome.summary


def test_items_are_bounded_fixable_first(monkeypatch):
    import muni_watchdog.checks.vulns.judge as judge
    monkeypatch.setattr(judge, "MAX_ITEMS", 5)
    opens = [Advisory("Debian:12", "openssh", f"CVE-2026-{i:04d}", (f"CVE-2026-{i:04d}",),
                      (Range(None, None, None),)) for i in range(10)]
    outcome = run(host(*OPENSSH), view(REGRESSHION, *opens)).outcome
    assert len(outcome.items) == 6 and outcome.items[0]["cve"] == "CVE-2024-6387"
    assert outcome.items[-1] == {"kind": "vulnerability_omitted", "count": 6}


def test_red_hat_matches_binary_names_too():
    rhel = OsIdentity("rhel", "9.4")
    ssl = InstalledPackage("openssl-libs", "1:3.0.7-27.el9", "openssl", "1:3.0.7-27.el9")
    installed = InstalledSoftware(rhel, "rpm", (ssl,))
    assert package_names(installed) == {"openssl", "openssl-libs"}
    advisory = Advisory("Red Hat:enterprise_linux:9::baseos", "openssl-libs", "RHSA-2024:1",
                        ("CVE-2024-1",), (Range(None, "1:3.0.7-28.el9", None),))
    feed_view = FeedView(ecosystem_of(rhel), {"openssl-libs": (advisory,)}, FRESH, {},
                         KEV_STATE)
    (finding,), _ = match(installed, feed_view)
    assert (finding.package, finding.fixed) == ("openssl-libs", "1:3.0.7-28.el9")
