"""What every ``ssh`` check shares: getting the session, running a framed script, and turning
a changed host key into a CRITICAL security event."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, CollectError, Evaluation, TargetInfo
from muni_watchdog.checks.ssh.connection import (
    CommandResult,
    HostKeyChanged,
    SshConnection,
    SshSession,
    posix_wrap,
    powershell_wrap,
)
from muni_watchdog.checks.ssh.sections import CUT, Section, parse_sections, sections_script
from muni_watchdog.core.durations import humanize
from muni_watchdog.core.model import CheckContext, Outcome, Result, State
from muni_watchdog.core.types import Timeout

ABSENT = 200  # section exit status meaning "this tool is not installed here"
NOT_FOUND, NOT_EXECUTABLE = 127, 126  # what sh itself returns for a command it cannot run


class SshCheckParams(CheckParams):
    timeout: Timeout = Field(30.0, description="Longest the remote commands may take "
                              "(bounded also by the target's command_timeout).")


@dataclass(frozen=True)
class HostKeyAlarm:
    """Collected instead of data when the host key changed: nothing was run."""

    message: str


@dataclass(frozen=True)
class RemoteData:
    sections: dict[str, Section]
    os: str
    internet_facing: bool
    # Local clock before and after the command: the remote clock is compared with the middle.
    sent_at: float = 0.0
    received_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def session_of(target: TargetInfo):
    """The target's shared session, or a one-off one (tests, tools) closed afterwards."""
    if isinstance(target.session, SshSession):
        yield target.session
        return
    if not isinstance(target.connection, SshConnection):
        raise CollectError(f"target {target.id} has no ssh: settings")
    session = SshSession.for_target(target)
    try:
        yield session
    finally:
        await session.close()


def command_timeout(target: TargetInfo, params: CheckParams) -> float:
    conn = target.connection
    limit = conn.command_timeout if isinstance(conn, SshConnection) else params.timeout
    return min(limit, params.timeout)


async def run_sections(target: TargetInfo, params: CheckParams, parts: list[tuple[str, str]],
                       need_os: str | None = "linux") -> RemoteData | HostKeyAlarm:
    """Run a framed POSIX script on a Linux target (or ``need_os=None`` to skip the check)."""
    timeout = command_timeout(target, params)
    try:
        async with session_of(target) as session:
            os_name = await session.detect_os(timeout)
            if need_os and os_name != need_os:
                raise CollectError(f"check {params.check_name} needs a {need_os} target; "
                                   f"{target.id} is {os_name}")
            sent = time.time()
            result = await session.run(posix_wrap(sections_script(parts), timeout + 2), timeout)
            received = time.time()
    except HostKeyChanged as exc:
        return HostKeyAlarm(str(exc))
    _raise_for_wrapper(result, timeout)
    conn = target.connection
    return RemoteData(parse_sections(result.stdout, result.stderr), os_name,
                      bool(getattr(conn, "internet_facing", False)), sent, received)


async def run_powershell(target: TargetInfo, params: CheckParams, script: str
                         ) -> CommandResult | HostKeyAlarm:
    timeout = command_timeout(target, params)
    try:
        async with session_of(target) as session:
            return await session.run(powershell_wrap(script), timeout)
    except HostKeyChanged as exc:
        return HostKeyAlarm(str(exc))


ARGV_MARK = "<<<muniwd:argv>>>"


async def run_argv(target: TargetInfo, params: CheckParams, argv: list[str]
                   ) -> CommandResult | HostKeyAlarm:
    """Run ``argv`` (every word quoted, passed to ``exec "$@"``, never parsed by a shell).
    The returned stderr is the command's own: what sshd or a login script wrote before it
    started is cut off at a marker."""
    from muni_watchdog.checks.ssh.connection import shell_command
    timeout = command_timeout(target, params)
    command = shell_command(["env", "LC_ALL=C", "LANG=C", "timeout", "-k", "5",
                             str(int(timeout) + 2), "sh", "-c",
                             f"echo '{ARGV_MARK}' >&2; exec \"$@\"", "sh", *argv])
    try:
        async with session_of(target) as session:
            if await session.detect_os(timeout) != "linux":
                raise CollectError("check command runs plugins on Linux targets only")
            result = await session.run(command, timeout)
    except HostKeyChanged as exc:
        return HostKeyAlarm(str(exc))
    _before, mark, after = result.stderr.partition(ARGV_MARK + "\n")
    return replace(result, stderr=after) if mark else result


