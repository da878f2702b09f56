"""Hardware facts a Linux host tells an unprivileged account: CPU model and count, memory,
disks and their sizes, the maker and model from DMI, and whether it is a virtual machine or a
container. Pure parsers, and the sections that read them (one round trip).

What is read, and why that way:

* ``/proc/cpuinfo``: logical CPUs are its ``processor`` entries; the model is ``model name``
  (x86, and ARM kernels that set it), else ``Model`` (Raspberry Pi), ``Hardware`` or
  ``cpu model`` (MIPS); sockets are distinct ``physical id`` values (x86 only); the
  ``hypervisor`` flag says a VM when systemd-detect-virt is missing.
* Disks: ``lsblk -J -b -d`` (whole disks, sizes in bytes; util-linux 2.27 or newer) and, for
  hosts whose lsblk is older or missing, ``/sys/block/*/size`` (always 512-byte sectors, per
  the kernel's block layer). Loop, RAM and zram devices are memory or files, not disks.
* ``/sys/class/dmi/id``: only the world-readable files (maker, product, board, BIOS, chassis
  type). The serial numbers there are readable by root only (mode 0400), so they are not
  asked for; an ARM board or a container has no DMI at all, which is said, not an error.
* ``systemd-detect-virt``: the hypervisor or container type; it prints ``none`` and exits 1
  on bare metal. In a container the CPU, memory and disks seen are the host's, and the
  summary says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from muni_watchdog.checks.ssh.system import parse_key_values

MAX_DISKS = 256
DMI_FILES = ("sys_vendor", "product_name", "product_version", "board_vendor", "board_name",
             "bios_vendor", "bios_version", "bios_date", "chassis_type", "chassis_vendor")
# SMBIOS chassis types (DSP0134 7.4.1) that mean a desk or a lap, not a server room
PC_CHASSIS = {3: "desktop", 4: "desktop", 5: "desktop", 6: "desktop", 7: "desktop",
              8: "laptop", 9: "laptop", 10: "laptop", 13: "all-in-one", 14: "laptop",
              15: "desktop", 16: "desktop", 30: "tablet", 31: "laptop", 32: "laptop",
              35: "desktop", 36: "desktop"}
NOT_DISKS = ("loop", "ram", "zram", "fd")
# Placeholders vendors leave in DMI fields
DMI_PLACEHOLDERS = {"", "to be filled by o.e.m.", "default string", "system product name",
                    "system manufacturer", "not applicable", "none", "o.e.m.", "0123456789"}

HARDWARE_PARTS: list[tuple[str, str]] = [
    ("cpuinfo", "cat /proc/cpuinfo"),
    ("meminfo", "cat /proc/meminfo"),
    ("arch", "uname -m"),
    ("lsblk", "command -v lsblk >/dev/null 2>&1 || exit 200; "
              "lsblk -J -b -d -o NAME,SIZE,TYPE,MODEL,ROTA,TRAN"),
    ("sysblock", "cd /sys/block || exit 1; for d in *; do [ -r \"$d/size\" ] || continue; "
                 "printf '%s\\t%s\\t%s\\t%s\\n' \"$d\" \"$(cat \"$d/size\")\" "
                 "\"$(cat \"$d/queue/rotational\" 2>/dev/null)\" "
                 "\"$(cat \"$d/device/model\" 2>/dev/null)\"; done"),
    ("dmi", "cd /sys/class/dmi/id 2>/dev/null || exit 200; for f in "
            + " ".join(DMI_FILES) + "; do [ -r \"$f\" ] && printf '%s=%s\\n' \"$f\" "
            "\"$(cat \"$f\")\"; done; exit 0"),
    ("virt", "command -v systemd-detect-virt >/dev/null 2>&1 || exit 200; "
             "systemd-detect-virt"),
]


@dataclass
class Cpu:
    model: str | None
    logical: int
    sockets: int | None
    hypervisor_flag: bool


@dataclass
class Disk:
    name: str
    size_bytes: int
    model: str | None = None
    rotational: bool | None = None
    transport: str | None = None

    def as_item(self) -> dict[str, Any]:
        return {"name": self.name, "size_bytes": self.size_bytes, "model": self.model,
                "rotational": self.rotational, "transport": self.transport}


@dataclass
class Dmi:
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        value = (self.fields.get(name) or "").strip()
        return None if value.lower() in DMI_PLACEHOLDERS else value

    @property
    def form(self) -> str | None:
        """desktop, laptop... from the chassis type; None for servers and unknown."""
        number = self.get("chassis_type")
        return PC_CHASSIS.get(int(number)) if number and number.isdigit() else None


def parse_cpuinfo(text: str) -> Cpu:
    """ValueError when no processor is listed (not a /proc/cpuinfo)."""
    logical, model, sockets, flagged = 0, None, set(), False
    fallbacks: dict[str, str] = {}
    for line in text.splitlines()[:100_000]:
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "processor" and value.isdigit():
            logical += 1
        elif key == "model name" and value and model is None:
            model = " ".join(value.split())
        elif key in ("model", "hardware", "cpu model") and value and not value.isdigit():
            fallbacks.setdefault(key, " ".join(value.split()))
        elif key == "physical id":
            sockets.add(value)
        elif key == "flags" and "hypervisor" in value.split():
            flagged = True
    if logical == 0:
        raise ValueError("/proc/cpuinfo lists no processor")
    model = model or fallbacks.get("model") or fallbacks.get("hardware") or \
        fallbacks.get("cpu model")
    return Cpu(model, logical, len(sockets) or None, flagged)


def parse_lsblk(text: str) -> list[Disk]:
    """``lsblk -J -b -d -o NAME,SIZE,TYPE,MODEL,ROTA,TRAN``: the whole disks. ValueError when
    it is not that JSON. Older lsblk prints ``rota`` as "0"/"1" and sizes as strings."""
    try:
        data = json.loads(text)
        devices = data["blockdevices"]
    except (ValueError, TypeError, KeyError):
        raise ValueError("lsblk -J did not print its JSON ({\"blockdevices\": [...]})") from None
    disks = []
    for device in devices[:MAX_DISKS * 4]:
        if not isinstance(device, dict) or device.get("type") not in ("disk",):
            continue
        name = str(device.get("name") or "")
        if not name or name.startswith(NOT_DISKS):
            continue
        size = _number(device.get("size"))
        if size is None:
            raise ValueError(f"lsblk: disk {name} has no size in bytes ({device.get('size')!r})")
        if size == 0:
            continue            # an empty card reader holds nothing
        rota = device.get("rota")
        disks.append(Disk(name, size, _text(device.get("model")),
                          None if rota is None else rota in (True, "1", 1),
                          _text(device.get("tran"))))
    return disks[:MAX_DISKS]


def parse_sys_block(text: str) -> list[Disk]:
    """The ``sysblock`` section: NAME, SIZE in 512-byte sectors, rotational, model."""
    disks = []
    for line in text.splitlines()[:MAX_DISKS * 4]:
        parts = line.split("\t")
        if len(parts) != 4 or parts[0].startswith(NOT_DISKS):
            continue
        if not parts[1].strip().isdigit():
            raise ValueError(f"/sys/block/{parts[0]}/size is not a number: {parts[1][:40]!r}")
        sectors = int(parts[1])
        if sectors == 0:
            continue            # an empty card reader holds nothing
        rota = parts[2].strip()
        disks.append(Disk(parts[0], sectors * 512, _text(parts[3]),
                          None if rota not in ("0", "1") else rota == "1"))
    return disks[:MAX_DISKS]


def parse_dmi(text: str) -> Dmi:
    return Dmi({k: v for k, v in parse_key_values(text).items() if k in DMI_FILES})


def parse_virt(text: str, rc: int) -> str:
    """systemd-detect-virt's answer: ``none`` (exit 1) or the technology (exit 0)."""
    word = text.strip().splitlines()[0].strip() if text.strip() else ""
    if rc == 1 and word in ("none", ""):
        return "none"
    if rc == 0 and word and word.replace("-", "").replace("_", "").isalnum():
        return word
    raise ValueError(f"systemd-detect-virt: exit {rc}, {word[:60]!r}")


CONTAINERS = {"docker", "podman", "lxc", "lxc-libvirt", "systemd-nspawn", "openvz", "rkt",
              "wsl", "proot", "pouch", "container-other"}


def is_container(virt: str | None) -> bool:
    return bool(virt) and virt in CONTAINERS


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    shown = " ".join(str(value).split())
    return shown or None
