"""Version ordering by each ecosystem's own rules, on the tricky cases of dpkg's and rpm's own
test suites — never string comparison.

Sources (the tables below are their data, transcribed):
* dpkg: guillemj/dpkg ``scripts/t/Dpkg_Version.t`` (its ``__DATA__`` section, each line run
  through ``dpkg --compare-versions`` by dpkg's own tests) and ``lib/dpkg/t/t-version.c``.
* rpm: rpm-software-management/rpm ``tests/rpmvercmp.at`` (RPMVERCMP(a, b, result) lines,
  including the tilde and caret cases of rpm >= 4.15).
"""

from __future__ import annotations

import subprocess

import pytest

from muni_watchdog.checks.vulns.versions import VersionError, check, compare

DPKG_CASES = """\
1.0-1 2.0-2 -1
2.2~rc-4 2.2-1 -1
2.2-1 2.2~rc-4 1
1.0000-1 1.0-1 0
1 0:1 0
0 0:0-0 0
2:2.5 1:7.5 1
1:0foo 0foo 1
0:0foo 0foo 0
0foo 0foo 0
0foo- 0foo 0
0foo- 0foo-0 0
0foo 0fo 1
0foo- 0foo+ -1
0foo~1 0foo -1
0foo~foo+Bar 0foo~foo+bar -1
0foo~~ 0foo~ -1
1~ 1 -1
12345+that-really-is-some-ver-0 12345+that-really-is-some-ver-10 -1
0foo-0 0foo-01 -1
0foo.bar 0foobar 1
0foo.bar 0foo1bar 1
0foo.bar 0foo0bar 1
0foo1bar-1 0foobar-1 -1
0foo2.0 0foo2 1
0foo2.0.0 0foo2.10.0 -1
0foo2.0 0foo2.0.0 -1
0foo2.0 0foo2.10 -1
0foo2.1 0foo2.10 -1
1.09 1.9 0
1.0.8+nmu1 1.0.8 1
3.11 3.10+nmu1 1
0.9j-20080306-4 0.9i-20070324-2 1
1.2.0~b7-1 1.2.0~b6-1 1
1.011-1 1.06-2 1
0.0.9+dfsg1-1 0.0.8+dfsg1-3 1
4.6.99+svn6582-1 4.6.99+svn6496-1 1
53 52 1
0.9.9~pre122-1 0.9.9~pre111-1 1
2:2.3.2-2+lenny2 2:2.3.2-2 1
1:3.8.1-1 3.8.GA-1 1
1.0.1+gpl-1 1.0.1-2 1
1a 1000a -1"""

# The versions a Debian 12 host really carries: security uploads (+debNuM), backports
# (~debNuM), binNMUs (+bN) and epochs.
DEBIAN_REAL = [
    ("1:9.2p1-2+deb12u2", "1:9.2p1-2+deb12u3", -1),
    ("1:9.2p1-2+deb12u10", "1:9.2p1-2+deb12u3", 1),   # u10 > u3: numbers, not strings
    ("3.0.19-1~deb12u2", "3.0.19-1", -1),             # a backport sorts before the release
    ("5.2.15-2+b8", "5.2.15-2", 1),
    ("1:2.38.1-5+deb12u3", "2.38.1-5+deb12u4", 1),    # the epoch wins: why binaries lie
]

