"""Fixtures that start real servers on loopback and stop them afterwards."""

from __future__ import annotations

import logging

import pytest

from lab.servers import HttpLab, SmtpCapture, TcpListener, make_self_signed, tls_context
from muni_watchdog.core.eventloop import use_everywhere

# asyncio.run in the tests runs on the loop the product runs on (uvloop).
use_everywhere()


@pytest.fixture(autouse=True)
def _root_logging_restored():
    """A command run in-process (``main([...])``) points the root logger at the test's captured
    stderr; put the handlers back afterwards, so a server thread that logs later (aiosmtpd's
    "connection lost") never writes to a closed capture ("--- Logging error ---")."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


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
