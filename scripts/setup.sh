#!/bin/sh
# Install everything muni-watchdog needs to run its demo and its tests on Debian 12:
# Debian packages (only those missing) and a virtualenv in .venv with the project installed.
# Idempotent: a second run does nothing that is already done.
set -eu
cd "$(dirname "$0")/.."

APT_PACKAGES="python3 python3-venv python3-pip ca-certificates tzdata systemd \
restic snmpd snmp openssh-server openssh-client chromium fonts-dejavu-core \
lintian binutils prometheus graphviz man-db groff-base"

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
missing=""
for pkg in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    # Wait (up to 10 min) for another apt or dpkg to finish rather than fail at once:
    # a fresh box often runs its first unattended upgrade at boot.
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends $missing
    # The packaged snmpd and prometheus start system services: the lab and the tests run
    # their own on loopback. (lintian and binutils' strip are for the .deb's build and test;
    # man-db and groff-base render the generated man page in its test.)
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now snmpd prometheus >/dev/null 2>&1 || true
    fi
fi

VENV=.venv
stamp="$VENV/.installed"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
    echo "setup: installing Python packages into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[test]'
    touch "$stamp"
fi
