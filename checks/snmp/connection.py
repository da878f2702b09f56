"""How to talk to an SNMP target: the ``snmp:`` block of a target in the configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from muni_watchdog.core.types import SecretRef, Strict, Timeout

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS = ("DES", "AES", "AES-128", "AES-192", "AES-256")


def _secret(prefix: str, file: str | None, env: str | None, credential: str | None,
            ) -> SecretRef | None:
    given = [v for v in (file, env, credential) if v]
    if not given:
        return None
    if len(given) > 1:
        raise ValueError(f"give only one of {prefix}_file, {prefix}_env or {prefix}_credential")
    return SecretRef(file=file, env=env, credential=credential)


class SnmpConnection(Strict):
    """SNMP settings of a target. Secrets (community, passwords) are never inline: they come
    from a file, an environment variable or a systemd credential."""

    version: Literal["1", "2c", "3"] = Field(
        "2c", description="SNMP version: 1, 2c or 3.", examples=["2c", "3"])
    port: int = Field(161, ge=1, le=65535, description="UDP port of the agent.")
    community_file: str | None = Field(
        None, description="v1/v2c: file holding the community string.",
        examples=["/etc/muni-watchdog/snmp-community"])
    community_env: str | None = Field(None, description="v1/v2c: environment variable "
                                      "holding the community.")
    community_credential: str | None = Field(None, description="v1/v2c: systemd credential "
                                             "holding the community.")
    user: str | None = Field(None, description="v3: the USM user name.")
    auth_protocol: Literal[AUTH_PROTOCOLS] | None = Field(  # type: ignore[valid-type]
        None, description="v3: MD5, SHA, SHA-224, SHA-256, SHA-384 or SHA-512; omit for "
        "noAuthNoPriv.")
    auth_password_file: str | None = Field(None, description="v3: file with the auth password.")
    auth_password_env: str | None = Field(None, description="v3: environment variable "
                                           "holding the auth password.")
    auth_password_credential: str | None = Field(None, description="v3: systemd credential "
                                                  "holding the auth password.")
    priv_protocol: Literal[PRIV_PROTOCOLS] | None = Field(  # type: ignore[valid-type]
        None, description="v3: DES, AES (= AES-128), AES-192 or AES-256; omit for authNoPriv.")
    priv_password_file: str | None = Field(None, description="v3: file with the privacy "
                                           "password.")
    priv_password_env: str | None = Field(None, description="v3: environment variable "
                                           "holding the privacy password.")
    priv_password_credential: str | None = Field(None, description="v3: systemd credential "
                                                  "holding the privacy password.")
    context: str = Field("", description="v3: context name (rarely needed).")
    timeout: Timeout = Field(2.0, description="Wait for one answer (snmp_exporter uses 5s, "
                              "Checkmk 1s; 2s suits slow embedded agents on a LAN).")
    retries: int = Field(2, ge=0, le=10, description="Re-sends of an unanswered request.")
    max_repetitions: int = Field(25, ge=1, le=200, description="Rows per GETBULK request "
                                 "of a table not walked before (snmp_exporter's default); "
                                 "a table walked before is asked for at its size (up to "
                                 "250), in one request where the agent allows. Set it to "
                                 "cap both, for agents that break on big answers.")
    bulk: bool = Field(True, description="Use GETBULK (v2c/v3). Set false for agents that "
                       "answer GETBULK wrongly; the poller also falls back to GETNEXT by "
                       "itself when GETBULK fails and GET works.")

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("community", "auth_password", "priv_password", "password"):
                if key in data:
                    base = "community" if key == "community" else key
                    if key == "password":
                        base = "auth_password"
                    raise ValueError(f"{key}: secrets are never inline; put it in a file and "
                                     f"use {base}_file (or {base}_env / {base}_credential)")
        return data

    @field_validator("auth_protocol", "priv_protocol", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper().replace("_", "-") if isinstance(value, str) else value

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        # YAML reads `version: 1` and `version: 3` as numbers; 2c stays text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _credentials(self) -> SnmpConnection:
        community = self.community_ref
        if self.version in ("1", "2c"):
            if community is None:
                raise ValueError(f"SNMP v{self.version} needs community_file, community_env or "
                                 "community_credential (the community is a password: never "
                                 "inline)")
            extra = [k for k in ("user", "auth_protocol", "priv_protocol") if getattr(self, k)]
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to version 3 (this target "
                                 f"has version {self.version})")
            return self
        if community is not None:
            raise ValueError("version 3 uses user and passwords, not a community")
        if not self.user:
            raise ValueError("SNMP v3 needs user")
        auth, priv = self.auth_ref, self.priv_ref
        if self.auth_protocol and auth is None:
            raise ValueError("auth_protocol needs auth_password_file, auth_password_env or "
                             "auth_password_credential")
        if auth is not None and not self.auth_protocol:
            raise ValueError("an auth password needs auth_protocol (e.g. SHA-256)")
        if self.priv_protocol and not self.auth_protocol:
            raise ValueError("priv_protocol needs auth_protocol too (SNMPv3 has no privacy "
                             "without authentication)")
        if self.priv_protocol and priv is None:
            raise ValueError("priv_protocol needs priv_password_file, priv_password_env or "
                             "priv_password_credential")
        if priv is not None and not self.priv_protocol:
            raise ValueError("a privacy password needs priv_protocol (e.g. AES-128)")
        return self

    @property
    def community_ref(self) -> SecretRef | None:
        return _secret("community", self.community_file, self.community_env,
                       self.community_credential)

    @property
    def auth_ref(self) -> SecretRef | None:
        return _secret("auth_password", self.auth_password_file, self.auth_password_env,
                       self.auth_password_credential)

    @property
    def priv_ref(self) -> SecretRef | None:
        return _secret("priv_password", self.priv_password_file, self.priv_password_env,
                       self.priv_password_credential)

    @property
    def security_level(self) -> str:
        if self.version != "3":
            return "community"
        if not self.auth_protocol:
            return "noAuthNoPriv"
        return "authPriv" if self.priv_protocol else "authNoPriv"
