"""Reading a reloaded configuration off the event loop, and refusing a reload aloud.

The file is read and validated in a thread with a time budget, so the event loop goes on
running checks and watchdog pings meanwhile (the file's size, nesting and value count are
bounded by the loader, so the thread's memory is bounded too)."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from muni_watchdog.config.loading import load_config
from muni_watchdog.config.models import Config
from muni_watchdog.daemon import sdnotify

log = logging.getLogger("muni-watchdog")
RELOAD_BUDGET = 30.0  # seconds to read and validate a reloaded file; the unit's WatchdogSec=60s


class OffLoopLoader:
    """``load_config`` in a daemon thread, awaited for at most RELOAD_BUDGET seconds; one at
    a time."""

    def __init__(self, path: Path):
        self.path = path
        self._thread: threading.Thread | None = None

    async def load(self) -> Config:
        """A daemon thread, not an executor: one that overruns the budget is abandoned (it
        ends by itself: the loader's limits bound its work) and never delays the daemon's
        exit."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the previous reload is still reading the file; send SIGHUP "
                               "again in a moment")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Config] = loop.create_future()

        def settle(outcome: Config | BaseException) -> None:
            if future.done():  # the budget ran out and the waiter is gone
                return
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        def work() -> None:
            try:
                outcome: Config | BaseException = load_config(self.path)
            except BaseException as exc:  # noqa: BLE001 — handed to the loop, which reports it
                outcome = exc
            try:
                loop.call_soon_threadsafe(settle, outcome)
            except RuntimeError:  # the loop has closed: the daemon is gone
                pass

        self._thread = threading.Thread(target=work, name="config-reload", daemon=True)
        self._thread.start()
        try:
            config = await asyncio.wait_for(future, RELOAD_BUDGET)
        except TimeoutError:
            raise  # the thread is abandoned and stays recorded until it ends by itself
        except BaseException:
            self._thread = None
            raise
        # The thread has handed over its result but may not have returned yet: it is done,
        # and must not make the next SIGHUP look like an overlapping reload.
        self._thread = None
        return config


def refuse(reason: str, reloading: bool = False) -> bool:
    """Log and tell systemd that a reload was refused; the running configuration stays."""
    log.error("reload refused: %s; still running the previous configuration", reason)
    status = f"STATUS=reload refused: {reason}"[:400]
    sdnotify.notify(("READY=1\n" if reloading else "") + status)
    return False
