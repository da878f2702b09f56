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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from muni_watchdog.core.durations import humanize

SMS_LIMIT = 160
TEAMS_LIMIT = 990
ON_THE_BOX = "On the box: "
LINK_LINE = "Acknowledge incident {incident}: {url}"


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
    ack_args: str = ""                  # what the printed ack command needs on this box

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
    acks: tuple[int, ...] = ()      # incidents this message asks to acknowledge
    links: tuple[tuple[int, str], ...] = ()   # (incident, acknowledge link) for its recipient


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


def ack_command(incident: int, args: str = "") -> str:
    """The command that acknowledges ``incident`` on the box, as printed in messages;
    ``args`` what it needs there beyond the defaults (e.g. ``--state-dir DIR``)."""
    extra = f" {args}" if args else ""
    return (f'muni-watchdog ack {incident}{extra} --by "YOUR NAME" '
            '--reason "what you are doing"')


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
                  f"  {ON_THE_BOX}{ack_command(alert.incident, alert.ack_args)}"]
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
    short = (f"{_prio(first)}{label} {first.target}/{first.check}: {_first(first.summary, 60)}"
             f"{more} since {local(first.since, first.timezone, '%H:%M')}.")
    acks = tuple(a.incident for a in alerts if a.incident is not None)
    return Message(title, tuple(lines), short, acks)


def children_message(site: str, parent: AlertInfo, children: Sequence[str]) -> Message:
    """The follow-up to a parent's problem when its outage holds more children than it said:
    the same recipients hear which more devices are affected, as soon as they are confirmed
    (rather than when the parent recovers)."""
    title = (f"[{_prio(parent)}ALSO AFFECTED] {parent.target} down: "
             f"{_first(children[0], 80)}" + (f" (+{len(children) - 1} more)"
                                              if len(children) > 1 else ""))
    ref = f" [incident {parent.incident}]" if parent.incident is not None else ""
    lines = [f"{site} — muni-watchdog", "",
             f"ALSO AFFECTED by the outage of {parent.target}{ref} (not alerted separately, "
             "this is the likely cause):"]
    lines += [f"  {item}" for item in children]
    lines += ["", f"{parent.target} is {parent.state.upper()} since "
              f"{local(parent.since, parent.timezone)}: {parent.summary}"]
    if parent.acked_by:
        lines.append(f"Acknowledged by: {parent.acked_by}")
    elif parent.incident is not None:
        lines += ["", "What to do: acknowledge the outage of "
                  f"{parent.target} so everyone knows you own it:",
                  f"  {ON_THE_BOX}{ack_command(parent.incident, parent.ack_args)}"]
    short = (f"{_prio(parent)}ALSO AFFECTED by {parent.target} down: "
             + ", ".join(c.split(" ")[0] for c in children))
    acks = (parent.incident,) if parent.incident is not None and not parent.acked_by else ()
    return Message(title, tuple(lines), short, acks)


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
                   f"[via {via}: {failing} failing] {message.short}", message.acks)


def message_to_json(message: Message) -> str:
    """The message as stored with each outbox row, so a fallback copy can be laid out anew
    (stored before :func:`stamp` and :func:`personalise`: each recipient gets its own)."""
    return json.dumps({"title": message.title, "lines": list(message.lines),
                       "short": message.short, "acks": list(message.acks)})


def message_from_json(text: str) -> Message:
    data = json.loads(text)
    return Message(data["title"], tuple(data["lines"]), data["short"],
                   tuple(data.get("acks", ())))


def stamp(message: Message, site: str) -> Message:
    """Name the site first in the subject and the SMS: an MSP on call for several towns
    sees which one pages (``[Town of Ashby] [P1 CRITICAL] ...``, ``Ashby: P1 CRITICAL ...``)."""
    tag = f"[{site}] "
    if message.title.startswith(tag):
        return message
    return replace(message, title=tag + message.title, short=f"{site}: {message.short}")


def personalise(message: Message, links: Mapping[int, str]) -> Message:
    """The message for one recipient: its acknowledge link for each incident, on the line
    above the command that does the same on the box."""
    if not links:
        return message
    lines: list[str] = []
    for line in message.lines:
        for incident, url in links.items():
            if line.startswith(f"  {ON_THE_BOX}{ack_command(incident).split(' --', 1)[0]} "):
                lines.append("  " + LINK_LINE.format(incident=incident, url=url))
        lines.append(line)
    return replace(message, lines=tuple(lines),
                   links=tuple((i, u) for i, u in links.items() if i in message.acks))


