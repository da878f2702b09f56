"""Recorded events become incidents: a problem opens one (or updates it: worse, now an outage,
flapping), a recovery resolves it and sends the all-clear to everyone who was told, the start
and end of flapping are told as notices."""

from __future__ import annotations

import json
from datetime import datetime

from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerting.suppression import Suppression, told_differs
from muni_watchdog.alerts.policy import told_again
from muni_watchdog.alerts.render import AlertInfo, flapping_message, recovery_message
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso


class IncidentTracker:
    def __init__(self, config: Config, store: Store, suppression: Suppression,
                 messages: MessageWriter):
        self.config = config
        self.store = store
        self.suppression = suppression
        self.messages = messages

    def on_event(self, event: dict, now: datetime) -> int:
        """Apply one event to its check's incident; returns the messages written."""
        target, check = event["target"], event["check_name"]
        services = json.loads(event["services"])
        priority = event["priority"] or self.config.site.default_priority
        incident = self.store.open_incident(target, check)
        kind = event["kind"]
        held = not event["notify"] and event["suppressed_reason"] == "flapping"
        unavailable = int(bool(event.get("unavailable")))
        if kind == "problem":
            if incident is None:
                # Suppression is decided in Suppression.resuppress, once every event of this
                # pass is in (a parent failing in the same pass must hold its children back).
                self.store.create_incident(
                    target=target, check_name=check, services=json.dumps(services),
                    priority=priority, state=event["state"], summary=event["summary"],
                    opened_at=event["since"], hard_at=event["at"], unavailable=unavailable,
                    suppressed_reason="flapping" if held else None, pending=0 if held else 1)
                return 0
            # A CRITICAL that needed attention and is now an outage is worse, too.
            worse = told_again(event["state"], unavailable, incident["state"],
                               incident["unavailable"], incident["notified_state"],
                               incident["notified_unavailable"])
            fields = {"state": event["state"], "summary": event["summary"],
                      "unavailable": unavailable}
            if worse and incident["acked_by"]:
                fields.update(acked_by=None, acked_at=None, ack_reason=None, ack_until=None)
                why = ("the service is now unavailable" if event["state"] == incident["state"]
                       else f"state worsened to {State(event['state']).name}")
                self.store.audit("muni-watchdog", "ack cleared", f"incident {incident['id']}",
                                 why, now)
            if held:
                fields["suppressed_reason"] = "flapping"
            elif worse and incident["suppressed_reason"] is None:
                fields["pending"] = 1
            self.store.update_incident(incident["id"], **fields)
            return 0
        if kind == "recovery":
            if incident is None:
                return 0
            self.store.update_incident(incident["id"], status="resolved", state=0, pending=0,
                                       resolved_at=event["at"], summary=event["summary"])
            told = json.loads(incident["channels_told"])
            if not told:
                return 0  # nobody was told of it, so nobody needs the all-clear
            resolved = self.store.incident(incident["id"])
            info = self.messages.alert_info(resolved, "recovery", now)
            info = AlertInfo(**{**info.__dict__, "previous_state":
                                State(incident["state"]).label, "state": "ok"})
            return self.messages.write(recovery_message(self.config.site.name, info), told,
                                       "recovery", [incident["id"]], now, event["id"])
        if kind in ("flapping_start", "flapping_end"):
            if incident is not None:
                if kind == "flapping_start":
                    self.store.update_incident(incident["id"], suppressed_reason="flapping",
                                               pending=0)
                elif incident["suppressed_reason"] == "flapping":
                    self.store.update_incident(
                        incident["id"], suppressed_reason=None,
                        pending=int(told_differs(incident)))
            if self.suppression.reason(target, services, check, now):
                return 0
            info = AlertInfo(
                site=self.config.site.name, timezone=self.config.site.timezone, kind=kind,
                state=State(event["state"]).label,
                previous_state=State(event["previous_state"]).label, target=target,
                host=getattr(self.config.target_by_id.get(target), "host", "?"), check=check,
                summary=event["summary"], since=from_iso(event["since"]),
                at=from_iso(event["at"]), priority=priority)
            channels = self.messages.channels_for(priority, "warning", now)
            return self.messages.write(flapping_message(self.config.site.name, info), channels,
                                       kind, [], now, event["id"])
        return 0
