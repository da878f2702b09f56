"""Incident communication and drills in the web console, over real HTTP against the daemon run
as a process: public updates (roles, CSRF, another origin, escaping, the audit log under the
user's name, the SMTP capture through the ``kind: update`` route, the exported status page),
the post-incident review and report, the drill lifecycle through the forms as ``drill list
--json`` reports it, follow-ups marked done and added to an ended drill, the residents'
status page served without login at /status and /status.json (the export's very files, no
internal name, no drill, GET only) and the maintenance announcement."""

from __future__ import annotations

import difflib
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.comms_fixture import leaked
from tests.comms_web_fixture import INTERNAL, CommsTown, wait_until

pytestmark = pytest.mark.integration
XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    town = CommsTown(tmp_path_factory.mktemp("ashby-comms"))
    yield town
    town.stop()


def portal_incident(town) -> dict:
    return wait_until(lambda: town.incident_of("portalhost-zq"), 60, "the portal's incident")


def test_update_needs_oncall_a_token_and_the_console_origin(town):
    number = portal_incident(town)["id"]
    path = f"/incidents/{number}/update"
    form = {"text": "forged", "residents_can": "", "next_update": "", "status": ""}
    anonymous = requests.post(town.url + path, data=form, headers={"Origin": town.url},
                              allow_redirects=False, timeout=10)
    assert anonymous.status_code == 403 and "not logged in" in anonymous.text
    vera = town.login("vera")
    viewer = town.post(vera, path, form, page=f"/incidents/{number}")
    assert viewer.status_code == 403 and "needs the oncall role" in viewer.text
    assert f'action="/incidents/{number}/update"' not in \
        vera.get(f"{town.url}/incidents/{number}", timeout=10).text   # no form for a viewer
    otto = town.login("otto")
    no_token = town.post(otto, path, form, token=False)
    assert no_token.status_code == 403 and "security token" in no_token.text
    cross = town.post(otto, path, form, page=f"/incidents/{number}",
                      origin="http://evil.example")
    assert cross.status_code == 403 and "another site" in cross.text
    assert town.read(lambda s: s.updates(number)) == []


def test_bad_update_comes_back_with_the_error_and_changes_nothing(town):
    number = portal_incident(town)["id"]
    otto = town.login("otto")
    page = f"/incidents/{number}"
    empty = town.post(otto, f"{page}/update", {"text": "  ", "residents_can": "Call us"},
                      page=page)
    assert empty.status_code == 400 and "say what is being done" in empty.text
    assert 'value="Call us"' in empty.text                     # what was typed is kept
    past = town.post(otto, f"{page}/update", {"text": "Working", "next_update": "yesterday"},
                     page=page)
    assert past.status_code == 400 and "Next update:" in past.text
    assert town.read(lambda s: s.updates(number)) == []
    missing = town.post(otto, "/incidents/999/update", {"text": "x"}, page=page)
    assert missing.status_code == 404


