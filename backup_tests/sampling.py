"""Which files a sample restore test restores: canaries, critical paths, and a rotating sample.

The random part walks the snapshot's files in a fixed pseudo-random order (SHA-256 of a per-
backup seed and the path) from where the previous run stopped, so each run restores files not
yet restored in this cycle, and every file is covered once per cycle. New files slot into the
order by their hash; deleted ones simply drop out. Pure: the caller keeps the cursor.

Every other run also restores a *probe*: larger files (files of 12 MB or more, 96-128 MB
together where the snapshot has them): runs of two sizes let the restore time be split into
restic's start-up and its throughput (see ``restore_timing``); 50 small files alone are nearly
all start-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from muni_watchdog.backup_tests.params import SampleParams
from muni_watchdog.backup_tests.restic_output import Node

PROBE_MIN = 96_000_000   # a probe restores at least this much where the snapshot allows
PROBE_MAX = 128_000_000  # ... and at most this much


@dataclass(frozen=True)
class Rotation:
    """Where the random sample stands: the last key taken, and how many cycles completed."""

    seed: str
    cursor: str = ""
    cycle: int = 0


@dataclass(frozen=True)
class Selection:
    files: tuple[Node, ...]          # every file to restore, no duplicates
    canaries: tuple[str, ...]        # canary paths found in the snapshot
    missing_canaries: tuple[str, ...]
    missing_critical: tuple[str, ...]  # critical paths with no file in the snapshot
    random_count: int
    rotation: Rotation
    coverage: float                  # share of the snapshot's files covered in this cycle
    probe: tuple[str, ...] = ()      # the larger files added for the timing model

    @property
    def bytes(self) -> int:
        return sum(n.size for n in self.files)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(n.path for n in self.files)


def order_key(seed: str, path: str) -> str:
    return hashlib.sha256(f"{seed}\0{path}".encode()).hexdigest()


def _under(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/") or "/"
    return path == prefix or path.startswith(prefix + "/") or prefix == "/"


def select_sample(files: Sequence[Node], canaries: Sequence[str], params: SampleParams,
                  rotation: Rotation, probe: bool = False) -> Selection:
    """Choose the files of one run; ``files`` are the snapshot's regular files. With
    ``probe``, one larger file is added (within ``max_file_size`` and ``max_bytes``)."""
    by_path = {n.path: n for n in files}
    chosen: dict[str, Node] = {}
    found_canaries = tuple(c for c in canaries if c in by_path)
    missing_canaries = tuple(c for c in canaries if c not in by_path)
    for path in found_canaries:
        chosen[path] = by_path[path]
    for prefix in params.critical_paths:
        for node in files:
            if _under(node.path, prefix):
                chosen.setdefault(node.path, node)
    missing_critical = missing_paths(files, params.critical_paths)

    keyed = sorted((order_key(rotation.seed, n.path), n) for n in files
                   if n.path not in chosen and n.size <= params.max_file_size)
    start = next((i for i, (k, _) in enumerate(keyed) if k > rotation.cursor), len(keyed))
    cursor, cycle, taken, budget = rotation.cursor, rotation.cycle, 0, params.max_bytes
    for step in range(len(keyed)):
        if taken >= params.files:
            break
        index = start + step
        if index >= len(keyed):
            if index == len(keyed):
                cycle += 1  # wrapped: everything was offered once
            index -= len(keyed)
        key, node = keyed[index]
        cursor = key
        if node.size > budget:
            continue
        chosen[node.path] = node
        budget -= node.size
        taken += 1
    # the order is walked from the smallest key: everything up to the cursor is done this cycle
    coverage = sum(1 for k, _ in keyed if k <= cursor) / len(keyed) if keyed else 1.0
    extra = _probe(files, chosen, min(PROBE_MAX, params.max_file_size, budget),
                   rotation.seed + cursor) if probe and params.files else []
    for node in extra:
        chosen[node.path] = node
    return Selection(tuple(chosen.values()), found_canaries, missing_canaries,
                     tuple(missing_critical), taken, Rotation(rotation.seed, cursor, cycle),
                     round(coverage, 4), tuple(n.path for n in extra))


def missing_paths(files: Sequence[Node], critical_paths: Sequence[str]) -> list[str]:
    """The critical paths with no file in ``files``."""
    return [prefix for prefix in critical_paths if not any(_under(n.path, prefix)
                                                           for n in files)]


def chosen_in(files: Sequence[Node], selection: Selection,
              critical_paths: Sequence[str]) -> list[Node]:
    """What ``files`` (a snapshot's) hold of ``selection``, which may have been chosen from an
    earlier listing: its files that are still there, and everything under a critical path (its
    --include pattern restores what the snapshot has there now)."""
    picked = set(selection.paths)
    return [n for n in files if n.path in picked
            or any(_under(n.path, prefix) for prefix in critical_paths)]


def _probe(files: Sequence[Node], chosen: dict[str, Node], cap: int,
           seed: str) -> list[Node]:
    """Larger files not chosen yet, PROBE_MIN..PROBE_MAX bytes together (different ones each
    run, by hash), or else the largest that fits."""
    fits = sorted((n for n in files if n.path not in chosen and 0 < n.size <= cap),
                  key=lambda n: order_key(seed, n.path))
    picked, total = [], 0
    for node in (n for n in fits if n.size >= PROBE_MIN // 8):
        if total + node.size <= cap:
            picked.append(node)
            total += node.size
        if total >= PROBE_MIN:
            return picked
    return picked or [max(fits, key=lambda n: (n.size, n.path))] if fits else []


def include_pattern(path: str) -> str:
    """A path as a restic ``--include`` pattern: glob characters escaped (filepath.Match)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in path)


def include_patterns(files: Sequence[Node], critical_paths: Sequence[str]) -> list[str] | None:
    """The ``--include`` patterns that restore ``files`` (a selection): each critical folder as
    one pattern, every other file by its own path. None: no filter (a critical path of "/").

    restic matches every pattern against every node of the snapshot's trees, so one pattern
    per file of a large critical folder (thousands) made the restore itself slower than the
    bare ``restic restore --include FOLDER`` an admin would type (issue 16). A critical path
    with no file in the snapshot adds no pattern."""
    folders = sorted({p.rstrip("/") or "/" for p in critical_paths
                      if any(_under(n.path, p) for n in files)})
    if "/" in folders:
        return None
    patterns = [include_pattern(folder) for folder in folders]
    return patterns + [include_pattern(n.path) for n in files
                       if not any(_under(n.path, folder) for folder in folders)]
