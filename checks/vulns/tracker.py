"""The Debian security tracker's JSON (https://security-tracker.debian.org/tracker/data/json)
→ :class:`Advisory` rows, streamed.

Its shape: ``{source_package: {CVE: {"description", "scope", "debianbug", "releases":
{codename: {"status": "resolved" | "open" | "undetermined", "fixed_version", "urgency",
"repositories", "nodsa", "nodsa_reason"}}}}}``. The file is 50–100 MB: it is read as a stream
of JSON events (ijson) and only one CVE entry is held at a time, each bounded, so memory stays
small; a file that is truncated, not JSON or not shaped like the tracker's is a
:class:`FeedError`. ``fixed_version: "0"`` means the release was never affected: no row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import ijson

from muni_watchdog.checks.vulns.records import (
    DEBIAN_RELEASES,
    Advisory,
    FeedError,
    Range,
    cve_ids,
    severity_level,
    text,
)

MAX_EVENTS_PER_CVE = 20_000  # a real entry has ~100 events (a few releases, each ~10)


def _value(events: Iterator[tuple[str, Any]]) -> Any:
    """The next whole JSON value from ``events`` (a bounded number of them)."""
    builder = ijson.ObjectBuilder()
    depth = 0
    for count, (event, value) in enumerate(events):
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
        if depth == 0:
            return builder.value
        if count > MAX_EVENTS_PER_CVE:
            raise FeedError(f"an entry has more than {MAX_EVENTS_PER_CVE} JSON values: not "
                            "the tracker's format")
    raise FeedError("the file ends in the middle of an entry (truncated download?)")


def advisories_from_entry(package: str, vuln: str, entry: Any,
                          releases: Mapping[str, str] = DEBIAN_RELEASES) -> list[Advisory]:
    """The rows of one ``package``/``vuln`` entry for the ``releases`` (codename → number)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("releases"), dict):
        return []
    found = []
    for codename, number in releases.items():
        state = entry["releases"].get(codename)
        if not isinstance(state, dict):
            continue
        status = text(state.get("status"))
        fixed = text(state.get("fixed_version"))
        if status == "resolved":
            if fixed in ("", "0"):
                continue  # never affected in this release
            ranges, undetermined = (Range(None, fixed, None),), False
        else:  # "open", "undetermined" (and any status this code does not know yet)
            ranges, undetermined = (Range(None, None, None),), status != "open"
        urgency = text(state.get("urgency"))
        said = f"urgency {urgency}" if urgency else ""
        if text(state.get("nodsa")):
            said += f"; no DSA: {text(state.get('nodsa'))}"
        found.append(Advisory(f"Debian:{number}", package, vuln, cve_ids([vuln]), ranges,
                              undetermined=undetermined, severity=severity_level(urgency),
                              severity_text=said.strip("; "), source="debian-tracker"))
    return found


def iter_advisories(path: Path, releases: Mapping[str, str] = DEBIAN_RELEASES
                    ) -> Iterator[Advisory]:
    """Every row of the tracker file at ``path`` for the ``releases``; FeedError when the
    file is truncated, not JSON, or not the tracker's shape."""
    name = Path(path).name
    try:
        with open(path, "rb") as handle:
            events = ijson.basic_parse(handle, use_float=True)
            first = next(events, (None, None))[0]
            if first != "start_map":
                raise FeedError(f"{name}: not the security tracker's JSON (expected an "
                                "object of source packages)")
            for event, package in events:
                if event == "end_map":
                    break
                if event != "map_key" or next(events, (None, None))[0] != "start_map":
                    raise FeedError(f"{name}: not the security tracker's JSON (package "
                                    f"{text(package)!r} is not an object of CVEs)")
                for inner, vuln in events:
                    if inner == "end_map":
                        break
                    yield from advisories_from_entry(text(package), text(vuln),
                                                     _value(events), releases)
            for _ in events:  # anything after the object is not the tracker's file
                raise FeedError(f"{name}: unexpected data after the tracker's JSON object")
    except ijson.JSONError as exc:
        raise FeedError(f"{name}: not valid JSON or truncated (download cut short?): "
                        f"{str(exc)[:200]}") from None
    except OSError as exc:
        raise FeedError(f"{name}: cannot read: {exc}") from None
