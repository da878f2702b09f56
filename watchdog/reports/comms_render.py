"""The post-incident and drill reports as print-ready HTML (A4, one file, no script or
fetched resource: print it or save it as PDF from a browser). Pure."""

from __future__ import annotations

from muni_watchdog.alerts.updates import update_message
from muni_watchdog.core.exercise import CHANGES_ASKED
from muni_watchdog.reports.drill_report import DrillMeasures, measures_words
from muni_watchdog.reports.postincident import (
    PostIncidentReport,
    promise_words,
    recover_words,
    timing_words,
)
from muni_watchdog.reports.templating import render


def render_post_incident_html(r: PostIncidentReport) -> str:
    return render("report.html.j2", title=r.title, r=r, drill=None, drill_lines=[],
                  promise=promise_words(r), recover=recover_words(r), timing=timing_words(r),
                  message_of=update_message, changes_asked=CHANGES_ASKED)


def render_drill_html(m: DrillMeasures) -> str:
    r = m.report
    return render("report.html.j2", title=f"{r.site}: drill {m.id}, {m.service} — {m.scenario}",
                  r=r, drill=m, drill_lines=measures_words(m), promise=promise_words(r),
                  recover=recover_words(r), timing=timing_words(r), message_of=update_message,
                  changes_asked=CHANGES_ASKED)
