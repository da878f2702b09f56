"""The drills done and running, measured, and when each priority 1-2 service is next due:
what ``muni-watchdog drill list`` prints (and ``--json``) and the console's Drills page shows,
read once here so the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from muni_watchdog.reports.drill_report import DrillDue, DrillMeasures, drill_dues, load_drill


@dataclass(frozen=True)
class DrillList:
    drills: list[DrillMeasures]      # oldest first, as the store lists them
    dues: list[DrillDue]


def load_drill_list(store: Any, config: Any, now: datetime) -> DrillList:
    rows = store.drills()
    measured = [load_drill(store, config, d["id"], now) for d in rows]
    return DrillList([m for m in measured if m is not None], drill_dues(config, rows))


def drill_list_dict(listing: DrillList, now: datetime) -> dict[str, Any]:
    """``drill list --json``: each drill's measures, and each service's due date."""
    return {
        "drills": [{"id": m.id, "service": m.service_id, "scenario": m.scenario,
                    "started_at": m.started_at.isoformat(),
                    "ended_at": m.ended_at.isoformat() if m.ended_at else None,
                    "acknowledge_seconds": m.report.acknowledge_seconds,
                    "acknowledged_by": m.report.acknowledged_by,
                    "first_update_seconds": m.first_update_seconds,
                    "recover_seconds": m.recover_seconds,
                    "within_90_minutes": m.within_90_minutes,
                    "missed_updates": m.report.missed_updates,
                    "backup_owner_called": m.backup_owner_called,
                    "backup_owner_reached": m.backup_owner_reached,
                    "changes": len(m.changes)} for m in listing.drills],
        "due": [{"service": d.service_id, "every_seconds": d.every,
                 "last": d.last.isoformat() if d.last else None,
                 "due": d.due.isoformat() if d.due else None,
                 "overdue": d.overdue(now)} for d in listing.dues]}
