"""Incidents: the list (as ``muni-watchdog incidents --all``), one incident with its timeline
and the acknowledge form (oncall and admin), its public updates and review (their forms are
posted to :mod:`.comms`)."""

from __future__ import annotations

import json

from aiohttp import web

from muni_watchdog.alerting.acks import AckError, acknowledge
from muni_watchdog.alerting.messages import acked
from muni_watchdog.core.model import State
from muni_watchdog.core.when import WhenError, parse_when
from muni_watchdog.reports.status import incident_list
from muni_watchdog.web.comms_view import FOLLOW_UP_ROWS, comms_view
from muni_watchdog.web.console import redirect
from muni_watchdog.web.registry import Registry
from muni_watchdog.web.timeline import incident_timeline


def register(site: Registry) -> None:
    site.page("/incidents", incidents_page, nav="Incidents")
    site.api("/api/incidents", incidents_api)
    site.page("/incidents/{id:\\d+}", incident_page)
    site.action("/incidents/{id:\\d+}/ack", ack_incident, role="oncall")


async def incidents_page(request, console) -> web.StreamResponse:
    rows = incident_list(console.store, console.config, include_resolved=True)
    return console.render(request, "incidents.html", title="Incidents", incidents=rows)


async def incidents_api(request, console) -> web.StreamResponse:
    rows = incident_list(console.store, console.config,
                         include_resolved=request.query.get("all") == "1")
    return web.json_response({"incidents": rows})


def _incident_or_404(request, console):
    incident = console.store.incident(int(request.match_info["id"]))
    if incident is None:
        raise LookupError(request.match_info["id"])
    return incident


def incident_view(console, incident: dict) -> dict:
    """What the incident page and the acknowledge-link page show of an incident."""
    services = [console.config.service_by_id[s] for s in json.loads(incident["services"])
                if s in console.config.service_by_id]
    target = console.config.target_by_id.get(incident["target"])
    return {"incident": incident, "state": State(incident["state"]).label,
            "services": services, "target": target,
            "acked": acked(incident, console.clock()),
            "channels_told": json.loads(incident["channels_told"])}


async def incident_page(request, console, error: str = "", form: dict | None = None,
                        status: int = 200, update_error: str = "", review_error: str = "",
                        review_form: dict | None = None) -> web.StreamResponse:
    """The incident, its timeline, its updates and review; the forms (acknowledge, update,
    review) come back with their error and what was typed."""
    try:
        incident = _incident_or_404(request, console)
    except LookupError:
        return console.message(request, 404, "No such incident",
                               f"There is no incident {request.match_info['id']}.")
    return console.render(request, "incident.html", status=status,
                          title=f"Incident {incident['id']}",
                          timeline=incident_timeline(console.store, incident), error=error,
                          form=form or {}, update_error=update_error,
                          review_error=review_error, review_form=review_form or {},
                          follow_up_rows=FOLLOW_UP_ROWS, **incident_view(console, incident),
                          **comms_view(console, incident))


async def ack_incident(request, console) -> web.StreamResponse:
    form = await request.post()
    user = console.session(request).user
    values = {k: str(form.get(k, "")).strip() for k in ("reason", "until")}
    now = console.clock()
    try:
        until = parse_when(values["until"], console.config.site.timezone, now) \
            if values["until"] else None
        acknowledge(console.store, int(request.match_info["id"]), user.name,
                    values["reason"], until, now, via="console", actor=user.name)
    except WhenError as exc:
        return await incident_page(request, console, f"Until: {exc}", values, 400)
    except AckError as exc:
        if exc.kind == "unknown":
            return console.message(request, 404, "No such incident", str(exc))
        return await incident_page(request, console, str(exc), values, 400)
    return redirect(f"/incidents/{request.match_info['id']}")
