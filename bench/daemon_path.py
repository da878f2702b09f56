"""The daemon's own path (schedule → collect → evaluate → transition → store) on N simulated
devices, beside prometheus-snmp-exporter scraping the same devices for the same OIDs, in the
same run; and the requests one poll sends beside the walk's minimum.

The daemon runs in this process (its real scheduler, checks and SQLite store), every device
with the default checks (system, device, neighbors) at the default interval (60 s). The
devices are N targets on net-snmp's snmpd on loopback (as the issue measured: C, fast
enough not to be the bottleneck; its CPU is not counted): the profile IF-MIB +
HOST-RESOURCES. ``--agent snmpsim`` polls snmpsim recordings instead (slower agents: fewer
devices per process).
After a warm-up round, each of ``--rounds`` intervals is measured: this process's CPU seconds
over the values the polls returned. The exporter is scraped once per device and round with a
module that walks the same subtrees and gets the same scalars; its CPU is read from /proc.
Each of our rounds follows one of the exporter's (the daemon running on, uncounted), so
both are measured on the machine as it is that minute: a shared host's speed drifts by
tens of per cent within an hour, and measuring all of ours then all of theirs made the
ratio swing from 1.04x to 1.56x between runs of the same code. Printed: the medians, and
the median of the rounds' ratios (the figure judged).

Requests: for each device, the requests of its last poll beside the minimum that a walk of
the same data needs — one GET for the scalars, one GETNEXT for the probes and the subtrees
that are empty, and per table ⌈(values + 1) / the most var-binds the agent puts in one
answer⌉ (the +1: the var-bind past the end that proves the end).

    .venv/bin/python -m bench.snmp_poll --daemon --devices 500 [--profile out.pstats]
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import resource
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab.snmp_lab import DATA_DIR, LOOPBACK, NetSnmpd, SnmpSim

RECORDING = DATA_DIR / "local-snmpd.snmprec"
INTERVAL = 60   # the default check interval


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def write_config(path: Path, devices: list[tuple[int, str]], secrets: Path) -> None:
    lines = ["site: {name: Benchville, timezone: UTC}", "targets:"]
    for index, (port, community) in enumerate(devices):
        name = f"dev-{index:04d}"
        secret = secrets / community
        secret.write_text(community)
        lines += [f"  - id: {name}", "    kind: snmp", f"    host: {LOOPBACK}",
                  f"    snmp: {{version: 2c, port: {port}, community_file: {secret}}}",
                  "    checks:", f"      - {{check: system, interval: {INTERVAL}s}}",
                  f"      - {{check: device, interval: {INTERVAL}s}}",
                  "      - {check: neighbors}"]
    path.write_text("\n".join(lines) + "\n")


def sessions(daemon) -> list:
    seen: dict[int, object] = {}
    for spec in daemon.specs.values():
        if spec.target.session is not None:
            seen.setdefault(id(spec.target.session), spec.target.session)
    return list(seen.values())


async def run_daemon(workdir: Path, devices: list[tuple[int, str]], rounds: int,
                     profile: str | None) -> dict:
    from muni_watchdog.daemon.loop import Daemon
    secrets = workdir / "secrets"
    secrets.mkdir(exist_ok=True)
    config = workdir / "daemon.yaml"
    write_config(config, devices, secrets)
    daemon = Daemon(config, workdir / "state")
    task = asyncio.ensure_future(daemon.run())
    await asyncio.sleep(INTERVAL * 2 + 3)   # every device polled twice: sizes learned
    loop = asyncio.get_running_loop()
    tables, scalars = roots_of(sessions(daemon))
    exporter = await loop.run_in_executor(None, Exporter, workdir, devices, tables, scalars)
    per_value, theirs, polls_done, values_done = [], [], 0, 0
    profiler = cProfile.Profile() if profile else None
    for _ in range(rounds):
        # The exporter's round right before each of ours: both measured on the machine as it
        # is that minute (a shared host's speed drifts by tens of per cent within an hour).
        # The daemon goes on meanwhile (pausing it made its next minute a burst of catch-up
        # polls); its few per cent of a core then is counted for neither.
        theirs.append(await loop.run_in_executor(None, exporter.round))
        all_sessions = sessions(daemon)
        polls = sum(s.polls for s in all_sessions)
        values = sum(s.values_polled for s in all_sessions)
        cpu = cpu_self()
        if profiler:
            profiler.enable()
        await asyncio.sleep(INTERVAL)
        if profiler:
            profiler.disable()
        used = cpu_self() - cpu
        got = sum(s.values_polled for s in all_sessions) - values
        polls_done += sum(s.polls for s in all_sessions) - polls
        values_done += got
        per_value.append(used / got * 1000 if got else float("nan"))
    requests = [(s.last_requests, s.minimum_requests()) for s in sessions(daemon)]
    daemon.stopping.set()
    await task
    await loop.run_in_executor(None, exporter.stop)
    if profiler:
        profiler.dump_stats(profile)
    return {"per_1000": statistics.median(per_value), "rounds": per_value,
            "polls": polls_done / rounds, "values": values_done / rounds,
            "requests": requests,
            "exporter": {"per_1000": statistics.median(theirs), "rounds": theirs,
                         "values": exporter.values},
            "ratios": [o / t for o, t in zip(per_value, theirs, strict=True)]}


def roots_of(all_sessions: list) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The subtrees and scalars the daemon's polls asked for (for the exporter's module)."""
    tables: set[str] = set()
    scalars: set[str] = set()
    for session in all_sessions:
        if session.last_need is not None:
            tables |= session.last_need.tables
            scalars |= session.last_need.scalars
    return tuple(sorted(tables)), tuple(sorted(scalars))


