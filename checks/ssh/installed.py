"""The installed packages of a server, over SSH: one typed list for the vulnerability matching
and the software inventory alike.

Linux: ``dpkg-query`` (Debian, Ubuntu) or ``rpm -qa`` (RHEL, AlmaLinux, Rocky) with the binary
*and* source package of each — security feeds name source packages, and a source version can
differ from its binaries' (a binNMU ``bash 5.2.15-2+b8`` is built from source ``5.2.15-2``;
``bsdutils 1:2.38.1-5+deb12u3`` from ``util-linux 2.38.1-5+deb12u3``, without the epoch) —
plus ``/etc/os-release``, which says which feed and ecosystem apply. Windows: the installed
hotfixes (``Get-HotFix``) only: honestly partial, there is no package list to match.

Every list is bounded on the remote side (``head``) and ends with the tool's own exit status;
a tool that is missing, fails, complains on stderr, prints nothing or is cut short is an error
(UNKNOWN), never "nothing installed".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from muni_watchdog.checks.base import CollectError, TargetInfo
from muni_watchdog.checks.ssh.common import (
    ABSENT,
    HostKeyAlarm,
    RemoteData,
    exit_reason,
    read_section,
    run_powershell,
    run_sections,
    session_of,
)
from muni_watchdog.checks.ssh.system import parse_os_release
from muni_watchdog.checks.ssh.windows import as_list, parse_ps_date, powershell_errors

MAX_PACKAGES = 50_000  # a big desktop has ~5,000; more is not a list we should trust
END = "<<<muniwd-end:"
_END = re.compile(r"^<<<muniwd-end:(\d+)>>>$")

Manager = Literal["dpkg", "rpm", "windows-hotfix"]

DPKG_FORMAT = (r"${binary:Package}\t${Version}\t${source:Package}\t${source:Version}\t"
               r"${db:Status-Abbrev}\t${Architecture}\n")
RPM_FORMAT = r"%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n"


def _bounded(command: str) -> str:
    """``command``'s output, at most MAX_PACKAGES lines, then its exit status on a line of its
    own — absent when ``head`` cut the list (sh has no pipefail: the status must travel in
    the data)."""
    return f'( {command}; echo "{END}$?>>>" ) | head -n {MAX_PACKAGES + 1}'


_NEED = "command -v {0} >/dev/null 2>&1 || exit 200; "
INSTALLED_PARTS: list[tuple[str, str]] = [
    ("os_release", "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release"),
    ("dpkg", _NEED.format("dpkg-query") + _bounded(f"dpkg-query -W -f='{DPKG_FORMAT}'")),
    ("rpm", _NEED.format("rpm") + _bounded(f"rpm -qa --qf '{RPM_FORMAT}'")),
]

HOTFIX_SCRIPT = r"""
$ErrorActionPreference = 'Stop'
$os = Get-CimInstance Win32_OperatingSystem
$r = [ordered]@{ caption = $os.Caption; version = $os.Version; build = $os.BuildNumber }
$r.hotfixes = @(Get-HotFix | Select-Object -First 50001 | ForEach-Object {
  [ordered]@{ id = $_.HotFixID; description = $_.Description;
    installed_on = $(if ($_.InstalledOn) { $_.InstalledOn.ToString('o') } else { $null }) } })
