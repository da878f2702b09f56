"""The one place that runs restic (through ``sh``), with a clean environment and a timeout.

The password reaches restic only as ``RESTIC_PASSWORD_FILE`` or ``RESTIC_PASSWORD_COMMAND``
in its environment, and the repository as ``RESTIC_REPOSITORY`` (a ``rest:`` URL may carry a
password): neither is ever on the command line or in a log line. The child environment is built
from scratch so stray ``RESTIC_*`` variables of the caller do not leak in.

restic never outlives us: it runs in its own process group with a parent-death signal
(``prctl(PR_SET_PDEATHSIG, SIGINT)``), so a SIGKILLed CLI or daemon takes it along, and SIGINT
lets it remove its repository lock on the way out. Its output goes to files, not pipes: a pipe
whose reader died would kill restic with SIGPIPE at its first word ("signal interrupt received,
cleaning up") before it unlocks. A lock left by a restic that was itself killed outright is
cleared when its owner is provably dead (see :mod:`stale_locks`).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sh

from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.restic_output import (
    Failure,
    ResticVersion,
    classify_exit,
    error_message,
    parse_version,
    stderr_lines,
)
from muni_watchdog.backup_tests.restore_progress import STATUS_FPS, watch_status
from muni_watchdog.backup_tests.stale_locks import (
    LockInfo,
    dead_owner_locks,
    parse_lock,
    parse_lock_ids,
    pid_alive,
)
from muni_watchdog.core.text import plain_text

log = logging.getLogger(__name__)
# sh logs every process start at INFO (whole argument lists); our own debug line is enough
logging.getLogger("sh").setLevel(logging.WARNING)

# Variables passed through from our own environment: what ssh (sftp:) and locale need.
_PASSED_THROUGH = ("PATH", "HOME", "USER", "LOGNAME", "SSH_AUTH_SOCK")
_INTERRUPT_GRACE = 10.0  # seconds restic gets after SIGINT to remove its lock before SIGKILL
OUTPUT_CAP = 512 * 1024 * 1024  # bytes of stdout or stderr read; more is "cut at the cap"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# looked up once here, not in the forked child (no dynamic loading between fork and exec)
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGINT when the thread that forked it dies.

    sh forks from the calling thread, which for us is the event loop's (main) thread, alive as
    long as the process. SIGINT, not SIGKILL: restic then removes its lock before it exits."""

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGINT), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(130)

    return preexec


