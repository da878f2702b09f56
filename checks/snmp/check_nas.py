"""``nas``: the health of a Synology or QNAP NAS from its own MIBs (see :mod:`checks.snmp.nas`).

A degraded or crashed RAID set is CRITICAL; one repairing, rebuilding, expanding or migrating
is WARNING (the data is not yet redundant again); a crashed disk or one whose system
partition failed is CRITICAL; a failed power supply, fan or system status is CRITICAL.

Disk temperature: warn 50 / crit 60 °C. 60 °C is the top of the operating range NAS drives
are specified for (WD Red, Seagate IronWolf datasheets); LibreNMS puts its limit 20 °C above
the reading at discovery, which for a disk running at 35-40 °C lands in the same place;
Checkmk's SMART defaults (35/40 °C) would warn on most healthy NAS disks.

Every disk and RAID set is an item (model, serial, status) for the inventory. Rows whose
status the agent did not answer are UNKNOWN; so is a NAS whose MIB answers with neither disks
nor RAID sets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import nas
from muni_watchdog.checks.snmp.classes import NAS_PROBES, PROBES
from muni_watchdog.checks.snmp.common import fetch_more, high, session_of
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State

PROBE_NEED = Need.of(probes={name: PROBES[name] for name in NAS_PROBES})
SEVERITY = {"ok": State.OK, "warning": State.WARNING, "critical": State.CRITICAL,
            "unknown": State.UNKNOWN}


def need_for(answering: set[str]) -> Need:
    """What to walk once the probes said which NAS MIB answers."""
    tables = [t for vendor, roots in nas.TABLES.items() if vendor in answering for t in roots]
    return Need.of(nas.SCALARS if "synology" in answering else (), tables)


class NasParams(CheckParams):
    check: Literal["nas"] = "nas"
    disk_temp_warn_c: float | None = Field(50, description="Disk temperature warning (°C).")
    disk_temp_crit_c: float | None = Field(60, description="Disk temperature critical (°C): "
                                           "the top of NAS drives' operating range.")
    system_temp_warn_c: float | None = Field(None, description="System temperature warning "
                                             "(°C); none by default, the NAS warns itself.")
    system_temp_crit_c: float | None = Field(None, description="System temperature critical.")


class NasCheck:
    type = "nas"
    Params = NasParams

    async def collect(self, target: TargetInfo, params: NasParams) -> Poll:
        session = session_of(target)
        first = await session.fetch(PROBE_NEED)
        return await fetch_more(session, first, need_for(first.answering))

    def evaluate(self, raw: Poll, params: NasParams, ctx: CheckContext) -> Evaluation:
        return evaluate_nas(raw.values, raw.answering, params, ctx)


def evaluate_nas(values, answering: set[str], params: NasParams,
                 ctx: CheckContext) -> Evaluation:
    found = nas.parse_nas(values, answering)
    if found is None:
        return Evaluation(Outcome.unknown("no NAS MIB answered (Synology, QNAP)"), ctx.memory)
    if not found["disks"] and not found["raids"]:
        return Evaluation(Outcome.unknown(f"the {found['vendor']} MIB answered, but with "
                                          "neither disks nor RAID sets"), ctx.memory)
    results: list[Result] = []
    metrics: list[Metric] = []
    for what, word, severity in found["system"]:
        results.append(Result(SEVERITY[severity], f"{what} {word}"))
    for raid in found["raids"]:
        results.append(Result(SEVERITY[raid["severity"]], f"RAID {raid['name']}: "
                              f"{raid['status']}"))
    for disk in found["disks"]:
        label = disk["id"] + (f" ({disk['model']})" if disk["model"] else "")
        state = SEVERITY[disk["severity"]]
        if not state.is_ok:
            results.append(Result(state, f"{label}: {disk['status']}"))
        if disk["health"] is not None and disk["health"][1] != "ok":
            results.append(Result(SEVERITY[disk["health"][1]], f"{label}: {disk['health'][0]}"))
        temperature = disk["temperature_c"]
        if temperature is not None:
            result = high(temperature, params.disk_temp_warn_c, params.disk_temp_crit_c,
                          f"{label} at {temperature} °C")
            if not result.state.is_ok:
                results.append(result)
            metrics.append(Metric(f"{disk['id']}_temperature", temperature, "C",
                                  params.disk_temp_warn_c, params.disk_temp_crit_c))
    temperature = nas.temperature_c(values.get(nas.SYNO_TEMPERATURE))
    if temperature is not None:
        result = high(temperature, params.system_temp_warn_c, params.system_temp_crit_c,
                      f"system at {temperature} °C")
        if not result.state.is_ok:
            results.append(result)
        metrics.append(Metric("system_temperature", temperature, "C",
                              params.system_temp_warn_c, params.system_temp_crit_c))
    healthy = sum(1 for d in found["disks"] if d["severity"] == "ok")
    results.insert(0, Result(State.OK, f"{found['vendor']}: {len(found['raids'])} RAID "
                             f"set{'s' if len(found['raids']) != 1 else ''}, {healthy} of "
                             f"{len(found['disks'])} disks fine"))
    items = [{k: v for k, v in item.items() if k != "severity"}
             | ({"health": item["health"][0]} if item.get("health") else {})
             for item in (*found["raids"], *found["disks"])]
    return Evaluation(Outcome.of(results, metrics, items))
