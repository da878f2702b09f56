"""What a message says, and how it is laid out per channel. Pure: data in, text out.

An on-call technician reads this on a phone at 2 a.m.: the first line says what is broken and how
bad; then which service and its public impact, who owns it, since when, the last results, what
to do, and the exact command that acknowledges it.

Layouts: ``email`` (HTML; Apprise adds the text part), ``text`` (plain), ``sms`` (at most 160
characters), ``teams`` (under Apprise's 1,000-character limit for workflows://).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from muni_watchdog.core.durations import humanize

SMS_LIMIT = 160
TEAMS_LIMIT = 990


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    priority: int
    owner: str
    backup_owner: str
    impact: str = ""
    response_sla: float | None = None


@dataclass(frozen=True)
class AlertInfo:
    """One check's problem (an incident) as the message needs it."""

    site: str
    timezone: str
    kind: str                   # problem, recovery, flapping_start, flapping_end, reminder...
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
    incident: int | None = None
    acked_by: str | None = None
    recent: Sequence[tuple[datetime, str, str]] = ()   # (time, state, summary), newest first
    unavailable: bool = False           # the CRITICAL means the service cannot be used
    previous_unavailable: bool = False  # ... and so it did when the on-call was last told

    @property
    def now_unavailable(self) -> bool:
        """The on-call heard of a CRITICAL that needed attention; now it is an outage."""
        return (self.unavailable and not self.previous_unavailable and
                self.state == "critical" and self.previous_state == "critical")


@dataclass(frozen=True)
class Message:
    title: str
    lines: tuple[str, ...]
    short: str


