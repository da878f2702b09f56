"""The Debian package as an admin meets it: built by scripts/build-deb.sh, checked by lintian,
installed with apt-get, run, its unit verified by systemd, then removed and purged.

Installing needs root and changes this machine (a user, /opt, /etc): the tests run only as
root, only where no muni-watchdog installation of someone else's exists, one run at a time
(a lock), and the module's fixture purges the package whatever happens.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_systemd_unit import MAX_EXPOSURE, analyze, needs_systemd_analyze, problems_with

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "muni-watchdog"
CONFIG = Path("/etc/muni-watchdog/muni-watchdog.yaml")
UNIT = Path("/lib/systemd/system/muni-watchdog.service")
WANTS = Path("/etc/systemd/system/multi-user.target.wants/muni-watchdog.service")
# Everything the package or its maintainer scripts create; none of it may survive a purge.
OURS = [Path("/opt/muni-watchdog"), Path("/etc/muni-watchdog"), Path("/var/lib/muni-watchdog"),
        Path("/var/cache/muni-watchdog"), Path("/usr/bin/muni-watchdog"), UNIT]
PYTHON = os.path.realpath("/usr/bin/python3")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.machine,      # scripts/test.sh runs it alone: other tests would see /etc's config
    pytest.mark.skipif(os.geteuid() != 0, reason="installing a .deb needs root (CI runs as root)"),
    pytest.mark.skipif(shutil.which("dpkg-deb") is None or shutil.which("apt-get") is None,
                       reason="dpkg-deb and apt-get are missing: not a Debian system"),
]

APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C.UTF-8")


def run(*argv: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=APT_ENV,
                          cwd="/")  # not the source tree, whose egg-info python would see
    if check:
        assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}:\n" \
                                     f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def apt(*args: str) -> subprocess.CompletedProcess:
    # Recommends (restic) are not installed: the install must need nothing from the network.
    return run("apt-get", "-y", "-q", "--no-install-recommends",
               "-o", "DPkg::Lock::Timeout=120", *args)


def package_state() -> str:
    """dpkg's two-letter state: "ii" installed, "rc" removed with its conffiles, "" unknown."""
    done = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


@pytest.fixture(scope="module")
def machine() -> Iterator[None]:
    """One run at a time on this machine, and never over a real installation."""
    lock = open("/run/lock/muni-watchdog-deb-test.lock", "w")  # noqa: SIM115 (held to the end)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        if package_state() not in ("", "un", "pn"):
            pytest.skip(f"{PACKAGE} is installed here ({package_state()}); the test would "
                        "purge it, with its configuration and user")
        present = [str(p) for p in OURS if p.exists() or p.is_symlink()]
        if present or user_exists():
            pytest.skip(f"a muni-watchdog installation without the package is here "
                        f"({', '.join(present) or 'the user'}); the test would purge it")
        yield
    finally:
        lock.close()


@pytest.fixture(scope="module")
def deb(machine, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("deb")
    # gzip rather than the default xz: 5 times faster to build, and dpkg reads either.
    done = run("sh", str(ROOT / "scripts" / "build-deb.sh"), "--out", str(out),
               "--compression", "gzip", timeout=900)
    debs = list(out.glob("*.deb"))
    assert len(debs) == 1, done.stdout + done.stderr
    return debs[0]


@pytest.fixture(scope="module")
def installed(deb) -> Iterator[str]:
    """apt-get install ./the.deb; yields what the maintainer scripts printed."""
    try:
        yield apt("install", str(deb)).stdout
    finally:
        if package_state():
            run("apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", "purge", PACKAGE,
                check=False)


def user_exists() -> bool:
    try:
        pwd.getpwnam(PACKAGE)
        return True
    except KeyError:
        return False


def field(deb: Path, name: str) -> str:
    return run("dpkg-deb", "-f", str(deb), name).stdout.strip()


def upstream_version() -> str:
    # From the source tree's metadata, independent of the import package's name.
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^version = "([^"]+)"', text, re.M).group(1)


