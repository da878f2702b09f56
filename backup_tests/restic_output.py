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
    """Classify an exit code, using stderr where old versions return a bare 1."""
    failure = EXIT_CODES.get(code, Failure.UNKNOWN_CODE)
    if failure is Failure.FATAL:
        for sign, meaning in _STDERR_SIGNS:
            if sign in stderr:
                return meaning
    return failure


def error_message(stderr: str, limit: int = 300) -> str:
    """The most telling line of restic's stderr (JSON ``exit_error`` first, then ``Fatal:``).

    Secrets never reach stderr (the password is in a file or a command), so this may be shown.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    messages = []
    for obj in json_lines(stderr):
        if obj.get("message_type") == "exit_error":
            return str(obj.get("message", "")).strip().splitlines()[0][:limit]
        if obj.get("message_type") == "error":
            messages.append(_error_text(obj))
    fatal = [line for line in lines if line.startswith("Fatal:")]
    if fatal:
        return fatal[-1][:limit]
    if messages:
        return messages[-1][:limit]
    plain = [line for line in lines if not line.startswith("{")]
    return (plain[-1] if plain else "")[:limit]


def _error_text(obj: dict) -> str:
    error = obj.get("error")
    if isinstance(error, dict):  # 0.17.1+: {"message": ...}; 0.14: Go struct {"Op","Path","Err"}
        text = error.get("message") or f"{error.get('Op', '')} {error.get('Path', '')}: " \
            f"errno {error.get('Err', '?')}"
    else:
        text = str(error or obj.get("message", ""))
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
    snaps = []
    for item in data:
        summary = item.get("summary") or {}
        end = summary.get("backup_end")
        snaps.append(Snapshot(
            id=item["id"], short_id=item.get("short_id", item["id"][:8]),
            time=parse_time(item["time"]), hostname=item.get("hostname", ""),
            paths=tuple(item.get("paths") or ()), tags=tuple(item.get("tags") or ()),
            backup_end=parse_time(end) if end else None))
    return sorted(snaps, key=lambda s: s.time)


@dataclass(frozen=True)
class Node:
    """One entry of ``ls --json``."""

    path: str
    type: str
    size: int
    mtime: datetime | None


def parse_ls(text: str) -> list[Node]:
    """``ls --json SNAP``: the first object is the snapshot, then one node per line."""
    nodes = []
    for obj in json_lines(text):
        kind = obj.get("struct_type") or obj.get("message_type")
        if kind != "node":
            continue
        mtime = obj.get("mtime")
        nodes.append(Node(path=obj["path"], type=obj.get("type", ""),
                          size=int(obj.get("size") or 0),
                          mtime=parse_time(mtime) if mtime else None))
    return nodes


def parse_ls_snapshot(text: str) -> Snapshot | None:
    """The snapshot line of ``ls --json latest`` (None when no snapshot matched the filter)."""
    for obj in json_lines(text):
        if (obj.get("struct_type") or obj.get("message_type")) == "snapshot":
            return parse_snapshots(json.dumps([obj]))[0]
    return None


@dataclass(frozen=True)
class CheckResult:
    errors: int
    messages: tuple[str, ...] = ()
    broken_packs: tuple[str, ...] = ()


_CHECK_ERROR_SIGNS = ("Pack ID does not match", "contains errors", "error", "invalid",
                      "not found", "ciphertext verification failed", "unexpected")


def parse_check(stdout: str, stderr: str, code: int) -> CheckResult:
    """``check`` output: JSON summary (0.18+) or text (0.14-0.17). Read the exit code first."""
    summary = next((o for o in json_lines(stdout) if o.get("message_type") == "summary"), None)
    messages = []
    for obj in json_lines(stderr):
        if obj.get("message_type") == "error":
            messages.append(str(obj.get("message") or _error_text(obj)).splitlines()[0])
    if summary is not None:
        errors = int(summary.get("num_errors") or 0)
        broken = tuple(summary.get("broken_packs") or ())  # null, not [], when none
        if code == 0 and errors == 0:
            return CheckResult(0, (), ())
        return CheckResult(max(errors, 1), tuple(messages), broken)
    text_lines = [line.strip() for line in (stdout + "\n" + stderr).splitlines()]
    if code == 0 and any(line == "no errors were found" for line in text_lines):
        return CheckResult(0)
    found = [line for line in text_lines if line and not line.startswith("{") and any(
        sign in line for sign in _CHECK_ERROR_SIGNS) and not line.startswith("using ")]
    broken = tuple(dict.fromkeys(re.findall(r"\bpack ([0-9a-f]{8,64})", " ".join(found))))
    specific = [line for line in found if not line.startswith("Fatal:")]
    return CheckResult(max(len(specific), 1), tuple((specific or found)[:20]) or
                       tuple(messages), broken)


@dataclass(frozen=True)
class RestoreResult:
    errors: tuple[str, ...] = ()
    verified: bool = False
    files_restored: int | None = None
    bytes_restored: int | None = None


_VERIFIED_RE = re.compile(r"finished verifying (\d+) files")


def parse_restore(stdout: str, stderr: str) -> RestoreResult:
    """``restore`` output: JSON summary and error lines (0.16+/0.17.1+) or text (0.14).

    restic's counters include directories; the caller counts files itself.
    """
    errors: list[str] = []
    files = bytes_ = None
    for obj in json_lines(stdout + "\n" + stderr):
        kind = obj.get("message_type")
        if kind == "summary":
            files = obj.get("files_restored")
            bytes_ = obj.get("bytes_restored")
        elif kind == "error":
            errors.append(_error_text(obj))
    for line in (stdout + "\n" + stderr).splitlines():
        line = line.strip()
        if line.startswith("ignoring error for "):  # 0.14: "ignoring error for /p: reason"
            errors.append(line.removeprefix("ignoring error for "))
        elif line.startswith(("Fatal:", "{")) or not line:
            continue
        elif "verification failed" in line or "does not match" in line:
            errors.append(line)
    verified = bool(_VERIFIED_RE.search(stdout + stderr))
    return RestoreResult(tuple(dict.fromkeys(errors)), verified, files, bytes_)


def parse_stats(text: str) -> tuple[int, int]:
    """``stats --json``: (total_size, total_file_count)."""
    obj = json.loads(text)
    return int(obj.get("total_size") or 0), int(obj.get("total_file_count") or 0)