def _raise_for_wrapper(result: CommandResult, timeout: float) -> None:
    if result.exit_status == 124:
        raise CollectError(f"remote commands did not finish within {timeout:g}s")
    if result.exit_status in (126, 127):
        raise CollectError(f"cannot run sh/timeout/env on the target: {result.stderr.strip()}")
    if result.exit_status > 128:  # the script ends with an echo: it was killed midway
        raise CollectError(f"the remote commands were {exit_reason(result.exit_status)}")


def alarm(raw: HostKeyAlarm, ctx: CheckContext) -> Evaluation:
    """A changed host key pages at once; what the check remembered is kept untouched."""
    return Evaluation(Outcome.of([Result(State.CRITICAL, raw.message)], immediate=True,
                                 items=[{"kind": "security_event", "event": "host_key_changed",
                                         "message": raw.message}]), dict(ctx.memory))


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")[:300]


def exit_reason(rc: int) -> str:
    """What an exit status says, in words (sh conventions)."""
    if rc in (NOT_FOUND, ABSENT):
        return "not found on the target"
    if rc == NOT_EXECUTABLE:
        return "cannot be run (not executable or permission denied)"
    if 128 < rc < 128 + 65:
        try:
            return f"killed by {signal.Signals(rc - 128).name}"
        except ValueError:
            return f"killed by signal {rc - 128}"
    return f"exit {rc}"


def stderr_errors(found: Section, harmless: Sequence[str] = ()) -> list[str]:
    """The section's stderr lines, less those matching a ``harmless`` pattern (a tool's own
    warning convention, e.g. apt's ``W:``)."""
    return [ln.strip() for ln in found.stderr.splitlines()
            if ln.strip() and not any(re.match(p, ln.strip()) for p in harmless)]


def section_problem(raw: RemoteData, name: str, command: str, ok: Collection[int] = (0,), *,
                    allow_empty: bool = False, harmless: Sequence[str] = (),
                    check_stderr: bool = True) -> str | None:
    """Why the section cannot be trusted, or None when ``command`` ran to completion, exited
    with a status in ``ok``, wrote nothing to stderr (lines matching ``harmless`` aside) and
    printed something (unless ``allow_empty``). The reason names the command."""
    found = raw.sections.get(name)
    if found is None:
        return f"{command}: no output at all (the remote script was cut short)"
    if found.rc == CUT:
        return f"{command}: output cut short (the remote script was interrupted)"
    errors = stderr_errors(found, harmless)
    if found.rc not in ok:
        said = errors[0] if errors else _first_line(found.text)
        return f"{command}: {exit_reason(found.rc)}" + (f": {said}" if said else "")
    if errors and check_stderr:
        return f"{command} reported an error: {errors[0]}"
    if not allow_empty and not found.text.strip():
        return f"{command} printed nothing"
    return None


def read_section(raw: RemoteData, name: str, command: str, ok: Collection[int] = (0,), *,
                 allow_empty: bool = False, harmless: Sequence[str] = (),
                 check_stderr: bool = True) -> Section:
    """The section when it can be trusted (see :func:`section_problem`); CollectError — an
    UNKNOWN with the reason — otherwise."""
    problem = section_problem(raw, name, command, ok, allow_empty=allow_empty,
                              harmless=harmless, check_stderr=check_stderr)
    if problem:
        raise CollectError(problem)
    return raw.sections[name]


def days(seconds: float) -> str:
    """A duration in plain words: '3 hours 5 minutes', '4 days 2 hours'."""
    return humanize(seconds)


def gib(n_bytes: float) -> str:
    if n_bytes >= 1024 ** 3:
        return f"{n_bytes / 1024 ** 3:.1f} GiB"
    return f"{n_bytes / 1024 ** 2:.0f} MiB"
