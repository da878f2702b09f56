"""Recordings of real devices that were classed, named or judged wrongly (issue 17), written
from the vendors' MIBs and the sysObjectIDs and sysDescr strings their documentation shows.
The values are ours, not another project's test data.

* ``aruba-cx``: an Aruba CX 6300M switch; answers HOST-RESOURCES memory rows (once: "server").
* ``unifi-ap``: a UniFi U6-Lite on plain net-snmp (once: "network").
* ``edgeos`` / ``edgeswitch``: Ubiquiti's router and switch under enterprise 41112 (once:
  "wireless").
* ``opnsense``: OPNsense 24.7 on net-snmp, sysDescr a plain FreeBSD one (once: "server");
  ``opnsense-bsnmpd``: an older one on bsnmpd (once: vendor "pfSense").
* ``pfsense``: bsnmpd, "/" of hrStorageType other at 94 % (once: never checked).
* ``usg-flex``: a Zyxel USG FLEX 100 on net-snmp with the ZLD MIB (once: "server").
* ``liebert``: a Vertiv Liebert GXT5 with only LIEBERT-GP-POWER-MIB (once: "network", no UPS
  check).
* ``routeros``: a MikroTik CCR2004 whose ENTITY-MIB names a USB hub "0x1d6b"/"0x0002".
* ``windows``: a Windows server whose first hrDevice is "Microsoft Print To PDF".
* ``cisco-ios``: a Catalyst 2960 with a four-line sysDescr.
* ``qnap``: a TS-453Be on QTS 4 (NAS-MIB): /mnt/ext at 93 % of 420 MB, an empty bay.
* ``qnap-qts``: a TS-464 on QTS 5 (QNAP-NAS-MIB) with a degraded RAID 1 and a disk whose
  SMART is abnormal.
* ``printer-ricoh``: an empty waste box (100 of 100: all room left), toners "some remaining"
  (-3) and one out (-100, Ricoh's "empty").
* ``printer-canon``: a waste box at 6030 of 6700 (90 % room left).
* ``printer-konica``: toners that only ever report "some remaining".
* ``printer-partial``: a supplies table whose levels the agent does not answer.
* ``ups-apc-highprec``: an AP9641 card that fills only PowerNet's high-precision group.
* ``ups-bypass``: an RFC 1628 UPS on bypass with an empty alarm table.
* ``ups-partial``: an RFC 1628 agent answering upsBatteryStatus and nothing else.
"""

from __future__ import annotations

from lab.snmp_recordings import Row, interfaces, octets, storage, system

NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"
E = "1.3.6.1.2.1.47.1.1.1.1"


def _ports(names: list[str], down: tuple[str, ...] = ()) -> list[dict]:
    return [{"index": i, "descr": name, "name": name, "in": 10**9 * i, "out": 10**9 * i,
             "pkts": 10**6 * i, "oper": 2 if name in down else 1}
            for i, name in enumerate(names, 1)]


def _chassis(descr: str, vendor: str, model: str, serial: str, firmware: str) -> list[Row]:
    return [(f"{E}.2.1", "4", descr), (f"{E}.5.1", "2", 3), (f"{E}.7.1", "4", "chassis"),
            (f"{E}.10.1", "4", firmware), (f"{E}.11.1", "4", serial), (f"{E}.12.1", "4", vendor),
            (f"{E}.13.1", "4", model)]


def _memory(total_kib: int, used_kib: int) -> list[Row]:
    return storage([(1, 2, "Physical memory", 1024, total_kib, used_kib)])


