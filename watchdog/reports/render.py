"""The monthly report laid out as email-safe HTML and as plain text. Pure.

Email-safe: one table-based layout with inline styles (Outlook ignores most CSS), no scripts,
no images, no web fonts, no links; charts are table cells with widths (they render in Outlook,
Gmail and in a browser alike).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from muni_watchdog.core.durations import humanize
from muni_watchdog.reports.monthly import MonthlyReport, ServiceReport
from muni_watchdog.reports.security import security_lines
from muni_watchdog.reports.trends import MetricTrend
from muni_watchdog.reports.words import (
    days_against,
    duration_against,
    minutes,
    patch_words,
    percent,
    plural,
    span,
    stamp,
    unwatched_words,
)

FONT = "font-family:Arial,Helvetica,sans-serif;"
GREEN, AMBER, RED, GREY, BLUE = "#2e7d32", "#b26a00", "#c62828", "#9e9e9e", "#1f5f99"
SECURITY_HEADING = "Known vulnerabilities and open doors"


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _status(verdict: str | None) -> tuple[str, str]:
    """The target's verdict and its colour: met, missed, not proven (not watched enough)."""
    return {"met": ("met", GREEN), "missed": ("missed", RED),
            "not proven": ("not proven", AMBER)}.get(verdict or "", ("no data", GREY))


def availability_words(s: ServiceReport) -> str:
    """"99.95 % of the time it was watched" when part of the month was not watched."""
    if s.availability is None:
        return "not watched this month"
    return percent(s.availability) + (" of the time it was watched" if s.unwatched_seconds
                                      else "")


def unwatched_line(s: ServiceReport, tz: str) -> str:
    return (f"Not watched: {span(s.unwatched_seconds)} "
            f"({unwatched_words(s.measured.gaps, tz)}); no outage could be seen then.")


def _bar(fraction: float, colour: str, width: int = 200) -> str:
    filled = max(0, min(width, round(width * fraction)))
    cells = f'<td width="{filled}" bgcolor="{colour}" style="background:{colour};' \
        f'height:12px;font-size:1px;line-height:1px">&nbsp;</td>' if filled else ""
    if filled < width:
        cells += f'<td width="{width - filled}" bgcolor="#e6e6e6" style="background:#e6e6e6;' \
            'height:12px;font-size:1px;line-height:1px">&nbsp;</td>'
    return (f'<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
            f'width="{width}"><tr>{cells}</tr></table>')


def _trend_rows(trend: MetricTrend) -> str:
    values = [p.value for p in trend.points if p.value is not None]
    top = max([*values, 100.0 if trend.unit == "%" else 0.0, 1e-9])
    rows = []
    for point in trend.points:
        bar = _bar(0, GREY) if point.value is None else _bar(point.value / top, BLUE)
        rows.append(f'<tr><td style="{FONT}font-size:12px;color:#555;padding:1px 8px 1px 0">'
                    f'{e(point.month)}</td><td>{bar}</td><td style="{FONT}font-size:12px;'
                    f'padding:1px 0 1px 8px">{e(point.text)}</td>'
                    '</tr>')
    return "".join(rows)


def _h(text: str, size: int = 16) -> str:
    return (f'<tr><td style="{FONT}font-size:{size}px;font-weight:bold;color:#222;'
            f'padding:16px 0 4px 0">{e(text)}</td></tr>')


def _p(text: str, colour: str = "#222") -> str:
    return (f'<tr><td style="{FONT}font-size:14px;line-height:20px;color:{colour};'
            f'padding:2px 0">{text}</td></tr>')


def _list(items: Iterable[str]) -> list[str]:
    """Bulleted rows; each item is text (a reason someone typed), escaped."""
    return [_p("&bull; " + e(item)) for item in items]


