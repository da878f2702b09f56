"""Windows over OpenSSH, for the inventory: the installed programs and the hardware, each one
PowerShell script printing JSON, and their pure parsers.

Programs come from the uninstall registry keys (64- and 32-bit views of HKLM), as "Apps and
features" lists them: entries with a DisplayName that are not system components or updates
of another entry. ``Get-Package`` reads the same keys through its Programs provider, but that
provider is missing in PowerShell 7 and is much slower, so the keys are read directly.
Programs installed for one user only (HKCU) are not visible to the monitoring account; the
summary says so. Hardware comes from CIM (Win32_ComputerSystem, Win32_Processor, Win32_BIOS,
Win32_DiskDrive), all readable without administrator rights, the BIOS serial included.
"""

from __future__ import annotations

import json
from typing import Any

from muni_watchdog.checks.ssh.windows import as_list

MAX_PROGRAMS = 50_000

SOFTWARE_SCRIPT = r"""
$ErrorActionPreference = 'Stop'
$os = Get-CimInstance Win32_OperatingSystem
$r = [ordered]@{ caption = $os.Caption; version = $os.Version; build = $os.BuildNumber;
  product_type = $os.ProductType }
$roots = @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
  'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall')
$apps = foreach ($root in $roots) {
  if (Test-Path $root) {
    $bits = $(if ($root -like '*WOW6432Node*') { 'x86' } else { '' })
    Get-ChildItem -Path $root | ForEach-Object {
      $p = Get-ItemProperty -Path $_.PSPath
      if ($p.DisplayName -and -not $p.SystemComponent -and -not $p.ParentKeyName) {
        [ordered]@{ name = [string]$p.DisplayName; version = [string]$p.DisplayVersion;
          publisher = [string]$p.Publisher; installed = [string]$p.InstallDate; arch = $bits }
      } } } }
$r.software = @($apps | Select-Object -First 50001)
$r | ConvertTo-Json -Depth 4 -Compress
"""

HARDWARE_SCRIPT = r"""
$ErrorActionPreference = 'Stop'
$cs = Get-CimInstance Win32_ComputerSystem
$cpu = @(Get-CimInstance Win32_Processor)
$bios = Get-CimInstance Win32_BIOS
$disks = @(Get-CimInstance Win32_DiskDrive | Select-Object -First 256 | ForEach-Object {
  [ordered]@{ name = $_.DeviceID; model = $_.Model; size = $_.Size; media = $_.MediaType;
    interface = $_.InterfaceType } })
[ordered]@{ vendor = $cs.Manufacturer; product = $cs.Model; memory_bytes = $cs.TotalPhysicalMemory;
  cpu_model = $(if ($cpu.Count) { $cpu[0].Name } else { $null });
  cpus = ($cpu | Measure-Object -Property NumberOfLogicalProcessors -Sum).Sum;
  sockets = $cpu.Count; serial = $bios.SerialNumber; bios_version = $bios.SMBIOSBIOSVersion;
  pc_system_type = $cs.PCSystemType; disks = $disks } | ConvertTo-Json -Depth 4 -Compress
"""

# Win32_ComputerSystem Manufacturer/Model of virtual machines, as the hypervisors set them
VIRTUAL = (("microsoft corporation", "virtual machine", "microsoft"), ("vmware", "", "vmware"),
           ("qemu", "", "kvm"), ("xen", "", "xen"), ("innotek", "", "oracle"),
           ("parallels", "", "parallels"), ("amazon ec2", "", "amazon"),
           ("google", "google compute engine", "google"), ("", "kvm", "kvm"),
           ("red hat", "", "kvm"), ("nutanix", "", "kvm"))
# Win32_ComputerSystem.PCSystemType: 1 desktop, 2 mobile, 3 workstation, 4-5, 7 servers
PC_SYSTEM_TYPES = {1: "desktop", 2: "laptop", 3: "desktop"}


def _json(text: str, required: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or required not in data:
        raise ValueError(f"no {required!r} in PowerShell's answer")
    return data


def _text(value: Any) -> str | None:
    shown = " ".join(str(value).split()) if value is not None else ""
    return shown or None


def windows_os(data: dict[str, Any]) -> dict[str, Any]:
    """The OS as the lifecycle data knows it: ``windows`` (a workstation, ProductType 1) or
    ``windows-server`` (2 domain controller, 3 server), its version with the build, and the
    caption, which names the edition."""
    try:
        product_type = int(data.get("product_type") or 0)
    except (TypeError, ValueError):
        product_type = 0
    return {"id": "windows" if product_type == 1 else "windows-server",
            "version": str(data.get("version") or ""), "build": str(data.get("build") or ""),
            "name": _text(data.get("caption")) or "Windows"}


def parse_windows_software(text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """SOFTWARE_SCRIPT's JSON -> (the OS, one dict per program: name, version, publisher,
    installed as YYYY-MM-DD or None, arch). The same program in both registry views is
    listed once. ValueError when the answer is not the script's."""
    data = _json(text, "software")
    programs: dict[tuple[str, str], dict[str, Any]] = {}
    entries = as_list(data["software"])
    if len(entries) > MAX_PROGRAMS:
        raise ValueError(f"more than {MAX_PROGRAMS} programs listed")
    for entry in entries:
        if not isinstance(entry, dict) or not _text(entry.get("name")):
            continue
        name, version = _text(entry["name"]) or "", _text(entry.get("version")) or ""
        installed = _text(entry.get("installed"))
        if installed and len(installed) == 8 and installed.isdigit():   # 20240131
            installed = f"{installed[:4]}-{installed[4:6]}-{installed[6:]}"
        else:
            installed = None
        programs.setdefault((name.lower(), version), {
            "name": name[:200], "version": version[:100] or None,
            "publisher": (_text(entry.get("publisher")) or "")[:200] or None,
            "installed": installed, "arch": _text(entry.get("arch"))})
    return windows_os(data), sorted(programs.values(), key=lambda p: p["name"].lower())


def parse_windows_hardware(text: str) -> dict[str, Any]:
    """HARDWARE_SCRIPT's JSON -> the hardware item's fields."""
    data = _json(text, "disks")
    vendor, product = _text(data.get("vendor")), _text(data.get("product"))
    disks = []
    for disk in as_list(data["disks"]):
        if not isinstance(disk, dict):
            continue
        size = disk.get("size")
        disks.append({"name": _text(disk.get("name")) or "disk",
                      "size_bytes": int(size) if isinstance(size, int | float) else None,
                      "model": _text(disk.get("model")), "rotational": None,
                      "transport": _text(disk.get("interface"))})
    memory = data.get("memory_bytes")
    try:
        form = PC_SYSTEM_TYPES.get(int(data.get("pc_system_type") or 0))
    except (TypeError, ValueError):
        form = None
    return {"vendor": vendor, "product": product, "cpu_model": _text(data.get("cpu_model")),
            "cpus": data.get("cpus") if isinstance(data.get("cpus"), int) else None,
            "sockets": data.get("sockets") if isinstance(data.get("sockets"), int) else None,
            "memory_bytes": int(memory) if isinstance(memory, int | float) else None,
            "disks": disks, "serial": _text(data.get("serial")),
            "firmware": _text(data.get("bios_version")), "form": form,
            "virtualization": virtual_from_model(vendor, product)}


def virtual_from_model(vendor: str | None, product: str | None) -> str:
    """The hypervisor a VM's DMI names, else ``none``."""
    v, p = (vendor or "").lower(), (product or "").lower()
    for maker, model, kind in VIRTUAL:
        if (not maker or maker in v) and (not model or model in p) and (maker or model):
            return kind
    return "none"
