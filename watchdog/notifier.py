"""From events to delivered messages: plan (route + render) and the outbox delivery loop.

Planning happens in the same transaction that records the event, so an event is never stored
without its outbox rows. Delivery is strictly first-in-first-out per channel: a message that
fails holds back the later ones for that channel until it is sent or given up, so the on-call
never gets a recovery before its problem.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.render import AlertInfo, ServiceInfo, render_body, render_title
from alerts.route import choose_channels
from alerts.send import DeliveryError, send
from watchdog.config import Config
from watchdog.engine import CheckSpec
from watchdog.model import Event, EventKind
from watchdog.store import PlannedNotification, Store

log = logging.getLogger("muni-watchdog")
SEND_TIMEOUT = 60.0


class Notifier:
    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime]):
        self.config = config
        self.store = store
        self.clock = clock
        self.channel_urls = config.channel_urls()

    def plan(self, spec: CheckSpec, event: Event) -> list[PlannedNotification]:
        if not event.notify:
            return []
        if event.kind is EventKind.RECOVERY:
            channels = self.store.channels_told_of_problem(spec.key)
        else:
            state = event.state.label if not event.state.is_ok else "warning"
            local = event.at.astimezone(ZoneInfo(self.config.site.timezone))
            channels = choose_channels(self.config.notify.routes, spec.priority, state, local,
                                       self.config.site.business_hours,
                                       self.config.notify.fallback_channels)
        if not channels:
            log.warning("target=%s check=%s %s has no route to anyone; add a route or "
                        "fallback_channels", spec.key.target, spec.key.check, event.kind)
            return []
        alert = self._alert_info(spec, event)
        title, body = render_title(alert), render_body(alert)
        return [PlannedNotification(channel, title, body) for channel in channels]

    def _alert_info(self, spec: CheckSpec, event: Event) -> AlertInfo:
        services = []
        for service_id in spec.services:
            s = self.config.service_by_id[service_id]
            services.append(ServiceInfo(
                s.id, s.name, s.priority, f"{s.owner.name} <{s.owner.contact}>",
                f"{s.backup_owner.name} <{s.backup_owner.contact}>", s.impact))
        return AlertInfo(
            site=self.config.site.name, timezone=self.config.site.timezone,
            kind=str(event.kind), state=event.state.label,
            previous_state=event.previous_state.label, target=spec.key.target,
            host=spec.target.host, check=spec.key.check, summary=event.summary,
            since=event.since, at=event.at, services=tuple(services), priority=spec.priority)

    async def deliver_due(self) -> int:
        """Try every notification whose turn has come; return how many were sent."""
        sent = 0
        now = self.clock()
        blocked: set[str] = set()
        for note in self.store.pending_notifications():
            if note.channel in blocked:
                continue
            blocked.add(note.channel)  # only the oldest pending message per channel goes now
            if note.next_attempt_at > now:
                continue
            if await self._try(note, now):
                sent += 1
                blocked.discard(note.channel)
            now = self.clock()
        return sent

    async def _try(self, note, now: datetime) -> bool:
        urls = self.channel_urls.get(note.channel)
        attempt = self.store.start_attempt(note.id, now)
        error = None
        try:
            if urls is None:
                raise DeliveryError(f"channel {note.channel!r} is no longer configured")
            await asyncio.wait_for(asyncio.to_thread(send, urls, note.title, note.body),
                                   SEND_TIMEOUT)
        except TimeoutError:
            error = f"no answer from the channel within {SEND_TIMEOUT:g}s"
        except DeliveryError as exc:
            error = str(exc)
        except Exception as exc:  # an Apprise plugin bug must not stop the outbox
            log.exception("channel=%s send crashed", note.channel)
            error = f"{type(exc).__name__}: {exc}"
        finished = self.clock()
        if error is None:
            self.store.finish_attempt(attempt, note.id, finished, True, None, None)
            log.info("channel=%s sent notification %d: %s", note.channel, note.id, note.title)
            return True
        retry = self.config.notify.retry
        age = (finished - note.created_at).total_seconds()
        if age >= retry.give_up_after or urls is None:
            self.store.finish_attempt(attempt, note.id, finished, False, error, None)
            log.error("channel=%s gave up on notification %d after %d attempts: %s",
                      note.channel, note.id, note.attempts + 1, error)
            return False
        delay = min(retry.first_delay * 2 ** note.attempts, retry.max_delay)
        self.store.finish_attempt(attempt, note.id, finished, False, error,
                                  finished + timedelta(seconds=delay))
        log.warning("channel=%s notification %d failed (attempt %d), retrying in %.0fs: %s",
                    note.channel, note.id, note.attempts + 1, delay, error)
        return False