def test_update_is_escaped_audited_mailed_and_on_the_status_page(town):
    number = portal_incident(town)["id"]
    otto = town.login("otto")
    page = f"/incidents/{number}"
    answer = town.post(otto, f"{page}/update", {
        "text": f"Restoring the portal {XSS}", "residents_can": "Pay by phone at 555-0199.",
        "next_update": "45m", "status": "degraded"}, page=page)
    assert answer.status_code == 303 and answer.headers["Location"] == f"{page}#updates"
    shown = otto.get(town.url + page, timeout=10).text
    assert "<script>window.pwned" not in shown and "&lt;script&gt;window.pwned=1" in shown
    assert "Update 1" in shown and "Pay by phone at 555-0199." in shown
    assert 'id="next-update-due"' in shown and "degraded" in shown
    rows = town.read(lambda s: s.updates(number))
    assert [(u["by"], u["status"]) for u in rows] == [("otto", "degraded")]
    due = datetime.fromisoformat(rows[0]["next_update_by"])
    assert timedelta(minutes=44) < due - datetime.now(UTC) <= timedelta(minutes=45)
    audit = town.read(lambda s: s.audit_for(f"incident {number}"))
    assert any(a["actor"] == "otto" and a["action"] == "incident update" for a in audit)
    # through the route of kind 'update' to the communications officer, in plain words
    mail = wait_until(lambda: town.mails("comms@", "Update 1"), 60, "the update email")[0]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Online utility payments" in str(mail["Subject"]) and "Restoring the portal" in text
    assert "portalhost-zq" not in text and "portalhost-zq" not in str(mail["Subject"])
    assert town.mails("oncall@", "Update 1") == []          # not the technical route
    # the exported status page (the daemon's job) and the console's public page carry it,
    # as text: the <script> is inert
    index = town.public / "index.html"
    exported = wait_until(lambda: index.exists() and "Restoring the portal" in
                          index.read_text() and index.read_text(), 30, "the export")
    public = requests.get(town.url + "/status", timeout=10).text      # no login
    for page in (exported, public):
        assert "Restoring the portal" in page and "&lt;script&gt;window.pwned=1" in page
        assert "<script" not in page.lower() and "<img" not in page.lower()
        assert leaked(page, INTERNAL) == []
    assert 'href="/status"' in otto.get(town.url + "/", timeout=10).text   # in the nav


def test_maintenance_announcement_reaches_the_status_page(town):
    otto = town.login("otto")
    answer = town.post(otto, "/maintenance", {
        "services": "payments", "kind": "once", "start": "+2d", "end": "+2d2h",
        "owner": "otto", "reason": "vendor upgrade zq-internal",
        "announcement": "Online payments pause Sunday for an upgrade."})
    assert answer.status_code == 303, answer.text
    windows = town.read(lambda s: s.maintenance_windows())
    assert [w["announcement"] for w in windows] == ["Online payments pause Sunday for an "
                                                   "upgrade."]
    assert "Online payments pause Sunday" in otto.get(town.url + "/maintenance",
                                                      timeout=10).text
    public = requests.get(town.url + "/status", timeout=10).text
    assert "Online payments pause Sunday for an upgrade." in public
    assert "vendor upgrade zq-internal" not in public       # the reason stays internal


