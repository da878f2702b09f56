"""A restic repository with a canary and a nightly-style backup, for the tests and the demo.

    lab = ResticLab(tmp_path).create()          # source tree, password file, repository
    lab.nightly_backup()                         # canary write + restic backup, as cron would
    lab.backups_yaml("clerk-records")            # the ``backups:`` entry pointing at it

``python -m lab.restic_lab DIR`` does the same and prints the YAML (the demo uses it).
Uses the restic binary directly: this is a fixture, not the product's restic driver.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

from muni_watchdog.backup_tests.canary import write_canary

PASSWORD = "lab-password-not-secret"
CANARY_NAME = ".muni-watchdog-canary.json"


def make_tree(root: Path, small_files: int = 120, large_files: int = 2,
              large_size: int = 3 * 1024 * 1024, seed: int = 7) -> list[Path]:
    """A town-hall-like share: many small documents in folders, a few large files."""
    rng = random.Random(seed)
    made = []
    for i in range(small_files):
        folder = root / f"dept-{i % 6}" / f"year-{2020 + i % 5}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"doc-{i:05d}.txt"
        path.write_bytes(rng.randbytes(rng.randint(200, 40_000)))
        made.append(path)
    for i in range(large_files):
        (root / "archive").mkdir(parents=True, exist_ok=True)
        path = root / "archive" / f"scan-{i}.bin"
        path.write_bytes(rng.randbytes(large_size))
        made.append(path)
    return made


class ResticLab:
    def __init__(self, base: str | Path, restic: str = "restic"):
        self.base = Path(base)
        self.source = self.base / "share"
        self.repository = str(self.base / "repo")
        self.password_file = self.base / "restic.password"
        self.canary = self.source / CANARY_NAME
        self.restic = restic
        self.options: list[str] = []  # restic -o KEY=VALUE, e.g. sftp.command

    def env(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                "RESTIC_REPOSITORY": self.repository,
                "RESTIC_PASSWORD_FILE": str(self.password_file),
                "RESTIC_CACHE_DIR": str(self.base / "lab-cache")}

    def run(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        options = [x for option in self.options for x in ("-o", option)]
        done = subprocess.run([self.restic, *args, *options], env=self.env(), capture_output=True,
                              text=True, timeout=600, **kwargs)
        if check and done.returncode:
            raise RuntimeError(f"restic {args[0]} exited {done.returncode}: {done.stderr}")
        return done

    def create(self, **tree) -> ResticLab:
        self.base.mkdir(parents=True, exist_ok=True)
        self.password_file.write_text(PASSWORD + "\n")
        self.password_file.chmod(0o600)
        if not self.source.exists():
            make_tree(self.source, **tree)
        self.run("init")
        return self

    def nightly_backup(self, now: datetime | None = None) -> str:
        """Write the canary, then back up the share (absolute path). Returns the snapshot id."""
        write_canary(self.canary, now or datetime.now(UTC))
        out = self.run("backup", "--json", "--quiet", "--host", "townhall",
                       str(self.source)).stdout
        summary = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        return summary[-1]["snapshot_id"]

    def backups_yaml(self, service: str, backup_id: str = "clerk-share",
                     scratch_dir: str | None = None) -> str:
        scratch = scratch_dir or str(self.base / "scratch")
        Path(scratch).mkdir(parents=True, exist_ok=True)
        return (f"  - id: {backup_id}\n"
                f"    service: {service}\n"
                f"    repository: {self.repository}\n"
                f"    password_file: {self.password_file}\n"
                f"    host: townhall\n"
                f"    canaries: [{self.canary}]\n"
                f"    source: {self.source}\n"
                f"    scratch_dir: {scratch}\n")

    def data_packs(self) -> list[Path]:
        return sorted((Path(self.repository) / "data").rglob("*"), key=lambda p: p.name)

    def pack_path(self, pack_id: str) -> Path:
        return Path(self.repository) / "data" / pack_id[:2] / pack_id

    def index(self) -> dict[str, tuple[str, str, int, int]]:
        """Every blob of the repository's index: id -> (pack id, type, offset, length)."""
        blobs = {}
        for index_id in self.run("list", "index").stdout.split():
            for pack in json.loads(self.run("cat", "index", index_id).stdout)["packs"]:
                for blob in pack["blobs"]:
                    blobs[blob["id"]] = (pack["id"], blob["type"], blob["offset"],
                                         blob["length"])
        return blobs

    def blob_locations(self, path: str | Path) -> list[tuple[Path, int, int]]:
        """Where the data of file ``path`` (as stored in the newest snapshot) lies: one
        (pack file, offset, length) per data blob, from the snapshot's trees and the index."""
        snapshot = json.loads(self.run("snapshots", "--json", "latest").stdout)[-1]
        tree, node = snapshot["tree"], None
        names = str(path).strip("/").split("/")
        for depth, name in enumerate(names):
            nodes = json.loads(self.run("cat", "blob", tree).stdout)["nodes"]
            node = next(n for n in nodes if n["name"] == name)
            if depth < len(names) - 1:
                tree = node["subtree"]
        index = self.index()
        return [(self.pack_path(index[blob][0]), index[blob][2], index[blob][3])
                for blob in node["content"]]

    def flip_byte_in(self, path: str | Path) -> Path:
        """Corrupt one byte in the middle of the first data blob of file ``path``: restore
        --verify (and a check that reads that pack) must notice. Returns the pack file."""
        pack, offset, length = self.blob_locations(path)[0]
        pack.chmod(0o600)
        with open(pack, "r+b") as handle:
            handle.seek(offset + length // 2)
            byte = handle.read(1)
            handle.seek(offset + length // 2)
            handle.write(bytes([byte[0] ^ 0xFF]))
        return pack

    def tree_packs(self) -> set[str]:
        """Ids of the packs that hold tree blobs (losing one breaks every listing)."""
        return {pack for pack, kind, _, _ in self.index().values() if kind == "tree"}


def hang_seconds(path: Path) -> str:
    """How long the ``hang`` stand-in at ``path`` sleeps: 300 s and a fraction that names
    this wrapper, so a test looking for its sleep in /proc finds no other run's."""
    return f"300.{zlib.crc32(str(path).encode()):010d}"


def faulty_restic(path: Path, command: str, fault: str, real: str = "restic") -> Path:
    """A stand-in for restic that runs the real one and breaks what ``command`` prints.

    ``fault``: ``exit`` (real output, then exit code 2), ``stderr`` (an error line added on
    stderr, exit code kept), ``silent`` (stdout dropped), ``half`` (stdout cut in the middle
    of a line), ``hang`` (never answers). Other commands pass through untouched."""
    broken = {
        "exit": '"$REAL" "$@"; exit 2',
        "stderr": '"$REAL" "$@"; rc=$?; echo "error: injected failure" >&2; exit $rc',
        "silent": '"$REAL" "$@" >/dev/null; exit $?',
        # Cut in the middle of a line: a cut that fell just after a newline would leave
        # whole JSON lines, a shorter listing no reader can tell from a real one (one run in
        # a few hundred, as the timestamps' lengths vary).
        "half": 'out=$(mktemp); "$REAL" "$@" >"$out"; rc=$?; size=$(stat -c %s "$out"); '
                'n=$((size / 2)); if [ "$n" -gt 0 ] && [ "$(head -c "$n" "$out" | tail -c 1 '
                '| od -An -tx1 | tr -d " ")" = "0a" ]; then n=$((n + 1)); fi; '
                'head -c "$n" "$out"; rm -f "$out"; exit $rc',
        "hang": f"exec sleep {hang_seconds(path)}",
    }[fault]
    path.write_text(f'#!/bin/sh\nREAL={real}\nif [ "$1" = "{command}" ]; then\n'
                    f'  {broken}\nfi\nexec "$REAL" "$@"\n')
    path.chmod(0o755)
    return path


def demo_backup(state_dir: str | Path, service: str,
                backup_id: str = "website-files") -> tuple[ResticLab, str]:
    """For the demo lab: a repository under ``state_dir`` with a fresh nightly-style backup.

    Returns the lab (call ``lab.nightly_backup()`` again to simulate the next night) and the
    ``backups:`` list item to put in the demo config (the service must list ``backup_id``).
    """
    lab = ResticLab(Path(state_dir) / "restic-lab")
    if not Path(lab.repository, "config").exists():
        lab.create()
    lab.nightly_backup()
    return lab, lab.backups_yaml(service, backup_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="where to create the share and the repository")
    parser.add_argument("--service", default="clerk-records")
    args = parser.parse_args()
    lab = ResticLab(args.directory).create()
    lab.nightly_backup()
    print("backups:")
    print(lab.backups_yaml(args.service), end="")


if __name__ == "__main__":
    main()