def sms_text(message: Message) -> str:
    """At most 160 characters; the acknowledge link (or the ack command's number) is kept
    whole, the summary before it is shortened to make room."""
    tail = ""
    if message.links:
        tail = f" {message.links[0][1]}"
    elif message.acks:
        tail = f" ack {message.acks[0]}"
    head = message.short
    room = SMS_LIMIT - len(tail)
    if len(head) > room:
        head = head[:max(room - 3, 0)] + "..."
    text = head + tail
    return text if len(text) <= SMS_LIMIT else text[:SMS_LIMIT - 3] + "..."


# -- layouts ----------------------------------------------------------------------------------

def layout(message: Message, fmt: str) -> tuple[str, str, str]:
    """(title, body, body format for Apprise: 'text', 'html' or 'markdown')."""
    if fmt == "sms":
        return "", sms_text(message), "text"
    if fmt == "teams":
        link_lines = {f"  {LINK_LINE.format(incident=i, url=u)}": f"[Acknowledge incident {i}]"
                      f"({u})" for i, u in message.links}
        body = "\n\n".join(link_lines.get(line, line) for line in message.lines[2:]
                            if line.strip())
        if len(body) > TEAMS_LIMIT - len(message.title):
            body = body[:TEAMS_LIMIT - len(message.title) - 3] + "..."
        return message.title, body, "markdown"
    if fmt == "email":
        return message.title, to_html(message), "html"
    return message.title, "\n".join(message.lines) + "\n", "text"


# Fluid, in tables (Outlook's Word engine ignores max-width and most CSS but renders tables
# with width=100%): no fixed width anywhere, so a 400 px phone shows all of it; long words
# (URLs, summaries) wrap. Monospace lines are spans, not <code>: Apprise's HTML-to-text
# conversion (the text part) makes each <code> a block, which double-spaced them.
FONT = "font-family:Arial,Helvetica,sans-serif;"
MONO = "font-family:Consolas,Menlo,'DejaVu Sans Mono',monospace;font-size:13px;"
WRAP = "word-wrap:break-word;overflow-wrap:anywhere;word-break:break-word;"
BUTTON = ("display:inline-block;padding:10px 16px;margin:4px 0;background:#1f5f99;color:#ffffff;"
          "text-decoration:none;border-radius:4px;font-weight:bold;" + FONT)


def to_html(message: Message) -> str:
    parts = ['<!DOCTYPE html><html><head><meta charset="utf-8">'
             '<meta name="viewport" content="width=device-width, initial-scale=1"></head>',
             '<body style="margin:0;padding:0;background:#f2f2f2">',
             '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
             'border="0" style="width:100%;background:#f2f2f2"><tr><td align="center" '
             'style="padding:6px">',
             '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
             'border="0" style="width:100%;max-width:640px;background:#ffffff"><tr>'
             f'<td style="padding:12px;{FONT}font-size:15px;line-height:1.45;color:#222222;'
             f'text-align:left;{WRAP}">',
             f'<h2 style="{FONT}font-size:17px;margin:0 0 10px 0;{WRAP}">'
             f"{html.escape(message.title)}</h2>"]
    block: list[str] = []
    links = {f"  {LINK_LINE.format(incident=i, url=u)}": (i, u) for i, u in message.links}

    def flush() -> None:
        if block:
            parts.append('<p style="margin:0 0 12px 0">' + "<br>".join(block) + "</p>")
            block.clear()

    for line in message.lines:
        if line in links:
            incident, url = links[line]
            block.append(f'<a href="{html.escape(url)}" style="{BUTTON}">Acknowledge incident '
                         f'{incident}</a><br><span style="{MONO}color:#555555">'
                         f"{html.escape(url)}</span>")
        elif not line.strip():
            flush()
        elif line.startswith("  "):
            block.append(f'<span style="{MONO}">{html.escape(line.strip())}</span>')
        elif ": " in line and len(line.split(": ", 1)[0]) < 30:
            key, value = line.split(": ", 1)
            block.append(f"<b>{html.escape(key)}:</b> {html.escape(value)}")
        else:
            block.append(html.escape(line))
    flush()
    parts.append("</td></tr></table></td></tr></table></body></html>")
    return "\n".join(parts)
