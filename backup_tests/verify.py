"""Verification of restored files: against the snapshot, the live source, and canaries.

Against the snapshot, restic's ``restore --verify`` re-reads every restored file and compares each
chunk's SHA-256 with the blob id recorded in the snapshot; we add the size the snapshot lists.
Against the live source, we hash both with SHA-256 — but only for files whose live copy was not
modified after the snapshot, so an edit made since the backup is "changed since backup" (fine),
never a false corruption alarm (borgmatic's spot check needs tolerances for exactly that).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from muni_watchdog.backup_tests.canary import CanaryError, read_canary
from muni_watchdog.backup_tests.live_source import LiveFile
from muni_watchdog.backup_tests.restic_output import Node, Snapshot, parse_time

_RESTORING = re.compile(r"^restoring <Snapshot ([0-9a-f]+) of", re.MULTILINE)

CHUNK = 1024 * 1024
SOURCE_WALK_LIMIT = 200_000  # bound on entries looked at when sampling the live source


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def restored_path(target: Path, node_path: str) -> Path:
    return target / node_path.lstrip("/")


def snapshot_root(snapshot_paths: Sequence[str], file_paths: Iterable[str]) -> str:
    """The tree path that corresponds to the backed-up directory.

    An absolute backup of /srv/share stores /srv/share/...; a relative one (``restic backup
    share``) records /cwd/share in ``paths`` but stores /share/... — see the research notes.
    """
    if len(snapshot_paths) != 1:
        return "/"
    root = snapshot_paths[0].rstrip("/") or "/"
    sample = next(iter(file_paths), None)
    if sample is None or sample == root or sample.startswith(root + "/"):
        return root
    return "/" + PurePosixPath(root).name


def relative_to_root(root: str, node_path: str) -> str | None:
    """``node_path`` relative to the backed-up directory; None when it lies outside."""
    if root != "/" and not (node_path == root or node_path.startswith(root + "/")):
        return None
    return node_path[len(root):].lstrip("/") if root != "/" else node_path.lstrip("/")


def live_path(source: Path, root: str, node_path: str) -> Path | None:
    relative = relative_to_root(root, node_path)
    return None if relative is None else source / relative


@dataclass
class Verification:
    files: int = 0
    bytes: int = 0
    verified: int = 0
    mismatched: list[str] = field(default_factory=list)      # differs although unchanged
    damaged: list[str] = field(default_factory=list)         # restore error or wrong size
    changed_since_backup: list[str] = field(default_factory=list)
    compared_with_source: int = 0


def verify_restored(target: Path, files: Sequence[Node], restic_errors: Sequence[str],
                    snapshot_time: datetime, source: Path | None, root: str,
                    workers: int = 4, remote: Mapping[str, LiveFile] | None = None
                    ) -> Verification:
    """Judge every restored file; restic ``--verify`` has already checked chunk hashes.

    The live copies are read from ``source`` (a local directory), or, for a source on another
    machine, taken from ``remote``: what the remote side measured, keyed by tree path (a path
    absent from it has no live copy)."""
    result = Verification()
    error_text = "\n".join(restic_errors)
    snap_ts = snapshot_time.timestamp()

    def one(node: Node) -> tuple[str, Node]:
        path = restored_path(target, node.path)
        try:
            size = path.stat().st_size
        except OSError:
            return "damaged", node
        if size != node.size or node.path in error_text:
            return "damaged", node
        if remote is not None:
            return _against_remote(path, remote.get(node.path), snap_ts), node
        live = live_path(source, root, node.path) if source is not None else None
        if live is None:
            return "verified", node
        try:
            st = live.stat()
        except OSError:
            return "verified", node  # deleted since the backup: nothing to compare
        if max(st.st_mtime, st.st_ctime) > snap_ts:
            return "changed", node
        try:
            same = sha256_file(path) == sha256_file(live)
        except OSError:
            return "verified", node
        return ("source_match" if same else "mismatched"), node

    hashing = source is not None or remote is not None
    with ThreadPoolExecutor(max_workers=workers if hashing else 1) as pool:
        # only a stat per file without live copies to hash: in this thread, as the pool's
        # hand-over cost more than the stat itself (4,300 files: 0.15 s -> 0.03 s)
        for status, node in pool.map(one, files) if hashing else map(one, files):
            result.files += 1
            result.bytes += node.size
            if status in ("verified", "source_match"):
                result.verified += 1
                result.compared_with_source += status == "source_match"
            elif status == "changed":
                result.verified += 1  # the restored copy matched the snapshot
                result.changed_since_backup.append(node.path)
            elif status == "mismatched":
                result.compared_with_source += 1
                result.mismatched.append(node.path)
            else:
                result.damaged.append(node.path)
    return result


MTIME_SLACK = 2.0  # seconds: FAT-like scratch file systems keep times to 2 s


def same_snapshot(run, snapshot: Snapshot, target: Path, files: Sequence[Node]) -> bool:
    """Whether a restore of ``latest`` started beside ``restic ls`` restored the snapshot the
    listing names: restic 0.14 says which it restores; every one of ``files`` (the listing's)
    must be there with the listed size and modification time — restic's own test of whether
    a file changed between backups. False: restore again by the snapshot's id."""
    said = _RESTORING.search(run.stdout or "")
    if said and not snapshot.id.startswith(said[1]):
        return False
    for node in files:
        try:
            st = restored_path(target, node.path).stat()
        except OSError:
            return False
        if st.st_size != node.size:
            return False
        if node.mtime and abs(st.st_mtime - parse_time(node.mtime).timestamp()) > MTIME_SLACK:
            return False
    return True


def _against_remote(restored: Path, live: LiveFile | None, snap_ts: float) -> str:
    if live is None:
        return "verified"  # deleted since the backup: nothing to compare
    if max(live.mtime, live.ctime) > snap_ts:
        return "changed"
    if live.sha256 is None:
        return "verified"  # not readable there: nothing to compare
    try:
        same = sha256_file(restored) == live.sha256
    except OSError:
        return "damaged"
    return "source_match" if same else "mismatched"


def missing_from_backup(source: Path, root: str, snapshot_files: set[str],
                        snapshot_time: datetime, count: int,
                        rng: random.Random | None = None) -> tuple[list[str], int]:
    """Sample live files older than the snapshot and return those absent from it.

    Such a file should be in the backup; its absence means a wrong exclude or path. Returns
    (missing tree paths, number of live files examined).
    """
    rng = rng or random.SystemRandom()
    snap_ts = snapshot_time.timestamp()
    candidates: list[str] = []
    seen = 0
    for directory, dirs, names in os.walk(source):
        dirs.sort()
        for name in names:
            seen += 1
            if seen > SOURCE_WALK_LIMIT:
                break
            full = os.path.join(directory, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            if not (st.st_mode & 0o170000 == 0o100000) or max(st.st_mtime, st.st_ctime) > snap_ts:
                continue
            relative = os.path.relpath(full, source).replace(os.sep, "/")
            candidates.append((root.rstrip("/") + "/" + relative) if root != "/" else
                              "/" + relative)
        if seen > SOURCE_WALK_LIMIT:
            break
    sample = rng.sample(candidates, min(count, len(candidates)))
    return sorted(p for p in sample if p not in snapshot_files), len(sample)


@dataclass(frozen=True)
class CanaryCheck:
    path: str
    status: str        # ok | stale | corrupt | missing
    created_at: datetime | None = None
    detail: str = ""


def check_canary(target: Path, path: str, now: datetime, max_age: float,
                 in_snapshot: bool) -> CanaryCheck:
    if not in_snapshot:
        return CanaryCheck(path, "missing", detail="not in the snapshot (is the path backed "
                           "up, and does the canary job run before the backup?)")
    try:
        data = restored_path(target, path).read_bytes()
    except OSError:
        return CanaryCheck(path, "missing", detail="not restored")
    try:
        canary = read_canary(data)
    except CanaryError as exc:
        return CanaryCheck(path, "corrupt", detail=str(exc))
    age = (now - canary.created_at).total_seconds()
    if age > max_age:
        return CanaryCheck(path, "stale", canary.created_at,
                           f"written {age / 3600:.1f} h ago (limit {max_age / 3600:.1f} h)")
    return CanaryCheck(path, "ok", canary.created_at)