$r | ConvertTo-Json -Depth 4 -Compress
"""


@dataclass(frozen=True)
class InstalledPackage:
    """One installed binary package and the source package it was built from."""

    name: str
    version: str
    source_name: str
    source_version: str
    arch: str = ""


@dataclass(frozen=True)
class OsIdentity:
    """What ``/etc/os-release`` (or Windows) says the system is."""

    id: str
    version_id: str = ""
    codename: str = ""
    id_like: tuple[str, ...] = ()
    pretty_name: str = ""
    version: str = ""  # os-release VERSION: "22.04.4 LTS (Jammy Jellyfish)"

    @property
    def family(self) -> str:
        """``debian`` (Debian, Ubuntu, derivatives), ``rhel`` (RHEL and clones, Fedora),
        ``windows``, or the ID itself."""
        ids = (self.id, *self.id_like)
        if any(i in ("debian", "ubuntu") for i in ids):
            return "debian"
        if any(i in ("rhel", "fedora", "centos") for i in ids):
            return "rhel"
        return self.id


@dataclass(frozen=True)
class InstalledSoftware:
    """Everything the collection learnt: the system, the package manager asked, the packages."""

    os: OsIdentity
    manager: Manager
    packages: tuple[InstalledPackage, ...]
    partial: bool = False          # the list cannot tell every vulnerable component
    notes: tuple[str, ...] = ()
    internet_facing: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def os_identity(text: str) -> OsIdentity:
    """``/etc/os-release`` → :class:`OsIdentity`; ValueError without an ID."""
    fields = parse_os_release(text)
    if not fields.get("ID"):
        raise ValueError("/etc/os-release has no ID= line")
    return OsIdentity(fields["ID"].lower(), fields.get("VERSION_ID", ""),
                      fields.get("VERSION_CODENAME", "") or fields.get("UBUNTU_CODENAME", ""),
                      tuple(fields.get("ID_LIKE", "").lower().split()),
                      fields.get("PRETTY_NAME", ""), fields.get("VERSION", ""))


def _strip_end(text: str, tool: str) -> list[str]:
    """The lines before the end marker; ValueError when the marker is missing (cut) or says
    the tool failed."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or not _END.match(lines[-1].strip()):
        raise ValueError(f"{tool}: the list was cut short (no end marker: more than "
                         f"{MAX_PACKAGES} lines, or the command was interrupted)")
    rc = int(_END.match(lines[-1].strip()).group(1))  # type: ignore[union-attr]
    if rc != 0:
        raise ValueError(f"{tool}: {exit_reason(rc)}")
    body = lines[:-1]
    if not any(ln.strip() for ln in body):
        raise ValueError(f"{tool} listed no packages at all")
    return body


# dpkg's second status letter: files on disk for i(nstalled), U(npacked), F (half-configured),
# W/t (triggers awaited/pending), H (half-installed); none for n(ot-installed), c(onfig-files).
_ON_DISK = frozenset("iUFWtH")


def parse_dpkg_query(text: str) -> tuple[list[InstalledPackage], list[str]]:
    """``dpkg-query -W -f=DPKG_FORMAT`` with its end marker → (packages, notes).

    Counted: every package whose files are on disk, whatever is *wanted* of it (``ii``,
    ``hi`` held, ``ri`` marked for removal but still there, ``iU`` unpacked); skipped:
    ``rc`` (only configuration files left) and ``un``. ValueError on a malformed line."""
    packages: list[InstalledPackage] = []
    old_dpkg = 0
    for number, line in enumerate(_strip_end(text, "dpkg-query"), 1):
        parts = line.split("\t")
        if len(parts) != 6 or not parts[0] or len(parts[4]) < 2:
            raise ValueError(f"dpkg-query line {number} is not in the expected format: "
                             f"{line[:120]!r}")
        binary, version, source, source_version, status, arch = parts
        if status[1] not in _ON_DISK:
            continue
        name, _, qualifier = binary.partition(":")
        if not version:
            raise ValueError(f"dpkg-query line {number}: {name} has no version")
        if not source or not source_version:  # dpkg before 1.19: no source:* fields
            old_dpkg += 1
            source, source_version = source or name, source_version or version
        packages.append(InstalledPackage(name, version, source, source_version,
                                         qualifier or arch))
    notes = [f"dpkg-query gave no source package for {old_dpkg} packages (dpkg older than "
             "1.19?): those were matched by their binary name and version"] if old_dpkg else []
    return packages, notes


def _srpm(sourcerpm: str) -> tuple[str, str, str] | None:
    """``openssh-8.7p1-38.el9.src.rpm`` → (openssh, 8.7p1, 38.el9)."""
    stem = re.sub(r"\.(?:no)?src\.rpm$", "", sourcerpm)
    parts = stem.rsplit("-", 2)
    if stem == sourcerpm or len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def parse_rpm_qa(text: str) -> tuple[list[InstalledPackage], list[str]]:
    """``rpm -qa --qf RPM_FORMAT`` with its end marker → (packages, notes). The
    ``gpg-pubkey`` entries (imported signing keys, not software) are skipped; the source
    version is the binary's epoch with the source RPM's version-release."""
    packages: list[InstalledPackage] = []
    for number, line in enumerate(_strip_end(text, "rpm -qa"), 1):
        parts = line.split("\t")
        if len(parts) != 6 or not all(parts[:4]):
            raise ValueError(f"rpm -qa line {number} is not in the expected format: "
                             f"{line[:120]!r}")
        name, epoch, version, release, arch, sourcerpm = parts
        if name == "gpg-pubkey":
            continue
        if not epoch.isdigit():
            raise ValueError(f"rpm -qa line {number}: epoch {epoch[:20]!r} is not a number")
        prefix = "" if epoch == "0" else f"{epoch}:"
        source = _srpm(sourcerpm)
        src_name, src_ver, src_rel = source or (name, version, release)
        packages.append(InstalledPackage(name, f"{prefix}{version}-{release}", src_name,
                                         f"{prefix}{src_ver}-{src_rel}", arch))
    return packages, []


