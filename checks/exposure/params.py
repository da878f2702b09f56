"""The ``exposure`` check's parameters and the facts about its target that it needs.

Ports are parameters (a device can run telnet on 2323) defaulting to the standard ones. The
default SNMP communities are the universal factory defaults and a few vendors' documented
ones, kept short: ``public``/``private`` (RFC 1157's examples, shipped by Ricoh, Fujifilm,
Zebra, Cisco, APC...), ``cisco`` (Cisco), ``internal`` (HP JetDirect), ``apc`` (APC AP9606
management cards) — the vendor attributions are those of Greenbone's
``snmp_default_communities.nasl`` (1.3.6.1.4.1.25623.1.0.103914).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator

from muni_watchdog.checks.base import CheckParams
from muni_watchdog.checks.exposure.catalogue import CATALOGUE
from muni_watchdog.core.durations import DAY
from muni_watchdog.core.types import Interval, Timeout

DEFAULT_COMMUNITIES = ("public", "private", "cisco", "internal", "apc")
# Device classes (checks.snmp.classes) whose web page is a management interface.
MANAGED_CLASSES = ("network", "printer", "ups", "storage", "wireless", "firewall")
MAX_PORTS = 16
MAX_COMMUNITIES = 10
Port = Annotated[int, Field(ge=1, le=65535)]


def _ports(default: tuple[int, ...], what: str):
    return Field(list(default), max_length=MAX_PORTS,
                 description=f"TCP ports to look for {what} on ([] to skip).")


class ExposureParams(CheckParams):
    check: Literal["exposure"] = "exposure"
    interval: Interval | None = Field(
        DAY, description="How often to look (daily: open doors change with configuration "
        "changes, not by the minute).")
    timeout: Timeout = Field(
        60.0, description="Time budget for all probes together; probes still running then "
        "are stopped and reported UNKNOWN.")
    probe_timeout: Timeout = Field(
        3.0, description="Wait for one connection, banner or answer (check_tcp's "
        "default is 10s; a LAN answers in milliseconds).")
    concurrency: int = Field(4, ge=1, le=8, description="Probes run at the same time.")
    snmp: bool = Field(True, description="Try the default SNMP communities and SNMPv3 "
                       "discovery (UDP).")
    snmp_port: int | None = Field(None, ge=1, le=65535, description="UDP port of the agent; "
                                  "default the target's SNMP port, else 161.")
    snmp_communities: list[str] = Field(
        list(DEFAULT_COMMUNITIES), min_length=1, max_length=MAX_COMMUNITIES,
        description="Factory-default communities to try (one GET of sysDescr.0 each, "
        "never a SET).")
    telnet_ports: list[Port] = _ports((23,), "telnet")
    ftp_ports: list[Port] = _ports((21,), "FTP")
    http_ports: list[Port] = _ports((80,), "a management page without TLS")
    http_classes: list[str] = Field(
        list(MANAGED_CLASSES), description="Device classes whose plain-HTTP page is a "
        "management interface (the probe runs only on these).")
    ssh_ports: list[Port] = _ports((22,), "an SSH server")
    tls_ports: list[Port] = _ports((), "a TLS server (the https URLs' ports are added)")
    ca_file: str | None = Field(
        None, description="Extra CA bundle (PEM) to trust besides the system's, e.g. the "
        "town's internal CA that signs its devices' certificates.")
    rdp_port: int = Field(3389, ge=1, le=65535, description="Remote Desktop port.")
    expect_rdp: bool | None = Field(
        None, description="Whether RDP may be reachable; default only on Windows targets.")
    ssh_probe_user: str = Field(
        "muni-watchdog", min_length=1, max_length=32, description="User name in the SSH "
        "'none' request that lists the offered login methods (no password is sent).")
    accept: list[str] = Field(
        [], description="Finding ids the town has accepted (e.g. ftp for a scanner's "
        "scan-to-folder); they are listed as accepted, not alarmed.",
        examples=[["ftp", "ssh_password_auth"]])

    @field_validator("accept")
    @classmethod
    def _known_findings(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in CATALOGUE]
        if unknown:
            raise ValueError(f"unknown finding id(s) {', '.join(map(repr, unknown))}; known: "
                             f"{', '.join(CATALOGUE)}")
        return value


@dataclass(frozen=True)
class TargetFacts:
    """What the exposure check must know about its target beyond the host name.

    ``device_class``: the SNMP device class (printer, network...) or None; ``urls``: the
    resident-facing URLs configured for it (its http checks'); ``windows``: a Windows host;
    ``snmp_port``/``snmp_version``: its SNMP connection, when it has one; ``ssh_port``: the
    port of its ssh connection (probed besides ``ssh_ports``); ``services``: the names of the
    services that run on it, which each finding endangers."""

    host: str
    kind: str = ""
    device_class: str | None = None
    urls: tuple[str, ...] = ()
    windows: bool = False
    snmp_port: int | None = None
    snmp_version: str | None = None
    ssh_port: int | None = None
    services: tuple[str, ...] = ()

    def expects_rdp(self, params: ExposureParams) -> bool:
        return self.windows if params.expect_rdp is None else params.expect_rdp
