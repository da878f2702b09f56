"""Does the agent answer a factory-default community, or any community at all, and does it
speak SNMPv3?

One GET of ``sysDescr.0`` per default community and version (v2c and v1: an agent may accept
a community on either), sent with our own codec and UDP transport (:mod:`checks.snmp.ber`,
:mod:`checks.snmp.transport`), a few milliseconds apart (Greenbone's default-community test
staggers too: some agents drop bursts). A random community is the control: an agent that
answers it answers anything. Never a SET. The v3 question is one engine-discovery request
(:mod:`.snmp_v3`) on a connected UDP socket, so that an ICMP port-unreachable tells "no agent
here" apart from silence."""

from __future__ import annotations

import asyncio
import random
import secrets

from muni_watchdog.checks.exposure.banners import printable
from muni_watchdog.checks.exposure.observations import SnmpObservation
from muni_watchdog.checks.exposure.snmp_v3 import discovery_request, parse_v3_answer
from muni_watchdog.checks.snmp import ber
from muni_watchdog.checks.snmp.client import valid_answer
from muni_watchdog.checks.snmp.transport import RequestTimeout, exchange, resolve

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
VERSIONS = (("2c", 1), ("1", 0))
STAGGER = 0.02            # seconds between two requests
AUTHORIZATION_ERROR = 16  # RFC 3416 error-status: the agent refuses this community


async def _get_sys_descr(family: int, address: tuple, community: str, version: int,
                         timeout: float, retries: int) -> bytes | None:
    """sysDescr (b"" when the agent answered without it), or None: no answer."""
    def message(request_id: int) -> bytes:
        return ber.encode_request(version, community.encode(), ber.GET, request_id,
                                  [SYS_DESCR])
    try:
        # Only an answer in our version with our community counts (as in every poll): a
        # stray or forged datagram must not make a community look accepted.
        answer = await exchange(family, address, message, timeout, retries,
                                valid_answer(version, community.encode()))
    except (RequestTimeout, ber.BerError):
        return None
    status, varbinds = answer.error_status, answer.varbinds
    if status == AUTHORIZATION_ERROR:
        return None
    value = varbinds[0][1] if varbinds else None
    return value if isinstance(value, bytes) else b""


class _OneAnswer(asyncio.DatagramProtocol):
    def __init__(self, future: asyncio.Future):
        self.future = future

    def datagram_received(self, data: bytes, addr) -> None:
        if not self.future.done():
            self.future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


async def v3_engine_id(family: int, address: tuple, timeout: float, retries: int,
                       ) -> tuple[str | None, bool]:
    """(the agent's engine id in hex or None, ICMP port unreachable seen)."""
    loop = asyncio.get_running_loop()
    msg_id = random.randrange(1, 1 << 30)
    future = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _OneAnswer(future), remote_addr=address, family=family)
    try:
        for _ in range(retries + 1):
            transport.sendto(discovery_request(msg_id, msg_id))
            try:
                data = await asyncio.wait_for(asyncio.shield(future), timeout)
                break
            except TimeoutError:
                continue
        else:
            return None, False
    except ConnectionRefusedError:
        return None, True
    except OSError:
        return None, False
    finally:
        transport.close()
        if not future.done():
            future.cancel()
    try:
        answer = parse_v3_answer(data)
    except ber.BerError:
        return None, False
    if answer.msg_id == msg_id and answer.is_discovery_report:
        return answer.engine_id.hex(), False
    return None, False


async def probe_snmp(host: str, port: int, communities: list[str], timeout: float,
                     retries: int = 1) -> SnmpObservation:
    try:
        family, address = await resolve(host, port)
    except OSError:
        return SnmpObservation(port, error=f"cannot resolve host name {host!r}")
    control = "mw-" + secrets.token_hex(8)
    asks = [(c, label, number) for c in [*communities, control] for label, number in VERSIONS]

    async def ask(index: int, community: str, version: int) -> bytes | None:
        await asyncio.sleep(index * STAGGER)
        return await _get_sys_descr(family, address, community, version, timeout, retries)

    asking = asyncio.gather(*(ask(i, c, n) for i, (c, _, n) in enumerate(asks)))
    engine, unreachable = await v3_engine_id(family, address, timeout, retries)
    if unreachable:   # ICMP port unreachable: no agent, the community answers cannot come
        asking.cancel()
        await asyncio.gather(asking, return_exceptions=True)
        return SnmpObservation(port, icmp_unreachable=True)
    answers = await asking
    answered = tuple((c, label) for (c, label, _), a in zip(asks, answers, strict=True)
                     if a is not None and c != control)
    any_community = any(a is not None for (c, _, _), a in zip(asks, answers, strict=True)
                        if c == control)
    descr = next((a for a in answers if a), b"")
    return SnmpObservation(port, answered, printable(descr, 80), any_community, engine,
                           unreachable)

