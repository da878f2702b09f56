"""Clear-text service probes: connect, read the greeting (byte cap, deadline), leave.

Telnet is answered only with refusals of its option negotiation (WONT/DONT, what a plain
client does) so that it shows its prompt; FTP gets a QUIT; HTTP one ``GET /``; RDP the
X.224 Connection Request every client sends first. Nothing answers a prompt."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Callable

from muni_watchdog.checks.exposure.banners import (
    RDP_CONNECTION_REQUEST,
    ftp_greeting,
    is_rdp_confirm,
    is_telnet,
    parse_http_answer,
    printable,
    split_telnet,
    telnet_refusals,
)
from muni_watchdog.checks.exposure.observations import PortState, ServiceObservation

TELNET_CAP = 2048
FTP_CAP = 1024
HTTP_CAP = 16384
RDP_CAP = 64
TELNET_ROUNDS = 3       # negotiation rounds before we stop waiting for a prompt
UNREACHABLE = (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN)


class Connection:
    """An open TCP connection with a deadline for everything read from it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def read(self, cap: int, timeout: float,
                   enough: Callable[[bytes], bool] = lambda _: False) -> bytes:
        """Read until ``cap`` bytes, end of stream, ``enough(data)`` or ``timeout`` seconds;
        what arrived by then (never an error for silence)."""
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < cap and not enough(data):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(self.reader.read(cap - len(data)), left)
            except (TimeoutError, ConnectionError, OSError):
                break
            if not chunk:
                break
            data += chunk
        return data

    async def send(self, data: bytes, timeout: float) -> None:
        self.writer.write(data)
        await asyncio.wait_for(self.writer.drain(), timeout)

    async def close(self) -> None:
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 1)
        except (TimeoutError, OSError):
            pass


async def connect(host: str, port: int, timeout: float,
                  ) -> tuple[PortState, Connection | None, str]:
    """(state, connection, reason): open, closed (refused), filtered (silence or
    unreachable) or error."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return "filtered", None, f"no answer within {timeout:g}s"
    except ConnectionRefusedError:
        return "closed", None, "connection refused"
    except socket.gaierror as exc:
        return "error", None, f"cannot resolve host name {host!r} ({exc.strerror})"
    except OSError as exc:
        if exc.errno in UNREACHABLE:
            return "filtered", None, exc.strerror or str(exc)
        return "error", None, exc.strerror or str(exc)
    return "open", Connection(reader, writer), ""


def _not_open(service, port: int, state: PortState, reason: str) -> ServiceObservation:
    return ServiceObservation(service, port, state, error=reason if state == "error" else "")


async def probe_telnet(host: str, port: int, timeout: float) -> ServiceObservation:
    state, conn, reason = await connect(host, port, timeout)
    if conn is None:
        return _not_open("telnet", port, state, reason)
    data = b""
    try:
        # Take each burst as it comes: a server that negotiates waits for our answers before
        # it shows the prompt, so waiting for more bytes would only run into the timeout.
        for _ in range(TELNET_ROUNDS + 2):
            chunk = await conn.read(TELNET_CAP - len(data), timeout, lambda d: bool(d))
            data += chunk
            text, _ = split_telnet(data)
            if not chunk or text.rstrip().endswith(b":") or len(data) >= TELNET_CAP:
                break
            _, negotiations = split_telnet(chunk)
            if negotiations:
                await conn.send(telnet_refusals(negotiations), timeout)
    except (TimeoutError, OSError):
        pass  # what arrived is what we judge
    finally:
        await conn.close()
    text, _ = split_telnet(data)
    return ServiceObservation("telnet", port, "open", confirmed=is_telnet(data),
                              banner=printable(text))


async def probe_ftp(host: str, port: int, timeout: float) -> ServiceObservation:
    state, conn, reason = await connect(host, port, timeout)
    if conn is None:
        return _not_open("ftp", port, state, reason)
    try:
        data = await conn.read(FTP_CAP, timeout, lambda d: b"\n" in d)
        greeting = ftp_greeting(data)
        if greeting is not None:
            try:
                await conn.send(b"QUIT\r\n", timeout)
            except (TimeoutError, OSError):
                pass
    finally:
        await conn.close()
    return ServiceObservation("ftp", port, "open", confirmed=greeting is not None,
                              banner=greeting or printable(data))


async def probe_http(host: str, port: int, timeout: float) -> ServiceObservation:
    state, conn, reason = await connect(host, port, timeout)
    if conn is None:
        return _not_open("http", port, state, reason)
    request = (f"GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: muni-watchdog exposure\r\n"
               "Accept: text/html\r\nConnection: close\r\n\r\n").encode("ascii", "replace")
    try:
        await conn.send(request, timeout)
        data = await conn.read(HTTP_CAP, timeout, lambda d: b"</title" in d.lower())
    except (TimeoutError, OSError) as exc:
        return ServiceObservation("http", port, "open", error=f"no HTTP answer: {exc}")
    finally:
        await conn.close()
    page = parse_http_answer(data)
    return ServiceObservation("http", port, "open", confirmed=page is not None, page=page,
                              banner="" if page else printable(data))


async def probe_rdp(host: str, port: int, timeout: float) -> ServiceObservation:
    state, conn, reason = await connect(host, port, timeout)
    if conn is None:
        return _not_open("rdp", port, state, reason)
    try:
        await conn.send(RDP_CONNECTION_REQUEST, timeout)
        data = await conn.read(RDP_CAP, timeout, lambda d: len(d) >= 11)
    except (TimeoutError, OSError):
        data = b""
    finally:
        await conn.close()
    confirmed = is_rdp_confirm(data)
    return ServiceObservation("rdp", port, "open", confirmed=confirmed,
                              banner="X.224 connection confirm" if confirmed else "")
