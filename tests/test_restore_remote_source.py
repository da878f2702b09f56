"""A backup's live ``source`` on an SSH target: a real sshd (lab/ssh_lab.py) serves the very
directory the restic lab backs up, and the restore test compares restored files with it remotely."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.restic_lab import ResticLab
from lab.ssh_lab import SshLab
from muni_watchdog.backup_tests.canary import write_canary
from muni_watchdog.backup_tests.live_source import parse_stat_and_hash, stat_and_hash_command
from muni_watchdog.config.loading import ConfigError, parse_config

ROOT = Path(__file__).resolve().parent.parent
ODD_NAME = "it's $(touch PWNED) & `id` ; x.txt"  # must reach the remote side as one literal word

SERVICE = """\
site: {name: T}
services:
  - {id: clerk, name: Clerk records, priority: 2, rto: 4h, rpo: 1d,
     owner: {name: A, contact: a@t.example}, backup_owner: {name: B, contact: b@t.example},
     backups: [clerk-share]}
"""


def backup_item(lab: ResticLab, source: str) -> str:
    return (f"  - id: clerk-share\n    service: clerk\n    repository: {lab.repository}\n"
            f"    password_file: {lab.password_file}\n    host: townhall\n"
            f"    canaries: [{lab.canary}]\n    scratch_dir: {lab.base / 'scratch'}\n"
            f"    sample: {{files: 1000}}\n    source: {source}\n")


@pytest.fixture(scope="module")
def sshd():
    server = SshLab().start()
    yield server
    server.stop()


@pytest.fixture
def share():
    # the lab sshd logs in as an unprivileged user: the directory must be readable by it
    base = Path(tempfile.mkdtemp(prefix="muni-remote-source-"))
    base.chmod(0o755)
    lab = ResticLab(base).create(small_files=24, large_files=1, large_size=256 * 1024)
    (base / "scratch").mkdir()
    yield lab
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("restic") is None, reason="restic not installed")
def test_remote_source_separates_changed_corrupt_and_missing(sshd, share, tmp_path):
    lab = share
    odd = lab.source / "dept-0" / ODD_NAME
    odd.write_bytes(b"quoted all the way\n" * 5)
    (lab.source / "dept-0" / "draft.tmp").write_bytes(b"excluded by mistake\n")
    rotten = odd  # the odd name proves the remote side read exactly this file
    edited = next(lab.source.rglob("doc-00002.txt"))
    # The snapshot is dated a few seconds ahead: the rotten file's new bytes are written before
    # that time (unchanged since the backup, yet different: what bit rot looks like), the
    # edited file's after it (an ordinary change since the backup).
    write_canary(lab.canary, datetime.now(UTC))
    snapshot_time = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    lab.run("backup", "--quiet", "--host", "townhall", "--exclude", "*.tmp", "--time",
            snapshot_time.strftime("%Y-%m-%d %H:%M:%S"), str(lab.source))
    rotten.write_bytes(b"\x00" * 100)
    time.sleep(max(0.0, (snapshot_time - datetime.now(UTC)).total_seconds()) + 1.1)
    edited.write_bytes(b"edited by the clerk after the backup")

    known_hosts = sshd.pin(tmp_path / "known_hosts")
    config = tmp_path / "watchdog.yaml"
    config.write_text(SERVICE + "targets:\n" + sshd.target_yaml("file-server", known_hosts)
                      + "backups:\n"
                      + backup_item(lab, f"{{target: file-server, path: {lab.source}}}"))
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "restore-test", "--json", "-c",
                          str(config), "--state-dir", str(tmp_path / "state")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=180,
                         env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert out.returncode == 2, out.stderr  # critical
    data = json.loads(out.stdout)
    sample = data["sample"]
    files = 24 + 1 + 1 + 1  # documents, the scan, the odd name, the canary
    assert sample["files"] == files
    assert sample["mismatched"] == 1 and sample["changed_since_backup"] == 1
    assert sample["missing"] == 1
    assert sample["verified"] == files - 1
    problems = " | ".join(data["problems"])
    assert f"differ from the live source although unchanged since the backup (corruption): " \
           f"{rotten}" in problems
    assert str(edited) not in problems  # changed since the backup is fine
    assert f"on file-server:{lab.source} older than the snapshot are missing from the backup" \
        in problems and "draft.tmp" in problems
    assert not list(tmp_path.rglob("PWNED")) and not (Path.home() / "PWNED").exists()
    assert os.listdir(lab.base / "scratch") == []


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("restic") is None, reason="restic not installed")
def test_unreachable_remote_source_is_a_warning_not_a_failure(sshd, share, tmp_path):
    lab = share
    lab.nightly_backup()
    known_hosts = sshd.pin(tmp_path / "known_hosts")
    target = sshd.target_yaml("file-server", known_hosts).replace(
        f"port: {sshd.port}", "port: 1")  # nothing listens there
    config = tmp_path / "watchdog.yaml"
    config.write_text(SERVICE + "targets:\n" + target + "backups:\n"
                      + backup_item(lab, f"{{target: file-server, path: {lab.source}}}"))
    out = subprocess.run([sys.executable, "-m", "muni_watchdog", "restore-test", "--json", "-c",
                          str(config), "--state-dir", str(tmp_path / "state")],
                         capture_output=True, text=True, cwd=ROOT, timeout=180)
    data = json.loads(out.stdout)
    assert data["verdict"] == "warning", data["problems"]
    assert any(f"live source file-server:{lab.source} could not be read" in p
               for p in data["problems"])
    assert data["sample"]["verified"] == data["sample"]["files"] > 0


def test_config_requires_an_existing_ssh_target_for_a_remote_source():
    base = SERVICE + """\
