"""Progress of a long restore on a terminal, from restic's ``--json`` status lines (restic
0.17+; their fields as restic's doc/075_scripting.rst lists them for ``restore``)."""

from __future__ import annotations

import asyncio
import json
import stat
import threading
import time
from pathlib import Path

import yaml

from lab.restic_lab import ResticLab
from muni_watchdog.backup_tests.params import BackupParams
from muni_watchdog.backup_tests.restic import Restic
from muni_watchdog.backup_tests.restore_progress import parse_status, progress_text, watch_status


def status(**fields) -> dict:
    return {"message_type": "status", "seconds_elapsed": 4, "percent_done": 0.25,
            "total_files": 350, "files_restored": 120, "files_skipped": 0,
            "total_bytes": 350_000_000, "bytes_restored": 100_000_000, "bytes_skipped": 0,
            **fields}


def test_progress_says_files_bytes_rate_and_time_left():
    assert progress_text(status(seconds_remaining=10)) == \
        "restored 120 of 350 files, 100.0 of 350.0 MB, 25.0 MB/s, 10 s left"
    # without restic's estimate: from the rate so far (250 MB at 25 MB/s)
    assert progress_text(status()).endswith("25.0 MB/s, 10 s left")
    assert progress_text(status(seconds_remaining=125)).endswith("2 min 5 s left")
    assert progress_text(status(seconds_elapsed=0, bytes_restored=0)) == \
        "restored 120 of 350 files, 0.0 of 350.0 MB"


def test_only_status_lines_are_status():
    assert parse_status(json.dumps(status())) is not None
    assert parse_status('{"message_type":"summary","total_files":6}') is None
    assert parse_status('{"message_type":"status", broken') is None
    assert parse_status("restoring <Snapshot 980fe651 ...> to /tmp/t") is None


def test_status_lines_are_read_as_restic_writes_them(tmp_path):
    out = tmp_path / "restic.out"
    out.write_text("")
    seen: list[tuple[float, dict]] = []

    async def run():
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def restic():   # writes a line at a time, half lines too, as a pipe delivers them
            with open(out, "a") as handle:
                for i in range(3):
                    line = json.dumps(status(files_restored=i))
                    handle.write(line[:10])
                    handle.flush()
                    time.sleep(0.3)
                    handle.write(line[10:] + "\n" + '{"message_type":"verbose_status"}\n')
                    handle.flush()
                    time.sleep(0.5)
                handle.write('{"message_type":"summary"}\n')
            loop.call_soon_threadsafe(done.set_result, None)
        threading.Thread(target=restic).start()
        started = time.monotonic()
        await watch_status(str(out), done, lambda s: seen.append((time.monotonic() - started,
                                                                  s)))
    asyncio.run(run())
    assert [s["files_restored"] for _, s in seen] == [0, 1, 2]
    assert seen[0][0] < 1.5   # while restic ran, not after it ended


def test_restic_runs_hand_their_status_lines_to_the_caller(tmp_path):
    lab = ResticLab(tmp_path / "lab").create(small_files=2, large_files=0)
    data = yaml.safe_load(lab.backups_yaml("clerk"))[0]
    # restic 0.14 (Debian's) prints no JSON status for restore: a stand-in prints what 0.17+
    # does, slowly, and says what RESTIC_PROGRESS_FPS it was given.
    fake = tmp_path / "restic-0.17"
    lines = "\n".join(f"echo '{json.dumps(status(files_restored=i))}'; sleep 0.4"
                      for i in range(3))
    fake.write_text(f"#!/bin/sh\necho \"fps=$RESTIC_PROGRESS_FPS\" >&2\n{lines}\n"
                    "echo '{\"message_type\":\"summary\"}'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    backup = BackupParams(**(data | {"restic_command": str(fake)}))
    seen: list[dict] = []

    async def run():
        restic = Restic(backup, tmp_path / "work")
        return await restic.run(["restore", "latest", "--json"], on_status=seen.append), \
            await restic.run(["restore", "latest", "--json"])
    watched, quiet = asyncio.run(run())
    assert [s["files_restored"] for s in seen] == [0, 1, 2]
    assert "fps=1" in watched.stderr          # someone watches: a status line a second
    assert "fps=0.2" in quiet.stderr          # the daemon: as before
    assert Path(tmp_path / "work").is_dir()
