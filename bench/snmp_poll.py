"""Poll N simulated SNMP devices and the local snmpd: our asyncio poller beside net-snmp's
``snmpbulkwalk`` (one process per device and table, as fork-per-check tools run it).

Both fetch the same subtrees with GETBULK, max-repetitions 25, from the same agents in the
same run. Printed: values fetched, wall time, and the *manager's* CPU seconds per 1,000
values (ours: this process; theirs: the snmpbulkwalk children). The agents' CPU (snmpsim,
snmpd) is the same for both and not counted.

    .venv/bin/python -m bench.snmp_poll --devices 200
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from checks.snmp.client import SnmpClient
from checks.snmp.connection import SnmpConnection
from lab.snmp_lab import DATA_DIR, LOOPBACK, NetSnmpd, SnmpSim

ROOTS = ("1.3.6.1.2.1.1", "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1", "1.3.6.1.2.1.25.2.3",
         "1.3.6.1.2.1.43.11", "1.3.6.1.2.1.33.1", "1.3.6.1.4.1.318.1.1.1")
RECORDINGS = ("switch", "printer", "ups-apc", "nas", "ups-rfc1628")


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def ours(devices: list[tuple[int, str]], workdir: Path) -> tuple[int, float, float]:
    clients = []
    for port, community in devices:
        secret = workdir / f"c-{community}"
        secret.write_text(community)
        clients.append(SnmpClient(LOOPBACK, SnmpConnection(port=port, community_file=str(secret),
                                                           timeout="5s", retries=2)))
    started, cpu = time.perf_counter(), cpu_self()
    results = await asyncio.gather(*(c.walk(ROOTS) for c in clients))
    return sum(map(len, results)), time.perf_counter() - started, cpu_self() - cpu


def theirs(devices: list[tuple[int, str]], parallel: int) -> tuple[int, float, float]:
    binary = shutil.which("snmpbulkwalk") or "/usr/bin/snmpbulkwalk"

    def walk(job: tuple[int, str, str]) -> int:
        port, community, root = job
        out = subprocess.run([binary, "-v2c", "-c", community, "-Cr25", "-On", "-t", "5",
                              "-r", "2", f"{LOOPBACK}:{port}", root], capture_output=True,
                             text=True, timeout=120, env={"MIBS": "", "PATH": "/usr/bin"})
        prefix = f".{root}."
        return sum(1 for line in out.stdout.splitlines() if line.startswith(prefix)
                   and " = No Such " not in line and "No more variables" not in line)
    jobs = [(port, community, root) for port, community in devices for root in ROOTS]
    started, cpu = time.perf_counter(), cpu_children()
    with ThreadPoolExecutor(parallel) as pool:
        values = sum(pool.map(walk, jobs))
    return values, time.perf_counter() - started, cpu_children() - cpu


def report(label: str, values: int, wall: float, cpu: float, devices: int) -> dict:
    per_1000 = cpu / values * 1000 if values else float("nan")
    per_minute = devices / cpu * 60 if cpu else float("inf")
    print(f"  {label:<28} {values:>8} values {wall:>8.2f} s wall {cpu:>8.2f} s CPU "
          f"{per_1000:>8.3f} CPU s/1000 values  {per_minute:>9.0f} devices/min/core")
    return {"values": values, "wall": wall, "cpu": cpu, "per_1000": per_1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200, help="simulated devices")
    parser.add_argument("--agents", type=int, default=2, help="snmpsim processes")
    parser.add_argument("--parallel", type=int, default=16,
                        help="snmpbulkwalk processes at a time")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="snmp-bench-"))
    sims, snmpd = [], None
    try:
        per_agent = -(-args.devices // args.agents)
        devices: list[tuple[int, str]] = []
        for agent in range(args.agents):
            names = {f"d{agent}-{i:04d}": DATA_DIR / f"{RECORDINGS[i % len(RECORDINGS)]}.snmprec"
                     for i in range(min(per_agent, args.devices - len(devices)))}
            sim = SnmpSim(names, workdir / f"sim{agent}").start(timeout=120)
            sims.append(sim)
            devices += [(sim.port, name) for name in names]
        snmpd = NetSnmpd(workdir / "snmpd").start()
        local = [(snmpd.port, snmpd.community)]
        # Warm up both sides (snmpsim builds its indexes on first use; imports; page cache).
        asyncio.run(ours(devices[: len(RECORDINGS)] + local, workdir))
        theirs(devices[: len(RECORDINGS)], args.parallel)
        print(f"{len(devices)} simulated devices ({args.agents} snmpsim processes) + the local "
              f"snmpd; subtrees: {', '.join(ROOTS)}")
        print("simulated devices:")
        a = report("muni-watchdog (asyncio)", *asyncio.run(ours(devices, workdir)), len(devices))
        b = report("snmpbulkwalk per table", *theirs(devices, args.parallel), len(devices))
        print(f"  -> {b['per_1000'] / a['per_1000']:.1f}x less manager CPU per value")
        print("local net-snmp snmpd (x20 polls):")
        a = report("muni-watchdog (asyncio)", *asyncio.run(ours(local * 20, workdir)), 20)
        b = report("snmpbulkwalk per table", *theirs(local * 20, args.parallel), 20)
        print(f"  -> {b['per_1000'] / a['per_1000']:.1f}x less manager CPU per value")
    finally:
        for sim in sims:
            sim.stop()
        if snmpd is not None:
            snmpd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
