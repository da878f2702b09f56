"""What a check type's CRITICAL means: the service is unavailable (an outage), or it needs
attention while it still works. The monthly report, its trend and ``/metrics`` count outages
by this rule and no other (README, "What counts as an outage").

Each check type declares a default for its CRITICAL results; a check marks the results that
differ (``Result.affects_availability``: an ``http`` check CRITICAL because its certificate
expires in 10 days is not an outage, one that gets no answer is); a configured check can
override both with ``affects_availability: true|false``. WARNING and UNKNOWN are never
outages. The split follows what the established tools page on versus ticket: Checkmk's and
LibreNMS's "device down" (host unreachable) versus their service states, Uptime Kuma's and
Pingdom's "down" (no answer, wrong status, missing keyword) versus certificate-expiry notices.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckTypeInfo:
    """A check type as the reports speak of it."""

    plain_name: str              # what leadership reads instead of the check id
    affects_availability: bool   # default meaning of its CRITICAL results
    rule: str                    # the rule in one sentence, for the README and the reference
    some_results_outages: bool = False   # attention by default, but some results are outages

    @property
    def can_report_outage(self) -> bool:
        """Can a CRITICAL of this type be an outage? Only such checks must be watched for a
        service's availability to be known (muni_watchdog.reports.outages)."""
        return self.affects_availability or self.some_results_outages


CHECK_TYPES: dict[str, CheckTypeInfo] = {
    "http": CheckTypeInfo(
        "website", True, "outage: no answer, an untrusted or expired certificate, a wrong "
        "status or a missing keyword; attention: a slow answer, a certificate that expires "
        "soon."),
    "tcp": CheckTypeInfo("network port", True, "outage: the port refuses or does not answer."),
    "system": CheckTypeInfo(
        "device reachability", True, "outage: the device does not answer SNMP (host down); "
        "a reboot is a warning."),
    "device": CheckTypeInfo(
        "device health", False, "attention: supplies, UPS, storage and interface findings of "
        "the device's profile (its `system` check records when it is unreachable)."),
    "interfaces": CheckTypeInfo(
        "network interfaces", False, "attention: errors, discards, utilisation, a port down "
        "(the devices behind it record their own outage)."),
    "storage": CheckTypeInfo("storage", False, "attention: a volume or disk filling up."),
    "printer": CheckTypeInfo(
        "printer supplies and paper", False, "attention: toner, ink, paper, jams, covers."),
    "ups": CheckTypeInfo(
        "UPS", False, "attention: on battery the equipment is still powered; if the battery "
        "runs out, the devices' own checks record the outage."),
    "nas": CheckTypeInfo(
        "NAS disks and RAID", False, "attention: a degraded RAID or a failed disk puts the "
        "data at risk while the shares still work (a crashed volume makes its service's own "
        "checks fail)."),
    "software": CheckTypeInfo("installed software", False, "attention."),
    "hardware": CheckTypeInfo("hardware facts", False, "attention."),
    "neighbors": CheckTypeInfo(
        "network links (LLDP/CDP)", False, "attention: a port lost its neighbour (the "
        "devices behind it record their own outage)."),
    "disk": CheckTypeInfo("disk space", False, "attention: a file system filling up."),
    "memory": CheckTypeInfo("memory", False, "attention."),
    "load": CheckTypeInfo("processor load", False, "attention."),
    "uptime": CheckTypeInfo(
        "uptime and reboots", False, "attention: a reboot. An SSH host that cannot be reached "
        "is UNKNOWN on every SSH check, so it is not counted: give the service a `tcp` or "
        "`http` check to measure its availability."),
    "services": CheckTypeInfo(
        "system services", False, "outage: a required unit (`units:`) is not active; "
        "attention: any other failed unit.", some_results_outages=True),
    "timesync": CheckTypeInfo("clock synchronisation", False, "attention."),
    "patches": CheckTypeInfo(
        "security updates", False, "attention: updates or a reboot waiting."),
    "vulnerabilities": CheckTypeInfo(
        "known vulnerabilities", False, "attention: a flaw in an installed package (one "
        "criminals are known to exploit pages at once, but the service still works)."),
    "exposure": CheckTypeInfo(
        "open doors", False, "attention: a default SNMP community, telnet, clear-text "
        "management, weak SSH or TLS settings — risks, not outages."),
    "command": CheckTypeInfo(
        "custom check", True, "outage: a plugin's CRITICAL (we cannot know what it tests, so "
        "it is not hidden); set `affects_availability: false` for a plugin that only needs "
        "attention (check_disk, check_procs...)."),
    # Results no scheduled check produces:
    "traps": CheckTypeInfo(
        "device alerts (SNMP traps)", False, "attention: what a device announced (on battery, "
        "paper out); its polled checks record outages."),
    "restore_test": CheckTypeInfo(
        "restore test", False, "attention: a failed restore test puts recovery at risk, the "
        "service itself still works."),
    "repository_check": CheckTypeInfo(
        "backup repository check", False, "attention: damaged or missing stored data puts "
        "recovery at risk, the service itself still works."),
}

UNKNOWN_TYPE = CheckTypeInfo("check", True, "outage: a CRITICAL of a check type we do not "
                             "know is counted rather than hidden.")


def check_type_info(check_type: str) -> CheckTypeInfo:
    """The declaration of a check type (a conservative default for one not listed)."""
    return CHECK_TYPES.get(check_type, UNKNOWN_TYPE)
