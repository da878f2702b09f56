"""OSV records (https://ossf.github.io/osv-schema/) → :class:`Advisory` rows.

The OS ecosystems read here: ``Debian:N``, ``Ubuntu:YY.MM[:LTS]``, ``AlmaLinux:N``,
``Rocky Linux:N`` (all naming *source* packages) and ``Red Hat:<cpe stream>`` (binary or
source RPMs). osv.dev publishes one zip per ecosystem (``<ecosystem>/all.zip``, one JSON
record per member): it is read member by member, each bounded, so memory stays small however
large the zip; a zip that is truncated, corrupt or holds something other than OSV JSON is a
:class:`FeedError`.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from muni_watchdog.checks.vulns.records import (
    MAX_VERSIONS,
    Advisory,
    FeedError,
    Range,
    cve_ids,
    severity_level,
    text,
)

MAX_RECORD_BYTES = 8 * 1024 * 1024     # the largest real records (kernel) are ~1 MB
MAX_RECORDS = 2_000_000
MAX_UNCOMPRESSED = 16 * 1024 ** 3      # a zip bomb is refused before it is read
MAX_JSON_FILE = 64 * 1024 * 1024


def _ranges(affected: Mapping[str, Any]) -> tuple[Range, ...]:
    """ECOSYSTEM ranges as (introduced, fixed | last_affected) intervals; ``introduced: 0``
    is "from the start". GIT and SEMVER ranges do not apply to distribution packages."""
    found: list[Range] = []
    for entry in affected.get("ranges") or ():
        if not isinstance(entry, dict) or entry.get("type") != "ECOSYSTEM":
            continue
        start: str | None = None
        opened = False
        for event in entry.get("events") or ():
            if not isinstance(event, dict):
                continue
            if "introduced" in event:
                value = text(event["introduced"])
                start, opened = (None if value in ("", "0") else value), True
            elif "fixed" in event and opened:
                found.append(Range(start, text(event["fixed"]) or None, None))
                opened = False
            elif "last_affected" in event and opened:
                found.append(Range(start, None, text(event["last_affected"]) or None))
                opened = False
        if opened:
            found.append(Range(start, None, None))
    return tuple(found)


def _date(value: Any) -> str | None:
    """An RFC 3339 time, or None — Debian's converter writes ``0001-01-01T00:00:00Z`` where
    it knows no date, which would make every fix look ancient."""
    word = text(value)
    return word if len(word) >= 10 and word[:4].isdigit() and word[:4] >= "1990" else None


_RATING = re.compile(r"^(Critical|Important|Moderate|Low):", re.IGNORECASE)


def _severity(record: Mapping[str, Any], affected: Mapping[str, Any]) -> tuple[str, str]:
    """(level, as the feed says it): Debian's urgency, Ubuntu's priority, the vendor's
    impact rating (Red Hat's clones put it in the summary: "Important: openssh security
    update"), else a CVSS vector kept as text (level unknown)."""
    specific = affected.get("ecosystem_specific") or {}
    database = affected.get("database_specific") or {}
    top_database = record.get("database_specific") or {}
    for source, key, label in ((specific, "urgency", "urgency"),
                               (specific, "severity", "severity"),
                               (database, "severity", "severity"),
                               (top_database, "severity", "severity")):
        if isinstance(source, dict) and text(source.get(key)):
            word = text(source[key])
            return severity_level(word), f"{label} {word}"
    rating = _RATING.match(text(record.get("summary")))
    if rating:
        return severity_level(rating.group(1)), f"rating {rating.group(1)}"
    vector = ""
    for entry in list(affected.get("severity") or ()) + list(record.get("severity") or ()):
        if not isinstance(entry, dict):
            continue
        kind, score = text(entry.get("type")), text(entry.get("score"))
        if kind.lower() in ("ubuntu", "debian") and score:
            return severity_level(score), f"priority {score}"
        vector = vector or score
    return "unknown", vector


def advisories_from_record(record: Any, wanted: Callable[[str], bool] | None = None
                           ) -> list[Advisory]:
    """The advisories of one OSV record for the ecosystems ``wanted`` says yes to (all when
    None). A withdrawn record has none. ValueError when it is not an OSV record."""
    if not isinstance(record, dict) or not text(record.get("id")):
        raise ValueError("not an OSV record (no id)")
    if record.get("withdrawn"):
        return []
    vuln_id = text(record["id"])
    # AlmaLinux names its CVEs in "related", Debian and Rocky in "upstream", others in
    # "aliases": a CVE is a CVE wherever it is listed (RHSA ids there are filtered out).
    cves = cve_ids([vuln_id], record.get("aliases") or (), record.get("upstream") or (),
                   record.get("related") or ())
    published, modified = _date(record.get("published")), _date(record.get("modified"))
    found = []
    for affected in record.get("affected") or ():
        package = affected.get("package") if isinstance(affected, dict) else None
        if not isinstance(package, dict):
            continue
        ecosystem, name = text(package.get("ecosystem")), text(package.get("name"))
        if not ecosystem or not name or (wanted is not None and not wanted(ecosystem)):
            continue
        versions = tuple(text(v) for v in (affected.get("versions") or ())[:MAX_VERSIONS]
                         if text(v))
        ranges = _ranges(affected)
        if not ranges and not versions:
            continue  # says nothing about which versions are affected
        level, said = _severity(record, affected)
        found.append(Advisory(ecosystem, name, vuln_id, cves, ranges, versions,
                              severity=level, severity_text=said, published=published,
                              modified=modified, source="osv"))
    return found


def iter_records(path: Path) -> Iterator[Any]:
    """The records of an OSV download: a zip of JSON files (osv.dev's ``all.zip``), or one
    JSON file holding a record or a list of records. FeedError names what is wrong."""
    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic.startswith(b"PK"):
        yield from _zip_records(path)
        return
    if path.stat().st_size > MAX_JSON_FILE:
        raise FeedError(f"{path.name}: {path.stat().st_size} bytes of JSON is more than "
                        f"{MAX_JSON_FILE} (expected osv.dev's zip for a whole ecosystem)")
    try:
        data = json.loads(path.read_bytes())
    except ValueError as exc:
        raise FeedError(f"{path.name} is neither an OSV zip nor JSON: {exc}") from None
    yield from (data if isinstance(data, list) else [data])


def _zip_records(path: Path) -> Iterator[Any]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FeedError(f"{path.name} is not a readable zip (truncated download?): "
                        f"{exc}") from None
    with archive:
        members = [m for m in archive.infolist() if m.filename.endswith(".json")]
        if len(members) > MAX_RECORDS:
            raise FeedError(f"{path.name} holds {len(members)} records, more than "
                            f"{MAX_RECORDS}")
        total = sum(m.file_size for m in members)
        if total > MAX_UNCOMPRESSED:
            raise FeedError(f"{path.name} would unpack to {total} bytes, more than "
                            f"{MAX_UNCOMPRESSED}")
        for member in members:
            if member.file_size > MAX_RECORD_BYTES:
                raise FeedError(f"{path.name}: record {member.filename} is "
                                f"{member.file_size} bytes, more than {MAX_RECORD_BYTES}")
            try:
                with archive.open(member) as handle:
                    body = handle.read(MAX_RECORD_BYTES + 1)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise FeedError(f"{path.name}: record {member.filename} is damaged: "
                                f"{exc}") from None
            if len(body) > MAX_RECORD_BYTES:  # the header lied about the size
                raise FeedError(f"{path.name}: record {member.filename} is larger than "
                                f"{MAX_RECORD_BYTES} bytes")
            try:
                record = json.loads(body)
            except ValueError as exc:
                raise FeedError(f"{path.name}: record {member.filename} is not JSON: "
                                f"{exc}") from None
            yield record


def iter_advisories(path: Path, wanted: Callable[[str], bool] | None = None
                    ) -> Iterator[Advisory]:
    """Every advisory of an OSV download for the ``wanted`` ecosystems; FeedError on a bad
    download or a record that is not OSV."""
    for number, record in enumerate(iter_records(path), 1):
        try:
            yield from advisories_from_record(record, wanted)
        except (ValueError, TypeError, AttributeError) as exc:
            raise FeedError(f"{Path(path).name}: record {number} is not an OSV record: "
                            f"{exc}") from None
