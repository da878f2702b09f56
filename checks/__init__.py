"""Check types, grouped by the kind of target they run on."""

from __future__ import annotations

from checks.base import TargetKind
from checks.http import HttpCheck
from checks.snmp import SNMP_KIND
from checks.ssh import SSH_KIND
from checks.tcp import TcpCheck

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
