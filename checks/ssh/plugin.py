"""Monitoring-plugins output: ``SUMMARY | perfdata`` on the first line, long text after, more
perfdata after a ``|`` in the long text (Nagios plugin API).

Performance data follows the monitoring-plugins development guidelines (section 2.6) strictly:

* space-separated ``'label'=value[UOM];[warn];[crit];[min];[max]``; the quotes are optional,
  and required when the label holds a space, ``=`` or ``'``; a quote inside a quoted label is
  written ``''``;
* value, min and max are C-locale decimal numbers (``-0-9.``; an exponent and a leading ``+``
  are accepted, as every consumer parses them with ``strtod``). ``1,5`` (a comma locale),
  ``123_456`` or ``1e`` are not numbers: the metric is dropped with the reason, never stored
  as a truncated number;
* value may be ``U`` (could not be determined): dropped, with that reason;
* UOM is empty (a count), ``s``/``ms``/``us``, ``%``, ``B``/``KB``/``MB``/``GB``/``TB``
  (the guidelines list GB with a question mark; Nagios and Icinga accept it) or ``c`` (a
  continuous counter); any other unit drops the metric;
* warn and crit are ranges (``10``, ``10:``, ``~:10``, ``10:20``, ``@10:20``); the upper bound
  is kept, as a threshold line for graphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from muni_watchdog.core.model import Metric

MAX_LINES = 10_000
MAX_METRICS = 500

NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_VALUE = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|U)(.*)$")
_RANGE = re.compile(r"^@?(?:~|[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)?"
                    r"(?::(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)?)?$")
TIME_UNITS = ("s", "ms", "us")
BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")


def valid_unit(unit: str) -> bool:
    # Byte units case-insensitively: "kB" (Monitoring::Plugin's own example) is a kilobyte.
    return unit in ("", "%", "c", *TIME_UNITS) or unit.upper() in BYTE_UNITS


@dataclass(frozen=True)
class PluginOutput:
    summary: str
    long_text: str
    metrics: tuple[Metric, ...]
    dropped: tuple[str, ...] = ()  # perfdata that broke the rules, each with the reason


def _tokens(text: str) -> list[tuple[str | None, str, str]]:
    """(label, value part, raw token) for each space-separated ``label=value`` pair; label
    None when the pair is malformed (the raw token says what was seen)."""
    tokens: list[tuple[str | None, str, str]] = []
    i, n = 0, len(text)
    while i < n and len(tokens) < MAX_METRICS:
        if text[i].isspace():
            i += 1
            continue
        start = i
        label: str | None
        if text[i] == "'":
            chars, i = [], i + 1
            while i < n:
                if text[i] == "'" and i + 1 < n and text[i + 1] == "'":
                    chars.append("'")
                    i += 2
                elif text[i] == "'":
                    break
                else:
                    chars.append(text[i])
                    i += 1
            closed = i < n
            label = "".join(chars) if closed and i + 1 < n and text[i + 1] == "=" else None
            i += 2 if label is not None else 1
        else:
            while i < n and not text[i].isspace() and text[i] != "=":
                i += 1
            word = text[start:i]
            label = word if i < n and text[i] == "=" and word and "'" not in word else None
            i += 1 if label is not None else 0
        value_start = i
        while i < n and not text[i].isspace():
            i += 1
        tokens.append((label, text[value_start:i] if label is not None else "",
                       text[start:i]))
    return tokens


def _threshold(text: str) -> float | None:
    """The upper bound of a range (``10:20`` → 20, ``10`` → 10, ``10:`` → None)."""
    text = text.lstrip("@")
    upper = text.split(":", 1)[1] if ":" in text else text
    return None if upper in ("", "~") else float(upper)


def parse_metric(label: str, value_part: str) -> Metric | str:
    """One metric, or the reason it breaks the guidelines."""
    fields = value_part.split(";")
    if len(fields) > 5:
        return "more than value;warn;crit;min;max"
    match = _VALUE.match(fields[0])
    if not match:
        return f"value {fields[0]!r} is not a number"
    value, unit = match.groups()
    if not valid_unit(unit):
        if unit[:1] in ",_eE." or any(c.isdigit() for c in unit):
            return f"value {fields[0]!r} is not a number (C locale: digits, '.', exponent)"
        return f"unit {unit!r} is not a monitoring-plugins unit (s, ms, us, %, B, KB, MB, " \
            "GB, TB, c or none)"
    if value == "U":
        return "value is U (could not be determined)"
    rest = fields[1:] + [""] * (4 - len(fields[1:]))
    warn, crit, low, high = rest
    for name, text in (("warn", warn), ("crit", crit)):
        if text and not _RANGE.match(text):
            return f"{name} {text!r} is not a range"
    for name, text in (("min", low), ("max", high)):
        # min and max carry the value's unit, if any.
        if text and not NUMBER.match(text.removesuffix(unit) if unit else text):
            return f"{name} {text!r} is not a number"
    return Metric(label, float(value), unit,
                  _threshold(warn) if warn else None, _threshold(crit) if crit else None,
                  float(low.removesuffix(unit) if unit else low) if low else None,
                  float(high.removesuffix(unit) if unit else high) if high else None)


def parse_perfdata(text: str) -> tuple[list[Metric], list[str]]:
    """Metrics, and the pairs dropped with the reason (``'time=1,5s': value ... not a
    number``)."""
    metrics, dropped = [], []
    bare = False  # the previous token was a word without "=": maybe an unquoted label
    for label, value_part, raw in _tokens(text):
        if label is None:
            dropped.append(f"{raw[:80]!r}: not a label=value pair (quote a label with spaces, "
                           "= or ')")
            bare = "=" not in raw
            continue
        if bare and not raw.startswith("'"):
            # "label with spaces=1": storing it as "spaces" would misname it.
            bare = False
            dropped.append(f"{raw[:80]!r}: follows a bare word: an unquoted label with spaces?")
            continue
        bare = False
        if not label:
            dropped.append(f"{raw[:80]!r}: empty label")
            continue
        parsed = parse_metric(label, value_part)
        if isinstance(parsed, Metric):
            metrics.append(parsed)
        else:
            dropped.append(f"{raw[:80]!r}: {parsed}")
    return metrics, dropped


def parse_plugin_output(text: str) -> PluginOutput:
    lines = text.splitlines()[:MAX_LINES]
    if not lines:
        return PluginOutput("", "", ())
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
    metrics, dropped = parse_perfdata(" ".join(more_perf))
    return PluginOutput(summary.strip(), "\n".join(long_lines).strip(), tuple(metrics),
                        tuple(dropped))
