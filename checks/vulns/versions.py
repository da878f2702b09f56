"""Package versions compared by each ecosystem's own rules, never as strings.

* ``dpkg`` (Debian, Ubuntu): ``[epoch:]upstream[-revision]`` — epochs first, ``~`` sorts before
  everything (even the end of the string), letters before non-letters (Debian Policy 5.6.12).
* ``rpm`` (RHEL, AlmaLinux, Rocky): ``[epoch:]version-release`` with rpmvercmp — ``~`` sorts
  before and ``^`` after the end of a version, digits beat letters, separators are ignored.

Both come from aboutcode's ``univers`` (the library VulnerableCode matches with); our tests run
the orderings of dpkg's and rpm's own test suites through it (tests/test_vulns_versions.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from muni_watchdog.core.lazy import lazy_module

if TYPE_CHECKING:
    from univers.debian import Version as DebianVersion
    from univers.rpm import RpmVersion

# univers (and attrs, dateutil under it, ~3 MB) is imported at the first comparison: a daemon
# without the vulnerabilities check never loads it (core/lazy.py).
_debian = lazy_module("univers.debian")
_rpm_module = lazy_module("univers.rpm")

Scheme = Literal["dpkg", "rpm"]


class VersionError(ValueError):
    """A version string the ecosystem's rules cannot read."""


@lru_cache(maxsize=65536)
def _dpkg(text: str) -> DebianVersion:
    try:
        return _debian.Version.from_string(text)
    except (ValueError, TypeError):
        raise VersionError(f"{text[:80]!r} is not a Debian package version") from None


@lru_cache(maxsize=65536)
def _rpm(text: str) -> RpmVersion:
    word = text.strip()
    if not word or any(c.isspace() for c in word):
        raise VersionError(f"{text[:80]!r} is not an RPM version")
    try:
        return _rpm_module.RpmVersion.from_string(word)
    except (ValueError, TypeError):
        raise VersionError(f"{text[:80]!r} is not an RPM version") from None


def compare(scheme: Scheme, left: str, right: str) -> int:
    """-1, 0 or 1 as ``left`` is older than, the same as, or newer than ``right``;
    :class:`VersionError` when either cannot be read."""
    if scheme == "dpkg":
        a, b = _dpkg(left), _dpkg(right)
        return (a > b) - (a < b)
    if scheme == "rpm":
        result = _rpm_module.compare_rpm_versions(_rpm(left), _rpm(right))
        return (result > 0) - (result < 0)
    raise VersionError(f"unknown version scheme {scheme!r}")


def check(scheme: Scheme, text: str) -> str:
    """``text`` when the scheme can read it; :class:`VersionError` otherwise."""
    (_dpkg if scheme == "dpkg" else _rpm)(text)
    return text
