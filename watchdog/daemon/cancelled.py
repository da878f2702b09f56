"""A scheduled job cancelled at shutdown is one line in the log, not a traceback.

APScheduler 3 runs each coroutine job in a task of its own and logs whatever the job raises,
``CancelledError`` included, as ``Job "..." raised an exception`` with the traceback: a SIGTERM
with five checks in flight wrote five tracebacks that looked like crashes. A cancellation at
shutdown is the stop working as designed, so :class:`CancelledJobs`, a filter on the
executor's logger, turns exactly those records into one INFO line naming the job
(``cancelled at shutdown: web/http``, the job's ``name``). Every other exception of a job keeps
its traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

# The logger APScheduler's executor named "default" writes to (BaseExecutor.start).
EXECUTOR_LOGGER = "apscheduler.executors.default"


class CancelledJobs(logging.Filter):
    """Rewrites a job's ``CancelledError`` record while ``stopping()`` is true. At any other
    time nothing of ours cancels a job, so the traceback stays: it shows who did."""

    def __init__(self, stopping: Callable[[], bool]):
        super().__init__()
        self.stopping = stopping

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, asyncio.CancelledError) or not self.stopping():
            return True
        # APScheduler logs the Job itself ('Job "%s" raised an exception'), or its id
        # ("Error running job %s") when the task was cancelled before the job started.
        subject = record.args[0] if isinstance(record.args, tuple) and record.args else None
        name = getattr(subject, "name", subject) or "a job"
        record.msg = "cancelled at shutdown: %s"
        record.args = (name,)
        record.exc_info = record.exc_text = None
        record.stack_info = None
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        # The record passed the logger's level as an ERROR; shown as INFO only where INFO is.
        return logging.getLogger().isEnabledFor(logging.INFO)


def quiet_cancellations(stopping: Callable[[], bool]) -> Callable[[], None]:
    """Install the filter on APScheduler's executor logger; returns its removal."""
    logger = logging.getLogger(EXECUTOR_LOGGER)
    quiet = CancelledJobs(stopping)
    logger.addFilter(quiet)
    return lambda: logger.removeFilter(quiet)
