"""What the probes saw: plain data, made by the I/O modules and judged by :mod:`.evaluate`.

A port is ``open`` (connected), ``closed`` (refused: the host is up), ``filtered`` (no answer
in time) or ``error`` (something else went wrong; ``error`` says what). A probe that could not
tell leaves its ``error`` set, which the evaluation reports as UNKNOWN, never as "no door".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from muni_watchdog.checks.exposure.banners import HttpPage
from muni_watchdog.checks.exposure.certificates import CertificateFacts
from muni_watchdog.checks.exposure.params import TargetFacts
from muni_watchdog.checks.exposure.ssh_algorithms import KexInit

PortState = Literal["open", "closed", "filtered", "error"]


@dataclass(frozen=True)
class SnmpObservation:
    port: int
    answered: tuple[tuple[str, str], ...] = ()   # (community, version "1"/"2c") that answered
    sys_descr: str = ""
    any_community: bool = False      # a random control community answered too
    v3_engine_id: str | None = None  # hex; None: no v3 answer
    icmp_unreachable: bool = False   # the host said nothing listens on the port
    error: str = ""

    @property
    def answering(self) -> bool:
        return bool(self.answered) or self.v3_engine_id is not None


@dataclass(frozen=True)
class ServiceObservation:
    """A clear-text service probe: telnet, ftp, http or rdp."""

    service: Literal["telnet", "ftp", "http", "rdp"]
    port: int
    state: PortState
    confirmed: bool = False          # the protocol was recognised (banner, status line...)
    banner: str = ""
    page: HttpPage | None = None
    error: str = ""


@dataclass(frozen=True)
class SshObservation:
    port: int
    state: PortState
    identification: str = ""         # SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3
    kexinit: KexInit | None = None
    auth_methods: tuple[str, ...] | None = None
    auth_error: str = ""
    error: str = ""


@dataclass(frozen=True)
class TlsObservation:
    host: str
    port: int
    server_name: str
    state: PortState
    protocol: str = ""               # negotiated by a default client: TLSv1.3
    certificate: CertificateFacts | None = None
    verify_code: int | None = None
    verify_error: str = ""           # "" when a default client trusts the chain and name
    legacy_accepted: tuple[str, ...] = ()   # TLSv1, TLSv1.1
    legacy_errors: tuple[str, ...] = ()     # legacy probes that could not tell
    error: str = ""

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ExposureRaw:
    facts: TargetFacts
    snmp: SnmpObservation | None = None
    services: tuple[ServiceObservation, ...] = ()
    ssh: tuple[SshObservation, ...] = ()
    tls: tuple[TlsObservation, ...] = ()
    unfinished: tuple[str, ...] = ()         # probes stopped at the time budget
    failed: tuple[tuple[str, str], ...] = () # (probe, reason) for probes that crashed
    probes: int = 0
    budget: float = 0.0