def aruba_cx() -> list[Row]:
    rows = system("Aruba JL658A 6300M 24SFP+ 4SFP56 Swch FL.10.08.1010",
                  "1.3.6.1.4.1.47196.4.1.1.1.100", "core-cx", 456_000_000)
    rows += interfaces(_ports([f"1/1/{n}" for n in range(1, 29)], down=("1/1/20",)))
    rows += storage([(1, 2, "Physical memory", 1024, 7_784_284, 1_602_976),
                     (2, 1, "Cached memory", 1024, 2_190_028, 2_190_028)])
    rows += [(f"1.3.6.1.2.1.25.3.3.1.2.{196608 + n}", "2", 4) for n in range(4)]
    rows += _chassis("6300M 24SFP+ 4SFP56 Swch", "Aruba", "JL658A", "SG0ZKMV04Q",
                     "FL.10.08.1010")
    return rows


def unifi_ap() -> list[Row]:
    rows = system("U6-Lite 6.6.77.15402", NET_SNMP_LINUX, "ap-council-chamber", 12_000_000)
    rows += interfaces(_ports(["lo", "eth0", "ra0", "rai0"]))
    return rows + _memory(250_000, 190_000)


def edgeos() -> list[Row]:
    rows = system("EdgeOS v2.0.9-hotfix.7.5622762.230615.1131", "1.3.6.1.4.1.41112.1.5",
                  "gw-annex", 98_000_000)
    return rows + interfaces(_ports(["lo", "eth0", "eth1", "eth2", "switch0"]))


def edgeswitch() -> list[Row]:
    rows = system("EdgeSwitch 24-Port Lite, 1.9.3.5219888, Linux 3.6.5, 1.0.0.4857129",
                  "1.3.6.1.4.1.41112", "sw-annex", 77_000_000)
    return rows + interfaces(_ports([f"0/{n}" for n in range(1, 27)]))


def opnsense() -> list[Row]:
    rows = system("FreeBSD gw.town.example 14.1-RELEASE-p6 FreeBSD 14.1-RELEASE-p6 "
                  "stable/24.7-n267980-2a9af2d64d50 SMP amd64", "1.3.6.1.4.1.8072.3.2.8",
                  "gw", 33_000_000)
    rows += interfaces(_ports(["vtnet0", "vtnet1", "lo0", "pflog0"]))
    rows += storage([(1, 2, "Physical memory", 1024, 4_000_000, 1_100_000),
                     (31, 4, "/", 4096, 5_000_000, 1_200_000)])
    # NET-SNMP-EXTEND-MIB nsExtendOutputFull."version"
    return rows + [("1.3.6.1.4.1.8072.1.3.2.3.1.2.7.118.101.114.115.105.111.110", "4",
                    "OPNsense 24.7.9_1")]


def opnsense_bsnmpd() -> list[Row]:
    rows = system("OPNsense fw.town.example 19.1.10-6c4b6d4a0 OPNsense FreeBSD "
                  "11.2-RELEASE-p10-HBSD amd64", "1.3.6.1.4.1.12325.1.1.2.1.1", "fw",
                  21_000_000)
    return rows + interfaces(_ports(["em0", "em1", "lo0"]))


def pfsense() -> list[Row]:
    rows = system("pfSense fw-annex.town.example 2.7.2-RELEASE pfSense FreeBSD 14.0-CURRENT "
                  "amd64", "1.3.6.1.4.1.12325.1.1.2.1.1", "fw-annex", 51_000_000)
    rows += interfaces(_ports(["igb0", "igb1", "lo0", "enc0"]))
    # bsnmpd's hostres: filesystems are hrStorageOther (1) or have no type at all
    rows += storage([(1, 2, "Real Memory Metrics", 4096, 2_000_000, 700_000),
                     (2, 3, "Swap Space", 4096, 1_000_000, 0),
                     (10, 1, "/", 4096, 5_000_000, 4_700_000),
                     (11, None, "/dev", 1024, 1, 1),
                     (12, 1, "/var/run", 4096, 850, 40)])
    return rows


