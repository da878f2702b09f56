"""The compact stored form of a feed, and the per-host view read from it.

A downloaded feed (50–500 MB) is converted once into one small text file per ecosystem —
``<package>\\t<advisory as JSON>`` per line — under ``<index root>/<feed>/build-*/``, with a
manifest; ``current.json`` names the build in use and is replaced atomically, so a check never
reads half a build. A check then reads only the lines of the host's ecosystem *and* installed
packages: memory grows with what matters to the host, never with the feed.

The first time each fix (package, advisory, fixed version) appears in our copies is carried from
build to build (``fix_seen.tsv``): it is when the fix became available as far as we can tell
when the feed itself has no date (the Debian tracker has none).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from muni_watchdog.checks.vulns.kev import KevEntry
from muni_watchdog.checks.vulns.records import Advisory, Ecosystem, FeedError

FORMAT = 1
MAX_ROWS = 3_000_000          # more rows than every OS ecosystem of osv.dev holds together
MAX_FILES = 400
MAX_LINE = 4 * 1024 * 1024    # one advisory line (kernel records list many versions)
KEEP_BUILDS = 2               # the current build and the one before (a reader may hold it)


@dataclass(frozen=True)
class FeedState:
    """What a check must say about one feed: its name, when its server last confirmed our
    copy (None: never), and why the last download failed ("" when it did not)."""

    name: str
    fetched_at: datetime | None
    error: str = ""


@dataclass(frozen=True)
class FeedView:
    """Everything the feeds say about one host: the advisories for its installed packages
    (by package name), the KEV catalogue, the state of each feed, and what is missing."""

    ecosystem: Ecosystem | None
    advisories: Mapping[str, tuple[Advisory, ...]] = field(default_factory=dict)
    feeds: tuple[FeedState, ...] = ()
    kev: Mapping[str, KevEntry] | None = None
    kev_state: FeedState | None = None
    problems: tuple[str, ...] = ()


def file_key(ecosystem: str) -> str:
    """The file an ecosystem's rows go to: itself, except Red Hat's many CPE streams
    (``Red Hat:enterprise_linux:9::appstream``), grouped per product and major release."""
    if ecosystem.startswith("Red Hat:"):
        parts = ecosystem.split(":")
        if len(parts) >= 3:
            return f"Red Hat:{parts[1]}:{parts[2].split('.')[0]}"
    return ecosystem


def _slug(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_")[:120] or "ecosystem"


def _current_build(feed_dir: Path) -> Path | None:
    try:
        pointer = json.loads((feed_dir / "current.json").read_text())
        build = feed_dir / str(pointer["build"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return build if (build / "manifest.json").is_file() else None


def _read_fix_seen(build: Path | None) -> dict[str, str]:
    seen: dict[str, str] = {}
    if build is None or not (build / "fix_seen.tsv").is_file():
        return seen
    with open(build / "fix_seen.tsv", encoding="utf-8") as handle:
        while len(seen) <= MAX_ROWS:
            line = handle.readline(MAX_LINE)
            if not line:
                break
            key, _, when = line.rstrip("\n").rpartition("\t")
            if key and when:
                seen[key] = when
    return seen


def _write_atomic(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def build_index(feed: str, advisories: Iterable[Advisory], index_root: Path, now: datetime,
                source: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write ``advisories`` as a new build of ``feed`` and make it current; returns the
    manifest. FeedError (nothing replaced) when the feed yields nothing or too much — and
    whatever the advisories' iterator raises (a truncated download) also leaves the last
    good build in place."""
    feed_dir = Path(index_root) / _slug(feed)
    feed_dir.mkdir(parents=True, exist_ok=True)
    previous = _current_build(feed_dir)
    first_seen = _read_fix_seen(previous)
    stamp = now.isoformat()
    build = feed_dir / f"build-{now.strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
    build.mkdir()
    files: dict[str, Any] = {}
    handles: dict[str, Any] = {}
    rows = 0
    try:
        with open(build / "fix_seen.tsv", "w", encoding="utf-8") as fixes:
            for advisory in advisories:
                rows += 1
                if rows > MAX_ROWS:
                    raise FeedError(f"{feed}: more than {MAX_ROWS} advisories: not a feed "
                                    "this code knows")
                if advisory.fixed_versions:
                    key = advisory.fix_key.replace("\t", " ").replace("\n", " ")
                    seen = first_seen.get(key, stamp)
                    fixes.write(f"{key}\t{seen}\n")
                    advisory = replace(advisory, fix_seen=seen)
                fkey = file_key(advisory.ecosystem)
                if fkey not in handles:
                    if len(handles) >= MAX_FILES:
                        raise FeedError(f"{feed}: more than {MAX_FILES} ecosystems")
                    name = f"{_slug(fkey)}.{len(handles)}.tsv"
                    handles[fkey] = open(build / name, "w", encoding="utf-8")  # noqa: SIM115
                    files[fkey] = {"file": name, "rows": 0}
                handles[fkey].write(f"{advisory.package}\t"
                                    f"{json.dumps(advisory.as_dict(), separators=(',', ':'))}\n")
                files[fkey]["rows"] += 1
        if rows == 0:
            raise FeedError(f"{feed}: the download holds no advisory at all for the OS "
                            "ecosystems read here")
    except BaseException:
        for handle in handles.values():
            handle.close()
        shutil.rmtree(build, ignore_errors=True)
        raise
    for handle in handles.values():
        handle.close()
    manifest = {"format": FORMAT, "feed": feed, "built_at": stamp, "rows": rows,
                "source": dict(source or {}), "files": files}
    _write_atomic(build / "manifest.json", json.dumps(manifest, indent=1))
    _write_atomic(feed_dir / "current.json", json.dumps({"build": build.name}))
    _prune(feed_dir, build)
    return manifest


