"""Pure parsers of restic's output, for restic 0.14 (Debian 12) up to the current release.

Nothing here runs restic. Each function takes text (and the exit code where it matters) and
returns plain data. Captured outputs of 0.14 and 0.18 in ``tests/data/restic`` are the tests.

Version differences that matter (see the research notes, A3.1):
- 0.14 prints text for ``restore``, ``check`` and ``version``; ``--json`` is ignored there.
- exit codes 10 (no repository), 11 (lock failed) exist from 0.17, 12 (wrong password) from
  0.17.1; before that they are all 1, told apart by stderr text.
- 0.18 writes ``{"message_type":"exit_error",...}`` on stderr.
- ``ls --json`` nodes carry ``struct_type`` (0.14) or ``message_type`` (0.17+).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from muni_watchdog.backup_tests.restic_messages import first_message, meaningful_lines

VERSION_RE = re.compile(r"^restic (\d+)\.(\d+)\.(\d+)\S*\s+compiled with (\S+) on (\S+)/(\S+)",
                        re.MULTILINE)


@dataclass(frozen=True, order=True)
class ResticVersion:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def has_lock_exit_codes(self) -> bool:
        """Exit codes 10 (no repository) and 11 (lock failed) exist (0.17+)."""
        return (self.major, self.minor) >= (0, 17)

    @property
    def has_retry_lock(self) -> bool:
        return (self.major, self.minor) >= (0, 16)

    @property
    def has_json_restore(self) -> bool:
        return (self.major, self.minor) >= (0, 16)

    @property
    def has_json_check(self) -> bool:
        return (self.major, self.minor) >= (0, 18)


OLDEST_SUPPORTED = ResticVersion(0, 14, 0)


def parse_version_number(text: str | None) -> ResticVersion | None:
    """``0.14.0`` (as remembered in the state) back into a version; None if it is not one."""
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return ResticVersion(*(int(g) for g in match.groups())) if match else None


def parse_version(text: str) -> ResticVersion:
    """``restic 0.14.0 compiled with go1.19.8 on linux/amd64`` -> ResticVersion(0, 14, 0)."""
    match = VERSION_RE.search(text)
    if not match:
        raise ValueError(f"not restic version output: {text.strip()[:80]!r}")
    return ResticVersion(int(match[1]), int(match[2]), int(match[3]))


class Failure(enum.StrEnum):
    """Why a restic command failed, in the words of restic's exit-code table."""

    NONE = "ok"
    FATAL = "failed"
    PARTIAL = "some source data could not be read"
    NO_REPOSITORY = "repository does not exist"
    LOCKED = "repository is locked"
    WRONG_PASSWORD = "wrong password"
    INTERRUPTED = "interrupted"
    UNKNOWN_CODE = "unknown exit code"
    # ours, not restic's: it could not be run, or what it printed cannot be trusted
    NOT_INSTALLED = "restic program not found"
    BAD_OUTPUT = "output empty, cut or contradictory"


EXIT_CODES = {0: Failure.NONE, 1: Failure.FATAL, 3: Failure.PARTIAL, 10: Failure.NO_REPOSITORY,
              11: Failure.LOCKED, 12: Failure.WRONG_PASSWORD, 130: Failure.INTERRUPTED}
"""restic's table (doc/075_scripting.rst). Any other code MUST be treated as a failure."""

# Before 0.17 (10, 11) and 0.17.1 (12) these are all exit code 1: the text tells them apart.
_STDERR_SIGNS = (
    ("wrong password or no key found", Failure.WRONG_PASSWORD),
    ("is already locked", Failure.LOCKED),
    ("unable to create lock", Failure.LOCKED),
    ("Is there a repository at the following location?", Failure.NO_REPOSITORY),
    ("repository does not exist", Failure.NO_REPOSITORY),
)


def classify_exit(code: int, stderr: str) -> Failure:
    """Classify an exit code, using stderr where old versions return a bare 1. 128+N is a
    process killed by signal N (the OOM killer's SIGKILL is 137): interrupted, not a verdict."""
    failure = EXIT_CODES.get(code, Failure.INTERRUPTED if code > 128 else Failure.UNKNOWN_CODE)
    if failure is Failure.FATAL:
        for sign, meaning in _STDERR_SIGNS:
            if sign in stderr:
                return meaning
    return failure


def error_message(stderr: str, limit: int = 300) -> str:
    """The most telling line of restic's stderr: the JSON ``exit_error`` first, then a
    ``Fatal:`` line, then the first line of a stack-traced error (restic 0.14), else the last
    meaningful line. Retries, advice text and Go stack frames never are the message.

    Secrets never reach stderr (the password is in a file or a command), so this may be shown.
    """
    messages = []
    for obj in json_lines(stderr):
        if obj.get("message_type") == "exit_error":
            return first_message(str(obj.get("message", "")))[:limit]
        if obj.get("message_type") == "error":
            messages.append(error_text(obj))
    plain = "\n".join(line for line in stderr.splitlines() if not line.lstrip().startswith("{"))
    fatal = [line for line in meaningful_lines(plain) if line.startswith("Fatal:")]
    if fatal:
        return fatal[-1][:limit]
    if messages:
        return first_message("\n".join(messages[-1:]))[:limit]
    return first_message(plain)[:limit]


