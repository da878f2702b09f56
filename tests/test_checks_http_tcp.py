"""The http and tcp checks against real servers on loopback."""

import asyncio
import socket
import threading
from datetime import UTC, datetime

import pytest

from lab.servers import free_port
from muni_watchdog.checks.base import CollectError, TargetInfo
from muni_watchdog.checks.http import HttpCheck, HttpParams
from muni_watchdog.checks.tcp import TcpCheck, TcpParams
from muni_watchdog.core.model import CheckContext, State

pytestmark = pytest.mark.integration


def run_http(params: HttpParams):
    check = HttpCheck()
    raw = asyncio.run(check.collect(TargetInfo("t", "http", "127.0.0.1"), params))
    return check.evaluate(raw, params, CheckContext(datetime.now(UTC))).outcome


def test_ok_page_with_keyword(http_server):
    outcome = run_http(HttpParams(url=http_server.url, keyword="Town of Example"))
    assert outcome.state is State.OK
    assert "HTTP 200 OK" in outcome.summary and "keyword 'Town of Example' found" in \
        outcome.summary
    names = {m.name for m in outcome.metrics}
    assert names == {"response_time", "size"}


def test_server_error_is_critical(http_server):
    http_server.status = 500
    outcome = run_http(HttpParams(url=http_server.url))
    assert outcome.state is State.CRITICAL
    assert outcome.summary == "HTTP 500 Internal Server Error (expected 2xx/3xx)"


def test_expected_status_list(http_server):
    http_server.status = 404
    assert run_http(HttpParams(url=http_server.url, expect_status=[404])).state is State.OK
    assert run_http(HttpParams(url=http_server.url, expect_status=[200])).state is \
        State.CRITICAL


def test_missing_keyword_is_critical(http_server):
    outcome = run_http(HttpParams(url=http_server.url, keyword="Pay your bill"))
    assert outcome.state is State.CRITICAL
    assert outcome.summary == "keyword 'Pay your bill' not found"


def test_slow_answer_warns(http_server):
    http_server.delay = 0.6
    outcome = run_http(HttpParams(url=http_server.url, response_warn="300ms"))
    assert outcome.state is State.WARNING
    assert outcome.summary.startswith("slow: answered in 0.6")


def test_hung_server_times_out_as_critical():
    # accepts the connection, never answers
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    try:
        outcome = run_http(HttpParams(url=f"http://127.0.0.1:{port}/", timeout="1s"))
    finally:
        sock.close()
    assert outcome.state is State.CRITICAL
    assert "timed out" in outcome.summary


def test_refused_connection_is_critical():
    outcome = run_http(HttpParams(url=f"http://127.0.0.1:{free_port()}/"))
    assert (outcome.state, outcome.summary) == (State.CRITICAL, "connection refused")


@pytest.mark.parametrize("days, state, words", [
    (90, State.OK, "TLS certificate expires in 90 days"),
    (20, State.WARNING, "TLS certificate expires in 20 days"),
    (5, State.CRITICAL, "TLS certificate expires in 5 days"),
])
def test_certificate_days_left(make_https_server, days, state, words):
    server, ca_file = make_https_server(days + 0.5)
    outcome = run_http(HttpParams(url=server.url, ca_file=ca_file))
    assert outcome.state is state
    assert words in outcome.summary
    cert_metric = next(m for m in outcome.metrics if m.name == "certificate_days")
    assert cert_metric.value == pytest.approx(days + 0.5, abs=0.1)
    assert (cert_metric.warn, cert_metric.crit) == (30, 14)
    item = outcome.items[0]
    assert item["kind"] == "certificate" and item["subject"] == "CN=localhost"


def test_untrusted_certificate_is_critical_but_still_dated(make_https_server):
    server, _ca = make_https_server(200)
    outcome = run_http(HttpParams(url=server.url))
    assert outcome.state is State.CRITICAL
    assert "TLS certificate not trusted: self-signed certificate" in outcome.summary
    assert any(m.name == "certificate_days" for m in outcome.metrics)
    # a lab may turn verification off: then only the dates count
    outcome = run_http(HttpParams(url=server.url, verify_tls=False))
    assert outcome.state is State.OK


def test_unresolvable_host_is_a_collect_error():
    check = HttpCheck()
    params = HttpParams(url="http://no-such-host.invalid/")
    with pytest.raises(CollectError, match="cannot resolve host name 'no-such-host.invalid'"):
        asyncio.run(check.collect(TargetInfo("t", "http", "x"), params))


def run_tcp(port, **kw):
    check, params = TcpCheck(), TcpParams(port=port, **kw)
    raw = asyncio.run(check.collect(TargetInfo("t", "tcp", "127.0.0.1"), params))
    return check.evaluate(raw, params, CheckContext(datetime.now(UTC))).outcome


def test_tcp_open_port(tcp_listener):
    outcome = run_tcp(tcp_listener.port)
    assert outcome.state is State.OK
    assert outcome.summary.startswith(f"port {tcp_listener.port} open in")
    assert outcome.metrics[0].name == "connect_time"


def test_tcp_closed_port():
    port = free_port()
    outcome = run_tcp(port)
    assert (outcome.state, outcome.summary) == (State.CRITICAL,
                                                f"port {port}: connection refused")


def test_tcp_blackhole_times_out():
    # A listening socket with a full backlog: SYNs are dropped, connect hangs.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = sock.getsockname()[1]
    fillers = []
    stop = threading.Event()
    try:
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(s)
        outcome = run_tcp(port, timeout="500ms")
    finally:
        stop.set()
        for s in fillers:
            s.close()
        sock.close()
    assert outcome.state is State.CRITICAL
    assert outcome.summary == f"port {port}: no answer within 0.5s"
