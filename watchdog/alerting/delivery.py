"""The outbox delivery loop: send what the alert loop wrote, oldest first, per channel.

Delivery is strictly first-in-first-out per channel: a message that fails holds back the later
ones for that channel until it is sent or given up, so the on-call never gets a recovery before
its problem. Each attempt is written before it is tried and its result after. When a channel has
failed ``notify.retry.fallback_after`` times (default 3) for a message, that message and everything
queued behind it also go to the channel's fallback, with the failure itself reported — and the
original channel keeps being retried.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerts.render import (
    Message,
    fallback_message,
    layout,
    message_from_json,
    message_to_json,
)
from muni_watchdog.alerts.send import DeliveryError, send
from muni_watchdog.config.models import Config
from muni_watchdog.store.database import Store
from muni_watchdog.store.outbox import PendingNotification
from muni_watchdog.store.timestamps import iso

log = logging.getLogger("muni-watchdog")
SEND_TIMEOUT = 60.0


class Notifier:
    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime]):
        self.config = config
        self.store = store
        self.clock = clock
        self.channel_urls = config.channel_urls()
        self.writer = MessageWriter(config, store)

    async def deliver_due(self) -> int:
        """Try every notification whose turn has come; return how many were sent. A pass that
        created fallback copies is followed by one more, so they go out at once."""
        self._fell_back = False
        sent = await self._pass()
        if self._fell_back:
            sent += await self._pass()
        return sent

    async def _pass(self) -> int:
        sent = 0
        now = self.clock()
        blocked: set[str] = set()
        failing: dict[str, str] = {}
        for note in self.store.pending_notifications():
            if note.channel in failing and not note.fallback_sent:
                self._fall_back(note, failing[note.channel], now)
            if note.channel in blocked:
                continue
            blocked.add(note.channel)  # only the oldest pending message per channel goes now
            if note.next_attempt_at > now:
                if note.attempts >= self.config.notify.retry.fallback_after:
                    failing[note.channel] = note.last_error or "failing"
                continue
            error = await self._try(note, now)
            if error is None:
                sent += 1
                blocked.discard(note.channel)
            elif note.attempts + 1 >= self.config.notify.retry.fallback_after:
                failing[note.channel] = error
                if not note.fallback_sent:
                    self._fall_back(note, failing[note.channel], now)
            now = self.clock()
        return sent

    def _fall_back(self, note: PendingNotification, error: str, now: datetime) -> None:
        channel = next((c for c in self.config.notify.channels if c.name == note.channel), None)
        candidates = ([channel.fallback] if channel and channel.fallback else
                      list(self.config.notify.fallback_channels))
        targets = [c for c in candidates if c and c != note.channel]
        self._fell_back = True
        with self.store.db.atomic():
            self.store.mark_fallback_sent(note.id)
            if not targets:
                log.error("channel=%s is failing (%s) and has no fallback channel: add "
                          "'fallback:' to it or notify.fallback_channels", note.channel, error)
                return
            failures = self.config.notify.retry.fallback_after
            for target in targets:
                fmt = self.config.channel_format(target)
                title, body, body_format, message = fallback_copy(
                    note, target, fmt, failures, error, self.writer, now)
                self.store.add_notification(
                    target, f"fallback-{note.id}-{target}", title, body, body_format,
                    note.kind, [], now, note.event_id, fallback_of=note.id, message=message)
                log.error("channel=%s failing (%s): notification %d also sent through %s",
                          note.channel, error, note.id, target)

    async def _try(self, note: PendingNotification, now: datetime) -> str | None:
        """Send one notification and record the attempt; the error, or None when sent."""
        urls = self.channel_urls.get(note.channel)
        attempt = self.store.start_attempt(note.id, now)
        error = None
        try:
            if urls is None:
                raise DeliveryError(f"channel {note.channel!r} is no longer configured")
            await asyncio.wait_for(asyncio.to_thread(send, urls, note.title, note.body,
                                                     note.body_format), SEND_TIMEOUT)
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
            log.info("channel=%s sent notification %d: %s", note.channel, note.id,
                     note.title or note.body[:80])
            return None
        retry = self.config.notify.retry
        age = (finished - note.created_at).total_seconds()
        if age >= retry.give_up_after or urls is None:
            self.store.finish_attempt(attempt, note.id, finished, False, error, None)
            log.error("channel=%s gave up on notification %d after %d attempts: %s",
                      note.channel, note.id, note.attempts + 1, error)
            return error
        delay = min(retry.first_delay * 2 ** note.attempts, retry.max_delay)
        self.store.finish_attempt(attempt, note.id, finished, False, error,
                                  finished + timedelta(seconds=delay))
        log.warning("channel=%s notification %d failed (attempt %d), retrying in %.0fs: %s",
                    note.channel, note.id, note.attempts + 1, delay, error)
        return error

    def queue_test(self, channels: list[str], now: datetime, why: str) -> int:
        """Write a test message for each channel into the outbox (the weekly route test)."""
        from muni_watchdog.alerts.render import notice_message
        message = notice_message(
            self.config.site.name, f"[TEST] muni-watchdog: the {why} test message",
            [f"This is the {why} test of this channel. If you read it, alerts reach you here.",
             "No action is needed."], f"muni-watchdog {why} test: this channel works.")
        with self.store.db.atomic():
            for channel in channels:
                title, body, body_format = self.writer.lay_out(message, channel, now)
                self.store.add_notification(channel, f"test-{channel}-{iso(now)}", title, body,
                                            body_format, "test", [], now,
                                            message=message_to_json(message))
        return len(channels)


def fallback_copy(note: PendingNotification, via: str, fmt: str, failures: int,
                  error: str, writer: MessageWriter | None = None,
                  now: datetime | None = None) -> tuple[str, str, str, str | None]:
    """(title, body, body format, message JSON) of the copy of ``note`` for channel ``via``
    (layout ``fmt``): the whole message with the failure on top, laid out for that channel
    (by ``writer``: the site named, ``via``'s own acknowledge links). Rows written before
    messages were kept carry only their body: it is copied whole, the failure put on top."""
    if note.message:
        message = fallback_message(message_from_json(note.message), via, note.channel,
                                   failures, error)
        laid_out = (writer.lay_out(message, via, now or note.created_at) if writer is not None
                    else layout(message, fmt))
        return (*laid_out, message_to_json(message))
    line = (f"DELIVERY PROBLEM: sent through {via} because channel {note.channel} failed "
            f"{failures} times: {error}")
    title = f"[via {via}] {note.title}"
    if fmt == "sms":
        return (*layout(Message(title, (), f"[via {via}: {note.channel} failing] "
                                f"{note.title}"), fmt), None)
    if note.body_format == "html":
        top = f"<p><b>{html.escape(line)}</b></p>"
        body, n = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + top, note.body, count=1)
        return title, body if n else top + note.body, "html", None
    return title, f"{line}\n\n{note.body}", note.body_format, None
