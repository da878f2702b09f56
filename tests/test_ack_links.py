"""Acknowledge links (signed, per incident and recipient, expiring; short ones for SMS), the
key that signs them, and messages that name the site and carry each recipient's own link."""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, datetime, timedelta

import pytest
from apprise import NotifyFormat
from apprise.conversion import convert_between

from muni_watchdog.alerting.ack_links import (
    AckLinks,
    LinkError,
    SigningKeyError,
    load_key,
    recipient_name,
)
from muni_watchdog.alerting.messages import MessageWriter
from muni_watchdog.alerts.render import (
    AlertInfo,
    ServiceInfo,
    layout,
    notice_message,
    personalise,
    problem_message,
    stamp,
)
from muni_watchdog.config.loading import parse_config
from muni_watchdog.core.signing import TokenError, sign, unsign
from muni_watchdog.store.database import Store
from tests.web_fixture import make_incident, site_config

NOW = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


@pytest.fixture
def site(tmp_path):
    config = parse_config(site_config(8080), "t.yaml")
    store = Store.open(tmp_path / "state")
    return config, store, AckLinks(config, store, load_key(tmp_path / "state"))


def test_key_is_created_0600_on_first_use_and_then_kept(tmp_path):
    key = load_key(tmp_path)
    path = tmp_path / "web-secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(key) >= 32
    assert load_key(tmp_path) == key                       # the same key next time
    os.chmod(path, 0o644)                                  # loosened by someone: tightened
    assert load_key(tmp_path) == key and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short\n")
    with pytest.raises(SigningKeyError, match="shorter than 32"):
        load_key(tmp_path)


def test_key_from_a_systemd_credential(tmp_path, monkeypatch):
    (tmp_path / "web.key").write_text("k" * 40 + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert load_key(None, "web.key") == b"k" * 40
    assert not (tmp_path / "web-secret.key").exists()
    (tmp_path / "weak.key").write_text("k" * 10)
    with pytest.raises(SigningKeyError, match="at least 32"):
        load_key(None, "weak.key")


def test_signed_tokens_refuse_any_change_and_other_purposes():
    key = b"x" * 32
    token = sign(key, "ack-link", {"i": 1, "r": "oncall", "e": 5})
    assert unsign(key, "ack-link", token) == {"i": 1, "r": "oncall", "e": 5}
    body, mac = token.split(".")
    for bad in (f"{body}.{mac[:-1]}A" if mac[-1] != "A" else f"{body}.{mac[:-1]}B",
                token + "x", body, "", f"{body}.{mac}.{mac}", token.replace(body, body[:-2])):
        with pytest.raises(TokenError):
            unsign(key, "ack-link", bad)
    with pytest.raises(TokenError):                         # a session token is no link
        unsign(key, "session", token)
    with pytest.raises(TokenError):                         # nor under another key
        unsign(b"y" * 32, "ack-link", token)


def test_long_link_checks_signature_expiry_and_keeps_its_recipient(site):
    config, store, links = site
    url = links.long_link(7, "oncall", NOW)
    assert url.startswith("http://127.0.0.1:8080/ack/")
    token = url.rsplit("/", 1)[1]
    claim = links.check(token, NOW + timedelta(hours=23))
    assert (claim.incident, claim.recipient) == (7, "oncall")
    with pytest.raises(LinkError) as expired:
        links.check(token, NOW + timedelta(hours=24, seconds=1))
    assert expired.value.kind == "expired"
    # the recipient changed in the payload (another person's link): the signature fails
    import base64
    import json
    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["r"] = "backup"
    forged = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"),
                                                 sort_keys=True).encode()).rstrip(b"=")
    with pytest.raises(LinkError) as other:
        links.check(f"{forged.decode()}.{mac}", NOW)
    assert other.value.kind == "forged"


def test_short_links_are_kept_server_side_and_unguessable(site):
    config, store, links = site
    make_incident(config, store, now=NOW)
    url = links.short_link(1, "sms", NOW)
    token = url.rsplit("/a/", 1)[1]
    assert len(url) <= 50 and len(token) == 11
    assert store.short_link(token)["recipient"] == "sms"
    assert links.check(token, NOW, short=True).recipient == "sms"
    for guess in ("aaaaaaaaaaa", token[:-1], "x" * 200, ""):
        with pytest.raises(LinkError):
            links.check(guess, NOW, short=True)
    with pytest.raises(LinkError, match="expired"):
        links.check(token, NOW + timedelta(days=2), short=True)


def test_recipient_name_prefills_who_acknowledges(site):
    config, _store, _links = site
    assert recipient_name(config, "oncall") == "Ann Owner"
    assert recipient_name(config, "backup") == "Bo Backup"
    assert recipient_name(config, "sms") == "sms"


def alert(incident=12, summary="HTTP 503 Service Unavailable"):
    return AlertInfo(site="Town of Ashby", timezone="UTC", kind="problem", state="critical",
                     previous_state="ok", target="portal", host="10.0.0.5", check="http",
                     summary=summary, since=NOW, at=NOW + timedelta(minutes=3),
                     services=(ServiceInfo("pay", "Online payments", 1, "Ann", "Bo",
                                           "Residents cannot pay."),),
                     priority=1, incident=incident,
                     recent=((NOW, "critical", summary), (NOW, "critical", summary)))


