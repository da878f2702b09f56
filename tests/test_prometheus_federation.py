"""The README's "many towns" setup, for real: two muni-watchdog daemons (two towns) on
loopback, scraped by a regional Prometheus, federated by a central one with the README's own
configuration, and queried through the central one's HTTP API with PromQL."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lab.restic_lab import ResticLab
from lab.servers import HttpLab, free_port

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = shutil.which("prometheus")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed "
                       "(Debian: apt install prometheus; scripts/setup.sh installs it)"),
    pytest.mark.skipif(shutil.which("restic") is None,
                       reason="restic is not installed (scripts/setup.sh installs it)"),
]


def readme_prometheus_configs() -> tuple[dict, dict]:
    """The regional and the central prometheus.yml of the README's federation example."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Many towns: Prometheus federation.**"):]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)[:2]
    assert len(blocks) == 2, "the README shows a regional and a central prometheus.yml"
    regional, central = (yaml.safe_load(block) for block in blocks)
    return regional, central


def console_script() -> str:
    """The installed ``muni-watchdog`` (next to this interpreter, else on $PATH)."""
    beside = Path(sys.executable).parent / "muni-watchdog"
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("muni-watchdog")
    if found is None:
        pytest.fail("the muni-watchdog console script is not installed; pip install -e .")
    return found


@dataclass
class Town:
    name: str            # site.name
    label: str           # the regional Prometheus' town label (from the README)
    web: HttpLab
    metrics_port: int
    restore_ok: bool


def write_town(base: Path, town: Town) -> Path:
    """A town's configuration: an http check of its website and a restic backup."""
    lab = ResticLab(base / "restic").create(small_files=12, large_files=0)
    lab.nightly_backup()
    if not town.restore_ok:  # the repository's password was changed: restore tests fail
        lab.password_file.write_text("not the password any more\n")
    config = base / "muni-watchdog.yaml"
    config.write_text(f"""\
site: {{name: {town.name}, timezone: Europe/Berlin}}
services:
  - id: records
    name: Clerk's records
    priority: 2
    rto: 8h
    rpo: 24h
    owner: {{name: Pat, contact: pat@town.example}}
    backup_owner: {{name: Dana, contact: dana@msp.example}}
    targets: [website]
    backups: [clerk-share]
targets:
  - id: website
    kind: http
    host: 127.0.0.1
    checks:
      - check: http
        url: {town.web.url}
        interval: 1s
        retry_interval: 500ms
        timeout: 2s
backups:
{lab.backups_yaml("records")}notify:
  weekly_test: null
reports:
  metrics:
    listen: 127.0.0.1:{town.metrics_port}
""")
    return config