def usg_flex() -> list[Row]:
    rows = system("USG FLEX 100", NET_SNMP_LINUX, "fw-clerk", 64_000_000)
    rows += interfaces(_ports(["ge1", "ge2", "ge3", "ge4", "ge5", "lo"]))
    rows += _memory(1_000_000, 380_000)
    z = "1.3.6.1.4.1.890.1"
    return rows + [(f"{z}.6.22.1.1.0", "2", 7), (f"{z}.6.22.1.2.0", "2", 38),
                   (f"{z}.15.3.1.6.0", "4", "V1.31(ABUJ.1)"),
                   (f"{z}.15.3.1.11.0", "4", "USG FLEX 100"),
                   (f"{z}.15.3.1.12.0", "4", "S212Z12345678")]


def liebert() -> list[Row]:
    rows = system("Vertiv Liebert GXT5 with IntelliSlot Unity Card RDU101, firmware "
                  "7.4.0.0_100", "1.3.6.1.4.1.476.1.42", "ups-annex", 300_000_000)
    rows += interfaces(_ports(["eth0"]))
    p, a = "1.3.6.1.4.1.476.1.42.3.5", "1.3.6.1.4.1.476.1.42.2"
    rows += [(f"{a}.1.1.0", "4", "Liebert Corporation"), (f"{a}.1.2.0", "4", "RDU101"),
             (f"{a}.4.2.1.2.1", "6", "1.3.6.1.4.1.476.1.42.4.2.23"),
             (f"{a}.4.2.1.3.1", "4", "Vertiv"), (f"{a}.4.2.1.4.1", "4", "GXT5-1500IRT2UXL"),
             (f"{a}.4.2.1.5.1", "4", "2.3.1"), (f"{a}.4.2.1.7.1", "4", "2102700123AFA"),
             (f"{p}.1.8.0", "2", 2), (f"{p}.1.14.0", "2", 1), (f"{p}.1.18.0", "2", 38),
             (f"{p}.1.19.0", "2", 100), (f"{p}.1.26.0", "2", 2), (f"{p}.3.55.0", "2", 3)]
    return rows


def routeros() -> list[Row]:
    rows = system("RouterOS CCR2004-16G-2S+", "1.3.6.1.4.1.14988.1", "gw-main", 610_000_000)
    rows += interfaces(_ports([f"ether{n}" for n in range(1, 17)] + ["sfp-sfpplus1"]))
    # ENTITY-MIB: an empty chassis row, then the USB root hub with its USB ids
    rows += [(f"{E}.2.1", "4", "RouterOS CCR2004-16G-2S+"), (f"{E}.5.1", "2", 3),
             (f"{E}.12.1", "4", ""), (f"{E}.13.1", "4", ""),
             (f"{E}.2.2", "4", "xHCI Host Controller"), (f"{E}.5.2", "2", 1),
             (f"{E}.12.2", "4", "0x1d6b"), (f"{E}.13.2", "4", "0x0002")]
    m = "1.3.6.1.4.1.14988.1.1.7"
    return rows + [(f"{m}.3.0", "4", "HEX0A1B2C3D"), (f"{m}.4.0", "4", "7.15.3"),
                   (f"{m}.8.0", "4", "CCR2004-16G-2S+")]


def windows() -> list[Row]:
    rows = system("Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - "
                  "Software: Windows Version 6.3 (Build 17763 Multiprocessor Free)",
                  "1.3.6.1.4.1.311.1.1.3.1.2", "FILESRV01", 260_000_000)
    rows += interfaces(_ports(["Intel(R) Ethernet Connection X722", "Loopback"]))
    d = "1.3.6.1.2.1.25.3.2.1"
    for i, (kind, name) in enumerate((("5", "Microsoft Print To PDF"),
                                      ("5", "Microsoft XPS Document Writer v4"),
                                      ("3", "Intel(R) Xeon(R) Silver 4210 CPU @ 2.20GHz")), 1):
        rows += [(f"{d}.2.{i}", "6", f"1.3.6.1.2.1.25.3.1.{kind}"), (f"{d}.3.{i}", "4", name)]
    rows += storage([(1, 4, "C:\\ Label:  Serial Number 9c2a1b3d", 4096, 26_000_000,
                      14_000_000),
                     (2, 7, "D:\\", 0, 0, 0),
                     (3, 3, "Virtual Memory", 65536, 300_000, 120_000),
                     (4, 2, "Physical Memory", 65536, 260_000, 110_000)])
    return rows


