"""muni-watchdog installs as one import package, ``muni_watchdog``, beside any other Python
software: the wheel holds no top-level ``watchdog``, ``checks``, ``alerts`` or ``backup_tests``
(``watchdog`` is PyPI's filesystem-events library, which used to be overwritten), and the
editable install of the source tree resolves the same names to the four folders."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"muni_watchdog": "watchdog", "muni_watchdog.checks": "checks",
           "muni_watchdog.backup_tests": "backup_tests", "muni_watchdog.alerts": "alerts"}
# pip's cache survives between runs (and is shared with scripts/build-deb.sh).
PIP_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"),
                 "muni-watchdog-build", "pip")


def tracked_files(folder: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             folder], capture_output=True, text=True, cwd=ROOT, check=True)
    return [Path(name) for name in listed.stdout.split() if (ROOT / name).is_file()]


def installed_path(source: Path) -> str:
    """Where a file of the source tree lands in the installed package."""
    folder = source.parts[0]
    package = next(p for p, f in FOLDERS.items() if f == folder)
    return "/".join([*package.split("."), *source.parts[1:]])


def test_the_editable_install_resolves_the_mapped_packages_to_the_folders():
    import muni_watchdog
    if Path(muni_watchdog.__file__).resolve().parent != ROOT / "watchdog":
        pytest.skip("muni_watchdog is not installed from this tree in editable mode")
    for package, folder in FOLDERS.items():
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None, package
        assert Path(spec.origin).resolve() == ROOT / folder / "__init__.py", package
    # deeper modules follow their package's folder
    spec = importlib.util.find_spec("muni_watchdog.checks.snmp.traps")
    assert Path(spec.origin).resolve() == ROOT / "checks" / "snmp" / "traps.py"


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    out = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                         cwd=cwd, timeout=timeout,
                         env={**os.environ, "PIP_CACHE_DIR": str(PIP_CACHE),
                              "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"})
    assert out.returncode == 0, f"{command}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built with ``pip wheel --no-deps`` from a copy of the source as committed or
    about to be (as scripts/build-deb.sh does)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    for name in tracked_files("."):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", source,
        cwd=work)
    [built] = (work / "dist").glob("muni_watchdog-*.whl")
    return built


@pytest.mark.wheel
def test_the_wheel_holds_one_package_with_every_file_of_the_four_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"muni_watchdog", f"{wheel.name.split('-')[0]}-"
                   f"{wheel.name.split('-')[1]}.dist-info"}, top
    assert not top & {"watchdog", "checks", "alerts", "backup_tests"}
    wanted = {installed_path(f) for folder in FOLDERS.values() for f in tracked_files(folder)}
    assert "muni_watchdog/py.typed" in wanted
    assert wanted <= set(names), sorted(wanted - set(names))


@pytest.mark.wheel
def test_the_wheel_installs_beside_pypis_watchdog_and_outlives_it(wheel, tmp_path):
    """In a fresh virtual environment: our wheel and PyPI's ``watchdog`` (its dependencies
    from PyPI) both work; uninstalling ``watchdog`` leaves muni-watchdog working."""
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, pip = venv / "bin" / "python", venv / "bin" / "pip"
    run(pip, "install", "-q", "watchdog", wheel, cwd=tmp_path)   # not from the source tree
    assert run(venv / "bin" / "muni-watchdog", "version", cwd=tmp_path).strip() == \
        "muni-watchdog 0.1.0"
    both = run(python, "-c", "import watchdog, watchdog.observers, muni_watchdog; "
               "print(watchdog.__file__); print(muni_watchdog.__file__)", cwd=tmp_path)
    theirs, ours = both.split()
    assert theirs.endswith("site-packages/watchdog/__init__.py")
    assert ours.endswith("site-packages/muni_watchdog/__init__.py")

    run(pip, "uninstall", "-q", "-y", "watchdog", cwd=tmp_path)
    assert run(venv / "bin" / "muni-watchdog", "version", cwd=tmp_path).strip() == \
        "muni-watchdog 0.1.0"
    assert run(python, "-m", "muni_watchdog", "version", cwd=tmp_path).strip() == \
        "muni-watchdog 0.1.0"
    # every module still imports (the CLI and the daemon pull in all of them) ...
    run(python, "-c", "import muni_watchdog.cli.main, muni_watchdog.daemon.service", cwd=tmp_path)
    run(venv / "bin" / "muni-watchdog", "validate", "--no-secrets", "-c",
        ROOT / "etc" / "muni-watchdog.example.yaml", cwd=tmp_path)
    # ... and none of them was PyPI's watchdog in disguise
    gone = subprocess.run([python, "-c", "import watchdog"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert gone.returncode != 0 and "ModuleNotFoundError" in gone.stderr
