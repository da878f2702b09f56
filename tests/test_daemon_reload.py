"""SIGHUP reloads: hostile files are refused without blocking the loop or growing memory, and
a reload that fails in any way is reported as "reload refused", never a task that dies unseen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from muni_watchdog.daemon import reload as reload_module
from muni_watchdog.daemon.loop import Daemon
from muni_watchdog.daemon.runtime import SiteJob
from muni_watchdog.daemon.service import standard_jobs
from muni_watchdog.daemon.slots import slot_id

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "muni_watchdog"]

# Nine times nine ... seven levels deep: 9**8 = 43 million strings once expanded.
BILLION_LAUGHS = "site: {name: Laughs}\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + \
    "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
            for i in range(7))


def config_text(url: str) -> str:
    return f"""\
site: {{name: Testville}}
services:
  - id: web
    name: Town website
    priority: 1
    rto: 4h
    rpo: 24h
    owner: {{name: Jane Clerk, contact: jane@town.example}}
    backup_owner: {{name: Bob Tech, contact: bob@msp.example}}
    targets: [web]
targets:
  - id: web
    kind: http
    host: 127.0.0.1
    checks: [{{check: http, url: "{url}", interval: 1s, timeout: 2s}}]
"""


class NotifySocket:
    """systemd's end of $NOTIFY_SOCKET."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def close(self) -> None:
        self.sock.close()


def wait_until(predicate, timeout: float, what: str) -> None:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process has ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.e2e
def test_hostile_files_sent_with_sighup_are_refused_and_the_daemon_stays_small(
        tmp_path, http_server):
    config = tmp_path / "muni-watchdog.yaml"
    config.write_text(config_text(http_server.url))
    notify = NotifySocket(tmp_path / "notify.sock")
    env = dict(os.environ, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="2000000",
               PYTHONUNBUFFERED="1")
    env.pop("WATCHDOG_PID", None)
    log_path = tmp_path / "daemon.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen([*COMMAND, "run", "-c", str(config), "--state-dir",
                                 str(tmp_path / "state")], env=env, stdout=log_file,
                                stderr=subprocess.STDOUT, cwd=ROOT)
    log = log_path.read_text
    try:
        wait_until(lambda: "READY=1" in "".join(notify.drain()), 30, "READY=1")
        wait_until(lambda: http_server.requests >= 2, 20, "the first checks")
        baseline = peak_rss_mb(proc.pid)

        hostile = {
            "billion laughs": (BILLION_LAUGHS, "YAML anchors (&a) are not supported"),
            "a huge file": (None, "the file is larger than 1 MiB"),
            "50,000 wrong values": (
                "site: {name: x}\ntargets: [" + ",".join(["x"] * 49_990) + "]\n",
                "more errors from here on are not shown"),
            "deep nesting": ("site: " + "[" * 100_000 + "]" * 100_000 + "\n",
                             "nested more than 50 levels"),
        }
        for what, (text, words) in hostile.items():
            if text is None:
                with config.open("wb") as file:  # 4 GiB, sparse: costs no disk
                    file.truncate(4 * 1024**3)
            else:
                config.write_text(text)
            refusals = log().count("reload refused")
            proc.send_signal(signal.SIGHUP)
            wait_until(lambda n=refusals: log().count("reload refused") > n, 60,
                       f"the refusal of {what}")
            assert words in log(), (what, log()[-2000:])
            assert proc.poll() is None, what
            # the loop still runs checks after the refusal
            requests = http_server.requests
            wait_until(lambda n=requests: http_server.requests > n, 20, f"checks after {what}")

        assert "STATUS=reload refused: " in "\n".join(notify.drain())
        assert "WATCHDOG=1" in notify.drain()
        # Memory stays bounded: the issue measured 2.2 GB for the billion laughs alone.
        print(f"peak RSS: {baseline:.0f} MB at start, {peak_rss_mb(proc.pid):.0f} MB after")
        assert peak_rss_mb(proc.pid) < baseline + 150, (baseline, peak_rss_mb(proc.pid))
        assert "Traceback" not in log() and "never retrieved" not in log()

        config.write_text(config_text(http_server.url))  # and a good file is taken again
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded: 1 checks on 1 targets" in log(), 30, "the reload")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            notify.close()


# -- in-process: any exception ------------------------------------------------------------


class Broken(SiteJob):
    """A site job that cannot be installed for a configuration whose check runs every 7s
    while ``broken`` is set: the failure happens after the old check jobs were removed, the
    worst moment for a reload to fail."""

    broken = False

    async def install(self, config, runtime):
        if self.broken and config.targets[0].checks[0].interval == 7:
            raise ValueError("report schedule exploded")


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    sock = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", sock.path)
    yield sock
    sock.close()


def run_with_daemon(daemon: Daemon, scenario) -> None:
    async def main():
        task = asyncio.ensure_future(daemon.run())
        while daemon.scheduler is None or not daemon.scheduler.running:
            await asyncio.sleep(0.05)
        try:
            await scenario()
        finally:
            daemon.stopping.set()
            assert await task == 0
    asyncio.run(main())


