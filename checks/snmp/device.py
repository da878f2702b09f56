"""``device``: detect the device class at run time and run that class's check profile.

A target that lists no checks gets ``system`` + ``device``. The class is detected from what
the device answers (sysObjectID, sysDescr, the MIBs that answer) unless ``device_class`` is set; each
profile's checks run with their default parameters, in one poll. To tune thresholds, list the
checks explicitly instead (``checks: [{check: system}, {check: printer, ...}]``).

A profile check whose MIB does not answer is skipped; when none of the profile's checks could
run, the result is UNKNOWN with what was missing: a device check that judged nothing is not
OK."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import (
    check_interfaces,
    check_nas,
    check_printer,
    check_storage,
    check_ups,
)
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.check_system import SYSTEM_NEED
from muni_watchdog.checks.snmp.classes import NAS_PROBES
from muni_watchdog.checks.snmp.common import fetch_more, session_of
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.core.model import CheckContext, Outcome, Result, State


@dataclass(frozen=True)
class SubCheck:
    """A check a profile runs: how to judge a poll, what it needs (given the probes that
    answered) and the probes of which one must answer for it to run (empty: always runs)."""

    evaluate: Callable[[Poll, Any, CheckContext], Any]
    params: type[CheckParams]
    need: Callable[[set[str]], Need]
    probes: tuple[str, ...]
    mib: str


def _values(evaluate: Callable) -> Callable[[Poll, Any, CheckContext], Any]:
    return lambda poll, params, ctx: evaluate(poll.values, params, ctx)


SUB_CHECKS: dict[str, SubCheck] = {
    "interfaces": SubCheck(_values(check_interfaces.evaluate_interfaces),
                           check_interfaces.InterfacesParams, lambda _: check_interfaces.NEED,
                           ("interfaces",), "IF-MIB"),
    "storage": SubCheck(_values(check_storage.evaluate_storage), check_storage.StorageParams,
                        lambda _: check_storage.NEED, ("storage",), "HOST-RESOURCES-MIB"),
    "printer": SubCheck(_values(check_printer.evaluate_printer), check_printer.PrinterParams,
                        lambda _: check_printer.NEED, ("printer",), "Printer-MIB"),
    "ups": SubCheck(_values(check_ups.evaluate_ups), check_ups.UpsParams,
                    lambda _: check_ups.NEED, (), "UPS MIB"),
    "nas": SubCheck(lambda poll, params, ctx: check_nas.evaluate_nas(
                        poll.values, poll.answering, params, ctx),
                    check_nas.NasParams, check_nas.need_for, NAS_PROBES,
                    "NAS MIB (Synology, QNAP)"),
}
PROFILES: dict[str, tuple[str, ...]] = {
    "printer": ("printer",),
    "ups": ("ups",),
    "network": ("interfaces",),
    "wireless": ("interfaces",),
    "firewall": ("storage", "interfaces"),
    "server": ("storage", "interfaces"),
    "storage": ("nas", "storage", "interfaces"),
    "unknown": ("interfaces",),
}


@functools.cache
def _default_params(name: str) -> CheckParams:
    """A profile check's default parameters: built once, not a pydantic model per poll (they
    are only read)."""
    return SUB_CHECKS[name].params(check=name)


DeviceClass = Literal["auto", "printer", "ups", "network", "server", "storage", "wireless",
                      "firewall", "unknown"]


class DeviceParams(CheckParams):
    check: Literal["device"] = "device"
    device_class: DeviceClass = Field(
        "auto", description="The class whose profile runs: printer → printer; ups → ups; "
        "network, wireless, unknown → interfaces; server, firewall → storage + interfaces; "
        "storage (NAS) → nas + storage + interfaces. auto detects it from the MIBs that "
        "answer, sysObjectID and sysDescr.")


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
            need = need | SUB_CHECKS[name].need(first.answering)
        return DeviceRaw(device_class, await fetch_more(session, first, need | SYSTEM_NEED))

    def evaluate(self, raw: DeviceRaw, params: DeviceParams, ctx: CheckContext) -> Evaluation:
        results: list[Result] = [Result(State.OK, f"{raw.device_class} profile")]
        metrics, items, memory, immediate = [], [], {}, False
        skipped = []
        for name in PROFILES[raw.device_class]:
            sub = SUB_CHECKS[name]
            if sub.probes and not raw.poll.answering.intersection(sub.probes):
                skipped.append(sub.mib)  # the profile's MIB is not there: nothing to judge
                continue
            sub_ctx = CheckContext(ctx.now, ctx.memory.get(name) or {})
            evaluation = sub.evaluate(raw.poll, _default_params(name), sub_ctx)
            outcome = evaluation.outcome
            results.extend(outcome.results)
            metrics.extend(outcome.metrics)
            items.extend(outcome.items)
            immediate = immediate or outcome.immediate
            memory[name] = dict(evaluation.memory)
        if len(skipped) == len(PROFILES[raw.device_class]):
            results.append(Result(State.UNKNOWN, f"nothing to judge for a {raw.device_class}: "
                                  f"no {' or '.join(skipped)} answered"))
        return Evaluation(Outcome.of(results, metrics, items, immediate), memory)
