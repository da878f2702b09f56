"""What a TLS server's certificate says about its strength (pure, from the DER bytes), and
what OpenSSL's verification error means in a person's words.

Minimums after Mozilla's Server Side TLS guidelines and Greenbone's certificate NVTs: RSA and
DSA keys of at least 2048 bits, elliptic curves of at least 256 bits, no SHA-1 or MD5
signature (CA/Browser Forum Baseline Requirements forbid SHA-1 since 2016).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_SIGNATURE_HASHES = frozenset({"sha1", "md5",
                                   "1.2.840.113549.1.1.2",    # md2WithRSAEncryption
                                   "1.2.840.113549.1.1.3"})   # md4WithRSAEncryption

# OpenSSL's X509_V_ERR_* codes (include/openssl/x509_vfy.h) that we tell apart.
EXPIRED = frozenset({10})                 # CERT_HAS_EXPIRED
SELF_SIGNED = frozenset({18, 19})         # DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN
UNTRUSTED = frozenset({2, 20, 21, 27})    # no issuer / local issuer / leaf signature / untrusted
HOSTNAME_MISMATCH = frozenset({62, 64})   # HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH


class CertificateError(ValueError):
    """The certificate bytes could not be read."""


@dataclass(frozen=True)
class CertificateFacts:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    key_type: str            # RSA, DSA, EC, Ed25519, Ed448, other
    key_bits: int
    signature_hash: str      # sha256, sha1, ... ("" for Ed25519/Ed448)
    self_issued: bool

    @property
    def weak_key(self) -> str:
        """Why the key is too small ("" when it is not)."""
        if self.key_type in ("RSA", "DSA") and self.key_bits < MIN_RSA_BITS:
            return f"{self.key_type} {self.key_bits} bits (minimum {MIN_RSA_BITS})"
        if self.key_type == "EC" and self.key_bits < MIN_EC_BITS:
            return f"EC {self.key_bits} bits (minimum {MIN_EC_BITS})"
        return ""

    @property
    def weak_signature(self) -> str:
        return self.signature_hash if self.signature_hash in WEAK_SIGNATURE_HASHES else ""

    def describe(self) -> str:
        return f"{self.subject} ({self.key_type} {self.key_bits}, issued by {self.issuer})"


def certificate_facts(der: bytes) -> CertificateFacts:
    """Read a DER certificate; raises :class:`CertificateError`."""
    # cryptography's X.509 (~8 MB with its OpenSSL bindings) loads at the first certificate
    # read, not with the configuration (core/lazy.py says why that matters).
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateError(f"unreadable certificate: {exc}") from None
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits = "EC", key.curve.key_size
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "DSA", key.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, bits = "Ed25519", 256
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, bits = "Ed448", 456
    else:
        key_type, bits = type(key).__name__, 0
    try:
        algorithm = cert.signature_hash_algorithm
        signature_hash = algorithm.name if algorithm is not None else ""
    except UnsupportedAlgorithm:  # MD2, MD4 and private OIDs: name the OID
        signature_hash = cert.signature_algorithm_oid.dotted_string
    return CertificateFacts(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc.astimezone(UTC),
        not_after=cert.not_valid_after_utc.astimezone(UTC), key_type=key_type,
        key_bits=bits, signature_hash=signature_hash,
        self_issued=cert.subject == cert.issuer)


def verify_problem(code: int | None, message: str) -> str:
    """The finding id for an OpenSSL verification failure: tls_expired, tls_self_signed,
    tls_hostname_mismatch or tls_untrusted (anything else: the chain is not trusted)."""
    text = message.lower()
    if code in EXPIRED or "expired" in text:
        return "tls_expired"
    if code in SELF_SIGNED or "self-signed" in text or "self signed" in text:
        return "tls_self_signed"
    if code in HOSTNAME_MISMATCH or "mismatch" in text:
        return "tls_hostname_mismatch"
    return "tls_untrusted"
