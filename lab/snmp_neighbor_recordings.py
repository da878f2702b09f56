"""Recordings of LLDP-MIB and CISCO-CDP-MIB neighbour tables, written from the MIBs (IEEE
802.1AB-2005 LLDP-MIB, CISCO-CDP-MIB, BRIDGE-MIB, MIKROTIK-MIB) and from what the vendors'
documentation shows their devices print (Cisco ``show cdp/lldp neighbors detail``, ArubaOS-
Switch ``show lldp info remote-device``, Junos ``show lldp neighbors``, RouterOS
``/ip neighbor print``), turned into the MIB values those outputs stand for. The values and
the town are ours, not another project's test data.

One small town network, whose devices advertise each other consistently (chassis ids and
ports match on both ends), so the topology can be drawn from the recordings:

* ``cisco-core`` (town-core, a Catalyst 2960-X on IOS 15.2): CDP and LLDP. Its
  lldpRemLocalPortNum is a port number 1..24 while Gi1/0/1 is ifIndex 10101 and ifIndex 1 is
  Vlan1: only lldpLocPortTable (subtype interfaceName) and dot1dBasePortIfIndex say which
  port is meant. Gi1/0/1 annex-sw (LLDP), Gi1/0/2 access-2 (CDP and LLDP, a Catalyst 2960),
  Gi1/0/3 a Nexus whose CDP device id carries its serial, Gi1/0/5 an IP phone (CDP device
  id SEP + MAC; LLDP-MED chassis id a network address, port id locally assigned), Gi1/0/7 a
  desk switch with two devices behind it (a printer that sends no system name, a MAC port
  id and a management address without the length octet; a UniFi AP whose chassis id comes
  as MAC *text* and whose only address is IPv6), Gi1/0/24 gw-main (LLDP).
* ``aruba-2930f`` (annex-sw, ArubaOS-Switch): port numbers are ifIndexes, port ids locally
  assigned ("24"), a non-zero lldpRemTimeMark; town-core on port 24, a Debian server
  running lldpd (MAC port id, description "eno1") on port 5.
* ``junos-ex`` (hall-ex, EX2300): port ids are the ifIndex as text (subtype local), the port
  description the name; gw-main on ge-0/0/0, a UniFi AP without address on ge-0/0/10.
* ``routeros-lldp`` (gw-main, RouterOS 7): lldpRemTable indexed by a single neighbour
  number, the local interface in mtxrNeighborInterfaceID; town-core on ether2, hall-ex on
  ether3, an MNDP-only neighbour (no LLDP row) that must not appear.

:func:`demo_switch_neighbors` adds LLDP to the demo's Netgear switch: the demo printer and
UPS on g3 and g4 and the router on g1. :func:`demo_printer_neighbors` makes the demo printer
advertise the switch back (HP Jetdirect speaks LLDP), so the demo draws that link from both
ends; the UPS's management card is seen from the switch only.
"""

from __future__ import annotations

import ipaddress

from lab.snmp_recordings import Row, interfaces, octets, system

L = "1.0.8802.1.1.2.1"
CDP = "1.3.6.1.4.1.9.9.23.1.2.1.1"
BRIDGE = "1.3.6.1.2.1.17.1.4.1.2"
MTXR = "1.3.6.1.4.1.14988.1.1.11.1.1"
PHYS = "1.3.6.1.2.1.2.2.1.6"
# LldpSystemCapabilitiesMap, first octet: bit 0 (0x80) other ... bridge 0x20, AP 0x10,
# router 0x08, telephone 0x04, station 0x01
BRIDGE_CAP, AP_CAP, ROUTER_CAP, PHONE_CAP, STATION_CAP = 0x20, 0x10, 0x08, 0x04, 0x01

CORE_MAC, ANNEX_MAC, HALL_MAC, GW_MAC = ("00:1e:bd:aa:10:00", "94:40:c9:11:22:00",
                                         "3c:8c:93:00:11:00", "48:8f:5a:00:00:01")
CISCO_IOS = ("Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, "
             "RELEASE SOFTWARE (fc1)\r\nTechnical Support: http://www.cisco.com/techsupport\r\n"
             "Copyright (c) 1986-2023 by Cisco Systems, Inc.\r\nCompiled Thu 11-May-23 by "
             "mcpre")
