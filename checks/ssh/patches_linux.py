"""``patches`` on Linux: one script asks every package manager present (apt, dnf, yum,
zypper), the reboot signals and the age of the package lists; the first family found is
judged.

Every answer is checked against what the tool itself says before it is believed: apt's
summary line (``N upgraded, N newly installed...``) against its ``Inst`` lines, dnf/yum's exit
status (100: updates, 0: none) against the updates listed, zypper's ``N patches needed (M
security patches)`` against its table. A tool that fails, complains on stderr, prints nothing
it should have, or is cut short makes the result UNKNOWN with the reason, never "no updates".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from muni_watchdog.checks.base import CollectError
from muni_watchdog.checks.ssh.common import (
    ABSENT,
    RemoteData,
    read_section,
    section_problem,
    stderr_errors,
)
from muni_watchdog.checks.ssh.packages import (
    AptSimulation,
    PendingUpdate,
    kernels_from_boot,
    newest_mtime,
    parse_apt_simulation,
    parse_needrestart,
    version_key,
)
from muni_watchdog.checks.ssh.rpm_packages import (
    mark_security,
    parse_advisories,
    parse_check_update,
    parse_needs_restarting,
    repos_with_advisories,
)
from muni_watchdog.checks.ssh.sections import Section
from muni_watchdog.checks.ssh.zypper import (
    ZYPPER_EXIT,
    parse_needs_rebooting,
    parse_patches,
    parse_updates,
)
from muni_watchdog.core.model import Result, State

APT_SIMULATE = ("apt-get -s -q -o Debug::NoLocking=true "
                "-o APT::Get::Show-User-Simulation-Note=false dist-upgrade")
APT_LISTS = ("/var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release "
             "/var/lib/apt/lists/partial /var/lib/apt/periodic/update-success-stamp "
             "/var/lib/apt/periodic/update-stamp")
# apt's own convention: "W:" warnings and "N:" notices (e.g. a source configured twice) do not
# make its answer wrong; "E:" errors do.
APT_HARMLESS = (r"^W: ", r"^N: ")
DNF_REPOS = "/var/cache/dnf/*/repodata"
YUM_REPOS = "/var/cache/yum/*/*/*"  # $basearch/$releasever/<repo>/repomd.xml
ZYPPER_REPOS = "/var/cache/zypp/raw/*/repodata"

_NEED = "command -v {0} >/dev/null 2>&1 || exit 200; "
# On RHEL 8+ yum is dnf: ask yum only where there is no dnf.
_YUM_ONLY = "command -v dnf >/dev/null 2>&1 && exit 200; " + _NEED.format("yum")


def _cache(need: str, files: str, advisories: str = "") -> str:
    """The remote clock, the mtimes of the package lists, and the advisory metadata
    (updateinfo) files, whose paths name the repositories that publish advisories."""
    listed = f"ls -d {advisories} 2>/dev/null | sed 's/^/updateinfo /'; " if advisories else ""
    return f"{need}date +%s; stat -c '%Y %n' {files} 2>/dev/null; {listed}true"


def linux_parts(sudo: bool) -> list[tuple[str, str]]:
    root = "sudo -n " if sudo else ""
    apt, dnf, zypper = (_NEED.format(t) for t in ("apt-get", "dnf", "zypper"))
    return [
        ("apt_lists", _cache(apt, APT_LISTS)),
        ("apt", apt + APT_SIMULATE),
        ("dnf_cache", _cache(dnf, f"{DNF_REPOS}/repomd.xml", f"{DNF_REPOS}/*updateinfo*")),
        ("dnf", dnf + "dnf -q -C check-update"),
        ("dnf_advisories", dnf + "dnf -q -C updateinfo list --available"),
        ("dnf_restart", dnf + "dnf -q -C needs-restarting -r"),
        ("yum_cache", _cache(_YUM_ONLY, f"{YUM_REPOS}/repomd.xml {YUM_REPOS}/cachecookie",
                             f"{YUM_REPOS}/*updateinfo*")),
        ("yum", _YUM_ONLY + "yum -q -C check-update"),
        ("yum_advisories", _YUM_ONLY + "yum -q -C updateinfo list"),
        ("yum_restart", _YUM_ONLY + "needs-restarting -r"),  # yum-utils
        ("zypper_cache", _cache(zypper, f"{ZYPPER_REPOS}/repomd.xml")),
        # Not quiet: zypper then says "No updates found." instead of printing nothing.
        ("zypper_patches", zypper + "zypper -n --no-refresh list-patches"),
        ("zypper_updates", zypper + "zypper -n --no-refresh list-updates"),
        ("zypper_reboot", zypper + "zypper -n needs-rebooting"),
        ("zypper_reboot_flag", zypper + "if [ -e /run/reboot-needed ] || "
                               "[ -e /var/run/reboot-needed ]; then echo present; "
                               "else echo absent; fi"),
        ("reboot_flag", "[ -f /run/reboot-required ] || exit 1; stat -c %Y "
                        "/run/reboot-required; cat /run/reboot-required.pkgs 2>/dev/null; true"),
        ("kernel", "uname -r && { ls -1 /boot/vmlinuz-* 2>/dev/null; true; }"),
        ("needrestart", "[ -x /usr/sbin/needrestart ] || exit 200; "
                        f"{root}/usr/sbin/needrestart -b"),
    ]


@dataclass
class Family:
    """What one package manager said: the updates, and anything that limits the verdict."""

    name: str
    cache: str
    refresh: str  # how the lists get refreshed, for the stale-lists message
    updates: list[PendingUpdate] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    security_known: bool = True


def _present(raw: RemoteData, name: str) -> Section | None:
    found = raw.sections.get(name)
    return None if found is None or found.rc == ABSENT else found


def read_family(raw: RemoteData, sudo: bool = False) -> Family:
    """The first package manager on the host, read and cross-checked; CollectError when its
    main query cannot be trusted."""
    missing = [name for name, _ in linux_parts(sudo) if name not in raw.sections]
    if missing:
        raise CollectError(f"the remote output lacks the {missing[0]!r} part (output cut "
                           "short?)")
    if _present(raw, "apt"):
        return _apt(raw)
    if _present(raw, "dnf"):
        return _rpm(raw, "dnf", "dnf-makecache.timer")
    if _present(raw, "yum"):
        return _rpm(raw, "yum", "yum-cron or `yum makecache`")
    if _present(raw, "zypper_patches"):
        return _zypper(raw)
    raise CollectError("no apt-get, dnf, yum or zypper on this host")


def _apt(raw: RemoteData) -> Family:
    family = Family("apt", "apt_lists", "apt-daily.timer")
    found = read_section(raw, "apt", "apt-get -s dist-upgrade", harmless=APT_HARMLESS)
    sim = parse_apt_simulation(found.text)
    errors = [e for e in sim.errors if e.startswith("E: ")]
    if errors:
        raise CollectError(f"apt-get -s dist-upgrade reported an error: {errors[0]}")
    if sim.would_install is None:
        raise CollectError("apt-get -s dist-upgrade printed no summary ('N upgraded, N newly "
                           "installed, ...'): its output was cut or not understood")
    if sim.would_install != sim.inst_lines:
        raise CollectError(f"apt-get counts {sim.would_install} packages to install or "
                           f"upgrade, but {sim.inst_lines} 'Inst' lines were read")
    family.updates = sim.updates
    family.results += _esm_results(sim)
    family.notes += [{"kind": "esm_only", "name": n, "service": service}
                     for service, names in sim.esm_only.items() for n in names]
    family.notes += [{"kind": "kept_back", "name": n} for n in sim.kept_back]
    family.notes += [{"kind": "removal", "name": n} for n in sim.removals]
    family.notes += [{"kind": "apt_warning", "message": line}
                     for line in found.stderr.splitlines() if line.strip()][:20]
    return family


def _esm_results(sim: AptSimulation) -> list[Result]:
    """Security fixes this Ubuntu host cannot install without Ubuntu Pro: never an all-clear.
    The main archive's (esm-infra: the release is past its standard support) is CRITICAL, as
    Checkmk's apt check has it; universe's (esm-apps) a WARNING. Ubuntu Pro's adverts alone
    ("Receive additional future security updates with Ubuntu Pro") say nothing."""
    results = []
    for service, names in sorted(sim.esm_only.items()):
        state = State.CRITICAL if service == "esm-infra" else State.WARNING
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        results.append(Result(state, f"{len(names)} security updates need Ubuntu Pro "
                              f"({service}), which is not enabled: {shown}"))
    if sim.esm_infra_required and "esm-infra" not in sim.esm_only:
        results.append(Result(State.CRITICAL, "this Ubuntu release gets security updates only "
                              "through Ubuntu Pro (ESM Infra), which is not enabled"))
    return results


def _rpm(raw: RemoteData, tool: str, refresh: str) -> Family:
    family = Family(tool, f"{tool}_cache", refresh)
    command = f"{tool} check-update"
    # Exit 0 with no output is the tool's documented "no updates"; 100 means some.
    found = read_section(raw, tool, command, (0, 100), allow_empty=True)
    parsed = parse_check_update(found.text)
    if parsed.unreadable:
        raise CollectError(f"{command} printed a line that could not be read: "
                           f"{parsed.unreadable[0]}")
    if found.rc == 100 and not parsed.updates:
        raise CollectError(f"{command} says updates are available (exit 100) but lists none "
                           "that could be read")
    if found.rc == 0 and parsed.updates:
        raise CollectError(f"{command} says there are no updates (exit 0) but lists "
                           f"{len(parsed.updates)}")
    family.notes += [{"kind": "obsoletes", "name": new, "replaces": old}
                     for new, old in parsed.obsoleted.items()]
    family.updates = parsed.updates
    advisories_cmd = f"{tool} updateinfo list"
    problem = section_problem(raw, f"{tool}_advisories", advisories_cmd, allow_empty=True)
    if problem:
        family.security_known = False
        if family.updates:
            family.results.append(Result(State.UNKNOWN, "cannot tell which updates fix "
                                         f"security problems: {problem}"))
        return family
    advisories = parse_advisories(raw.sections[f"{tool}_advisories"].text)
    family.updates = mark_security(parsed.updates, advisories.security)
    publishing = repos_with_advisories(raw.sections[family.cache].text
                                       if family.cache in raw.sections else "")
    covered = [u for u in family.updates if u.origins and u.origins[0] in publishing]
    if family.updates and not publishing:
        # CentOS 7 and Stream publish no errata: zero security updates would be a guess.
        family.security_known = False
        family.results.append(Result(State.UNKNOWN, "the repositories publish no advisories "
                                     f"(updateinfo): which of the {len(family.updates)} "
                                     "pending updates fix security problems is unknown"))
    elif covered and not advisories.count:
        # Their repositories publish an advisory with every update: an empty list is a
        # failed query, not "no security updates".
        family.security_known = False
        family.results.append(Result(State.UNKNOWN, f"{advisories_cmd} lists no advisory, "
                                     f"although {len(covered)} pending updates come from "
                                     "repositories that publish them "
                                     f"({', '.join(sorted({u.origins[0] for u in covered}))})"))
    return family


def _zypper(raw: RemoteData) -> Family:
    family = Family("zypper", "zypper_cache", "zypper refresh (auto-refresh or a timer)")
    found = _zypper_section(raw, "zypper_patches", "zypper list-patches")
    patches = parse_patches(found.text)
    if patches.unreadable:
        raise CollectError(f"zypper list-patches printed a table that could not be read: "
                           f"{patches.unreadable[0]}")
    if not (patches.nothing or patches.listed or patches.stated):
        raise CollectError("zypper list-patches printed neither patches nor 'No updates "
                           "found.': its output was cut or not understood")
    needed = len(patches.patches)
    security = sum(p.security for p in patches.patches)
    if patches.stated is not None and patches.stated != (needed, security):
        raise CollectError(f"zypper counts {patches.stated[0]} patches needed "
                           f"({patches.stated[1]} security), but the table lists {needed} "
                           f"({security} security)")
    family.updates = patches.patches
    if not patches.patches:
        # No needed patch (or repositories without patches, like Tumbleweed): the package
        # updates are what is pending. With patches pending, their packages would be counted
        # twice, so patches are the unit then, as for `zypper patch` and Checkmk.
        listed = _zypper_section(raw, "zypper_updates", "zypper list-updates")
        updates = parse_updates(listed.text)
        if updates.unreadable or not (updates.nothing or updates.updates):
            raise CollectError("zypper list-updates printed neither updates nor 'No updates "
                               "found.': its output was cut or not understood")
        family.updates = updates.updates
    return family


def _zypper_section(raw: RemoteData, name: str, command: str) -> Section:
    found = raw.sections.get(name)
    if found is not None and found.rc in ZYPPER_EXIT and found.rc not in (0, 100, 101):
        said = (stderr_errors(found) or [""])[0]
        raise CollectError(f"{command}: exit {found.rc} ({ZYPPER_EXIT[found.rc]})"
                           + (f": {said}" if said else ""))
    return read_section(raw, name, command, (0, 100, 101))


# --- reboot ---------------------------------------------------------------------------------

def read_reboot(raw: RemoteData, family: str) -> tuple[dict[str, Any], list[str]]:
    """Whether a reboot is pending and why, plus the reasons it cannot be told (each one a
    signal that failed: those make the result UNKNOWN)."""
    reasons: list[str] = []
    unknown: list[str] = []
    since: float | None = None
    flag_problem = section_problem(raw, "reboot_flag", "test -f /run/reboot-required",
                                   (0, 1), allow_empty=True)
    flag = raw.sections.get("reboot_flag")
    if not flag_problem and flag is not None and flag.rc == 0 and not flag.text.strip():
        flag_problem = "stat /run/reboot-required printed nothing"
    if flag_problem:
        unknown.append(flag_problem)
    elif flag is not None and flag.rc == 0:
        lines = flag.text.splitlines() or [""]
        since = float(lines[0]) if lines[0].strip().isdigit() else None
        pkgs = [ln.strip() for ln in lines[1:] if ln.strip()]
        reasons.append("/run/reboot-required" + (f" ({', '.join(pkgs[:5])})" if pkgs else ""))
    running = newest_kernel = None
    kernel_problem = section_problem(raw, "kernel", "uname -r")
    if kernel_problem:
        unknown.append(kernel_problem)
    else:
        lines = raw.sections["kernel"].text.splitlines()
        running = lines[0].strip()
        installed = kernels_from_boot("\n".join(lines[1:]))
        # Only comparable when the running kernel is one of the installed ones (not a
        # container's host kernel).
        if installed and running in installed:
            newest_kernel = installed[-1]
            if version_key(newest_kernel) > version_key(running):
                reasons.append(f"kernel {newest_kernel} installed, {running} running")
    services = _needrestart(raw, reasons, unknown)
    if family in ("dnf", "yum"):
        command = "dnf needs-restarting -r" if family == "dnf" else "needs-restarting -r"
        _rpm_reboot(raw, f"{family}_restart", command, reasons, unknown)
    if family == "zypper":
        _zypper_reboot(raw, reasons, unknown)
    return ({"required": bool(reasons), "reasons": reasons, "since_epoch": since,
             "running_kernel": running, "newest_kernel": newest_kernel,
             "services_to_restart": services}, unknown)


def _needrestart(raw: RemoteData, reasons: list[str], unknown: list[str]) -> list[str]:
    found = _present(raw, "needrestart")
    if found is None:
        return []
    # needrestart writes Perl warnings to stderr on a good run: its exit status and its
    # NEEDRESTART- lines are the answer (a refused sudo exits 1).
    problem = section_problem(raw, "needrestart", "needrestart -b", check_stderr=False)
    if not problem and "NEEDRESTART-VER:" not in found.text:
        problem = "needrestart -b printed no NEEDRESTART- lines"
    if problem:
        unknown.append(problem)
        return []
    info = parse_needrestart(found.text)
    if (info.get("kernel_status") or 0) >= 2 and not any("kernel" in r for r in reasons):
        reasons.append(f"needrestart: kernel {info.get('kernel_expected') or 'upgrade'} "
                       "pending")
    return list(info["services"])  # type: ignore[arg-type]


def _rpm_reboot(raw: RemoteData, name: str, command: str, reasons: list[str],
                unknown: list[str]) -> None:
    found = raw.sections.get(name)
    problem = section_problem(raw, name, command, (0, 1))
    answer = None if problem or found is None else parse_needs_restarting(found.rc, found.text)
    if answer is None:
        hint = " (install dnf-plugins-core / yum-utils)" if found is not None and \
            found.rc in (1, 127) else ""
        unknown.append((problem or f"{command}: no answer in its output") + hint)
    elif answer:
        reasons.append(f"{command}: core libraries or services updated")


def _zypper_reboot(raw: RemoteData, reasons: list[str], unknown: list[str]) -> None:
    found = raw.sections.get("zypper_reboot")
    problem = section_problem(raw, "zypper_reboot", "zypper needs-rebooting", (0, 1, 102),
                              allow_empty=True, check_stderr=False)
    answer = None if problem or found is None else parse_needs_rebooting(found.rc, found.text)
    if answer is None:
        # zypper before needs-rebooting (SLE 12 SP3 and older): the flag file it reads.
        flag_problem = section_problem(raw, "zypper_reboot_flag", "test -e /run/reboot-needed")
        if flag_problem:
            unknown.append(problem or flag_problem)
            return
        answer = raw.sections["zypper_reboot_flag"].text.strip() == "present"
    if answer:
        reasons.append("zypper needs-rebooting: core libraries or services updated")


def lists_age(raw: RemoteData, family: Family) -> tuple[float | None, str]:
    """Age of the package lists in seconds, or None and why it cannot be told."""
    # The snippet silences stat's own complaints: anything else on stderr is a failure.
    problem = section_problem(raw, family.cache, f"stat of the {family.name} package lists")
    if problem:
        return None, problem
    remote_now, newest = newest_mtime(raw.sections[family.cache].text)
    if remote_now is None or newest is None:
        return None, "no package list files found"
    return max(0.0, remote_now - newest), ""
