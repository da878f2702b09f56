"""Turn recorded state changes into incidents and messages: the alert loop.

Each run of :meth:`AlertProcessor.process` is one transaction: it consumes unprocessed events
(:mod:`.incidents`), applies suppression (:mod:`.suppression`: parent down, maintenance,
accepted risk, flapping), follows maintenance windows and accepted risks as they end
(:mod:`.maintenance`, :mod:`.accepted_risks`), sends groups that are ready (:mod:`.problems`),
tells a parent's recipients of children its outage holds (:mod:`.children`), escalates
and reminds (:mod:`.escalation`), keeps incident communication to its cadence and
drafts post-incident reports (:mod:`.communication`), and writes every message into the outbox
(:mod:`.messages`; :mod:`.delivery` sends them). A database failure rolls the whole step back,
so it is simply done again. Each event, incident, window and accepted risk is a savepoint of
its own (:mod:`.isolation`): one that raises is rolled back alone, logged and recorded
(``muni-watchdog status`` lists it), and the others are alerted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from muni_watchdog.alerting.accepted_risks import AcceptedRisks
from muni_watchdog.alerting.children import ParentFollowUp
from muni_watchdog.alerting.communication import Communication
from muni_watchdog.alerting.escalation import Escalation
from muni_watchdog.alerting.incidents import IncidentTracker
from muni_watchdog.alerting.isolation import Isolation
from muni_watchdog.alerting.maintenance import MaintenanceWatch
from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerting.problems import ProblemSender
from muni_watchdog.alerting.suppression import Suppression
from muni_watchdog.config.models import Config
from muni_watchdog.store.database import Store


class AlertProcessor:
    """One alert pass at a time, over the parts it is composed of."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime],
                 recheck: Callable[[set[str]], None] | None = None):
        self.config = config
        self.store = store
        self.clock = clock
        self.isolation = Isolation(store)
        self.messages = MessageWriter(config, store)
        self.suppression = Suppression(config, store, self.isolation)
        self.incidents = IncidentTracker(config, store, self.suppression, self.messages)
        self.maintenance = MaintenanceWatch(config, store, self.isolation, self.suppression,
                                            self.messages, recheck or (lambda targets: None))
        self.accepted_risks = AcceptedRisks(config, store, self.isolation, self.messages)
        self.problems = ProblemSender(config, store, self.isolation, self.messages)
        self.escalation = Escalation(config, store, self.isolation, self.messages)
        self.children = ParentFollowUp(config, store, self.isolation, self.messages)
        self.communication = Communication(config, store, self.isolation, self.messages)

    def process(self) -> int:
        """One pass; returns the number of messages written to the outbox.

        The pass is one transaction, and the work on each event, incident, maintenance window
        and accepted risk is a savepoint inside it: when one item raises (a bug, a bad row),
        only that item is rolled back — logged with its traceback, recorded for `status` —
        and every other alert of the pass still goes out."""
        now = self.clock()
        sent = 0
        self.suppression.begin_pass()
        with self.store.db.atomic():
            self.isolation.begin(now)
            held_back: set[tuple[str, str]] = set()
            for event in self.store.unprocessed_events():
                check = (event["target"], event["check_name"])
                key, subject = f"event:{event['id']}", f"event {event['id']}"
                if check in held_back:  # a check's events are handled in order, or not at all
                    self.isolation.record(key, subject, check, "waiting for an earlier event "
                                          "of this check that failed")
                    continue
                done = self.isolation.run(key, subject, check, self._handle_event, event, now)
                if done is None:
                    held_back.add(check)
                sent += done or 0
            sent += self.maintenance.process(now)
            sent += self.accepted_risks.process(now)
            self.suppression.resuppress(now)
            sent += self.problems.flush(now)
            sent += self.children.process(now)
            sent += self.escalation.process(now)
            sent += self.communication.process(now)
            self.isolation.finish()
        return sent

    def _handle_event(self, event: dict, now: datetime) -> int:
        sent = self.incidents.on_event(event, now)
        self.store.mark_processed(event["id"])
        return sent
