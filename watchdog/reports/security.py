"""Known vulnerabilities and open doors as the reports count them. Pure: the current state of
the ``vulnerabilities`` and ``exposure`` checks in, a :class:`SecuritySummary` out.

:func:`security_summary` is the one computation the monthly report and the assessment share
(``store.security_rows()`` reads its rows); :func:`security_sentence` is the line for
leadership ("2 servers have a flaw that criminals are known to exploit; a fix has been
available for 9 days"), :func:`security_lines` the details for the technician's eye.

Counted from each check's last result: a finding is a fixable CVE (the feed names a fixed
version the server lacks), known exploited when CISA's KEV catalogue lists it; an open door is
an exposure finding the town has not accepted. A check that could not tell (UNKNOWN: no feed,
the server unreachable) is listed as such — never counted as clean.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from muni_watchdog.core.model import State
from muni_watchdog.reports.history import when
from muni_watchdog.reports.names import check_type_of, target_name
from muni_watchdog.reports.words import agree, plural

SECURITY_CHECKS = ("vulnerabilities", "exposure")


@dataclass(frozen=True)
class ExploitedFinding:
    """A fixable CVE that criminals are known to exploit (CISA KEV), on one server."""

    target: str
    target_name: str
    services: tuple[str, ...]
    cve: str
    package: str
    installed: str
    fixed: str
    fix_days: float | None        # how long the fix has been available
    kev_date_added: str = ""


@dataclass(frozen=True)
class OpenDoor:
    target: str
    target_name: str
    services: tuple[str, ...]
    finding: str                  # the catalogue id (telnet, snmp_default_community...)
    title: str
    where: str
    severity: str                 # critical or warning
    fix: str


@dataclass(frozen=True)
class SecuritySummary:
    servers_checked: int = 0                 # vulnerabilities checks that could tell
    servers_with_fixable: int = 0
    fixable: int = 0                         # fixable CVEs, all servers
    known_exploited: list[ExploitedFinding] = field(default_factory=list)  # oldest fix first
    unfixed: int = 0                         # CVEs without a fix yet (listed, not alarmed)
    targets_scanned: int = 0                 # exposure checks that could tell
    doors: list[OpenDoor] = field(default_factory=list)    # critical first
    accepted_doors: int = 0
    unknown: list[tuple[str, str, str]] = field(default_factory=list)  # (target, check, why)
    checked_at: datetime | None = None

    @property
    def configured(self) -> bool:
        return bool(self.servers_checked or self.targets_scanned or self.unknown)

    @property
    def servers_known_exploited(self) -> int:
        return len({f.target for f in self.known_exploited})

    @property
    def oldest_known_exploited(self) -> ExploitedFinding | None:
        """The known-exploited finding whose fix has waited longest (the one to do first)."""
        return self.known_exploited[0] if self.known_exploited else None

    @property
    def critical_doors(self) -> int:
        return sum(1 for d in self.doors if d.severity == "critical")

    @property
    def targets_with_doors(self) -> int:
        return len({d.target for d in self.doors})


def _items(row: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        items = json.loads(row.get("items") or "[]")
    except ValueError:
        return []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _metrics(row: dict[str, Any]) -> dict[str, float]:
    try:
        metrics = json.loads(row.get("metrics") or "[]")
    except ValueError:
        return {}
    return {m["name"]: m["value"] for m in metrics if isinstance(m, dict)
            and isinstance(m.get("name"), str) and isinstance(m.get("value"), int | float)}


def _services(config: Any, target: str, item: dict[str, Any]) -> tuple[str, ...]:
    named = item.get("services")
    if isinstance(named, list):
        return tuple(str(s) for s in named)
    return tuple(s.name for s in config.services_of(target))


def security_summary(rows: Sequence[dict[str, Any]], config: Any) -> SecuritySummary:
    """The counts and findings of the ``vulnerabilities`` and ``exposure`` checks' current
    results (``current_state`` rows; other rows are ignored)."""
    servers, with_fixable, fixable, unfixed, scanned, accepted = 0, 0, 0, 0, 0, 0
    exploited: list[ExploitedFinding] = []
    doors: list[OpenDoor] = []
    unknown: list[tuple[str, str, str]] = []
    checked: list[datetime] = []
    for row in rows:
        kind = check_type_of(config, row["target"], row["check_name"])
        if kind not in SECURITY_CHECKS:
            continue
        target = row["target"]
        name = target_name(config, target)
        items = _items(row)
        moment = when(row.get("last_check"))
        if moment is not None:
            checked.append(moment)
        found = [i for i in items if i.get("kind") in ("vulnerability", "exposure")]
        if State(row["state"]) is State.UNKNOWN and not found:
            unknown.append((name, kind, str(row.get("summary") or "")[:200]))
            continue
        if State(row["state"]) is State.UNKNOWN:
            unknown.append((name, kind, str(row.get("summary") or "")[:200]))
        if kind == "vulnerabilities":
            servers += 1
            mine = [i for i in found if i.get("status") == "fixable"]
            # The metrics count every finding; the items are bounded (fixable ones first).
            counts = _metrics(row)
            many = int(counts.get("fixable_cves", len(mine)))
            fixable += many
            with_fixable += bool(many)
            unfixed += int(counts.get("unfixed_cves",
                                      sum(1 for i in found if i.get("status") != "fixable")))
            exploited += [ExploitedFinding(
                target, name, _services(config, target, i), str(i.get("cve")),
                str(i.get("package")), str(i.get("installed")), str(i.get("fixed")),
                i.get("fix_available_days"), str(i.get("kev_date_added") or ""))
                for i in mine if i.get("kev")]
        else:
            scanned += 1
            for i in found:
                if i.get("accepted"):
                    accepted += 1
                    continue
                doors.append(OpenDoor(target, name, _services(config, target, i),
                                      str(i.get("finding")), str(i.get("title")),
                                      str(i.get("where")), str(i.get("severity")),
                                      str(i.get("fix"))))
    exploited.sort(key=lambda f: (-(f.fix_days or 0.0), f.target, f.cve))
    doors.sort(key=lambda d: (d.severity != "critical", d.target, d.finding))
    return SecuritySummary(servers, with_fixable, fixable, exploited, unfixed, scanned, doors,
                           accepted, unknown, max(checked, default=None))


def _days(days: float | None) -> str:
    if days is None:
        return "an unknown time"
    whole = int(days)
    return "less than a day" if whole < 1 else plural(whole, "day")


def security_sentence(summary: SecuritySummary) -> str:
    """One or two plain sentences for leadership; "" when no such checks are configured."""
    if not summary.configured:
        return ""
    parts = []
    oldest = summary.oldest_known_exploited
    if oldest is not None:
        n = summary.servers_known_exploited
        parts.append(f"{plural(n, 'server')} {agree(n, 'has', 'have')} a flaw that criminals "
                     f"are known to exploit; a fix has been available for "
                     f"{_days(oldest.fix_days)}.")
    elif summary.servers_checked:
        parts.append("No server has a flaw that criminals are known to exploit"
                     + (f" ({plural(summary.fixable, 'other fixable flaw')} "
                        f"{agree(summary.fixable, 'waits', 'wait')} for updates)."
                        if summary.fixable else "."))
    if summary.doors:
        n = summary.targets_with_doors
        critical = summary.critical_doors
        parts.append(f"{plural(n, 'device')} {agree(n, 'has', 'have')} "
                     f"{plural(len(summary.doors), 'open door')} an attacker would try first"
                     + (f", {critical} of them serious." if critical else "."))
    elif summary.targets_scanned:
        parts.append("No open doors were found on the devices checked.")
    if summary.unknown:
        n = len(summary.unknown)
        parts.append(f"{plural(n, 'security check')} could not tell and "
                     f"{agree(n, 'is', 'are')} listed below.")
    return " ".join(parts)


def security_lines(summary: SecuritySummary) -> list[str]:
    """The details, one sentence each: counts, every known-exploited finding, the open doors
    (the most serious first, at most 10), and the checks that could not tell."""
    if not summary.configured:
        return []
    lines = []
    if summary.servers_checked:
        lines.append(
            f"Known vulnerabilities: {plural(summary.fixable, 'fixable flaw')} on "
            f"{plural(summary.servers_with_fixable, 'server')} of "
            f"{summary.servers_checked} checked, "
            f"{len(summary.known_exploited)} known to be exploited; "
            f"{summary.unfixed} without a fix yet (listed, not alarmed).")
    for f in summary.known_exploited:
        serves = f" ({', '.join(f.services)})" if f.services else ""
        lines.append(f"Known exploited: {f.target_name}{serves}: {f.cve} in {f.package} "
                     f"{f.installed}, fixed in {f.fixed}, available for {_days(f.fix_days)}.")
    if summary.targets_scanned:
        accepted = f", {summary.accepted_doors} accepted" if summary.accepted_doors else ""
        lines.append(f"Open doors: {len(summary.doors)} on "
                     f"{plural(summary.targets_with_doors, 'device')} of "
                     f"{summary.targets_scanned} checked{accepted}.")
    for d in summary.doors[:10]:
        serves = f" ({', '.join(d.services)})" if d.services else ""
        lines.append(f"Open door on {d.target_name}{serves}: {d.title} ({d.where}, "
                     f"{d.severity}). Fix: {d.fix}")
    if len(summary.doors) > 10:
        lines.append(f"{len(summary.doors) - 10} more open doors: see muni-watchdog status.")
    for target, kind, why in summary.unknown:
        lines.append(f"Could not tell ({kind}) on {target}: {why}")
    return lines


def security_keys(config: Any) -> list[tuple[str, str]]:
    """The (target, check name) of every configured vulnerabilities and exposure check."""
    return [(t.id, p.check_name) for t in config.targets for p in t.checks
            if p.check in SECURITY_CHECKS]


def load_security_summary(store: Any, config: Any) -> SecuritySummary:
    """:func:`security_summary` of the checks' current results, read from ``store`` (the
    only I/O here; the assessment calls this)."""
    return security_summary(store.current_rows(security_keys(config)), config)
