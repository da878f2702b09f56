"""Vulnerability feeds for the tests and the demo, built from THIS machine's installed
packages and served from 127.0.0.1, so no internet is needed and the expected result is known
on any Debian 12 host, whatever versions its packages are at.

DEMO DATA. The CVE identifiers are real, and so is CISA's catalogue entry for CVE-2023-4911;
the *versions* are not Debian's: each "fixed" version is set relative to the version installed
here (``demo_fixed_above`` gives one just above it: the package looks vulnerable with a fix
available; equal or below: already fixed). Every record says so in its description. Never
point a real site at these feeds.

What the feeds say about this machine (the sources are Essential or needed by the lab sshd,
so every Debian 12 has them):

* glibc CVE-2023-4911 ("Looney Tunables", in CISA's KEV catalogue): fixed just above the
  installed version, the fix published ``fix_days`` ago (a DSA in the OSV feed) — a
  known-exploited, fixable finding: CRITICAL at once;
* pam CVE-2025-6020: fixed just above the installed version, in the tracker only (no date:
  the fix counts from its first sight here) — fixable, not yet urgent; found through the
  binary ``libpam0g``, built from the ``pam`` source;
* coreutils CVE-2016-2781: open in bookworm, no fix — listed, not alarmed;
* openssh CVE-2024-6387 (fixed = the installed version), xz-utils CVE-2025-31115 (fixed below
  the installed version), util-linux CVE-2024-28085 (fixed = the installed *source* version,
  whose binaries carry an epoch the source lacks), CVE-2014-1424 on coreutils (never affected
  bookworm: ``fixed_version 0``) — already fixed or not affected: nothing.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"
DEMO = "DEMO DATA for muni-watchdog's lab — not Debian's versions: the fixed version is set " \
    "relative to the version installed on the lab machine."

# CISA KEV catalogue entry of CVE-2023-4911, verbatim (cisagov/kev-data, catalogue 2025.02.25).
KEV_GLIBC = {
    "cveID": "CVE-2023-4911", "vendorProject": "GNU", "product": "GNU C Library",
    "vulnerabilityName": "GNU C Library Buffer Overflow Vulnerability",
    "dateAdded": "2023-11-21",
    "shortDescription": "GNU C Library's dynamic loader ld.so contains a buffer overflow "
    "vulnerability when processing the GLIBC_TUNABLES environment variable, allowing a local "
    "attacker to execute code with elevated privileges.",
    "requiredAction": "Apply mitigations per vendor instructions or discontinue use of the "
    "product if mitigations are unavailable.",
    "dueDate": "2023-12-12", "knownRansomwareCampaignUse": "Unknown", "cwes": ["CWE-122"]}


@dataclass(frozen=True)
class InstalledSource:
    name: str
    version: str
    binaries: tuple[str, ...]


def installed_sources(dpkg_output: str | None = None) -> dict[str, InstalledSource]:
    """Source package → its installed version and binaries, from ``dpkg-query`` on this
    machine (or the given output of ``dpkg-query -W -f='${binary:Package}\\t${source:Package}
    \\t${source:Version}\\t${db:Status-Abbrev}\\n'``)."""
    if dpkg_output is None:
        dpkg_output = subprocess.run(
            ["dpkg-query", "-W", "-f=${binary:Package}\\t${source:Package}\\t"
             "${source:Version}\\t${db:Status-Abbrev}\\n"],
            check=True, capture_output=True, text=True, timeout=60).stdout
    found: dict[str, tuple[str, list[str]]] = {}
    for line in dpkg_output.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or len(parts[3]) < 2 or parts[3][1] not in "iUFWtH":
            continue
        binary, source, version, _ = parts
        entry = found.setdefault(source, (version, []))
        entry[1].append(binary.split(":")[0])
    return {name: InstalledSource(name, version, tuple(sorted(binaries)))
            for name, (version, binaries) in found.items()}


def demo_fixed_above(version: str) -> str:
    """A Debian version just above ``version`` (``+`` sorts after the end of a version:
    Debian Policy 5.6.12): the installed package lacks this "fix"."""
    return f"{version}+demo1"


def demo_fixed_below(version: str) -> str:
    """A Debian version just below ``version`` (``~`` sorts before anything, even the end)."""
    return f"{version}~demo0"


@dataclass(frozen=True)
class Expected:
    """What the feeds say about this machine, by (CVE, source package)."""

    kev_fixable: dict[tuple[str, str], str] = field(default_factory=dict)   # → fixed version
    fixable: dict[tuple[str, str], str] = field(default_factory=dict)
    no_fix: tuple[tuple[str, str], ...] = ()
    not_affected: tuple[tuple[str, str], ...] = ()
    installed: dict[str, InstalledSource] = field(default_factory=dict)

    @property
    def findings(self) -> set[tuple[str, str]]:
        return {*self.kev_fixable, *self.fixable, *self.no_fix}


REQUIRED = ("glibc", "pam", "coreutils", "openssh", "xz-utils", "util-linux")


@dataclass(frozen=True)
class DemoFeeds:
    tracker: bytes
    osv: bytes
    kev: bytes
    expected: Expected


def _release(status: str, fixed: str | None = None, urgency: str = "") -> dict:
    entry: dict = {"status": status, "repositories": {}}
    if fixed is not None:
        entry["fixed_version"] = fixed
    if urgency:
        entry["urgency"] = urgency
    return {"bookworm": entry}


def build_demo_feeds(now: datetime, fix_days: int = 9,
                     installed: dict[str, InstalledSource] | None = None) -> DemoFeeds:
    """The tracker, OSV and KEV bodies for this machine (see the module docstring), and what
    they must give. ValueError names a source package this machine lacks."""
    have = installed if installed is not None else installed_sources()
    missing = [name for name in REQUIRED if name not in have]
    if missing:
        raise ValueError(f"this machine lacks the source package(s) {', '.join(missing)}: "
                         "the demo feeds are built from Debian 12's essential packages")
    v = {name: have[name].version for name in REQUIRED}
    glibc_fix, pam_fix = demo_fixed_above(v["glibc"]), demo_fixed_above(v["pam"])
    tracker = {
        "glibc": {"CVE-2023-4911": {
            "description": f"Looney Tunables: buffer overflow in ld.so. {DEMO}",
            "releases": _release("resolved", glibc_fix, "high")}},
        "pam": {"CVE-2025-6020": {
            "description": f"pam_namespace path traversal. {DEMO}",
            "releases": _release("resolved", pam_fix)}},
        "coreutils": {
            "CVE-2016-2781": {"description": f"chroot --userspec TIOCSTI. {DEMO}",
                              "releases": _release("open", urgency="unimportant")},
            "CVE-2014-1424": {"description": f"Never affected this release. {DEMO}",
                              "releases": _release("resolved", "0", "unimportant")}},
        "openssh": {"CVE-2024-6387": {
            "description": f"regreSSHion. {DEMO}",
            "releases": _release("resolved", v["openssh"], "high")}},
        "xz-utils": {"CVE-2025-31115": {
            "description": f"liblzma use after free. {DEMO}",
            "releases": _release("resolved", demo_fixed_below(v["xz-utils"]), "medium")}},
        "util-linux": {"CVE-2024-28085": {
            "description": f"wall escape sequences. {DEMO}",
            "releases": _release("resolved", v["util-linux"], "low")}},
    }
    published = (now - timedelta(days=fix_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    osv = [{
        "id": "DSA-5514-1", "summary": f"glibc - security update ({DEMO})",
        "published": published, "modified": published,
        "upstream": ["CVE-2023-4911"],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [
                          {"introduced": "0"}, {"fixed": glibc_fix}]}]}],
    }, {
        "id": "DSA-5724-1", "summary": f"openssh - security update ({DEMO})",
        "published": published, "modified": published, "upstream": ["CVE-2024-6387"],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssh"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [
                          {"introduced": "0"}, {"fixed": v["openssh"]}]}]}],
    }]
    kev = {"title": "CISA Catalog of Known Exploited Vulnerabilities — DEMO COPY with one "
           "real entry, served by muni-watchdog's lab",
           "catalogVersion": "demo", "dateReleased": now.isoformat(), "count": 1,
           "vulnerabilities": [KEV_GLIBC]}
    expected = Expected(
        kev_fixable={("CVE-2023-4911", "glibc"): glibc_fix},
        fixable={("CVE-2025-6020", "pam"): pam_fix},
        no_fix=(("CVE-2016-2781", "coreutils"),),
        not_affected=(("CVE-2024-6387", "openssh"), ("CVE-2025-31115", "xz-utils"),
                      ("CVE-2024-28085", "util-linux"), ("CVE-2014-1424", "coreutils")),
        installed=have)
    return DemoFeeds(json.dumps(tracker, indent=1).encode(), json.dumps(osv).encode(),
                     json.dumps(kev, indent=1).encode(), expected)


