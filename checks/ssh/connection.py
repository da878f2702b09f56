"""The ``ssh`` connection settings and the per-target session: one pinned, reused connection.

paramiko is blocking, so every SSH operation runs in the session's own small thread pool: a
target whose host hangs ties up only its own threads, never those of other targets. The
pool's threads exit after 10 s without work (core/threads.py), so between polls a target holds
only paramiko's transport thread.

Host keys are checked *before* authentication. An unknown key stops the connection (the
operator trusts it with ``muni-watchdog trust-host``); a changed key stops it too and is
reported as a security event. In both cases no credential is offered and no command runs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import shlex
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from muni_watchdog.checks.base import CollectError, TargetInfo
from muni_watchdog.core.lazy import lazy_module
from muni_watchdog.core.secrets import SecretError, read_secret
from muni_watchdog.core.threads import IdleExitPool
from muni_watchdog.core.types import Interval, SecretRef, Strict, Timeout

log = logging.getLogger("muni-watchdog.ssh")
# Imported at the first connection (core/lazy.py): a configuration without SSH targets never
# pays its ~23 MB.
paramiko = lazy_module("paramiko")
# paramiko logs every connect and login at INFO: one line per check per target is noise.
logging.getLogger("paramiko").setLevel(logging.WARNING)

DEFAULT_KNOWN_HOSTS = "/var/lib/muni-watchdog/known_hosts"
THREADS_PER_TARGET = 4  # sshd's MaxSessions is 10; four commands at once is plenty


class SshConnection(Strict):
    """How to reach a server over SSH (the ``ssh:`` key of an ``ssh`` target)."""

    user: str = Field(..., min_length=1, description="Login name: a dedicated low-privilege "
                      "account, e.g. watchdog.")
    port: int = Field(22, ge=1, le=65535, description="SSH port.")
    key_file: str = Field(..., description="Private key (Ed25519, ECDSA or RSA) for this "
                          "account; readable only by the muni-watchdog user.",
                          examples=["/etc/muni-watchdog/secrets/ssh_ed25519"])
    passphrase_file: str | None = Field(None, description="File holding the key's passphrase.")
    passphrase_env: str | None = Field(None, description="Environment variable holding it.")
    passphrase_credential: str | None = Field(None, description="systemd credential holding it.")
    known_hosts: str = Field(DEFAULT_KNOWN_HOSTS, description="The pinned host keys (OpenSSH "
                             "known_hosts format), written by `muni-watchdog trust-host`. One "
                             "file per site, or one per target.")
    connect_timeout: Timeout = Field(10.0, description="Longest wait for TCP, the SSH banner, "
                                      "the key exchange and authentication, each.")
    command_timeout: Timeout = Field(60.0, description="Longest a single remote command may "
                                      "run (the check's own timeout also bounds it).")
    keepalive: Timeout = Field(30.0, description="Keepalive interval on the open connection "
                                "(OpenSSH's ServerAliveInterval, commonly 30s).")
    idle_close: Interval = Field(900.0, description="Close the connection when no check has "
                                 "used it for this long (reopened on the next check).")
    max_output: int = Field(1024 * 1024, ge=1024, description="Largest command output read, "
                            "in bytes; more is an UNKNOWN result, never a memory blow-up.")
    internet_facing: bool = Field(False, description="Reachable from the internet: pending "
                                  "security updates become critical sooner (7 days, not 14).")
    os: Literal["auto", "linux", "windows"] = Field(
        "auto", description="Operating system; auto asks the server once per connection.")

    @model_validator(mode="after")
    def _one_passphrase(self) -> SshConnection:
        given = [k for k in ("passphrase_file", "passphrase_env", "passphrase_credential")
                 if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"give at most one of {', '.join(given)}")
        return self

    @property
    def passphrase_ref(self) -> SecretRef | None:
        if self.passphrase_file:
            return SecretRef(file=self.passphrase_file)
        if self.passphrase_env:
            return SecretRef(env=self.passphrase_env)
        if self.passphrase_credential:
            return SecretRef(credential=self.passphrase_credential)
        return None


class HostKeyUnknown(CollectError):
    """The server offered a key that is not pinned: refused, UNKNOWN, with how to trust it."""


class HostKeyChanged(CollectError):
    """The server offered a key other than the pinned one: a security event."""


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str
    seconds: float


def fingerprint(key: paramiko.PKey) -> str:
    """SHA256 fingerprint as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def load_known_hosts(path: str) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    if Path(path).exists():
        keys.load(path)
    return keys


