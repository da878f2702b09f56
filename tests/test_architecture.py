"""The import direction of STYLE.md, enforced by import-linter's contracts in pyproject.toml,
and the one import package: nothing imports the folders by their own names."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# STYLE.md "Layers", top to bottom (the web console sits between the daemon that serves
# it and what it shows); "|": side by side, independent of each other.
LAYERS = ["cli", "daemon", "web", "alerting | reports", "store | config",
          "checks | backup_tests | alerts", "core"]
CONTRACTS = {
    "layers": "layers",
    "core-alone": "forbidden",
    "work-imports-core-only": "forbidden",
    "work-independent": "independence",
    "store-imports-core-only": "forbidden",
    "sql-in-store": "forbidden",
    "scheduler-in-daemon": "forbidden",
    "no-cycles": "acyclic_siblings",
}


def contracts() -> list[dict]:
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["tool"]["importlinter"]["contracts"]


def test_the_layers_and_their_rules_are_stated_as_contracts():
    """A contract dropped or loosened (a layer missing, cycles allowed) fails here, not
    silently in lint-imports' count."""
    found = {c.get("id"): c for c in contracts()}
    assert {key: found[key]["type"] for key in CONTRACTS if key in found} == CONTRACTS
    layers = found["layers"]
    assert layers["layers"] == LAYERS
    assert layers["containers"] == ["muni_watchdog"] and layers["exhaustive"] is True
    assert found["no-cycles"]["ancestors"] == ["muni_watchdog"]
    assert found["work-independent"]["modules"] == [
        "muni_watchdog.checks", "muni_watchdog.backup_tests", "muni_watchdog.alerts"]
    for key in ("core-alone", "work-imports-core-only", "store-imports-core-only"):
        assert not found[key].get("allow_indirect_imports"), key
        assert not found[key].get("ignore_imports"), key


def test_import_contracts_hold():
    out = subprocess.run([sys.executable, "scripts/lint_imports.py", "--no-cache"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken." in out.stdout, out.stdout


# The folders watchdog/, checks/, backup_tests/ and alerts/ install as muni_watchdog (setup.py).
FOLDER_NAMES = ("watchdog", "checks", "backup_tests", "alerts")
MODULE_PATH = re.compile(r"(watchdog|checks|backup_tests|alerts)(\.[a-z_0-9]+)+")
FILE_SUFFIXES = ("yaml", "yml", "json", "toml", "db", "log", "txt", "html", "md", "py")


def python_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "*.py"], capture_output=True, text=True, cwd=ROOT, check=True)
    return [ROOT / name for name in listed.stdout.split() if (ROOT / name).exists()]


def test_no_file_imports_the_folders_by_their_own_names():
    """``import watchdog`` would find the folder (or PyPI's watchdog), not our package, and
    a module path in a string (``-m watchdog.cli``, a monkeypatch target) would too."""
    found = []
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and MODULE_PATH.fullmatch(node.value) \
                    and node.value.rsplit(".", 1)[1] not in FILE_SUFFIXES:
                names = [node.value]
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names
                      if name.split(".")[0] in FOLDER_NAMES]
    assert not found, "use muni_watchdog.…:\n" + "\n".join(found)


def test_a_folder_imported_by_its_own_name_refuses_to_load():
    """With the repository root on sys.path, ``import checks`` would load a second copy of
    every module (classes that are not the installed ones); it fails at once instead."""
    for name in FOLDER_NAMES:
        out = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
        assert out.returncode != 0
        assert "ImportError: import muni_watchdog" in out.stderr and f"not {name}" in \
            out.stderr, out.stderr
