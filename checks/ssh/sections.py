"""Several commands in one round trip, like a Checkmk agent: named sections, each with its own
exit status and its own stderr.

Each check sends one fixed script (built from constants here and in the check modules, with
every configured value passed through ``shlex.quote``). For every ``(name, snippet)`` the
script writes a start marker to stdout *and* to stderr, runs the snippet in a subshell, and
saves ``$?`` before anything else can run — then ends the stdout part with the saved status::

    <<<muniwd:df>>>              (on stdout and on stderr)
    ...output...
    <<<muniwd-rc:1>>>            (stdout)

so a section's stdout, stderr and exit status are the snippet's own. A section whose end marker
never came (the script was killed, the output capped) has rc :data:`CUT`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = "<<<muniwd:"
CUT = -1  # no end marker: the section was cut short
_START = re.compile(r"^<<<muniwd:([a-z0-9_]+)>>>$")
_END = re.compile(r"^<<<muniwd-rc:(\d+)>>>$")
MAX_STDERR = 4096  # per section: enough for the reason, bounded for the store and the alert


@dataclass(frozen=True)
class Section:
    name: str
    text: str
    rc: int
    stderr: str = ""

    @property
    def cut(self) -> bool:
        return self.rc == CUT


def sections_script(parts: list[tuple[str, str]]) -> str:
    """A POSIX sh script running each ``(name, snippet)`` and framing its output.

    ``muniwd_rc=$?`` comes straight after the subshell: an ``echo`` in between would make every
    section's status that of the ``echo`` (0)."""
    lines = []
    for name, snippet in parts:
        assert re.fullmatch(r"[a-z0-9_]+", name), name
        marker = f"{MARK}{name}>>>"
        lines.append(f"echo '{marker}'; echo '{marker}' >&2; ( {snippet} ); muniwd_rc=$?; "
                     "echo; echo \"<<<muniwd-rc:$muniwd_rc>>>\"")
    return "\n".join(lines)


def _stderr_by_section(stderr: str) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stderr.splitlines():
        start = _START.match(line)
        if start:
            current = found.setdefault(start.group(1), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip()[:MAX_STDERR] for name, lines in found.items()}


def parse_sections(text: str, stderr: str = "") -> dict[str, Section]:
    """Sections by name, each with its stdout, exit status and stderr; a section cut short
    (timeout, size cap) has rc :data:`CUT`."""
    errors = _stderr_by_section(stderr)
    found: dict[str, Section] = {}
    name: str | None = None
    body: list[str] = []

    def close(rc: int) -> None:
        assert name is not None
        found[name] = Section(name, "\n".join(body), rc, errors.get(name, ""))

    for line in text.splitlines():
        start = _START.match(line)
        end = _END.match(line)
        if start:
            if name is not None:
                close(CUT)
            name, body = start.group(1), []
        elif end and name is not None:
            # The script adds a newline before the rc so output without one stays apart.
            if body and body[-1] == "":
                body.pop()
            close(int(end.group(1)))
            name, body = None, []
        elif name is not None:
            body.append(line)
    if name is not None:
        close(CUT)
    return found
