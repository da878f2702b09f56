"""Acknowledging an incident: the one place that does it, for the command line, the console
and acknowledge links alike. The acknowledgement and its audit entry are one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from muni_watchdog.store.database import Store


class AckError(ValueError):
    """Nothing was acknowledged; ``kind``: unknown, resolved or invalid."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def acknowledge(store: Store, incident_id: int, by: str, reason: str, until: datetime | None,
                now: datetime, via: str | None = None, actor: str | None = None,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Acknowledge an open incident as ``by`` and append the audit entry (``actor``: who made
    the change, default ``by``; ``via``: ``link`` or ``console``, absent for the command line).
    Returns the incident as it was; raises :class:`AckError` and changes nothing when the
    incident is unknown or resolved, or a field is wrong."""
    by, reason = by.strip(), reason.strip()
    if not by:
        raise AckError("invalid", "say who acknowledges it")
    if len(by) > 200 or len(reason) > 2000:
        raise AckError("invalid", "the name (200) or the reason (2,000 characters) is too long")
    if until is not None and until <= now:
        raise AckError("invalid", "the acknowledgement must end in the future")
    incident = store.incident(incident_id)
    if incident is None:
        raise AckError("unknown", f"no incident {incident_id}; see 'muni-watchdog incidents'")
    if incident["status"] != "open":
        raise AckError("resolved", f"incident {incident_id} is already resolved")
    data: dict[str, Any] = {"target": incident["target"], "check": incident["check_name"],
                            "until": until.isoformat() if until else None}
    if via:
        data["via"] = via
        data["by"] = by
    data.update(extra or {})
    with store.db.atomic():
        store.acknowledge(incident_id, by, reason, until, now)
        store.audit(actor or by, "ack", f"incident {incident_id}", reason, now, data)
    return incident