def test_every_layout_names_the_site_and_carries_the_recipients_link():
    url = "https://watchdog.ashby.example/ack/" + "A" * 120 + "." + "B" * 43
    message = personalise(stamp(problem_message("Town of Ashby", [alert()]), "Ashby"),
                          {12: url})
    title, body, _ = layout(message, "email")
    assert title.startswith("[Ashby] [P1 CRITICAL] Online payments — portal/http")
    assert f'href="{url}"' in body and "Acknowledge incident 12" in body
    assert body.index(url) < body.index("muni-watchdog ack 12 ")   # the link above the command
    title, card, fmt = layout(message, "teams")
    assert title.startswith("[Ashby] ") and fmt == "markdown"
    assert f"[Acknowledge incident 12]({url})" in card and len(title) + len(card) < 1000
    short = personalise(stamp(problem_message("Town of Ashby", [alert(
        summary="x" * 200)]), "Ashby"), {12: "https://watchdog.ashby.example/a/AbCdEfGhIjK"})
    _, sms, _ = layout(short, "sms")
    assert len(sms) <= 160 and sms.startswith("Ashby: P1 CRITICAL portal/http: xxx")
    assert sms.endswith(" https://watchdog.ashby.example/a/AbCdEfGhIjK")  # kept whole
    _, plain_sms, _ = layout(stamp(problem_message("Town of Ashby", [alert()]), "Ashby"), "sms")
    assert plain_sms.endswith(" ack 12") and len(plain_sms) <= 160


def test_message_writer_gives_each_channel_its_own_link(tmp_path):
    config = parse_config(site_config(8080).replace("http://127.0.0.1:8080",
                                                    "https://watchdog.ashby.example"), "t.yaml")
    store = Store.open(tmp_path / "state")
    make_incident(config, store, now=NOW)
    rows = {r["channel"]: r for r in store.notifications()}
    assert set(rows) == {"oncall", "sms"}
    email_link = re.search(r'href="(https://watchdog\.ashby\.example/ack/[^"]+)"',
                           rows["oncall"]["body"])[1]
    links = AckLinks(config, store, load_key(tmp_path / "state"))
    assert links.check(email_link.rsplit("/", 1)[1], NOW).recipient == "oncall"
    sms = rows["sms"]["body"]
    assert sms.startswith("Ashby: P1 CRITICAL mail/tcp") and len(sms) <= 160
    short = re.search(r"/a/(\S+)$", sms)[1]
    assert links.check(short, NOW, short=True).recipient == "sms"
    # the printed command works as printed: it names this (non-default) state directory
    assert f"muni-watchdog ack 1 --state-dir {tmp_path / 'state'} --by" in rows["oncall"]["body"]


def test_no_public_url_no_links(tmp_path):
    config = parse_config(site_config(8080).replace(
        "    public_url: http://127.0.0.1:8080\n", ""), "t.yaml")
    store = Store.open(tmp_path / "state")
    make_incident(config, store, now=NOW)
    assert all("/ack/" not in r["body"] and "/a/" not in r["body"]
               for r in store.notifications())
    assert MessageWriter(config, store).links is None


def test_email_text_part_is_single_spaced_and_html_is_fluid():
    message = personalise(stamp(problem_message("Town of Ashby", [alert()]), "Ashby"),
                          {12: "https://w.example/ack/t.s"})
    _, page, _ = layout(message, "email")
    text = convert_between(NotifyFormat.HTML, NotifyFormat.TEXT, page)
    results = text[text.index("Last results:"):].splitlines()[:3]
    assert results[1].endswith("CRITICAL HTTP 503 Service Unavailable")
    assert results[2].endswith("CRITICAL HTTP 503 Service Unavailable")  # no blank between
    assert "https://w.example/ack/t.s" in text    # a text-only mail client gets the link too
    # no fixed width anywhere: only 100 % and max-width
    assert not re.search(r'width="\d+"', page) and not re.search(r"(?<!max-)width:\s*\d+px",
                                                                 page)
    assert 'width="100%"' in page and "max-width:640px" in page


def test_html_in_reasons_is_escaped_in_emails():
    message = stamp(notice_message("Town <b>of</b> Ashby", "[Maintenance ended] <script>x()"
                                   "</script>", ["Reason given: <img src=x onerror=alert(1)>"],
                                   "s"), "Ashby")
    _, page, _ = layout(message, "email")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page and "&lt;img src=x" in page


def test_html_in_reasons_is_escaped_in_reports(tmp_path):
    from muni_watchdog.reports.deliver import digest, monthly_report
    from muni_watchdog.reports.digest import render_digest_html
    from muni_watchdog.reports.render import render_monthly_html
    from tests.report_fixture import NOW as REPORT_NOW
    from tests.report_fixture import build, make_config

    store = build(tmp_path)
    evil = "<script>alert(1)</script>"
    store.add_exception("pay", "*", f"Kim {evil}", f"driver {evil}",
                        datetime(2026, 12, 5, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))
    store.add_maintenance([], ["email"], "Dana", f"night {evil}",
                          datetime(2026, 11, 22, 2, tzinfo=UTC),
                          datetime(2026, 11, 22, 4, tzinfo=UTC), None,
                          datetime(2026, 11, 21, tzinfo=UTC))
    page = render_monthly_html(monthly_report(store, make_config(), 2026, 11, REPORT_NOW))
    weekly = render_digest_html(digest(store, make_config(), REPORT_NOW))
    for html_text in (page, weekly):
        assert "<script>" not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page + weekly
