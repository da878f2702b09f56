"""``command``: run any monitoring-plugins compatible plugin on the target (check_procs,
check_mailq, a town's own script): exit 0/1/2/3 → state, first line → summary, perfdata →
metrics. The command is an argument list; every word is quoted before it reaches the shell."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from checks.base import CollectError, Evaluation, TargetInfo
from checks.ssh.common import HostKeyAlarm, SshCheckParams, alarm, run_argv
from checks.ssh.connection import CommandResult
from checks.ssh.plugin import parse_plugin_output
from watchdog.model import CheckContext, Outcome, Result, State


class CommandParams(SshCheckParams):
    check: Literal["command"] = "command"
    command: list[str] = Field(..., min_length=1, description="The plugin and its arguments, "
                               "one list item per word (never one shell string).",
                               examples=[["/usr/lib/nagios/plugins/check_procs", "-w", "250",
                                          "-c", "400"]])


class CommandCheck:
    """Any monitoring-plugins compatible plugin on the target: exit 0/1/2/3 is the state,
    the first line the summary, perfdata the metrics."""

    type = "command"
    Params = CommandParams

    async def collect(self, target: TargetInfo, params: CommandParams):
        return await run_argv(target, params, params.command)

    def evaluate(self, raw: CommandResult | HostKeyAlarm, params: CommandParams,
                 ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        if raw.exit_status == 124:
            raise CollectError(f"{params.command[0]} did not finish within {params.timeout:g}s")
        if raw.exit_status in (126, 127):
            raise CollectError(f"cannot run {params.command[0]} on the target "
                               f"(exit {raw.exit_status}): {raw.stderr.strip()[:200]}")
        output = parse_plugin_output(raw.stdout)
        if raw.exit_status in (0, 1, 2, 3):
            state = State(raw.exit_status)
            summary = output.summary
        else:
            state = State.UNKNOWN
            summary = f"exit {raw.exit_status} (plugins exit 0-3): {output.summary}"
        result = Result(state, summary, output.long_text)
        return Evaluation(Outcome.of([result], output.metrics,
                                     [{"kind": "plugin", "command": params.command,
                                       "exit_status": raw.exit_status,
                                       "seconds": round(raw.seconds, 3)}]))
