"""Accepted risks (exceptions) that expire: written to the audit log and told, to the on-call
and to the risk's owner, so that nobody's problem stays silenced by a forgotten exception."""

from __future__ import annotations

from datetime import datetime

from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerts.render import local, notice_message
from muni_watchdog.config.models import Config
from muni_watchdog.store.database import Store
from muni_watchdog.store.timestamps import from_iso, iso


class AcceptedRisks:
    def __init__(self, config: Config, store: Store, isolation: Isolation,
                 messages: MessageWriter):
        self.config = config
        self.store = store
        self.isolation = isolation
        self.messages = messages

    def process(self, now: datetime) -> int:
        """Every accepted risk, each isolated from the others; returns the messages written."""
        sent = 0
        for ex in self.store.exceptions():
            sent += self.isolation.run(f"exception:{ex['id']}", f"accepted risk {ex['id']}",
                                       (ex["target"], ex["check_name"]), self._one, ex,
                                       now) or 0
        return sent

    def _one(self, ex: dict, now: datetime) -> int:
        sent = 0
        expires = from_iso(ex["expires_at"])
        if expires <= now and not ex["expiry_notified"]:
            self.store.update_exception(ex["id"], expiry_notified=1, ended_at=iso(now))
            self.store.audit("muni-watchdog", "exception expired", f"exception {ex['id']}",
                             ex["reason"], now, {"target": ex["target"],
                                                 "check": ex["check_name"]})
            what = ex["target"] + ("" if ex["check_name"] == "*" else f"/{ex['check_name']}")
            title = f"[Accepted risk expired] {what}: {ex['reason']}"
            lines = [f"The accepted risk on {what} expired on "
                     f"{local(expires, self.config.site.timezone)}.",
                     f"Owner: {ex['owner']}", f"Reason given: {ex['reason']}", "",
                     "Its problems are alerted again from now on. Renew it with "
                     "'muni-watchdog exception add' if the risk is still accepted."]
            priority = self.config.priority_of(ex["target"]) if ex["target"] in \
                self.config.target_by_id else self.config.site.default_priority
            channels = self.messages.channels_for(priority, "warning", now)
            # The owner is a name; when it is a service's owner or backup owner with channels
            # of their own, they are told directly as well.
            for service in self.config.services:
                for person in (service.owner, service.backup_owner):
                    if person.name == ex["owner"]:
                        channels += [c for c in person.channels if c not in channels]
            sent += self.messages.write(
                notice_message(self.config.site.name, title, lines, title[:160]), channels,
                "exception", [], now)
        return sent
