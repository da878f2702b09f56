"""``software``: the software a host lists in HOST-RESOURCES-MIB, for the inventory.

Installed software changes rarely and a server lists hundreds of packages, so this is its own
check with a long default interval rather than part of ``system``'s every-minute poll; when it
runs together with the target's other checks it still shares their one poll. Always OK: the
inventory, not an alert, is the point (a host without the table says so)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from checks.base import CheckParams, Evaluation, TargetInfo
from checks.snmp import software
from checks.snmp.common import fetch
from checks.snmp.session import Need, Poll
from checks.snmp.values import Snapshot
from watchdog.model import CheckContext, Metric, Outcome, Result, State
from watchdog.types import Interval, Timeout

NEED = Need.of((), software.TABLES)


class SoftwareParams(CheckParams):
    check: Literal["software"] = "software"
    interval: Interval | None = Field(
        21600, description="How often to read the installed software (it changes rarely; a "
        "server lists hundreds of packages).")
    timeout: Timeout = Field(60.0, description="Longest a single run may take (then UNKNOWN).")
    max_items: int = Field(
        software.MAX_SOFTWARE, ge=1, le=software.MAX_SOFTWARE,
        description="Keep at most this many packages (sorted by name) in the state database.")


class SoftwareCheck:
    type = "software"
    Params = SoftwareParams

    async def collect(self, target: TargetInfo, params: SoftwareParams) -> Poll:
        return await fetch(target, NEED)

    def evaluate(self, raw: Poll, params: SoftwareParams, ctx: CheckContext) -> Evaluation:
        return evaluate_software(raw.values, params)


def evaluate_software(values: Snapshot, params: SoftwareParams) -> Evaluation:
    items, total = software.parse_software(values, params.max_items)
    if total == 0:
        return Evaluation(Outcome.of([Result(State.OK, "no installed software listed "
                                             "(no HOST-RESOURCES hrSWInstalledTable)")]))
    summary = f"{total} installed packages"
    if total > len(items):
        summary += f" (only the first {len(items)} by name are kept)"
    return Evaluation(Outcome.of([Result(State.OK, summary)],
                                 [Metric("installed_software", total, min=0)], items))
