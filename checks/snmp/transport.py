"""SNMPv1/v2c over UDP with asyncio: one socket per address family for all targets, request
ids to route answers, a timeout and retries per request."""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
import weakref

from checks.snmp import ber


class RequestTimeout(Exception):
    """No answer after all retries."""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.pending: dict[int, tuple[asyncio.Future, tuple]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        request_id = ber.request_id_of(data)
        entry = self.pending.get(request_id) if request_id is not None else None
        # Only the agent we asked may answer (addresses compared without IPv6 scope/flow).
        if entry is None or entry[0].done() or addr[:2] != entry[1][:2]:
            return
        entry[0].set_result(data)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors on an unconnected socket carry no request; timeouts tell


_endpoints: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ids = itertools.count(random.randrange(1, 1 << 30))


async def _endpoint(family: int) -> _Protocol:
    loop = asyncio.get_running_loop()
    per_loop = _endpoints.setdefault(loop, {})
    protocol = per_loop.get(family)
    if protocol is None or protocol.transport is None or protocol.transport.is_closing():
        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)
        _, protocol = await loop.create_datagram_endpoint(_Protocol, local_addr=local,
                                                          family=family)
        per_loop[family] = protocol
    return protocol


async def resolve(host: str, port: int) -> tuple[int, tuple]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, _, _, _, address = infos[0]
    return family, address


async def exchange(family: int, address: tuple, message_for_id, timeout: float,
                   retries: int) -> bytes:
    """Send the message built by ``message_for_id(request_id)``; resend it on timeout."""
    protocol = await _endpoint(family)
    request_id = next(_ids) & 0x7FFFFFFF
    message = message_for_id(request_id)
    future = asyncio.get_running_loop().create_future()
    protocol.pending[request_id] = (future, address)
    try:
        for _ in range(retries + 1):
            assert protocol.transport is not None
            protocol.transport.sendto(message, address)
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                continue
        raise RequestTimeout()
    finally:
        protocol.pending.pop(request_id, None)
        if not future.done():
            future.cancel()
