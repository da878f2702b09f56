"""A month's incidents as leadership reads them: what broke, in words, and whether the response
promise was kept (acknowledged, or resolved without anyone, within ``response_sla`` of the first
notification)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from muni_watchdog.core.exercise import is_drill
from muni_watchdog.reports.history import History, when
from muni_watchdog.reports.names import check_label, held_words


@dataclass(frozen=True)
class IncidentLine:
    id: int
    check: str                      # target/check: the id, for data; never shown to leadership
    what: str                       # "pay.town.example (website)": what leadership reads
    opened_at: datetime
    resolved_at: datetime | None
    acknowledge_seconds: float | None
    recover_seconds: float | None
    promise_kept: bool | None       # None: nobody was told (held: see ``held``)
    acked_by: str | None
    summary: str
    held: str = ""                  # why nobody was called, in words ("held: its switch ...")


def promise_kept(told: datetime | None, acked: datetime | None, resolved: datetime | None,
                 sla: float, stop: datetime) -> bool | None:
    """Was the response promise kept: acknowledged within ``sla`` of the first notification,
    or resolved within it without anyone? None when nobody was told; an incident still open
    and unacknowledged at ``stop`` is judged at ``stop``."""
    if told is None:
        return None
    due = told + timedelta(seconds=sla)
    if acked is not None:
        return acked <= due
    if resolved is not None:
        return resolved <= due
    return stop <= due


def incident_lines(history: History, config: Any, service: Any, start: datetime,
                   stop: datetime) -> list[IncidentLine]:
    """The month's incidents of ``service``; drills are exercises, left out (they are
    measured in their own section)."""
    lines = []
    sla = service.effective_response_sla
    for row in history.incidents:
        opened = when(row["opened_at"])
        if service.id not in json.loads(row["services"] or "[]") or not start <= opened < stop:
            continue
        if is_drill(row["target"]):
            continue
        resolved, told, acked = (when(row["resolved_at"]), when(row["first_notified_at"]),
                                 when(row["acked_at"]))
        kept = promise_kept(told, acked, resolved, sla, stop)
        lines.append(IncidentLine(
            id=row["id"], check=f"{row['target']}/{row['check_name']}",
            what=check_label(config, row["target"], row["check_name"]), opened_at=opened,
            resolved_at=resolved,
            acknowledge_seconds=(acked - told).total_seconds() if acked and told else None,
            recover_seconds=(resolved - opened).total_seconds() if resolved else None,
            promise_kept=kept, acked_by=row["acked_by"], summary=row["summary"],
            held="" if told else held_words(row.get("suppressed_reason"), config,
                                            history.current)))
    return lines
