"""Stopping within bounds: systemd's TimeoutStopSec (20 s in our unit) must never be reached,
whatever a check, a send or a library thread does."""

from __future__ import annotations

import asyncio
import concurrent.futures.thread
import inspect
import logging
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("muni-watchdog")
CANCEL_SECONDS = 3.0     # tasks: checks, polls, deliveries
EXIT_SECONDS = 3.0       # worker threads (a blocking send or restic call) after the loop


async def cancel_running(foreign: set[asyncio.Task], bound: float = CANCEL_SECONDS) -> None:
    """Cancel every task of ours (checks, polls, sends; not those in ``foreign``) and wait
    for them, within ``bound`` seconds. A task that swallowed a cancellation is cancelled
    again each round; one still running at the end is named in the log (and abandoned)."""
    current = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    tasks: set[asyncio.Task] = set()
    while True:
        tasks = {t for t in asyncio.all_tasks() if t is not current and not t.done()
                 and t not in foreign}
        if not tasks or loop.time() >= deadline:
            break
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=min(0.5, max(0.0, deadline - loop.time())))
    for task in tasks:
        log.warning("shutdown: task %s still running after %gs: %s", task.get_name(),
                    bound, task.get_coro())


def _pool_wait_line() -> int | None:
    """The line where a ThreadPoolExecutor worker waits for its next piece of work."""
    try:
        lines, first = inspect.getsourcelines(concurrent.futures.thread._worker)
    except (OSError, TypeError):
        return None
    return next((first + i for i, line in enumerate(lines)
                 if "work_queue.get(block=True)" in line), None)


_POOL_WAIT_LINE = _pool_wait_line()


def idle_pool_worker(thread: threading.Thread) -> bool:
    """A thread pool's worker waiting for work, holding none: Apprise keeps a process-wide
    pool, so after any notification its idle workers outlive the loop. Interpreter exit wakes
    and ends them at once, so they are not work still busy. (Unknown on another Python: then
    False, and the thread is waited for as before.)"""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code is concurrent.futures.thread._worker.__code__:
            return frame.f_lineno == _POOL_WAIT_LINE
        frame = frame.f_back
    return False


def close_loop(loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor | None,
               bound: float = CANCEL_SECONDS) -> None:
    """Close the loop without ``asyncio.run``'s unbounded waits: leftover tasks, async
    generators and worker threads get ``bound`` / EXIT_SECONDS, then the process exits
    without them."""
    leftover = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftover:
        task.cancel()
    if leftover:
        loop.run_until_complete(asyncio.wait(leftover, timeout=bound))
    try:
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), bound))
    except (TimeoutError, RuntimeError):
        pass
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    asyncio.set_event_loop(None)
    loop.close()
    deadline = time.monotonic() + EXIT_SECONDS
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon \
                and not idle_pool_worker(thread):
            thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate()
             if t is not threading.main_thread() and not t.daemon and t.is_alive()
             and not idle_pool_worker(t)]
    if stuck:
        # Python would wait for these at exit, without limit: a stop must never hang.
        log.error("stopped, but threads %s are still busy; exiting without them",
                  ", ".join(stuck))
        logging.shutdown()
        os._exit(0)
