"""The console's Network page (issue 14: "the same diagram in the console"), over real HTTP
against a state database the real checks filled: the diagram ``topology --svg`` draws, served
as an image with a CSP that runs nothing, drawn once while nothing it shows changes; the links
and the devices seen but not monitored with their ``discover`` line; names advertised over
LLDP with markup in them come out inert everywhere; without Graphviz the page says why and
keeps the lists; the assessment built on request for on-call and admin."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import requests

from muni_watchdog.reports.network import network_svg as cli_svg
from muni_watchdog.web.pages import network as page_module
from tests.network_web_fixture import SCRIPT_NAME, SVG_NAME, T0, fill, network_console

pytestmark = pytest.mark.integration
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz is not installed (apt install graphviz)")
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    server = network_console(tmp_path_factory.mktemp("network"))
    yield server
    server.stop()


@pytest.fixture
def fresh(town):
    """No drawing kept from an earlier test."""
    town.console.network_cache = None
    yield town
    town.console.network_cache = None


def get(session, town, path: str) -> requests.Response:
    return session.get(town.url + path, allow_redirects=False, timeout=60)


class Tags(HTMLParser):
    """Every element and attribute a browser would build from the markup."""

    def __init__(self, markup: str):
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def inert(markup: str, svg_allowed: bool = False) -> None:
    """No hostile name became markup: no script element, no event handler, no svg opened
    (other than the drawing itself where one is expected)."""
    tags = Tags(markup).found
    assert "script" not in {t for t, _ in tags}
    assert [(t, k) for t, attrs in tags for k, _ in attrs if k.lower().startswith("on")] == []
    assert svg_allowed or "svg" not in {t for t, _ in tags}


def test_every_network_route_needs_a_login_and_the_assessment_oncall(town):
    anonymous = requests.Session()
    for path in ("/network", "/network.svg", "/network/assessment"):
        answer = get(anonymous, town, path)
        assert answer.status_code == 303, path
        assert answer.headers["Location"] == f"/login?next={path}"
    vera = town.login("vera")
    refused = get(vera, town, "/network/assessment")
    assert refused.status_code == 403 and "needs the oncall role" in refused.text
    page = get(vera, town, "/network")
    assert page.status_code == 200
    assert '<a href="/network" aria-current="page">Network</a>' in page.text
    assert 'href="/network/assessment"' not in page.text        # no link a viewer cannot use
    assert '<a href="/network">Network</a>' in get(vera, town, "/").text   # in every menu


@needs_dot
def test_the_page_lists_links_and_unmonitored_devices_with_their_discover_line(fresh):
    page = get(fresh.login("vera"), fresh, "/network")
    assert page.status_code == 200
    text = page.text
    assert '<img src="/network.svg"' in text and "cannot be drawn" not in text
    # the demo printer (its sysName: clerk-printer) advertises the demo switch back: one link, each end its own port
    row = re.search(r"<tr><td data-label=\"Device\">clerk-printer</td><td data-label=\"Port\">"
                    r"eth0</td><td data-label=\"Neighbour\">core-switch</td>"
                    r"<td data-label=\"Its port\">g3</td>.*?</tr>", text)
    assert row, "the printer-switch link"
    assert "2026-11-02 00:00" in row[0]          # first and last seen, in the site's zone
    assert "Devices (3)" in text
    assert "<code class=\"command\">muni-watchdog discover 10.0.0.13</code>" in text
    assert re.search(r">gw-main</td><td data-label=\"Seen on\">core-switch g1, town-core "
                     r"Gi1/0/24</td>.*?muni-watchdog discover 10.0.0.1</code>", text)
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in text
    assert "&#34;&gt;&lt;svg onload=alert(2)&gt;" in text
    inert(text)


@needs_dot
def test_the_svg_is_the_clis_drawing_served_inert(fresh):
    answer = get(fresh.login("vera"), fresh, "/network.svg")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("image/svg+xml")
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script" not in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    from muni_watchdog.config.loading import load_config
    from muni_watchdog.store.database import Store
    store = Store.open(fresh.state, readonly=True)
    try:
        assert answer.text == cli_svg(store, load_config(fresh.path))   # the CLI's own drawing
    finally:
        store.close()
    root = ET.fromstring(answer.content)
    elements = list(root.iter())
    assert not [e for e in elements if e.tag in (f"{SVG}script", f"{SVG}foreignObject")]
    assert not [(e.tag, k) for e in elements for k in e.attrib
                if k.lower().startswith("on") or (k == f"{XLINK}href" and
                                                  "javascript" in e.attrib[k].lower())]
    texts = {e.text for e in elements if e.tag == f"{SVG}text"}
    assert {SCRIPT_NAME, SVG_NAME, "town-core", "clerk-printer"} <= texts   # shown as written
    inert(answer.text, svg_allowed=True)
    assert [t for t, _ in Tags(answer.text).found].count("svg") == 1


@needs_dot
def test_the_drawing_is_made_once_while_what_it_shows_is_the_same(fresh, monkeypatch):
    calls = []
    real = page_module.render_svg

    def counted(dot, *args, **kwargs):
        calls.append(dot)
        return real(dot, *args, **kwargs)

    monkeypatch.setattr(page_module, "render_svg", counted)
    vera = fresh.login("vera")
    for path in ("/network", "/network.svg", "/network", "/network.svg"):
        assert get(vera, fresh, path).status_code == 200
    assert len(calls) == 1
    # the next neighbour run: every link's "last seen" moves, the drawing does not
    fill(fresh.state, T0.replace(hour=12))
    assert get(vera, fresh, "/network.svg").status_code == 200
    assert len(calls) == 1
    monkeypatch.setattr(page_module, "MAX_AGE", 0.0)     # kept 60 s at most
    assert get(vera, fresh, "/network.svg").status_code == 200
    assert len(calls) == 2


@pytest.mark.parametrize("dot, reason", [
    (None, "Graphviz is not installed (&#39;dot&#39; not found): install the graphviz package "
           "(apt install graphviz)"),
    ("not executable", "Graphviz could not be run: [Errno 13] Permission denied")])
def test_without_graphviz_the_page_says_why_and_keeps_the_lists(fresh, monkeypatch, tmp_path,
                                                                dot, reason):
    if dot is not None:
        (tmp_path / "dot").write_text("#!/bin/sh\n")     # there, but not executable (0644)
    monkeypatch.setenv("PATH", str(tmp_path))            # no working dot on the PATH
    vera = fresh.login("vera")
    page = get(vera, fresh, "/network")
    assert page.status_code == 200
    assert f"The diagram cannot be drawn: {reason}" in page.text
    assert '<img src="/network.svg"' not in page.text
    assert "Links (" in page.text and "muni-watchdog discover 10.0.0.13" in page.text
    image = get(vera, fresh, "/network.svg")
    assert image.status_code == 503 and reason in image.text


def test_an_empty_database_says_what_fills_it(tmp_path):
    server = network_console(tmp_path, with_devices=False)
    try:
        vera = server.login("vera")
        page = get(vera, server, "/network")
        assert page.status_code == 200 and "No devices in the state database yet" in page.text
        assert get(vera, server, "/network.svg").status_code == 404
    finally:
        server.stop()


@needs_dot
def test_the_assessment_is_built_on_request_for_oncall_inert_and_sandboxed(town):
    answer = get(town.login("otto"), town, "/network/assessment")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.headers["Content-Security-Policy"].startswith("sandbox")
    assert 'filename="assessment-' in answer.headers["Content-Disposition"]
    assert "Town of Ashby" in answer.text and '<figure class="diagram"><svg' in answer.text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in answer.text
    inert(answer.text, svg_allowed=True)
    assert [t for t, _ in Tags(answer.text).found].count("svg") == 1
    assert get(town.login("ada"), town, "/network/assessment").status_code == 200
