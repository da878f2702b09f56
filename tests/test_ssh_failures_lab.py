"""Failure injection on a real OpenSSH sshd: the lab host's PATH is a directory of links to
this machine's commands (lab/ssh_lab.py, ``tools=True``), and each test replaces one command
with a fake that is missing, fails, complains on stderr, prints nothing, or is cut in half by
the output cap or the timeout. Hosts with dnf, yum, zypper or PowerShell are made the same
way, from the captures in tests/data. Every fault must end UNKNOWN or CRITICAL with a reason
that names it — never OK."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.ssh_lab import SshLab
from muni_watchdog.checks import KINDS
from muni_watchdog.checks.base import TargetInfo
from muni_watchdog.checks.ssh.connection import SshConnection, SshSession
from muni_watchdog.core.model import CheckKey, Outcome, State
from muni_watchdog.core.transitions import Policy
from muni_watchdog.daemon.engine import CheckSpec, run_check
from tests.ssh_hosts import DNF_NO_REBOOT, YUM_NO_REBOOT, data

pytestmark = pytest.mark.integration
SSH = KINDS["ssh"]
CAP = 64 * 1024
TIMEOUT = "2s"


@pytest.fixture(scope="module")
def lab():
    server = SshLab(tools=True).start()
    (server.dir / "fixtures").mkdir()
    yield server
    server.stop()


@pytest.fixture
def host(lab, tmp_path):
    lab.reset_tools()
    return lab, lab.pin(tmp_path / "known_hosts")


def run(lab: SshLab, known: Path, check: str, os_name: str = "linux", **params) -> Outcome:
    conn = SshConnection(**lab.connection(known, os=os_name, max_output=CAP))
    info = TargetInfo("lab", "ssh", "127.0.0.1", conn)
    info = replace(info, session=SshSession.for_target(info))
    check_type = SSH.check_types[check]
    spec = CheckSpec(CheckKey(info.id, check), check_type,
                     check_type.Params(check=check, **params), info, Policy(60, 10, 3, 2), (), 3)

    async def go():
        try:
            return await run_check(spec, {}, datetime.now(UTC))
        finally:
            await info.session.close()
    return asyncio.run(go()).outcome


def fixture_file(lab: SshLab, name: str, text: str) -> str:
    path = lab.dir / "fixtures" / name
    path.write_text(text)
    path.chmod(0o644)
    return str(path)


# --- the hosts ------------------------------------------------------------------------------

SYSTEMCTL = r"""case "$1" in
  list-units) printf 'UNIT LOAD ACTIVE SUB DESCRIPTION\n0 loaded units listed.\n' ;;
  is-active) shift; [ "$1" = "--" ] && shift; for unit in "$@"; do echo active; done ;;
  *) exit 1 ;;
esac"""
TIMEDATECTL = r"printf 'Timezone=Etc/UTC\nNTP=yes\nNTPSynchronized=yes\n'"
PLUGIN = r"echo 'FAKE OK - all good | value=1;5;10;0'"


def _cache_stat(lab: SshLab, repo_file: str) -> str:
    # The simulated host's package cache: its lists were refreshed a minute ago.
    real = lab.real_tool("stat")
    return (f'case "$*" in */var/cache/*) echo "$(( $(/bin/date +%s) - 60 )) {repo_file}" ;;\n'
            f'  *) exec {real} "$@" ;;\nesac')


def _cache_ls(lab: SshLab, advisory_files: str) -> str:
    real = lab.real_tool("ls")
    return (f'case "$*" in *updateinfo*) printf \'{advisory_files}\' ;;\n'
            f'  *) exec {real} "$@" ;;\nesac')


def rhel9(lab: SshLab) -> None:
    lab.remove_tool("apt-get")
    updates = fixture_file(lab, "dnf-check-update", data("dnf-check-update.rhel9.txt"))
    advisories = fixture_file(lab, "dnf-updateinfo", data("dnf-updateinfo-security.rhel9.txt"))
    lab.fake_tool("dnf", f"""case "$*" in
  *check-update*) /bin/cat {updates}; exit 100 ;;
  *updateinfo*) /bin/cat {advisories} ;;
  *needs-restarting*) printf '{DNF_NO_REBOOT}\\n' ;;
  *) exit 1 ;;
