"""Incident communication in the console, through the command line's own functions: post a
public update (:func:`muni_watchdog.alerting.communication.post_update`, as ``incident
update``), write the post-incident review (``write_review``, as ``incident review``), read the
post-incident report (the HTML ``incident report --out`` writes). (The residents' status
page, which the updates feed, is served publicly by :mod:`.status`.) Updates and reviews need the oncall
role; each is in the audit log under the logged-in user's name."""

from __future__ import annotations

from aiohttp import web

from muni_watchdog.alerting.comms_times import follow_up_rows, parse_next
from muni_watchdog.alerting.communication import UpdateError, post_update, write_review
from muni_watchdog.core.when import WhenError
from muni_watchdog.reports.comms_render import render_post_incident_html
from muni_watchdog.reports.postincident import load_post_incident
from muni_watchdog.web.comms_view import follow_up_form_rows
from muni_watchdog.web.console import redirect
from muni_watchdog.web.pages.incidents import incident_page
from muni_watchdog.web.pages.reports import REPORT_CSP
from muni_watchdog.web.registry import Registry

UPDATE_FIELDS = ("text", "residents_can", "next_update", "status")


def register(site: Registry) -> None:
    site.action("/incidents/{id:\\d+}/update", post_incident_update, role="oncall")
    site.action("/incidents/{id:\\d+}/review", post_review, role="oncall")
    site.page("/incidents/{id:\\d+}/report", report_page)


async def post_incident_update(request, console) -> web.StreamResponse:
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in UPDATE_FIELDS}
    user = console.session(request).user
    now = console.clock()
    number = int(request.match_info["id"])
    if console.store.incident(number) is None:
        return console.message(request, 404, "No such incident", f"There is no incident "
                               f"{number}.")
    try:
        next_update = parse_next(values["next_update"], console.config.site.timezone, now) \
            if values["next_update"] else None
        post_update(console.config, console.store, number, user.name, values["text"],
                    values["residents_can"], next_update, now,
                    status=values["status"] or None)
    except WhenError as exc:
        return await incident_page(request, console, status=400, form=values,
                                   update_error=f"Next update: {exc}")
    except UpdateError as exc:
        return await incident_page(request, console, status=400, form=values,
                                   update_error=str(exc))
    return redirect(f"/incidents/{number}#updates")


async def post_review(request, console) -> web.StreamResponse:
    form = await request.post()
    cause = str(form.get("cause", "")).strip()
    rows = follow_up_form_rows(form)
    values = {"cause": cause, "rows": rows}
    number = int(request.match_info["id"])
    now = console.clock()
    try:
        follow_ups = follow_up_rows(rows, console.config.site.timezone, now)
        if not cause and not follow_ups:
            raise UpdateError("write the cause and/or a follow-up (with its owner and due date)")
        write_review(console.store, number, console.session(request).user.name,
                     cause or None, follow_ups, now)
    except (WhenError, UpdateError) as exc:
        if console.store.incident(number) is None:
            return console.message(request, 404, "No such incident", str(exc))
        return await incident_page(request, console, status=400, review_form=values,
                                   review_error=str(exc))
    return redirect(f"/incidents/{number}#review")


async def report_page(request, console) -> web.StreamResponse:
    """The post-incident report as ``incident report N --out`` writes it: our own print-ready
    HTML (every value escaped), shown in a sandbox that runs nothing."""
    number = int(request.match_info["id"])
    report = load_post_incident(console.store, console.config, number, console.clock())
    if report is None:
        return console.message(request, 404, "No such incident",
                               f"There is no incident {number}.")
    return web.Response(text=render_post_incident_html(report), content_type="text/html",
                        charset="utf-8", headers={"Content-Security-Policy": REPORT_CSP})

