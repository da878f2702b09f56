"""The event loop every asyncio run of ours uses (the daemon, the commands, the benchmarks
and the tests): uvloop's, libuv in C.

The daemon's path is mostly the loop's own work — a timer per target, a UDP send and a
receive per SNMP request, a task per run — and asyncio's loop does it in Python: with
uvloop the daemon path measured 1.42x prometheus-snmp-exporter's CPU per value against
1.55x on asyncio's loop, in the same hour on the same machine
(``bench/snmp_poll.py --daemon``). One implementation everywhere, so the tests run on the
loop that runs in production."""

from __future__ import annotations

import asyncio

import uvloop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the kind the product runs on (not set as the thread's current loop)."""
    return uvloop.new_event_loop()


def use_everywhere() -> None:
    """Make ``asyncio.run`` and ``asyncio.new_event_loop`` give the same kind of loop (the
    test suite and the benchmarks, which start loops in many places)."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
