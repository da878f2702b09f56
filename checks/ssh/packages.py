"""Pure parsers for package managers: apt (Debian/Ubuntu), dnf (RHEL family), zypper (SUSE),
needrestart and kernel versions. Each takes captured text and returns plain data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LINES = 100_000  # every loop over remote output has a bound


@dataclass(frozen=True)
class PendingUpdate:
    name: str
    version: str
    current: str = ""
    origins: tuple[str, ...] = ()
    security: bool = False
    phased: bool = False            # deferred by phasing: apt will not install it yet
    severity: str = ""              # dnf/zypper/Windows severity when the source gives one
    action: str = "upgrade"         # upgrade, install (a new package, e.g. a kernel ABI)


@dataclass
class AptSimulation:
    updates: list[PendingUpdate] = field(default_factory=list)
    removals: list[str] = field(default_factory=list)
    phased: list[str] = field(default_factory=list)
    kept_back: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


# After Checkmk's apt check; origins are "Label:Version/Suite" joined by ", ".
_INST = re.compile(r"^Inst (\S+)(?: \[([^\]]*)\])?(?: \((\S+) (.*?) \[([^\]]+)\]\))?")
_REMV = re.compile(r"^Remv (\S+)")
# Debian-Security:12/bookworm-security; Ubuntu:22.04/jammy-security;
# UbuntuESM:22.04/jammy-infra-security; UbuntuESMApps:22.04/jammy-apps-security.
_SECURITY_ORIGIN = re.compile(r"^(Debian-Security:|Ubuntu[^:]*:[^/]*/\S*-security$)")
_LIST_HEADINGS = {
    "The following upgrades have been deferred due to phasing:": "phased",
    "The following packages have been kept back:": "kept_back",
}


def is_security_origin(origin: str) -> bool:
    return bool(_SECURITY_ORIGIN.match(origin.strip()))


def parse_apt_simulation(text: str) -> AptSimulation:
    """Parse ``apt-get -s -q dist-upgrade`` (C locale)."""
    result = AptSimulation()
    collecting: str | None = None
    for line in text.splitlines()[:MAX_LINES]:
        if collecting and line.startswith("  "):
            getattr(result, collecting).extend(line.split())
            continue
        collecting = _LIST_HEADINGS.get(line.strip())
        if collecting:
            continue
        if line.startswith(("E: ", "W: ")):
            result.errors.append(line)
            continue
        match = _INST.match(line)
        if match:
            name, current, version, origins_text, _arch = match.groups()
            origins = tuple(o.strip() for o in (origins_text or "").split(",") if o.strip())
            result.updates.append(PendingUpdate(
                name, version or "", current or "", origins,
                security=any(is_security_origin(o) for o in origins),
                action="upgrade" if current else "install"))
            continue
        match = _REMV.match(line)
        if match:
            result.removals.append(match.group(1))
    phased = set(result.phased)
    if phased:
        # Never counted as installable; listed so a person sees why the count differs.
        result.updates = [u for u in result.updates if u.name not in phased]
        result.updates += [PendingUpdate(n, "", phased=True) for n in result.phased]
    return result


def newest_mtime(text: str) -> tuple[float | None, float | None]:
    """From ``date +%s`` followed by ``stat -c %Y`` lines: (remote now, newest mtime)."""
    numbers = []
    for line in text.splitlines()[:MAX_LINES]:
        head = line.split(" ", 1)[0]
        try:
            numbers.append(float(head))
        except ValueError:
            continue
    if not numbers:
        return None, None
    return numbers[0], (max(numbers[1:]) if len(numbers) > 1 else None)


# --- RHEL family ----------------------------------------------------------------------------

DNF_EXIT = {0: "no updates", 100: "updates available", 1: "error"}
_DNF_LINE = re.compile(r"^(\S+)\.(\w+)\s+(\S+)\s+(\S+)\s*$")
_DNF_ADVISORY = re.compile(r"^(\S+)\s+(\S+/Sec\.|security)\s+(\S+)\s*$", re.IGNORECASE)


def parse_dnf_check_update(text: str) -> list[PendingUpdate]:
    """``dnf -q check-update`` lines: ``name.arch  version  repo``; "Obsoleting" and
    "Security:" notes are skipped (the latter feed the kernel comparison)."""
    updates = []
    for line in text.splitlines()[:MAX_LINES]:
        if line.startswith(("Obsoleting", "Security:", " ", "Last metadata")):
            if line.startswith("Obsoleting"):
                break
            continue
        match = _DNF_LINE.match(line)
        if match:
            name, _arch, version, repo = match.groups()
            updates.append(PendingUpdate(name, version, origins=(repo,)))
    return updates


def _nevra_name(nevra: str) -> str:
    """``openssl-libs-1:3.0.7-27.el9.x86_64`` → ``openssl-libs``."""
    base = nevra.rsplit(".", 1)[0]
    parts = base.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else base


def parse_dnf_security(text: str) -> dict[str, tuple[str, str]]:
    """``dnf updateinfo list --security``: package name → (advisory, severity)."""
    found: dict[str, tuple[str, str]] = {}
    for line in text.splitlines()[:MAX_LINES]:
        match = _DNF_ADVISORY.match(line.strip())
        if match:
            advisory, label, nevra = match.groups()
            severity = label.split("/")[0] if "/" in label else ""
            found.setdefault(_nevra_name(nevra), (advisory, severity))
    return found


def merge_dnf(updates: list[PendingUpdate], security: dict[str, tuple[str, str]]
              ) -> list[PendingUpdate]:
    merged = []
    for u in updates:
        advisory = security.get(u.name)
        if advisory:
            merged.append(PendingUpdate(u.name, u.version, u.current,
                                        u.origins + (advisory[0],), True, severity=advisory[1]))
        else:
            merged.append(u)
    return merged


def parse_zypper_table(text: str) -> list[list[str]]:
    """Rows of a zypper table (``a | b | c``), header and rule lines dropped."""
    rows = []
    header_seen = False
    for line in text.splitlines()[:MAX_LINES]:
        if "|" not in line:
            continue
        cells = [c.strip() for c in line.split("|")]
        if not header_seen:
            header_seen = True  # the first table line is the header
            continue
        if set(line.strip()) <= set("-+| "):
            continue
        rows.append(cells)
    return rows


def parse_zypper_patches(text: str) -> list[PendingUpdate]:
    """``zypper -q list-patches --category security``:
    Repository | Name | Category | Severity | Interactive | Status | Summary."""
    updates = []
    for cells in parse_zypper_table(text):
        if len(cells) < 6:
            continue
        repo, name, category, severity, _interactive, status = cells[:6]
        if status.lower() not in ("needed", "applicable"):
            continue
        updates.append(PendingUpdate(name, "", origins=(repo,),
                                     security=category.lower() == "security",
                                     severity=severity, action="patch"))
    return updates


def parse_zypper_updates(text: str) -> list[PendingUpdate]:
    """``zypper -q list-updates``: S | Repository | Name | Current Version | Available | Arch."""
    updates = []
    for cells in parse_zypper_table(text):
        if len(cells) >= 6:
            _s, repo, name, current, available = cells[:5]
            updates.append(PendingUpdate(name, available, current, (repo,)))
    return updates


# --- reboot and kernel ----------------------------------------------------------------------

def parse_needrestart(text: str) -> dict[str, object]:
    """``needrestart -b``: only ``NEEDRESTART-`` lines count (Perl warnings go to stderr)."""
    info: dict[str, object] = {"services": [], "kernel_status": None}
    for line in text.splitlines()[:MAX_LINES]:
        if not line.startswith("NEEDRESTART-"):
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        key = key.removeprefix("NEEDRESTART-")
        if key == "KSTA":
            info["kernel_status"] = int(value) if value.isdigit() else None
        elif key == "KCUR":
            info["kernel_running"] = value
        elif key == "KEXP":
            info["kernel_expected"] = value
        elif key == "SVC":
            info["services"].append(value)  # type: ignore[union-attr]
    return info


def version_key(version: str) -> tuple:
    """Natural order: ``6.1.0-21`` after ``6.1.0-9``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p)
                 for p in re.findall(r"\d+|[A-Za-z]+", version))


def kernels_from_boot(text: str) -> list[str]:
    """``ls -1 /boot/vmlinuz-*`` → versions, rescue images dropped."""
    versions = []
    for line in text.splitlines()[:MAX_LINES]:
        name = line.strip().rsplit("/", 1)[-1]
        if name.startswith("vmlinuz-") and "rescue" not in name:
            versions.append(name.removeprefix("vmlinuz-"))
    return sorted(versions, key=version_key)
