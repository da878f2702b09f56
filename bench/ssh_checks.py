"""A full ssh check cycle on N targets (default 50, all the local lab sshd), two ways, same run:

* muni-watchdog: one persistent paramiko connection per target, its checks' commands on it;
* OpenSSH's ``ssh`` client, one process (one connection) per check, as check_by_ssh does.

Both run the same remote commands with the same concurrency. The first muni-watchdog cycle
includes connecting; the second (the steady state of the daemon) reuses the connections.

    .venv/bin/python bench/ssh_checks.py [--targets 50] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.ssh_lab import SshLab  # noqa: E402
from muni_watchdog.checks import KINDS  # noqa: E402
from muni_watchdog.checks.base import TargetInfo  # noqa: E402
from muni_watchdog.checks.ssh.checks_system import (  # noqa: E402
    DiskParams,
    LoadParams,
    MemoryParams,
    UptimeParams,
)
from muni_watchdog.checks.ssh.connection import SshConnection, SshSession, posix_wrap  # noqa: E402
from muni_watchdog.checks.ssh.sections import sections_script  # noqa: E402
from muni_watchdog.core.eventloop import use_everywhere  # noqa: E402
from muni_watchdog.core.model import CheckContext  # noqa: E402

CHECKS = [("disk", DiskParams()), ("memory", MemoryParams()), ("load", LoadParams()),
          ("uptime", UptimeParams())]
SCRIPTS = {  # what each check sends, for the ssh client
    "disk": [("now", "date +%s"), ("df", "df -PTkl"), ("dfi", "df -PTil")],
    "memory": [("meminfo", "cat /proc/meminfo")],
    "load": [("loadavg", "cat /proc/loadavg"), ("cpus", "nproc")],
    "uptime": [("now", "date +%s"), ("uptime", "cat /proc/uptime")],
}


async def watchdog_cycle(targets: list[TargetInfo], limit: asyncio.Semaphore) -> float:
    kind = KINDS["ssh"]
    now = datetime.now(UTC)

    async def one(info: TargetInfo, name: str, params) -> None:
        async with limit:
            check = kind.check_types[name]
            raw = await check.collect(info, params)
            outcome = check.evaluate(raw, params, CheckContext(now, {})).outcome
            assert outcome.state.label != "unknown", outcome.summary

    started = time.perf_counter()
    await asyncio.gather(*(one(t, n, p) for t in targets for n, p in CHECKS))
    return time.perf_counter() - started


async def openssh_cycle(lab: SshLab, known: Path, n: int, limit: asyncio.Semaphore) -> float:
    base = ["ssh", "-q", "-p", str(lab.port), "-i", str(lab.client_key), "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=10", f"{lab.user}@127.0.0.1"]

    async def one(name: str) -> None:
        async with limit:
            proc = await asyncio.create_subprocess_exec(
                *base, posix_wrap(sections_script(SCRIPTS[name]), 30),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await proc.communicate()
            assert proc.returncode == 0, err

    started = time.perf_counter()
    await asyncio.gather(*(one(name) for _ in range(n) for name, _ in CHECKS))
    return time.perf_counter() - started


async def main(n: int, concurrency: int) -> None:
    lab = SshLab(log_level="INFO", max_startups=max(200, n * 4)).start()
    try:
        known = lab.pin(lab.dir / "known_hosts")
        conn = SshConnection(**lab.connection(known))
        targets = []
        for i in range(n):
            info = TargetInfo(f"server-{i:02d}", "ssh", "127.0.0.1", conn)
            targets.append(replace(info, session=SshSession.for_target(info)))
        limit = asyncio.Semaphore(concurrency)
        checks = n * len(CHECKS)
        first = await watchdog_cycle(targets, limit)
        steady = await watchdog_cycle(targets, limit)
        steady2 = await watchdog_cycle(targets, limit)
        openssh = await openssh_cycle(lab, known, n, limit)
        connects = sum(t.session.connects for t in targets)
        for t in targets:
            await t.session.close()
    finally:
        lab.stop()
    steady = min(steady, steady2)
    print(f"{n} targets x {len(CHECKS)} checks = {checks} checks, concurrency {concurrency}, "
          f"one local sshd")
    print(f"  muni-watchdog, first cycle (connects)   : {first:6.2f} s  "
          f"({connects} connections for {3 * checks} checks run)")
    print(f"  muni-watchdog, steady cycle (reused)    : {steady:6.2f} s")
    print(f"  OpenSSH ssh, one process per check      : {openssh:6.2f} s")
    print(f"  ratio ssh-per-check / steady cycle      : {openssh / steady:6.1f}x")
    print(f"  ratio ssh-per-check / first cycle       : {openssh / first:6.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    use_everywhere()   # the product's event loop (uvloop)
    asyncio.run(main(args.targets, args.concurrency))
