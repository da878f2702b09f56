"""Stopping a command: Ctrl-C (SIGINT) or SIGTERM ends it within seconds, in one line, with
the shell's exit code for the signal (130 for Ctrl-C, 143 for SIGTERM), never a traceback.

A command's network work runs under :func:`run_stoppable` instead of ``asyncio.run``. The
signal cancels the work: cancellation arrives at an ``await``, so ``finally`` blocks run
(restic is interrupted and removes its lock, scratch directories and sessions are closed) and
no library call is cut in half, as a KeyboardInterrupt raised from Python's own handler can
be, anywhere. Then :class:`Stopped` says which signal it was.

``asyncio.run`` would then wait for every worker thread, and a thread blocked in a library
call (an HTTP fetch or an SSH read, bounded only by the check's timeout) held a Ctrl-C'd
``check`` for 20 seconds. Here the loop is closed without waiting for them, and
:func:`end_stopped` leaves them behind when the command ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from muni_watchdog.core.eventloop import new_event_loop

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)
CLEANUP_SECONDS = 5.0  # for what is left after the work itself was cancelled


class Stopped(Exception):
    """The command's work was stopped by a signal and has cleaned up after itself."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def run_stoppable(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to completion on a new event loop, as ``asyncio.run``; SIGINT or SIGTERM
    cancels it and raises :class:`Stopped`."""
    loop = new_event_loop()
    task = loop.create_task(work)
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    for signum in SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        return loop.run_until_complete(task)
    except asyncio.CancelledError:
        if received:
            raise Stopped(received[0]) from None
        raise
    finally:
        for signum in SIGNALS:
            loop.remove_signal_handler(signum)
        _close(loop)


def _close(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what the work left running, within bounds, and close the loop; its thread pool
    is shut down without waiting (``loop.close``)."""
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        loop.run_until_complete(asyncio.wait(leftover, timeout=CLEANUP_SECONDS))
    with contextlib.suppress(TimeoutError, RuntimeError):
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), CLEANUP_SECONDS))
    loop.close()


def end_stopped(code: int) -> int:
    """``code``, for a command that was stopped. When worker threads are still blocked in a
    library call, the interpreter would wait for them at exit: the process ends now instead,
    its output flushed (every ``finally`` of ours has run by then)."""
    busy = [t for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if not busy:
        return code
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
