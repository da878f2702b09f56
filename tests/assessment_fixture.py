"""A state database of a small town, written the way the daemon writes it (``record_run`` with
the outcomes the real checks compute from the SNMP recordings), for the topology, inventory
and assessment tests (issue 14)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lab.snmp_recordings import DATA_DIR, load_snapshot, probes_answering
from muni_watchdog.checks.snmp.check_neighbors import NeighborsParams, evaluate_neighbors
from muni_watchdog.checks.snmp.check_system import SystemParams, evaluate_system
from muni_watchdog.checks.snmp.session import Poll
from muni_watchdog.core.model import CheckContext, CheckKey, Outcome
from muni_watchdog.core.transitions import Policy, decide
from muni_watchdog.store.database import Store

POLICY = Policy(check_interval=60, retry_interval=20)


def record(store: Store, target: str, check: str, at: datetime, outcome: Outcome,
           memory: Mapping[str, Any] | None = None, services: Sequence[str] = ()) -> None:
    """One scheduled run, recorded as the daemon records it."""
    key = CheckKey(target, check)
    previous, _ = store.load_status(key)
    decision = decide(previous, outcome.state, outcome.summary, POLICY, at)
    store.record_run(key, at, 0.1, outcome, decision.status, dict(memory or {}),
                     list(services), None, decision.events, interval=POLICY.check_interval)


def snapshot(recording: str) -> tuple[dict, set[str]]:
    values = load_snapshot(DATA_DIR / f"{recording}.snmprec")
    return values, probes_answering(values)


def snmp_device(store: Store, target: str, recording: str, at: datetime,
                values: dict | None = None, services: Sequence[str] = ()) -> Outcome:
    """The ``system`` and ``neighbors`` checks of one SNMP device, on a recording (or on
    ``values``, a changed copy of it), recorded; returns the neighbors outcome."""
    recorded, answering = snapshot(recording)
    values = recorded if values is None else values
    system = evaluate_system(Poll(values, answering), SystemParams(),
                             CheckContext(at, _memory(store, target, "system")))
    record(store, target, "system", at, system.outcome, system.memory, services)
    found = evaluate_neighbors(values, answering, NeighborsParams(),
                               CheckContext(at, _memory(store, target, "neighbors")))
    record(store, target, "neighbors", at, found.outcome, found.memory, services)
    return found.outcome


def _memory(store: Store, target: str, check: str) -> dict[str, Any]:
    return store.load_status(CheckKey(target, check))[1]


# ---- a whole town -----------------------------------------------------------------------------

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)

TOWN = """\
site:
  name: Town of Example
  timezone: America/Chicago
  lifecycle: {replacement_years: {switch: 7}}
services:
  - id: payments
    name: Online utility payments
    priority: 1
    impact: Residents cannot pay water and tax bills online.
    rto: 8h
    rpo: 1h
    owner: {name: Sam Ortiz (Treasurer), contact: treasurer@town.example}
    backup_owner: {name: Dana Reyes (MSP), contact: dana@msp.example}
    targets: [payment-portal, core-switch]
    backups: [payments-db]
  - id: records
    name: Clerk's records
    priority: 2
    impact: Permits and records cannot be looked up or filed.
    rto: 8h
    rpo: 24h
    owner: {name: Pat Kim (Clerk), contact: clerk@town.example}
    backup_owner: {name: Dana Reyes (MSP), contact: dana@msp.example}
    targets: [records-nas, file-server]
    backups: [records-backup]
  - id: office
    name: Town hall office devices
    priority: 3
    impact: Staff cannot print; the server closet loses power protection.
    rto: 1d
    rpo: 7d
    owner: {name: Pat Kim (Clerk), contact: clerk@town.example}
    backup_owner: {name: Dana Reyes (MSP), contact: dana@msp.example}
    targets: [clerk-printer, server-ups, core-switch, clerk-pc]
  - id: website
    name: Town website
    priority: 3
    impact: Meeting notices and forms are unreachable.
    rto: 1d
    rpo: 7d
    owner: {name: Pat Kim (Clerk), contact: clerk@town.example}
    backup_owner: {name: Dana Reyes (MSP), contact: dana@msp.example}
    targets: [website]
