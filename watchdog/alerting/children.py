"""A parent's outage holds its children's problems (a switch down: the printer behind it is
not paged on its own). The parent's message lists the children held so far; children
confirmed later are told in one follow-up to the same recipients ("also affected:
front-desk-printer/tcp"), as soon as they are confirmed, instead of nothing until the parent
recovers. Each child is told once (the parent's incident remembers them: children_told)."""

from __future__ import annotations

import json
from datetime import datetime

from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerts.policy import held_by_parent
from muni_watchdog.alerts.render import children_message
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store


def child_line(incident: dict) -> str:
    """How a held child is named in its parent's messages."""
    return (f"{incident['target']}/{incident['check_name']} {State(incident['state']).name}: "
            f"{incident['summary']}")


class ParentFollowUp:
    def __init__(self, config: Config, store: Store, isolation: Isolation,
                 messages: MessageWriter):
        self.config = config
        self.store = store
        self.isolation = isolation
        self.messages = messages

    def process(self, now: datetime) -> int:
        """One follow-up per parent whose outage holds children not yet told of; returns the
        messages written."""
        open_incidents = self.store.incidents("open")
        held: dict[str, list[dict]] = {}
        for incident in open_incidents:
            parent = held_by_parent(incident["suppressed_reason"])
            if parent:
                held.setdefault(parent, []).append(incident)
        sent = 0
        for parent_target, children in held.items():
            # The parent's incidents that were told (a parent still pending lists its
            # children in its own message when it goes out).
            told_parents = [i for i in open_incidents if i["target"] == parent_target and
                            i["first_notified_at"] and not i["pending"] and
                            i["suppressed_reason"] is None]
            if not told_parents:
                continue
            known = {c for i in told_parents for c in json.loads(i["children_told"] or "[]")}
            new = [c for c in children if c["id"] not in known]
            if not new:
                continue
            parent = min(told_parents, key=lambda i: i["id"])
            sent += self.isolation.run(f"children:{parent['id']}",
                                       f"the children of incident {parent['id']}",
                                       (parent["target"], parent["check_name"]), self._tell,
                                       parent, new, known, now) or 0
        return sent

    def _tell(self, parent: dict, new: list[dict], known: set[int], now: datetime) -> int:
        channels = json.loads(parent["channels_told"])
        info = self.messages.alert_info(parent, "children", now)
        message = children_message(self.config.site.name, info, [child_line(c) for c in new])
        sent = self.messages.write(message, channels, "children", [parent["id"]], now)
        self.store.update_incident(parent["id"], children_told=json.dumps(
            sorted(known | {c["id"] for c in new})))
        return sent
