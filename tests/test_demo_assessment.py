"""The demo lab end to end (issue 14): the daemon watches the lab, the SNMP devices advertise
each other over LLDP, and from its state directory ``topology --svg`` draws the lab's network
and ``report assessment`` writes the document."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from muni_watchdog.store.database import DB_NAME, Store

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
WAIT = 240.0


def _ready(state: Path) -> bool:
    """The switch's and the printer's links, the SNMP devices' names and the file server's
    software are stored."""
    if not (state / DB_NAME).exists():
        return False
    try:
        store = Store.open(state, readonly=True)
    except Exception:          # created but not migrated yet
        return False
    try:
        links = {(r["target"], r["local_port"]) for r in store.links()}
        states = store.current_states()
        software = any(r["target"] == "file-server" and r["check_name"] == "software"
                       and '"kind": "software"' in r["items"] for r in states)
        # each SNMP device's name and class (its system check), to match the neighbours to
        named = {r["target"] for r in states if r["check_name"] == "system"
                 and '"device_class"' in r["items"]}
    except Exception:
        return False
    finally:
        store.close()
    return {("demo-switch", "g3"), ("demo-printer", "eth0")} <= links and software and \
        {"demo-switch", "demo-printer", "demo-ups"} <= named


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "muni_watchdog", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_the_demo_draws_its_network_and_writes_the_assessment(tmp_path):
    state = tmp_path / "demo-state"
    log = tmp_path / "demo.log"
    with log.open("w") as output:     # a file, not a pipe: nobody reads it while it runs
        demo = subprocess.Popen([sys.executable, "-m", "lab.demo", "--state-dir", str(state),
                                 "--duration", str(WAIT + 60)], cwd=ROOT, stdout=output,
                                stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            deadline, ready = time.monotonic() + WAIT, False
            while time.monotonic() < deadline and demo.poll() is None and not ready:
                time.sleep(3)
                ready = _ready(state)     # a read that meets a write says "not yet"
            assert ready, ("the demo's neighbours or software were not stored in time:\n"
                           f"{log.read_text()[-3000:]}")
        finally:
            demo.send_signal(signal.SIGTERM)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
    banner = log.read_text()
    config = state / "muni-watchdog.yaml"
    assert f"report assessment -c {config} --state-dir {state}" in banner
    assert f"topology -c {config} --state-dir {state} --svg" in banner

    drawn = cli("topology", "-c", str(config), "--state-dir", str(state), "--json")
    assert drawn.returncode == 0, drawn.stderr
    data = json.loads(drawn.stdout)
    edges = {(e["a"], e["a_port"], e["b"], e["b_port"], e["both_ends"]) for e in data["edges"]}
    assert ("demo-printer", "eth0", "demo-switch", "g3", True) in edges
    assert ("demo-switch", "g4", "demo-ups", "eth0", False) in edges
    assert [(u["name"], u["discover"]) for u in data["unmonitored"]] == [
        ("gw-main", "muni-watchdog discover 10.0.0.1")]

    svg = tmp_path / "network.svg"
    assert cli("topology", "-c", str(config), "--state-dir", str(state), "--svg",
               str(svg)).returncode == 0
    titles = {g.find(f"{SVG}title").text for g in ET.fromstring(svg.read_text()).iter(f"{SVG}g")
              if (g.get("class") or "").split()[:1] in (["node"], ["edge"])}
    assert {"demo-switch", "demo-printer", "demo-ups", "seen:gw-main",
            "demo-printer--demo-switch"} <= titles

    out = state / "assessment"
    done = cli("report", "assessment", "-c", str(config), "--state-dir", str(state), "--out",
               str(out))
    assert done.returncode == 0, done.stderr
    assert {p.name for p in out.iterdir()} == {"assessment.html", "inventory.csv",
                                                "software.csv", "network.svg"}
    page = (out / "assessment.html").read_text()
    for words in ("Town of Demo (lab)", "Online utility payments", "Clerk&#x27;s records",
                  "core-switch", "muni-watchdog discover 10.0.0.1", "<svg"):
        assert words in page, words
    software = (out / "software.csv").read_text().splitlines()
    assert sum(1 for line in software if line.startswith("file-server,")) > 50
