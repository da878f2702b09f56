"""The package managers' outputs as they exist in the field (tests/data/README.md says where
each capture comes from), and the rule that our count is the tool's own count."""

from __future__ import annotations

import pytest

from muni_watchdog.checks.base import CollectError
from muni_watchdog.checks.ssh.checks_patches import PatchesCheck, PatchesParams
from muni_watchdog.checks.ssh.packages import parse_apt_simulation
from muni_watchdog.checks.ssh.patches_linux import read_family
from muni_watchdog.checks.ssh.rpm_packages import (
    parse_advisories,
    parse_check_update,
    parse_needs_restarting,
)
from muni_watchdog.checks.ssh.zypper import (
    parse_needs_rebooting,
    parse_patches,
    parse_tables,
    parse_updates,
)
from muni_watchdog.core.model import CheckContext, State
from tests.ssh_hosts import (
    DNF_REBOOT,
    NOW,
    apt_host,
    data,
    dnf_host,
    patches_host,
    yum_host,
    zypper_host,
)


def evaluate(raw):
    try:
        return PatchesCheck().evaluate(raw, PatchesParams(), CheckContext(NOW, {})).outcome
    except CollectError as exc:
        from muni_watchdog.core.model import Outcome
        return Outcome.unknown(str(exc))


def metric(outcome, name):
    return next(m.value for m in outcome.metrics if m.name == name)


# --- zypper: columns by header name, zypper's own count ------------------------------------

def test_zypper_sle11_five_columns_with_version():
    found = parse_patches(data("zypper-list-patches.sle11sp4.txt"))
    assert [(p.name, p.version, p.security) for p in found.patches] == [
        ("sdksp4-apache2-mod_fcgid-12653", "1", True), ("slessp4-mysql-12847", "1", True),
        ("slessp4-timezone-12844", "1", False), ("slessp4-wget-12826", "1", False)]
    assert found.patches[0].origins == ("SLE11-SDK-SP4-Updates",)
    outcome = evaluate(zypper_host(data("zypper-list-patches.sle11sp4.txt")))
    # Checkmk's test for these rows: 4 updates, security 2, recommended 2.
    assert (metric(outcome, "security_updates"), metric(outcome, "other_updates")) == (2, 2)


def test_zypper_opensuse12_six_columns_with_version_and_summary():
    found = parse_patches(data("zypper-list-patches.opensuse121.txt"))
    [patch] = found.patches
    assert (patch.name, patch.version, patch.security) == ("openSUSE-2012-324", "1", False)
    assert patch.origins == ("Updates for openSUSE 12.1 12.1-1.4",)


def test_zypper_sles15_all_patches_count_matches_zyppers_own_line():
    # zypper closes with "80 patches needed (36 security patches)": applied, not needed,
    # optional and retracted patches are listed with --all and must not be counted.
    found = parse_patches(data("zypper-list-patches-all.sles15sp5.txt"))
    assert found.stated == (80, 36) and found.listed == 116
    assert len(found.patches) == 80 and sum(p.security for p in found.patches) == 36
    outcome = evaluate(zypper_host(data("zypper-list-patches-all.sles15sp5.txt")))
    assert (metric(outcome, "security_updates"), metric(outcome, "other_updates")) == (36, 44)
    assert "36 security updates pending" in outcome.summary


def test_zypper_table_disagreeing_with_zyppers_count_is_unknown():
    text = data("zypper-list-patches-all.sles15sp5.txt").replace(
        "| needed     | Security update for bind", "| applied    | Security update for bind")
    outcome = evaluate(zypper_host(text))
    assert outcome.state is State.UNKNOWN
    assert "zypper counts 80 patches needed (36 security)" in outcome.summary


def test_zypper_columns_are_found_by_name_not_position():
    moved = ("Name           | Status | Category | Repository\n"
             "---------------+--------+----------+-----------\n"
             "openSUSE-2026-1 | needed | security | repo-update\n")
    [patch] = parse_patches(moved).patches
    assert (patch.name, patch.security, patch.origins) == ("openSUSE-2026-1", True,
                                                          ("repo-update",))


def test_zypper_cell_with_a_bar_stays_in_its_column():
    text = ("Repository  | Name         | Category | Severity | Interactive | Status | Summary\n"
            "------------+--------------+----------+----------+-------------+--------+--------"
            "----------------------\n"
            "repo|mirror | SUSE-2026-77 | security | low      | ---         | needed | OpenGL|ES "
            "fix | with bars\n")
    [row] = parse_tables(text)[0].rows
    assert row["Repository"] == "repo|mirror" and row["Status"] == "needed"
    assert row["Summary"] == "OpenGL|ES fix | with bars"


