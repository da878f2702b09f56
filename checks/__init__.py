"""Check types, grouped by the kind of target they run on."""

from __future__ import annotations

# Installed as muni_watchdog.checks; imported by its folder's name (with the repository root on
# sys.path) it would load a second copy of every module. Fail at once instead.
if __name__ != "muni_watchdog.checks":
    raise ImportError(f"import muni_watchdog.checks, not {__name__} (the checks/ folder)")

from dataclasses import replace

from muni_watchdog.checks.base import TargetKind
from muni_watchdog.checks.exposure.check import ExposureCheck
from muni_watchdog.checks.http import HttpCheck
from muni_watchdog.checks.snmp import SNMP_KIND
from muni_watchdog.checks.ssh import SSH_KIND
from muni_watchdog.checks.tcp import TcpCheck
from muni_watchdog.checks.vulns.check import VulnerabilitiesCheck


def _with_exposure(kind: TargetKind) -> TargetKind:
    """Every kind of target gets the ``exposure`` check, among its defaults too: the open
    doors of a device matter whatever it is (registered here, where the check packages meet:
    exposure reads SNMP's encoder, so the snmp package cannot import it)."""
    defaults = kind.default_checks
    return replace(kind, check_types={**kind.check_types, "exposure": ExposureCheck()},
                   default_checks=lambda: [*defaults(), {"check": "exposure"}])


KINDS: dict[str, TargetKind] = {
    "http": _with_exposure(TargetKind(
        "http", "A web endpoint: website, payment portal, webmail. Checks: http, exposure. "
        "Without checks: http of https://HOST/ + exposure (open doors, daily).",
        {"http": HttpCheck()}, default_checks=lambda: [{"check": "http"}])),
    "tcp": _with_exposure(TargetKind(
        "tcp", "Anything with a TCP port: a router's admin port, a database, SMTP. Checks: tcp, "
        "exposure. Without checks: exposure (open doors, daily).",
        {"tcp": TcpCheck()})),
    # vulnerabilities reads the ssh package's package lists: registered here, not there.
    "ssh": _with_exposure(replace(SSH_KIND, check_types={
        **SSH_KIND.check_types, "vulnerabilities": VulnerabilitiesCheck()})),
    "snmp": _with_exposure(SNMP_KIND),
}