# ---- the package file ---------------------------------------------------------------------

def test_the_package_carries_what_debian_expects(deb, tmp_path):
    version = field(deb, "Version")
    assert deb.name == f"{PACKAGE}_{version}_{field(deb, 'Architecture')}.deb"
    assert version.startswith(upstream_version() + "-")
    assert field(deb, "Architecture") == run("dpkg", "--print-architecture").stdout.strip()
    depends = field(deb, "Depends")
    # The venv's interpreter is Debian's python3.X: the package needs exactly that one.
    assert re.search(rf"\b{re.escape(os.path.basename(PYTHON))}\b", depends), depends
    assert "adduser" in depends and "libc6 (>= 2." in depends
    assert "restic" in field(deb, "Recommends")
    assert "graphviz" in field(deb, "Recommends")   # topology and the assessment draw with dot
    assert field(deb, "Section") == "admin" and field(deb, "Maintainer")

    listing = run("dpkg-deb", "--contents", str(deb)).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    for wanted in ("/opt/muni-watchdog/bin/muni-watchdog", "/opt/muni-watchdog/pyvenv.cfg",
                   "/usr/bin/muni-watchdog", str(UNIT), "/etc/muni-watchdog/secrets/",
                   "/etc/muni-watchdog/muni-watchdog.yaml.example",
                   "/usr/share/doc/muni-watchdog/copyright",
                   "/usr/share/doc/muni-watchdog/changelog.Debian.gz",
                   "/usr/share/man/man1/muni-watchdog.1.gz",
                   "/usr/share/bash-completion/completions/muni-watchdog"):
        assert wanted in paths, wanted
    # No byte-code (postinst compiles it) and no activation scripts or foreign commands.
    assert not [p for p in paths if "__pycache__" in p or p.endswith((".pyc", ".pyo"))]
    assert {p for p in paths if p.startswith("/opt/muni-watchdog/bin/") and p[-1] != "/"} == {
        "/opt/muni-watchdog/bin/muni-watchdog", "/opt/muni-watchdog/bin/python",
        "/opt/muni-watchdog/bin/python3", f"/opt/muni-watchdog/bin/{os.path.basename(PYTHON)}"}
    assert re.search(r"^drwxr-x--- root/root .* \./etc/muni-watchdog/secrets/$", listing, re.M)

    control, files = tmp_path / "DEBIAN", tmp_path / "files"
    run("dpkg-deb", "--control", str(deb), str(control))
    assert (control / "conffiles").read_text() == "/etc/muni-watchdog/muni-watchdog.yaml.example\n"
    md5sums = (control / "md5sums").read_text()
    assert re.search(r"^[0-9a-f]{32}  opt/muni-watchdog/bin/muni-watchdog$", md5sums, re.M)
    assert "etc/muni-watchdog" not in md5sums  # conffiles are dpkg's own business
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(control / script, os.X_OK), script

    run("dpkg-deb", "--extract", str(deb), str(files))
    doc = files / "usr/share/doc/muni-watchdog"
    changelog = gzip.decompress((doc / "changelog.Debian.gz").read_bytes()).decode()
    assert changelog.startswith(f"{PACKAGE} ({version}) ")
    copyright = (doc / "copyright").read_text()
    assert copyright.startswith("Format: https://www.debian.org/doc/packaging-manuals/")
    assert "License: AGPL-3.0-or-later" in copyright
    # every bundled distribution has its paragraph, e.g. these two
    assert re.search(r"^Comment: paramiko \S+;", copyright, re.M)
    assert re.search(r"^Comment: pydantic \S+;", copyright, re.M)
    # the man page and the completion generated from the parser, as committed
    man = files / "usr/share/man/man1/muni-watchdog.1.gz"
    assert gzip.decompress(man.read_bytes()) == (ROOT / "man/muni-watchdog.1").read_bytes()
    completion = files / "usr/share/bash-completion/completions/muni-watchdog"
    assert completion.read_bytes() == (ROOT / "completion/muni-watchdog.bash").read_bytes()


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is not installed")
def test_lintian_finds_nothing_that_an_override_does_not_explain(deb):
    out = run("lintian", "--info", str(deb), check=False, timeout=600)
    report = out.stdout + out.stderr
    problems = [line for line in report.splitlines() if line.startswith(("E:", "W:"))]
    assert problems == [], report
    # An override that no longer matches would hide the next real problem of that name.
    assert "unused-override" not in report and "mismatched-override" not in report, report
    assert out.returncode == 0, report


