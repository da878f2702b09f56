"""Reading the store, sending and archiving reports: the I/O around the pure report code.

Entry points for the daemon (all blocking; run them in a worker thread):
``send_monthly_report(config, state_dir, now)`` on the 1st (``reports.monthly``) and
``send_digest(config, state_dir, now)`` weekly (``reports.digest``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from muni_watchdog.alerts.send import send
from muni_watchdog.reports.digest import (
    Digest,
    build_digest,
    render_digest_html,
    render_digest_text,
)
from muni_watchdog.reports.history import load_history, month_bounds, previous_month, shift_month
from muni_watchdog.reports.monthly import MonthlyReport, build_monthly_report, report_figures
from muni_watchdog.reports.render import render_monthly_html, render_monthly_text
from muni_watchdog.reports.trends import TREND_MONTHS

ARCHIVE_DIR = "reports"


def monthly_report(store: Any, config: Any, year: int, month: int,
                   now: datetime) -> MonthlyReport:
    """Read what the month and its 6-month trend need, once, and build the report."""
    tz = config.site.timezone
    since, _ = month_bounds(*shift_month(year, month, -(TREND_MONTHS - 1)), tz)
    _, until = month_bounds(year, month, tz)
    history = load_history(store, since, min(until, now))
    return build_monthly_report(history, config, year, month, now)


def archive_monthly(report: MonthlyReport, state_dir: str | Path) -> Path:
    """Write the HTML to STATE_DIR/reports/YYYY-MM.html (replacing an earlier run)."""
    folder = Path(state_dir) / ARCHIVE_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    path = folder / f"{report.month}.html"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render_monthly_html(report), encoding="utf-8")
    tmp.replace(path)
    return path


def send_report(config: Any, channel: str, title: str, html_text: str, plain_text: str) -> None:
    """Send through a channel: for email, the HTML (Apprise adds a text/plain alternative
    derived from it); elsewhere our plain text."""
    urls = config.channel_urls()[channel]
    if config.channel_format(channel) == "email":
        send(urls, title, html_text, "html")
    else:
        send(urls, title, plain_text, "text")


def monthly_title(report: MonthlyReport) -> str:
    return f"{report.site}: IT report for {report.title}"


def send_monthly_report(config: Any, store: Any, state_dir: str | Path, now: datetime,
                        month: tuple[int, int] | None = None) -> Path:
    """Build last month's report (or ``month``), archive it, send it to the monthly channel,
    and save its figures for later trends. Returns the archive path. Raises DeliveryError."""
    year, mon = month or previous_month(now, config.site.timezone)
    report = monthly_report(store, config, year, mon, now)
    path = archive_monthly(report, state_dir)
    send_report(config, config.reports.monthly.channel, monthly_title(report),
                render_monthly_html(report), render_monthly_text(report))
    store.save_report_month(report.month, report_figures(report), now)
    return path


def digest(store: Any, config: Any, now: datetime) -> Digest:
    history = load_history(store, now - timedelta(days=7), now)
    return build_digest(history, config, now)


def send_digest(config: Any, store: Any, now: datetime) -> Digest:
    report = digest(store, config, now)
    send_report(config, config.reports.digest.channel, report.title,
                render_digest_html(report), render_digest_text(report))
    return report
