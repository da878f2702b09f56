"""Small real servers on loopback, for the demo lab and the tests.

* :class:`HttpLab`: an HTTP(S) server whose answer can be changed (status, body, delay), or
  made to fail on a timer.
* :func:`make_self_signed`: a certificate with a chosen expiry.
* :class:`SmtpCapture`: an SMTP server (aiosmtpd) that keeps, and optionally prints, every mail.
* :class:`TcpListener`: accepts connections and closes them.
* :class:`SilentListener`: accepts connections and never says a word.
"""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LOOPBACK = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    server: _LabServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.lab.started += 1
        status, body, delay = self.server.lab.answer()
        if delay:
            time.sleep(delay)
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.server.lab.requests += 1

    do_HEAD = do_GET

    def log_message(self, format: str, *args) -> None:  # keep test output quiet
        pass


class _LabServer(ThreadingHTTPServer):
    daemon_threads = True
    lab: HttpLab


class HttpLab:
    """An HTTP server on loopback whose behaviour tests and the demo can change at any time."""

    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None,
                 body: str = "<html><body>Welcome to the Town of Example</body></html>"):
        self.status = 200
        self.body = body
        self.delay = 0.0
        self.requests = 0   # answered
        self.started = 0    # received (a slow answer is still on its way)
        self.outage: tuple[float, float, float] | None = None  # (start, period, length)
        self._server = _LabServer((LOOPBACK, port), _Handler)
        self._server.lab = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.port}/"

    def fail_periodically(self, period: float, length: float,
                          first_in: float | None = None) -> None:
        """Answer 503 for ``length`` seconds out of every ``period``; the first outage starts
        ``first_in`` seconds from now (default: one period)."""
        first_in = period if first_in is None else first_in
        self.outage = (time.monotonic() - (period - first_in), period, length)

    def in_outage(self) -> bool:
        if self.outage is None:
            return False
        start, period, length = self.outage
        elapsed = time.monotonic() - start
        return elapsed >= period and (elapsed % period) < length

    def answer(self) -> tuple[int, str, float]:
        if self.in_outage():
            return 503, "<html><body>Service Unavailable</body></html>", 0.0
        return self.status, self.body, self.delay

    def start(self) -> HttpLab:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def make_self_signed(directory: Path, days_valid: float, name: str = "localhost"
                     ) -> tuple[Path, Path]:
    """Write a self-signed certificate for ``name`` and 127.0.0.1 expiring in ``days_valid``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days_valid))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class SmtpCapture:
    """An SMTP server on loopback that keeps every message it receives."""

    def __init__(self, port: int = 0, on_message: Callable[[email.message.EmailMessage], None]
                 | None = None):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        self._on_message = on_message
        capture = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                message = email.message_from_bytes(envelope.original_content or
                                                   envelope.content, policy=email.policy.default)
                with capture._lock:
                    capture.messages.append(message)
                if capture._on_message:
                    capture._on_message(message)
                return "250 OK"

        if port == 0:
            port = free_port()
        self.port = port
        self._controller = Controller(Handler(), hostname=LOOPBACK, port=port)

    def start(self) -> SmtpCapture:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return True
            time.sleep(0.1)
        return False


class TcpListener:
    """Accepts TCP connections on loopback and closes them at once; ``set_up(False)`` closes
    the port (connections are refused) and ``set_up(True)`` opens it again."""

    def __init__(self, port: int = 0):
        self.port = port
        self._sock: socket.socket | None = None
        self._open()

    def _open(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, self.port))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self._sock = sock
        threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    @staticmethod
    def _serve(sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
                conn.close()
            except OSError:
                return

    @property
    def up(self) -> bool:
        return self._sock is not None

    def set_up(self, up: bool) -> None:
        if up and self._sock is None:
            self._open()
        elif not up and self._sock is not None:
            self._close()

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def start(self) -> TcpListener:
        return self

    def stop(self) -> None:
        self._close()


class SilentListener:
    """Accepts TCP connections on loopback, keeps them open and never sends a byte: a host
    where something listens that is not the expected server (an SSH port behind a dead
    proxy, a web server that hangs). ``accepted`` counts the connections so far."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((LOOPBACK, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._accepted = threading.Condition()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def accepted(self) -> int:
        with self._accepted:
            return len(self._held)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._accepted:
                self._held.append(conn)
                self._accepted.notify_all()

    def wait_for(self, count: int, timeout: float) -> bool:
        """True once ``count`` connections were accepted, False after ``timeout`` seconds."""
        with self._accepted:
            return self._accepted.wait_for(lambda: len(self._held) >= count, timeout)

    def stop(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._sock.close()
        with self._accepted:
            for conn in self._held:
                conn.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: _ReceiverServer

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1024 * 1024))
        receiver = self.server.receiver
        with receiver.lock:
            receiver.requests.append((self.path, dict(self.headers), body))
        self.send_response(receiver.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args) -> None:
        pass


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HttpReceiver


class HttpReceiver:
    """Captures POSTs (webhooks, an SMS gateway, Teams workflows) on loopback, over HTTP or
    HTTPS; ``status`` sets the answer (e.g. 500 to play a failing gateway)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.requests: list[tuple[str, dict, bytes]] = []
        self.status = 200
        self.lock = threading.Lock()
        self._server = _ReceiverServer((LOOPBACK, 0), _ReceiverHandler)
        self._server.receiver = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def json_bodies(self) -> list:
        import json
        with self.lock:
            return [json.loads(body or b"null") for _path, _headers, body in self.requests]

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return True
            time.sleep(0.05)
        return False
