"""``/metrics`` on the console's port when ``reports.metrics`` is on: one port to open. The
scrape reads the state database through its own read-only connection in a worker thread (as
the stand-alone endpoint does), so it never blocks the daemon's loop."""

from __future__ import annotations

import asyncio

from aiohttp import web

from muni_watchdog.web.registry import Registry


def register(site: Registry) -> None:
    site.api("/metrics", metrics, role=None)


async def metrics(request, console) -> web.StreamResponse:
    from prometheus_client.exposition import choose_encoder

    from muni_watchdog.reports.metrics import registry_for, store_snapshot
    if console.config.reports.metrics is None:
        return console.message(request, 404, "Not found", "/metrics is off: set "
                               "reports.metrics in the configuration to turn it on.")
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    registry = registry_for(store_snapshot(str(console.state_dir), console.config))
    body = await asyncio.to_thread(encoder, registry)
    return web.Response(body=body, headers={"Content-Type": content_type})
