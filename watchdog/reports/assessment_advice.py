"""The assessment's recommendations: what to do first, ranked by the town's own priorities
(the priority of the most important service a finding endangers, then how grave it is), each
with why, in plain words and vendor-neutral ("replace", "move to a supported release", never
a product). Pure: an :class:`~.assessment.Assessment` and the configuration in.

Severity, 1 gravest: a known-exploited vulnerability with a fix, a failing or missing backup;
2: an OS out of support, an RPO or RTO gap, a backup never restore-tested, a critical open
door; 3: hardware past its replacement age, overdue security updates, other open doors, a
stale restore test; 4: support or service life ending within 180 days, a service never
drilled; 5: devices seen but not monitored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from muni_watchdog.core.durations import humanize
from muni_watchdog.reports.words import plural

UNLINKED = 9     # a finding no configured service depends on ranks after those that have one
DEVICE_WORDS = {"switch": "switch", "router": "router", "firewall": "firewall",
                "wireless": "wireless access point", "server": "server", "pc": "PC",
                "storage": "NAS", "printer": "printer", "ups": "UPS", "network": "switch"}


@dataclass(frozen=True)
class Recommendation:
    priority: int | None          # the most important endangered service's priority
    severity: int
    title: str
    why: str
    owner: str | None = None      # who answers for that service
    services: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rank_key(self) -> tuple:
        return (self.priority or UNLINKED, self.severity, self.title)


def _serves(services: list[tuple[str, int]]) -> str:
    if not services:
        return "no configured service depends on it"
    named = [f"{name} (P{priority})" for name, priority in sorted(services, key=lambda s: s[1])]
    text = ", ".join(named[:-1]) + (" and " if len(named) > 1 else "") + named[-1]
    return f"it serves {text}"


def _owner(config: Any, services: list[tuple[str, int]]) -> str | None:
    if not services:
        return None
    best = min(services, key=lambda s: s[1])[0]
    found = next((s for s in config.services if s.name == best), None)
    return found.owner.name if found else None


def _years(days: int) -> int:
    return int(days // 365.25)


def device_advice(config: Any, row: dict[str, Any]) -> Recommendation | None:
    """One recommendation per device: its hardware age and its OS's support, together."""
    name, services = row["name"], row.get("services") or []
    word = DEVICE_WORDS.get(row.get("equipment_class") or "", "device")
    facts, severity = [], 9
    status, age = row.get("hardware_status"), row.get("age_days")
    if status in ("past_life", "replace_soon") and age is not None:
        years = _years(age)
        basis = "at least " if row.get("age_basis") == "first seen" else ""
        limit = row.get("replace_after_years")
        if status == "past_life":
            facts.append(f"is {basis}{plural(years, 'year')} old, past the {limit}-year "
                         f"replacement age for a {word}")
            severity = min(severity, 3)
        else:
            facts.append(f"is {basis}{plural(years, 'year')} old, near the {limit}-year "
                         f"replacement age for a {word}")
            severity = min(severity, 4)
    support = row.get("os_support")
    if support == "out_of_support":
        facts.append(f"runs an operating system out of support since {row['support_ends']} "
                     "(no more security updates)")
        severity = min(severity, 2)
    elif support == "ending_soon":
        facts.append(f"runs an operating system whose support ends {row['support_ends']}")
        severity = min(severity, 4)
    if not facts:
        return None
    old = status in ("past_life", "replace_soon")
    shown = name if word.lower() in name.lower() else f"{name} ({word})"
    if old and support in ("out_of_support", "ending_soon"):
        title = f"Replace {shown}"
    elif old:
        title = f"Plan the replacement of {shown}"
    else:
        title = f"Move {name} to a supported operating system release"
    # a description starts the sentence with a capital; an id is written as configured
    subject = name[:1].upper() + name[1:] if name != row["target"] else name
    why = f"{subject} " + ", and ".join(facts) + f"; {_serves(services)}."
    return Recommendation(min((p for _, p in services), default=None), severity, title, why,
                          _owner(config, services), tuple(n for n, _ in services))


RISK_ADVICE = {   # kind: (severity, title)
    "no_backup": (1, "Back up {service}"),
    "failing": (1, "Repair the backup of {service}"),
    "never_tested": (2, "Test restoring the backup of {service}"),
    "rpo": (2, "Back up {service} more often"),
    "rto": (2, "Shorten the recovery of {service}"),
    "stale": (3, "Resume the restore tests of {service}"),
    "never_drilled": (4, "Run a recovery drill for {service}"),
}


