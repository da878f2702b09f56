"""The status page laid out: one self-contained HTML file (inline CSS, no script, no image,
no font or link to fetch: it works from any web host and from a file) and the same content as
JSON for a town's own site or app. Pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from muni_watchdog.alerts.updates import (
    DEGRADED,
    MAINTENANCE,
    OPERATIONAL,
    UNAVAILABLE,
    UNKNOWN,
    PublicUpdate,
    template_lines,
)
from muni_watchdog.reports.status_page import StatusPage
from muni_watchdog.reports.templating import render

SLUG = {OPERATIONAL: "operational", DEGRADED: "degraded", UNAVAILABLE: "unavailable",
        MAINTENANCE: "maintenance", UNKNOWN: "unknown"}
REFRESH_SECONDS = 60


def render_status_html(page: StatusPage) -> str:
    zone = page.generated_at.astimezone(ZoneInfo(page.timezone)).strftime("%Z")
    return render("status.html.j2", page=page, slug=SLUG, zone=zone, refresh=REFRESH_SECONDS,
                  update_lines=_lines)


def _lines(update: PublicUpdate) -> list[tuple[str, str]]:
    """The template's fields after the headline, as (label, text) pairs."""
    pairs = []
    for line in template_lines(update)[2:]:
        label, _, text = line.partition(": ")
        pairs.append((label, text) if text else ("", line))
    return pairs


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _update(u: PublicUpdate) -> dict[str, Any]:
    return {"number": u.number, "at": _iso(u.at), "status": u.status, "text": u.text,
            "residents_can": u.residents_can, "next_update_by": _iso(u.next_update_by)}


def status_as_dict(page: StatusPage) -> dict[str, Any]:
    """The page as JSON-ready data: the same fields as the HTML, times in ISO 8601."""
    return {
        "site": page.site, "title": page.title, "timezone": page.timezone,
        "generated_at": _iso(page.generated_at), "status": page.status,
        "overall": page.overall, "contact": page.contact,
        "services": [{
            "name": s.name, "impact": s.impact, "status": s.status, "sentence": s.sentence,
            "since": _iso(s.since), "next_update_by": _iso(s.next_update_by),
            "updates": [_update(u) for u in s.updates], "summary": s.summary,
            "days": [{"date": d.day.isoformat(), "state": d.state,
                      "outage_seconds": round(d.outage_seconds),
                      "unwatched_seconds": round(d.unwatched_seconds)} for d in s.days],
        } for s in page.services],
        "announcements": [{"start": _iso(a.start), "end": _iso(a.end), "services": a.services,
                           "text": a.text, "active": a.active} for a in page.announcements],
        "past_incidents": [{"service": p.service, "since": _iso(p.since),
                            "resolved_at": _iso(p.resolved_at),
                            "updates": [_update(u) for u in p.updates]} for p in page.past],
    }


def render_status_json(page: StatusPage) -> str:
    return json.dumps(status_as_dict(page), indent=2, ensure_ascii=False) + "\n"
