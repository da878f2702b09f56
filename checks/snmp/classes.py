"""The device class (printer, ups, storage, firewall, wireless, network, server) from an
ordered, data-driven table of evidence.

Order of evidence, strongest first:

1. MIBs that answer: a Printer-MIB supplies table, a UPS MIB, a NAS vendor's MIB (Synology,
   QNAP) or a firewall vendor's MIB (Zyxel ZLD) says what the box is, whatever its host name.
2. Products told apart by sysObjectID and sysDescr: several vendors ship very different boxes
   under one enterprise number (Ubiquiti: routers, switches and access points; FreeBSD's
   bsnmpd: pfSense, OPNsense and plain servers), or run plain net-snmp (UniFi access points,
   Synology, OPNsense).
3. The sysObjectID's enterprise number (Cisco, Netgear, Fortinet... about 60).
4. Words in sysDescr.
5. The shape of the data: disks mean a server, ports only a network device.

The sysObjectID prefixes and sysDescr patterns were learnt from the vendors' MIBs and
documentation and from the OS definitions of LibreNMS (``includes/definitions/*.yaml``); the
table is ours. The first rule that matches wins; every rule is covered by a test on a
recording of that device (``tests/test_snmp_devices.py``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Set
from dataclasses import dataclass

from muni_watchdog.checks.snmp import oids as O
from muni_watchdog.checks.snmp.values import Snapshot, integer, oid_text, text

DEVICE_CLASSES = ("printer", "ups", "network", "server", "storage", "wireless", "firewall",
                  "unknown")
# Roots whose presence classifies a device (one GETNEXT each, ten per request).
PROBES = {"printer": O.PRT_SUPPLIES, "ups": O.UPS_MIB, "apc": "1.3.6.1.4.1.318.1.1.1",
          "cyberpower": "1.3.6.1.4.1.3808.1.1.1", "eaton": "1.3.6.1.4.1.534.1",
          "mge": "1.3.6.1.4.1.705.1", "liebert": O.LIEBERT_POWER,
          "synology": O.SYNO_SYSTEM, "qnap": "1.3.6.1.4.1.24681.1.2",
          "qnap_qts": "1.3.6.1.4.1.55062.1", "qnap_hero": "1.3.6.1.4.1.55062.2",
          "zyxel_zld": "1.3.6.1.4.1.890.1.6.22",
          "storage": O.HR_STORAGE, "interfaces": O.IF_TABLE}
UPS_PROBES = ("ups", "apc", "cyberpower", "eaton", "mge", "liebert")
NAS_PROBES = ("synology", "qnap", "qnap_qts", "qnap_hero")

ENTERPRISE_PREFIX = "1.3.6.1.4.1."
NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"
NET_SNMP_FREEBSD = "1.3.6.1.4.1.8072.3.2.8"
BSNMPD = "1.3.6.1.4.1.12325.1.1.2.1"      # FreeBSD's bsnmpd (begemotSnmpd): pfSense, OPNsense
UBIQUITI = "1.3.6.1.4.1.41112"
BROADCOM = "1.3.6.1.4.1.4413"             # FASTPATH switches (EdgeSwitch, UniFi switches)


@dataclass(frozen=True)
class Rule:
    """One piece of evidence. Every condition given must hold: ``probes`` (one of them
    answered), ``object_ids`` (sysObjectID starts with one of them, at an arc boundary),
    ``descr`` (a case-insensitive regex on sysDescr; a named group ``model`` gives the
    model) and ``extra`` ((scalar OID, regex) pairs)."""

    name: str
    device_class: str
    vendor: str | None = None
    probes: tuple[str, ...] = ()
    object_ids: tuple[str, ...] = ()
    descr: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    def matches(self, snapshot: Snapshot, answering: Set[str]) -> re.Match | bool:
        if self.probes and not answering.intersection(self.probes):
            return False
        if self.object_ids and not any(_under(oid_text(snapshot.get(O.SYS_OBJECT_ID)), p)
                                       for p in self.object_ids):
            return False
        for oid, pattern in self.extra:
            if not re.search(pattern, text(snapshot.get(oid)), re.I):
                return False
        if self.descr is not None:
            return re.search(self.descr, descr_of(snapshot), re.I) or False
        return True


RULES: tuple[Rule, ...] = (
    # 1. the MIBs that answer
    Rule("Printer-MIB", "printer", probes=("printer",)),
    Rule("UPS MIB", "ups", probes=UPS_PROBES),
    Rule("Synology DSM", "storage", "Synology", probes=("synology",)),
    Rule("QNAP QTS", "storage", "QNAP", probes=("qnap", "qnap_qts", "qnap_hero")),
    Rule("Zyxel ZLD firewall", "firewall", "Zyxel", probes=("zyxel_zld",)),
    # 2. products behind a shared enterprise number or plain net-snmp
    Rule("UniFi access point", "wireless", "Ubiquiti",
         object_ids=(UBIQUITI, NET_SNMP_LINUX, "1.3.6.1.4.1.10002.1"),
         descr=r"^(?P<model>(UAP|U6|U7|UAL|UWB|U-LTE|E7)[\w-]*)"),
    Rule("Ubiquiti EdgeSwitch / UniFi switch", "network", "Ubiquiti",
         object_ids=(UBIQUITI, BROADCOM, NET_SNMP_LINUX),
         descr=r"^(?P<model>EdgeSwitch[^,]*|EdgePoint[^,]*|USW-[^,\s]+|UBNT US[^,]*)"),
    Rule("Ubiquiti EdgeOS", "network", "Ubiquiti", object_ids=(f"{UBIQUITI}.1.5",)),
    Rule("Ubiquiti EdgeOS", "network", "Ubiquiti", descr=r"^(EdgeOS|EdgeRouter)\b"),
    Rule("Ubiquiti airOS", "wireless", "Ubiquiti", object_ids=("1.3.6.1.4.1.10002.1",)),
    Rule("OPNsense", "firewall", "OPNsense", descr=r"\bOPNsense\b"),
    Rule("OPNsense", "firewall", "OPNsense", extra=((O.EXTEND_VERSION, r"OPNsense"),)),
    # OPNsense builds its kernel from its own stable/YY.M branch; plain FreeBSD does not.
    Rule("OPNsense", "firewall", "OPNsense", object_ids=(NET_SNMP_FREEBSD, BSNMPD),
         descr=r"^FreeBSD .*\bstable/\d\d\.\d+-"),
    Rule("pfSense", "firewall", "Netgate", descr=r"\bpfSense\b"),
    Rule("Zyxel firewall", "firewall", "Zyxel",
         descr=r"^(?P<model>(USG FLEX|USG|ZyWALL|ATP|VPN)\s?\d+\w*)"),
    Rule("Cisco ASA", "firewall", "Cisco", descr=r"Cisco Adaptive Security Appliance"),
    Rule("Aruba CX", "network", "HPE Aruba Networking",
         object_ids=("1.3.6.1.4.1.47196.4.1.1",)),
    Rule("Aruba CX", "network", "HPE Aruba Networking",
         descr=r"^(Aruba|HPE ANW) \w+ .*\b[A-Z]{2}\.\d{2}\.\d{2}\.\d{4}\b"),
    Rule("MikroTik RouterOS", "network", "MikroTik", object_ids=("1.3.6.1.4.1.14988",),
         descr=r"^RouterOS (?P<model>\S+)"),
    Rule("MikroTik RouterOS", "network", "MikroTik", object_ids=("1.3.6.1.4.1.14988",)),
    Rule("Windows", "server", "Microsoft", object_ids=("1.3.6.1.4.1.311.1.1.3",)),
    Rule("Windows", "server", "Microsoft", descr=r"\bSoftware: Windows\b"),
    Rule("NETGEAR ReadyNAS", "storage", "NETGEAR", object_ids=("1.3.6.1.4.1.4526.100.16",)),
    Rule("TrueNAS", "storage", "iXsystems", descr=r"\b(TrueNAS|FreeNAS)\b"),
)

# 3. Enterprise number -> (vendor, class when no rule above matched; None: decide from data).
# Printer and UPS makers are listed for the vendor only: without their MIB answering there
# is nothing for the printer or ups check to judge.
ENTERPRISES: dict[int, tuple[str, str | None]] = {
    9: ("Cisco", "network"), 11: ("HP", None), 43: ("3Com", "network"), 171: ("D-Link", "network"),
    232: ("HPE", "server"), 236: ("Samsung", None), 253: ("Xerox", None),
    297: ("Fuji Xerox", None), 311: ("Microsoft", "server"),
    318: ("APC", None), 367: ("Ricoh", None), 476: ("Vertiv", None), 534: ("Eaton", None),
    641: ("Lexmark", None), 674: ("Dell", "server"), 705: ("MGE", None),
    850: ("Tripp Lite", None), 890: ("Zyxel", "network"), 1129: ("Toshiba", None),
    1248: ("Epson", None), 1347: ("Kyocera", None),
    1602: ("Canon", None), 1916: ("Extreme Networks", "network"), 2001: ("OKI", None),
    2385: ("Sharp", None), 2435: ("Brother", None), 2604: ("Sophos", "firewall"),
    2620: ("Check Point", "firewall"),
    2636: ("Juniper", "network"), 3076: ("Cisco VPN", "firewall"), 3097: ("WatchGuard", "firewall"),
    3375: ("F5", "network"), 3808: ("CyberPower", None), 4413: ("Broadcom", "network"),
    4526: ("Netgear", "network"), 4555: ("Socomec", None), 4976: ("ReadyNAS", "storage"),
    6486: ("Alcatel-Lucent", "network"), 6574: ("Synology", "storage"),
    6876: ("VMware", "server"), 8072: ("net-snmp", None), 8741: ("SonicWall", "firewall"),
    9303: ("PacketFront", "network"), 10002: ("Ubiquiti", "wireless"),
    11863: ("TP-Link", "network"), 12325: ("FreeBSD", None), 12356: ("Fortinet", "firewall"),
    14179: ("Cisco Wireless", "wireless"), 14823: ("Aruba", "wireless"),
    14988: ("MikroTik", "network"), 18334: ("Konica Minolta", None), 21067: ("Cyberoam", "firewall"),
    24681: ("QNAP", "storage"), 25461: ("Palo Alto Networks", "firewall"),
    25506: ("H3C", "network"), 26543: ("Ruckus", "wireless"), 41112: ("Ubiquiti", None),
    47196: ("HPE Aruba Networking", "network"), 50536: ("TrueNAS", "storage"),
    55062: ("QNAP", "storage"),
}
# 4. Words in sysDescr, host names left out (a host called "nas1" or "fw" proves nothing).
# Strong words beat the enterprise number (a Cisco ASA is a firewall, not a switch); weak
# ones only follow it. Printer and UPS words give "unknown": without their MIB answering
# there is nothing to judge, and "network" would be wrong.
STRONG_HINTS = (
    (re.compile(r"synology|diskstation|\bqnap\b|readynas|truenas|freenas", re.I), "storage"),
    (re.compile(r"fortigate|sonicwall|firewall|\basa\b|sophos|watchguard", re.I), "firewall"),
    (re.compile(r"access point|unifi|wireless|airos|aironet", re.I), "wireless"),
)
WEAK_HINTS = (
    (re.compile(r"printer|laserjet|officejet|imagerunner|bizhub|ecosys|workcentre|mfc-|"
                r"\bhl-\d", re.I), "unknown"),
    (re.compile(r"\bups\b|smart-ups|powerware|back-ups", re.I), "unknown"),
    (re.compile(r"switch|router|routeros|procurve|catalyst|ios software|junos|edgeos|"
                r"netgear|tp-link", re.I), "network"),
    (re.compile(r"linux|windows|freebsd|sunos|darwin|esxi", re.I), "server"),
)
# net-snmp and bsnmpd put the host name second: "Linux records-nas 4.4.302+ #72806 SMP ...".
HOST_NAME = re.compile(r"^(Linux|FreeBSD|NetBSD|OpenBSD|SunOS|Darwin|pfSense|OPNsense) \S+",
                       re.I)
NAS_WORDS = (("synology", "Synology"), ("diskstation", "Synology"), ("qnap", "QNAP"),
             ("readynas", "NETGEAR"), ("truenas", "iXsystems"), ("asustor", "ASUSTOR"))


def descr_of(snapshot: Snapshot) -> str:
    """sysDescr without the host name that Unix agents put in it."""
    descr = text(snapshot.get(O.SYS_DESCR))
    return HOST_NAME.sub(lambda m: m.group(1) + " -", descr, count=1)


def _under(object_id: str, prefix: str) -> bool:
    return object_id == prefix or object_id.startswith(prefix + ".")


def enterprise(object_id: str) -> int | None:
    if not object_id.startswith(ENTERPRISE_PREFIX):
        return None
    return integer(object_id[len(ENTERPRISE_PREFIX):].split(".")[0])


# What the rules read of a snapshot: the answer depends on these values and the answering
# probes only, so it is remembered (issue 16: ~60 rules, two regex searches each, were run
# twice per device poll — a tenth of the daemon's CPU at 500 devices).
_LOOKED_AT = (O.SYS_OBJECT_ID, O.SYS_DESCR,
              *sorted({oid for rule in RULES for oid, _ in rule.extra}))


def _remembered(judge):
    """``judge(snapshot, answering)`` remembered by the values it reads (``_LOOKED_AT``) and
    the answering probes: the same answer for every poll of a device and every device of a
    model, without ~60 rules and their regexes each time (issue 16)."""
    @functools.lru_cache(maxsize=1024)
    def remembered(key: tuple, answering: frozenset[str]):
        return judge(dict(zip(_LOOKED_AT, key, strict=True)), answering)

    @functools.wraps(judge)
    def judged(snapshot: Snapshot, answering: Set[str]):
        key = tuple(snapshot.get(oid) for oid in _LOOKED_AT)
        try:
            return remembered(key, frozenset(answering))
        except TypeError:  # a value that cannot be a key: judged without the memory
            return judge(dict(zip(_LOOKED_AT, key, strict=True)), answering)
    judged.remembered = remembered   # type: ignore[attr-defined]
    return judged


@_remembered
def matching_rule(snapshot: Snapshot, answering: Set[str]) -> tuple[Rule, str | None] | None:
    """The first rule that matches, and the model its sysDescr pattern names (if any)."""
    return _first_rule(snapshot, answering)


def _first_rule(snapshot: Snapshot, answering: Set[str]) -> tuple[Rule, str | None] | None:
    for rule in RULES:
        found = rule.matches(snapshot, answering)
        if found:
            model = found.groupdict().get("model") if isinstance(found, re.Match) else None
            return rule, model
    return None


@_remembered
def classify(snapshot: Snapshot, answering: Set[str]) -> str:
    """The device class; ``answering`` holds the PROBES keys whose subtree answered."""
    found = matching_rule(snapshot, answering)
    if found is not None:
        return found[0].device_class
    descr = descr_of(snapshot)
    for pattern, device_class in STRONG_HINTS:
        if pattern.search(descr):
            return device_class
    number = enterprise(oid_text(snapshot.get(O.SYS_OBJECT_ID)))
    by_enterprise = ENTERPRISES.get(number, ("", None))[1] if number is not None else None
    if by_enterprise is not None:
        return by_enterprise
    for pattern, device_class in WEAK_HINTS:
        if pattern.search(descr):
            return device_class
    if "storage" in answering:
        return "server"
    if "interfaces" in answering:
        return "network"
    return "unknown"


@_remembered
def vendor(snapshot: Snapshot, answering: Set[str]) -> str | None:
    """Whose box it is, from the matching rule, else the enterprise number, else a NAS name
    in sysDescr (NAS boxes run net-snmp under their own name)."""
    found = matching_rule(snapshot, answering)
    if found is not None and found[0].vendor:
        return found[0].vendor
    number = enterprise(oid_text(snapshot.get(O.SYS_OBJECT_ID)))
    name = ENTERPRISES[number][0] if number in ENTERPRISES else None
    if name in (None, "net-snmp", "FreeBSD"):
        descr = descr_of(snapshot).lower()
        for word, nas_vendor in NAS_WORDS:
            if word in descr:
                return nas_vendor
    return name
