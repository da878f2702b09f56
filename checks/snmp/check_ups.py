"""``ups``: on battery is CRITICAL at once (no soft retries); battery, runtime, load, input.

Defaults are ours, documented: charge warn 50 % / crit 25 %, runtime warn 10 / crit 5
minutes, output load warn 80 % (APC's sizing advice) / crit 90 %, battery temperature warn
40 / crit 50 °C. Input voltage has no default levels (230 V and 120 V sites differ)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from checks.base import CheckParams, Evaluation, TargetInfo
from checks.snmp import ups as upsmod
from checks.snmp.common import fetch, high, low
from checks.snmp.session import Need, Poll
from watchdog.model import CheckContext, Metric, Outcome, Result, State

NEED = Need.of(upsmod.SCALARS, upsmod.TABLES)


class UpsParams(CheckParams):
    check: Literal["ups"] = "ups"
    charge_warn_percent: float | None = Field(50, description="Battery charge warning.")
    charge_crit_percent: float | None = Field(25, description="Battery charge critical.")
    runtime_warn_minutes: float | None = Field(10, description="Runtime left warning.")
    runtime_crit_minutes: float | None = Field(5, description="Runtime left critical.")
    load_warn_percent: float | None = Field(80, description="Output load warning.")
    load_crit_percent: float | None = Field(90, description="Output load critical.")
    temperature_warn_c: float | None = Field(40, description="Battery temperature warning.")
    temperature_crit_c: float | None = Field(50, description="Battery temperature critical.")
    input_voltage_min: float | None = Field(None, description="Warn below this input voltage.")
    input_voltage_max: float | None = Field(None, description="Warn above this input voltage.")


class UpsCheck:
    type = "ups"
    Params = UpsParams

    async def collect(self, target: TargetInfo, params: UpsParams) -> Poll:
        return await fetch(target, NEED)

    def evaluate(self, raw: Poll, params: UpsParams, ctx: CheckContext) -> Evaluation:
        return evaluate_ups(raw.values, params, ctx)


def evaluate_ups(values, params: UpsParams, ctx: CheckContext) -> Evaluation:
    ups = upsmod.parse_ups(values)
    if ups is None:
        return Evaluation(Outcome.unknown("no UPS MIB answered (RFC 1628, APC PowerNet, "
                                          "CyberPower, Eaton XUPS, MGE)"), ctx.memory)
    results: list[Result] = []
    metrics: list[Metric] = []
    on_battery = ups["on_battery"] is True
    if on_battery:
        seconds = ups.get("_seconds_on_battery")
        since = f" for {seconds // 60} min {seconds % 60} s" if seconds else ""
        results.append(Result(State.CRITICAL, f"ON BATTERY{since}: mains power lost"))
    elif ups["on_battery"] is False:
        results.append(Result(State.OK, "on mains power"))
    status = ups["battery_status"]
    if status in ("low", "depleted"):
        results.append(Result(State.CRITICAL, f"battery {status}"))
    if ups.get("_replace_battery"):
        results.append(Result(State.WARNING, "replace the battery"))
    for alarm in ups.get("_alarms") or []:
        if alarm not in ("on battery", "low battery", "battery depleted",
                         "battery bad (replace battery)", "test in progress"):
            results.append(Result(State.WARNING, f"UPS alarm: {alarm}"))
    if ups["charge_percent"] is not None:
        results.append(low(ups["charge_percent"], params.charge_warn_percent,
                           params.charge_crit_percent, f"charge {ups['charge_percent']:.0f} %"))
        metrics.append(Metric("charge", ups["charge_percent"], "%", params.charge_warn_percent,
                              params.charge_crit_percent, 0, 100))
    if ups["runtime_minutes"] is not None:
        results.append(low(ups["runtime_minutes"], params.runtime_warn_minutes,
                           params.runtime_crit_minutes,
                           f"runtime {ups['runtime_minutes']:.0f} min"))
        metrics.append(Metric("runtime", ups["runtime_minutes"], "min",
                              params.runtime_warn_minutes, params.runtime_crit_minutes, 0))
    if ups["output_load_percent"] is not None:
        results.append(high(ups["output_load_percent"], params.load_warn_percent,
                            params.load_crit_percent,
                            f"load {ups['output_load_percent']:.0f} %"))
        metrics.append(Metric("load", ups["output_load_percent"], "%", params.load_warn_percent,
                              params.load_crit_percent, 0, 100))
    if ups["temperature_c"] is not None:
        results.append(high(ups["temperature_c"], params.temperature_warn_c,
                            params.temperature_crit_c, f"battery {ups['temperature_c']:g} °C"))
    voltage = ups["input_voltage"]
    if voltage is not None:
        metrics.append(Metric("input_voltage", voltage, "V"))
        if (params.input_voltage_min is not None and voltage < params.input_voltage_min) or (
                params.input_voltage_max is not None and voltage > params.input_voltage_max):
            results.append(Result(State.WARNING, f"input {voltage:g} V out of range"))
        elif not on_battery:
            results.append(Result(State.OK, f"input {voltage:g} V"))
    return Evaluation(Outcome.of(results, metrics, [upsmod.public(ups)], immediate=on_battery))
