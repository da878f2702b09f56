"""Incident communication in a real browser: Debian's headless Chromium, driven by Playwright,
against the daemon run as a process. The on-call posts a public update from a 400 px phone
(the form opens, fills, posts; the update shows, escaped, and the page is no wider than the
phone), a drill is started and shown as [DRILL], the Drills pages are photographed at 400 and
1280 px into test-artifacts/, and the residents' public page (/status, no login) is read and
photographed at both widths: the update as text, no script run, no drill, no internal name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.comms_fixture import leaked
from tests.comms_web_fixture import INTERNAL, ROOT, CommsTown, wait_until
from tests.web_fixture import PASSWORDS

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    town = CommsTown(tmp_path_factory.mktemp("ashby-comms-browser"))
    yield town
    town.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def phone(browser):
    return browser.new_context(viewport={"width": 400, "height": 860}, device_scale_factor=1,
                               is_mobile=True, has_touch=True)


def desk(browser):
    return browser.new_context(viewport={"width": 1280, "height": 900})


def login(page, town, name: str) -> None:
    page.goto(town.url + "/")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(town.url + "/")


def shoot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: {width}px wide"
    return path


def test_oncall_posts_an_update_from_a_phone(town, browser):
    incident = wait_until(lambda: town.incident_of("portalhost-zq"), 60, "the incident")
    context = phone(browser)
    page = context.new_page()
    login(page, town, "otto")
    page.goto(f"{town.url}/incidents/{incident['id']}")
    page.click("#post-update summary")
    page.fill("textarea[name=text]", f"Restoring the portal from backup. {XSS}")
    page.fill("input[name=residents_can]", "Pay by phone at 555-0199.")
    page.fill("input[name=next_update]", "30m")
    shoot(page, "update-form-400")
    page.click("#post-update button[type=submit]")
    page.wait_for_url(f"{town.url}/incidents/{incident['id']}#updates")
    update = page.locator("ol.updates li.update").first
    assert "Update 1" in update.inner_text()
    assert XSS in page.inner_text(".update-text")                    # shown as text
    assert page.evaluate("window.pwned") is None
    assert page.inner_text("#next-update-due") != "-"
    shoot(page, "incident-updates-400")
    assert [u["by"] for u in town.read(lambda s: s.updates(incident["id"]))] == ["otto"]
    # the console's menu leads to the residents' page, which shows it as they will read it
    page.click("nav a[href='/status']")
    page.wait_for_url(f"{town.url}/status")
    page.locator("text=Restoring the portal from backup.").first.wait_for()
    assert page.evaluate("window.pwned") is None
    context.close()


def test_drill_started_in_the_browser_is_marked_and_photographed(town, browser):
    for width, context in ((400, phone(browser)), (1280, desk(browser))):
        page = context.new_page()
        login(page, town, "ada")
        page.goto(f"{town.url}/drills")
        if width == 400:
            page.click("#start-drill summary")
            page.fill("input[name=scenario]", "payment portal down")
            page.click("#start-drill button[type=submit]")
            page.wait_for_url(f"{town.url}/drills/*")
            assert "[DRILL]" in page.inner_text("h1")
            page.fill("#step input[name=text]", "restored from backup")
            page.click("#step button[type=submit]")
            page.locator("#steps", has_text="restored from backup").wait_for()
        drill = town.read(lambda s: s.drills())[-1]
        page.goto(f"{town.url}/drills/{drill['id']}")
        shoot(page, f"drill-{width}")
        page.goto(f"{town.url}/incidents/{drill['incident_id']}")
        assert "[DRILL] This is a drill" in page.inner_text("#drill-notice")
        shoot(page, f"drill-incident-{width}")
        assert page.goto(town.url + "/drills").status == 200
        shoot(page, f"drills-{width}")
        context.close()


def test_the_public_status_page_without_login_at_400_and_1280(town, browser):
    wait_until(lambda: town.read(lambda s: s.updates(town.incident_of("portalhost-zq")["id"])),
               120, "the update of the first test")
    drills = town.read(lambda s: s.drills())
    for width, context in ((400, phone(browser)), (1280, desk(browser))):
        page = context.new_page()                       # a resident: no cookie at all
        answer = page.goto(town.url + "/status")
        assert answer.status == 200 and page.url == town.url + "/status"
        assert answer.headers["cache-control"] == "public, max-age=30"
        text = page.inner_text("body")
        assert "Online utility payments" in text and "Restoring the portal from backup." in text
        assert XSS in text                              # the update's markup, as text
        assert page.evaluate("window.pwned") is None
        assert page.locator("script").count() == 0 and page.locator("form").count() == 0
        assert leaked(page.content(), INTERNAL) == []
        assert all(d["scenario"] not in text for d in drills) and "drill" not in text.lower()
        shoot(page, f"public-status-{width}")
        assert context.cookies() == []
        context.close()
