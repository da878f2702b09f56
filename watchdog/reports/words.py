"""Plain words for the reports, shared by the HTML and text layouts. Pure.

Two rules hold everywhere: a number in words never contradicts the verdict next to it (an
acknowledgement 1 min 22 s after the call is not "1 minute" beside "the 1 minute promise was
missed"; an availability below 100 % is never shown as "100 %"), and counts agree with their
nouns and verbs (:func:`plural`, :func:`agree`).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from muni_watchdog.core.durations import humanize


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 service", "2 services", "0 services" (``many`` for an irregular plural)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def agree(n: int, one: str, many: str) -> str:
    """The verb for a count: agree(1, "was", "were") -> "was"."""
    return one if n == 1 else many


def minutes(seconds: float) -> str:
    """An outage's length: "no outage", "under a minute", "42 minutes"."""
    if seconds <= 0:
        return "no outage"
    return "under a minute" if seconds < 60 else humanize(seconds)


def percent(value: float | None) -> str:
    """Availability: "100 %" only when there was no outage at all; otherwise rounded *down*
    to 3 decimals (99.99995 % reads "99.999 %", never "100 %")."""
    if value is None:
        return "no data yet"
    if value >= 100:
        return "100 %"
    shown = min(99.999, math.floor(value * 1000 + 1e-6) / 1000)
    return f"{shown:.3f}".rstrip("0").rstrip(".") + " %"


def _shown_seconds(seconds: float) -> int:
    """What :func:`muni_watchdog.core.durations.humanize` displays, in seconds (it rounds down)."""
    s = max(0, round(seconds))
    if s < 60:
        return s
    if s < 48 * 3600:
        return s // 60 * 60
    return s // 3600 * 3600


def exact(seconds: float) -> str:
    """Every non-zero unit, rounded up to the second: "1 minute 22 seconds"."""
    s = math.ceil(seconds)
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, s = divmod(s, size)
        if count:
            parts.append(plural(count, unit))
    return " ".join(parts) or "0 seconds"


def duration_against(actual: float, limit: float) -> str:
    """``actual`` in words that agree with ``actual <= limit`` (the verdict printed beside
    it): rounded as usual unless the rounding would hide that the limit was passed."""
    if actual > limit and _shown_seconds(actual) <= limit:
        return exact(actual)
    return humanize(actual)


def days_against(days: float, limit: float) -> str:
    """Days in words that agree with ``days > limit``: "10 days", "3.2 days" (over 3)."""
    text = f"{days:.0f}"
    if days > limit and float(text) <= limit:
        text = f"{math.ceil(days * 10) / 10:.1f}"
    return f"{text} {'day' if text == '1' else 'days'}"


def waited(days: float) -> str:
    """How long a pending update has waited: "less than a day", "1 day", "10 days"."""
    return "less than a day" if days < 1 else plural(math.floor(days), "day")


def day(moment: datetime, tz: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    n = local.day
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix}"