def test_every_lintian_override_says_why():
    text = (ROOT / "packaging" / "deb" / "lintian-overrides").read_text(encoding="utf-8")
    explained = False  # a comment opens each paragraph of overrides
    for line in text.splitlines():
        if line.startswith("#"):
            explained = True
        elif not line.strip():
            explained = False
        else:
            assert line.startswith(f"{PACKAGE}: "), line
            assert explained, f"override without a reason above it: {line}"


# ---- installed ----------------------------------------------------------------------------

def test_install_creates_the_user_and_the_private_directories(installed):
    user = pwd.getpwnam(PACKAGE)
    assert user.pw_uid < 1000 and user.pw_dir == "/var/lib/muni-watchdog"
    assert user.pw_shell == "/usr/sbin/nologin"
    group = user.pw_gid
    for path, mode in (("/etc/muni-watchdog", 0o750), ("/etc/muni-watchdog/secrets", 0o750)):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, group, mode), path
    state = os.stat("/var/lib/muni-watchdog")
    assert (state.st_uid, state.st_mode & 0o7777) == (user.pw_uid, 0o700)
    overrides = run("dpkg-statoverride", "--list").stdout
    assert "root muni-watchdog 750 /etc/muni-watchdog/secrets" in overrides
    # The command is the venv's, and the venv runs on Debian's interpreter.
    assert os.path.realpath("/usr/bin/muni-watchdog") == "/opt/muni-watchdog/bin/muni-watchdog"
    assert os.path.realpath("/opt/muni-watchdog/bin/python3") == PYTHON
    # Nothing outside its own places: no system Python package touched.
    allowed = ("/opt/muni-watchdog", "/usr/bin/muni-watchdog", "/etc/muni-watchdog",
               "/lib/systemd/system/muni-watchdog.service", "/usr/share/doc/muni-watchdog",
               "/usr/share/lintian/overrides/muni-watchdog", "/usr/share/man/man1/muni-watchdog",
               "/usr/share/bash-completion/completions/muni-watchdog")
    parents = {"/.", "/opt", "/etc", "/lib", "/lib/systemd", "/lib/systemd/system", "/usr",
               "/usr/bin", "/usr/share", "/usr/share/doc", "/usr/share/lintian",
               "/usr/share/lintian/overrides", "/usr/share/man", "/usr/share/man/man1",
               "/usr/share/bash-completion", "/usr/share/bash-completion/completions"}
    strays = [p for p in run("dpkg", "-L", PACKAGE).stdout.splitlines()
              if p not in parents and not p.startswith(allowed)]
    assert strays == []


def test_without_a_valid_configuration_the_service_is_not_enabled(installed):
    assert "the service is not enabled and not started" in installed
    assert f"cp {CONFIG}.example {CONFIG}" in installed
    assert "systemctl enable --now muni-watchdog" in installed
    assert not WANTS.is_symlink()


