"""The installed packages over SSH: the parsers on captured outputs, every failure an error
(never "nothing installed"), and the real dpkg-query of this machine through the lab sshd."""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from muni_watchdog.checks.base import CollectError, TargetInfo
from muni_watchdog.checks.ssh.common import ABSENT
from muni_watchdog.checks.ssh.connection import SshConnection, SshSession
from muni_watchdog.checks.ssh.installed import (
    DPKG_FORMAT,
    INSTALLED_PARTS,
    MAX_PACKAGES,
    OsIdentity,
    collect_installed,
    os_identity,
    parse_dpkg_query,
    parse_hotfixes,
    parse_rpm_qa,
    read_installed,
    read_windows,
)
from muni_watchdog.checks.vulns.params import VulnParams
from muni_watchdog.checks.vulns.records import FeedError, ecosystem_of
from tests.ssh_hosts import remote

DATA = Path(__file__).parent / "data" / "vulns"
DEBIAN12 = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
OS_DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' \
    "VERSION_CODENAME=bookworm\n"
END = "<<<muniwd-end:0>>>"


def dpkg_text() -> str:
    return (DATA / "dpkg-query.debian12.txt").read_text()


def test_dpkg_source_and_binary_kept_apart():
    packages, notes = parse_dpkg_query(dpkg_text())
    by_name = {p.name: p for p in packages}
    assert len(packages) == 17 and notes == []
    bash = by_name["bash"]
    assert (bash.version, bash.source_name, bash.source_version) == \
        ("5.2.15-2+b8", "bash", "5.2.15-2")
    bsd = by_name["bsdutils"]
    assert (bsd.version, bsd.source_name, bsd.source_version) == \
        ("1:2.38.1-5+deb12u3", "util-linux", "2.38.1-5+deb12u3")
    libc = by_name["libc6"]  # the multi-arch qualifier is the arch, not part of the name
    assert (libc.arch, libc.source_name) == ("amd64", "glibc")
    assert by_name["cpp"].source_name == "gcc-defaults"


@pytest.mark.parametrize(("status", "counted"), [
    ("ii ", True), ("hi ", True), ("ri ", True), ("iU ", True), ("iF ", True),
    ("iW ", True), ("it ", True), ("iHR", True), ("rc ", False), ("un ", False),
    ("pn ", False)])
def test_dpkg_counts_what_is_on_disk(status, counted):
    line = f"foo\t1.0-1\tfoo\t1.0-1\t{status}\tamd64\n"
    if not counted:  # a list of only removed packages is itself an error
        line += "bar\t2.0\tbar\t2.0\tii \tall\n"
    packages, _ = parse_dpkg_query(line + END)
    assert ("foo" in {p.name for p in packages}) is counted


def test_old_dpkg_without_source_fields_falls_back_and_says_so():
    packages, notes = parse_dpkg_query(f"foo\t1.0-1\t\t\tii \tamd64\n{END}")
    assert (packages[0].source_name, packages[0].source_version) == ("foo", "1.0-1")
    assert "dpkg older than 1.19" in notes[0]


