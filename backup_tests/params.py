"""Configuration of one backup under test (``backups:`` in the config).

Every default of the restore tests lives here, nowhere else.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from muni_watchdog.core.types import Duration, Interval, LongTimeout, Strict

# Five cron fields: minute hour day-of-month month day-of-week (numbers, *, lists, ranges, steps,
# and three-letter names). The daemon's scheduler parses it; this only catches typos early.
_CRON_FIELD = r"[\d*/,\-a-zA-Z]+"
CRON_PATTERN = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")

DEFAULT_SCHEDULE = "0 3 * * sun"
"""Sample restore test: every Sunday at 03:00 (site time zone), after the night's backup.

Weekday names, not numbers: APScheduler 3's ``CronTrigger.from_crontab`` counts 0 as Monday,
crontab counts 0 as Sunday."""

DEFAULT_CHECK_SCHEDULE = "0 5 * * sun"
"""Repository check (``restic check --read-data-subset=k/N``): Sundays 05:00, two hours after
the sample test, on its own. restic's check takes an exclusive lock, so inside the sample test
it could only follow the restore and add its whole time to it; restic's documentation, Backrest
and autorestic schedule ``check`` apart from restores and backups too."""


def _cron(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    if not CRON_PATTERN.match(text):
        raise ValueError(f"{value!r} is not a cron expression of five fields "
                         "(minute hour day month weekday), e.g. '0 3 * * 0' for Sundays 03:00")
    return text


class SampleParams(Strict):
    """What a sample restore test restores besides the canaries."""

    files: int = Field(50, ge=0, le=100_000,
                       description="Random files restored per run; the choice rotates so "
                       "coverage grows run after run.")
    max_file_size: int = Field(256 * 1024 * 1024, ge=1,
                               description="Files larger than this many bytes are not chosen "
                               "at random (critical paths are always restored).")
    max_bytes: int = Field(2 * 1024**3, ge=1,
                           description="Upper bound of the random sample's total bytes.")
    critical_paths: list[str] = Field(
        default_factory=list, description="Paths (as stored in the snapshot, e.g. "
        "/srv/share/finance) restored on every run; a directory includes what is under it.")


class RemoteSource(Strict):
    """The live data of a backup on another machine, read over an ssh target's connection."""

    target: str = Field(..., description="Id of a target of kind ssh (a Linux host with GNU "
                        "coreutils and findutils).")
    path: str = Field(..., pattern=r"^/", description="Absolute path of the backed-up "
                      "directory on that target, e.g. /srv/clerk.")


class BackupParams(Strict):
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_.-]*$",
                    description="Short unique name, e.g. clerk-share.")
    service: str = Field(..., description="Id of the service this backup protects; its rpo "
                         "and rto apply.")
    repository: str = Field(..., description="restic repository: a path, sftp:, rest:, s3: ...")
    password_file: str | None = Field(None, description="File holding the repository password.")
    password_command: str | None = Field(
        None, description="Command printing the repository password (run without a shell).")
    environment_files: list[str] = Field(
        default_factory=list, description="Files of KEY=VALUE lines added to restic's "
        "environment (e.g. AWS_ACCESS_KEY_ID for s3:); never logged.")
    options: list[str] = Field(
        default_factory=list, description="restic extended options, each KEY=VALUE (restic "
        "-o), e.g. \"sftp.command=ssh -i /etc/muni-watchdog/backup_key backup@nas -s sftp\"; "
        "no secrets here: they show in the process list.")
    host: str | None = Field(None, description="Only snapshots of this host (restic --host).")
    paths: list[str] = Field(default_factory=list,
                             description="Only snapshots of these paths (restic --path).")
    tags: list[str] = Field(default_factory=list,
                            description="Only snapshots with these tags (restic --tag).")
    schedule: str = Field(DEFAULT_SCHEDULE, description="When the sample restore test runs "
                          "(cron: minute hour day month weekday; default Sundays 03:00).")
    full_drill_schedule: str | None = Field(
        None, description="When a full restore drill runs (cron), e.g. '0 4 1 1,4,7,10 *' "
        "for quarterly; none = only on demand (restore-test --full).")
    check_schedule: str | None = Field(
        DEFAULT_CHECK_SCHEDULE, description="When the repository check runs on its own (cron; "
        "default Sundays 05:00): restic check reading the next 1/read_data_subsets of the "
        "stored data; its verdict is the check repository_check of backup:ID. null = inside "
        "every sample test instead, after the restore (each test takes longer).")
    sample: SampleParams = Field(default_factory=SampleParams,
                                 description="The random sample of files.")
    canaries: list[str] = Field(
        default_factory=list, description="Canary files (paths as stored in the snapshot) "
        "written by 'muni-watchdog canary write' before each backup.")
    canary_max_age: Duration | None = Field(
        None, description="Critical when a restored canary is older than this (it dates the "
        "real recovery point); default: the service's rpo.")
    source: str | RemoteSource | None = Field(
        None, description="The live data, to compare restored files that were not modified "
        "since the snapshot: a local path, or {target: ID, path: /srv/...} for a directory on "
        "an ssh target (read over its SSH connection); none = no comparison.")
    scratch_dir: str = Field("/var/tmp", description="Where restores go, in a private 0700 "
                             "directory that is always removed afterwards.")
    restic_command: str = Field("restic", description="The restic program.")
    read_data_subsets: int = Field(12, ge=1, le=256, description="N of check "
                                   "--read-data-subset=k/N: all stored data is re-read every "
                                   "N checks; a subset that found damage is read again at "
                                   "every check until it passes.")
    rpo_warn_percent: float = Field(100, gt=0, description="Warn when the newest snapshot's "
                                    "age exceeds this percentage of the rpo.")
    rpo_crit_percent: float = Field(200, gt=0, description="Critical above this percentage.")
    rto_warn_percent: float = Field(80, gt=0, description="Warn when the full restore "
                                    "(measured by a drill, or estimated from sample runs) "
                                    "exceeds this percentage of the rto.")
    rto_crit_percent: float = Field(100, gt=0, description="Critical when a full drill's "
                                    "measured restore exceeds this percentage of the rto; an "
                                    "estimate above it is a warning that asks for a drill.")
    lock_wait: Interval = Field(600, ge=0, description="How long a locked repository is "
                                "retried (with backoff) before the run is UNKNOWN; a lock left "
                                "by a dead process on this host is cleared first (plain restic "
                                "unlock).")
    timeout: LongTimeout = Field(6 * 3600, gt=0, description="Bound on each restic command.")

    @field_validator("schedule", "full_drill_schedule", "check_schedule")
    @classmethod
    def _check_cron(cls, value: str | None) -> str | None:
        return _cron(value)

    @field_validator("options")
    @classmethod
    def _check_options(cls, value: list[str]) -> list[str]:
        for option in value:
            if "=" not in option:
                raise ValueError(f"{option!r} is not KEY=VALUE (a restic -o option)")
        return value

    @model_validator(mode="after")
    def _one_password(self) -> BackupParams:
        if bool(self.password_file) == bool(self.password_command):
            raise ValueError("give exactly one of password_file or password_command")
        return self
