"""Plain words for the monthly report, shared by the HTML and text layouts. Pure."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from watchdog.durations import humanize


def minutes(seconds: float) -> str:
    m = round(seconds / 60)
    return "no outage" if m == 0 and seconds == 0 else \
        ("under a minute" if m == 0 else humanize(m * 60))


def percent(value: float | None) -> str:
    if value is None:
        return "no data yet"
    return f"{value:.3f} %".replace(".000 %", " %") if value < 100 else "100 %"


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


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_paragraph(report) -> str:
    """The opening paragraph, for a town manager: recoverability, promises, accepted risks."""
    sentences = []
    tested = [s for s in report.services if s.backups.configured]
    # proven: the month's latest restore test passed, within the data-loss and time targets
    proven = [s for s in tested if s.backups.run and s.backups.tests[-1].verdict == "ok"
              and (s.backups.restore_estimate_seconds or 0) <= s.rto
              and (s.backups.worst_age_seconds or 0) <= s.rpo]
    if not tested:
        sentences.append("No backup restore tests are configured yet, so we cannot yet show "
                         "that any service can be recovered.")
    elif len(tested) == 1 and proven:
        sentences.append(f"{tested[0].name}, the one service with backups, was proven "
                         "restorable within its recovery targets.")
    elif len(proven) == len(tested):
        sentences.append(f"All {len(tested)} services with backups were proven restorable "
                         "within their recovery targets.")
    else:
        names = ", ".join(s.name for s in tested if s not in proven)
        sentences.append(f"{len(proven)} of {plural(len(tested), 'service')} with backups "
                         f"{'was' if len(proven) == 1 else 'were'} proven restorable within "
                         f"their recovery targets; not yet proven: {names}.")
    outages = [s for s in report.services if s.outage_seconds >= 60]
    if not any(s.monitored_seconds for s in report.services):
        sentences.append("Monitoring had not started, so there are no availability figures.")
    elif not outages:
        sentences.append("No service had an outage.")
    else:
        parts = []
        for s in outages[:3]:
            when = day(s.outages[0][0], report.timezone) if len(s.outages) == 1 else \
                f"{len(s.outages)} times"
            parts.append(f"{s.name} was down for {minutes(s.outage_seconds)} ({when})")
        missed = [s.name for s in report.services if s.met_target is False]
        sentences.append("; ".join(parts) + "." + (
            f" Below its availability target: {', '.join(missed)}." if missed
            else " Every service met its availability target."))
    incidents = sum(len(s.incidents) for s in report.services)
    missed_promises = sum(s.promises_missed for s in report.services)
    if incidents:
        sentences.append(f"{plural(incidents, 'incident')}; " + (
            "all were answered within the promised time." if not missed_promises else
            f"{missed_promises} {'was' if missed_promises == 1 else 'were'} not answered "
            "within the promised time."))
    if report.exceptions:
        sentences.append(f"{plural(len(report.exceptions), 'accepted risk')} "
                         f"{'is' if len(report.exceptions) == 1 else 'are'} open (listed "
                         "below with owner and expiry).")
    if report.partial_from:
        sentences.append(f"Monitoring began on {day(report.partial_from, report.timezone)}, so "
                         "this month's figures cover only part of it.")
    return " ".join(sentences)
