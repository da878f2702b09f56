"""One poll of everything we know, as the ``discover`` JSON contract (see the README)."""

from __future__ import annotations

from typing import Any

from muni_watchdog.checks.snmp import hostres, ifmib, printer, ups
from muni_watchdog.checks.snmp import system as sysmod
from muni_watchdog.checks.snmp.check_interfaces import NEED as INTERFACES_NEED
from muni_watchdog.checks.snmp.check_printer import NEED as PRINTER_NEED
from muni_watchdog.checks.snmp.check_storage import NEED as STORAGE_NEED
from muni_watchdog.checks.snmp.check_system import SYSTEM_NEED
from muni_watchdog.checks.snmp.check_ups import NEED as UPS_NEED
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.session import Poll, SnmpSession

EVERYTHING = SYSTEM_NEED | INTERFACES_NEED | STORAGE_NEED | PRINTER_NEED | UPS_NEED


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
    }


async def discover(host: str, conn: SnmpConnection) -> tuple[dict[str, Any], Poll]:
    """Poll ``host`` once for everything; raises SnmpError when it does not answer."""
    session = SnmpSession(host, conn)
    try:
        poll = await session.fetch(EVERYTHING)
    finally:
        await session.close()
    return describe(f"{host}:{conn.port}", poll), poll