ROUTEROS = "MikroTik RouterOS 7.15.3 (stable) CCR2004-16G-2S+"
JUNOS = ("Juniper Networks, Inc. ex2300-24p Ethernet Switch, kernel JUNOS 21.4R3-S5.4, Build "
         "date: 2023-08-07 10:21:56 UTC Copyright (c) 1996-2023 Juniper Networks, Inc.")
ARUBA = ("Aruba JL259A 2930F-24G-4SFP Switch, revision WC.16.11.0012, ROM WC.16.01.0009 "
         "(/ws/swbuildm/rel_valencia_qaoff/code/build/bom(swbuildm_rel_valencia_qaoff_rel_"
         "valencia))")


def hexmac(mac: str) -> str:
    return mac.replace(":", "")


def lldp_local(mac: str, name: str, ports: list[tuple[int, int, str, str]],
               caps: int = BRIDGE_CAP) -> list[Row]:
    """lldpLocalSystemData: chassis id (a MAC), system name, capabilities and port rows
    (LldpPortNumber, port id subtype, port id, description)."""
    rows: list[Row] = [(f"{L}.3.1.0", "2", 4), (f"{L}.3.2.0", "4x", hexmac(mac)),
                       (f"{L}.3.3.0", "4", name), (f"{L}.3.5.0", "4x", f"{caps:02x}"),
                       (f"{L}.3.6.0", "4x", f"{caps:02x}")]
    for number, subtype, port_id, desc in ports:
        rows += [(f"{L}.3.7.1.2.{number}", "2", subtype), (f"{L}.3.7.1.3.{number}", "4", port_id),
                 (f"{L}.3.7.1.4.{number}", "4", desc)]
    return rows


def lldp_remote(index: str, *, chassis: tuple[int, str, str], port: tuple[int, str, str],
                port_desc: str = "", name: str | None = None, descr: str = "", caps: int = 0,
                addresses: tuple[tuple[str, bool], ...] = ()) -> list[Row]:
    """One lldpRemTable row (index ``timeMark.localPortNum.remIndex``, or RouterOS's single
    number) and its lldpRemManAddrTable rows. ``chassis``/``port``: (subtype, tag, value);
    ``addresses``: (IP, with the length octet?)."""
    r = f"{L}.4.1.1"
    rows: list[Row] = [(f"{r}.4.{index}", "2", chassis[0]), (f"{r}.5.{index}", *chassis[1:]),
                       (f"{r}.6.{index}", "2", port[0]), (f"{r}.7.{index}", *port[1:]),
                       (f"{r}.8.{index}", *octets(port_desc)),
                       (f"{r}.10.{index}", *octets(descr)),
                       (f"{r}.11.{index}", "4x", f"{caps:02x}"),
                       (f"{r}.12.{index}", "4x", f"{caps:02x}")]
    if name is not None:
        rows.append((f"{r}.9.{index}", "4", name))
    for address, with_length in addresses:
        packed = ipaddress.ip_address(address).packed
        family = 1 if len(packed) == 4 else 2
        suffix = ".".join(str(b) for b in packed)
        key = f"{index}.{family}.{len(packed)}.{suffix}" if with_length else \
            f"{index}.{family}.{suffix}"
        m = f"{L}.4.2.1"
        rows += [(f"{m}.3.{key}", "2", 2), (f"{m}.4.{key}", "2", 0), (f"{m}.5.{key}", "6", "0.0")]
    return rows


def cdp_entry(if_index: int, device_index: int, *, device_id: str, port: str, platform: str,
              address: str | None, caps: int, version: str = "", sys_name: str | None = None
              ) -> list[Row]:
    """One cdpCacheTable row (address type ip(1) with the 4 octets, capabilities 4 octets)."""
    i = f"{if_index}.{device_index}"
    rows: list[Row] = [(f"{CDP}.5.{i}", *octets(version)), (f"{CDP}.6.{i}", "4", device_id),
                       (f"{CDP}.7.{i}", "4", port), (f"{CDP}.8.{i}", "4", platform),
                       (f"{CDP}.9.{i}", "4x", f"{caps:08x}"), (f"{CDP}.11.{i}", "2", 1),
                       (f"{CDP}.12.{i}", "2", 3)]
    if address is not None:
        rows += [(f"{CDP}.3.{i}", "2", 1),
                 (f"{CDP}.4.{i}", "4x", ipaddress.ip_address(address).packed.hex())]
    if sys_name is not None:
        rows.append((f"{CDP}.17.{i}", "4", sys_name))
    return rows


