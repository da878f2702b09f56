"""One poll of everything we know, as the ``discover`` JSON contract (see the README)."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp import hostres, ifmib, neighbors, printer, ups
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.check_interfaces import NEED as INTERFACES_NEED
from muni_watchdog.checks.snmp.check_neighbors import NEED as NEIGHBORS_NEED
from muni_watchdog.checks.snmp.check_printer import NEED as PRINTER_NEED
from muni_watchdog.checks.snmp.check_storage import NEED as STORAGE_NEED
from muni_watchdog.checks.snmp.check_system import SYSTEM_NEED
from muni_watchdog.checks.snmp.check_ups import NEED as UPS_NEED
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.session import Poll, SnmpSession

EVERYTHING = SYSTEM_NEED | INTERFACES_NEED | STORAGE_NEED | PRINTER_NEED | UPS_NEED | \
    NEIGHBORS_NEED
# The contract's neighbour object (README, "discover --json"): exactly these keys, in this order.
NEIGHBOR_KEYS = ("protocol", "local_port", "local_port_index", "remote_name", "remote_port",
                 "remote_platform", "remote_address", "remote_chassis_id")


def describe(target: str, poll: Poll) -> dict[str, Any]:
    """The contract's object from one poll (pure)."""
    values = poll.values
    found = ups.parse_ups(values)
    return {
        "target": target,
        "system": sysmod.parse_system(values, poll.answering),
        "interfaces": ifmib.parse_interfaces(values),
        "storage": hostres.parse_storage(values),
        "processors": hostres.parse_processors(values),
        "supplies": [printer.public(s) for s in printer.parse_supplies(values)],
        "ups": None if found is None else ups.public(found),
        "neighbors": [{key: n[key] for key in NEIGHBOR_KEYS}
                      for n in neighbors.parse_neighbors(values)],
    }


async def discover(host: str, conn: SnmpConnection) -> tuple[dict[str, Any], Poll]:
    """Poll ``host`` once for everything; raises SnmpError when it does not answer."""
    session = SnmpSession(host, conn)
    try:
        poll = await session.fetch(EVERYTHING)
    finally:
        await session.close()
    return describe(f"{host}:{conn.port}", poll), poll
