"""The ``exposure`` check type: the open doors of one target (default SNMP communities,
telnet, FTP, plain-HTTP admin pages, weak SSH and TLS settings, unexpected RDP), found from
the outside without logging in; :mod:`.collect` does the I/O, :mod:`.evaluate` judges.

What to probe depends on facts beyond the host name: the device class (a plain-HTTP page is
a management interface on a switch or printer), the URLs of the target's http checks (their
TLS endpoints), whether it runs Windows (RDP expected), its SNMP and SSH ports, the services
it serves. The daemon gives a ``facts`` function that reads them from the configuration and
from what the target's own checks last recorded; without one, the check knows what
:class:`TargetInfo` tells (host, kind, SNMP or SSH connection, services)."""

from __future__ import annotations

from collections.abc import Callable

from muni_watchdog.checks.base import Evaluation, TargetInfo
from muni_watchdog.checks.exposure.collect import collect_exposure
from muni_watchdog.checks.exposure.evaluate import evaluate_exposure
from muni_watchdog.checks.exposure.observations import ExposureRaw
from muni_watchdog.checks.exposure.params import ExposureParams, TargetFacts
from muni_watchdog.checks.snmp.connection import SnmpConnection
from muni_watchdog.checks.ssh.connection import SshConnection
from muni_watchdog.core.model import CheckContext


def facts_from_target(target: TargetInfo) -> TargetFacts:
    """What :class:`TargetInfo` itself tells: host, kind, the SNMP port and version or the
    SSH port (and whether it is set to Windows), and the services it serves."""
    conn = target.connection
    if isinstance(conn, SnmpConnection):
        return TargetFacts(target.host, target.kind, snmp_port=conn.port,
                           snmp_version=conn.version, services=target.services)
    if isinstance(conn, SshConnection):
        return TargetFacts(target.host, target.kind, windows=conn.os == "windows",
                           ssh_port=conn.port, services=target.services)
    return TargetFacts(target.host, target.kind, services=target.services)


class ExposureCheck:
    type = "exposure"
    Params = ExposureParams

    def __init__(self, facts: Callable[[TargetInfo], TargetFacts] = facts_from_target):
        self._facts = facts

    async def collect(self, target: TargetInfo, params: ExposureParams) -> ExposureRaw:
        return await collect_exposure(self._facts(target), params)

    def evaluate(self, raw: ExposureRaw, params: ExposureParams,
                 ctx: CheckContext) -> Evaluation:
        return Evaluation(evaluate_exposure(raw, params, ctx))