def cisco_ios() -> list[Row]:
    rows = system("Cisco IOS Software, C2960 Software (C2960-LANBASEK9-M), Version "
                  "15.0(2)SE11, RELEASE SOFTWARE (fc3)\r\nTechnical Support: "
                  "http://www.cisco.com/techsupport\r\nCopyright (c) 1986-2017 by Cisco "
                  "Systems, Inc.\r\nCompiled Sat 19-Aug-17 09:34 by prod_rel_team",
                  "1.3.6.1.4.1.9.1.1208", "access-2", 900_000_000)
    return rows + interfaces(_ports([f"Gi0/{n}" for n in range(1, 9)]))


def qnap() -> list[Row]:
    rows = system("Linux archive 4.14.24-qnap #1 SMP Tue Jun 25 02:53:26 CST 2024 x86_64",
                  NET_SNMP_LINUX, "archive", 80_000_000)
    rows += interfaces(_ports(["lo", "eth0", "eth1"], down=("eth1",)))
    rows += storage([(1, 2, "Physical memory", 1024, 8_000_000, 2_900_000),
                     (31, 4, "/mnt/HDA_ROOT", 4096, 100_000, 40_000),
                     (32, 4, "/mnt/ext", 4096, 103_000, 95_790),          # 93 % of 420 MB
                     (40, 4, "/share/CACHEDEV1_DATA", 4096, 1_900_000_000, 1_140_000_000)])
    n = "1.3.6.1.4.1.24681.1.2"
    rows += [(f"{n}.12.0", "4", "TS-453Be")]
    for i in range(1, 5):
        present = i < 4
        rows += [(f"{n}.11.1.1.{i}", "2", i), (f"{n}.11.1.2.{i}", "4", f"HDD{i}"),
                 (f"{n}.11.1.3.{i}", "4", f"{36 + i} C/{(36 + i) * 1.8 + 32:.1f} F"
                  if present else "--"),
                 (f"{n}.11.1.4.{i}", "2", 0 if present else -5),
                 (f"{n}.11.1.5.{i}", "4", "WDC WD40EFRX-68N32N0" if present else "--"),
                 (f"{n}.11.1.6.{i}", "4", "3.64 TB" if present else "--"),
                 (f"{n}.11.1.7.{i}", "4", "GOOD" if present else "--")]
    rows += [(f"{n}.17.1.1.1", "2", 1),
             (f"{n}.17.1.2.1", "4", "[RAID 5 Disk Volume: Drive 1 2 3]"),
             (f"{n}.17.1.3.1", "4", "EXT4"), (f"{n}.17.1.4.1", "4", "7.26 TB"),
             (f"{n}.17.1.5.1", "4", "2.90 TB"), (f"{n}.17.1.6.1", "4", "Ready")]
    return rows


