"""The assessment's findings laid out: the backup and recovery risks, the security posture,
the recommendations, and the appendices (every host's software, where the figures come
from). Pure."""

from __future__ import annotations

from muni_watchdog.reports.assessment import Assessment
from muni_watchdog.reports.assessment_markup import e, mark, support_words, table
from muni_watchdog.reports.words import plural


def software_lists(a: Assessment) -> str:
    parts = []
    for h in a.software:
        items = "".join(f"<li>{e(x.get('name'))} <span class=\"v\">{e(x.get('version') or '')}"
                        "</span></li>" for x in h.entries)
        parts.append(f"<h3>{e(h.name)} ({e(plural(len(h.entries), 'entry', 'entries'))})</h3>"
                     f'<ul class="software-list">{items}</ul>')
    return "".join(parts) or "<p>None listed.</p>"


# ---- risks, security, advice ------------------------------------------------------------------

def risks_part(a: Assessment) -> str:
    if not a.risks:
        return "<p>No backup or recovery risk was found: every service's backup was restored " \
               "recently within its targets.</p>"
    return table(("Service", "Priority", "Risk"), [
        (e(r.service), f"P{r.priority}", e(r.text)) for r in a.risks])


def security_part(a: Assessment) -> str:
    sec = a.security
    parts = ["<h3>Security updates waiting</h3>"]
    if sec.updates:
        parts.append(table(("Host", "Waiting", "Oldest", "Policy", "Reboot needed"), [
            (e(u["name"]), str(u["pending"]),
             mark("bad" if (u["oldest_days"] or 0) > u["policy_days"] else "good",
                   plural(int(u["oldest_days"]), "day")) if u["oldest_days"] is not None
             else "-", e(f"{u['policy_days']:g} days"), e(u["reboot"] or "no"))
            for u in sec.updates], (1,)))
    else:
        parts.append("<p>No host reports its pending updates (the SSH patches check).</p>")
    parts.append("<h3>Known vulnerabilities</h3>")
    if sec.vulnerabilities is None:
        parts.append("<p>No vulnerability scan results are recorded.</p>")
    else:
        parts.append(table(("Host", "Findings", "Fixable", "Known exploited", "Example"), [
            (e(v["name"]), str(v["findings"]), str(v["fixable"]),
             mark("bad", str(v["kev"])) if v["kev"] else "0",
             e(" ".join(str(x) for x in ((v["top"] or [{}])[0].get("cve"),
                                        (v["top"] or [{}])[0].get("package")) if x) or "-"))
            for v in sec.vulnerabilities], (1, 2, 3)))
    parts.append("<h3>Open doors</h3>")
    if sec.exposure is None:
        parts.append("<p>No exposure checks have run.</p>")
    elif not sec.exposure:
        parts.append("<p>None found on the checked devices.</p>")
    else:
        parts.append(table(("Device", "Finding", "Where", "Severity", "Fix"), [
            (e(x["name"]), e(x.get("title")), e(x.get("where")),
             mark("bad" if x.get("severity") == "CRITICAL" else "warn", x.get("severity")),
             e(x.get("fix"))) for x in sec.exposure]))
    parts.append("<h3>Operating systems out of support or ending soon</h3>")
    parts.append(table(("Device", "Operating system", "Support"), [
        (e(h["name"]), e(h.get("firmware_or_os")), support_words(h))
        for h in sec.unsupported]) if sec.unsupported else "<p>None.</p>")
    return "".join(parts)


def recommendations_part(a: Assessment) -> str:
    if not a.recommendations:
        return "<p>Nothing to recommend from what was observed.</p>"
    items = []
    for r in a.recommendations:
        who = f'<br><span class="who">Owner: {e(r.owner)}</span>' if r.owner else ""
        items.append(f"<li><strong>{e(r.title)}</strong> <span class=\"pill\">"
                     f"{'P' + str(r.priority) if r.priority else 'no service'}</span><br>"
                     f"{e(r.why)}{who}</li>")
    return ("<p>First what endangers the town's most important services most. Each says why; "
            "none names a product or vendor.</p>" + f'<ol class="advice">{"".join(items)}</ol>')


def method_part(a: Assessment) -> str:
    years = ", ".join(f"{k} {v}" for k, v in sorted(a.replacement_years.items()))
    return (
        "<ul><li>Devices, models, serials and firmware: SNMP (ENTITY-MIB, HOST-RESOURCES-MIB, "
        "the vendors' MIBs) and SSH (<code>/etc/os-release</code>, <code>/proc</code>, "
        "<code>lsblk</code>, <code>/sys/class/dmi/id</code>; Windows CIM), read without "
        "administrator rights.</li>"
        "<li>Software: <code>dpkg-query</code>, <code>rpm -qa</code>, the Windows uninstall "
        "registry keys, HOST-RESOURCES-MIB; every 6 hours.</li>"
        "<li>Network: LLDP and CDP neighbour tables of the monitored devices, every 6 hours; "
        "a link's first-seen date is when monitoring first saw it.</li>"
        "<li>Operating-system support ends: the vendors' published lifecycle pages (data as "
        f"of {e(a.lifecycle_as_of or '?')}); within 180 days of the end it is flagged.</li>"
        f"<li>Replacement ages in years: {e(years)}; the town may set its own.</li>"
        "<li>Recovery: restore tests restore a sample of each backup and check it; a full "
        "drill restores everything and measures the time.</li></ul>")
