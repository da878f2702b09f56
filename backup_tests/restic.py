"""The one place that runs restic (through ``sh``), with a clean environment and a timeout.

The password reaches restic only as ``RESTIC_PASSWORD_FILE`` or ``RESTIC_PASSWORD_COMMAND``
in its environment, and the repository as ``RESTIC_REPOSITORY`` (a ``rest:`` URL may carry a
password): neither is ever on the command line or in a log line. The child environment is built
from scratch so stray ``RESTIC_*`` variables of the caller do not leak in.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sh

from backup_tests.params import BackupParams
from backup_tests.restic_output import (
    Failure,
    ResticVersion,
    classify_exit,
    error_message,
    parse_version,
)

log = logging.getLogger(__name__)
# sh logs every process start at INFO (whole argument lists); our own debug line is enough
logging.getLogger("sh").setLevel(logging.WARNING)

# Variables passed through from our own environment: what ssh (sftp:) and locale need.
_PASSED_THROUGH = ("PATH", "HOME", "USER", "LOGNAME", "SSH_AUTH_SOCK")
_INTERRUPT_GRACE = 10.0  # seconds restic gets after SIGINT to remove its lock before SIGKILL


@dataclass(frozen=True)
class Run:
    """What one restic command did."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def failure(self) -> Failure:
        return classify_exit(self.code, self.stderr)


class ResticError(Exception):
    """A restic command failed; ``failure`` says why in restic's terms."""

    def __init__(self, failure: Failure, message: str, command: str):
        super().__init__(f"restic {command}: {failure.value}"
                         + (f" ({message})" if message and message != failure.value else ""))
        self.failure = failure
        self.message = message
        self.command = command


def read_env_file(path: str) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments, optional ``export``, optional quotes)."""
    values = {}
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.removeprefix("export ").split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def restic_environment(backup: BackupParams, cache_dir: Path, tmp_dir: Path,
                       inherited: dict[str, str] | None = None) -> dict[str, str]:
    """The complete environment of a restic child process."""
    source = os.environ if inherited is None else inherited
    env = {k: source[k] for k in _PASSED_THROUGH if k in source}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["LC_ALL"] = "C"
    for path in backup.environment_files:
        env.update(read_env_file(path))
    env["RESTIC_REPOSITORY"] = backup.repository
    if backup.password_file:
        env["RESTIC_PASSWORD_FILE"] = backup.password_file
    else:
        env["RESTIC_PASSWORD_COMMAND"] = backup.password_command or ""
    # systemd services have no $HOME: without this restic silently runs without a cache.
    env["RESTIC_CACHE_DIR"] = str(cache_dir)
    env["TMPDIR"] = str(tmp_dir)  # check's temporary cache must not fill a small /tmp
    env["RESTIC_PROGRESS_FPS"] = "0.2"
    return env


Sleep = Callable[[float], Awaitable[None]]


class Restic:
    """Runs restic commands for one backup. ``version`` is filled by :meth:`detect_version`."""

    def __init__(self, backup: BackupParams, work_dir: Path, *,
                 environ: dict[str, str] | None = None, sleep: Sleep = asyncio.sleep,
                 monotonic: Callable[[], float] = time.monotonic):
        self.backup = backup
        self.cache_dir = work_dir / "restic-cache"
        self.tmp_dir = work_dir / "restic-tmp"
        for directory in (self.cache_dir, self.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.env = restic_environment(backup, self.cache_dir, self.tmp_dir, environ)
        self.program = sh.Command(backup.restic_command)
        self.version: ResticVersion | None = None
        self._sleep = sleep
        self._monotonic = monotonic

    async def run(self, args: Sequence[str], *, timeout: float | None = None) -> Run:
        """Run ``restic ARGS`` once; never raises for an exit code, only on timeout."""
        args = tuple(args)
        if args[:1] != ("version",):
            for option in self.backup.options:
                args += ("-o", option)
        timeout = timeout or self.backup.timeout
        log.debug("restic %s", " ".join(args))  # args never hold secrets
        started = time.monotonic()
        proc = self.program(*args, _env=self.env, _in=None, _bg=True, _bg_exc=False,
                            _ok_code=list(range(256)), _timeout=timeout, _return_cmd=True)
        try:
            await asyncio.to_thread(_wait, proc)
        except asyncio.CancelledError:
            await asyncio.to_thread(_interrupt, proc)
            raise
        except sh.TimeoutException:
            raise ResticError(Failure.FATAL, f"no answer within {timeout:g} s; stopped",
                              args[0]) from None
        code = proc.exit_code if proc.exit_code is not None else 1
        if code < 0:  # killed by a signal
            code = 128 - code
        return Run(args, code, _text(proc.stdout), _text(proc.stderr),
                   time.monotonic() - started)

    async def run_ok(self, args: Sequence[str], *, timeout: float | None = None,
                     accept: Sequence[int] = (0,)) -> Run:
        """Run, retrying while the repository is locked (backoff, within ``lock_wait``).

        ``accept`` lists exit codes returned to the caller (e.g. 1 for check's findings).

        Raises :class:`ResticError` for any other failure, or when the lock outlasts the wait.
        """
        deadline = self._monotonic() + self.backup.lock_wait
        delay = 2.0
        while True:
            result = await self.run(args, timeout=timeout)
            failure = result.failure
            # accepted codes count only as themselves: on restic < 0.17 a lock or a wrong
            # password is also exit code 1, told apart by classify_exit
            if result.code == 0 or (result.code in accept and failure is Failure.FATAL):
                return result
            if failure is Failure.LOCKED and self._monotonic() + delay <= deadline:
                log.info("repository of backup %s is locked; retrying in %.0f s",
                         self.backup.id, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            raise ResticError(failure, error_message(result.stderr), args[0])

    def binary_identity(self) -> str | None:
        """Which restic binary runs: resolved path, size and mtime; None when not found.

        The detected version is remembered under this key, so ``restic version`` runs again
        only after an upgrade replaced the binary."""
        found = shutil.which(self.backup.restic_command, path=self.env.get("PATH"))
        if found is None:
            return None
        try:
            real = os.path.realpath(found)
            st = os.stat(real)
        except OSError:
            return None
        return f"{real}:{st.st_size}:{st.st_mtime_ns}"

    async def detect_version(self) -> ResticVersion:
        result = await self.run(["version"], timeout=60)
        if result.code != 0:
            raise ResticError(result.failure, error_message(result.stderr), "version")
        self.version = parse_version(result.stdout)
        return self.version

    def snapshot_filter(self) -> list[str]:
        args = []
        if self.backup.host:
            args += ["--host", self.backup.host]
        for path in self.backup.paths:
            args += ["--path", path]
        if self.backup.tags:
            args += ["--tag", ",".join(self.backup.tags)]
        return args


def _wait(proc) -> None:
    try:
        proc.wait()
    except sh.ErrorReturnCode:
        pass  # killed by a signal (SignalException): the exit code tells


def _interrupt(proc) -> None:
    """Ask restic to stop (SIGINT lets it remove its lock), then kill it."""
    try:
        proc.signal(signal.SIGINT)
        proc.wait(timeout=_INTERRUPT_GRACE)
    except sh.TimeoutException:
        proc.kill()
    except Exception:  # noqa: BLE001 - already gone
        pass


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