esac""")
    lab.fake_tool("stat", _cache_stat(lab, "/var/cache/dnf/baseos-0123456789abcdef/repodata/"
                                           "repomd.xml"))
    lab.fake_tool("ls", _cache_ls(lab, "/var/cache/dnf/baseos-0123456789abcdef/repodata/"
                                       "4f1c-updateinfo.xml.zck\\n"))


YUM_ADVISORIES = ("RHSA-2024:4583 Important/Sec. kernel-3.10.0-1160.119.1.el7.x86_64\n"
                  "RHBA-2024:0421 bugfix        tzdata-2024a-1.el7.noarch\n")


def rhel7(lab: SshLab) -> None:
    lab.remove_tool("apt-get")
    lab.remove_tool("dnf")
    updates = fixture_file(lab, "yum-check-update", data("yum-check-update.rhel7.txt"))
    advisories = fixture_file(lab, "yum-updateinfo", YUM_ADVISORIES)
    lab.fake_tool("yum", f"""case "$*" in
  *check-update*) /bin/cat {updates}; exit 100 ;;
  *updateinfo*) /bin/cat {advisories} ;;
  *) exit 1 ;;
esac""")
    lab.fake_tool("needs-restarting", f"printf '{YUM_NO_REBOOT}\\n'")
    repo = "/var/cache/yum/x86_64/7Server/rhui-rhel-7-server-rhui-rpms"
    lab.fake_tool("stat", _cache_stat(lab, f"{repo}/repomd.xml"))
    lab.fake_tool("ls", _cache_ls(lab, f"{repo}/9e2a-updateinfo.xml.bz2\\n"))


def sle11(lab: SshLab) -> None:
    lab.remove_tool("apt-get")
    patches = fixture_file(lab, "zypper-lp", data("zypper-list-patches.sle11sp4.txt"))
    lab.fake_tool("zypper", f"""case "$*" in
  *list-patches*) /bin/cat {patches} ;;
  *list-updates*) printf 'Loading repository data...\\nReading installed packages...\\nNo updates found.\\n' ;;
  *needs-rebooting*) printf 'No core libraries or services have been updated.\\n' ;;
  *) exit 2 ;;
esac""")
    lab.fake_tool("stat", _cache_stat(lab, "/var/cache/zypp/raw/SLES11-SP4-Updates/repodata/"
                                           "repomd.xml"))


def debian12(lab: SshLab) -> None:
    answer = fixture_file(lab, "apt-get", data("apt-get-s-q-dist-upgrade.debian12.txt"))
    lab.fake_tool("apt-get", f"/bin/cat {answer}")


def windows(lab: SshLab) -> None:
    now = datetime.now(UTC)
    answer = {"hotfixes": [{"id": "KB5040437", "description": "Security Update",
                            "installed_on": (now - timedelta(days=5)).isoformat()}],
              "reboot": {"component_servicing": False, "windows_update": False},
              "pending": [], "last_install": (now - timedelta(days=5)).isoformat(),
              "now": now.isoformat()}
    path = fixture_file(lab, "windows.json", json.dumps(answer))
    lab.fake_tool("powershell", f"/bin/cat {path}")


@dataclass
class Host:
    check: str
    command: str                      # the command the faults replace
    healthy: str | None = None        # its healthy fake (None: this machine's real one)
    setup: object = None              # makes the rest of the host (dnf, zypper, Windows)
    empty_rc: int = 0                 # a silent answer's exit status
    fail_rc: int = 1                  # a failure's exit status
    os_name: str = "linux"
    params: dict = field(default_factory=dict)


# Patches: package lists of any age (this machine's apt lists are as old as the image).
LISTS = {"lists_max_age": "3650d"}
HOSTS = {
    "disk": Host("disk", "df"),
    "memory": Host("memory", "cat"),
    "load": Host("load", "nproc"),
    "uptime": Host("uptime", "date"),
    "services": Host("services", "systemctl", SYSTEMCTL,
                     params={"units": ["smbd.service"]}),
    "timesync": Host("timesync", "timedatectl", TIMEDATECTL),
    # A plugin's exit 1 is its WARNING verdict (tests/test_ssh_failures.py): a failure here
    # is an exit status the plugin API does not define.
    "command": Host("command", "check_fake", PLUGIN, fail_rc=5,
                    params={"command": ["check_fake"]}),
    "patches-apt": Host("patches", "apt-get", params=LISTS),
    # The faults wrap a captured apt-get answer, the healthy test runs the real one.
    "patches-apt-capture": Host("patches", "apt-get", setup=lambda lab: debian12(lab),
                                params=LISTS),
    "patches-dnf": Host("patches", "dnf", setup=rhel9, empty_rc=100, params=LISTS),
    "patches-yum": Host("patches", "yum", setup=rhel7, empty_rc=100, params=LISTS),
    "patches-zypper": Host("patches", "zypper", setup=sle11, params=LISTS),
    "patches-windows": Host("patches", "powershell", setup=windows, os_name="windows"),
}


def install(lab: SshLab, host: Host) -> str:
    """Set the host up; returns the shell fragment of the command's healthy behaviour."""
    if host.setup is not None:
        host.setup(lab)
    if host.healthy is not None:
        lab.fake_tool(host.command, host.healthy)
        return host.healthy
    existing = lab.bin / host.command
    if existing.is_symlink():
        return f'{existing.resolve()} "$@"'
    # A fake made by the setup (dnf, zypper...): keep a copy to wrap.
    kept = lab.dir / "fixtures" / f"{host.command}.healthy"
    kept.write_text(existing.read_text())
    kept.chmod(0o755)
    return f'{kept} "$@"'


