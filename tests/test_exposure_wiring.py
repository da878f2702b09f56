"""The exposure check wired into the daemon: on every kind of target by default, with facts
from the configuration and the store (device class, URLs, Windows, ports, services), and,
against the lab's open doors (net-snmp answering ``public``, telnet, FTP, a plain-HTTP admin
page), an alert that names the service the door endangers, its owner, the response promise
and the fix."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.exposure_lab import DemoDoors
from muni_watchdog.checks.exposure.check import ExposureCheck
from muni_watchdog.config.loading import load_config
from muni_watchdog.core.model import CheckKey, Outcome, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs
from muni_watchdog.daemon.exposure_facts import ExposureFacts, exposure_check, target_facts
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.store.database import Store

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SERVICES = """\
services:
  - id: network
    name: Town hall network
    priority: 2
    rto: 8h
    rpo: 24h
    response_sla: 4h
    owner: {name: Pat Kim, contact: pat@town.example}
    backup_owner: {name: Dana Reyes, contact: dana@msp.example}
    targets: [old-switch, printer, portal, srv, win]
"""


def config_of(tmp_path: Path, targets: str, head: str = "site: {name: Testville}\n"):
    path = tmp_path / "c.yaml"
    path.write_text(head + SERVICES + "targets:\n" + targets)
    return load_config(path, check_secrets=False)


TARGETS = """\
  - id: printer
    kind: snmp
    host: 192.0.2.40
    snmp: {community_file: /nonexistent}
  - id: old-switch
    kind: snmp
    host: 192.0.2.2
    snmp: {community_file: /nonexistent, port: 1161}
    checks: [{check: system}, {check: device, device_class: network}, {check: exposure}]
  - id: portal
    kind: http
    host: pay.town.example
    checks: [{check: http, url: "https://pay.town.example:8443/login"}, {check: exposure}]
  - id: srv
    kind: ssh
    host: 192.0.2.30
    ssh: {user: w, key_file: /nonexistent, port: 2222}
  - id: win
    kind: ssh
    host: 192.0.2.31
    ssh: {user: w, key_file: /nonexistent}
    checks: [{check: vulnerabilities}, {check: exposure}]
  - id: router
    kind: tcp
    host: 192.0.2.1
"""


def record(store: Store, target: str, check: str, items: list[dict]) -> None:
    outcome = Outcome.of([], items=items)
    decision = decide(None, State.OK, "ok", build_policy(), T0, False)
    store.record_run(CheckKey(target, check), T0, 0.1, outcome, decision.status, {}, (), 3,
                     decision.events)


def build_policy():
    from muni_watchdog.core.transitions import Policy
    return Policy(check_interval=60, retry_interval=20, max_attempts=3, recovery_attempts=1)


def test_every_kind_gets_exposure_by_default_and_the_daemon_wires_its_facts(tmp_path):
    config = config_of(tmp_path, TARGETS)
    checks = {t.id: [c.check for c in t.checks] for t in config.targets}
    assert checks["printer"][-1] == checks["srv"][-1] == checks["router"][-1] == "exposure"
    assert checks["router"] == ["exposure"]
    store = Store.memory()
    record(store, "printer", "system", [{"device_class": "printer", "vendor": "HP"}])
    record(store, "win", "vulnerabilities", [{"kind": "hotfix", "id": "KB5034127"}])
    specs = {str(s.key): s for s in build_specs(config, {"exposure": exposure_check(config,
                                                                                     store)})}
    facts = {key.split("/")[0]: spec.check_type._facts(spec.target)
             for key, spec in specs.items() if key.endswith("/exposure")}
    # The class the system check detected; the one a device check is told.
    assert facts["printer"].device_class == "printer"
    assert facts["old-switch"].device_class == "network"
    assert (facts["old-switch"].snmp_port, facts["old-switch"].snmp_version) == (1161, "2c")
    # The URLs of the target's http checks (their TLS endpoints are probed).
    assert facts["portal"].urls == ("https://pay.town.example:8443/login",)
    # SSH: the connection's port is probed too; Windows from the hotfix list it reported.
    assert (facts["srv"].ssh_port, facts["srv"].windows) == (2222, False)
    assert facts["win"].windows
    # Every finding names the services the target runs.
    assert facts["portal"].services == ("Town hall network",)
    assert facts["router"].services == ()
    # Without the store (muni-watchdog check on a fresh box): the config's facts only.
    bare = target_facts(config, None, specs["printer/exposure"].target)
    assert bare.device_class is None and bare.host == "192.0.2.40"
    # The check type registered before wiring knows only what TargetInfo tells.
    unwired = build_specs(config)
    assert all(type(s.check_type) is ExposureCheck for s in unwired
               if s.key.check == "exposure")


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("snmpd") is None and not Path("/usr/sbin/snmpd").exists(),
                    reason="snmpd not installed (scripts/setup.sh installs it)")
def test_open_doors_alert_names_the_service_owner_promise_and_fix(tmp_path, smtp_server):
    doors = DemoDoors()
    try:
        community = tmp_path / "community"
        community.write_text("public\n")
        params = doors.exposure_params() | {"interval": "1h", "max_attempts": 1,
                                            "probe_timeout": "1s"}
        targets = f"""\
  - id: old-switch
    kind: snmp
    host: 127.0.0.1
    snmp: {{version: 2c, port: {doors.snmpd.port}, community_file: {community}}}
    checks:
      - {{check: device, device_class: network, interval: 1h}}
      - {json.dumps(params)}
"""
        head = "site: {name: Testville}\n"
        path = tmp_path / "c.yaml"
        services = SERVICES.replace("[old-switch, printer, portal, srv, win]", "[old-switch]")
        path.write_text(head + services + "targets:\n" + targets + f"""\
notify:
  channels:
    - name: oncall
      url: mailto://127.0.0.1:{smtp_server.port}?from=w@town.example&to=o@town.example
  routes: [{{name: all, channels: [oncall]}}]
  weekly_test: null
""")
        daemon = Daemon(path, tmp_path / "state", jobs=[ExposureFacts()])

        def exposure_mail():
            return next((m for m in smtp_server.messages if "/exposure" in m["Subject"]),
                        None)

        async def scenario():
            task = asyncio.ensure_future(daemon.run())
            try:
                for _ in range(300):
                    await asyncio.sleep(0.2)
                    if exposure_mail() is not None or task.done():
                        return
            finally:
                daemon.stopping.set()
                await task
        asyncio.run(scenario())
    finally:
        doors.stop()
    message = exposure_mail()
    assert message is not None, [m["Subject"] for m in smtp_server.messages]
    assert message["Subject"].startswith(
        "[Testville] [P2 CRITICAL] Town hall network — old-switch/exposure: SNMP answers a default "
        "community")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "fix: replace the community with a long random one" in text
    assert "Service: Town hall network (priority 2)" in text
    assert "Owner: Pat Kim <pat@town.example>" in text
    assert "Respond within: 4 hours" in text
    for door in ("telnet open", "FTP open", "management page over plain HTTP",
                 "SNMP v1/v2c in use"):
        assert door in text, door
    store = Store.open(tmp_path / "state", readonly=True)
    try:
        [row] = [r for r in store.current_states() if r["check_name"] == "exposure"]
    finally:
        store.close()
    items = json.loads(row["items"])
    assert {i["finding"] for i in items} == {"snmp_default_community", "snmp_v1v2c_with_v3",
                                             "telnet", "ftp", "http_cleartext_admin"}
    assert all(i["services"] == ["Town hall network"] for i in items)