class Exporter:
    """prometheus-snmp-exporter with a module for the daemon's subtrees and scalars; one
    :meth:`round` scrapes every device once and returns its CPU seconds per 1,000 values."""

    def __init__(self, workdir: Path, devices: list[tuple[int, str]], tables: tuple[str, ...],
                 scalars: tuple[str, ...]):
        from bench.snmp_poll import SnmpExporter
        self.devices = devices
        self.exporter = SnmpExporter(workdir / "exporter", tables, "unused", timeout="5s",
                                     retries=2)
        base = self.exporter.config()
        gets = "".join(f"      - {oid}\n" for oid in scalars)
        module = base.replace("  walk:\n", f"  get:\n{gets}  walk:\n") if scalars else base
        self.exporter.config = lambda: "".join(  # type: ignore[method-assign]
            module.replace("burst:", f"{c}:", 1).replace("community: unused",
                                                        f"community: {c}")
            for c in sorted({c for _, c in devices}))
        self.exporter.start(timeout=60)
        self.pool = ThreadPoolExecutor(16)
        self.values = 0
        list(self.pool.map(self._scrape, devices[:20]))   # warm-up

    def _scrape(self, device: tuple[int, str]) -> int:
        import urllib.request
        port, community = device
        text = urllib.request.urlopen(
            f"http://{LOOPBACK}:{self.exporter.port}/snmp?module={community}&target="
            f"{LOOPBACK}:{port}", timeout=120).read().decode()
        for line in text.splitlines():
            if line.startswith("snmp_scrape_pdus_returned "):
                return int(float(line.split()[1]))
        raise RuntimeError(f"no snmp_scrape_pdus_returned: {text[:300]}")

    def round(self) -> float:
        assert self.exporter.process is not None
        cpu = cpu_of(self.exporter.process.pid)
        self.values = sum(self.pool.map(self._scrape, self.devices))
        return (cpu_of(self.exporter.process.pid) - cpu) / self.values * 1000

    def stop(self) -> None:
        self.pool.shutdown()
        self.exporter.stop()


def main(devices_count: int, agents: int, rounds: int, workdir: Path,
         profile: str | None, agent_kind: str = "snmpd") -> None:
    sims: list = []
    devices: list[tuple[int, str]] = []
    try:
        if agent_kind == "snmpd":
            snmpd = NetSnmpd(workdir / "snmpd").start()
            sims.append(snmpd)
            devices = [(snmpd.port, snmpd.community)] * devices_count
        per_agent = -(-devices_count // agents)
        for agent in range(agents if agent_kind == "snmpsim" else 0):
            names = [f"d{agent}-{i:04d}" for i in
                     range(min(per_agent, devices_count - len(devices)))]
            sim = SnmpSim({n: RECORDING for n in names}, workdir / f"sim{agent}").start(
                timeout=180)
            sims.append(sim)
            devices += [(sim.port, n) for n in names]
        started = time.monotonic()
        ours = asyncio.run(run_daemon(workdir, devices, rounds, profile))
        theirs = ours["exporter"]
        print(f"daemon path, {len(devices)} devices on {agent_kind} (IF-MIB + HOST-RESOURCES, "
              "checks system + "
              f"device + neighbors, every {INTERVAL} s), {rounds} rounds, medians "
              f"({time.monotonic() - started:.0f} s):")
        print(f"  muni-watchdog daemon path   {ours['values']:>8.0f} values/round "
              f"{ours['per_1000']:>7.3f} CPU s/1000 values  (rounds: "
              f"{', '.join(f'{r:.3f}' for r in ours['rounds'])}; "
              f"{ours['polls']:.0f} device polls a round)")
        print(f"  prometheus-snmp-exporter    {theirs['values']:>8.0f} values/round "
              f"{theirs['per_1000']:>7.3f} CPU s/1000 values  (rounds: "
              f"{', '.join(f'{r:.3f}' for r in theirs['rounds'])})")
        print(f"  -> {statistics.median(ours['ratios']):.2f}x the exporter's CPU per value "
              f"(target <= 1.2x), the median of each round's ratio to the exporter's round "
              f"just before it ({', '.join(f'{r:.2f}' for r in ours['ratios'])})")
        sent = [r for r, _ in ours["requests"]]
        minimum = [m for _, m in ours["requests"]]
        print(f"requests per device poll: {statistics.mean(sent):.2f} (the walk's minimum "
              f"{statistics.mean(minimum):.2f}; devices above it: "
              f"{sum(1 for r, m in ours['requests'] if r > m)} of {len(sent)})")
    finally:
        for sim in sims:
            sim.stop()
