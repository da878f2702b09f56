"""SNMP monitoring: switches, printers, UPSes, servers and NAS.

Layout: ``client`` (pysnmp requests), ``session`` (one poll per target for all its checks),
pure parsers per MIB (``system``, ``entity``, ``ifmib``, ``hostres``, ``software``, ``printer``,
``ups``, ``nas``), the device classes (``classes``), the counter math (``rates``), and the
checks (``check_*``, ``device``)."""

from __future__ import annotations

from muni_watchdog.checks.base import TargetKind
from muni_watchdog.checks.snmp.check_interfaces import InterfacesCheck
from muni_watchdog.checks.snmp.check_nas import NasCheck
from muni_watchdog.checks.snmp.check_neighbors import NeighborsCheck
from muni_watchdog.checks.snmp.check_printer import PrinterCheck
from muni_watchdog.checks.snmp.check_software import SoftwareCheck
from muni_watchdog.checks.snmp.check_storage import StorageCheck
from muni_watchdog.checks.snmp.check_system import SystemCheck
from muni_watchdog.checks.snmp.check_ups import UpsCheck
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.snmp.device import DeviceCheck
from muni_watchdog.checks.snmp.session import SnmpSession

SNMP_KIND = TargetKind(
    "snmp", "A device that speaks SNMP: switch, printer, UPS, server, NAS, firewall, access "
    "point. Checks: system, device, interfaces, storage, printer, ups, nas, software, neighbors, "
    "exposure. Without checks: system + device (the profile of the detected device class) + "
    "neighbors (LLDP/CDP, every 6 hours) + exposure (open doors, daily).",
    {c.type: c for c in (SystemCheck(), DeviceCheck(), InterfacesCheck(), StorageCheck(),
                         PrinterCheck(), UpsCheck(), NasCheck(), SoftwareCheck(),
                         NeighborsCheck())},
    connection=SnmpConnection,
    default_checks=lambda: [{"check": "system"}, {"check": "device"}, {"check": "neighbors"}],
    session=SnmpSession.for_target,
)
