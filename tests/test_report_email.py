"""The monthly report as an email through a real SMTP server, and as a page in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from muni_watchdog.reports.deliver import monthly_report, send_monthly_report
from muni_watchdog.reports.render import render_monthly_html, render_monthly_text
from tests.report_fixture import NOW, build, make_config

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
EXTERNAL = re.compile(r"""(src|href|url)\s*[=(]\s*["']?\s*(https?:|//)""", re.I)


def test_html_is_email_safe_and_text_says_the_same(tmp_path):
    report = monthly_report(build(tmp_path), make_config(), 2026, 11, NOW)
    page = render_monthly_html(report)
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "@font-face" not in page and "<link" not in page.lower()
    assert not EXTERNAL.search(page)
    text = render_monthly_text(report)
    for phrase in ("Town of Example: IT report for November 2026", "Owner: Dana",
                   "3 restore tests run, 2 passed", "measured in a full drill",
                   "openssl (10 days)", "vendor upgrade scheduled",
                   "new problem: pay (website)"):
        assert phrase in text or phrase in page


@pytest.mark.integration
def test_sent_through_smtp_with_html_and_text_parts_and_archived(tmp_path, smtp_server):
    store = build(tmp_path)
    config = make_config(smtp_server.port)
    path = send_monthly_report(config, store, tmp_path / "state", NOW)
    assert path == tmp_path / "state" / "reports" / "2026-11.html"
    assert "<table" in path.read_text()
    assert smtp_server.wait_for(1, timeout=10)
    message = smtp_server.messages[0]
    assert str(message["Subject"]) == "Town of Example: IT report for November 2026"
    parts = {p.get_content_type(): p.get_content() for p in message.walk()
             if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "proven restorable" in parts["text/html"]
    assert "Email" in parts["text/plain"] and "<table" not in parts["text/plain"]
    assert not EXTERNAL.search(parts["text/html"])
    # its figures are kept for later months' trends
    assert store.report_months()["2026-11"]["resident_facing_outage_minutes"] == 80.0


CHROMIUM = shutil.which("chromium")


@pytest.mark.integration
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                    "(scripts/setup.sh installs it)")
def test_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    report = monthly_report(build(tmp_path), make_config(), 2026, 11, NOW)
    page = tmp_path / "report.html"
    page.write_text(render_monthly_html(report), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "monthly-report.png"
    shot.unlink(missing_ok=True)
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1000,2000", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    (ARTIFACTS / "monthly-report.html").write_text(page.read_text())
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 2000)
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 50                       # text, bars and backgrounds, not blank
    # the green and red availability bars and the blue trend bars are drawn
    pixels = {c for _, c in colours}
    assert (46, 125, 50) in pixels or (198, 40, 40) in pixels
    assert (31, 95, 153) in pixels
