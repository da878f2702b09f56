"""``neighbors``: who is plugged into which port (LLDP, CDP), and links that went away.

OK lists the neighbours. A link that disappears from a port that had one is
``lost_neighbor_state`` (WARNING by default: "Gi1/0/3 lost its neighbour ap-clerk") until it
comes back or ``forget_after`` has passed since it was last seen; a neighbour that reappears
on another port of the same device has moved, which is said but is no problem. Right after
the device restarted (sysUpTime under 5 minutes) lost links are not judged: LLDP sends every
30 s and CDP every 60 s, so the tables are still filling.

The links (local port, remote, first and last seen) are kept in the check's memory. An agent
that answers neither LLDP-MIB nor CISCO-CDP-MIB is UNKNOWN on a network, wireless or
firewall device (where LLDP is expected; turn it on or take the check off) and OK with a note
on anything else; its remembered links are kept, not declared lost.

Neighbour tables change rarely, so the check runs every 6 hours by default (LibreNMS
rediscovers links every 6 hours too)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from muni_watchdog.checks.base import CheckParams, Evaluation, TargetInfo
from muni_watchdog.checks.snmp import classes, neighbors
from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.common import fetch
from muni_watchdog.checks.snmp.device import DeviceClass
from muni_watchdog.checks.snmp.session import Need, Poll
from muni_watchdog.checks.snmp.values import Snapshot, integer
from muni_watchdog.core.durations import DAY
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State
from muni_watchdog.core.types import Duration, Interval, Timeout

NETWORK_CLASSES = ("network", "wireless", "firewall")
NEED = Need.of((O.SYS_DESCR, O.SYS_OBJECT_ID, O.SYS_NAME, O.SYS_UPTIME, O.EXTEND_VERSION,
                *neighbors.SCALARS), neighbors.TABLES, classes.PROBES)
RELEARN_SECONDS = 300     # after a restart, LLDP (30 s) and CDP (60 s) tables are refilling
SHOWN = 6                 # neighbours named in the OK summary
MAX_LOST_RESULTS = 20     # lost links listed one by one; beyond, one line counts the rest


class NeighborsParams(CheckParams):
    check: Literal["neighbors"] = "neighbors"
    interval: Interval | None = Field(
        21600, description="How often to read the neighbour tables (they change rarely; "
        "LibreNMS rediscovers links every 6 hours).")
    timeout: Timeout = Field(60.0, description="Longest a single run may take (then UNKNOWN).")
    lost_neighbor_state: Literal["warning", "ok", "critical"] = Field(
        "warning", description="State when a port that had a neighbour has lost it.")
    forget_after: Duration = Field(
        7 * DAY, description="A lost neighbour stays a problem until it comes back or this "
        "long after it was last seen (then it is forgotten: the link is gone for good).")
    device_class: DeviceClass = Field(
        "auto", description="The device's class; on network, wireless and firewall devices an "
        "agent without LLDP-MIB or CDP is UNKNOWN, elsewhere it is OK. auto detects it.")


class NeighborsCheck:
    type = "neighbors"
    Params = NeighborsParams

    async def collect(self, target: TargetInfo, params: NeighborsParams) -> Poll:
        return await fetch(target, NEED)

    def evaluate(self, raw: Poll, params: NeighborsParams, ctx: CheckContext) -> Evaluation:
        return evaluate_neighbors(raw.values, raw.answering, params, ctx)


def remote_key(neighbor: dict[str, Any]) -> str:
    """What identifies the neighbour across polls and protocols: its name without the domain
    (CDP says ``sw1.town.local``, LLDP may say ``sw1``), else its chassis id, address or
    port."""
    name = (neighbor.get("remote_name") or "").strip().lower()
    if name:
        try:
            ipaddress.ip_address(name)
            return name
        except ValueError:
            return name.split(".")[0] or name
    for field in ("remote_chassis_id", "remote_address", "remote_port"):
        if neighbor.get(field):
            return f"{field[7:]}:{str(neighbor[field]).lower()}"
    return "unknown"


def link_keys(found: list[dict[str, Any]]) -> list[str]:
    """A key per neighbour entry: ``local port|remote``. An entry without a name on a port
    where another entry (the other protocol) names the same address or chassis takes that
    entry's key, so a neighbour seen by CDP and LLDP is one link."""
    keys = [f"{n['local_port']}|{remote_key(n)}" for n in found]
    for i, n in enumerate(found):
        if n.get("remote_name"):
            continue
        for j, other in enumerate(found):
            if j != i and other.get("remote_name") and other["local_port"] == n["local_port"] \
                    and any(n.get(f) and n.get(f) == other.get(f)
                            for f in ("remote_address", "remote_chassis_id")):
                keys[i] = keys[j]
                break
    return keys


