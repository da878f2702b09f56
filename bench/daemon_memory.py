"""The daemon's memory with 500 SNMP + 50 SSH targets, over time: a soak and leak test.

Writes a configuration (500 ``snmp`` targets with the default checks — system, device,
neighbors — served by snmpsim from a net-snmp recording, so the device profile is IF-MIB +
HOST-RESOURCES; 50 ``ssh`` targets on the lab sshd with its usual checks), runs
``muni-watchdog run`` as a process, and samples its VmRSS / VmHWM from /proc. Printed: RSS at
each sample, RSS after the first hour (target ≤ 60 MB), and the growth from the middle of the
run to its end (hour 1 → hour 2 for the full run: a leak shows as steady growth). The peer
figure is prometheus-snmp-exporter's RSS after scraping the same 500 devices once a minute
(the same OIDs as the daemon walks), sampled in the same run.

Beside it runs a second daemon with one SNMP and one SSH target of the same kinds (``--no-floor``
leaves it out): its RSS is what the process costs before it monitors much (the interpreter,
the libraries, the code), so the difference divided by the targets is what each target costs.
The exporter's idle RSS (before its first scrape) is its floor, for the same comparison.

``--tracemalloc`` runs the daemon under tracemalloc and prints what grew between the first
snapshot (after the first poll of every target) and the last (the lines that allocated most).

    .venv/bin/python -m bench.daemon_memory --minutes 120          # the full leak test
    .venv/bin/python -m bench.daemon_memory --minutes 120 --agent snmpd   # the same, light
    .venv/bin/python -m bench.daemon_memory --minutes 6 --tracemalloc
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

from lab.snmp_lab import DATA_DIR, LOOPBACK, NetSnmpd, SnmpSim
from lab.ssh_lab import SshLab

RECORDING = DATA_DIR / "local-snmpd.snmprec"   # net-snmp on Linux: IF-MIB + HOST-RESOURCES
TRACED = """\
import sys, threading, time, tracemalloc, os
tracemalloc.start(int(os.environ["BENCH_TRACE_FRAMES"]))
out = os.environ["BENCH_TRACE_DIR"]
marks = [float(s) for s in os.environ["BENCH_TRACE_AT"].split(",")]
def dump():
    started = time.monotonic()
    for i, mark in enumerate(marks):
        time.sleep(max(0.0, started + mark - time.monotonic()))
        tracemalloc.take_snapshot().dump(f"{out}/snap-{i}.bin")
