"""Reading the store for the status page, and writing it as static files: the I/O around the
pure page (:mod:`.status_page`, :mod:`.status_render`).

``export_status_page`` writes ``index.html`` and ``status.json`` into a folder, each through a
temporary file in the same folder renamed over the old one, so a web server publishing the
folder never serves half a page. The daemon calls it on ``reports.status_page.every``; the
command line with ``muni-watchdog status-page export DIR``; the console serves the same two
files live at ``/status`` and ``/status.json`` through :func:`status_page_files`.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from muni_watchdog.core.files import write_atomically
from muni_watchdog.reports.history import load_history
from muni_watchdog.reports.status_page import DAYS_SHOWN, StatusPage, build_status_page
from muni_watchdog.reports.status_render import render_status_html, render_status_json

FILES = ("index.html", "status.json")


def load_status_page(store: Any, config: Any, now: datetime) -> StatusPage:
    """Read the last 90 days (and a day more, for the first day's local midnight) once and
    build the page."""
    history = load_history(store, now - timedelta(days=DAYS_SHOWN + 1), now)
    return build_status_page(history, config, now)


def status_page_files(store: Any, config: Any, now: datetime) -> dict[str, str]:
    """The exported files by name (index.html, status.json), as their text: what the export
    writes and what the console serves without login."""
    page = load_status_page(store, config, now)
    return dict(zip(FILES, (render_status_html(page), render_status_json(page)), strict=True))


def export_status_page(store: Any, config: Any, folder: str | Path,
                       now: datetime) -> list[Path]:
    """Write index.html and status.json into ``folder`` (created if missing); returns the
    paths written."""
    folder = Path(folder)
    if not folder.is_dir():
        folder.mkdir(parents=True)
        os.chmod(folder, 0o755)     # the unit's umask is 0077; a web server must read it
    written = []
    for name, text in status_page_files(store, config, now).items():
        write_atomically(folder / name, text)
        written.append(folder / name)
    return written
