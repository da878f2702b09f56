"""Run import-linter on ``muni_watchdog`` as it is installed.

    .venv/bin/python scripts/lint_imports.py [lint-imports options]

import-linter reads a package from one directory tree, while ``muni_watchdog`` is laid out in
four folders that setup.py maps into it (``watchdog/``, ``checks/``, ``backup_tests/``,
``alerts/``). This lays them out as the wheel does, in a temporary directory placed first on
the path, and runs ``lint-imports`` (the contracts in pyproject.toml) on that tree.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def folders() -> dict[str, str]:
    """setup.py's FOLDERS: import package -> source folder."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FOLDERS":
            return ast.literal_eval(node.value)
    raise SystemExit("setup.py has no FOLDERS mapping")


def lay_out(into: Path) -> None:
    """Copy the Python files of each folder to its place in the installed package."""
    for package, folder in sorted(folders().items()):
        destination = into.joinpath(*package.split("."))
        for source in (ROOT / folder).rglob("*.py"):
            if "__pycache__" not in source.parts:
                target = destination / source.relative_to(ROOT / folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


def main(argv: list[str]) -> int:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    with tempfile.TemporaryDirectory(prefix="lint-imports-") as tmp:
        lay_out(Path(tmp))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [tmp, *filter(None, [os.environ.get("PYTHONPATH")])])}
        return subprocess.run([lint, "--config", str(ROOT / "pyproject.toml"), *argv],
                              cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