threading.Thread(target=dump, daemon=True).start()
from muni_watchdog.cli.main import main
sys.argv = ["muni-watchdog", *sys.argv[1:]]
raise SystemExit(main())
"""


def write_config(path: Path, sims: list[tuple[int, list[str]]], ssh: SshLab | None,
                 ssh_targets: int, secrets: Path, community: str | None = None) -> int:
    """``community``: one for every device (snmpd); by default each device's name (snmpsim
    picks the recording by community)."""
    lines = ["site: {name: Benchville, timezone: UTC}", "targets:"]
    count = 0
    for port, names in sims:
        for name in names:
            secret = secrets / f"{name}.community"
            secret.write_text(community or name)
            lines += [f"  - id: {name}", "    kind: snmp", f"    host: {LOOPBACK}",
                      f"    snmp: {{version: 2c, port: {port}, community_file: {secret}}}"]
            count += 1
    if ssh is not None:
        known = secrets / "known_hosts"
        ssh.pin(known)
        for i in range(ssh_targets):
            lines.append(ssh.target_yaml(f"ssh-{i:03d}", known).rstrip("\n"))
            count += 1
    path.write_text("\n".join(lines) + "\n")
    return count


def status_kib(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                fields[key] = int(rest.split()[0])
    return fields


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


class ExporterLoad:
    """prometheus-snmp-exporter scraping every device once a minute (the peer's RSS)."""

    def __init__(self, workdir: Path, devices: list[tuple[int, str]],
                 community: str | None = None):
        from bench.snmp_poll import SnmpExporter
        roots = ("1.3.6.1.2.1.1", "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1",
                 "1.3.6.1.2.1.25.2.3", "1.3.6.1.2.1.25.3.3.1.2")
        self.exporter = SnmpExporter(workdir, roots, "unused", timeout="5s", retries=2)
        module = self.exporter.config()
        # snmpsim picks the recording by community, and 0.21 has the community in the
        # module: one module per device.
        self.exporter.config = lambda: "".join(  # type: ignore[method-assign]
            module.replace("burst:", f"{c}:", 1).replace("community: unused",
                                                         f"community: {community or c}")
            for _, c in devices)
        self.devices = devices
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> ExporterLoad:
        self.exporter.start()
        self.idle_rss = status_kib(self.pid)["VmRSS"] / 1024   # before its first scrape
        self.thread.start()
        return self

    def _run(self) -> None:
        from concurrent.futures import ThreadPoolExecutor
        # One scrape per device and minute, spread over the minute as the daemon's are.
        with ThreadPoolExecutor(8) as pool:
            while not self.stop.is_set():
                started = time.monotonic()
                list(pool.map(self._scrape, self.devices))
                self.stop.wait(max(0.0, 60 - (time.monotonic() - started)))

    def _scrape(self, device: tuple[int, str]) -> None:
        import urllib.request
        port, community = device
        url = (f"http://{LOOPBACK}:{self.exporter.port}/snmp?module={community}&target="
               f"{LOOPBACK}:{port}")
        try:
            urllib.request.urlopen(url, timeout=60).read()
        except OSError:
            pass

    @property
    def pid(self) -> int:
        assert self.exporter.process is not None
        return self.exporter.process.pid

    def close(self) -> None:
        self.stop.set()
        self.exporter.stop()


def print_growth(trace_dir: Path, top: int) -> None:
    snaps = sorted(trace_dir.glob("snap-*.bin"))
    if len(snaps) < 2:
        print("tracemalloc: fewer than two snapshots were taken")
        return
    first = tracemalloc.Snapshot.load(str(snaps[0]))
    last = tracemalloc.Snapshot.load(str(snaps[-1]))
    keep = [tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")]
    first, last = first.filter_traces(keep), last.filter_traces(keep)
    total = sum(s.size for s in last.statistics("filename")) / 2**20
    base = sum(s.size for s in first.statistics("filename")) / 2**20
    print(f"tracemalloc: traced Python memory {base:.1f} MB -> {total:.1f} MB; grew most:")
    for stat in last.compare_to(first, "traceback")[:top]:
        frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}"
                  for f in stat.traceback[-4:]]
        print(f"  {stat.size_diff / 1024:>+9.0f} KiB {stat.count_diff:>+8} blocks  "
              f"{' <- '.join(reversed(frames))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="how long to run")
    parser.add_argument("--snmp", type=int, default=500, help="SNMP targets")
    parser.add_argument("--ssh", type=int, default=50, help="SSH targets")
    parser.add_argument("--agents", type=int, default=2, help="snmpsim processes")
    parser.add_argument("--agent", choices=("snmpsim", "snmpd"), default="snmpsim",
                        help="the devices: snmpsim recordings of net-snmp on Linux, or every "
                        "device on this host's net-snmp snmpd (C: a much lighter load, for a "
                        "soak beside other benchmarks)")
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="run the daemon under tracemalloc and print what grew")
    parser.add_argument("--arenas", type=int, default=0,
                        help="MALLOC_ARENA_MAX for the daemon (0: the daemon's own cap of 2; "
                        "glibc's default is 8 per core)")
    parser.add_argument("--no-floor", action="store_true",
                        help="do not run the one-SNMP-one-SSH-target daemon beside it")
    parser.add_argument("--no-peer", action="store_true",
                        help="do not run prometheus-snmp-exporter beside it")
    args = parser.parse_args()
    # Stopped with kill (or by a background shell, which ignores SIGINT): still stop the
    # daemons, the agent, sshd and the exporter on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="daemon-memory-"))
    os.chmod(workdir, 0o755)
    sims: list[SnmpSim] = []
    ssh = daemon = peer = snmpd = floor = None
    community = None
    try:
        per_agent = -(-args.snmp // args.agents)
        placed: list[tuple[int, list[str]]] = []
        devices: list[tuple[int, str]] = []
        if args.agent == "snmpd":
            snmpd = NetSnmpd(workdir / "snmpd").start()
            community = snmpd.community
            names = [f"dev-{i:04d}" for i in range(args.snmp)]
            placed.append((snmpd.port, names))
            devices += [(snmpd.port, n) for n in names]
        for agent in range(args.agents if args.agent == "snmpsim" else 0):
            names = [f"dev{agent}-{i:04d}" for i in
                     range(min(per_agent, args.snmp - sum(len(n) for _, n in placed)))]
            if not names:
                break
            sim = SnmpSim({n: RECORDING for n in names}, workdir / f"sim{agent}").start(
                timeout=180)
            sims.append(sim)
            placed.append((sim.port, names))
            devices += [(sim.port, n) for n in names]
        if args.ssh:
            ssh = SshLab(log_level="INFO", max_startups=400).start()
        secrets = workdir / "secrets"
        secrets.mkdir(mode=0o700)
        config = workdir / "watchdog.yaml"
        targets = write_config(config, placed, ssh, args.ssh, secrets, community)
        state = workdir / "state"
        argv = ["run", "-c", str(config), "--state-dir", str(state)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if args.arenas:
            env["MALLOC_ARENA_MAX"] = str(args.arenas)
        trace_dir = workdir / "trace"
        if args.tracemalloc:
            trace_dir.mkdir()
            # First snapshot after every target's first poll (the first runs are spread over
            # one interval, 60 s) and a minute more; the last one near the end.
            end = args.minutes * 60
            env.update(BENCH_TRACE_FRAMES=os.environ.get("BENCH_TRACE_FRAMES", "3"), BENCH_TRACE_DIR=str(trace_dir),
                       BENCH_TRACE_AT=f"{min(150.0, end / 2)},{end - 20}")
            command = [sys.executable, "-c", TRACED, *argv]
        else:
            command = [sys.executable, "-m", "muni_watchdog", *argv]
        log = open(workdir / "daemon.log", "w")
        daemon = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        if not args.no_floor and not args.tracemalloc:
            small = workdir / "floor"
            small.mkdir()
            (small / "secrets").mkdir(mode=0o700)
            write_config(small / "watchdog.yaml", [(placed[0][0], placed[0][1][:1])], ssh,
                         min(1, args.ssh), small / "secrets", community)
            floor = subprocess.Popen(
                [sys.executable, "-m", "muni_watchdog", "run", "-c",
                 str(small / "watchdog.yaml"), "--state-dir", str(small / "state")],
                stdout=open(small / "daemon.log", "w"), stderr=subprocess.STDOUT, env=env)
        if not args.no_peer and shutil.which("prometheus-snmp-exporter"):
            peer = ExporterLoad(workdir / "exporter", devices, community).start()
        agents = f"{len(sims)} snmpsim" if args.agent == "snmpsim" else "net-snmp snmpd"
        print(f"{targets} targets ({args.snmp} SNMP on {agents}, {args.ssh} SSH); "
              f"daemon pid {daemon.pid}; {args.minutes:g} min; log {workdir / 'daemon.log'}",
              flush=True)
        print(f"{'min':>6} {'RSS MB':>8} {'HWM MB':>8} {'CPU s':>8}   "
              f"{'peer RSS MB':>11} {'floor RSS MB':>12}", flush=True)
        started = time.monotonic()
        samples: list[tuple[float, float, float]] = []
        peer_samples: list[tuple[float, float]] = []
        floor_samples: list[tuple[float, float]] = []
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited with {daemon.returncode}; see the log")
            mem = status_kib(daemon.pid)
            cpu = cpu_seconds(daemon.pid)
            minute = elapsed / 60
            samples.append((minute, mem["VmRSS"] / 1024, mem["VmHWM"] / 1024))
            peer_rss = ""
            if peer is not None:
                p = status_kib(peer.pid)["VmRSS"] / 1024
                peer_samples.append((minute, p))
                peer_rss = f"{p:>11.1f}"
            floor_rss = ""
            if floor is not None and floor.poll() is None:
                f = status_kib(floor.pid)["VmRSS"] / 1024
                floor_samples.append((minute, f))
                floor_rss = f"{f:>12.1f}"
            print(f"{minute:>6.1f} {samples[-1][1]:>8.1f} {samples[-1][2]:>8.1f} "
                  f"{cpu:>8.1f}   {peer_rss:>11} {floor_rss}", flush=True)
            time.sleep(args.sample)
        summary(samples, peer_samples, args.minutes)
        per_target(samples, floor_samples, args.minutes, targets, 1 + min(1, args.ssh))
        if peer is not None:
            busy = _at(peer_samples, min(60.0, args.minutes))[1]
            print(f"peer floor (prometheus-snmp-exporter before its first scrape): "
                  f"{peer.idle_rss:.1f} MB; each device "
                  f"{(busy - peer.idle_rss) * 1024 / max(1, args.snmp):.0f} KB")
    finally:
        for process in (daemon, floor):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
        if peer is not None:
            peer.close()
        if args.tracemalloc:
            print_growth(workdir / "trace", 25)
        for sim in sims:
            sim.stop()
        if snmpd is not None:
            snmpd.stop()
        if ssh is not None:
            ssh.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _at(samples: list[tuple[float, ...]], minute: float) -> tuple[float, ...]:
    return min(samples, key=lambda s: abs(s[0] - minute))


def summary(samples: list[tuple[float, float, float]], peer: list[tuple[float, float]],
            minutes: float) -> None:
    hour = min(60.0, minutes)
    middle = minutes / 2
    at_hour, at_middle, at_end = _at(samples, hour), _at(samples, middle), samples[-1]
    growth = at_end[1] - at_middle[1]
    print(f"RSS after {hour:g} min: {at_hour[1]:.1f} MB (target <= 60 MB); peak (VmHWM) "
          f"{at_end[2]:.1f} MB")
    print(f"growth from {at_middle[0]:.0f} min to {at_end[0]:.0f} min: {growth:+.1f} MB "
          f"({growth / max(at_middle[1], 1) * 100:+.1f} %)")
    if peer:
        p_hour, p_middle, p_end = _at(peer, hour), _at(peer, middle), peer[-1]
        print(f"peer prometheus-snmp-exporter (same devices, scraped once a minute): RSS "
              f"after {hour:g} min {p_hour[1]:.1f} MB; {p_middle[0]:.0f} -> {p_end[0]:.0f} "
              f"min {p_end[1] - p_middle[1]:+.1f} MB")



def per_target(samples: list[tuple[float, float, float]], floor: list[tuple[float, float]],
               minutes: float, targets: int, floor_targets: int) -> None:
    """What each target costs: the RSS above the floor daemon's, over the further targets."""
    if not floor:
        return
    hour = min(60.0, minutes)
    full, small = _at(samples, hour)[1], _at(floor, hour)[1]
    per = (full - small) * 1024 / max(1, targets - floor_targets)
    print(f"floor (a daemon with {floor_targets} targets, the same kinds): {small:.1f} MB "
          f"after {hour:g} min; each further target {per:.0f} KB "
          f"({full - small:.1f} MB for {targets - floor_targets})")


if __name__ == "__main__":
    main()
