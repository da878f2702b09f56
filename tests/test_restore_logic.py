"""Pure parts of the restore tests: sampling rotation, canaries, judging, verification, scratch
hygiene, the config model and the store table. No restic here."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from muni_watchdog.backup_tests.canary import CanaryError, canary_bytes, read_canary, write_canary
from muni_watchdog.backup_tests.params import BackupParams, SampleParams
from muni_watchdog.backup_tests.report import (
    BackupState,
    RestoreTestReport,
    judge_age,
    report_to_outcome,
)
from muni_watchdog.backup_tests.restic import read_env_file, restic_environment
from muni_watchdog.backup_tests.restic_output import Node
from muni_watchdog.backup_tests.sampling import (
    Rotation,
    include_pattern,
    include_patterns,
    select_sample,
)
from muni_watchdog.backup_tests.scratch import PREFIX, ScratchError, private_scratch, sweep_stale
from muni_watchdog.backup_tests.verify import (
    check_canary,
    live_path,
    snapshot_root,
    verify_restored,
)
from muni_watchdog.core.model import State
from muni_watchdog.store.database import Store

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def nodes(count: int, size: int = 100, prefix: str = "/share") -> list[Node]:
    return [Node(f"{prefix}/f{i:04d}", "file", size, None) for i in range(count)]


# -- sampling ---------------------------------------------------------------------------------

def test_rotation_covers_every_file_once_per_cycle():
    files = nodes(100)
    params = SampleParams(files=30)
    rotation, seen = Rotation("seed"), []
    for _ in range(4):
        selection = select_sample(files, [], params, rotation)
        assert selection.random_count == 30 or rotation.cycle < selection.rotation.cycle
        seen.append(set(selection.paths))
        rotation = selection.rotation
    first_cycle = seen[0] | seen[1] | seen[2] | seen[3]
    assert len(first_cycle) == 100  # 4 runs x 30 > 100: everything covered
    assert not (seen[0] & seen[1]) and not (seen[1] & seen[2])  # no repeats within a cycle
    assert rotation.cycle == 1


def test_coverage_grows_run_after_run():
    files = nodes(100)
    rotation, coverages = Rotation("s"), []
    for _ in range(3):
        selection = select_sample(files, [], SampleParams(files=25), rotation)
        coverages.append(selection.coverage)
        rotation = selection.rotation
    assert coverages == [0.25, 0.5, 0.75]


def test_sample_respects_size_caps_and_always_takes_canaries_and_critical_paths():
    files = nodes(20) + [Node("/share/huge.iso", "file", 10**9, None),
                         Node("/share/finance/ledger.db", "file", 5 * 10**8, None),
                         Node("/share/.canary", "file", 300, None)]
    params = SampleParams(files=50, max_file_size=10**6, max_bytes=1000,
                          critical_paths=["/share/finance", "/share/gone"])
    selection = select_sample(files, ["/share/.canary", "/share/other/.canary"], params,
                              Rotation("s"))
    assert "/share/huge.iso" not in selection.paths               # above max_file_size
    assert "/share/finance/ledger.db" in selection.paths          # critical: always
    assert selection.canaries == ("/share/.canary",)
    assert selection.missing_canaries == ("/share/other/.canary",)
    assert selection.missing_critical == ("/share/gone",)
    assert selection.random_count == 10                           # 10 x 100 B = max_bytes


def test_new_files_join_the_rotation():
    rotation = select_sample(nodes(10), [], SampleParams(files=5), Rotation("s")).rotation
    more = nodes(10) + [Node("/share/new", "file", 1, None)]
    after = select_sample(more, [], SampleParams(files=100), rotation)
    assert "/share/new" in after.paths


def test_include_pattern_escapes_glob_characters():
    assert include_pattern("/s/a*b?[c].txt") == "/s/a\\*b\\?\\[c\\].txt"
    assert include_pattern("/s/plain name.pdf") == "/s/plain name.pdf"


def test_a_critical_folder_is_one_include_pattern_not_one_per_file():
    # restic matches every pattern against every node: thousands of per-file patterns for a
    # large critical folder made the sample's restore slower than the admin's one pattern
    folder = [Node(f"/share/finance/[2024]/f{i}.pdf", "file", 10, None) for i in range(3000)]
    files = folder + [Node("/share/a.txt", "file", 1, None), Node("/share/.canary", "file", 1,
                                                                   None)]
    params = SampleParams(files=1, critical_paths=["/share/finance/[2024]/", "/share/gone"])
    selection = select_sample(files, ["/share/.canary"], params, Rotation("s"))
    patterns = include_patterns(selection.files, params.critical_paths)
    assert patterns[0] == "/share/finance/\\[2024\\]"   # the folder, escaped, no slash
    assert len(patterns) == 1 + len(selection.files) - len(folder)   # the others, one each
    assert "/share/.canary" in patterns and not any("/gone" in p for p in patterns)
    # a critical path of "/" is the whole snapshot: no filter at all
    assert include_patterns(selection.files, ["/"]) is None
    # a file as a critical path stays a pattern of its own (it is its own "folder")
    assert include_patterns(folder[:1], [folder[0].path]) == [include_pattern(folder[0].path)]


# -- canaries -----------------------------------------------------------------------------------

def test_canary_roundtrip_and_tamper(tmp_path):
    canary = write_canary(tmp_path / "sub" / "c.json", NOW)
    assert canary.created_at == NOW
    data = (tmp_path / "sub" / "c.json").read_bytes()
    assert read_canary(data).nonce == canary.nonce
    body = json.loads(data)
    body["created_at"] = (NOW + timedelta(days=1)).isoformat()  # "fresher" than it is
    with pytest.raises(CanaryError, match="content changed"):
        read_canary(json.dumps(body).encode())
    with pytest.raises(CanaryError, match="not a canary"):
        read_canary(b"hello")
    assert oct((tmp_path / "sub" / "c.json").stat().st_mode & 0o777) == "0o644"


def test_check_canary_states(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "ok").write_bytes(canary_bytes(NOW - timedelta(hours=2)))
    (tmp_path / "s" / "old").write_bytes(canary_bytes(NOW - timedelta(days=3)))
    (tmp_path / "s" / "bad").write_bytes(canary_bytes(NOW).replace(b"20", b"19", 1))
    day = 86400
    assert check_canary(tmp_path, "/s/ok", NOW, day, True).status == "ok"
    assert check_canary(tmp_path, "/s/old", NOW, day, True).status == "stale"
    assert check_canary(tmp_path, "/s/bad", NOW, day, True).status == "corrupt"
    assert check_canary(tmp_path, "/s/none", NOW, day, True).status == "missing"
    assert "not in the snapshot" in check_canary(tmp_path, "/s/x", NOW, day, False).detail


# -- judging ------------------------------------------------------------------------------------

@pytest.mark.parametrize("age_hours, expected", [(23, State.OK), (24, State.OK),
                                                 (25, State.WARNING), (48, State.WARNING),
                                                 (49, State.CRITICAL)])
def test_freshness_against_rpo(age_hours, expected):
    state, text = judge_age(age_hours * 3600, 86400, 100, 200, "newest snapshot")
    assert state is expected
    assert text.startswith("newest snapshot ") and "(rpo 24 hours)" in text


def test_report_json_contract_and_outcome():
    report = RestoreTestReport("clerk-share", "clerk", NOW, rpo_seconds=86400,
                               rto_seconds=14400, age_seconds=3600, restore_seconds=1.5,
                               bytes_per_second=1e6, estimated_full_restore_seconds=90)
    report.add(State.OK, "all good")
    data = report.as_json()
    # the original contract, in its order; additions come after each object's old keys
    assert list(data) == ["backup", "service", "verdict", "summary", "restic_version",
                          "snapshot", "integrity", "sample", "canaries", "timing",
                          "lock_cleared", "problems", "kind"]
    assert data["kind"] == "restore_test"
    assert list(data["snapshot"]) == ["id", "time", "age_seconds"]
    assert list(data["integrity"]) == ["subset", "errors", "damaged_packs", "missing_packs"]
    assert list(data["sample"]) == ["files", "bytes", "verified", "mismatched", "missing",
                                    "changed_since_backup"]
    assert list(data["timing"]) == ["restore_seconds", "bytes_per_second",
                                    "estimated_full_restore_seconds", "rto_seconds",
                                    "estimate_basis", "estimate_kind", "startup_seconds"]
    assert data["lock_cleared"] == [] and data["integrity"]["damaged_packs"] == []
    assert data["verdict"] == "ok" and data["problems"] == []
    report.add(State.WARNING, "snapshot is old")
    report.add(State.CRITICAL, "canary corrupt")
    outcome = report_to_outcome(report)
    assert outcome.state is State.CRITICAL
    assert outcome.summary == "canary corrupt, snapshot is old"
    metric = {m.name: m for m in outcome.metrics}
    assert metric["estimated_full_restore"].crit == 14400
    assert metric["snapshot_age"].warn == 86400
    assert outcome.items[0]["verdict"] == "critical"
    assert outcome.immediate  # no soft retries for a weekly test


def test_backup_state_roundtrip():
    state = BackupState.initial()
    assert state.subset_next == 1 and len(state.sample_seed) == 16
    again = BackupState.from_dict(json.loads(json.dumps(state.as_dict())) | {"future": 1})
    assert again == state
    assert BackupState.from_dict(None).sample_seed != state.sample_seed


# -- verification against the live source -----------------------------------------------------

def test_source_comparison_separates_changed_from_corrupt(tmp_path):
    target, source = tmp_path / "restore", tmp_path / "live"
    for base in (target / "share", source):
        base.mkdir(parents=True)
    files = {"same": b"A" * 10, "edited": b"B" * 10, "rotten": b"C" * 10, "deleted": b"D" * 10}
    for name, data in files.items():
        (target / "share" / name).write_bytes(data)
    (source / "same").write_bytes(b"A" * 10)
    (source / "rotten").write_bytes(b"X" * 10)     # same size, different bytes
    (source / "edited").write_bytes(b"E" * 10)
    snapshot_nodes = [Node(f"/share/{n}", "file", 10, None) for n in files]
    edited_later = time.time() + 3600
    os.utime(source / "edited", (edited_later, edited_later))
    snapshot_time = datetime.now(UTC) + timedelta(minutes=5)  # after the live files' ctime
    result = verify_restored(target, snapshot_nodes, [], snapshot_time, source, "/share")
    assert result.files == 4 and result.bytes == 40
    assert result.mismatched == ["/share/rotten"]
    assert result.changed_since_backup == ["/share/edited"]
    assert result.verified == 3 and result.damaged == []


def test_wrong_size_or_restic_error_is_damage(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "short").write_bytes(b"1234")
    (tmp_path / "s" / "flagged").write_bytes(b"12345")
    nodes_ = [Node("/s/short", "file", 5, None), Node("/s/flagged", "file", 5, None),
              Node("/s/absent", "file", 5, None)]
    result = verify_restored(tmp_path, nodes_, ["/s/flagged: ciphertext verification failed"],
                             NOW, None, "/s")
    assert sorted(result.damaged) == ["/s/absent", "/s/flagged", "/s/short"]
    assert result.verified == 0


def test_snapshot_root_for_absolute_and_relative_backups(tmp_path):
    assert snapshot_root(["/srv/share"], ["/srv/share/a"]) == "/srv/share"
    assert snapshot_root(["/scratch/r18/src"], ["/src/a"]) == "/src"  # relative backup
    assert live_path(tmp_path, "/srv/share", "/srv/share/d/a") == tmp_path / "d" / "a"
    assert live_path(tmp_path, "/srv/share", "/elsewhere/a") is None


# -- scratch ------------------------------------------------------------------------------------

def test_scratch_is_private_and_removed_even_read_only(tmp_path):
    with private_scratch(tmp_path, "b", 1000) as target:
        assert oct(target.stat().st_mode & 0o777) == "0o700"
        locked = target / "deep" / "dir"
        locked.mkdir(parents=True)
        (locked / "f").write_text("x")
        locked.chmod(0o500)
        (target / "deep").chmod(0o500)
    assert list(tmp_path.iterdir()) == []


def test_scratch_removed_when_the_block_raises(tmp_path):
    with pytest.raises(KeyboardInterrupt), private_scratch(tmp_path, "b", 0):
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_scratch_refuses_without_space(tmp_path):
    with pytest.raises(ScratchError, match="MB free"), private_scratch(tmp_path, "b", 10**18):
        pass
    with pytest.raises(ScratchError, match="create it"):
        with private_scratch(tmp_path / "nope", "b", 0):
            pass


def test_sweep_removes_directories_of_dead_runs_only(tmp_path):
    dead = tmp_path / f"{PREFIX}clerk-share-999999-abc_12"
    alive = tmp_path / f"{PREFIX}clerk-share-{os.getpid()}-xyz"
    other = tmp_path / "someone-else"
    for d in (dead, alive, other):
        (d / "x").mkdir(parents=True)
    assert sweep_stale(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])


# -- config and environment ---------------------------------------------------------------------

def params(**extra) -> BackupParams:
    return BackupParams(**{"id": "b", "service": "s", "repository": "/r",
                           "password_file": "/p"} | extra)


def test_params_defaults_and_validation():
    p = params()
    assert p.schedule == "0 3 * * sun" and p.read_data_subsets == 12 and p.sample.files == 50
    assert params(schedule="0  4 * *  sun").schedule == "0 4 * * sun"
    with pytest.raises(ValidationError, match="cron expression of five fields"):
        params(schedule="weekly")
    with pytest.raises(ValidationError, match="exactly one of password_file or"):
        params(password_command="pass show restic")
    with pytest.raises(ValidationError, match="exactly one of password_file or"):
        BackupParams(id="b", service="s", repository="/r")
    assert params(canary_max_age="2d").canary_max_age == 172800


def test_restic_environment_is_clean_and_secret_free(tmp_path):
    env_file = tmp_path / "s3.env"
    env_file.write_text("# keys\nexport AWS_ACCESS_KEY_ID=AKIA\nAWS_SECRET_ACCESS_KEY='s3cr'\n")
    assert read_env_file(str(env_file)) == {"AWS_ACCESS_KEY_ID": "AKIA",
                                            "AWS_SECRET_ACCESS_KEY": "s3cr"}
    p = params(environment_files=[str(env_file)], repository="rest:https://u:pw@h/r")
    env = restic_environment(p, tmp_path / "c", tmp_path / "t",
                             {"PATH": "/bin", "RESTIC_PASSWORD": "leak", "HOME": "/h"})
    assert "RESTIC_PASSWORD" not in env
    assert env["RESTIC_PASSWORD_FILE"] == "/p" and env["RESTIC_REPOSITORY"].startswith("rest:")
    assert env["RESTIC_CACHE_DIR"] == str(tmp_path / "c") and env["AWS_ACCESS_KEY_ID"] == "AKIA"


# -- store --------------------------------------------------------------------------------------

def test_store_records_runs_and_state():
    from muni_watchdog.daemon.restore_tests import report_row
    store = Store.memory()
    assert store.restore_test_state("b") is None
    report = RestoreTestReport("b", "s", NOW, files=3, verified=3)
    report.add(State.WARNING, "old snapshot")
    state = BackupState(subset_next=4, sample_seed="x")
    store.record_restore_test(report_row(report), state.as_dict())
    store.record_restore_test(report_row(report), state.as_dict() | {"subset_next": 5})
    assert store.restore_test_state("b")["subset_next"] == 5
    rows = store.restore_tests("b")
    assert len(rows) == 2 and rows[0]["verdict"] == 1 and rows[0]["files"] == 3
    assert json.loads(rows[0]["problems"]) == ["old snapshot"]
    assert json.loads(rows[0]["report"])["verdict"] == "warning"