RPM_CASES = """\
1.0 1.0 0
1.0 2.0 -1
2.0 1.0 1
2.0.1 2.0.1 0
2.0 2.0.1 -1
2.0.1 2.0 1
2.0.1a 2.0.1a 0
2.0.1a 2.0.1 1
2.0.1 2.0.1a -1
5.5p1 5.5p1 0
5.5p1 5.5p2 -1
5.5p2 5.5p1 1
5.5p10 5.5p10 0
5.5p1 5.5p10 -1
5.5p10 5.5p1 1
10xyz 10.1xyz -1
10.1xyz 10xyz 1
xyz10 xyz10 0
xyz10 xyz10.1 -1
xyz10.1 xyz10 1
xyz.4 xyz.4 0
xyz.4 8 -1
8 xyz.4 1
xyz.4 2 -1
2 xyz.4 1
5.5p2 5.6p1 -1
5.6p1 5.5p2 1
5.6p1 6.5p1 -1
6.5p1 5.6p1 1
6.0.rc1 6.0 1
6.0 6.0.rc1 -1
10b2 10a1 1
10a2 10b2 -1
1.0aa 1.0aa 0
1.0a 1.0aa -1
1.0aa 1.0a 1
10.0001 10.0001 0
10.0001 10.1 0
10.1 10.0001 0
10.0001 10.0039 -1
10.0039 10.0001 1
4.999.9 5.0 -1
5.0 4.999.9 1
20101121 20101121 0
20101121 20101122 -1
20101122 20101121 1
2_0 2_0 0
2.0 2_0 0
2_0 2.0 0
a a 0
a+ a+ 0
a+ a_ 0
a_ a+ 0
+a +a 0
+a _a 0
_a +a 0
+_ +_ 0
_+ +_ 0
_+ _+ 0
+ _ 0
_ + 0
1.0~rc1 1.0~rc1 0
1.0~rc1 1.0 -1
1.0 1.0~rc1 1
1.0~rc1 1.0~rc2 -1
1.0~rc2 1.0~rc1 1
1.0~rc1~git123 1.0~rc1~git123 0
1.0~rc1~git123 1.0~rc1 -1
1.0~rc1 1.0~rc1~git123 1
1.0^ 1.0^ 0
1.0^ 1.0 1
1.0 1.0^ -1
1.0^git1 1.0^git1 0
1.0^git1 1.0 1
1.0 1.0^git1 -1
1.0^git1 1.0^git2 -1
1.0^git2 1.0^git1 1
1.0^git1 1.01 -1
1.01 1.0^git1 1
1.0^20160101 1.0^20160101 0
1.0^20160101 1.0.1 -1
1.0.1 1.0^20160101 1
1.0^20160101^git1 1.0^20160101^git1 0
1.0^20160102 1.0^20160101^git1 1
1.0^20160101^git1 1.0^20160102 -1
1.0~rc1^git1 1.0~rc1^git1 0
1.0~rc1^git1 1.0~rc1 1
1.0~rc1 1.0~rc1^git1 -1
1.0^git1~pre 1.0^git1~pre 0
1.0^git1 1.0^git1~pre 1
1.0^git1~pre 1.0^git1 -1"""

RPM_EVR = [
    ("1:1.0-1", "2.0-1", 1),                         # epoch first
    ("0:4.9.3-2.el9_8.1", "4.9.3-2.el9_8.1", 0),     # an explicit 0 epoch is no epoch
    ("8.7p1-38.el9", "8.7p1-38.el9_4.1", -1),
    ("1:3.0.7-27.el9", "1:3.0.7-28.el9", -1),
]


def _rows(table: str) -> list[tuple[str, str, int]]:
    return [(a, b, int(r)) for a, b, r in (line.split() for line in table.splitlines())]


@pytest.mark.parametrize(("left", "right", "expected"), _rows(DPKG_CASES) + DEBIAN_REAL)
def test_dpkg_ordering(left, right, expected):
    assert compare("dpkg", left, right) == expected
    assert compare("dpkg", right, left) == -expected


@pytest.mark.parametrize(("left", "right", "expected"), _rows(RPM_CASES) + RPM_EVR)
def test_rpm_ordering(left, right, expected):
    assert compare("rpm", left, right) == expected
    assert compare("rpm", right, left) == -expected


@pytest.mark.parametrize(("left", "right", "expected"), DEBIAN_REAL + [
    row for row in _rows(DPKG_CASES) if not row[0].endswith("-")])
def test_dpkg_agrees_with_the_real_dpkg(left, right, expected):
    """The same answers as this machine's own ``dpkg --compare-versions`` (which refuses
    dpkg's own syntax-edge cases with an empty revision, ``0foo-``)."""
    for op, holds in (("lt", expected < 0), ("eq", expected == 0), ("gt", expected > 0)):
        rc = subprocess.run(["dpkg", "--compare-versions", left, op, right],
                            capture_output=True, timeout=10).returncode
        assert (rc == 0) == holds, (left, op, right)


def test_string_comparison_would_be_wrong_and_is_not_used():
    assert "1:9.2p1-2+deb12u10" < "1:9.2p1-2+deb12u3"  # what a string comparison says
    assert compare("dpkg", "1:9.2p1-2+deb12u10", "1:9.2p1-2+deb12u3") == 1


@pytest.mark.parametrize("bad", ["", "  ", "a:0-0", "foo5.2", "0:0 0-1", "-0.6.5"])
def test_a_version_dpkg_refuses_is_an_error_not_an_order(bad):
    with pytest.raises(VersionError):
        compare("dpkg", bad, "1.0")
    with pytest.raises(VersionError):
        check("dpkg", bad)


def test_an_rpm_version_with_spaces_or_nothing_is_an_error():
    for bad in ("", "1.0 2", "   "):
        with pytest.raises(VersionError):
            compare("rpm", bad, "1.0")


def test_unknown_scheme():
    with pytest.raises(VersionError):
        compare("apk", "1", "2")  # type: ignore[arg-type]
