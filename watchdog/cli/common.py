"""What the command modules share: the -c/--state-dir options, loading the configuration or
printing why not, opening the state database, and printing a table."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from muni_watchdog.config.loading import DEFAULT_CONFIG, ConfigError, load_config
from muni_watchdog.core.when import WhenError, parse_when  # noqa: F401 (the commands' import)
from muni_watchdog.store.daemon_state import CONFIG_PATH_KEY
from muni_watchdog.store.database import DB_NAME, Store

EXIT_INVALID_CONFIG = 2


def default_state_dir() -> str:
    # systemd sets $STATE_DIRECTORY from StateDirectory= (colon-separated if several).
    return os.environ.get("STATE_DIRECTORY", "/var/lib/muni-watchdog").split(":")[0]


def add_config_option(p: argparse.ArgumentParser, state: bool = False) -> None:
    """``-c/--config``. ``state``: a command that reads or changes the state database, which
    also finds the configuration the daemon of its state directory runs with."""
    if state:
        p.add_argument("-c", "--config", default=None,
                       help="configuration file (default: $MUNI_WATCHDOG_CONFIG, else "
                       f"{DEFAULT_CONFIG}, else the file the daemon of the state directory "
                       "runs with)")
        return
    p.add_argument("-c", "--config", default=os.environ.get("MUNI_WATCHDOG_CONFIG",
                                                            DEFAULT_CONFIG),
                   help=f"configuration file (default: {DEFAULT_CONFIG})")


def config_path(args: argparse.Namespace) -> str:
    """The configuration a state command uses: ``-c``, else $MUNI_WATCHDOG_CONFIG, else the
    default file when it exists, else the file the daemon recorded in the state database of
    ``--state-dir`` when it started; so the ``ack`` command printed in a message works as
    printed on the box."""
    if getattr(args, "config", None):
        return args.config
    if os.environ.get("MUNI_WATCHDOG_CONFIG"):
        return os.environ["MUNI_WATCHDOG_CONFIG"]
    if Path(DEFAULT_CONFIG).exists():
        return DEFAULT_CONFIG
    state_dir = getattr(args, "state_dir", None)
    if state_dir and (Path(state_dir) / DB_NAME).exists():
        try:
            store = Store.open(state_dir, readonly=True)
            try:
                recorded = store.get_state(CONFIG_PATH_KEY)
            finally:
                store.close()
        except (OSError, sqlite3.Error):
            recorded = None
        if recorded:
            return recorded
    return DEFAULT_CONFIG


def add_state_dir_option(p: argparse.ArgumentParser) -> None:
    """``--state-dir``."""
    p.add_argument("--state-dir", default=default_state_dir(),
                   help="state directory holding the database (default: $STATE_DIRECTORY or "
                   "/var/lib/muni-watchdog)")


def load_config_or_report(path: str, check_secrets: bool = True):
    """Load the config, or print every error to stderr and return None (exit 2 then)."""
    try:
        return load_config(path, check_secrets=check_secrets)
    except ConfigError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        n = len(exc.issues)
        print(f"{path}: {n} error{'s' if n != 1 else ''}; nothing was started",
              file=sys.stderr)
        return None


def open_store_for_write(state_dir: str):
    """Open the database to write; as root, act as the database's owner so files that SQLite
    creates (the -wal and -shm files) stay usable by the service user."""
    path = Path(state_dir) / DB_NAME
    if not path.exists():
        raise FileNotFoundError(f"no state database at {path}; has the daemon run with this "
                                "--state-dir?")
    owner = path.stat()
    if os.geteuid() == 0 and owner.st_uid != 0:
        os.setgid(owner.st_gid)
        os.setuid(owner.st_uid)
    return Store.open(state_dir)


def open_config_and_store(args: argparse.Namespace, write: bool = False):
    """The configuration and the state database for a command: ``(None, None)`` when the
    configuration is invalid (its errors printed), ``(config, None)`` when there is no
    database (the reason printed)."""
    config = load_config_or_report(config_path(args), check_secrets=False)
    if config is None:
        return None, None
    try:
        store = open_store_for_write(args.state_dir) if write else \
            Store.open(args.state_dir, readonly=True)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return config, None
    return config, store


def print_table(header: list[str], rows: list[list[str]]) -> None:
    width = 160
    try:
        width = os.get_terminal_size().columns
    except OSError:
        pass
    cols = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        start = "  ".join(str(v).ljust(cols[i]) for i, v in enumerate(row[:-1]))
        last = str(row[-1])
        room = max(20, width - len(start) - 2)
        print(f"{start}  {last if len(last) <= room else last[:room - 1] + '…'}")


def print_or_write(out: str | None, html, text) -> int:
    """A report as text on stdout, or (``--out FILE``) its HTML written to FILE. ``html`` and
    ``text`` are the report's two renderings, called only for the one shown."""
    if out:
        Path(out).write_text(html(), encoding="utf-8")
        print(f"wrote {out}")
    else:
        print(text(), end="")
    return 0


def fail(message: str, code: int = 2) -> int:
    """Print ``message`` to stderr; the exit code to return."""
    print(message, file=sys.stderr)
    return code


def row_time(text: str | None, tz: str) -> str:
    """A stored moment in the site's time, to the minute."""
    if not text:
        return "-"
    return datetime.fromisoformat(text).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def config_and_now(args):
    """The configuration (None when invalid, its errors printed) and the time now."""
    config = load_config_or_report(config_path(args), check_secrets=False)
    if config is None:
        return None, None
    return config, datetime.now(UTC)
