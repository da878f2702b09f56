"""The now page: open incidents and every check's hard state — the same data as
``muni-watchdog status --json`` (:func:`muni_watchdog.reports.status.status_report`), which the
page fetches again every few seconds (``/api/now``) without a full reload."""

from __future__ import annotations

from aiohttp import web

from muni_watchdog.reports.status import status_report, worst_state
from muni_watchdog.web.registry import Registry


def register(site: Registry) -> None:
    site.page("/", now_page, nav="Now")
    site.api("/api/now", now_api)


def _report(console) -> dict:
    return status_report(console.store, console.owners(), console.clock())


async def now_page(request, console) -> web.StreamResponse:
    report = _report(console)
    return console.render(request, "now.html", title="Now", report=report,
                          worst=worst_state(report).label)


async def now_api(request, console) -> web.StreamResponse:
    report = _report(console)
    return web.json_response({**report, "worst": worst_state(report).label},
                             headers={"Cache-Control": "no-store"})
