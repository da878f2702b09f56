"""Times people type (on the command line, in the console's forms): ``now``, ``+2h``,
``2026-11-29 02:00`` in the site's time zone, or ISO 8601. Pure: ``now`` is passed in."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from muni_watchdog.core.durations import DurationError, parse_duration


class WhenError(ValueError):
    """A time that cannot be read; the message says how to write one."""


def parse_when(text: str, tz: str, now: datetime) -> datetime:
    """``now``, ``+2h`` / ``2h``, ``2026-11-29 02:00`` or ``2026-11-29`` (site time), ISO."""
    text = text.strip()
    if text == "now":
        return now
    if re.fullmatch(r"\+?[\d.]+(ms|s|m|h|d|w)(\d+(ms|s|m|h|d|w))*", text):
        try:
            return now + timedelta(seconds=parse_duration(text.lstrip("+")))
        except DurationError as exc:
            raise WhenError(str(exc)) from None
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=ZoneInfo(tz))
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WhenError(f"{text!r} is not a time: write 'now', '+2h', 'YYYY-MM-DD HH:MM' "
                        "(site time) or ISO-8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))
