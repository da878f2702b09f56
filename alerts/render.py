"""What the message says. Pure: data in, title and body out.

An on-call technician reads this on a phone at 2 a.m.: the first line says what is broken and how
bad; then which service, who owns it, since when, and what the check saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from watchdog.durations import humanize


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    priority: int
    owner: str
    backup_owner: str
    impact: str = ""


@dataclass(frozen=True)
class AlertInfo:
    site: str
    timezone: str
    kind: str                   # problem, recovery, flapping_start, flapping_end
    state: str                  # ok, warning, critical, unknown
    previous_state: str
    target: str
    host: str
    check: str
    summary: str
    since: datetime
    at: datetime
    services: Sequence[ServiceInfo] = field(default_factory=tuple)
    priority: int | None = None


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def render_title(alert: AlertInfo) -> str:
    prio = f"P{alert.priority} " if alert.priority else ""
    what = alert.services[0].name if alert.services else alert.target
    where = f"{alert.target}/{alert.check}"
    if alert.kind == "recovery":
        return f"[{prio}RECOVERED] {what} — {where} is OK after {_duration(alert)}"
    if alert.kind == "flapping_start":
        return f"[{prio}FLAPPING] {what} — {where} keeps changing state"
    if alert.kind == "flapping_end":
        return f"[{prio}{alert.state.upper()}] {what} — {where} stopped flapping"
    return f"[{prio}{alert.state.upper()}] {what} — {where}: {_first(alert.summary)}"


def render_body(alert: AlertInfo) -> str:
    lines = [f"{alert.site} — muni-watchdog", ""]
    headline = {
        "problem": f"PROBLEM: {alert.target}/{alert.check} is {alert.state.upper()}",
        "recovery": f"RECOVERED: {alert.target}/{alert.check} is OK again "
                    f"(was {alert.previous_state.upper()} for {_duration(alert)})",
        "flapping_start": f"FLAPPING: {alert.target}/{alert.check} keeps changing state; "
                          "notifications are held until it settles",
        "flapping_end": f"SETTLED: {alert.target}/{alert.check} stopped flapping and is "
                        f"{alert.state.upper()}",
    }[alert.kind]
    lines += [headline, f"What the check saw: {alert.summary}", ""]
    for service in alert.services:
        lines.append(f"Service: {service.name} (priority {service.priority})")
        if service.impact:
            lines.append(f"Public impact: {service.impact}")
        lines.append(f"Owner: {service.owner}")
        lines.append(f"Backup owner: {service.backup_owner}")
    if not alert.services:
        lines.append("Service: none (this target is not part of a configured service)")
    lines += ["", f"Target: {alert.target} ({alert.host})"]
    if alert.kind == "problem":
        lines.append(f"Since: {_local(alert.since, alert.timezone)} ({_duration(alert)} ago)")
    elif alert.kind == "recovery":
        lines.append(f"Down from {_local(alert.since, alert.timezone)} to "
                     f"{_local(alert.at, alert.timezone)}")
    else:
        lines.append(f"At: {_local(alert.at, alert.timezone)}")
    return "\n".join(lines) + "\n"


def _duration(alert: AlertInfo) -> str:
    return humanize((alert.at - alert.since).total_seconds())


def _first(text: str) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 100 else line[:97] + "..."
