"""The scheduler's triggers: a check's interval (with jitter) and the site's weekly times."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger


class SteadyInterval(IntervalTrigger):
    """An interval whose jitter does not add up. APScheduler 3's IntervalTrigger counts the
    next run from the previous *jittered* one, so each run's jitter shifts all later ones: a
    60 s check with up to 3 s of jitter ran every 61.5 s on average (the bench counted 490
    polls a minute where 500 devices were configured; a 5-minute check ran every 305 s). Here each run is jittered
    from a steady beat, one interval after the last: runs come every ``interval`` on
    average. A run moved by hand (``modify_job``: a maintenance window's end, "run now")
    starts a new beat from that run."""

    # The beat of each run time this trigger gave lately (APScheduler asks twice from the
    # same run: once to find the runs that are due, once for the next).
    _beats: dict[datetime, datetime] | None = None

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        beats = self._beats
        if beats is None:
            beats = self._beats = {}
        if previous_fire_time is None:
            jitter, self.jitter = self.jitter, None   # the first beat, as APScheduler finds it
            try:
                beat = super().get_next_fire_time(None, now)
            finally:
                self.jitter = jitter
        elif previous_fire_time in beats:
            beat = beats[previous_fire_time] + self.interval   # the beat after that run's
        else:
            beat = previous_fire_time + self.interval   # moved by hand: a new beat
        if beat is None:
            return None
        fire = beat + timedelta(seconds=random.uniform(0, self.jitter or 0))
        beats[fire] = beat
        while len(beats) > 4:
            del beats[next(iter(beats))]
        return fire


def interval_trigger(interval: float) -> IntervalTrigger:
    """Every ``interval`` seconds, with up to 5 % jitter (at most 10 s), so checks of many
    targets drift apart instead of firing together."""
    return SteadyInterval(seconds=interval, jitter=max(0.0, min(interval * 0.05, 10.0)))


def weekly_trigger(when: str, tz: str) -> CronTrigger:
    """``"mon 10:00"`` (validated by the config) as a cron trigger in the site's zone."""
    day, hhmm = when.split()
    hour, minute = map(int, hhmm.split(":"))
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=tz)
