"""What an SSH server offers before any login: its version line and its SSH_MSG_KEXINIT
algorithm lists (RFC 4253 §4.2, §6, §7.1), and which of them are weak.

Before NEWKEYS the binary packet protocol is neither encrypted nor MAC'd, so the server's
KEXINIT is readable with no library and no key exchange: ``uint32 packet_length, byte
padding_length, payload, padding``, and the payload is ``byte 20, byte[16] cookie`` followed by
ten name-lists (``uint32 length`` + comma-separated US-ASCII names).

The weak lists: Greenbone's SSH NVTs (KEX 1.3.6.1.4.1.25623.1.0.150713, ciphers .105611, MACs
.105610, host keys .117687) plus the algorithms ssh-audit marks "fail" that OpenSSH itself has
removed or disabled (jtesta/ssh-audit ``ssh2_kexdb.py``). We leave out what only some
guidance dislikes (NIST curves, hmac-sha1, umac-64): a default Debian sshd must come out clean.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SSH_MSG_KEXINIT = 20
MAX_PACKET = 35000            # RFC 4253 §6.1: every implementation handles 35000 bytes
MAX_VERSION_LINES = 20        # lines a server may send before its version line (§4.2)
MAX_LINE = 255                # §4.2: the version line is at most 255 characters

WEAK_KEX = {
    "diffie-hellman-group1-sha1": "1024-bit group and SHA-1 (Logjam)",
    "diffie-hellman-group1-sha256": "1024-bit group",
    "diffie-hellman-group14-sha1": "SHA-1 exchange hash",
    "diffie-hellman-group-exchange-sha1": "SHA-1 exchange hash",
    "rsa1024-sha1": "1024-bit RSA and SHA-1",
}
WEAK_KEX_PREFIXES = {
    "gss-group1-sha1-": "1024-bit group and SHA-1",
    "gss-gex-sha1-": "SHA-1 exchange hash",
    "gss-group14-sha1-": "SHA-1 exchange hash",
}
WEAK_CIPHERS = {
    "none": "no encryption",
    "des": "56-bit DES", "des-cbc": "56-bit DES", "des-cbc@ssh.com": "56-bit DES",
    "3des": "3DES (64-bit blocks, Sweet32)", "3des-cbc": "3DES (64-bit blocks, Sweet32)",
    "3des-ctr": "3DES (64-bit blocks, Sweet32)",
    "blowfish": "64-bit blocks", "blowfish-cbc": "64-bit blocks",
    "cast128-cbc": "64-bit blocks", "idea-cbc": "64-bit blocks",
}
WEAK_MACS = {
    "none": "no integrity protection",
}
WEAK_HOST_KEYS = {
    "ssh-dss": "DSA, 1024-bit",
    "ssh-dss-cert-v01@openssh.com": "DSA, 1024-bit",
    "x509v3-sign-dss": "DSA, 1024-bit",
    "ssh-rsa": "RSA with SHA-1 signatures",
    "ssh-rsa-cert-v01@openssh.com": "RSA with SHA-1 signatures",
    "x509v3-sign-rsa": "RSA with SHA-1 signatures",
}


class SshParseError(ValueError):
    """The bytes are not what an SSH server sends first; the message says what was wrong."""


@dataclass(frozen=True)
class KexInit:
    """The server's algorithm lists, in its order of preference."""

    kex: tuple[str, ...]
    host_key: tuple[str, ...]
    ciphers_c2s: tuple[str, ...]
    ciphers_s2c: tuple[str, ...]
    macs_c2s: tuple[str, ...]
    macs_s2c: tuple[str, ...]
    compression_c2s: tuple[str, ...] = ()
    compression_s2c: tuple[str, ...] = ()

    @property
    def ciphers(self) -> tuple[str, ...]:
        return _union(self.ciphers_c2s, self.ciphers_s2c)

    @property
    def macs(self) -> tuple[str, ...]:
        return _union(self.macs_c2s, self.macs_s2c)


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(a + b))


