"""Terminal escapes and control characters from other programs never reach a summary, an
alert or a stored row: one helper (core.text.plain_text) at the edges where their output
becomes our text — every check result, every restore-test problem, restic's stderr and a
plugin's output. Tested on the helper itself, on a stand-in restic that prints the escapes
a terminal-attached restic does, and on a plugin run over a real OpenSSH sshd."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab.restic_lab import ResticLab
from muni_watchdog.backup_tests.report import Problem
from muni_watchdog.core.model import Outcome, Result, State
from muni_watchdog.core.text import plain_text

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "muni_watchdog"]
# What a terminal acts on instead of showing: C0 but tab and newline, DEL, C1, bidi overrides.
STEERING = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if chr(c) not in "\t\n"] \
    + [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.mark.parametrize("raw, shown", [
    # restic's progress on a terminal: clear the line, back to its start, draw again
    ("\x1b[2K\r[0:01] 40%\r\x1b[2K[0:02] 100%  2 / 2 packs\n", "[0:02] 100%  2 / 2 packs\n"),
    ("\x1b[1;31mFatal: repository contains errors\x1b[0m", "Fatal: repository contains errors"),
    ("\x1b]0;restic check\x07Fatal: x", "Fatal: x"),                  # window title (OSC)
    ("\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\", "link"),   # hyperlink, ST-ended
    ("\x1b]0;never ended\nnext line", "\nnext line"),                   # cut at the line end
    ("\x9b31mred\x9b0m", "red"),                                         # 8-bit CSI
    ("C:\\> dir\r\nline 2\r\n", "C:\\> dir\nline 2\n"),                 # Windows line ends
    ("a\x00b\x07c\x08d\x7fe", "abcde"),
    ("admin\u202egnp.exe", "admingnp.exe"),                            # Trojan Source
    ("café\tok\nnext", "café\tok\nnext"),                               # text stays as it is
    ("", ""),
])
def test_plain_text_keeps_what_a_terminal_shows(raw, shown):
    assert plain_text(raw) == shown
    assert plain_text(shown) == shown   # idempotent


@pytest.mark.parametrize("char", STEERING, ids=lambda c: f"U+{ord(c):04X}")
def test_no_steering_character_survives(char):
    for text in (f"a{char}b", f"{char}", f"\x1b{char}x", f"x\x1b[{char}m"):
        assert not any(c in STEERING for c in plain_text(text)), repr(text)


def test_every_check_result_and_restore_problem_is_plain():
    result = Result(State.CRITICAL, "\x1b[31mDISK CRITICAL\x1b[0m", "\x1b[2Kdetail\r\n")
    assert (result.summary, result.details) == ("DISK CRITICAL", "detail\n")
    assert Outcome.of([result]).summary == "DISK CRITICAL"
    assert Outcome.unknown("no banner\x1b]0;pwned\x07").summary == "no banner"
    assert Problem(State.CRITICAL, "restic: \x1b[2Kdamaged").text == "restic: damaged"


# -- restic printing what it prints on a terminal ---------------------------------------------

ESCAPING_RESTIC = r"""#!/bin/sh
# The real restic, except that check fails as a terminal-attached restic would say it.
if [ "$1" = "check" ]; then
  printf '\033[2K\r[0:00] 0.00%%  0 / 2 packs\033[2K\r[0:01] 100.00%%  2 / 2 packs\n' >&2
  printf '\033]0;restic check\007\033[1;31mFatal: repository contains errors\033[0m\n' >&2
  exit 1
fi
exec restic "$@"
"""


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed")
def test_restic_escapes_never_reach_the_summary_or_the_stored_row(tmp_path):
    lab = ResticLab(tmp_path / "lab").create(small_files=20, large_files=0)
    lab.nightly_backup()
    wrapper = tmp_path / "restic-on-a-terminal"
    wrapper.write_text(ESCAPING_RESTIC)
    wrapper.chmod(0o755)
    backup = yaml.safe_load(lab.backups_yaml("clerk"))[0] | {"restic_command": str(wrapper)}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "site": {"name": "T"},
        "services": [{"id": "clerk", "name": "C", "priority": 2, "rto": "4h", "rpo": "1d",
                      "owner": {"name": "A", "contact": "a@t"},
                      "backup_owner": {"name": "B", "contact": "b@t"}}],
        "backups": [backup]}))
    state = tmp_path / "state"
    out = subprocess.run([*COMMAND, "restore-test", "--check", "--json", "-c", str(config),
                          "--state-dir", str(state)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    data = json.loads(out.stdout)
    assert data["verdict"] == "critical" and data["kind"] == "repository_check", data
    # the progress line is not an error of its own: one error, said as restic said it
    assert data["summary"] == ("repository check found 1 error(s) in 1/12 of the stored "
                               "data: Fatal: repository contains errors")
    from muni_watchdog.store.database import Store
    store = Store.open(state, readonly=True)
    try:
        stored = json.dumps(store.restore_tests(kind="repository_check"))
    finally:
        store.close()
    for text in (out.stdout, out.stderr, stored, json.dumps(data, ensure_ascii=False)):
        assert "\x1b" not in text and "\\u001b" not in text and "[2K" not in text


# -- a plugin over SSH that colours its verdict -----------------------------------------------

@pytest.fixture(scope="module")
def ssh_lab():
    from lab.ssh_lab import SshLab
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        pytest.skip("OpenSSH's sshd is not installed")
    server = SshLab().start()
    yield server
    server.stop()


@pytest.mark.integration
def test_plugin_output_over_ssh_is_read_without_its_escapes(tmp_path, ssh_lab):
    plugin = ("printf '\\033[1;31mDISK CRITICAL\\033[0m - /srv \\033]0;pwned\\007full"
              " | used=95%%;80;90\\n'; printf '\\033[2Kcannot stat /mnt\\n' >&2; exit 2")
    complaining = "echo 'PROCS OK: 12'; printf '\\033[33mwarning: \\033[0mno /proc\\n' >&2"
    known = ssh_lab.pin(tmp_path / "known_hosts")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "site": {"name": "T"},
        "targets": [{"id": "files", "kind": "ssh", "host": "127.0.0.1",
                     "ssh": ssh_lab.connection(known),
                     "checks": [{"check": "command", "name": "disk",
                                 "command": ["sh", "-c", plugin]},
                                {"check": "command", "name": "procs",
                                 "command": ["sh", "-c", complaining]}]}]}))
    out = subprocess.run([*COMMAND, "check", "--json", "-c", str(config)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    results = {r["check"]: r for r in json.loads(out.stdout)["results"]}
    disk, procs = results["disk"], results["procs"]
    assert (disk["status"], disk["summary"]) == ("critical", "DISK CRITICAL - /srv full")
    assert [(m["name"], m["value"], m["warn"]) for m in disk["metrics"]] == [("used", 95, 80)]
    assert (procs["status"], procs["summary"]) == ("unknown", "sh wrote to stderr: warning: "
                                                              "no /proc")
    assert "\x1b" not in out.stdout and "\\u001b" not in out.stdout
