"""``ssh`` checks for the inventory: ``software`` (the installed packages or programs, with
versions) and ``hardware`` (CPU, memory, disks, maker and model, virtualisation), each every
6 hours by default. Both are OK when read: the inventory, not an alert, is the point; what
could not be read is UNKNOWN with the reason, never an empty list.

``software`` reuses the package lists of :mod:`.installed` (``dpkg-query -W``, ``rpm -qa``,
bounded on the remote side, the tool's exit status carried in the data); on Windows it reads
the uninstall registry keys (:mod:`.windows_inventory`). It also stores the OS's support
status (a ``lifecycle`` item, :mod:`muni_watchdog.checks.lifecycle`); on Windows, where the
``uptime`` check cannot run, it is the check that warns when the OS is out of support."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from muni_watchdog.checks.base import CollectError, Evaluation, TargetInfo
from muni_watchdog.checks.lifecycle import lifecycle_item
from muni_watchdog.checks.ssh import hardware as hw
from muni_watchdog.checks.ssh.common import (
    ABSENT,
    HostKeyAlarm,
    RemoteData,
    SshCheckParams,
    alarm,
    command_timeout,
    exit_reason,
    gib,
    read_section,
    run_powershell,
    run_sections,
    section_problem,
    session_of,
)
from muni_watchdog.checks.ssh.connection import CommandResult, HostKeyChanged
from muni_watchdog.checks.ssh.installed import INSTALLED_PARTS, MAX_PACKAGES, read_installed
from muni_watchdog.checks.ssh.system import parse_meminfo
from muni_watchdog.checks.ssh.windows import powershell_errors
from muni_watchdog.checks.ssh.windows_inventory import (
    HARDWARE_SCRIPT,
    SOFTWARE_SCRIPT,
    parse_windows_hardware,
    parse_windows_software,
)
from muni_watchdog.core.model import CheckContext, Metric, Outcome, Result, State
from muni_watchdog.core.types import Interval, Timeout


async def _os_of(target: TargetInfo, params: SshCheckParams) -> str | HostKeyAlarm:
    try:
        async with session_of(target) as session:
            return await session.detect_os(min(command_timeout(target, params), 30))
    except HostKeyChanged as exc:
        return HostKeyAlarm(str(exc))


def _powershell_json(result: CommandResult, what: str) -> str:
    """The script's stdout, or CollectError when PowerShell failed, complained or was
    silent."""
    errors = powershell_errors(result.stderr)
    if result.exit_status != 0:
        said = errors[0] if errors else result.stdout.strip()[-300:]
        raise CollectError(f"{what}: PowerShell {exit_reason(result.exit_status)}"
                           + (f": {said}" if said else ""))
    if errors:
        raise CollectError(f"{what}: PowerShell reported an error: {errors[0]}")
    if not result.stdout.strip():
        raise CollectError(f"{what}: PowerShell printed nothing")
    return result.stdout


# ---- software -------------------------------------------------------------------------------

class SshSoftwareParams(SshCheckParams):
    check: Literal["software"] = "software"
    interval: Interval | None = Field(
        21600, description="How often to list the installed software (it changes rarely; "
        "a server lists hundreds of packages).")
    timeout: Timeout = Field(60.0, description="Longest the listing may take (then UNKNOWN).")
    max_items: int = Field(
        5000, ge=1, le=MAX_PACKAGES, description="Keep at most this many packages (sorted by "
        "name) in the state database; the summary says when the list was longer. A server "
        "has 500-2,000, a desktop up to 5,000.")
    extended_support: bool = Field(
        False, description="The town pays for extended support of this host's OS (Ubuntu "
        "Pro ESM, RHEL ELS, Windows ESU, SUSE LTSS): count it as supported.")


class SshSoftwareCheck:
    """Installed packages (Linux: dpkg or rpm) or programs (Windows: uninstall keys)."""

    type = "software"
    Params = SshSoftwareParams

    async def collect(self, target: TargetInfo, params: SshSoftwareParams):
        os_name = await _os_of(target, params)
        if isinstance(os_name, HostKeyAlarm):
            return os_name
        if os_name == "windows":
            return await run_powershell(target, params, SOFTWARE_SCRIPT)
        return await run_sections(target, params, INSTALLED_PARTS)

    def evaluate(self, raw, params: SshSoftwareParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        today = ctx.now.date()
        if isinstance(raw, CommandResult):
            os_info, programs = parse_or_raise(parse_windows_software,
                                               _powershell_json(raw, "the programs list"))
            if not programs:
                raise CollectError("the uninstall registry keys list no program at all")
            life, warning = lifecycle_item(os_info["id"], os_info["version"], today,
                                           name=os_info["name"], edition=os_info["name"],
                                           extended=params.extended_support)
            items = [{"kind": "software", **p, "manager": "windows"} for p in programs]
            os_item = {"kind": "os", **os_info, "manager": "windows"}
            note = "programs installed for one user only are not visible"
            return _software_outcome(items, params, os_item, life,
                                     [warning] if warning else [], note)
        installed = read_installed(raw)
        identity = installed.os
        life, _ = lifecycle_item(identity.id, identity.version_id, today,
                                 name=identity.pretty_name, extended=params.extended_support)
        items = [{"kind": "software", "name": p.name, "version": p.version, "arch": p.arch,
                  "source_package": p.source_name, "manager": installed.manager}
                 for p in installed.packages]
        os_item = {"kind": "os", "id": identity.id, "version": identity.version_id,
                   "name": identity.pretty_name or identity.id, "manager": installed.manager}
        return _software_outcome(items, params, os_item, life, [],
                                 "; ".join(installed.notes))


def parse_or_raise(parse, text: str):
    try:
        return parse(text)
    except ValueError as exc:
        raise CollectError(f"PowerShell's answer is not the expected JSON: {exc}") from None


def _software_outcome(items: list[dict[str, Any]], params: SshSoftwareParams,
                      os_item: dict[str, Any], life: dict[str, Any], extra: list[Result],
                      note: str) -> Evaluation:
    total = len(items)
    kept = sorted(items, key=lambda i: (i["name"].lower(), i.get("version") or ""))
    kept = kept[:params.max_items]
    noun = "programs" if os_item["manager"] == "windows" else "packages"
    summary = f"{total} {noun} ({os_item['manager']}) on {os_item['name']}"
    if total > len(kept):
        summary += f" (only the first {len(kept)} by name are kept)"
    if note:
        summary += f"; {note}"
    return Evaluation(Outcome.of([Result(State.OK, summary), *extra],
                                 [Metric("installed_software", total, min=0)],
                                 [os_item, life, *kept]))


# ---- hardware -------------------------------------------------------------------------------

class HardwareParams(SshCheckParams):
    check: Literal["hardware"] = "hardware"
    interval: Interval | None = Field(
        21600, description="How often to read the hardware facts (they change rarely).")


class HardwareCheck:
    """CPU, memory, disks, maker/model and virtualisation, readable without root."""

    type = "hardware"
    Params = HardwareParams

    async def collect(self, target: TargetInfo, params: HardwareParams):
        os_name = await _os_of(target, params)
        if isinstance(os_name, HostKeyAlarm):
            return os_name
        if os_name == "windows":
            return await run_powershell(target, params, HARDWARE_SCRIPT)
        return await run_sections(target, params, hw.HARDWARE_PARTS)

    def evaluate(self, raw, params: HardwareParams, ctx: CheckContext) -> Evaluation:
        if isinstance(raw, HostKeyAlarm):
            return alarm(raw, ctx)
        if isinstance(raw, CommandResult):
            facts = parse_or_raise(parse_windows_hardware, _powershell_json(raw, "CIM"))
            return _hardware_outcome({"kind": "hardware", **facts, "container": False}, [])
        return _hardware_outcome(*linux_hardware(raw))


def linux_hardware(raw: RemoteData) -> tuple[dict[str, Any], list[str]]:
    """The hardware item from the sections, and what could not be read (each with why)."""
    problems: list[str] = []
    item: dict[str, Any] = {"kind": "hardware", "serial": None, "form": None}
    try:
        cpu = hw.parse_cpuinfo(read_section(raw, "cpuinfo", "cat /proc/cpuinfo").text)
        item.update(cpu_model=cpu.model, cpus=cpu.logical, sockets=cpu.sockets)
    except (CollectError, ValueError) as exc:
        cpu = None
        problems.append(f"CPU: {exc}")
        item.update(cpu_model=None, cpus=None, sockets=None)
    try:
        memory = parse_meminfo(read_section(raw, "meminfo", "cat /proc/meminfo").text)
        item["memory_bytes"] = memory["MemTotal"]
    except (CollectError, KeyError) as exc:
        problems.append(f"memory: {exc if isinstance(exc, CollectError) else 'no MemTotal'}")
        item["memory_bytes"] = None
    item["arch"] = None if section_problem(raw, "arch", "uname -m") else \
        raw.sections["arch"].text.strip()[:40] or None
    disks, why = _disks(raw)
    item["disks"] = [d.as_item() for d in disks] if disks is not None else None
    if why:
        problems.append(why)
    dmi = _dmi(raw, problems)
    item.update(vendor=dmi.get("sys_vendor"), product=dmi.get("product_name"),
                firmware=" ".join(x for x in (dmi.get("bios_vendor"), dmi.get("bios_version"),
                                              dmi.get("bios_date")) if x) or None,
                form=dmi.form)
    virt = _virt(raw, problems)
    if virt is None and cpu is not None and cpu.hypervisor_flag:
        virt = "vm"                        # a hypervisor, which one systemd would say
    item.update(virtualization=virt, container=hw.is_container(virt))
    return item, problems


def _disks(raw: RemoteData) -> tuple[list[hw.Disk] | None, str | None]:
    lsblk = raw.sections.get("lsblk")
    first = section_problem(raw, "lsblk", "lsblk -J")
    if not first:
        try:
            return hw.parse_lsblk(lsblk.text), None          # type: ignore[union-attr]
        except ValueError as exc:
            first = str(exc)
    problem = section_problem(raw, "sysblock", "ls /sys/block")
    if not problem:
        try:
            return hw.parse_sys_block(raw.sections["sysblock"].text), None
        except ValueError as exc:
            problem = str(exc)
    return None, f"disks: {first}; /sys/block: {problem}"


def _dmi(raw: RemoteData, problems: list[str]) -> hw.Dmi:
    found = raw.sections.get("dmi")
    if found is not None and found.rc == ABSENT:
        return hw.Dmi()                    # an ARM board or a container: no DMI at all
    problem = section_problem(raw, "dmi", "/sys/class/dmi/id", allow_empty=True)
    if problem:
        problems.append(f"maker and model: {problem}")
        return hw.Dmi()
    return hw.parse_dmi(found.text)        # type: ignore[union-attr]


def _virt(raw: RemoteData, problems: list[str]) -> str | None:
    found = raw.sections.get("virt")
    if found is None or found.rc == ABSENT:
        return None
    problem = section_problem(raw, "virt", "systemd-detect-virt", ok=(0, 1), allow_empty=True)
    if problem is None:
        try:
            return hw.parse_virt(found.text, found.rc)
        except ValueError as exc:
            problem = str(exc)
    problems.append(f"virtualisation: {problem}")
    return None


def _size(n_bytes: int | None) -> str:
    if not n_bytes:
        return "?"
    return f"{n_bytes / 1e12:.1f} TB" if n_bytes >= 1e12 else f"{n_bytes / 1e9:.0f} GB"


def hardware_summary(item: dict[str, Any]) -> str:
    """"Dell Inc. PowerEdge T140: 8 × Intel Xeon E-2236, 31.2 GiB RAM, 2 disks (1.0 TB,
    4.0 TB)"; a VM or container says so first."""
    virt = item.get("virtualization")
    if item.get("container"):
        what, host = f"container ({virt}): the host's ", ""
    elif virt and virt != "none":
        what, host = f"virtual machine ({virt}): ", ""
    else:
        what = ""
        host = " ".join(x for x in (item.get("vendor"), item.get("product")) if x)
        host = f"{host}: " if host else ""
    parts = []
    if item.get("cpus"):
        parts.append(f"{item['cpus']} × {item.get('cpu_model') or 'CPU'}")
    if item.get("memory_bytes"):
        parts.append(f"{gib(item['memory_bytes'])} RAM")
    if item.get("disks") is not None:
        sizes = ", ".join(_size(d.get("size_bytes")) for d in item["disks"][:6])
        n = len(item["disks"])
        parts.append(f"{n} disk{'s' if n != 1 else ''}" + (f" ({sizes})" if n else ""))
    return f"{what}{host}{', '.join(parts) or 'no facts read'}"


def _hardware_outcome(item: dict[str, Any], problems: list[str]) -> Evaluation:
    results = [Result(State.OK, hardware_summary(item))]
    results += [Result(State.UNKNOWN, f"cannot read {p}") for p in problems]
    metrics = [Metric("cpus", item["cpus"], min=0)] if item.get("cpus") else []
    if item.get("memory_bytes"):
        metrics.append(Metric("memory", item["memory_bytes"], "B", min=0))
    return Evaluation(Outcome.of(results, metrics, [item]))