def parse_version_line(line: bytes) -> str:
    """The server's identification string (``SSH-2.0-OpenSSH_9.2p1 Debian-2``) from one line
    ending in CR LF (or LF, which old servers send); raises :class:`SshParseError`."""
    text = line.rstrip(b"\r\n").decode("ascii", "replace")
    if not text.startswith("SSH-"):
        raise SshParseError(f"not an SSH version line: {text[:60]!r}")
    return text[:MAX_LINE]


def protocol_version(identification: str) -> str:
    """``2.0``, ``1.99`` (both) or ``1.5`` from ``SSH-<protoversion>-<software>``."""
    return identification.split("-", 2)[1] if identification.count("-") >= 2 else ""


def packet_length(header: bytes) -> int:
    """The length of the packet that follows a 4-byte length field; bounded."""
    if len(header) != 4:
        raise SshParseError("truncated packet length")
    (length,) = struct.unpack(">I", header)
    if not 5 <= length <= MAX_PACKET:
        raise SshParseError(f"implausible packet length {length} (not an SSH-2 server, or "
                            "the stream is out of step)")
    return length


def parse_kexinit_packet(packet: bytes) -> KexInit:
    """Parse one unencrypted binary packet (after its length field) holding SSH_MSG_KEXINIT.

    ``packet`` is ``byte padding_length, payload, padding``."""
    if not packet:
        raise SshParseError("empty packet")
    padding = packet[0]
    if padding < 4 or padding + 1 > len(packet):
        raise SshParseError(f"bad padding length {padding}")
    return parse_kexinit_payload(packet[1:len(packet) - padding])


def parse_kexinit_payload(payload: bytes) -> KexInit:
    if not payload or payload[0] != SSH_MSG_KEXINIT:
        kind = payload[0] if payload else None
        raise SshParseError(f"expected SSH_MSG_KEXINIT (20), got message {kind}")
    pos = 17  # message number + 16-byte cookie
    lists: list[tuple[str, ...]] = []
    for _ in range(10):
        if pos + 4 > len(payload):
            raise SshParseError("KEXINIT truncated in its name-lists")
        (length,) = struct.unpack(">I", payload[pos:pos + 4])
        pos += 4
        if pos + length > len(payload):
            raise SshParseError("KEXINIT name-list longer than the packet")
        raw = payload[pos:pos + length]
        pos += length
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise SshParseError("KEXINIT name-list is not US-ASCII") from None
        lists.append(tuple(name for name in text.split(",") if name))
    return KexInit(kex=lists[0], host_key=lists[1], ciphers_c2s=lists[2],
                   ciphers_s2c=lists[3], macs_c2s=lists[4], macs_s2c=lists[5],
                   compression_c2s=lists[6], compression_s2c=lists[7])


def _weak_kex(name: str) -> str | None:
    if name in WEAK_KEX:
        return WEAK_KEX[name]
    for prefix, why in WEAK_KEX_PREFIXES.items():
        if name.startswith(prefix):
            return why
    return None


def _weak_cipher(name: str) -> str | None:
    if name in WEAK_CIPHERS:
        return WEAK_CIPHERS[name]
    if name.startswith("arcfour"):
        return "RC4"
    if name.endswith("-cbc") or "-cbc@" in name:
        return "CBC mode (plaintext recovery, CVE-2008-5161)"
    return None


def _weak_mac(name: str) -> str | None:
    if name in WEAK_MACS:
        return WEAK_MACS[name]
    if "md5" in name:
        return "MD5"
    if "-96" in name:
        return "96-bit tag"
    return None


def weak_algorithms(kexinit: KexInit) -> dict[str, dict[str, str]]:
    """{category: {algorithm: why weak}} for the categories kex, cipher, mac, host_key; only
    categories with something weak appear."""
    found: dict[str, dict[str, str]] = {}
    for category, names, judge in (
            ("kex", kexinit.kex, _weak_kex),
            ("cipher", kexinit.ciphers, _weak_cipher),
            ("mac", kexinit.macs, _weak_mac),
            ("host_key", kexinit.host_key, WEAK_HOST_KEYS.get)):
        weak = {name: why for name in names if (why := judge(name))}
        if weak:
            found[category] = weak
    return found
