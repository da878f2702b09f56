"""The whole engine against real things: this Debian 12 machine's real ``dpkg-query`` through
the lab sshd, feeds built from the versions installed here (lab/vuln_lab.py: real CVE ids,
"fixed" versions set relative to the installed ones, so the result is known on any Debian 12
whatever its package versions) downloaded from a mirror on 127.0.0.1 into a state directory,
matched and judged by the ``vulnerabilities`` check type:

* glibc CVE-2023-4911, in CISA's KEV catalogue, fixed just above the installed version →
  known exploited and fixable: CRITICAL at once;
* pam CVE-2025-6020 (through libpam0g, built from the pam source), fixed just above → fixable,
  not yet urgent; a warning 15 days on;
* coreutils CVE-2016-2781, open in bookworm → listed, no fix yet;
* openssh (fixed = installed), xz-utils (fixed below installed), util-linux (fixed = the
  source version, whose binaries carry an epoch), coreutils CVE-2014-1424 (never affected) →
  no finding.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.ssh_lab import SshLab
from lab.vuln_lab import FEED_PATHS, FeedMirror, build_demo_feeds, demo_fixed_above
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.ssh.connection import SshConnection, SshSession
from muni_watchdog.checks.vulns.check import FeedAccess, VulnerabilitiesCheck
from muni_watchdog.checks.vulns.feeds import FeedSource, update_feed
from muni_watchdog.checks.vulns.params import VulnParams
from muni_watchdog.checks.vulns.settings import VulnerabilitySettings
from muni_watchdog.checks.vulns.versions import compare
from muni_watchdog.core.model import CheckContext, State

pytestmark = pytest.mark.integration
KINDS = {"debian-tracker": "debian-tracker", "osv-debian": "osv", "kev": "kev"}


@pytest.fixture(scope="module")
def lab():
    server = SshLab().start()
    yield server
    server.stop()


def target(lab, tmp_path: Path) -> TargetInfo:
    conn = SshConnection(**lab.connection(lab.pin(tmp_path / "known_hosts")))
    info = TargetInfo("lab", "ssh", "127.0.0.1", conn, services=("Clerk's records",))
    return replace(info, session=SshSession.for_target(info))


def check_of(state: Path) -> VulnerabilitiesCheck:
    settings = VulnerabilitySettings(feeds=[{"name": n} for n in KINDS])
    return VulnerabilitiesCheck(FeedAccess.of(settings, state))


def collect(check: VulnerabilitiesCheck, info: TargetInfo):
    async def go():
        try:
            return await check.collect(info, VulnParams())
        finally:
            await info.session.close()
    return asyncio.run(go())


def download(mirror: FeedMirror, state: Path, now: datetime) -> None:
    for name, kind in KINDS.items():
        result = update_feed(FeedSource(name, mirror.url(FEED_PATHS[name]), kind), state, now)
        assert not result.error, result.error


def shown(source) -> str:
    """How the summary names a source package (checks.vulns.match.Finding.shown_package)."""
    if source.name in source.binaries:
        return source.name
    return source.binaries[0] if len(source.binaries) == 1 else \
        f"{source.name} ({len(source.binaries)} packages)"


def test_this_hosts_real_packages_against_feeds_built_for_them(lab, tmp_path):
    now = datetime.now(UTC).replace(microsecond=0)
    feeds = build_demo_feeds(now, fix_days=9)
    expected = feeds.expected
    glibc, pam = expected.installed["glibc"], expected.installed["pam"]
    mirror = FeedMirror({FEED_PATHS["debian-tracker"]: feeds.tracker,
                         FEED_PATHS["osv-debian"]: feeds.osv,
                         FEED_PATHS["kev"]: feeds.kev}).start()
    state = tmp_path / "vulns"
    check = check_of(state)
    try:
        download(mirror, state, now)
        raw = collect(check, target(lab, tmp_path))
        first = check.evaluate(raw, VulnParams(), CheckContext(now, {}))

        # What the SSH path read is what dpkg-query says here: the fixture is relative to it.
        sources = {(p.source_name, p.source_version) for p in raw.installed.packages}
        assert ("glibc", glibc.version) in sources and ("pam", pam.version) in sources
        findings = {(i["cve"], i["package"]): i for i in first.outcome.items}
        assert set(findings) == expected.findings
        assert not set(expected.not_affected) & set(findings)

        kev = findings[("CVE-2023-4911", "glibc")]
        assert (kev["status"], kev["kev"], kev["fixed"], kev["state"]) == \
            ("fixable", True, demo_fixed_above(glibc.version), "critical")
        assert kev["fix_available_days"] == 9.0 and kev["kev_date_added"] == "2023-11-21"
        assert kev["services"] == ["Clerk's records"]
        pam_item = findings[("CVE-2025-6020", "pam")]
        assert (pam_item["status"], pam_item["kev"], pam_item["state"]) == \
            ("fixable", False, "ok")
        assert compare("dpkg", pam.version, pam_item["fixed"]) < 0
        assert any(b.startswith("libpam0g ") for b in pam_item["binaries"])
        assert findings[("CVE-2016-2781", "coreutils")]["status"] == "no fix yet"

        # Known exploited with a fix: CRITICAL at once — no soft retries either.
        outcome = first.outcome
        assert outcome.state is State.CRITICAL and outcome.immediate
        assert outcome.results[0].summary == (
            f"2 fixable CVEs, 1 known exploited: CVE-2023-4911 {shown(glibc)} "
            f"{glibc.version} → {demo_fixed_above(glibc.version)}, fix available for 9 days")
        assert "1 CVE without a fix yet (listed, not alarmed)" in \
            [r.summary for r in outcome.results]
        metrics = {m.name: m.value for m in outcome.metrics}
        assert (metrics["fixable_cves"], metrics["known_exploited_fixable"],
                metrics["unfixed_cves"]) == (2, 1, 1)
        assert first.memory["system"] == "debian"

        # 15 days on, feeds re-confirmed by the mirror (304): the unrated pam fix now warns.
        later = now + timedelta(days=15)
        download(mirror, state, later)
        assert [s for _, s in mirror.requests[-3:]] == ["304", "304", "304"]
        second = check.evaluate(raw, VulnParams(), CheckContext(later, first.memory))
        pam_later = next(i for i in second.outcome.items if i["cve"] == "CVE-2025-6020")
        assert (pam_later["state"], pam_later["fix_available_days"]) == ("warning", 15.0)
        assert second.memory["first_seen"]["CVE-2025-6020|pam"] == now.isoformat()
    finally:
        mirror.stop()

    # Offline for 3 more days: the download fails, the last copy stays in use, its age and
    # the failure are said (UNKNOWN beyond the limit), and the known-exploited finding pages.
    offline = later + timedelta(days=3)
    failed = update_feed(FeedSource("debian-tracker", mirror.url(FEED_PATHS["debian-tracker"]),
                                    "debian-tracker"), state, offline)
    assert failed.error and failed.copy is not None
    stale = check.evaluate(collect(check, target(lab, tmp_path)), VulnParams(),
                           CheckContext(offline, first.memory))
    unknown = [r.summary for r in stale.outcome.results if r.state is State.UNKNOWN]
    assert any(s.startswith("vulnerability feed debian-tracker is 3 days old (limit 2 days): "
                            "last download failed: ") for s in unknown), unknown
    assert stale.outcome.state is State.CRITICAL


def test_the_feeds_follow_the_installed_versions_not_this_images():
    """The fixture is relative: on a machine with other versions, the same verdicts."""
    from lab.vuln_lab import InstalledSource, installed_sources
    here = installed_sources()
    other = {name: replace(source, version=source.version + "+deb12u9")
             for name, source in here.items()}
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for installed in (here, other):
        expected = build_demo_feeds(now, installed=installed).expected
        for (_, package), fixed in {**expected.kev_fixable, **expected.fixable}.items():
            assert compare("dpkg", installed[package].version, fixed) < 0
    with pytest.raises(ValueError, match="lacks the source package"):
        build_demo_feeds(now, installed={"glibc": InstalledSource("glibc", "2.36-9", ())})