def _mac_of(base: str, n: int) -> str:
    parts = base.split(":")
    parts[-1] = f"{(int(parts[-1], 16) + n) % 256:02x}"
    return ":".join(parts)


def _ports(indexes: list[tuple[int, str, str]], base_mac: str) -> list[Row]:
    """IF-MIB rows for (ifIndex, ifName, ifDescr), with ifPhysAddress from a base MAC."""
    rows = interfaces([{"index": i, "name": name, "descr": descr, "in": 10**9, "out": 10**9,
                        "pkts": 10**6} for i, name, descr in indexes])
    return rows + [(f"{PHYS}.{i}", "4x", hexmac(_mac_of(base_mac, n + 1)))
                   for n, (i, _, _) in enumerate(indexes)]


def cisco_core() -> list[Row]:
    rows = system(CISCO_IOS, "1.3.6.1.4.1.9.1.1208", "town-core", 812_000_000)
    ports = [(1, "Vl1", "Vlan1")] + [(10100 + n, f"Gi1/0/{n}", f"GigabitEthernet1/0/{n}")
                                    for n in range(1, 25)]
    rows += _ports(ports, CORE_MAC)
    rows += lldp_local(CORE_MAC, "town-core",
                       [(n, 5, f"Gi1/0/{n}", f"GigabitEthernet1/0/{n}") for n in range(1, 25)],
                       BRIDGE_CAP | ROUTER_CAP)
    rows += [(f"{BRIDGE}.{n}", "2", 10100 + n) for n in range(1, 25)]
    rows += lldp_remote("0.1.3", chassis=(4, "4x", hexmac(ANNEX_MAC)), port=(7, "4", "24"),
                        port_desc="24", name="annex-sw", descr=ARUBA, caps=BRIDGE_CAP,
                        addresses=(("10.0.0.13", True),))
    rows += lldp_remote("0.2.1", chassis=(4, "4x", "002290aabb00"), port=(5, "4", "Gi0/1"),
                        port_desc="GigabitEthernet0/1", name="access-2.town.local",
                        descr="Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version "
                        "15.0(2)SE11, RELEASE SOFTWARE (fc3)\r\nTechnical Support: "
                        "http://www.cisco.com/techsupport", caps=BRIDGE_CAP,
                        addresses=(("10.0.0.12", True),))
    rows += cdp_entry(10102, 1, device_id="access-2.town.local", port="GigabitEthernet0/1",
                      platform="cisco WS-C2960-8TC-L", address="10.0.0.12", caps=0x28,
                      version="Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), "
                      "Version 15.0(2)SE11, RELEASE SOFTWARE (fc3)\nTechnical Support: "
                      "http://www.cisco.com/techsupport")
    rows += cdp_entry(10103, 2, device_id="dc-sw1(FOC1234X0AB)", port="Ethernet1/49",
                      platform="N9K-C93180YC-EX", address="10.0.0.20", caps=0x229,
                      sys_name=None)
    rows += cdp_entry(10105, 3, device_id="SEP001122334455", port="Port 1",
                      platform="Cisco IP Phone 8845", address="10.0.20.21", caps=0x490)
    rows += lldp_remote("0.5.4", chassis=(5, "4x", "010a001415"), port=(7, "4",
                        "001122334455:P1"), port_desc="SW PORT", name="SEP001122334455",
                        descr="Cisco IP Phone 8845, V1, sip88xx.14-2-1-0101-30",
                        caps=BRIDGE_CAP | PHONE_CAP)
    # Gi1/0/7: a desk switch between; a printer without a name, a UniFi AP
    rows += lldp_remote("0.7.5", chassis=(4, "4x", "a08cfd123456"), port=(3, "4x",
                        "a08cfd123456"), port_desc="HP ETHERNET MULTI-ENVIRONMENT",
                        descr="HP LaserJet Pro M404dn", caps=STATION_CAP,
                        addresses=(("10.0.30.15", False),))
    rows += lldp_remote("0.7.6", chassis=(4, "4", "74:83:c2:ab:cd:ef"), port=(3, "4x",
                        "7483c2abcdf0"), port_desc="eth0", name="ap-council-chamber",
                        descr="U6-Lite 6.6.77.15402", caps=BRIDGE_CAP | AP_CAP,
                        addresses=(("2001:db8:10::25", True),))
    rows += lldp_remote("0.24.7", chassis=(4, "4x", hexmac(GW_MAC)), port=(5, "4", "ether2"),
                        port_desc="ether2", name="gw-main", descr=ROUTEROS,
                        caps=BRIDGE_CAP | ROUTER_CAP, addresses=(("10.0.0.1", True),))
    return rows