def test_a_reload_whose_loading_raises_is_refused_and_reported(
        tmp_path, http_server, monkeypatch, caplog, notify_socket):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(http_server.url))
    daemon = Daemon(config, tmp_path / "state", jobs=standard_jobs())

    def explode(path, check_secrets=True):
        raise MemoryError("the parser ran out of memory")

    async def scenario():
        monkeypatch.setattr(reload_module, "load_config", explode)
        daemon._request_reload()               # what SIGHUP does
        task = daemon._reload_task
        await task
        assert task.exception() is None        # nothing left for "never retrieved"
        assert "check:web/http" in daemon.specs

    with caplog.at_level(logging.INFO, logger="muni-watchdog"):
        run_with_daemon(daemon, scenario)
    assert "reload refused: loading it failed: MemoryError: the parser ran out of memory; " \
        "still running the previous configuration" in caplog.text
    assert "STATUS=reload refused: loading it failed: MemoryError: the parser ran out of " \
        "memory" in notify_socket.drain()


def test_a_reload_that_fails_while_installing_puts_the_old_configuration_back(
        tmp_path, http_server, caplog, notify_socket):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(http_server.url))
    broken = Broken()
    daemon = Daemon(config, tmp_path / "state", jobs=[*standard_jobs(), broken])

    async def scenario():
        old = daemon.config
        config.write_text(config_text(http_server.url).replace("interval: 1s", "interval: 7s"))
        broken.broken = True
        assert await daemon.reload() is False
        assert daemon.config is old             # the running configuration is back...
        slot = daemon.slots.slot_of("check:web/http")               # ...with its jobs
        assert slot == slot_id("web", 1) and daemon.scheduler.get_job(slot) is not None
        assert daemon.specs["check:web/http"].policy.check_interval == 1
        broken.broken = False
        assert await daemon.reload() is True
        assert daemon.specs["check:web/http"].policy.check_interval == 7

    with caplog.at_level(logging.INFO, logger="muni-watchdog"):
        run_with_daemon(daemon, scenario)
    assert "reload refused: installing it failed: ValueError: report schedule exploded" \
        in caplog.text
    messages = notify_socket.drain()
    refused = [m for m in messages if "reload refused" in m]
    assert refused and refused[0].startswith("READY=1\n")   # RELOADING=1 is always closed


def test_a_reload_that_overruns_its_budget_is_refused_while_the_loop_runs(
        tmp_path, http_server, monkeypatch, caplog):
    config = tmp_path / "c.yaml"
    config.write_text(config_text(http_server.url))
    daemon = Daemon(config, tmp_path / "state", jobs=standard_jobs())
    release = __import__("threading").Event()

    def slow(path, check_secrets=True):
        release.wait(30)                       # a parse that takes "forever"
        raise AssertionError("abandoned parse finished")

    async def scenario():
        monkeypatch.setattr(reload_module, "RELOAD_BUDGET", 1.0)
        monkeypatch.setattr(reload_module, "load_config", slow)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.05)

        tick_task = asyncio.ensure_future(ticker())
        assert await daemon.reload() is False
        tick_task.cancel()
        assert ticks > 1                       # the loop kept turning during the parse
        # a second SIGHUP while the abandoned parse still runs is refused, not stacked
        assert await daemon.reload() is False
        release.set()

    with caplog.at_level(logging.INFO, logger="muni-watchdog"):
        run_with_daemon(daemon, scenario)
    assert "reload refused: reading and validating the file took longer than 1s" in caplog.text
    assert "the previous reload is still reading the file" in caplog.text


def test_what_a_reload_replaces_is_collected_though_start_up_is_frozen(
        tmp_path, http_server, notify_socket):
    """The daemon keeps start-up's objects out of the collector's full passes (gc.freeze,
    issue 16); a reload must not keep the replaced configuration for good because of it."""
    import gc
    import weakref
    config = tmp_path / "c.yaml"
    config.write_text(config_text(http_server.url))
    daemon = Daemon(config, tmp_path / "state", jobs=standard_jobs())

    async def scenario():
        assert gc.get_freeze_count() > 0           # start-up's objects are frozen
        old = weakref.ref(daemon.specs["check:web/http"])
        config.write_text(config_text(http_server.url).replace("interval: 1s", "interval: 7s"))
        assert await daemon.reload() is True
        assert daemon.specs["check:web/http"].policy.check_interval == 7
        for _ in range(50):                        # a run under way still holds it
            gc.collect()
            if old() is None:
                break
            await asyncio.sleep(0.1)
        assert old() is None                       # the replaced check is gone
        assert gc.get_freeze_count() == 0

    try:
        run_with_daemon(daemon, scenario)
    finally:
        gc.unfreeze()                              # the rest of the suite collects as usual
