"""restic output parsers, on outputs captured from restic 0.14.0 (Debian 12) and 0.18.0."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_tests.restic_output import (
    Failure,
    ResticVersion,
    classify_exit,
    error_message,
    parse_check,
    parse_ls,
    parse_restore,
    parse_snapshots,
    parse_stats,
    parse_time,
    parse_version,
)

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
    assert result.errors == 0 and result.broken_packs == ()


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
    assert result.errors == 1 and result.broken_packs == ("49104a10aa",)
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


def test_ls_latest_snapshot_line():
    from backup_tests.restic_output import parse_ls_snapshot
    text = ('{"time":"2026-11-22T20:34:39.528026361Z","tree":"eec4","paths":["/tmp/rl/share"],'
            '"hostname":"townhall","username":"root","id":"' + "a" * 64 + '","short_id":'
            '"aaaaaaaa","struct_type":"snapshot"}\n'
            '{"name":"tmp","type":"dir","path":"/tmp","struct_type":"node"}\n')
    snap = parse_ls_snapshot(text)
    assert snap.id == "a" * 64 and snap.hostname == "townhall"
    assert snap.paths == ("/tmp/rl/share",)
    # no snapshot matched the filter: restic 0.14 exits 0 with nothing on stdout
    assert parse_ls_snapshot("") is None
