#!/bin/sh
# Set everything up, then run the whole test suite (extra arguments go to pytest).
#
# Two phases: the tests in parallel, one pytest-xdist worker per core (at most 4), each test
# file on one worker (its module fixtures start once); then, alone, the tests marked
# "machine", which install the .deb and so change this machine (/etc/muni-watchdog, a user):
# a test running beside them would read the package's configuration.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
workers=$(nproc 2>/dev/null || echo 1)
[ "$workers" -gt 4 ] && workers=4
status=0 ran=no
for phase in parallel machine; do
    set +e
    if [ "$phase" = parallel ]; then
        .venv/bin/python -m pytest -n "$workers" --dist loadfile -m "not machine" "$@"
    else
        .venv/bin/python -m pytest -m machine "$@"
    fi
    code=$?
    set -e
    # 5 is pytest's "no tests collected": a phase that a filter left empty.
    case "$code" in
        0) ran=yes ;;
        5) ;;
        *) ran=yes; status=$code ;;
    esac
done
if [ "$ran" = no ]; then
    echo "test.sh: pytest collected no tests (exit 5) — check the filter you passed" >&2
    exit 0
fi
exit "$status"
