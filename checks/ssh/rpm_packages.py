"""Pure parsers for the RHEL family: ``dnf``/``yum check-update``, ``updateinfo list`` and
``needs-restarting -r``.

``check-update`` prints ``name.arch  [epoch:]version-release  repo`` in three columns that
yum and dnf wrap when a name or version is too long for its column (the rest moves to the next
line, indented), after noise such as ``Loaded plugins: ...``, ``Loading mirror speeds from
cached hostfile`` and `` * base: mirror...``. An ``Obsoleting Packages`` section then lists
replacements (the new package, and indented under it the installed one it obsoletes): those are
updates too, and dnf exits 100 for them. Exit status: 100 updates, 0 none, 1 error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from muni_watchdog.checks.ssh.packages import MAX_LINES, PendingUpdate

CHECK_UPDATE_EXIT = {0: "no updates", 100: "updates available", 1: "error"}

# RPM architectures (rpmrc's arch_compat list, the ones seen on servers).
_ARCH = (r"noarch|x86_64|amd64|i[3-6]86|athlon|aarch64|arm\w*|ppc\w*|s390x?|ia64|riscv64|"
         r"loongarch64|mips\w*|sparc\w*|alpha\w*|src|nosrc")
_NAME_ARCH = re.compile(rf"^(\S+)\.({_ARCH})$")
_EVR = re.compile(r"^(?:\d+:)?[^\s:-]+-[^\s:-]+$")  # RPM forbids '-' in version and release
_OBSOLETING = re.compile(r"^Obsoleting Packages\s*$", re.IGNORECASE)


@dataclass
class CheckUpdate:
    updates: list[PendingUpdate] = field(default_factory=list)
    obsoleted: dict[str, list[str]] = field(default_factory=dict)  # new name -> replaced
    unreadable: list[str] = field(default_factory=list)  # package-like lines not understood


def _logical_lines(text: str) -> list[str]:
    """Join the wrapped parts (indented continuation lines) to the line they belong to."""
    lines: list[str] = []
    for raw in text.splitlines()[:MAX_LINES]:
        if not raw.strip():
            lines.append("")
        elif raw[0].isspace() and lines and lines[-1]:
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw.rstrip())
    return [ln for ln in lines if ln]


def _package(tokens: list[str]) -> tuple[str, str, str, str] | None:
    """(name, arch, evr, repo) from ``name.arch evr repo``, or None."""
    if len(tokens) != 3:
        return None
    match = _NAME_ARCH.match(tokens[0])
    if not match or not _EVR.match(tokens[1]):
        return None
    return match.group(1), match.group(2), tokens[1], tokens[2]


def parse_check_update(text: str) -> CheckUpdate:
    """``dnf``/``yum check-update`` (quiet or not): every pending update, obsoleting
    replacements included, each name once."""
    result = CheckUpdate()
    seen: set[str] = set()
    obsoleting = False
    for line in _logical_lines(text):
        if _OBSOLETING.match(line):
            obsoleting = True
            continue
        tokens = line.split()
        new = _package(tokens[:3])
        old = _package(tokens[3:]) if obsoleting and len(tokens) == 6 else None
        if new is None or (len(tokens) != 3 and old is None):
            # A line that starts like a package but is not one: a format we do not know.
            if _NAME_ARCH.match(tokens[0]) and not line.startswith("Security:"):
                result.unreadable.append(line[:200])
            continue
        name, _arch, evr, repo = new
        if old is not None:
            result.obsoleted.setdefault(name, []).append(old[0])
        if name not in seen:
            seen.add(name)
            result.updates.append(PendingUpdate(name, evr, origins=(repo,)))
    return result


# ``RHSA-2024:5259 Moderate/Sec.  openssl-libs-1:3.0.7-27.el9_4.x86_64``; ``FEDORA-EPEL-...
# bugfix pkg-...``. The type: severity/Sec. (security), bugfix, enhancement, newpackage.
_ADVISORY = re.compile(r"^(?:i\s+)?(\S+)\s+(\w+/Sec\.|security|bugfix|enhancement|newpackage|"
                       r"unspecified|unknown)\s+(\S+)\s*$", re.IGNORECASE)


@dataclass
class Advisories:
    security: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, severity)
    count: int = 0  # advisories of any type: 0 means the repositories publish none


def nevra_name(nevra: str) -> str:
    """``openssl-libs-1:3.0.7-27.el9_4.x86_64`` → ``openssl-libs``."""
    base = nevra.rsplit(".", 1)[0]
    parts = base.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else base


def parse_advisories(text: str) -> Advisories:
    """``dnf``/``yum updateinfo list`` (all types): security advisories by package name."""
    found = Advisories()
    for line in text.splitlines()[:MAX_LINES]:
        match = _ADVISORY.match(line.strip())
        if not match:
            continue
        found.count += 1
        advisory, label, nevra = match.groups()
        if label.lower().endswith("/sec.") or label.lower() == "security":
            severity = label.split("/")[0] if "/" in label else ""
            found.security.setdefault(nevra_name(nevra), (advisory, severity))
    return found


_DNF_REPO_DIR = re.compile(r"^(.+)-[0-9a-f]{16}$")


def repos_with_advisories(cache_text: str) -> set[str]:
    """Repository ids from ``updateinfo <path>`` lines: dnf keeps
    ``/var/cache/dnf/<repo>-<hash>/repodata/<sum>-updateinfo.xml.*``, yum
    ``/var/cache/yum/<arch>/<release>/<repo>/<sum>-updateinfo.xml.*``."""
    repos = set()
    for line in cache_text.splitlines()[:MAX_LINES]:
        word, _, path = line.partition(" ")
        if word != "updateinfo":
            continue
        parts = path.strip().split("/")
        if "repodata" in parts:  # dnf
            directory = parts[parts.index("repodata") - 1]
            match = _DNF_REPO_DIR.match(directory)
            repos.add(match.group(1) if match else directory)
        elif len(parts) >= 2:  # yum
            repos.add(parts[-2])
    return repos


def mark_security(updates: list[PendingUpdate], security: dict[str, tuple[str, str]]
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


def parse_needs_restarting(rc: int, text: str) -> bool | None:
    """``needs-restarting -r`` (dnf-plugins-core, or yum-utils on RHEL 7): True when a reboot
    is required (exit 1 and says so), False when not (exit 0 and says so), None when the
    answer is neither (the plugin is missing: dnf exits 1 for an unknown command too)."""
    if rc == 1 and "Reboot is required" in text:
        return True
    if rc == 0 and ("Reboot should not be necessary" in text or
                    "Reboot is probably not necessary" in text):
        return False
    return None
