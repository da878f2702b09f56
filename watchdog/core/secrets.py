"""Read secrets from files, the environment or systemd credentials. Never log their values."""

from __future__ import annotations

import os
from pathlib import Path

from muni_watchdog.core.types import SecretRef


class SecretError(RuntimeError):
    """A secret could not be read; the message names where it was looked for, not its value."""


def read_secret(ref: SecretRef, environ: dict[str, str] | None = None) -> str:
    """Return the secret's text with surrounding whitespace (the trailing newline) removed."""
    env = os.environ if environ is None else environ
    if ref.env:
        if ref.env not in env:
            raise SecretError(f"environment variable {ref.env} is not set")
        return env[ref.env].strip()
    if ref.credential:
        directory = env.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise SecretError(
                f"systemd credential {ref.credential}: $CREDENTIALS_DIRECTORY is not set "
                "(add LoadCredential= to the unit, or keep the secret in a file instead)")
        path = Path(directory) / ref.credential
    else:
        path = Path(ref.file or "")
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"cannot read secret {path}: {exc.strerror}") from None
