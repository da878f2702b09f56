"""The assessment laid out as one HTML document a clerk prints to PDF: a cover with the figures
at a glance, then the services, the network (the SVG inline), the hardware, the software,
the backup and recovery risks, the security posture and the recommendations, each part
starting a new page on paper; appendices list every host's software and how the figures were
found. Self-contained (styles inline, no scripts, fonts, images or links to fetch). Pure."""

from __future__ import annotations

import re
from typing import Any

from muni_watchdog import __version__
from muni_watchdog.core.durations import humanize
from muni_watchdog.reports.assessment import Assessment, Recovery, ServiceLine
from muni_watchdog.reports.assessment_findings import (
    method_part,
    recommendations_part,
    risks_part,
    security_part,
    software_lists,
)
from muni_watchdog.reports.assessment_markup import (
    date_text,
    e,
    inline_svg,
    mark,
    short_date,
    support_words,
    table,
)
from muni_watchdog.reports.assessment_style import CSS
from muni_watchdog.reports.words import plural

PARTS = (("services", "Services, ranked by public impact"), ("network", "The network"),
         ("hardware", "Hardware"), ("software", "Software"),
         ("recovery", "Backup and recovery risks"), ("security", "Security posture"),
         ("recommendations", "Recommendations"), ("software-lists", "Appendix A: installed "
                                                  "software per host"),
         ("method", "Appendix B: where these figures come from"))


# ---- cover ------------------------------------------------------------------------------------

def glance(a: Assessment) -> list[str]:
    """The cover's sentences: each part in one line."""
    lines = []
    if a.services:
        top = a.services[0]
        lines.append(f"{plural(len(a.services), 'service')}; the most important: {top.name} "
                     f"(P{top.priority}).")
    old = sum(1 for h in a.hardware if h.get("hardware_status") == "past_life")
    unsupported = sum(1 for h in a.hardware if h.get("os_support") == "out_of_support")
    lines.append(f"{plural(len(a.hardware), 'device')} inventoried: {unsupported} running an "
                 f"operating system out of support, {old} older than the replacement age of "
                 "their class.")
    drills = sum(1 for r in a.risks if r.kind == "never_drilled")
    lines.append(f"{plural(len(a.risks), 'backup and recovery risk')}"
                 + (f", {drills} of them a service never drilled" if drills else "") + ".")
    waiting = sum(u["pending"] for u in a.security.updates)
    hosts = sum(1 for u in a.security.updates if u["pending"])
    text = f"{plural(waiting, 'security update')} waiting on {plural(hosts, 'host')}"
    if a.security.vulnerabilities is not None:
        kev = sum(v["kev"] for v in a.security.vulnerabilities)
        text += f"; {plural(kev, 'known-exploited vulnerability', 'known-exploited vulnerabilities')}"
    if a.security.exposure is not None:
        text += f"; {plural(len(a.security.exposure), 'open door')}"
    lines.append(text + ".")
    unmonitored = len(a.network.get("unmonitored") or [])
    if unmonitored:
        lines.append(f"{plural(unmonitored, 'device')} seen on the network but not monitored.")
    return lines


def _cover(a: Assessment) -> str:
    since = f" from continuous monitoring since {date_text(a.monitored_since, a.timezone)}" \
        if a.monitored_since else ""
    figures = (("Services", len(a.services)), ("Devices", len(a.hardware)),
               ("Network links", len(a.network.get("edges") or [])),
               ("Recommendations", len(a.recommendations)))
    top = "".join(f"<li><strong>{e(r.title)}</strong> (P{r.priority or '-'})</li>"
                  for r in a.recommendations[:5])
    contents = "".join(f'<li><a href="#{pid}">{e(title)}</a></li>' for pid, title in PARTS)
    return (
        '<header class="cover"><p class="kicker">Information technology assessment</p>'
        f"<h1>{e(a.site)}</h1>"
        f'<p class="meta">Prepared {date_text(a.generated_at, a.timezone)}{e(since)}, by '
        f"muni-watchdog {e(__version__)}. Every figure is what the town's own devices and "
        "servers reported; nothing here is an estimate unless it says so.</p>"
        '<dl class="figures">' + "".join(f"<div><dt>{e(k)}</dt><dd>{v}</dd></div>"
                                         for k, v in figures) + "</dl>"
        "<h3>At a glance</h3><ul class=\"glance\">"
        + "".join(f"<li>{e(line)}</li>" for line in glance(a)) + "</ul>"
        + (f"<h3>First recommendations</h3><ol>{top}</ol>" if top else "")
        + f"<nav><h3>Contents</h3><ol>{contents}</ol></nav></header>")


# ---- services -------------------------------------------------------------------------------

