"""Logging to stderr, one line per event: journald adds the time when it is the reader."""

from __future__ import annotations

import logging
import os
import sys


class OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.exc_info:
            # A traceback stays readable in the journal as continuation lines, but every other
            # message is flattened so one event is one line.
            return text
        return " ".join(text.split("\n"))


def setup_logging(level: str = "INFO") -> None:
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(message)s" if under_journald else \
        "%(asctime)s %(levelname)s %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "apprise", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # paramiko's transport thread logs a failed handshake (a host that never speaks SSH, a
    # reset) as ERROR followed by its own traceback, one record per line. Our check already
    # says it in one line with the reason ("no SSH banner within 10s"), so paramiko's account
    # is shown only when asked for everything (--log-level DEBUG).
    logging.getLogger("paramiko.transport").setLevel(
        logging.NOTSET if level == "DEBUG" else logging.CRITICAL)
