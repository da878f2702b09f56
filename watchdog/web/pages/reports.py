"""Reports: the archived monthly leadership reports (STATE_DIR/reports/YYYY-MM.html, as
sent) and this week's on-call digest, computed now."""

from __future__ import annotations

import re

from aiohttp import web

from muni_watchdog.reports.deliver import ARCHIVE_DIR, digest
from muni_watchdog.reports.digest import SECTIONS
from muni_watchdog.web.registry import Registry

MONTH = re.compile(r"^\d{4}-\d{2}$")
# The archived report is our own email-safe HTML (every value escaped when it was written):
# shown as it was sent, in a sandbox that runs nothing and reaches nothing.
REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def register(site: Registry) -> None:
    site.page("/reports", reports_page, nav="Reports")
    site.page("/reports/monthly/{month}", monthly_page)
    site.page("/reports/digest", digest_page)


def archived(console) -> list[str]:
    folder = console.state_dir / ARCHIVE_DIR
    if not folder.is_dir():
        return []
    return sorted((p.stem for p in folder.glob("*.html") if MONTH.match(p.stem)),
                  reverse=True)


async def reports_page(request, console) -> web.StreamResponse:
    return console.render(request, "reports.html", title="Reports", months=archived(console),
                          monthly=console.config.reports.monthly)


async def monthly_page(request, console) -> web.StreamResponse:
    month = request.match_info["month"]
    if month not in archived(console):
        return console.message(request, 404, "No such report", f"There is no archived "
                               f"report for {month}.")
    path = console.state_dir / ARCHIVE_DIR / f"{month}.html"
    return web.Response(text=path.read_text(encoding="utf-8"), content_type="text/html",
                        charset="utf-8", headers={"Content-Security-Policy": REPORT_CSP})


async def digest_page(request, console) -> web.StreamResponse:
    report = digest(console.store, console.config, console.clock())
    sections = [(heading, getattr(report, name)) for heading, name in SECTIONS]
    sections.append(("Noisiest checks (alerts this week)",
                     [f"{k}: {n}" for k, n in report.noisiest]))
    return console.render(request, "digest.html", title=report.title, digest=report,
                          sections=sections)
