"""The network page: the diagram ``muni-watchdog topology --svg`` draws, the links with their
first and last seen, and the devices seen but not monitored with their ``discover`` line —
built by the very functions the command uses (:mod:`muni_watchdog.reports.network`,
:mod:`muni_watchdog.reports.topology_render`), so the console and the CLI cannot drift.
``/network/assessment`` (on-call and admin) is ``report assessment``'s document, built on
request.

Why the diagram is an ``<img src="/network.svg">`` and not inline: the SVG carries names the
devices advertise over LLDP/CDP — anyone who can plug a box in chooses them. Graphviz escapes
them, and on top of that an SVG shown through ``<img>`` never runs script, and the SVG route
itself answers with a CSP that forbids every script (and sandboxes it) for a reader who opens
it directly.

Graphviz runs in a worker thread with its timeout, never on the daemon's loop. Its SVG is kept
for :data:`MAX_AGE` seconds while the DOT text is the same (the DOT is all the drawing depends
on: a neighbour run that changes nothing but "last seen" costs no redraw), and one drawing in
progress is shared by every request that wants it (the page and its image arrive together).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from muni_watchdog.reports.assessment_files import assessment_html
from muni_watchdog.reports.network import network_topology, topology_json
from muni_watchdog.reports.topology_render import TopologyError, render_svg, to_dot
from muni_watchdog.web.pages.reports import REPORT_CSP
from muni_watchdog.web.registry import Registry

MAX_AGE = 60.0
# The SVG opened on its own: Graphviz's markup only (inline style attributes), nothing that runs.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
NO_DEVICES = ("No devices in the state database yet: the SNMP targets' system and neighbors "
              "checks fill it (neighbors runs every 6 hours).")


def register(site: Registry) -> None:
    site.page("/network", network_page, nav="Network")
    site.page("/network.svg", network_svg)
    site.page("/network/assessment", assessment_page, role="oncall")


@dataclass
class Drawing:
    key: str
    started: float
    task: asyncio.Future      # (svg or None, error or None)


def _draw(dot: str) -> tuple[str | None, str | None]:
    try:
        return render_svg(dot), None
    except TopologyError as exc:
        return None, str(exc)
    except OSError as exc:          # e.g. dot not executable: said on the page, not a 500
        return None, f"Graphviz could not be run: {exc}"


async def drawing(console, dot: str) -> tuple[str | None, str | None]:
    """The SVG of ``dot`` (or why there is none), drawn in a worker thread at most once per
    :data:`MAX_AGE` seconds for the same DOT text."""
    key = hashlib.sha256(dot.encode("utf-8")).hexdigest()
    cached: Drawing | None = console.network_cache
    now = time.monotonic()
    if cached is None or cached.key != key or now - cached.started >= MAX_AGE:
        cached = Drawing(key, now, asyncio.ensure_future(asyncio.to_thread(_draw, dot)))
        console.network_cache = cached
    # shielded: a reader who goes away does not cancel the drawing the others wait for
    return await asyncio.shield(cached.task)


def _topology(console):
    hosts = {t.id: t.host for t in console.config.targets}
    return network_topology(console.store.current_states(), hosts)


async def network_page(request, console) -> web.StreamResponse:
    topology = _topology(console)
    data = topology_json(topology, console.store.links())
    names = {n["id"]: n["name"] for n in data["nodes"]}
    monitored = sorted((n for n in data["nodes"] if n["monitored"]),
                       key=lambda n: (n["class"], n["name"]))
    svg, error = (None, None)
    if monitored:
        svg, error = await drawing(console, to_dot(topology))
    links = [{"device": names[e["a"]], "port": e["a_port"], "neighbour": names[e["b"]],
              "its_port": e["b_port"], "protocols": e["protocols"],
              "first_seen": e["first_seen"], "last_seen": e["last_seen"]}
             for e in data["edges"]]
    unmonitored = [{**u, "where": ", ".join(f"{names.get(s['device'], s['device'])} "
                                            f"{s['port']}" for s in u["seen_from"])}
                   for u in data["unmonitored"]]
    return console.render(request, "network.html", title="Network", devices=monitored,
                          links=links, unmonitored=unmonitored, drawn=svg is not None,
                          error=error, no_devices=NO_DEVICES)


async def network_svg(request, console) -> web.StreamResponse:
    topology = _topology(console)
    if not any(n.monitored for n in topology.nodes.values()):
        return console.message(request, 404, "No diagram", NO_DEVICES)
    svg, error = await drawing(console, to_dot(topology))
    if svg is None:
        return console.message(request, 503, "No diagram", f"The diagram cannot be drawn: "
                               f"{error}")
    return web.Response(text=svg, content_type="image/svg+xml", charset="utf-8",
                        headers={"Content-Security-Policy": SVG_CSP,
                                 "Content-Disposition": 'inline; filename="network.svg"'})


def _assessment(state_dir, config, now: datetime) -> str:
    """``report assessment``'s HTML, from a read-only connection of this worker thread (the
    daemon's connection belongs to the loop's thread)."""
    from muni_watchdog.store.database import Store
    store = Store.open(state_dir, readonly=True)
    try:
        return assessment_html(store, config, now)
    finally:
        store.close()


async def assessment_page(request, console) -> web.StreamResponse:
    page: Any = await asyncio.to_thread(_assessment, console.state_dir, console.config,
                                        console.clock())
    day = console.local(console.clock(), "%Y-%m-%d")
    # our own document (every value escaped when rendered), in a sandbox that runs nothing
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": REPORT_CSP,
        "Content-Disposition": f'inline; filename="assessment-{day}.html"'})
