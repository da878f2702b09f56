"""The one shape every feed is converted to: an :class:`Advisory` — one vulnerability as it
concerns one package in one release — and the ecosystem a host belongs to.

Feeds differ (OSV records per advisory, the Debian tracker per source package, KEV per CVE);
matching should not care. Every advisory says in which version ranges the package is affected
and, where a fix exists, from which version it is fixed, in the ecosystem's own version scheme.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from muni_watchdog.checks.ssh.installed import OsIdentity
from muni_watchdog.checks.vulns.versions import Scheme

MAX_FIELD = 200  # every string kept from a feed is bounded: a feed is data from outside
MAX_VERSIONS = 2000


class FeedError(RuntimeError):
    """A feed that cannot be used: missing, unreachable, truncated, not what it claims. The
    message names the feed and what is wrong; a check turns it into UNKNOWN, never OK."""


# Severity levels, most serious first. Debian's urgencies, Ubuntu's priorities, Red Hat's /
# AlmaLinux's / Rocky's impact ratings and CVSS ratings are all mapped onto these.
SEVERITIES = ("critical", "high", "medium", "low", "negligible", "unknown")
_SEVERITY_WORDS = {
    "critical": "critical", "important": "high", "high": "high", "moderate": "medium",
    "medium": "medium", "low": "low", "negligible": "negligible", "unimportant": "negligible",
    "not yet assigned": "unknown", "end-of-life": "unknown", "untriaged": "unknown",
}


def severity_level(text: str | None) -> str:
    """A feed's severity word → one of SEVERITIES (``unknown`` when not understood).
    Debian's urgencies may carry ``*`` marks (``low**``): they are ignored."""
    word = (text or "").strip().lower().rstrip("*").strip()
    return _SEVERITY_WORDS.get(word, "unknown")


@dataclass(frozen=True)
class Range:
    """Affected from ``introduced`` (None: from the start) until ``fixed`` (exclusive) or
    ``last_affected`` (inclusive); neither: affected in every later version, no fix yet."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None


@dataclass(frozen=True)
class Advisory:
    """One vulnerability as it concerns one package in one ecosystem release."""

    ecosystem: str                 # "Debian:12", "Ubuntu:22.04:LTS", "AlmaLinux:9" ...
    package: str                   # the source package (binary or source for Red Hat)
    vuln_id: str                   # DSA-5724-1, DEBIAN-CVE-2024-6387, ALSA-2024:4312, CVE-...
    cves: tuple[str, ...] = ()
    ranges: tuple[Range, ...] = ()
    versions: tuple[str, ...] = ()  # affected versions listed one by one (OSV ``versions``)
    undetermined: bool = False     # the feed does not know yet whether it is affected
    severity: str = "unknown"      # one of SEVERITIES
    severity_text: str = ""        # as the feed says it ("urgency high", a CVSS vector)
    published: str | None = None
    modified: str | None = None
    fix_seen: str | None = None    # first time our copies of the feed showed this fix
    source: str = ""               # "osv" or "debian-tracker"

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        return tuple(r.fixed for r in self.ranges if r.fixed)

    @property
    def fix_key(self) -> str:
        """What identifies this fix across feed updates (its first-seen time is kept)."""
        return "|".join((self.ecosystem, self.package, self.vuln_id, *self.fixed_versions))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"e": self.ecosystem, "p": self.package, "id": self.vuln_id}
        optional = {"cves": list(self.cves),
                    "r": [[r.introduced, r.fixed, r.last_affected] for r in self.ranges],
                    "v": list(self.versions), "u": self.undetermined, "s": self.severity,
                    "st": self.severity_text, "pub": self.published, "mod": self.modified,
                    "fs": self.fix_seen, "src": self.source}
        data.update({k: v for k, v in optional.items() if v not in (None, "", [], False)})
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Advisory:
        return cls(data["e"], data["p"], data["id"], tuple(data.get("cves", ())),
                   tuple(Range(*r) for r in data.get("r", ())), tuple(data.get("v", ())),
                   bool(data.get("u", False)), data.get("s", "unknown"), data.get("st", ""),
                   data.get("pub"), data.get("mod"), data.get("fs"), data.get("src", ""))


_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def cve_ids(*groups: Iterable[Any]) -> tuple[str, ...]:
    """The well-formed CVE identifiers among ``groups``, once each, in order."""
    seen: dict[str, None] = {}
    for group in groups:
        for value in group or ():
            if isinstance(value, str) and _CVE.match(value.strip()):
                seen.setdefault(value.strip(), None)
    return tuple(seen)


def text(value: Any, limit: int = MAX_FIELD) -> str:
    """A feed value as bounded text ('' for anything that is not a string or number)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return ""
    return str(value).strip()[:limit]


# --- which ecosystem a host is in ------------------------------------------------------------

# Debian's codenames (distro-info-data's debian.csv): the tracker speaks codenames, OSV numbers.
DEBIAN_RELEASES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13",
                   "forky": "14", "duke": "15"}


@dataclass(frozen=True)
class Ecosystem:
    """The feed ecosystem of a host: OSV's ecosystem string(s), the version scheme, and
    whether packages are matched by source name (Debian, Ubuntu, Alma, Rocky) or also by
    binary name (Red Hat's OSV names binary or source RPMs)."""

    name: str                      # "Debian:12"; for Red Hat the stream prefix
    scheme: Scheme
    prefix_match: bool = False     # Red Hat: every "Red Hat:enterprise_linux:9::<stream>"
    binary_names: bool = False
    tracker_release: str = ""      # Debian: the security tracker's codename

    def covers(self, ecosystem: str) -> bool:
        if self.prefix_match:
            return ecosystem.startswith(self.name + "::") or ecosystem == self.name
        return ecosystem == self.name


def ecosystem_of(identity: OsIdentity) -> Ecosystem:
    """The ecosystem of a host from its os-release; FeedError (with the reason) when no feed
    we read covers it — an unknown system is never reported as free of vulnerabilities.
    The strings follow the OSV schema's ecosystems.json (ossf/osv-schema)."""
    major = identity.version_id.split(".")[0]
    if identity.id == "debian":
        if not major.isdigit():
            raise FeedError(f"Debian {identity.codename or 'testing/unstable'} has no release "
                            "number: no security feed covers it")
        codename = identity.codename or next(
            (c for c, n in DEBIAN_RELEASES.items() if n == major), "")
        return Ecosystem(f"Debian:{major}", "dpkg", tracker_release=codename)
    if identity.id == "ubuntu":
        if not re.fullmatch(r"\d{2}\.\d{2}", identity.version_id):
            raise FeedError(f"Ubuntu VERSION_ID {identity.version_id!r} is not YY.MM")
        lts = "LTS" in identity.version.upper() or "LTS" in identity.pretty_name.upper()
        return Ecosystem(f"Ubuntu:{identity.version_id}{':LTS' if lts else ''}", "dpkg")
    if identity.id in ("almalinux", "rocky") and major.isdigit():
        return Ecosystem(f"{'AlmaLinux' if identity.id == 'almalinux' else 'Rocky Linux'}:"
                         f"{major}", "rpm")
    if identity.id == "rhel" and major.isdigit():
        return Ecosystem(f"Red Hat:enterprise_linux:{major}", "rpm", prefix_match=True,
                         binary_names=True)
    name = identity.pretty_name or f"{identity.id} {identity.version_id}".strip()
    raise FeedError(f"{name}: no vulnerability feed for this system (supported: Debian, "
                    "Ubuntu, RHEL, AlmaLinux, Rocky Linux)")