def rpo_words(s: ServiceLine, tz: str) -> str:
    r = s.recovery
    if not r.backups:
        return mark("bad", "not shown: no backup is configured") if s.holds_data else \
            mark("unknown", "no backup needed: its devices hold no data of the town's")
    if r.data_age is None:
        return mark("unknown", "not shown: no restore test yet")
    verdict = mark("good", "met") if r.rpo_met else mark("bad", "missed")
    return (f"{verdict}: the newest backup was {e(humanize(r.data_age))} old at the restore "
            f"test of {e(short_date(r.last_test_at, tz))}")


def rto_words(s: ServiceLine, tz: str) -> str:
    r = s.recovery
    if not r.backups and not s.holds_data:
        return mark("unknown", "by repairing or replacing the devices")
    if r.restore_seconds is None:
        return mark("unknown", "not shown: no restore measured or estimated")
    verdict = mark("good", "met") if r.rto_met else mark("bad", "missed")
    how = (f"a full restore took {e(humanize(r.restore_seconds))} in the drill of "
           if r.restore_measured else
           f"a full restore is estimated at {e(humanize(r.restore_seconds))} from the test of ")
    return f"{verdict}: {how}{e(short_date(r.restore_at, tz))}"


def tests_words(r: Recovery, tz: str) -> str:
    if not r.backups:
        return "-"
    if r.last_test_at is None:
        return mark("bad", "never tested")
    last = mark("good", "passed") if r.last_test_passed else mark("bad", "failed")
    return (f"{e(plural(r.tests_run, 'test'))} in the last 90 days, {r.tests_passed} passed; "
            f"latest {e(short_date(r.last_test_at, tz))}: {last}")


def drill_words(a: Assessment, r: Recovery) -> str:
    parts = []
    if r.last_full_drill:
        parts.append(f"full restore measured {e(short_date(r.last_full_drill, a.timezone))}")
    if r.last_drill:
        d = r.last_drill
        when = d.get("ended_at") or d.get("started_at") or ""
        parts.append(f"exercise &ldquo;{e(d.get('scenario') or 'drill')}&rdquo; "
                     f"{e(str(when)[:10])}")
    if parts:
        return "; ".join(parts)
    return mark("unknown", "none recorded" if a.drills_recorded else
                 "no full restore measured; exercises are not recorded yet")


def _services(a: Assessment) -> str:
    cards = []
    for s in a.services:
        rows = [("What the public loses", e(s.impact) or "-"),
                ("Owner", f"{e(s.owner)}; backup: {e(s.backup_owner)}"),
                ("Runs on", e(", ".join(s.targets)) or "-"),
                ("Backups", e(", ".join(s.recovery.backups)) or mark(
                    "bad" if s.holds_data else "unknown", "none")),
                (f"Recovery point (RPO {humanize(s.rpo)})", rpo_words(s, a.timezone)),
                (f"Recovery time (RTO {humanize(s.rto)})", rto_words(s, a.timezone)),
                ("Restore tests", tests_words(s.recovery, a.timezone)),
                ("Drills", drill_words(a, s.recovery))]
        body = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in rows)
        cards.append(f'<div class="card p{s.priority}"><h3>P{s.priority} &middot; {e(s.name)}'
                     f"</h3><table>{body}</table></div>")
    if not cards:
        return "<p>No services are configured.</p>"
    return ("<p>Priority 1 is the highest public impact. RTO: how long the service may take "
            "to come back; RPO: how much recent data it may lose. Each is shown met only by a "
            "restore test or a drill, never assumed.</p>" + "".join(cards))


# ---- network ----------------------------------------------------------------------------------

def _network(a: Assessment) -> str:
    net = a.network
    names = {n["id"]: n["name"] for n in net.get("nodes") or []}
    if not names:
        return ("<p>No device has reported its neighbours yet: the SNMP devices' neighbors "
                "check reads LLDP and CDP every 6 hours.</p>")
    if a.svg:
        figure = (f'<figure class="diagram">{inline_svg(a.svg)}<figcaption>Drawn from what the '
                  "devices advertise (LLDP, CDP); each link is labelled with the port at each "
                  "end. Dashed: devices seen but not monitored.</figcaption></figure>")
    else:
        figure = f'<p class="warn">The diagram could not be drawn: {e(a.svg_error or "")}</p>'
    links = table(("Device", "Port", "Device", "Port", "Protocol", "First seen"), [
        (e(names.get(x["a"], x["a"])), e(x["a_port"] or "-"), e(names.get(x["b"], x["b"])),
         e(x["b_port"] or "-"), e("+".join(p.upper() for p in x["protocols"])),
         e((x.get("first_seen") or "-")[:10])) for x in net.get("edges") or []])
    unmonitored = net.get("unmonitored") or []
    seen = ""
    if unmonitored:
        seen = "<h3>Seen, not monitored</h3>" + table(
            ("Device", "Class", "Address", "Seen on", "To monitor it"),
            [(e(u["name"]), e(u["class"]), e(u["address"] or "-"),
              e(", ".join(f"{names.get(s['device'], s['device'])} {s['port']}"
                          for s in u["seen_from"])),
              f"<code>{e(u['discover'])}</code>" if u["discover"] else
              "no address advertised") for u in unmonitored])
    return figure + "<h3>Links</h3>" + links + seen


