#!/usr/bin/env python3
"""Refresh checks/data/lifecycle.json from the endoflife.date API, when online.

    scripts/refresh-lifecycle.py [--file checks/data/lifecycle.json] [--timeout 10]
                                 [--base-url https://endoflife.date/api] [--dry-run]

For each product in the file, GET ``{base-url}/{product}.json`` (endoflife.date's API: a list
of release cycles with ``cycle``, ``releaseDate``, ``eol``, ``extendedSupport``, ``latest``...)
and update the releases' dates: ``support_end`` from the product's ``support_field`` (Debian
counts its free LTS, ``extendedSupport``; the others ``eol``), ``extended_end`` from its
``extended_field``. New cycles are added (Windows builds from ``latest``, editions from the
cycle id); what the API does not carry (codenames, builds, labels, vendor sources) is kept.
A product whose answer fails or does not look like the API's is left as it was and named;
the file is written only when something changed, atomically.

Standard library only (urllib), every request with a timeout and a size bound.
Exit 0: refreshed or already current; 1: some products could not be refreshed (the others
were); 2: none could (offline?) or the file is unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "checks" / "data" / "lifecycle.json"
BASE_URL = "https://endoflife.date/api"
MAX_BYTES = 2_000_000
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WINDOWS_EDITION = re.compile(r"-(iot-lts|lts|w|e)$")


class RefreshError(RuntimeError):
    pass


def fetch(url: str, timeout: float) -> list[dict]:
    """The API's list of cycles, checked for shape; RefreshError with the reason."""
    request = urllib.request.Request(url, headers={"Accept": "application/json",
                                                   "User-Agent": "muni-watchdog lifecycle"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            body = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise RefreshError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RefreshError(f"cannot reach it: {getattr(exc, 'reason', exc)}") from None
    if len(body) > MAX_BYTES:
        raise RefreshError(f"answer larger than {MAX_BYTES} bytes")
    try:
        cycles = json.loads(body)
    except ValueError:
        raise RefreshError("the answer is not JSON") from None
    if not isinstance(cycles, list) or not cycles or not all(
            isinstance(c, dict) and isinstance(c.get("cycle"), str | int) for c in cycles):
        raise RefreshError("the answer is not a list of release cycles")
    return cycles


def _date(value: object) -> str | None | bool:
    """An API date: "YYYY-MM-DD"; False (not decided yet) -> None, True (ended, no date
    given) -> True: both keep what the file has."""
    if isinstance(value, str) and DATE.match(value):
        return value
    if value is True:
        return True
    return None


def merge(product: dict, cycles: list[dict]) -> list[str]:
    """Update ``product``'s releases from the API's cycles; the changes, for the log."""
    releases = {r["cycle"]: r for r in product["releases"]}
    support_field = product.get("support_field", "eol")
    extended_field = product.get("extended_field")
    changes = []
    for cycle in cycles:
        key = str(cycle["cycle"]).lower()
        release = releases.get(key)
        if release is None:
            release = {"cycle": key}
            build = str(cycle.get("latest") or "").split(".")
            if product.get("endoflife") in ("windows", "windows-server") and len(build) >= 3 \
                    and build[2].isdigit():
                release["build"] = int(build[2])
            edition = WINDOWS_EDITION.search(key)
            if product.get("endoflife") == "windows" and edition:
                release["edition"] = edition.group(1)
        updates = {"released": _date(cycle.get("releaseDate")),
                   "support_end": _date(cycle.get(support_field)) or (
                       _date(cycle.get("eol")) if support_field != "eol" else None)}
        if extended_field:
            updates["extended_end"] = _date(cycle.get(extended_field))
        for name, value in updates.items():
            if value is True or value is None:
                continue                     # no date in the API: keep what the file has
            if release.get(name) != value:
                changes.append(f"{key} {name}: {release.get(name)} -> {value}")
                release[name] = value
        if key not in releases:
            release.setdefault("source", product.get("via"))
            releases[key] = release
            product["releases"].append(release)
    product["releases"].sort(key=lambda r: r.get("released") or "", reverse=True)
    return changes


def write_atomically(path: Path, data: dict) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".lifecycle-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--base-url", default=BASE_URL)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)
    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
        products = data["products"]
    except (OSError, ValueError, KeyError) as exc:
        print(f"refresh-lifecycle: {args.file}: cannot read the lifecycle data ({exc})",
              file=sys.stderr)
        return 2
    failed, changed = [], []
    for key, product in products.items():
        url = f"{args.base_url.rstrip('/')}/{product.get('endoflife', key)}.json"
        try:
            cycles = fetch(url, args.timeout)
        except RefreshError as exc:
            failed.append(key)
            print(f"refresh-lifecycle: {key}: {url}: {exc}; kept as it was", file=sys.stderr)
            continue
        for change in merge(product, cycles):
            changed.append(f"{key} {change}")
    for line in changed:
        print(line)
    if len(failed) == len(products):
        print("refresh-lifecycle: no product could be refreshed (offline?); nothing written",
              file=sys.stderr)
        return 2
    if changed and not args.dry_run:
        data["as_of"] = date.today().isoformat()
        write_atomically(args.file, data)
        print(f"refresh-lifecycle: {len(changed)} changes written to {args.file}")
    elif not changed:
        print("refresh-lifecycle: already current")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
