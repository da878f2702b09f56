"""A town whose configuration is full of distinctive internal names (hosts, addresses, target
ids, check names, owners, channels, notes), and a history made by the real pipeline: check
results through the state machine and the store, incidents and messages through the alert
loop, updates through ``post_update``. The status-page tests grep for every internal name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from muni_watchdog.alerting.communication import post_update
from muni_watchdog.alerting.processor import AlertProcessor
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.model import CheckKey, Outcome, Result, State
from muni_watchdog.core.transitions import Policy, decide
from muni_watchdog.store.database import Store

NOW = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)   # 07:40 in Chicago

# Every string residents must never see. The config below uses each of them.
INTERNAL = [
    "pay-zq7-portal", "paygw-qx41.corp.internal", "10.77.41.9", "tcpprobe-k9", "httpzz-main",
    "db-mx3-primary", "dbhost-vv2.lan", "172.31.250.17", "Xandra Quillfeather",
    "xq@secret-msp.example", "Brunhild Okonkwo", "bo@secret-msp.example", "oncall-zx",
    "comms-zx", "lead-zx", "svc-payzq", "svc-recordszq", "svc-hiddenzq", "lib-zq-wifi",
    "wifi-ctl-zq.lan", "Portal vendor ticket 88317", "rebooting paygw by hand",
    "patch night zq-ops", "jumpbox-zq",
]


def leaked(text: str, names: Iterable[str] = INTERNAL) -> list[str]:
    """The internal ``names`` found in ``text`` (case-insensitive): the no-leak assertion of
    the exported files and of the console's public page is ``leaked(...) == []``."""
    lower = text.lower()
    return [name for name in names if name.lower() in lower]

CONFIG = """
site: {{name: Town of Example, timezone: America/Chicago}}
services:
  - id: svc-payzq
    name: Online utility payments
    priority: 1
    impact: Residents cannot pay water and tax bills online.
    rto: 4h
    rpo: 1h
    owner: {{name: Xandra Quillfeather, contact: xq@secret-msp.example, channels: [oncall-zx]}}
    backup_owner: {{name: Brunhild Okonkwo, contact: bo@secret-msp.example, channels: [lead-zx]}}
    targets: [pay-zq7-portal, db-mx3-primary]
  - id: svc-recordszq
    name: Building permits
    priority: 2
    impact: Permits cannot be applied for online.
    rto: 8h
    rpo: 24h
    owner: {{name: Xandra Quillfeather, contact: xq@secret-msp.example}}
    backup_owner: {{name: Brunhild Okonkwo, contact: bo@secret-msp.example}}
    targets: [db-mx3-primary]
  - id: svc-hiddenzq
    name: Library wifi controller
    priority: 4
    rto: 1d
    rpo: 7d
    owner: {{name: Xandra Quillfeather, contact: xq@secret-msp.example}}
    backup_owner: {{name: Brunhild Okonkwo, contact: bo@secret-msp.example}}
    targets: [lib-zq-wifi]
targets:
  - id: pay-zq7-portal
    kind: http
    host: paygw-qx41.corp.internal
    description: Portal vendor ticket 88317
    checks:
      - {{check: http, name: httpzz-main, url: "https://paygw-qx41.corp.internal/pay"}}
      - {{check: http, name: tcpprobe-k9, url: "https://10.77.41.9/health"}}
  - id: db-mx3-primary
    kind: tcp
    host: 10.77.41.9
    description: dbhost-vv2.lan
    parents: [jumpbox-zq]
    checks: [{{check: tcp, port: 5432}}]
  - id: jumpbox-zq
    kind: tcp
    host: 172.31.250.17
    checks: [{{check: tcp, port: 22}}]
  - id: lib-zq-wifi
    kind: tcp
    host: wifi-ctl-zq.lan
    checks: [{{check: tcp, port: 8443}}]
notify:
  channels:
    - name: oncall-zx
      url: mailto://127.0.0.1:{port}?from=watchdog@town.example&to=oncall@msp.example
    - name: lead-zx
      url: mailto://127.0.0.1:{port}?from=watchdog@town.example&to=lead@msp.example
    - name: comms-zx
      url: mailto://127.0.0.1:{port}?from=watchdog@town.example&to=comms@town.example
  routes:
    - {{name: everything, channels: [oncall-zx]}}
    - {{name: residents-news, kind: update, priorities: [1, 2], channels: [comms-zx]}}
  weekly_test: null
reports:
  status_page: {{export_dir: {export_dir}, contact: "Questions? Call Town Hall at 555-0100."}}
"""


def config_text(port: int = 25, export_dir: str = "/nonexistent/status-zq", extra: str = ""
                ) -> str:
    return CONFIG.format(port=port, export_dir=export_dir) + extra


