"""The import direction of STYLE.md, enforced by import-linter's contracts in pyproject.toml."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    out = subprocess.run([sys.executable, "scripts/lint_imports.py", "--no-cache"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 3 kept, 0 broken." in out.stdout


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
