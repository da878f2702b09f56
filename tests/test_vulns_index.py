"""The compact stored form: one build per download, made current atomically; only the host's
packages are read back; when a fix first appeared is carried from build to build; a failed
conversion leaves the last good build in place."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from muni_watchdog.checks.ssh.installed import OsIdentity
from muni_watchdog.checks.vulns import index, osv, tracker
from muni_watchdog.checks.vulns.index import build_index, read_advisories, read_manifest
from muni_watchdog.checks.vulns.records import Advisory, FeedError, Range, ecosystem_of

DATA = Path(__file__).parent / "data" / "vulns"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DEBIAN12 = ecosystem_of(OsIdentity("debian", "12", "bookworm"))


def test_build_then_read_only_the_wanted_packages(tmp_path):
    manifest = build_index("debian-tracker", tracker.iter_advisories(
        DATA / "debian-tracker.sample.json"), tmp_path, T0)
    assert manifest["rows"] > 0 and "Debian:12" in manifest["files"]
    covered, rows = read_advisories(tmp_path, "debian-tracker", DEBIAN12, {"openssh", "glibc"})
    assert covered and set(rows) == {"openssh", "glibc"}
    assert all(a.ecosystem == "Debian:12" for group in rows.values() for a in group)
    assert rows["openssh"][0].fix_seen == T0.isoformat()
    other = ecosystem_of(OsIdentity("almalinux", "9"))
    assert read_advisories(tmp_path, "debian-tracker", other, {"openssh"}) == (False, {})


def test_fix_seen_is_carried_and_new_fixes_get_the_new_time(tmp_path):
    first = [Advisory("Debian:12", "p", "CVE-2024-0001", ("CVE-2024-0001",),
                      (Range(None, "1.1", None),))]
    build_index("f", first, tmp_path, T0)
    later = T0 + timedelta(days=5)
    second = first + [Advisory("Debian:12", "p", "CVE-2024-0002", ("CVE-2024-0002",),
                               (Range(None, "1.2", None),))]
    build_index("f", second, tmp_path, later)
    _, rows = read_advisories(tmp_path, "f", DEBIAN12, {"p"})
    seen = {a.vuln_id: a.fix_seen for a in rows["p"]}
    assert seen == {"CVE-2024-0001": T0.isoformat(), "CVE-2024-0002": later.isoformat()}
    # the fixed version changed: a new fix, a new first-seen time
    third = [Advisory("Debian:12", "p", "CVE-2024-0001", ("CVE-2024-0001",),
                      (Range(None, "1.3", None),))]
    build_index("f", third, tmp_path, later + timedelta(days=1))
    _, rows = read_advisories(tmp_path, "f", DEBIAN12, {"p"})
    assert rows["p"][0].fix_seen == (later + timedelta(days=1)).isoformat()


def test_a_failed_conversion_keeps_the_last_good_build(tmp_path):
    build_index("debian-tracker", tracker.iter_advisories(
        DATA / "debian-tracker.sample.json"), tmp_path, T0)
    before = read_manifest(tmp_path, "debian-tracker")
    cut = tmp_path / "cut.json"
    cut.write_bytes((DATA / "debian-tracker.sample.json").read_bytes()[:3000])
    with pytest.raises(FeedError, match="truncated"):
        build_index("debian-tracker", tracker.iter_advisories(cut), tmp_path,
                    T0 + timedelta(hours=1))
    assert read_manifest(tmp_path, "debian-tracker") == before
    builds = list((tmp_path / "debian-tracker").glob("build-*"))
    assert len(builds) == 1  # the half-written build was removed
    assert read_advisories(tmp_path, "debian-tracker", DEBIAN12, {"openssh"})[1]


def test_a_feed_with_nothing_for_us_is_an_error(tmp_path):
    with pytest.raises(FeedError, match="no advisory at all"):
        build_index("osv-debian", iter(()), tmp_path, T0)
    assert read_manifest(tmp_path, "osv-debian") is None


def test_old_builds_are_pruned(tmp_path):
    rows = list(osv.iter_advisories(DATA / "osv-records.sample.json"))
    for hour in range(4):
        build_index("osv", rows, tmp_path, T0 + timedelta(hours=hour))
    assert len(list((tmp_path / "osv").glob("build-*"))) == index.KEEP_BUILDS


def test_red_hat_streams_share_one_file_per_release(tmp_path):
    rows = [Advisory(f"Red Hat:enterprise_linux:9::{s}", "openssh", "RHSA-2024:4312",
                     ("CVE-2024-6387",), (Range(None, "8.7p1-38.el9_4.1", None),))
            for s in ("baseos", "appstream")] + \
        [Advisory("Red Hat:enterprise_linux:8::baseos", "openssh", "RHSA-2024:4340",
                  ("CVE-2024-6387",), (Range(None, "8.0p1-19.el8_10.1", None),))]
    manifest = build_index("osv-redhat", rows, tmp_path, T0)
    assert set(manifest["files"]) == {"Red Hat:enterprise_linux:9",
                                      "Red Hat:enterprise_linux:8"}
    rhel9 = ecosystem_of(OsIdentity("rhel", "9.4"))
    _, found = read_advisories(tmp_path, "osv-redhat", rhel9, {"openssh"})
    assert {a.vuln_id for a in found["openssh"]} == {"RHSA-2024:4312"}


def test_a_damaged_index_line_is_an_error(tmp_path):
    build_index("f", [Advisory("Debian:12", "p", "X-1", (), (Range(),))], tmp_path, T0)
    current = json.loads((tmp_path / "f" / "current.json").read_text())["build"]
    (tsv,) = (tmp_path / "f" / current).glob("Debian*.tsv")
    tsv.write_text("p\t{not json\n")
    with pytest.raises(FeedError, match="damaged index line"):
        read_advisories(tmp_path, "f", DEBIAN12, {"p"})