def parse_hotfixes(text: str) -> tuple[OsIdentity, list[InstalledPackage]]:
    """HOTFIX_SCRIPT's JSON → (the Windows identity, one entry per installed hotfix: the KB
    as name, its install date as version)."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or "hotfixes" not in data:
        raise ValueError("no 'hotfixes' in PowerShell's answer")
    build = str(data.get("build") or "")
    identity = OsIdentity("windows", str(data.get("version") or ""), build,
                          pretty_name=str(data.get("caption") or "Windows"))
    fixes = []
    for entry in as_list(data["hotfixes"])[:MAX_PACKAGES + 1]:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        when: datetime | None = parse_ps_date(entry.get("installed_on"))
        kb = str(entry["id"]).strip()
        fixes.append(InstalledPackage(kb, when.date().isoformat() if when else "", kb, "",
                                      str(entry.get("description") or "")))
    if len(fixes) > MAX_PACKAGES:
        raise ValueError(f"more than {MAX_PACKAGES} hotfixes listed")
    return identity, fixes


def read_installed(raw: RemoteData) -> InstalledSoftware:
    """The Linux sections of INSTALLED_PARTS, cross-checked; CollectError with the reason."""
    found = read_section(raw, "os_release", "cat /etc/os-release")
    try:
        identity = os_identity(found.text)
    except ValueError as exc:
        raise CollectError(str(exc)) from None
    present = {name for name in ("dpkg", "rpm")
               if name in raw.sections and raw.sections[name].rc != ABSENT}
    preferred = {"debian": "dpkg", "rhel": "rpm"}.get(identity.family)
    manager = preferred if preferred in present else next(iter(sorted(present)), None)
    if manager is None:
        missing = preferred or "dpkg or rpm"
        raise CollectError(f"{identity.pretty_name or identity.id}: {missing} not found on the "
                           "target: cannot list the installed packages")
    command = "dpkg-query -W" if manager == "dpkg" else "rpm -qa"
    section = read_section(raw, manager, command)
    try:
        packages, notes = (parse_dpkg_query if manager == "dpkg" else parse_rpm_qa)(
            section.text)
    except ValueError as exc:
        raise CollectError(str(exc)) from None
    if not packages:
        raise CollectError(f"{command} lists no installed package (only removed ones)")
    return InstalledSoftware(identity, manager, tuple(packages), bool(notes), tuple(notes),
                             raw.internet_facing)


def read_windows(stdout: str, stderr: str, exit_status: int,
                 internet_facing: bool = False) -> InstalledSoftware:
    """HOTFIX_SCRIPT's answer → the Windows hotfix list, marked partial; CollectError."""
    errors = powershell_errors(stderr)
    if exit_status != 0:
        said = errors[0] if errors else stdout.strip()[-300:]
        raise CollectError(f"PowerShell: {exit_reason(exit_status)}" + (f": {said}" if said
                                                                          else ""))
    if errors:
        raise CollectError(f"PowerShell reported an error: {errors[0]}")
    if not stdout.strip():
        raise CollectError("PowerShell printed nothing")
    try:
        identity, fixes = parse_hotfixes(stdout)
    except ValueError as exc:
        raise CollectError(f"PowerShell's answer is not the expected JSON: {exc}") from None
    if not fixes:
        raise CollectError("Get-HotFix lists no installed update at all")
    note = ("Windows: only the installed hotfixes are known (Get-HotFix), not the version of "
            "each component: no per-package vulnerability matching")
    return InstalledSoftware(identity, "windows-hotfix", tuple(fixes), True, (note,),
                             internet_facing)


async def collect_installed(target: TargetInfo, params: Any
                            ) -> InstalledSoftware | HostKeyAlarm:
    """Ask the target (I/O): the Linux sections, or the Windows hotfix script."""
    internet = bool(getattr(target.connection, "internet_facing", False))
    async with session_of(target) as session:
        os_name = await session.detect_os(min(params.timeout, 30))
    if os_name == "windows":
        result = await run_powershell(target, params, HOTFIX_SCRIPT)
        if isinstance(result, HostKeyAlarm):
            return result
        return read_windows(result.stdout, result.stderr, result.exit_status, internet)
    raw = await run_sections(target, params, INSTALLED_PARTS)
    return raw if isinstance(raw, HostKeyAlarm) else read_installed(raw)
