"""Downloading the feeds (I/O): a conditional GET with size and time limits, written
atomically into the state directory; the last good copy is kept when the download fails, and
its age is what a check reports. Then the per-host view the pure evaluation reads.

Layout under the directory the daemon gives (``<state>/vulns``)::

    raw/<feed>.data, raw/<feed>.meta.json     the last good download and what we know of it
    index/<feed>/current.json, build-*/       the compact form (checks/vulns/index.py)

A download is only accepted once it has been read in full and converted without error: a
truncated body, a body larger than the limit, an answer that is not the feed's format, or an
unreachable server leave the previous copy (and index) untouched and are recorded as the
feed's last error. No copy at all is an error the check reports as UNKNOWN, never OK.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from muni_watchdog.checks.ssh.installed import OsIdentity
from muni_watchdog.checks.vulns import osv, tracker
from muni_watchdog.checks.vulns.index import FeedState, FeedView, build_index, read_advisories
from muni_watchdog.checks.vulns.kev import KevEntry, load_kev
from muni_watchdog.checks.vulns.records import FeedError, ecosystem_of
from muni_watchdog.checks.vulns.sources import DEFAULT_SOURCES, FeedSource

CHUNK = 256 * 1024
USER_AGENT = "muni-watchdog (vulnerability feed; https://github.com/muni-watchdog)"


@dataclass(frozen=True)
class FeedCopy:
    """The last good download of a feed and what we know of it."""

    name: str
    path: Path
    url: str = ""
    etag: str = ""
    last_modified: str = ""
    downloaded_at: datetime | None = None   # when these bytes came
    verified_at: datetime | None = None     # when the server last said they are current
    size: int = 0
    sha256: str = ""
    last_error: str = ""                    # the last attempt's failure ("" after success)
    last_attempt: datetime | None = None    # when the last download was tried

    def age(self, now: datetime) -> float | None:
        """Seconds since the server last confirmed the copy (None: never)."""
        return None if self.verified_at is None else (now - self.verified_at).total_seconds()


@dataclass(frozen=True)
class FetchResult:
    copy: FeedCopy | None        # None: there is no copy at all
    changed: bool = False        # new bytes were accepted
    error: str = ""              # why this attempt failed ("" when it did not)


def _dt(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def read_meta(raw_dir: Path, name: str) -> dict[str, Any]:
    """What is recorded of feed ``name``'s downloads, even when none succeeded ({}: nothing)."""
    try:
        meta = json.loads((Path(raw_dir) / f"{name}.meta.json").read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def read_copy(raw_dir: Path, name: str) -> FeedCopy | None:
    """The stored copy of feed ``name`` (None: never downloaded, or its data is gone)."""
    data_path = Path(raw_dir) / f"{name}.data"
    meta = read_meta(raw_dir, name)
    if not data_path.is_file():
        return None
    return FeedCopy(name, data_path, str(meta.get("url", "")), str(meta.get("etag", "")),
                    str(meta.get("last_modified", "")), _dt(meta.get("downloaded_at")),
                    _dt(meta.get("verified_at")), int(meta.get("size") or 0),
                    str(meta.get("sha256", "")), str(meta.get("last_error", "")),
                    _dt(meta.get("last_attempt")))


def _write_meta(raw_dir: Path, name: str, meta: dict[str, Any]) -> None:
    path = Path(raw_dir) / f"{name}.meta.json"
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(meta, indent=1))
    os.replace(temp, path)


def _meta_of(copy: FeedCopy | None, source: FeedSource) -> dict[str, Any]:
    if copy is None:
        return {"url": source.url}
    return {"url": copy.url or source.url, "etag": copy.etag,
            "last_modified": copy.last_modified,
            "downloaded_at": copy.downloaded_at.isoformat() if copy.downloaded_at else None,
            "verified_at": copy.verified_at.isoformat() if copy.verified_at else None,
            "size": copy.size, "sha256": copy.sha256}