def _prune(feed_dir: Path, current: Path) -> None:
    builds = sorted((p for p in feed_dir.glob("build-*") if p.is_dir() and p != current),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[KEEP_BUILDS - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(index_root: Path, feed: str) -> dict[str, Any] | None:
    """The current build's manifest of ``feed`` (None: never built)."""
    build = _current_build(Path(index_root) / _slug(feed))
    if build is None:
        return None
    try:
        return json.loads((build / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def read_advisories(index_root: Path, feed: str, ecosystem: Ecosystem,
                    packages: Iterable[str]) -> tuple[bool, dict[str, list[Advisory]]]:
    """(whether ``feed`` covers the ecosystem at all, its advisories for ``packages``).
    Only the lines of the wanted packages are parsed."""
    feed_dir = Path(index_root) / _slug(feed)
    build = _current_build(feed_dir)
    manifest = read_manifest(index_root, feed) if build else None
    if build is None or manifest is None:
        return False, {}
    wanted = set(packages)
    found: dict[str, list[Advisory]] = {}
    covered = False
    for key, entry in (manifest.get("files") or {}).items():
        if not ecosystem.covers(key):
            continue
        covered = True
        try:
            handle = open(build / str(entry["file"]), encoding="utf-8")  # noqa: SIM115
        except (OSError, KeyError, TypeError) as exc:
            raise FeedError(f"{feed}: index file for {key} is unreadable: {exc}") from None
        with handle:
            while True:
                line = handle.readline(MAX_LINE)
                if not line:
                    break
                package, tab, rest = line.partition("\t")
                if not tab or package not in wanted:
                    continue
                try:
                    advisory = Advisory.from_dict(json.loads(rest))
                except (ValueError, KeyError, TypeError) as exc:
                    raise FeedError(f"{feed}: damaged index line for {package}: "
                                    f"{exc}") from None
                if ecosystem.covers(advisory.ecosystem):
                    found.setdefault(package, []).append(advisory)
    return covered, found
