"""A state database with a known November 2026, for the report tests (answers in comments)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from muni_watchdog.config.loading import parse_config
from muni_watchdog.store.database import Store

CONFIG = """
site: {{name: Town of Example, timezone: UTC}}
services:
  - id: email
    name: Email
    priority: 1
    rto: 4h
    rpo: 24h
    owner: {{name: Dana, contact: dana@town.example}}
    backup_owner: {{name: Bob, contact: bob@msp.example}}
    targets: [mail]
    backups: [mail-backup]
  - id: payments
    name: Payment portal
    priority: 2
    rto: 8h
    rpo: 24h
    owner: {{name: Kim, contact: kim@town.example}}
    backup_owner: {{name: Bob, contact: bob@msp.example}}
    targets: [pay]
targets:
  - {{id: mail, kind: tcp, host: 127.0.0.1, checks: [{{check: tcp, port: 25}}]}}
  - {{id: pay, kind: http, host: pay.town.example}}
backups:
  - id: mail-backup
    service: email
    repository: /srv/restic/mail
    password_file: /etc/muni-watchdog/secrets/mail.password
    source: /srv/mail
notify:
  channels:
    - name: leadership
      url: mailto://127.0.0.1:{port}?from=watchdog@town.example&to=manager@town.example
reports:
  monthly: {{channel: leadership}}
  digest: {{channel: leadership}}
"""


def t(text: str) -> str:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).isoformat(timespec="milliseconds")


NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def make_config(port: int = 25):
    return parse_config(CONFIG.format(port=port), "town.yaml", check_secrets=False)


def run(store: Store, target: str, check: str, at: str, services: list[str]) -> None:
    store.db.execute("INSERT INTO check_runs (target, check_name, started_at, duration, state, "
                     "summary) VALUES (?, ?, ?, 0.1, 0, 'ok')", [target, check, t(at)])


def event(store: Store, target: str, check: str, kind: str, state: int, since: str, at: str,
          services: list[str]) -> None:
    store.db.table("events").insert(dict(
        at=t(at), target=target, check_name=check, kind=kind, state=state, previous_state=0,
        since=t(since), summary=f"{kind} {state}", services=json.dumps(services), priority=1,
        notify=1, processed=1))


def restore(store: Store, at: str, verdict: int, subset: str, drill: bool = False,
            age: float = 3600, restore_s: float = 60, estimate: float = 1800) -> None:
    store.record_restore_test(dict(
        backup="mail-backup", service="email", started_at=t(at), full_drill=int(drill),
        age_seconds=age, integrity_subset=subset, integrity_errors=0 if verdict != 2 else 1,
        duration=100, restore_seconds=restore_s, estimated_full_restore_seconds=estimate,
        verdict=verdict, summary="restore test"), None)


def build(tmp_path) -> Store:
    store = Store.open(tmp_path / "state")
    # mail monitored since Oct 20; pay only since Nov 16 (a partial month for it)
    run(store, "mail", "tcp", "2026-10-20T09:00:00", ["email"])
    run(store, "mail", "http", "2026-10-20T09:00:00", ["email"])
    run(store, "pay", "http", "2026-11-16T00:00:00", ["payments"])
    # 1) spans the month end: 23:30 Oct 31 -> 00:30 Nov 1: 30 min in each month
    event(store, "mail", "http", "problem", 2, "2026-10-31T23:30:00", "2026-10-31T23:31:00",
          ["email"])
    event(store, "mail", "http", "recovery", 0, "2026-10-31T23:30:00", "2026-11-01T00:30:00",
          ["email"])
    # 2) two checks overlapping on Nov 12: 10:00-10:42 and 10:20-10:50 -> 50 min, not 72
    event(store, "mail", "http", "problem", 2, "2026-11-12T10:00:00", "2026-11-12T10:01:00",
          ["email"])
    event(store, "mail", "tcp", "problem", 2, "2026-11-12T10:20:00", "2026-11-12T10:21:00",
          ["email"])
    event(store, "mail", "http", "recovery", 0, "2026-11-12T10:00:00", "2026-11-12T10:42:00",
          ["email"])
    event(store, "mail", "tcp", "recovery", 0, "2026-11-12T10:20:00", "2026-11-12T10:50:00",
          ["email"])
    # 3) inside the maintenance window of Nov 20 02:00-04:00: not counted
    event(store, "mail", "http", "problem", 2, "2026-11-20T02:30:00", "2026-11-20T02:31:00",
          ["email"])
    event(store, "mail", "http", "recovery", 0, "2026-11-20T02:30:00", "2026-11-20T03:30:00",
          ["email"])
    # 4) a warning on pay at the end of the month: a new problem, not an outage
    event(store, "pay", "http", "problem", 1, "2026-11-28T12:00:00", "2026-11-28T12:01:00",
          ["payments"])
    store.add_maintenance([], ["email"], "Dana", "patch night",
                          datetime(2026, 11, 20, 2, tzinfo=UTC),
                          datetime(2026, 11, 20, 4, tzinfo=UTC), None,
                          datetime(2026, 11, 19, tzinfo=UTC))
    store.create_incident(target="mail", check_name="http", services='["email"]', priority=1,
                          state=2, summary="HTTP 503", opened_at=t("2026-11-12T10:00:00"),
                          hard_at=t("2026-11-12T10:01:00"),
                          resolved_at=t("2026-11-12T10:50:00"), status="resolved",
                          first_notified_at=t("2026-11-12T10:01:00"), acked_by="Dana",
                          acked_at=t("2026-11-12T10:20:00"))
    store.create_incident(target="pay", check_name="http", services='["payments"]',
                          priority=2, state=1, summary="slow", status="open",
                          opened_at=t("2026-11-28T12:00:00"), hard_at=t("2026-11-28T12:01:00"),
                          first_notified_at=t("2026-11-28T12:01:00"))
    # restore tests: failed, then passed, then a full drill; subsets 4 (Oct), 1, 2, 3 of 12
    restore(store, "2026-10-25T03:00:00", 0, "4/12")
    restore(store, "2026-11-05T03:00:00", 2, "1/12")
    restore(store, "2026-11-12T03:00:00", 0, "2/12", age=5 * 3600)
    restore(store, "2026-11-19T03:00:00", 0, "3/12", drill=True, age=7200, restore_s=2400)
    store.add_exception("pay", "*", "Clerk Kim", "vendor upgrade scheduled",
                        datetime(2026, 12, 10, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    items = [{"kind": "package", "name": "openssl", "security": True, "pending_days": 10.0},
             {"kind": "package", "name": "vim", "security": False, "pending_days": 30.0},
             {"kind": "reboot", "required": True, "reasons": ["/run/reboot-required"]}]
    state_row(store, "mail", "patches", items, ["email"])
    state_row(store, "mail", "tcp", [], ["email"])
    return store


def state_row(store: Store, target: str, check: str, items: list, services: list[str],
              metrics: list | None = None, flapping: int = 0) -> None:
    store.db.table("current_state").upsert(dict(
        target=target, check_name=check, state=0, state_type="hard", hard_state=0, attempt=0,
        since=t("2026-11-30T00:00:00"), last_check=t("2026-11-30T23:59:00"), summary="ok",
        flap_history="", flapping=flapping, notified_state=0, checks_done=10, memory="{}",
        services=json.dumps(services), metrics=json.dumps(metrics or []),
        items=json.dumps(items)), pk=("target", "check_name"))