class FeedMirror:
    """A local mirror on 127.0.0.1: serves ``files`` (path → bytes) with an ETag, answers 304
    to a matching If-None-Match, and counts requests per path. ``stop()`` makes it
    unreachable (offline); ``url(path)`` is where a feed is."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: list[tuple[str, str]] = []     # (path, status)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                body = outer.files.get(self.path)
                if body is None:
                    outer.requests.append((self.path, "404"))
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    outer.requests.append((self.path, "304"))
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.requests.append((self.path, "200"))
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FeedMirror:
        self._thread.start()
        return self

    def url(self, path: str) -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FEED_PATHS = {"debian-tracker": "/tracker/data/json", "osv-debian": "/osv/Debian/all.json",
              "kev": "/kev/known_exploited_vulnerabilities.json"}


def start_demo_mirror(now: datetime, fix_days: int = 9) -> tuple[FeedMirror, DemoFeeds]:
    """The demo feeds for this machine on a local mirror."""
    feeds = build_demo_feeds(now, fix_days)
    mirror = FeedMirror({FEED_PATHS["debian-tracker"]: feeds.tracker,
                         FEED_PATHS["osv-debian"]: feeds.osv,
                         FEED_PATHS["kev"]: feeds.kev}).start()
    return mirror, feeds


def feeds_yaml(mirror: FeedMirror, indent: str = "  ") -> str:
    """``site.vulnerabilities`` pointing at the mirror (a ``site:`` block's lines)."""
    lines = ["vulnerabilities:", "  # DEMO: feeds built from this machine's packages and "
             "served by lab/vuln_lab.py", "  feeds:"]
    lines += [f"    - {{name: {name}, url: {mirror.url(path)}}}"
              for name, path in FEED_PATHS.items()]
    return "".join(f"{indent}{line}\n" for line in lines)
