#!/bin/sh
# Set everything up, then run the daemon against the demo lab on loopback (Ctrl-C stops it).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
exec .venv/bin/python -m lab.demo "$@"
