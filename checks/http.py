"""``http``: a resident-facing web endpoint — status code, body keyword, response time, and the
TLS certificate's remaining days (warn 30 / crit 14 by default, as ``check_http -C 30,14``)."""

from __future__ import annotations

import asyncio
import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

from pydantic import Field, field_validator

from muni_watchdog.checks.base import CheckParams, CollectError, Evaluation, TargetInfo
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State
from muni_watchdog.core.types import Timeout

BODY_CAP = 1024 * 1024  # read at most 1 MiB of a page when looking for the keyword
MAX_REDIRECTS = 5


class HttpParams(CheckParams):
    check: Literal["http"] = "http"
    url: str | None = Field(
        None, description="Full URL to fetch; default https://HOST/.",
        examples=["https://pay.town.example/login"])
    method: Literal["GET", "HEAD"] = "GET"
    expect_status: list[int] | None = Field(
        None, description="Acceptable status codes; default any 2xx or 3xx (check_http's).")
    keyword: str | None = Field(None, description="Text the page must contain.")
    follow_redirects: bool = Field(False, description="Follow up to 5 redirects.")
    response_warn: Timeout | None = Field(
        5.0, description="Warn when the full response takes longer than this.")
    response_crit: Timeout | None = Field(
        None, description="Critical when the full response takes longer than this.")
    certificate_warn_days: int = Field(30, ge=0, description="Warn when the TLS certificate "
                                       "expires within this many days.")
    certificate_crit_days: int = Field(14, ge=0, description="Critical within this many days.")
    verify_tls: bool = Field(True, description="Require a certificate trusted by the system "
                             "(or ca_file). Turn off only for test labs.")
    ca_file: str | None = Field(None, description="Extra CA bundle (PEM) to trust.")
    timeout: Timeout = Field(10.0, description="Connect and read timeout (check_http's 10s).")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value

    def resolved_url(self, host: str) -> str:
        return self.url or f"https://{host}/"


@dataclass(frozen=True)
class Certificate:
    subject: str
    issuer: str
    not_after: datetime


@dataclass(frozen=True)
class HttpRaw:
    url: str
    status: int | None = None
    reason: str = ""
    body: bytes = b""
    seconds: float = 0.0
    certificate: Certificate | None = None
    tls_error: str = ""
    error: str = ""


class HttpCheck:
    type = "http"
    Params = HttpParams

    async def collect(self, target: TargetInfo, params: HttpParams) -> HttpRaw:
        url = params.resolved_url(target.host)
        # http.client is blocking; run it in a worker thread. Socket timeouts bound the thread,
        # wait_for bounds us.
        try:
            return await asyncio.wait_for(asyncio.to_thread(_fetch, url, params),
                                          params.timeout * 2 + 1)
        except TimeoutError:
            return HttpRaw(url, error=f"no complete answer within {params.timeout:g}s")

    def evaluate(self, raw: HttpRaw, params: HttpParams, ctx: CheckContext) -> Evaluation:
        results: list[Result] = []
        metrics: list[Metric] = []
        items: list[dict] = []
        if raw.certificate is not None:
            days = (raw.certificate.not_after - ctx.now).total_seconds() / 86400
            results.append(_judge_certificate(days, params))
            metrics.append(Metric("certificate_days", round(days, 1), "d",
                                  warn=params.certificate_warn_days,
                                  crit=params.certificate_crit_days))
            items.append({"kind": "certificate", "subject": raw.certificate.subject,
                          "issuer": raw.certificate.issuer,
                          "not_after": raw.certificate.not_after.isoformat(),
                          "days_left": round(days, 1)})
        if raw.tls_error:
            results.append(Result(State.CRITICAL, f"TLS certificate not trusted: {raw.tls_error}"))
        if raw.error:
            results.append(Result(State.CRITICAL, raw.error))
            return Evaluation(Outcome.of(results, metrics, items))
        status = _judge_status(raw, params)
        results.append(status)
        # An error page never holds the keyword; saying so would only repeat the status.
        if params.keyword is not None and params.method == "GET" and status.state.is_ok:
            if params.keyword.encode() in raw.body:
                results.append(Result(State.OK, f"keyword {params.keyword!r} found"))
            else:
                results.append(Result(State.CRITICAL, f"keyword {params.keyword!r} not found"))
        results.append(_judge_time(raw.seconds, params))
        metrics.append(Metric("response_time", round(raw.seconds, 4), "s",
                              warn=params.response_warn, crit=params.response_crit, min=0))
        metrics.append(Metric("size", len(raw.body), "B", min=0))
        return Evaluation(Outcome.of(results, metrics, items))


