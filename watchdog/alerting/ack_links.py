"""Acknowledge links: per incident and per recipient, signed (HMAC-SHA256), expiring.

A message to channel ``oncall-email`` about incident 12 carries
``PUBLIC_URL/ack/TOKEN``, TOKEN the signed (incident 12, recipient oncall-email, expiry); an
SMS carries ``PUBLIC_URL/a/SHORT``, SHORT a random 10-character token kept in the state
database for the same three facts. Opening a link only shows the incident (a mail scanner
that follows links acknowledges nothing); the page's form acknowledges (see
:mod:`muni_watchdog.web.ack_pages`).

The key: a systemd credential (``site.web.secret_credential``), else
``STATE_DIR/web-secret.key``, 32 random bytes created 0600 on first use.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from muni_watchdog.config.models import Config
from muni_watchdog.core.secrets import SecretError, read_secret
from muni_watchdog.core.signing import MIN_KEY_BYTES, TokenError, sign, unsign
from muni_watchdog.core.types import SecretRef
from muni_watchdog.store.database import Store

log = logging.getLogger("muni-watchdog")
KEY_FILE = "web-secret.key"
PURPOSE = "ack-link"
SHORT_TOKEN_BYTES = 8           # 11 URL-safe characters, 64 bits: not guessable
_EPHEMERAL: dict[int, bytes] = {}


class SigningKeyError(RuntimeError):
    """The signing key cannot be read or created; the message says where and why."""


def load_key(state_dir: Path | None, credential: str | None = None) -> bytes:
    """The key that signs links and sessions: the systemd credential when named, else the key
    file in the state directory (created 0600 on first use; never a weaker mode)."""
    if credential:
        try:
            text = read_secret(SecretRef(credential=credential))
        except SecretError as exc:
            raise SigningKeyError(str(exc)) from None
        if len(text.encode()) < MIN_KEY_BYTES:
            raise SigningKeyError(f"systemd credential {credential}: the key must be at least "
                            f"{MIN_KEY_BYTES} characters (e.g. 'openssl rand -hex 32')")
        return text.encode()
    if state_dir is None:  # an in-memory store (tests): a key for this process only
        return _EPHEMERAL.setdefault(0, secrets.token_bytes(32))
    path = Path(state_dir) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SigningKeyError(f"cannot create {path}: {exc.strerror}") from None
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        log.info("web: created the signing key %s (0600)", path)
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # nobody else may read what signs acknowledgements
        key = path.read_text(encoding="utf-8").strip().encode()
    except OSError as exc:
        raise SigningKeyError(f"cannot read {path}: {exc.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise SigningKeyError(f"{path}: the key is shorter than {MIN_KEY_BYTES} characters; "
                        "delete the file and it is made again (old links stop working)")
    return key


def state_dir_of(store: Store) -> Path | None:
    return store.path.parent if store.path is not None else None


@dataclass(frozen=True)
class LinkClaim:
    """What a valid link says: acknowledge ``incident`` as ``recipient``, until ``expires``."""

    incident: int
    recipient: str
    expires: datetime


class LinkError(ValueError):
    """A link that does nothing: ``kind`` is forged (signature, unknown short token or a
    recipient the incident was not sent to) or expired."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class AckLinks:
    """Makes and checks acknowledge links for one configuration and state database."""

    def __init__(self, config: Config, store: Store, key: bytes):
        web = config.site.web
        assert web is not None
        self.base = web.base_url
        self.lifetime = timedelta(seconds=web.ack_link_lifetime)
        self.store = store
        self.key = key

    def long_link(self, incident: int, recipient: str, now: datetime) -> str:
        expires = int((now + self.lifetime).timestamp())
        token = sign(self.key, PURPOSE, {"i": incident, "r": recipient, "e": expires})
        return f"{self.base}/ack/{token}"

    def short_link(self, incident: int, recipient: str, now: datetime) -> str:
        """A link short enough for an SMS; its token is kept in the state database."""
        token = secrets.token_urlsafe(SHORT_TOKEN_BYTES)
        self.store.add_short_link(token, incident, recipient, now, now + self.lifetime)
        return f"{self.base}/a/{token}"

    def links(self, incidents: tuple[int, ...], recipient: str, now: datetime,
              short: bool = False) -> dict[int, str]:
        make = self.short_link if short else self.long_link
        return {incident: make(incident, recipient, now) for incident in incidents}

    def check(self, token: str, now: datetime, short: bool = False) -> LinkClaim:
        """The claim of a link's token; :class:`LinkError` when forged, unknown or expired.
        (Whether the incident was sent to the recipient is checked by the caller, which has
        the incident.)"""
        if short:
            row = self.store.short_link(token) if 4 <= len(token) <= 32 else None
            if row is None:
                raise LinkError("forged", "this link is not one muni-watchdog made")
            claim = LinkClaim(row["incident_id"], row["recipient"],
                              datetime.fromisoformat(row["expires_at"]))
        else:
            try:
                payload = unsign(self.key, PURPOSE, token)
                claim = LinkClaim(int(payload["i"]), str(payload["r"]),
                                  datetime.fromtimestamp(int(payload["e"]), UTC))
            except (TokenError, KeyError, TypeError, ValueError, OverflowError):
                raise LinkError("forged", "this link is not one muni-watchdog made (it was "
                                "changed or cut)") from None
        if now >= claim.expires:
            raise LinkError("expired", f"this link expired at {claim.expires.isoformat()}")
        return claim


def recipient_name(config: Config, channel: str) -> str:
    """Who a channel reaches, to prefill "acknowledged by": the owner or backup owner whose
    channels include it, else the channel's description, else its name."""
    for service in config.services:
        for person in (service.owner, service.backup_owner):
            if channel in person.channels:
                return person.name
    found = next((c for c in config.notify.channels if c.name == channel), None)
    return (found.description if found and found.description else channel)
