"""Pure parsers for SUSE's zypper: ``list-patches``, ``list-updates`` and ``needs-rebooting``.

zypper's tables changed over the years, so columns are found by their header names, never by
their position:

* SLE 11 (zypper 1.x):  ``Repository | Name | Version | Category | Status`` (older builds say
  ``Catalog`` for Repository, and ``Needed``/``Installed``/``Not Applicable`` for Status);
* openSUSE 12:          ``Repository | Name | Version | Category | Status | Summary``;
* SLE 12 / 15, Leap:    ``Repository | Name | Category | Severity | Interactive | Status |
  Summary``, and with patch history a ``Since`` column before Summary.

Each table is a header line, a rule line (``---+---``) and ``|``-separated rows; list-patches
prints two tables when package-manager patches must go first. zypper's own count closes the
output: ``4 patches needed (2 security patches)``; with nothing to do it says ``No updates
found.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from muni_watchdog.checks.ssh.packages import MAX_LINES, PendingUpdate

_RULE = re.compile(r"^[-+\s]*\+[-+\s]*$")
_STATS = re.compile(r"^(\d+) patch(?:es)? needed \((\d+) security patch(?:es)?\)")
NOTHING = "No updates found."

# zypper's exit codes (zypper(8) EXIT CODES)
ZYPPER_EXIT = {0: "ok", 1: "bug", 2: "syntax error", 3: "invalid arguments", 4: "libzypp error",
               5: "insufficient privileges", 6: "no repositories defined",
               7: "package management locked by another process", 8: "commit error",
               100: "updates needed", 101: "security updates needed", 102: "reboot needed",
               103: "restart of zypper needed", 104: "capability not found",
               105: "interrupted by a signal", 106: "some repositories were skipped",
               107: "an RPM script failed"}


@dataclass
class Table:
    header: list[str]
    rows: list[dict[str, str]] = field(default_factory=list)


def _split(line: str, bars: list[int], columns: int) -> list[str]:
    """Cells of a row: at the rule line's ``+`` positions when the row has its ``|`` there (a
    ``|`` inside a cell then stays in it), else at every ``|`` with the last column taking
    the rest (a summary may hold ``|``)."""
    if bars and all(len(line) > b and line[b] == "|" for b in bars):
        edges = [-1, *bars, len(line)]
        return [line[a + 1:b].strip() for a, b in zip(edges, edges[1:], strict=False)]
    return [c.strip() for c in line.split("|", columns - 1)]


def parse_tables(text: str) -> list[Table]:
    """Every zypper table in ``text``: a header line followed by a rule line, then rows."""
    lines = text.splitlines()[:MAX_LINES]
    tables: list[Table] = []
    current: Table | None = None
    bars: list[int] = []
    for i, line in enumerate(lines):
        if _RULE.match(line) and i > 0 and "|" in lines[i - 1]:
            header = [c.strip() for c in lines[i - 1].split("|")]
            bars = [pos for pos, char in enumerate(line) if char == "+"]
            current = Table(header)
            tables.append(current)
            continue
        if current is None:
            continue
        if "|" not in line:
            current = None  # a blank line or a message ends the table
            continue
        if i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            continue  # the next table's header
        cells = _split(line, bars, len(current.header))
        current.rows.append(dict(zip(current.header, cells, strict=False)))
    return tables


def _cell(row: dict[str, str], *names: str) -> str:
    for name in names:
        if name in row:
            return row[name]
    return ""


@dataclass
class ZypperPatches:
    patches: list[PendingUpdate] = field(default_factory=list)  # status "needed" only
    listed: int = 0                      # rows in the tables, whatever their status
    stated: tuple[int, int] | None = None  # zypper's "N patches needed (M security patches)"
    nothing: bool = False                # zypper said "No updates found."
    unreadable: list[str] = field(default_factory=list)


def parse_patches(text: str) -> ZypperPatches:
    """``zypper list-patches`` of any version; a patch counts when its status is ``needed``
    (zypper's own rule for its "patches needed" count: not locked, not optional-excluded)."""
    result = ZypperPatches()
    for line in text.splitlines()[:MAX_LINES]:
        stats = _STATS.match(line.strip())
        if stats:
            result.stated = (int(stats.group(1)), int(stats.group(2)))
        elif line.strip() == NOTHING:
            result.nothing = True
    for table in parse_tables(text):
        if "Name" not in table.header or "Status" not in table.header:
            result.unreadable.append(" | ".join(table.header)[:200])
            continue
        for row in table.rows:
            result.listed += 1
            if not row.get("Name") or "Status" not in row:
                result.unreadable.append(" | ".join(row.values())[:200])
                continue
            if row["Status"].lower() != "needed":
                continue
            category = row.get("Category", "")
            result.patches.append(PendingUpdate(
                row["Name"], _cell(row, "Version"), origins=(_cell(row, "Repository",
                                                                   "Catalog"),),
                security=category.lower() == "security", severity=row.get("Severity", ""),
                action="patch"))
    return result


@dataclass
class ZypperUpdates:
    updates: list[PendingUpdate] = field(default_factory=list)
    nothing: bool = False
    unreadable: list[str] = field(default_factory=list)


def parse_updates(text: str) -> ZypperUpdates:
    """``zypper list-updates``: ``S | Repository | Name | Current Version | Available Version
    | Arch`` (older: ``Version`` for the available one)."""
    result = ZypperUpdates(nothing=any(ln.strip() == NOTHING
                                       for ln in text.splitlines()[:MAX_LINES]))
    for table in parse_tables(text):
        if "Name" not in table.header:
            result.unreadable.append(" | ".join(table.header)[:200])
            continue
        for row in table.rows:
            if not row.get("Name"):
                result.unreadable.append(" | ".join(row.values())[:200])
                continue
            result.updates.append(PendingUpdate(
                row["Name"], _cell(row, "Available Version", "Version"),
                _cell(row, "Current Version"), (_cell(row, "Repository", "Catalog"),)))
    return result


def parse_needs_rebooting(rc: int, text: str) -> bool | None:
    """``zypper needs-rebooting``: 102 (ZYPPER_EXIT_INF_REBOOT_NEEDED) is yes, 0 no; early
    builds returned 1 with "Reboot is required". None: the command is not there (SLE 12
    before SP4 and older) or failed."""
    if rc == 102 or (rc == 1 and "Reboot is required" in text):
        return True
    if rc == 0:
        return False
    return None