class Processes:
    """Started processes, each with its log file; ``stop()`` ends every one of them."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.directory / f"{name}.log").open("w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
        log.close()
        self.running.append((name, proc))
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {name}:\n{(self.directory / f'{name}.log').read_text()[-2000:]}"
                         for name, _ in self.running)

    def stop(self) -> None:
        for _, proc in self.running:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in self.running:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_prometheus(processes: Processes, name: str, config: dict) -> str:
    """Prometheus with its own configuration, storage and free port; returns its base URL."""
    directory = processes.directory / name
    directory.mkdir()
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    processes.start(name, [PROMETHEUS, f"--config.file={directory / 'prometheus.yml'}",
                           f"--storage.tsdb.path={directory / 'data'}",
                           f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"])
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: get(f"{url}/-/ready") is not None, 60, f"{name} ready", processes)
    return url


def get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read()
    except OSError:
        return None


def query(prometheus: str, promql: str) -> list[dict]:
    """An instant query through Prometheus' HTTP API: the result vector."""
    body = get(f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert body is not None, f"{prometheus} did not answer {promql}"
    answer = json.loads(body)
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def wait_for(predicate, timeout: float, what: str, processes: Processes) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for name, proc in processes.running:
            assert proc.poll() is None, f"{name} exited {proc.returncode}\n{processes.logs()}"
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{processes.logs()}")


@dataclass
class Federation:
    central: str         # the central Prometheus' URL
    towns: list[Town]
    processes: Processes


@pytest.fixture
def federation(tmp_path) -> Iterator[Federation]:
    """Two towns' daemons, a regional Prometheus scraping them, a central one federating it.
    Every process is stopped at the end, whatever happened."""
    regional_config, central_config = readme_prometheus_configs()
    webs = [HttpLab().start(), HttpLab().start()]
    processes = Processes(tmp_path)
    try:
        webs[1].status = 503  # Otherville's website is down
        towns = [Town("Town of Example", "example", webs[0], free_port(), restore_ok=True),
                 Town("Otherville", "otherville", webs[1], free_port(), restore_ok=False)]
        script = console_script()
        for town in towns:
            base = tmp_path / town.label
            config = write_town(base, town)
            # The restore verdict the daemon will export: one test run now, stored in the
            # state database as the daemon's scheduled ones are (exit code = verdict).
            done = subprocess.run([script, "restore-test", "-c", str(config), "--state-dir",
                                   str(base / "state")], capture_output=True, text=True,
                                  timeout=300)
            assert done.returncode == (0 if town.restore_ok else 2), done.stdout + done.stderr
            processes.start(f"daemon-{town.label}", [script, "run", "-c", str(config),
                                                     "--state-dir", str(base / "state")])

        # The README's regional configuration, pointed at our two daemons, scraping every 1s.
        [job] = regional_config["scrape_configs"]
        job["scrape_interval"] = "1s"
        labels = [group["labels"] for group in job["static_configs"]]
        assert [label["town"] for label in labels] == [town.label for town in towns]
        for group, town in zip(job["static_configs"], towns, strict=True):
            group["targets"] = [f"127.0.0.1:{town.metrics_port}"]
        regional = start_prometheus(processes, "prometheus-regional", regional_config)

        # The README's central configuration, federating the regional one.
        [job] = central_config["scrape_configs"]
        job["scrape_interval"] = "1s"
        job["static_configs"] = [{"targets": [regional.removeprefix("http://")]}]
        central = start_prometheus(processes, "prometheus-central", central_config)
        yield Federation(central, towns, processes)
    finally:
        processes.stop()
        for web in webs:
            web.stop()


def by_town(result: list[dict]) -> dict[str, list[dict]]:
    towns: dict[str, list[dict]] = {}
    for series in result:
        towns.setdefault(series["metric"].get("town", "?"), []).append(series)
    return towns


def test_the_central_prometheus_sees_every_towns_checks_and_restore_verdicts(federation):
    central, towns = federation.central, federation.towns

    def federated() -> bool:
        states = by_town(query(central, "muni_watchdog_check_state"))
        verdicts = by_town(query(central, "muni_watchdog_restore_test_verdict"))
        # Otherville's website becomes hard CRITICAL after its retries (3 results).
        other = states.get("otherville", [{"value": [0, "0"]}])
        return (set(states) == set(verdicts) == {"example", "otherville"}
                and other[0]["value"][1] == "2")

    wait_for(federated, 90, "both towns' series on the central Prometheus", federation.processes)

    states = by_town(query(central, "muni_watchdog_check_state"))
    for town in towns:
        [series] = states[town.label]
        labels = series["metric"]
        # honor_labels kept what the towns and the regional Prometheus said
        assert labels["site"] == town.name and labels["job"] == "muni-watchdog"
        assert (labels["target"], labels["check"]) == ("website", "http")
        assert labels["instance"] == f"127.0.0.1:{town.metrics_port}"
    assert states["example"][0]["value"][1] == "0"       # OK
    assert states["otherville"][0]["value"][1] == "2"    # CRITICAL: HTTP 503

    verdicts = by_town(query(central, "muni_watchdog_restore_test_verdict"))
    assert {town: series[0]["value"][1] for town, series in verdicts.items()} == {
        "example": "0", "otherville": "2"}
    assert all(s[0]["metric"]["backup"] == "clerk-share" and s[0]["metric"]["service"] ==
               "records" for s in verdicts.values())
    # The README's PromQL: the towns with a failed restore test.
    failed = query(central, "count by (town) (muni_watchdog_restore_test_verdict >= 2)")
    assert [s["metric"]["town"] for s in failed] == ["otherville"]

    # The other federated summaries, per town; and only those (the match[] selector).
    for name in ("muni_watchdog_service_availability_ratio",
                 "muni_watchdog_last_check_timestamp_seconds"):
        assert set(by_town(query(central, name))) == {"example", "otherville"}, name
    fresh = query(central, "time() - muni_watchdog_last_check_timestamp_seconds < 600")
    assert {s["metric"]["town"] for s in fresh} == {"example", "otherville"}
    assert query(central, "muni_watchdog_check_flapping") == []
    assert query(central, "muni_watchdog_open_incidents") == []
