"""``interfaces``: the ports that matter are up; error/discard rates and utilisation.

Ports that matter: the configured ``ports`` (by name, alias, description or index), else
those that were admin-up and oper-up the first time the check ran (remembered, by name, as
Checkmk's discovery does). Admin-down ports are never a problem. Rates come from counter
deltas between polls; 32-bit wraps are added back, a device reboot skips one interval.

A port whose ifOperStatus the agent did not answer (or answered with something IF-MIB does
not define) is UNKNOWN, not down and not up; a table without any usable ifOperStatus is
UNKNOWN as a whole, never "0 of 0 ports up"."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import ifmib
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.common import fetch, high
from muni_watchdog.checks.snmp.rates import rate
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.checks.snmp.values import integer
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

NEED = Need.of([O.SYS_UPTIME], ifmib.TABLES)
IGNORED_TYPES = {"softwareLoopback"}
IF_IN_UCAST, IF_OUT_UCAST, IFX_HC_IN_UCAST, IFX_HC_OUT_UCAST = 11, 17, 7, 11


class InterfacesParams(CheckParams):
    check: Literal["interfaces"] = "interfaces"
    ports: list[str] | None = Field(
        None, description="Ports that must be up, by name, alias, description or index; "
        "default: the ports that were up (and admin-up) when first checked.",
        examples=[["Gi0/1", "uplink"]])
    down_state: Literal["critical", "warning"] = Field(
        "critical", description="State of a port that matters when it is down.")
    error_warn_percent: float = Field(0.01, ge=0, description="Warn when errors+discards "
                                      "exceed this % of packets (Checkmk's 0.01 %).")
    error_crit_percent: float = Field(0.1, ge=0, description="Critical above this % "
                                      "(Checkmk's 0.1 %).")
    min_packets: int = Field(1000, ge=0, description="Judge error rates only over intervals "
                             "with at least this many packets (avoids 1-of-3 = 33 %).")
    utilisation_warn: float | None = Field(80.0, description="Warn when a port's traffic in "
                                           "either direction exceeds this % of its speed.")
    utilisation_crit: float | None = Field(None, description="Critical above this %.")


class InterfacesCheck:
    type = "interfaces"
    Params = InterfacesParams

    async def collect(self, target: TargetInfo, params: InterfacesParams) -> Poll:
        return await fetch(target, NEED)

    def evaluate(self, raw: Poll, params: InterfacesParams, ctx: CheckContext) -> Evaluation:
        return evaluate_interfaces(raw.values, params, ctx)


def _matches(port: dict[str, Any], wanted: str) -> bool:
    return wanted in (port["name"], port["alias"], port["descr"], str(port["index"]))


def _packets(values, index: int, direction: str) -> int | None:
    hc_col, col = (IFX_HC_IN_UCAST, IF_IN_UCAST) if direction == "in" else (
        IFX_HC_OUT_UCAST, IF_OUT_UCAST)
    hc = integer(values.get(f"{O.IF_X_TABLE}.{hc_col}.{index}"))
    return hc if hc is not None else integer(values.get(f"{O.IF_TABLE}.{col}.{index}"))


def evaluate_interfaces(values, params: InterfacesParams, ctx: CheckContext) -> Evaluation:
    ports = ifmib.parse_interfaces(values)
    if not ports:
        return Evaluation(Outcome.unknown("the device has no IF-MIB interface table"),
                          ctx.memory)
    problems = ifmib.status_problems(values)
    if len(problems) == len(ports):
        return Evaluation(Outcome.unknown(
            f"the agent lists {len(ports)} interfaces but answered no usable ifOperStatus "
            f"({next(iter(problems.values()))})"), ctx.memory)
    now = ctx.now.timestamp()
    ticks = integer(values.get(O.SYS_UPTIME))
    previous = ctx.memory
    elapsed = now - previous["at"] if previous.get("at") else 0.0
    rebooted = (ticks is not None and previous.get("ticks") is not None
                and (ticks < previous["ticks"] or ticks / 100 + 60 < elapsed))
    results: list[Result] = []
    metrics: list[Metric] = []
    remember = True
    # A port is known by its name, or by name and ifIndex where names repeat (a printer's
    # two "Ethernet" rows, a switch's loopbacks): by name alone they were one port.
    key = _port_keys(ports)
    if params.ports is not None:
        watched = []
        for wanted in params.ports:
            found = [p for p in ports if _matches(p, wanted)]
            if not found:
                results.append(Result(State.UNKNOWN, f"port {wanted!r} not found"))
            watched.extend(found)
        watched_names = [key[p["index"]] for p in watched]
    else:
        watched_names = previous.get("watched")
        repeated = {p["name"] for p in ports if key[p["index"]] != p["name"]}
        if watched_names is not None and repeated.intersection(watched_names):
            watched_names = None   # remembered by a name that is not one port: choose again
        if watched_names is None:
            # oper up implies admin up: a missing ifAdminStatus does not hide the port
            watched_names = [key[p["index"]] for p in ports if p["admin_status"] != "down"
                             and p["oper_status"] == "up" and p["type"] not in IGNORED_TYPES
                             and p["index"] not in problems]
            unsure = [p for p in ports if p["index"] in problems
                      and p["admin_status"] != "down" and p["type"] not in IGNORED_TYPES]
            for port in unsure:
                results.append(Result(State.UNKNOWN, f"port {key[port['index']]}: "
                                      f"{problems[port['index']]}, so it is not known "
                                      "whether it should be up"))
            remember = not unsure  # choose the ports that matter once every status is known
        chosen = set(watched_names)
        watched = [p for p in ports if key[p["index"]] in chosen]
    discards = ifmib.discards(values)
    counters: dict[str, list] = {}
    down = State.parse(params.down_state)
    up_count = 0
    for port in watched:
        name = key[port["index"]]
        label = port["alias"] and f"{name} ({port['alias']})" or name
        if port["admin_status"] == "down":
            continue
        if port["index"] in problems:
            results.append(Result(State.UNKNOWN, f"port {label}: {problems[port['index']]}"))
            continue
        if port["oper_status"] not in ("up", "dormant"):
            results.append(Result(down, f"port {label} is {port['oper_status']}"))
            continue
        up_count += 1
        bits = ifmib.counter_bits(values, port["index"])
        in_d, out_d = discards.get(port["index"], (None, None))
        now_counters = [port["in_octets"], port["out_octets"],
                        (port["in_errors"] or 0) + (port["out_errors"] or 0)
                        + (in_d or 0) + (out_d or 0),
                        (_packets(values, port["index"], "in") or 0)
                        + (_packets(values, port["index"], "out") or 0), bits]
        counters[name] = now_counters
        before = (previous.get("counters") or {}).get(name)
        if before and elapsed > 0 and not rebooted:
            results.extend(_rates(name, label, port, before, now_counters, elapsed, params,
                                  metrics))
    present = {key[p["index"]] for p in watched}
    absent = [n for n in watched_names if n not in present]
    for name in absent:
        results.append(Result(down, f"port {name} has disappeared"))
    results.insert(0, Result(State.OK, f"{up_count} of {len(watched)} watched ports up "
                                       f"({len(ports)} interfaces)"))
    memory = {"at": now, "ticks": ticks, "watched": watched_names if remember else None,
              "counters": counters}
    return Evaluation(Outcome.of(results, metrics, ports), memory)


def _port_keys(ports: list[dict[str, Any]]) -> dict[int, str]:
    """ifIndex -> the port's name, or "name #index" when another port has the same name."""
    seen = Counter(p["name"] for p in ports)
    return {p["index"]: p["name"] if seen[p["name"]] == 1 else f"{p['name']} #{p['index']}"
            for p in ports}


