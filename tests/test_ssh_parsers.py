"""The ssh checks' pure parts, on captured and realistic outputs (tests/data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.checks.base import CollectError
from muni_watchdog.checks.ssh.checks_patches import PatchesCheck, PatchesParams
from muni_watchdog.checks.ssh.checks_system import (
    DiskCheck,
    DiskParams,
    ServicesCheck,
    ServicesParams,
)
from muni_watchdog.checks.ssh.common import HostKeyAlarm, RemoteData
from muni_watchdog.checks.ssh.connection import CommandResult, posix_wrap, shell_command
from muni_watchdog.checks.ssh.packages import (
    is_security_origin,
    kernels_from_boot,
    parse_apt_simulation,
    parse_needrestart,
)
from muni_watchdog.checks.ssh.plugin import parse_plugin_output
from muni_watchdog.checks.ssh.rpm_packages import (
    mark_security,
    parse_advisories,
    parse_check_update,
)
from muni_watchdog.checks.ssh.sections import Section, parse_sections, sections_script
from muni_watchdog.checks.ssh.system import parse_df, parse_failed_units, real_filesystems
from muni_watchdog.checks.ssh.windows import as_list, parse_ps_date, parse_windows_patches
from muni_watchdog.checks.ssh.zypper import parse_patches, parse_updates
from muni_watchdog.core.model import CheckContext, State
from tests.ssh_hosts import NOW, apt_host, data, dnf_host, with_summary

# --- apt ------------------------------------------------------------------------------------

def test_apt_debian12_counts_security_from_every_origin_on_the_inst_line():
    sim = parse_apt_simulation(data("apt-get-s-upgrade.debian12.txt"))
    assert len(sim.updates) == 135
    assert sum(u.security for u in sim.updates) == 81
    gcrypt = next(u for u in sim.updates if u.name == "libgcrypt20")
    assert gcrypt.current == "1.10.1-3" and gcrypt.version == "1.10.1-3+deb12u1"
    assert gcrypt.origins == ("Debian:12.15/oldstable", "Debian-Security:12/oldstable-security")
    assert gcrypt.security
    assert not next(u for u in sim.updates if u.name == "bash").security


def test_apt_ubuntu_esm_multi_origin_phased_and_new_kernel():
    sim = parse_apt_simulation(data("apt-get-s-dist-upgrade.ubuntu2204.txt"))
    by_name = {u.name: u for u in sim.updates}
    assert by_name["python3-pil"].security           # UbuntuESMApps ...-apps-security
    assert by_name["libxml2"].security               # UbuntuESM ...-infra-security
    assert by_name["libssl3"].security               # jammy-updates AND jammy-security
    assert not by_name["tzdata"].security
    assert by_name["linux-image-5.15.0-119-generic"].action == "install"
    phased = [u.name for u in sim.updates if u.phased]
    assert phased == ["python3-software-properties", "software-properties-common"]
    assert sum(1 for u in sim.updates if not u.phased) == 8


@pytest.mark.parametrize("origin,security", [
    ("Debian-Security:12/bookworm-security", True),
    ("Ubuntu:22.04/jammy-security", True),
    ("UbuntuESM:16.04/xenial-infra-security", True),
    ("UbuntuESMApps:22.04/jammy-apps-security", True),
    ("Ubuntu:22.04/jammy-updates", False),
    ("Debian:12.15/oldstable", False),
])
def test_security_origins(origin, security):
    assert is_security_origin(origin) is security


def _apt_raw(apt_text: str, lists_age: float, extra: dict | None = None,
             internet: bool = False) -> RemoteData:
    """An apt host; ``apt_text`` without apt's summary line gets one (see with_summary)."""
    if "upgraded, " not in apt_text:
        apt_text = with_summary(apt_text)
    return apt_host(apt_text, lists_age, internet=internet, **(extra or {}))


