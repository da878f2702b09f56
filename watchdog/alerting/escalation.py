"""Problems nobody acknowledged: escalated past the service's response SLA (to the backup
owner, then along the service's escalation steps), otherwise reminded at the priority's
interval."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerting.messages import MessageWriter, acked
from muni_watchdog.alerts.policy import escalation_due, next_reminder
from muni_watchdog.alerts.render import problem_message
from muni_watchdog.config.models import Config
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso, iso

log = logging.getLogger("muni-watchdog")


class Escalation:
    def __init__(self, config: Config, store: Store, isolation: Isolation,
                 messages: MessageWriter):
        self.config = config
        self.store = store
        self.isolation = isolation
        self.messages = messages

    def process(self, now: datetime) -> int:
        """Escalate or remind every open incident that is due; returns the messages written."""
        return self.isolation.each_incident(
            lambda incident: self._escalate_or_remind(incident, now))

    def _escalate_or_remind(self, incident: dict, now: datetime) -> int:
        if (incident["pending"] or incident["suppressed_reason"] or
                not incident["first_notified_at"] or acked(incident, now)):
            return 0
        service_ids = json.loads(incident["services"])
        service = self.config.service_by_id.get(service_ids[0]) if service_ids else None
        told = json.loads(incident["channels_told"])
        level = incident["escalation_level"]
        first = from_iso(incident["first_notified_at"])
        if service is not None and escalation_due(
                first, service.effective_response_sla, level, now,
                [step.after for step in service.escalation]):
            if level == 0:
                channels = (service.backup_owner.channels or
                            self.config.notify.fallback_channels or told)
            else:
                channels = service.escalation[level - 1].channels
            info = self.messages.alert_info(incident, "escalation", now)
            sent = self.messages.write(
                problem_message(self.config.site.name, [info], kind="escalation"), channels,
                "escalation", [incident["id"]], now)
            self.store.update_incident(
                incident["id"], escalation_level=level + 1,
                channels_told=json.dumps(list(dict.fromkeys(told + list(channels)))))
            log.warning("target=%s check=%s incident %d not acknowledged within %ss: "
                        "escalated to %s", incident["target"], incident["check_name"],
                        incident["id"], int(service.effective_response_sla),
                        ", ".join(channels))
            return sent
        due = from_iso(incident["next_reminder_at"])
        if due is None or now < due:
            return 0
        info = self.messages.alert_info(incident, "reminder", now)
        sent = self.messages.write(problem_message(self.config.site.name, [info], kind="reminder"),
                                   told, "reminder", [incident["id"]], now)
        self.store.update_incident(
            incident["id"], next_reminder_at=iso(next_reminder(now, incident["priority"])))
        return sent
