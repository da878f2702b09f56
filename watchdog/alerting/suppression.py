"""Why a problem is held back: its parent target is down, a maintenance window covers it, a
risk was accepted, it flaps. Decided again on every pass, so a problem whose reason went away
is told (if the on-call heard something else before)."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerts.policy import Window, parse_recurrence, suppression_reason
from muni_watchdog.alerts.render import local
from muni_watchdog.config.models import Config
from muni_watchdog.core.exercise import is_drill
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso

log = logging.getLogger("muni-watchdog")
RECHECKING = "re-checking after maintenance"


def told_differs(incident: dict) -> bool:
    """The on-call was last told something else: another state, or an outage that was
    still only needing attention (or the reverse) when they heard of it."""
    return (incident["notified_state"] != incident["state"] or
            bool(incident["notified_unavailable"]) != bool(incident["unavailable"]))


class Suppression:
    def __init__(self, config: Config, store: Store, isolation: Isolation):
        self.config = config
        self.store = store
        self.isolation = isolation
        self.parents = {t.id: list(t.parents) for t in config.targets}
        self._window_cache: list[Window] | None = None  # read once per pass

    def begin_pass(self) -> None:
        self._window_cache = None

    def windows(self) -> list[Window]:
        """The maintenance windows, read once per pass; a row that cannot be read is left out
        (and recorded as an alerting error) rather than breaking every suppression decision."""
        if self._window_cache is not None:
            return self._window_cache
        windows = []
        for row in self.store.maintenance_windows():
            try:
                scope = json.loads(row["scope"])
                windows.append(Window(
                    row["id"], frozenset(scope.get("targets", [])),
                    frozenset(scope.get("services", [])), from_iso(row["starts_at"]),
                    from_iso(row["ends_at"]),
                    parse_recurrence(row["recurrence"]) if row["recurrence"] else None,
                    row["reason"], row["owner"]))
            except Exception as exc:
                self.isolation.record(f"maintenance:{row['id']}", f"maintenance {row['id']}",
                                      None, f"cannot read the window: {type(exc).__name__}: "
                                      f"{exc}", exc)
        self._window_cache = windows
        return windows

    def reason(self, target: str, services: list[str], check: str, now: datetime
               ) -> str | None:
        """Why a problem of ``target``/``check`` is held back now, or None. A drill is
        never held: it exercises the call itself."""
        if is_drill(target):
            return None
        down = {i["target"]: i["summary"] for i in self.store.incidents("open")}
        exceptions = [(e["target"], e["check_name"], f"{e['reason']} ({e['owner']}, until "
                       f"{local(from_iso(e['expires_at']), self.config.site.timezone)})",
                       from_iso(e["expires_at"])) for e in self.store.exceptions()]
        return suppression_reason(target, services, self.parents, down, self.windows(),
                                  exceptions, check, now, self.config.site.timezone)

    def resuppress(self, now: datetime) -> None:
        """Decide again for every open incident (after every event of the pass is in: a
        parent failing in the same pass must hold its children back)."""
        self.isolation.each_incident(lambda incident: self._resuppress_one(incident, now))

    def _resuppress_one(self, incident: dict, now: datetime) -> None:
        reason = incident["suppressed_reason"]
        if reason in ("flapping", RECHECKING) or (reason is None and not incident["pending"]):
            return
        new = self.reason(incident["target"], json.loads(incident["services"]),
                          incident["check_name"], now)
        if new != reason:
            fields: dict = {"suppressed_reason": new}
            if new is not None and reason is None:
                fields["pending"] = 0
                log.info("target=%s check=%s problem held: %s", incident["target"],
                         incident["check_name"], new)
            elif new is None:
                # The cause went away (parent back, risk expired): a problem still here is news.
                fields["pending"] = int(told_differs(incident))
                log.info("target=%s check=%s no longer held (%s): notifying",
                         incident["target"], incident["check_name"], reason)
            self.store.update_incident(incident["id"], **fields)
