"""The exposure check's pure parsers, on bytes captured from real servers (tests/data/exposure)
and on hand-made edge cases: SSH version line and KEXINIT, weak-algorithm tables, telnet /
FTP / HTTP / RDP greetings, certificates, SNMPv3 discovery."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lab.exposure_lab import RDP_CONFIRM, make_certificate
from muni_watchdog.checks.exposure.banners import (
    DO,
    DONT,
    IAC,
    WILL,
    WONT,
    ftp_greeting,
    is_rdp_confirm,
    is_telnet,
    parse_http_answer,
    printable,
    split_telnet,
    telnet_refusals,
)
from muni_watchdog.checks.exposure.certificates import certificate_facts, verify_problem
from muni_watchdog.checks.exposure.snmp_v3 import (
    USM_STATS_UNKNOWN_ENGINE_IDS,
    discovery_request,
    parse_v3_answer,
)
from muni_watchdog.checks.exposure.ssh_algorithms import (
    KexInit,
    SshParseError,
    packet_length,
    parse_kexinit_packet,
    parse_kexinit_payload,
    parse_version_line,
    protocol_version,
    weak_algorithms,
)
from muni_watchdog.checks.snmp import ber

DATA = Path(__file__).parent / "data" / "exposure"

# `ssh -Q kex/cipher/mac/key` of OpenSSH 9.2p1 (Debian 12): everything it can offer.
OPENSSH92_KEX = ("diffie-hellman-group1-sha1 diffie-hellman-group14-sha1 "
                 "diffie-hellman-group14-sha256 diffie-hellman-group16-sha512 "
                 "diffie-hellman-group18-sha512 diffie-hellman-group-exchange-sha1 "
                 "diffie-hellman-group-exchange-sha256 ecdh-sha2-nistp256 ecdh-sha2-nistp384 "
                 "ecdh-sha2-nistp521 curve25519-sha256 curve25519-sha256@libssh.org "
                 "sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com").split()
OPENSSH92_CIPHERS = ("3des-cbc aes128-cbc aes192-cbc aes256-cbc aes128-ctr aes192-ctr "
                     "aes256-ctr aes128-gcm@openssh.com aes256-gcm@openssh.com "
                     "chacha20-poly1305@openssh.com").split()
OPENSSH92_MACS = ("hmac-sha1 hmac-sha1-96 hmac-sha2-256 hmac-sha2-512 hmac-md5 hmac-md5-96 "
                  "umac-64@openssh.com umac-128@openssh.com hmac-sha1-etm@openssh.com "
                  "hmac-sha1-96-etm@openssh.com hmac-sha2-256-etm@openssh.com "
                  "hmac-sha2-512-etm@openssh.com hmac-md5-etm@openssh.com "
                  "hmac-md5-96-etm@openssh.com umac-64-etm@openssh.com "
                  "umac-128-etm@openssh.com").split()
OPENSSH92_KEYS = ("ssh-ed25519 ssh-ed25519-cert-v01@openssh.com sk-ssh-ed25519@openssh.com "
                  "ecdsa-sha2-nistp256 ecdsa-sha2-nistp384 ecdsa-sha2-nistp521 "
                  "sk-ecdsa-sha2-nistp256@openssh.com rsa-sha2-256 rsa-sha2-512 ssh-dss "
                  "ssh-dss-cert-v01@openssh.com ssh-rsa ssh-rsa-cert-v01@openssh.com").split()


def split_capture(name: str) -> tuple[bytes, bytes, bytes]:
    data = (DATA / name).read_bytes()
    line_end = data.index(b"\n") + 1
    return data[:line_end], data[line_end:line_end + 4], data[line_end + 4:]


def name_list(names: list[str]) -> bytes:
    text = ",".join(names).encode()
    return struct.pack(">I", len(text)) + text


def kexinit_payload(kex=("curve25519-sha256",), host_key=("ssh-ed25519",),
                    ciphers=("aes128-ctr",), macs=("hmac-sha2-256",)) -> bytes:
    lists = [list(kex), list(host_key), list(ciphers), list(ciphers), list(macs),
             list(macs), ["none"], ["none"], [], []]
    return bytes([20]) + bytes(16) + b"".join(name_list(n) for n in lists) + b"\x00" + \
        bytes(4)


def packet(payload: bytes, padding: int = 4) -> bytes:
    return bytes([padding]) + payload + bytes(padding)


# ---- SSH ------------------------------------------------------------------------------------

def test_captured_debian_default_kexinit_parses_and_has_nothing_weak():
    line, length, body = split_capture("openssh92-default.kexinit")
    assert parse_version_line(line) == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
    assert packet_length(length) == len(body)
    kexinit = parse_kexinit_packet(body)
    assert kexinit.kex[0] == "sntrup761x25519-sha512"
    assert "curve25519-sha256" in kexinit.kex and kexinit.host_key == ("ssh-ed25519",)
    assert "chacha20-poly1305@openssh.com" in kexinit.ciphers
    assert "hmac-sha1" in kexinit.macs          # in Debian's defaults, and not called weak
    assert weak_algorithms(kexinit) == {}


def test_captured_weakened_kexinit_lists_exactly_the_added_algorithms():
    _, _, body = split_capture("openssh92-weak.kexinit")
    weak = weak_algorithms(parse_kexinit_packet(body))
    assert set(weak["kex"]) == {"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
                                "diffie-hellman-group-exchange-sha1"}
    assert set(weak["cipher"]) == {"aes128-cbc", "3des-cbc"}
    assert set(weak["mac"]) == {"hmac-md5", "hmac-sha1-96"}
    assert set(weak["host_key"]) == {"ssh-rsa"}
    assert "Logjam" in weak["kex"]["diffie-hellman-group1-sha1"]


def test_every_algorithm_openssh92_can_offer_is_classified_as_intended():
    kexinit = KexInit(tuple(OPENSSH92_KEX), tuple(OPENSSH92_KEYS), tuple(OPENSSH92_CIPHERS),
                      tuple(OPENSSH92_CIPHERS), tuple(OPENSSH92_MACS), tuple(OPENSSH92_MACS))
    weak = weak_algorithms(kexinit)
    assert set(weak["kex"]) == {"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1",
                                "diffie-hellman-group-exchange-sha1"}
    assert set(weak["cipher"]) == {"3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc"}
    assert set(weak["mac"]) == {"hmac-sha1-96", "hmac-md5", "hmac-md5-96",
                                "hmac-sha1-96-etm@openssh.com", "hmac-md5-etm@openssh.com",
                                "hmac-md5-96-etm@openssh.com"}
    assert set(weak["host_key"]) == {"ssh-dss", "ssh-dss-cert-v01@openssh.com", "ssh-rsa",
                                     "ssh-rsa-cert-v01@openssh.com"}


def test_weak_families_beyond_openssh():
    kexinit = parse_kexinit_payload(kexinit_payload(
        kex=("gss-gex-sha1-toWM5Slw5Ew8Mqkay+al2g==", "rsa1024-sha1", "curve25519-sha256"),
        ciphers=("arcfour256", "none", "rijndael-cbc@lysator.liu.se", "aes256-ctr"),
        macs=("none", "hmac-sha2-512")))
    weak = weak_algorithms(kexinit)
    assert set(weak["kex"]) == {"gss-gex-sha1-toWM5Slw5Ew8Mqkay+al2g==", "rsa1024-sha1"}
    assert set(weak["cipher"]) == {"arcfour256", "none", "rijndael-cbc@lysator.liu.se"}
    assert set(weak["mac"]) == {"none"}
    assert "host_key" not in weak


@pytest.mark.parametrize("payload, message", [
    (bytes([21]) + bytes(16), "expected SSH_MSG_KEXINIT"),
    (bytes([20]) + bytes(16) + name_list(["curve25519-sha256"]), "truncated"),
    (bytes([20]) + bytes(16) + struct.pack(">I", 5000) + b"x", "longer than the packet"),
    (bytes([20]) + bytes(16) + struct.pack(">I", 2) + "é".encode() + bytes(40),
     "not US-ASCII"),
])
def test_malformed_kexinit_payload_is_a_clear_error(payload, message):
    with pytest.raises(SshParseError, match=message):
        parse_kexinit_payload(payload)


def test_packet_framing_errors():
    assert parse_kexinit_packet(packet(kexinit_payload(), 7)).kex == ("curve25519-sha256",)
    with pytest.raises(SshParseError, match="padding"):
        parse_kexinit_packet(bytes([200]) + kexinit_payload())
    with pytest.raises(SshParseError, match="padding"):
        parse_kexinit_packet(packet(kexinit_payload(), 2))
    with pytest.raises(SshParseError, match="implausible"):
        packet_length(struct.pack(">I", 10_000_000))
    with pytest.raises(SshParseError, match="implausible"):
        packet_length(b"HTTP")   # an HTTP server answering on the SSH port


def test_version_lines():
    assert parse_version_line(b"SSH-1.99-Cisco-1.25\r\n") == "SSH-1.99-Cisco-1.25"
    assert protocol_version("SSH-1.99-Cisco-1.25") == "1.99"
    assert protocol_version("SSH-1.5-OpenSSH_3.4") == "1.5"
    assert protocol_version("SSH-2.0-dropbear_2022.83") == "2.0"
    with pytest.raises(SshParseError, match="not an SSH version line"):
        parse_version_line(b"220 ProFTPD Server ready\r\n")


# ---- clear-text greetings ---------------------------------------------------------------

def test_telnet_negotiation_is_split_from_text_and_refused():
    data = bytes((IAC, DO, 24, IAC, WILL, 1)) + b"\r\nswitch login: " + bytes((IAC, IAC))
    text, negotiations = split_telnet(data)
    assert text == b"\r\nswitch login: \xff"
    assert negotiations == [(DO, 24), (WILL, 1)]
    assert telnet_refusals(negotiations) == bytes((IAC, WONT, 24, IAC, DONT, 1))
    assert is_telnet(bytes((IAC, DO, 31)))          # negotiation alone identifies telnet
    assert is_telnet(b"\r\nUser Name: ")            # a prompt alone too (no negotiation)
    assert not is_telnet(b"SSH-2.0-OpenSSH_9.2\r\n")
    sub = bytes((IAC, 250, 24, 1, IAC, 240)) + b"Password:"
    assert split_telnet(sub) == (b"Password:", [])


def test_ftp_greetings():
    assert ftp_greeting(b"220 (vsFTPd 3.0.3)\r\n") == "220 (vsFTPd 3.0.3)"
    assert ftp_greeting(b"220-Welcome\r\n220 ready\r\n") == "220 Welcome"
    assert ftp_greeting(b"421 Too many connections\r\n") == "421 Too many connections"
    assert ftp_greeting(b"SSH-2.0-OpenSSH\r\n") is None
    assert ftp_greeting(b"HTTP/1.1 400 Bad Request\r\n") is None
    assert ftp_greeting(b"") is None


def test_http_answers():
    page = parse_http_answer(
        b"HTTP/1.1 200 OK\r\nServer: Virata-EmWeb/R6_2_1\r\nContent-Type: text/html\r\n\r\n"
        b"<html><HEAD><TITLE>\n  Brother HL-L2350DW &amp; co\n</TITLE></head>")
    assert (page.status, page.title, page.server) == (200, "Brother HL-L2350DW & co",
                                                      "Virata-EmWeb/R6_2_1")
    assert not page.redirects_to_tls
    moved = parse_http_answer(b"HTTP/1.0 302 Found\r\nLocation: https://10.0.0.5/\r\n\r\n")
    assert moved.redirects_to_tls and moved.location == "https://10.0.0.5/"
    to_http = parse_http_answer(b"HTTP/1.1 301 Moved\r\nLocation: http://10.0.0.5/login\r\n\r\n")
    assert not to_http.redirects_to_tls
    assert parse_http_answer(b"401 Unauthorized\r\n") is None
    assert parse_http_answer(b"\x16\x03\x01\x00") is None
    hostile = parse_http_answer(b"HTTP/1.1 200 OK\r\n\r\n<title>\x1b[31mred\x07" + b"x" * 500
                                + b"</title>")
    assert "\x1b" not in hostile.title and len(hostile.title) <= 120


def test_printable_caps_and_cleans():
    assert printable(b"a\r\n\tb\x00c") == "a b c"
    assert len(printable("x" * 1000)) == 120 and printable("x" * 1000).endswith("…")


def test_rdp_confirm():
    assert is_rdp_confirm(RDP_CONFIRM)
    assert not is_rdp_confirm(b"\x03\x00\x00")
    assert not is_rdp_confirm(b"HTTP/1.1 400 Bad Request")


# ---- certificates -------------------------------------------------------------------------

def der_of(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(
        serialization.Encoding.DER)


def test_weak_rsa_sha1_certificate(tmp_path):
    cert, _ = make_certificate(tmp_path, rsa_bits=1024, sha1=True)
    facts = certificate_facts(der_of(cert))
    assert (facts.key_type, facts.key_bits, facts.signature_hash) == ("RSA", 1024, "sha1")
    assert facts.weak_key == "RSA 1024 bits (minimum 2048)"
    assert facts.weak_signature == "sha1" and facts.self_issued


def test_strong_certificate_is_not_weak(tmp_path):
    cert, _ = make_certificate(tmp_path, rsa_bits=2048)
    facts = certificate_facts(der_of(cert))
    assert facts.weak_key == "" and facts.weak_signature == ""
    assert facts.signature_hash == "sha256"


@pytest.mark.parametrize("curve, weak", [(ec.SECP256R1(), ""), (ec.SECP384R1(), ""),
                                         (ec.SECP192R1(), "EC 192 bits (minimum 256)")])
def test_elliptic_curve_key_sizes(curve, weak):
    from datetime import UTC, datetime, timedelta
    key = ec.generate_private_key(curve)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "ups.town.example")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    assert certificate_facts(cert.public_bytes(serialization.Encoding.DER)).weak_key == weak


def test_unreadable_certificate():
    from muni_watchdog.checks.exposure.certificates import CertificateError
    with pytest.raises(CertificateError):
        certificate_facts(b"not a certificate")


@pytest.mark.parametrize("code, message, finding", [
    (10, "certificate has expired", "tls_expired"),
    (18, "self-signed certificate", "tls_self_signed"),
    (19, "self-signed certificate in certificate chain", "tls_self_signed"),
    (20, "unable to get local issuer certificate", "tls_untrusted"),
    (62, "Hostname mismatch, certificate is not valid for 'x'.", "tls_hostname_mismatch"),
    (64, "IP address mismatch, certificate is not valid for '10.0.0.1'.",
     "tls_hostname_mismatch"),
    (None, "something new", "tls_untrusted"),
])
def test_verify_problems(code, message, finding):
    assert verify_problem(code, message) == finding


# ---- SNMPv3 discovery ----------------------------------------------------------------------

def test_discovery_request_is_the_captured_one():
    assert discovery_request(4242, 4242) == (DATA / "v3-discovery-request.bin").read_bytes()


def test_discovery_request_decodes_as_snmpv3_with_net_snmp():
    """An independent decoder (pysnmp's SNMPv3 message model) reads our bytes as a
    reportable noAuthNoPriv USM message; the real snmpd answering it is in the lab tests."""
    from pyasn1.codec.ber import decoder
    from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
    message, rest = decoder.decode(discovery_request(7, 9), asn1Spec=SNMPv3Message())
    assert rest == b""
    assert int(message["msgVersion"]) == 3
    assert bytes(message["msgGlobalData"]["msgFlags"]) == b"\x04"
    assert int(message["msgGlobalData"]["msgSecurityModel"]) == 3
    assert int(message["msgGlobalData"]["msgID"]) == 7


def test_captured_net_snmp_report():
    answer = parse_v3_answer((DATA / "netsnmp593-v3-discovery-report.bin").read_bytes())
    assert answer.msg_id == 4242 and answer.is_discovery_report
    assert answer.report_oids == (USM_STATS_UNKNOWN_ENGINE_IDS,)
    assert answer.engine_id.hex().startswith("80001f88")   # net-snmp's enterprise 8072


def test_v3_answer_rejects_other_messages():
    v2c = ber.encode_request(1, b"public", ber.GET, 1, ["1.3.6.1.2.1.1.1.0"])
    with pytest.raises(ber.BerError, match="not SNMPv3"):
        parse_v3_answer(v2c)
    with pytest.raises(ber.BerError, match="not a Report"):
        parse_v3_answer(discovery_request(1, 1))     # a GetRequest, not a Report
    report = (DATA / "netsnmp593-v3-discovery-report.bin").read_bytes()
    with pytest.raises(ber.BerError):
        parse_v3_answer(report[:-5])


def test_openssl_made_sha1_certificate_is_really_sha1(tmp_path):
    cert, _ = make_certificate(tmp_path, rsa_bits=1024, sha1=True)
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-text"],
                          capture_output=True, text=True, check=True, timeout=30).stdout
    assert "sha1WithRSAEncryption" in text and "(1024 bit)" in text
