"""The times people type for incident communication — the next update ("30m", "14:00"), a
follow-up's due date ("2026-12-15" meaning the end of that day) — and follow-ups paired with
their owners and due dates. Shared by the command line and the web console, so both read the
same words the same way."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from muni_watchdog.core.when import WhenError, parse_when


def parse_next(text: str, tz: str, now: datetime) -> datetime:
    """'30m', '+1h', '14:00' (the next such time of day, site time), or parse_when's forms."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if match:
        local = now.astimezone(ZoneInfo(tz))
        moment = local.replace(hour=int(match[1]), minute=int(match[2]), second=0,
                               microsecond=0)
        return moment if moment > local else moment + timedelta(days=1)
    return parse_when(text, tz, now)


def parse_due(text: str, tz: str, now: datetime) -> datetime:
    """A due date: a bare 'YYYY-MM-DD' means the end of that day (site time)."""
    moment = parse_when(text, tz, now)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        moment += timedelta(days=1, seconds=-1)
    return moment


def pair_follow_ups(texts: list[str], owners: list[str], dues: list[str], tz: str,
                    now: datetime) -> list[tuple[str, str, datetime]]:
    """Match each follow-up with its owner and due date, as the command line gives them
    (repeated --follow-up/--owner/--due; one owner or due applies to all)."""
    if not texts:
        if owners or dues:
            raise WhenError("--owner and --due belong to a --follow-up (or --change)")
        return []

    def spread(values: list[str], name: str) -> list[str]:
        if len(values) == 1:
            return values * len(texts)
        if len(values) != len(texts):
            raise WhenError(f"give one {name} for all, or one per item ({len(texts)} given, "
                            f"{len(values)} {name})")
        return values
    owners, dues = spread(owners, "--owner"), spread(dues, "--due")
    return [(t, o, parse_due(d, tz, now)) for t, o, d in zip(texts, owners, dues, strict=True)]


def follow_up_rows(rows: Iterable[tuple[str, str, str]], tz: str,
                   now: datetime) -> list[tuple[str, str, datetime]]:
    """Follow-ups as a form gives them, one (text, owner, due) row each: empty rows are
    skipped; a row with text needs its owner and due date (the error names the row)."""
    out = []
    for number, (text, owner, due) in enumerate(rows, 1):
        text, owner, due = text.strip(), owner.strip(), due.strip()
        if not (text or owner or due):
            continue
        if not text or not owner or not due:
            raise WhenError(f"follow-up {number}: give what, its owner and its due date")
        try:
            out.append((text, owner, parse_due(due, tz, now)))
        except WhenError as exc:
            raise WhenError(f"follow-up {number}: due {due!r}: {exc}") from None
    return out
