"""Pure readers of what ``restic check``, ``restore`` and ``ls`` concluded, 0.14 to current.

Each says clean only on restic's own all-clear (exit 0 and the summary or closing line it
prints), so an empty, cut or garbled output is never taken for a pass. Captured outputs of
0.14 and 0.18, intact and of damaged repositories, in ``tests/data/restic`` are the tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from muni_watchdog.backup_tests.restic_messages import is_noise, named_packs
from muni_watchdog.backup_tests.restic_output import (
    Node,
    Snapshot,
    error_text,
    json_lines,
    kind_of,
    node_of,
    snapshot_of,
    stderr_lines,
)


@dataclass(frozen=True)
class CheckResult:
    """What ``restic check`` found. ``errors`` is None when it gave no verdict (no summary, no
    "no errors were found": output empty or cut); ``problem`` then says why."""

    errors: int | None
    messages: tuple[str, ...] = ()
    damaged_packs: tuple[str, ...] = ()
    missing_packs: tuple[str, ...] = ()
    problem: str = ""

    @property
    def packs(self) -> tuple[str, ...]:
        return self.missing_packs + self.damaged_packs


def parse_check(stdout: str, stderr: str, code: int) -> CheckResult:
    """``check`` output: JSON summary (0.18+) or text (0.14-0.17). Read the exit code first.

    Clean only with exit code 0, restic's own all-clear (a summary with no errors, or "no
    errors were found") and nothing said on stderr. Every pack restic names is kept."""
    summary = next((o for o in json_lines(stdout) if o.get("message_type") == "summary"), None)
    lines = stderr_lines(stderr)
    said = [line.strip() for line in lines if not line.startswith("Fatal:")]
    headings = [line for line in lines if not line.startswith((" ", "Fatal:"))]
    fatal = [line for line in lines if line.startswith("Fatal:")] + [
        str(o.get("message", "")).strip() for o in json_lines(stderr)
        if o.get("message_type") == "exit_error"]
    packs = named_packs(said)
    text_ok = any(line.strip() == "no errors were found" for line in stdout.splitlines())
    if summary is not None:
        errors = int(summary.get("num_errors") or 0)
        broken = tuple(summary.get("broken_packs") or ())  # null, not [], when none
        if code == 0 and errors == 0 and not said:
            return CheckResult(0)
        damaged = tuple(p for p in dict.fromkeys(packs.damaged_packs + broken)
                        if p not in packs.missing_packs)
        detail = tuple(said[:20]) or tuple(fatal[:1]) or (
            f"restic check exited {code} without saying why",)
        return CheckResult(max(errors, 1), detail, damaged, packs.missing_packs)
    if code == 0 and text_ok and not said:
        return CheckResult(0)
    if said or code != 0:
        detail = tuple(said[:20]) or tuple(fatal[:1]) or (
            f"restic check exited {code} without saying why",)
        return CheckResult(max(len(headings), 1), detail, packs.damaged_packs, packs.missing_packs)
    how = "printed nothing" if not stdout.strip() else "stopped before its verdict"
    return CheckResult(None, problem=f"restic check exited 0 but {how} (no summary, no "
                       "'no errors were found'): output empty or cut, the check proves nothing")


@dataclass(frozen=True)
class RestoreResult:
    errors: tuple[str, ...] = ()
    verified: bool = False
    files_restored: int | None = None
    bytes_restored: int | None = None
    summary: bool = False            # restic's JSON summary line (0.16+) was there
    damaged_packs: tuple[str, ...] = ()
    missing_packs: tuple[str, ...] = ()

    def confirmed(self, json_mode: bool) -> bool:
        """Did restic say it finished: the JSON summary (0.16+) or "finished verifying"."""
        return self.summary if json_mode else self.verified


_VERIFIED_RE = re.compile(r"finished verifying (\d+) files")


def parse_restore(stdout: str, stderr: str) -> RestoreResult:
    """``restore`` output: JSON summary and error lines (0.16+/0.17.1+) or text (0.14).

    restic's counters include directories; the caller counts files itself.
    """
    errors: list[str] = []
    files = bytes_ = None
    summary = False
    for obj in json_lines(stdout + "\n" + stderr):
        kind = obj.get("message_type")
        if kind == "summary":
            summary = True
            files = obj.get("files_restored")
            bytes_ = obj.get("bytes_restored")
        elif kind == "error":
            errors.append(error_text(obj))
    for line in (stdout + "\n" + stderr).splitlines():
        line = line.strip()
        if line.startswith("ignoring error for "):  # 0.14: "ignoring error for /p: reason"
            errors.append(line.removeprefix("ignoring error for "))
        elif line.startswith(("Fatal:", "{")) or not line or is_noise(line):
            continue
        elif "verification failed" in line or "does not match" in line:
            errors.append(line)
    verified = bool(_VERIFIED_RE.search(stdout + stderr))
    packs = named_packs(errors + stderr.splitlines())
    return RestoreResult(tuple(dict.fromkeys(errors)), verified, files, bytes_, summary,
                         packs.damaged_packs, packs.missing_packs)


@dataclass(frozen=True)
class Listing:
    """``ls --json latest`` read once: why it cannot be trusted ("" when it can), else the
    snapshot (None when none matched the filter) and its nodes."""

    problem: str
    snapshot: Snapshot | None = None
    nodes: tuple[Node, ...] = ()


def read_listing(stdout: str, stderr: str) -> Listing:
    """Every stdout line of ``ls --json`` is a JSON object; one that is not was cut (a size
    cap, a timeout, a dying process). Nothing at all, with no "no snapshot matched" either, is
    not an empty repository but a silent failure. Each line is decoded once."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:  # the whole listing in one call of the C decoder; line by line to say where not
        objects = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        objects = None
    if objects is None or len(objects) != len(lines) or \
            not all(isinstance(obj, dict) for obj in objects):
        return Listing(_bad_line(lines))
    if not lines and not no_snapshot_matched(stderr):
        return Listing("restic ls printed nothing (not even 'no snapshot matched'): output lost")
    try:
        snapshot = next((snapshot_of(obj) for obj in objects if kind_of(obj) == "snapshot"),
                        None)
        nodes = tuple(node_of(obj) for obj in objects if kind_of(obj) == "node")
    except (KeyError, TypeError, ValueError) as exc:
        return Listing(f"restic ls printed a snapshot or node without a readable {exc}; the "
                       "snapshot's file list is unknown")
    return Listing("", snapshot, nodes)


def _bad_line(lines: list[str]) -> str:
    for number, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError:
            return (f"restic ls output is cut or damaged (line {number} of {len(lines)} is not "
                    "complete JSON); the snapshot's file list is unknown")
        if not isinstance(obj, dict):
            return f"restic ls printed something else than its JSON listing (line {number})"
    return "restic ls output is not one JSON object per line"


def ls_problem(stdout: str, stderr: str) -> str:
    """Why an ``ls --json`` listing cannot be trusted, or "" when it can."""
    return read_listing(stdout, stderr).problem


def no_snapshot_matched(stderr: str) -> bool:
    """restic's words for "no snapshot matches the filter": 0.14 warns and exits 0, 0.17+
    fails with "no snapshot found"."""
    return "no snapshot matched" in stderr or "no snapshot found" in stderr
