"""Canary files: known content and a timestamp, written before each backup.

A restored canary proves the whole pipeline (the right path was backed up, into the right
repository, and comes back byte for byte) and its ``created_at`` dates the real recovery point.
The file checks itself: ``digest`` is the SHA-256 of the other fields, so any changed byte shows.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from muni_watchdog.core.files import write_atomically

MAGIC = "muni-watchdog-canary"


class CanaryError(ValueError):
    """The bytes are not an intact canary."""


@dataclass(frozen=True)
class Canary:
    created_at: datetime
    host: str
    nonce: str


def _digest(created_at: str, host: str, nonce: str) -> str:
    return hashlib.sha256(f"{MAGIC}|{created_at}|{host}|{nonce}".encode()).hexdigest()


def canary_bytes(now: datetime, host: str | None = None, nonce: str | None = None) -> bytes:
    host = host or socket.gethostname()
    nonce = nonce or secrets.token_hex(16)
    created = now.isoformat()
    body = {"kind": MAGIC, "created_at": created, "host": host, "nonce": nonce,
            "digest": _digest(created, host, nonce)}
    return (json.dumps(body, indent=1) + "\n").encode()


def write_canary(path: str | Path, now: datetime) -> Canary:
    """Write a canary atomically (a backup never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = canary_bytes(now)
    write_atomically(path, data)
    return read_canary(data)


def read_canary(data: bytes) -> Canary:
    """Parse and check a canary; :class:`CanaryError` says what is wrong."""
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CanaryError("not a canary (unreadable content)") from None
    if not isinstance(body, dict) or body.get("kind") != MAGIC:
        raise CanaryError("not a canary (no muni-watchdog-canary marker)")
    try:
        created, host, nonce = str(body["created_at"]), str(body["host"]), str(body["nonce"])
        created_at = datetime.fromisoformat(created)
    except (KeyError, ValueError):
        raise CanaryError("canary fields are damaged") from None
    if body.get("digest") != _digest(created, host, nonce):
        raise CanaryError("content changed (digest does not match)")
    if created_at.tzinfo is None:
        raise CanaryError("canary time has no time zone")
    return Canary(created_at, host, nonce)