def test_patches_judged_by_age_not_count_with_first_seen_remembered():
    check, params = PatchesCheck(), PatchesParams()
    raw = _apt_raw(data("apt-get-s-upgrade.debian12.txt"), 3600)
    first = check.evaluate(raw, params, CheckContext(NOW, {}))
    assert first.outcome.state is State.OK  # 81 security updates, but seen just now
    assert "81 security updates pending" in first.outcome.summary
    seen = first.memory["first_seen"]
    assert seen["libssl3"] == NOW.isoformat()
    item = next(i for i in first.outcome.items if i.get("name") == "libssl3")
    assert item["security"] and item["first_seen"] == NOW.isoformat()
    assert item["version"] == "3.0.22-1~deb12u2" and item["origins"]

    later = check.evaluate(raw, params, CheckContext(NOW + timedelta(days=4), first.memory))
    assert later.outcome.state is State.WARNING
    assert later.memory["first_seen"]["libssl3"] == NOW.isoformat()  # kept, not reset
    assert check.evaluate(raw, params, CheckContext(NOW + timedelta(days=15), first.memory)
                          ).outcome.state is State.CRITICAL


def test_internet_facing_targets_go_critical_after_7_days():
    check, params = PatchesCheck(), PatchesParams()
    memory = {"first_seen": {"libssl3": (NOW - timedelta(days=8)).isoformat()}}
    text = data("apt-get-s-upgrade.debian12.txt")
    inside = check.evaluate(_apt_raw(text, 3600), params, CheckContext(NOW, memory))
    exposed = check.evaluate(_apt_raw(text, 3600, internet=True), params,
                             CheckContext(NOW, memory))
    assert inside.outcome.state is State.WARNING and exposed.outcome.state is State.CRITICAL


def test_installed_updates_are_forgotten_and_non_security_warn_after_30_days():
    text = "Inst tzdata [2024a-1] (2024b-1 Debian:12.15/oldstable [all])\n"
    memory = {"first_seen": {"tzdata": (NOW - timedelta(days=31)).isoformat(),
                             "gone": NOW.isoformat()}}
    result = PatchesCheck().evaluate(_apt_raw(text, 60), PatchesParams(),
                                     CheckContext(NOW, memory))
    assert result.outcome.state is State.WARNING
    assert set(result.memory["first_seen"]) == {"tzdata"}


# Ubuntu's apt hook prints these in the same `apt-get -s` output (the forms Checkmk's apt check
# reads too); the package names and versions here are ours.
ESM_APPS = """The following security updates require Ubuntu Pro with 'esm-apps' enabled:
  imagemagick libmagickcore-6.q16-6 libmagickwand-6.q16-6
Learn more about Ubuntu Pro at https://ubuntu.com/pro
Inst tzdata [2024a-0ubuntu0.22.04] (2024b-0ubuntu0.22.04 Ubuntu:22.04/jammy-updates [all])
"""
ESM_INFRA_OLD = """*The following packages could receive security updates with UA Infra: ESM service enabled:
libglib2.0-data libglib2.0-0
Learn more about UA Infra: ESM service for Ubuntu 16.04 at https://ubuntu.com/16-04
Inst ubuntu-advantage-tools [27.4.1~16.04.1] (27.4.2~16.04.1 Ubuntu:16.04/xenial-updates [amd64])
"""
NO_ESM = """Enable UA Infra: ESM to receive additional future security updates.
See https://ubuntu.com/16-04 or run: sudo ua status
Inst ubuntu-advantage-tools [27.4.1~16.04.1] (27.4.2~16.04.1 Ubuntu:16.04/xenial-updates [amd64])
"""
PRO_ADVERT = """Receive additional future security updates with Ubuntu Pro.
Learn more about Ubuntu Pro at https://ubuntu.com/pro
Inst tzdata [2024a-0ubuntu0.22.04] (2024b-0ubuntu0.22.04 Ubuntu:22.04/jammy-updates [all])
"""


