"""The production systemd unit: its sandbox rates "OK" or better, systemd accepts it, and it
keeps the directives the daemon relies on (notify protocol, reload, directories, credentials)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from muni_watchdog.config.loading import DEFAULT_CONFIG

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "muni-watchdog.service"
INSTALLED_BINARY = "/usr/bin/muni-watchdog"
MAX_EXPOSURE = 2.0  # systemd-analyze security: up to 2.0 is "OK", 1.0 and below "SAFE"

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian/Ubuntu: apt install systemd)")


def directives(text: str) -> dict[tuple[str, str], list[str]]:
    """Active ``Key=value`` lines by (section, key), every value of a repeated key in order."""
    found: dict[tuple[str, str], list[str]] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        found.setdefault((section, key.strip()), []).append(value.strip())
    return found


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ,
               # Pinned so that an inherited debug level does not print job lines that name
               # the unit, and the messages reach our stderr rather than the journal.
               SYSTEMD_LOG_LEVEL="info", SYSTEMD_LOG_TARGET="console",
               SYSTEMD_COLORS="0", SYSTEMD_PAGER="", LC_ALL="C.UTF-8")
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module")
def unit() -> dict[tuple[str, str], list[str]]:
    return directives(UNIT.read_text(encoding="utf-8"))


def single(unit: dict[tuple[str, str], list[str]], section: str, key: str) -> str:
    values = unit.get((section, key), [])
    assert len(values) == 1, f"{UNIT.name}: [{section}] {key}= should be set once, got {values}"
    return values[0]


# ---- what systemd-analyze says ------------------------------------------------------------

@needs_systemd_analyze
def test_sandbox_exposure_is_ok_or_better():
    out = analyze("security", "--offline=yes", str(UNIT))
    report = out.stdout + out.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", report)
    assert out.returncode == 0 and match, report
    assert float(match.group(1)) <= MAX_EXPOSURE, report


def console_script() -> Path:
    """The installed ``muni-watchdog`` next to this interpreter (the venv), else on $PATH."""
    beside = Path(sys.executable).parent / "muni-watchdog"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("muni-watchdog")
    if found is None:
        pytest.fail("the muni-watchdog console script is not installed; pip install -e .")
    return Path(found)


def verifiable_copy(tmp_path: Path, text: str) -> Path:
    """The unit as ``verify`` can check it here: ``verify`` rejects an Exec*= binary that does
    not exist, and /usr/bin/muni-watchdog exists only on an installed server."""
    script = str(console_script())
    assert " " not in script, f"{script}: a path with spaces would need quoting in Exec*="
    assert text.count(INSTALLED_BINARY) == 2, "expected ExecStartPre= and ExecStart= to use it"
    text = text.replace(INSTALLED_BINARY, script)
    if not os.access("/bin/kill", os.X_OK):
        # Minimal images (e.g. python:*-slim) lack procps; every Debian server has /bin/kill.
        text = text.replace("ExecReload=/bin/kill ", "ExecReload=/usr/bin/env kill ")
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    return copy


def problems_with(unit_file: Path, stderr: str) -> list[str]:
    # Messages about our unit name it ("muni-watchdog.service: ..." or ".../muni-watchdog.service:
    # 42: Unknown key ..."). Other lines come from this machine's own unit files that verify
    # loads as dependencies (multi-user.target and what it pulls in): noise for this test.
    return [line for line in stderr.splitlines() if unit_file.name in line]


@needs_systemd_analyze
def test_systemd_verify_accepts_the_unit(tmp_path):
    copy = verifiable_copy(tmp_path, UNIT.read_text(encoding="utf-8"))
    out = analyze("verify", str(copy))
    # verify exits 0 on unknown keys and unparsable values (it only warns), so the messages
    # that name the unit are what catch a typo.
    assert out.returncode == 0, out.stdout + out.stderr
    assert problems_with(copy, out.stderr) == [], out.stderr


@needs_systemd_analyze
def test_systemd_verify_reports_a_broken_directive(tmp_path):
    """The check above can fail: a misspelt key and a bad value are reported and caught."""
    text = UNIT.read_text(encoding="utf-8").replace(
        "\n[Service]\n", "\n[Service]\nWatchdogSecs=60s\nRestrictNamespaces=maybe\n", 1)
    copy = verifiable_copy(tmp_path, text)
    problems = problems_with(copy, analyze("verify", str(copy)).stderr)
    assert any("WatchdogSecs" in line for line in problems), problems
    assert any("maybe" in line for line in problems), problems


# ---- what the daemon relies on ------------------------------------------------------------

def test_the_daemon_talks_the_notify_protocol(unit):
    assert single(unit, "Service", "Type") == "notify"
    assert single(unit, "Service", "NotifyAccess") == "main"
    assert re.fullmatch(r"[1-9]\d*(s|min)?", single(unit, "Service", "WatchdogSec"))
    assert single(unit, "Service", "Restart") == "on-failure"


def test_the_configuration_is_validated_then_run_and_reloaded_with_sighup(unit):
    assert single(unit, "Service", "ExecStartPre") == (
        f"{INSTALLED_BINARY} validate -c {DEFAULT_CONFIG}")
    assert single(unit, "Service", "ExecStart") == f"{INSTALLED_BINARY} run -c {DEFAULT_CONFIG}"
    assert single(unit, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert single(unit, "Service", "KillSignal") == "SIGTERM"


def test_it_runs_as_its_own_static_user_with_its_directories(unit):
    assert single(unit, "Service", "User") == "muni-watchdog"
    assert single(unit, "Service", "Group") == "muni-watchdog"
    assert unit.get(("Service", "DynamicUser"), ["no"]) == ["no"]  # SSH keys need a stable owner
    assert single(unit, "Service", "StateDirectory") == "muni-watchdog"
    assert single(unit, "Service", "StateDirectoryMode") == "0700"
    assert single(unit, "Service", "ConfigurationDirectory") == "muni-watchdog"
    assert Path(DEFAULT_CONFIG).parent == Path("/etc/muni-watchdog")


def test_a_load_credential_example_matches_the_url_credential_it_documents():
    text = UNIT.read_text(encoding="utf-8")
    example = re.search(r"^#LoadCredential=([\w.-]+):/etc/muni-watchdog/\S+$", text, re.M)
    assert example, "a commented LoadCredential=NAME:/etc/muni-watchdog/... example"
    assert re.search(rf"^#\s+url_credential: {re.escape(example.group(1))}$", text, re.M)


def test_the_sandbox_still_lets_the_daemon_reach_the_network(unit):
    families = " ".join(unit.get(("Service", "RestrictAddressFamilies"), [])).split()
    assert {"AF_INET", "AF_INET6", "AF_UNIX"} <= set(families)
    assert ("Service", "IPAddressDeny") not in unit
    assert unit.get(("Service", "PrivateNetwork"), ["no"]) == ["no"]
    assert single(unit, "Unit", "Wants") == "network-online.target"
    assert single(unit, "Unit", "After") == "network-online.target"
    assert single(unit, "Install", "WantedBy") == "multi-user.target"


def test_denied_system_calls_fail_instead_of_killing_restic(unit):
    # restic calls setrlimit() at start (@resources) and lchown() on restore (@privileged) and
    # ignores their errors; with the default action the kernel would kill it with SIGSYS.
    filters = " ".join(unit.get(("Service", "SystemCallFilter"), []))
    assert "~@privileged" in filters or "~@resources" in filters
    assert single(unit, "Service", "SystemCallErrorNumber") == "EPERM"
