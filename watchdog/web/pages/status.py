"""The residents' status page served live, without login: ``/status`` (index.html) and
``/status.json``, the very files ``muni-watchdog status-page export`` writes
(:func:`muni_watchdog.reports.status_export.status_page_files`), so the console and the
export cannot drift. Only when ``reports.status_page`` is configured (404 otherwise).

This is the one part of the console meant to face the internet through the reverse proxy
(``location = /status``), so it is built for it: GET only (a POST is refused before it
reaches anything), nothing of the session is read or shown, the console's headers (no
framing, no script: the page has none, only its own inline style), a public
``Cache-Control`` of 30 s (the page refreshes itself every 60 s), and the two files are
built at most once per 30 s while nothing in the database changed, so a flood of readers
costs the daemon's loop one render, not one per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiohttp import web

from muni_watchdog.reports.status_export import status_page_files
from muni_watchdog.web.registry import Registry

MAX_AGE = 30
# Our own self-contained page (every value escaped): its inline <style> and style attributes,
# nothing else — no script, no fetch, no form, no frame around it.
PUBLIC_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
TYPES = {"index.html": "text/html", "status.json": "application/json"}


def register(site: Registry) -> None:
    site.page("/status", public_status, role=None, nav="Public status page",
              nav_when=configured)
    site.page("/status.json", public_status_json, role=None)


def configured(config) -> bool:
    return config.reports.status_page is not None


@dataclass
class Cached:
    key: tuple
    built: float
    files: dict[str, str]


async def public_status(request, console) -> web.StreamResponse:
    return _serve(request, console, "index.html")


async def public_status_json(request, console) -> web.StreamResponse:
    return _serve(request, console, "status.json")


def _serve(request, console, name: str) -> web.StreamResponse:
    if not configured(console.config):
        return console.message(request, 404, "Not found",
                               f"There is no page at {request.path}.")
    return web.Response(text=_files(console)[name], content_type=TYPES[name], charset="utf-8",
                        headers={"Content-Security-Policy": PUBLIC_CSP,
                                 "Cache-Control": f"public, max-age={MAX_AGE}"})


def _files(console) -> dict[str, str]:
    """The two files, rebuilt when the database or the configuration changed or after
    MAX_AGE seconds (the page's own times: "since", "updated at")."""
    key = (id(console.config), console.store.changes())
    cached: Cached | None = console.status_cache
    now = time.monotonic()
    if cached is None or cached.key != key or now - cached.built >= MAX_AGE:
        cached = Cached(key, now, status_page_files(console.store, console.config,
                                                    console.clock()))
        console.status_cache = cached
    return cached.files