def test_drill_lifecycle_through_the_forms(town):
    vera, otto = town.login("vera"), town.login("otto")
    refused = town.post(vera, "/drills", {"service": "payments", "scenario": "x"},
                        page="/drills")
    assert refused.status_code == 403
    bad = town.post(otto, "/drills", {"service": "payments", "scenario": " "})
    assert bad.status_code == 400 and "say what is being exercised" in bad.text
    started = town.post(otto, "/drills", {"service": "payments",
                                          "scenario": "payment portal down"})
    assert started.status_code == 303
    drill_path = started.headers["Location"]
    number = int(drill_path.rsplit("/", 1)[1])
    drill = town.read(lambda s: s.drill(number))
    assert drill["started_by"] == "otto"
    incident_page = otto.get(f"{town.url}/incidents/{drill['incident_id']}", timeout=10).text
    assert "[DRILL] This is a drill" in incident_page and "payment portal down" in incident_page
    assert "[DRILL]" in otto.get(town.url + "/incidents", timeout=10).text
    wait_until(lambda: town.mails("oncall@", "[DRILL]"), 60, "the [DRILL] page")
    step = town.post(otto, f"{drill_path}/step", {"text": "restored from backup"},
                     page=drill_path)
    assert step.status_code == 303
    back = town.post(otto, f"{drill_path}/step", {"text": "portal back", "recovered": "on"},
                     page=drill_path)
    assert back.status_code == 303
    wrong = town.post(otto, f"{drill_path}/end", {
        "went_well": "fast", "follow_up": ["Runbook", "Restore test"], "owner": ["Sam", ""],
        "due": ["+14d", "+30d"]}, page=drill_path)
    assert wrong.status_code == 400 and "follow-up 2" in wrong.text
    assert town.read(lambda s: s.drill(number))["ended_at"] is None
    ended = town.post(otto, f"{drill_path}/end", {
        "went_well": "Lee took over <b>fast</b>",
        "follow_up": ["Put the vendor's number in the runbook", "Weekly restore test", ""],
        "owner": ["Sam Ortiz", "Lee Park", ""], "due": ["2030-12-15", "+30d", ""]},
        page=drill_path)
    assert ended.status_code == 303
    page = otto.get(town.url + drill_path, timeout=10).text
    assert "restored from backup" in page and "(service back)" in page
    assert "Lee took over &lt;b&gt;fast&lt;/b&gt;" in page and "Weekly restore test" in page
    listed = json.loads(town.cli("drill", "list", "--json").stdout)
    mine = next(d for d in listed["drills"] if d["id"] == number)
    assert mine["ended_at"] and mine["changes"] == 2 and mine["recover_seconds"] is not None
    assert mine["within_90_minutes"] is True
    assert any(d["service"] == "payments" and d["last"] for d in listed["due"])
    drills_page = otto.get(town.url + "/drills", timeout=10).text
    assert f'data-drill="{number}"' in drills_page and "payment portal down" in drills_page
    report = otto.get(f"{town.url}{drill_path}/report", timeout=10)
    assert report.status_code == 200 and "payment portal down" in report.text
    assert report.headers["Content-Security-Policy"].startswith("sandbox")
    audit = town.read(lambda s: s.audit_for(f"drill {number}"))
    assert {a["action"] for a in audit if a["actor"] == "otto"} == {"drill start", "drill step",
                                                                   "drill end"}
    # a follow-up marked done from the Drills page leaves the open list
    follow_up, other = town.read(lambda s: s.follow_ups("drill", number))
    done = town.post(otto, f"/follow-ups/{follow_up['id']}/done",
                     {"note": "added", "next": "/drills"}, page="/drills")
    assert done.status_code == 303 and done.headers["Location"] == "/drills"
    row = town.read(lambda s: s.follow_up(follow_up["id"]))
    assert row["done_by"] == "otto" and row["done_note"] == "added"
    assert f'data-follow-up="{follow_up["id"]}"' not in otto.get(town.url + "/drills",
                                                                 timeout=10).text
    again = town.post(otto, f"/follow-ups/{follow_up['id']}/done", {"note": "x"},
                      page="/drills")
    assert again.status_code == 409 and "done already" in again.text
    evil = town.post(otto, f"/follow-ups/{other['id']}/done",
                     {"next": "//evil.example/"}, page="/drills")
    assert evil.headers["Location"] == "/drills"
    # a change added afterwards, on the ended drill's page: drill follow-up add's function
    add = f"{drill_path}/follow-ups"
    assert 'id="add-follow-up"' in page and 'id="add-follow-up"' not in \
        vera.get(town.url + drill_path, timeout=10).text
    assert town.post(vera, add, {"text": "x", "owner": "y", "due": "+1d"},
                     page=drill_path).status_code == 403
    bad = town.post(otto, add, {"text": "Call tree test", "owner": "Lee Park", "due": "soon"},
                    page=drill_path)
    assert bad.status_code == 400 and 'value="Call tree test"' in bad.text
    no_owner = town.post(otto, add, {"text": "Call tree test", "owner": " ", "due": "+7d"},
                         page=drill_path)
    assert no_owner.status_code == 400 and "needs its text and an owner" in no_owner.text
    assert len(town.read(lambda s: s.follow_ups("drill", number))) == 2
    added = town.post(otto, add, {"text": "Call tree <b>test</b>", "owner": "Lee Park",
                                  "due": "2030-12-15"}, page=drill_path)
    assert added.status_code == 303
    rows = town.read(lambda s: s.follow_ups("drill", number))
    assert (rows[-1]["text"], rows[-1]["owner"], rows[-1]["created_by"]) == \
        ("Call tree <b>test</b>", "Lee Park", "otto")
    assert rows[-1]["due"].startswith("2030-12-16T05:59:59")  # end of the day, Chicago
    assert any(a["action"] == "follow-up add" and a["actor"] == "otto"
               for a in town.read(lambda s: s.audit_for(f"drill {number}")))
    assert "Call tree &lt;b&gt;test&lt;/b&gt;" in otto.get(town.url + drill_path,
                                                           timeout=10).text
    cli = town.cli("drill", "follow-up", "list")
    assert "Call tree <b>test</b>" in cli.stdout


