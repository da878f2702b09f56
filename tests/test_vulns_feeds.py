"""Feed parsing on real records (OSV, the Debian tracker, CISA KEV), and what a bad feed does:
huge, truncated, not JSON, wrong shape — a clear FeedError, with bounded memory."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from muni_watchdog.checks.vulns import osv, tracker
from muni_watchdog.checks.vulns.kev import load_kev, parse_kev
from muni_watchdog.checks.vulns.records import FeedError, Range

DATA = Path(__file__).parent / "data" / "vulns"


def osv_records() -> list[dict]:
    return json.loads((DATA / "osv-records.sample.json").read_text())


def by_id(advisories):
    return {(a.vuln_id, a.ecosystem, a.package): a for a in advisories}


def test_osv_debian_advisory_per_release():
    found = by_id(osv.iter_advisories(DATA / "osv-records.sample.json"))
    glibc = found[("DSA-5514-1", "Debian:12", "glibc")]
    assert glibc.cves == ("CVE-2023-4911",)  # DEBIAN-CVE-… in upstream is not a CVE id
    assert glibc.ranges == (Range(None, "2.36-9+deb12u3", None),)
    assert glibc.published == "2023-10-03T00:00:00Z"
    assert found[("DSA-5514-1", "Debian:11", "glibc")].fixed_versions == ("2.31-13+deb11u7",)


def test_osv_open_debian_cve_lists_versions_and_urgency():
    found = by_id(osv.iter_advisories(DATA / "osv-records.sample.json"))
    open_one = found[("DEBIAN-CVE-2024-58382", "Debian:12", "php-league-commonmark")]
    assert open_one.ranges == (Range(None, None, None),) and open_one.fixed_versions == ()
    assert open_one.versions == ("2.3.9-1", "2.3.9-1+deb12u1")
    assert (open_one.severity, open_one.severity_text) == ("unknown", "urgency not yet assigned")


def test_osv_ubuntu_pro_is_its_own_ecosystem_and_priority_is_read():
    found = by_id(osv.iter_advisories(DATA / "osv-records.sample.json"))
    lts = found[("UBUNTU-CVE-2025-29769", "Ubuntu:22.04:LTS", "vips")]
    assert lts.severity == "medium" and lts.fixed_versions == ()
    pro = found[("UBUNTU-CVE-2025-29769", "Ubuntu:Pro:22.04:LTS", "vips")]
    assert pro.fixed_versions == ("8.12.1-1ubuntu0.1~esm1",)


def test_osv_alma_related_cves_and_rocky_rating():
    found = by_id(osv.iter_advisories(DATA / "osv-records.sample.json"))
    alma = found[("ALSA-2026:66392", "AlmaLinux:10", "apr-util")]
    assert set(alma.cves) == {"CVE-2026-34501", "CVE-2025-49506", "CVE-2026-32327"}
    assert alma.severity == "medium"          # "Moderate: apr-util security update"
    rocky = found[("RLSA-2026:66203", "Rocky Linux:9", "python3.12-lxml")]
    assert rocky.severity == "high" and rocky.fixed_versions == ("0:4.9.3-2.el9_8.1",)


def test_osv_wanted_filter_withdrawn_and_zero_dates():
    records = osv_records()
    assert all(a.ecosystem == "Debian:12" for r in records
               for a in osv.advisories_from_record(r, lambda e: e == "Debian:12"))
    withdrawn = dict(records[1], withdrawn="2024-01-01T00:00:00Z")
    assert osv.advisories_from_record(withdrawn) == []
    zero = dict(records[1], published="0001-01-01T00:00:00Z")
    assert {a.published for a in osv.advisories_from_record(zero)} == {None}


def test_osv_multiple_ranges_and_last_affected():
    record = {"id": "X-1", "affected": [{"package": {"ecosystem": "Debian:12", "name": "p"},
              "ranges": [{"type": "ECOSYSTEM", "events": [
                  {"introduced": "0"}, {"fixed": "1.2"}, {"introduced": "2.0"},
                  {"last_affected": "2.3"}, {"introduced": "3.0"}]},
                  {"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}]}]}
    (advisory,) = osv.advisories_from_record(record)
    assert advisory.ranges == (Range(None, "1.2", None), Range("2.0", None, "2.3"),
                               Range("3.0", None, None))


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return path


def test_osv_zip_read_member_by_member(tmp_path):
    members = {f"{r['id']}.json": json.dumps(r).encode() for r in osv_records()}
    found = list(osv.iter_advisories(write_zip(tmp_path / "all.zip", members)))
    assert len(found) == len(list(osv.iter_advisories(DATA / "osv-records.sample.json")))


def test_osv_truncated_zip(tmp_path):
    members = {f"{r['id']}.json": json.dumps(r).encode() for r in osv_records()}
    whole = write_zip(tmp_path / "all.zip", members).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FeedError, match="not a readable zip"):
        list(osv.iter_advisories(cut))


def test_osv_member_not_json(tmp_path):
    path = write_zip(tmp_path / "all.zip", {"A.json": b"{\"id\": \"A\"", "B.json": b"{}"})
    with pytest.raises(FeedError, match="A.json is not JSON"):
        list(osv.iter_advisories(path))


def test_osv_member_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(osv, "MAX_RECORD_BYTES", 1000)
    path = write_zip(tmp_path / "all.zip", {"A.json": json.dumps(
        {"id": "A", "details": "x" * 5000}).encode()})
    with pytest.raises(FeedError, match="more than 1000"):
        list(osv.iter_advisories(path))


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html>503 Service Unavailable</html>", "neither an OSV zip nor JSON"),
    (b"[{\"id\": \"A\", \"affected\": [", "neither an OSV zip nor JSON"),
    (b"[{\"affected\": []}]", "not an OSV record"),
])
def test_osv_bad_json_download(tmp_path, body, reason):
    path = tmp_path / "feed.json"
    path.write_bytes(body)
    with pytest.raises(FeedError, match=reason):
        list(osv.iter_advisories(path))


# --- the Debian security tracker -------------------------------------------------------------

def test_tracker_rows_for_the_releases():
    rows = by_id(tracker.iter_advisories(DATA / "debian-tracker.sample.json"))
    ssh = rows[("CVE-2024-6387", "Debian:12", "openssh")]
    assert ssh.fixed_versions == ("1:9.2p1-2+deb12u3",) and ssh.severity == "high"
    assert ssh.source == "debian-tracker" and ssh.cves == ("CVE-2024-6387",)
    busybox = rows[("CVE-2018-1000500", "Debian:12", "busybox")]
    assert busybox.ranges == (Range(None, None, None),) and busybox.severity == "negligible"
    # fixed_version "0": the release was never affected — no row at all
    assert ("CVE-2014-1424", "Debian:12", "apparmor") not in rows
    assert rows[("CVE-2017-6507", "Debian:12", "apparmor")].fixed_versions == ("2.11.0-3",)
    assert rows[("CVE-2016-1585", "Debian:13", "apparmor")].fixed_versions == ("3.0.12-1",)
    assert ("CVE-2016-1585", "Debian:unstable", "apparmor") not in rows  # sid: no number


def test_tracker_undetermined(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"p": {"CVE-2024-0001": {"releases": {
        "bookworm": {"status": "undetermined", "urgency": "not yet assigned"}}}}}))
    (row,) = tracker.iter_advisories(path)
    assert row.undetermined and row.fixed_versions == ()


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "not valid JSON or truncated"),
    (b"<html>502 Bad Gateway</html>", "not valid JSON"),
    (b"[1, 2, 3]", "expected an object of source packages"),
    (b'{"openssh": ["CVE-2024-6387"]}', "not an object of CVEs"),
    (b'{"openssh": {"CVE-2024-6387": {"releases": {"bookworm": {"status": "res', "truncated"),
    (b'{"a": {}} {"b": {}}', "not valid JSON|unexpected data"),
])
def test_tracker_bad_files(tmp_path, body, reason):
    path = tmp_path / "json"
    path.write_bytes(body)
    with pytest.raises(FeedError, match=reason):
        list(tracker.iter_advisories(path))


def test_tracker_truncated_real_file(tmp_path):
    whole = (DATA / "debian-tracker.sample.json").read_bytes()
    for cut in (len(whole) // 3, len(whole) - 2):
        path = tmp_path / "json"
        path.write_bytes(whole[:cut])
        with pytest.raises(FeedError, match="truncated"):
            list(tracker.iter_advisories(path))


def test_tracker_one_absurd_entry_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(tracker, "MAX_EVENTS_PER_CVE", 100)
    path = tmp_path / "json"
    path.write_text(json.dumps({"p": {"CVE-2024-0001": {"releases": {
        f"r{i}": {"status": "open"} for i in range(200)}}}}))
    with pytest.raises(FeedError, match="more than 100"):
        list(tracker.iter_advisories(path))


def big_tracker(path: Path, packages: int) -> int:
    """A tracker-shaped file of ``packages`` × 20 CVEs (written as a stream)."""
    with open(path, "w") as out:
        out.write("{")
        for p in range(packages):
            entries = ", ".join(
                f'"CVE-2024-{p * 20 + c:05d}": {{"description": "{"d" * 300}", "releases": '
                f'{{"bookworm": {{"status": "resolved", "fixed_version": "1.{c}-1", '
                f'"urgency": "low", "repositories": {{"bookworm": "1.{c}-1"}}}}, '
                f'"trixie": {{"status": "open", "urgency": "low"}}}}}}' for c in range(20))
            out.write(f'{"," if p else ""}"pkg{p}": {{{entries}}}')
        out.write("}")
    return path.stat().st_size


def test_tracker_memory_stays_bounded_however_big_the_file(tmp_path):
    """A 20 MB tracker file is read with a few MB of memory: rows stream through."""
    path = tmp_path / "json"
    size = big_tracker(path, 2500)
    assert size > 16 * 1024 * 1024
    tracemalloc.start()
    count = sum(1 for _ in tracker.iter_advisories(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 2500 * 20 * 2
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file"


# --- CISA KEV ---------------------------------------------------------------------------------

def test_kev_real_entries():
    kev = load_kev(DATA / "kev.sample.json")
    assert set(kev) == {"CVE-2023-4911", "CVE-2023-46604", "CVE-2023-44487"}
    glibc = kev["CVE-2023-4911"]
    assert (glibc.date_added, glibc.due_date, glibc.ransomware, glibc.vendor) == \
        ("2023-11-21", "2023-12-12", False, "GNU")
    assert kev["CVE-2023-46604"].ransomware


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "not valid JSON"), (b'{"vulnerabilities": [{"cveID": "CVE-2023-4911"', "not valid"),
    (b'{"title": "x"}', "no 'vulnerabilities' list"),
    (b'{"count": 1300, "vulnerabilities": [{"cveID": "CVE-2023-4911"}]}', "cut short"),
    (b'{"vulnerabilities": []}', "no vulnerability at all")])
def test_kev_bad(tmp_path, body, reason):
    path = tmp_path / "kev.json"
    path.write_bytes(body)
    with pytest.raises(FeedError, match=reason):
        load_kev(path)


def test_kev_missing_and_huge(tmp_path, monkeypatch):
    with pytest.raises(FeedError, match="never been downloaded"):
        load_kev(tmp_path / "none.json")
    import muni_watchdog.checks.vulns.kev as kev_module
    monkeypatch.setattr(kev_module, "MAX_KEV_BYTES", 100)
    with pytest.raises(FeedError, match="more than 100"):
        load_kev(DATA / "kev.sample.json")
    assert parse_kev({"vulnerabilities": [{"cveID": "not-a-cve"}, {"cveID": "CVE-2024-3094"}]})
