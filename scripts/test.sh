#!/bin/sh
# Set everything up, then run the whole test suite (extra arguments go to pytest).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
    # pytest's "no tests collected": only possible with a filter that matched nothing.
    echo "test.sh: pytest collected no tests (exit 5) — check the filter you passed" >&2
    exit 0
fi
exit "$status"
