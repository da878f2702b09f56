"""``printer``: every marker supply's level and the printer's error state.

Levels: warn 20 % / critical 10 % of capacity (Checkmk's printer_supply defaults); a waste
container is judged by the room left, which is what RFC 3805 says its level is. RFC 3805's
"some remaining" (-3) is OK with a note by default: Konica Minolta, UTAX, Fujifilm and
Brother report nothing else for their toners, so Checkmk's WARNING keeps them in WARNING for
good (``some_remaining_state: warning`` restores it). "unknown"/"other" (-2/-1) are OK with no
percentage. Errors from hrPrinterDetectedErrorState: paper jam, no paper, no toner, door open,
offline... are CRITICAL; low paper/toner, service requested, near-full output are WARNING.

What the agent did not answer is UNKNOWN, never "fine": a supply without its level or
capacity, a level that is not a number, and a printer that reports neither a supply level nor
its error state."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import printer as prt
from muni_watchdog.checks.snmp.common import fetch, low
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

NEED = Need.of(prt.SCALARS, prt.TABLES)


class PrinterParams(CheckParams):
    check: Literal["printer"] = "printer"
    supply_warn_percent: float = Field(20, ge=0, le=100, description="Warn at or below this "
                                       "% left (Checkmk's default).")
    supply_crit_percent: float = Field(10, ge=0, le=100, description="Critical at or below "
                                       "this % left (Checkmk's default).")
    some_remaining_state: Literal["ok", "warning"] = Field(
        "ok", description="State of a supply that reports only 'some remaining' (-3). OK "
        "with a note by default: several makers (Konica Minolta, UTAX, Fujifilm, Brother) "
        "report nothing else, and Checkmk's WARNING keeps them in WARNING for good.")
    ignore_kinds: list[str] = Field(default_factory=list, description="Supply kinds not to "
                                    "judge, e.g. [staples, fuser].")


class PrinterCheck:
    type = "printer"
    Params = PrinterParams

    async def collect(self, target: TargetInfo, params: PrinterParams) -> Poll:
        return await fetch(target, NEED)

    def evaluate(self, raw: Poll, params: PrinterParams, ctx: CheckContext) -> Evaluation:
        return evaluate_printer(raw.values, params, ctx)


def _name(supply: dict) -> str:
    kind = supply["kind"].replace("_", " ")
    descr = supply["descr"]
    if supply["color"] and supply["color"] not in descr.lower():
        return f"{supply['color']} {descr or kind}"
    return descr or kind


def evaluate_printer(values, params: PrinterParams, ctx: CheckContext) -> Evaluation:
    supplies = prt.parse_supplies(values, params.supply_warn_percent)
    status = prt.parse_printer_status(values)
    if not supplies and status is None:
        return Evaluation(Outcome.unknown("the device has no Printer-MIB supplies and no "
                                          "printer status"), ctx.memory)
    results: list[Result] = []
    metrics: list[Metric] = []
    judged = 0
    if status is not None:
        for error in status["critical"]:
            results.append(Result(State.CRITICAL, error))
        for error in status["warning"]:
            results.append(Result(State.WARNING, error))
        results.append(Result(State.OK, f"printer {status['status']}"))
        judged += status["errors_answered"]
    for supply in supplies:
        if supply["kind"] in params.ignore_kinds:
            continue
        name = _name(supply)
        if supply.get("_missing"):
            results.append(Result(State.UNKNOWN, f"{name}: {', '.join(supply['_missing'])}"))
            continue
        left = prt.space_left_percent(supply)
        if supply["state"] == "some_remaining":
            results.append(Result(State.parse(params.some_remaining_state),
                                  f"{name}: some remaining (no level reported)"))
            continue
        if left is None:
            results.append(Result(State.OK, f"{name}: level unknown"))
            continue
        judged += 1
        what = "room left" if supply.get("_waste") else "left"
        text = f"{name}: {left:.0f} % {what}"
        if supply.get("_over_capacity"):
            text += " (reported above its capacity; shown as 100 %)"
        results.append(low(left, params.supply_warn_percent, params.supply_crit_percent, text))
        metrics.append(Metric(f"supply_{supply['index']}", left, "%",
                              params.supply_warn_percent, params.supply_crit_percent, 0, 100))
    if status is not None and not status["errors_answered"]:
        results.append(Result(State.OK if judged else State.UNKNOWN,
                              "the printer does not report its error state "
                              "(hrPrinterDetectedErrorState not answered)"))
    elif not supplies:
        results.append(Result(State.OK, "no marker supplies listed"))
    items = [prt.public(s) for s in supplies]
    return Evaluation(Outcome.of(results, metrics, items))
