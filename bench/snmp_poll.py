"""Poll N simulated SNMP devices and the local snmpd: our asyncio poller beside net-snmp's
``snmpbulkwalk`` (one process per device and table, as fork-per-check tools run it).

Both fetch the same subtrees with GETBULK, max-repetitions 25, from the same agents in the
same run. Printed: values fetched, wall time, and the *manager's* CPU seconds per 1,000
values (ours: this process; theirs: the snmpbulkwalk children). The agents' CPU (snmpsim,
snmpd) is the same for both and not counted.

The burst case: 50 walks of the same subtrees at once against the local snmpd, all on our
one shared UDP socket, with the kernel's default receive buffer and with the 4 MiB we ask
for, beside prometheus-snmp-exporter (Debian's 0.21, one UDP socket per scrape) scraped 50
times at once with a generated snmp.yml for the same OIDs. A dropped answer shows as a
wall time of a whole request timeout (5 s) or more.

    .venv/bin/python -m bench.snmp_poll --devices 200
    .venv/bin/python -m bench.snmp_poll --burst-only
    .venv/bin/python -m bench.snmp_poll --daemon --devices 500   # the daemon's own path
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab.snmp_lab import DATA_DIR, LOOPBACK, NetSnmpd, SnmpSim
from muni_watchdog.checks.snmp import transport
from muni_watchdog.checks.snmp.client import SnmpClient
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.core.eventloop import use_everywhere

EXPORTER = "/usr/bin/prometheus-snmp-exporter"   # Debian's prometheus-snmp-exporter (0.21)

ROOTS = ("1.3.6.1.2.1.1", "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1", "1.3.6.1.2.1.25.2.3",
         "1.3.6.1.2.1.43.11", "1.3.6.1.2.1.33.1", "1.3.6.1.4.1.318.1.1.1")
RECORDINGS = ("switch", "printer", "ups-apc", "nas", "ups-rfc1628")


class SnmpExporter:
    """prometheus-snmp-exporter on a loopback port with a generated snmp.yml: one module
    walking ``roots``. 0.21's format: auth, version, timeout and retries inside the module
    (the separate ``auths:`` section came in 0.23)."""

    def __init__(self, workdir: Path, roots: tuple[str, ...], community: str,
                 timeout: str = "5s", retries: int = 2):
        self.workdir, self.roots, self.community = workdir, roots, community
        self.timeout, self.retries = timeout, retries
        self.port = 0
        self.process: subprocess.Popen | None = None

    def config(self) -> str:
        walk = "".join(f"      - {root}\n" for root in self.roots)
        # One metric per walked table column the checks read, so the scrape also converts
        # values (the walk itself is what is compared).
        metrics = "".join(
            f"      - name: {name}\n        oid: {oid}\n        type: {kind}\n"
            f"        indexes:\n          - labelname: index\n            type: gauge\n"
            for name, oid, kind in (("ifInOctets", "1.3.6.1.2.1.2.2.1.10", "counter"),
                                    ("ifOutOctets", "1.3.6.1.2.1.2.2.1.16", "counter"),
                                    ("ifOperStatus", "1.3.6.1.2.1.2.2.1.8", "gauge"),
                                    ("hrStorageUsed", "1.3.6.1.2.1.25.2.3.1.6", "gauge")))
        return (f"burst:\n  version: 2\n  max_repetitions: 25\n  timeout: {self.timeout}\n"
                f"  retries: {self.retries}\n  auth:\n    community: {self.community}\n"
                f"  walk:\n{walk}  metrics:\n{metrics}")

    def start(self, timeout: float = 20.0) -> SnmpExporter:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "snmp.yml"
        config.write_text(self.config())
        with socket.socket() as probe:
            probe.bind((LOOPBACK, 0))
            self.port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [EXPORTER, f"--config.file={config}", f"--web.listen-address={LOOPBACK}:{self.port}",
             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://{LOOPBACK}:{self.port}/", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("prometheus-snmp-exporter did not start")

    def scrape(self, host: str, port: int) -> int:
        """One scrape; returns the var-binds the exporter says it received."""
        url = (f"http://{LOOPBACK}:{self.port}/snmp?module=burst&target="
               f"{urllib.parse.quote(f'{host}:{port}')}")
        text = urllib.request.urlopen(url, timeout=120).read().decode()
        for line in text.splitlines():
            if line.startswith("snmp_scrape_pdus_returned "):
                return int(float(line.split()[1]))
        raise RuntimeError(f"no snmp_scrape_pdus_returned in the scrape: {text[:300]}")

    def burst(self, host: str, port: int, scrapes: int) -> tuple[int, float]:
        """(var-binds, wall seconds) of ``scrapes`` concurrent scrapes."""
        with ThreadPoolExecutor(scrapes) as pool:
            started = time.perf_counter()
            values = sum(pool.map(lambda _: self.scrape(host, port), range(scrapes)))
            return values, time.perf_counter() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


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


async def ours_burst(port: int, community: str, walks: int, workdir: Path,
                     buffer: int) -> tuple[int, float, int | None]:
    """(values, wall seconds, receive buffer granted) of ``walks`` concurrent walks."""
    transport.RECEIVE_BUFFER = buffer   # the socket of this loop is made on first use
    secret = workdir / "c-burst"
    secret.write_text(community)
    clients = [SnmpClient(LOOPBACK, SnmpConnection(port=port, community_file=str(secret),
                                                   timeout="5s", retries=2))
               for _ in range(walks)]
    started = time.perf_counter()
    results = await asyncio.gather(*(c.walk(ROOTS) for c in clients))
    return sum(map(len, results)), time.perf_counter() - started, \
        transport.receive_buffer_bytes()


STOCK_RMEM_MAX = 212_992   # Debian's net.core.rmem_max: what an unprivileged daemon gets


def burst(snmpd: NetSnmpd, walks: int, workdir: Path, rounds: int) -> None:
    """The burst case; the variants take turns, so a busy machine slows each alike."""
    default = transport.RECEIVE_BUFFER
    print(f"burst: {walks} concurrent walks of the same subtrees against the local snmpd "
          f"(timeout 5s, retries 2), {rounds} rounds:")
    exporter = SnmpExporter(workdir / "exporter", ROOTS, snmpd.community,
                            timeout="5s", retries=2).start()
    variants = (("muni-watchdog, kernel default buffer", 0),
                ("muni-watchdog, SO_RCVBUF capped by stock rmem_max", STOCK_RMEM_MAX),
                ("muni-watchdog, 4 MiB SO_RCVBUF", default))
    walls: dict[str, list[float]] = {}
    labels: dict[str, str] = {}
    values: dict[str, int] = {}
    try:
        exporter.scrape(LOOPBACK, snmpd.port)   # warm-up
        for _ in range(rounds):
            for label, buffer in variants:
                found, wall, granted = asyncio.run(ours_burst(
                    snmpd.port, snmpd.community, walks, workdir, buffer))
                labels[label] = f"{label} ({(granted or 0) // 1024} KiB)"
                walls.setdefault(label, []).append(wall)
                values[label] = found // walks
            found, wall = exporter.burst(LOOPBACK, snmpd.port, walks)
            label = "prometheus-snmp-exporter 0.21 (1 socket per scrape)"
            labels[label] = label
            walls.setdefault(label, []).append(wall)
            values[label] = found // walks
    finally:
        transport.RECEIVE_BUFFER = default
        exporter.stop()
    for label, times in walls.items():
        times.sort()
        print(f"  {labels[label]:<62} {values[label]:>4} values/walk  wall "
              f"{times[len(times) // 2]:>5.2f} s median  {times[0]:>5.2f} s best  "
              f"{times[-1]:>5.2f} s worst")


def report(label: str, values: int, wall: float, cpu: float, devices: int) -> dict:
    per_1000 = cpu / values * 1000 if values else float("nan")
    per_minute = devices / cpu * 60 if cpu else float("inf")
    print(f"  {label:<28} {values:>8} values {wall:>8.2f} s wall {cpu:>8.2f} s CPU "
          f"{per_1000:>8.3f} CPU s/1000 values  {per_minute:>9.0f} devices/min/core")
    return {"values": values, "wall": wall, "cpu": cpu, "per_1000": per_1000}


def main() -> None:
    use_everywhere()   # the product's event loop (uvloop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200, help="simulated devices")
    parser.add_argument("--agents", type=int, default=2, help="snmpsim processes")
    parser.add_argument("--parallel", type=int, default=16,
                        help="snmpbulkwalk processes at a time")
    parser.add_argument("--burst", type=int, default=50, help="concurrent walks (burst)")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of the burst")
    parser.add_argument("--burst-only", action="store_true",
                        help="only the burst case (no snmpsim devices)")
    parser.add_argument("--daemon", action="store_true",
                        help="the daemon's path and its requests per poll beside "
                        "prometheus-snmp-exporter (bench/daemon_path.py)")
    parser.add_argument("--agent", choices=("snmpd", "snmpsim"), default="snmpd",
                        help="with --daemon: the devices' agent")
    parser.add_argument("--profile", metavar="FILE",
                        help="with --daemon: cProfile the measured rounds into FILE")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="snmp-bench-"))
    os.chmod(workdir, 0o755)
    sims, snmpd = [], None
    try:
        if args.daemon:
            from bench import daemon_path
            daemon_path.main(args.devices, args.agents, args.rounds, workdir, args.profile,
                             args.agent)
            return
        if args.burst_only:
            snmpd = NetSnmpd(workdir / "snmpd").start()
            burst(snmpd, args.burst, workdir, args.rounds)
            return
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
        burst(snmpd, args.burst, workdir, args.rounds)
    finally:
        for sim in sims:
            sim.stop()
        if snmpd is not None:
            snmpd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
