"""The schema of the state database, as the migrations that build it, in order. A database
of any earlier version is brought up to date when it is opened (:meth:`Store.migrate`); a
migration is never changed once released, only followed by another."""

from __future__ import annotations

import sqlite3

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

MIGRATION_COVERAGE = (7, "coverage: when each check had fresh results, kept after runs are "
                      "pruned", """
CREATE TABLE check_watch (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    started_at TEXT NOT NULL, last_at TEXT NOT NULL,
    interval REAL NOT NULL, stale_after REAL NOT NULL,
    known INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX check_watch_by_check ON check_watch (target, check_name, started_at);
CREATE INDEX check_watch_by_end ON check_watch (last_at)
""")

MIGRATION_COMMUNICATION = (10, "incident communication: public updates and their cadence, "
                           "post-incident reviews, follow-ups, announced maintenance", """
CREATE TABLE incident_updates (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    number INTEGER NOT NULL,
    at TEXT NOT NULL, by TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'update',
    status TEXT NOT NULL,
    affected TEXT NOT NULL, since TEXT NOT NULL,
    text TEXT NOT NULL, residents_can TEXT NOT NULL DEFAULT '',
    next_update_by TEXT,
    channels TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX incident_updates_by_incident ON incident_updates (incident_id, number);
ALTER TABLE incidents ADD COLUMN next_update_due TEXT;
ALTER TABLE incidents ADD COLUMN missed_updates INTEGER NOT NULL DEFAULT 0;
CREATE TABLE incident_reviews (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents(id),
    drafted_at TEXT NOT NULL,
    cause TEXT NOT NULL DEFAULT '', reviewed_by TEXT, reviewed_at TEXT
);
INSERT INTO incident_reviews (incident_id, drafted_at)
    SELECT id, resolved_at FROM incidents
    WHERE status = 'resolved' AND priority <= 2 AND first_notified_at IS NOT NULL;
CREATE TABLE follow_ups (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL, source_id INTEGER NOT NULL,
    text TEXT NOT NULL, owner TEXT NOT NULL, due TEXT NOT NULL,
    created_at TEXT NOT NULL, created_by TEXT NOT NULL,
    done_at TEXT, done_by TEXT, done_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX follow_ups_open ON follow_ups (done_at, due);
ALTER TABLE maintenance ADD COLUMN announcement TEXT
""")

