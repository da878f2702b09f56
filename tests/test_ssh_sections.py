"""The framed script: each section's exit status, stderr and completeness are the snippet's own.

These run the very command line the checks send (``posix_wrap(sections_script(...))``) through
the local ``sh``: the remote side is a POSIX shell, and so is this one."""

from __future__ import annotations

import subprocess

import pytest

from muni_watchdog.checks.base import CollectError
from muni_watchdog.checks.ssh.common import RemoteData, read_section, section_problem
from muni_watchdog.checks.ssh.connection import posix_wrap
from muni_watchdog.checks.ssh.sections import CUT, Section, parse_sections, sections_script


def run_script(parts: list[tuple[str, str]], timeout: float = 10) -> dict[str, Section]:
    done = subprocess.run(["sh", "-c", posix_wrap(sections_script(parts), timeout)],
                          capture_output=True, text=True, timeout=timeout + 10)
    return parse_sections(done.stdout, done.stderr)


def test_each_section_keeps_its_own_exit_status():
    # The bug: `( snippet ); echo; echo "rc:$?"` reported echo's status, 0, for every part.
    found = run_script([("apt", "echo 'E: The package lists could not be parsed' >&2; "
                                "exit 100"),
                        ("ok", "echo fine"), ("false", "false"),
                        ("reboot", "echo 'Reboot is required'; exit 102"),
                        ("missing", "no-such-command-muniwd")])
    assert found["apt"].rc == 100
    assert found["ok"] == Section("ok", "fine", 0)
    assert found["false"].rc == 1
    assert found["reboot"].rc == 102 and found["reboot"].text == "Reboot is required"
    assert found["missing"].rc == 127


def test_each_section_keeps_its_own_stderr():
    found = run_script([("a", "echo out-a; echo err-a >&2"), ("b", "echo out-b"),
                        ("c", "echo err-c1 >&2; echo out-c; echo err-c2 >&2; exit 2")])
    assert (found["a"].text, found["a"].stderr) == ("out-a", "err-a")
    assert (found["b"].text, found["b"].stderr) == ("out-b", "")
    assert found["c"].stderr == "err-c1\nerr-c2" and found["c"].rc == 2


def test_output_without_a_final_newline_stays_apart_from_the_marker():
    found = run_script([("a", "printf 'no newline'"), ("b", "printf ''")])
    assert found["a"] == Section("a", "no newline", 0)
    assert found["b"] == Section("b", "", 0)


def test_a_script_killed_midway_leaves_the_running_section_cut_and_the_rest_missing():
    found = run_script([("first", "echo done"), ("slow", "echo half; sleep 30; echo rest"),
                        ("never", "echo never")], timeout=1)
    assert found["first"].rc == 0
    assert found["slow"].cut and found["slow"].text == "half"
    assert "never" not in found


def _raw(**sections) -> RemoteData:
    return RemoteData({n: Section(n, *v) for n, v in sections.items()}, "linux", False)


@pytest.mark.parametrize("section,reason", [
    (None, "no output at all"),
    (("half", CUT), "cut short"),
    (("", 127, "sh: 1: tool: not found"), "tool: not found on the target: sh: 1: tool: not "
                                            "found"),
    (("", 126), "cannot be run"),
    (("", 137), "killed by SIGKILL"),
    (("x", 2, "tool: bad option"), "tool: exit 2: tool: bad option"),
    (("x", 0, "tool: warning: something broke"), "reported an error: tool: warning"),
    (("", 0), "tool printed nothing"),
])
def test_read_section_refuses_every_kind_of_failure_with_the_reason(section, reason):
    raw = _raw() if section is None else _raw(s=section)
    assert reason in section_problem(raw, "s", "tool")
    with pytest.raises(CollectError, match="tool"):
        read_section(raw, "s", "tool")


def test_read_section_accepts_what_the_tool_defines_as_success():
    raw = _raw(s=("", 100, "W: harmless"))
    assert read_section(raw, "s", "tool", (0, 100), allow_empty=True,
                        harmless=(r"^W: ",)).rc == 100
    assert section_problem(_raw(s=("", CUT)), "s", "tool", allow_empty=True) is not None


def test_a_script_killed_by_a_signal_is_not_read_as_sections():
    from muni_watchdog.checks.ssh.common import _raise_for_wrapper
    from muni_watchdog.checks.ssh.connection import CommandResult
    cut = "<<<muniwd:df>>>\nFilesystem Type 1024-blocks Used Available Capacity Mounted on\n"
    with pytest.raises(CollectError, match="killed by SIGKILL"):
        _raise_for_wrapper(CommandResult(137, cut, "", 1.0), 10)
    with pytest.raises(CollectError, match="did not finish within 10s"):
        _raise_for_wrapper(CommandResult(124, cut, "", 1.0), 10)
    _raise_for_wrapper(CommandResult(0, cut, "", 1.0), 10)  # the sections then say "cut"
    assert parse_sections(cut)["df"].cut
