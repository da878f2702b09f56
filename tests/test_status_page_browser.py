"""The exported status page in real headless Chromium: what a resident's browser shows (the
DOM after rendering) says the statuses in plain words and no internal name, at a phone's
400 px and a desktop's 1280 px; the screenshots go to test-artifacts/ for people to look at."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

from muni_watchdog.reports.status_export import export_status_page
from muni_watchdog.store.database import Store
from tests.comms_fixture import NOW, build_town, leaked, make_config
from tests.test_report_email import ARTIFACTS

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                 "(scripts/setup.sh installs it)")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-town")
    config = build_town(root)
    store = Store.open(root / "state")
    try:
        export_status_page(store, config, root / "www", NOW)
    finally:
        store.close()
    return root


def chromium(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={root / 'profile'}", *args,
                           (root / "www" / "index.html").as_uri()],
                          check=True, capture_output=True, text=True, timeout=120)


def visible_text(dom: str) -> str:
    body = re.sub(r"(?s)<style.*?</style>", " ", dom)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_rendered_page_says_the_status_and_no_internal_name(exported):
    dom = chromium(exported, "--dump-dom").stdout
    assert "<body" in dom
    text = visible_text(dom)
    for phrase in ("Some services have problems: Online utility payments.",
                   "Online utility payments — unavailable since 06:00. We are working on it. "
                   "Next update by 08:00.",
                   "What you can do meanwhile: Pay by phone at 555-0199",
                   "Building permits — under maintenance until 08:40.",
                   "Scheduled maintenance", "Online payments will be unavailable for an upgrade.",
                   "Questions? Call Town Hall at 555-0100."):
        assert phrase in text, phrase
    assert leaked(dom) == []        # attributes (titles, labels) included


@pytest.mark.parametrize("width, height", [(400, 2400), (1280, 1600)])
def test_screenshots_at_phone_and_desktop_width(exported, width, height):
    from PIL import Image

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"status-page-{width}.png"
    shot.unlink(missing_ok=True)
    chromium(exported, f"--screenshot={shot}", f"--window-size={width},{height}",
             "--hide-scrollbars")
    image = Image.open(shot).convert("RGB")
    assert image.size == (width, height)
    pixels = {c for _, c in image.getcolors(maxcolors=1 << 20)}
    assert (198, 40, 40) in pixels            # the red "unavailable" badge and outage bars
    assert (46, 125, 50) in pixels            # green days
    assert (31, 95, 153) in pixels            # the blue "under maintenance" badge
    # nothing runs off the side at a phone's width: the right margin column is page colour
    right = [image.getpixel((width - 3, y)) for y in range(0, height, 7)]
    assert set(right) <= {(245, 246, 247), (255, 255, 255)}
    (ARTIFACTS / "status-page.html").write_text((exported / "www" / "index.html").read_text())


def test_the_post_incident_report_prints_to_pdf(exported, tmp_path):
    from muni_watchdog.reports.comms_render import render_post_incident_html
    from muni_watchdog.reports.postincident import load_post_incident

    store = Store.open(exported / "state")
    try:
        closed = next(r["incident_id"] for r in store.reviews())
        report = load_post_incident(store, make_config(), closed, NOW)
    finally:
        store.close()
    page = tmp_path / "www" / "index.html"      # chromium() opens ROOT/www/index.html
    page.parent.mkdir()
    page.write_text(render_post_incident_html(report), encoding="utf-8")
    pdf = ARTIFACTS / "post-incident-report.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    pdf.unlink(missing_ok=True)
    chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and re.search(rb"/Type\s*/Page\b", data)
    (ARTIFACTS / "post-incident-report.html").write_text(page.read_text())
    text = page.read_text()
    assert "Post-incident report, incident" in text and "@page" in text
    assert "First failed result" in text and "Recovered" in text
