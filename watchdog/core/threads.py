"""A thread pool whose idle threads exit: blocking work (an SSH session's commands) without
threads that sit for the rest of the daemon's life.

The standard ThreadPoolExecutor keeps every thread it ever started until shutdown. With a pool
per SSH target (so a hung host ties up only its own threads), 50 targets kept 200 idle threads
and ~9 MB of touched stacks between polls (bench/daemon_memory.py). Here a thread that found no
work for ``keep_alive`` seconds exits (glibc returns its stack pages), and the next submit
starts one again — the ``keepAliveTime`` of Java's ThreadPoolExecutor. Polls come every
minute or more, so starting a thread (~0.1 ms) per poll costs nothing that shows.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Executor, Future
from itertools import count

KEEP_ALIVE = 10.0  # seconds an idle thread waits for work before it exits


class IdleExitPool(Executor):
    """Up to ``workers`` threads; each exits after ``keep_alive`` seconds without work."""

    def __init__(self, workers: int, name: str = "pool", keep_alive: float = KEEP_ALIVE):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._workers = workers
        self._name = name
        self._keep_alive = keep_alive
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0        # alive and waiting for work
        self._pending = 0     # submitted, not yet taken by a thread
        self._shutdown = False
        self._numbers = count(1)
        self._alive: set[threading.Thread] = set()

    @property
    def threads(self) -> int:
        """Threads alive now (for tests and the benchmark)."""
        return len(self._alive)

    @property
    def idle(self) -> int:
        """Threads alive and waiting for work."""
        return self._idle

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queue.put((future, fn, args, kwargs))
            self._pending += 1
            if self._pending > self._idle and len(self._alive) < self._workers:
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"{self._name}_{next(self._numbers)}")
                self._alive.add(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            try:
                item = self._queue.get(timeout=self._keep_alive)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._pending and not self._shutdown:
                        continue  # work arrived as the wait ended: take it
                    self._exit()
                    return
            with self._lock:
                self._idle -= 1
                if item is None:  # shutdown
                    self._exit()
                    return
                self._pending -= 1
            future, fn, args, kwargs = item
            del item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)
            del future, fn, args, kwargs

    def _exit(self) -> None:
        """Book this thread out (with the lock held)."""
        self._alive.discard(threading.current_thread())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is not None:
                        self._pending -= 1
                        item[0].cancel()
            for _ in range(len(self._alive)):
                self._queue.put(None)
            alive = [t for t in self._alive if t is not threading.current_thread()]
        if wait:
            for thread in alive:
                thread.join()
