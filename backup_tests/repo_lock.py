"""One restore test per repository at a time, across processes (daemon and CLI).

An ``flock`` on a file named after the repository, in the state directory: the kernel releases
it when the holder dies, so a killed run never blocks the next. We never touch restic's own locks
(no ``unlock --remove-all``): a repository locked by a running backup is retried by the driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path


class Busy(RuntimeError):
    """Another restore test of the same repository is still running."""


@contextlib.asynccontextmanager
async def repository_lock(work_dir: Path, repository: str, wait: float,
                          poll: float = 1.0) -> AsyncIterator[None]:
    lock_dir = work_dir / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = hashlib.sha256(repository.encode()).hexdigest()[:16]
    fd = os.open(lock_dir / f"repo-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy("another restore test of this repository is still running") \
                        from None
                await asyncio.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