def _key_types_preferring(known: list[str], offered: tuple[str, ...]) -> list[str]:
    """Ask the server for the key type we pinned first (as OpenSSH and SSHClient do)."""
    wanted = set()
    for name in known:
        wanted |= {"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"} if name == "ssh-rsa" else {name}
    return [t for t in offered if t in wanted] + [t for t in offered if t not in wanted]


def open_transport(host: str, port: int, timeout: float,
                   preferred_key_types: list[str] | None = None) -> paramiko.Transport:
    """TCP connect, banner and key exchange, bounded by ``timeout`` each. No authentication."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror:
        raise CollectError(f"cannot resolve host name {host!r}") from None
    except TimeoutError:
        raise CollectError(f"no TCP connection to {host}:{port} within {timeout:g}s") from None
    except OSError as exc:
        raise CollectError(f"cannot connect to {host}:{port}: "
                           f"{exc.strerror or exc}") from None
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    if preferred_key_types:
        options = transport.get_security_options()
        options.key_types = _key_types_preferring(preferred_key_types, options.key_types)
    try:
        # start_client returns quietly at its own timeout; the banner and handshake timeouts
        # (equal to it) are what normally fire, so give it a little longer and check.
        transport.start_client(timeout=timeout + 1)
        if not transport.is_active() or transport.host_key is None:
            raise paramiko.SSHException(f"no key exchange within {timeout:g}s")
    except (paramiko.SSHException, EOFError, OSError) as exc:
        transport.close()
        text = str(exc) or type(exc).__name__
        if "banner" in text.lower() or transport.remote_version == "":
            text = f"no SSH banner within {timeout:g}s (something else listens there?)"
        raise CollectError(f"SSH handshake with {host}:{port} failed: {text}") from None
    return transport


def check_host_key(transport: paramiko.Transport, host: str, port: int,
                   known_hosts: str) -> None:
    """Raise :class:`HostKeyUnknown` or :class:`HostKeyChanged` unless the key is pinned."""
    key = transport.get_remote_server_key()
    name = known_hosts_name(host, port)
    pinned = load_known_hosts(known_hosts).lookup(name)
    offered = fingerprint(key)
    if not pinned:
        raise HostKeyUnknown(
            f"host key of {name} is not trusted yet ({key.get_name()} {offered}); refused. "
            f"If this is the right server, run: muni-watchdog trust-host TARGET "
            f"(it records the key in {known_hosts})")
    expected = pinned.get(key.get_name())
    if expected is None or expected.asbytes() != key.asbytes():
        was = ", ".join(f"{k.get_name()} {fingerprint(k)}" for k in pinned.values())
        raise HostKeyChanged(
            f"SECURITY: host key of {name} CHANGED: it offered {key.get_name()} {offered}, "
            f"pinned is {was} ({known_hosts}). Nothing was run. Someone may be intercepting "
            "the connection; if the server was really reinstalled, check the new key on its "
            "console and run: muni-watchdog trust-host TARGET --replace")


def load_client_key(conn: SshConnection) -> paramiko.PKey:
    passphrase = None
    ref = conn.passphrase_ref
    if ref is not None:
        try:
            passphrase = read_secret(ref)
        except SecretError as exc:
            raise CollectError(f"SSH key passphrase: {exc}") from None
    try:
        # paramiko 3.4+ hands the passphrase to cryptography, which takes bytes only.
        secret = passphrase.encode() if isinstance(passphrase, str) else passphrase
        return paramiko.PKey.from_path(conn.key_file, secret)
    except FileNotFoundError:
        raise CollectError(f"SSH key {conn.key_file} not found") from None
    except PermissionError:
        raise CollectError(f"SSH key {conn.key_file} is not readable by this user") from None
    except paramiko.PasswordRequiredException:
        raise CollectError(f"SSH key {conn.key_file} needs a passphrase: set "
                           "passphrase_file (or _env / _credential)") from None
    except (paramiko.SSHException, ValueError, TypeError) as exc:
        # A wrong passphrase is a ValueError ("Bad decrypt"): never echo the passphrase.
        raise CollectError(f"cannot load SSH key {conn.key_file}: {exc}") from None


def shell_command(argv: list[str] | tuple[str, ...]) -> str:
    """Quote every word: no value ever reaches the remote shell unquoted."""
    return " ".join(shlex.quote(a) for a in argv)


def posix_wrap(script: str, timeout: float) -> str:
    """Run a fixed script under ``sh`` with the C locale, killed remotely at the timeout."""
    seconds = max(1, int(timeout))
    return shell_command(["env", "LC_ALL=C", "LANG=C", "timeout", "-k", "5", str(seconds),
                          "sh", "-c", script])


def powershell_wrap(script: str) -> str:
    """PowerShell through -EncodedCommand (UTF-16LE base64): nothing for cmd.exe to parse."""
    encoded = base64.b64encode(script.encode("utf-16-le")).decode()
    return f"powershell -NoProfile -NonInteractive -EncodedCommand {encoded}"


class SshSession:
    """One SSH connection per target, shared by all its checks (``TargetKind.session``)."""

    def __init__(self, host: str, conn: SshConnection, target_id: str = ""):
        self.host = host
        self.conn = conn
        self.target_id = target_id or host
        self._transport: paramiko.Transport | None = None
        self._lock = threading.Lock()  # one connect at a time; channels then run in parallel
        self._last_failure: tuple[float, BaseException] | None = None
        # threads that found no work for 10 s exit: no idle pool per target between polls
        self._executor = IdleExitPool(THREADS_PER_TARGET, f"ssh-{self.target_id}")
        self._last_used = time.monotonic()
        self._busy = 0
        self._idle_timer: asyncio.TimerHandle | None = None
        self.os: str | None = None if conn.os == "auto" else conn.os
        self.connects = 0  # for tests and the benchmark: how often we had to connect

    @classmethod
    def for_target(cls, target: TargetInfo) -> SshSession:
        assert isinstance(target.connection, SshConnection)
        return cls(target.host, target.connection, target.id)

    # -- the async face --------------------------------------------------------------------

    async def run(self, command: str, timeout: float) -> CommandResult:
        """Run one already-quoted command line; the whole call is bounded by ``timeout``
        (plus the connect timeout when a connection must be made first)."""
        loop = asyncio.get_running_loop()
        self._busy += 1
        bound = timeout + self.conn.connect_timeout * 3 + 2
        try:
            future = loop.run_in_executor(self._executor, self._run_blocking, command, timeout)
            return await asyncio.wait_for(future, bound)
        except TimeoutError:
            self._drop("no answer in time")
            raise CollectError(f"no answer from {self.host} within {bound:g}s") from None
        finally:
            self._busy -= 1
            self._last_used = time.monotonic()
            self._schedule_idle_close(loop)

    async def detect_os(self, timeout: float) -> str:
        """``linux`` or ``windows``: configured, or asked once per session."""
        if self.os is None:
            probe = await self.run("uname -s", timeout)
            self.os = "linux" if probe.exit_status == 0 and probe.stdout.strip() else "windows"
        return self.os

    async def close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._drop("session closed")
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- blocking parts, in the session's threads ---------------------------------------------

    def _connected(self) -> paramiko.Transport:
        asked_at = time.monotonic()
        with self._lock:
            transport = self._transport
            if transport is not None and transport.is_active():
                return transport
            # A connect that failed while we waited for the lock is our answer too: a dead host
            # costs one connect timeout per round, not one per check.
            if self._last_failure and self._last_failure[0] >= asked_at:
                raise self._last_failure[1]
            try:
                self._transport = self._connect()
                self._last_failure = None
                return self._transport
            except BaseException as exc:
                self._last_failure = (time.monotonic(), exc)
                raise

    def _connect(self) -> paramiko.Transport:
        conn = self.conn
        name = known_hosts_name(self.host, conn.port)
        pinned = [k for k in (load_known_hosts(conn.known_hosts).lookup(name) or {}).keys()]
        key = load_client_key(conn)
        transport = open_transport(self.host, conn.port, conn.connect_timeout, pinned)
        try:
            check_host_key(transport, self.host, conn.port, conn.known_hosts)
            try:
                transport.auth_publickey(conn.user, key)
            except paramiko.AuthenticationException:
                raise CollectError(f"SSH login as {conn.user!r} on {name} with key "
                                   f"{conn.key_file} was refused (is the public key in the "
                                   "account's authorized_keys?)") from None
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise CollectError(f"SSH authentication on {name} failed: {exc}") from None
            transport.set_keepalive(max(1, int(conn.keepalive)))
        except BaseException:
            transport.close()
            raise
        self.connects += 1
        log.debug("target=%s connected to %s as %s", self.target_id, name, conn.user)
        return transport

    def _run_blocking(self, command: str, timeout: float) -> CommandResult:
        for attempt in (1, 2):
            transport = self._connected()
            try:
                channel = transport.open_session(timeout=self.conn.connect_timeout)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                # The server went away since the last check: reconnect once.
                self._drop(f"opening a channel failed: {exc}")
                if attempt == 2:
                    raise CollectError(f"SSH channel to {self.host} failed: {exc}") from None
                continue
            try:
                return self._exec(channel, command, timeout)
            finally:
                channel.close()
        raise AssertionError("unreachable")

    def _exec(self, channel: paramiko.Channel, command: str, timeout: float) -> CommandResult:
        started = time.monotonic()
        deadline = started + timeout
        channel.settimeout(0.25)
        channel.exec_command(command)
        out, err = bytearray(), bytearray()
        cap = self.conn.max_output

        def bounded() -> None:
            if time.monotonic() > deadline:
                raise CollectError(f"command did not finish within {timeout:g}s on {self.host}")
            if len(out) + len(err) > cap:
                raise CollectError(f"command output on {self.host} exceeds {cap} bytes")

        while True:  # stdout until EOF; stderr drained on the way so neither window stalls
            bounded()
            while channel.recv_stderr_ready():
                err += channel.recv_stderr(65536)
            try:
                chunk = channel.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            out += chunk
        while not channel.exit_status_ready():
            bounded()
            if self._transport is None or not self._transport.is_active():
                raise CollectError(f"the connection to {self.host} closed mid-command")
            channel.status_event.wait(0.25)
        while channel.recv_stderr_ready():
            err += channel.recv_stderr(65536)
        status = channel.recv_exit_status()
        return CommandResult(status, out[:cap].decode("utf-8", "replace"),
                             err[:cap].decode("utf-8", "replace"), time.monotonic() - started)

    # -- closing ------------------------------------------------------------------------------

    def _drop(self, why: str) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            log.debug("target=%s closing SSH connection: %s", self.target_id, why)
            transport.close()

    def _schedule_idle_close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = loop.call_later(self.conn.idle_close, self._close_if_idle)

    def _close_if_idle(self) -> None:
        if self._busy == 0 and time.monotonic() - self._last_used >= self.conn.idle_close - 1:
            self._drop("idle")
