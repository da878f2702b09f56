"""The one shared incident template, pure: what is affected, since when, what residents can do
meanwhile, what is being done, and when the next update comes. The same words go to the
communication channels (``kind: update`` routes), to the status page and into the
post-incident report, so a resident, the communications officer and leadership read one
story.

Also here: the reminder the on-call gets when an update is due, and the ``[DRILL]`` marking
of every message of a drill.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from muni_watchdog.alerts.render import Message
from muni_watchdog.core.durations import humanize

# What residents read about a service (Atlassian Statuspage's component states, in plain
# words; "partial/major outage" are one "unavailable": the outage rule has one kind).
OPERATIONAL, DEGRADED, UNAVAILABLE, MAINTENANCE, UNKNOWN = (
    "operational", "degraded", "unavailable", "under maintenance", "not known right now")


def when_words(moment: datetime, tz: str, reference: datetime | None = None) -> str:
    """"13:22" on the day of ``reference`` (default: the moment itself), else "Nov 12,
    13:22"."""
    zone = ZoneInfo(tz)
    mine = moment.astimezone(zone)
    ref = (reference or moment).astimezone(zone)
    if mine.date() == ref.date():
        return mine.strftime("%H:%M")
    return mine.strftime("%b %-d, %H:%M")


@dataclass(frozen=True)
class PublicUpdate:
    """One update of an incident, as residents and the communications officer read it."""

    site: str
    timezone: str
    service: str                 # "Online utility payments" (never a target or a check)
    impact: str                  # "Residents cannot pay water and tax bills online."
    status: str                  # UNAVAILABLE, DEGRADED, MAINTENANCE, or OPERATIONAL (resolved)
    since: datetime
    at: datetime
    number: int
    text: str                    # what is being done
    residents_can: str = ""      # what residents can do meanwhile
    next_update_by: datetime | None = None
    by: str = ""
    drill: str | None = None     # the drill's scenario: the update is an exercise

    @property
    def resolved(self) -> bool:
        return self.status == OPERATIONAL


def headline(u: PublicUpdate) -> str:
    """"Online utility payments — unavailable since 13:22." """
    if u.resolved:
        return (f"{u.service} — working again since {when_words(u.at, u.timezone)} "
                f"(affected since {when_words(u.since, u.timezone, u.at)}).")
    return f"{u.service} — {u.status} since {when_words(u.since, u.timezone, u.at)}."


def template_lines(u: PublicUpdate) -> list[str]:
    """The five fields of the shared template, in order, each one sentence or more."""
    zone = ZoneInfo(u.timezone)
    since = u.since.astimezone(zone).strftime("%A, %B %-d, %H:%M")
    lines = [f"What is affected: {u.service}." + (f" {u.impact}" if u.impact else ""),
             f"Since: {since}" + (f" until {when_words(u.at, u.timezone, u.since)}"
                                   if u.resolved else "") + "."]
    if u.residents_can:
        lines.append(f"What you can do meanwhile: {u.residents_can}")
    lines.append(f"What is being done: {u.text}")
    if u.next_update_by is not None and not u.resolved:
        lines.append(f"Next update by {when_words(u.next_update_by, u.timezone, u.at)}.")
    elif u.resolved:
        lines.append("This is the last update about it.")
    return lines


def update_message(u: PublicUpdate) -> Message:
    """The update for the communication channels: plain language, no host, no check."""
    label = "Resolved" if u.resolved else f"Update {u.number}"
    title = f"[{label}] {headline(u)}"
    where = ("a drill: the residents' status page does not show it" if u.drill is not None
             else "the same words are on the status page")
    lines = [f"{u.site} — service update", "", headline(u), "", *template_lines(u), "",
             f"Posted at {when_words(u.at, u.timezone)}" + (f" by {u.by}" if u.by else "")
             + f"; {where}."]
    nxt = (f" Next update by {when_words(u.next_update_by, u.timezone, u.at)}."
           if u.next_update_by is not None and not u.resolved else "")
    short = f"{headline(u)} {u.text}{nxt}"
    message = Message(title, tuple(lines), short)
    return mark_drill(message, None, u.drill) if u.drill is not None else message


def resolved_text() -> str:
    return "The service is working again. Thank you for your patience."


def mark_drill(message: Message, drill_id: int | None, scenario: str) -> Message:
    """Every message of a drill says so first: ``[DRILL]`` in the subject and on top."""
    if message.title.startswith("[DRILL]"):
        return message
    which = f"drill {drill_id}: " if drill_id is not None else ""
    note = (f"THIS IS A DRILL ({which}{scenario}). Nothing is really down: respond as you "
            "would to a real incident; every step is measured.")
    head, rest = message.lines[:2], message.lines[2:]
    return Message(f"[DRILL] {message.title}", (*head, note, "", *rest),
                   f"[DRILL] {message.short}")


def reminder_message(site: str, tz: str, incident: int, service: str, priority: int,
                     due: datetime, missed_total: int, every: float, now: datetime) -> Message:
    """To the on-call: the public update promised for ``due`` was not posted."""
    title = (f"[P{priority} UPDATE DUE] {service}: the update due at "
             f"{when_words(due, tz, now)} was not posted")
    lines = [f"{site} — muni-watchdog", "",
             f"Residents and the communications officer were promised an update about "
             f"{service} by {when_words(due, tz, now)} (the cadence for priority {priority} "
             f"is every {humanize(every)}). None was posted.",
             f"Missed updates for this incident so far: {missed_total}.", "",
             "Post one now, even if nothing changed (what is being done, what residents can "
             "do meanwhile):",
             f'  muni-watchdog incident update {incident} --text "what is being done" '
             f'--residents-can "what residents can do meanwhile"']
    short = (f"P{priority} UPDATE DUE {service}: update {incident} missed "
             f"({missed_total}). muni-watchdog incident update {incident} --text ...")
    return Message(title, tuple(lines), short)
