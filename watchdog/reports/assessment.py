"""The assessment a town attaches to a request for proposals: its services ranked by public
impact with how their recovery targets were met, the network, the hardware with its age and
support status, the software per host, the backup and recovery risks, the security posture,
and recommendations ranked by the town's own priorities. Pure: :class:`AssessmentInputs`
(read from the store by :mod:`.assessment_files`) and the configuration in, an
:class:`Assessment` out; laid out by :mod:`.assessment_html`, advice in :mod:`.assessment_advice`.

Recovery, per service, from its restore tests (``restore_tests``): the recovery point is the
age of the newest snapshot at the latest test, against the RPO; the recovery time is the
restore time measured in the latest full drill, else the latest test's estimate, against the
RTO. Drills (exercises of a whole incident) come through :func:`drill_records`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.checks import lifecycle
from muni_watchdog.core.model import State
from muni_watchdog.reports.assessment_advice import recommendations
from muni_watchdog.reports.history import when
from muni_watchdog.reports.inventory import inventory
from muni_watchdog.reports.names import check_type_of, target_name
from muni_watchdog.reports.patches import DEFAULT_SECURITY_POLICY_DAYS, security_pending

RESTORE_HISTORY_DAYS = 400     # restore tests read: over a year, for the "last drill" line
STALE_TEST_DAYS = 90           # a restore test older than a quarter no longer proves much
DRILLED_PRIORITIES = (1, 2)    # services expected to be drilled (issue 13: drill_every)


@dataclass(frozen=True)
class AssessmentInputs:
    current: Sequence[Mapping[str, Any]] = ()       # current_state rows
    seen: Sequence[Mapping[str, Any]] = ()          # check_seen rows
    links: Sequence[Mapping[str, Any]] = ()         # links rows (first and last seen)
    restore_tests: Sequence[Mapping[str, Any]] = ()  # oldest first
    drills: Sequence[Mapping[str, Any]] | None = None  # None: drills are not recorded yet


def drill_records(store: Any) -> list[dict[str, Any]] | None:
    """The exercises run: ``Store.drills_for_assessment()``, one dict per drill, oldest first:
    ``{"service": id, "started_at": ISO, "ended_at": ISO or None, "scenario": text,
    "recovered_seconds": seconds from start to service back, or None}``. A store without it
    (an older reader) gives None, and the assessment says drills are not recorded (never
    "none were run")."""
    reader = getattr(store, "drills_for_assessment", None)
    return None if reader is None else [dict(r) for r in reader()]


@dataclass(frozen=True)
class Recovery:
    """How a service's recovery targets were shown to be met."""

    backups: tuple[str, ...]
    tests_run: int = 0                     # in the last STALE_TEST_DAYS
    tests_passed: int = 0
    last_test_at: datetime | None = None
    last_test_passed: bool | None = None
    last_test_summary: str = ""
    data_age: float | None = None          # newest snapshot's age at the latest test
    rpo_met: bool | None = None
    restore_seconds: float | None = None
    restore_measured: bool = False         # a full drill measured it (else estimated)
    restore_at: datetime | None = None
    rto_met: bool | None = None
    last_full_drill: datetime | None = None
    last_drill: Mapping[str, Any] | None = None   # from the drills hook


@dataclass(frozen=True)
class ServiceLine:
    id: str
    name: str
    priority: int
    impact: str
    owner: str
    backup_owner: str
    rto: float
    rpo: float
    targets: tuple[str, ...]               # target names
    recovery: Recovery
    holds_data: bool = True                # runs on a server, NAS or website (not only on
                                           # switches, printers, UPSes: nothing to back up)


@dataclass(frozen=True)
class HostSoftware:
    target: str
    name: str
    os: str | None
    manager: str | None
    entries: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Security:
    updates: list[dict[str, Any]]          # per host: pending, oldest_days, policy, reboot
    vulnerabilities: list[dict[str, Any]] | None   # None: no vulnerability check ran
    exposure: list[dict[str, Any]] | None          # None: no exposure check ran
    unsupported: list[dict[str, Any]]      # hardware rows whose OS is out of / ending support


@dataclass(frozen=True)
class Risk:
    service: str                           # its name
    priority: int
    kind: str                              # no_backup, never_tested, failing, stale, rpo, rto,
    text: str                              # never_drilled


@dataclass
class Assessment:
    site: str
    timezone: str
    generated_at: datetime
    monitored_since: datetime | None
    services: list[ServiceLine]
    hardware: list[dict[str, Any]]         # inventory rows, each with "services" added
    software: list[HostSoftware]
    network: dict[str, Any]                # topology JSON (nodes, edges, unmonitored)
    risks: list[Risk]
    security: Security
    drills_recorded: bool
    svg: str | None = None                 # the diagram, when Graphviz drew it
    svg_error: str | None = None
    recommendations: list[Any] = field(default_factory=list)
    replacement_years: dict[str, int] = field(default_factory=dict)
    lifecycle_as_of: str | None = None     # the date of the OS support data