def service_advice(config: Any, assessment: Any) -> list[Recommendation]:
    lines = {s.name: s for s in assessment.services}
    found = []
    for risk in assessment.risks:
        severity, title = RISK_ADVICE[risk.kind]
        s = lines[risk.service]
        r = s.recovery
        detail = {
            "no_backup": f"no backup is configured for it; its data may be lost beyond the "
                         f"RPO of {humanize(s.rpo)}",
            "failing": f"the latest restore test failed ({r.last_test_summary})",
            "never_tested": "its backup has never been restored to prove it works",
            "rpo": f"the newest backup was {humanize(r.data_age or 0)} old at the latest "
                   f"test, beyond the RPO of {humanize(s.rpo)}",
            "rto": f"a full restore {'took' if r.restore_measured else 'is estimated at'} "
                   f"{humanize(r.restore_seconds or 0)}, beyond the RTO of {humanize(s.rto)}",
            "stale": risk.text,
            "never_drilled": "no full restore has been measured for it and "
                             + ("no drill of an outage has been run" if
                                assessment.drills_recorded else
                                "no exercise of an outage is recorded"),
        }[risk.kind]
        found.append(Recommendation(
            s.priority, severity, title.format(service=s.name),
            f"{s.name} (P{s.priority}): {detail}. {s.impact}".strip(), s.owner, (s.name,)))
    return found


def security_advice(config: Any, assessment: Any, services_of: dict[str, list]
                    ) -> list[Recommendation]:
    found = []
    sec = assessment.security
    for host in sec.vulnerabilities or ():
        services = services_of.get(host["target"], [])
        if host["kev"]:
            f = host["oldest_kev"]
            found.append(Recommendation(
                min((p for _, p in services), default=None), 1,
                f"Install the fixes for known-exploited vulnerabilities on {host['name']}",
                f"{plural(host['kev'], 'vulnerability', 'vulnerabilities')} on {host['name']} "
                f"{'is' if host['kev'] == 1 else 'are'} exploited in the wild (CISA KEV) and "
                f"fixed by an update, e.g. {f.get('cve')} in {f.get('package')} "
                f"({f.get('installed')} → {f.get('fixed')}); {_serves(services)}.",
                _owner(config, services), tuple(n for n, _ in services)))
    for host in sec.updates:
        oldest = host["oldest_days"]
        if oldest is None or oldest <= host["policy_days"]:
            continue
        services = services_of.get(host["target"], [])
        found.append(Recommendation(
            min((p for _, p in services), default=None), 3,
            f"Install the waiting security updates on {host['name']}",
            f"{plural(host['pending'], 'security update')} {'is' if host['pending'] == 1 else 'are'}"
            f" waiting, the oldest for {plural(int(oldest), 'day')} (the patch policy allows "
            f"{host['policy_days']:g}); {_serves(services)}.",
            _owner(config, services), tuple(n for n, _ in services)))
    for door in sec.exposure or ():
        services = services_of.get(door["target"], [])
        found.append(Recommendation(
            min((p for _, p in services), default=None),
            2 if door.get("severity") == "CRITICAL" else 3,
            f"Close: {door.get('title')} on {door['name']}",
            f"{door.get('evidence') or 'found'} ({door.get('where')}). {door.get('fix') or ''} "
            f"It {_serves(services)[3:]}.".replace("  ", " "),
            _owner(config, services), tuple(n for n, _ in services)))
    return found


def recommendations(assessment: Any, config: Any) -> list[Recommendation]:
    """Every recommendation, first what endangers the most important service most."""
    services_of: dict[str, list[tuple[str, int]]] = {}
    for s in config.services:
        for t in s.targets:
            services_of.setdefault(t, []).append((s.name, s.priority))
    found = [r for r in (device_advice(config, row) for row in assessment.hardware) if r]
    found += service_advice(config, assessment)
    found += security_advice(config, assessment, services_of)
    unmonitored = assessment.network.get("unmonitored") or []
    if unmonitored:
        names = ", ".join(u["name"] for u in unmonitored[:6]) + (
            f" and {len(unmonitored) - 6} more" if len(unmonitored) > 6 else "")
        found.append(Recommendation(
            None, 5, f"Monitor the {plural(len(unmonitored), 'device')} seen on the network "
            "but not watched",
            f"The network's own devices report {names}; nobody is told when they fail. The "
            "network section lists a ready command to add each one."))
    return sorted(found, key=lambda r: r.rank_key)
