"""``system``: the device answers SNMP, its uptime, and reboots (not TimeTicks wraps).

Reachability: "host down" and "SNMP not answering" are CRITICAL here (as Checkmk's "Check_MK"
service and LibreNMS's device-down alert); wrong v3 credentials or an unreadable secret are
UNKNOWN (we cannot tell how the device is). The other SNMP checks report all of these as
UNKNOWN, so one unreachable device raises one critical alert, not one per check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.lifecycle import lifecycle_item, os_from_sysdescr
from muni_watchdog.checks.snmp import entity
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.client import SnmpError
from muni_watchdog.checks.snmp.common import fetch
from muni_watchdog.checks.snmp.rates import TIMETICKS_WRAP, uptime_advanced
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.checks.snmp.values import integer
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State
from muni_watchdog.core.types import Duration

SYSTEM_NEED = Need.of(sysmod.SCALARS, sysmod.TABLES, sysmod.PROBES)
UNREACHABLE = {"host_down", "no_agent", "no_answer"}


class SystemParams(CheckParams):
    check: Literal["system"] = "system"
    reboot_warning: Duration = Field(
        3600, description="Stay WARNING this long after a detected reboot, so that a reboot "
        "is confirmed (hard) and reported once even with soft retries.")
    unreachable_state: Literal["critical", "warning", "unknown"] = Field(
        "critical", description="State when the device does not answer SNMP (Checkmk's and "
        "LibreNMS's default: critical).")
    os_support_warning: bool = Field(
        True, description="Warn when the device's operating system (Windows, VMware ESXi, "
        "as its sysDescr says) is out of support or its support ends within 180 days.")
    extended_support: bool = Field(
        False, description="The town pays for extended support of this device's OS "
        "(Windows ESU): count it as supported.")


@dataclass(frozen=True)
class SystemRaw:
    poll: Poll | None = None
    error: SnmpError | None = None


class SystemCheck:
    type = "system"
    Params = SystemParams

    async def collect(self, target: TargetInfo, params: SystemParams) -> SystemRaw:
        try:
            return SystemRaw(await fetch(target, SYSTEM_NEED))
        except SnmpError as exc:
            return SystemRaw(error=exc)

    def evaluate(self, raw: SystemRaw, params: SystemParams, ctx: CheckContext) -> Evaluation:
        if raw.error is not None or raw.poll is None:
            error = raw.error or SnmpError("protocol", "no data")
            state = State.parse(params.unreachable_state) if error.reason in UNREACHABLE \
                else State.UNKNOWN
            return Evaluation(Outcome.of([Result(state, str(error))]), ctx.memory)
        return evaluate_system(raw.poll, params, ctx)


def evaluate_system(poll: Poll, params: SystemParams, ctx: CheckContext) -> Evaluation:
    values = poll.values
    system = sysmod.parse_system(values, poll.answering)
    chassis = entity.chassis(values)
    # ENTITY-MIB's extra facts (manufacture date, hardware revision) go in their own item:
    # the ``system`` item is the discover contract's object and keeps its keys.
    items = [system] if chassis is None else [system, {"kind": "chassis", **chassis}]
    ticks = integer(values.get(O.SYS_UPTIME))
    now = ctx.now.timestamp()
    memory: dict[str, Any] = {
        "ticks": ticks, "at": now, "boots": integer(values.get(O.SNMP_ENGINE_BOOTS)),
        "engine_time": integer(values.get(O.SNMP_ENGINE_TIME)),
        "hr_ticks": integer(values.get(O.HR_SYSTEM_UPTIME)),
        "last_reboot_at": ctx.memory.get("last_reboot_at")}
    results = [Result(State.OK, f"{system['device_class']} "
                      f"{system['model'] or system['name'] or system['descr'][:40]}".strip()
                      + " answers SNMP")]
    found_os = os_from_sysdescr(system.get("descr"), system.get("object_id"))
    if found_os is not None:
        # the OS's support end (issue 14): Windows and ESXi say their version in sysDescr
        life, warning = lifecycle_item(*found_os, ctx.now.date(),
                                       extended=params.extended_support)
        items.append(life)
        if warning is not None and params.os_support_warning:
            results.append(warning)
    if ticks is None or not 0 <= ticks < TIMETICKS_WRAP:
        raw = values.get(O.SYS_UPTIME)
        why = "no sysUpTime in the answer" if raw is None else (
            f"sysUpTime {raw!r} is not a TimeTicks value")
        memory["ticks"] = None
        results.append(Result(State.UNKNOWN, why))
        return Evaluation(Outcome.of(results, items=items), memory)
    event = reboot_event(ctx.memory, memory)
    if event == "reboot":
        memory["last_reboot_at"] = now - ticks / 100.0
    elif event:
        results.append(Result(State.OK, event))
    uptime = ticks / 100.0
    results.append(Result(State.OK, f"up {_duration(uptime)}"))
    last = memory["last_reboot_at"]
    if last is not None and now - last < params.reboot_warning:
        when = datetime.fromtimestamp(last, ctx.now.tzinfo).strftime("%Y-%m-%d %H:%M")
        results.append(Result(State.WARNING, f"rebooted at {when}"))
    metrics = [Metric("uptime", round(uptime), "s", min=0)]
    return Evaluation(Outcome.of(results, metrics, items), memory)


def reboot_event(previous: Any, current: dict[str, Any]) -> str | None:
    """"reboot", a note about a harmless uptime drop, or None, from two polls' memory.

    sysUpTime is the *agent's* uptime in 32-bit TimeTicks: it wraps after ~497 days and
    restarts with the agent. So a drop is a reboot only if snmpEngineBoots/snmpEngineTime
    (when the agent has them) show a restart and hrSystemUptime (the host's uptime, when
    present) did not keep counting."""
    p_ticks, ticks = previous.get("ticks"), current["ticks"]
    if p_ticks is None or ticks is None or previous.get("at") is None:
        return None
    elapsed = max(0.0, current["at"] - previous["at"])
    if ticks >= p_ticks and ticks / 100.0 + 60 >= elapsed:
        return None
    p_boots, boots = previous.get("boots"), current["boots"]
    p_time, engine_time = previous.get("engine_time"), current["engine_time"]
    engine_known = None not in (p_boots, boots, p_time, engine_time)
    p_hr, hr = previous.get("hr_ticks"), current["hr_ticks"]
    host_continuous = p_hr is not None and hr is not None and (
        hr / 100.0 + 60 >= elapsed if hr >= p_hr else uptime_advanced(p_hr, hr, elapsed))
    if engine_known:
        if boots == p_boots and engine_time >= p_time:
            return "sysUpTime wrapped after 497 days (snmpEngineTime shows no restart)"
    elif ticks < p_ticks and uptime_advanced(p_ticks, ticks, elapsed):
        return "sysUpTime wrapped after 497 days (not a reboot)"
    if host_continuous:
        return "the SNMP agent restarted (hrSystemUptime shows the device did not reboot)"
    return "reboot"


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m"