def qnap_qts() -> list[Row]:
    rows = system("Linux archive2 5.10.60-qnap #1 SMP Mon Feb 19 02:15:42 CST 2024 x86_64",
                  NET_SNMP_LINUX, "archive2", 9_000_000)
    rows += interfaces(_ports(["lo", "eth0"]))
    rows += storage([(1, 2, "Physical memory", 1024, 8_000_000, 2_000_000),
                     (40, 4, "/share/CACHEDEV1_DATA", 4096, 950_000_000, 400_000_000)])
    q = "1.3.6.1.4.1.55062.1"
    rows += [(f"{q}.12.3.0", "4", "TS-464"), (f"{q}.12.5.0", "4", "Q221I12345"),
             (f"{q}.12.6.0", "4", "5.1.8.2823")]
    for i, (serial, smart, temp) in enumerate((("ZW6ABC12", 0, 35), ("ZW6ABC34", 2, 39)), 1):
        rows += [(f"{q}.10.2.1.1.{i}", "2", i), (f"{q}.10.2.1.2.{i}", "4", f"HDD{i}"),
                 (f"{q}.10.2.1.3.{i}", "4", "Seagate"),
                 (f"{q}.10.2.1.4.{i}", "4", "ST4000VN006-3CW104"),
                 (f"{q}.10.2.1.5.{i}", "4", serial), (f"{q}.10.2.1.6.{i}", "4", "HDD"),
                 (f"{q}.10.2.1.7.{i}", "2", smart), (f"{q}.10.2.1.8.{i}", "2", temp)]
    rows += [(f"{q}.10.5.1.1.1", "2", 1), (f"{q}.10.5.1.2.1", "2", 1),
             (f"{q}.10.5.1.3.1", "4", "RAID 1 Disk Volume"), (f"{q}.10.5.1.4.1", "2", 2),
             (f"{q}.10.5.1.7.1", "4", "RAID 1")]
    return rows


def _supplies(rows_in: list[tuple]) -> list[Row]:
    """prtMarkerSuppliesTable rows: (index, class, type, descr, max, level)."""
    t = "1.3.6.1.2.1.43.11.1.1"
    rows: list[Row] = []
    for i, cls, typ, descr, maximum, level in rows_in:
        rows += [(f"{t}.2.1.{i}", "2", 1), (f"{t}.3.1.{i}", "2", 0), (f"{t}.4.1.{i}", "2", cls),
                 (f"{t}.5.1.{i}", "2", typ), (f"{t}.6.1.{i}", *octets(descr)),
                 (f"{t}.7.1.{i}", "2", 19), (f"{t}.8.1.{i}", "2", maximum)]
        if level is not None:
            rows.append((f"{t}.9.1.{i}", "2", level))
    return rows


def _printer_status(errors_hex: str = "0000") -> list[Row]:
    return [("1.3.6.1.2.1.25.3.5.1.1.1", "2", 3), ("1.3.6.1.2.1.25.3.5.1.2.1", "4x", errors_hex)]


def printer_ricoh() -> list[Row]:
    rows = system("RICOH IM C3000 1.00 / RICOH Network Printer C model / RICOH Network "
                  "Scanner C model / RICOH Network Facsimile C model", "1.3.6.1.4.1.367.1.1",
                  "copier-2f", 41_000_000)
    rows += interfaces(_ports(["ncmac0"])) + _printer_status()
    return rows + _supplies([(1, 3, 3, "Toner Black", 100, -3), (2, 3, 3, "Toner Cyan", 100, -3),
                             (3, 3, 3, "Toner Magenta", 100, -100),
                             (4, 3, 3, "Toner Yellow", 100, -3),
                             (5, 4, 4, "Waste Toner", 100, 100)])


def printer_canon() -> list[Row]:
    rows = system("Canon iR-ADV C3530 /P", "1.3.6.1.4.1.1602.4.7", "copier-1f", 8_000_000)
    rows += interfaces(_ports(["eth0"])) + _printer_status()
    return rows + _supplies([(1, 3, 3, "Black Toner", 100, 45), (2, 3, 3, "Cyan Toner", 100, 60),
                             (3, 3, 3, "Magenta Toner", 100, 70),
                             (4, 3, 3, "Yellow Toner", 100, 80),
                             (5, 4, 4, "Waste Toner Container", 6700, 6030)])


