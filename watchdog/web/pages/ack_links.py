"""The pages behind acknowledge links: no login, the link is the credential.

GET shows the incident and a form (who acknowledges, prefilled from the recipient; reason;
until) and changes nothing, so a mail scanner that opens every link acknowledges nothing.
POST, with the form's token (bound to the link) and from the console's own origin,
acknowledges. A forged or altered link, one for a recipient the incident was not sent to,
or an expired one shows a page saying so and does nothing; a link used again after the
acknowledgement shows who acknowledged it.
"""

from __future__ import annotations

import logging

from aiohttp import web

from muni_watchdog.alerting.ack_links import LinkError, recipient_name
from muni_watchdog.alerting.acks import AckError, acknowledge
from muni_watchdog.core.when import WhenError, parse_when
from muni_watchdog.web.auth import csrf_ok, csrf_token
from muni_watchdog.web.pages.incidents import incident_view
from muni_watchdog.web.registry import Registry

log = logging.getLogger("muni-watchdog")
UNTIL_CHOICES = (("", "until it recovers"), ("+1h", "for 1 hour"), ("+4h", "for 4 hours"),
                 ("+12h", "for 12 hours"), ("+1d", "for 1 day"))


def register(site: Registry) -> None:
    for prefix, short in (("/ack/", False), ("/a/", True)):
        site.page(prefix + "{token}", _get(short), role=None)
        site.action(prefix + "{token}", _post(short), role=None, csrf=False)


def _get(short: bool):
    async def handler(request, console):
        return await link_page(request, console, short)
    return handler


def _post(short: bool):
    async def handler(request, console):
        return await link_ack(request, console, short)
    return handler


def _claim(request, console, short: bool):
    """(claim, incident) of the link, or the page that refuses it."""
    token = request.match_info["token"]
    now = console.clock()
    try:
        claim = console.links.check(token, now, short=short)
    except LinkError as exc:
        log.warning("web: acknowledge link refused (%s) from %s", exc.kind,
                    console.client_address(request))
        if exc.kind == "expired":
            return None, None, console.message(
                request, 410, "This link has expired", f"{str(exc).capitalize()}. Nothing was "
                "acknowledged. Use a newer message's link, log in to the console, or run the "
                "ack command from the message on the box.")
        return None, None, console.message(
            request, 403, "This link is not valid", "This link was not made by muni-watchdog "
            "or was changed (maybe cut by the mail program). Nothing was acknowledged.")
    incident = console.store.incident(claim.incident)
    if incident is None:
        return None, None, console.message(request, 404, "No such incident",
                                           f"There is no incident {claim.incident}.")
    if claim.recipient not in incident_view(console, incident)["channels_told"]:
        log.warning("web: acknowledge link for %s refused: incident %d was not sent there",
                    claim.recipient, claim.incident)
        return None, None, console.message(
            request, 403, "This link is not valid", "This link was not sent to you for this "
            "incident. Nothing was acknowledged.")
    return claim, incident, None


def _page(request, console, claim, incident, status=200, error="", form=None):
    token = request.match_info["token"]
    view = incident_view(console, incident)
    return console.render(
        request, "ack.html", status=status, title=f"Acknowledge incident {incident['id']}",
        link_csrf=csrf_token(console.key, "link:" + token), error=error,
        form=form or {"by": recipient_name(console.config, claim.recipient), "reason": "",
                      "until": ""},
        until_choices=UNTIL_CHOICES, recipient=claim.recipient, **view)


async def link_page(request, console, short: bool) -> web.StreamResponse:
    claim, incident, refusal = _claim(request, console, short)
    if refusal is not None:
        return refusal
    return _page(request, console, claim, incident)


async def link_ack(request, console, short: bool) -> web.StreamResponse:
    claim, incident, refusal = _claim(request, console, short)
    if refusal is not None:
        return refusal
    form = await request.post()
    values = {k: str(form.get(k, "")).strip() for k in ("by", "reason", "until")}
    if not csrf_ok(console.key, "link:" + request.match_info["token"], form.get("csrf")):
        return console.message(request, 403, "Refused", "The form's security token is "
                               "missing or wrong; open the link again. Nothing was "
                               "acknowledged.")
    view = incident_view(console, incident)
    if view["acked"] or incident["status"] != "open":
        return _page(request, console, claim, incident)   # says who, or that it recovered
    now = console.clock()
    try:
        until = parse_when(values["until"], console.config.site.timezone, now) \
            if values["until"] else None
        acknowledge(console.store, incident["id"], values["by"], values["reason"], until,
                    now, via="link", extra={"recipient": claim.recipient})
    except (WhenError, AckError) as exc:
        return _page(request, console, claim, incident, 400, str(exc), values)
    log.info("web: incident %d acknowledged by %s via the link sent to %s", incident["id"],
             values["by"], claim.recipient)
    return console.render(request, "acked.html", title=f"Incident {incident['id']} "
                          "acknowledged", **incident_view(console,
                                                          console.store.incident(incident["id"])))
