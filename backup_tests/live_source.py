"""The live ``source`` on another machine: size, times and SHA-256 computed there, over SSH.

``backup_tests`` never imports the SSH code (checks/): the wiring (daemon, CLI) hands
:func:`~backup_tests.drill.run_restore_test` a :class:`RemoteSourceReader` built on a
``run(command, timeout)`` coroutine of the target's session. Everything here that is not that
call is pure: the command is built from fixed scripts and every path is a quoted argument, so
no configuration value ever reaches the remote shell unquoted.

The remote side needs GNU coreutils and findutils (``stat --printf``, ``sha256sum -z``,
``find -newermt``, ``shuf -z``): any Debian, Ubuntu, RHEL or SUSE file server.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

# Paths per command: keeps the command line far below ARG_MAX and the output below the
# session's output cap (about 200 bytes per file).
BATCH = 400
WALK_LIMIT = 200_000  # bound on live files the missing-from-backup sample looks at

# $1 = snapshot time (epoch seconds); then the absolute paths. Stat every path; hash only the
# files not modified (nor their inode changed) after the snapshot: a changed file is fine and
# hashing it would be wasted. An empty record separates the two parts.
_STAT_AND_HASH = (
    'ts=$1; shift; '
    "stat --printf '%s %.9Y %.9Z %n\\0' -- \"$@\" 2>/dev/null; printf '\\0'; "
    'find "$@" -maxdepth 0 -type f ! -newermt "@$ts" ! -newerct "@$ts" '
    '-exec sha256sum -z -- {} + 2>/dev/null; exit 0'
)
# $1 = snapshot time, $2 = the source directory, $3 = walk limit, $4 = sample size.
_OLD_FILES = (
    '[ -d "$2" ] && [ -r "$2" ] || { echo "$2: not a readable directory" >&2; exit 3; }; '
    'find "$2" -type f ! -newermt "@$1" ! -newerct "@$1" -printf \'%P\\0\' 2>/dev/null '
    '| head -z -n "$3" | shuf -z -n "$4"; exit 0'
)


class SourceUnavailable(RuntimeError):
    """The live source could not be read (no connection, refused, timed out)."""


@dataclass(frozen=True)
class LiveFile:
    """What the live copy of one file looks like now."""

    size: int
    mtime: float
    ctime: float
    sha256: str | None = None  # None: not hashed, because it changed after the snapshot


Runner = Callable[[str, float], Awaitable[tuple[int, str, str]]]
"""``run(command, timeout) -> (exit status, stdout, stderr)``; raises SourceUnavailable."""


def wrap(script: str, args: Sequence[str], timeout: float) -> str:
    """A fixed ``sh`` script with quoted arguments, C locale, killed remotely at the timeout."""
    seconds = str(max(1, int(timeout)))
    words = ["env", "LC_ALL=C", "LANG=C", "timeout", "-k", "5", seconds, "sh", "-c", script,
             "sh", *args]
    return " ".join(shlex.quote(word) for word in words)


def stat_and_hash_command(paths: Sequence[str], snapshot_ts: float, timeout: float) -> str:
    return wrap(_STAT_AND_HASH, [f"{snapshot_ts:.6f}", *paths], timeout)


def old_files_command(root: str, snapshot_ts: float, count: int, timeout: float) -> str:
    return wrap(_OLD_FILES, [f"{snapshot_ts:.6f}", root, str(WALK_LIMIT), str(count)], timeout)


def parse_stat_and_hash(output: str, asked: Sequence[str]) -> dict[str, LiveFile]:
    """The records of :data:`_STAT_AND_HASH`, keyed by the asked path; absent = no such file."""
    wanted = set(asked)
    records = output.split("\0")
    # the stat part ends with a NUL, then the separator: an empty record that is not the last
    split = records.index("") if "" in records else len(records)
    if split >= len(records) - 1:
        return {}  # cut short: nothing trustworthy
    stats: dict[str, LiveFile] = {}
    for record in records[:split]:
        fields = record.split(" ", 3)
        if len(fields) != 4 or fields[3] not in wanted:
            continue
        try:
            stats[fields[3]] = LiveFile(int(fields[0]), float(fields[1]), float(fields[2]))
        except ValueError:
            continue
    for record in records[split + 1:]:
        digest, sep, name = record.partition("  ")
        if sep and name in stats and len(digest) == 64:
            old = stats[name]
            stats[name] = LiveFile(old.size, old.mtime, old.ctime, digest.lower())
    return stats


class RemoteSourceReader:
    """The live source at ``root`` on an SSH target, read through ``run``."""

    def __init__(self, run: Runner, root: str, where: str):
        self._run = run
        self.root = root.rstrip("/") or "/"
        self.where = where  # for messages, e.g. "file-server:/srv/clerk"

    def absolute(self, relative: str) -> str:
        return f"{self.root}/{relative}" if self.root != "/" else f"/{relative}"

    async def stat_and_hash(self, relative_paths: Sequence[str], snapshot_ts: float,
                            timeout: float) -> dict[str, LiveFile]:
        """Live facts per relative path, one remote command per :data:`BATCH` paths."""
        facts: dict[str, LiveFile] = {}
        relative_paths = list(relative_paths)
        for start in range(0, len(relative_paths), BATCH):
            batch = relative_paths[start:start + BATCH]
            absolute = [self.absolute(p) for p in batch]
            status, out, err = await self._run(
                stat_and_hash_command(absolute, snapshot_ts, timeout), timeout)
            if status != 0:
                raise SourceUnavailable(f"reading {self.where} failed (exit {status}): "
                                        f"{err.strip()[-200:]}")
            found = parse_stat_and_hash(out, absolute)
            facts.update({rel: found[abs_] for rel, abs_ in zip(batch, absolute, strict=True)
                          if abs_ in found})
        return facts

    async def old_files(self, snapshot_ts: float, count: int, timeout: float) -> list[str]:
        """Up to ``count`` random relative paths of live files older than the snapshot."""
        status, out, err = await self._run(
            old_files_command(self.root, snapshot_ts, count, timeout), timeout)
        if status != 0:
            raise SourceUnavailable(f"listing {self.where} failed (exit {status}): "
                                    f"{err.strip()[-200:]}")
        return [name for name in out.split("\0")[:count] if name]
