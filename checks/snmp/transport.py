"""SNMPv1/v2c over UDP with asyncio: one socket per address family for all targets, request
ids to route answers, a timeout and retries per request.

An answer is *accepted* only when it comes from the address asked, carries a pending
request id, and the request's ``accept`` function takes it (right version and community,
well-formed, a Response-PDU). Anything else — another community, another version,
undecodable garbage that happens to carry the request id — is ignored, its reason kept, and
the request keeps waiting for a valid answer until its timeout; the timeout then names the
last reason (:class:`RequestTimeout`). As net-snmp and gosnmp do: a forged or corrupted
datagram must neither end a request nor be mistaken for the agent's answer.

The shared socket asks for a 4 MiB receive buffer (``SO_RCVBUF``; ``SO_RCVBUFFORCE`` when
privileged): with the kernel's default ~208 KiB, fifty concurrent walks drop answers in a
burst and then sit out a whole timeout. snmp_exporter and Zabbix's async pollers hit the
same limit (their advice: raise ``net.core.rmem_max``). The effective size is logged."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from muni_watchdog.checks.snmp import ber

log = logging.getLogger("muni-watchdog")

RECEIVE_BUFFER = 4 * 1024 * 1024
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)   # Linux; Python has no constant


class RequestTimeout(Exception):
    """No acceptable answer after all retries. ``rejected``: why the last datagram that did
    carry the request id was refused (None when nothing came at all)."""

    def __init__(self, rejected: str | None = None):
        super().__init__(rejected or "no answer")
        self.rejected = rejected


class Rejected(Exception):
    """Raised by an ``accept`` function: this datagram is not a valid answer."""


class _Expired(Exception):
    """A request's wait ran out (set on its future by its timer)."""


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(_Expired())


@dataclass
class _Pending:
    future: asyncio.Future
    address: tuple
    accept: Callable[[bytes], Any]
    rejected: str | None = None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.pending: dict[int, _Pending] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        request_id = ber.request_id_of(data)
        entry = self.pending.get(request_id) if request_id is not None else None
        # Only the agent we asked may answer (addresses compared without IPv6 scope/flow).
        if entry is None or entry.future.done() or addr[:2] != entry.address[:2]:
            return
        try:
            result = entry.accept(data)
        except ber.BerError as exc:
            entry.rejected = f"a malformed answer ({exc})"
            return
        except Rejected as exc:
            entry.rejected = str(exc)
            return
        except Exception as exc:  # a protocol callback must never raise into the loop
            log.exception("SNMP answer from %s could not be checked", addr[0])
            entry.rejected = f"answer could not be checked: {type(exc).__name__}"
            return
        entry.future.set_result(result)

    def error_received(self, exc: Exception) -> None:
        pass  # ICMP errors on an unconnected socket carry no request; timeouts tell


_endpoints: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ids = itertools.count(random.randrange(1, 1 << 30))
_warned_small_buffer = False


def set_receive_buffer(sock: socket.socket, size: int = RECEIVE_BUFFER) -> int:
    """Ask for a ``size``-byte receive buffer; returns what the kernel granted (Linux
    reports twice the requested bytes, its bookkeeping overhead included). Unprivileged,
    the kernel caps the request at ``net.core.rmem_max``; with CAP_NET_ADMIN,
    ``SO_RCVBUFFORCE`` passes the cap."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    except OSError:
        pass
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    if granted < size and hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
            granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError:   # not Linux, or no CAP_NET_ADMIN in this namespace
            pass
    return granted


def _bound_socket(family: int, buffer: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))
        if buffer:
            granted = set_receive_buffer(sock, buffer)
            global _warned_small_buffer
            if granted < buffer and not _warned_small_buffer:
                _warned_small_buffer = True
                # INFO, not WARNING: a stock kernel always says this, and ~400 KiB hold a
                # 50-walk burst (bench/snmp_poll.py); it matters on bigger sites.
                log.info("SNMP: UDP receive buffer is %d KiB, not the %d KiB asked for; "
                         "if many devices are polled at once, answers may be dropped. "
                         "Raise the cap with: sysctl -w net.core.rmem_max=%d",
                         granted // 1024, buffer // 1024, buffer)
    except OSError:
        sock.close()
        raise
    return sock


async def _endpoint(family: int, loop: asyncio.AbstractEventLoop | None = None) -> _Protocol:
    loop = loop or asyncio.get_running_loop()
    per_loop = _endpoints.setdefault(loop, {})
    protocol = per_loop.get(family)
    if protocol is None or protocol.transport is None or protocol.transport.is_closing():
        _, protocol = await loop.create_datagram_endpoint(
            _Protocol, sock=_bound_socket(family, RECEIVE_BUFFER))
        per_loop[family] = protocol
    return protocol


def receive_buffer_bytes(family: int = socket.AF_INET) -> int | None:
    """The receive buffer of this loop's shared socket (None before its first request)."""
    protocol = _endpoints.get(asyncio.get_running_loop(), {}).get(family)
    if protocol is None or protocol.transport is None:
        return None
    return protocol.transport.get_extra_info("socket").getsockopt(socket.SOL_SOCKET,
                                                                  socket.SO_RCVBUF)


async def resolve(host: str, port: int) -> tuple[int, tuple]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, _, _, _, address = infos[0]
    return family, address


async def exchange(family: int, address: tuple, message_for_id: Callable[[int], bytes],
                   timeout: float, retries: int, accept: Callable[[bytes], Any]) -> Any:
    """Send the message built by ``message_for_id(request_id)``, resend it on timeout, and
    return ``accept(answer)`` of the first answer it accepts. Raises RequestTimeout.

    Cancellation always propagates (no ``asyncio.wait_for``: on Python 3.11 it drops a
    cancellation that arrives as the answer does, which kept endless walks alive after
    their check had timed out and the daemon after SIGTERM). The wait is a timer on the
    loop that fails the request's future, not ``asyncio.timeout`` (which cancels the task
    and un-cancels it: ~5 % of the daemon's CPU per value, for a request every few ms)."""
    # One look-up of the loop per request: on Python 3.11 each one is a getpid() system call.
    loop = asyncio.get_running_loop()
    protocol = await _endpoint(family, loop)
    request_id = next(_ids) & 0x7FFFFFFF
    message = message_for_id(request_id)
    entry = _Pending(loop.create_future(), address, accept)
    protocol.pending[request_id] = entry
    try:
        for _ in range(retries + 1):
            if entry.future.done():   # the previous try timed out (its future cancelled)
                entry.future = loop.create_future()
            assert protocol.transport is not None
            protocol.transport.sendto(message, address)
            timer = loop.call_later(timeout, _expire, entry.future)
            try:
                return await entry.future
            except _Expired:
                continue
            finally:
                timer.cancel()
        raise RequestTimeout(entry.rejected)
    finally:
        protocol.pending.pop(request_id, None)
        if not entry.future.done():
            entry.future.cancel()
