"""The alerting half of the state database: incidents, maintenance, exceptions, the audit log
and small daemon state. Mixed into :class:`watchdog.store.Store`; all its SQL lives here."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

MIGRATION_ALERTING = (3, "alerting: incidents, maintenance, exceptions, audit log", """
ALTER TABLE events ADD COLUMN processed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE notifications ADD COLUMN body_format TEXT NOT NULL DEFAULT 'text';
ALTER TABLE notifications ADD COLUMN incident_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE notifications ADD COLUMN kind TEXT NOT NULL DEFAULT 'problem';
ALTER TABLE notifications ADD COLUMN fallback_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN fallback_of INTEGER;
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    services TEXT NOT NULL DEFAULT '[]', priority INTEGER NOT NULL,
    state INTEGER NOT NULL, summary TEXT NOT NULL,
    opened_at TEXT NOT NULL, hard_at TEXT NOT NULL, resolved_at TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    suppressed_reason TEXT, pending INTEGER NOT NULL DEFAULT 0,
    notified_state INTEGER, channels_told TEXT NOT NULL DEFAULT '[]',
    first_notified_at TEXT, last_notified_at TEXT, next_reminder_at TEXT,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    acked_by TEXT, acked_at TEXT, ack_reason TEXT, ack_until TEXT
);
CREATE INDEX incidents_open ON incidents (status, target, check_name);
CREATE TABLE exceptions (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL DEFAULT '*',
    owner TEXT NOT NULL, reason TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL, ended_at TEXT,
    expiry_notified INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE maintenance ADD COLUMN in_window INTEGER NOT NULL DEFAULT 0;
ALTER TABLE maintenance ADD COLUMN summary_due_at TEXT;
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', data TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE daemon_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)
""")

GENESIS = "0" * 64
ALERT_ERROR = "alert-error:"


def _iso(moment: datetime | None) -> str | None:
    from muni_watchdog.store import iso
    return iso(moment)


def audit_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, reason: str,
               data: str) -> str:
    """SHA-256 over the previous hash and this entry's fields, in a fixed order."""
    canonical = json.dumps([prev_hash, at, actor, action, subject, reason, data],
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class AlertingStore:
    """Methods for the alerting tables (``self.db`` is a sqlite_utils Database)."""

    db: Any

    # -- events to process ---------------------------------------------------------------------

    def unprocessed_events(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM events WHERE processed = 0 ORDER BY id"))

    def mark_processed(self, event_id: int) -> None:
        self.db.execute("UPDATE events SET processed = 1 WHERE id = ?", [event_id])

    # -- incidents -------------------------------------------------------------------------

    def open_incident(self, target: str, check: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM incidents WHERE status = 'open' AND target = ? "
                                  "AND check_name = ? ORDER BY id DESC LIMIT 1", [target, check]))
        return rows[0] if rows else None

    def incident(self, incident_id: int) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM incidents WHERE id = ?", [incident_id]))
        return rows[0] if rows else None

    def create_incident(self, **fields: Any) -> int:
        return self.db.table("incidents").insert(fields).last_pk

    def update_incident(self, incident_id: int, **fields: Any) -> None:
        self.db.table("incidents").update(incident_id, fields)

    def incidents(self, status: str | None = "open", limit: int = 500) -> list[dict[str, Any]]:
        if status is None:
            return list(self.db.query("SELECT * FROM incidents ORDER BY id DESC LIMIT ?",
                                      [limit]))
        return list(self.db.query("SELECT * FROM incidents WHERE status = ? ORDER BY id",
                                  [status]))

    def recent_runs(self, target: str, check: str, limit: int = 5) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT started_at, state, summary FROM check_runs WHERE target = ? AND "
            "check_name = ? ORDER BY id DESC LIMIT ?", [target, check, limit]))

    def soft_problem_targets(self) -> set[str]:
        return {r["target"] for r in self.db.query(
            "SELECT DISTINCT target FROM current_state WHERE state_type = 'soft' AND state != 0")}

    def acknowledge(self, incident_id: int, by: str, reason: str, until: datetime | None,
                    now: datetime) -> None:
        self.update_incident(incident_id, acked_by=by, acked_at=_iso(now), ack_reason=reason,
                             ack_until=_iso(until))

    # -- outbox additions ---------------------------------------------------------------------

    def add_notification(self, channel: str, key: str, title: str, body: str, body_format: str,
                         kind: str, incident_ids: list[int], now: datetime,
                         event_id: int | None = None, fallback_of: int | None = None,
                         message: str | None = None) -> int:
        """``message``: the Message as JSON (alerts.render.message_to_json), kept so that a
        fallback copy carries the whole message, laid out for its own channel."""
        cursor = self.db.execute(
            "INSERT INTO notifications (event_id, channel, idempotency_key, title, body, "
            "created_at, next_attempt_at, body_format, incident_ids, kind, fallback_of, "
            "message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [event_id, channel, key, title, body, _iso(now), _iso(now), body_format,
             json.dumps(incident_ids), kind, fallback_of, message])
        return cursor.lastrowid

    def mark_fallback_sent(self, notification_id: int) -> None:
        self.db.execute("UPDATE notifications SET fallback_sent = 1 WHERE id = ?",
                        [notification_id])

    # -- maintenance -------------------------------------------------------------------------

    def add_maintenance(self, targets: list[str], services: list[str], owner: str, reason: str,
                        starts: datetime, ends: datetime, recurrence: str | None,
                        now: datetime) -> int:
        cursor = self.db.execute(
            "INSERT INTO maintenance (scope, owner, reason, starts_at, ends_at, recurrence, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [json.dumps({"targets": targets, "services": services}), owner, reason,
             _iso(starts), _iso(ends), recurrence, _iso(now)])
        return cursor.lastrowid

    def maintenance_windows(self, include_ended: bool = False) -> list[dict[str, Any]]:
        where = "" if include_ended else "WHERE ended_at IS NULL"
        return list(self.db.query(f"SELECT * FROM maintenance {where} ORDER BY id"))

    def update_maintenance(self, window_id: int, **fields: Any) -> None:
        self.db.table("maintenance").update(window_id, fields)

    # -- exceptions ----------------------------------------------------------------------------

    def add_exception(self, target: str, check: str, owner: str, reason: str,
                      expires: datetime, now: datetime) -> int:
        cursor = self.db.execute(
            "INSERT INTO exceptions (target, check_name, owner, reason, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", [target, check, owner, reason, _iso(now),
                                          _iso(expires)])
        return cursor.lastrowid

    def exceptions(self, include_ended: bool = False) -> list[dict[str, Any]]:
        where = "" if include_ended else "WHERE ended_at IS NULL"
        return list(self.db.query(f"SELECT * FROM exceptions {where} ORDER BY id"))

    def update_exception(self, exception_id: int, **fields: Any) -> None:
        self.db.table("exceptions").update(exception_id, fields)

    # -- audit log -----------------------------------------------------------------------------

    def audit(self, actor: str, action: str, subject: str, reason: str, now: datetime,
              data: dict[str, Any] | None = None) -> int:
        """Append an entry chained to the previous one by hash. Call inside a transaction."""
        last = list(self.db.query("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"))
        prev = last[0]["hash"] if last else GENESIS
        at = _iso(now)
        payload = json.dumps(data or {}, sort_keys=True, ensure_ascii=False)
        digest = audit_hash(prev, at, actor, action, subject, reason, payload)
        cursor = self.db.execute(
            "INSERT INTO audit_log (at, actor, action, subject, reason, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [at, actor, action, subject, reason, payload, prev, digest])
        return cursor.lastrowid

    def audit_entries(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM audit_log ORDER BY id"))

    def verify_audit(self) -> tuple[bool, str]:
        """Recompute the chain; (ok, message naming the first broken entry)."""
        prev = GENESIS
        count = 0
        for row in self.db.query("SELECT * FROM audit_log ORDER BY id"):
            if row["prev_hash"] != prev:
                return False, f"entry {row['id']}: its link to the previous entry is broken " \
                    "(an entry was removed or reordered)"
            expected = audit_hash(prev, row["at"], row["actor"], row["action"], row["subject"],
                                  row["reason"], row["data"])
            if row["hash"] != expected:
                return False, f"entry {row['id']}: its content does not match its hash " \
                    "(it was changed after it was written)"
            prev = row["hash"]
            count += 1
        return True, f"{count} entries, chain intact"

    # -- small daemon state ----------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        rows = list(self.db.query("SELECT value FROM daemon_state WHERE key = ?", [key]))
        return rows[0]["value"] if rows else None

    # -- alerting failures (see watchdog.alert_isolation) ----------------------------------------

    def alert_errors(self) -> dict[str, dict[str, str]]:
        """Items the alert loop could not process: key -> {subject, target, check, error,
        since}. Kept in daemon_state so that `status` can show them."""
        return {r["key"].removeprefix(ALERT_ERROR): json.loads(r["value"]) for r in
                self.db.query("SELECT key, value FROM daemon_state WHERE key LIKE ? ORDER BY "
                              "key", [ALERT_ERROR + "%"])}

    def replace_alert_errors(self, errors: dict[str, dict[str, str]]) -> None:
        self.db.execute("DELETE FROM daemon_state WHERE key LIKE ?", [ALERT_ERROR + "%"])
        for key, record in errors.items():
            self.set_state(ALERT_ERROR + key, json.dumps(record, sort_keys=True))

    def set_state(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO daemon_state (key, value) VALUES (?, ?) ON CONFLICT(key) "
                        "DO UPDATE SET value = excluded.value", [key, value])
