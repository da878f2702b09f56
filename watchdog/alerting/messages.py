"""Writing an alert into the outbox: the channels its routes choose, laid out for each channel
(the site named first, and each recipient's own acknowledge links), and the facts an alert
tells (services, owners, recent results). Every part of the alert loop writes its messages
through one :class:`MessageWriter`."""

from __future__ import annotations

import json
import logging
import shlex
import uuid
from collections.abc import Iterable
from datetime import datetime

from muni_watchdog.alerting.ack_links import AckLinks, SigningKeyError, load_key, state_dir_of
from muni_watchdog.alerts.render import (
    AlertInfo,
    Message,
    ServiceInfo,
    layout,
    message_to_json,
    personalise,
    stamp,
)
from muni_watchdog.alerts.route import choose_channels, waits_for_hours
from muni_watchdog.alerts.updates import mark_drill
from muni_watchdog.config.models import Config
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso, iso

log = logging.getLogger("muni-watchdog")
# Where the packaged service keeps its state (StateDirectory=muni-watchdog): the ack command
# printed in a message needs --state-dir only when the daemon runs elsewhere.
PACKAGED_STATE_DIR = "/var/lib/muni-watchdog"

def acked(incident: dict, now: datetime) -> bool:
    """Acknowledged, and the acknowledgement has not run out."""
    if not incident["acked_by"]:
        return False
    until = from_iso(incident["ack_until"])
    return until is None or until > now


class MessageWriter:
    def __init__(self, config: Config, store: Store, links: AckLinks | None = None):
        self.config = config
        self.store = store
        self._formats: dict[str, str] = {}
        self._links = links
        self._links_tried = links is not None
        state_dir = state_dir_of(store)
        self.ack_args = "" if state_dir is None or str(state_dir.resolve()) == \
            PACKAGED_STATE_DIR else f"--state-dir {shlex.quote(str(state_dir.resolve()))}"

    @property
    def links(self) -> AckLinks | None:
        """The acknowledge links, when the console has a public URL (made on first use; a
        key that cannot be read is logged and the messages go out without links)."""
        web = self.config.site.web
        if not self._links_tried:
            self._links_tried = True
            if web is not None and web.public_url and web.ack_links:
                try:
                    key = load_key(state_dir_of(self.store), web.secret_credential)
                    self._links = AckLinks(self.config, self.store, key)
                except SigningKeyError as exc:
                    log.error("web: messages go out without acknowledge links: %s", exc)
        return self._links

    def lay_out(self, message: Message, channel: str, now: datetime) -> tuple[str, str, str]:
        """(title, body, format) of ``message`` for ``channel``: the site named first, and
        the channel's own acknowledge links for the incidents it asks to acknowledge."""
        fmt = self._format(channel)
        message = stamp(message, self.config.site.label)
        if message.acks and self.links is not None:
            message = personalise(message, self.links.links(message.acks, channel, now,
                                                            short=fmt == "sms"))
        return layout(message, fmt)

    def channels_for(self, priority: int, state: str, now: datetime,
                     defer: bool = False, kind: str = "alert") -> list[str]:
        """Channels for an alert; with ``defer``, an empty list when its routes are only
        limited by the time of day (it is sent when their hours begin). ``kind="update"``:
        the channels of the update routes, with no fallback (an update nobody routes is only
        on the status page)."""
        from zoneinfo import ZoneInfo
        local_now = now.astimezone(ZoneInfo(self.config.site.timezone))
        routes = self.config.notify.routes
        channels = choose_channels(routes, priority, state, local_now,
                                   self.config.site.business_hours, kind=kind)
        if channels or kind != "alert":
            return channels
        if defer and waits_for_hours(routes, priority, state):
            return []
        return list(self.config.notify.fallback_channels)

    def _format(self, channel: str) -> str:
        if channel not in self._formats:
            try:
                self._formats[channel] = self.config.channel_format(channel)
            except StopIteration:
                self._formats[channel] = "text"
        return self._formats[channel]

    def write(self, message: Message, channels: Iterable[str], kind: str,
              incident_ids: list[int], now: datetime, event_id: int | None = None) -> int:
        """One outbox row per channel; returns how many were written. Every message about
        a drill's incident says ``[DRILL]`` first."""
        count = 0
        message = self._marked(message, incident_ids)
        for channel in channels:
            title, body, body_format = self.lay_out(message, channel, now)
            # One key per message and channel: a row is sent until it is marked sent, never
            # again after (the outbox row itself is the idempotency record).
            key = (f"{kind}-{'-'.join(map(str, incident_ids)) or 'site'}-{channel}-"
                   f"{iso(now)}-{uuid.uuid4().hex[:12]}")
            self.store.add_notification(channel, key, title, body, body_format, kind,
                                        incident_ids, now, event_id,
                                        message=message_to_json(message))
            count += 1
        return count

    def _marked(self, message: Message, incident_ids: list[int]) -> Message:
        for incident_id in incident_ids:
            drill = self.store.drill_of_incident(incident_id)
            if drill is not None:
                return mark_drill(message, drill["id"], drill["scenario"])
        return message

    def alert_info(self, incident: dict, kind: str, now: datetime) -> AlertInfo:
        """What an alert about ``incident`` tells: the target, its services and owners, the
        last results."""
        target = self.config.target_by_id.get(incident["target"])
        host = target.host if target else "?"
        if incident["target"].startswith("backup:"):
            backup = next((b for b in self.config.backups
                           if f"backup:{b.id}" == incident["target"]), None)
            host = f"restic repository {backup.repository}" if backup else "backup"
        if is_drill(incident["target"]):
            host = "a drill: nothing is really down"
        services = []
        for service_id in json.loads(incident["services"]):
            s = self.config.service_by_id.get(service_id)
            if s is None:
                continue
            services.append(ServiceInfo(
                s.id, s.name, s.priority, f"{s.owner.name} <{s.owner.contact}>",
                f"{s.backup_owner.name} <{s.backup_owner.contact}>", s.impact,
                s.effective_response_sla))
        recent = [(from_iso(r["started_at"]), State(r["state"]).label, r["summary"])
                  for r in self.store.recent_runs(incident["target"], incident["check_name"])]
        acked_by = incident["acked_by"] if acked(incident, now) else None
        return AlertInfo(
            site=self.config.site.name, timezone=self.config.site.timezone, kind=kind,
            state=State(incident["state"]).label,
            previous_state=State(incident["notified_state"] or 0).label,
            target=incident["target"], host=host,
            check=incident["check_name"], summary=incident["summary"],
            since=from_iso(incident["opened_at"]),
            at=from_iso(incident["resolved_at"]) if incident["resolved_at"] else now,
            services=tuple(services), priority=incident["priority"], incident=incident["id"],
            acked_by=acked_by, recent=tuple(recent), unavailable=bool(incident["unavailable"]),
            previous_unavailable=bool(incident["notified_unavailable"]), ack_args=self.ack_args)
