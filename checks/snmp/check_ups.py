"""``ups``: on battery is CRITICAL at once (no soft retries); bypass, battery, runtime, load.

What feeds the load (RFC 1628 upsOutputSource and the vendors' equivalents):

* battery: CRITICAL at once;
* bypass: WARNING, whatever the alarm table says (as LibreNMS): the load runs on raw mains,
  unprotected, and a power cut drops it;
* off (RFC 1628 none(2), APC off/sleeping): CRITICAL, the load has no power; WARNING when
  the alarm table says the output was switched off on request;
* boost/trim (booster(6)/reducer(7), APC SmartBoost/SmartTrim): OK with a note. LibreNMS
  makes these CRITICAL, but the load is protected and the battery untouched: a
  line-interactive UPS does this in every brown-out. ``input_voltage_min``/``_max`` judge
  the mains if you want that;
* eco / high-efficiency, a self-test on battery, RFC 1628 other(1): OK with a note;
* not answered: UNKNOWN. So is a UPS that reports neither its battery status nor its charge.

Defaults are ours, documented: charge warn 50 % / crit 25 %, runtime warn 10 / crit 5
minutes, output load warn 80 % (APC's sizing advice) / crit 90 %, battery temperature warn
40 / crit 50 °C. Input voltage has no default levels (230 V and 120 V sites differ)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import ups as upsmod
from muni_watchdog.checks.snmp.common import fetch, high, low
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

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


OUTPUT_NOTES = {"boost": "boosting a low input voltage (AVR)",
                "trim": "trimming a high input voltage (AVR)",
                "eco": "in eco / high-efficiency mode", "test": "self-test on battery",
                "other": "output source 'other' reported", "normal": "on mains power"}
SOURCES = {"rfc1628": "upsOutputSource", "apc": "upsBasicOutputStatus",
           "cyberpower": "upsBaseOutputStatus", "eaton": "xupsOutputSource",
           "mge": "upsmgOutputOnBattery", "liebert": "lgpPwrStateUpsOutputSource"}


def evaluate_ups(values, params: UpsParams, ctx: CheckContext) -> Evaluation:
    ups = upsmod.parse_ups(values)
    if ups is None:
        return Evaluation(Outcome.unknown("no UPS MIB answered (RFC 1628, APC PowerNet, "
                                          "CyberPower, Eaton XUPS, MGE, Liebert)"), ctx.memory)
    results = _output_results(ups)
    metrics: list[Metric] = []
    on_battery = ups["_output"] == "battery"
    status = ups["battery_status"]
    if status in ("low", "depleted", "fault", "missing"):
        results.append(Result(State.CRITICAL, f"battery {status}"))
    if ups.get("_replace_battery"):
        results.append(Result(State.WARNING, "replace the battery"))
    for alarm in ups.get("_alarms") or []:
        if alarm not in ("on battery", "low battery", "battery depleted", "on bypass",
                         "battery bad (replace battery)", "test in progress",
                         "output off as requested", "UPS off as requested"):
            results.append(Result(State.WARNING, f"UPS alarm: {alarm}"))
    if status == "unknown" and ups["charge_percent"] is None:
        results.append(Result(State.UNKNOWN, "the UPS reports neither its battery status "
                              "nor its charge"))
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
    missing = [name for name, key in (("runtime", "runtime_minutes"),
                                      ("load", "output_load_percent"),
                                      ("input voltage", "input_voltage"))
               if ups[key] is None]
    if missing:
        results.append(Result(State.OK, "not reported: " + ", ".join(missing)))
    return Evaluation(Outcome.of(results, metrics, [upsmod.public(ups)], immediate=on_battery))


def _output_results(ups: dict) -> list[Result]:
    """What feeds the load, judged (see the module docstring)."""
    output = ups["_output"]
    alarms = ups.get("_alarms") or []
    if output is None:
        return [Result(State.UNKNOWN, "the UPS does not say what feeds its output "
                       f"({SOURCES[ups['source']]} not answered): on battery or not is "
                       "unknown")]
    if output == "battery":
        seconds = ups.get("_seconds_on_battery")
        since = f" for {seconds // 60} min {seconds % 60} s" if seconds else ""
        return [Result(State.CRITICAL, f"ON BATTERY{since}: mains power lost")]
    if output == "bypass":
        return [Result(State.WARNING, "ON BYPASS: the load runs on raw mains, unprotected "
                       "by the UPS")]
    if output == "off":
        requested = any(a in alarms for a in ("output off as requested",
                                              "UPS off as requested"))
        return [Result(State.WARNING if requested else State.CRITICAL,
                       "UPS OUTPUT OFF: the load has no power"
                       + (" (switched off on request)" if requested else ""))]
    if output == "invalid":
        return [Result(State.UNKNOWN, f"the UPS answered a {SOURCES[ups['source']]} value its "
                       "MIB does not define: on battery or not is unknown")]
    if output == "overload":
        return [Result(State.WARNING, "output overload")]
    return [Result(State.OK, OUTPUT_NOTES[output])]