def render_monthly_html(report: MonthlyReport) -> str:
    """The whole email as one HTML document."""
    rows = [
        f'<tr><td style="{FONT}font-size:22px;font-weight:bold;color:#1f3b57;'
        f'padding:0 0 4px 0">{e(report.site)}: IT report for {e(report.title)}</td></tr>',
        _p(e(report.summary)),
        _h("Leading and trailing measures (last 6 months)"),
    ]
    for kind, trends in (("leading", report.leading), ("trailing", report.trailing)):
        for trend in trends:
            rows.append(_p(f"<b>{e(trend.label)}</b> <span style=\"color:#666\">({kind}; "
                           f"{'higher' if trend.better == 'higher' else 'lower'} is better)"
                           "</span>"))
            rows.append(f'<tr><td><table role="presentation" cellpadding="0" cellspacing="0" '
                        f'border="0">{_trend_rows(trend)}</table></td></tr>')
    rows.append(_h("What changed since last month"))
    rows.extend(_changes(report) or [_p("Nothing changed: no new and no fixed problems.")])
    for service in report.services:
        rows.extend(_service(service, report.timezone))
    if report.security is not None:
        rows.append(_h(SECURITY_HEADING))
        rows.extend(_p(e(line)) for line in security_lines(report.security))
    rows.append(_h("Accepted risks (open exceptions)"))
    rows.extend(_list(_exception(x, report.timezone) for x in report.exceptions)
                or [_p("None.")])
    rows.append(_p(f'<span style="color:#777;font-size:12px">Generated '
                   f'{e(stamp(report.generated_at, report.timezone))} ({e(report.timezone)}) '
                   'by muni-watchdog from the monitoring records.</span>'))
    body = "".join(rows)
    return ('<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<title>{e(report.site)}: IT report for {e(report.title)}</title></head>'
            '<body style="margin:0;padding:0;background:#f4f4f4">'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
            'border="0" bgcolor="#f4f4f4"><tr><td align="center" style="padding:16px">'
            '<table role="presentation" width="640" cellpadding="0" cellspacing="0" '
            'border="0" bgcolor="#ffffff" style="background:#ffffff;padding:24px">'
            f'<tr><td style="padding:24px"><table role="presentation" width="100%" '
            f'cellpadding="0" cellspacing="0" border="0">{body}</table></td></tr>'
            '</table></td></tr></table></body></html>\n')


def _changes(report: MonthlyReport) -> list[str]:
    c = report.changes
    out = [_p(f"<b>New problem:</b> {e(x)}", RED) for x in c.new_problems]
    out += [_p(f"<b>Fixed:</b> {e(x)}", GREEN) for x in c.fixed_problems]
    return out + [_p(e(n)) for n in c.notes]


def _service(s: ServiceReport, tz: str) -> list[str]:
    label, colour = _status(s.verdict)
    rows = [_h(f"P{s.priority} · {s.name}"),
            _p(f"Owner: <b>{e(s.owner)}</b> &nbsp; Backup owner: <b>{e(s.backup_owner)}</b>")]
    if s.monitored_seconds <= 0:
        rows.append(_p("Availability: no data yet (not monitored this month).", GREY))
    else:
        rows.append(_p(f"Availability: <b>{e(availability_words(s))}</b> against a target of "
                       f"{e(percent(s.target_percent))} — <b style=\"color:{colour}\">{label}"
                       f"</b>; outage: {e(minutes(s.outage_seconds))}."))
        if s.availability is not None:
            rows.append(f"<tr><td>{_bar(s.availability / 100, colour, 400)}</td></tr>")
        if s.unwatched_seconds:
            rows.append(_p(e(unwatched_line(s, tz)), AMBER))
    rows.extend(_p(e(line)) for line in service_lines(s, tz))
    return rows