def test_the_installed_command_runs_and_validates_the_example(installed):
    out = run("muni-watchdog", "version")
    assert out.stdout.strip() == f"muni-watchdog {upstream_version()}"
    assert run("muni-watchdog", "--version").stdout == out.stdout
    if shutil.which("man"):
        assert run("man", "-w", "muni-watchdog").stdout.strip() == \
            "/usr/share/man/man1/muni-watchdog.1.gz"
    # The example names secret files an admin creates later: --no-secrets checks the rest.
    out = run("muni-watchdog", "validate", "--no-secrets", "-c", f"{CONFIG}.example")
    assert ": OK — " in out.stdout, out.stdout
    # Every module of ours and every compiled extension of the bundled wheels imports with
    # the package's interpreter (stripping or a missing dependency would show here).
    probe = """
import importlib
from importlib.metadata import distributions
count, failed = 0, []
for dist in distributions():
    ours = dist.metadata["Name"] == "muni-watchdog"
    for name in map(str, dist.files or []):
        if name.startswith("..") or name.endswith("__main__.py"):
            continue
        if name.endswith(".so") or (ours and name.endswith(".py")):
            module = name.split(".", 1)[0] if name.endswith(".so") else name[:-3]
            try:
                importlib.import_module(module.replace("/", ".").removesuffix(".__init__"))
                count += 1
            except Exception as exc:
                failed.append(f"{module}: {exc!r}")
print(count, failed)
"""
    out = run("/opt/muni-watchdog/bin/python", "-I", "-B", "-c", probe)
    count, failed = out.stdout.split(" ", 1)
    assert failed.strip() == "[]" and int(count) > 50, out.stdout


@needs_systemd_analyze
def test_the_installed_unit_passes_systemd_analyze(installed):
    out = analyze("verify", str(UNIT))
    assert out.returncode == 0, out.stdout + out.stderr
    assert problems_with(UNIT, out.stderr) == [], out.stderr
    out = analyze("security", "--offline=yes", str(UNIT))
    report = out.stdout + out.stderr
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", report)
    assert out.returncode == 0 and match, report
    assert float(match.group(1)) <= MAX_EXPOSURE, report


# Last in this file: it removes and purges the package the tests above use.
def test_a_valid_configuration_enables_it_remove_keeps_data_and_purge_removes_all(
        installed, deb):
    invalid = """\
site: {name: Testville, timezone: Europe/Berlin}
services:
  - id: web
    name: Town website
    priority: 2
    owner: {name: Jane Clerk, contact: jane@town.example}
    targets: [web]
targets:
  - id: web
    kind: tcp
    host: 127.0.0.1
    checks: [{check: tcp, port: 9}]
"""
    CONFIG.write_text(invalid)
    out = apt("install", "--reinstall", str(deb)).stdout
    assert f"{CONFIG} does not validate" in out
    assert "services[0].rpo: required key 'rpo' is missing" in out
    assert not WANTS.is_symlink()

    CONFIG.write_text(invalid.replace(
        "    targets: [web]\n", "    rto: 4h\n    rpo: 24h\n    targets: [web]\n"
        "    backup_owner: {name: Bob Tech, contact: bob@msp.example}\n"))
    out = apt("install", "--reinstall", str(deb)).stdout
    assert "not enabled" not in out, out
    assert os.readlink(WANTS) == str(UNIT)

    secret = Path("/etc/muni-watchdog/secrets/snmp-community")
    secret.write_text("not-public\n")
    database = Path("/var/lib/muni-watchdog/state.db")
    database.write_bytes(b"SQLite format 3\x00")
    apt("remove", PACKAGE)
    assert package_state() == "rc"
    for gone in ("/opt/muni-watchdog", "/usr/bin/muni-watchdog", str(UNIT)):
        assert not os.path.lexists(gone), gone
    # remove keeps what the admin made and what the daemon learnt
    assert CONFIG.is_file() and secret.is_file() and database.is_file()
    assert Path(f"{CONFIG}.example").is_file()  # a conffile stays until purge
    assert user_exists()

    apt("purge", PACKAGE)
    assert package_state() == ""
    assert [str(p) for p in OURS if os.path.lexists(p)] == []
    assert not user_exists()
    assert run("getent", "group", PACKAGE, check=False).returncode == 2
    assert "muni-watchdog" not in run("dpkg-statoverride", "--list").stdout
    leftovers = [str(p) for top in ("/etc/systemd", "/var/lib/systemd") if os.path.isdir(top)
                 for p in Path(top).rglob("*muni-watchdog*")]
    assert leftovers == []
