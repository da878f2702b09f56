"""Maintenance windows as they start and end: the targets they covered are checked again at
the end, and one summary says what came back and what is still failing (instead of a storm of
held-back problems)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerting.suppression import RECHECKING, Suppression
from muni_watchdog.alerts.policy import Window, next_reminder, occurrence
from muni_watchdog.alerts.render import notice_message
from muni_watchdog.config.models import Config
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso, iso

log = logging.getLogger("muni-watchdog")
RECHECK_GRACE = 20.0          # seconds between a maintenance window's end and its summary


class MaintenanceWatch:
    def __init__(self, config: Config, store: Store, isolation: Isolation,
                 suppression: Suppression, messages: MessageWriter,
                 recheck: Callable[[set[str]], None]):
        self.config = config
        self.store = store
        self.isolation = isolation
        self.suppression = suppression
        self.messages = messages
        self.recheck = recheck

    def process(self, now: datetime) -> int:
        """Every window, each isolated from the others; returns the messages written."""
        sent = 0
        windows = {w.id: w for w in self.suppression.windows()}
        for row in self.store.maintenance_windows():
            if row["id"] in windows:  # a window whose row cannot be read is recorded already
                sent += self.isolation.run(f"maintenance:{row['id']}",
                                           f"maintenance {row['id']}", None,
                                           self._one, row, windows[row["id"]], now) or 0
        return sent

    def _one(self, row: dict, window: Window, now: datetime) -> int:
        sent = 0
        active = occurrence(window, now, self.config.site.timezone) is not None
        if active and not row["in_window"]:
            self.store.update_maintenance(row["id"], in_window=1)
            log.info("maintenance %d started: %s (%s)", row["id"], row["reason"],
                     row["owner"])
        elif not active and row["in_window"]:
            covered = self.covered_targets(window)
            self.store.update_maintenance(row["id"], in_window=0, summary_due_at=iso(
                now + timedelta(seconds=RECHECK_GRACE)))
            for incident in self.store.incidents("open"):
                if incident["target"] in covered and (incident["suppressed_reason"] or ""
                                                      ).startswith("maintenance"):
                    self.store.update_incident(incident["id"], suppressed_reason=RECHECKING)
            log.info("maintenance %d ended: re-checking %d targets", row["id"],
                     len(covered))
            self.recheck(covered)
        if row["summary_due_at"] and from_iso(row["summary_due_at"]) <= now:
            sent += self._summary(row, window, now)
            fields = {"summary_due_at": None}
            if window.recurrence is None or window.ends <= now:
                fields["ended_at"] = iso(now)
            self.store.update_maintenance(row["id"], **fields)
        return sent

    def covered_targets(self, window: Window) -> set[str]:
        return {t.id for t in self.config.targets
                if window.covers(t.id, [s.id for s in self.config.services_of(t.id)])}

    def _summary(self, row: dict, window: Window, now: datetime) -> int:
        covered = self.covered_targets(window)
        states = [s for s in self.store.current_states() if s["target"] in covered]
        broken = [s for s in states if s["state"] != 0 or s["hard_state"] != 0]
        held = [i for i in self.store.incidents("open") if i["suppressed_reason"] == RECHECKING]
        ok = len(states) - len(broken)
        title = (f"[Maintenance ended] {row['reason']}: {ok} of {len(states)} checks OK"
                 + (f"; {len(broken)} still failing" if broken else ""))
        lines = [f"Maintenance window {row['id']} ({row['reason']}, {row['owner']}) has ended "
                 "and everything in it was checked again.", ""]
        if broken:
            lines.append("Still failing:")
            lines += [f"  {s['target']}/{s['check_name']} {State(s['state']).name}: "
                      f"{s['summary']}" for s in broken]
        else:
            lines.append("Everything came back.")
        short = title[:160]
        priority = min([i["priority"] for i in held] or
                       [self.config.priority_of(t) for t in covered] or
                       [self.config.site.default_priority])
        worst = State.worst(State(s["state"]) for s in broken) if broken else State.WARNING
        channels = self.messages.channels_for(
            priority, worst.label if not worst.is_ok else "warning", now)
        message = notice_message(self.config.site.name, title, lines, short)
        count = self.messages.write(message, channels, "maintenance", [i["id"] for i in held],
                                    now)
        for incident in held:
            told = sorted(set(json.loads(incident["channels_told"])) | set(channels))
            self.store.update_incident(
                incident["id"], suppressed_reason=None, pending=0, channels_told=json.dumps(told),
                notified_state=incident["state"], last_notified_at=iso(now),
                notified_unavailable=incident["unavailable"],
                first_notified_at=incident["first_notified_at"] or iso(now),
                next_reminder_at=iso(next_reminder(now, incident["priority"])))
        return count
