"""An incident's timeline, oldest first: its first failed result, when it was confirmed
(hard), each state change, each message written and every delivery attempt, the
acknowledgements (and their clearing), escalations, recovery."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from muni_watchdog.core.model import State

KIND_WORDS = {"problem": "problem message", "reminder": "reminder", "escalation":
              "escalation", "recovery": "recovery message", "children": "follow-up (also "
              "affected)", "maintenance": "maintenance summary"}


@dataclass(frozen=True)
class Entry:
    at: str              # ISO time
    kind: str            # failure, hard, change, message, delivered, failed, ack, escalation...
    text: str
    detail: str = ""


def incident_timeline(store: Any, incident: dict[str, Any]) -> list[Entry]:
    entries = [Entry(incident["opened_at"], "failure", "First failed result"),
               Entry(incident["hard_at"], "hard", "Confirmed: the problem is hard "
                     "(notifications may go out)")]
    for event in store.incident_events(incident["target"], incident["check_name"],
                                       incident["hard_at"], incident["resolved_at"]):
        if event["at"] == incident["hard_at"] and event["kind"] == "problem":
            entries[-1] = Entry(event["at"], "hard", f"Confirmed {State(event['state']).name}"
                                , event["summary"])
        elif event["kind"] == "problem":
            entries.append(Entry(event["at"], "change", f"Now {State(event['state']).name}",
                                 event["summary"]))
        elif event["kind"] in ("flapping_start", "flapping_end"):
            entries.append(Entry(event["at"], "change", "Started flapping" if
                                 event["kind"] == "flapping_start" else "Stopped flapping"))
    notes = store.incident_notifications(incident["id"])
    by_id = {n["id"]: n for n in notes}
    for note in notes:
        what = KIND_WORDS.get(note["kind"], note["kind"])
        via = f" (copy of {by_id[note['fallback_of']]['channel']}'s)" if \
            note["fallback_of"] in by_id else ""
        kind = "escalation" if note["kind"] == "escalation" else "message"
        text = (f"Escalated: {what} to {note['channel']}" if kind == "escalation" else
                f"{what[0].upper()}{what[1:]} written for {note['channel']}{via}")
        entries.append(Entry(note["created_at"], kind, text, note["title"] or note["body"]))
    for attempt in store.delivery_attempts(list(by_id)):
        channel = by_id[attempt["notification_id"]]["channel"]
        if attempt["ok"]:
            entries.append(Entry(attempt["finished_at"], "delivered", f"Delivered to {channel}"))
        elif attempt["finished_at"]:
            entries.append(Entry(attempt["finished_at"], "failed", f"Delivery to {channel} "
                                 "failed", attempt["error"] or ""))
        else:
            entries.append(Entry(attempt["started_at"], "sending", f"Sending to {channel} "
                                 "(no result recorded)"))
    for entry in store.audit_for(f"incident {incident['id']}"):
        data = json.loads(entry["data"] or "{}")
        if entry["action"] == "ack":
            via = f" via {data['via']}" if data.get("via") else " on the command line"
            until = f", until {data['until']}" if data.get("until") else ""
            who = data.get("by") or entry["actor"]
            by_user = f" (by user {entry['actor']})" if entry["actor"] != who else ""
            entries.append(Entry(entry["at"], "ack", f"Acknowledged by {who}{via}{by_user}"
                                 f"{until}", entry["reason"]))
        else:
            entries.append(Entry(entry["at"], "ack", f"{entry['action'].capitalize()} "
                                 f"({entry['actor']})", entry["reason"]))
    if incident["resolved_at"]:
        entries.append(Entry(incident["resolved_at"], "recovery", "Recovered",
                             incident["summary"]))
    return sorted(entries, key=lambda e: e.at or "")