def test_zypper_update_stack_patches_first_then_the_rest_two_tables():
    # zypper list-patches prints the package-manager patches in a table of their own first.
    head = ("Repository  | Name          | Category    | Severity  | Interactive | Status | "
            "Summary\n------------+---------------+-------------+-----------+-------------+----"
            "----+-------------------------\n")
    text = ("Loading repository data...\nReading installed packages...\n\n"
            "Needed software management updates will be installed first:\n\n" + head +
            "Leap-Update | openSUSE-2026-1 | recommended | moderate  | restart     | needed | "
            "Recommended update for zypper\n\nThe following updates are also available:\n\n"
            + head +
            "Leap-Update | openSUSE-2026-2 | security    | important | ---         | needed | "
            "Security update for curl\n\nFound 2 applicable patches:\n"
            "2 patches needed (1 security patch)\n")
    found = parse_patches(text)
    assert [p.name for p in found.patches] == ["openSUSE-2026-1", "openSUSE-2026-2"]
    assert found.stated == (2, 1)


def test_zypper_nothing_to_do_is_said_not_assumed():
    nothing = "Loading repository data...\nReading installed packages...\nNo updates found.\n"
    outcome = evaluate(zypper_host(nothing))
    assert outcome.state is State.OK and "no security updates pending" in outcome.summary
    silent = evaluate(zypper_host(""))
    assert silent.state is State.UNKNOWN and "printed nothing" in silent.summary
    banner_only = evaluate(zypper_host("Loading repository data...\n"))
    assert "neither patches nor 'No updates found.'" in banner_only.summary


def test_zypper_without_patches_counts_package_updates():
    # Repositories without patch metadata (Tumbleweed): zypper lu is what is pending.
    nothing = "Loading repository data...\nReading installed packages...\nNo updates found.\n"
    outcome = evaluate(zypper_host(nothing, updates=data("zypper-list-updates.sles15.txt")))
    assert metric(outcome, "other_updates") == 1
    assert parse_updates(data("zypper-list-updates.sles15.txt")).updates[0].current == \
        "2024a-150000.75.28.1"


def test_zypper_exit_codes():
    locked = evaluate(zypper_host("", rc=7))
    assert "package management locked by another process" in locked.summary
    skipped = evaluate(zypper_host(data("zypper-list-patches.sle11sp4.txt"), rc=106))
    assert skipped.state is State.UNKNOWN and "some repositories were skipped" in \
        skipped.summary


def test_zypper_needs_rebooting_102_is_a_pending_reboot():
    # The measured bug: the section rc was always 0, so 102 was never seen.
    outcome = evaluate(zypper_host(data("zypper-list-patches.sle11sp4.txt"),
                                   reboot=("Core libraries or services have been updated.\n"
                                           "Reboot is required to ensure that your system "
                                           "benefits from these updates.", 102)))
    assert "reboot required" in outcome.summary and "zypper needs-rebooting" in outcome.summary
    assert parse_needs_rebooting(0, "Reboot is probably not necessary.") is False
    assert parse_needs_rebooting(2, "Unknown command 'needs-rebooting'") is None


# --- yum / dnf check-update --------------------------------------------------------------

@pytest.mark.parametrize("fixture,count,wrapped,obsoleting", [
    ("yum-check-update.centos7.txt", 42, ("google-compute-engine-oslogin",
                                          "1:20240415.00-g1.el7", "google-compute-engine"),
     "google-cloud-cli"),
    ("yum-check-update.rhel7.txt", 17, ("redhat-support-lib-python", "0.14.0-1.el7_9",
                                        "rhui-rhel-7-server-rhui-rpms"), "google-cloud-cli"),
    ("dnf-check-update.rhel9.txt", 6, None, "grub2-tools"),
])
def test_check_update_counts_wrapped_lines_and_obsoleting_replacements(fixture, count, wrapped,
                                                                       obsoleting):
    parsed = parse_check_update(data(fixture))
    assert len(parsed.updates) == count and not parsed.unreadable
    names = [u.name for u in parsed.updates]
    assert len(set(names)) == count and obsoleting in names
    assert obsoleting in parsed.obsoleted
    if wrapped:
        update = next(u for u in parsed.updates if u.name == wrapped[0])
        assert (update.version, update.origins) == (wrapped[1], (wrapped[2],))
    # Noise never becomes a package: mirror lines, plugin lines, "Security:" notes.
    assert not any(n.startswith(("*", "Loaded", "Loading", "Security")) for n in names)