@pytest.mark.parametrize("text, state, words", [
    (ESM_APPS, State.WARNING, "3 security updates need Ubuntu Pro (esm-apps), which is not "
                              "enabled: imagemagick, libmagickcore-6.q16-6"),
    (ESM_INFRA_OLD, State.CRITICAL, "2 security updates need Ubuntu Pro (esm-infra)"),
    (NO_ESM, State.CRITICAL, "gets security updates only through Ubuntu Pro (ESM Infra)"),
    (PRO_ADVERT, State.OK, "no security updates pending"),
])
def test_security_fixes_that_need_ubuntu_pro_are_never_an_all_clear(text, state, words):
    sim = parse_apt_simulation(text)
    assert [u.name for u in sim.updates] in (["tzdata"], ["ubuntu-advantage-tools"])
    outcome = PatchesCheck().evaluate(_apt_raw(text, 60), PatchesParams(),
                                      CheckContext(NOW, {})).outcome
    assert outcome.state is state and words in outcome.summary, outcome.summary
    listed = [i["name"] for i in outcome.items if i.get("kind") == "esm_only"]
    assert listed == sim.esm_only.get("esm-apps", []) + sim.esm_only.get("esm-infra", [])


def test_stale_package_lists_are_unknown_never_ok():
    result = PatchesCheck().evaluate(_apt_raw("", 3 * 86400), PatchesParams(),
                                     CheckContext(NOW, {}))
    assert result.outcome.state is State.UNKNOWN
    assert "package lists are 3 days old" in result.outcome.summary


def test_phased_updates_are_listed_but_not_counted():
    result = PatchesCheck().evaluate(_apt_raw(data("apt-get-s-dist-upgrade.ubuntu2204.txt"),
                                              60), PatchesParams(), CheckContext(NOW, {}))
    metrics = {m.name: m.value for m in result.outcome.metrics}
    assert metrics["security_updates"] == 7 and metrics["other_updates"] == 1
    phased = [i for i in result.outcome.items if i.get("phased")]
    assert len(phased) == 2 and "first_seen" not in phased[0]


def test_reboot_required_by_kernel_and_flag_ages_from_the_flag_file():
    flag_time = int((NOW - timedelta(days=4)).timestamp())
    extra = {
        "reboot_flag": Section("reboot_flag", f"{flag_time}\nlinux-image-6.1.0-21-amd64", 0),
        "kernel": Section("kernel", "6.1.0-18-amd64\n/boot/vmlinuz-6.1.0-18-amd64\n"
                          "/boot/vmlinuz-6.1.0-21-amd64", 0),
    }
    result = PatchesCheck().evaluate(_apt_raw("", 60, extra), PatchesParams(),
                                     CheckContext(NOW, {}))
    assert result.outcome.state is State.WARNING
    assert "reboot required for 4 days" in result.outcome.summary
    assert "kernel 6.1.0-21-amd64 installed, 6.1.0-18-amd64 running" in result.outcome.summary


def test_needrestart_in_a_container_says_unknown_kernel():
    info = parse_needrestart(data("needrestart-b.container.txt"))
    assert info["kernel_status"] == 0 and info["services"] == []
    assert parse_needrestart("NEEDRESTART-KSTA: 3\nNEEDRESTART-SVC: ssh.service\n"
                             "Use of uninitialized value\n") == {
        "services": ["ssh.service"], "kernel_status": 3}


def test_kernel_versions_sort_naturally():
    assert kernels_from_boot("/boot/vmlinuz-6.1.0-9-amd64\n/boot/vmlinuz-6.1.0-21-amd64\n"
                             "/boot/vmlinuz-0-rescue-abc\n") == ["6.1.0-9-amd64",
                                                                 "6.1.0-21-amd64"]


# --- dnf, zypper, Windows -------------------------------------------------------------------

def test_dnf_check_update_and_security_advisories():
    parsed = parse_check_update(data("dnf-check-update.rhel9.txt"))
    # grub2-tools obsoletes the installed grub2-tools: a replacement is an update too.
    assert [u.name for u in parsed.updates] == ["openssl", "openssl-libs", "kernel", "tzdata",
                                                "python3-requests", "grub2-tools"]
    advisories = parse_advisories(data("dnf-updateinfo-security.rhel9.txt"))
    assert advisories.security["openssl-libs"] == ("RHSA-2024:5259", "Moderate")
    merged = {u.name: u for u in mark_security(parsed.updates, advisories.security)}
    assert merged["kernel"].security and merged["kernel"].severity == "Important"
    assert not merged["tzdata"].security


