"""The report agrees with itself on generated histories (issue 10): the opening paragraph, the
per-service tables, the 6-month trend and /metrics all show the outages and the unwatched time
an independent computation finds — with short outages, attention-only CRITICALs, legacy events,
maintenance, overlapping checks, services sharing a target, partial months, a month still
running, checks whose results were UNKNOWN for a while or did not come, and the monitoring
itself switched off for a while.

Each history is drawn from a seeded generator that keeps the ground truth (when each check was
really unavailable, when it could not tell); the oracle sweeps the month segment by segment, a
different algorithm from the report's interval arithmetic.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from muni_watchdog.config.loading import parse_config
from muni_watchdog.reports.deliver import monthly_report
from muni_watchdog.reports.metrics import snapshot_from_store
from muni_watchdog.reports.render import render_monthly_html, render_monthly_text
from muni_watchdog.reports.words import percent
from muni_watchdog.store.database import Store
from tests.test_report_words import grammar_errors, seconds_of

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
    blind: dict[tuple[str, str], list[tuple[datetime, datetime]]]     # could not tell
    running: dict[tuple[str, str], list[tuple[datetime, datetime]]]   # results came
    capable: dict[tuple[str, str], bool]                              # can report an outage


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
    blind: dict = {}
    running: dict = {}
    # the box the monitoring runs on is switched off for a while (or not)
    off_at = MONTH_START + timedelta(minutes=rng.randint(-3000, 30 * 1440))
    box_off = (off_at, off_at + timedelta(minutes=rng.choice([20, 90, 600, 3000]))) \
        if rng.random() < 0.5 else None
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
        if seed % 5:       # every fifth store predates coverage: judged as before
            blind[key], running[key] = _coverage(rng, store, tid, check, first, box_off)
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
    return Generated(config, store, truth, first_run, services, maintenance, blind, running,
                     {(tid, KINDS[kind][0]): KINDS[kind][2] for tid, kind in targets.items()})


INTERVAL = 300.0


def _coverage(rng, store, tid, check, first, box_off):
    """Coverage rows as the store writes them (one per stretch of on-time results that knew,
    or did not), from a drawn timeline of knowing / UNKNOWN / silent segments, with the box
    switched off for everyone at once. Returns the truth: (blind spans, running spans)."""
    segments = []
    cursor = first
    kind = "known"
    while cursor < MONTH_END + timedelta(days=2):
        length = timedelta(seconds=rng.choice([600, 3600, 5 * 3600, 40 * 3600, 5 * 86400]))
        segments.append((kind, cursor, cursor + length))
        cursor += length
        kind = rng.choices(["known", "unknown", "silent"], [5, 2, 1])[0]
    if box_off:                      # the box off: nothing runs, whatever was going on
        a, b = box_off
        cut = []
        for kind, s, e in segments:
            cut += [(kind, s, min(e, a))] if s < a else []
            cut += [(kind, max(s, b), e)] if e > b else []
            if s < b and e > a:
                cut.append(("silent", max(s, a), min(e, b)))
        segments = sorted((x for x in cut if x[1] < x[2]), key=lambda x: x[1])
    blind, running = [], []
    step = timedelta(seconds=INTERVAL)
    for i, (kind, s, e) in enumerate(segments):
        # results every 5 minutes, the last one an interval before the segment ends; so a
        # silent segment begins when the next result was due (after a segment shorter than
        # an interval, one interval after its only result)
        last = max(s, e - step)
        if kind == "silent":
            blind.append((max(s, segments[i - 1][1] if i else s), e))
            continue
        if i + 1 < len(segments) and segments[i + 1][0] == "silent" and last + step > e:
            e = last + step
            segments[i + 1] = ("silent", e, segments[i + 1][2])
        running.append((s, e))
        if kind == "unknown":
            blind.append((s, e))
        store.db.execute(
            "INSERT INTO check_watch (target, check_name, started_at, last_at, interval, "
            "stale_after, known, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [tid, check, iso(s), iso(last), INTERVAL, 2 * INTERVAL, int(kind == "known"),
             "" if kind == "known" else "SSH: timed out"])
    return blind, running


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


def oracle(g: Generated, sid: str, start: datetime, stop: datetime
           ) -> tuple[float, float, float]:
    """(monitored, outage, unwatched seconds) of a service by sweeping every segment between
    two boundaries and asking "could a check that can report an outage not tell here,
    outside maintenance?", then "was any of its checks down here, outside maintenance and
    while watched?"."""
    keys = [k for k in g.truth if k[0] in g.services[sid]]
    first = min(g.first_run[k] for k in keys)
    begin = max(start, first)
    if begin >= stop:
        return 0.0, 0.0, 0.0

    def holes(key):     # a maintenance window covers a check when it names its target or
        return [(a, b) for a, b, ts, ss in g.maintenance   # the service, or is site-wide
                if key[0] in ts or sid in ss or not (ts or ss)]

    spans = [(s, min(e, stop), holes(k)) for k in keys for s, e, seen in g.truth[k]
             if seen <= stop]
    watched_by = [k for k in keys if g.capable[k]] or keys
    blinds = [(s, e, holes(k)) for k in watched_by for s, e in g.blind.get(k, [])]
    points = sorted({begin, stop, *[p for s, e, hs in spans + blinds
                                    for p in (s, e, *[x for h in hs for x in h])
                                    if begin < p < stop]})
    down = unwatched = 0.0
    for a, b in zip(points, points[1:], strict=False):
        mid = a + (b - a) / 2
        if _inside(mid, blinds):
            unwatched += (b - a).total_seconds()
        elif _inside(mid, spans):
            down += (b - a).total_seconds()
    return (stop - begin).total_seconds(), down, unwatched