def _download(source: FeedSource, request: urllib.request.Request, temp: Path
              ) -> tuple[int, Any, int, str]:
    """(status, headers, bytes, sha256) with the body in ``temp``; FeedError on a limit."""
    deadline = time.monotonic() + source.timeout
    per_read = max(1.0, min(60.0, source.timeout))
    try:
        response = urllib.request.urlopen(request, timeout=per_read)  # noqa: S310
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return 304, exc.headers, 0, ""
        raise FeedError(f"{source.url} answered HTTP {exc.code} {exc.reason}") from None
    with response:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > source.max_bytes:
            raise FeedError(f"{source.url} offers {int(declared)} bytes, more than the limit "
                            f"of {source.max_bytes}")
        digest, size = hashlib.sha256(), 0
        with open(temp, "wb") as out:
            while True:
                if time.monotonic() > deadline:
                    raise FeedError(f"{source.url}: download not finished within "
                                    f"{source.timeout:g}s")
                # read1: one socket read at a time, so a server that drips a byte every few
                # seconds meets the deadline (read(n) would wait for all n bytes).
                chunk = response.read1(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > source.max_bytes:
                    raise FeedError(f"{source.url} sent more than the limit of "
                                    f"{source.max_bytes} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if declared and declared.isdigit() and size != int(declared):
            raise FeedError(f"{source.url}: body cut short ({size} of {declared} bytes)")
        return response.status, response.headers, size, digest.hexdigest()


def fetch(source: FeedSource, raw_dir: Path, now: datetime,
          accept: Callable[[Path], None] | None = None) -> FetchResult:
    """Download ``source`` into ``raw_dir`` if it changed (ETag / Last-Modified), within its
    size and time limits. ``accept(temp_path)`` may raise FeedError to refuse the new bytes
    (it converts them: a truncated feed is refused before it replaces anything). Failures
    never raise: they are in the result, and the last good copy stays."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    copy = read_copy(raw_dir, source.name)
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if copy is not None and copy.url == source.url:
        if copy.etag:
            headers["If-None-Match"] = copy.etag
        if copy.last_modified:
            headers["If-Modified-Since"] = copy.last_modified
    # Unique per process and thread: the CLI may download while the daemon does.
    temp = raw_dir / f".{source.name}.{os.getpid()}.{threading.get_ident()}.part"
    meta = _meta_of(copy, source)
    try:
        status, got, size, sha = _download(
            source, urllib.request.Request(source.url, headers=headers), temp)
        if status == 304:
            if copy is None:
                raise FeedError(f"{source.url} answered 304 Not Modified, but there is no "
                                "copy here")
            meta.update(verified_at=now.isoformat(), last_error="", last_attempt=now.isoformat())
            _write_meta(raw_dir, source.name, meta)
            return FetchResult(read_copy(raw_dir, source.name), False)
        if size == 0:
            raise FeedError(f"{source.url} answered with an empty body")
        if accept is not None:
            accept(temp)
        os.replace(temp, raw_dir / f"{source.name}.data")
        meta = {"url": source.url, "etag": got.get("ETag", ""),
                "last_modified": got.get("Last-Modified", ""), "downloaded_at": now.isoformat(),
                "verified_at": now.isoformat(), "size": size, "sha256": sha, "last_error": "",
                "last_attempt": now.isoformat()}
        _write_meta(raw_dir, source.name, meta)
        return FetchResult(read_copy(raw_dir, source.name), True)
    except (FeedError, urllib.error.URLError, OSError, ValueError) as exc:
        reason = str(exc) if isinstance(exc, FeedError) else \
            f"{source.url}: {getattr(exc, 'reason', exc)}"
        meta.update(last_error=reason[:500], last_attempt=now.isoformat())
        _write_meta(raw_dir, source.name, meta)
        return FetchResult(read_copy(raw_dir, source.name), False, reason)
    finally:
        temp.unlink(missing_ok=True)


def update_feed(source: FeedSource, feeds_dir: Path, now: datetime) -> FetchResult:
    """Fetch ``source`` and, when new bytes came, convert them into the index (KEV: check
    that it parses). What the scheduler calls for each feed; blocking I/O — run it in a
    thread."""
    feeds_dir = Path(feeds_dir)
    index_root = feeds_dir / "index"

    def accept(path: Path) -> None:
        if source.kind == "kev":
            load_kev(path)
            return
        rows = osv.iter_advisories(path) if source.kind == "osv" else \
            tracker.iter_advisories(path)
        build_index(source.name, rows, index_root, now, {"url": source.url})

    return fetch(source, feeds_dir / "raw", now, accept)


def _state(copy: FeedCopy | None, name: str) -> FeedState:
    if copy is None:
        return FeedState(name, None, "never downloaded")
    return FeedState(name, copy.verified_at, copy.last_error)


def load_view(feeds_dir: Path, identity: OsIdentity, packages: Iterable[str],
              feeds: Sequence[str] | None = None, kev: str = "kev") -> FeedView:
    """What the stored feeds say about a host (I/O, bounded by its packages): the
    advisories of the feeds that cover its ecosystem, the KEV catalogue, each feed's state.
    Nothing is raised: what is missing is in ``problems`` (the check reports UNKNOWN)."""
    feeds_dir = Path(feeds_dir)
    names = list(feeds) if feeds is not None else \
        [s.name for s in DEFAULT_SOURCES if s.kind != "kev"]
    try:
        ecosystem = ecosystem_of(identity)
    except FeedError as exc:
        return FeedView(None, problems=(str(exc),))
    wanted = set(packages)
    problems: list[str] = []
    states: list[FeedState] = []
    found: dict[str, list[Any]] = {}
    for name in names:
        try:
            covered, rows = read_advisories(feeds_dir / "index", name, ecosystem, wanted)
        except FeedError as exc:
            problems.append(str(exc))
            continue
        if covered:
            states.append(_state(read_copy(feeds_dir / "raw", name), name))
            for package, advisories in rows.items():
                found.setdefault(package, []).extend(advisories)
    if not states:
        tried = ", ".join(names) or "none configured"
        problems.append(f"no downloaded vulnerability feed covers {ecosystem.name} (feeds: "
                        f"{tried}): nothing can be said about this host's packages")
    kev_copy = read_copy(feeds_dir / "raw", kev)
    catalogue: dict[str, KevEntry] | None = None
    if kev_copy is not None:
        try:
            catalogue = load_kev(kev_copy.path)
        except FeedError as exc:
            problems.append(str(exc))
    return FeedView(ecosystem, {p: tuple(a) for p, a in found.items()}, tuple(states),
                    catalogue, _state(kev_copy, kev), tuple(problems))

