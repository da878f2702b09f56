"""Logging in and out: the login form (its own CSRF token, bound to a nonce cookie), the
rate limit per address and per user, the session cookie."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from aiohttp import web

from muni_watchdog.web.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    csrf_ok,
    csrf_token,
    session_cookie,
)
from muni_watchdog.web.console import redirect
from muni_watchdog.web.passwords import verify_password
from muni_watchdog.web.registry import Registry

log = logging.getLogger("muni-watchdog")


def register(site: Registry) -> None:
    site.page("/login", login_page, role=None)
    site.action("/login", login, role=None, csrf=False)
    site.action("/logout", logout, role="viewer")


def _next(target: str | None) -> str:
    """Only a path on this console (never //other.example or a full URL)."""
    if target and target.startswith("/") and not target.startswith("//") and \
            "\\" not in target:
        return target
    return "/"


def secure(console) -> bool:
    return console.web.tls or (console.web.public_url or "").startswith("https://")


def _form(request, console, status: int = 200, error: str = "", name: str = "",
          target: str = "/") -> web.Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    response = console.render(request, "login.html", status=status, error=error, name=name,
                              next=target, login_csrf=csrf_token(console.key, "login:" + nonce))
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Strict",
                        secure=secure(console), path="/login", max_age=3600)
    return response


async def login_page(request, console) -> web.StreamResponse:
    target = _next(request.query.get("next"))
    if console.session(request) is not None:
        return redirect(target)
    return _form(request, console, target=target)


async def login(request, console) -> web.StreamResponse:
    form = await request.post()
    name = str(form.get("name", "")).strip()[:80]
    password = str(form.get("password", ""))[:1024]
    target = _next(str(form.get("next", "/")))
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not csrf_ok(console.key, f"login:{nonce}" if nonce else None, form.get("csrf")):
        return _form(request, console, 403, "The form expired; please log in again.", name,
                     target)
    if not name or not password:
        return _form(request, console, 400, "Give your name and your password.", name,
                     target)
    address = console.client_address(request)
    wait = console.limiter.blocked_for(address, name)
    if wait > 0:
        log.warning("web: login as %r from %s refused: too many failed attempts", name,
                    address)
        return _form(request, console, 429, f"Too many failed logins: try again in "
                     f"{int(wait // 60) + 1} minutes.", name, target)
    user = console.web.user(name)
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None,
                                 password)
    if not ok or user is None:
        console.limiter.failed(address, name)
        log.warning("web: failed login as %r from %s", name, address)
        return _form(request, console, 401, "Wrong name or password.", name, target)
    console.limiter.succeeded(address, name)
    value, _sid = session_cookie(console.key, user, console.web.session_lifetime, time.time())
    log.info("web: %s logged in from %s", user.name, address)
    response = redirect(target)
    response.set_cookie(SESSION_COOKIE, value, httponly=True, samesite="Strict",
                        secure=secure(console), path="/",
                        max_age=int(console.web.session_lifetime))
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request, console) -> web.StreamResponse:
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
