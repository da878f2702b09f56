"""Typed building blocks for configuration models, shared by the core and the check modules."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from watchdog.durations import DurationError, parse_duration


def _duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


Duration = Annotated[float, BeforeValidator(_duration)]
"""Seconds, written in the config as ``30s``, ``5m``, ``4h``, ``7d``."""


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors and values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SecretRef(Strict):
    """Where a secret lives. Exactly one of ``file``, ``env`` or ``credential``.

    ``credential`` names a systemd credential (``LoadCredential=NAME:...``), read from
    ``$CREDENTIALS_DIRECTORY/NAME``.
    """

    file: str | None = Field(None, description="Path of a file holding the secret.")
    env: str | None = Field(None, description="Name of an environment variable holding it.")
    credential: str | None = Field(None, description="Name of a systemd credential.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [k for k in ("file", "env", "credential") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of file, env or credential")
        return self

    def describe(self) -> str:
        """Where the secret is, for messages (never the secret itself)."""
        if self.file:
            return f"file {self.file}"
        if self.env:
            return f"environment variable {self.env}"
        return f"systemd credential {self.credential}"


class Levels(Strict):
    """Warning and critical thresholds for a value that is bad when *high* (or *low*)."""

    warn: float | None = None
    crit: float | None = None


Priority = Annotated[int, Field(ge=1, le=5)]
