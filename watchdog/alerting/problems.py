"""Sending problems: the pending incidents of a target go out together once its group wait
has passed (a target whose other checks are still soft waits for them), to the channels the
routes choose and to everyone who heard of the problem before."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from muni_watchdog.alerting.children import child_line
from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerts.policy import group_ready, next_reminder, parent_down_reason, severity
from muni_watchdog.alerts.render import problem_message
from muni_watchdog.alerts.route import waits_for_hours
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso, iso

log = logging.getLogger("muni-watchdog")


class ProblemSender:
    def __init__(self, config: Config, store: Store, isolation: Isolation,
                 messages: MessageWriter):
        self.config = config
        self.store = store
        self.isolation = isolation
        self.messages = messages

    def flush(self, now: datetime) -> int:
        """Send every group that is ready; returns the messages written."""
        pending = [i for i in self.store.incidents("open")
                   if i["pending"] and i["suppressed_reason"] is None]
        if not pending:
            return 0
        soft = self.store.soft_problem_targets()
        by_target: dict[str, list[dict]] = {}
        for incident in pending:
            by_target.setdefault(incident["target"], []).append(incident)
        sent = 0
        for target, group in by_target.items():
            if len(group) > 1:
                done = self.isolation.run(f"group:{target}", f"the problems of {target}", None,
                                          self._flush_group, target, group, soft, now,
                                          record=False)
                if done is not None:
                    sent += done
                    continue
                # One incident spoils the grouped message: send each on its own, so only the
                # one that fails is held back (and recorded), not its neighbours.
            for incident in group:
                sent += self.isolation.run(f"incident:{incident['id']}",
                                           f"incident {incident['id']}",
                                           (incident["target"], incident["check_name"]),
                                           self._flush_group, target, [incident], soft,
                                           now) or 0
        return sent

    def _flush_group(self, target: str, group: list[dict], soft: set[str], now: datetime
                     ) -> int:
        first_hard = min(from_iso(i["hard_at"]) for i in group)
        if not group_ready(first_hard, now, target in soft, self.config.notify.group_wait):
            return 0
        group = sorted(group, key=lambda i: (severity(i["state"], i["unavailable"]), -i["id"]),
                       reverse=True)
        channels: list[str] = []
        for incident in group:
            for c in self.messages.channels_for(incident["priority"],
                                                State(incident["state"]).label, now,
                                                defer=True):
                if c not in channels:
                    channels.append(c)
        if channels:
            # Told again (a worse state, now unavailable): everyone who heard of it before
            # hears it too, the backup owner after an escalation included.
            for incident in group:
                channels += [c for c in json.loads(incident["channels_told"])
                             if c not in channels]
        if not channels and any(waits_for_hours(self.config.notify.routes, i["priority"],
                                                State(i["state"]).label) for i in group):
            return 0  # e.g. a priority-4 problem at night: sent when business hours begin
        children = [i for i in self.store.incidents("open")
                    if i["suppressed_reason"] == parent_down_reason(target)]
        also = [child_line(i) for i in children]
        infos = [self.messages.alert_info(i, "problem", now) for i in group]
        message = problem_message(self.config.site.name, infos, also)
        sent = self.messages.write(message, channels, "problem", [i["id"] for i in group], now)
        for incident in group:
            told = list(dict.fromkeys(json.loads(incident["channels_told"]) + channels))
            self.store.update_incident(
                incident["id"], pending=0, channels_told=json.dumps(told),
                notified_state=incident["state"], last_notified_at=iso(now),
                notified_unavailable=incident["unavailable"],
                first_notified_at=incident["first_notified_at"] or iso(now),
                next_reminder_at=iso(next_reminder(now, incident["priority"])),
                children_told=json.dumps(sorted(
                    set(json.loads(incident["children_told"] or "[]")) |
                    {c["id"] for c in children})))
        if not channels:
            log.warning("target=%s problem has no route to anyone; add a route or "
                        "fallback_channels", target)
        return sent
