"""Benchmark: our restore test (sample and full drill) beside bare `restic restore` + `sha256sum`.

    .venv/bin/python bench/restore_test.py            # ~300 MB generated tree
    .venv/bin/python bench/restore_test.py --gb 2     # ~2 GB

Generates a town-hall-like tree (many small documents, some large scans), backs it up into a
fresh repository, then measures in the same run, best of --repeat:
  bare    restic restore SNAP --target DIR  +  sha256sum of every restored file
  drill   muni-watchdog's full drill (ls latest, restore --verify, then check k/12 while the
          sizes and canaries are verified and the scratch directory is removed; the restic
          version is remembered per binary): everything the bare tools do and more
  sample  muni-watchdog's weekly sample test (50 random files + canary)
and prints the overhead ratio drill / bare (target: at most 1.10).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backup_tests.drill import run_restore_test  # noqa: E402
from backup_tests.params import BackupParams  # noqa: E402
from backup_tests.report import BackupState  # noqa: E402
from lab.restic_lab import ResticLab  # noqa: E402


def make_tree(root: Path, total_bytes: int, seed: int = 1) -> tuple[int, int]:
    """40 % of the bytes in small files (1-64 KiB), 60 % in large ones (32 MiB)."""
    rng = random.Random(seed)
    small_budget, files, written = int(total_bytes * 0.4), 0, 0
    block = rng.randbytes(64 * 1024 * 1024)  # sliced at random offsets: cheap, not dedupable
    while written < small_budget:
        size = rng.randint(1024, 64 * 1024)
        folder = root / f"dept-{files % 8}" / f"{2015 + files % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        offset = rng.randrange(len(block) - size)
        (folder / f"doc-{files:06d}.pdf").write_bytes(block[offset:offset + size])
        files, written = files + 1, written + size
    (root / "scans").mkdir(parents=True, exist_ok=True)
    large = 32 * 1024 * 1024
    for i in range(max(1, (total_bytes - written) // large)):
        (root / "scans" / f"scan-{i:03d}.tif").write_bytes(rng.randbytes(large))
        files, written = files + 1, written + large
    return files, written


def bare(lab: ResticLab, scratch: Path) -> float:
    target = Path(tempfile.mkdtemp(dir=scratch))
    started = time.monotonic()
    lab.run("restore", "latest", "--target", str(target))
    # The peer: find | xargs sha256sum, as an admin would run it (no shell string).
    find = subprocess.Popen(["find", str(target), "-type", "f", "-print0"],
                            stdout=subprocess.PIPE)
    subprocess.run(["xargs", "-0", "-P1", "sha256sum"], stdin=find.stdout,
                   stdout=subprocess.DEVNULL, check=True)
    find.stdout.close()
    if find.wait() != 0:
        raise RuntimeError("find failed")
    seconds = time.monotonic() - started
    shutil.rmtree(target)
    return seconds


def ours(backup: BackupParams, lab: ResticLab, full: bool, state: BackupState):
    report = asyncio.run(run_restore_test(
        backup, 86400, 4 * 3600, state, full=full,
        clock=lambda: datetime.now(UTC), work_dir=lab.base / "state"))
    assert report.verdict.label == "ok", report.summary
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=0.3, help="tree size in GB (default 0.3)")
    parser.add_argument("--repeat", type=int, default=2, help="best of N (default 2)")
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    args = parser.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="restore-bench-"))
    lab = ResticLab(base)
    files, size = make_tree(lab.source, int(args.gb * 1e9))
    lab.create()
    t = time.monotonic()
    lab.nightly_backup()
    print(f"tree: {files} files, {size / 1e6:.0f} MB; backup took {time.monotonic() - t:.1f} s")
    (base / "scratch").mkdir(exist_ok=True)
    backup = BackupParams(id="bench", service="s", repository=lab.repository,
                          password_file=str(lab.password_file), canaries=[str(lab.canary)],
                          scratch_dir=str(base / "scratch"))
    bare_s, drill_s, sample_s, restore_s = [], [], [], []
    # the state carries over from run to run, as the daemon stores it (rotation, the
    # remembered restic version): the first run of a backup also asks `restic version`
    state = BackupState.initial()
    for _ in range(args.repeat):
        bare_s.append(bare(lab, base / "scratch"))
        report = ours(backup, lab, True, state)
        state = report.state or state
        drill_s.append(report.duration)
        restore_s.append(report.restore_seconds or 0)
        sample = ours(backup, lab, False, state)
        state = sample.state or state
        sample_s.append(sample.duration)
    b, d, s = min(bare_s), min(drill_s), min(sample_s)
    print(f"{'bare restic restore + sha256sum':<44} {b:8.2f} s")
    print(f"{'muni-watchdog full drill (whole run)':<44} {d:8.2f} s   ratio {d / b:.2f}")
    r = min(restore_s)
    print(f"{'  of which restic restore --verify':<44} {r:8.2f} s   ratio {r / b:.2f}")
    print(f"{'  fixed: ls latest, check k/12, scratch removal':<44} {d - r:8.2f} s")
    print(f"{'muni-watchdog sample test (whole run)':<44} {s:8.2f} s")
    print(f"overhead of the full drill over the bare tools: {(d / b - 1) * 100:+.0f} % whole "
          f"run, {(r / b - 1) * 100:+.0f} % restore and verification (target: at most +10 %)")
    if not args.dir:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
