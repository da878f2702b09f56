"""Private scratch directories for restores: created 0700, always removed afterwards.

Restored files may hold personal data, so the directory is private and removed in a ``finally``
(which also runs on cancellation, Ctrl-C, and SIGTERM when the caller turns it into an exception).
A run killed outright (SIGKILL, power loss) leaves its directory behind: every run first sweeps
the directories of runs whose process is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "muni-watchdog-restore-"
SPACE_MARGIN = 64 * 1024 * 1024  # keep this much free beyond the restore itself
STALE_AFTER = 2 * 86400  # a directory of a live process older than this is also swept


class ScratchError(RuntimeError):
    """No usable scratch space (missing directory, or not enough free space)."""


def free_bytes(path: str | Path) -> int:
    return shutil.disk_usage(path).free


def check_space(scratch_dir: str | Path, needed: int) -> None:
    """Raise :class:`ScratchError` unless ``needed`` bytes plus a margin are free."""
    try:
        free = free_bytes(scratch_dir)
    except OSError as exc:
        raise ScratchError(f"scratch_dir {scratch_dir}: {exc.strerror}; create it or point "
                           "scratch_dir to a directory with room for the restore") from None
    if free < needed + SPACE_MARGIN:
        raise ScratchError(f"scratch_dir {scratch_dir} has {free / 1e6:.0f} MB free; the "
                           f"restore needs {(needed + SPACE_MARGIN) / 1e6:.0f} MB — free space "
                           "or point scratch_dir elsewhere")


def _owner_pid(name: str) -> int | None:
    # muni-watchdog-restore-<backup>-<pid>-<random>
    parts = name.removeprefix(PREFIX).rsplit("-", 2)
    try:
        return int(parts[-2]) if len(parts) == 3 else None
    except ValueError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(scratch_dir: str | Path, now: float | None = None) -> list[Path]:
    """Remove scratch directories left by runs that no longer exist. Returns what was removed."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(scratch_dir))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        pid = _owner_pid(entry.name)
        old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
        if pid is None or not _alive(pid) or (pid != os.getpid() and old):
            remove_tree(Path(entry.path))
            removed.append(Path(entry.path))
            log.warning("removed a scratch directory left by an interrupted restore test: %s",
                        entry.path)
    return removed


def remove_tree(path: Path) -> None:
    """Remove ``path`` even when restored directories are read-only."""

    def make_writable(function, name, _exc) -> None:
        parent = os.path.dirname(name)
        with contextlib.suppress(OSError):
            os.chmod(parent, stat.S_IRWXU)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, stat.S_IRWXU)
        with contextlib.suppress(FileNotFoundError):
            if os.path.isdir(name) and not os.path.islink(name):
                shutil.rmtree(name, onerror=make_writable)
            else:
                os.unlink(name)

    if path.exists() or path.is_symlink():
        shutil.rmtree(path, onerror=make_writable)  # onexc needs Python 3.12


def _make_private(scratch_dir: str | Path, backup_id: str, needed: int) -> Path:
    check_space(scratch_dir, needed)
    # the name carries our pid, so sweep_stale can tell a live run from a dead one
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{backup_id}-{os.getpid()}-",
                                 dir=scratch_dir))
    os.chmod(path, 0o700)  # mkdtemp does this already; restored data may be personal
    return path


def remove_own(scratch_dir: str | Path, backup_id: str) -> None:
    """Remove every scratch directory of this process for ``backup_id``: also one whose
    creation was interrupted before its path was returned (a signal at the wrong moment)."""
    try:
        entries = list(os.scandir(scratch_dir))
    except OSError:
        return
    mine = f"{PREFIX}{backup_id}-{os.getpid()}-"
    for entry in entries:
        if entry.name.startswith(mine) and entry.is_dir(follow_symlinks=False):
            remove_tree(Path(entry.path))


@contextlib.contextmanager
def private_scratch(scratch_dir: str | Path, backup_id: str, needed: int) -> Iterator[Path]:
    """A fresh 0700 directory under ``scratch_dir``, removed however the block ends."""
    try:
        yield _make_private(scratch_dir, backup_id, needed)
    finally:
        remove_own(scratch_dir, backup_id)


@contextlib.asynccontextmanager
async def private_scratch_async(scratch_dir: str | Path, backup_id: str,
                                needed: int) -> AsyncIterator[Path]:
    """:func:`private_scratch` for the event loop.

    The directory is made in the loop's own thread (a quick mkdtemp) inside the ``try``, so a
    cancellation or SIGTERM can never fall between its creation and the cleanup. The removal
    runs in a thread and is shielded: a second cancellation cannot stop it half-way.
    """
    try:
        yield _make_private(scratch_dir, backup_id, needed)
    finally:
        await asyncio.shield(asyncio.to_thread(remove_own, scratch_dir, backup_id))
