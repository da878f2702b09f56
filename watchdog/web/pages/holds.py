"""Maintenance windows and accepted risks: list, add, end — with the owner, reason and expiry
the command line asks for, through the same functions (:mod:`muni_watchdog.alerting.holds`).
oncall adds and ends maintenance; admin also accepts risks. A form with a wrong or missing
field comes back with the error and what was typed; nothing is changed."""

from __future__ import annotations

from aiohttp import web

from muni_watchdog.alerting.holds import (
    HoldError,
    add_exception,
    add_maintenance,
    end_exception,
    end_maintenance,
)
from muni_watchdog.reports.status import exception_list, maintenance_list
from muni_watchdog.web.console import redirect
from muni_watchdog.web.registry import Registry

WINDOW_FIELDS = ("kind", "start", "end", "every", "until", "owner", "reason", "announcement")
EXCEPTION_FIELDS = ("target", "check", "owner", "reason", "expires")


def register(site: Registry) -> None:
    site.page("/maintenance", holds_page, nav="Maintenance & risks")
    site.action("/maintenance", add_window, role="oncall")
    site.action("/maintenance/{id:\\d+}/end", end_window, role="oncall")
    site.action("/exceptions", add_risk, role="admin")
    site.action("/exceptions/{id:\\d+}/end", end_risk, role="admin")


async def holds_page(request, console, status: int = 200, window_error: str = "",
                     window_form: dict | None = None, risk_error: str = "",
                     risk_form: dict | None = None) -> web.StreamResponse:
    user = console.session(request).user
    return console.render(
        request, "maintenance.html", status=status, title="Maintenance and accepted risks",
        windows=maintenance_list(console.store), risks=exception_list(console.store),
        targets=[t.id for t in console.config.targets],
        services=[(s.id, s.name) for s in console.config.services],
        window_error=window_error, risk_error=risk_error,
        window_form=window_form or {"kind": "once", "owner": user.name},
        risk_form=risk_form or {"owner": user.name, "check": "*"})


async def add_window(request, console) -> web.StreamResponse:
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in WINDOW_FIELDS}
    values["targets"] = [str(v) for v in form.getall("targets", [])]
    values["services"] = [str(v) for v in form.getall("services", [])]
    values["site"] = form.get("site") == "on"
    every = values["kind"] == "every"
    try:
        add_maintenance(console.config, console.store, targets=values["targets"],
                        services=values["services"], site=values["site"],
                        owner=values["owner"], reason=values["reason"], now=console.clock(),
                        start=values["start"] or None, end=None if every else
                        values["end"] or None, every=values["every"] or None if every else
                        None, until=values["until"] or None if every else None,
                        actor=console.session(request).user.name,
                        announcement=values["announcement"] or None)
    except HoldError as exc:
        return await holds_page(request, console, 400, window_error=str(exc),
                                window_form=values)
    return redirect("/maintenance")


async def end_window(request, console) -> web.StreamResponse:
    try:
        end_maintenance(console.store, int(request.match_info["id"]),
                        console.session(request).user.name, "ended in the console",
                        console.clock())
    except HoldError as exc:
        return console.message(request, 404, "No such window", str(exc))
    return redirect("/maintenance")


async def add_risk(request, console) -> web.StreamResponse:
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in EXCEPTION_FIELDS}
    try:
        add_exception(console.config, console.store, target=values["target"],
                      check=values["check"] or "*", owner=values["owner"],
                      reason=values["reason"], expires=values["expires"], now=console.clock(),
                      actor=console.session(request).user.name)
    except HoldError as exc:
        return await holds_page(request, console, 400, risk_error=str(exc), risk_form=values)
    return redirect("/maintenance")


async def end_risk(request, console) -> web.StreamResponse:
    try:
        end_exception(console.store, int(request.match_info["id"]),
                      console.session(request).user.name, "ended in the console",
                      console.clock())
    except HoldError as exc:
        return console.message(request, 404, "No such accepted risk", str(exc))
    return redirect("/maintenance")
