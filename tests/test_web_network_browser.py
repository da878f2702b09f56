"""The Network page in real headless Chromium (Debian's, driven by Playwright): after the login
the diagram loads as an image, the lists read at a phone's 400 px and a desktop's 1280 px with
nothing wider than the window, and names advertised with markup in them run nothing — neither
in the page nor in the SVG opened on its own. Screenshots go to test-artifacts/."""

from __future__ import annotations

import shutil

import pytest

from tests.network_web_fixture import SCRIPT_NAME, SVG_NAME, network_console
from tests.test_web_browser import ARGS, CHROMIUM, desk, phone, shoot
from tests.web_fixture import PASSWORDS

pytestmark = [pytest.mark.integration, pytest.mark.e2e,
              pytest.mark.skipif(shutil.which("dot") is None,
                                 reason="Graphviz is not installed (apt install graphviz)")]
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    server = network_console(tmp_path_factory.mktemp("network-browser"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def login_to_network(page, town) -> None:
    page.goto(town.url + "/network")
    assert page.url.startswith(town.url + "/login")
    page.fill("input[name=name]", "vera")
    page.fill("input[name=password]", PASSWORDS["vera"])
    page.click("button[type=submit]")
    page.wait_for_url(town.url + "/network")


@pytest.mark.parametrize("width", [400, 1280])
def test_the_network_page_at_phone_and_desktop_width(town, browser, width):
    context = (phone if width == 400 else desk)(browser)
    page = context.new_page()
    try:
        login_to_network(page, town)
        image = page.locator(".diagram img")
        image.wait_for()
        page.wait_for_function("document.querySelector('.diagram img').complete")
        natural = image.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        assert natural[0] > 300 and natural[1] > 100, natural      # the SVG loaded and drew
        box = image.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width   # scaled into the page
        body = page.inner_text("main")
        assert SCRIPT_NAME in body and SVG_NAME in body           # shown as written...
        assert page.evaluate("window.pwned") is None              # ...and nothing ran
        assert page.locator("main svg, main script").count() == 0
        assert "muni-watchdog discover 10.0.0.13" in body
        shoot(page, f"network-{width}")       # asserts nothing is wider than the window
        # the drawing opened on its own: Graphviz's SVG, under a CSP that runs nothing
        answer = page.goto(town.url + "/network.svg")
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert page.evaluate("window.pwned") is None
    finally:
        context.close()
