"""Benchmark: our restore test (sample and full drill) beside bare `restic restore` + `sha256sum`,
and the full-restore estimate of sample tests beside the full drill's measurement.

    .venv/bin/python bench/restore_test.py            # ~1 GB generated tree
    .venv/bin/python bench/restore_test.py --gb 0.3   # quicker

Generates a town-hall-like tree (many small documents, some large scans), backs it up into a
fresh repository, then:
  1. estimate vs drill: --samples weekly sample tests (50 rotating random files + canary), each
     printing its full-restore estimate and basis beside what the old method (snapshot size /
     the sample's bytes-per-second) said, then a full drill that measures the full restore,
     then one more sample (now fitted with the drill); the ratio estimate / measured is printed.
  2. overhead, best of --repeat:
       bare    restic restore SNAP --target DIR  +  sha256sum of every restored file
       drill   muni-watchdog's full drill (ls latest, restore --verify, then check k/12 while
               the sizes and canaries are verified and the scratch directory is removed)
       sample  muni-watchdog's weekly sample test (ls latest, restore --verify; the repository
               check has its own schedule, check_schedule, and is timed apart)
     and the overhead ratio drill / bare (target: at most 1.10).
  3. sample overhead, median of --repeat: a sample test whose critical path is a --critical-mb
     folder (documents and scans, as the tree) beside bare `restic restore --include` of the
     same files (the critical folder as one pattern, the random files one each, as an admin
     would type it) + `sha256sum` of them (target: at most 1.10).

    .venv/bin/python -m bench.restore_test --gb 1 --critical-mb 350 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.restic_lab import ResticLab  # noqa: E402
from muni_watchdog.backup_tests.drill import (  # noqa: E402
    run_repository_check,
    run_restore_test,
)
from muni_watchdog.backup_tests.params import BackupParams  # noqa: E402
from muni_watchdog.backup_tests.report import BackupState  # noqa: E402
from muni_watchdog.backup_tests.restic_output import parse_ls  # noqa: E402
from muni_watchdog.backup_tests.restore_timing import wants_probe  # noqa: E402
from muni_watchdog.backup_tests.sampling import (  # noqa: E402
    Rotation,
    include_pattern,
    select_sample,
)
from muni_watchdog.core.eventloop import use_everywhere  # noqa: E402
from muni_watchdog.daemon.restore_tests import checks_apart  # noqa: E402


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


def bare(lab: ResticLab, scratch: Path, includes: list[str] | None = None) -> float:
    target = Path(tempfile.mkdtemp(dir=scratch))
    started = time.monotonic()
    lab.run("restore", "latest", "--target", str(target),
            *[x for pattern in includes or () for x in ("--include", pattern)])
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
    """One run as the daemon makes it: a drill checks the repository too; a sample test
    leaves the check to its own schedule (check_schedule, the default)."""
    report = asyncio.run(run_restore_test(
        backup, 86400, 4 * 3600, state, full=full,
        clock=lambda: datetime.now(UTC), work_dir=lab.base / "state",
        check=full or not checks_apart(backup)))
    assert report.verdict.label == "ok", report.summary
    return report


def repository_check(backup: BackupParams, lab: ResticLab, state: BackupState):
    """The repository check as its own job runs it (not part of the sample test)."""
    report = asyncio.run(run_repository_check(
        backup, state, clock=lambda: datetime.now(UTC), work_dir=lab.base / "state"))
    assert report.verdict.label == "ok", report.summary
    return report


def old_method(report, list_seconds: float) -> float:
    """The estimate before the start-up model: the sample's residual rate over the snapshot."""
    seconds = report.restore_seconds or 0.0
    transfer = max(seconds - list_seconds, seconds * 0.1)
    return list_seconds + (report.snapshot_bytes or 0) / (report.bytes / transfer)


def estimate_vs_drill(backup: BackupParams, lab: ResticLab, samples: int) -> BackupState:
    """Print each sample's estimate beside the full drill's measured restore."""
    started = time.monotonic()
    lab.run("ls", "--json", "latest")  # what the old method took as start-up: restic ls
    list_seconds = time.monotonic() - started
    state, rows = BackupState.initial(), []
    for i in range(samples):
        report = ours(backup, lab, False, state)
        state = report.state or state
        rows.append((f"sample {i + 1}", report, old_method(report, list_seconds)))
    drill = ours(backup, lab, True, state)
    state = drill.state or state
    after = ours(backup, lab, False, state)
    state = after.state or state
    rows.append(("sample after the drill", after, old_method(after, list_seconds)))
    measured = drill.restore_seconds or 0.0
    size = (drill.snapshot_bytes or 0) / 1e6
    print(f"\nfull restore of the {size:.0f} MB snapshot: estimate vs the full drill's "
          f"measurement ({measured:.1f} s)")
    print(f"{'run':<24}{'restored':>10}{'took':>8}{'estimate':>10}{'x drill':>9}"
          f"{'old method':>12}{'x drill':>9}  basis")
    for name, report, old in rows:
        estimate = report.estimated_full_restore_seconds
        shown = f"{estimate:8.1f} s{estimate / measured:8.1f}x" if estimate else \
            f"{'—':>10}{'':>9}"
        print(f"{name:<24}{report.bytes / 1e6:8.1f} MB{report.restore_seconds or 0:6.2f} s"
              f"{shown}{old:10.1f} s{old / measured:8.1f}x  {report.estimate_basis}")
    print(f"{'full drill (measured)':<24}{drill.bytes / 1e6:8.1f} MB{measured:6.2f} s"
          f"{measured:8.1f} s{1:8.1f}x")
    return state