def _inside(mid, found) -> bool:
    return any(s <= mid < e and not any(h0 <= mid < h1 for h0, h1 in holes)
               for s, e, holes in found)


def stopped_oracle(g: Generated, start: datetime, stop: datetime) -> float:
    """Seconds in which no check of the site produced results (coverage recorded only)."""
    if not g.running:
        return 0.0
    begin = max(start, min(g.first_run.values()))
    spans = [span for spans in g.running.values() for span in spans]
    points = sorted({begin, stop, *[p for s, e in spans for p in (s, e) if begin < p < stop]})
    return sum((b - a).total_seconds() for a, b in zip(points, points[1:], strict=False)
               if begin < stop and not any(s <= a + (b - a) / 2 < e for s, e in spans))


def expected_verdict(monitored: float, down: float, unwatched: float, target: float) -> str:
    watched = monitored - unwatched
    if watched <= 0:
        return "not proven"
    if 100 * (1 - down / watched) + 1e-9 < target:
        return "missed"
    if 100 * watched / monitored + 1e-9 < 99 or \
            100 * (watched - down) / monitored + 1e-9 < target:
        return "not proven"
    return "met"


SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_paragraph_tables_trend_and_metrics_agree(seed, tmp_path):
    g = generate(seed, tmp_path)
    report = monthly_report(g.store, g.config, 2026, 11, AFTER)
    text = render_monthly_text(report)
    page = render_monthly_html(report)
    paragraph = report.summary
    rows = {s.id: s for s in report.services}
    assert sum((b - a).total_seconds() for a, b in report.stopped) == pytest.approx(
        stopped_oracle(g, MONTH_START, MONTH_END))
    for sid in g.services:
        s = rows[sid]
        monitored, down, unwatched = oracle(g, sid, MONTH_START, MONTH_END)
        assert s.monitored_seconds == pytest.approx(monitored)
        assert s.unwatched_seconds == pytest.approx(unwatched, abs=1e-3), sid
        assert s.outage_seconds == pytest.approx(down, abs=1e-3), sid
        shown = re.search(rf"P\d SERVICE {sid[3:]}\nOwner: .*\nAvailability: ([^(]+?)"
                          r"(?: \(|$)", text, re.M)
        if not monitored:
            assert s.availability is None and "Availability: no data yet" in text
            continue
        # never watched is said as such, never as a figure
        if unwatched >= monitored - 1e-3:
            assert shown.group(1) == "not watched this month"
            assert f"{s.name}: not watched at all" in paragraph
            assert s.verdict == "not proven"
            continue
        figure, _, watched_words = shown.group(1).partition(" of the time it was watched")
        full = figure == "100 %"
        # a table shows 100 % exactly when there was no outage, and the paragraph agrees
        assert full == (down == 0), (sid, shown.group(1), down)
        assert (f"{s.name} was down for" in paragraph) == (not full)
        assert ("Availability: <b>100 %</b>" in page) == (
            any(r.availability == 100.0 and r.unwatched_seconds == 0
                for r in report.services))
        # time not watched is said beside the figure and in the paragraph, never as up
        assert (" of the time it was watched" in shown.group(1)) == (unwatched > 0)
        assert (f"{s.name}: {figure} of the time it was watched; not watched for"
                in paragraph) == (unwatched > 0)
        # the verdict beside the figure agrees with it, and with the rule
        verdict = expected_verdict(monitored, down, unwatched, s.target_percent)
        assert s.verdict == verdict, (sid, monitored, down, unwatched)
        assert shown.string[shown.end():].startswith(
            f"target {percent(s.target_percent)}, {verdict})")
    # leadership's words: no check ids, counts agree, acknowledgements agree with promises
    for tid, check in g.truth:
        assert f"{tid}/{check}" not in text + page
    assert grammar_errors(text) == []
    for said, verdict, promised in re.findall(
            r"acknowledged in ([^,]+), (within|later than) the promised ([^;]+);", text):
        assert (seconds_of(said) <= seconds_of(promised)) == (verdict == "within"), said
    monitored_rows = [s for s in report.services if s.monitored_seconds > 0]
    says_none = "had an outage" in paragraph and "No " in paragraph
    assert says_none == (bool(monitored_rows) and all(s.outage_seconds == 0
                                                      for s in monitored_rows))
    assert ("had an outage while it was watched" in paragraph) == (
        says_none and any(s.unwatched_seconds > 0 for s in monitored_rows))
    assert ("met its availability target" in paragraph) == (
        any(s.outages for s in monitored_rows) and
        all(s.verdict == "met" for s in monitored_rows))
    # the trend's current month is the P1/P2 tables' outage minutes, to the second, and
    # never "none" while one of them was not watched
    [trend] = report.trailing
    resident = [s for s in monitored_rows if s.priority in (1, 2)]
    current = trend.points[-1]
    if resident:
        assert current.value == pytest.approx(sum(s.outage_seconds for s in resident) / 60)
        blind = any(s.unwatched_seconds > 0 for s in resident)
        assert (current.text == "none") == (all(s.outage_seconds == 0 for s in resident)
                                            and not blind)
        assert ("not watched for" in current.text) == blind
    # ... and last month's point is last month's own report
    october = monthly_report(g.store, g.config, 2026, 10, AFTER)
    previous = [s for s in october.services if s.monitored_seconds > 0
                and s.priority in (1, 2)]
    if previous:
        assert trend.points[-2].value == pytest.approx(
            sum(s.outage_seconds for s in previous) / 60)


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_metrics_agree_with_the_report_of_the_month_so_far(seed, tmp_path):
    g = generate(seed + 1, tmp_path)     # seed + 1: these stores record coverage
    now = datetime(2026, 11, 17, 13, 30, tzinfo=UTC)
    snapshot = snapshot_from_store(g.store, g.config, now)
    report = monthly_report(g.store, g.config, 2026, 11, now)
    assert snapshot.stopped_seconds == pytest.approx(stopped_oracle(g, MONTH_START, now))
    for s in report.services:
        monitored, down, unwatched = oracle(g, s.id, MONTH_START, now)
        value, goal = snapshot.availability[s.id]
        assert goal == s.target_percent
        if not monitored:
            assert value is None and s.id not in snapshot.outage_seconds
            continue
        assert snapshot.unmonitored_seconds[s.id] == pytest.approx(unwatched, abs=1e-3)
        assert snapshot.outage_seconds[s.id] == pytest.approx(down, abs=1e-3)
        if unwatched >= monitored - 1e-3:
            assert value is None
            continue
        assert value == pytest.approx(100 * (1 - down / (monitored - unwatched)))
