"""Typed building blocks for configuration models, shared by the core and the check modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from muni_watchdog.core.durations import DAY, HOUR, YEAR, DurationError, parse_duration


@dataclass(frozen=True)
class DurationBounds:
    """Marks a config field as a duration and says how long it may be. The schema's one
    mechanism for bounds: the validator enforces it, the generated reference prints it."""

    maximum: float


def duration(maximum: float) -> Any:
    """A duration field type (seconds, written ``30s``, ``5m``, ``4h``, ``7d``) of at most
    ``maximum`` seconds."""
    bounds = DurationBounds(maximum)

    def parse(value: Any) -> float:
        try:
            return parse_duration(value, bounds.maximum)
        except DurationError as exc:
            raise ValueError(str(exc)) from None

    return Annotated[float, BeforeValidator(parse), bounds]


# Every duration is bounded: unbounded ones validated, then overflowed the first date computed
# from them (an alert pass rolled back forever, `run` crashed, every check went UNKNOWN).
Duration = duration(10 * YEAR)
"""A span of time: ages, service levels, retention (at most 10 years)."""
Interval = duration(DAY)
"""How often something runs or is retried (at most a day: a check that runs less often
than daily is not monitoring)."""
Timeout = duration(HOUR)
"""How long one run, request or wait may take (at most an hour)."""
LongTimeout = duration(7 * DAY)
"""A bound on a long job such as a restic restore of a whole repository (at most 7 days)."""


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
