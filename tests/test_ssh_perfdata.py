"""Plugin perfdata per the monitoring-plugins development guidelines (section 2.6): what is not
a number is dropped with the reason (and logged), never stored as a truncated number."""

from __future__ import annotations

import logging

import pytest

from muni_watchdog.checks.ssh.checks_command import CommandCheck, CommandParams
from muni_watchdog.checks.ssh.connection import CommandResult
from muni_watchdog.checks.ssh.plugin import parse_perfdata, parse_plugin_output
from muni_watchdog.core.model import CheckContext, Metric, State
from tests.ssh_hosts import NOW


@pytest.mark.parametrize("perf,reason", [
    ("time=1,23456s", "not a number"),          # a comma locale
    ("n=123_456", "not a number"),              # Python's float() would say 123456
    ("x=123,456;1;2;0;1000", "not a number"),   # must never become 123
    ("e=1e", "not a number"),
    ("v=1.2.3", "not a number"),
    ("i=inf", "not a number"),
    ("nan=nan", "not a number"),
    ("h=0x10", "not a number"),
    ("u=U", "could not be determined"),
    ("w=5kW", "not a monitoring-plugins unit"),
    ("p=5;abc", "warn 'abc' is not a range"),
    ("q=5;;1,5", "crit '1,5' is not a range"),
    ("m=5;;;0;1,5", "max '1,5' is not a number"),
    ("s=1;2;3;4;5;6", "more than value;warn;crit;min;max"),
    ("it's=1", "not a label=value pair"),
    ("'unclosed=1", "not a label=value pair"),
    ("=5", "not a label=value pair"),
])
def test_malformed_metrics_are_dropped_with_the_reason(perf, reason):
    metrics, dropped = parse_perfdata(perf)
    assert metrics == []
    assert len(dropped) >= 1 and reason in dropped[0], dropped


@pytest.mark.parametrize("perf,metric", [
    ("a=+1.5E-15", Metric("a", 1.5e-15)),
    ("b=-3.5", Metric("b", -3.5)),
    ("c=.5", Metric("c", 0.5)),
    ("d=5.", Metric("d", 5.0)),
    ("'label with spaces'=1", Metric("label with spaces", 1.0)),
    ("'it''s'=2ms;1;2;0;10", Metric("it's", 2.0, "ms", 1.0, 2.0, 0.0, 10.0)),
    ("'a=b'=3", Metric("a=b", 3.0)),
    ("rta=0.123ms;100;500;0", Metric("rta", 0.123, "ms", 100.0, 500.0, 0.0)),
    ("t=5us", Metric("t", 5.0, "us")),
    ("pl=0%;20;60", Metric("pl", 0.0, "%", 20.0, 60.0)),
    ("size=1024B;;;0", Metric("size", 1024.0, "B", min=0.0)),
    ("swap=512MB;;;0;2048", Metric("swap", 512.0, "MB", min=0.0, max=2048.0)),
    ("disk=2TB", Metric("disk", 2.0, "TB")),
    ("kb=5kB", Metric("kb", 5.0, "kB")),
    ("bytes=123456c", Metric("bytes", 123456.0, "c")),
    ("r=5;10:;~:20;;", Metric("r", 5.0, "", None, 20.0)),
    ("in=5;@10:20", Metric("in", 5.0, "", 20.0)),
])
def test_valid_metrics(perf, metric):
    metrics, dropped = parse_perfdata(perf)
    assert (metrics, dropped) == ([metric], [])


def test_an_unquoted_label_with_spaces_is_not_misnamed():
    metrics, dropped = parse_perfdata("label with spaces=1 ok=3")
    assert metrics == [Metric("ok", 3.0)]
    assert any("unquoted label with spaces" in d for d in dropped)


def test_one_bad_metric_does_not_take_the_others_along():
    out = parse_plugin_output("HTTP OK | time=0,25s;1;2 size=5120B;;;0 'load 1'=0.5\n")
    assert [m.name for m in out.metrics] == ["size", "load 1"]
    assert len(out.dropped) == 1 and out.dropped[0].startswith("'time=0,25s;1;2'")


def test_dropped_perfdata_is_logged_and_kept_with_the_result(caplog):
    result = CommandResult(0, "PROCS OK: 3 processes | procs=123,456;250;400;0 "
                           "'total procs'=3;;;0\n", "", 0.2)
    with caplog.at_level(logging.WARNING, logger="muni-watchdog.ssh"):
        evaluation = CommandCheck().evaluate(result, CommandParams(command=["check_procs"]),
                                             CheckContext(NOW, {}))
    outcome = evaluation.outcome
    assert outcome.state is State.OK
    assert [m.name for m in outcome.metrics] == ["total procs"]  # never procs=123
    assert "perfdata dropped" in caplog.text and "procs=123,456" in caplog.text
    assert outcome.items[0]["perfdata_dropped"][0].startswith("'procs=123,456")
