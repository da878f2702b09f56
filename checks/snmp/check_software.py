"""``software``: the software a host lists in HOST-RESOURCES-MIB, for the inventory.

Installed software changes rarely and a server lists hundreds of packages, so this is its own
check with a long default interval rather than part of ``system``'s every-minute poll; when it
runs together with the target's other checks it still shares their one poll. OK when the list
was read: the inventory, not an alert, is the point. UNKNOWN when there is nothing to read
(no hrSWInstalledTable) or the agent left out the names of the rows it lists: an empty
inventory must not look like a host with nothing installed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import software
from muni_watchdog.checks.snmp.common import fetch
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.checks.snmp.values import Snapshot
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State
from muni_watchdog.core.types import Interval, Timeout

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
    unnamed = software.unnamed_rows(values)
    if total == 0:
        why = (f"the agent lists {unnamed} installed packages without their names "
               "(hrSWInstalledName not answered)" if unnamed else
               "no installed software listed (no HOST-RESOURCES hrSWInstalledTable)")
        return Evaluation(Outcome.unknown(why))
    summary = f"{total} installed packages"
    if total > len(items):
        summary += f" (only the first {len(items)} by name are kept)"
    results = [Result(State.OK, summary)]
    if unnamed:
        results.append(Result(State.UNKNOWN, f"{unnamed} more listed without a name "
                              "(hrSWInstalledName not answered)"))
    return Evaluation(Outcome.of(results,
                                 [Metric("installed_software", total, min=0)], items))