def fault_script(fault: str, healthy: str, command: str, empty_rc: int, fail_rc: int
                 ) -> str | None:
    if fault == "missing":
        return None
    if fault == "exits non-zero":
        return f'( {healthy} )\necho "{command}: something went wrong" >&2\nexit {fail_rc}'
    if fault == "error on stderr":
        return f'( {healthy} )\nrc=$?\necho "{command}: error: cannot read its data" >&2\n' \
               'exit $rc'
    if fault == "prints nothing":
        return f"exit {empty_rc}"
    if fault == "cut by the size cap":
        return f"( {healthy} )\n/usr/bin/head -c {CAP * 4} /dev/zero | /usr/bin/tr '\\0' x"
    if fault == "cut by the timeout":
        return (f'out=$( ( {healthy} ) )\nprintf "%s" "$out" | /usr/bin/head -c '
                '$(( ${#out} / 2 ))\n/bin/sleep 30')
    raise AssertionError(fault)


# What each fault must be called in the verdict.
REASONS = {
    "missing": ("not found", "no apt-get, dnf, yum or zypper"),
    "exits non-zero": ("exit 1", "exit 5"),
    "error on stderr": ("reported an error", "wrote to stderr"),
    "prints nothing": ("printed nothing", "lists none"),
    "cut by the size cap": (f"exceeds {CAP} bytes",),
    "cut by the timeout": ("did not finish within",),
}


@pytest.mark.parametrize("name", list(HOSTS))
def test_the_healthy_host_is_ok(host, name):
    lab, known = host
    spec = HOSTS[name]
    install(lab, spec)
    outcome = run(lab, known, spec.check, spec.os_name, **spec.params)
    assert outcome.state is State.OK, outcome.summary


@pytest.mark.parametrize("name,fault", [(n, f) for n in HOSTS for f in REASONS
                                        if n != "patches-apt"])
def test_a_failing_command_on_a_real_host_is_never_ok(host, name, fault):
    lab, known = host
    spec = HOSTS[name]
    healthy = install(lab, spec)
    script = fault_script(fault, healthy, spec.command, spec.empty_rc, spec.fail_rc)
    if script is None:
        lab.remove_tool(spec.command)
    else:
        lab.fake_tool(spec.command, script)
    params = dict(spec.params)
    if fault == "cut by the timeout":
        params["timeout"] = TIMEOUT
    outcome = run(lab, known, spec.check, spec.os_name, **params)
    assert outcome.state in (State.UNKNOWN, State.CRITICAL), (fault, outcome.summary)
    assert any(reason in outcome.summary for reason in REASONS[fault]), outcome.summary