@pytest.mark.parametrize(("text", "reason"), [
    ("foo\t1.0\tfoo\t1.0\tii \tall\n", "cut short"),                 # head cut the list
    ("foo\t1.0\tfoo\t1.0\tii \tall\n<<<muniwd-end:2>>>", "exit 2"),  # dpkg-query failed
    (END, "no packages at all"),
    ("", "cut short"),
    ("foo 1.0 ii\n" + END, "not in the expected format"),
    ("foo\t\tfoo\t1.0\tii \tall\n" + END, "has no version"),
])
def test_dpkg_failures_are_errors(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_dpkg_query(text)


def test_rpm_source_rpm_epoch_and_pubkeys():
    packages, _ = parse_rpm_qa((DATA / "rpm-qa.rhel9.txt").read_text())
    names = [p.name for p in packages]
    assert "gpg-pubkey" not in names and names.count("kernel-core") == 2
    ssl = next(p for p in packages if p.name == "openssl-libs")
    assert (ssl.version, ssl.source_name, ssl.source_version) == \
        ("1:3.0.7-27.el9", "openssl", "1:3.0.7-27.el9")
    server = next(p for p in packages if p.name == "openssh-server")
    assert (server.source_name, server.source_version) == ("openssh", "8.7p1-38.el9")


@pytest.mark.parametrize("text", ["a\tx\t1\t1\tx86_64\ta-1-1.src.rpm\n" + END,
                                  "a\t0\t1\n" + END, "a\t0\t1\t1\tx86_64\tx\n"])
def test_rpm_failures_are_errors(text):
    with pytest.raises(ValueError):
        parse_rpm_qa(text)


def test_hotfixes_powershell_51_shapes():
    one = {"caption": "Microsoft Windows Server 2019 Standard", "version": "10.0.17763",
           "build": "17763", "hotfixes": {"id": "KB5034127", "description": "Security Update",
                                          "installed_on": "/Date(1705017600000)/"}}
    identity, fixes = parse_hotfixes(json.dumps(one))
    assert identity.id == "windows" and identity.family == "windows"
    assert [(f.name, f.version) for f in fixes] == [("KB5034127", "2024-01-12")]
    soft = read_windows(json.dumps(one), "", 0)
    assert soft.partial and soft.manager == "windows-hotfix" and "only the installed" \
        in soft.notes[0]


@pytest.mark.parametrize(("stdout", "stderr", "rc", "reason"), [
    ("", "", 0, "printed nothing"),
    ("{}", "", 0, "not the expected JSON"),
    ('{"hotfixes": []}', "", 0, "no installed update"),
    ("", "Get-HotFix : Access is denied.\n", 1, "Access is denied"),
    ("not json", "", 0, "not the expected JSON")])
def test_windows_failures_are_errors(stdout, stderr, rc, reason):
    with pytest.raises(CollectError, match=reason):
        read_windows(stdout, stderr, rc)


@pytest.mark.parametrize(("release", "ecosystem"), [
    (OS_DEBIAN, "Debian:12"),
    ('ID=ubuntu\nVERSION_ID="22.04"\nVERSION="22.04.4 LTS (Jammy Jellyfish)"\n'
     "VERSION_CODENAME=jammy\nID_LIKE=debian\n", "Ubuntu:22.04:LTS"),
    ('ID=ubuntu\nVERSION_ID="23.10"\nVERSION="23.10 (Mantic Minotaur)"\n', "Ubuntu:23.10"),
    ('ID="almalinux"\nVERSION_ID="9.4"\nID_LIKE="rhel centos fedora"\n', "AlmaLinux:9"),
    ('ID="rocky"\nVERSION_ID="9.3"\nID_LIKE="rhel centos fedora"\n', "Rocky Linux:9"),
    ('ID="rhel"\nVERSION_ID="9.4"\nID_LIKE="fedora"\n', "Red Hat:enterprise_linux:9"),
])
def test_os_release_picks_the_ecosystem(release, ecosystem):
    assert ecosystem_of(os_identity(release)).name == ecosystem


def test_red_hat_covers_every_stream_of_its_release_only():
    eco = ecosystem_of(OsIdentity("rhel", "9.4"))
    assert eco.covers("Red Hat:enterprise_linux:9::appstream")
    assert eco.covers("Red Hat:enterprise_linux:9::baseos")
    assert not eco.covers("Red Hat:enterprise_linux:8::baseos")


@pytest.mark.parametrize("release", [
    "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\n",   # testing: no number
    'ID=centos\nVERSION_ID="7"\n', 'ID=alpine\nVERSION_ID=3.19.1\n',
    'ID=ubuntu\nVERSION_ID="noble"\n'])
def test_unsupported_systems_are_an_error_not_clean(release):
    with pytest.raises(FeedError):
        ecosystem_of(os_identity(release))


def sections(**parts):
    base = {"os_release": OS_DEBIAN, "dpkg": dpkg_text(), "rpm": ("", ABSENT)}
    base.update(parts)
    return remote(base)


def test_read_installed_debian():
    soft = read_installed(sections())
    assert soft.manager == "dpkg" and soft.os.family == "debian" and len(soft.packages) == 17


@pytest.mark.parametrize(("parts", "reason"), [
    ({"dpkg": ("", ABSENT)}, "dpkg not found"),
    ({"dpkg": ("", 0)}, "printed nothing"),
    ({"dpkg": ("partial\n", -1)}, "cut short"),
    ({"dpkg": (dpkg_text(), 0, "dpkg-query: error: parsing file '/var/lib/dpkg/status'")},
     "reported an error"),
    ({"dpkg": ("garbage\n" + END, 0)}, "not in the expected format"),
    ({"os_release": ("", 1, "cat: /etc/os-release: No such file")}, "os-release"),
    ({"os_release": "NAME=x\n"}, "no ID"),
    ({"dpkg": ("x\t1\tx\t1\trc \tall\n" + END, 0)}, "no installed package"),
])
def test_read_installed_failures(parts, reason):
    with pytest.raises(CollectError, match=reason):
        read_installed(sections(**parts))


def test_the_snippet_is_bounded_and_carries_the_exit_status():
    dpkg = dict(INSTALLED_PARTS)["dpkg"]
    assert f"head -n {MAX_PACKAGES + 1}" in dpkg and "<<<muniwd-end:$?>>>" in dpkg
    assert DPKG_FORMAT in dpkg


def test_the_snippet_on_this_machine_equals_dpkg_query():
    """The framed snippet, run by sh here, lists exactly what dpkg-query lists."""
    from muni_watchdog.checks.ssh.sections import parse_sections, sections_script
    out = subprocess.run(["sh", "-c", sections_script(INSTALLED_PARTS)], capture_output=True,
                         text=True, timeout=60, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    soft = read_installed(remote(parse_sections(out.stdout, out.stderr)))
    direct = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}\n"],
                            capture_output=True, text=True, timeout=60).stdout.split("\n")
    assert len(soft.packages) == sum(1 for s in direct if len(s) > 1 and s[1] in "iUFWtH")