def stamp(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%b %-d, %H:%M")


def metric_value(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    text = f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
    return f"{text} {unit}".strip() if unit != "%" else f"{text} %"


def span(seconds: float) -> str:
    """A stretch of time that is not nothing: "under a minute", "2 days 3 hours"."""
    return "under a minute" if seconds < 60 else humanize(seconds)


def unwatched_words(gaps: list[Any], tz: str, most: int = 3) -> str:
    """Why a service was not watched: "monitoring was not running from May 1, 10:02 to May
    3, 13:40; pay.town.example (website) could not tell for 5 hours: SSH: timed out"."""
    stopped = [g for g in gaps if g.what is None]
    parts = []
    if len(stopped) == 1:
        parts.append(f"monitoring was not running from {stamp(stopped[0].start, tz)} to "
                     f"{stamp(stopped[0].end, tz)}")
    elif stopped:
        total = sum((g.end - g.start).total_seconds() for g in stopped)
        parts.append(f"monitoring was not running {plural(len(stopped), 'time')}, "
                     f"{span(total)} in all")
    by_cause: dict[tuple[str, str], float] = {}
    for g in gaps:
        if g.what is not None:
            cause = (g.what, g.reason)
            by_cause[cause] = by_cause.get(cause, 0.0) + (g.end - g.start).total_seconds()
    for (what, reason), seconds in sorted(by_cause.items(), key=lambda c: -c[1]):
        if reason == "no results":
            parts.append(f"{what} sent no results for {span(seconds)}")
        else:
            why = reason.removeprefix("no usable results: ")
            parts.append(f"{what} could not tell for {span(seconds)}: {why[:120]}")
    if len(parts) > most:
        parts = parts[:most] + [f"{len(parts) - most} more"]
    return "; ".join(parts)


def trend_words(key: str, value: float | None, figures: dict[str, Any]) -> str:
    """A trend point in words, agreeing with the rest of the report: outage minutes never
    read 0 when there was an outage, nor "none" when part of the month was not watched;
    patch latency says how many updates are pending."""
    if value is None:
        return "no data"
    if key == "outage_minutes":
        blind = figures.get("resident_facing_unwatched_minutes") or 0
        text = ("none" if value <= 0 else
                "under 1 minute" if value < 1 else plural(math.floor(value), "minute"))
        if blind > 0:
            text = ("none seen" if value <= 0 else text) + \
                f", not watched for {span(blind * 60)}"
        return text
    if key == "security_patch_latency":
        pending = figures.get("security_updates_pending")
        if pending == 0:
            return "none pending"
        if pending is None:        # saved by an older version: only the age is known
            return metric_value(value, "days")
        return f"{pending} pending, oldest {waited(value)}"
    if key == "missed_response_promises":
        return plural(round(value), "incident")
    return metric_value(value, "%" if key == "restore_pass_rate" else "")


def patch_words(pending: int, oldest_days: float | None) -> str:
    """"88 security updates pending, the oldest waiting less than a day"."""
    if not pending:
        return "no security updates pending"
    oldest = "" if oldest_days is None else \
        (f", {'waiting' if pending == 1 else 'the oldest waiting'} {waited(oldest_days)}")
    return f"{plural(pending, 'security update')} pending{oldest}"


def summary_paragraph(report) -> str:
    """The opening paragraph, for a town manager: recoverability, outages, what was not
    watched, promises, accepted risks. Outages are the report's own
    (``ServiceReport.outages``): a service with any outage is named here, and only such a
    service shows less than 100 % below; time not watched is never an all-clear."""
    sentences = [_backups_sentence(report)]
    monitored = [s for s in report.services if s.monitored_seconds > 0]
    unmonitored = [s.name for s in report.services if s.monitored_seconds <= 0]
    down = [s for s in monitored if s.outages]
    blind = [s for s in monitored if s.unwatched_seconds > 0]
    if not monitored:
        sentences.append("Monitoring had not started, so there are no availability figures.")
    else:
        if not down:
            sentences.append(("No service" if not unmonitored else "No monitored service")
                             + " had an outage" + (" while it was watched." if blind else "."))
        else:
            parts = []
            for s in down:
                when = day(s.outages[0][0], report.timezone) if len(s.outages) == 1 else \
                    plural(len(s.outages), "time")
                parts.append(f"{s.name} was down for {minutes(s.outage_seconds)} ({when})")
            sentences.append("; ".join(parts) + ".")
        for s in blind:
            measured = (f"{percent(s.availability)} of the time it was watched; not watched "
                        f"for {span(s.unwatched_seconds)}" if s.availability is not None
                        else "not watched at all")
            sentences.append(f"{s.name}: {measured} "
                             f"({unwatched_words(s.measured.gaps, report.timezone)}).")
        missed = [s.name for s in monitored if s.verdict == "missed"]
        unproven = [s.name for s in monitored if s.verdict == "not proven"]
        if missed:
            sentences.append(f"Below {agree(len(missed), 'its', 'their')} availability "
                             f"target: {', '.join(missed)}.")
        if unproven:
            sentences.append(f"Availability target not proven for {', '.join(unproven)}: "
                             f"{agree(len(unproven), 'it was', 'they were')} not watched "
                             "enough of the month to show it.")
        if down and not missed and not unproven:
            sentences.append("Every " + ("monitored " if unmonitored else "") +
                             "service met its availability target.")
        if unmonitored:
            sentences.append(f"No availability figures yet for {', '.join(unmonitored)}.")
    incidents = sum(len(s.incidents) for s in report.services)
    missed_promises = sum(s.promises_missed for s in report.services)
    if incidents:
        sentences.append(f"{plural(incidents, 'incident')}; " + (
            f"{agree(incidents, 'it was', 'all were')} answered within the promised time."
            if not missed_promises else
            f"{missed_promises} {agree(missed_promises, 'was', 'were')} not answered "
            "within the promised time."))
    if report.exceptions:
        n = len(report.exceptions)
        sentences.append(f"{plural(n, 'accepted risk')} {agree(n, 'is', 'are')} open (listed "
                         "below with owner and expiry).")
    if report.partial_from:
        sentences.append(f"Monitoring began on {day(report.partial_from, report.timezone)}, so "
                         "this month's figures cover only part of it.")
    return " ".join(sentences)


def _backups_sentence(report) -> str:
    tested = [s for s in report.services if s.backups.configured]
    # proven: the month's latest restore test passed, within the data-loss and time targets
    proven = [s for s in tested if s.backups.run and s.backups.tests[-1].verdict == "ok"
              and (s.backups.restore_estimate_seconds or 0) <= s.rto
              and (s.backups.worst_age_seconds or 0) <= s.rpo]
    n, k = len(tested), len(proven)
    if not n:
        return ("No backup restore tests are configured yet, so we cannot yet show that any "
                "service can be recovered.")
    if n == 1:
        return (f"{tested[0].name}, the one service with backups, was "
                f"{'' if k else 'not '}proven restorable within its recovery targets.")
    if k == n:
        return f"All {n} services with backups were proven restorable within their recovery " \
               "targets."
    names = ", ".join(s.name for s in tested if s not in proven)
    if k == 0:
        return f"None of the {n} services with backups was proven restorable within their " \
               f"recovery targets: {names}."
    return (f"{k} of {n} services with backups {agree(k, 'was', 'were')} proven restorable "
            f"within their recovery targets; not yet proven: {names}.")
