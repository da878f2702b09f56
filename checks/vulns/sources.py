"""The vulnerability feeds the daemon can download: what each is and where from. Apart from
the downloading (feeds.py) so the configuration's models read them without importing the
feed machinery (a daemon without the vulnerabilities check does not carry it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["osv", "debian-tracker", "kev"]


@dataclass(frozen=True)
class FeedSource:
    """One feed to download: a name (the file names under the state directory), where from,
    what it is, and its limits."""

    name: str
    url: str
    kind: Kind
    max_bytes: int = 1024 ** 3
    timeout: float = 900.0        # the whole download, not one read
    systems: tuple[str, ...] = ()  # the os-release IDs it covers (none: KEV, every system)


# osv.dev's public exports (one zip per ecosystem), the Debian tracker, CISA's catalogue.
# ``systems``: the os-release IDs (checks.ssh.installed.OsIdentity.id) each covers; the daemon
# downloads a feed only once a server of one of them has been seen (KEV: always).
OSV_EXPORT = "https://osv-vulnerabilities.storage.googleapis.com/{}/all.zip"
DEFAULT_SOURCES = (
    FeedSource("debian-tracker", "https://security-tracker.debian.org/tracker/data/json",
               "debian-tracker", 512 * 1024 ** 2, systems=("debian",)),
    FeedSource("osv-debian", OSV_EXPORT.format("Debian"), "osv", systems=("debian",)),
    FeedSource("osv-ubuntu", OSV_EXPORT.format("Ubuntu"), "osv", systems=("ubuntu",)),
    FeedSource("osv-almalinux", OSV_EXPORT.format("AlmaLinux"), "osv",
               systems=("almalinux",)),
    FeedSource("osv-rocky", OSV_EXPORT.format("Rocky%20Linux"), "osv", systems=("rocky",)),
    FeedSource("osv-redhat", OSV_EXPORT.format("Red%20Hat"), "osv", systems=("rhel",)),
    FeedSource("kev", "https://www.cisa.gov/sites/default/files/feeds/"
               "known_exploited_vulnerabilities.json", "kev", 64 * 1024 ** 2, 300.0),
)
