"""Installed packages × feed → findings (pure).

Feeds name *source* packages and give *source* versions (Debian, Ubuntu, AlmaLinux, Rocky);
so the installed list is grouped by source package and version, and each group is compared
with the ecosystem's own rules (checks/vulns/versions.py). A binary's version is never
compared with a source's fix: ``bsdutils 1:2.38.1-5+deb12u3`` comes from ``util-linux
2.38.1-5+deb12u3``, and its epoch would make every fix of util-linux look applied.

When several advisories speak of the same CVE and package (a DSA, the tracker's entry, a
DEBIAN-CVE record), a fix that the installed version lacks wins: the finding is fixable with
the highest such fixed version. Otherwise, if one of them says the installed version is fixed,
there is no finding; otherwise the CVE is listed without a fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from muni_watchdog.checks.ssh.installed import InstalledPackage, InstalledSoftware
from muni_watchdog.checks.vulns.index import FeedView
from muni_watchdog.checks.vulns.kev import KevEntry
from muni_watchdog.checks.vulns.records import SEVERITIES, Advisory, Range
from muni_watchdog.checks.vulns.versions import Scheme, VersionError, compare

# Advisories whose publication is the fix's release (a DSA is sent when the update is out);
# other records (DEBIAN-CVE-…, the tracker's CVEs) date the CVE, so their modification counts.
_ADVISORY_ID = re.compile(r"^(DSA|DLA|DTSA|USN|RHSA|RHBA|RHEA|ALSA|ALBA|ALEA|RLSA|RLBA)-")


@dataclass(frozen=True)
class Finding:
    """One CVE (or advisory without a CVE) affecting one installed source package."""

    vuln: str
    package: str                       # source package
    installed: str                     # its installed (source) version
    binaries: tuple[InstalledPackage, ...]
    fixed: str | None                  # the version that fixes it; None: no fix yet
    advisories: tuple[str, ...] = ()
    severity: str = "unknown"
    severity_text: str = ""
    fix_since: datetime | None = None  # when the fix became available, as far as we know
    kev: KevEntry | None = None
    undetermined: bool = False         # the feed does not yet know whether it applies

    @property
    def shown_package(self) -> str:
        """What a technician recognises: the source name when it is also a binary or the only
        binary is named otherwise, else ``source (N packages)``."""
        names = sorted({b.name for b in self.binaries})
        if self.package in names or not names:
            return self.package
        return names[0] if len(names) == 1 else f"{self.package} ({len(names)} packages)"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def fix_date(advisory: Advisory) -> datetime | None:
    """When the advisory's fix became available, as far as we can tell: the first time our
    copies of the feed showed it, or the advisory's own date if earlier."""
    own = advisory.published if _ADVISORY_ID.match(advisory.vuln_id) else advisory.modified
    dates = [d for d in (_parse_time(advisory.fix_seen), _parse_time(own)) if d]
    return min(dates) if dates else None


def _in_range(scheme: Scheme, version: str, r: Range) -> bool:
    if r.introduced is not None and compare(scheme, version, r.introduced) < 0:
        return False
    if r.fixed is not None:
        return compare(scheme, version, r.fixed) < 0
    if r.last_affected is not None:
        return compare(scheme, version, r.last_affected) <= 0
    return True


def verdict(scheme: Scheme, version: str, advisory: Advisory) -> str | None:
    """``"fixable:<version>"``, ``"open"`` (affected, no fix), ``"fixed"`` (a fix the
    installed version has) or None (the advisory does not apply). VersionError when a
    version cannot be read."""
    affected_open = version in advisory.versions
    had_fix = False
    for r in advisory.ranges:
        if _in_range(scheme, version, r):
            if r.fixed is not None:
                return f"fixable:{r.fixed}"
            affected_open = True
        elif r.fixed is not None and compare(scheme, version, r.fixed) >= 0:
            had_fix = True
    if affected_open:
        return "open"
    return "fixed" if had_fix else None


def _groups(installed: InstalledSoftware, by_binary: bool
            ) -> dict[tuple[str, str], list[InstalledPackage]]:
    groups: dict[tuple[str, str], list[InstalledPackage]] = {}
    for package in installed.packages:
        groups.setdefault((package.source_name, package.source_version), []).append(package)
        if by_binary and package.name != package.source_name:
            groups.setdefault((package.name, package.version), []).append(package)
    return groups


def package_names(installed: InstalledSoftware, by_binary: bool = True) -> set[str]:
    """The names a feed may use for the installed packages (what to read from the index)."""
    return {name for name, _ in _groups(installed, by_binary)}


def _worst_severity(advisories: Iterable[Advisory]) -> Advisory:
    return min(advisories, key=lambda a: SEVERITIES.index(a.severity)
               if a.severity in SEVERITIES else len(SEVERITIES))


def match(installed: InstalledSoftware, view: FeedView) -> tuple[list[Finding], list[str]]:
    """The findings for the installed packages, and the versions that could not be compared
    (each a problem to report, never a silent "not affected")."""
    if view.ecosystem is None:
        return [], []
    scheme = view.ecosystem.scheme
    findings: list[Finding] = []
    problems: list[str] = []
    for (name, version), binaries in sorted(_groups(installed,
                                                    view.ecosystem.binary_names).items()):
        by_vuln: dict[str, list[tuple[Advisory, str]]] = {}
        for advisory in view.advisories.get(name, ()):
            try:
                said = verdict(scheme, version, advisory)
            except VersionError as exc:
                problems.append(f"{name} {version} vs {advisory.vuln_id}: {exc}")
                continue
            if said is not None:
                for vuln in advisory.cves or (advisory.vuln_id,):
                    by_vuln.setdefault(vuln, []).append((advisory, said))
        for vuln, said in sorted(by_vuln.items()):
            finding = _combine(scheme, vuln, name, version, binaries, said, view)
            if finding is not None:
                findings.append(finding)
    return findings, problems


def _combine(scheme: Scheme, vuln: str, name: str, version: str,
             binaries: list[InstalledPackage], said: list[tuple[Advisory, str]],
             view: FeedView) -> Finding | None:
    fixes = [(a, s.split(":", 1)[1]) for a, s in said if s.startswith("fixable:")]
    kev = (view.kev or {}).get(vuln)
    if fixes:
        best = fixes[0][1]
        for _, fixed in fixes[1:]:
            if compare(scheme, fixed, best) > 0:
                best = fixed
        giving = [a for a, fixed in fixes if compare(scheme, fixed, best) == 0]
        dates = [d for d in (fix_date(a) for a in giving) if d]
        worst = _worst_severity(a for a, _ in said)
        return Finding(vuln, name, version, tuple(binaries), best,
                       tuple(sorted({a.vuln_id for a, _ in said})), worst.severity,
                       worst.severity_text, min(dates) if dates else None, kev)
    if any(s == "fixed" for _, s in said):
        return None
    worst = _worst_severity(a for a, _ in said)
    return Finding(vuln, name, version, tuple(binaries), None,
                   tuple(sorted({a.vuln_id for a, _ in said})), worst.severity,
                   worst.severity_text, None, kev,
                   undetermined=all(a.undetermined for a, _ in said))
