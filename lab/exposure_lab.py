"""Open doors on loopback, for the exposure check's tests and the demo.

* :class:`DefaultCommunitySnmpd`: net-snmp's snmpd answering community ``public`` (and
  others), with SNMPv3 spoken (a user configured) or switched off (``disableSNMPv3``).
* :class:`AnyCommunityAgent`: a small SNMP responder that answers any community (net-snmp
  cannot be configured so; some printers are).
* :class:`ExposedSshLab`: the lab sshd (lab/ssh_lab.py) with password logins on and/or weak
  algorithms added (``KexAlgorithms +diffie-hellman-group1-sha1`` ...), which OpenSSH 9.2
  still implements.
* :class:`BannerServer`: a TCP listener that greets like telnet, FTP, an HTTP admin page or
  RDP, and answers the first thing it is sent.
* :class:`TlsLab`: a TLS server whose protocol range and certificate are chosen — TLS 1.0
  and a 1024-bit SHA-1 certificate need ``@SECLEVEL=0``, set on this server's context only.
* :func:`make_certificate`, :func:`make_ca_and_leaf`: certificates with a chosen key size,
  hash, name and expiry, or signed by a private CA.
* :class:`DemoDoors`: a few of the above together, for the demo lab.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lab.snmp_lab import (
    _drop_privileges_args,
    _stop,
    _world_readable,
    free_udp_port,
    wait_for_agent,
)
from lab.ssh_lab import SshLab, _keygen

LOOPBACK = "127.0.0.1"

TELNET_GREETING = bytes((255, 253, 24, 255, 253, 32, 255, 251, 1)) + b"\r\n"  # DO TTYPE...
TELNET_PROMPT = b"Debian GNU/Linux 12\r\ncore-switch login: "
FTP_GREETING = b"220 (vsFTPd 3.0.3)\r\n"
RDP_CONFIRM = bytes.fromhex("0300000b06d00000123400")


class DefaultCommunitySnmpd:
    """snmpd on a loopback port answering ``communities``; ``v3``: a v3 user exists (the
    agent speaks v3), else ``[snmp] disableSNMPv3 yes`` (it drops v3 messages)."""

    def __init__(self, communities: tuple[str, ...] = ("public",), v3: bool = True):
        self.port = free_udp_port()
        self.communities, self.v3 = communities, v3
        self.workdir = Path(tempfile.mkdtemp(prefix="snmpd-exposure-"))
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> DefaultCommunitySnmpd:
        persist = self.workdir / "persist"
        persist.mkdir(parents=True, exist_ok=True)
        lines = [f"rocommunity {c} {LOOPBACK}" for c in self.communities]
        if self.v3:
            password = "auth-" + secrets.token_hex(8)
            lines += [f'createUser watchdog SHA-256 "{password}" AES "{password}"',
                      "rouser watchdog priv"]
        else:
            lines.append("[snmp] disableSNMPv3 yes")
        lines += ["sysDescr Lab switch for the exposure tests", "dontLogTCPWrappersConnects yes"]
        conf = self.workdir / "agent.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _world_readable(self.workdir)
        binary = shutil.which("snmpd") or "/usr/sbin/snmpd"
        self.process = subprocess.Popen(
            [binary, "-f", "-Ln", "-c", str(conf), f"--persistentDir={persist}",
             *_drop_privileges_args("-u", "-g"), f"udp:{LOOPBACK}:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir,
            env={**os.environ, "SNMPCONFPATH": str(persist), "MIBS": ""})
        try:
            wait_for_agent(self.port, self.communities[0], timeout, self.process)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


class AnyCommunityAgent:
    """A UDP SNMP v1/v2c responder that answers every GET, whatever its community — like the
    HP printers Greenbone's default-community test warns about. It records each request's
    (community, PDU type) so a test can prove nothing but GETs arrived."""

    def __init__(self, sys_descr: bytes = b"HP ETHERNET MULTI-ENVIRONMENT"):
        self.sys_descr = sys_descr
        self.requests: list[tuple[bytes, int]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((LOOPBACK, 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        from muni_watchdog.checks.snmp import ber
        while True:
            try:
                data, peer = self._sock.recvfrom(4096)
                version, community, pdu_type, _, start, end = ber.decode_message(data)
                fields = ber.decode_fields(data, start, end)
            except ber.BerError:
                continue
            except OSError:
                return
            self.requests.append((community, pdu_type))
            request_id = fields[0][1]
            varbinds = b"".join(ber._tlv(ber.SEQUENCE, ber.encode_oid(oid) + ber._tlv(
                ber.OCTET_STRING, self.sys_descr)) for oid, _ in fields[3][1])
            pdu = ber._tlv(ber.RESPONSE, ber._int(request_id) + ber._int(0) + ber._int(0)
                           + ber._tlv(ber.SEQUENCE, varbinds))
            self._sock.sendto(ber._tlv(ber.SEQUENCE, ber._int(version) + ber._tlv(
                ber.OCTET_STRING, community) + pdu), peer)

    def stop(self) -> None:
        self._sock.close()


class ExposedSshLab(SshLab):
    """The lab sshd with password logins (``passwords``) and extra algorithms (``weak``:
    sshd_config lines such as ``KexAlgorithms +diffie-hellman-group1-sha1``). ``rsa_host_key``
    adds an RSA host key, without which ``ssh-rsa`` cannot be offered."""

    def __init__(self, passwords: bool = False, weak: tuple[str, ...] = (),
                 rsa_host_key: bool = False):
        super().__init__(log_level="VERBOSE")
        self.passwords, self.weak, self.rsa_host_key = passwords, weak, rsa_host_key

    def start(self) -> ExposedSshLab:
        if self.rsa_host_key:
            _keygen(self.dir / "ssh_host_rsa_key", "rsa")
        super().start()
        return self

    def _config(self) -> str:
        config = super()._config()
        if self.passwords:   # sshd keeps the first value of a keyword: replace, not append
            config = config.replace("PasswordAuthentication no", "PasswordAuthentication yes")
        extra = list(self.weak)
        if self.rsa_host_key:
            extra.append(f"HostKey {self.dir / 'ssh_host_rsa_key'}")
        return config + "".join(f"{line}\n" for line in extra)


class BannerServer:
    """Accepts TCP connections on loopback; sends ``greeting``, then ``reply`` to the first
    data received (if any), then waits for the client to leave (at most ``hold`` s)."""

    def __init__(self, greeting: bytes = b"", reply: bytes = b"", hold: float = 5.0):
        self.greeting, self.reply, self.hold = greeting, reply, hold
        self.received: list[bytes] = []
        self._arrived = threading.Condition()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((LOOPBACK, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        conn.settimeout(self.hold)
        try:
            if self.greeting:
                conn.sendall(self.greeting)
            data = conn.recv(4096)
            with self._arrived:
                self.received.append(data)
                self._arrived.notify_all()
            if data and self.reply:
                conn.sendall(self.reply)
            while conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            conn.close()

    def wait_received(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """What the server has received once ``count`` connections have sent (or given up):
        the client may close before the server's thread has read what it sent."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def stop(self) -> None:
        self._sock.close()