def local(moment: datetime, zone: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime(fmt)


def _what(alert: AlertInfo) -> str:
    """'Service — target/check', or just 'target/check' for a target outside any service."""
    where = f"{alert.target}/{alert.check}"
    return f"{alert.services[0].name} — {where}" if alert.services else where


def _prio(alert: AlertInfo) -> str:
    return f"P{alert.priority} " if alert.priority else ""


def _first(text: str, limit: int = 100) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _duration(alert: AlertInfo) -> str:
    return humanize((alert.at - alert.since).total_seconds())


def ack_command(incident: int) -> str:
    return f'muni-watchdog ack {incident} --by "YOUR NAME" --reason "what you are doing"'


def _service_lines(alert: AlertInfo) -> list[str]:
    lines = []
    for service in alert.services:
        lines.append(f"Service: {service.name} (priority {service.priority})")
        if service.impact:
            lines.append(f"Public impact: {service.impact}")
        lines.append(f"Owner: {service.owner}")
        lines.append(f"Backup owner: {service.backup_owner}")
        if service.response_sla:
            lines.append(f"Respond within: {humanize(service.response_sla)} (the response "
                         "promise; unacknowledged, it goes to the backup owner)")
    if not alert.services:
        lines.append("Service: none (this target is not part of a configured service)")
    return lines


def _incident_lines(alert: AlertInfo, headline: str) -> list[str]:
    lines = [headline, f"What the check saw: {alert.summary}", ""]
    lines += _service_lines(alert)
    lines += ["", f"Target: {alert.target} ({alert.host})",
              f"Since: {local(alert.since, alert.timezone)} ({_duration(alert)} ago)"]
    if alert.acked_by:
        lines.append(f"Acknowledged by: {alert.acked_by}")
    if alert.recent:
        lines += ["", "Last results:"]
        lines += [f"  {local(t, alert.timezone, '%H:%M:%S')} {s.upper()} {_first(summ, 90)}"
                  for t, s, summ in alert.recent[:5]]
    if alert.incident is not None:
        lines += ["", "What to do: look at the target now. Acknowledge it so everyone knows you "
                  "own it (this stops reminders and the call to the backup owner):",
                  f"  {ack_command(alert.incident)}"]
    return lines


def problem_message(site: str, alerts: Sequence[AlertInfo], also_affected: Sequence[str] = (),
                    kind: str = "problem") -> Message:
    """A new (or worse) problem, or a reminder/escalation of one; several for one target go
    out together."""
    first = alerts[0]
    label = {"problem": first.state.upper(), "reminder": f"REMINDER {first.state.upper()}",
             "escalation": f"ESCALATED {first.state.upper()}"}.get(kind, first.state.upper())
    if kind == "problem" and first.now_unavailable:
        label += ": NOW UNAVAILABLE"
    more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
    title = f"[{_prio(first)}{label}] {_what(first)}: {_first(first.summary)}{more}"
    lines = [f"{site} — muni-watchdog", ""]
    if kind == "reminder":
        lines += [f"Still not acknowledged after {_duration(first)}.", ""]
    if kind == "escalation":
        lines += ["Not acknowledged within the response promise: the backup owner is now "
                  "asked to take over.", ""]
    for i, alert in enumerate(alerts):
        if i:
            lines += ["", "-" * 40, ""]
        ref = f" [incident {alert.incident}]" if alert.incident is not None else ""
        now = (" and the service is now unavailable (until now it only needed attention)"
               if kind == "problem" and alert.now_unavailable else "")
        lines += _incident_lines(alert, f"PROBLEM: {alert.target}/{alert.check} is "
                                 f"{alert.state.upper()}{now}{ref}")
    if also_affected:
        lines += ["", "Also affected (not alerted separately, this is the likely cause):"]
        lines += [f"  {item}" for item in also_affected]
    ack = f" ack {first.incident}" if first.incident is not None else ""
    short = (f"{_prio(first)}{label} {first.target}/{first.check}: {_first(first.summary, 60)}"
             f"{more} since {local(first.since, first.timezone, '%H:%M')}.{ack}")
    return Message(title, tuple(lines), short)


def recovery_message(site: str, alert: AlertInfo) -> Message:
    title = f"[{_prio(alert)}RECOVERED] {_what(alert)} is OK after {_duration(alert)}"
    ref = f" [incident {alert.incident}]" if alert.incident is not None else ""
    lines = [f"{site} — muni-watchdog", "",
             f"RECOVERED: {alert.target}/{alert.check} is OK again (was "
             f"{alert.previous_state.upper()} for {_duration(alert)}){ref}",
             f"What the check saw: {alert.summary}", ""]
    lines += _service_lines(alert)
    lines += ["", f"Target: {alert.target} ({alert.host})",
              f"Down from {local(alert.since, alert.timezone)} to "
              f"{local(alert.at, alert.timezone)}"]
    if alert.acked_by:
        lines.append(f"Acknowledged by: {alert.acked_by}")
    short = (f"{_prio(alert)}RECOVERED {alert.target}/{alert.check} OK after "
             f"{_duration(alert)}")
    return Message(title, tuple(lines), short)


def flapping_message(site: str, alert: AlertInfo) -> Message:
    if alert.kind == "flapping_start":
        title = f"[{_prio(alert)}FLAPPING] {_what(alert)} keeps changing state"
        head = (f"FLAPPING: {alert.target}/{alert.check} keeps changing state; notifications "
                "are held until it settles")
    else:
        title = (f"[{_prio(alert)}{alert.state.upper()}] {_what(alert)} stopped flapping")
        head = (f"SETTLED: {alert.target}/{alert.check} stopped flapping and is "
                f"{alert.state.upper()}")
    lines = [f"{site} — muni-watchdog", "", head, f"What the check saw: {alert.summary}", ""]
    lines += _service_lines(alert)
    lines += ["", f"Target: {alert.target} ({alert.host})",
              f"At: {local(alert.at, alert.timezone)}"]
    return Message(title, tuple(lines), f"{_prio(alert)}{title.split('] ', 1)[-1]}")


def notice_message(site: str, title: str, lines: Sequence[str], short: str) -> Message:
    """Anything else: maintenance summaries, expired exceptions, delivery failures, tests."""
    return Message(title, (f"{site} — muni-watchdog", "", *lines), short)


def fallback_message(message: Message, via: str, failing: str, failures: int,
                     error: str) -> Message:
    """The whole message again, for a fallback channel, with the delivery failure on top
    (under the site line): the on-call gets the service, impact, owners, last results and the
    ack command even when the usual channel is down."""
    note = (f"DELIVERY PROBLEM: sent through {via} because channel {failing} failed "
            f"{failures} times: {error}")
    head, rest = message.lines[:2], message.lines[2:]
    return Message(f"[via {via}] {message.title}", (*head, note, "", *rest),
                   f"[via {via}: {failing} failing] {message.short}")


def message_to_json(message: Message) -> str:
    """The message as stored with each outbox row, so a fallback copy can be laid out anew."""
    return json.dumps({"title": message.title, "lines": list(message.lines),
                       "short": message.short})


def message_from_json(text: str) -> Message:
    data = json.loads(text)
    return Message(data["title"], tuple(data["lines"]), data["short"])


# -- layouts ----------------------------------------------------------------------------------

def layout(message: Message, fmt: str) -> tuple[str, str, str]:
    """(title, body, body format for Apprise: 'text', 'html' or 'markdown')."""
    if fmt == "sms":
        text = f"{message.short}"
        return "", text if len(text) <= SMS_LIMIT else text[:SMS_LIMIT - 3] + "...", "text"
    if fmt == "teams":
        body = "\n\n".join(line for line in message.lines[2:] if line.strip())
        if len(body) > TEAMS_LIMIT - len(message.title):
            body = body[:TEAMS_LIMIT - len(message.title) - 3] + "..."
        return message.title, body, "markdown"
    if fmt == "email":
        return message.title, to_html(message), "html"
    return message.title, "\n".join(message.lines) + "\n", "text"


def to_html(message: Message) -> str:
    parts = ['<html><body style="font-family: Arial, sans-serif; font-size: 14px">',
             f"<h2 style=\"font-size: 17px\">{html.escape(message.title)}</h2>"]
    block: list[str] = []

    def flush() -> None:
        if block:
            parts.append("<p>" + "<br>".join(block) + "</p>")
            block.clear()

    for line in message.lines:
        if not line.strip():
            flush()
        elif line.startswith("  "):
            block.append(f"<code>{html.escape(line.strip())}</code>")
        elif ": " in line and len(line.split(": ", 1)[0]) < 30:
            key, value = line.split(": ", 1)
            block.append(f"<b>{html.escape(key)}:</b> {html.escape(value)}")
        else:
            block.append(html.escape(line))
    flush()
    parts.append("</body></html>")
    return "\n".join(parts)
