"""Progress of a long restore, from restic's ``--json`` status lines, for a terminal.

restic prints ``{"message_type":"status", ...}`` lines while it restores (at
``RESTIC_PROGRESS_FPS``); :func:`watch_status` reads them from restic's output file as they
are written and hands each to a callback, :func:`progress_text` says it for a person: files
and bytes restored, the rate, the time left. The daemon passes no callback, so the journal
hears nothing of it; ``restore-test`` on a terminal shows it on one line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

Status = dict[str, Any]
WATCH_EVERY = 0.5   # seconds between looks at restic's output
STATUS_FPS = "1"    # restic's status lines per second while someone watches


def parse_status(line: str) -> Status | None:
    """A restic JSON status line as a dict; None for any other line."""
    if '"status"' not in line:
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("message_type") == "status" else None


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def progress_text(status: Status) -> str:
    """``restored 120 of 350 files, 123.4 of 350.0 MB, 25.1 MB/s, 9 s left``."""
    files, total_files = status.get("files_restored", 0), status.get("total_files", 0)
    done, total = status.get("bytes_restored", 0), status.get("total_bytes", 0)
    elapsed = status.get("seconds_elapsed") or 0
    parts = [f"restored {files} of {total_files} files",
             f"{_mb(done)} of {_mb(total)} MB"]
    rate = done / elapsed if elapsed else 0.0
    if rate:
        parts.append(f"{rate / 1e6:.1f} MB/s")
    left = status.get("seconds_remaining")
    if left is None and rate and total >= done:
        left = (total - done) / rate
    if left is not None:
        parts.append(f"{int(left) // 60} min {int(left) % 60} s left" if left >= 60
                     else f"{int(left)} s left")
    return ", ".join(parts)


async def watch_status(path: str, done: asyncio.Future,
                       on_status: Callable[[Status], None]) -> None:
    """Read ``path`` (restic's stdout) as it grows until ``done``; call ``on_status`` for
    each status line. A broken callback or an unreadable file only ends the watching."""
    position, pending = 0, ""
    while True:
        finished = done.done()
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                handle.seek(position)
                chunk = handle.read(1 << 20)
                position = handle.tell()
        except OSError:
            return
        lines = (pending + chunk).split("\n")
        pending = lines.pop()
        for line in lines:
            status = parse_status(line)
            if status is not None:
                try:
                    on_status(status)
                except Exception:  # a display problem must never fail the restore test
                    return
        if finished:
            return
        await asyncio.wait([done], timeout=WATCH_EVERY)