def display_name(neighbor: dict[str, Any]) -> str:
    return (neighbor.get("remote_name") or neighbor.get("remote_chassis_id")
            or neighbor.get("remote_address") or neighbor.get("remote_port") or "a neighbour")


def _when(timestamp: float, now: datetime) -> str:
    return datetime.fromtimestamp(timestamp, now.tzinfo).strftime("%Y-%m-%d %H:%M")


def _summary(found: list[dict[str, Any]], keys: list[str]) -> str:
    links = dict(zip(keys, found, strict=True))
    ports = {n["local_port"] for n in found}
    protocols = sorted({n["protocol"].upper() for n in found})
    shown = ", ".join(f"{n['local_port']} {display_name(n)}"
                      + (f" ({n['remote_port']})" if n.get("remote_port") else "")
                      for n in list(links.values())[:SHOWN])
    more = f" and {len(links) - SHOWN} more" if len(links) > SHOWN else ""
    return (f"{len(links)} neighbour{'s' if len(links) != 1 else ''} on {len(ports)} "
            f"port{'s' if len(ports) != 1 else ''} ({'+'.join(protocols)}): {shown}{more}")


def evaluate_neighbors(values: Snapshot, answering: set[str], params: NeighborsParams,
                       ctx: CheckContext) -> Evaluation:
    found = neighbors.parse_neighbors(values)
    identity = neighbors.local_identity(values)
    device_class = params.device_class if params.device_class != "auto" else \
        classes.classify(values, answering)
    if not found and not neighbors.lldp_answered(values) and not neighbors.cdp_answered(values):
        if device_class in NETWORK_CLASSES:
            outcome = Outcome.unknown(
                f"this {device_class} device answers neither LLDP-MIB nor CISCO-CDP-MIB: turn "
                "LLDP on (with its SNMP MIB) or take the neighbors check off this target")
        else:
            outcome = Outcome.of([Result(State.OK, "no LLDP or CDP neighbours advertised "
                                         f"(not expected of a {device_class} device)")])
        return Evaluation(outcome, ctx.memory)   # remembered links are not lost: unknown

    now = ctx.now.timestamp()
    keys = link_keys(found)
    remembered: dict[str, dict[str, Any]] = dict((ctx.memory or {}).get("links") or {})
    links: dict[str, dict[str, Any]] = {}
    for key, neighbor in zip(keys, found, strict=True):
        before = remembered.get(key) or {}
        links[key] = {"port": neighbor["local_port"], "remote": display_name(neighbor),
                      "first_seen": before.get("first_seen", now), "last_seen": now}
    results: list[Result] = [Result(State.OK, _summary(found, keys)) if found else
                             Result(State.OK, "LLDP/CDP on, no neighbours advertised")]
    ticks = integer(values.get(O.SYS_UPTIME))
    relearning = ticks is not None and 0 <= ticks < RELEARN_SECONDS * 100
    # a remote now on a port where it was not before has moved (a LAG member that went
    # down is lost, not moved: its other member was there before too)
    arrived = {key.partition("|")[2]: link["port"] for key, link in links.items()
               if key not in remembered}
    lost_state, lost = State.parse(params.lost_neighbor_state), []
    for key, link in remembered.items():
        if key in links:
            continue
        remote = key.partition("|")[2]
        if remote in arrived:
            results.append(Result(State.OK, f"{link['remote']} moved from {link['port']} to "
                                  f"{arrived[remote]}"))
            continue
        if now - float(link.get("last_seen", now)) > params.forget_after:
            continue                       # gone for good: forgotten
        links[key] = link
        if not relearning:
            lost.append(link)
    for link in lost[:MAX_LOST_RESULTS]:
        results.append(Result(lost_state, f"{link['port']} lost its neighbour {link['remote']} "
                              f"(last seen {_when(float(link['last_seen']), ctx.now)})"))
    if len(lost) > MAX_LOST_RESULTS:
        results.append(Result(lost_state, f"and {len(lost) - MAX_LOST_RESULTS} more lost "
                              "neighbours"))
    if relearning and len(links) > len(found):
        results.append(Result(State.OK, f"the device restarted {ticks // 100} s ago: links "
                              "not seen yet are not judged until LLDP/CDP have re-learnt"))
    first_seen = {key: link["first_seen"] for key, link in links.items()}
    # remote_key: the link's identity across polls; the state database keeps each link's
    # first and last seen by (target, local_port, remote_key) (store.links)
    items = [{"kind": "neighbor", **n, "remote_key": k[len(n["local_port"]) + 1:],
              "first_seen": datetime.fromtimestamp(first_seen[k], ctx.now.tzinfo).isoformat()}
             for k, n in zip(keys, found, strict=True)]
    items.append({"kind": "lldp_identity", **identity})
    metrics = [Metric("neighbors", len(set(keys)), min=0),
               Metric("lost_neighbors", len(lost), min=0)]
    return Evaluation(Outcome.of(results, metrics, items), {"links": links})
