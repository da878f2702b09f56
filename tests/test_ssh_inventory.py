"""The inventory over SSH (issue 14): the ``software`` and ``hardware`` checks' parsers on
captured and documented outputs, their failure rules, the OS lifecycle on ``uptime``, SNMP
``system`` and Windows ``software``; then both checks against a real sshd on this machine,
with commands taken away or broken."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lab.ssh_lab import SshLab
from muni_watchdog.checks import KINDS
from muni_watchdog.checks.base import CollectError, TargetInfo
from muni_watchdog.checks.snmp.check_system import SystemParams, evaluate_system
from muni_watchdog.checks.snmp.session import Poll
from muni_watchdog.checks.ssh import hardware as hw
from muni_watchdog.checks.ssh.checks_inventory import (
    HardwareCheck,
    HardwareParams,
    SshSoftwareCheck,
    SshSoftwareParams,
    linux_hardware,
)
from muni_watchdog.checks.ssh.checks_system import UptimeCheck, UptimeParams
from muni_watchdog.checks.ssh.common import ABSENT
from muni_watchdog.checks.ssh.connection import CommandResult, SshConnection, SshSession
from muni_watchdog.checks.ssh.windows_inventory import (
    parse_windows_hardware,
    parse_windows_software,
    virtual_from_model,
)
from muni_watchdog.core.model import CheckContext, CheckKey, State
from muni_watchdog.core.transitions import Policy
from muni_watchdog.daemon.engine import CheckSpec, run_check
from tests.assessment_fixture import snapshot
from tests.ssh_hosts import EPOCH, NOW, remote

DATA = Path(__file__).parent / "data" / "inventory"
CTX = CheckContext(NOW, {})


def data(name: str) -> str:
    return (DATA / name).read_text()


# ---- pure parsers ---------------------------------------------------------------------------

def test_cpuinfo_of_a_vm_and_of_a_raspberry_pi():
    vm = hw.parse_cpuinfo(data("cpuinfo.amd-epyc-vm.txt"))
    assert (vm.model, vm.logical, vm.sockets, vm.hypervisor_flag) == ("AMD EPYC", 2, 1, True)
    pi = hw.parse_cpuinfo(data("cpuinfo.raspberrypi4.txt"))
    assert (pi.model, pi.logical, pi.sockets, pi.hypervisor_flag) == (
        "Raspberry Pi 4 Model B Rev 1.4", 4, None, False)
    with pytest.raises(ValueError, match="no processor"):
        hw.parse_cpuinfo("MemTotal: 1 kB\n")


def test_lsblk_new_and_old_json_keep_only_whole_real_disks():
    new = hw.parse_lsblk(data("lsblk-J.util-linux2.38.json"))
    assert [(d.name, d.size_bytes, d.rotational) for d in new] == [("vda", 274877906944, True)]
    old = hw.parse_lsblk(data("lsblk-J.util-linux2.31.json"))
    # strings read as numbers and booleans; the DVD drive and the loop device are not disks
    assert [(d.name, d.size_bytes, d.model, d.rotational, d.transport) for d in old] == [
        ("sda", 500107862016, "Samsung SSD 860", False, "sata"),
        ("sdb", 4000787030016, "WDC WD40EFRX-68N", True, "sata")]
    with pytest.raises(ValueError, match="did not print its JSON"):
        hw.parse_lsblk("NAME SIZE\nsda 500G\n")
    with pytest.raises(ValueError, match="no size in bytes"):
        hw.parse_lsblk('{"blockdevices": [{"name": "sda", "size": "500G", "type": "disk"}]}')


def test_sys_block_sizes_are_512_byte_sectors():
    text = "loop0\t0\t0\t\nsda\t976773168\t1\tST500DM002-1BD14\nmmcblk0\t62333952\t0\t\n"
    assert [(d.name, d.size_bytes, d.model, d.rotational)
            for d in hw.parse_sys_block(text)] == [
        ("sda", 500107862016, "ST500DM002-1BD14", True), ("mmcblk0", 31914983424, None, False)]
    with pytest.raises(ValueError, match="not a number"):
        hw.parse_sys_block("sda\tx\t1\t\n")


@pytest.mark.parametrize("text, rc, expected", [
    ("none\n", 1, "none"), ("kvm\n", 0, "kvm"), ("docker\n", 0, "docker"),
    ("microsoft\n", 0, "microsoft")])
def test_systemd_detect_virt(text, rc, expected):
    assert hw.parse_virt(text, rc) == expected


@pytest.mark.parametrize("text, rc", [("", 0), ("kvm", 1), ("Failed to check", 2)])
def test_systemd_detect_virt_that_says_nothing_sensible_is_an_error(text, rc):
    with pytest.raises(ValueError):
        hw.parse_virt(text, rc)


DMI = ("sys_vendor=Dell Inc.\nproduct_name=PowerEdge T140\nbios_vendor=Dell Inc.\n"
       "bios_version=2.11.2\nbios_date=04/12/2023\nchassis_type=17\n")


def linux_host(**parts) -> dict:
    sections = {"cpuinfo": data("cpuinfo.amd-epyc-vm.txt"),
                "meminfo": "MemTotal:       32768000 kB\n", "arch": "x86_64\n",
                "lsblk": data("lsblk-J.util-linux2.38.json"),
                "sysblock": "vda\t536870912\t1\t\n", "dmi": DMI, "virt": ("none\n", 1)}
    sections.update(parts)
    return {k: v for k, v in sections.items() if v is not None}


def test_hardware_of_a_physical_server():
    item, problems = linux_hardware(remote(linux_host()))
    assert problems == []
    assert {k: item[k] for k in ("vendor", "product", "cpu_model", "cpus", "memory_bytes",
                                 "virtualization", "container", "arch", "form")} == {
        "vendor": "Dell Inc.", "product": "PowerEdge T140", "cpu_model": "AMD EPYC",
        "cpus": 2, "memory_bytes": 32768000 * 1024, "virtualization": "none",
        "container": False, "arch": "x86_64", "form": None}
    assert item["firmware"] == "Dell Inc. 2.11.2 04/12/2023"
    assert item["serial"] is None                  # root-only in /sys/class/dmi/id
    outcome = HardwareCheck().evaluate(remote(linux_host()), HardwareParams(), CTX).outcome
    assert outcome.state is State.OK
    assert outcome.summary == ("Dell Inc. PowerEdge T140: 2 × AMD EPYC, 31.2 GiB RAM, "
                               "1 disks (275 GB)".replace("1 disks", "1 disk"))


def test_without_lsblk_the_disks_come_from_sys_block():
    item, problems = linux_hardware(remote(linux_host(lsblk=("", ABSENT))))
    assert problems == [] and [d["size_bytes"] for d in item["disks"]] == [274877906944]
    old, _ = linux_hardware(remote(linux_host(lsblk=("", 1, "lsblk: invalid option -- 'J'"))))
    assert [d["name"] for d in old["disks"]] == ["vda"]


def test_disks_that_cannot_be_read_at_all_are_unknown_never_none():
    raw = remote(linux_host(lsblk=("", ABSENT), sysblock=("", 1, "cd: /sys/block: No such "
                                                          "file or directory")))
    item, problems = linux_hardware(raw)
    assert item["disks"] is None
    assert problems == ["disks: lsblk -J: not found on the target; /sys/block: ls /sys/block: "
                        "exit 1: cd: /sys/block: No such file or directory"]
    outcome = HardwareCheck().evaluate(raw, HardwareParams(), CTX).outcome
    assert outcome.state is State.UNKNOWN
    assert "cannot read disks: lsblk -J: not found" in outcome.summary


def test_no_dmi_is_said_not_failed_and_placeholders_are_no_maker():
    item, problems = linux_hardware(remote(linux_host(dmi=("", ABSENT))))
    assert problems == [] and item["vendor"] is None
    placeholders = "sys_vendor=To Be Filled By O.E.M.\nproduct_name=System Product Name\n" \
        "chassis_type=3\n"
    item, _ = linux_hardware(remote(linux_host(dmi=placeholders)))
    assert (item["vendor"], item["product"], item["form"]) == (None, None, "desktop")


def test_virtualisation_and_containers():
    vm, _ = linux_hardware(remote(linux_host(virt=("kvm\n", 0))))
    assert HardwareCheck().evaluate(remote(linux_host(virt=("kvm\n", 0))), HardwareParams(),
                                    CTX).outcome.summary.startswith(
        "virtual machine (kvm): 2 × AMD EPYC")
    box, _ = linux_hardware(remote(linux_host(virt=("docker\n", 0))))
    assert box["container"] is True
    # no systemd-detect-virt: the CPU's hypervisor flag says a VM, of an unknown kind
    flag, problems = linux_hardware(remote(linux_host(virt=("", ABSENT))))
    assert (flag["virtualization"], problems) == ("vm", [])
    broken, problems = linux_hardware(remote(linux_host(virt=("", 2, "Failed to ..."))))
    assert problems == ["virtualisation: systemd-detect-virt: exit 2: Failed to ..."]


def test_cpu_or_memory_that_cannot_be_read_are_unknown():
    raw = remote(linux_host(cpuinfo=("", 1, "cat: /proc/cpuinfo: Permission denied"),
                            meminfo="Nothing: 1\n"))
    outcome = HardwareCheck().evaluate(raw, HardwareParams(), CTX).outcome
    assert outcome.state is State.UNKNOWN
    assert [r.summary for r in outcome.results if r.state is State.UNKNOWN] == [
        "cannot read CPU: cat /proc/cpuinfo: exit 1: cat: /proc/cpuinfo: Permission denied",
        "cannot read memory: no MemTotal"]


def test_windows_programs_from_the_uninstall_keys():
    os_info, programs = parse_windows_software(data("windows-software.ps51.json"))
    assert os_info == {"id": "windows-server", "version": "6.3.9600", "build": "9600",
                       "name": "Microsoft Windows Server 2012 R2 Standard"}
    assert [(p["name"], p["version"], p["installed"]) for p in programs] == [
        ("7-Zip 19.00 (x64)", "19.00", None),
        ("Microsoft Visual C++ 2015-2019 Redistributable (x86) - 14.29.30133",
         "14.29.30133.0", "2023-05-14"),
        ("Tyler Incode Client", "10.2", None),          # not a registry date: not guessed
        ("Veeam Agent for Microsoft Windows", "6.1.0.349", "2024-01-31")]
    # PowerShell 5.1 writes a one-element list as the element
    single = json.dumps({"caption": "Windows 10 Pro", "version": "10.0.19045",
                         "product_type": 1, "software": {"name": "Firefox", "version": "1"}})
    os_info, programs = parse_windows_software(single)
    assert os_info["id"] == "windows" and [p["name"] for p in programs] == ["Firefox"]
    with pytest.raises(ValueError, match="no 'software'"):
        parse_windows_software('{"caption": "x"}')


def test_windows_hardware_and_virtual_machines():
    facts = parse_windows_hardware(data("windows-hardware.ps51.json"))
    assert facts["virtualization"] == "microsoft" and facts["cpus"] == 4
    assert facts["serial"] == "7781-4573-0513-5823-5102-9071-61"
    assert [(d["name"], d["size_bytes"]) for d in facts["disks"]] == [
        ("\\\\.\\PHYSICALDRIVE0", 136366917120)]
    assert virtual_from_model("Microsoft Corporation", "Surface Pro 7") == "none"
    assert virtual_from_model("VMware, Inc.", "VMware7,1") == "vmware"
    assert virtual_from_model("Dell Inc.", "OptiPlex 7090") == "none"


def powershell(stdout: str, stderr: str = "", status: int = 0) -> CommandResult:
    return CommandResult(status, stdout, stderr, 0.5)


def test_windows_software_warns_when_the_os_is_out_of_support():
    outcome = SshSoftwareCheck().evaluate(powershell(data("windows-software.ps51.json")),
                                          SshSoftwareParams(), CTX).outcome
    assert outcome.state is State.WARNING
    assert [r.summary for r in outcome.results] == [
        "4 programs (windows) on Microsoft Windows Server 2012 R2 Standard; programs "
        "installed for one user only are not visible",
        "Windows Server 2012 R2 is out of support since 2023-10-10: no more security updates"]
    life = next(i for i in outcome.items if i["kind"] == "lifecycle")
    assert (life["status"], life["support_end"]) == ("out_of_support", "2023-10-10")


@pytest.mark.parametrize("result, reason", [
    (powershell("", "Get-ChildItem : Requested registry access is not allowed.", 1),
     "PowerShell exit 1: Get-ChildItem : Requested registry access is not allowed."),
    (powershell('{"software": []}', "Get-ItemProperty : Access denied"),
     "PowerShell reported an error: Get-ItemProperty : Access denied"),
    (powershell(""), "PowerShell printed nothing"),
    (powershell('{"caption": "Windows", "software": []}'), "list no program at all"),
    (powershell("Windows PowerShell\nCopyright"), "not the expected JSON"),
])
def test_windows_software_failures_are_unknown(result, reason):
    with pytest.raises(CollectError, match=reason.replace("(", r"\(")):
        SshSoftwareCheck().evaluate(result, SshSoftwareParams(), CTX)


def test_the_package_list_is_bounded_and_says_so():
    packages = "".join(f"pkg{i:04d}\t1.{i}\tpkg{i:04d}\t1.{i}\tii \tamd64\n" for i in range(30))
    raw = remote({"os_release": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian 12"\n',
                  "dpkg": packages + "<<<muniwd-end:0>>>\n", "rpm": ("", ABSENT)})
    outcome = SshSoftwareCheck().evaluate(raw, SshSoftwareParams(max_items=10), CTX).outcome
    assert outcome.state is State.OK
    assert outcome.summary == "30 packages (dpkg) on Debian 12 (only the first 10 by name are kept)"
    software = [i for i in outcome.items if i["kind"] == "software"]
    assert [s["name"] for s in software] == [f"pkg{i:04d}" for i in range(10)]
    assert software[0] == {"kind": "software", "name": "pkg0000", "version": "1.0",
                           "arch": "amd64", "source_package": "pkg0000", "manager": "dpkg"}


def test_a_package_list_cut_short_is_unknown():
    raw = remote({"os_release": "ID=debian\nVERSION_ID=12\n", "dpkg": "a\t1\ta\t1\tii \tall\n",
                  "rpm": ("", ABSENT)})
    with pytest.raises(CollectError, match="cut short"):
        SshSoftwareCheck().evaluate(raw, SshSoftwareParams(), CTX)


# ---- lifecycle on uptime and system ---------------------------------------------------------

def uptime_host(os_release: str):
    return remote({"now": f"{EPOCH}\n", "uptime": "86400.00 1.00\n", "os": os_release,
                   "kernel": "Linux 4.19.0-27-amd64 x86_64\n"})


BUSTER = 'PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\n' \
    'VERSION_ID="10"\nID=debian\n'


def test_uptime_warns_for_an_os_out_of_support_and_stores_it():
    outcome = UptimeCheck().evaluate(uptime_host(BUSTER), UptimeParams(), CTX).outcome
    assert outcome.state is State.WARNING
    assert outcome.results[-1].summary == ("Debian 10 (buster) is out of support since "
                                           "2024-06-30: no more security updates")
    life = next(i for i in outcome.items if i["kind"] == "lifecycle")
    assert life == {"kind": "lifecycle", "os": "Debian 10 (buster)", "os_id": "debian",
                    "os_version": "10", "status": "out_of_support", "support_end": "2024-06-30",
                    "source": "https://wiki.debian.org/LTS", "extended": False}
    quiet = UptimeCheck().evaluate(uptime_host(BUSTER), UptimeParams(os_support_warning=False),
                                   CTX).outcome
    assert quiet.state is State.OK
    assert any(i["kind"] == "lifecycle" for i in quiet.items)


def test_uptime_support_ending_within_180_days_and_extended_support():
    jammy = 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\n'
    late = CheckContext(datetime(2027, 1, 15, tzinfo=UTC), {})
    outcome = UptimeCheck().evaluate(uptime_host(jammy), UptimeParams(), late).outcome
    assert outcome.state is State.WARNING
    assert outcome.results[-1].summary.startswith("Ubuntu 22.04 support ends 2027-0")
    paid = UptimeCheck().evaluate(uptime_host(jammy), UptimeParams(extended_support=True),
                                  late).outcome
    assert paid.state is State.OK


def test_an_os_the_data_does_not_know_is_listed_unknown_not_warned():
    outcome = UptimeCheck().evaluate(uptime_host("ID=gentoo\nNAME=Gentoo\n"), UptimeParams(),
                                     CTX).outcome
    assert outcome.state is State.OK
    assert next(i for i in outcome.items if i["kind"] == "lifecycle")["status"] == "unknown"


def test_snmp_system_warns_for_an_old_windows_and_says_nothing_of_a_switch():
    values, answering = snapshot("windows")
    outcome = evaluate_system(Poll(values, answering), SystemParams(), CTX).outcome
    life = next(i for i in outcome.items if i.get("kind") == "lifecycle")
    assert life["os_id"] in ("windows", "windows-server")
    assert (life["status"] == "out_of_support") is (outcome.state is State.WARNING)
    values, answering = snapshot("switch")
    switch = evaluate_system(Poll(values, answering), SystemParams(), CTX).outcome
    assert not any(i.get("kind") == "lifecycle" for i in switch.items)


# ---- a real sshd ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lab():
    server = SshLab(tools=True).start()
    yield server
    server.stop()


def run(lab: SshLab, known: Path, check: str, **params):
    conn = SshConnection(**lab.connection(known))
    info = TargetInfo("lab", "ssh", "127.0.0.1", conn)
    info = replace(info, session=SshSession.for_target(info))
    check_type = KINDS["ssh"].check_types[check]
    spec = CheckSpec(CheckKey("lab", check), check_type, check_type.Params(check=check, **params),
                     info, Policy(60, 10), (), 3)

    async def go():
        try:
            return await run_check(spec, {}, datetime.now(UTC))
        finally:
            await info.session.close()
    return asyncio.run(go()).outcome


def _on_disk_packages() -> int:
    out = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}\n"], capture_output=True,
                         text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if len(line) > 1 and line[1] in "iUFWtH")


@pytest.mark.integration
def test_software_and_hardware_of_this_machine_over_ssh(lab, tmp_path):
    lab.reset_tools()
    known = lab.pin(tmp_path / "known_hosts")
    software = run(lab, known, "software")
    assert software.state is State.OK, software.summary
    listed = [i for i in software.items if i["kind"] == "software"]
    assert len(listed) == _on_disk_packages()
    assert any(i["name"] == "openssh-server" and i["manager"] == "dpkg" for i in listed)
    os_item = next(i for i in software.items if i["kind"] == "os")
    assert os_item["id"] == "debian"
    hardware = run(lab, known, "hardware")
    item = hardware.items[0]
    assert hardware.state is State.OK, hardware.summary
    assert item["cpus"] == os.cpu_count()
    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()
    assert item["memory_bytes"] == int(meminfo[1]) * 1024
    assert {d["name"] for d in item["disks"]} == {
        d.name for d in hw.parse_lsblk(subprocess.run(
            ["lsblk", "-J", "-b", "-d", "-o", "NAME,SIZE,TYPE,MODEL,ROTA,TRAN"],
            capture_output=True, text=True, check=True).stdout)}
    detected = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True)
    assert item["virtualization"] == detected.stdout.strip()


@pytest.mark.integration
def test_broken_or_missing_tools_over_ssh(lab, tmp_path):
    lab.reset_tools()
    known = lab.pin(tmp_path / "known_hosts")
    lab.remove_tool("lsblk")
    lab.remove_tool("systemd-detect-virt")
    item = run(lab, known, "hardware").items[0]
    assert item["disks"] and item["virtualization"] in ("vm", None)
    lab.fake_tool("dpkg-query", "echo 'dpkg-query: error: parsing file' >&2; exit 2")
    broken = run(lab, known, "software")
    assert broken.state is State.UNKNOWN
    assert broken.summary == ("dpkg-query -W reported an error: dpkg-query: error: parsing "
                              "file")
    lab.reset_tools()
