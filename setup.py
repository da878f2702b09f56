"""What pyproject.toml cannot say: the four source folders install as one import package,
``muni_watchdog``, with every sub-package and data file found rather than listed (a new
folder with an ``__init__.py`` ships without an edit here).

    watchdog/      -> muni_watchdog
    checks/        -> muni_watchdog.checks
    backup_tests/  -> muni_watchdog.backup_tests
    alerts/        -> muni_watchdog.alerts
"""

from pathlib import Path

from setuptools import find_packages, setup

FOLDERS = {
    "muni_watchdog": "watchdog",
    "muni_watchdog.checks": "checks",
    "muni_watchdog.backup_tests": "backup_tests",
    "muni_watchdog.alerts": "alerts",
}


def packages_and_data() -> tuple[list[str], dict[str, list[str]]]:
    packages: list[str] = []
    data: dict[str, list[str]] = {}
    for name, folder in FOLDERS.items():
        for sub in ["", *find_packages(folder)]:
            package = f"{name}.{sub}" if sub else name
            path = Path(folder, *sub.split(".")) if sub else Path(folder)
            packages.append(package)
            # py.typed and any data a module reads next to itself (tables, recordings)
            files = sorted(f.name for f in path.iterdir() if f.is_file()
                           and f.suffix not in (".py", ".pyc") and not f.name.startswith("."))
            if files:
                data[package] = files
    return packages, data


PACKAGES, PACKAGE_DATA = packages_and_data()
setup(packages=PACKAGES, package_dir=FOLDERS, package_data=PACKAGE_DATA)