targets:
  - {id: core-switch, kind: snmp, host: 10.0.0.2, snmp: {community_env: C}}
  - {id: clerk-printer, kind: snmp, host: 10.0.30.10, snmp: {community_env: C}}
  - {id: server-ups, kind: snmp, host: 10.0.0.30, snmp: {community_env: C}}
  - id: records-nas
    kind: snmp
    host: 10.0.0.40
    description: the clerk's NAS
    snmp: {community_env: C}
  - id: file-server
    kind: ssh
    host: 10.0.0.41
    ssh: {user: watchdog, key_file: /k}
  - id: clerk-pc
    kind: ssh
    host: 10.0.0.60
    ssh: {user: watchdog, key_file: /k, os: windows}
  - {id: payment-portal, kind: http, host: pay.town.example}
  - {id: website, kind: http, host: www.town.example}
backups:
  - {id: payments-db, service: payments, repository: /srv/restic/pay, password_file: /p,
     source: /srv/pay}
  - {id: records-backup, service: records, repository: /srv/restic/records,
     password_file: /p, source: /srv/records}
"""

SNMP_DEVICES = (("core-switch", "switch", "2026-01-10"), ("clerk-printer", "printer-demo",
                                                           "2026-11-01"),
                ("server-ups", "ups-demo", "2021-10-01"), ("records-nas", "nas", "2019-03-01"))
DEBIAN_10 = ('PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\n'
             'VERSION_ID="10"\nID=debian\n')
PACKAGES = (("bash", "5.0-4"), ("openssh-server", "1:7.9p1-10+deb10u2"), ("samba", "2:4.9.5"),
            ("openssl", "1.1.1n-0+deb10u3"))
WINDOWS_10 = {"caption": "Microsoft Windows 10 Pro", "version": "10.0.19045", "build": "19045",
              "product_type": 1, "software": [
                  {"name": "Tyler Incode Client", "version": "10.2", "publisher": "Tyler",
                   "installed": "20210601", "arch": "x86"},
                  {"name": "Mozilla Firefox (x64 en-US)", "version": "128.0",
                   "publisher": "Mozilla", "installed": "", "arch": ""}]}
WINDOWS_PC = {"vendor": "Dell Inc.", "product": "OptiPlex 7090", "memory_bytes": 17179869184,
              "cpu_model": "Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz", "cpus": 12,
              "sockets": 1, "serial": "7XK9Q93", "bios_version": "1.21.0",
              "pc_system_type": 1, "disks": [{"name": "\\\\.\\PHYSICALDRIVE0",
                                              "model": "PC SN530 NVMe WDC 512GB",
                                              "size": 512105932800, "interface": "SCSI"}]}
KEV = {"kind": "vulnerability", "cve": "CVE-2024-6387", "package": "openssh",
       "installed": "1:7.9p1-10+deb10u2", "fixed": "1:7.9p1-10+deb10u4", "status": "fixable",
       "kev": True, "severity": 8.1, "first_seen": "2026-10-01T00:00:00+00:00",
       "state": "CRITICAL", "fix_available_days": 120.0}
OPEN_DOOR = {"kind": "exposure", "finding": "snmp_default_community", "where": "udp/161",
             "severity": "CRITICAL", "title": "SNMP answers a default community",
             "evidence": "'public' answered (v2c)", "fix": "Change the community or use "
             "SNMPv3 with a password.", "source": "CIS", "accepted": False}


def seen_since(store: Store, target: str, check: str, day: str) -> None:
    """An early run: the target was first seen on ``day``."""
    store.db.execute("INSERT INTO check_runs (target, check_name, started_at, duration, state, "
                     "summary) VALUES (?, ?, ?, 0.1, 0, 'ok')",
                     [target, check, f"{day}T12:00:00.000+00:00"])


def restore_test(store: Store, backup: str, service: str, at: datetime, verdict: int,
                 age: float, *, drill: bool = False, restore_s: float = 300,
                 estimate: float = 3600, summary: str = "restore test passed") -> None:
    store.record_restore_test(dict(
        backup=backup, service=service, started_at=at.isoformat(timespec="milliseconds"),
        full_drill=int(drill), age_seconds=age, duration=100, restore_seconds=restore_s,
        estimated_full_restore_seconds=estimate, verdict=verdict, summary=summary), None)


def build_town(state_dir) -> Store:
    """The town of :data:`TOWN` as the daemon would have stored it by :data:`NOW`."""
    import json
    from datetime import timedelta

    from muni_watchdog.checks.ssh.checks_inventory import (
        HardwareCheck,
        HardwareParams,
        SshSoftwareCheck,
        SshSoftwareParams,
    )
    from muni_watchdog.checks.ssh.checks_system import UptimeCheck, UptimeParams
    from muni_watchdog.checks.ssh.connection import CommandResult
    from muni_watchdog.core.model import Result, State
    from tests.ssh_hosts import EPOCH, remote

    store = Store.open(state_dir)
    ctx = CheckContext(NOW, {})
    for target, recording, first in SNMP_DEVICES:
        seen_since(store, target, "system", first)
        snmp_device(store, target, recording, NOW)
    # file-server: Debian 10 on a Dell, first seen early 2020
    seen_since(store, "file-server", "uptime", "2020-01-15")
    uptime = remote({"now": f"{EPOCH}\n", "uptime": "86400.00 1.00\n", "os": DEBIAN_10,
                     "kernel": "Linux 4.19.0-27-amd64 x86_64\n"})
    record(store, "file-server", "uptime", NOW,
           UptimeCheck().evaluate(uptime, UptimeParams(), ctx).outcome)
    lines = "".join(f"{n}\t{v}\t{n}\t{v}\tii \tamd64\n" for n, v in PACKAGES)
    software = remote({"os_release": DEBIAN_10, "dpkg": lines + "<<<muniwd-end:0>>>\n",
                       "rpm": ("", 200)})
    record(store, "file-server", "software", NOW,
           SshSoftwareCheck().evaluate(software, SshSoftwareParams(), ctx).outcome)
    hardware = remote({"cpuinfo": "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) E-2236 CPU "
                       "@ 3.40GHz\nphysical id\t: 0\n", "meminfo": "MemTotal: 32768000 kB\n",
                       "arch": "x86_64\n", "lsblk": '{"blockdevices": [{"name": "sda", "size": '
                       '4000787030016, "type": "disk", "model": "WDC WD40EFRX", "rota": true, '
                       '"tran": "sata"}]}', "sysblock": "", "dmi": "sys_vendor=Dell Inc.\n"
                       "product_name=PowerEdge T140\nchassis_type=17\n", "virt": ("none\n", 1)})
    record(store, "file-server", "hardware", NOW,
           HardwareCheck().evaluate(hardware, HardwareParams(), ctx).outcome)
    patches = [{"kind": "package", "name": "openssl", "security": True, "pending_days": 20.0},
               {"kind": "package", "name": "libssl1.1", "security": True, "pending_days": 20.0},
               {"kind": "package", "name": "vim", "security": False, "pending_days": 40.0},
               {"kind": "reboot", "required": True, "reasons": ["/run/reboot-required"]}]
    record(store, "file-server", "patches", NOW, Outcome.of(
        [Result(State.WARNING, "2 security updates pending, oldest 20 days")], items=patches))
    record(store, "file-server", "vulnerabilities", NOW, Outcome.of(
        [Result(State.CRITICAL, "1 fixable CVE, 1 known exploited: CVE-2024-6387")],
        items=[KEV, {**KEV, "cve": "CVE-2023-48795", "kev": False, "fix_available_days": 300}]))
    record(store, "core-switch", "exposure", NOW, Outcome.of(
        [Result(State.CRITICAL, "SNMP answers a default community")], items=[OPEN_DOOR]))
    # clerk-pc: Windows 10 on a desktop
    seen_since(store, "clerk-pc", "software", "2024-05-02")
    record(store, "clerk-pc", "software", NOW, SshSoftwareCheck().evaluate(
        CommandResult(0, json.dumps(WINDOWS_10), "", 1.0), SshSoftwareParams(), ctx).outcome)
    record(store, "clerk-pc", "hardware", NOW, HardwareCheck().evaluate(
        CommandResult(0, json.dumps(WINDOWS_PC), "", 1.0), HardwareParams(), ctx).outcome)
    # restore tests: payments proven (a measured drill), records failing and too old
    for days in (60, 30, 7):
        restore_test(store, "payments-db", "payments", NOW - timedelta(days=days), 0, 1800)
    restore_test(store, "payments-db", "payments", NOW - timedelta(days=3), 0, 1500,
                 drill=True, restore_s=2400)
    restore_test(store, "records-backup", "records", NOW - timedelta(days=20), 0, 6 * 3600,
                 estimate=4 * 3600)
    restore_test(store, "records-backup", "records", NOW - timedelta(days=2), 2, 2 * 86400,
                 estimate=4 * 3600, summary="3 files differ from the source")
    return store
