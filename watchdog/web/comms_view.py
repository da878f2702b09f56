"""What the incident page shows of an incident's communication: its public updates, when the
next is due and how many were missed, whether it is a drill (and which), its review and
follow-ups; and the follow-up rows a form sends (what, owner, due)."""

from __future__ import annotations

import json
from typing import Any

from muni_watchdog.config.communication import cadence_of
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.exercise import is_drill

FOLLOW_UP_ROWS = 3          # empty rows in a review or drill-end form


def comms_view(console: Any, incident: dict[str, Any]) -> dict[str, Any]:
    store = console.store
    drill = store.drill_of_incident(incident["id"]) if is_drill(incident["target"]) else None
    updates = [{**u, "channels": json.loads(u["channels"] or "[]")}
               for u in store.updates(incident["id"])]
    every = cadence_of(console.config, incident)
    return {"updates": updates, "drill": drill, "review": store.review(incident["id"]),
            "follow_ups": store.follow_ups("incident", incident["id"]),
            "cadence": humanize(every) if every else None,
            "last_residents_can": updates[-1]["residents_can"] if updates else ""}


def follow_up_form_rows(form: Any) -> list[tuple[str, str, str]]:
    """The (what, owner, due) rows of a form whose rows repeat the fields ``follow_up``,
    ``owner`` and ``due`` (a browser sends them in order, so the n-th of each is one row)."""
    texts, owners, dues = (list(map(str, form.getall(name, []))) for name in
                           ("follow_up", "owner", "due"))
    count = max(len(texts), len(owners), len(dues))
    pad = [""] * count
    return list(zip((texts + pad)[:count], (owners + pad)[:count], (dues + pad)[:count],
                    strict=True))
