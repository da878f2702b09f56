"""``command``: run any monitoring-plugins compatible plugin on the target (check_procs,
check_mailq, a town's own script): exit 0/1/2/3 → state, first line → summary, perfdata →
metrics. The command is an argument list; every word is quoted before it reaches the shell."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import CollectError, Evaluation, TargetInfo
from muni_watchdog.checks.ssh.common import (
    HostKeyAlarm,
    SshCheckParams,
    alarm,
    exit_reason,
    run_argv,
)
from muni_watchdog.checks.ssh.connection import CommandResult
from muni_watchdog.checks.ssh.plugin import parse_plugin_output
from muni_watchdog.core.model import CheckContext, Outcome, Result, State
from muni_watchdog.core.text import plain_text

log = logging.getLogger("muni-watchdog.ssh")


class CommandParams(SshCheckParams):
    check: Literal["command"] = "command"
    command: list[str] = Field(..., min_length=1, description="The plugin and its arguments, "
                               "one list item per word (never one shell string).",
                               examples=[["/usr/lib/nagios/plugins/check_procs", "-w", "250",
                                          "-c", "400"]])


class CommandCheck:
    """Any monitoring-plugins compatible plugin on the target: exit 0/1/2/3 is the state,
    the first line the summary, perfdata the metrics (strictly per the plugin guidelines).
    Any other exit, no output, or an exit 0 with an error on stderr is UNKNOWN."""

    type = "command"
    Params = CommandParams

    async def collect(self, target: TargetInfo, params: CommandParams):
        return await run_argv(target, params, params.command)

    def evaluate(self, raw: CommandResult | HostKeyAlarm, params: CommandParams,
                 ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        name = params.command[0]
        if raw.exit_status == 124:
            raise CollectError(f"{name} did not finish within {params.timeout:g}s")
        if raw.exit_status in (126, 127) or raw.exit_status > 128:
            raise CollectError(f"{name}: {exit_reason(raw.exit_status)}: "
                               f"{raw.stderr.strip()[:200]}".rstrip(": "))
        # A plugin's output is text for a person (the plugin API): colours and other
        # escapes go before it is parsed, so "\x1b[32mOK\x1b[0m - ... | load=0.5" reads.
        output = parse_plugin_output(plain_text(raw.stdout))
        for reason in output.dropped:
            log.warning("plugin %s: perfdata dropped: %s", name, reason)
        results = []
        if raw.exit_status in (0, 1, 2, 3):
            state = State(raw.exit_status)
            summary = output.summary or f"{name} printed nothing (exit {raw.exit_status})"
            if not output.summary:
                state = State.worst([state, State.UNKNOWN])
        else:
            state = State.UNKNOWN
            summary = f"exit {raw.exit_status} (plugins exit 0-3): " \
                f"{output.summary or '(no output)'}"
        results.append(Result(state, summary, output.long_text))
        stderr = plain_text(raw.stderr).strip()
        if stderr and raw.exit_status == 0:
            # A plugin that says OK but complains on stderr did not really check.
            results.append(Result(State.UNKNOWN, f"{name} wrote to stderr: "
                                  f"{stderr.splitlines()[0][:200]}"))
        item = {"kind": "plugin", "command": params.command, "exit_status": raw.exit_status,
                "seconds": round(raw.seconds, 3)}
        if output.dropped:
            item["perfdata_dropped"] = list(output.dropped[:20])
        if stderr:
            item["stderr"] = stderr[-500:]
        return Evaluation(Outcome.of(results, output.metrics, [item]))
