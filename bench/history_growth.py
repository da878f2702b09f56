"""The state database's growth per target and year, projected from one simulated day.

Real results first: each check of one SNMP target (snmpsim, a net-snmp recording; default
checks system, device, neighbors) and one SSH target (the lab sshd; its usual checks) runs
once for real, so the rows written have real sizes (summaries, metrics, items, memory).
Then a day of runs of ``--targets`` such targets at the default intervals of their service
priority is written through the daemon's own store path (transitions decided, runs written
a transaction per group, the hourly housekeeping), with an injected clock — no waiting;
each check changes state twice a day. Printed per table: bytes after the day (SQLite's
dbstat), and the projection for a year per target and per 100 targets — with this
version's retention and with the old one (every run kept for ``run_history``, 14 days).

    .venv/bin/python -m bench.history_growth [--targets 20] [--priority 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lab.snmp_lab import DATA_DIR, LOOPBACK, SnmpSim
from lab.ssh_lab import SshLab
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.eventloop import use_everywhere
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.transitions import decide
from muni_watchdog.daemon.engine import build_specs, close_sessions, run_check
from muni_watchdog.store.check_state import RunRecord
from muni_watchdog.store.database import Store
from muni_watchdog.store.retention import RUNS_IN_FULL

DAY = 86400
BOUNDED = {"current_state", "check_seen", "other"}   # one row per check, or configuration


def config_text(targets: int, priority: int, snmp_port: int, secret: Path,
                ssh: SshLab, known: Path) -> str:
    ids = [f"snmp-{i:03d}" for i in range(targets // 2)] + \
        [f"ssh-{i:03d}" for i in range(targets - targets // 2)]
    lines = ["site: {name: Benchville, timezone: UTC}", "services:",
             f"  - {{id: all, name: Everything, priority: {priority}, rto: 4h, rpo: 1d,",
             "     owner: {name: A, contact: a@town.example},",
             "     backup_owner: {name: B, contact: b@town.example},",
             f"     targets: [{', '.join(ids)}]}}", "targets:"]
    for name in ids:
        if name.startswith("snmp"):
            lines += [f"  - id: {name}", "    kind: snmp", f"    host: {LOOPBACK}",
                      f"    snmp: {{version: 2c, port: {snmp_port}, community_file: {secret}}}"]
        else:
            lines.append(ssh.target_yaml(name, known).rstrip("\n"))
    return "\n".join(lines) + "\n"


async def real_results(specs) -> dict:
    """One real run of each check of the first SNMP and the first SSH target."""
    samples, kinds = {}, {}
    for spec in specs:
        kind = spec.key.target.split("-")[0]
        if (kind, spec.key.check) in kinds:
            continue
        kinds[(kind, spec.key.check)] = await run_check(spec, {}, datetime.now(UTC))
    for spec in specs:
        samples[spec.key] = kinds[(spec.key.target.split("-")[0], spec.key.check)]
    await close_sessions(specs)
    return samples


def table_bytes(store: Store) -> dict[str, int]:
    """Bytes per table, its indexes included: the payload SQLite stores, plus a quarter for
    the B-tree's own (a page's free space is not counted: a table of ten rows is not a page
    a day)."""
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sizes: dict[str, int] = {}
    for row in store.db.query("SELECT name, sum(payload) * 5 / 4 AS size FROM dbstat "
                              "GROUP BY name"):
        name = row["name"]
        table = next((t for t in ("check_runs", "current_state", "check_days", "check_months",
                                  "check_watch", "check_seen", "events")
                      if name == t or name.startswith(t) or t in name), "other")
        sizes[table] = sizes.get(table, 0) + row["size"]
    return sizes


def simulate(store: Store, specs, samples, start: datetime, prune: bool,
             run_history: float) -> int:
    """A day of runs from ``start``; returns the runs written."""
    due = {spec.key: start + timedelta(seconds=i % max(1, int(spec.policy.check_interval)))
           for i, spec in enumerate(specs)}
    status: dict = {}
    written, end = 0, start + timedelta(seconds=DAY)
    next_prune = start + timedelta(hours=1)
    by_key = {spec.key: spec for spec in specs}
    while True:
        now = min(due.values())
        if now >= end:
            break
        if prune and now >= next_prune:
            store.prune_history(next_prune, run_history)
            next_prune += timedelta(hours=1)
        batch = []
        for key in [k for k, t in due.items() if t == now]:
            spec, sample = by_key[key], samples[key]
            # twice a day a warning for one run: two state changes each time
            minute = int((now - start).total_seconds() // spec.policy.check_interval)
            flip = minute in (100, 101, 600) if spec.policy.check_interval >= 60 else \
                minute in (200, 201, 1200)
            outcome = sample.outcome if not flip else Outcome.of(
                [Result(State.WARNING, "simulated warning")])
            decision = decide(status.get(key), outcome.state, outcome.summary, spec.policy,
                              now, outcome.immediate, unavailable=outcome.unavailable)
            status[key] = decision.status
            batch.append(RunRecord(key, now, sample.duration, outcome, decision.status,
                                   dict(sample.memory), spec.services, spec.priority,
                                   tuple(decision.events), spec.policy.check_interval))
            due[key] = now + timedelta(seconds=spec.policy.check_interval)
        store.record_runs(batch)
        written += len(batch)
    if prune:
        store.prune_history(end, run_history)
    return written


def main() -> None:
    use_everywhere()   # the product's event loop (uvloop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=20, help="half SNMP, half SSH")
    parser.add_argument("--priority", type=int, default=1,
                        help="service priority: its default intervals (1: every 30 s)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="history-bench-"))
    os.chmod(workdir, 0o755)
    sim = SnmpSim({"server": DATA_DIR / "local-snmpd.snmprec"}, workdir / "sim").start()
    ssh = SshLab(log_level="INFO").start()
    try:
        secret = workdir / "community"
        secret.write_text("server")
        known = ssh.pin(workdir / "known_hosts")
        config = parse_config(config_text(args.targets, args.priority, sim.port, secret, ssh,
                                          known), "bench.yaml")
        specs = build_specs(config)
        samples = asyncio.run(real_results(specs))
        specs = [replace(s, target=replace(s.target, session=None)) for s in specs]
        run_history = config.site.run_history
        start = datetime(2026, 1, 5, tzinfo=UTC)
        results = {}
        for label, prune in (("this version", True), ("before (runs kept 14 days)", False)):
            store = Store.open(workdir / label.split()[0])
            simulate(store, specs, samples, start, prune, run_history)
            first = table_bytes(store)
            runs = simulate(store, specs, samples, start + timedelta(days=1), prune,
                            run_history)
            second = table_bytes(store)
            recent = (start + timedelta(days=2) - RUNS_IN_FULL).isoformat()
            split = next(store.db.query(
                "SELECT count(*) AS rows, sum(started_at > ?) AS hour FROM check_runs "
                "WHERE started_at >= ?", [recent, (start + timedelta(days=1)).isoformat()]))
            results[label] = (first, second, runs, split)
            store.close()
        print(f"two simulated days: {args.targets} targets (half SNMP with system + device + "
              f"neighbors, half SSH with disk, memory, load, uptime, timesync, patches), "
              f"priority {args.priority} intervals, {len(specs)} checks; the second day's "
              "growth projected over a year")
        for label, (first, second, runs, split) in results.items():
            year, daily = 0.0, {}
            for table, size in second.items():
                grown = size - first.get(table, 0)
                if table == "check_runs":
                    if label.startswith("before"):
                        year += grown * run_history / DAY     # run_history days of every run
                    else:   # the last hour in full; a day's state changes, run_history long
                        hour = grown * split["hour"] / max(1, split["rows"])
                        year += size - grown + hour + (grown - hour) * run_history / DAY
                    daily[table] = grown
                elif table in BOUNDED:
                    year += size
                else:
                    year += size + grown * 364                # grows every day
                    daily[table] = grown
            per_target = year / args.targets
            print(f"  {label:<28} {runs:>7} runs/day; a day adds: " + ", ".join(
                f"{t} {b / 1024:.0f} KiB" for t, b in sorted(daily.items())))
            print(f"  {'':<28} a year: {per_target / 2**20:.2f} MB per target, "
                  f"{per_target * 100 / 2**20:.1f} MB per 100 targets (target < 50 MB)")
    finally:
        sim.stop()
        ssh.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
