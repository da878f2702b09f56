"""What ``status --json``, ``incidents --json``, ``maintenance list --json`` and ``exception
list --json`` print, and what the console's pages show: one function each, so the command
line and the console cannot disagree about any state."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from muni_watchdog.core.exercise import is_drill
from muni_watchdog.core.model import State


def json_list(text: str | None) -> list:
    """A JSON list column; a damaged row shows as empty rather than stopping `status` (the
    alert loop reports such rows as alerting errors)."""
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def status_report(store: Any, owners: dict[str, str], now: datetime) -> dict[str, Any]:
    """Every check's hard state, the open problems and incidents, the alerting errors and
    the outbox counts (``owners``: service id -> owner name, empty without a config)."""
    checks = []
    for row in store.current_states():
        checks.append({
            "target": row["target"], "check": row["check_name"],
            "services": json_list(row["services"]),
            "state": State(row["hard_state"]).label,
            "last_result": State(row["state"]).label, "state_type": row["state_type"],
            "attempt": row["attempt"], "flapping": bool(row["flapping"]),
            "problem_since": row["problem_since"], "last_check": row["last_check"],
            "summary": row["summary"]})
    problems = [c for c in checks if c["state"] != "ok" or c["state_type"] == "soft"]
    incidents = []
    for row in store.incidents("open"):
        services = json_list(row["services"])
        incidents.append({
            "id": row["id"], "target": row["target"], "check": row["check_name"],
            "priority": row["priority"], "state": State(row["state"]).label,
            "opened_at": row["opened_at"], "owner": owners.get(services[0]) if services
            else None, "acked_by": row["acked_by"], "acked_at": row["acked_at"],
            "suppressed": row["suppressed_reason"], "summary": row["summary"],
            "drill": is_drill(row["target"])})
    alert_errors = [{"key": key, **record} for key, record in store.alert_errors().items()]
    return {"generated_at": now.isoformat(), "checks": checks, "problems": problems,
            "incidents": incidents, "alert_errors": alert_errors,
            "notifications": store.notification_counts()}


def worst_state(report: dict[str, Any]) -> State:
    """The exit code of ``status``: the worst hard state, at least UNKNOWN while alerting
    errors are listed (someone may not have been told: the all-clear is not known)."""
    worst = State.worst(State.parse(c["state"]) for c in report["checks"])
    if report["alert_errors"]:
        worst = State.worst([worst, State.UNKNOWN])
    return worst


def incident_list(store: Any, config: Any, include_resolved: bool = False
                  ) -> list[dict[str, Any]]:
    """Incidents, open ones (oldest first) or all (newest first), with their owner."""
    out = []
    for r in store.incidents(None if include_resolved else "open"):
        services = json_list(r["services"])
        owner = config.service_by_id[services[0]].owner.name if services and \
            services[0] in config.service_by_id else None
        out.append({"id": r["id"], "target": r["target"], "check": r["check_name"],
                    "services": services, "priority": r["priority"],
                    "state": State(r["state"]).label, "summary": r["summary"],
                    "opened_at": r["opened_at"], "status": r["status"],
                    "resolved_at": r["resolved_at"], "owner": owner,
                    "suppressed": r["suppressed_reason"], "acked_by": r["acked_by"],
                    "acked_at": r["acked_at"], "ack_reason": r["ack_reason"],
                    "ack_until": r["ack_until"], "escalation_level": r["escalation_level"],
                    "channels_told": json_list(r["channels_told"]),
                    "drill": is_drill(r["target"]),
                    "next_update_due": r.get("next_update_due"),
                    "missed_updates": r.get("missed_updates") or 0})
    return out


def maintenance_list(store: Any, include_ended: bool = False) -> list[dict[str, Any]]:
    return [{**r, "scope": json.loads(r["scope"])}
            for r in store.maintenance_windows(include_ended=include_ended)]


def exception_list(store: Any, include_ended: bool = False) -> list[dict[str, Any]]:
    return list(store.exceptions(include_ended=include_ended))
