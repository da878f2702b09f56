"""Fixtures that start real servers on loopback and stop them afterwards."""

from __future__ import annotations

import pytest

from lab.servers import HttpLab, SmtpCapture, TcpListener, make_self_signed, tls_context


@pytest.fixture
def http_server():
    server = HttpLab().start()
    yield server
    server.stop()


@pytest.fixture
def make_https_server(tmp_path):
    """Start an HTTPS server whose self-signed certificate expires in the given days."""
    started = []

    def start(days_valid: float) -> tuple[HttpLab, str]:
        cert, key = make_self_signed(tmp_path / f"cert-{len(started)}", days_valid)
        server = HttpLab(tls=tls_context(cert, key)).start()
        started.append(server)
        return server, str(cert)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server():
    server = SmtpCapture().start()
    yield server
    server.stop()


@pytest.fixture
def tcp_listener():
    listener = TcpListener().start()
    yield listener
    listener.stop()