def _judge_status(raw: HttpRaw, params: HttpParams) -> Result:
    status = raw.status or 0
    text = f"HTTP {status} {raw.reason}".strip()
    if params.expect_status is not None:
        ok = status in params.expect_status
    else:
        ok = 200 <= status < 400
    if ok:
        return Result(State.OK, text)
    expected = ", ".join(map(str, params.expect_status)) if params.expect_status else "2xx/3xx"
    return Result(State.CRITICAL, f"{text} (expected {expected})")


def _judge_time(seconds: float, params: HttpParams) -> Result:
    text = f"answered in {seconds:.2f}s"
    if params.response_crit is not None and seconds > params.response_crit:
        # It answered: slow is a problem to look at, not an outage (no answer at all is).
        return Result(State.CRITICAL, f"slow: {text} (critical above {params.response_crit:g}s)",
                      affects_availability=False)
    if params.response_warn is not None and seconds > params.response_warn:
        return Result(State.WARNING, f"slow: {text} (warning above {params.response_warn:g}s)")
    return Result(State.OK, text)


def _judge_certificate(days: float, params: HttpParams) -> Result:
    if days < 0:
        return Result(State.CRITICAL, f"TLS certificate expired {-days:.0f} days ago")
    text = f"TLS certificate expires in {days:.0f} days"
    if days < params.certificate_crit_days:
        # Still valid: browsers connect. An expired certificate (above) is an outage.
        return Result(State.CRITICAL, text, affects_availability=False)
    if days < params.certificate_warn_days:
        return Result(State.WARNING, text)
    return Result(State.OK, text)


def _fetch(url: str, params: HttpParams) -> HttpRaw:
    started = time.monotonic()
    certificate = None
    tls_error = ""
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        try:
            conn, cert, verify_error = _connect(parts, params)
        except CollectError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            return HttpRaw(url, seconds=time.monotonic() - started, certificate=certificate,
                           tls_error=tls_error, error=_describe(exc, parts.hostname or ""))
        certificate = certificate or cert
        tls_error = tls_error or verify_error
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            conn.request(params.method, path, headers={"User-Agent": "muni-watchdog",
                                                       "Connection": "close"})
            response = conn.getresponse()
            body = _read_capped(response, started + params.timeout * 2)
        except (OSError, http.client.HTTPException) as exc:
            return HttpRaw(url, seconds=time.monotonic() - started, certificate=certificate,
                           tls_error=tls_error, error=_describe(exc, parts.hostname or ""))
        finally:
            conn.close()
        location = response.getheader("Location")
        if params.follow_redirects and 300 <= response.status < 400 and location:
            url = urljoin(url, location)
            continue
        return HttpRaw(url, response.status, response.reason, body,
                       time.monotonic() - started, certificate, tls_error)
    return HttpRaw(url, seconds=time.monotonic() - started, certificate=certificate,
                   error=f"more than {MAX_REDIRECTS} redirects")


def _connect(parts, params: HttpParams):
    host = parts.hostname or ""
    if parts.scheme == "http":
        conn = http.client.HTTPConnection(host, parts.port or 80, timeout=params.timeout)
        conn.connect()
        return conn, None, ""
    port = parts.port or 443
    verify_error = ""
    if params.verify_tls:
        context = ssl.create_default_context(cafile=params.ca_file)
        conn = http.client.HTTPSConnection(host, port, timeout=params.timeout, context=context)
        try:
            conn.connect()
            return conn, _peer_certificate(conn), ""
        except ssl.SSLCertVerificationError as exc:
            conn.close()
            verify_error = exc.verify_message or str(exc)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(host, port, timeout=params.timeout, context=context)
    conn.connect()
    return conn, _peer_certificate(conn), verify_error


def _peer_certificate(conn: http.client.HTTPSConnection) -> Certificate | None:
    der = conn.sock.getpeercert(binary_form=True) if conn.sock else None
    if not der:
        return None
    from cryptography import x509  # ~8 MB: at the first certificate read (core/lazy.py)

    cert = x509.load_der_x509_certificate(der)
    return Certificate(cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(),
                       cert.not_valid_after_utc.astimezone(UTC))


def _read_capped(response: http.client.HTTPResponse, deadline: float) -> bytes:
    chunks, size = [], 0
    while size < BODY_CAP:
        if time.monotonic() > deadline:
            raise TimeoutError("body still arriving at the timeout")
        chunk = response.read(min(65536, BODY_CAP - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException, host: str) -> str:
    if isinstance(exc, socket.gaierror):
        raise CollectError(f"cannot resolve host name {host!r}") from None
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out waiting for an answer"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, http.client.HTTPException):
        return f"invalid HTTP answer: {type(exc).__name__} {exc}".strip()
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
