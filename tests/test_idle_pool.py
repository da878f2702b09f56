"""The SSH sessions' thread pool: parallel up to its size, idle threads exit, shutdown cancels."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from muni_watchdog.core.threads import IdleExitPool


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_runs_up_to_its_size_at_once_and_hands_back_results_and_errors():
    pool = IdleExitPool(3, "t-size", keep_alive=5)
    gate, inside = threading.Event(), []
    lock = threading.Lock()

    def job(n):
        with lock:
            inside.append(n)
        gate.wait(10)
        if n == 4:
            raise ValueError("four")
        return n * 10

    futures = [pool.submit(job, n) for n in range(5)]
    assert wait_until(lambda: len(inside) == 3)
    assert pool.threads == 3            # never more than its size
    gate.set()
    assert [f.result(10) for f in futures[:4]] == [0, 10, 20, 30]
    with pytest.raises(ValueError, match="four"):
        futures[4].result(10)
    pool.shutdown()
    assert pool.threads == 0


def test_idle_threads_exit_and_the_next_submit_starts_one_again():
    pool = IdleExitPool(4, "t-idle", keep_alive=0.2)
    assert [f.result(5) for f in [pool.submit(time.sleep, 0.05) for _ in range(4)]] == [None] * 4
    assert wait_until(lambda: pool.threads == 0)
    assert not [t for t in threading.enumerate() if t.name.startswith("t-idle_")]
    assert pool.submit(lambda: threading.current_thread().name).result(5).startswith("t-idle_")
    pool.shutdown()


def test_a_busy_thread_takes_queued_work_instead_of_starting_a_second():
    pool = IdleExitPool(2, "t-reuse", keep_alive=5)
    names = []
    for _ in range(5):
        names.append(pool.submit(lambda: threading.current_thread().name).result(5))
        assert wait_until(lambda: pool.idle == 1)   # back to waiting
    assert len(set(names)) == 1          # one after another: the idle thread took each
    pool.shutdown()


def test_shutdown_cancels_queued_work_and_refuses_new():
    pool = IdleExitPool(1, "t-stop", keep_alive=5)
    gate = threading.Event()
    running = pool.submit(gate.wait, 10)
    queued = pool.submit(lambda: "never")
    assert wait_until(running.running)
    pool.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
    gate.set()
    assert running.result(5) is True
    assert wait_until(lambda: pool.threads == 0)


def test_works_as_an_asyncio_executor():
    pool = IdleExitPool(2, "t-loop", keep_alive=5)

    async def main():
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(pool, pow, 2, n) for n in range(6)))

    assert asyncio.run(main()) == [1, 2, 4, 8, 16, 32]
    pool.shutdown()