def test_dnf_error_exit_is_unknown_and_100_means_updates():
    with pytest.raises(CollectError, match="exit 1"):
        PatchesCheck().evaluate(dnf_host(rc=1), PatchesParams(), CheckContext(NOW, {}))
    from tests.ssh_hosts import DNF_REBOOT
    result = PatchesCheck().evaluate(dnf_host(restart=(DNF_REBOOT, 1)), PatchesParams(),
                                     CheckContext(NOW, {}))
    assert "3 security updates pending" in result.outcome.summary  # kernel, openssl(-libs)
    assert "dnf needs-restarting" in result.outcome.summary


def test_zypper_security_patches_and_updates():
    patches = parse_patches(data("zypper-list-patches-security.sles15.txt"))
    assert [p.severity for p in patches.patches] == ["important", "moderate"]  # applied: no
    assert all(p.security for p in patches.patches)
    updates = parse_updates(data("zypper-list-updates.sles15.txt")).updates
    assert updates[0].name == "timezone" and updates[0].version == "2024b-150000.75.31.1"


def test_powershell_51_collapsed_arrays_and_ms_dates():
    state = parse_windows_patches(data("windows-patches.ps51.json"))
    assert len(state.hotfixes) == 1 and state.hotfixes[0]["id"] == "KB5034439"
    assert state.last_hotfix == datetime(2024, 4, 9, tzinfo=UTC)
    assert state.pending is not None and len(state.pending) == 1
    assert state.pending[0].security and state.pending[0].version == "KB5037765"
    assert state.reboot_pending and state.reboot_reasons == ["component_servicing"]
    assert as_list(None) == [] and as_list({"a": 1}) == [{"a": 1}] and as_list([1]) == [1]
    assert parse_ps_date("2024-07-10T00:00:00.0000000") == datetime(2024, 7, 10, tzinfo=UTC)


def test_windows_denied_search_is_said_plainly_and_judged_by_last_install():
    check = PatchesCheck()
    result = CommandResult(0, data("windows-patches.denied.json"), "", 1.0)
    evaluation = check.evaluate(("windows", result, False), PatchesParams(),
                                CheckContext(datetime(2024, 7, 20, tzinfo=UTC), {}))
    assert evaluation.outcome.state is State.UNKNOWN
    assert "Windows denied the update search" in evaluation.outcome.summary
    assert any("last update installed 10 days ago" in r.summary
               for r in evaluation.outcome.results)


# --- df, systemd, plugins, framing, quoting -------------------------------------------------

def test_df_with_spaces_escapes_and_pseudo_filesystems():
    rows = real_filesystems(parse_df(data("df-PTk.odd.txt")))
    assert [r.mount for r in rows] == ["/", "/mnt/Clerk Records 2024", "/srv/data",
                                       "/mnt/odd name"]
    assert rows[1].device == "//nas/clerk share" and rows[1].fstype == "cifs"


def test_disk_levels_need_both_percent_and_absolute_free_and_inodes():
    raw = RemoteData({"df": Section("df", data("df-PTk.odd.txt"), 0),
                      "dfi": Section("dfi", data("df-PTi.odd.txt"), 0)}, "linux", False)
    result = DiskCheck().evaluate(raw, DiskParams(), CheckContext(NOW, {}))
    states = {i["mount"]: i["state"] for i in result.outcome.items}
    assert states["/"] == "critical"              # 95 %, < 1 GiB free
    assert states["/srv/data"] == "ok"            # 80 %, but 200 GiB free
    assert states["/mnt/odd name"] == "critical"  # 90 %, 98 MiB free
    assert "/ only 2.3% inodes free" in result.outcome.summary


