"""Hostile and broken YAML: every file gets ``FILE:LINE: message`` and exit 2, never a
traceback. A seeded fuzz loop (random bytes, YAML token soup, mutations of the example
configuration) holds the whole class to that, not only the inputs listed here."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from muni_watchdog.cli.main import main
from muni_watchdog.config.loading import ConfigError, load_config, parse_config
from muni_watchdog.config.yamlsource import MAX_DEPTH, MAX_VALUES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = (ROOT / "etc" / "muni-watchdog.example.yaml").read_text()
ISSUE = re.compile(r"^town\.yaml:\d+: \S")

BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
    for i in range(7))

# (file content, line the error must name, words the message must contain)
HOSTILE = [
    ("site: !foo x\n", 1, "the tag !foo is not supported"),
    ("site:\n  name: !!python/name:os.system x\n", 2, "tag !!python/name:os.system"),
    ("site: !!python/object/apply:os.system [echo hi]\n", 1, "tag !!python/object/apply"),
    ("site:\n  name: !!bool maybe\n", 2, "'maybe' is not a valid bool"),
    ("site:\n  name: !!int abc\n", 2, "'abc' is not a valid int"),
    ("site:\n  name: !!float x\n", 2, "'x' is not a valid float"),
    ("site:\n  name: !!binary '@@@'\n", 2, "tag !!binary is not supported"),
    ("site:\n  name: !!binary aGVsbG8=\n", 2, "tag !!binary is not supported"),
    ("site: !!set {a, b}\n", 1, "tag !!set is not supported"),
    ("site: !!omap [a: 1]\n", 1, "tag !!omap is not supported"),
    ("site: !!map [a, b]\n", 1, "tag !!map is not supported"),
    ("site:\n  name: 2024-13-45\n", 2, "'2024-13-45' is not a valid timestamp; quote it"),
    ("site: {name: x}\n? [a, b]\n: 1\n", 2, "mapping keys must be plain names"),
    ("site: {name: x}\n? {a: 1}\n: 1\n", 2, "mapping keys must be plain names"),
    ("site: &a [*a]\n", 1, "YAML anchors (&a) are not supported"),
    ("site: {name: x}\nservices: *nowhere\n", 2, "YAML aliases (*nowhere) are not supported"),
    (BILLION_LAUGHS, 1, "YAML anchors (&a) are not supported"),
    ("site:\n  <<: {name: x}\n", 2, "merge keys (<<) are not supported"),
    ("site: " + "[" * 600 + "]" * 600 + "\n", 1, f"nested more than {MAX_DEPTH} levels"),
    ("site:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 520)), MAX_DEPTH + 1,
     "nested more than"),
    ("site:\n  name: " + "9" * 5000 + "\n", 2, "more than 4,300 digits"),
    ("site:\n  name: x\x00\n", 2, "character U+0000 is not allowed"),
    ("site:\n  name: 'x\x07'\n", 2, "character U+0007 is not allowed"),
    ("site:\n  name: x\x9b\n", 2, "character U+009B is not allowed"),  # C1 (CSI)
    ("site:\n  name: x\x1b[31m\n", 2, "character U+001B is not allowed"),
    ("site:\n  name: x\n---\nsite: y\n", 3, "a second YAML document"),
    ("site:\n\tname: x\n", 2, "a tab: YAML is indented with spaces only"),
    ("targets: [" + ", ".join(["x"] * (MAX_VALUES + 1)) + "]\n", 1,
     f"more than {MAX_VALUES:,} values"),
]


@pytest.mark.parametrize("text, line, words", HOSTILE,
                         ids=[f"{i}-{t[:20]!r}" for i, (t, _, _) in enumerate(HOSTILE)])
def test_hostile_yaml_is_an_error_with_its_line(tmp_path, capsys, text, line, words):
    path = tmp_path / "town.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:{line}: "), err
    assert words in first, err
    assert "Traceback" not in err


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path, capsys):
    path = tmp_path / "town.yaml"
    with path.open("w") as file:
        file.write("site: {name: x}\n# " + "x" * (64 * 1024 * 1024) + "\n")  # 64 MiB
    assert main(["validate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:1: the file is larger than 1 MiB" in err


def test_not_utf8_names_the_line(tmp_path, capsys):
    path = tmp_path / "town.yaml"
    path.write_bytes(b"site:\n  name: caf\xe9\n")
    assert main(["validate", "-c", str(path)]) == 2
    assert f"{path}:2: not UTF-8 text (byte 0xe9)" in capsys.readouterr().err


def test_explicit_core_tags_still_work():
    config = parse_config("site: {name: !!str 2024}\nservices: !!seq []\n", "town.yaml",
                          check_secrets=False)
    assert config.site.name == "2024"


def test_the_validate_command_never_shows_a_traceback(tmp_path):
    """The real entry point, as ExecStartPre= runs it: stderr holds the error lines only."""
    for text in ("site: !!python/object/apply:os.system [echo hi]\n", BILLION_LAUGHS,
                 "site:\n  name: x\x00\n"):
        path = tmp_path / "town.yaml"
        path.write_text(text, encoding="utf-8")
        out = subprocess.run([sys.executable, "-m", "muni_watchdog", "validate", "-c",
                              str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr
        assert [line.split(": ")[0] for line in out.stderr.splitlines()] == [
            f"{path}:1" if text != "site:\n  name: x\x00\n" else f"{path}:2", str(path)]


# -- fuzz --------------------------------------------------------------------------------------

TOKENS = ["- ", ": ", "[", "]", "{", "}", ", ", "&a ", "*a", "!!int ", "!!bool ", "!foo ",
          "!!binary ", "!!python/name:os.system ", "? ", "\n", "\n  ", "  ", "'", '"', "# c",
          "|\n", ">-\n", "---\n", "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "site", "name",
          "targets", "services", "id", "kind", "host", "checks", "interval", "1s",
          "99999999999d", "9" * 4400, "\x00", "\x85", "\x9b", "\t", "<<", "~", "null", "yes",
          "1e400", "-.inf", ".nan", "0x1F", "0o7", "2024-01-01", "2024-02-30", "\\x00",
          "\"\\u0000\"", "\ufeff", "\u2028", "é", "\U0001F600", "\ud800"]

VALUES = ["", "~", "[]", "{}", "[a, b]", "{x: 1}", "99999999999d", "1e400", "-1", "0",
          "!!int abc", "&x 1", "*x", "true", "0x10", "2024-01-01", "9" * 4400, "? a",
          "'\\x00'", "\"\\x85\"", "[[[]]]", "{site: 1}", "-", "!foo", "!!binary AAAA", ".inf",
          "1h30", "5 minutes", "1000000w", "{check: nope}", "[{}]", "a: b: c", "|\n  x",
          "- - - x", "{ssh: {user: x, key_file: /nope}}", "{snmp: {version: 9}}"]


def _mutate(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        how = rng.randrange(6)
        if how == 0 and ": " in lines[i]:
            head = lines[i].split(": ", 1)[0]
            lines[i] = f"{head}: {rng.choice(VALUES)}"
        elif how == 1:
            del lines[i]
        elif how == 2:
            lines.insert(i, lines[i])
        elif how == 3:
            lines[i] = " " * rng.randint(0, 6) + lines[i].lstrip()
        elif how == 4:
            lines[i] += "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 3)))
        else:
            lines[i] = lines[i].replace("-", rng.choice(["", "- -", "?"]), 1)
    return "\n".join(lines) + "\n"


ODD_VALUES = [5, -1, 0, 1.5, True, None, "", "x", "99999999999d", [], [1], [[1]], {}, {"a": 1},
              {"id": [1]}, [{"x": 1}], ["x", 5], "web", "oncall-email"]


def _mutate_data(rng: random.Random, data):
    """Replace a few random values anywhere in the tree with values of other types."""
    for _ in range(rng.randint(1, 3)):
        node, key = None, None
        current = data
        while isinstance(current, dict | list) and current and (node is None or
                                                                rng.random() < 0.75):
            keys = list(current) if isinstance(current, dict) else list(range(len(current)))
            node, key = current, rng.choice(keys)
            current = current[key]
        if node is not None:
            node[key] = rng.choice(ODD_VALUES)
    return data


def _only_config_errors(text: str) -> None:
    try:
        parse_config(text, "town.yaml", check_secrets=False)
    except ConfigError as exc:
        for issue in exc.issues:
            assert ISSUE.match(str(issue)), str(issue)
            assert "internal error" not in str(issue), (str(issue), text)


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_token_soup_gives_config_errors_only(seed):
    rng = random.Random(seed)
    for _ in range(150):
        _only_config_errors("".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 40))))


@pytest.mark.parametrize("seed", range(4))
def test_fuzz_mutated_example_gives_config_errors_only(seed):
    rng = random.Random(1000 + seed)
    for _ in range(100):
        _only_config_errors(_mutate(rng, EXAMPLE))


@pytest.mark.parametrize("seed", range(2))
def test_fuzz_values_of_the_wrong_type_give_config_errors_only(seed):
    """The cross-reference pass reads raw data before the types are known: a list where an id
    belongs, a number where a list belongs, must each be an error with its line."""
    rng = random.Random(2000 + seed)
    for _ in range(150):
        data = _mutate_data(rng, yaml.safe_load(EXAMPLE))
        _only_config_errors(yaml.safe_dump(data, sort_keys=False))


def test_fuzz_random_bytes_give_config_errors_only(tmp_path):
    rng = random.Random(7)
    path = tmp_path / "town.yaml"
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        if rng.random() < 0.5:  # mostly-valid UTF-8 reaches the parser more often
            data = data.decode("latin-1").encode("utf-8")
        path.write_bytes(data)
        try:
            load_config(path, check_secrets=False)
        except ConfigError as exc:
            for issue in exc.issues:
                assert str(issue).startswith(f"{path}:"), str(issue)
                assert "internal error" not in str(issue)


def test_thousands_of_errors_are_cut_to_the_first_hundred():
    with pytest.raises(ConfigError) as exc:
        parse_config("site: {name: x}\ntargets: [" + ",".join(["x"] * 5000) + "]\n",
                     "town.yaml", check_secrets=False)
    issues = [str(i) for i in exc.value.issues]
    assert len(issues) == 101
    assert issues[0] == "town.yaml:2: targets[0]: expected a mapping of keys and values here, " \
        "got 'x'"
    assert issues[-1] == "town.yaml:2: 4900 more errors from here on are not shown; fix the " \
        "ones above first"
