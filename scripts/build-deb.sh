#!/bin/sh
# Build the Debian package muni-watchdog_VERSION_ARCH.deb from this source tree.
#
#   sh scripts/build-deb.sh [--out DIR] [--cache DIR] [--compression xz|gzip]
#   (defaults: dist/, ~/.cache/muni-watchdog-build, xz as Debian's own packages; gzip builds
#   five times faster, 12 MB instead of 9)
#
# The application goes into its own virtual environment, built here with Debian's
# /usr/bin/python3 in a staging directory whose path is then rewritten to /opt/muni-watchdog
# (script shebangs, pyvenv.cfg): its interpreter, /usr/bin/python3.X, is the target's, and
# installing needs no network. The dependencies come
# from PyPI as wheels (pip's cache in --cache speeds up the next build). The venv holds
# compiled wheels, so the package is for this machine's architecture, not "all".
# Needs: dpkg-deb, python3-venv (for ensurepip). Runs as any user: dpkg-deb
# --root-owner-group makes every file root's, so fakeroot is not needed.
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
PKG="$SRC/packaging/deb"
OUT="$SRC/dist"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/muni-watchdog-build"
COMPRESSION=xz
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --compression) COMPRESSION=$2; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "build-deb: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

NAME=muni-watchdog
PREFIX=/opt/muni-watchdog
die() { echo "build-deb: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg)"
# The package's interpreter: Debian's, by its versioned name, so that the package can depend
# on exactly the Python whose site-packages and compiled wheels it ships.
PYTHON=$(readlink -f /usr/bin/python3) || die "no /usr/bin/python3 (apt-get install python3)"
case "$PYTHON" in
    /usr/bin/python3.[0-9]*) ;;
    *) die "/usr/bin/python3 -> $PYTHON is not Debian's python3.X" ;;
esac
PYVER=${PYTHON#/usr/bin/python}
"$PYTHON" -c 'import ensurepip' 2>/dev/null \
    || die "$PYTHON cannot create a virtual environment (apt-get install python3-venv)"
ARCH=$(dpkg --print-architecture)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/build-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
ROOT="$WORK/root"
VENV="$ROOT$PREFIX"
mkdir -p "$OUT" "$CACHE/pip" "$ROOT/DEBIAN"
export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

# ---- the source, as committed or about to be (not .venv, build/ or other ignored files) ----
mkdir "$WORK/src"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard \
        | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
        | tar --null -T - -cf -) | tar -xf - -C "$WORK/src"
else
    (cd "$SRC" && tar --exclude=./.venv --exclude=./.git --exclude=./build --exclude=./dist \
        --exclude='*.egg-info' -cf - .) | tar -xf - -C "$WORK/src"
fi

