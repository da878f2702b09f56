"""The device inventory (CLI, CSV and JSON) and the on-call weekly digest."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from muni_watchdog.cli.main import main
from muni_watchdog.reports.deliver import digest
from muni_watchdog.reports.digest import render_digest_text
from tests.report_fixture import CONFIG, NOW, build, make_config, state_row

SWITCH = {"descr": "HP ProCurve J9773A 2530-24G-PoEP Switch, revision YA.16.02",
          "object_id": "1.3.6.1.4.1.11.2.3.7.11.154", "name": "core-switch",
          "uptime_seconds": 86400, "device_class": "switch", "vendor": "HP",
          "model": "J9773A", "serial": "SG12345678", "firmware": "YA.16.02.0012"}


def _devices(tmp_path):
    store = build(tmp_path)
    state_row(store, "mail", "system", [SWITCH], ["email"])
    state_row(store, "pay", "supplies", [
        {"index": "1.1", "descr": "Black Toner", "kind": "toner", "level_percent": 8.0,
         "state": "low"}], ["payments"])
    state_row(store, "pay", "ups", [{"battery_status": "low", "replace_battery": True}],
              ["payments"])
    state_row(store, "mail", "disk", [], ["email"], metrics=[
        {"name": "/srv_days_until_full", "value": 12.0}], flapping=1)
    store.db.execute("INSERT INTO check_runs (target, check_name, started_at, duration, state, "
                     "summary) VALUES ('mail', 'system', '2026-11-30T10:00:00.000+00:00', 0.1, "
                     "0, 'ok')")
    return store


def test_inventory_csv_and_json(tmp_path, capsys):
    _devices(tmp_path)
    cfg = tmp_path / "town.yaml"
    cfg.write_text(CONFIG.format(port=25).replace("{{", "{").replace("}}", "}"))
    state = str(tmp_path / "state")
    assert main(["inventory", "-c", str(cfg), "--state-dir", state, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    [switch] = [r for r in rows if r["target"] == "mail"]
    assert (switch["device_class"], switch["vendor"], switch["model"], switch["serial"],
            switch["firmware_or_os"]) == ("switch", "HP", "J9773A", "SG12345678",
                                          "YA.16.02.0012")
    assert switch["first_seen"].startswith("2026-10-20") and switch["host"] == "127.0.0.1"
    assert switch["last_seen"].startswith("2026-11-30")
    assert main(["inventory", "-c", str(cfg), "--state-dir", state, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["serial"] == "SG12345678" and data[0]["uptime_seconds"] == 86400


def test_digest_lists_what_needs_attention(tmp_path):
    store = _devices(tmp_path)
    store.add_exception("mail", "*", "Dana", "old OS", datetime(2026, 12, 5, tzinfo=UTC),
                        NOW)
    d = digest(store, make_config(), NOW)
    assert [x.split(" ")[0] for x in d.open_incidents] == ["#2"]
    assert d.unacknowledged == ["#2 pay/http"]
    assert d.flapping == ["mail/disk"]
    assert any("old OS" in x for x in d.expiring)
    assert d.devices == ["mail: /srv full in about 12 days", "pay: Black Toner at 8.0 %",
                         "pay: UPS battery needs replacing"]
    assert "DEVICES DUE FOR ATTENTION" in render_digest_text(d)


def test_report_monthly_cli_prints_and_writes_html(tmp_path, capsys):
    build(tmp_path)
    cfg = tmp_path / "town.yaml"
    cfg.write_text(CONFIG.format(port=25).replace("{{", "{").replace("}}", "}"))
    args = ["report", "monthly", "-c", str(cfg), "--state-dir", str(tmp_path / "state"),
            "--month", "2026-11"]
    assert main(args) == 0
    assert "P1 EMAIL" in capsys.readouterr().out
    out = tmp_path / "r.html"
    assert main([*args, "--out", str(out)]) == 0 and "<table" in out.read_text()
    assert main([*args[:-1], "2026-13"]) == 2


def test_inventory_shows_an_ssh_hosts_os_and_kernel(tmp_path, capsys):
    store = _devices(tmp_path)
    state_row(store, "pay", "uptime", [
        {"kind": "boot", "booted_at": "2026-11-20T06:00:00+00:00", "rebooted": False,
         "os": "Debian GNU/Linux 12 (bookworm)", "os_id": "debian", "os_version": "12",
         "kernel": "Linux 6.1.0-27-amd64 x86_64"}], ["payments"])
    cfg = tmp_path / "town.yaml"
    cfg.write_text(CONFIG.format(port=25).replace("{{", "{").replace("}}", "}"))
    assert main(["inventory", "-c", str(cfg), "--state-dir", str(tmp_path / "state"),
                 "--json"]) == 0
    [server] = [d for d in json.loads(capsys.readouterr().out) if d["target"] == "pay"]
    assert server["firmware_or_os"] == ("Debian GNU/Linux 12 (bookworm) (kernel Linux "
                                        "6.1.0-27-amd64 x86_64)")
    assert server["device_class"] == "server"


def test_inventory_shows_entity_mib_identity_age_and_installed_software(tmp_path, capsys):
    from lab.snmp_lab import DATA_DIR
    from lab.snmp_recordings import load_snapshot
    from muni_watchdog.checks.snmp.check_software import SoftwareParams, evaluate_software
    from muni_watchdog.checks.snmp.check_system import SystemParams, evaluate_system
    from muni_watchdog.checks.snmp.session import Poll
    from muni_watchdog.core.model import CheckContext

    store = _devices(tmp_path)
    # the items the checks store, from the lab recordings: the switch's ENTITY-MIB chassis,
    # the NAS's installed packages
    switch = load_snapshot(DATA_DIR / "switch.snmprec")
    items = evaluate_system(Poll(switch, {"interfaces"}), SystemParams(),
                            CheckContext(NOW, {})).outcome.items
    state_row(store, "mail", "system", list(items), ["email"])
    nas = load_snapshot(DATA_DIR / "nas.snmprec")
    state_row(store, "pay", "software", list(evaluate_software(nas, SoftwareParams())
                                            .outcome.items), ["payments"])
    cfg = tmp_path / "town.yaml"
    cfg.write_text(CONFIG.format(port=25).replace("{{", "{").replace("}}", "}"))
    state = str(tmp_path / "state")
    assert main(["inventory", "-c", str(cfg), "--state-dir", state, "--json"]) == 0
    devices = {d["target"]: d for d in json.loads(capsys.readouterr().out)}
    mail, pay = devices["mail"], devices["pay"]
    assert (mail["vendor"], mail["model"], mail["serial"], mail["firmware_or_os"]) == (
        "NETGEAR", "GS724Tv4", "3PL1234567", "6.3.1.4")
    assert mail["mfg_date"] == "2017-06-21T09:30:00+02:00"
    made = datetime(2017, 6, 21, 7, 30, tzinfo=UTC)   # the CLI measures from the real clock
    assert abs(mail["age_days"] - (datetime.now(UTC) - made).total_seconds() / 86400) <= 1
    assert mail["software"] == [] and mail["software_count"] is None
    assert pay["software_count"] == 5
    assert pay["software"][2] == {"name": "DSM 7.2.1-69057 Update 5",
                                  "type": "operating_system",
                                  "installed": "2024-03-14T10:30:15+01:00"}
    assert main(["inventory", "-c", str(cfg), "--state-dir", state, "--csv"]) == 0
    rows = {r["target"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["pay"]["software_count"] == "5" and "software" not in rows["pay"]
    assert rows["mail"]["age_days"] == str(mail["age_days"])
    assert rows["mail"]["mfg_date"].startswith("2017-06-21")


def test_inventory_age_from_an_8_octet_date_and_garbage_dates():
    from muni_watchdog.reports.inventory import inventory
    current = [{"target": "sw", "check_name": "system", "items": json.dumps([
        {"device_class": "network", "model": "X"},
        {"kind": "chassis", "mfg_date": "2020-12-01T08:00:00"}])},
        {"target": "ap", "check_name": "system", "items": json.dumps([
            {"device_class": "wireless", "mfg_date": "not a date"}])}]
    rows = {r["target"]: r for r in inventory(current, [], {}, NOW)}
    assert rows["sw"]["age_days"] == 2191 and rows["ap"]["age_days"] is None
