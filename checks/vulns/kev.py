"""CISA's Known Exploited Vulnerabilities catalogue
(https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json):
``{"catalogVersion", "dateReleased", "count", "vulnerabilities": [{"cveID", "vendorProject",
"product", "vulnerabilityName", "dateAdded", "dueDate", "knownRansomwareCampaignUse", ...}]}``.

About 1.5 MB: read whole, within a bound. A catalogue that is not JSON, lacks its list, or
lists fewer entries than its own ``count`` says is a :class:`FeedError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from muni_watchdog.checks.vulns.records import FeedError, cve_ids, text

MAX_KEV_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class KevEntry:
    cve: str
    date_added: str
    due_date: str = ""
    ransomware: bool = False          # knownRansomwareCampaignUse == "Known"
    vendor: str = ""
    product: str = ""
    name: str = ""


def parse_kev(data: Any) -> dict[str, KevEntry]:
    """The catalogue's entries by CVE; FeedError when it is not the catalogue."""
    if not isinstance(data, dict) or not isinstance(data.get("vulnerabilities"), list):
        raise FeedError("KEV catalogue: no 'vulnerabilities' list (not CISA's catalogue?)")
    entries: dict[str, KevEntry] = {}
    for item in data["vulnerabilities"]:
        if not isinstance(item, dict):
            continue
        cve = next(iter(cve_ids([item.get("cveID")])), None)
        if cve is None:
            continue
        entries[cve] = KevEntry(cve, text(item.get("dateAdded")), text(item.get("dueDate")),
                                text(item.get("knownRansomwareCampaignUse")).lower() == "known",
                                text(item.get("vendorProject")), text(item.get("product")),
                                text(item.get("vulnerabilityName")))
    count = data.get("count")
    if isinstance(count, int) and not isinstance(count, bool) and count > len(entries):
        raise FeedError(f"KEV catalogue says it holds {count} entries but lists "
                        f"{len(entries)} (cut short?)")
    if not entries:
        raise FeedError("KEV catalogue lists no vulnerability at all")
    return entries


def load_kev(path: Path) -> dict[str, KevEntry]:
    """The catalogue at ``path``; FeedError when it is missing, too large or not valid."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_KEV_BYTES:
            raise FeedError(f"KEV catalogue {path.name} is {size} bytes, more than "
                            f"{MAX_KEV_BYTES}")
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise FeedError(f"no KEV catalogue at {path}: it has never been downloaded") from None
    except OSError as exc:
        raise FeedError(f"cannot read the KEV catalogue {path}: {exc}") from None
    except ValueError as exc:
        raise FeedError(f"KEV catalogue {path.name} is not valid JSON (truncated?): "
                        f"{exc}") from None
    return parse_kev(data)