def printer_konica() -> list[Row]:
    rows = system("KONICA MINOLTA bizhub C300i", "1.3.6.1.4.1.18334.1.2.1.1.1.1", "copier-3f",
                  5_000_000)
    rows += interfaces(_ports(["eth0"])) + _printer_status()
    return rows + _supplies([(1, 3, 3, "Toner (Black)", -2, -3), (2, 3, 3, "Toner (Cyan)", -2, -3),
                             (3, 3, 9, "Drum Cartridge (Black)", 100, 55),
                             (4, 4, 4, "Waste Toner Box", -2, -3)])


def printer_partial() -> list[Row]:
    rows = system("HP ETHERNET MULTI-ENVIRONMENT", "1.3.6.1.4.1.11.2.3.9.1", "hall-printer",
                  3_000_000)
    rows += interfaces(_ports(["eth0"])) + _printer_status()
    return rows + _supplies([(1, 3, 3, "Black Cartridge HP 26X", 100, None),
                             (2, 3, 9, "Imaging Drum", 100, None)])


def ups_apc_highprec() -> list[Row]:
    rows = system("APC Web/SNMP Management Card (MB:v1.2.0 PF:v2.5.1.7 PN:apc_hw21_aos_2.5.1.7"
                  ".bin AF1:v2.5.1.7 AN1:apc_hw21_su_2.5.1.7.bin MN:AP9641 HR:B0 SN: "
                  "5A2112T12345 MD:03/22/2021)", "1.3.6.1.4.1.318.1.3.27", "ups-annex",
                  77_000_000)
    a = "1.3.6.1.4.1.318.1.1.1"
    return rows + [(f"{a}.1.1.1.0", "4", "Smart-UPS 1500"), (f"{a}.1.2.3.0", "4", "3S2112X12345"),
                   (f"{a}.2.1.1.0", "2", 2), (f"{a}.2.2.3.0", "67", 312_000),
                   (f"{a}.2.3.1.0", "66", 1000), (f"{a}.2.3.2.0", "66", 262),
                   (f"{a}.3.3.1.0", "66", 2304), (f"{a}.4.1.1.0", "2", 2),
                   (f"{a}.4.3.3.0", "66", 187)]


def _rfc1628(extra: list[Row]) -> list[Row]:
    u = "1.3.6.1.2.1.33.1"
    return [(f"{u}.1.1.0", "4", "Socomec"), (f"{u}.1.2.0", "4", "NETYS RT 1/1 3kVA")] + extra


def ups_bypass() -> list[Row]:
    rows = system("NETYS RT 3000 Net Vision", "1.3.6.1.4.1.4555.1.1.1", "ups-basement-2",
                  44_000_000)
    u = "1.3.6.1.2.1.33.1"
    return rows + _rfc1628([(f"{u}.2.1.0", "2", 2), (f"{u}.2.3.0", "2", 40),
                            (f"{u}.2.4.0", "2", 100), (f"{u}.4.1.0", "2", 4),
                            (f"{u}.4.4.1.5.1", "2", 35), (f"{u}.6.1.0", "66", 0)])


def ups_partial() -> list[Row]:
    rows = system("UPS network card", "1.3.6.1.4.1.935.10.1", "ups-hall", 1_000_000)
    return rows + [("1.3.6.1.2.1.33.1.2.1.0", "2", 2)]


VENDOR_DEVICES = {
    "aruba-cx": aruba_cx, "unifi-ap": unifi_ap, "edgeos": edgeos, "edgeswitch": edgeswitch,
    "opnsense": opnsense, "opnsense-bsnmpd": opnsense_bsnmpd, "pfsense": pfsense,
    "usg-flex": usg_flex, "liebert": liebert, "routeros": routeros, "windows": windows,
    "cisco-ios": cisco_ios, "qnap": qnap, "qnap-qts": qnap_qts, "printer-ricoh": printer_ricoh,
    "printer-canon": printer_canon, "printer-konica": printer_konica,
    "printer-partial": printer_partial, "ups-apc-highprec": ups_apc_highprec,
    "ups-bypass": ups_bypass, "ups-partial": ups_partial,
}