def stderr_lines(stderr: str, with_exit_error: bool = False) -> list[str]:
    """Every message line of stderr, JSON ``error`` messages unpacked, noise and stack frames
    dropped (``exit_error`` only on request: it mostly repeats the verdict). A detail line that
    restic indents under its heading (``error for tree …:``) keeps two leading spaces."""
    lines: list[str] = []
    for raw in stderr.splitlines():
        text = raw.strip()
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError:
                lines.append(text)  # a cut JSON line is still something restic said
                continue
            kind = obj.get("message_type") if isinstance(obj, dict) else None
            if kind == "error" or (with_exit_error and kind == "exit_error"):
                lines.extend(_keep_indent(error_text(obj)))
            continue
        lines.extend(_keep_indent(raw))
    return lines


def _keep_indent(text: str) -> list[str]:
    return [("  " if raw[:1].isspace() else "") + raw.strip() for raw in text.splitlines()
            if meaningful_lines(raw)]


def error_text(obj: dict) -> str:
    """The message of one JSON ``error`` line, prefixed with its item (the file) if any."""
    error = obj.get("error")
    if isinstance(error, dict) and not error:
        # restic 0.17.0 wrote every restore error as {} (0.17.1 fixed "--json" errors)
        text = "an error restic did not describe (its --json errors were empty in 0.17.0)"
    elif isinstance(error, dict):  # 0.17.1+: {"message": ...}; 0.14: Go struct {"Op","Path","Err"}
        text = error.get("message") or f"{error.get('Op', '')} {error.get('Path', '')}: " \
            f"errno {error.get('Err', '?')}"
    else:
        text = str(error or obj.get("message", ""))
    text = text.strip("\n").rstrip()  # leading spaces mark a detail line (see stderr_lines)
    item = obj.get("item")
    return f"{item}: {text}" if item and item not in text else text


def json_lines(text: str) -> Iterator[dict]:
    """Every line of ``text`` that is a JSON object (restic mixes in plain text)."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


def parse_time(text: str) -> datetime:
    """restic's RFC 3339 time with nanoseconds -> aware datetime (microseconds)."""
    text = text.strip().replace("Z", "+00:00")
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match and match[2]:
        text = match[1] + match[2][:7] + match[3]
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Snapshot:
    id: str
    short_id: str
    time: datetime
    hostname: str
    paths: tuple[str, ...]
    tags: tuple[str, ...] = ()
    backup_end: datetime | None = None

    @property
    def recovery_point(self) -> datetime:
        """When the data was read: the backup's start (``time``) is the conservative answer."""
        return self.time


def parse_snapshots(text: str) -> list[Snapshot]:
    """``snapshots --json`` (a JSON array) -> snapshots, oldest first."""
    data = json.loads(text or "[]")
    if not isinstance(data, list):
        raise ValueError("snapshots --json did not return a list")
    return sorted((snapshot_of(item) for item in data), key=lambda s: s.time)


def snapshot_of(item: dict) -> Snapshot:
    """One snapshot object of ``snapshots --json`` or the first line of ``ls --json``."""
    summary = item.get("summary") or {}
    end = summary.get("backup_end")
    return Snapshot(
        id=item["id"], short_id=item.get("short_id", item["id"][:8]),
        time=parse_time(item["time"]), hostname=item.get("hostname", ""),
        paths=tuple(item.get("paths") or ()), tags=tuple(item.get("tags") or ()),
        backup_end=parse_time(end) if end else None)


@dataclass(frozen=True)
class Node:
    """One entry of ``ls --json``."""

    path: str
    type: str
    size: int
    mtime: str | None   # as restic printed it (RFC 3339); parse_time() reads it when needed


def node_of(obj: dict) -> Node:
    # the time stays text: a listing has a node per file (16,000 in the bench's) and no
    # verdict reads it, while parsing each was a third of reading the listing
    return Node(path=obj["path"], type=obj.get("type", ""), size=int(obj.get("size") or 0),
                mtime=obj.get("mtime"))


def kind_of(obj: dict) -> str | None:
    """What a line of ``ls --json`` is: 0.14 says ``struct_type``, newer ``message_type``."""
    return obj.get("struct_type") or obj.get("message_type")


def parse_ls(text: str) -> list[Node]:
    """``ls --json SNAP``: the first object is the snapshot, then one node per line."""
    return [node_of(obj) for obj in json_lines(text) if kind_of(obj) == "node"]


def parse_ls_snapshot(text: str) -> Snapshot | None:
    """The snapshot line of ``ls --json latest`` (None when no snapshot matched the filter)."""
    for obj in json_lines(text):
        if kind_of(obj) == "snapshot":
            return snapshot_of(obj)
    return None


def parse_stats(text: str) -> tuple[int, int]:
    """``stats --json``: (total_size, total_file_count)."""
    obj = json.loads(text)
    return int(obj.get("total_size") or 0), int(obj.get("total_file_count") or 0)
