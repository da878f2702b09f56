"""Remote answers for the ssh checks' pure tests: what a host's framed script returns, section
by section (stdout, exit status, stderr), built from captured outputs in tests/data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from muni_watchdog.checks.ssh.common import ABSENT, RemoteData
from muni_watchdog.checks.ssh.patches_linux import linux_parts
from muni_watchdog.checks.ssh.sections import Section

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())
KERNEL = "6.1.0-18-amd64\n/boot/vmlinuz-6.1.0-18-amd64"
DNF_NO_REBOOT = ("No core libraries or services have been updated since boot-up.\n"
                 "Reboot should not be necessary.")
DNF_REBOOT = ("Core libraries or services have been updated since boot-up:\n  * kernel\n\n"
              "Reboot is required to fully utilize these updates.\n"
              "More information: https://access.redhat.com/solutions/27943")
YUM_NO_REBOOT = "No core libraries or services have been updated.\nReboot is probably not necessary."


def data(name: str) -> str:
    return (DATA / name).read_text()


def section(name: str, value) -> Section:
    """``value``: a Section, text (exit 0), or (text, rc) / (text, rc, stderr)."""
    if isinstance(value, Section):
        return value
    if isinstance(value, str):
        return Section(name, value, 0)
    return Section(name, *value)


def remote(sections: dict, internet: bool = False, sent_at: float = 0.0,
           received_at: float = 0.0) -> RemoteData:
    return RemoteData({n: section(n, v) for n, v in sections.items()}, "linux", internet,
                      sent_at, received_at)


def lists(age: float, extra: str = "") -> str:
    """A cache section: the remote clock, then one list file ``age`` seconds old."""
    return f"{EPOCH}\n{int(EPOCH - age)} /var/lib/apt/lists/x_InRelease\n{extra}"


def patches_host(internet: bool = False, **parts) -> RemoteData:
    """Every section of the Linux patches script: package managers absent, no reboot flag,
    the running kernel the only one installed, no needrestart — then ``parts``."""
    sections: dict = {name: ("", ABSENT) for name, _ in linux_parts(False)}
    sections.update(reboot_flag=("", 1), kernel=KERNEL)
    sections.update(parts)
    return remote(sections, internet)


def with_summary(apt_text: str) -> str:
    """tests/data/apt-get-s-upgrade.debian12.txt was captured with -qq, which drops apt's
    summary line; the check runs -q, where apt always prints it."""
    inst = apt_text.count("\nInst ") + apt_text.startswith("Inst ")
    return apt_text + f"{inst} upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n"


def apt_host(apt_text: str, lists_age: float = 3600, rc: int = 0, stderr: str = "",
             internet: bool = False, **parts) -> RemoteData:
    return patches_host(internet, apt_lists=lists(lists_age), apt=(apt_text, rc, stderr),
                        **parts)


def advisory_files(tool: str, repos: tuple[str, ...]) -> str:
    """The cache snippet's ``updateinfo <path>`` lines for these repositories."""
    if tool == "dnf":
        return "".join(f"updateinfo /var/cache/dnf/{r}-0123456789abcdef/repodata/"
                       f"4f1c-updateinfo.xml.zck\n" for r in repos)
    return "".join(f"updateinfo /var/cache/yum/x86_64/7Server/{r}/9e2a-updateinfo.xml.bz2\n"
                   for r in repos)


def dnf_host(check_update: str | None = None, rc: int = 100, advisories: str | None = None,
             restart=(DNF_NO_REBOOT, 0), repos_with_advisories=("baseos", "appstream"),
             **parts) -> RemoteData:
    check_update = data("dnf-check-update.rhel9.txt") if check_update is None else check_update
    advisories = data("dnf-updateinfo-security.rhel9.txt") if advisories is None \
        else advisories
    return patches_host(dnf_cache=lists(600, advisory_files("dnf", repos_with_advisories)),
                        dnf=(check_update, rc), dnf_advisories=advisories,
                        dnf_restart=restart, **parts)


def yum_host(check_update: str, rc: int = 100, advisories: str = "",
             restart=(YUM_NO_REBOOT, 0), repos_with_advisories=(), **parts) -> RemoteData:
    return patches_host(yum_cache=lists(600, advisory_files("yum", repos_with_advisories)),
                        yum=(check_update, rc), yum_advisories=advisories,
                        yum_restart=restart, **parts)


def zypper_host(patches: str, updates: str = "Loading repository data...\nReading installed "
                "packages...\nNo updates found.\n", rc: int = 0, reboot=("", 0),
                **parts) -> RemoteData:
    return patches_host(zypper_cache=lists(600), zypper_patches=(patches, rc),
                        zypper_updates=updates, zypper_reboot=reboot,
                        zypper_reboot_flag="absent", **parts)
