"""restic locks whose owner is provably dead, so that a killed run does not block every later one.

restic writes a lock file (``locks/ID``: time, exclusive, hostname, pid, …) for every command and
removes it when the command ends. A restic that is SIGKILLed (OOM killer, power loss, a killed
parent with no parent-death signal) leaves it behind, and every later ``check`` or ``restore``
fails with "repository is already locked" until someone runs ``restic unlock``.

We clear such a lock only when its owner is provably gone: written on this host (same host name
as ours) and its PID no longer exists. Then plain ``restic unlock`` is run, which removes only
locks restic itself calls stale (same host and process gone, or not refreshed for 30 minutes:
``Lock.Stale`` in restic's ``internal/restic/lock.go``); never ``unlock --remove-all``. A lock of
another host, or of a live process, is left alone: the run waits ``lock_wait`` as before.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from muni_watchdog.backup_tests.restic_output import parse_time

MAX_LOCKS = 50  # bound on locks looked at; a repository normally has zero to a few


@dataclass(frozen=True)
class LockInfo:
    """One restic lock file, as ``restic cat lock ID`` prints it."""

    id: str
    hostname: str
    pid: int
    time: datetime | None
    exclusive: bool
    username: str = ""

    def as_json(self) -> dict:
        return {"id": self.id[:8], "hostname": self.hostname, "pid": self.pid,
                "exclusive": self.exclusive,
                "time": self.time.isoformat() if self.time else None}

    def describe(self) -> str:
        kind = "exclusive" if self.exclusive else "shared"
        when = f" from {self.time:%Y-%m-%d %H:%M} UTC" if self.time else ""
        return f"{kind} lock {self.id[:8]} of PID {self.pid} on {self.hostname}{when}"


def parse_lock_ids(text: str) -> list[str]:
    """``restic list locks``: one 64-hex id per line (anything else is ignored)."""
    return [line.strip() for line in text.splitlines()
            if re.fullmatch(r"[0-9a-f]{64}", line.strip())][:MAX_LOCKS]


def parse_lock(lock_id: str, text: str) -> LockInfo | None:
    """``restic cat lock ID`` (pretty JSON, 0.14 and 0.18 alike); None if it is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
        return None
    try:
        when = parse_time(str(data["time"])) if data.get("time") else None
    except ValueError:
        when = None
    return LockInfo(lock_id, str(data.get("hostname", "")), data["pid"], when,
                    bool(data.get("exclusive")), str(data.get("username", "")))


def pid_alive(pid: int) -> bool:
    """True unless the process provably does not exist (EPERM: it exists, not ours)."""
    if pid <= 0:
        return True  # not a real owner: never "provably dead"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def dead_owner_locks(locks: Iterable[LockInfo], hostname: str,
                     alive: Callable[[int], bool] = pid_alive) -> list[LockInfo]:
    """The locks written on ``hostname`` by a process that no longer exists."""
    return [lock for lock in locks if lock.hostname == hostname and not alive(lock.pid)]