# Ansible's own expectations for these captures (test/units/modules/test_yum.py).
@pytest.mark.parametrize("fixture,updates,obsoleted", [
    ("yum-check-update.rhel7-obsoletes.ansible.txt",
     ["NetworkManager-openvpn", "NetworkManager-openvpn-gnome", "cabal-install", "cgit",
      "python34-libs", "python34-test", "python34-tkinter", "python34-tools", "qgit",
      "rdiff-backup", "stoken-libs", "xlockmore", "ddashboard", "python-bugzilla",
      "python2-futures", "python2-pip", "python2-pyxdg", "python2-simplejson"],
     ["developerdashboard", "python-bugzilla-develdashboardfixes", "python-futures",
      "python-pip", "pyxdg", "python-simplejson"]),
    ("yum-check-update.wrapped-long-name-and-version.ansible.txt",
     ["empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-empty-"
      "empty-empty-empty-empty-empty-empty", "libtiff"], []),
    ("yum-check-update.wrapped-version.ansible.txt",
     ["ipxe-roms-qemu", "quota", "quota-nls", "rdma", "screen", "sos", "sssd-client"], []),
    ("yum-check-update.longname.ansible.txt", ["xxxxxxxxxxxxxxxxxxxxxxxxxx", "glibc"], []),
    ("yum-check-update.plugin-load-error.ansible.txt", [], []),
])
def test_check_update_matches_ansibles_expectations(fixture, updates, obsoleted):
    parsed = parse_check_update(data(fixture))
    assert [u.name for u in parsed.updates] == updates
    assert sorted(sum(parsed.obsoleted.values(), [])) == sorted(obsoleted)
    assert not parsed.unreadable


def test_check_update_exit_status_and_list_must_agree():
    # dnf exits 100 for updates (obsoleting replacements included), 0 for none.
    listed_none = evaluate(dnf_host(data("yum-check-update.plugin-load-error.ansible.txt"),
                                    rc=100))
    assert listed_none.state is State.UNKNOWN and "exit 100" in listed_none.summary
    said_none = evaluate(dnf_host(rc=0))
    assert said_none.state is State.UNKNOWN and "exit 0" in said_none.summary
    nothing = evaluate(dnf_host("", rc=0, advisories=""))
    assert nothing.state is State.OK and metric(nothing, "other_updates") == 0


def test_a_line_that_looks_like_a_package_but_is_not_read_is_unknown():
    garbled = "kernel.x86_64   5.14.0-427.28.1.el9_4   baseos   extra-column\n"
    outcome = evaluate(dnf_host(garbled))
    assert outcome.state is State.UNKNOWN and "could not be read" in outcome.summary


# --- RHEL/CentOS 7: yum only ------------------------------------------------------------

YUM_ADVISORIES = ("RHSA-2024:4583 Important/Sec. kernel-3.10.0-1160.119.1.el7.x86_64\n"
                  "RHSA-2024:4583 Important/Sec. kernel-tools-3.10.0-1160.119.1.el7.x86_64\n"
                  "RHBA-2024:0421 bugfix        tzdata-2024a-1.el7.noarch\n")


def test_a_yum_only_host_is_read_with_yum():
    raw = yum_host(data("yum-check-update.rhel7.txt"), advisories=YUM_ADVISORIES,
                   repos_with_advisories=("rhui-rhel-7-server-rhui-rpms",))
    assert read_family(raw).name == "yum"
    outcome = evaluate(raw)
    assert outcome.state is State.OK, outcome.summary
    assert (metric(outcome, "security_updates"), metric(outcome, "other_updates")) == (2, 15)


def test_centos7_without_errata_does_not_claim_no_security_updates():
    outcome = evaluate(yum_host(data("yum-check-update.centos7.txt")))
    assert outcome.state is State.UNKNOWN
    assert "publish no advisories" in outcome.summary
    assert "no security updates pending" not in outcome.summary


def test_yum_needs_restarting_from_yum_utils():
    reboot = ("Core libraries or services have been updated:\n  systemd -> 219-78.el7_9.9\n\n"
              "Reboot is required to ensure that your system benefits from these updates.\n\n"
              "More information:\nhttps://access.redhat.com/solutions/27943")
    outcome = evaluate(yum_host(data("yum-check-update.rhel7.txt"), advisories=YUM_ADVISORIES,
                                repos_with_advisories=("rhui-rhel-7-server-rhui-rpms",),
                                restart=(reboot, 1)))
    assert "reboot required" in outcome.summary
    missing = evaluate(yum_host(data("yum-check-update.rhel7.txt"), advisories=YUM_ADVISORIES,
                                repos_with_advisories=("rhui-rhel-7-server-rhui-rpms",),
                                restart=("", 127, "sh: 1: needs-restarting: not found")))
    assert missing.state is State.UNKNOWN and "yum-utils" in missing.summary


