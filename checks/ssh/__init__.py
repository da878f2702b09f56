"""``ssh``: Linux and Windows servers checked over SSH, agentless, with pinned host keys."""

from __future__ import annotations

from muni_watchdog.checks.base import TargetKind
from muni_watchdog.checks.ssh.checks_command import CommandCheck
from muni_watchdog.checks.ssh.checks_inventory import HardwareCheck, SshSoftwareCheck
from muni_watchdog.checks.ssh.checks_patches import PatchesCheck
from muni_watchdog.checks.ssh.checks_system import (
    DiskCheck,
    LoadCheck,
    MemoryCheck,
    ServicesCheck,
    TimesyncCheck,
    UptimeCheck,
)
from muni_watchdog.checks.ssh.connection import SshConnection, SshSession

SSH_KIND = TargetKind(
    "ssh",
    "A Linux or Windows server checked over SSH with a pinned host key. Checks: disk, memory, "
    "load, uptime, services, timesync, patches, vulnerabilities, command, software, hardware, "
    "exposure. Without checks: disk, memory, load, uptime, patches, exposure, and software + "
    "hardware (the inventory, every 6 hours).",
    {c.type: c for c in (DiskCheck(), MemoryCheck(), LoadCheck(), UptimeCheck(),
                         ServicesCheck(), TimesyncCheck(), PatchesCheck(), CommandCheck(),
                         SshSoftwareCheck(), HardwareCheck())},
    connection=SshConnection,
    default_checks=lambda: [{"check": "disk"}, {"check": "memory"}, {"check": "load"},
                            {"check": "uptime"}, {"check": "patches"}, {"check": "software"},
                            {"check": "hardware"}],
    session=SshSession.for_target,
)

__all__ = ["SSH_KIND", "SshConnection", "SshSession"]
