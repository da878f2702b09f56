"""The whole engine against real things: this Debian 12 machine's real ``dpkg-query`` through
the lab sshd, fixture feeds (real advisories for packages installed here, see
tests/data/vulns/README.md) downloaded from an HTTP server on 127.0.0.1 into a state directory,
matched and judged — with a result known in advance:

* pam CVE-2025-6020: installed 1.5.2-6+deb12u1, fixed in 1.5.2-6+deb12u2 → fixable;
* binutils CVE-2017-13716, and apparmor CVE-2016-1585 (through libapparmor1, built from the
  apparmor source) : open in bookworm → listed, no fix yet; apparmor CVE-2017-6507 (fixed in
  2.11.0-3) and CVE-2014-1424 (never affected bookworm) → nothing;
* openssh CVE-2024-6387 (DSA-5724-1 and the tracker), util-linux CVE-2024-28085 (source
  2.38.1-5+deb12u3 ≥ u1, though its binaries carry an epoch), xz-utils CVE-2025-31115
  (installed = fixed version) → already fixed, no finding;
* glibc CVE-2023-4911, in CISA's KEV catalogue → fixed here, so no finding and no page.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.ssh_lab import SshLab
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.ssh.connection import SshConnection, SshSession
from muni_watchdog.checks.ssh.installed import collect_installed
from muni_watchdog.checks.vulns.feeds import FeedSource, load_view, update_feed
from muni_watchdog.checks.vulns.judge import evaluate_vulnerabilities
from muni_watchdog.checks.vulns.match import package_names
from muni_watchdog.checks.vulns.params import VulnParams
from muni_watchdog.checks.vulns.versions import compare
from muni_watchdog.core.model import CheckContext, State
from tests.test_vulns_download import FeedServer

pytestmark = pytest.mark.integration
DATA = Path(__file__).parent / "data" / "vulns"
FEEDS = {"debian-tracker": ("debian-tracker.sample.json", "debian-tracker"),
         "osv-debian": ("osv-records.sample.json", "osv"), "kev": ("kev.sample.json", "kev")}


@pytest.fixture(scope="module")
def lab():
    server = SshLab().start()
    yield server
    server.stop()


def collect(lab, tmp_path):
    conn = SshConnection(**lab.connection(lab.pin(tmp_path / "known_hosts")))
    info = TargetInfo("lab", "ssh", "127.0.0.1", conn)
    info = replace(info, session=SshSession.for_target(info))

    async def go():
        try:
            return await collect_installed(info, VulnParams())
        finally:
            await info.session.close()

    return asyncio.run(go())


def download(state: Path, now: datetime) -> None:
    for name, (fixture, kind) in FEEDS.items():
        with FeedServer((DATA / fixture).read_bytes()) as server:
            result = update_feed(FeedSource(name, server.url, kind), state, now)
        assert not result.error, result.error


def evaluate(installed, state: Path, now: datetime, memory=None):
    view = load_view(state, installed.os, package_names(installed),
                     feeds=["debian-tracker", "osv-debian"])
    return view, evaluate_vulnerabilities(installed, view, VulnParams(),
                                          CheckContext(now, memory or {}))


def test_this_hosts_real_packages_against_real_advisories(lab, tmp_path):
    installed = collect(lab, tmp_path)
    pam = {p.source_version for p in installed.packages if p.source_name == "pam"}
    assert pam and all(compare("dpkg", v, "1.5.2-6+deb12u2") < 0 for v in pam), (
        f"this machine's pam is {pam}: it was upgraded past the fixture's fix "
        "(1.5.2-6+deb12u2); pick an advisory fixed after the installed version")
    now = datetime.now(UTC).replace(microsecond=0)
    state = tmp_path / "vulns"
    download(state, now)

    view, first = evaluate(installed, state, now)
    assert view.problems == () and view.kev is not None and "CVE-2023-4911" in view.kev
    findings = {(i["cve"], i["package"]): i for i in first.outcome.items}
    assert set(findings) == {("CVE-2025-6020", "pam"), ("CVE-2017-13716", "binutils"),
                             ("CVE-2016-1585", "apparmor")}
    pam_item = findings[("CVE-2025-6020", "pam")]
    assert (pam_item["status"], pam_item["fixed"], pam_item["kev"]) == \
        ("fixable", "1.5.2-6+deb12u2", False)
    assert findings[("CVE-2017-13716", "binutils")]["status"] == "no fix yet"
    assert findings[("CVE-2016-1585", "apparmor")]["binaries"][0].startswith("libapparmor1 ")
    # The fix appeared in our feed copy just now: listed, not urgent yet.
    assert first.outcome.state is State.OK
    summary = first.outcome.results[0].summary
    assert summary.startswith("1 fixable CVE, none urgent yet: CVE-2025-6020 pam (")
    assert summary.endswith(" 1.5.2-6+deb12u1 → 1.5.2-6+deb12u2")
    assert first.outcome.results[1].summary == "2 CVEs without a fix yet (listed, not alarmed)"
    metrics = {m.name: m.value for m in first.outcome.metrics}
    assert (metrics["fixable_cves"], metrics["known_exploited_fixable"],
            metrics["unfixed_cves"]) == (1, 0, 2)

    # 15 days on, feeds re-confirmed by their server (304): the unrated fix now warns.
    later = now + timedelta(days=15)
    download(state, later)
    _, second = evaluate(installed, state, later, first.memory)
    assert second.outcome.state is State.WARNING
    assert "fix available for 15 days" in second.outcome.summary
    assert second.memory["first_seen"]["CVE-2025-6020|pam"] == now.isoformat()

    # Without a refresh for 15 days the feeds are stale: UNKNOWN besides the finding.
    _, stale = evaluate(installed, state, later + timedelta(days=3), first.memory)
    assert any(r.state is State.UNKNOWN and "old (limit 2 days)" in r.summary
               for r in stale.outcome.results)