def test_needs_restarting_answers_only_when_it_says_so():
    assert parse_needs_restarting(1, DNF_REBOOT) is True
    assert parse_needs_restarting(0, "Reboot should not be necessary.") is False
    # dnf exits 1 for an unknown command too: that is not a reboot.
    assert parse_needs_restarting(1, "No such command: needs-restarting.") is None


def test_dnf_needs_restarting_1_is_a_pending_reboot():
    outcome = evaluate(dnf_host(restart=(DNF_REBOOT, 1)))
    assert "reboot required" in outcome.summary


def test_a_host_with_dnf_and_no_apt_is_read_with_dnf():
    # The measured bug: every section read as rc 0, so apt's "not installed" (200) was lost
    # and dnf never consulted.
    outcome = evaluate(dnf_host())
    assert "apt" not in outcome.summary and "3 security updates pending" in outcome.summary


def test_advisories_of_every_type_are_read():
    found = parse_advisories("RHSA-2024:5259 Moderate/Sec.  openssl-1:3.0.7-27.el9_4.x86_64\n"
                             "RHBA-2024:1111 bugfix        tzdata-2024a-1.el9.noarch\n"
                             "RHEA-2024:2222 enhancement   python3-requests-2.25.1-8.el9.noarch\n"
                             "FEDORA-EPEL-2024-1 security  htop-3.3.0-1.el9.x86_64\n")
    assert found.count == 4 and set(found.security) == {"openssl", "htop"}


# --- apt: its own summary line -----------------------------------------------------------

def test_apt_inst_lines_match_apts_own_summary():
    sim = parse_apt_simulation(data("apt-get-s-q-dist-upgrade.debian12.txt"))
    assert sim.would_install == sim.inst_lines == 133
    ubuntu = parse_apt_simulation(data("apt-get-s-dist-upgrade.ubuntu2204.txt"))
    assert ubuntu.would_install == 8  # 6 upgraded + 2 newly installed; phased not counted


def test_apt_output_cut_or_tampered_is_unknown():
    text = data("apt-get-s-q-dist-upgrade.debian12.txt")
    no_summary = evaluate(apt_host(text.replace(" upgraded, ", " X ")))
    assert no_summary.state is State.UNKNOWN and "no summary" in no_summary.summary
    lines = text.splitlines(keepends=True)
    first_inst = next(i for i, ln in enumerate(lines) if ln.startswith("Inst "))
    one_lost = evaluate(apt_host("".join(lines[:first_inst] + lines[first_inst + 1:])))
    assert one_lost.state is State.UNKNOWN
    assert "apt-get counts 133 packages" in one_lost.summary


def test_apt_3_summary_format():
    text = ("Summary:\n  Upgrading: 1, Installing: 0, Removing: 0, Not Upgrading: 0\n"
            "Inst bash [5.2.37-1] (5.2.37-2 Debian:13.1/stable [amd64])\n"
            "Conf bash (5.2.37-2 Debian:13.1/stable [amd64])\n")
    sim = parse_apt_simulation(text)
    assert sim.would_install == sim.inst_lines == 1


def test_apt_error_exit_100_is_unknown_not_ok():
    # The measured bug: this gave "OK — no security updates pending".
    outcome = evaluate(apt_host("Reading package lists...\n", rc=100,
                                stderr="E: The package lists or status file could not be "
                                       "parsed or opened."))
    assert outcome.state is State.UNKNOWN
    assert "E: The package lists or status file could not be parsed" in outcome.summary


def test_apt_warnings_are_kept_as_notes_not_failures():
    outcome = evaluate(apt_host(data("apt-get-s-q-dist-upgrade.debian12.txt"),
                                stderr="W: Target Packages (main/binary-amd64/Packages) is "
                                       "configured multiple times"))
    assert outcome.state is State.OK
    assert any(i.get("kind") == "apt_warning" for i in outcome.items)


def test_needrestart_refused_by_sudo_is_unknown():
    outcome = evaluate(apt_host(data("apt-get-s-q-dist-upgrade.debian12.txt"),
                                needrestart=("", 1, "sudo: a password is required")))
    assert outcome.state is State.UNKNOWN
    assert "needrestart -b: exit 1: sudo: a password is required" in outcome.summary


def test_no_package_manager_at_all():
    assert evaluate(patches_host()).summary == "no apt-get, dnf, yum or zypper on this host"
