"""Monitoring-plugins output: ``SUMMARY | perfdata`` on the first line, long text after, more
perfdata after a ``|`` in the long text (Nagios plugin API)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from watchdog.model import Metric

MAX_LINES = 10_000

# 'label with spaces'=1.5ms;10;20;0;100  or  label=5
_PERF = re.compile(r"""('(?:[^']|'')+'|[^\s=']+)=(-?[\d.]+(?:[eE][+-]?\d+)?|U)([^;\s]*)"""
                   r"""(?:;([^;\s]*))?(?:;([^;\s]*))?(?:;([^;\s]*))?(?:;([^;\s]*))?""")


@dataclass(frozen=True)
class PluginOutput:
    summary: str
    long_text: str
    metrics: tuple[Metric, ...]


def _number(text: str | None) -> float | None:
    """A threshold may be a range (``10:20``, ``@5``, ``~:10``); keep the upper bound."""
    if not text:
        return None
    text = text.lstrip("@")
    if ":" in text:
        text = text.split(":", 1)[1]
    try:
        return float(text)
    except ValueError:
        return None


def parse_perfdata(text: str) -> list[Metric]:
    metrics = []
    for match in _PERF.finditer(text):
        label, value, unit, warn, crit, low, high = match.groups()
        if value == "U":  # "undetermined" per the plugin guidelines
            continue
        name = label[1:-1].replace("''", "'") if label.startswith("'") else label
        try:
            number = float(value)
        except ValueError:
            continue
        metrics.append(Metric(name, number, unit, _number(warn), _number(crit), _number(low),
                              _number(high)))
    return metrics


def parse_plugin_output(text: str) -> PluginOutput:
    lines = text.splitlines()[:MAX_LINES]
    if not lines:
        return PluginOutput("(no output)", "", ())
    summary, _, perf = lines[0].partition("|")
    long_lines, more_perf = [], [perf]
    in_perf = False
    for line in lines[1:]:
        if in_perf:
            more_perf.append(line)
            continue
        text_part, bar, perf_part = line.partition("|")
        long_lines.append(text_part)
        if bar:
            in_perf = True
            more_perf.append(perf_part)
    metrics = parse_perfdata(" ".join(more_perf))
    return PluginOutput(summary.strip() or "(no output)", "\n".join(long_lines).strip(),
                        tuple(metrics))
