"""The heavy libraries load when the configuration uses them (watchdog/core/lazy.py).

Each case runs a fresh interpreter: what it imports is what a daemon started with that
configuration would import."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("paramiko", "invoke", "cryptography.x509", "univers",
         # the restore machinery and its restic driver (sh): only with backups configured
         "muni_watchdog.backup_tests.drill", "sh",
         # the vulnerability feeds' machinery: only with the vulnerabilities check
         "muni_watchdog.checks.vulns.judge", "ijson",
         # the /metrics endpoint's library: only when the daemon serves it
         "prometheus_client")


def imported_after(code: str) -> dict:
    probe = (
        "import json, sys\n" + code + "\n"
        f"print(json.dumps({{m: (m in sys.modules and sys.modules[m] is not None) "
        f"for m in {HEAVY!r}}}))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_snmp_only_configuration_does_not_load_ssh_tls_or_vulnerability_libraries(tmp_path):
    secret = tmp_path / "community"
    secret.write_text("public")
    config = tmp_path / "watchdog.yaml"
    config.write_text("site: {name: Testville, timezone: UTC}\ntargets:\n"
                      "  - id: switch\n    kind: snmp\n    host: 127.0.0.1\n"
                      f"    snmp: {{version: 2c, community_file: {secret}}}\n")
    loaded = imported_after(
        "import muni_watchdog.cli.main\n"
        "import muni_watchdog.daemon.service\n"       # what `muni-watchdog run` imports
        "from muni_watchdog.config.loading import load_config\n"
        f"config = load_config({str(config)!r})\n"
        "assert [t.id for t in config.targets] == ['switch']\n"
        # the site jobs a daemon installs at start: /metrics is not asked for
        "import asyncio\n"
        "from muni_watchdog.daemon.report_jobs import MetricsEndpoint\n"
        "asyncio.run(MetricsEndpoint().install(config, None))\n")
    assert loaded == dict.fromkeys(HEAVY, False)


def test_paramiko_loads_at_first_use_without_invoke():
    loaded = imported_after(
        "from muni_watchdog.checks.ssh import connection\n"
        "assert 'paramiko' not in sys.modules\n"
        "keys = connection.paramiko.HostKeys()\n"          # first use imports it
        "import paramiko.config\n"
        "assert paramiko.config.invoke is None\n"          # its optional import was skipped
        "assert connection.paramiko.Transport is paramiko.Transport\n")
    assert loaded["paramiko"] is True
    assert loaded["invoke"] is False


def test_certificates_and_versions_still_read_after_the_lazy_import():
    loaded = imported_after(
        "from muni_watchdog.checks.vulns.versions import compare\n"
        "assert compare('dpkg', '2.36-9+deb12u3', '2.36-9+deb12u10') == -1\n"
        "assert compare('rpm', '1.0-2.el9', '1.0-10.el9') == -1\n")
    assert loaded["univers"] is True