# ---- hardware and software ------------------------------------------------------------------

def age_words(row: dict[str, Any]) -> str:
    """"9 years" (made), "at least 7 years" (first seen), with the replacement age below."""
    status, days = row.get("hardware_status"), row.get("age_days")
    if status == "virtual":
        return mark("unknown", f"virtual machine ({row.get('virtualization')})")
    seen = row.get("age_basis") == "first seen"
    if days is None or (seen and days < 365):
        first = (row.get("first_seen") or "")[:10]
        return mark("unknown", "not known" + (f" (first seen {first})" if first else ""))
    years = days / 365.25
    shown = plural(int(years), "year") if years >= 2 else plural(int(days // 30.44), "month")
    cls = {"past_life": "bad", "replace_soon": "warn", "within_life": "good"}.get(
        status or "", "unknown")
    life = f'<br><span class="note">replace after {row["replace_after_years"]} years' \
        "</span>" if row.get("replace_after_years") else ""
    return mark(cls, ("at least " if seen else "") + shown) + life


def _gib(n: int | None) -> str:
    return f"{n / 1024 ** 3:.0f} GiB" if n else ""


def _cpu(text: str | None) -> str | None:
    """"12 × Intel Core i5-10500 @ 3.10GHz": without (R), (TM) and "CPU"."""
    if not text:
        return None
    return " ".join(re.sub(r"\((?:R|TM)\)|\bCPU\b", "", text, flags=re.I).split())


def _hardware(a: Assessment) -> str:
    if not a.hardware:
        return "<p>No device has been inventoried yet.</p>"
    rows = []
    for h in a.hardware:
        vendor, model = h.get("vendor") or "", h.get("model") or ""
        model = model if vendor and model.lower().startswith(vendor.lower()) else \
            f"{vendor} {model}".strip() or "-"
        serial = f"<br>S/N {e(h['serial'])}" if h.get("serial") else ""
        detail = ", ".join(x for x in (_cpu(h.get("cpu")), _gib(h.get("memory_bytes")) and
                                       f"{_gib(h.get('memory_bytes'))} RAM",
                                       h.get("disk_bytes") and
                                       f"{h['disk_bytes'] / 1e12:.1f} TB disk") if x)
        rows.append((f"<strong>{e(h['name'])}</strong><br>"
                     f"{e(h.get('equipment_class') or h.get('device_class') or '-')}, "
                     f"{e(h.get('host') or '')}",
                     e(model) + serial
                     + (f'<br><span class="note">{e(detail)}</span>' if detail else ""),
                     e(h.get("firmware_or_os") or "-"), age_words(h), support_words(h),
                     "<br>".join(f"P{p} {e(n)}" for n, p in sorted(
                         h.get("services") or [], key=lambda x: x[1])) or "-"))
    return ("<p>Age from the manufacture date when the device reports it, else from when "
            "it was first seen (then at least that old), against the replacement age of "
            "its class.</p>"
            + table(("Device", "Vendor, model, serial", "Firmware or OS", "Age",
                      "OS support", "Services"), rows))


def _software(a: Assessment) -> str:
    if not a.software:
        return "<p>No host has listed its installed software yet.</p>"
    rows = [(e(h.name), e(h.os or "-"), e(h.manager or "-"), str(len(h.entries)))
            for h in a.software]
    return ("<p>Every package or program each host lists, with its version, is in Appendix A "
            "and in <code>software.csv</code>.</p>"
            + table(("Host", "Operating system", "Listed by", "Installed"), rows, (3,)))


def render_assessment(a: Assessment) -> str:
    bodies = {"services": _services(a), "network": _network(a), "hardware": _hardware(a),
              "software": _software(a), "recovery": risks_part(a), "security": security_part(a),
              "recommendations": recommendations_part(a), "software-lists": software_lists(a),
              "method": method_part(a)}
    sections = "".join(f'<section class="part" id="{pid}"><h2>{e(title)}</h2>{bodies[pid]}'
                       "</section>" for pid, title in PARTS)
    title = f"IT assessment: {a.site} ({short_date(a.generated_at, a.timezone)})"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>{_cover(a)}{sections}"
            f"<footer>{e(title)}. Generated {e(a.generated_at.isoformat(timespec='minutes'))}"
            "; inventory.csv, software.csv and network.svg accompany this document.</footer>"
            "</body></html>\n")