def service_lines(s: ServiceReport, tz: str) -> list[str]:
    """Incidents, backups, patching, exceptions and maintenance, one sentence each."""
    lines = []
    if not s.incidents:
        lines.append("Incidents: none.")
    for i in s.incidents:
        promised = f"the promised {humanize(s.response_sla)}"
        if i.promise_kept is None:
            answer = f"nobody needed to be called ({i.held})"
        elif i.acknowledge_seconds is not None:
            answer = (f"acknowledged in {duration_against(i.acknowledge_seconds, s.response_sla)}"
                      f", {'within' if i.promise_kept else 'later than'} {promised}")
        else:
            answer = (f"not acknowledged; it ended within {promised}" if i.promise_kept
                      else f"not acknowledged within {promised}")
        recover = (f"recovered in {humanize(i.recover_seconds)}" if i.recover_seconds
                   is not None else "still open")
        lines.append(f"Incident {i.id} on {stamp(i.opened_at, tz)}, {i.what}: {answer}; "
                     f"{recover}.")
    b = s.backups
    if not b.configured:
        lines.append("Backups: no restore tests are configured for this service.")
    elif not b.run:
        lines.append("Backups: no restore test ran this month.")
    else:
        history = ", ".join(f"{t.verdict} on {stamp(t.at, tz)}"
                            + (" (full drill)" if t.full_drill else "") for t in b.tests)
        lines.append(f"Backups: {plural(b.run, 'restore test')} run, {b.passed} passed "
                     f"({history}).")
        if b.worst_age_seconds is not None:
            lines.append(f"Data age at the tests: at most "
                         f"{duration_against(b.worst_age_seconds, s.rpo)} "
                         f"(allowed data loss: {humanize(s.rpo)}) — "
                         f"{'within' if b.worst_age_seconds <= s.rpo else 'over'} target.")
        if b.restore_estimate_seconds is not None:
            how = "measured in a full drill" if b.restore_measured else "estimated"
            lines.append(f"Full restore time: "
                         f"{duration_against(b.restore_estimate_seconds, s.rto)} ({how}); "
                         f"recovery target {humanize(s.rto)} — "
                         f"{'within' if b.restore_estimate_seconds <= s.rto else 'over'} "
                         "target.")
    for damaged in b.damage_found:
        lines.append(f"Repository {damaged.backup}: the check on {stamp(damaged.at, tz)} found "
                     f"damaged stored data ({plural(damaged.integrity_errors or 0, 'error')}); "
                     "it is re-read at every check until it reads clean.")
    if b.configured:
        for backup, share in sorted(b.coverage.items()):
            lines.append(f"Repository {backup}: {share * 100:.0f} % of the stored data re-read "
                         "and verified this quarter.")
    lines += s.comms      # post-incident reports and drills, next to the restore tests
    p = s.patches
    if not p.hosts:
        lines.append("Patching: no patch checks on this service's servers.")
    else:
        over = ", ".join(f"{t} {pkg} ({days_against(d, p.policy_days)})"
                         for t, pkg, d in p.overdue[:5])
        policy = f"the {p.policy_days:g}-day patch policy"
        lines.append(f"Patching: {patch_words(p.pending, p.oldest_days)}" + (
            f"; over {policy}: {over}." if p.overdue else
            (f"; none over {policy}." if p.pending else ".")))
        lines += [f"Reboot pending on {t}: {why}." for t, why in p.reboots]
    lines += [f"Accepted risk: {_exception(x, tz)}" for x in s.exceptions]
    for start, end, owner, reason in s.maintenance:
        lines.append(f"Maintenance on {stamp(start, tz)} for {humanize((end - start).total_seconds())}"
                     f": {reason} ({owner}).")
    return lines


def _exception(x: dict, tz: str) -> str:
    from muni_watchdog.reports.history import when
    return (f"{x['what']}: {x['reason']} — owner {x['owner']}, expires "
            f"{stamp(when(x['expires_at']), tz)}.")


def render_monthly_text(report: MonthlyReport) -> str:
    """The plain-text part: the same content, readable in any mail client."""
    out = [f"{report.site}: IT report for {report.title}", "", report.summary, "",
           "LEADING AND TRAILING MEASURES (last 6 months)"]
    for trend in [*report.leading, *report.trailing]:
        points = ", ".join(f"{p.month[5:]}/{p.month[2:4]} {p.text}" for p in trend.points)
        out.append(f"- {trend.label}: {points}")
    out += ["", "WHAT CHANGED SINCE LAST MONTH"]
    c = report.changes
    lines = ([f"- new problem: {x}" for x in c.new_problems]
             + [f"- fixed: {x}" for x in c.fixed_problems] + [f"- {n}" for n in c.notes])
    out += lines or ["- nothing: no new and no fixed problems"]
    for s in report.services:
        label, _ = _status(s.verdict)
        out += ["", f"P{s.priority} {s.name.upper()}",
                f"Owner: {s.owner}; backup owner: {s.backup_owner}"]
        out.append("Availability: no data yet" if s.monitored_seconds <= 0 else
                   f"Availability: {availability_words(s)} (target "
                   f"{percent(s.target_percent)}, {label}); outage: "
                   f"{minutes(s.outage_seconds)}")
        if s.monitored_seconds > 0 and s.unwatched_seconds:
            out.append(unwatched_line(s, report.timezone))
        out += service_lines(s, report.timezone)
    if report.security is not None:
        out += ["", SECURITY_HEADING.upper()]
        out += [f"- {line}" for line in security_lines(report.security)]
    out += ["", "ACCEPTED RISKS (OPEN EXCEPTIONS)"]
    out += [f"- {_exception(x, report.timezone)}" for x in report.exceptions] or ["- none"]
    out += ["", f"Generated {stamp(report.generated_at, report.timezone)} ({report.timezone}) "
            "by muni-watchdog."]
    return "\n".join(out) + "\n"