def _rates(name: str, label: str, port: dict, before: list, after: list, elapsed: float,
           params: InterfacesParams, metrics: list[Metric]) -> list[Result]:
    results = []
    bits = after[4]
    in_rate = rate(before[0], after[0], elapsed, bits) if None not in (before[0], after[0]) \
        else None
    out_rate = rate(before[1], after[1], elapsed, bits) if None not in (before[1], after[1]) \
        else None
    speed = port["speed_bps"]
    for direction, octets_per_s in (("in", in_rate), ("out", out_rate)):
        if octets_per_s is None:
            continue
        metrics.append(Metric(f"{name}_{direction}_bps", round(octets_per_s * 8),
                              "", min=0, max=speed))
        if speed:
            util = 100.0 * octets_per_s * 8 / speed
            if util > 110:
                # More than the line can carry: the stated speed (ifSpeed/ifHighSpeed) or the
                # counters are wrong, so a utilisation alarm would be noise. Say so instead.
                results.append(Result(State.OK, f"port {label} {direction} at {util:.0f} % of "
                                      "its stated speed: the speed the device reports is "
                                      "wrong, utilisation not judged"))
                continue
            result = high(util, params.utilisation_warn, params.utilisation_crit,
                          f"port {label} {direction} at {util:.0f} % of its speed")
            if not result.state.is_ok:
                results.append(result)
    errors = rate(before[2], after[2], 1.0, 32)  # deltas; errors counters are 32-bit
    packets = rate(before[3], after[3], 1.0, 64 if bits == 64 else 32)
    if errors is not None and packets is not None and packets >= params.min_packets:
        percent = 100.0 * errors / max(packets, 1)
        metrics.append(Metric(f"{name}_error_percent", round(percent, 4), "%",
                              params.error_warn_percent, params.error_crit_percent))
        result = high(percent, params.error_warn_percent, params.error_crit_percent,
                      f"port {label} errors/discards {percent:.3f} % of packets")
        if not result.state.is_ok:
            results.append(result)
    return results