def _items(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        return [i for i in json.loads(row.get("items") or "[]") if isinstance(i, dict)]
    except ValueError:
        return []


def recovery(service: Any, tests: Sequence[Mapping[str, Any]],
             drills: Sequence[Mapping[str, Any]] | None, now: datetime) -> Recovery:
    """What the restore tests (and drills) of ``service`` prove about its RPO and RTO."""
    mine = [t for t in tests if t["service"] == service.id or t["backup"] in service.backups]
    recent = [t for t in mine if when(t["started_at"]) >= now - timedelta(days=STALE_TEST_DAYS)]
    last = mine[-1] if mine else None
    drill = next((t for t in reversed(mine) if t["full_drill"] and t["restore_seconds"]), None)
    estimate = next((t for t in reversed(mine)
                     if t.get("estimated_full_restore_seconds") is not None), None)
    restore, measured, at = None, False, None
    if drill is not None:
        restore, measured, at = drill["restore_seconds"], True, when(drill["started_at"])
    elif estimate is not None:
        restore, at = estimate["estimated_full_restore_seconds"], when(estimate["started_at"])
    age = last.get("age_seconds") if last is not None else None
    own_drills = [d for d in drills or () if d.get("service") == service.id]
    return Recovery(
        backups=tuple(service.backups), tests_run=len(recent),
        tests_passed=sum(1 for t in recent if t["verdict"] == State.OK),
        last_test_at=when(last["started_at"]) if last else None,
        last_test_passed=None if last is None else last["verdict"] == State.OK,
        last_test_summary=(last or {}).get("summary") or "",
        data_age=age, rpo_met=None if age is None else age <= service.rpo,
        restore_seconds=restore, restore_measured=measured, restore_at=at,
        rto_met=None if restore is None else restore <= service.rto,
        last_full_drill=when(drill["started_at"]) if drill else None,
        last_drill=own_drills[-1] if own_drills else None)


DATA_CLASSES = ("server", "pc", "storage")


def holds_data(config: Any, service: Any, classes: Mapping[str, str | None]) -> bool:
    """Whether a service keeps data of its own that a backup must protect: it runs on an SSH
    host, a website, or an SNMP server or NAS. Switches, printers and UPSes hold none (their
    configuration aside), and a service made only of them needs no backup."""
    if service.backups:
        return True
    for target_id in service.targets:
        kind = getattr(config.target_by_id.get(target_id), "kind", None)
        if kind in ("ssh", "http") or classes.get(target_id) in DATA_CLASSES:
            return True
    return False


def service_lines(config: Any, inputs: AssessmentInputs, now: datetime,
                  classes: Mapping[str, str | None] | None = None) -> list[ServiceLine]:
    """Every service, most important first (``classes``: each target's equipment class)."""
    return [ServiceLine(
        s.id, s.name, s.priority, s.impact, s.owner.name, s.backup_owner.name, s.rto, s.rpo,
        tuple(target_name(config, t) for t in s.targets),
        recovery(s, inputs.restore_tests, inputs.drills, now),
        holds_data(config, s, classes or {}))
        for s in sorted(config.services, key=lambda s: (s.priority, s.id))]


def recovery_risks(services: Sequence[ServiceLine], drills_recorded: bool, now: datetime
                   ) -> list[Risk]:
    """Backup and recovery risks, most important service first."""
    risks = []
    for s in services:
        r = s.recovery

        def add(kind: str, text: str, s: ServiceLine = s) -> None:
            risks.append(Risk(s.name, s.priority, kind, text))
        if not r.backups:
            if s.holds_data:
                add("no_backup", "no backup is configured, so its recovery point cannot be "
                    "shown")
            continue
        if r.last_test_at is None:
            add("never_tested", "its backup has never been restore-tested")
            continue
        if not r.last_test_passed:
            add("failing", f"the latest restore test failed: {r.last_test_summary}".rstrip(": "))
        if now - r.last_test_at > timedelta(days=STALE_TEST_DAYS):
            add("stale", f"the latest restore test is {(now - r.last_test_at).days} days old")
        if r.rpo_met is False:
            add("rpo", "recovery point missed: the newest backup was older than the RPO")
        if r.rto_met is False:
            add("rto", "recovery time missed: a full restore takes longer than the RTO")
        drilled = r.last_full_drill is not None or r.last_drill is not None
        if s.priority in DRILLED_PRIORITIES and not drilled:
            add("never_drilled", "never drilled: no full restore has been measured"
                + (" and no drill run ('muni-watchdog drill start')" if drills_recorded
                   else " (exercises are not recorded yet)"))
    return sorted(risks, key=lambda x: (x.priority, x.service))


def security(config: Any, current: Sequence[Mapping[str, Any]],
             hardware: Sequence[Mapping[str, Any]]) -> Security:
    """Pending security updates by age, vulnerability and exposure findings (read by check
    type or item kind, so they appear as soon as those checks run), OS support."""
    updates: dict[str, dict[str, Any]] = {}
    vulns: dict[str, dict[str, Any]] | None = None
    exposure: list[dict[str, Any]] | None = None
    for row in current:
        target, items = row["target"], _items(row)
        kind = check_type_of(config, target, row["check_name"])
        if kind == "patches":
            waiting = security_pending(items)
            reboot = next((i for i in items if i.get("kind") == "reboot"
                           and i.get("required")), None)
            updates[target] = {
                "target": target, "name": target_name(config, target),
                "pending": len(waiting), "oldest_days": max(waiting) if waiting else None,
                "policy_days": _policy_days(config, target),
                "reboot": "; ".join((reboot or {}).get("reasons") or []) if reboot else None,
                "state": State(row["state"]).label, "summary": row["summary"]}
        found = [i for i in items if i.get("kind") == "vulnerability"]
        if kind == "vulnerabilities" or found:
            vulns = {} if vulns is None else vulns
            vulns[target] = _vulnerabilities(config, row, found)
        shown = [i for i in items if i.get("kind") == "exposure"]
        if kind == "exposure" or shown:
            exposure = [] if exposure is None else exposure
            exposure += [{"target": target, "name": target_name(config, target), **i}
                         for i in shown if not i.get("accepted")]
    unsupported = [h for h in hardware if h.get("os_support") in ("out_of_support",
                                                                  "ending_soon")]
    return Security(sorted(updates.values(), key=lambda u: -(u["oldest_days"] or 0)),
                    None if vulns is None else list(vulns.values()),
                    None if exposure is None else sorted(
                        exposure, key=lambda e: (e.get("severity") != "CRITICAL", e["name"])),
                    unsupported)


def _vulnerabilities(config: Any, row: Mapping[str, Any], found: list[dict[str, Any]]
                     ) -> dict[str, Any]:
    fixable = [f for f in found if f.get("status") == "fixable"]
    kev = [f for f in fixable if f.get("kev")]
    oldest = max(kev, key=lambda f: f.get("fix_available_days") or 0) if kev else None
    return {"target": row["target"], "name": target_name(config, row["target"]),
            "findings": len(found), "fixable": len(fixable), "kev": len(kev),
            "oldest_kev": oldest, "top": sorted(fixable, key=lambda f: (
                not f.get("kev"), -(f.get("fix_available_days") or 0)))[:5],
            "state": State(row["state"]).label, "summary": row["summary"]}


def _policy_days(config: Any, target_id: str) -> float:
    target = config.target_by_id.get(target_id)
    for params in getattr(target, "checks", None) or ():
        if getattr(params, "check", None) == "patches" and hasattr(params, "security_warn_age"):
            return params.security_warn_age / 86400
    return DEFAULT_SECURITY_POLICY_DAYS


LISTED_BY = {"dpkg": "dpkg (Debian packages)", "rpm": "rpm (RPM packages)",
             "windows": "Windows (installed programs)"}


def software_by_host(config: Any, rows: Sequence[Mapping[str, Any]]) -> list[HostSoftware]:
    return [HostSoftware(r["target"], target_name(config, r["target"]), r["firmware_or_os"],
                         LISTED_BY.get(r["software"][0].get("manager") or "",
                                       "SNMP (HOST-RESOURCES-MIB)"), tuple(r["software"]))
            for r in rows if r.get("software")]


def build_assessment(config: Any, inputs: AssessmentInputs, now: datetime,
                     network: dict[str, Any]) -> Assessment:
    """Everything but the drawing (``network``: :func:`.network.topology_json`)."""
    hosts = {t.id: t.host for t in config.targets}
    hardware = inventory(inputs.current, inputs.seen, hosts, now,
                         config.site.lifecycle.replacement_years)
    for row in hardware:
        row["name"] = target_name(config, row["target"])
        row["services"] = [(s.name, s.priority) for s in config.services_of(row["target"])]
    services = service_lines(config, inputs, now,
                             {r["target"]: r.get("equipment_class") for r in hardware})
    first = min((when(r["first_run"]) for r in inputs.seen if r.get("first_run")),
                default=None)
    drills_recorded = inputs.drills is not None
    result = Assessment(
        site=config.site.name, timezone=config.site.timezone, generated_at=now,
        monitored_since=first, services=services, hardware=hardware,
        software=software_by_host(config, hardware), network=network,
        risks=recovery_risks(services, drills_recorded, now),
        security=security(config, inputs.current, hardware), drills_recorded=drills_recorded,
        replacement_years=dict(config.site.lifecycle.replacement_years),
        lifecycle_as_of=lifecycle.load().get("as_of"))
    result.recommendations = recommendations(result, config)
    return result
