"""The scheduler's triggers: a check's interval (with jitter) and the site's weekly times."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger


def interval_trigger(interval: float) -> IntervalTrigger:
    """Every ``interval`` seconds, with up to 5 % jitter (at most 10 s), so checks of many
    targets drift apart instead of firing together."""
    return IntervalTrigger(seconds=interval, jitter=max(0.0, min(interval * 0.05, 10.0)))


def weekly_trigger(when: str, tz: str) -> CronTrigger:
    """``"mon 10:00"`` (validated by the config) as a cron trigger in the site's zone."""
    day, hhmm = when.split()
    hour, minute = map(int, hhmm.split(":"))
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=tz)
