"""SNMPv2-TC ``DateAndTime`` (RFC 2579) as an ISO 8601 string, tolerating what agents send.

The value is 8 octets (local time, no zone) or 11 (plus direction '+'/'-', hours and minutes
from UTC): year (2 octets, big-endian), month, day, hour, minutes, seconds, deci-seconds.
Agents also send all zeros ("not known"), a 0 year, a printable string ("2019-03-14"), a
Hex-STRING read back as text, or too few octets: those give None or the date they spell."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from muni_watchdog.checks.snmp.values import Value

_TEXT_DATE = re.compile(rb"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def date_and_time(value: Value | None) -> str | None:
    """ISO 8601 (with the offset when the agent gave one), or None when unknown or garbage."""
    if not isinstance(value, bytes | str) or not value:
        return None
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    if raw[:4].isdigit() and (match := _TEXT_DATE.match(raw)):  # a DisplayString date
        parts = [int(p) if p else 0 for p in match.groups()]
        return _iso(*parts[:6], 0, None)
    if len(raw) not in (8, 11):
        return None
    year = int.from_bytes(raw[:2], "big")
    month, day, hour, minute, second, deci = raw[2:8]
    zone = None
    if len(raw) == 11:
        sign, zh, zm = raw[8:11]
        if sign in (ord("+"), ord("-")) and zh <= 14 and zm <= 59:
            offset = timedelta(hours=zh, minutes=zm)
            zone = timezone(-offset if sign == ord("-") else offset)
    return _iso(year, month, day, hour, minute, second, deci, zone)


def _iso(year: int, month: int, day: int, hour: int, minute: int, second: int, deci: int,
         zone: timezone | None) -> str | None:
    if year < 1970 or year > 2100:   # 0: "not known"; others are garbage
        return None
    try:  # seconds may be 60 (a leap second): keep 59
        moment = datetime(year, month, day, hour, minute, min(second, 59),
                          min(deci, 9) * 100_000, tzinfo=zone)
    except ValueError:
        return None
    if zone is not None and zone.utcoffset(None) == timedelta(0):
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()
