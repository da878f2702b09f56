"""The report agrees with itself on generated histories (issue 10): the opening paragraph, the
per-service tables, the 6-month trend and /metrics all show the outages an independent
computation finds — with short outages, attention-only CRITICALs, legacy events, maintenance,
overlapping checks, services sharing a target, partial months and a month still running.

Each history is drawn from a seeded generator that keeps the ground truth (when each check was
really unavailable); the oracle sweeps the month segment by segment, a different algorithm from
the report's interval arithmetic.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.test_report_words import grammar_errors, seconds_of
from watchdog.config import parse_config
from watchdog.reports.deliver import monthly_report
from watchdog.reports.metrics import snapshot_from_store
from watchdog.reports.render import render_monthly_html, render_monthly_text
from watchdog.store import Store

MONTH_START = datetime(2026, 11, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 12, 1, tzinfo=UTC)
AFTER = datetime(2026, 12, 1, 8, tzinfo=UTC)
KINDS = {  # target kind -> (check name, YAML checks, is its CRITICAL an outage by the rule)
    "web": ("http", "", True),
    "port": ("tcp", "checks: [{check: tcp, port: 25}]", True),
    "quiet-port": ("tcp", "checks: [{check: tcp, port: 22, affects_availability: false}]",
                   False),
    "printer": ("printer", "snmp: {community_file: /nonexistent}, checks: [{check: printer}]",
                False),
}
YAML_KIND = {"web": "http", "port": "tcp", "quiet-port": "tcp", "printer": "snmp"}


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


@dataclass
class Generated:
    config: object
    store: Store
    truth: dict[tuple[str, str], list[tuple[datetime, datetime, datetime]]]  # (start, end, seen)
    first_run: dict[tuple[str, str], datetime]
    services: dict[str, list[str]]       # service -> targets
    maintenance: list[tuple[datetime, datetime, set[str], set[str]]]  # start, end, targets, svcs


def generate(seed: int, tmp_path) -> Generated:
    rng = random.Random(seed)
    targets = {f"{kind}{i}": kind for i in range(rng.randint(1, 3))
               for kind in rng.sample(sorted(KINDS), rng.randint(1, 4))}
    names = sorted(targets)
    services: dict[str, list[str]] = {}
    for n in range(rng.randint(1, 4)):
        services[f"svc{n}"] = rng.sample(names, rng.randint(1, min(3, len(names))))
    lines = ["site: {name: Genville, timezone: UTC}", "services:"]
    for n, (sid, members) in enumerate(services.items()):
        lines += [f"  - id: {sid}", f"    name: Service {n}", f"    priority: {rng.randint(1, 5)}",
                  "    rto: 4h", "    rpo: 1d", "    owner: {name: A, contact: a@x.example}",
                  "    backup_owner: {name: B, contact: b@x.example}",
                  f"    targets: [{', '.join(members)}]"]
    lines.append("targets:")
    for tid, kind in targets.items():
        lines.append(f"  - {{id: {tid}, kind: {YAML_KIND[kind]}, host: 127.0.0.1"
                     + (f", {KINDS[kind][1]}" if KINDS[kind][1] else "") + "}")
    config = parse_config("\n".join(lines) + "\n", "gen.yaml", check_secrets=False)
    store = Store.open(tmp_path / f"state-{seed}")
    truth: dict = {}
    first_run: dict = {}
    for tid, kind in targets.items():
        check, _, counts = KINDS[kind]
        key = (tid, check)
        members = [s for s, m in services.items() if tid in m]
        # partial months: some checks start mid-month
        first = MONTH_START - timedelta(days=3) if rng.random() < 0.6 else \
            MONTH_START + timedelta(seconds=rng.randint(0, 25 * 86400))
        first_run[key] = first
        store.db.execute("INSERT INTO check_runs (target, check_name, started_at, duration, "
                         "state, summary) VALUES (?, ?, ?, 0.1, 0, 'ok')", [tid, check,
                                                                            iso(first)])
        truth[key] = _episodes(rng, store, tid, check, members, first, counts)
    # a failing restore test of each service: never an outage
    for sid in services:
        if rng.random() < 0.5:
            at = MONTH_START + timedelta(days=rng.randint(1, 20))
            _event(store, f"backup:{sid}-repo", "restore_test", "problem", 2, 0, at, at,
                   [sid], rng.choice([0, None]))
    maintenance = []
    for _ in range(rng.randint(0, 3)):
        start = MONTH_START + timedelta(minutes=rng.randint(-600, 30 * 1440))
        end = start + timedelta(minutes=rng.randint(1, 600))
        scope_t = set(rng.sample(names, 1)) if rng.random() < 0.5 else set()
        scope_s = set() if scope_t else {rng.choice(sorted(services))}
        store.add_maintenance(sorted(scope_t), sorted(scope_s), "Dana", "work", start, end,
                              None, start - timedelta(days=1))
        maintenance.append((start, end, scope_t, scope_s))
    return Generated(config, store, truth, first_run, services, maintenance)


def _event(store, target, check, kind, state, previous, since, at, services, unavailable):
    store.db.table("events").insert(dict(
        at=iso(at), target=target, check_name=check, kind=kind, state=state,
        previous_state=previous, since=iso(since), summary=f"{kind} {state}",
        services=json.dumps(services), priority=1, notify=1, processed=1,
        unavailable=unavailable))


def _incident(rng, store, tid, check, services, since, hard, end):
    told = rng.random() < 0.8
    acked = hard + timedelta(seconds=rng.choice([30, 59, 60, 61, 82, 3599, 3600, 3601,
                                                 4 * 3600 + 1, 86400])) \
        if told and rng.random() < 0.7 else None
    store.create_incident(
        target=tid, check_name=check, services=json.dumps(services), priority=1, state=2,
        summary="down", opened_at=iso(since), hard_at=iso(hard), resolved_at=iso(end),
        status="resolved", first_notified_at=iso(hard) if told else None,
        acked_by="Dana" if acked else None, acked_at=iso(acked) if acked else None,
        suppressed_reason=None if told else rng.choice(
            ["parent web0 down", "maintenance: work (Dana)", "accepted risk: x (Kim)",
             "flapping"]))


def _episodes(rng, store, tid, check, services, first, counts):
    """Problems one after another; returns the truth: (outage start, end, when it was
    recorded). ``counts``: whether a CRITICAL of this check is an outage by its type/config
    (events recorded before per-result flags carry None and are judged by it)."""
    out = []
    cursor = first + timedelta(minutes=rng.randint(1, 3000))
    while cursor < MONTH_END + timedelta(days=2):
        length = timedelta(seconds=rng.choice([5, 20, 59, 61, 300, 4000, 90000]))
        delay = timedelta(seconds=rng.choice([0, 10, 40]))
        since, hard = cursor, cursor + delay
        end = hard + length
        shape = rng.choice(["down", "down", "attention", "warning-then-down",
                            "attention-then-down", "legacy"])
        before = len(out)
        if shape == "down":
            _event(store, tid, check, "problem", 2, 0, since, hard, services, int(counts))
            if counts:
                out.append((since, end, hard))
        elif shape == "legacy":       # recorded before events carried the judgement
            _event(store, tid, check, "problem", 2, 0, since, hard, services, None)
            if counts:
                out.append((since, end, hard))
        elif shape == "attention":    # e.g. a certificate expiring soon
            _event(store, tid, check, "problem", 2, 0, since, hard, services, 0)
        else:                         # WARNING or attention first, then really down
            first_state = 1 if shape == "warning-then-down" else 2
            _event(store, tid, check, "problem", first_state, 0, since, hard, services, 0)
            down_at = hard + timedelta(seconds=int(length.total_seconds() // 3))
            _event(store, tid, check, "problem", 2, first_state, since, down_at, services,
                   int(counts))
            if counts:
                out.append((down_at, end, down_at))
        if rng.random() < 0.4:
            _incident(rng, store, tid, check, services, since, hard, end)
        if end < MONTH_END + timedelta(days=1) or rng.random() < 0.5:
            _event(store, tid, check, "recovery", 0, 2, since, end, services, 0)
        else:   # still down when the report is made
            out[before:] = [(s, MONTH_END + timedelta(days=30), h) for s, _, h in out[before:]]
            break
        cursor = end + timedelta(minutes=rng.randint(1, 6000))
    return out


def oracle(g: Generated, sid: str, start: datetime, stop: datetime) -> tuple[float, float]:
    """(monitored seconds, outage seconds) of a service by sweeping every segment between
    two boundaries and asking "was any of its checks down here, outside maintenance?"."""
    keys = [k for k in g.truth if k[0] in g.services[sid]]
    first = min(g.first_run[k] for k in keys)
    begin = max(start, first)
    if begin >= stop:
        return 0.0, 0.0
    # a maintenance window covers a check when it names its target or the service
    spans = [(s, min(e, stop), [(a, b) for a, b, ts, ss in g.maintenance
                                if k[0] in ts or sid in ss or not (ts or ss)])
             for k in keys for s, e, seen in g.truth[k] if seen <= stop]
    points = sorted({begin, stop, *[p for s, e, holes in spans
                                    for p in (s, e, *[x for h in holes for x in h])
                                    if begin < p < stop]})
    down = 0.0
    for a, b in zip(points, points[1:], strict=False):
        mid = a + (b - a) / 2
        if any(s <= mid < e and not any(h0 <= mid < h1 for h0, h1 in holes)
               for s, e, holes in spans):
            down += (b - a).total_seconds()
    return (stop - begin).total_seconds(), down


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_paragraph_tables_trend_and_metrics_agree(seed, tmp_path):
    g = generate(seed, tmp_path)
    report = monthly_report(g.store, g.config, 2026, 11, AFTER)
    text = render_monthly_text(report)
    page = render_monthly_html(report)
    paragraph = report.summary
    rows = {s.id: s for s in report.services}
    for sid in g.services:
        s = rows[sid]
        monitored, down = oracle(g, sid, MONTH_START, MONTH_END)
        assert s.monitored_seconds == pytest.approx(monitored)
        assert s.outage_seconds == pytest.approx(down, abs=1e-3), sid
        shown = re.search(rf"P\d SERVICE {sid[3:]}\nOwner: .*\nAvailability: ([^(]+?)"
                          r"(?: \(|$)", text, re.M)
        if s.availability is None:
            assert "Availability: no data yet" in text
            continue
        full = shown.group(1) == "100 %"
        # a table shows 100 % exactly when there was no outage, and the paragraph agrees
        assert full == (down == 0), (sid, shown.group(1), down)
        assert (f"{s.name} was down for" in paragraph) == (not full)
        assert ("Availability: <b>100 %</b>" in page) == (
            any(r.availability == 100.0 for r in report.services))
        # the verdict beside the figure agrees with it
        assert ("met" if s.met_target else "missed") in shown.string[shown.end():][:40]
    # leadership's words: no check ids, counts agree, acknowledgements agree with promises
    for tid, check in g.truth:
        assert f"{tid}/{check}" not in text + page
    assert grammar_errors(text) == []
    for said, verdict, promised in re.findall(
            r"acknowledged in ([^,]+), (within|later than) the promised ([^;]+);", text):
        assert (seconds_of(said) <= seconds_of(promised)) == (verdict == "within"), said
    monitored_rows = [s for s in report.services if s.availability is not None]
    says_none = "had an outage." in paragraph and "No " in paragraph
    assert says_none == (bool(monitored_rows) and all(s.outage_seconds == 0
                                                      for s in monitored_rows))
    # the trend's current month is the P1/P2 tables' outage minutes, to the second
    [trend] = report.trailing
    resident = [s for s in monitored_rows if s.priority in (1, 2)]
    current = trend.points[-1]
    if resident:
        assert current.value == pytest.approx(sum(s.outage_seconds for s in resident) / 60)
        assert (current.text == "none") == all(s.outage_seconds == 0 for s in resident)
    # ... and last month's point is last month's own report
    october = monthly_report(g.store, g.config, 2026, 10, AFTER)
    previous = [s for s in october.services if s.availability is not None
                and s.priority in (1, 2)]
    if previous:
        assert trend.points[-2].value == pytest.approx(
            sum(s.outage_seconds for s in previous) / 60)


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_metrics_agree_with_the_report_of_the_month_so_far(seed, tmp_path):
    g = generate(seed, tmp_path)
    now = datetime(2026, 11, 17, 13, 30, tzinfo=UTC)
    snapshot = snapshot_from_store(g.store, g.config, now)
    report = monthly_report(g.store, g.config, 2026, 11, now)
    for s in report.services:
        monitored, down = oracle(g, s.id, MONTH_START, now)
        value, goal = snapshot.availability[s.id]
        assert goal == s.target_percent
        if not monitored:
            assert value is None and s.id not in snapshot.outage_seconds
            continue
        assert value == pytest.approx(100 * (1 - down / monitored))
        assert snapshot.outage_seconds[s.id] == pytest.approx(down, abs=1e-3)
