"""The web console's configuration (``site.web``): where it listens, the address people reach
it at, and its named users. Password hashes only: ``muni-watchdog web passwd NAME`` makes one."""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from muni_watchdog.core.types import Duration, Strict

# argon2 (argon2-cffi's PasswordHasher, RFC 9106) or bcrypt ($2a$/$2b$/$2y$): what a
# well-kept library verifies; anything else (a plain password above all) is refused.
HASH_PREFIXES = ("$argon2id$", "$argon2i$", "$argon2d$", "$2a$", "$2b$", "$2y$")


def listen_address(value: str) -> tuple[str, int]:
    """``ADDRESS:PORT`` (``[::1]:8080`` for IPv6) as (host, port); ValueError when not."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not ADDRESS:PORT; write e.g. '127.0.0.1:8080' "
                         "(or '[::1]:8080')")
    return host.strip("[]"), int(port)


class WebUser(Strict):
    name: str = Field(..., min_length=1, max_length=80, pattern=r"^[^\s<>\"'&][^<>\"'&]*$",
                      description="Login name, also written in the audit log for every "
                      "change this user makes.")
    role: Literal["viewer", "oncall", "admin"] = Field(
        ..., description="viewer reads; oncall also acknowledges incidents and adds or ends "
        "maintenance windows; admin also adds and ends accepted risks (exceptions).")
    password_hash: str = Field(..., description="argon2 (or bcrypt) hash of the password, "
                               "made by 'muni-watchdog web passwd NAME'. Never the password.")

    @field_validator("password_hash")
    @classmethod
    def _hashed(cls, value: str) -> str:
        if not value.startswith(HASH_PREFIXES):
            raise ValueError("not an argon2 or bcrypt hash; make one with 'muni-watchdog web "
                             "passwd NAME' (a plain password never goes in the configuration)")
        return value


class WebConfig(Strict):
    listen: str = Field("127.0.0.1:8080", description="ADDRESS:PORT the console listens on "
                        "(one port: it also serves /metrics when reports.metrics is on). "
                        "Loopback by default: put a reverse proxy with TLS in front.")
    public_url: str | None = Field(
        None, description="The address people reach the console at, e.g. "
        "https://watchdog.town.example (the reverse proxy's). Acknowledge links in messages "
        "use it; without it messages carry no links.")
    tls_cert_file: str | None = Field(None, description="PEM certificate (chain) to serve "
                                      "HTTPS directly, without a reverse proxy.")
    tls_key_file: str | None = Field(None, description="PEM private key of tls_cert_file.")
    users: list[WebUser] = Field(default_factory=list, description="Who may log in.")
    ack_links: bool = Field(True, description="Put a signed acknowledge link, per incident "
                            "and per recipient, in every problem message (needs public_url).")
    ack_link_lifetime: Duration = Field(86400, description="How long an acknowledge link "
                                        "works (24h, like PagerDuty's and Opsgenie's).")
    session_lifetime: Duration = Field(12 * 3600, description="How long a login lasts.")
    secret_credential: str | None = Field(
        None, description="systemd credential holding the key that signs links and sessions "
        "(at least 32 characters). Default: STATE_DIR/web-secret.key, created 0600 on first "
        "use.")
    trusted_proxies: list[str] = Field(
        ["127.0.0.1", "::1"], description="Addresses of reverse proxies whose "
        "X-Forwarded-For is believed (for the per-address login limit and the log).")

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        listen_address(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError(f"{value!r} is not a base URL; write e.g. "
                             "https://watchdog.town.example")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for address in value:
            ipaddress.ip_address(address)
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> WebConfig:
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("give both tls_cert_file and tls_key_file, or neither")
        names = [u.name for u in self.users]
        if len(set(names)) != len(names):
            raise ValueError("two users have the same name")
        return self

    @property
    def address(self) -> tuple[str, int]:
        return listen_address(self.listen)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert_file)

    @property
    def base_url(self) -> str:
        """The console's address as people reach it."""
        if self.public_url:
            return self.public_url
        host, port = self.address
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def user(self, name: str) -> WebUser | None:
        return next((u for u in self.users if u.name == name), None)
