"""Durations as people write them in the config: ``30s``, ``5m``, ``4h``, ``7d``, ``1h30m``."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")


MINUTE, HOUR, DAY = 60, 3600, 86400
YEAR = 365 * DAY


class DurationError(ValueError):
    pass


def parse_duration(text: str, maximum: float | None = None) -> float:
    """Return the number of seconds in ``text``; raise :class:`DurationError` with the fix.

    ``maximum`` bounds it: a duration of ``99999999999d`` would pass a bare parse and then
    overflow the first date computed from it (``now + response_sla``)."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise DurationError(f"expected a duration such as 30s, 5m, 4h or 7d, got {text!r}")
    if isinstance(text, int | float):
        raise DurationError(
            f"{text!r} has no unit; write it with one, e.g. '{text}s' or '{text}m'")
    compact = text.strip().replace(" ", "").lower()
    if not _WHOLE.match(compact):
        raise DurationError(
            f"{text!r} is not a duration; write a number and a unit (ms, s, m, h, d, w), "
            "e.g. 30s, 5m, 4h, 7d or 1h30m")
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(compact))
    if seconds <= 0:
        raise DurationError(f"{text!r} must be longer than zero")
    if maximum is not None and not seconds <= maximum:
        limit = spell_limit(maximum)
        exact = format_duration(maximum)
        raise DurationError(f"{text!r} is too long: the allowed range here is up to {limit}"
                            f"{f' ({exact})' if exact != limit else ''}; write a shorter "
                            "duration")
    return seconds


def spell_limit(seconds: float) -> str:
    """A bound as people read it: '1h', '1d', '7d', '10 years'."""
    if seconds >= YEAR and seconds % YEAR == 0:
        years = int(seconds // YEAR)
        return f"{years} year{'s' if years != 1 else ''}"
    return format_duration(seconds)


def format_duration(seconds: float) -> str:
    """The shortest exact-enough spelling: 90 -> '1m30s', 14400 -> '4h', 0.25 -> '250ms'."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    remaining = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2]) or "0s"


def humanize(seconds: float) -> str:
    """Plain words for alerts and reports: '42 minutes', '3 hours 5 minutes', '2 days'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        text = f"{hours} hour{'s' if hours != 1 else ''}"
        return text + (f" {minutes} minute{'s' if minutes != 1 else ''}" if minutes else "")
    days, hours = divmod(hours, 24)
    text = f"{days} day{'s' if days != 1 else ''}"
    return text + (f" {hours} hour{'s' if hours != 1 else ''}" if hours else "")