def test_review_form_and_the_post_incident_report(town):
    number = portal_incident(town)["id"]
    town.portal_back()
    wait_until(lambda: town.read(lambda s: s.review(number)), 60, "the drafted review")
    otto = town.login("otto")
    page = f"/incidents/{number}"
    shown = otto.get(town.url + page, timeout=10).text
    assert f'href="/incidents/{number}/report"' in shown and 'id="review-form"' in shown
    assert f'href="/incidents/{number}/report"' in otto.get(town.url + "/incidents",
                                                            timeout=10).text
    vera = town.login("vera")
    assert town.post(vera, f"{page}/review", {"cause": "x"}, page=page).status_code == 403
    bad = town.post(otto, f"{page}/review", {"cause": "cert", "follow_up": ["Ask vendor"],
                                             "owner": ["Sam"], "due": ["someday"]}, page=page)
    assert bad.status_code == 400 and "follow-up 1: due &#39;someday&#39;" in bad.text
    assert 'value="Ask vendor"' in bad.text
    assert not town.read(lambda s: s.review(number))["cause"]
    ok = town.post(otto, f"{page}/review", {
        "cause": f"The certificate renewal restarted it {XSS}",
        "follow_up": ["Ask the vendor for change notices", ""], "owner": ["Sam Ortiz", ""],
        "due": ["2030-12-15", ""]}, page=page)
    assert ok.status_code == 303
    review = town.read(lambda s: s.review(number))
    assert review["reviewed_by"] == "otto" and "certificate renewal" in review["cause"]
    report = otto.get(f"{town.url}{page}/report", timeout=10)
    assert report.headers["Content-Security-Policy"].startswith("sandbox")
    assert "The certificate renewal restarted it" in report.text
    assert "<script>window.pwned" not in report.text
    assert "Ask the vendor for change notices" in report.text and "Sam Ortiz" in report.text
    out = town.tmp / "report.html"
    assert town.cli("incident", "report", str(number), "--out", str(out)).returncode == 0
    assert _without_times(out.read_text()) == _without_times(report.text)
    assert town.read(lambda s: s.updates(number))[-1]["kind"] == "resolved"   # closing update
    assert 'id="post-update"' not in otto.get(town.url + page, timeout=10).text


def _without_times(text: str) -> str:
    """The report names when it was generated; the rest must be the CLI's, byte for byte."""
    import re
    return re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?|\b\d{1,2}:\d{2}\b|"
                  r"\b\d+ (second|minute|hour)s?\b", "T", text)


def test_follow_up_rows_as_a_form_sends_them():
    """The console's rows (what, owner, due) read with the CLI's due-date rule; empty rows are
    skipped and a half-filled one is named."""
    from muni_watchdog.alerting.comms_times import follow_up_rows
    from muni_watchdog.core.when import WhenError
    now = datetime(2026, 11, 24, 13, 40, tzinfo=UTC)
    rows = follow_up_rows([("Runbook", "Sam", "2026-12-15"), ("", "", ""),
                           (" Restore test ", "Lee", "+7d")], "America/Chicago", now)
    assert [(t, o) for t, o, _ in rows] == [("Runbook", "Sam"), ("Restore test", "Lee")]
    assert rows[0][2] == datetime(2026, 12, 16, 5, 59, 59, tzinfo=UTC)  # end of the day, Chicago
    assert rows[1][2] == now + timedelta(days=7)
    with pytest.raises(WhenError, match="follow-up 2: give what"):
        follow_up_rows([("a", "b", "+1d"), ("c", "", "+1d")], "UTC", now)
    with pytest.raises(WhenError, match="follow-up 1: due"):
        follow_up_rows([("a", "b", "soon")], "UTC", now)


# -- the residents' status page, served without login -------------------------------------

