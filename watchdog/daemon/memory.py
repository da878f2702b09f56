"""Keeping the daemon's memory flat: glibc's malloc gives every thread that allocates its own
arena (up to 8 per core), and the worker threads that run SSH sessions and other blocking
collection each grow one, so the RSS climbed for minutes after start (93 → 138 MB with 500
SNMP targets) while the Python objects grew by ~1 MB (tracemalloc; bench/daemon_memory.py).
Two arenas hold the same data without that slack — what MALLOC_ARENA_MAX=2 does for
Java/Ruby servers and what systemd services of many Python daemons set."""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger("muni-watchdog")
M_ARENA_MAX = -8        # mallopt parameter (glibc malloc.h)
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas (before the worker threads start). An operator's own
    MALLOC_ARENA_MAX wins; on a libc without mallopt (musl) nothing changes. Returns whether
    the cap was set."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        log.debug("mallopt is not available; malloc arenas left as they are")
        return False
