"""Who gets told: choose channels for an alert from the routes. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RouteLike(Protocol):
    name: str
    kind: str               # "alert" (technical alerts) or "update" (incident updates)
    priorities: Sequence[int]
    states: Sequence[str]
    hours: str
    channels: Sequence[str]


class HoursLike(Protocol):
    days: Sequence[str]
    start: str
    end: str


def in_business_hours(local: datetime, hours: HoursLike) -> bool:
    """Is ``local`` (a time in the site's zone) within the configured business hours?"""
    if WEEKDAYS[local.weekday()] not in hours.days:
        return False
    now = f"{local.hour:02d}:{local.minute:02d}"
    return hours.start <= now < hours.end


def choose_channels(routes: Sequence[RouteLike], priority: int, state: str, local: datetime,
                    hours: HoursLike, fallback: Sequence[str] = (),
                    kind: str = "alert") -> list[str]:
    """Channels of every route of ``kind`` matching the priority, problem state and time of
    day, in route order without repeats; ``fallback`` when none matches. Update routes carry
    incident updates only (their ``states`` do not apply), alert routes alerts only."""
    business = in_business_hours(local, hours)
    chosen: list[str] = []
    for route in routes:
        if getattr(route, "kind", "alert") != kind or priority not in route.priorities:
            continue
        if kind == "alert" and state not in route.states:
            continue
        if route.hours == "business" and not business:
            continue
        if route.hours == "after_hours" and business:
            continue
        chosen.extend(c for c in route.channels if c not in chosen)
    return chosen or list(fallback)


def waits_for_hours(routes: Sequence[RouteLike], priority: int, state: str) -> bool:
    """True when some route would carry this alert, only not at this time of day: the alert
    waits for its hours instead of going to the fallback channels."""
    return any(getattr(r, "kind", "alert") == "alert" and priority in r.priorities and
               state in r.states and r.hours != "any" for r in routes)