def telnet_server() -> BannerServer:
    return BannerServer(TELNET_GREETING, TELNET_PROMPT)


def ftp_server() -> BannerServer:
    return BannerServer(FTP_GREETING, b"221 Goodbye.\r\n")


def http_server(title: str = "HP LaserJet M404 — Embedded Web Server", status: str = "200 OK",
                location: str = "") -> BannerServer:
    body = f"<html><head><title>{title}</title></head><body>Sign in</body></html>".encode()
    head = f"HTTP/1.1 {status}\r\nServer: HP HTTP Server\r\nContent-Type: text/html\r\n"
    if location:
        head += f"Location: {location}\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return BannerServer(reply=head.encode() + body)


def rdp_server() -> BannerServer:
    return BannerServer(reply=RDP_CONFIRM)


def make_certificate(directory: Path, name: str = "localhost", rsa_bits: int = 2048,
                     sha1: bool = False, days_valid: float = 90,
                     alt_names: tuple[str, ...] | None = None) -> tuple[Path, Path]:
    """A self-signed certificate (RSA ``rsa_bits``, SHA-256 or SHA-1) for ``alt_names``
    (default ``name`` and 127.0.0.1), valid from a day ago for ``days_valid`` days (negative:
    already expired). SHA-1 signatures come from the openssl command, since the cryptography
    library no longer makes them."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{rsa_bits}{'-sha1' if sha1 else ''}-{secrets.token_hex(3)}"
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    names = alt_names if alt_names is not None else (name, LOOPBACK)
    if sha1:
        san = ",".join(f"IP:{n}" if _is_ip(n) else f"DNS:{n}" for n in names)
        subprocess.run(["openssl", "req", "-x509", "-newkey", f"rsa:{rsa_bits}", "-sha1",
                        "-nodes", "-keyout", str(key_path), "-out", str(cert_path), "-days",
                        str(max(1, int(days_valid))), "-subj", f"/CN={name}", "-addext",
                        f"subjectAltName={san}"], check=True, capture_output=True, timeout=60)
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    sans = [x509.IPAddress(ipaddress.ip_address(n)) if _is_ip(n) else x509.DNSName(n)
            for n in names]
    not_after = now + timedelta(days=days_valid)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(min(now - timedelta(days=1), not_after - timedelta(days=2)))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def make_ca_and_leaf(directory: Path, leaf_names: tuple[str, ...] = ("localhost", LOOPBACK),
                     ) -> tuple[Path, Path, Path]:
    """A private CA and a leaf certificate it signed for ``leaf_names``: (CA certificate,
    leaf certificate, leaf key). Trusting the CA file makes the chain valid, so the
    hostname check is what decides."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Town Lab CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address(n)) if _is_ip(n) else x509.DNSName(n)
            for n in leaf_names]
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, leaf_names[0])]))
            .issuer_name(ca_name).public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"ca-{secrets.token_hex(3)}"
    paths = (directory / f"{stem}.crt", directory / f"{stem}-leaf.crt",
             directory / f"{stem}-leaf.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(leaf_key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return paths


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class TlsLab:
    """A TLS server on loopback that completes handshakes and closes. ``legacy``: also
    accept TLS 1.0 and 1.1 (``@SECLEVEL=0`` on this context only); otherwise TLS 1.2+."""

    def __init__(self, cert: Path, key: Path, legacy: bool = False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if legacy:
            context.set_ciphers("ALL:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)   # the point of the lab
                context.minimum_version = ssl.TLSVersion.TLSv1
        else:
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers("DEFAULT:@SECLEVEL=0")  # a small test key must still load
        context.load_cert_chain(cert, key)
        self.context = context
        self.handshakes: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((LOOPBACK, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handshake, args=(conn,), daemon=True).start()

    def _handshake(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                self.handshakes.append(tls.version() or "")
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._sock.close()


class DemoDoors:
    """The open doors of the demo's "old switch" on 127.0.0.1 for stage 2's demo lab: snmpd
    answering ``public`` beside SNMPv3, a telnet prompt, an FTP greeting and a plain-HTTP
    admin page. ``exposure_params()`` points an exposure check at them; ``stop()`` ends all."""

    def __init__(self) -> None:
        self.snmpd = DefaultCommunitySnmpd(("public",), v3=True).start()
        self.telnet, self.ftp = telnet_server(), ftp_server()
        self.http = http_server("NETGEAR GS308T — Web Management")

    def exposure_params(self) -> dict:
        return {"check": "exposure", "snmp_port": self.snmpd.port, "ssh_ports": [],
                "telnet_ports": [self.telnet.port], "ftp_ports": [self.ftp.port],
                "http_ports": [self.http.port], "expect_rdp": True}

    def stop(self) -> None:
        for server in (self.telnet, self.ftp, self.http, self.snmpd):
            server.stop()