def aruba_2930f() -> list[Row]:
    rows = system(ARUBA + " (Formerly ProCurve)", "1.3.6.1.4.1.11.2.3.7.11.181",
                  "annex-sw", 301_000_000)
    rows += _ports([(n, str(n), str(n)) for n in range(1, 29)], ANNEX_MAC)
    rows += lldp_local(ANNEX_MAC, "annex-sw", [(n, 7, str(n), str(n)) for n in range(1, 29)])
    rows += lldp_remote("3145.24.1", chassis=(4, "4x", hexmac(CORE_MAC)),
                        port=(5, "4", "Gi1/0/1"), port_desc="GigabitEthernet1/0/1",
                        name="town-core", descr=CISCO_IOS, caps=BRIDGE_CAP | ROUTER_CAP,
                        addresses=(("10.0.0.2", True),))
    rows += lldp_remote("88012.5.2", chassis=(4, "4x", "d4ae5212ab00"),
                        port=(3, "4x", "d4ae5212ab01"), port_desc="eno1",
                        name="records-srv.town.local",
                        descr="Debian GNU/Linux 12 (bookworm) Linux 6.1.0-18-amd64 #1 SMP "
                        "PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64",
                        caps=STATION_CAP, addresses=(("10.0.0.40", True),))
    return rows


def junos_ex() -> list[Row]:
    rows = system(JUNOS, "1.3.6.1.4.1.2636.1.1.1.2.132", "hall-ex", 55_000_000)
    rows += _ports([(513 + n, f"ge-0/0/{n}", f"ge-0/0/{n}") for n in range(24)], HALL_MAC)
    rows += lldp_local(HALL_MAC, "hall-ex",
                       [(513 + n, 7, str(513 + n), f"ge-0/0/{n}") for n in range(24)])
    rows += lldp_remote("0.513.1", chassis=(4, "4x", hexmac(GW_MAC)), port=(5, "4", "ether3"),
                        port_desc="ether3", name="gw-main", descr=ROUTEROS,
                        caps=BRIDGE_CAP | ROUTER_CAP, addresses=(("10.0.0.1", True),))
    rows += lldp_remote("0.523.2", chassis=(4, "4x", "7483c2001122"),
                        port=(3, "4x", "7483c2001123"), port_desc="eth0", name="ap-hall",
                        descr="U6-Pro 6.6.77.15402", caps=BRIDGE_CAP | AP_CAP)
    return rows


