"""Pure parsers shared by the package managers, and apt's (Debian/Ubuntu): pending updates,
needrestart and kernel versions. Each takes captured text and returns plain data. dnf/yum are
in rpm_packages, zypper in zypper."""

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
    # Ubuntu: security fixes that only Ubuntu Pro (ESM) delivers, by its service ("esm-infra":
    # the main archive, "esm-apps": universe), and whether apt said this release gets its
    # security updates only through ESM Infra ("Enable UA Infra: ESM to receive additional
    # future security updates": Checkmk's apt check makes that CRIT).
    esm_only: dict[str, list[str]] = field(default_factory=dict)
    esm_infra_required: bool = False
    # apt's own count of what it would install (upgraded + newly installed + reinstalled +
    # downgraded), from its summary line; None when the summary is missing.
    would_install: int | None = None
    inst_lines: int = 0


# After Checkmk's apt check; origins are "Label:Version/Suite" joined by ", ".
_INST = re.compile(r"^Inst (\S+)(?: \[([^\]]*)\])?(?: \((\S+) (.*?) \[([^\]]+)\]\))?")
_REMV = re.compile(r"^Remv (\S+)")
# Debian-Security:12/bookworm-security; Ubuntu:22.04/jammy-security;
# UbuntuESM:22.04/jammy-infra-security; UbuntuESMApps:22.04/jammy-apps-security.
_SECURITY_ORIGIN = re.compile(r"^(Debian-Security:|Ubuntu[^:]*:[^/]*/\S*-security$)")
# APT 1.x/2.x: "6 upgraded, 2 newly installed, 0 to remove and 2 not upgraded." (with
# "N reinstalled, N downgraded, " between when non-zero); APT 3.0: "  Upgrading: 6,
# Installing: 2, Removing: 0, Not Upgrading: 2" under "Summary:".
_SUMMARY = re.compile(r"^(\d+) upgraded, (\d+) newly installed, (?:(\d+) reinstalled, )?"
                      r"(?:(\d+) downgraded, )?(\d+) to remove and (\d+) not upgraded\.")
_SUMMARY3 = re.compile(r"^Upgrading: (\d+), Installing: (\d+), (?:Reinstalling: (\d+), )?"
                       r"(?:Downgrading: (\d+), )?Removing: (\d+), Not Upgrading: (\d+)")
_LIST_HEADINGS = {
    "The following upgrades have been deferred due to phasing:": "phased",
    "The following packages have been kept back:": "kept_back",
}


# Ubuntu's apt hook (ubuntu-advantage-tools) in the same output: "The following security
# updates require Ubuntu Pro with 'esm-apps' enabled:" and, before Ubuntu Pro, "*The following
# packages could receive security updates with UA Infra: ESM service enabled:"; the packages
# follow on the next lines (indented, or not in the older form).
_ESM_HEADING = re.compile(r"^\*?The following (?:security updates require Ubuntu Pro with "
                          r"'(esm-\w+)' enabled|packages could receive security updates "
                          r"with UA (Infra|Apps): ESM service enabled):$")
_ESM_INFRA_REQUIRED = re.compile(r"^Enable (?:UA Infra: ESM|ESM Infra) to receive additional "
                                 r"future security updates")
_PACKAGE_NAMES = re.compile(r"^\s*[a-z0-9][a-z0-9+.:~-]*(?:\s+[a-z0-9][a-z0-9+.:~-]*)*\s*$")


def is_security_origin(origin: str) -> bool:
    return bool(_SECURITY_ORIGIN.match(origin.strip()))


def parse_apt_simulation(text: str) -> AptSimulation:
    """Parse ``apt-get -s -q dist-upgrade`` (C locale)."""
    result = AptSimulation()
    collecting: str | None = None
    esm_service: str | None = None
    for line in text.splitlines()[:MAX_LINES]:
        if esm_service and _PACKAGE_NAMES.match(line):
            result.esm_only.setdefault(esm_service, []).extend(line.split())
            continue
        esm_service = None
        heading = _ESM_HEADING.match(line.strip())
        if heading:
            esm_service = heading.group(1) or f"esm-{heading.group(2).lower()}"
            continue
        if _ESM_INFRA_REQUIRED.match(line):
            result.esm_infra_required = True
            continue
        if collecting and line.startswith("  "):
            getattr(result, collecting).extend(line.split())
            continue
        collecting = _LIST_HEADINGS.get(line.strip())
        if collecting:
            continue
        if line.startswith(("E: ", "W: ")):
            result.errors.append(line)
            continue
        summary = _SUMMARY.match(line) or _SUMMARY3.match(line.strip())
        if summary:
            result.would_install = sum(int(n or 0) for n in summary.groups()[:4])
            continue
        match = _INST.match(line)
        if match:
            result.inst_lines += 1
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
