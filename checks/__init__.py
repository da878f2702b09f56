"""Check types, grouped by the kind of target they run on."""

from __future__ import annotations

# Installed as muni_watchdog.checks; imported by its folder's name (with the repository root on
# sys.path) it would load a second copy of every module. Fail at once instead.
if __name__ != "muni_watchdog.checks":
    raise ImportError(f"import muni_watchdog.checks, not {__name__} (the checks/ folder)")

from muni_watchdog.checks.base import TargetKind
from muni_watchdog.checks.http import HttpCheck
from muni_watchdog.checks.snmp import SNMP_KIND
from muni_watchdog.checks.ssh import SSH_KIND
from muni_watchdog.checks.tcp import TcpCheck

KINDS: dict[str, TargetKind] = {
    "http": TargetKind(
        "http", "A web endpoint: website, payment portal, webmail. Checks: http.",
        {"http": HttpCheck()}, default_checks=lambda: [{"check": "http"}]),
    "tcp": TargetKind(
        "tcp", "Anything with a TCP port: a router's admin port, a database, SMTP. Checks: tcp.",
        {"tcp": TcpCheck()}),
    "ssh": SSH_KIND,
    "snmp": SNMP_KIND,
}
