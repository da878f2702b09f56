"""Configuration of one backup under test (``backups:`` in the config)."""

from __future__ import annotations

from pydantic import Field

from watchdog.types import Strict


class BackupParams(Strict):
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_.-]*$",
                    description="Short unique name, e.g. clerk-share.")
    service: str = Field(..., description="Id of the service this backup protects; its rpo "
                         "and rto apply.")
    repository: str = Field(..., description="restic repository: a path, sftp:, rest:, s3: ...")
    password_file: str | None = Field(None, description="File holding the repository password.")
    password_command: str | None = Field(
        None, description="Command printing the repository password (run without a shell).")
