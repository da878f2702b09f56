"""What the configuration says about an incident's communication: its service, and the update
cadence it is held to. Shared by the alert loop (reminders) and the reports (timing), so both
apply one rule."""

from __future__ import annotations

import json
from typing import Any

from muni_watchdog.config.models import Config, ServiceConfig
from muni_watchdog.core.exercise import is_drill


def primary_service(config: Config, incident: dict[str, Any]) -> ServiceConfig | None:
    """The incident's most important configured service."""
    found = [config.service_by_id[s] for s in json.loads(incident["services"] or "[]")
             if s in config.service_by_id]
    return min(found, key=lambda s: (s.priority, s.id)) if found else None


def cadence_group(config: Config, incident: dict[str, Any]) -> str | None:
    """Incidents sharing one cadence: a service's real incidents; a drill alone."""
    if is_drill(incident["target"]):
        return incident["target"]
    service = primary_service(config, incident)
    return service.id if service else None


def cadence_of(config: Config, incident: dict[str, Any]) -> float | None:
    """The incident's update cadence in seconds, or None when it needs no public updates.
    Held to one: drills, and incidents of public services that residents feel — an outage,
    or one the on-call has begun to tell residents about (a certificate expiring in ten
    days is not news for residents, and needs no updates)."""
    service = primary_service(config, incident)
    if service is None:
        return None
    drill = is_drill(incident["target"])
    if not drill and not (service.is_public and (incident["unavailable"] or
                                                 incident.get("next_update_due"))):
        return None
    return config.notify.update_cadence.every(incident["priority"])