@dataclass(frozen=True)
class Run:
    """What one restic command did."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float
    cut: bool = False  # stdout or stderr exceeded OUTPUT_CAP and was cut there

    @property
    def failure(self) -> Failure:
        return classify_exit(self.code, self.stderr)


class ResticError(Exception):
    """A restic command failed; ``failure`` says why in restic's terms. ``stderr`` is kept so
    the caller can name damaged packs; ``code`` is the exit code (None: it did not exit)."""

    def __init__(self, failure: Failure, message: str, command: str, *, stderr: str = "",
                 code: int | None = None):
        what = failure.value if failure is not Failure.UNKNOWN_CODE or code is None else \
            f"exit code {code}, not in restic's table"
        super().__init__(f"restic {command}: {what}"
                         + (f" ({message})" if message and message != failure.value else ""))
        self.failure = failure
        self.message = message
        self.command = command
        self.stderr = stderr
        self.code = code


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
        _sweep_output_files(self.tmp_dir)
        self.env = restic_environment(backup, self.cache_dir, self.tmp_dir, environ)
        found = shutil.which(backup.restic_command, path=self.env.get("PATH"))
        if found is None:
            raise ResticError(Failure.NOT_INSTALLED, f"{backup.restic_command!r} is not an "
                              "executable program here; install restic (apt install restic) "
                              "or set restic_command to its path", "version")
        self.program = sh.Command(found)
        self.version: ResticVersion | None = None
        self.cleared_locks: list[LockInfo] = []
        self.hostname = socket.gethostname()  # what restic writes into its lock files
        self.pid_alive: Callable[[int], bool] = pid_alive
        self._sleep = sleep
        self._monotonic = monotonic

    async def run(self, args: Sequence[str], *, timeout: float | None = None,
                  on_status: Callable[[dict], None] | None = None) -> Run:
        """Run ``restic ARGS`` once; never raises for an exit code, only on timeout.

        At the timeout restic gets SIGINT (so it removes its lock), then its process group
        SIGKILL after a grace period. ``on_status``: called with each ``--json`` status line
        while restic runs (:mod:`.restore_progress`)."""
        args = tuple(args)
        if args[:1] != ("version",):
            for option in self.backup.options:
                args += ("-o", option)
        timeout = timeout or self.backup.timeout
        log.debug("restic %s", " ".join(args))  # args never hold secrets
        started = time.monotonic()
        prefix = f"restic-{os.getpid()}-"
        out = tempfile.NamedTemporaryFile(prefix=prefix, dir=self.tmp_dir, delete=False)
        err = tempfile.NamedTemporaryFile(prefix=prefix, dir=self.tmp_dir, delete=False)
        try:
            with out, err:
                env = self.env if on_status is None else {**self.env,
                                                            "RESTIC_PROGRESS_FPS": STATUS_FPS}
                try:
                    proc = self.program(*args, _env=env, _in=None, _out=out, _err=err,
                                        _bg=True, _bg_exc=False, _ok_code=list(range(256)),
                                        _return_cmd=True, _new_group=True,
                                        _preexec_fn=die_with_parent(os.getpid()))
                except (OSError, sh.ForkException) as exc:
                    raise ResticError(Failure.NOT_INSTALLED, f"cannot start {self.program}: "
                                      f"{exc}", args[0]) from None
                waiter = asyncio.ensure_future(asyncio.to_thread(_wait, proc))
                watcher = None if on_status is None else asyncio.ensure_future(
                    watch_status(out.name, waiter, on_status))
                try:
                    await asyncio.wait_for(asyncio.shield(waiter), timeout)
                    if watcher is not None:
                        await watcher
                except TimeoutError:
                    await asyncio.to_thread(_interrupt, proc)
                    raise ResticError(Failure.FATAL, f"no answer within {timeout:g} s; "
                                      "stopped", args[0]) from None
                except asyncio.CancelledError:
                    await asyncio.shield(asyncio.to_thread(_interrupt, proc))
                    raise
                finally:
                    if watcher is not None and not watcher.done():
                        watcher.cancel()
            stdout, cut_out = _read_capped(out.name)
            stderr, cut_err = _read_capped(err.name)
        finally:
            for name in (out.name, err.name):
                Path(name).unlink(missing_ok=True)
        code = proc.exit_code if proc.exit_code is not None else 1
        if code < 0:  # killed by a signal
            code = 128 - code
        # stderr holds restic's messages, which become summaries: without the terminal
        # escapes of its progress lines (core.text). stdout is data (JSON), parsed as is.
        return Run(args, code, stdout, plain_text(stderr), time.monotonic() - started,
                   cut_out or cut_err)

    async def run_ok(self, args: Sequence[str], *, timeout: float | None = None,
                     accept: Sequence[int] = (0,), quiet_stderr: bool = True,
                     on_status: Callable[[dict], None] | None = None) -> Run:
        """Run, retrying while the repository is locked (backoff, within ``lock_wait``).

        ``accept`` lists exit codes returned to the caller (e.g. 1 for check's findings). With
        ``quiet_stderr`` an exit code 0 with an error message on stderr is a failure too (the
        caller reads stderr itself otherwise). A lock whose owner is provably dead is cleared
        once, and the command retried at once (:meth:`clear_dead_locks`).

        Raises :class:`ResticError` for any other failure, or when the lock outlasts the wait.
        """
        deadline: float | None = None  # lock_wait counts from the first "locked" answer
        delay = 2.0
        while True:
            result = await self.run(args, timeout=timeout, on_status=on_status)
            failure = result.failure
            if result.cut:
                raise ResticError(Failure.BAD_OUTPUT, f"printed more than {OUTPUT_CAP} bytes "
                                  "(the output cap); what it said was cut there", args[0],
                                  code=result.code)
            # accepted codes count only as themselves: on restic < 0.17 a lock or a wrong
            # password is also exit code 1, told apart by classify_exit
            if result.code == 0 and quiet_stderr and (said := stderr_lines(result.stderr)):
                raise ResticError(Failure.BAD_OUTPUT, f"exit code 0, yet stderr says: "
                                  f"{said[0].strip()[:200]}", args[0], stderr=result.stderr,
                                  code=0)
            if result.code == 0 or (result.code in accept and failure is Failure.FATAL):
                return result
            if failure is Failure.LOCKED and deadline is None:
                if await self.clear_dead_locks():
                    continue  # at once: the lock that stopped us is gone
                deadline = self._monotonic() + self.backup.lock_wait
            if failure is Failure.LOCKED and self._monotonic() + delay <= deadline:
                log.info("repository of backup %s is locked; retrying in %.0f s",
                         self.backup.id, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 60.0)
                continue
            raise ResticError(failure, error_message(result.stderr), args[0],
                              stderr=result.stderr, code=result.code)

    async def clear_dead_locks(self) -> list[LockInfo]:
        """Run ``restic unlock`` when a lock's owner is provably dead (this host, PID gone).

        Plain ``unlock`` removes only what restic calls stale, never a live process's lock.
        Returns the dead-owner locks it removed (also kept in ``cleared_locks``); [] when there
        were none or they could not be read. Never raises for restic's answers."""
        listed = await self.run(["list", "locks", "--no-lock"], timeout=120)
        if listed.code != 0:
            return []
        locks = []
        for lock_id in parse_lock_ids(listed.stdout):
            shown = await self.run(["cat", "lock", lock_id, "--no-lock"], timeout=120)
            lock = parse_lock(lock_id, shown.stdout) if shown.code == 0 else None
            if lock is not None:
                locks.append(lock)
        dead = dead_owner_locks(locks, self.hostname, self.pid_alive)
        if not dead:
            return []
        done = await self.run(["unlock"], timeout=120)
        if done.code != 0:
            log.warning("restic unlock failed: %s", error_message(done.stderr))
            return []
        relisted = await self.run(["list", "locks", "--no-lock"], timeout=120)
        remaining = set(parse_lock_ids(relisted.stdout)) if relisted.code == 0 else set()
        cleared = [lock for lock in dead if lock.id not in remaining]
        for lock in cleared:
            log.warning("backup %s: removed a stale restic lock (%s; that process is gone)",
                        self.backup.id, lock.describe())
        self.cleared_locks.extend(cleared)
        return cleared

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
            raise ResticError(result.failure, error_message(result.stderr), "version",
                              stderr=result.stderr, code=result.code)
        try:
            self.version = parse_version(result.stdout)
        except ValueError as exc:
            raise ResticError(Failure.BAD_OUTPUT, str(exc), "version", code=0) from None
        if said := stderr_lines(result.stderr):
            raise ResticError(Failure.BAD_OUTPUT, f"exit code 0, yet stderr says: "
                              f"{said[0].strip()[:200]}", "version", code=0)
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
    """Ask restic to stop (SIGINT lets it remove its lock), then kill its process group."""
    try:
        proc.signal(signal.SIGINT)
        proc.wait(timeout=_INTERRUPT_GRACE)
    except sh.TimeoutException:
        try:
            proc.kill_group()
            proc.wait()
        except Exception:  # noqa: BLE001 - already gone
            pass
    except Exception:  # noqa: BLE001 - already gone
        pass


def _read_capped(path: str) -> tuple[str, bool]:
    """The file's text, at most OUTPUT_CAP bytes, and whether it was longer."""
    with open(path, "rb") as handle:
        data = handle.read(OUTPUT_CAP + 1)
    return data[:OUTPUT_CAP].decode("utf-8", "replace"), len(data) > OUTPUT_CAP


def _sweep_output_files(directory: Path) -> None:
    """Remove output files of runs whose process is gone (a SIGKILLed CLI leaves them)."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        parts = entry.name.split("-")
        if len(parts) >= 3 and parts[0] == "restic" and parts[1].isdigit() and \
                not pid_alive(int(parts[1])):
            Path(entry.path).unlink(missing_ok=True)