# ---- the virtual environment ----------------------------------------------------------
echo "build-deb: building the wheel and the virtual environment with $PYTHON"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip wheel -q --no-deps -w "$WORK/wheel" "$WORK/src"
set -- "$WORK"/wheel/*.whl
[ $# = 1 ] && [ -f "$1" ] || die "expected one wheel of $NAME, got: $*"
WHEEL=$1
"$VENV/bin/python" -m pip install -q --no-compile --only-binary :all: "$WHEEL"
# The runtime needs neither pip nor setuptools; without them nobody pip-installs into a
# tree that dpkg owns.
"$VENV/bin/python" -m pip uninstall -q -y pip setuptools

# Upstream version from the wheel's name (PEP 440), Debian version from our changelog.
UPSTREAM=$(basename "$WHEEL" | cut -d- -f2)
VERSION=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$PKG/changelog")
DEB_UPSTREAM=$(echo "$UPSTREAM" | sed -E 's/(a|b|rc|\.dev)([0-9]+)$/~\1\2/')
[ "${VERSION%-*}" = "$DEB_UPSTREAM" ] || die "packaging/deb/changelog is at $VERSION but the \
project is $UPSTREAM: add a changelog entry for $DEB_UPSTREAM-1 first"

# Metadata pointing at this build's temporary wheel would mislead; its RECORD line goes too.
for direct in "$VENV"/lib/python*/site-packages/*.dist-info/direct_url.json; do
    [ -f "$direct" ] || continue
    sed -i '/direct_url\.json,/d' "$(dirname "$direct")/RECORD"
    rm -f "$direct"
done
# Byte-code is compiled by postinst on the target (and removed by prerm), as Debian does.
find "$VENV" -depth -type d -name __pycache__ -exec rm -rf {} +
find "$VENV" -type f -name '*.py[co]' -delete
# Only our command and the interpreter stay in bin/: activation scripts are for interactive
# shells, and the dependencies' commands (apprise, invoke, ...) are not this package's.
find "$VENV/bin" -mindepth 1 ! -name muni-watchdog ! -name 'python*' -exec rm -f {} +
# Junk some wheels carry, and the empty include/ of the venv.
find "$VENV" -name .DS_Store -delete
rmdir "$VENV/include/python$PYVER" "$VENV/include" 2>/dev/null || true
# Strip the wheels' extension modules as dh_strip does (the test imports every module of
# the installed package, so a library this breaks is caught).
if command -v strip >/dev/null; then
    find "$VENV/lib" -type f -name '*.so*' \
        -exec strip --strip-unneeded --remove-section=.comment --remove-section=.note {} +
fi

# The venv was built under $WORK: rewrite that prefix (script shebangs, pyvenv.cfg) to the
# installed one, then make sure no file still names the build directory.
grep -rlI -F "$VENV" "$VENV" | while IFS= read -r file; do
    sed -i "s|$VENV|$PREFIX|g" "$file"
done
if leaks=$(grep -rl -F "$WORK" "$VENV"); then
    die "files still name the build directory $WORK: $leaks"
fi

GLIBC=$("$VENV/bin/python" "$PKG/bundled.py" glibc)
"$VENV/bin/python" "$PKG/bundled.py" copyright "$ROOT" > "$WORK/bundled-copyright"

# ---- the rest of the file system ------------------------------------------------------
install -d "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/usr/share/doc/$NAME" \
    "$ROOT/usr/share/lintian/overrides"
ln -s "$PREFIX/bin/muni-watchdog" "$ROOT/usr/bin/muni-watchdog"
install -m 0644 "$SRC/systemd/muni-watchdog.service" "$ROOT/lib/systemd/system/"
# /etc/muni-watchdog and secrets/ get the group muni-watchdog in postinst (dpkg-statoverride);
# 0750 already here, so that they are never readable by others, not even before that.
install -d -m 0750 "$ROOT/etc/muni-watchdog" "$ROOT/etc/muni-watchdog/secrets"
# The example is the conffile: dpkg keeps an admin's edits to it, and the admin's own
# muni-watchdog.yaml, written from it, belongs to the admin (purge removes it).
install -m 0644 "$SRC/etc/muni-watchdog.example.yaml" \
    "$ROOT/etc/muni-watchdog/muni-watchdog.yaml.example"

DOC="$ROOT/usr/share/doc/$NAME"
gzip -9n < "$PKG/changelog" > "$DOC/changelog.Debian.gz"
install -m 0644 "$PKG/README.Debian" "$DOC/README.Debian"
{
    cat "$PKG/copyright.in"
    # The full license text, once the project ships it.
    for text in "$SRC/LICENSE" "$SRC/COPYING"; do
        [ -f "$text" ] && { echo " ."; sed 's/^$/./; s/^/ /' "$text"; break; }
    done
    echo
    cat "$WORK/bundled-copyright"
} > "$DOC/copyright"

# The man page and the bash completion, generated from the argparse parser and committed
# (scripts/cli_docs.py; tests/test_cli_surface.py fails when they are stale).
for generated in man/muni-watchdog.1 completion/muni-watchdog.bash; do
    [ -f "$SRC/$generated" ] || die "$generated is missing: .venv/bin/python scripts/cli_docs.py"
done
install -d "$ROOT/usr/share/man/man1"
gzip -9n < "$SRC/man/muni-watchdog.1" > "$ROOT/usr/share/man/man1/muni-watchdog.1.gz"
install -D -m 0644 "$SRC/completion/muni-watchdog.bash" \
    "$ROOT/usr/share/bash-completion/completions/muni-watchdog"

# Lintian overrides, each with its reason.
sed '/^# build-deb:/d' "$PKG/lintian-overrides" > "$ROOT/usr/share/lintian/overrides/$NAME"

# ---- modes as Debian wants them: no group/other write, libraries not executable --------
chmod -R u+rwX,go+rX,go-w "$ROOT"
chmod 0750 "$ROOT/etc/muni-watchdog" "$ROOT/etc/muni-watchdog/secrets"
# Nothing in site-packages is run directly (a few modules keep a shebang from upstream).
find "$ROOT$PREFIX/lib" -type f -exec chmod 0644 {} +
find "$ROOT/usr/share" -type f -exec chmod 0644 {} +

# ---- DEBIAN/ ------------------------------------------------------------------------------
for script in postinst prerm postrm; do
    install -m 0755 "$PKG/$script" "$ROOT/DEBIAN/$script"
done
(cd "$ROOT" && find etc -type f | sed 's|^|/|' | sort) > "$ROOT/DEBIAN/conffiles"
# md5sums of every file but the conffiles (dpkg records those itself), as dh_md5sums does.
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print0 \
    | LC_ALL=C sort -z | xargs -0 md5sum | sed 's|  \./|  |') > "$ROOT/DEBIAN/md5sums"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$SIZE/" \
    -e "s/@PYTHON@/python$PYVER/" -e "s/@GLIBC@/$GLIBC/" "$PKG/control.in" > "$ROOT/DEBIAN/control"
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles" "$ROOT/DEBIAN/md5sums"

# Reproducible: every timestamp is the changelog entry's.
SOURCE_DATE_EPOCH=$(date -d "$(sed -n 's/^ -- .*>  //p' "$PKG/changelog" | head -1)" +%s)
export SOURCE_DATE_EPOCH
DEB="$OUT/${NAME}_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group "-Z$COMPRESSION" --build "$ROOT" "$DEB" >/dev/null
echo "build-deb: $DEB ($(du -h "$DEB" | cut -f1), installs $((SIZE / 1024)) MiB)"
