"""The previous run's listing of a backup's newest snapshot, so the next restore can start
beside ``restic ls`` instead of after it (issue 16: every restic command first spends ~0.7 s
opening the repository; the two openings then overlap).

The next run chooses its files from this listing (the rotation, the probe) and restores
``latest``; the listing restic prints in the meantime is the one it verifies against, and a
file whose restored size or time differs from it means the restore found another snapshot (a
backup finished in between): the drill then restores again by the listed snapshot's id. So the
cache only ever decides which files are tried, never what they are compared with.

Kept under the state directory (``restore-tests/listings/BACKUP.json``, 0600: file names can
be personal data), keyed by what selects the snapshot series; anything unreadable or written
for another series is no cache (the run is sequential as without one).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.restic_output import Node
from muni_watchdog.core.files import write_atomically

FORMAT = 1


def _key(backup: BackupParams) -> list:
    return [FORMAT, backup.repository, backup.host, sorted(backup.paths), sorted(backup.tags)]


def _path(work_dir: Path, backup: BackupParams) -> Path:
    return work_dir / "listings" / f"{backup.id}.json"


def load_listing(work_dir: Path, backup: BackupParams) -> list[Node] | None:
    """The regular files of the previous run's snapshot, or None (no usable cache)."""
    try:
        data = json.loads(_path(work_dir, backup).read_text(encoding="utf-8"))
        if data.get("key") != _key(backup):
            return None
        return [Node(path, "file", int(size), None) for path, size in data["files"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def save_listing(work_dir: Path, backup: BackupParams, files: list[Node]) -> None:
    """Keep ``files`` (the snapshot's regular files) for the next run; best effort: a full
    disk only costs the next run its head start."""
    path = _path(work_dir, backup)
    text = json.dumps({"key": _key(backup), "files": [[n.path, n.size] for n in files]},
                      separators=(",", ":"))
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(path, text, mode=0o600)


def forget_listing(work_dir: Path, backup: BackupParams) -> None:
    with contextlib.suppress(OSError):
        _path(work_dir, backup).unlink()
