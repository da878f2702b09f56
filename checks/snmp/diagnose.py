"""Why an SNMP agent does not answer: host down, nothing on the port, or SNMP silent."""

from __future__ import annotations

import asyncio
import errno
import socket

from muni_watchdog.checks.snmp.errors import SnmpError

TCP_PROBE_PORTS = (22, 80, 443, 23, 9100, 515, 631, 3389, 445)


async def diagnose(host: str, port: int, wait: float = 1.0) -> SnmpError:
    """Why an agent does not answer: tell "host down" from "no agent on the port" from
    "host up, SNMP silent" without ICMP privileges — a connected UDP socket receives the
    ICMP port/host-unreachable errors, and a TCP connection attempt to common ports proves
    the host is up when it is answered at all (even by a refusal)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError:
        return SnmpError("host_down", f"cannot resolve host name {host!r}")
    family, _, _, _, address = infos[0]
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.setblocking(False)
    try:
        udp.connect(address)
        # An SNMPv2c GET of sysUpTime with community "public"; any answer or ICMP will do.
        udp.send(bytes.fromhex("302902010104067075626c6963a01c020400000001020100020100300e"
                               "300c06082b060102010103000500"))
        async with asyncio.timeout(wait):  # not wait_for: it can drop a cancellation
            await loop.sock_recv(udp, 2048)
    except ConnectionRefusedError:
        return SnmpError("no_agent", f"host up, but nothing listens on UDP port {port} "
                         "(ICMP port unreachable): the SNMP agent is off or on another port")
    except OSError as exc:
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN):
            return SnmpError("host_down", f"host down or unreachable ({exc.strerror})")
    except TimeoutError:
        pass
    finally:
        udp.close()
    if await _tcp_answers(host, wait):
        return SnmpError("no_answer", "host up, but SNMP does not answer: agent off, "
                         "access list, or wrong community (SNMP v1/v2c agents silently "
                         "ignore a wrong community, so it looks like this)")
    return SnmpError("no_answer", "no answer to SNMP nor to TCP probes: host down, or "
                     "SNMP blocked by a firewall (or a wrong community)")


async def _tcp_answers(host: str, wait: float) -> bool:
    async def one(port: int) -> bool:
        try:
            async with asyncio.timeout(wait):
                _, writer = await asyncio.open_connection(host, port)
        except ConnectionRefusedError:
            return True
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True
    results = await asyncio.gather(*(one(p) for p in TCP_PROBE_PORTS))
    return any(results)