def _masked(text: str) -> str:
    """The page without what moves from one second to the next: clock times, durations and
    availability (the 'updated at' line, today's outage so far, the share of time up)."""
    import re
    text = re.sub(r"\b\d+(\.\d+)?\s*%", "P", _without_times(text))
    return re.sub(r"\b\d+(\.\d+)?\s*(s|min|h|d|seconds?|minutes?|hours?|days?)\b", "D",
                  text)


def _json_masked(data: dict) -> dict:
    data = dict(data, generated_at="T")
    for service in data["services"]:
        service["summary"] = _masked(service["summary"])
        for day in service["days"]:
            day["outage_seconds"] = day["unwatched_seconds"] = 0
    return data


def test_public_status_page_needs_no_login_and_is_the_export(town):
    anonymous = requests.Session()
    page = anonymous.get(town.url + "/status", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Online utility payments" in page.text and "/login" not in page.text
    assert "Set-Cookie" not in page.headers and not anonymous.cookies   # no session, no nav
    assert page.headers["Cache-Control"] == "public, max-age=30"
    assert page.headers["X-Frame-Options"] == "DENY"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp                     # default-src 'none': no script at all
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    head = requests.head(town.url + "/status", timeout=10)
    assert head.status_code == 200 and head.headers["Cache-Control"] == "public, max-age=30"
    as_json = anonymous.get(town.url + "/status.json", timeout=10)
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_json.headers["Cache-Control"] == "public, max-age=30"
    assert leaked(page.text, INTERNAL) == [] and leaked(as_json.text, INTERNAL) == []
    # the same files the export writes, for the same moment (times masked)
    index, exported_json = town.public / "index.html", town.public / "status.json"

    last: list[str] = []

    def same() -> bool:
        served = _masked(anonymous.get(town.url + "/status", timeout=10).text)
        data = _json_masked(anonymous.get(town.url + "/status.json", timeout=10).json())
        written = _masked(index.read_text()) if index.exists() else ""
        last[:] = list(difflib.unified_diff(written.splitlines(), served.splitlines(),
                                            "exported", "served", lineterm="", n=0))[:40]
        return served == written and data == _json_masked(json.loads(
            exported_json.read_text()))
    try:
        wait_until(same, 30, "the served page to be the exported one")
    except AssertionError:
        raise AssertionError("\n".join(last) or "the JSON differs") from None
    # a logged-in reader gets the residents' page too: nothing of the console in it
    seen = town.login("otto").get(town.url + "/status", timeout=10).text
    assert "otto" not in seen and 'name="csrf"' not in seen and "/logout" not in seen


def test_public_status_page_refuses_posts(town):
    for path in ("/status", "/status.json"):
        same_site = requests.post(town.url + path, data={"x": "1"},
                                  headers={"Origin": town.url}, timeout=10)
        assert same_site.status_code == 405 and "GET" in same_site.headers["Allow"], path
        assert same_site.headers["X-Frame-Options"] == "DENY"
        assert same_site.headers["Cache-Control"] == "no-store"
        other = requests.post(town.url + path, data={"x": "1"},
                              headers={"Origin": "http://evil.example"}, timeout=10)
        assert other.status_code == 403, path
        for method in ("PUT", "DELETE", "PATCH"):
            assert requests.request(method, town.url + path, headers={"Origin": town.url},
                                    timeout=10).status_code == 405


def test_a_drill_never_reaches_the_public_page(town):
    scenario = "zq-drill-scenario portal outage"
    started = town.cli("drill", "start", "payments", "--scenario", scenario, "--by", "otto")
    assert started.returncode == 0, started.stderr
    drill = next(d for d in town.read(lambda s: s.drills()) if d["scenario"] == scenario)
    otto = town.login("otto")
    assert scenario in otto.get(town.url + "/drills", timeout=10).text     # it is there
    step = town.post(otto, f"/drills/{drill['id']}/step",
                     {"text": "zq-step portal back", "recovered": "on"},
                     page=f"/drills/{drill['id']}")
    assert step.status_code == 303
    for path in ("/status", "/status.json"):
        text = requests.get(town.url + path, timeout=10).text
        assert scenario not in text and "zq-step" not in text, path
        assert "drill" not in text.lower(), path