# --- the real thing: the lab's sshd, this machine's dpkg-query ------------------------------

@pytest.fixture(scope="module")
def lab():
    from lab.ssh_lab import SshLab
    server = SshLab().start()
    yield server
    server.stop()


def lab_target(lab, tmp_path) -> TargetInfo:
    conn = SshConnection(**lab.connection(lab.pin(tmp_path / "known_hosts")))
    info = TargetInfo("lab", "ssh", "127.0.0.1", conn)
    return replace(info, session=SshSession.for_target(info))


@pytest.mark.integration
def test_collect_over_ssh_lists_this_machines_packages(lab, tmp_path):
    info = lab_target(lab, tmp_path)

    async def go():
        try:
            return await collect_installed(info, VulnParams())
        finally:
            await info.session.close()

    soft = asyncio.run(go())
    assert soft.manager == "dpkg" and soft.os.id == "debian"
    # Every package whose files are on disk: dpkg's own status word is anything but
    # "not-installed" and "config-files" (a package left "unpacked" or "triggers-pending"
    # by an interrupted install is still there, and still vulnerable).
    local = subprocess.run(
        ["dpkg-query", "-W", "-f=${binary:Package} ${source:Version} ${db:Status-Status}\n"],
        capture_output=True, text=True, timeout=60).stdout
    expected = {(words[0].split(":")[0], words[1]) for words in
                (line.split(" ") for line in local.splitlines())
                if words[2] not in ("not-installed", "config-files")}
    assert {(p.name, p.source_version) for p in soft.packages} == expected
    assert len(expected) >= 100
    bsd = next(p for p in soft.packages if p.name == "bsdutils")
    assert bsd.source_name == "util-linux" and not bsd.source_version.startswith("1:")
