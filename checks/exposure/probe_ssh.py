"""An SSH server's offer, read before any login: its version line and KEXINIT algorithm
lists (our own socket; :mod:`.ssh_algorithms` parses), then the login methods it offers.

The methods come from paramiko's ``Transport.auth_none``: after the key exchange, a
USERAUTH_REQUEST with method ``none`` for a user name, which the server refuses with the list
of methods that can continue (RFC 4252 §5.2). This is how every client starts (``ssh -v``
shows it; nmap's ssh-auth-methods does the same); no password or key is sent, and OpenSSH
does not count it against ``MaxAuthTries``.

The user name is made up (``ssh_probe_user``) on purpose: OpenSSH answers an unknown user with
its global settings — what an attacker trying names meets — while a real account may have a
``Match User`` block of its own. sshd logs it as one ``Invalid user muni-watchdog from ...``
line per port and run (daily); fail2ban's sshd filter counts that as one failure, far below
any ban threshold (5 in 10 minutes by default)."""

from __future__ import annotations

import asyncio
import socket

from muni_watchdog.checks.exposure.observations import SshObservation
from muni_watchdog.checks.exposure.probes import connect
from muni_watchdog.checks.exposure.ssh_algorithms import (
    MAX_LINE,
    MAX_VERSION_LINES,
    SshParseError,
    packet_length,
    parse_kexinit_packet,
    parse_version_line,
    protocol_version,
)
from muni_watchdog.core.lazy import lazy_module

paramiko = lazy_module("paramiko")  # imported at the first probe (core/lazy.py)

CLIENT_ID = b"SSH-2.0-muni_watchdog_exposure\r\n"


async def read_offer(host: str, port: int, timeout: float) -> SshObservation:
    """The server's identification and KEXINIT; a port that does not speak SSH is an
    ``error`` with the reason."""
    state, conn, reason = await connect(host, port, timeout)
    if conn is None:
        return SshObservation(port, state, error=reason if state == "error" else "")
    identification = ""
    try:
        await conn.send(CLIENT_ID, timeout)
        for _ in range(MAX_VERSION_LINES):
            line = await asyncio.wait_for(conn.reader.readline(), timeout)
            if not line:
                raise SshParseError("the server closed the connection before its version")
            if len(line) > MAX_LINE + 2 and not line.startswith(b"SSH-"):
                raise SshParseError("a line longer than 255 bytes before the version")
            if line.startswith(b"SSH-"):
                identification = parse_version_line(line)
                break
        else:
            raise SshParseError(f"no SSH version line in the first {MAX_VERSION_LINES} lines")
        if protocol_version(identification).startswith("1.") and \
                protocol_version(identification) != "1.99":
            return SshObservation(port, "open", identification)   # SSH-1 only: no KEXINIT
        length = packet_length(await asyncio.wait_for(conn.reader.readexactly(4), timeout))
        packet = await asyncio.wait_for(conn.reader.readexactly(length), timeout)
        kexinit = parse_kexinit_packet(packet)
    except TimeoutError:
        return SshObservation(port, "error", identification,
                              error=f"no SSH {'key exchange offer' if identification else 'version line'} "
                              f"within {timeout:g}s (not an SSH server?)")
    except (ValueError, asyncio.IncompleteReadError) as exc:  # SshParseError, line too long
        return SshObservation(port, "error", identification, error=f"not SSH-2: {exc}")
    except OSError as exc:
        return SshObservation(port, "error", identification,
                              error=f"connection broken: {exc.strerror or exc}")
    finally:
        await conn.close()
    return SshObservation(port, "open", identification, kexinit)


def _auth_methods_blocking(host: str, port: int, user: str, timeout: float,
                           ) -> tuple[str, ...]:
    sock = socket.create_connection((host, port), timeout=timeout)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        if not transport.is_active():
            raise paramiko.SSHException(f"no key exchange within {timeout:g}s")
        try:
            transport.auth_none(user)
        except paramiko.BadAuthenticationType as exc:
            return tuple(exc.allowed_types)
        return ("none",)   # the server let us in without any authentication
    finally:
        transport.close()


async def auth_methods(host: str, port: int, user: str, timeout: float,
                       ) -> tuple[tuple[str, ...] | None, str]:
    """(methods offered, "") or (None, why they are unknown)."""
    try:
        methods = await asyncio.wait_for(
            asyncio.to_thread(_auth_methods_blocking, host, port, user, timeout),
            timeout * 3 + 1)
    except TimeoutError:
        return None, f"no answer to the 'none' request within {timeout * 3:g}s"
    except paramiko.IncompatiblePeer as exc:
        return None, (f"our SSH library refuses every key exchange the server offers ({exc}); "
                      "fix the weak algorithms first")
    except (paramiko.SSHException, EOFError, OSError) as exc:
        return None, f"key exchange failed: {exc}"
    return methods, ""


async def probe_ssh(host: str, port: int, user: str, timeout: float) -> SshObservation:
    offer = await read_offer(host, port, timeout)
    if offer.state != "open" or offer.kexinit is None:
        return offer
    methods, why = await auth_methods(host, port, user, timeout)
    return SshObservation(port, "open", offer.identification, offer.kexinit, methods, why)
