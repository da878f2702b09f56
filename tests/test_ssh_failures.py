"""Failure injection for every ssh check, on the pure side: each command a check relies on is
made missing, failing, complaining on stderr, silent, or cut in half — the verdict must be
UNKNOWN or CRITICAL and say why, never OK (nor a WARNING that hides the failure).

The healthy answer of each check is asserted OK first, so every row really flips a verdict.
The same matrix runs against a real sshd with fake commands in tests/test_ssh_failures_lab.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from muni_watchdog.checks.base import CollectError
from muni_watchdog.checks.ssh.checks_command import CommandCheck, CommandParams
from muni_watchdog.checks.ssh.checks_patches import PatchesCheck, PatchesParams
from muni_watchdog.checks.ssh.checks_system import (
    DiskCheck,
    DiskParams,
    LoadCheck,
    LoadParams,
    MemoryCheck,
    MemoryParams,
    ServicesCheck,
    ServicesParams,
    TimesyncCheck,
    TimesyncParams,
    UptimeCheck,
    UptimeParams,
)
from muni_watchdog.checks.ssh.common import ABSENT, RemoteData
from muni_watchdog.checks.ssh.connection import CommandResult
from muni_watchdog.checks.ssh.sections import CUT, Section
from muni_watchdog.core.model import CheckContext, Outcome, State
from tests.ssh_hosts import (
    EPOCH,
    NOW,
    apt_host,
    data,
    dnf_host,
    remote,
    yum_host,
    zypper_host,
)

DF = ("Filesystem     Type 1024-blocks     Used Available Capacity Mounted on\n"
      "/dev/sda1      ext4   102400000 40000000  62400000      40% /\n"
      "/dev/sdb1      xfs    512000000 10000000 502000000       2% /srv\n")
DFI = ("Filesystem     Type  Inodes IUsed   IFree IUse% Mounted on\n"
       "/dev/sda1      ext4 6400000 300000 6100000    5% /\n"
       "/dev/sdb1      xfs  9000000 100000 8900000    2% /srv\n")
MEMINFO = ("MemTotal:       16303140 kB\nMemFree:         1203300 kB\n"
           "MemAvailable:    9876543 kB\nBuffers:          123456 kB\nCached:          7654321 kB\n"
           "SwapTotal:       2097148 kB\nSwapFree:        2000000 kB\n")
NO_FAILED = "UNIT LOAD ACTIVE SUB DESCRIPTION\n0 loaded units listed.\n"
TIMEDATECTL = ("Timezone=Europe/Berlin\nLocalRTC=no\nCanNTP=yes\nNTP=yes\nNTPSynchronized=yes\n"
               "TimeUSec=Sun 2026-11-22 13:00:00 CET\nRTCTimeUSec=Sun 2026-11-22 13:00:00 CET\n")
YUM_ADVISORIES = ("RHSA-2024:4583 Important/Sec. kernel-3.10.0-1160.119.1.el7.x86_64\n"
                  "RHBA-2024:0421 bugfix        tzdata-2024a-1.el7.noarch\n")
ZYPPER_SLES15 = "zypper-list-patches-all.sles15sp5.txt"


@dataclass
class Case:
    """A check with a healthy answer, and the parts a failure of which must show."""

    check: Any
    params: Any
    healthy: dict[str, Any]
    commands: dict[str, str]           # section -> the command it runs (for the reason)
    empty_rc: dict[str, int] = field(default_factory=dict)  # rc of an empty answer
    build: Any = None                  # sections -> RemoteData (patches: a whole host)

    def raw(self, sections: dict[str, Any]) -> RemoteData:
        if self.build is not None:
            return self.build(sections)
        return remote(sections, sent_at=EPOCH, received_at=EPOCH)


def judge(check, raw, params) -> Outcome:
    """As the engine does: a CollectError is UNKNOWN with its message."""
    try:
        return check.evaluate(raw, params, CheckContext(NOW, {})).outcome
    except CollectError as exc:
        return Outcome.unknown(str(exc))


def _patches(base: RemoteData):
    def build(sections: dict[str, Any]) -> RemoteData:
        merged = dict(base.sections)
        for name, value in sections.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value if isinstance(value, Section) else Section(name, *value) \
                    if isinstance(value, tuple) else Section(name, value, 0)
        return RemoteData(merged, "linux", False)
    return build


def _host_sections(raw: RemoteData) -> dict[str, Any]:
    return {n: (s.text, s.rc, s.stderr) for n, s in raw.sections.items()}


APT = apt_host(data("apt-get-s-q-dist-upgrade.debian12.txt"))
DNF = dnf_host()
YUM = yum_host(data("yum-check-update.rhel7.txt"), advisories=YUM_ADVISORIES,
               repos_with_advisories=("rhui-rhel-7-server-rhui-rpms",))
ZYPPER = zypper_host(data(ZYPPER_SLES15))
REBOOT_PARTS = {"kernel": "uname -r", "reboot_flag": "test -f /run/reboot-required"}

CASES = {
    "disk": Case(DiskCheck(), DiskParams(), {"df": DF, "dfi": DFI},
                 {"df": "df -PTk", "dfi": "df -PTi"}),
    "memory": Case(MemoryCheck(), MemoryParams(), {"meminfo": MEMINFO},
                   {"meminfo": "cat /proc/meminfo"}),
    "load": Case(LoadCheck(), LoadParams(), {"loadavg": "0.52 0.41 0.30 2/345 6789",
                                             "cpus": "4"},
                 {"loadavg": "cat /proc/loadavg", "cpus": "nproc"}),
    # os and kernel feed the inventory only: without them the uptime is still right.
    "uptime": Case(UptimeCheck(), UptimeParams(), {"now": str(EPOCH),
                                                   "uptime": "864000.12 1700000.00",
                                                   "os": "ID=debian\n", "kernel": "Linux 6.1"},
                   {"now": "date +%s", "uptime": "cat /proc/uptime"}),
    "services": Case(ServicesCheck(), ServicesParams(units=["smbd.service", "cron.service"]),
                     {"failed": NO_FAILED, "active": "active\nactive"},
                     {"failed": "systemctl list-units", "active": "systemctl is-active"}),
    "timesync": Case(TimesyncCheck(), TimesyncParams(), {"timedatectl": TIMEDATECTL,
                                                         "clock": f"{EPOCH}.120000000"},
                     {"timedatectl": "timedatectl show", "clock": "date"}),
    "patches-apt": Case(PatchesCheck(), PatchesParams(), _host_sections(APT),
                        {"apt": "apt-get", "apt_lists": "apt package lists", **REBOOT_PARTS},
                        build=_patches(APT)),
    "patches-dnf": Case(PatchesCheck(), PatchesParams(), _host_sections(DNF),
                        {"dnf": "dnf check-update", "dnf_advisories": "dnf updateinfo",
                         "dnf_restart": "dnf needs-restarting", "dnf_cache": "dnf package lists",
                         **REBOOT_PARTS}, {"dnf": 100}, build=_patches(DNF)),
    "patches-yum": Case(PatchesCheck(), PatchesParams(), _host_sections(YUM),
                        {"yum": "yum check-update", "yum_advisories": "yum updateinfo",
                         "yum_restart": "needs-restarting", "yum_cache": "yum package lists",
                         **REBOOT_PARTS}, {"yum": 100}, build=_patches(YUM)),
    "patches-zypper": Case(PatchesCheck(), PatchesParams(), _host_sections(ZYPPER),
                           {"zypper_patches": "zypper list-patches",
                            "zypper_cache": "zypper package lists", **REBOOT_PARTS},
                           build=_patches(ZYPPER)),
}


def _text(value) -> str:
    return value if isinstance(value, str) else value[0]


def faults(case: Case, name: str) -> dict[str, Any]:
    good = _text(case.healthy[name])
    command = case.commands[name].split()[0]
    return {
        "missing": ("", 127, f"sh: 1: {command}: not found"),
        "exits non-zero": (good, 1, f"{command}: something went wrong"),
        "error on stderr": (good, 0, f"{command}: error: cannot read the database"),
        "prints nothing": ("", case.empty_rc.get(name, 0), ""),
        "cut in half": (good[: len(good) // 2], CUT, ""),
        "part never came": None,
    }


MATRIX = [(check, name, fault) for check, case in CASES.items() for name in case.commands
          for fault in faults(case, name)]


@pytest.mark.parametrize("check", list(CASES))
def test_the_healthy_answer_is_ok(check):
    case = CASES[check]
    outcome = judge(case.check, case.raw(case.healthy), case.params)
    assert outcome.state is State.OK, outcome.summary


@pytest.mark.parametrize("check,name,fault", MATRIX)
def test_a_failing_command_is_never_ok(check, name, fault):
    case = CASES[check]
    sections = dict(case.healthy)
    sections[name] = faults(case, name)[fault]
    if sections[name] is None:
        del sections[name]
        if case.build is not None:
            sections[name] = None
    outcome = judge(case.check, case.raw(sections), case.params)
    assert outcome.state in (State.UNKNOWN, State.CRITICAL), (fault, outcome.summary)
    bad = " ".join(r.summary for r in outcome.results if not r.state.is_ok)
    assert bad, outcome.summary  # the reason is said, not only the state


def test_a_package_manager_that_is_not_installed_is_not_a_clean_bill():
    # Every family absent ("command -v" exit 200), or apt-get vanishing after the probe.
    outcome = judge(PatchesCheck(), _patches(APT)({"apt": ("", ABSENT), "apt_lists": ("",
                                                                                      ABSENT)}),
                    PatchesParams())
    assert outcome.state is State.UNKNOWN
    assert "no apt-get, dnf, yum or zypper" in outcome.summary


def test_zypper_needs_rebooting_failing_falls_back_to_the_flag_file_it_reads():
    host = _patches(ZYPPER)
    missing = ("", 2, "Unknown command 'needs-rebooting'")
    flagged = judge(PatchesCheck(), host({"zypper_reboot": missing,
                                          "zypper_reboot_flag": "present"}), PatchesParams())
    assert "reboot required" in flagged.summary
    both = judge(PatchesCheck(), host({"zypper_reboot": missing,
                                       "zypper_reboot_flag": ("", CUT)}), PatchesParams())
    assert both.state is State.UNKNOWN
    assert "cannot tell whether a reboot is pending" in both.summary


# --- Windows and plugins: one command, its exit status, stdout and stderr --------------------

WINDOWS_JSON = data("windows-patches.ps51.json")
WINDOWS_NOW = CheckContext(NOW.replace(year=2024, month=5, day=20), {})


@pytest.mark.parametrize("fault,result", [
    ("missing", CommandResult(127, "", "sh: 1: powershell: not found", 0.1)),
    ("exits non-zero", CommandResult(1, WINDOWS_JSON, "Get-HotFix : Access is denied", 0.1)),
    ("error on stderr", CommandResult(0, WINDOWS_JSON, "Get-HotFix : RPC server unavailable",
                                      0.1)),
    ("prints nothing", CommandResult(0, "", "", 0.1)),
    ("cut in half", CommandResult(0, WINDOWS_JSON[: len(WINDOWS_JSON) // 2], "", 0.1)),
    ("another program's JSON", CommandResult(0, "{}", "", 0.1)),
    ("no pending list", CommandResult(0, json.dumps({k: v for k, v in json.loads(
        WINDOWS_JSON).items() if k != "pending"}), "", 0.1)),
])
def test_windows_patches_failure_is_never_ok(fault, result):
    outcome = judge(PatchesCheck(), ("windows", result, False), PatchesParams())
    assert outcome.state in (State.UNKNOWN, State.CRITICAL), (fault, outcome.summary)
    assert "PowerShell" in outcome.summary


def test_windows_progress_noise_on_stderr_is_not_an_error():
    clixml = ('#< CLIXML\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/'
              'powershell/2004/04"><Obj S="progress" RefId="0"><TN RefId="0"><T>System.'
              'Management.Automation.PSCustomObject</T></TN><MS><I64 N="SourceId">1</I64>'
              '<PR N="Record"><AV>Preparing modules for first use.</AV></PR></MS></Obj></Objs>')
    ok = CommandResult(0, WINDOWS_JSON, clixml, 0.1)
    outcome = PatchesCheck().evaluate(("windows", ok, False), PatchesParams(),
                                      WINDOWS_NOW).outcome
    assert "PowerShell" not in outcome.summary
    error = clixml.replace('</Objs>', '<S S="Error">Get-HotFix : Access is denied_x000D__x000A_'
                           '</S></Objs>')
    bad = judge(PatchesCheck(), ("windows", CommandResult(0, WINDOWS_JSON, error, 0.1), False),
                PatchesParams())
    assert bad.state is State.UNKNOWN and "Access is denied" in bad.summary


PLUGIN = CommandParams(command=["/usr/lib/nagios/plugins/check_procs", "-w", "250"])


@pytest.mark.parametrize("fault,result,state", [
    ("missing", CommandResult(127, "", "env: 'check_procs': No such file", 0.1),
     State.UNKNOWN),
    ("not executable", CommandResult(126, "", "Permission denied", 0.1), State.UNKNOWN),
    ("killed", CommandResult(139, "", "", 0.1), State.UNKNOWN),
    ("exits outside 0-3", CommandResult(4, "PROCS OK: 3 processes", "", 0.1), State.UNKNOWN),
    ("says critical", CommandResult(2, "PROCS CRITICAL: 500 processes", "", 0.1),
     State.CRITICAL),
    ("error on stderr", CommandResult(0, "PROCS OK: 3 processes",
                                      "check_procs: cannot read /proc", 0.1), State.UNKNOWN),
    ("prints nothing", CommandResult(0, "", "", 0.1), State.UNKNOWN),
    ("timed out", CommandResult(124, "PROCS OK: 3 pro", "", 0.1), State.UNKNOWN),
])
def test_plugin_failure_is_never_ok(fault, result, state):
    outcome = judge(CommandCheck(), result, PLUGIN)
    assert outcome.state is state, (fault, outcome.summary)
    assert outcome.summary


def test_plugin_warning_exit_stays_a_warning():
    # Exit 1 is the plugin's own verdict, WARNING (monitoring-plugins guidelines 2.3).
    outcome = judge(CommandCheck(), CommandResult(1, "PROCS WARNING: 300", "", 0.1), PLUGIN)
    assert outcome.state is State.WARNING
