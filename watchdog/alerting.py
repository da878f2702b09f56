"""Turn recorded state changes into incidents and messages: the alert loop.

Each run of :meth:`AlertProcessor.process` is one transaction: it consumes unprocessed events,
opens/updates/resolves incidents, applies suppression (parent down, maintenance, accepted risk,
flapping), sends groups that are ready, escalates and reminds, and writes every message into the
outbox. A database failure rolls the whole step back, so it is simply done again. Each event,
incident, window and accepted risk is a savepoint of its own: one that raises is rolled back
alone, logged and recorded (``muni-watchdog status`` lists it), and the others are alerted.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from muni_watchdog.alert_isolation import Isolation
from muni_watchdog.alerts.policy import (
    Window,
    escalation_due,
    group_ready,
    next_reminder,
    occurrence,
    parse_recurrence,
    severity,
    suppression_reason,
    told_again,
)
from muni_watchdog.alerts.render import (
    AlertInfo,
    Message,
    ServiceInfo,
    flapping_message,
    layout,
    local,
    message_to_json,
    notice_message,
    problem_message,
    recovery_message,
)
from muni_watchdog.alerts.route import choose_channels, waits_for_hours
from muni_watchdog.config import Config
from muni_watchdog.model import State
from muni_watchdog.store import Store, from_iso, iso

log = logging.getLogger("muni-watchdog")
RECHECK_GRACE = 20.0          # seconds between a maintenance window's end and its summary
RECHECKING = "re-checking after maintenance"


class AlertProcessor:
    def __init__(self, config: Config, store: Store, clock: Callable[[], datetime],
                 recheck: Callable[[set[str]], None] | None = None):
        self.config = config
        self.store = store
        self.clock = clock
        self.recheck = recheck or (lambda targets: None)
        self.parents = {t.id: list(t.parents) for t in config.targets}
        self._formats: dict[str, str] = {}
        self.isolation = Isolation(store)
        self._window_cache: list[Window] | None = None  # read once per pass

    # -- the loop ------------------------------------------------------------------------------

    def process(self) -> int:
        """One pass; returns the number of messages written to the outbox.

        The pass is one transaction, and the work on each event, incident, maintenance window
        and accepted risk is a savepoint inside it: when one item raises (a bug, a bad row),
        only that item is rolled back — logged with its traceback, recorded for `status` —
        and every other alert of the pass still goes out."""
        now = self.clock()
        sent = 0
        self._window_cache = None
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
            sent += self._maintenance(now)
            sent += self._exceptions(now)
            self._resuppress(now)
            sent += self._flush(now)
            sent += self._escalate_and_remind(now)
            self.isolation.finish()
        return sent

    def _handle_event(self, event: dict, now: datetime) -> int:
        sent = self._on_event(event, now)
        self.store.mark_processed(event["id"])
        return sent

    def _each_incident(self, work: Callable[[dict], int | None]) -> int:
        """``work`` for every open incident, each isolated from the others."""
        sent = 0
        for incident in self.store.incidents("open"):
            sent += self.isolation.run(f"incident:{incident['id']}", f"incident {incident['id']}",
                                       (incident["target"], incident["check_name"]), work,
                                       incident) or 0
        return sent

    # -- helpers -------------------------------------------------------------------------------

    def _windows(self) -> list[Window]:
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

    def _suppression(self, target: str, services: list[str], check: str, now: datetime
                     ) -> str | None:
        down = {i["target"]: i["summary"] for i in self.store.incidents("open")}
        exceptions = [(e["target"], e["check_name"], f"{e['reason']} ({e['owner']}, until "
                       f"{local(from_iso(e['expires_at']), self.config.site.timezone)})",
                       from_iso(e["expires_at"])) for e in self.store.exceptions()]
        return suppression_reason(target, services, self.parents, down, self._windows(),
                                  exceptions, check, now, self.config.site.timezone)

    def _channels_for(self, priority: int, state: str, now: datetime,
                      defer: bool = False) -> list[str]:
        """Channels for an alert; with ``defer``, an empty list when its routes are only
        limited by the time of day (it is sent when their hours begin)."""
        from zoneinfo import ZoneInfo
        local_now = now.astimezone(ZoneInfo(self.config.site.timezone))
        routes = self.config.notify.routes
        channels = choose_channels(routes, priority, state, local_now,
                                   self.config.site.business_hours)
        if channels:
            return channels
        if defer and waits_for_hours(routes, priority, state):
            return []
        return list(self.config.notify.fallback_channels)

    def _format(self, channel: str) -> str:
        if channel not in self._formats:
            try:
                self._formats[channel] = self.config.channel_format(channel)
            except StopIteration:
                self._formats[channel] = "text"
        return self._formats[channel]

    def _send(self, message: Message, channels: Iterable[str], kind: str,
              incident_ids: list[int], now: datetime, event_id: int | None = None) -> int:
        count = 0
        for channel in channels:
            title, body, body_format = layout(message, self._format(channel))
            # One key per message and channel: a row is sent until it is marked sent, never
            # again after (the outbox row itself is the idempotency record).
            key = (f"{kind}-{'-'.join(map(str, incident_ids)) or 'site'}-{channel}-"
                   f"{iso(now)}-{uuid.uuid4().hex[:12]}")
            self.store.add_notification(channel, key, title, body, body_format, kind,
                                        incident_ids, now, event_id,
                                        message=message_to_json(message))
            count += 1
        return count

    def alert_info(self, incident: dict, kind: str, now: datetime) -> AlertInfo:
        target = self.config.target_by_id.get(incident["target"])
        host = target.host if target else "?"
        if incident["target"].startswith("backup:"):
            backup = next((b for b in self.config.backups
                           if f"backup:{b.id}" == incident["target"]), None)
            host = f"restic repository {backup.repository}" if backup else "backup"
        services = []
        for service_id in json.loads(incident["services"]):
            s = self.config.service_by_id.get(service_id)
            if s is None:
                continue
            services.append(ServiceInfo(
                s.id, s.name, s.priority, f"{s.owner.name} <{s.owner.contact}>",
                f"{s.backup_owner.name} <{s.backup_owner.contact}>", s.impact,
                s.effective_response_sla))
        recent = [(from_iso(r["started_at"]), State(r["state"]).label, r["summary"])
                  for r in self.store.recent_runs(incident["target"], incident["check_name"])]
        acked = incident["acked_by"] if self._acked(incident, now) else None
        return AlertInfo(
            site=self.config.site.name, timezone=self.config.site.timezone, kind=kind,
            state=State(incident["state"]).label,
            previous_state=State(incident["notified_state"] or 0).label,
            target=incident["target"], host=host,
            check=incident["check_name"], summary=incident["summary"],
            since=from_iso(incident["opened_at"]),
            at=from_iso(incident["resolved_at"]) if incident["resolved_at"] else now,
            services=tuple(services), priority=incident["priority"], incident=incident["id"],
            acked_by=acked, recent=tuple(recent), unavailable=bool(incident["unavailable"]),
            previous_unavailable=bool(incident["notified_unavailable"]))

    @staticmethod
    def _told_differs(incident: dict) -> bool:
        """The on-call was last told something else: another state, or an outage that was
        still only needing attention (or the reverse) when they heard of it."""
        return (incident["notified_state"] != incident["state"] or
                bool(incident["notified_unavailable"]) != bool(incident["unavailable"]))

    @staticmethod
    def _acked(incident: dict, now: datetime) -> bool:
        if not incident["acked_by"]:
            return False
        until = from_iso(incident["ack_until"])
        return until is None or until > now

    # -- events --------------------------------------------------------------------------------

    def _on_event(self, event: dict, now: datetime) -> int:
        target, check = event["target"], event["check_name"]
        services = json.loads(event["services"])
        priority = event["priority"] or self.config.site.default_priority
        incident = self.store.open_incident(target, check)
        kind = event["kind"]
        held = not event["notify"] and event["suppressed_reason"] == "flapping"
        unavailable = int(bool(event.get("unavailable")))
        if kind == "problem":
            if incident is None:
                # Suppression is decided in _resuppress, once every event of this pass is in
                # (a parent failing in the same pass must hold its children back).
                self.store.create_incident(
                    target=target, check_name=check, services=json.dumps(services),
                    priority=priority, state=event["state"], summary=event["summary"],
                    opened_at=event["since"], hard_at=event["at"], unavailable=unavailable,
                    suppressed_reason="flapping" if held else None, pending=0 if held else 1)
                return 0
            # A CRITICAL that needed attention and is now an outage is worse, too.
            worse = told_again(event["state"], unavailable, incident["state"],
                               incident["unavailable"], incident["notified_state"],
                               incident["notified_unavailable"])
            fields = {"state": event["state"], "summary": event["summary"],
                      "unavailable": unavailable}
            if worse and incident["acked_by"]:
                fields.update(acked_by=None, acked_at=None, ack_reason=None, ack_until=None)
                why = ("the service is now unavailable" if event["state"] == incident["state"]
                       else f"state worsened to {State(event['state']).name}")
                self.store.audit("muni-watchdog", "ack cleared", f"incident {incident['id']}",
                                 why, now)
            if held:
                fields["suppressed_reason"] = "flapping"
            elif worse and incident["suppressed_reason"] is None:
                fields["pending"] = 1
            self.store.update_incident(incident["id"], **fields)
            return 0
        if kind == "recovery":
            if incident is None:
                return 0
            self.store.update_incident(incident["id"], status="resolved", state=0, pending=0,
                                       resolved_at=event["at"], summary=event["summary"])
            told = json.loads(incident["channels_told"])
            if not told:
                return 0  # nobody was told of it, so nobody needs the all-clear
            resolved = self.store.incident(incident["id"])
            info = self.alert_info(resolved, "recovery", now)
            info = AlertInfo(**{**info.__dict__, "previous_state":
                                State(incident["state"]).label, "state": "ok"})
            return self._send(recovery_message(self.config.site.name, info), told, "recovery",
                              [incident["id"]], now, event["id"])
        if kind in ("flapping_start", "flapping_end"):
            if incident is not None:
                if kind == "flapping_start":
                    self.store.update_incident(incident["id"], suppressed_reason="flapping",
                                               pending=0)
                elif incident["suppressed_reason"] == "flapping":
                    self.store.update_incident(
                        incident["id"], suppressed_reason=None,
                        pending=int(self._told_differs(incident)))
            if self._suppression(target, services, check, now):
                return 0
            info = AlertInfo(
                site=self.config.site.name, timezone=self.config.site.timezone, kind=kind,
                state=State(event["state"]).label,
                previous_state=State(event["previous_state"]).label, target=target,
                host=getattr(self.config.target_by_id.get(target), "host", "?"), check=check,
                summary=event["summary"], since=from_iso(event["since"]),
                at=from_iso(event["at"]), priority=priority)
            channels = self._channels_for(priority, "warning", now)
            return self._send(flapping_message(self.config.site.name, info), channels, kind, [],
                              now, event["id"])
        return 0

    # -- suppression changes -----------------------------------------------------------------

    def _resuppress(self, now: datetime) -> None:
        self._each_incident(lambda incident: self._resuppress_one(incident, now))

    def _resuppress_one(self, incident: dict, now: datetime) -> None:
        reason = incident["suppressed_reason"]
        if reason in ("flapping", RECHECKING) or (reason is None and not incident["pending"]):
            return
        new = self._suppression(incident["target"], json.loads(incident["services"]),
                                incident["check_name"], now)
        if new != reason:
            fields: dict = {"suppressed_reason": new}
            if new is not None and reason is None:
                fields["pending"] = 0
                log.info("target=%s check=%s problem held: %s", incident["target"],
                         incident["check_name"], new)
            elif new is None:
                # The cause went away (parent back, risk expired): a problem still here is news.
                fields["pending"] = int(self._told_differs(incident))
                log.info("target=%s check=%s no longer held (%s): notifying",
                         incident["target"], incident["check_name"], reason)
            self.store.update_incident(incident["id"], **fields)

    def _maintenance(self, now: datetime) -> int:
        sent = 0
        windows = {w.id: w for w in self._windows()}
        for row in self.store.maintenance_windows():
            if row["id"] in windows:  # a window whose row cannot be read is recorded already
                sent += self.isolation.run(f"maintenance:{row['id']}",
                                           f"maintenance {row['id']}", None,
                                           self._maintenance_one, row, windows[row["id"]],
                                           now) or 0
        return sent

    def _maintenance_one(self, row: dict, window: Window, now: datetime) -> int:
        sent = 0
        active = occurrence(window, now, self.config.site.timezone) is not None
        if active and not row["in_window"]:
            self.store.update_maintenance(row["id"], in_window=1)
            log.info("maintenance %d started: %s (%s)", row["id"], row["reason"],
                     row["owner"])
        elif not active and row["in_window"]:
            covered = self._covered_targets(window)
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
            sent += self._maintenance_summary(row, window, now)
            fields = {"summary_due_at": None}
            if window.recurrence is None or window.ends <= now:
                fields["ended_at"] = iso(now)
            self.store.update_maintenance(row["id"], **fields)
        return sent

    def _covered_targets(self, window: Window) -> set[str]:
        return {t.id for t in self.config.targets
                if window.covers(t.id, [s.id for s in self.config.services_of(t.id)])}

    def _maintenance_summary(self, row: dict, window: Window, now: datetime) -> int:
        covered = self._covered_targets(window)
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
        channels = self._channels_for(priority, worst.label if not worst.is_ok else "warning",
                                      now)
        message = notice_message(self.config.site.name, title, lines, short)
        count = self._send(message, channels, "maintenance", [i["id"] for i in held], now)
        for incident in held:
            told = sorted(set(json.loads(incident["channels_told"])) | set(channels))
            self.store.update_incident(
                incident["id"], suppressed_reason=None, pending=0, channels_told=json.dumps(told),
                notified_state=incident["state"], last_notified_at=iso(now),
                notified_unavailable=incident["unavailable"],
                first_notified_at=incident["first_notified_at"] or iso(now),
                next_reminder_at=iso(next_reminder(now, incident["priority"])))
        return count

    def _exceptions(self, now: datetime) -> int:
        sent = 0
        for ex in self.store.exceptions():
            sent += self.isolation.run(f"exception:{ex['id']}", f"accepted risk {ex['id']}",
                                       (ex["target"], ex["check_name"]), self._exception_one,
                                       ex, now) or 0
        return sent

    def _exception_one(self, ex: dict, now: datetime) -> int:
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
            channels = self._channels_for(priority, "warning", now)
            # The owner is a name; when it is a service's owner or backup owner with channels
            # of their own, they are told directly as well.
            for service in self.config.services:
                for person in (service.owner, service.backup_owner):
                    if person.name == ex["owner"]:
                        channels += [c for c in person.channels if c not in channels]
            sent += self._send(notice_message(self.config.site.name, title, lines, title[:160]),
                               channels, "exception", [], now)
        return sent

    # -- sending problems ------------------------------------------------------------------------

    def _flush(self, now: datetime) -> int:
        pending = [i for i in self.store.incidents("open")
                   if i["pending"] and i["suppressed_reason"] is None]
        if not pending:
            return 0
        soft = self.store.soft_problem_targets()
        by_target: dict[str, list[dict]] = {}
        for incident in pending:
            by_target.setdefault(incident["target"], []).append(incident)
        sent = 0
        for target, group in by_target.items():
            if len(group) > 1:
                done = self.isolation.run(f"group:{target}", f"the problems of {target}", None,
                                          self._flush_group, target, group, soft, now,
                                          record=False)
                if done is not None:
                    sent += done
                    continue
                # One incident spoils the grouped message: send each on its own, so only the
                # one that fails is held back (and recorded), not its neighbours.
            for incident in group:
                sent += self.isolation.run(f"incident:{incident['id']}",
                                           f"incident {incident['id']}",
                                           (incident["target"], incident["check_name"]),
                                           self._flush_group, target, [incident], soft,
                                           now) or 0
        return sent

    def _flush_group(self, target: str, group: list[dict], soft: set[str], now: datetime
                     ) -> int:
        first_hard = min(from_iso(i["hard_at"]) for i in group)
        if not group_ready(first_hard, now, target in soft, self.config.notify.group_wait):
            return 0
        group = sorted(group, key=lambda i: (severity(i["state"], i["unavailable"]), -i["id"]),
                       reverse=True)
        channels: list[str] = []
        for incident in group:
            for c in self._channels_for(incident["priority"],
                                        State(incident["state"]).label, now, defer=True):
                if c not in channels:
                    channels.append(c)
        if channels:
            # Told again (a worse state, now unavailable): everyone who heard of it before
            # hears it too, the backup owner after an escalation included.
            for incident in group:
                channels += [c for c in json.loads(incident["channels_told"])
                             if c not in channels]
        if not channels and any(waits_for_hours(self.config.notify.routes, i["priority"],
                                                State(i["state"]).label) for i in group):
            return 0  # e.g. a priority-4 problem at night: sent when business hours begin
        also = [f"{i['target']}/{i['check_name']} {State(i['state']).name}: {i['summary']}"
                for i in self.store.incidents("open")
                if i["suppressed_reason"] == f"parent {target} down"]
        infos = [self.alert_info(i, "problem", now) for i in group]
        message = problem_message(self.config.site.name, infos, also)
        sent = self._send(message, channels, "problem", [i["id"] for i in group], now)
        for incident in group:
            told = list(dict.fromkeys(json.loads(incident["channels_told"]) + channels))
            self.store.update_incident(
                incident["id"], pending=0, channels_told=json.dumps(told),
                notified_state=incident["state"], last_notified_at=iso(now),
                notified_unavailable=incident["unavailable"],
                first_notified_at=incident["first_notified_at"] or iso(now),
                next_reminder_at=iso(next_reminder(now, incident["priority"])))
        if not channels:
            log.warning("target=%s problem has no route to anyone; add a route or "
                        "fallback_channels", target)
        return sent

    def _escalate_and_remind(self, now: datetime) -> int:
        return self._each_incident(lambda incident: self._escalate_or_remind(incident, now))

    def _escalate_or_remind(self, incident: dict, now: datetime) -> int:
        if (incident["pending"] or incident["suppressed_reason"] or
                not incident["first_notified_at"] or self._acked(incident, now)):
            return 0
        service_ids = json.loads(incident["services"])
        service = self.config.service_by_id.get(service_ids[0]) if service_ids else None
        told = json.loads(incident["channels_told"])
        level = incident["escalation_level"]
        first = from_iso(incident["first_notified_at"])
        if service is not None and escalation_due(
                first, service.effective_response_sla, level, now,
                [step.after for step in service.escalation]):
            if level == 0:
                channels = (service.backup_owner.channels or
                            self.config.notify.fallback_channels or told)
            else:
                channels = service.escalation[level - 1].channels
            info = self.alert_info(incident, "escalation", now)
            sent = self._send(problem_message(self.config.site.name, [info], kind="escalation"),
                              channels, "escalation", [incident["id"]], now)
            self.store.update_incident(
                incident["id"], escalation_level=level + 1,
                channels_told=json.dumps(list(dict.fromkeys(told + list(channels)))))
            log.warning("target=%s check=%s incident %d not acknowledged within %ss: "
                        "escalated to %s", incident["target"], incident["check_name"],
                        incident["id"], int(service.effective_response_sla),
                        ", ".join(channels))
            return sent
        due = from_iso(incident["next_reminder_at"])
        if due is None or now < due:
            return 0
        info = self.alert_info(incident, "reminder", now)
        sent = self._send(problem_message(self.config.site.name, [info], kind="reminder"),
                          told, "reminder", [incident["id"]], now)
        self.store.update_incident(
            incident["id"], next_reminder_at=iso(next_reminder(now, incident["priority"])))
        return sent
