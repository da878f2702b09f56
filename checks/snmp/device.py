"""``device``: detect the device class at run time and run that class's check profile.

A target that lists no checks gets ``system`` + ``device``. The class is detected from what
the device answers (sysObjectID, sysDescr, the MIBs that answer) unless ``device_class`` is set; each
profile's checks run with their default parameters, in one poll. To tune thresholds, list the
checks explicitly instead (``checks: [{check: system}, {check: printer, ...}]``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from checks.base import CheckParams, Evaluation, TargetInfo
from checks.snmp import check_interfaces, check_printer, check_storage, check_ups
from checks.snmp import system as sysmod
from checks.snmp.check_system import SYSTEM_NEED
from checks.snmp.common import session_of
from checks.snmp.session import Need, Poll
from watchdog.model import CheckContext, Outcome, Result, State

SUB_CHECKS: dict[str, tuple[Any, type[CheckParams], Need, str | None]] = {
    # name: (evaluate function, params model, what it needs, probe that must answer)
    "interfaces": (check_interfaces.evaluate_interfaces, check_interfaces.InterfacesParams,
                   check_interfaces.NEED, "interfaces"),
    "storage": (check_storage.evaluate_storage, check_storage.StorageParams,
                check_storage.NEED, "storage"),
    "printer": (check_printer.evaluate_printer, check_printer.PrinterParams,
                check_printer.NEED, "printer"),
    "ups": (check_ups.evaluate_ups, check_ups.UpsParams, check_ups.NEED, None),
}
PROFILES: dict[str, tuple[str, ...]] = {
    "printer": ("printer",),
    "ups": ("ups",),
    "network": ("interfaces",),
    "wireless": ("interfaces",),
    "firewall": ("interfaces",),
    "server": ("storage", "interfaces"),
    "storage": ("storage", "interfaces"),
    "unknown": ("interfaces",),
}
DeviceClass = Literal["auto", "printer", "ups", "network", "server", "storage", "wireless",
                      "firewall", "unknown"]


class DeviceParams(CheckParams):
    check: Literal["device"] = "device"
    device_class: DeviceClass = Field(
        "auto", description="The class whose profile runs: printer → printer; ups → ups; "
        "network, wireless, firewall, unknown → interfaces; server, storage → storage + "
        "interfaces. auto detects it from sysObjectID, sysDescr and the MIBs that answer.")


@dataclass(frozen=True)
class DeviceRaw:
    device_class: str
    poll: Poll


class DeviceCheck:
    type = "device"
    Params = DeviceParams

    async def collect(self, target: TargetInfo, params: DeviceParams) -> DeviceRaw:
        session = session_of(target)
        first = await session.fetch(SYSTEM_NEED)
        device_class = params.device_class
        if device_class == "auto":
            device_class = sysmod.classify(first.values, first.answering)
        need = Need()
        for name in PROFILES[device_class]:
            need = need | SUB_CHECKS[name][2]
        return DeviceRaw(device_class, await session.fetch(need | SYSTEM_NEED))

    def evaluate(self, raw: DeviceRaw, params: DeviceParams, ctx: CheckContext) -> Evaluation:
        results: list[Result] = [Result(State.OK, f"{raw.device_class} profile")]
        metrics, items, memory, immediate = [], [], {}, False
        for name in PROFILES[raw.device_class]:
            evaluate, model, _, probe = SUB_CHECKS[name]
            if probe is not None and probe not in raw.poll.answering:
                continue  # the profile's MIB is not there: nothing to judge
            sub_ctx = CheckContext(ctx.now, ctx.memory.get(name) or {})
            evaluation = evaluate(raw.poll.values, model(check=name), sub_ctx)
            outcome = evaluation.outcome
            results.extend(outcome.results)
            metrics.extend(outcome.metrics)
            items.extend(outcome.items)
            immediate = immediate or outcome.immediate
            memory[name] = dict(evaluation.memory)
        return Evaluation(Outcome.of(results, metrics, items, immediate), memory)
