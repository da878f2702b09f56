"""The assessment (issue 14): a town's state database (tests/assessment_fixture.py, written the
way the daemon writes it) turned into the document a town attaches to a request for
proposals, its CSV files and the network drawing; rendered in headless Chromium at 400 and
1280 px and printed to PDF."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from muni_watchdog.cli.main import main
from muni_watchdog.config.loading import ConfigError, parse_config
from muni_watchdog.reports.assessment import build_assessment, drill_records
from muni_watchdog.reports.assessment_files import assessment, load_inputs, write_assessment
from muni_watchdog.reports.assessment_html import PARTS, render_assessment
from muni_watchdog.reports.inventory import COLUMNS, SOFTWARE_COLUMNS
from tests.assessment_fixture import NOW, TOWN, build_town

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
EXTERNAL = re.compile(r"""(src|href|url)\s*[=(]\s*["']?\s*(https?:|//)""", re.I)
SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium")
DOT = shutil.which("dot")


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    state = tmp_path_factory.mktemp("town") / "state"
    store = build_town(state)
    config = parse_config(TOWN, "town.yaml", check_secrets=False)
    yield store, config, state
    store.close()


@pytest.fixture(scope="module")
def result(town):
    store, config, _ = town
    return assessment(store, config, NOW, draw=DOT is not None)


# ---- what it finds --------------------------------------------------------------------------

def test_services_ranked_with_how_their_recovery_targets_were_met(result):
    assert [(s.priority, s.name) for s in result.services] == [
        (1, "Online utility payments"), (2, "Clerk's records"),
        (3, "Town hall office devices"), (3, "Town website")]
    pay, records = result.services[0].recovery, result.services[1].recovery
    # payments: the newest backup 25 minutes old at the latest test (RPO 1 h); a full
    # restore measured at 40 minutes in a drill (RTO 8 h)
    assert (pay.rpo_met, pay.data_age, pay.rto_met, pay.restore_seconds,
            pay.restore_measured) == (True, 1500, True, 2400, True)
    assert (pay.tests_run, pay.tests_passed) == (4, 4)
    # records: the latest test failed and its backup was 2 days old (RPO 24 h); the RTO is
    # only estimated from a test
    assert (records.last_test_passed, records.rpo_met, records.rto_met,
            records.restore_measured) == (False, False, True, False)


def test_backup_and_recovery_risks(result):
    assert [(r.service, r.kind) for r in result.risks] == [
        ("Clerk's records", "failing"), ("Clerk's records", "rpo"),
        ("Clerk's records", "never_drilled"),
        ("Town hall office devices", "no_backup"), ("Town website", "no_backup")]


def test_hardware_with_class_age_and_support(result):
    rows = {h["target"]: h for h in result.hardware}
    summary = {t: (h["equipment_class"], h["age_basis"], h["hardware_status"],
                   h["os_support"]) for t, h in rows.items()}
    assert summary == {
        # the switch tells its manufacture date (2017): 9 years against a 7-year life
        "core-switch": ("switch", "manufactured", "past_life", None),
        # the others are at least as old as monitoring has known them
        "records-nas": ("storage", "first seen", "past_life", None),
        "server-ups": ("ups", "first seen", "past_life", None),
        "file-server": ("server", "first seen", "past_life", "out_of_support"),
        "clerk-pc": ("pc", "first seen", "within_life", "out_of_support"),
        "clerk-printer": ("printer", "first seen", "within_life", None)}
    assert rows["core-switch"]["age_days"] // 365 == 9
    server = rows["file-server"]
    assert (server["vendor"], server["model"], server["support_ends"]) == (
        "Dell Inc.", "PowerEdge T140", "2024-06-30")
    assert server["services"] == [("Clerk's records", 2)]
    assert rows["clerk-pc"]["serial"] == "7XK9Q93"


def test_security_posture_reads_patches_vulnerabilities_and_exposure(result):
    sec = result.security
    assert [(u["target"], u["pending"], u["oldest_days"], u["policy_days"]) for u in
            sec.updates] == [("file-server", 2, 20.0, 3.0)]
    [vulns] = sec.vulnerabilities
    assert (vulns["findings"], vulns["fixable"], vulns["kev"]) == (2, 2, 1)
    assert vulns["oldest_kev"]["cve"] == "CVE-2024-6387"
    assert [(x["target"], x["finding"]) for x in sec.exposure] == [
        ("core-switch", "snmp_default_community")]
    assert {h["target"] for h in sec.unsupported} == {"file-server", "clerk-pc"}


def test_recommendations_ranked_by_the_towns_priorities_each_with_why(result):
    titles = [(r.priority, r.severity, r.title) for r in result.recommendations]
    assert titles[:6] == [
        (1, 2, "Close: SNMP answers a default community on core-switch"),
        (1, 3, "Plan the replacement of core-switch"),
        (2, 1, "Install the fixes for known-exploited vulnerabilities on file-server"),
        (2, 1, "Repair the backup of Clerk's records"),
        (2, 2, "Back up Clerk's records more often"),
        (2, 2, "Replace file-server")]
    assert titles[-1] == (None, 5, "Monitor the 1 device seen on the network but not watched")
    nas = next(r for r in result.recommendations if "NAS" in r.title)
    assert nas.why == ("The clerk's NAS is at least 7 years old, past the 5-year replacement "
                       "age for a NAS; it serves Clerk's records (P2).")
    assert nas.owner == "Pat Kim (Clerk)"
    server = next(r for r in result.recommendations if r.title.startswith("Replace file"))
    assert "runs an operating system out of support since 2024-06-30" in server.why
    # vendor-neutral: no maker seen in the inventory is named in a recommendation
    makers = {h["vendor"] for h in result.hardware if h.get("vendor")}
    for r in result.recommendations:
        assert r.why and not any(m.split()[0] in f"{r.title} {r.why}" for m in makers), r


def test_drills_run_through_the_drill_commands_count_in_the_assessment(tmp_path):
    """A drill started and recovered with the same functions `drill start`/`drill step` use
    is read from the state database: the service is no longer "never drilled"."""
    from datetime import timedelta

    from muni_watchdog.alerting.drills import mark_step, start_drill
    from muni_watchdog.store.timestamps import iso
    store = build_town(tmp_path / "state")
    try:
        config = parse_config(TOWN, "town.yaml", check_secrets=False)
        graph = {"nodes": [], "edges": [], "unmonitored": []}
        assert drill_records(store) == []             # kept, and none run yet
        before = build_assessment(config, load_inputs(store, NOW), NOW, graph)
        assert before.drills_recorded
        never = [r for r in before.risks if r.kind == "never_drilled"]
        assert ("Clerk's records", "never_drilled") in [(r.service, r.kind) for r in never]
        assert all("not recorded" not in r.text for r in never)

        started = NOW - timedelta(days=60)
        drill, _ = start_drill(config, store, "records", "NAS lost", "Pat Kim", started)
        mark_step(store, drill, "restored the share from restic", "Pat Kim", True,
                  started + timedelta(minutes=70))
        assert drill_records(store) == [{
            "service": "records", "started_at": iso(started), "ended_at": None,
            "scenario": "NAS lost", "recovered_seconds": 4200}]
        drilled = build_assessment(config, load_inputs(store, NOW), NOW, graph)
        assert ("Clerk's records", "never_drilled") not in [(r.service, r.kind)
                                                            for r in drilled.risks]
        assert f"exercise &ldquo;NAS lost&rdquo; {started:%Y-%m-%d}" in render_assessment(drilled)

        class Older:                                  # a store without the drills tables' reader
            def __getattr__(self, name):
                if name == "drills_for_assessment":
                    raise AttributeError(name)
                return getattr(store, name)
        assert drill_records(Older()) is None
    finally:
        store.close()


def test_without_vulnerability_or_exposure_checks_it_says_so(town):
    store, config, _ = town
    inputs = load_inputs(store, NOW)
    current = [r for r in inputs.current if r["check_name"] not in ("vulnerabilities",
                                                                   "exposure")]
    bare = build_assessment(config, replace(inputs, current=current), NOW,
                            {"nodes": [], "edges": [], "unmonitored": []})
    assert bare.security.vulnerabilities is None and bare.security.exposure is None
    page = render_assessment(bare)
    assert "No vulnerability scan results are recorded." in page
    assert "No exposure checks have run." in page


# ---- the document -----------------------------------------------------------------------------

def test_the_document_is_one_self_contained_printable_file(result):
    page = render_assessment(result)
    lower = page.lower()
    for banned in ("<script", "<img", "<link", "@import", "@font-face", "<iframe"):
        assert banned not in lower, banned
    assert not EXTERNAL.search(page)
    assert "@media print" in page and "break-before: page" in page
    for pid, title in PARTS:
        assert f'id="{pid}"' in page and title.replace("'", "&#x27;") in page
    if DOT:
        assert page.count("<svg") == 1 and "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert "muni-watchdog discover 10.0.0.1" in page
    assert "The clerk&#x27;s NAS is at least 7 years old" in page


def test_names_from_the_configuration_and_devices_are_escaped(town):
    store, config, _ = town
    hostile = TOWN.replace("name: Town website", 'name: "<script>alert(1)</script> & co"')
    config = parse_config(hostile, "town.yaml", check_secrets=False)
    page = render_assessment(assessment(store, config, NOW, draw=False))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_report_assessment_writes_the_document_and_its_files(town, tmp_path, capsys):
    _, _, state = town
    config = tmp_path / "town.yaml"
    config.write_text(TOWN)
    out = tmp_path / "out"
    assert main(["report", "assessment", "-c", str(config), "--state-dir", str(state),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    expected = {"assessment.html", "inventory.csv", "software.csv"} | (
        {"network.svg"} if DOT else set())
    assert {p.name for p in out.iterdir()} == expected
    assert all(f"wrote {out / name}" in printed for name in expected)
    inventory = list(csv.DictReader(io.StringIO((out / "inventory.csv").read_text())))
    assert tuple(inventory[0]) == COLUMNS and len(inventory) == 6
    software = list(csv.DictReader(io.StringIO((out / "software.csv").read_text())))
    assert tuple(software[0]) == SOFTWARE_COLUMNS
    assert {(r["target"], r["name"], r["version"]) for r in software} >= {
        ("file-server", "openssh-server", "1:7.9p1-10+deb10u2"),
        ("clerk-pc", "Tyler Incode Client", "10.2")}
    assert len(software) == 6
    if DOT:
        root = ET.fromstring((out / "network.svg").read_text())
        titles = {g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")
                  if (g.get("class") or "").startswith("edge")}
        assert "clerk-printer--core-switch" in titles


def test_inventory_lists_age_support_and_hardware_of_every_device(town, tmp_path, capsys):
    _, _, state = town
    config = tmp_path / "town.yaml"
    config.write_text(TOWN.replace("{switch: 7}", "{switch: 7, storage: 10}"))
    assert main(["inventory", "-c", str(config), "--state-dir", str(state), "--json"]) == 0
    rows = {r["target"]: r for r in json.loads(capsys.readouterr().out)}
    server = rows["file-server"]
    assert (server["os_support"], server["hardware_status"], server["age_basis"],
            server["replace_after_years"]) == ("out_of_support", "past_life", "first seen", 5)
    assert (server["cpu"], server["memory_bytes"], server["disk_bytes"]) == (
        "1 × Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz", 32768000 * 1024, 4000787030016)
    assert server["software_count"] == 4
    assert server["software"][1] == {"name": "openssh-server", "version": "1:7.9p1-10+deb10u2",
                                     "arch": "amd64", "manager": "dpkg"}
    # the town's own replacement age: its NAS may serve 10 years
    assert (rows["records-nas"]["replace_after_years"],
            rows["records-nas"]["hardware_status"]) == (10, "within_life")
    assert main(["inventory", "-c", str(config), "--state-dir", str(state)]) == 0
    table = capsys.readouterr().out
    assert "OS_SUPPORT" in table and "out_of_support" in table


def test_replacement_ages_are_validated():
    with pytest.raises(ConfigError) as error:
        parse_config("site: {name: T, lifecycle: {replacement_years: {ups_battery: 4, "
                     "switch: 0}}}", "t.yaml", check_secrets=False)
    assert [str(i) for i in error.value.issues] == [
        "t.yaml:1: site.lifecycle.replacement_years: unknown device class 'ups_battery'; use "
        "network, switch, router, firewall, wireless, server, pc, storage, printer, ups"]


# ---- in a browser, on screen and on paper -----------------------------------------------------

def _chromium(tmp_path: Path, *args: str) -> None:
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", *args],
                   check=True, capture_output=True, timeout=180)


@pytest.mark.integration
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                    "(scripts/setup.sh installs it)")
def test_renders_in_headless_chromium_and_prints_to_pdf(result, tmp_path):
    from PIL import Image

    page = tmp_path / "assessment.html"
    page.write_text(render_assessment(result), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "assessment.html").write_text(page.read_text())
    for width in (400, 1280):
        shot = ARTIFACTS / f"assessment-{width}.png"
        shot.unlink(missing_ok=True)
        _chromium(tmp_path, f"--screenshot={shot}", f"--window-size={width},2400",
                  page.as_uri())
        image = Image.open(shot).convert("RGB")
        assert image.size == (width, 2400)
        colours = {c for _, c in image.getcolors(maxcolors=1 << 22)}
        assert len(colours) > 50                   # text, cards and colours: not blank
        assert (179, 38, 30) in colours            # a red finding (P1 card edge, "missed")
    pdf = ARTIFACTS / "assessment.pdf"
    pdf.unlink(missing_ok=True)
    _chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
    # the cover, then every part on a page of its own (some run over several)
    assert pages >= len(PARTS) + 1, pages


def test_without_graphviz_the_document_says_why_and_no_stale_drawing_is_left(town, tmp_path,
                                                                             monkeypatch):
    store, config, _ = town
    out = tmp_path / "out"
    out.mkdir()
    (out / "network.svg").write_text("<svg>an earlier network</svg>")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    written = write_assessment(store, config, out, NOW)
    assert {p.name for p in written} == {"assessment.html", "inventory.csv", "software.csv"}
    assert not (out / "network.svg").exists()
    page = (out / "assessment.html").read_text()
    assert "The diagram could not be drawn: Graphviz is not installed" in page
    assert "<svg" not in page and "muni-watchdog discover 10.0.0.1" in page