def make_config(port: int = 25, export_dir: str = "/nonexistent/status-zq", extra: str = ""):
    return parse_config(config_text(port, export_dir, extra), "town.yaml", check_secrets=False)


KEYS = [CheckKey("pay-zq7-portal", "httpzz-main"), CheckKey("pay-zq7-portal", "tcpprobe-k9"),
        CheckKey("db-mx3-primary", "tcp"), CheckKey("jumpbox-zq", "tcp"),
        CheckKey("lib-zq-wifi", "tcp")]


def outcome(state: State, key: CheckKey) -> Outcome:
    """A result that names internals (as real summaries do): the page must not show it."""
    words = {State.OK: f"{key.target} answered on paygw-qx41.corp.internal",
             State.CRITICAL: f"HTTP 503 from paygw-qx41.corp.internal (10.77.41.9) on {key}",
             State.WARNING: f"slow answer from paygw-qx41.corp.internal on {key}",
             State.UNKNOWN: f"no answer from dbhost-vv2.lan ({key.check})"}[state]
    return Outcome.of([Result(state, words, affects_availability=state is State.CRITICAL)])


def simulate(store: Store, config, start: datetime, end: datetime, step: float,
             state_at: Callable[[CheckKey, datetime], State],
             keys: Iterable[CheckKey] = KEYS, alerts: bool = True) -> None:
    """Run every check each ``step`` seconds from ``start`` to ``end`` through the state
    machine and the store (with coverage), and the alert loop after each round that changed
    a state (and after the last)."""
    policy = Policy(check_interval=step, retry_interval=step, max_attempts=1,
                    recovery_attempts=1, flap_detection=False)
    clock = [start]
    processor = AlertProcessor(config, store, lambda: clock[0])
    keys = list(keys)
    moment = start
    while moment <= end:
        clock[0] = moment
        changed = moment + timedelta(seconds=step) > end
        for key in keys:
            result = outcome(state_at(key, moment), key)
            previous, _ = store.load_status(key)
            decision = decide(previous, result.state, result.summary, policy, moment,
                              unavailable=result.unavailable)
            services = [s.id for s in config.services_of(key.target)]
            store.record_run(key, moment, 0.1, result, decision.status, {}, services,
                             config.priority_of(key.target), decision.events, interval=step)
            changed = changed or bool(decision.events)
        if alerts and changed:
            processor.process()
        moment += timedelta(seconds=step)


def between(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


def day(n: int, hour: int = 0, minute: int = 0) -> datetime:
    """``n`` days before NOW's date, at hour:minute UTC."""
    base = NOW.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=n)
    return base + timedelta(hours=hour, minutes=minute)


PORTAL, PROBE, DB = KEYS[0], KEYS[1], KEYS[2]
OUTAGE_STARTS = NOW - timedelta(hours=2)


def history_state(key: CheckKey, moment):
    if key.target == "pay-zq7-portal" and between(moment, day(12, 14), day(12, 16)):
        return State.CRITICAL                     # two hours down, twelve days ago
    if key.target == "pay-zq7-portal" and moment >= OUTAGE_STARTS:
        return State.CRITICAL                     # down now
    if key == DB and between(moment, day(6, 1), day(6, 23)):
        return State.UNKNOWN                      # the monitor could not see it for a day
    return State.OK


def build_town(root: Path):
    """A file-backed state database in ROOT/state (and ROOT/town.yaml) with 20 days of
    history, a current outage with an update, and maintenance windows (announced and
    internal); returns the configuration."""
    config = make_config(export_dir=str(root / "public"))
    (root / "town.yaml").write_text(config_text(export_dir=str(root / "public")))
    store = Store.open(root / "state")
    simulate(store, config, day(20), NOW, 3600, history_state, keys=[PORTAL, PROBE, DB])
    incident = next(i for i in store.incidents("open") if i["check_name"] == "httpzz-main")
    post_update(config, store, incident["id"], "Xandra Quillfeather",
                "We are restarting the payment system with the vendor.",
                "Pay by phone at 555-0199 or at the Town Hall counter.", None,
                NOW - timedelta(minutes=10))
    store.add_maintenance([], ["svc-recordszq"], "Brunhild Okonkwo", "patch night zq-ops",
                          NOW - timedelta(minutes=30), NOW + timedelta(hours=1), None, NOW,
                          announcement="Permit applications are paused while we upgrade "
                          "the permit system.")
    store.add_maintenance(["pay-zq7-portal"], [], "Brunhild Okonkwo", "rebooting paygw by hand",
                          NOW + timedelta(days=3), NOW + timedelta(days=3, hours=2), None, NOW,
                          announcement="Online payments will be unavailable for an upgrade.")
    store.add_maintenance(["db-mx3-primary"], [], "Brunhild Okonkwo", "patch night zq-ops",
                          NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1), None, NOW)
    store.close()
    return config