MIGRATION_DRILLS = (11, "drills: exercises measured as incidents, and the steps marked done", """
CREATE TABLE drills (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL, scenario TEXT NOT NULL,
    started_at TEXT NOT NULL, started_by TEXT NOT NULL,
    incident_id INTEGER REFERENCES incidents(id),
    recovered_at TEXT,
    ended_at TEXT, ended_by TEXT, went_well TEXT NOT NULL DEFAULT ''
);
CREATE INDEX drills_by_service ON drills (service, started_at);
CREATE TABLE drill_steps (
    id INTEGER PRIMARY KEY,
    drill_id INTEGER NOT NULL REFERENCES drills(id),
    at TEXT NOT NULL, by TEXT NOT NULL, text TEXT NOT NULL,
    recovered INTEGER NOT NULL DEFAULT 0
)
""")

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "initial schema", """
CREATE TABLE check_runs (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    started_at TEXT NOT NULL, duration REAL NOT NULL,
    state INTEGER NOT NULL, summary TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '[]', items TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX check_runs_by_check ON check_runs (target, check_name, started_at);
CREATE INDEX check_runs_by_time ON check_runs (started_at);
CREATE TABLE current_state (
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    state INTEGER NOT NULL, state_type TEXT NOT NULL, hard_state INTEGER NOT NULL,
    attempt INTEGER NOT NULL, since TEXT, problem_since TEXT, last_check TEXT,
    last_hard_change TEXT, summary TEXT NOT NULL, flap_history TEXT NOT NULL,
    flapping INTEGER NOT NULL, notified_state INTEGER NOT NULL, checks_done INTEGER NOT NULL,
    memory TEXT NOT NULL DEFAULT '{}', services TEXT NOT NULL DEFAULT '[]',
    metrics TEXT NOT NULL DEFAULT '[]', items TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (target, check_name)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL, target TEXT NOT NULL, check_name TEXT NOT NULL,
    kind TEXT NOT NULL, state INTEGER NOT NULL, previous_state INTEGER NOT NULL,
    since TEXT NOT NULL, summary TEXT NOT NULL, services TEXT NOT NULL DEFAULT '[]',
    priority INTEGER, notify INTEGER NOT NULL, suppressed_reason TEXT
);
CREATE INDEX events_by_check ON events (target, check_name, at);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    event_id INTEGER REFERENCES events(id),
    channel TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error TEXT, sent_at TEXT
);
CREATE INDEX notifications_pending ON notifications (status, next_attempt_at);
CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER NOT NULL REFERENCES notifications(id),
    started_at TEXT NOT NULL, finished_at TEXT,
    ok INTEGER, error TEXT
);
CREATE TABLE acknowledgements (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL, check_name TEXT NOT NULL, event_id INTEGER,
    by TEXT NOT NULL, reason TEXT, at TEXT NOT NULL, until TEXT
);
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL, owner TEXT NOT NULL, reason TEXT NOT NULL,
    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, recurrence TEXT,
    created_at TEXT NOT NULL, ended_at TEXT
);
"""),
    (2, "backup restore tests", """
CREATE TABLE restore_tests (
    id INTEGER PRIMARY KEY,
    backup TEXT NOT NULL, service TEXT NOT NULL, started_at TEXT NOT NULL,
    full_drill INTEGER NOT NULL DEFAULT 0,
    snapshot_id TEXT, snapshot_time TEXT, age_seconds REAL,
    files INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
    verified INTEGER NOT NULL DEFAULT 0, mismatched INTEGER NOT NULL DEFAULT 0,
    missing INTEGER NOT NULL DEFAULT 0, changed_since_backup INTEGER NOT NULL DEFAULT 0,
    integrity_subset TEXT, integrity_errors INTEGER,
    duration REAL NOT NULL, restore_seconds REAL, bytes_per_second REAL,
    estimated_full_restore_seconds REAL, estimate_basis TEXT, rto_seconds REAL,
    recovery_point TEXT, restic_version TEXT,
    verdict INTEGER NOT NULL, summary TEXT NOT NULL, problems TEXT NOT NULL DEFAULT '[]',
    report TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX restore_tests_by_backup ON restore_tests (backup, started_at);
CREATE TABLE restore_test_state (
    backup TEXT PRIMARY KEY,
    subset_next INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);
"""),
]
MIGRATIONS.append(MIGRATION_ALERTING)
MIGRATIONS.append((4, "reports: when each check was first and last run, monthly figures", """
CREATE TABLE check_seen (
    target TEXT NOT NULL, check_name TEXT NOT NULL,
    first_run TEXT NOT NULL, last_run TEXT NOT NULL,
    PRIMARY KEY (target, check_name)
);
INSERT INTO check_seen (target, check_name, first_run, last_run)
    SELECT target, check_name, min(started_at), max(started_at) FROM check_runs
    GROUP BY target, check_name;
INSERT OR IGNORE INTO check_seen (target, check_name, first_run, last_run)
    SELECT target, check_name, min(since), max(at) FROM events GROUP BY target, check_name;
CREATE TRIGGER check_seen_on_run AFTER INSERT ON check_runs BEGIN
    INSERT INTO check_seen (target, check_name, first_run, last_run)
    VALUES (NEW.target, NEW.check_name, NEW.started_at, NEW.started_at)
    ON CONFLICT (target, check_name) DO UPDATE SET
        first_run = min(first_run, excluded.first_run),
        last_run = max(last_run, excluded.last_run);
END;
CREATE TABLE report_months (
    month TEXT PRIMARY KEY, figures TEXT NOT NULL, written_at TEXT NOT NULL
)
"""))
MIGRATIONS.append((5, "outages per result; the whole message kept for fallback copies", """
ALTER TABLE events ADD COLUMN unavailable INTEGER;
ALTER TABLE current_state ADD COLUMN unavailable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN message TEXT
"""))
MIGRATIONS.append((6, "incidents remember whether they are an outage, and what was told", """
ALTER TABLE incidents ADD COLUMN unavailable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN notified_unavailable INTEGER NOT NULL DEFAULT 0
"""))
MIGRATIONS.append(MIGRATION_COVERAGE)
MIGRATIONS.append((8, "acknowledge links: the short links of SMS messages", """
CREATE TABLE ack_links (
    token TEXT PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    recipient TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE INDEX ack_links_by_expiry ON ack_links (expires_at)
"""))
MIGRATIONS.append((9, "a parent's incident remembers which held children it told of", """
ALTER TABLE incidents ADD COLUMN children_told TEXT NOT NULL DEFAULT '[]'
"""))
MIGRATIONS.append(MIGRATION_COMMUNICATION)
MIGRATIONS.append(MIGRATION_DRILLS)
MIGRATIONS.append((16, "history: daily aggregates of check runs (runs are thinned)", """
CREATE TABLE check_days (
    target TEXT NOT NULL, check_name TEXT NOT NULL, day TEXT NOT NULL,
    runs INTEGER NOT NULL, ok INTEGER NOT NULL, warning INTEGER NOT NULL,
    critical INTEGER NOT NULL, unknown INTEGER NOT NULL,
    duration_total REAL NOT NULL, duration_max REAL NOT NULL,
    PRIMARY KEY (target, check_name, day)
) WITHOUT ROWID
"""))
MIGRATIONS.append((17, "history: monthly aggregates of check runs, kept for good", """
CREATE TABLE check_months (
    target TEXT NOT NULL, check_name TEXT NOT NULL, month TEXT NOT NULL,
    runs INTEGER NOT NULL, ok INTEGER NOT NULL, warning INTEGER NOT NULL,
    critical INTEGER NOT NULL, unknown INTEGER NOT NULL,
    duration_total REAL NOT NULL, duration_max REAL NOT NULL,
    PRIMARY KEY (target, check_name, month)
) WITHOUT ROWID
"""))


