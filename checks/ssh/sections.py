"""Several commands in one round trip, like a Checkmk agent: ``<<<name>>>`` ... ``<<<rc N>>>``.

Each check sends one fixed script (built from constants here and in the check modules, with
every configured value passed through ``shlex.quote``) and gets back named sections, each with
its own exit status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = "<<<muniwd:"
_START = re.compile(r"^<<<muniwd:([a-z0-9_]+)>>>$")
_END = re.compile(r"^<<<muniwd-rc:(\d+)>>>$")


@dataclass(frozen=True)
class Section:
    name: str
    text: str
    rc: int


def sections_script(parts: list[tuple[str, str]]) -> str:
    """A POSIX sh script running each ``(name, snippet)`` and framing its output."""
    lines = []
    for name, snippet in parts:
        assert re.fullmatch(r"[a-z0-9_]+", name), name
        lines.append(f"echo '{MARK}{name}>>>'; ( {snippet} ); "
                     f"echo; echo \"<<<muniwd-rc:$?>>>\"")
    return "\n".join(lines)


def parse_sections(text: str) -> dict[str, Section]:
    """Sections by name; a section cut short (timeout, size cap) has rc -1."""
    found: dict[str, Section] = {}
    name: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        start = _START.match(line)
        end = _END.match(line)
        if start:
            if name is not None:
                found[name] = Section(name, "\n".join(body), -1)
            name, body = start.group(1), []
        elif end and name is not None:
            # The script adds a newline before the rc so output without one stays apart.
            if body and body[-1] == "":
                body.pop()
            found[name] = Section(name, "\n".join(body), int(end.group(1)))
            name, body = None, []
        elif name is not None:
            body.append(line)
    if name is not None:
        found[name] = Section(name, "\n".join(body), -1)
    return found
