"""Lifecycle (issue 14): operating systems' support ends from checks/data/lifecycle.json,
hardware age against the replacement age of its class, and scripts/refresh-lifecycle.py
against a local HTTP server serving endoflife.date-format answers."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lab.snmp_recordings import DATA_DIR, load_snapshot
from muni_watchdog.checks import lifecycle as L
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.entity import chassis
from muni_watchdog.core.model import State

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "data" / "endoflife"
TODAY = date(2026, 11, 30)


# ---- operating systems ---------------------------------------------------------------------

@pytest.mark.parametrize("os_id, version, extra, expected", [
    ("debian", "10", {}, ("out_of_support", "2024-06-30")),
    ("debian", "12.8", {}, ("supported", "2028-06-30")),            # LTS counted
    ("debian", "13", {}, ("supported", "2030-06-30")),
    ("ubuntu", "20.04", {}, ("out_of_support", "2025-05-31")),
    ("ubuntu", "20.04", {"extended": True}, ("supported", "2030-04-02")),   # Ubuntu Pro ESM
    ("ubuntu", "25.10", {}, ("out_of_support", "2026-07-01")),
    ("rhel", "9.4", {}, ("supported", "2032-05-31")),
    ("rhel", "7.9", {}, ("out_of_support", "2024-06-30")),
    ("rhel", "7.9", {"extended": True}, ("supported", "2028-06-30")),       # ELS
    ("almalinux", "8.10", {}, ("supported", "2029-03-01")),
    ("rocky", "9.5", {}, ("supported", "2032-05-31")),
    ("ol", "7.9", {}, ("out_of_support", "2024-12-01")),               # os-release ID "ol"
    ("centos", "7", {}, ("out_of_support", "2024-06-30")),
    ("centos", "9", {"name": "CentOS Stream"}, ("supported", "2027-05-31")),
    ("sles", "15.5", {}, ("out_of_support", "2024-12-31")),
    ("sles", "15-SP7", {}, ("supported", "2031-07-31")),
    ("sles", "15.5", {"extended": True}, ("supported", "2027-12-31")),      # LTSS
    ("windows-server", "10.0.17763", {}, ("supported", "2029-01-09")),     # 2019 by build
    ("windows-server", "6.3.9600", {}, ("out_of_support", "2023-10-10")),  # 2012 R2
    ("windows-server", "2022", {}, ("supported", "2031-10-14")),           # by name
    ("windows", "10.0.19045", {}, ("out_of_support", "2025-10-14")),       # Windows 10 22H2
    ("windows", "10.0.19045", {"extended": True}, ("supported", "2028-10-10")),  # ESU
    ("windows", "10.0.26100.2605", {}, ("out_of_support", "2026-10-13")),  # Home/Pro dates
    ("windows", "10.0.26200", {}, ("supported", "2027-10-12")),            # 11 25H2
    ("windows", "10.0.26100", {"edition": "Windows 11 Enterprise"},
     ("supported", "2027-10-12")),
    ("windows", "10.0.26100", {"edition": "Windows 11 Enterprise LTSC 2024"},
     ("supported", "2029-10-09")),
    ("windows", "10.0.19044", {"edition": "Windows 10 IoT Enterprise LTSC 2021"},
     ("supported", "2032-01-13")),
    ("windows", "10.0.22631", {"edition": "Windows 11 Pro Education"},
     ("out_of_support", "2025-11-11")),                                   # "W" group
    ("esxi", "7.0.3", {}, ("out_of_support", "2025-10-02")),
    ("esxi", "8.0.2", {}, ("supported", "2027-10-11")),
])
def test_support_status(os_id, version, extra, expected):
    status, end, source = L.support_status(os_id, version, TODAY, **extra)
    assert (status, end.isoformat()) == expected
    assert source.startswith("https://")


@pytest.mark.parametrize("os_id, version", [
    ("gentoo", "2.15"), ("debian", "99"), ("debian", None), ("windows", "10.0.12345"),
    (None, "12"), ("sles", "15"),
])
def test_what_the_data_does_not_know_is_unknown(os_id, version):
    assert L.support_status(os_id, version, TODAY) == ("unknown", None, None)


def test_ending_soon_is_within_180_days_inclusive():
    end = date(2026, 8, 31)                                   # Debian 11 LTS
    assert L.support_status("debian", "11", date(2026, 3, 4)).status == "ending_soon"  # 180
    assert L.support_status("debian", "11", date(2026, 3, 3)).status == "supported"    # 181
    assert L.support_status("debian", "11", end).status == "ending_soon"    # its last day
    assert L.support_status("debian", "11", date(2026, 9, 1)).status == "out_of_support"


def test_the_warning_an_uptime_or_system_check_adds():
    out = L.support_status("debian", "10", TODAY)
    assert L.support_result("Debian 10 (buster)", out, TODAY) == L.Result(
        State.WARNING, "Debian 10 (buster) is out of support since 2024-06-30: no more "
        "security updates")
    soon = L.support_status("debian", "11", date(2026, 6, 1))
    assert L.support_result("Debian 11", soon, date(2026, 6, 1)).summary == (
        "Debian 11 support ends 2026-08-31 (in 91 days)")
    assert L.support_result("Debian 12", L.support_status("debian", "12", TODAY), TODAY) is None
    assert L.support_result("x", L.SupportStatus("unknown", None, None), TODAY) is None


def test_labels_and_releases():
    product, release = L.find_release("debian", "12")
    assert L.release_label(product, release) == "Debian 12 (bookworm)"
    product, release = L.find_release("windows-server", "10.0.20348")
    assert L.release_label(product, release) == "Windows Server 2022"
    product, release = L.find_release("ubuntu", "22.04")
    assert L.release_label(product, release) == "Ubuntu 22.04"


def test_windows_and_esxi_from_snmp_sysdescr():
    values = load_snapshot(DATA_DIR / "windows.snmprec")
    descr = values[O.SYS_DESCR].decode()
    found = L.os_from_sysdescr(descr, values[O.SYS_OBJECT_ID])
    assert found == ("windows-server", "6.3.17763")
    assert L.support_status(*found, TODAY) == ("supported", date(2029, 1, 9),
                                               "https://learn.microsoft.com/lifecycle/products/"
                                               "windows-server-2019")
    assert L.os_from_sysdescr(descr, "1.3.6.1.4.1.311.1.1.3.1.1") == ("windows", "6.3.17763")
    assert L.os_from_sysdescr("VMware ESXi 7.0.3 build-20328353 VMware, Inc. x86_64") == (
        "esxi", "7.0.3")
    assert L.os_from_sysdescr("Linux nas 6.1.0 #1 SMP x86_64") is None


def test_the_data_file_is_complete_and_sourced():
    data = L.load()
    assert set(data["products"]) >= {"debian", "ubuntu", "rhel", "almalinux", "rocky-linux",
                                      "centos", "centos-stream", "oracle-linux", "sles",
                                      "windows", "windows-server", "esxi"}
    for key, product in data["products"].items():
        cycles = [r["cycle"] for r in product["releases"]]
        assert len(cycles) == len(set(cycles)), key
        assert product["via"] == f"https://endoflife.date/{product['endoflife']}"
        for release in product["releases"]:
            date.fromisoformat(release["support_end"])
            date.fromisoformat(release["released"])
            assert release["source"].startswith("https://"), (key, release["cycle"])
            if "extended_end" in release:
                assert release["extended_end"] > release["support_end"], (key, release)
    windows = data["products"]["windows"]["releases"] + \
        data["products"]["windows-server"]["releases"]
    assert all(isinstance(r["build"], int) for r in windows)


# ---- hardware ------------------------------------------------------------------------------

def test_hardware_age_from_the_manufacture_date_of_the_switch_recording():
    made = chassis(load_snapshot(DATA_DIR / "switch.snmprec"))["mfg_date"]
    manufactured = date.fromisoformat(made[:10])                   # 2017-06-21
    age = L.hardware_age("network", TODAY, manufactured=manufactured)
    assert age == (3449, "manufactured", 7, "past_life")


@pytest.mark.parametrize("device_class, start, basis_kw, status", [
    ("ups", date(2023, 1, 10), "manufactured", "replace_soon"),     # 4 years on 2027-01-10
    ("ups", date(2024, 1, 10), "manufactured", "within_life"),
    ("printer", date(2021, 11, 1), "first_seen", "past_life"),
    ("printer", date(2021, 12, 1), "first_seen", "replace_soon"),       # due tomorrow
    ("storage", date(2024, 2, 29), "first_seen", "within_life"),    # a leap day
])
def test_hardware_status_by_class(device_class, start, basis_kw, status):
    age = L.hardware_age(device_class, TODAY, **{basis_kw: start})
    assert age.status == status
    assert age.basis == basis_kw.replace("_", " ")
    assert age.replace_after_years == L.REPLACEMENT_YEARS[device_class]


def test_replacement_ages_are_configurable_and_nothing_known_is_unknown():
    assert L.hardware_age("network", TODAY, manufactured=date(2017, 6, 21),
                          replacement_years={"network": 10}).status == "within_life"
    assert L.hardware_age("network", TODAY).status == "unknown"
    assert L.hardware_age("toaster", TODAY, manufactured=date(2010, 1, 1)) == (
        6177, "manufactured", None, "unknown")


# ---- the refresh script against a local endoflife.date -------------------------------------

@pytest.fixture
def endoflife(tmp_path):
    """A real HTTP server on loopback serving {root}/api/<product>.json."""
    root = tmp_path / "site"
    (root / "api").mkdir(parents=True)
    for fixture in FIXTURES.glob("*.json"):
        shutil.copy(fixture, root / "api" / fixture.name)
    (root / "api" / "ubuntu.json").write_text("<html>maintenance</html>")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


def refresh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "refresh-lifecycle.py"),
                           *args], capture_output=True, text=True, timeout=120)


def copy_of_data(tmp_path) -> Path:
    path = tmp_path / "lifecycle.json"
    shutil.copy(ROOT / "checks" / "data" / "lifecycle.json", path)
    return path


def releases(path: Path, product: str) -> dict[str, dict]:
    data = json.loads(path.read_text())
    return {r["cycle"]: r for r in data["products"][product]["releases"]}


def test_refresh_updates_dates_adds_cycles_and_keeps_what_the_api_lacks(tmp_path, endoflife):
    root, url = endoflife
    cycles = json.loads((root / "api" / "windows.json").read_text())
    cycles.append({"cycle": "11-26h2-e", "releaseDate": "2026-09-29", "eol": "2029-10-09",
                   "latest": "10.0.26300"})
    (root / "api" / "windows.json").write_text(json.dumps(cycles))
    path = copy_of_data(tmp_path)
    before = releases(path, "debian")
    done = refresh("--file", str(path), "--base-url", url, "--timeout", "5")
    assert done.returncode == 1, done.stderr           # some products could not be refreshed
    debian = releases(path, "debian")
    assert debian["12"]["support_end"] == "2028-06-10"     # the API's extendedSupport (LTS)
    assert debian["12"]["codename"] == "bookworm"          # what the API lacks is kept
    assert debian["13"] == before["13"]                    # not in the API answer: unchanged
    assert releases(path, "esxi")["7.0"]["support_end"] == "2025-04-02"
    windows = releases(path, "windows")
    assert windows["11-26h2-e"] == {"cycle": "11-26h2-e", "build": 26300, "edition": "e",
                                    "released": "2026-09-29", "support_end": "2029-10-09",
                                    "source": "https://endoflife.date/windows"}
    assert windows["7-sp1"]["extended_end"] == "2023-01-10"   # `true` keeps the date
    assert "ubuntu: " in done.stderr and "not JSON" in done.stderr
    assert "rhel: " in done.stderr and "HTTP 404" in done.stderr
    assert json.loads(path.read_text())["products"]["ubuntu"] == json.loads(
        (ROOT / "checks" / "data" / "lifecycle.json").read_text())["products"]["ubuntu"]
    assert "debian 12 support_end: 2028-06-30 -> 2028-06-10" in done.stdout
    # the refreshed file is what the module reads
    data = L.load(str(path))
    assert L.support_status("windows", "10.0.26300", TODAY, edition="Enterprise",
                            data=data).end_date == date(2029, 10, 9)
    again = refresh("--file", str(path), "--base-url", url)
    assert again.returncode == 1 and "already current" in again.stdout


def test_refresh_offline_changes_nothing(tmp_path):
    path = copy_of_data(tmp_path)
    original = path.read_bytes()
    done = refresh("--file", str(path), "--base-url", "http://127.0.0.1:9/api", "--timeout",
                   "2")
    assert done.returncode == 2
    assert "no product could be refreshed" in done.stderr
    assert path.read_bytes() == original


def test_refresh_dry_run_writes_nothing(tmp_path, endoflife):
    _, url = endoflife
    path = copy_of_data(tmp_path)
    original = path.read_bytes()
    done = refresh("--file", str(path), "--base-url", url, "--dry-run")
    assert "debian 12 support_end" in done.stdout
    assert path.read_bytes() == original