def split_statements(script: str) -> list[str]:
    """Split SQL into statements; a trigger body's semicolons stay inside its statement."""
    statements, buffer = [], ""
    for part in script.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \n;"):
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip(" \n;"):
        statements.append(buffer.strip())
    return statements

# Issue 14: the links LLDP/CDP neighbours advertise, with when each was first and last seen,
# kept after check runs are pruned. Filled beside every check run by store.links.record_links
# (the `neighbors` check's `kind: neighbor` items, whatever the check is named), in the run's
# transaction. Times in the store's form (UTC, milliseconds). (Before 13, a trigger on
# check_runs filled it; a database that still has that trigger has it dropped by 13.)
MIGRATION_LINKS = (12, "links: LLDP/CDP neighbours with first and last seen", """
CREATE TABLE links (
    target TEXT NOT NULL, local_port TEXT NOT NULL, remote_key TEXT NOT NULL,
    protocol TEXT, local_port_index INTEGER,
    remote_name TEXT, remote_port TEXT, remote_platform TEXT,
    remote_address TEXT, remote_chassis_id TEXT,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    PRIMARY KEY (target, local_port, remote_key)
);
CREATE INDEX links_by_last_seen ON links (last_seen)
""")
MIGRATIONS.append(MIGRATION_LINKS)
# Check runs no longer keep their items (current_state holds the latest): the links are written
# by the store beside the run (store.links.record_links), not by a trigger on check_runs.
MIGRATIONS.append((13, "links: written beside each run, not by a trigger on check_runs", """
DROP TRIGGER IF EXISTS links_on_run
"""))
# Issue 16: the repository check runs on its own schedule; its runs are rows of restore_tests
# too (the integrity columns filled, no restore), told apart by kind.
MIGRATIONS.append((18, "restore tests: repository checks run apart (kind)", """
ALTER TABLE restore_tests ADD COLUMN kind TEXT NOT NULL DEFAULT 'restore_test'
"""))
# Numbers were reserved per feature; applied in numeric order whatever order they were added in.
MIGRATIONS.sort(key=lambda migration: migration[0])
