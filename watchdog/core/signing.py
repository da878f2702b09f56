"""Signed tokens (HMAC-SHA256), for acknowledge links and the console's session cookies.

A token is ``base64url(JSON payload) "." base64url(HMAC)``. Each use signs under its own
purpose (the key is first narrowed with HMAC(key, purpose)), so a session cookie can never
be replayed as an acknowledge link or the reverse. Pure: the key and the time are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

MIN_KEY_BYTES = 32


class TokenError(ValueError):
    """A token that is malformed or whose signature does not match (forged or altered)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def purpose_key(key: bytes, purpose: str) -> bytes:
    """The key for one purpose (``ack-link``, ``session``, ``csrf``...)."""
    return hmac.new(key, purpose.encode(), hashlib.sha256).digest()


def mac(key: bytes, purpose: str, message: str) -> str:
    """A short MAC of ``message`` (e.g. a CSRF token bound to a session)."""
    return _b64(hmac.new(purpose_key(key, purpose), message.encode(), hashlib.sha256).digest())


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two tokens."""
    return hmac.compare_digest(a.encode(), b.encode())


def sign(key: bytes, purpose: str, payload: dict[str, Any]) -> str:
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{mac(key, purpose, body)}"


def unsign(key: bytes, purpose: str, token: str, max_length: int = 2048) -> dict[str, Any]:
    """The payload of a token signed by :func:`sign` for ``purpose``; :class:`TokenError` when
    it is malformed or its signature does not match."""
    if not token or len(token) > max_length or token.count(".") != 1:
        raise TokenError("malformed token")
    body, signature = token.split(".")
    if not same(signature, mac(key, purpose, body)):
        raise TokenError("bad signature")
    try:
        payload = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        raise TokenError("malformed payload") from None
    if not isinstance(payload, dict):
        raise TokenError("malformed payload")
    return payload
