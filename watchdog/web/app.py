"""The console application: one aiohttp app on the daemon's event loop, sharing the daemon's
state database connection (handlers run on the loop thread, between the daemon's own steps).

Why aiohttp and Jinja2: aiohttp is a mature asyncio HTTP server (aio-libs, released
continually) that runs on the loop the daemon already has, so there is no second thread or
process and no WSGI bridge; Jinja2 escapes every value by default. Security on every request:
a session from a signed cookie, POSTs only from the console's own origin, the CSRF token of
the session on every logged-in form, and headers that forbid framing, inline scripts and
referrers (:func:`headers_middleware`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

from aiohttp import web

from muni_watchdog.web.auth import SESSION_COOKIE, csrf_ok, read_session, same_origin
from muni_watchdog.web.console import Console, redirect
from muni_watchdog.web.registry import Route, allows

log = logging.getLogger("muni-watchdog")
HERE = Path(__file__).resolve().parent
CONSOLE: web.AppKey[Console] = web.AppKey("console")
MAX_FORM_BYTES = 64 * 1024
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


# -- middlewares ----------------------------------------------------------------------------

@web.middleware
async def headers_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        console = request.app[CONSOLE]
        if exc.status == 404 and not request.path.startswith("/static/"):
            response = console.message(request, 404, "Not found",
                                       f"There is no page at {request.path}.")
        elif exc.status == 405:     # e.g. a POST to the public status page: with our headers
            response = console.message(request, 405, "Not allowed", f"{request.path} is "
                                       f"only read ({exc.headers.get('Allow', 'GET')}); "
                                       "nothing was changed.")
            response.headers["Allow"] = exc.headers.get("Allow", "GET")
        else:
            raise
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Acknowledge links carry their token in the path: never sent on to another site.
    # (same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the
    # console's own forms, and they would be refused as cross-site.)
    response.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith("/static/"):     # the public status page: its own
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def session_middleware(request: web.Request, handler) -> web.StreamResponse:
    console = request.app[CONSOLE]
    request["session"] = read_session(console.key, console.web,
                                      request.cookies.get(SESSION_COOKIE), time.time())
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin(
            request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"),
            console.allowed_origins(request)):
        log.warning("web: refused a %s %s from another origin (%s)", request.method,
                    request.path, request.headers.get("Origin"))
        return console.message(request, 403, "Refused",
                               "This form was sent from another site; nothing was changed.")
    return await handler(request)


def _wrap(route: Route) -> Callable:
    async def handle(request: web.Request) -> web.StreamResponse:
        console = request.app[CONSOLE]
        session = console.session(request)
        role = session.user.role if session else None
        if route.role is not None and session is None:
            if route.method == "GET" and route.kind == "page":
                return redirect(f"/login?next={quote(request.path_qs, safe='/?=&')}")
            return console.message(request, 401 if route.kind == "api" else 403,
                                   "Log in first", "You are not logged in; nothing was "
                                   "changed.")
        if not allows(role, route.role):
            return console.message(request, 403, "Not allowed", f"This needs the "
                                   f"{route.role} role; you are {role}. Nothing was changed.")
        if route.method == "POST" and route.role is not None and route.csrf:
            form = await request.post()
            if not csrf_ok(console.key, session.sid if session else None, form.get("csrf")):
                return console.message(request, 403, "Refused", "The form's security token "
                                       "is missing or wrong (reload the page and try again); "
                                       "nothing was changed.")
        return await route.handler(request, console)
    return handle


def build_app(console: Console, extensions: Iterable[ModuleType] = ()) -> web.Application:
    """The aiohttp application of ``console``, with its pages and any ``extensions`` (modules
    with ``register(registry)``) registered before it is built."""
    from muni_watchdog.web.pages import PAGE_MODULES
    registry = console.registry
    for module in [*PAGE_MODULES, *extensions]:
        module.register(registry)
    console.load_templates()  # with the extensions' folders
    app = web.Application(middlewares=[headers_middleware, session_middleware],
                          client_max_size=MAX_FORM_BYTES)
    app[CONSOLE] = console
    for route in registry.routes:
        app.router.add_route(route.method, route.path, _wrap(route))
        if route.method == "GET" and route.role is None:
            # public pages answer HEAD as well (uptime monitors, proxies): the GET without body
            app.router.add_route("HEAD", route.path, _wrap(route))
    app.router.add_static("/static", HERE / "static", append_version=True)
    return app