def sample_includes(lab: ResticLab, backup: BackupParams, state: BackupState) -> list[str]:
    """The patterns that restore what the next sample test will: the critical folders as
    themselves, every other chosen file by its path (not timed: ``restic ls`` of the bench)."""
    files = [n for n in parse_ls(lab.run("ls", "--json", "latest").stdout) if n.type == "file"]
    selection = select_sample(files, backup.canaries, backup.sample,
                              Rotation(state.sample_seed, state.sample_cursor,
                                       state.sample_cycle), probe=wants_probe(state.timings))
    critical = [p.rstrip("/") for p in backup.sample.critical_paths]
    rest = [n.path for n in selection.files
            if not any(n.path.startswith(c + "/") for c in critical)]
    return [include_pattern(c) for c in critical] + [include_pattern(p) for p in rest]


def sample_overhead(lab: ResticLab, backup: BackupParams, state: BackupState,
                    repeat: int) -> BackupState:
    """Sample tests with a critical folder beside bare restic restore + sha256sum of the same
    files; medians of ``repeat`` alternating rounds."""
    bare_s, ours_s, restore_s, sizes = [], [], [], []
    for _ in range(repeat):
        bare_s.append(bare(lab, backup_scratch(backup), sample_includes(lab, backup, state)))
        report = ours(backup, lab, False, state)
        state = report.state or state
        ours_s.append(report.duration)
        restore_s.append(report.restore_seconds or 0.0)
        sizes.append(report.bytes)
    b, o, r = statistics.median(bare_s), statistics.median(ours_s), statistics.median(restore_s)
    print(f"\nsample test with a {backup.sample.critical_paths[0]} critical folder "
          f"({statistics.median(sizes) / 1e6:.0f} MB restored; medians of {repeat})")
    print(f"{'bare restic restore --include + sha256sum':<44} {b:8.2f} s   "
          f"({', '.join(f'{x:.2f}' for x in bare_s)})")
    print(f"{'muni-watchdog sample test (whole run)':<44} {o:8.2f} s   ratio {o / b:.2f}   "
          f"({', '.join(f'{x:.2f}' for x in ours_s)})")
    print(f"{'  of which the restore':<44} {r:8.2f} s   ratio {r / b:.2f}")
    print(f"overhead of the sample test over the bare tools: {(o / b - 1) * 100:+.0f} % "
          "(target: at most +10 %)")
    if checks_apart(backup):
        check = repository_check(backup, lab, state)
        state = check.state or state
        print(f"{'repository check on its own (check_schedule)':<44} {check.duration:8.2f} s   "
              f"(restic check of {check.subset}; not part of the sample test)")
    return state


def critical(backup: BackupParams, lab: ResticLab) -> BackupParams:
    """The same backup with the critical folder as a critical path of its samples."""
    sample = backup.sample.model_copy(update={"critical_paths": [str(lab.source / "critical")]})
    return backup.model_copy(update={"sample": sample})


def backup_scratch(backup: BackupParams) -> Path:
    return Path(backup.scratch_dir)


def main() -> None:
    use_everywhere()   # the product's event loop (uvloop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="tree size in GB (default 1)")
    parser.add_argument("--repeat", type=int, default=2, help="best of N (default 2)")
    parser.add_argument("--samples", type=int, default=4,
                        help="sample tests before the drill in the estimate comparison")
    parser.add_argument("--critical-mb", type=float, default=350,
                        help="size of the critical folder of the sample comparison (default "
                        "350; 0: no sample comparison)")
    parser.add_argument("--only-sample", action="store_true",
                        help="only the sample comparison (3.), not 1. and 2.")
    parser.add_argument("--dir", help="work directory (default: a temporary one)")
    args = parser.parse_args()
    base = Path(args.dir or tempfile.mkdtemp(prefix="restore-bench-"))
    lab = ResticLab(base)
    files, size = make_tree(lab.source, int(args.gb * 1e9))
    if args.critical_mb:
        more, extra = make_tree(lab.source / "critical", int(args.critical_mb * 1e6), seed=2)
        files, size = files + more, size + extra
    lab.create()
    t = time.monotonic()
    lab.nightly_backup()
    print(f"tree: {files} files, {size / 1e6:.0f} MB; backup took {time.monotonic() - t:.1f} s")
    (base / "scratch").mkdir(exist_ok=True)
    backup = BackupParams(id="bench", service="s", repository=lab.repository,
                          password_file=str(lab.password_file), canaries=[str(lab.canary)],
                          scratch_dir=str(base / "scratch"))
    # the state carries over from run to run, as the daemon stores it (rotation, the
    # remembered restic version, the restore timings)
    if args.only_sample:
        sample_overhead(lab, critical(backup, lab), BackupState.initial(), args.repeat)
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
        return
    state = estimate_vs_drill(backup, lab, args.samples)
    print()
    bare_s, drill_s, sample_s, restore_s = [], [], [], []
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
    if args.critical_mb:
        sample_overhead(lab, critical(backup, lab), state, args.repeat)
    if not args.dir:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
