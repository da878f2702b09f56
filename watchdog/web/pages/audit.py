"""The audit log, read-only, newest first, with the hash chain's verification result (as
``muni-watchdog audit verify``)."""

from __future__ import annotations

import json

from aiohttp import web

from muni_watchdog.web.registry import Registry


def register(site: Registry) -> None:
    site.page("/audit", audit_page, nav="Audit")


async def audit_page(request, console) -> web.StreamResponse:
    ok, verdict = console.store.verify_audit()
    entries = [{**r, "data": json.loads(r["data"] or "{}")}
               for r in reversed(console.store.audit_entries())]
    return console.render(request, "audit.html", title="Audit log", entries=entries,
                          chain_ok=ok, verdict=verdict)
