"""Judging the findings (pure): what is urgent, and the one line a technician acts on.

* A CVE in CISA's Known Exploited Vulnerabilities catalogue with a fix available: CRITICAL at
  once — attackers use it now (BOD 22-01's logic; CISA's own due dates are days, not weeks).
* Otherwise by severity and by how long the fix has been available, with the ``patches``
  check's ages (VulnParams): critical/high warn after 3 days and are critical after 14 (7 when
  internet-facing); medium and unrated ones warn after 14 (7); low and negligible are listed.
* No fix yet (or the feed does not know yet): listed, never alarmed — there is nothing to do.
* A finding that alarms is hard at once (``Outcome.immediate``): asking again would give the
  same answer, so soft retries would only delay the alert.
* A feed missing, stale or unreadable: UNKNOWN with the reason, besides whatever was found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from muni_watchdog.checks.base import Evaluation
from muni_watchdog.checks.ssh.common import days
from muni_watchdog.checks.ssh.installed import InstalledSoftware
from muni_watchdog.checks.vulns.index import FeedState, FeedView
from muni_watchdog.checks.vulns.match import Finding, match
from muni_watchdog.checks.vulns.params import VulnParams
from muni_watchdog.checks.vulns.settings import VulnerabilitySettings
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

DAY = 86400.0
MAX_ITEMS = 1000          # the state database keeps items per run: a bound, all fixable first
MAX_PROBLEMS_SHOWN = 3
# The site's defaults (site.vulnerabilities), for params that do not set their own.
FEED_MAX_AGE = VulnerabilitySettings.model_fields["max_age"].default
KEV_MAX_AGE = VulnerabilitySettings.model_fields["kev_max_age"].default
_ALARMING = {"critical": "high", "high": "high", "medium": "medium", "unknown": "medium"}


def _key(finding: Finding) -> str:
    return f"{finding.vuln}|{finding.package}"


def _fix_age(finding: Finding, first_seen: datetime, now: datetime) -> float:
    # The feed's date when it has one: first sight here may predate the fix (the CVE was
    # listed without a fix before).
    since = finding.fix_since or first_seen
    return max(0.0, (now - since).total_seconds())


def finding_state(finding: Finding, age: float, params: VulnParams,
                  internet_facing: bool) -> State:
    """The state one finding calls for (see the module docstring)."""
    if finding.fixed is None:
        return State.OK
    if finding.kev is not None:
        return State.CRITICAL
    crit = params.security_crit(internet_facing)
    kind = _ALARMING.get(finding.severity)
    if kind == "high":
        return State.CRITICAL if age >= crit else \
            State.WARNING if age >= params.security_warn_age else State.OK
    if kind == "medium":
        return State.WARNING if age >= crit else State.OK
    return State.OK


def _line(finding: Finding) -> str:
    return (f"{finding.vuln} {finding.shown_package} {finding.installed} → "
            f"{finding.fixed or 'no fix yet'}")


def _item(finding: Finding, state: State, first_seen: str, age: float) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": "vulnerability", "cve": finding.vuln, "package": finding.package,
        "binaries": [f"{b.name} {b.version}" for b in finding.binaries[:20]],
        "installed": finding.installed, "fixed": finding.fixed,
        "status": "fixable" if finding.fixed else
        ("undetermined" if finding.undetermined else "no fix yet"),
        "kev": finding.kev is not None, "severity": finding.severity,
        "severity_text": finding.severity_text, "advisories": list(finding.advisories),
        "first_seen": first_seen, "state": state.label}
    if finding.fixed:
        item["fix_available_since"] = finding.fix_since.isoformat() if finding.fix_since \
            else None
        item["fix_available_days"] = round(age / DAY, 1)
    if finding.kev is not None:
        item.update(kev_date_added=finding.kev.date_added, kev_due_date=finding.kev.due_date,
                    ransomware=finding.kev.ransomware)
    return item


def _feed_results(view: FeedView, params: VulnParams, now: datetime) -> list[Result]:
    """UNKNOWN for each feed that is missing or older than its limit; otherwise one line
    saying how old the data is (and that the last download failed, when it did: offline,
    the last copy is used and its age is said)."""
    results = [Result(State.UNKNOWN, p) for p in view.problems[:MAX_PROBLEMS_SHOWN]]
    feed_limit = params.feed_max_age or FEED_MAX_AGE
    checks: list[tuple[FeedState, float, str]] = [(s, feed_limit, "vulnerability feed")
                                                  for s in view.feeds]
    if view.kev_state is not None:
        checks.append((view.kev_state, params.kev_max_age or KEV_MAX_AGE,
                       "known-exploited catalogue"))
    ages: list[float] = []
    failing: list[str] = []
    for state, limit, what in checks:
        if state.fetched_at is None:
            if not (what.startswith("known") and view.kev is None):
                results.append(Result(State.UNKNOWN, f"{what} {state.name}: no confirmed "
                                      f"copy ({state.error or 'never downloaded'})"))
            continue
        age = (now - state.fetched_at).total_seconds()
        ages.append(age)
        if age > limit:
            why = f": last download failed: {state.error}" if state.error else ""
            results.append(Result(State.UNKNOWN, f"{what} {state.name} is {days(age)} old "
                                  f"(limit {days(limit)}){why}; findings may be missing"))
        elif state.error:
            failing.append(f"{state.name} ({state.error[:120]})")
    if view.kev is None:
        why = view.kev_state.error if view.kev_state else "not configured"
        results.append(Result(State.UNKNOWN, f"no known-exploited catalogue ({why}): "
                              "actively exploited CVEs cannot be singled out"))
    if ages:
        text = f"feed data {days(max(ages))} old"
        if failing:
            text += f"; last download failed for {', '.join(failing)}: using the last copy"
        results.append(Result(State.OK, text))
    return results


def evaluate_vulnerabilities(installed: InstalledSoftware, feed_view: FeedView,
                             params: VulnParams, ctx: CheckContext) -> Evaluation:
    """The findings judged, with first-seen times kept in the check's memory
    (``{"first_seen": {"CVE|package": iso}}``), the feeds' state, metrics and one item per
    finding. No feed for the host: UNKNOWN, never OK."""
    now = ctx.now
    if installed.manager == "windows-hotfix":
        latest = max((p for p in installed.packages if p.version), key=lambda p: p.version,
                     default=None)
        last = f", latest {latest.name} on {latest.version}" if latest else ""
        return Evaluation(Outcome.of(
            [Result(State.UNKNOWN, f"Windows: no vulnerability matching — only the "
                    f"{len(installed.packages)} installed hotfixes are known{last}; the patches "
                    "check judges pending Windows updates")],
            items=[{"kind": "hotfix", "id": p.name, "installed_on": p.version or None}
                   for p in installed.packages[-50:]]), {})
    if feed_view.ecosystem is None or not feed_view.feeds:
        reason = "; ".join(feed_view.problems) or "no vulnerability feed for this host"
        return Evaluation(Outcome.unknown(reason), dict(ctx.memory))
    findings, problems = match(installed, feed_view)
    seen_before: dict[str, str] = dict(ctx.memory.get("first_seen", {}))
    first_seen: dict[str, str] = {}
    judged: list[tuple[Finding, State, float, str]] = []
    for finding in findings:
        seen = seen_before.get(_key(finding)) or now.isoformat()
        first_seen[_key(finding)] = seen
        age = _fix_age(finding, datetime.fromisoformat(seen), now) if finding.fixed else 0.0
        judged.append((finding, finding_state(finding, age, params, installed.internet_facing),
                       age, seen))
    results = _summary(judged, len(installed.packages))
    results += _feed_results(feed_view, params, now)
    if problems:
        results.append(Result(State.UNKNOWN, f"{len(problems)} versions could not be compared "
                              f"(e.g. {problems[0]}): those CVEs are not judged"))
    if installed.partial:
        results.append(Result(State.OK, "; ".join(installed.notes)))
    fixable = [j for j in judged if j[0].fixed]
    metrics = [
        Metric("fixable_cves", len(fixable), min=0),
        Metric("known_exploited_fixable", sum(1 for j in fixable if j[0].kev), min=0),
        Metric("unfixed_cves", len(judged) - len(fixable), min=0),
        Metric("oldest_fix_days", round(max((j[2] for j in fixable), default=0.0) / DAY, 1),
               "d", params.security_warn_age / DAY,
               params.security_crit(installed.internet_facing) / DAY, 0)]
    order = sorted(judged, key=lambda j: (j[0].fixed is None, j[0].kev is None,
                                          -j[1].badness, -j[2], j[0].vuln))
    items = [_item(f, s, seen, age) for f, s, age, seen in order[:MAX_ITEMS]]
    if len(order) > MAX_ITEMS:
        items.append({"kind": "vulnerability_omitted", "count": len(order) - MAX_ITEMS})
    # A finding is a fact, not a glitch: re-asking would give the same answer, so a judged
    # finding (a known-exploited one above all) is hard at once, without soft retries.
    findings_alarm = any(not state.is_ok for _, state, _, _ in judged)
    return Evaluation(Outcome.of(results, metrics, items, immediate=findings_alarm),
                      {"first_seen": first_seen})


def _summary(judged: list[tuple[Finding, State, float, str]], packages: int) -> list[Result]:
    fixable = [j for j in judged if j[0].fixed]
    unfixed = len(judged) - len(fixable)
    waiting = f"{unfixed} CVE{'s' if unfixed != 1 else ''} without a fix yet (listed, not " \
        "alarmed)" if unfixed else ""
    if not fixable:
        text = f"no fixable CVEs in {packages} installed packages"
        return [Result(State.OK, f"{text}, {waiting}" if waiting else text)]
    count = f"{len(fixable)} fixable CVE{'s' if len(fixable) != 1 else ''}"
    exploited = [j for j in fixable if j[0].kev is not None]
    state = State.worst(j[1] for j in fixable)
    if exploited:
        # The one whose fix has waited longest: the first to install.
        first = max(exploited, key=lambda j: (j[2], j[0].vuln))
        text = (f"{count}, {len(exploited)} known exploited: {_line(first[0])}, fix available "
                f"for {days(first[2])}")
    else:
        first = max(fixable, key=lambda j: (j[1].badness, j[2]))
        text = f"{count}: {_line(first[0])}, fix available for {days(first[2])}"
        if first[1].is_ok:
            text = f"{count}, none urgent yet: {_line(first[0])}"
    results = [Result(state, text)]
    if waiting:
        results.append(Result(State.OK, waiting))
    return results
