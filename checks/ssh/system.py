"""Pure parsers for Linux system facts: df, /proc/meminfo, /proc/loadavg, /proc/uptime,
systemctl, timedatectl."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINES = 100_000

# Filesystems that hold no data of their own (after Checkmk's df and check_disk's defaults).
PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "tmpfs", "ramfs", "devpts", "cgroup", "cgroup2", "pstore",
    "bpf", "tracefs", "debugfs", "securityfs", "configfs", "fusectl", "mqueue", "hugetlbfs",
    "autofs", "binfmt_misc", "nsfs", "squashfs", "iso9660", "udf", "efivarfs", "rpc_pipefs",
    "selinuxfs", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "none", "rootfs", "devfs",
})

# fs (may hold spaces), type, size, used, avail, use%, mount (may hold spaces; starts with /)
_DF_LINE = re.compile(r"^(?P<fs>.+?)\s+(?P<type>\S+)\s+(?P<size>\d+|-)\s+(?P<used>\d+|-)\s+"
                      r"(?P<avail>\d+|-)\s+(?P<pct>\d+%|-)\s+(?P<mount>/.*)$")
_OCTAL = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class DfRow:
    device: str
    fstype: str
    size: int       # KiB for blocks, count for inodes
    used: int
    avail: int
    mount: str


def _unescape(mount: str) -> str:
    """Some df builds print a space in a mount point as ``\\040``."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), mount)


def parse_df(text: str) -> list[DfRow]:
    """``df -PTk`` or ``df -PTi`` (C locale), header skipped. Rows with no numbers (``-``) are
    dropped: the filesystem does not report them."""
    rows = []
    for line in text.splitlines()[1:MAX_LINES]:
        match = _DF_LINE.match(line.rstrip("\n"))
        if not match or "-" in (match["size"], match["used"], match["avail"]):
            continue
        rows.append(DfRow(match["fs"], match["type"], int(match["size"]), int(match["used"]),
                          int(match["avail"]), _unescape(match["mount"])))
    return rows


def real_filesystems(rows: list[DfRow], ignore_types: frozenset[str] = PSEUDO_FILESYSTEMS
                     ) -> list[DfRow]:
    return [r for r in rows if r.fstype not in ignore_types and r.size > 0]


def parse_key_values(text: str, sep: str = "=") -> dict[str, str]:
    """``Key=value`` lines (timedatectl show, systemctl show)."""
    found = {}
    for line in text.splitlines()[:MAX_LINES]:
        key, found_sep, value = line.partition(sep)
        if found_sep:
            found[key.strip()] = value.strip()
    return found


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` in bytes."""
    values = {}
    for key, value in parse_key_values(text, ":").items():
        parts = value.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return values


_DECIMAL = re.compile(r"^\d+(?:\.\d+)?$")


def _decimal(word: str, what: str) -> float:
    if not _DECIMAL.match(word):
        raise ValueError(f"{what}: {word[:40]!r} is not a number")
    return float(word)


def parse_loadavg(text: str) -> tuple[float, float, float]:
    """``/proc/loadavg``; ValueError unless it starts with three decimal numbers."""
    words = text.split()
    if len(words) < 3:
        raise ValueError(f"/proc/loadavg: expected three load averages, got {text[:60]!r}")
    one, five, fifteen = (_decimal(w, "/proc/loadavg") for w in words[:3])
    return one, five, fifteen


def parse_uptime(text: str) -> float:
    """``/proc/uptime``; ValueError unless it starts with the uptime in seconds."""
    words = text.split()
    if not words:
        raise ValueError("/proc/uptime is empty")
    return _decimal(words[0], "/proc/uptime")


def parse_epoch(text: str, what: str = "date +%s") -> float:
    """``date +%s`` or ``date +%s.%N`` (busybox prints ``%N`` literally: seconds then)."""
    word = text.strip()
    seconds, _, fraction = word.partition(".")
    if not seconds.isdigit():
        raise ValueError(f"{what}: {word[:40]!r} is not a time")
    return float(f"{seconds}.{fraction}") if fraction.isdigit() else float(seconds)


def parse_os_release(text: str) -> dict[str, str]:
    """``/etc/os-release`` (KEY=value, values optionally quoted) into a dict; bounded."""
    fields: dict[str, str] = {}
    for line in text.splitlines()[:200]:
        key, sep, value = line.strip().partition("=")
        if not sep or not key.isidentifier():
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields[key] = value.replace('\\"', '"')[:200]
    return fields


@dataclass(frozen=True)
class Unit:
    name: str
    load: str
    active: str
    sub: str
    description: str


# systemd's LOAD column (unit_load_state_table in systemd's unit-def.c).
LOAD_STATES = frozenset({"loaded", "not-found", "bad-setting", "error", "merged", "masked",
                         "stub"})
_LISTED = re.compile(r"^(\d+) loaded units? listed\.")


def parse_failed_units(text: str) -> list[Unit]:
    """Unit lines of ``systemctl list-units --failed --plain`` (legend and header skipped)."""
    units = []
    for line in text.splitlines()[:MAX_LINES]:
        parts = line.strip().lstrip("●*× ").split(None, 4)
        if len(parts) >= 4 and "." in parts[0] and parts[1] in LOAD_STATES:
            units.append(Unit(parts[0], parts[1], parts[2], parts[3],
                              parts[4] if len(parts) > 4 else ""))
    return units


def listed_units(text: str) -> int | None:
    """systemctl's own count, ``N loaded units listed.``; None when the legend is missing."""
    for line in text.splitlines()[:MAX_LINES]:
        match = _LISTED.match(line.strip())
        if match:
            return int(match.group(1))
    return None


SYSTEMD_ABSENT = ("System has not been booted with systemd", "Failed to connect to bus",
                  "systemctl: not found", "timedatectl: not found", "command not found")


def systemd_absent(text: str) -> str | None:
    """The reason systemd cannot answer (a container, a non-systemd init), or None."""
    for marker in SYSTEMD_ABSENT:
        if marker in text:
            line = next((ln for ln in text.splitlines() if marker in ln), marker)
            return line.strip()
    return None


_DF_ERROR = re.compile(r"^df: (?:'(.+)'|(/.*?)): (.+)$")


def parse_df_errors(stderr: str) -> list[tuple[str | None, str]]:
    """``df: /mnt/nas: Stale file handle`` lines → (mount, reason); a line naming no mount
    (``df: cannot read table of mounted file systems``) → (None, line)."""
    errors: list[tuple[str | None, str]] = []
    for line in stderr.splitlines()[:1000]:
        line = line.strip()
        if not line:
            continue
        match = _DF_ERROR.match(line)
        if match:
            errors.append((_unescape(match.group(1) or match.group(2)), match.group(3)))
        else:
            errors.append((None, line))
    return errors
