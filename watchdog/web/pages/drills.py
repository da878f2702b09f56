"""Drills in the console, through the command line's own functions
(:mod:`muni_watchdog.alerting.drills`, :mod:`muni_watchdog.reports.drill_list`): the list
(done and running, and when each priority 1-2 service is due), start one, record a step or
the service back, end it with its short form (what went well, changes with owner and due),
add a change to an ended drill (as ``drill follow-up add``), its report (the HTML ``drill
report --out`` writes), and the follow-ups of drills and reviews with "mark done". Changes
need the oncall role and are audited under the user's name."""

from __future__ import annotations

from aiohttp import web

from muni_watchdog.alerting.comms_times import follow_up_rows, parse_due
from muni_watchdog.alerting.drills import (
    Change,
    DrillError,
    add_follow_up,
    end_drill,
    finish_follow_up,
    mark_step,
    start_drill,
)
from muni_watchdog.core.exercise import CHANGES_ASKED
from muni_watchdog.core.when import WhenError
from muni_watchdog.reports.comms_render import render_drill_html
from muni_watchdog.reports.drill_list import load_drill_list
from muni_watchdog.reports.drill_report import load_drill, measures_words, summary_words
from muni_watchdog.web.comms_view import FOLLOW_UP_ROWS, follow_up_form_rows
from muni_watchdog.web.console import redirect
from muni_watchdog.web.pages.reports import REPORT_CSP
from muni_watchdog.web.registry import Registry


def register(site: Registry) -> None:
    site.page("/drills", drills_page, nav="Drills")
    site.action("/drills", post_start, role="oncall")
    site.page("/drills/{id:\\d+}", drill_page)
    site.action("/drills/{id:\\d+}/step", post_step, role="oncall")
    site.action("/drills/{id:\\d+}/end", post_end, role="oncall")
    site.action("/drills/{id:\\d+}/follow-ups", post_follow_up_add, role="oncall")
    site.page("/drills/{id:\\d+}/report", drill_report_page)
    site.action("/follow-ups/{id:\\d+}/done", post_follow_up_done, role="oncall")


def _user(request, console) -> str:
    return console.session(request).user.name


async def drills_page(request, console, status: int = 200, error: str = "",
                      form: dict | None = None) -> web.StreamResponse:
    now = console.clock()
    tz = console.config.site.timezone
    listing = load_drill_list(console.store, console.config, now)
    drills = [{"m": m, "words": summary_words(m, tz)} for m in reversed(listing.drills)]
    dues = [{"d": d, "words": d.words(tz, now), "overdue": d.overdue(now)}
            for d in listing.dues]
    services = [(s.id, s.name) for s in sorted(console.config.services,
                                                 key=lambda s: (s.priority, s.id))]
    return console.render(request, "drills.html", status=status, title="Drills",
                          drills=drills, dues=dues, services=services, error=error,
                          form=form or {},
                          follow_ups=console.store.follow_ups(open_only=True),
                          show_source=True)


async def post_start(request, console) -> web.StreamResponse:
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in ("service", "scenario")}
    try:
        drill, _incident = start_drill(console.config, console.store, values["service"],
                                       values["scenario"], _user(request, console),
                                       console.clock())
    except DrillError as exc:
        return await drills_page(request, console, 400, str(exc), values)
    return redirect(f"/drills/{drill}")


async def drill_page(request, console, status: int = 200, step_error: str = "",
                     end_error: str = "", end_form: dict | None = None,
                     add_error: str = "", add_form: dict | None = None
                     ) -> web.StreamResponse:
    number = int(request.match_info["id"])
    measured = load_drill(console.store, console.config, number, console.clock())
    if measured is None:
        return console.message(request, 404, "No such drill", f"There is no drill {number}.")
    drill = console.store.drill(number)
    return console.render(request, "drill.html", status=status, title=f"Drill {number}",
                          m=measured, drill=drill, measures=measures_words(measured),
                          step_error=step_error, end_error=end_error,
                          end_form=end_form or {}, follow_up_rows=FOLLOW_UP_ROWS,
                          add_error=add_error, add_form=add_form or {},
                          follow_ups=measured.changes, show_source=False,
                          changes_asked=CHANGES_ASKED)


async def post_step(request, console) -> web.StreamResponse:
    form = await request.post()
    number = int(request.match_info["id"])
    if console.store.drill(number) is None:
        return console.message(request, 404, "No such drill", f"There is no drill {number}.")
    try:
        mark_step(console.store, number, str(form.get("text", "")), _user(request, console),
                  form.get("recovered") == "on", console.clock())
    except DrillError as exc:
        return await drill_page(request, console, 400, step_error=str(exc))
    return redirect(f"/drills/{number}")


async def post_end(request, console) -> web.StreamResponse:
    form = await request.post()
    number = int(request.match_info["id"])
    if console.store.drill(number) is None:
        return console.message(request, 404, "No such drill", f"There is no drill {number}.")
    went_well = str(form.get("went_well", "")).strip()
    rows = follow_up_form_rows(form)
    now = console.clock()
    try:
        changes = [Change(t, o, d) for t, o, d in
                   follow_up_rows(rows, console.config.site.timezone, now)]
        end_drill(console.store, number, _user(request, console), went_well, changes, now)
    except (WhenError, DrillError) as exc:
        return await drill_page(request, console, 400, end_error=str(exc),
                                end_form={"went_well": went_well, "rows": rows})
    return redirect(f"/drills/{number}")


async def post_follow_up_add(request, console) -> web.StreamResponse:
    """A change an ended drill led to, added afterwards: ``drill follow-up add``'s function
    and due-date rule (a running drill takes its changes in the end form)."""
    form = await request.post()
    number = int(request.match_info["id"])
    drill = console.store.drill(number)
    if drill is None:
        return console.message(request, 404, "No such drill", f"There is no drill {number}.")
    values = {k: str(form.get(k, "")).strip() for k in ("text", "owner", "due")}
    now = console.clock()
    try:
        if not drill["ended_at"]:
            raise DrillError("the drill is still running: give its changes when you end it")
        if not values["due"]:
            raise DrillError("a follow-up needs its due date")
        due = parse_due(values["due"], console.config.site.timezone, now)
        add_follow_up(console.store, "drill", number,
                      Change(values["text"], values["owner"], due), _user(request, console),
                      now)
    except (WhenError, DrillError) as exc:
        return await drill_page(request, console, 400, add_error=str(exc), add_form=values)
    return redirect(f"/drills/{number}#drill-changes")


async def drill_report_page(request, console) -> web.StreamResponse:
    """The drill report as ``drill report N --out`` writes it, in a sandbox."""
    number = int(request.match_info["id"])
    measured = load_drill(console.store, console.config, number, console.clock())
    if measured is None:
        return console.message(request, 404, "No such drill", f"There is no drill {number}.")
    return web.Response(text=render_drill_html(measured), content_type="text/html",
                        charset="utf-8", headers={"Content-Security-Policy": REPORT_CSP})


def _back(form, fallback: str) -> str:
    """Where a form asks to go back to: one of the console's own paths only."""
    target = str(form.get("next", ""))
    return target if target.startswith("/") and not target.startswith("//") and \
        "\\" not in target else fallback


async def post_follow_up_done(request, console) -> web.StreamResponse:
    form = await request.post()
    try:
        finish_follow_up(console.store, int(request.match_info["id"]),
                         _user(request, console), str(form.get("note", "")), console.clock())
    except DrillError as exc:
        status = 404 if "no follow-up" in str(exc) else 409
        return console.message(request, status, "Follow-up not changed", str(exc))
    return redirect(_back(form, "/drills"))