def test_disk_forecast_from_remembered_history():
    check, params = DiskCheck(), DiskParams(free_warn_gb=0, free_crit_gb=0)
    memory: dict = {}
    total_kib = 100 * 1024 * 1024  # 100 GiB
    used_kib = 85 * 1024 * 1024
    for hour in range(6):
        used = used_kib + hour * 1024 * 1024  # +1 GiB an hour: 10 GiB free at 90 % → < 1 day
        df = ("Filesystem Type 1024-blocks Used Available Capacity Mounted on\n"
              f"/dev/sda1 ext4 {total_kib} {used} {total_kib - used} 85% /\n")
        raw = RemoteData({"df": Section("df", df, 0), "dfi": Section("dfi", "", 0)},
                         "linux", False)
        result = check.evaluate(raw, params, CheckContext(NOW + timedelta(hours=hour),
                                                          memory))
        memory = result.memory
    item = result.outcome.items[0]
    assert 0.3 < item["days_until_full"] < 0.5
    assert result.outcome.state is State.CRITICAL and "full in" in result.outcome.summary


def test_failed_units_and_required_units():
    assert parse_failed_units("● smbd.service loaded failed failed Samba SMB Daemon\n")[0] \
        .name == "smbd.service"
    raw = RemoteData({"failed": Section("failed", "cups.service loaded failed failed CUPS\n"
                                        "\n1 loaded units listed.\n", 0),
                      "active": Section("active", "active\ninactive\n", 3)}, "linux", False)
    params = ServicesParams(units=["ssh.service", "postgresql.service"])
    result = ServicesCheck().evaluate(raw, params, CheckContext(NOW, {}))
    assert result.outcome.state is State.CRITICAL
    assert result.outcome.summary == "cups.service failed, postgresql.service is inactive"


def test_plugin_output_summary_perfdata_and_long_text():
    out = parse_plugin_output("DISK OK - free space: / 3326 MB | '/ free'=3326MB;1000;500;0;9000"
                              " time=0.01s\nline two\nline three | extra=5;@1:3;~:10\n"
                              "more=7c\n")
    assert out.summary == "DISK OK - free space: / 3326 MB"
    assert out.long_text == "line two\nline three"
    names = {m.name: m for m in out.metrics}
    assert names["/ free"].value == 3326 and names["/ free"].warn == 1000
    assert names["extra"].warn == 3 and names["extra"].crit == 10 and names["more"].unit == "c"


def test_sections_round_trip_and_a_cut_short_section():
    script = sections_script([("a", "echo hi"), ("b", "exit 3")])
    assert "<<<muniwd:a>>>" in script
    parsed = parse_sections("<<<muniwd:a>>>\nhi\n\n<<<muniwd-rc:0>>>\n<<<muniwd:b>>>\npart")
    assert parsed["a"] == Section("a", "hi", 0) and parsed["b"].rc == -1


def test_values_are_always_quoted():
    evil = "x; rm -rf / #"
    assert shell_command(["systemctl", "is-active", evil]) == \
        "systemctl is-active 'x; rm -rf / #'"
    wrapped = posix_wrap("echo $HOME", 10)
    assert wrapped.startswith("env LC_ALL=C LANG=C timeout -k 5 10 sh -c 'echo $HOME'")


def test_changed_host_key_alarm_is_critical_immediate_and_keeps_memory():
    memory = {"first_seen": {"x": NOW.isoformat()}}
    result = PatchesCheck().evaluate(HostKeyAlarm("SECURITY: host key CHANGED"),
                                     PatchesParams(), CheckContext(NOW, memory))
    assert result.outcome.state is State.CRITICAL and result.outcome.immediate
    assert result.memory == memory


def test_os_release_parsing():
    from muni_watchdog.checks.ssh.system import parse_os_release
    text = ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
            "VERSION_ID='12'\nID=debian\n# a comment\nnot a line\nHOME_URL=\"x\"\n")
    fields = parse_os_release(text)
    assert fields["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"
    assert (fields["VERSION_ID"], fields["ID"]) == ("12", "debian")
    assert "not a line" not in fields and len(fields) == 5
