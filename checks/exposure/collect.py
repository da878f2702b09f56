"""Which probes to run on a target (pure) and running them: at most ``concurrency`` at once,
each within its own bound, all within the check's time budget.

Only the target's own host and the URLs configured for it are probed, on the ports the
parameters name: never a range, never a neighbour."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from muni_watchdog.checks.base import CollectError
from muni_watchdog.checks.exposure.observations import (
    ExposureRaw,
    ServiceObservation,
    SnmpObservation,
    SshObservation,
    TlsObservation,
)
from muni_watchdog.checks.exposure.params import MAX_PORTS, ExposureParams, TargetFacts
from muni_watchdog.checks.exposure.probe_snmp import probe_snmp
from muni_watchdog.checks.exposure.probe_ssh import probe_ssh
from muni_watchdog.checks.exposure.probe_tls import probe_tls
from muni_watchdog.checks.exposure.probes import probe_ftp, probe_http, probe_rdp, probe_telnet

log = logging.getLogger("muni-watchdog")

# A probe's bound in probe timeouts: its steps (connect, greeting, each handshake...).
STEPS = {"snmp": 3, "telnet": 5, "ftp": 3, "http": 3, "rdp": 3, "ssh": 7, "tls": 7}
SERVICES = {"telnet": probe_telnet, "ftp": probe_ftp, "http": probe_http, "rdp": probe_rdp}


@dataclass(frozen=True)
class Probe:
    kind: str            # snmp, telnet, ftp, http, rdp, ssh, tls
    host: str
    port: int
    server_name: str = ""

    @property
    def name(self) -> str:
        where = f"udp/{self.port}" if self.kind == "snmp" else f"tcp/{self.port}"
        if self.kind == "tls":
            where = f"{self.host}:{self.port}"
        return f"{self.kind} {where}"


def tls_endpoints(facts: TargetFacts, params: ExposureParams) -> list[tuple[str, int, str]]:
    """(host, port, server name) of the https URLs and the extra TLS ports, once each."""
    seen: dict[tuple[str, int], str] = {}
    for url in facts.urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.hostname:
            seen.setdefault((parts.hostname, parts.port or 443), parts.hostname)
    for port in params.tls_ports:
        seen.setdefault((facts.host, port), facts.host)
    return [(host, port, name) for (host, port), name in seen.items()][:MAX_PORTS]


def plan_probes(facts: TargetFacts, params: ExposureParams) -> list[Probe]:
    """Every probe this target gets, in the order they start."""
    host = facts.host
    probes: list[Probe] = []
    if params.snmp:
        probes.append(Probe("snmp", host, params.snmp_port or facts.snmp_port or 161))
    ssh_ports = [*params.ssh_ports, *([facts.ssh_port] if facts.ssh_port else [])]
    probes += [Probe("ssh", host, p) for p in dict.fromkeys(ssh_ports)]
    probes += [Probe("telnet", host, p) for p in dict.fromkeys(params.telnet_ports)]
    probes += [Probe("ftp", host, p) for p in dict.fromkeys(params.ftp_ports)]
    if facts.device_class in params.http_classes:
        probes += [Probe("http", host, p) for p in dict.fromkeys(params.http_ports)]
    if not facts.expects_rdp(params):
        probes.append(Probe("rdp", host, params.rdp_port))
    probes += [Probe("tls", h, p, name) for h, p, name in tls_endpoints(facts, params)]
    return probes


async def _run_one(probe: Probe, params: ExposureParams):
    t = params.probe_timeout
    if probe.kind == "snmp":
        return await probe_snmp(probe.host, probe.port, params.snmp_communities, t)
    if probe.kind == "ssh":
        return await probe_ssh(probe.host, probe.port, params.ssh_probe_user, t)
    if probe.kind == "tls":
        return await probe_tls(probe.host, probe.port, probe.server_name, t, params.ca_file)
    return await SERVICES[probe.kind](probe.host, probe.port, t)


async def run_probes(probes: list[Probe], params: ExposureParams,
                     ) -> tuple[dict[Probe, object], list[str], list[tuple[str, str]]]:
    """(observation per finished probe, names of probes stopped at the budget, (name, reason)
    of probes that failed)."""
    limit = asyncio.Semaphore(params.concurrency)
    failed: list[tuple[str, str]] = []

    async def guarded(probe: Probe):
        async with limit:
            bound = params.probe_timeout * STEPS[probe.kind] + 2
            try:
                return await asyncio.wait_for(_run_one(probe, params), bound)
            except TimeoutError:
                failed.append((probe.name, f"did not finish within its {bound:g}s bound"))
            except Exception as exc:  # a bug in one probe must not hide the others
                log.exception("exposure probe %s on %s failed", probe.name, probe.host)
                failed.append((probe.name, f"probe failed: {type(exc).__name__}: {exc}"))
            return None

    tasks = {asyncio.create_task(guarded(p)): p for p in probes}
    if not tasks:
        return {}, [], []
    done, pending = await asyncio.wait(tasks, timeout=params.timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    finished = {tasks[t]: t.result() for t in done if t.result() is not None}
    stopped = {tasks[t] for t in pending}
    # In plan order, whatever order they finished in: the summary must not shuffle.
    results = {p: finished[p] for p in probes if p in finished}
    return results, [p.name for p in probes if p in stopped], failed


async def _resolve(host: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), timeout)
    except (OSError, TimeoutError):
        raise CollectError(f"cannot resolve host name {host!r}") from None


async def collect_exposure(facts: TargetFacts, params: ExposureParams) -> ExposureRaw:
    """Run every planned probe on the target; raises CollectError when its host name does
    not resolve (then nothing can be said)."""
    await _resolve(facts.host, params.probe_timeout)
    probes = plan_probes(facts, params)
    results, unfinished, failed = await run_probes(probes, params)
    seen = list(results.values())
    snmp = next((o for o in seen if isinstance(o, SnmpObservation)), None)
    return ExposureRaw(
        facts=facts, snmp=snmp,
        services=tuple(o for o in seen if isinstance(o, ServiceObservation)),
        ssh=tuple(o for o in seen if isinstance(o, SshObservation)),
        tls=tuple(o for o in seen if isinstance(o, TlsObservation)),
        unfinished=tuple(unfinished), failed=tuple(failed), probes=len(probes),
        budget=params.timeout)
