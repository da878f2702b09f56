"""The OpenMetrics ``/metrics`` endpoint for the MSP's central monitoring (prometheus-client).

``start_metrics_server(address, port, collect)`` serves in a daemon thread; each scrape calls
``collect()`` for a fresh :class:`Snapshot`. ``store_snapshot(state_dir, config)`` is the
usual ``collect``: it reads the state database through its own read-only connection, so a
scrape never touches the daemon's writer connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from muni_watchdog.core.exercise import is_drill


@dataclass(frozen=True)
class Snapshot:
    """What a scrape shows: rows as the store returns them plus figures computed from them."""

    site: str
    checks: list[dict[str, Any]] = field(default_factory=list)     # current_state rows
    availability: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    outage_seconds: dict[str, float] = field(default_factory=dict)   # this month, monitored
    unmonitored_seconds: dict[str, float] = field(default_factory=dict)  # ... not watched
    stopped_seconds: float | None = None     # this month, the monitoring was not running
    restore_tests: list[dict[str, Any]] = field(default_factory=list)  # latest per backup
    open_incidents: int = 0
    pending_notifications: int = 0
    failed_notifications: int = 0
    last_check_at: float | None = None
    started_at: float | None = None


class SnapshotCollector(Collector):
    def __init__(self, collect: Callable[[], Snapshot]):
        self._collect = collect

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = self._collect()
        state = GaugeMetricFamily("muni_watchdog_check_state", "Hard state of each check "
                                  "(0 ok, 1 warning, 2 critical, 3 unknown)",
                                  labels=["site", "target", "check"])
        flapping = GaugeMetricFamily("muni_watchdog_check_flapping", "1 while a check flaps",
                                     labels=["site", "target", "check"])
        last = GaugeMetricFamily("muni_watchdog_check_last_run_timestamp_seconds",
                                 "When each check last ran", labels=["site", "target", "check"])
        for row in snap.checks:
            labels = [snap.site, row["target"], row["check_name"]]
            state.add_metric(labels, int(row["hard_state"]))
            flapping.add_metric(labels, int(row["flapping"]))
            if row.get("last_check"):
                last.add_metric(labels, datetime.fromisoformat(row["last_check"]).timestamp())
        yield from (state, flapping, last)
        avail = GaugeMetricFamily("muni_watchdog_service_availability_ratio", "Availability of "
                                  "each service this month so far, over the time it was "
                                  "watched (0..1)", labels=["site", "service"])
        target = GaugeMetricFamily("muni_watchdog_service_availability_target_ratio",
                                   "Availability target of each service (0..1)",
                                   labels=["site", "service"])
        for service, (value, goal) in sorted(snap.availability.items()):
            if value is not None:
                avail.add_metric([snap.site, service], value / 100)
            target.add_metric([snap.site, service], goal / 100)
        outage = GaugeMetricFamily("muni_watchdog_service_outage_seconds", "Outage of each "
                                   "service this month so far (the monthly report's rule)",
                                   labels=["site", "service"])
        for service, value in sorted(snap.outage_seconds.items()):
            outage.add_metric([snap.site, service], value)
        blind = GaugeMetricFamily("muni_watchdog_service_unmonitored_seconds", "Time each "
                                  "service was not watched this month so far: no fresh result "
                                  "that knew (UNKNOWN, no result, monitoring not running)",
                                  labels=["site", "service"])
        for service, value in sorted(snap.unmonitored_seconds.items()):
            blind.add_metric([snap.site, service], value)
        yield from (avail, target, outage, blind)
        verdict = GaugeMetricFamily("muni_watchdog_restore_test_verdict", "Verdict of the "
                                    "latest restore test (0 ok, 1 warning, 2 critical, 3 "
                                    "unknown)", labels=["site", "backup", "service"])
        when = GaugeMetricFamily("muni_watchdog_restore_test_timestamp_seconds",
                                 "When the latest restore test ran",
                                 labels=["site", "backup", "service"])
        age = GaugeMetricFamily("muni_watchdog_restore_test_data_age_seconds", "Age of the "
                                "restored snapshot at the latest test",
                                labels=["site", "backup", "service"])
        for row in snap.restore_tests:
            labels = [snap.site, row["backup"], row["service"]]
            verdict.add_metric(labels, int(row["verdict"]))
            when.add_metric(labels, datetime.fromisoformat(row["started_at"]).timestamp())
            if row.get("age_seconds") is not None:
                age.add_metric(labels, float(row["age_seconds"]))
        yield from (verdict, when, age)
        for name, doc, value in (
                ("open_incidents", "Open incidents", snap.open_incidents),
                ("notifications_pending", "Messages waiting in the outbox",
                 snap.pending_notifications),
                ("notifications_failed", "Messages given up", snap.failed_notifications),
                ("last_check_timestamp_seconds", "When any check last ran (the daemon is "
                 "alive and checking)", snap.last_check_at),
                ("monitoring_stopped_seconds", "Time this month so far in which no check ran "
                 "(the daemon or its box was down)", snap.stopped_seconds),
                ("scrape_timestamp_seconds", "When this snapshot was read", time.time())):
            if value is not None:
                yield GaugeMetricFamily(f"muni_watchdog_{name}", doc, value=value,
                                        labels=None)


def registry_for(collect: Callable[[], Snapshot]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(collect))
    return registry


def start_metrics_server(address: str, port: int, collect: Callable[[], Snapshot]
                         ) -> tuple[Any, threading.Thread]:
    """Serve ``/metrics`` on ADDRESS:PORT in a daemon thread; returns (server, thread).
    Stop with ``server.shutdown(); server.server_close()``."""
    from prometheus_client.exposition import start_http_server
    return start_http_server(port, addr=address, registry=registry_for(collect))


def snapshot_from_store(store: Any, config: Any, now: datetime | None = None) -> Snapshot:
    """Read a Snapshot (availability: this month so far, computed as the monthly report)."""
    from muni_watchdog.reports.history import load_history, month_bounds
    from muni_watchdog.reports.monthly import build_monthly_report

    now = now or datetime.now(UTC)
    local = now.astimezone(ZoneInfo(config.site.timezone))
    start, _ = month_bounds(local.year, local.month, config.site.timezone)
    history = load_history(store, start, now)
    report = build_monthly_report(history, config, local.year, local.month, now)
    latest: dict[str, dict[str, Any]] = {}
    for row in reversed(store.restore_tests(limit=500)):
        latest[row["backup"]] = row
    counts = store.notification_counts()
    checks = store.current_states()
    runs = [datetime.fromisoformat(r["last_check"]).timestamp() for r in checks
            if r.get("last_check")]
    return Snapshot(
        site=config.site.name, checks=checks,
        availability={s.id: (s.availability, s.target_percent) for s in report.services},
        outage_seconds={s.id: s.outage_seconds for s in report.services
                        if s.monitored_seconds > 0},
        unmonitored_seconds={s.id: s.unwatched_seconds for s in report.services
                             if s.monitored_seconds > 0},
        stopped_seconds=sum((b - a).total_seconds() for a, b in report.stopped),
        restore_tests=list(latest.values()),
        open_incidents=sum(1 for i in store.incidents("open") if not is_drill(i["target"])),
        pending_notifications=counts.get("pending", 0),
        failed_notifications=counts.get("failed", 0),
        last_check_at=max(runs) if runs else None)


def store_snapshot(state_dir: str, config: Any) -> Callable[[], Snapshot]:
    """A ``collect`` for the server that opens its own read-only connection per scrape."""
    def collect() -> Snapshot:
        from muni_watchdog.store.database import Store
        store = Store.open(state_dir, readonly=True)
        try:
            return snapshot_from_store(store, config)
        finally:
            store.close()
    return collect

