"""/metrics served on loopback, scraped over HTTP and parsed with prometheus-client's parser."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from lab.servers import free_port
from muni_watchdog.reports.metrics import snapshot_from_store, start_metrics_server
from tests.report_fixture import NOW, build, make_config


@pytest.mark.integration
def test_metrics_endpoint_scraped_and_parsed(tmp_path):
    store = build(tmp_path)
    config = make_config()
    snapshot = snapshot_from_store(store, config, NOW)
    port = free_port()
    server, thread = start_metrics_server("127.0.0.1", port, lambda: snapshot)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    site = ("site", "Town of Example")
    assert samples[("muni_watchdog_check_state", (("check", "tcp"), site,
                                                  ("target", "mail")))] == 0
    assert samples[("muni_watchdog_restore_test_verdict", (("backup", "mail-backup"),
                                                           ("service", "email"), site))] == 0
    assert samples[("muni_watchdog_service_availability_target_ratio",
                    (("service", "email"), site))] == pytest.approx(0.999)
    assert ("muni_watchdog_service_availability_ratio", (("service", "email"), site)) in samples
    assert samples[("muni_watchdog_open_incidents", ())] == 1
    assert ("muni_watchdog_last_check_timestamp_seconds", ()) in samples


def test_metrics_listen_default_and_validation():
    from muni_watchdog.config.models import MetricsConfig
    assert MetricsConfig().address == ("127.0.0.1", 9877)
    assert MetricsConfig(listen="[::1]:9100").address == ("::1", 9100)
    with pytest.raises(ValueError, match="is not ADDRESS:PORT"):
        MetricsConfig(listen="9877")