targets:
  - {id: router, kind: tcp, host: 192.0.2.1, checks: [{check: tcp, port: 22}]}
backups:
  - {id: clerk-share, service: clerk, repository: /r, password_file: /p,
     source: {target: TARGET, path: /srv/clerk}}
"""
    with pytest.raises(ConfigError) as wrong_kind:
        parse_config(base.replace("TARGET", "router"), "w.yaml", check_secrets=False)
    assert "backups[0].source.target: target 'router' is not of kind ssh" in \
        str(wrong_kind.value)
    with pytest.raises(ConfigError) as unknown:
        parse_config(base.replace("TARGET", "fileserver"), "w.yaml", check_secrets=False)
    assert "backups[0].source.target: no target named 'fileserver'" in str(unknown.value)
    with pytest.raises(ConfigError) as relative:
        parse_config(base.replace("TARGET", "router").replace("/srv/clerk", "srv"), "w.yaml",
                     check_secrets=False)
    assert "backups[0].source" in str(relative.value)


def test_stat_and_hash_command_quotes_every_path_and_parses_its_records():
    command = stat_and_hash_command(["/srv/a b", "/srv/" + ODD_NAME], 1700000000.5, 60)
    words = shlex.split(command)
    assert words[:7] == ["env", "LC_ALL=C", "LANG=C", "timeout", "-k", "5", "60"]
    assert words[7:9] == ["sh", "-c"] and words[10] == "sh"  # fixed script, then arguments
    assert words[11:] == ["1700000000.500000", "/srv/a b", "/srv/" + ODD_NAME]
    digest = "ab" * 32
    output = (f"12 1699999999.000000000 1699999999.000000000 /srv/a b\0"
              f"5 1700000100.000000000 1700000100.000000000 /srv/{ODD_NAME}\0\0"
              f"{digest}  /srv/a b\0")
    facts = parse_stat_and_hash(output, ["/srv/a b", "/srv/" + ODD_NAME, "/srv/gone"])
    assert facts["/srv/a b"].sha256 == digest and facts["/srv/a b"].size == 12
    assert facts["/srv/" + ODD_NAME].sha256 is None  # changed: not hashed
    assert "/srv/gone" not in facts
    assert parse_stat_and_hash("12 1 1 /srv/a b\0", ["/srv/a b"]) == {}  # cut short