def routeros_lldp() -> list[Row]:
    rows = system("RouterOS CCR2004-16G-2S+", "1.3.6.1.4.1.14988.1", "gw-main", 610_000_000)
    names = [f"ether{n}" for n in range(1, 17)] + ["sfp-sfpplus1"]
    rows += _ports([(n, name, name) for n, name in enumerate(names, 1)], GW_MAC)
    rows += lldp_local(GW_MAC, "gw-main", [], BRIDGE_CAP | ROUTER_CAP)
    # RouterOS: lldpRemTable indexed by the neighbour number; its interface in MIKROTIK-MIB
    rows += lldp_remote("1", chassis=(4, "4x", hexmac(CORE_MAC)), port=(5, "4", "Gi1/0/24"),
                        port_desc="GigabitEthernet1/0/24", name="town-core", descr=CISCO_IOS,
                        caps=BRIDGE_CAP | ROUTER_CAP, addresses=(("10.0.0.2", True),))
    rows += lldp_remote("2", chassis=(4, "4x", hexmac(HALL_MAC)), port=(7, "4", "513"),
                        port_desc="ge-0/0/0", name="hall-ex", descr=JUNOS, caps=BRIDGE_CAP,
                        addresses=(("10.0.0.14", True),))
    rows += [(f"{MTXR}.2.1", "64", "10.0.0.2"), (f"{MTXR}.6.1", "4", "town-core"),
             (f"{MTXR}.8.1", "2", 2),
             (f"{MTXR}.2.2", "64", "10.0.0.14"), (f"{MTXR}.6.2", "4", "hall-ex"),
             (f"{MTXR}.8.2", "2", 3),
             # seen by MNDP only: in MIKROTIK-MIB, not in LLDP-MIB
             (f"{MTXR}.2.3", "64", "10.0.0.60"), (f"{MTXR}.6.3", "4", "cap-ac-lobby"),
             (f"{MTXR}.8.3", "2", 5)]
    return rows


def demo_switch_neighbors() -> list[Row]:
    """LLDP of the demo's Netgear switch (ports g1..g24 are ifIndex 1..24): the router on g1,
    the demo printer (clerk-printer) on g3 and the demo UPS (ups-server-room) on g4."""
    netgear_mac = "a0:40:a0:5b:00:00"
    rows = lldp_local(netgear_mac, "core-switch", [(n, 5, f"g{n}", "") for n in range(1, 25)])
    rows += [(f"{PHYS}.{n}", "4x", hexmac(_mac_of(netgear_mac, n))) for n in range(1, 25)]
    rows += lldp_remote("0.1.1", chassis=(4, "4x", hexmac(GW_MAC)), port=(5, "4", "ether5"),
                        port_desc="ether5", name="gw-main", descr=ROUTEROS,
                        caps=BRIDGE_CAP | ROUTER_CAP, addresses=(("10.0.0.1", True),))
    rows += lldp_remote("0.3.2", chassis=(4, "4x", "3c2af4a1b2c3"), port=(3, "4x",
                        "3c2af4a1b2c3"), port_desc="HP ETHERNET MULTI-ENVIRONMENT",
                        name="clerk-printer", descr="HP Color LaserJet M479fdw",
                        caps=STATION_CAP, addresses=(("10.0.30.10", True),))
    rows += lldp_remote("0.4.3", chassis=(4, "4x", "28299901abcd"), port=(3, "4x",
                        "28299901abcd"), port_desc="eth0", name="ups-server-room",
                        descr="APC Web/SNMP Management Card AP9630", caps=STATION_CAP,
                        addresses=(("10.0.0.30", True),))
    return rows


PRINTER_MAC = "3c:2a:f4:a1:b2:c3"


def demo_printer_neighbors() -> list[Row]:
    """LLDP of the demo printer (a Jetdirect: one port, eth0 = ifIndex 1, a station): its
    chassis id is the MAC the switch sees on g3, and the switch is its neighbour there."""
    rows = lldp_local(PRINTER_MAC, "clerk-printer", [], STATION_CAP)
    # port 1: a MAC port id (subtype 3, six octets), described as its ifDescr
    rows += [(f"{L}.3.7.1.2.1", "2", 3), (f"{L}.3.7.1.3.1", "4x", hexmac(PRINTER_MAC)),
             (f"{L}.3.7.1.4.1", "4", "HP ETHERNET MULTI-ENVIRONMENT"),
             (f"{PHYS}.1", "4x", hexmac(PRINTER_MAC))]
    rows += lldp_remote("0.1.1", chassis=(4, "4x", hexmac("a0:40:a0:5b:00:00")),
                        port=(5, "4", "g3"), port_desc="g3", name="core-switch",
                        descr="GS724Tv4 ProSafe 24-port Gigabit Ethernet Smart Switch",
                        caps=BRIDGE_CAP, addresses=(("10.0.0.2", True),))
    return rows


NEIGHBOR_DEVICES = {"cisco-core": cisco_core, "aruba-2930f": aruba_2930f,
                    "junos-ex": junos_ex, "routeros-lldp": routeros_lldp}
