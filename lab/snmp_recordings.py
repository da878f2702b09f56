"""The lab's simulated SNMP devices, written from the MIB definitions as snmpsim recordings.

``python -m lab.snmp_recordings`` rewrites ``lab/snmp_data/*.snmprec`` (sorted by OID, as
snmpsim wants). Tags: 2 INTEGER, 4 OCTET STRING (4x: hex), 6 OID, 64 IpAddress,
65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64; ``TAG:numeric|...`` values vary with
time (snmpsim's numeric variation module).

What each device exercises:

* ``printer``: a colour laser with a paper jam; black 45 %, cyan "some remaining" (-3),
  magenta "unknown" (-2), yellow 8 % (critical), a drum above its capacity, a waste toner box
  with 15 % room left (RFC 3805: a receptacle's level is its remaining space; warning).
* ``printer-demo``: the same printer without the jam, whose black toner runs out over two
  minutes (the demo's device that goes wrong).
* ``ups-rfc1628``: a UPS on battery for 125 s via RFC 1628 only.
* ``ups-apc``: an APC Smart-UPS via PowerNet, on mains, battery to replace.
* ``ups-demo``: the same UPS with a healthy battery.
* ``switch``: a 24-port switch, port 5 down, port 7 admin-down, port 24 without 64-bit
  counters whose 32-bit ifInOctets counts 10^9 octets a second (it wraps every 4.3 s); its
  ENTITY-MIB chassis has a serial, an empty firmware column (the software column stands in)
  and a manufacture date; its power supply has neither serial nor date.
* ``nas``: a Synology DS920+ (host name "records": nothing in sysDescr says NAS; its
  SYNOLOGY-SYSTEM/DISK/RAID-MIB do) whose 16 TB volume overflows hrStorageSize (Integer32),
  four healthy disks in one SHR pool, listing its installed packages (hrSWInstalledTable) with
  dates in the 11- and 8-octet DateAndTime forms, all zeros ("not known"), garbage and empty.
* ``nas-degraded``: the same NAS with disk 3 crashed and the pool degraded.
* ``nas-repairing``: the same NAS rebuilding its pool onto a new disk 3.

The real-device recordings (Aruba CX, QNAP, UniFi, EdgeOS, OPNsense, Liebert...) are in
:mod:`lab.snmp_vendor_recordings`.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent / "snmp_data"
Row = tuple[str, str, object]


def octets(value: str) -> tuple[str, str]:
    """An OCTET STRING as snmprec writes it: plain, or hex when it holds line breaks or "|"."""
    if any(c in value for c in "\r\n|"):
        return "4x", value.encode("utf-8").hex()
    return "4", value


def system(descr: str, object_id: str, name: str, uptime_ticks: int,
           location: str = "Town Hall") -> list[Row]:
    return [("1.3.6.1.2.1.1.1.0", *octets(descr)), ("1.3.6.1.2.1.1.2.0", "6", object_id),
            ("1.3.6.1.2.1.1.3.0", "67", uptime_ticks),
            ("1.3.6.1.2.1.1.4.0", "4", "it@town.example"), ("1.3.6.1.2.1.1.5.0", "4", name),
            ("1.3.6.1.2.1.1.6.0", "4", location), ("1.3.6.1.2.1.1.7.0", "2", 72)]


def interfaces(ports: list[dict]) -> list[Row]:
    rows: list[Row] = [("1.3.6.1.2.1.2.1.0", "2", len(ports))]
    for p in ports:
        i = p["index"]
        t = "1.3.6.1.2.1.2.2.1"
        rows += [(f"{t}.1.{i}", "2", i), (f"{t}.2.{i}", "4", p["descr"]),
                 (f"{t}.3.{i}", "2", p.get("type", 6)), (f"{t}.4.{i}", "2", 1500),
                 (f"{t}.5.{i}", "66", p.get("speed", 1_000_000_000)),
                 (f"{t}.7.{i}", "2", p.get("admin", 1)), (f"{t}.8.{i}", "2", p.get("oper", 1)),
                 (f"{t}.10.{i}", "65", p.get("in32", p.get("in", 0) % (1 << 32))),
                 (f"{t}.11.{i}", "65", p.get("pkts", 0) % (1 << 32)),
                 (f"{t}.13.{i}", "65", p.get("discards", 0)),
                 (f"{t}.14.{i}", "65", p.get("errors", 0)),
                 (f"{t}.16.{i}", "65", p.get("out", 0) % (1 << 32)),
                 (f"{t}.17.{i}", "65", p.get("pkts", 0) % (1 << 32)),
                 (f"{t}.19.{i}", "65", 0), (f"{t}.20.{i}", "65", 0)]
        x = "1.3.6.1.2.1.31.1.1.1"
        rows += [(f"{x}.1.{i}", "4", p["name"]),
                 (f"{x}.15.{i}", "66", p.get("speed", 1_000_000_000) // 1_000_000),
                 (f"{x}.18.{i}", "4", p.get("alias", ""))]
        if p.get("hc", True):
            rows += [(f"{x}.6.{i}", "70", p.get("in", 0)), (f"{x}.7.{i}", "70", p.get("pkts", 0)),
                     (f"{x}.10.{i}", "70", p.get("out", 0)),
                     (f"{x}.11.{i}", "70", p.get("pkts", 0))]
    return rows


def printer(demo: bool = False) -> list[Row]:
    rows = system("HP ETHERNET MULTI-ENVIRONMENT,ROM none,JETDIRECT,JD153,EEPROM JSI23900013",
                  "1.3.6.1.4.1.11.2.3.9.1", "clerk-printer", 30_000_000)
    rows += interfaces([{"index": 1, "descr": "HP ETHERNET MULTI-ENVIRONMENT", "name": "eth0",
                         "speed": 100_000_000, "in": 123456789, "out": 98765432,
                         "pkts": 2_000_000, "hc": False}])
    rows += [("1.3.6.1.2.1.25.1.1.0", "67", 30_000_100),
             ("1.3.6.1.2.1.25.3.2.1.2.1", "6", "1.3.6.1.2.1.25.3.1.5"),
             ("1.3.6.1.2.1.25.3.2.1.3.1", "4", "HP Color LaserJet M479fdw"),
             ("1.3.6.1.2.1.25.3.2.1.5.1", "2", 3 if not demo else 2),
             ("1.3.6.1.2.1.25.3.5.1.1.1", "2", 1 if not demo else 3),
             # hrPrinterDetectedErrorState: bit 5 (jammed) = 0x04 in the first byte
             ("1.3.6.1.2.1.25.3.5.1.2.1", "4x", "0400" if not demo else "0000"),
             ("1.3.6.1.2.1.43.5.1.1.17.1", "4", "CNBRM7G0QF")]
    supplies = [  # index, colorant, class, type, description, unit, max, level
        (1, 1, 3, 3, "Black Cartridge HP W2030X", 19, 100,
         "2:numeric|initial=35,rate=-0.25,min=2,max=100" if demo else 45),
        (2, 2, 3, 3, "Cyan Cartridge HP W2031X", 19, 100, -3 if not demo else 80),
        (3, 3, 3, 3, "Magenta Cartridge HP W2033X", 19, 100, -2 if not demo else 75),
        (4, 4, 3, 3, "Yellow Cartridge HP W2032X", 19, 100, 8 if not demo else 70),
        (5, 0, 3, 9, "Imaging Drum", 19, 10000, 12000),
        (6, 0, 4, 4, "Toner Collection Unit", 19, 100, 15 if not demo else 80),
        (7, 0, 3, 15, "Fuser Kit", 7, -2, -1),
    ]
    t = "1.3.6.1.2.1.43.11.1.1"
    for i, colorant, cls, typ, descr, unit, maximum, level in supplies:
        rows += [(f"{t}.2.1.{i}", "2", 1), (f"{t}.3.1.{i}", "2", colorant),
                 (f"{t}.4.1.{i}", "2", cls), (f"{t}.5.1.{i}", "2", typ),
                 (f"{t}.6.1.{i}", "4", descr), (f"{t}.7.1.{i}", "2", unit),
                 (f"{t}.8.1.{i}", "2", maximum), (f"{t}.9.1.{i}", "2", level)]
    for i, colour in enumerate(("black", "cyan", "magenta", "yellow"), 1):
        rows.append((f"1.3.6.1.2.1.43.12.1.1.4.1.{i}", "4", colour))
    if demo:
        from lab.snmp_neighbor_recordings import demo_printer_neighbors  # imports this module
        rows += demo_printer_neighbors()
    return rows


def ups_rfc1628() -> list[Row]:
    rows = system("Online UPS 3kVA, network card v2.1", "1.3.6.1.4.1.935.10.1", "ups-basement",
                  8_640_000)
    u = "1.3.6.1.2.1.33.1"
    rows += [(f"{u}.1.1.0", "4", "PowerWalker"), (f"{u}.1.2.0", "4", "VFI 3000 RM"),
             (f"{u}.1.3.0", "4", "2.14"), (f"{u}.1.4.0", "4", "SNMP card 1.1"),
             (f"{u}.1.5.0", "4", "ups-basement"),
             (f"{u}.2.1.0", "2", 2), (f"{u}.2.2.0", "2", 125), (f"{u}.2.3.0", "2", 18),
             (f"{u}.2.4.0", "2", 87), (f"{u}.2.5.0", "2", 545), (f"{u}.2.7.0", "2", 29),
             (f"{u}.3.1.0", "65", 3), (f"{u}.3.2.0", "2", 1),
             (f"{u}.3.3.1.2.1", "2", 0), (f"{u}.3.3.1.3.1", "2", 0),
             (f"{u}.4.1.0", "2", 5), (f"{u}.4.2.0", "2", 500), (f"{u}.4.3.0", "2", 1),
             (f"{u}.4.4.1.2.1", "2", 230), (f"{u}.4.4.1.5.1", "2", 42),
             (f"{u}.6.1.0", "66", 1), (f"{u}.6.2.1.2.1", "6", "1.3.6.1.2.1.33.1.6.3.2"),
             (f"{u}.6.2.1.3.1", "67", 8_627_500)]
    return rows


def ups_apc(replace_battery: bool = True) -> list[Row]:
    rows = system("APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.9.6 PN:apc_hw05_aos_696.bin "
                  "AF1:v6.9.6 AN1:apc_hw05_sumx_696.bin MN:AP9630 HR:05 SN: 5A1234E56789 "
                  "MD:04/02/2019)", "1.3.6.1.4.1.318.1.3.27", "ups-server-room", 123_456_700)
    a = "1.3.6.1.4.1.318.1.1.1"
    rows += [(f"{a}.1.1.1.0", "4", "Smart-UPS X 1500"), (f"{a}.1.1.2.0", "4", "ups-server-room"),
             (f"{a}.1.2.1.0", "4", "UPS 15.5 (ID20)"), (f"{a}.1.2.2.0", "4", "03/14/2019"),
             (f"{a}.1.2.3.0", "4", "AS1911123456"),
             (f"{a}.2.1.1.0", "2", 2), (f"{a}.2.1.2.0", "67", 0),
             (f"{a}.2.2.1.0", "66", 100), (f"{a}.2.2.2.0", "66", 27),
             (f"{a}.2.2.3.0", "67", 264_000),
             (f"{a}.2.2.4.0", "2", 2 if replace_battery else 1),
             (f"{a}.3.2.1.0", "66", 231), (f"{a}.3.2.4.0", "66", 50),
             (f"{a}.4.1.1.0", "2", 2), (f"{a}.4.2.1.0", "66", 230), (f"{a}.4.2.3.0", "66", 31)]
    return rows


def switch() -> list[Row]:
    rows = system("GS724Tv4 ProSafe 24-port Gigabit Ethernet Smart Switch, 6.3.1.4, B1.0.0.4",
                  "1.3.6.1.4.1.4526.100.4.10", "core-switch", 1_234_567_800)
    ports = []
    for i in range(1, 25):
        port = {"index": i, "descr": f"g{i}", "name": f"g{i}", "in": 10**12 + i * 10**9,
                "out": 5 * 10**11 + i * 10**9, "pkts": 10**9 + i * 10**6}
        if i == 1:
            port["alias"] = "uplink-router"
        if i == 5:
            port.update(oper=2, alias="clerk-office")
        if i == 7:
            port.update(admin=2, oper=2)
        if i in (9, 10, 11):
            port.update(oper=2)
        if i == 24:
            port.update(hc=False, speed=100_000_000, alias="old-camera",
                        in32="65:numeric|initial=4294000000,rate=1000000000,max=4294967295,wrap=1")
        ports.append(port)
    ports.append({"index": 1000, "descr": "CPU Interface", "name": "lo", "type": 24,
                  "speed": 0})
    rows += interfaces(ports)
    e = "1.3.6.1.2.1.47.1.1.1.1"
    rows += [(f"{e}.2.1", "4", "GS724Tv4"), (f"{e}.5.1", "2", 3),
             (f"{e}.7.1", "4", "Unit 1"), (f"{e}.8.1", "4", "B1.0.0.4"),
             (f"{e}.9.1", "4", ""), (f"{e}.10.1", "4", "6.3.1.4"), (f"{e}.11.1", "4", "3PL1234567"),
             (f"{e}.12.1", "4", "NETGEAR"), (f"{e}.13.1", "4", "GS724Tv4"),
             # entPhysicalMfgDate: 2017-06-21 09:30:00, 11-octet form at UTC+2
             (f"{e}.17.1", "4x", "07e10615091e00002b0200"),
             # a power supply without a date (all zeros: "not known") or a serial
             (f"{e}.2.2", "4", "Internal PSU"), (f"{e}.5.2", "2", 6), (f"{e}.7.2", "4", "PSU 1"),
             (f"{e}.11.2", "4", ""), (f"{e}.17.2", "4x", "0000000000000000")]
    from lab.snmp_neighbor_recordings import demo_switch_neighbors  # it imports this module
    return rows + demo_switch_neighbors()


def storage(volumes: list[tuple]) -> list[Row]:
    """hrStorageTable rows: (index, hrStorageTypes arc or None, descr, unit, size, used)."""
    s, t = "1.3.6.1.2.1.25.2.3.1", "1.3.6.1.2.1.25.2.1"
    rows: list[Row] = []
    for i, typ, descr, unit, size, used in volumes:
        rows += [(f"{s}.1.{i}", "2", i), (f"{s}.3.{i}", "4", descr), (f"{s}.4.{i}", "2", unit),
                 (f"{s}.5.{i}", "2", size), (f"{s}.6.{i}", "2", used)]
        if typ is not None:
            rows.append((f"{s}.2.{i}", "6", f"{t}.{typ}"))
    return rows


def nas(state: str = "healthy") -> list[Row]:
    rows = system("Linux records 4.4.302+ #72806 SMP Thu Sep 5 13:44:21 CST 2024 x86_64",
                  "1.3.6.1.4.1.8072.3.2.10", "records-nas", 45_000_000)
    rows += interfaces([
        {"index": 1, "descr": "lo", "name": "lo", "type": 24, "speed": 10_000_000},
        {"index": 2, "descr": "eth0", "name": "eth0", "in": 8 * 10**12, "out": 3 * 10**12,
         "pkts": 9 * 10**9},
        {"index": 3, "descr": "eth1", "name": "eth1", "oper": 2}])
    rows += [("1.3.6.1.2.1.25.1.1.0", "67", 45_000_500), ("1.3.6.1.2.1.25.2.2.0", "2", 8_000_000)]
    big_units = 16 * 10**12 // 4096            # 3,906,250,000: above Integer32's maximum
    rows += storage([  # index, type, descr, unit, size, used
        (1, 2, "Physical memory", 1024, 8_000_000, 7_600_000),
        (3, 3, "Virtual memory", 1024, 12_000_000, 7_700_000),
        (31, 4, "/", 4096, 600_000, 360_000),
        (36, 4, "/run", 4096, 1_000_000, 1_000),
        (51, 4, "/volume1", 4096, big_units - (1 << 32), int(big_units * 0.85) - (1 << 32)),
    ])
    for cpu in range(196608, 196612):
        rows.append((f"1.3.6.1.2.1.25.3.3.1.2.{cpu}", "2", 12 + cpu % 4))
    m = "1.3.6.1.4.1.2021.4"
    rows += [(f"{m}.5.0", "2", 8_000_000), (f"{m}.6.0", "2", 1_200_000),
             (f"{m}.14.0", "2", 900_000), (f"{m}.15.0", "2", 4_000_000)]
    rows += installed_software([  # name, type, hrSWInstalledDate as hex
        ("DSM 7.2.1-69057 Update 5", 2, "07e8030e0a1e0f002b0100"),   # 11 octets, UTC+1
        ("Hyper Backup 4.1.0-3718", 4, "07e80114081e0000"),          # 8 octets, local time
        ("Synology Photos 1.6.1-0071", 4, "0000000000000000"),       # zeros: not known
        ("Active Backup for Business 2.7.0-13233", 4, "ffff"),       # garbage
        ("Antivirus Essential 1.4.7-3054", 3, ""),                   # empty
    ])
    rows += synology_mibs(state)
    return rows


def synology_mibs(state: str) -> list[Row]:
    """SYNOLOGY-SYSTEM-MIB, -DISK-MIB and -RAID-MIB of a DS920+ with four disks in one pool."""
    y = "1.3.6.1.4.1.6574"
    rows: list[Row] = [(f"{y}.1.1.0", "2", 1), (f"{y}.1.2.0", "2", 41), (f"{y}.1.3.0", "2", 1),
                       (f"{y}.1.4.1.0", "2", 1), (f"{y}.1.4.2.0", "2", 1),
                       (f"{y}.1.5.1.0", "4", "DS920+"), (f"{y}.1.5.2.0", "4", "2080PDN123456"),
                       (f"{y}.1.5.3.0", "4", "DSM 7.2.2-72806 Update 2"),
                       (f"{y}.1.5.4.0", "2", 2)]
    d = f"{y}.2.1.1"
    for i in range(4):   # diskStatus 1 normal, 5 crashed; diskHealthStatus 1 normal, 4 failing
        crashed = state == "degraded" and i == 2
        rows += [(f"{d}.1.{i}", "2", i), (f"{d}.2.{i}", "4", f"Disk {i + 1}"),
                 (f"{d}.3.{i}", "4", "WD40EFPX-68C6CN0"), (f"{d}.4.{i}", "4", "SATA"),
                 (f"{d}.5.{i}", "2", 5 if crashed else 1), (f"{d}.6.{i}", "2", 36 + i),
                 (f"{d}.13.{i}", "2", 4 if crashed else 1)]
    r = f"{y}.3.1.1"
    pool = {"healthy": 1, "degraded": 11, "repairing": 2}[state]
    rows += [(f"{r}.1.0", "2", 0), (f"{r}.2.0", "4", "Storage Pool 1"), (f"{r}.3.0", "2", pool),
             (f"{r}.4.0", "70", 2_400_000_000_000), (f"{r}.5.0", "70", 16_000_000_000_000),
             (f"{r}.1.1", "2", 1), (f"{r}.2.1", "4", "Volume 1"), (f"{r}.3.1", "2", 1)]
    return rows


def installed_software(packages: list[tuple[str, int, str]]) -> list[Row]:
    """HOST-RESOURCES-MIB hrSWInstalledTable rows (index from 1)."""
    t = "1.3.6.1.2.1.25.6.3.1"
    rows: list[Row] = [("1.3.6.1.2.1.25.6.1.0", "67", 45_000_000)]  # hrSWInstalledLastChange
    for i, (name, typ, date) in enumerate(packages, 1):
        rows += [(f"{t}.1.{i}", "2", i), (f"{t}.2.{i}", "4", name),
                 (f"{t}.3.{i}", "6", "0.0"), (f"{t}.4.{i}", "2", typ),
                 (f"{t}.5.{i}", "4x", date)]
    return rows


DEVICES = {"printer": printer, "printer-demo": lambda: printer(demo=True),
           "ups-rfc1628": ups_rfc1628, "ups-apc": ups_apc,
           "ups-demo": lambda: ups_apc(replace_battery=False), "switch": switch, "nas": nas,
           "nas-degraded": lambda: nas("degraded"), "nas-repairing": lambda: nas("repairing")}


def all_devices() -> dict:
    """Every recording: the lab's own, the real devices of lab.snmp_vendor_recordings and the
    neighbour tables of lab.snmp_neighbor_recordings."""
    from lab.snmp_neighbor_recordings import NEIGHBOR_DEVICES
    from lab.snmp_vendor_recordings import VENDOR_DEVICES
    return DEVICES | VENDOR_DEVICES | NEIGHBOR_DEVICES


def render(rows: list[Row]) -> str:
    def key(row: Row) -> tuple[int, ...]:
        return tuple(int(p) for p in row[0].split("."))
    lines = []
    for oid, tag, value in sorted(rows, key=key):
        if isinstance(value, str) and ":numeric|" in value:
            lines.append(f"{oid}|{value}")
        else:
            lines.append(f"{oid}|{tag}|{value}")
    return "\n".join(lines) + "\n"


INTEGER_TAGS = {"2", "65", "66", "67", "70"}


def load_snapshot(path: Path) -> dict[str, object]:
    """A recording as the poller's snapshot ``{oid: int | bytes | str}``, for pure tests.

    Time-varying values (``TAG:numeric|initial=...``) give their initial value."""
    snapshot: dict[str, object] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if not line or line.startswith("#") or line.count("|") < 2:
            continue
        oid, tag, value = line.split("|", 2)
        if ":" in tag:
            tag = tag.split(":", 1)[0]
            settings = dict(kv.split("=", 1) for kv in value.split(",") if "=" in kv)
            value = str(int(float(settings.get("initial", settings.get("min", "0")))))
        if tag in INTEGER_TAGS:
            snapshot[oid] = int(value)
        elif tag == "4":
            snapshot[oid] = value.encode("utf-8")
        elif tag == "4x":
            snapshot[oid] = bytes.fromhex(value)
        elif tag in ("6", "64"):
            snapshot[oid] = value
    return snapshot


def probes_answering(snapshot: dict[str, object]) -> set[str]:
    """The classification probes a poll of this recording would find answering: those with
    anything below their root (what the poller's one GETNEXT per probe finds out)."""
    from muni_watchdog.checks.snmp.classes import PROBES
    return {name for name, root in PROBES.items()
            if any(oid.startswith(root + ".") for oid in snapshot)}


def write_all(directory: Path = DATA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in all_devices().items():
        path = directory / f"{name}.snmprec"
        path.write_text(render(make()), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path)
