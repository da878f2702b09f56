"""A TLS endpoint as a client sees it: is the chain trusted for the name, what is the
certificate, and does the server still accept TLS 1.0 / 1.1?

OpenSSL 3 on Debian 12 refuses TLS 1.0/1.1 and SHA-1 at its default security level, so the
probes that must *offer* them use ``@SECLEVEL=0`` and a minimum version of TLS 1.0 — for the
probe's own connection only; nothing else in the process changes. The chain is verified
against the system store with a default client's rules (trust, expiry, name), but at level 0
so that a small key or a SHA-1 signature does not hide the trust problem: those are judged
from the certificate itself (:mod:`.certificates`)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import warnings

from muni_watchdog.checks.exposure.certificates import CertificateError, certificate_facts
from muni_watchdog.checks.exposure.observations import PortState, TlsObservation
from muni_watchdog.checks.exposure.probes import UNREACHABLE

LEGACY = (("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1))
ANY_CIPHER = "ALL:@SECLEVEL=0"
# Reasons that mean *our* side could not offer the handshake, not that the server refused.
LOCAL_FAILURES = frozenset({"NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE"})


def _context(verify: bool, version: ssl.TLSVersion | None = None,
             cafile: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile) if verify else ssl.SSLContext(
        ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(ANY_CIPHER)
    with warnings.catch_warnings():
        # Python deprecates TLS 1.0/1.1; offering them is the point of this probe.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version or ssl.TLSVersion.TLSv1
        if version is not None:
            context.maximum_version = version
    return context


class _Refused(Exception):
    """The server refused the handshake (an answer, not a failure of ours)."""


async def _handshake(host: str, port: int, server_name: str, context: ssl.SSLContext,
                     timeout: float) -> tuple[bytes, str]:
    """(peer certificate DER, negotiated version). Raises ssl.SSLCertVerificationError,
    _Refused, TimeoutError, ConnectionRefusedError or OSError."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(
            host, port, ssl=context, server_hostname=server_name,
            ssl_handshake_timeout=timeout), timeout + 1)
    except ssl.SSLCertVerificationError:
        raise
    except ssl.SSLError as exc:
        if exc.reason in LOCAL_FAILURES:
            raise
        raise _Refused(exc.reason or str(exc)) from None
    except (ConnectionResetError, asyncio.IncompleteReadError) as exc:
        raise _Refused(str(exc) or type(exc).__name__) from None
    try:
        tls = writer.get_extra_info("ssl_object")
        return tls.getpeercert(binary_form=True) or b"", tls.version() or ""
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except (TimeoutError, OSError, ssl.SSLError):
            pass


def _state_of(exc: BaseException, timeout: float) -> tuple[PortState, str]:
    if isinstance(exc, TimeoutError):
        return "filtered", f"no answer within {timeout:g}s"
    if isinstance(exc, ConnectionRefusedError):
        return "closed", "connection refused"
    if isinstance(exc, socket.gaierror):
        return "error", f"cannot resolve host name ({exc.strerror})"
    if isinstance(exc, OSError) and exc.errno in UNREACHABLE:
        return "filtered", exc.strerror or str(exc)
    if isinstance(exc, _Refused):
        return "error", f"TLS handshake refused even with every protocol and cipher: {exc}"
    return "error", getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


async def probe_tls(host: str, port: int, server_name: str, timeout: float,
                    cafile: str | None = None) -> TlsObservation:
    name = server_name or host
    verify_code, verify_error = None, ""
    try:
        trusting = _context(True, cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        return TlsObservation(host, port, name, "error",
                              error=f"cannot load ca_file {cafile}: {exc}")
    try:
        try:
            der, protocol = await _handshake(host, port, name, trusting, timeout)
        except ssl.SSLCertVerificationError as exc:
            verify_code, verify_error = exc.verify_code, exc.verify_message or str(exc)
            der, protocol = await _handshake(host, port, name, _context(False), timeout)
    except (TimeoutError, OSError, _Refused) as exc:
        state, reason = _state_of(exc, timeout)
        return TlsObservation(host, port, name, state, error=reason if state == "error" else "")
    try:
        certificate = certificate_facts(der) if der else None
        cert_error = "" if der else "the server sent no certificate"
    except CertificateError as exc:
        certificate, cert_error = None, str(exc)
    accepted, errors = [], []
    for label, version in LEGACY:
        try:
            await _handshake(host, port, name, _context(False, version), timeout)
            accepted.append(label)
        except _Refused:
            pass                   # refused: the answer we hope for
        except ssl.SSLError as exc:
            errors.append(f"could not offer {label} ({exc.reason or exc})")
        except (TimeoutError, OSError) as exc:
            errors.append(f"no answer to a {label} hello: "
                          f"{_state_of(exc, timeout)[1]}")
    return TlsObservation(host, port, name, "open", protocol, certificate, verify_code,
                          verify_error, tuple(accepted), tuple(errors), cert_error)
