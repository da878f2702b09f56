"""restic output parsers, on outputs captured from restic 0.14.0 (Debian 12) and 0.18.0."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from muni_watchdog.backup_tests.restic_output import (
    Failure,
    ResticVersion,
    classify_exit,
    error_message,
    parse_ls,
    parse_snapshots,
    parse_stats,
    parse_time,
    parse_version,
)
from muni_watchdog.backup_tests.restic_verdicts import parse_check, parse_restore

DATA = Path(__file__).parent / "data" / "restic"


def sample(name: str) -> str:
    return (DATA / name).read_text()


def rc(version: str, what: str) -> int:
    return int(sample(f"restic{version}-{what}.rc"))


@pytest.mark.parametrize("version, expected", [("0.14", ResticVersion(0, 14, 0)),
                                               ("0.18", ResticVersion(0, 18, 0))])
def test_version_text(version, expected):
    parsed = parse_version(sample(f"restic{version}-version.txt"))
    assert parsed == expected
    assert str(parsed) == f"{version}.0"


def test_version_capabilities_follow_the_matrix():
    old, new = ResticVersion(0, 14, 0), ResticVersion(0, 18, 0)
    assert not old.has_json_restore and not old.has_json_check and not old.has_retry_lock
    assert not old.has_lock_exit_codes
    assert new.has_json_restore and new.has_json_check and new.has_lock_exit_codes
    assert ResticVersion(0, 16, 4).has_json_restore and not ResticVersion(0, 16, 4).has_json_check
    assert ResticVersion(0, 19, 1) > new > old


def test_version_rejects_other_text():
    with pytest.raises(ValueError, match="not restic version output"):
        parse_version("bash: restic: command not found")


@pytest.mark.parametrize("version", ["0.14", "0.18"])
def test_wrong_password_is_named_on_both_versions(version):
    code = rc(version, "badpw")
    stderr = sample(f"restic{version}-badpw.stderr")
    assert code == (1 if version == "0.14" else 12)  # 0.14 has no code 12 yet
    assert classify_exit(code, stderr) is Failure.WRONG_PASSWORD
    assert error_message(stderr) == "Fatal: wrong password or no key found"


@pytest.mark.parametrize("code, stderr, expected", [
    (0, "", Failure.NONE),
    (1, "Fatal: repository contains errors", Failure.FATAL),
    (3, "Warning: at least one source file could not be read", Failure.PARTIAL),
    (10, "", Failure.NO_REPOSITORY),
    (11, "", Failure.LOCKED),
    (12, "", Failure.WRONG_PASSWORD),
    (130, "", Failure.INTERRUPTED),
    (137, "", Failure.INTERRUPTED),                      # SIGKILL (OOM killer): no verdict
    (143, "", Failure.INTERRUPTED),
    (2, "panic: runtime error", Failure.UNKNOWN_CODE),   # not in the table: a failure
    (42, "", Failure.UNKNOWN_CODE),
    # restic < 0.17: all exit 1, the text tells
    (1, "unable to create lock in backend: repository is already locked by PID 17 on vm",
     Failure.LOCKED),
    (1, "Fatal: unable to open config file: stat /r/config: no such file or directory\n"
        "Is there a repository at the following location?\n/r", Failure.NO_REPOSITORY),
])
def test_exit_code_table(code, stderr, expected):
    assert classify_exit(code, stderr) is expected


def test_exit_error_json_message_first():
    stderr = ('{"message_type":"exit_error","code":11,"message":"unable to create lock in '
              'backend: repository is already locked by PID 17096 on vm by root (UID 0, GID 0)'
              '\\nlock was created at 2026 (3.0s ago)"}\n')
    assert classify_exit(11, stderr) is Failure.LOCKED
    assert error_message(stderr) == ("unable to create lock in backend: repository is already "
                                     "locked by PID 17096 on vm by root (UID 0, GID 0)")


@pytest.mark.parametrize("version", ["0.14", "0.18"])
def test_snapshots(version):
    snaps = parse_snapshots(sample(f"restic{version}-snapshots.json"))
    assert len(snaps) == 1
    snap = snaps[0]
    assert len(snap.id) == 64 and snap.short_id == snap.id[:8]
    assert snap.hostname == "vm"
    assert snap.paths == (f"/srv/fx{version.replace('0.', '')}/src",)
    assert snap.time.tzinfo is not None
    if version == "0.14":
        assert snap.time == datetime(2026, 11, 22, 13, 50, 11, 666785, tzinfo=UTC)
        assert snap.backup_end is None  # no summary before 0.17
    else:
        assert snap.backup_end == datetime(2026, 11, 22, 13, 50, 18, 686231, tzinfo=UTC)


def test_empty_repository_has_no_snapshots():
    assert parse_snapshots("[]") == [] and parse_snapshots("") == []


def test_snapshots_sorted_oldest_first():
    text = ('[{"time":"2026-11-22T10:00:00Z","id":"' + "b" * 64 + '","paths":["/a"]},'
            '{"time":"2026-11-21T10:00:00.123456789+01:00","id":"' + "a" * 64 + '"}]')
    snaps = parse_snapshots(text)
    assert [s.id[0] for s in snaps] == ["a", "b"]
    assert snaps[0].time.utcoffset().total_seconds() == 3600


def test_parse_time_truncates_nanoseconds():
    assert parse_time("2026-11-22T13:50:11.666785836Z") == datetime(
        2026, 11, 22, 13, 50, 11, 666785, tzinfo=UTC)
    assert parse_time("2026-11-22T13:50:11Z") == datetime(2026, 11, 22, 13, 50, 11, tzinfo=UTC)


@pytest.mark.parametrize("version", ["0.14", "0.18"])
def test_clean_check(version):
    result = parse_check(sample(f"restic{version}-check.stdout"),
                         sample(f"restic{version}-check.stderr"), rc(version, "check"))
    assert result.errors == 0 and result.packs == ()


def test_corrupt_pack_014_text():
    stdout = ("using temporary cache in /tmp/restic-check-cache-1\ncreate exclusive lock for "
              "repository\nload indexes\ncheck all packs\ncheck snapshots, trees and blobs\n"
              "read all data\n")
    stderr = ("Pack ID does not match, want 49104a10, got 5d7e1f2a\n"
              "Fatal: repository contains errors\n")
    result = parse_check(stdout, stderr, 1)
    assert result.errors == 1
    assert result.messages[0] == "Pack ID does not match, want 49104a10, got 5d7e1f2a"


def test_corrupt_pack_018_json():
    stdout = ('{"message_type":"summary","num_errors":1,"broken_packs":["49104a10aa"],'
              '"suggest_repair_index":false,"suggest_prune":false}\n')
    stderr = ('{"message_type":"error","message":"pack 49104a10aa contains 2 errors: [blob '
              'x: decrypting blob x failed]"}\n'
              '{"message_type":"exit_error","code":1,"message":"Fatal: repository contains '
              'errors"}\n')
    result = parse_check(stdout, stderr, 1)
    assert result.errors == 1 and result.damaged_packs == ("49104a10aa",)
    assert result.messages[0].startswith("pack 49104a10aa contains 2 errors")


def test_check_summary_trusts_the_exit_code_first():
    # 0.18 locked: rc 11 but the summary still says num_errors 1 -> the caller sees rc first;
    # a zero-error summary with a non-zero code is still an error
    stdout = '{"message_type":"summary","num_errors":0,"broken_packs":null}\n'
    assert parse_check(stdout, "", 1).errors == 1


@pytest.mark.parametrize("version", ["0.14", "0.18"])
def test_clean_restore(version):
    result = parse_restore(sample(f"restic{version}-restore.stdout"),
                           sample(f"restic{version}-restore.stderr"))
    assert result.errors == ()
    if version == "0.18":  # restic's counters include directories
        assert (result.files_restored, result.bytes_restored) == (6, 2000007)
    else:
        assert result.files_restored is None  # 0.14 prints text only


def test_restore_014_verify_and_corruption_text():
    ok = parse_restore("restoring <Snapshot 08208fc0 of [/s] at 2026 by root@vm> to rt\n"
                       "verifying files in rt\nfinished verifying 2 files in rt (took 6ms)\n",
                       "")
    assert ok.verified and ok.errors == ()
    bad = parse_restore("restoring <Snapshot 08208fc0 ...> to rt\n",
                        "ignoring error for /src/big.bin: ciphertext verification failed\n"
                        "Fatal: There were 1 errors\n")
    assert bad.errors == ("/src/big.bin: ciphertext verification failed",)


def test_restore_018_error_json():
    stderr = ('{"message_type":"error","error":{"message":"decrypting blob <data/731a5fdb> from '
              '49104a10 failed: ciphertext verification failed"},"during":"restore","item":'
              '"/src/big.bin"}\n{"message_type":"exit_error","code":1,"message":"Fatal: There '
              'were 1 errors\\n"}\n')
    result = parse_restore('{"message_type":"summary","total_files":4,"files_restored":3}', stderr)
    assert result.errors == ("/src/big.bin: decrypting blob <data/731a5fdb> from 49104a10 "
                             "failed: ciphertext verification failed",)


def test_ls_both_shapes():
    text = ('{"time":"2026-11-22T13:50:11Z","tree":"t","paths":["/s"],"id":"x",'
            '"struct_type":"snapshot"}\n'
            '{"name":"s","type":"dir","path":"/s","mtime":"2026-11-22T13:50:11Z",'
            '"struct_type":"node"}\n'
            '{"name":"big.bin","type":"file","path":"/s/big.bin","size":3000000,'
            '"mtime":"2026-11-22T13:50:11.1Z","struct_type":"node"}\n'
            'unable to open cache: no cache directory\n'
            '{"name":"a","type":"file","path":"/s/a","size":0,"message_type":"node"}\n')
    nodes = parse_ls(text)
    assert [(n.path, n.type, n.size) for n in nodes] == [
        ("/s", "dir", 0), ("/s/big.bin", "file", 3000000), ("/s/a", "file", 0)]


@pytest.mark.parametrize("version", ["0.14", "0.18"])
def test_stats(version):
    assert parse_stats(sample(f"restic{version}-stats.json")) == (2000007, 6)


def test_backup_error_shapes_both_versions():
    old = ('{"message_type":"error","error":{"Op":"open","Path":"/s/secret.txt","Err":13},'
           '"during":"archival","item":"/s/secret.txt"}\nWarning: at least one source file '
           'could not be read\n')
    new = ('{"message_type":"error","error":{"message":"open /s/secret.txt: permission '
           'denied"},"during":"archival","item":"/s/secret.txt"}\n')
    assert error_message(old) == "open /s/secret.txt: errno 13"  # the specific error wins
    assert error_message(new) == "open /s/secret.txt: permission denied"
    # restic 0.17.0 wrote restore errors as an empty object (fixed in 0.17.1)
    empty = '{"message_type":"error","error":{},"during":"restore","item":"/srv/x.pdf"}\n'
    assert error_message(empty) == ("/srv/x.pdf: an error restic did not describe (its --json "
                                    "errors were empty in 0.17.0)")


def test_ls_latest_snapshot_line():
    from muni_watchdog.backup_tests.restic_output import parse_ls_snapshot
    text = ('{"time":"2026-11-22T20:34:39.528026361Z","tree":"eec4","paths":["/tmp/rl/share"],'
            '"hostname":"townhall","username":"root","id":"' + "a" * 64 + '","short_id":'
            '"aaaaaaaa","struct_type":"snapshot"}\n'
            '{"name":"tmp","type":"dir","path":"/tmp","struct_type":"node"}\n')
    snap = parse_ls_snapshot(text)
    assert snap.id == "a" * 64 and snap.hostname == "townhall"
    assert snap.paths == ("/tmp/rl/share",)
    # no snapshot matched the filter: restic 0.14 exits 0 with nothing on stdout
    assert parse_ls_snapshot("") is None


# -- damaged repositories, real outputs (tests/data/restic/damage/README.txt) ---------------

DAMAGE = DATA / "damage"
PACK14, OTHER14, TREE14 = "a56be873b4548df4", "50e7bfc45f04fe23", "24d6f249c938c631"
PACK18, OTHER18, TREE18 = "ccb4342abb4bf045", "cd01e50fa5dbbad0", "3129a96e65c88a7d"


def damage(name: str) -> tuple[str, str, int]:
    return ((DAMAGE / f"{name}.stdout").read_text(), (DAMAGE / f"{name}.stderr").read_text(),
            int((DAMAGE / f"{name}.rc").read_text()))


def starts(packs, *prefixes) -> bool:
    return len(packs) == len(prefixes) and all(
        p.startswith(prefix) for p, prefix in zip(packs, prefixes, strict=True))


@pytest.mark.parametrize("name, errors, missing, damaged", [
    ("restic0.14-check-missing-pack", 1, [PACK14], []),
    ("restic0.18-check-missing-pack", 1, [PACK18], []),
    ("restic0.14-check-read-data-missing-pack", 2, [PACK14], []),
    ("restic0.18-check-read-data-missing-pack", 2, [PACK18], []),
    ("restic0.14-check-read-data-corrupt-pack", 1, [], [PACK14]),
    ("restic0.18-check-read-data-corrupt-pack", 1, [], [PACK18]),
    ("restic0.14-check-subset2-corrupt-pack", 1, [], [PACK14]),
    ("restic0.18-check-subset1-corrupt-pack", 1, [], [PACK18]),
    ("restic0.14-check-read-data-missing-and-corrupt", 3, [PACK14], [OTHER14]),
    ("restic0.18-check-read-data-missing-and-corrupt", 3, [PACK18], [OTHER18]),
    ("restic0.14-check-tree-pack-missing", 2, [TREE14], []),
    ("restic0.18-check-tree-pack-missing", 2, [TREE18], []),
    ("restic0.14-check-truncated-pack", 1, [], [PACK14]),
    ("restic0.18-check-read-data-truncated-pack", 2, [], [PACK18]),
    ("restic0.14-check-empty-pack", 2, [], [TREE14]),
    ("restic0.18-check-empty-pack", 2, [], [TREE18]),
    ("restic0.14-check-corrupt-index", 1, [], []),
    ("restic0.18-check-corrupt-index", 1, [], []),
])
def test_check_counts_and_names_every_damaged_or_missing_pack(name, errors, missing, damaged):
    result = parse_check(*damage(name))
    assert result.errors == errors
    assert starts(result.missing_packs, *missing) and starts(result.damaged_packs, *damaged)
    text = " ".join(result.messages)
    # restic's own words, not its retries, advice paragraphs or only its Fatal line
    assert "returned error, retrying" not in text and "troubleshooting" not in text
    assert not text.startswith("Fatal:")


@pytest.mark.parametrize("name", ["restic0.14-check-subset1-corrupt-pack",
                                  "restic0.18-check-subset2-corrupt-pack",
                                  "restic0.14-check-unreferenced-pack",
                                  "restic0.18-check-unreferenced-pack"])
def test_check_clean_subsets_and_orphaned_packs_are_no_damage(name):
    # the damaged pack lies in the other subset; an unreferenced pack is restic's "non-critical"
    assert parse_check(*damage(name)) == parse_check("", "", 0).__class__(0)


@pytest.mark.parametrize("version, prefix", [("0.14", "open t14/repo/data/24/24d6f249"),
                                             ("0.18", "open t18/repo/data/31/3129a96e")])
def test_go_stack_trace_never_reaches_a_summary(version, prefix):
    _, stderr, code = damage(f"restic{version}-ls-tree-pack-missing")
    assert "github.com/restic/restic" in stderr and code == 1  # the trace is really there
    message = error_message(stderr)
    assert message.startswith(prefix) and message.endswith("no such file or directory")
    from muni_watchdog.backup_tests.restic_messages import named_packs
    from muni_watchdog.backup_tests.restic_output import stderr_lines
    assert starts(named_packs(stderr_lines(stderr, True)).missing_packs,
                  TREE14 if version == "0.14" else TREE18)


def test_go_panic_first_line_is_the_message():
    stderr = ("panic: runtime error: invalid memory address or nil pointer dereference\n"
              "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x5a3f1e]\n\n"
              "goroutine 1 [running]:\n"
              "github.com/restic/restic/internal/restorer.(*Restorer).RestoreTo(0xc0001)\n"
              "\t/build/restic-0.14.0/internal/restorer/restorer.go:214 +0x3e\n"
              "main.runRestore({0x1234, 0x5})\n\t/build/cmd/restic/cmd_restore.go:181 +0x8a\n"
              "runtime.goexit()\n\t/usr/lib/go/src/runtime/asm_amd64.s:1594 +0x1\n")
    assert error_message(stderr).startswith("panic: runtime error: invalid memory address")


@pytest.mark.parametrize("version, missing", [("0.14", PACK14), ("0.18", PACK18)])
def test_restore_names_the_missing_pack(version, missing):
    stdout, stderr, code = damage(f"restic{version}-restore-missing-pack")
    result = parse_restore(stdout, stderr)
    assert code == 1 and result.errors
    assert starts(result.missing_packs, missing) and result.damaged_packs == ()
    assert not any("retrying" in e for e in result.errors)


def test_restore_018_names_the_pack_of_a_corrupt_blob_not_the_blob():
    result = parse_restore(*damage("restic0.18-restore-corrupt-pack")[:2])
    assert result.damaged_packs == ("ccb4342a",)  # "decrypting blob <data/ab340680> from …"


@pytest.mark.parametrize("version", ["0.14", "0.18"])
def test_stale_lock_message_and_lock_files(version):
    from muni_watchdog.backup_tests.stale_locks import dead_owner_locks, parse_lock, parse_lock_ids
    _, stderr, code = damage(f"restic{version}-check-stale-lock")
    assert classify_exit(code, stderr) is Failure.LOCKED
    assert error_message(stderr).startswith("unable to create lock in backend: repository is "
                                            "already locked by PID ")
    ids = parse_lock_ids((DAMAGE / f"restic{version}-list-locks.stdout").read_text())
    assert len(ids) == 1
    lock = parse_lock(ids[0], (DAMAGE / f"restic{version}-cat-lock.json").read_text())
    assert lock.hostname == "vm" and lock.pid > 0 and not lock.exclusive and lock.time
    assert dead_owner_locks([lock], "vm", alive=lambda pid: False) == [lock]
    assert dead_owner_locks([lock], "vm", alive=lambda pid: True) == []      # owner alive
    assert dead_owner_locks([lock], "nas", alive=lambda pid: False) == []    # another host
    assert parse_lock(ids[0], "not json") is None


# -- failure injection on the parsers: empty, cut, error on stderr, non-zero ---------------

CLEAN14 = sample("restic0.14-check.stdout")
CLEAN18 = sample("restic0.18-check.stdout")


@pytest.mark.parametrize("stdout, stderr, code, clean", [
    (CLEAN14, "", 0, True),
    (CLEAN18, "", 0, True),
    ("", "", 0, None),                                   # prints nothing
    (CLEAN14[: len(CLEAN14) // 2], "", 0, None),          # cut before its verdict
    (CLEAN18[: len(CLEAN18) // 2], "", 0, None),          # half its JSON summary
    (CLEAN14, "error: injected failure\n", 0, False),   # an error on stderr
    (CLEAN18, "error: injected failure\n", 0, False),
    ("", "", 1, False),                                  # non-zero without a word
    (CLEAN14, "", 1, False),                             # the code decides, not the text
    (CLEAN18, "", 2, False),
])
def test_check_failure_matrix_is_never_clean(stdout, stderr, code, clean):
    result = parse_check(stdout, stderr, code)
    if clean is True:
        assert result.errors == 0
    elif clean is None:
        assert result.errors is None and "proves nothing" in result.problem
    else:
        assert result.errors >= 1 and result.messages
        if stderr:
            assert result.messages[0] == "error: injected failure"


def test_ls_failure_matrix():
    from muni_watchdog.backup_tests.restic_verdicts import ls_problem
    listing = sample("restic0.14-snapshots.json")  # any JSON object per line will do
    good = ('{"struct_type":"snapshot","id":"x","time":"2026-11-22T13:50:11Z"}\n'
            '{"struct_type":"node","path":"/a"}\n')
    assert ls_problem(good, "") == ""
    # one decoding of the whole listing, yet each line must be one object
    assert "line 2 of 2" in ls_problem(good.replace("\n{", "{").replace("}{", "}\n{}{"), "")
    assert "line 1 of 1" in ls_problem('{"struct_type":"node","path":"/a"},'
                                       '{"struct_type":"node","path":"/b"}\n', "")
    assert "without a readable 'time'" in ls_problem('{"struct_type":"snapshot","id":"x"}', "")
    assert "without a readable 'path'" in ls_problem('{"struct_type":"node"}', "")
    assert ls_problem("", 'Ignoring "latest", no snapshot matched given filter\n') == ""
    assert "printed nothing" in ls_problem("", "")
    assert "cut" in ls_problem(good[: len(good) // 2 + 3], "")
    assert "cut" in ls_problem(good + '{"struct_type":"no', "")
    assert ls_problem(listing, "") != ""  # a JSON array is not ls --json output


def test_restore_confirmation_is_required():
    text14 = ("restoring <Snapshot 08208fc0 of [/s] at 2026 by root@vm> to rt\n"
              "verifying files in rt\nfinished verifying 2 files in rt (took 6ms)\n")
    assert parse_restore(text14, "").confirmed(json_mode=False)
    assert not parse_restore("", "").confirmed(json_mode=False)
    assert not parse_restore(text14[:70], "").confirmed(json_mode=False)
    json18 = sample("restic0.18-restore.stdout")
    assert parse_restore(json18, "").confirmed(json_mode=True)
    assert not parse_restore(json18[: len(json18) // 2], "").confirmed(json_mode=True)
    assert not parse_restore("", "").confirmed(json_mode=True)


@pytest.mark.parametrize("text", ["", "restic 0.14.0 compi", "error: injected failure"])
def test_version_failure_matrix(text):
    with pytest.raises(ValueError):
        parse_version(text)
