"""The assessment from the state database to files (I/O): ``assessment.html`` (one
print-ready document), ``inventory.csv``, ``software.csv`` and ``network.svg``.

:func:`assessment_html` is what the web console shows (the same document)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from muni_watchdog.reports.assessment import (
    RESTORE_HISTORY_DAYS,
    Assessment,
    AssessmentInputs,
    build_assessment,
    drill_records,
)
from muni_watchdog.reports.assessment_html import render_assessment
from muni_watchdog.reports.inventory import as_csv, software_csv
from muni_watchdog.reports.network import network_topology, topology_json
from muni_watchdog.reports.topology_render import TopologyError, render_svg, to_dot

FILES = ("assessment.html", "inventory.csv", "software.csv", "network.svg")


def load_inputs(store: Any, now: datetime) -> AssessmentInputs:
    return AssessmentInputs(
        current=store.current_states(), seen=store.check_seen(), links=store.links(),
        restore_tests=store.report_restore_tests(now - timedelta(days=RESTORE_HISTORY_DAYS),
                                                 now + timedelta(seconds=1)),
        drills=drill_records(store))


def assessment(store: Any, config: Any, now: datetime, draw: bool = True) -> Assessment:
    """The assessment of what the store holds now; the diagram drawn by Graphviz (when it
    cannot be, the document says why and the rest stands)."""
    inputs = load_inputs(store, now)
    topology = network_topology(inputs.current, {t.id: t.host for t in config.targets})
    result = build_assessment(config, inputs, now, topology_json(topology, inputs.links))
    if draw and topology.nodes:
        try:
            result.svg = render_svg(to_dot(topology))
        except TopologyError as exc:
            result.svg_error = str(exc)
    return result


def assessment_html(store: Any, config: Any, now: datetime) -> str:
    """The whole document as one HTML page (for the web console)."""
    return render_assessment(assessment(store, config, now))


def write_assessment(store: Any, config: Any, out_dir: str | Path, now: datetime
                     ) -> list[Path]:
    """Write the four files into ``out_dir`` (created); returns the paths written. The SVG
    is left out, and said so in the document, when Graphviz could not draw it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = assessment(store, config, now)
    written = []
    for name, text in (("assessment.html", render_assessment(result)),
                       ("inventory.csv", as_csv(result.hardware)),
                       ("software.csv", software_csv(result.hardware)),
                       ("network.svg", result.svg)):
        path = out / name
        if text is None:
            path.unlink(missing_ok=True)      # never a drawing from an earlier run
            continue
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
