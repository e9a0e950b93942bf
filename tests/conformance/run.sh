#!/bin/bash
# run.sh BUILD-ROOT SOURCE-DIR [GTEST-ARGS...]: the conformance suite,
# built against the INSTALLED library
#
# Installs the build into a temporary DESTDIR, compiles the test backend
# (smarthost-keyfile-backend.c, smarthost-keyfile-group-operation.c) and
# the suite (conformance.c) with `cc` and nothing but what pkg-config says
# of the installed libsmarthost-1.0 (no -I into the source or build tree:
# the sources are copied out first), then runs the suite against the
# installed library, printing TAP. A program that does not compile from
# the installed headers fails the test: that is what it is for.
#
# The SmarterMail backend is tested against the fake SmarterMail server
# (tests/smartermail/fake_smartermail.py, with a test CA of its own, started
# by tests/smartermail/start-fake.sh), which this script starts once for the whole run and stops on exit; the suite
# finds it through CONFORMANCE_SMARTERMAIL_URL, _CA_FILE, _PASSWORD_FILE
# and _CONTROL_TOKEN, and skips those cases when they are not set.
#
# meson test runs it as `conformance` (suite conformance); by hand:
#   bash tests/conformance/run.sh _build tests/conformance [-p /conformance/keyfile/kill]
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUILD-ROOT SOURCE-DIR [GTEST-ARGS...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
shift 2
root=$(cd "$src/../.." && pwd)

fail() {
  echo "conformance: $*" >&2
  # TAP: a plan and a failure, so that the harness reports it as such.
  echo "1..1"
  echo "not ok 1 - conformance: $*"
  exit 1
}

# shellcheck source=../smartermail/start-fake.sh
. "$root/tests/smartermail/start-fake.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/conformance-XXXXXX")
cleanup() {
  fake_smartermail_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

# 1. Install, as a packager would (headers, library, .pc; no docs).
if ! "${MESON:-meson}" install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet --tags devel,runtime >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2
  fail "meson install into a temporary DESTDIR failed"
fi
pc=$(find "$tmp/root" -name libsmarthost-1.0.pc -print -quit)
[ -n "$pc" ] || fail "the installation has no libsmarthost-1.0.pc"
lib=$(find "$tmp/root" -name 'libsmarthost-1.0.so' -print -quit)
[ -n "$lib" ] || fail "the installation has no libsmarthost-1.0.so"
libdir=$(dirname "$lib")

# 2. The .pc, pointed at the DESTDIR. (PKG_CONFIG_SYSROOT_DIR would put the
# DESTDIR in front of GLib's include directories too, which are not
# there; so the .pc's own absolute paths are moved instead.)
mkdir "$tmp/pkgconfig"
sed -E "s#^(prefix|exec_prefix|libdir|includedir)=/#\\1=$tmp/root/#" "$pc" > "$tmp/pkgconfig/libsmarthost-1.0.pc"
export PKG_CONFIG_PATH="$tmp/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
cflags=$(pkg-config --cflags libsmarthost-1.0) || fail "pkg-config cannot read the installed libsmarthost-1.0.pc"
libs=$(pkg-config --libs libsmarthost-1.0)

# Nothing from the source or build tree may be on the include path.
for flag in $cflags; do
  case "$flag" in
    -I"$tmp"/*) ;;
    -I"$root"*|-I"$build"*) fail "pkg-config gives an include directory in the tree: $flag" ;;
  esac
done
case "$cflags" in
  *-I"$tmp/root"*) ;;
  *) fail "pkg-config does not point into the temporary installation: $cflags" ;;
esac

# 3. Compile, from a copy of the sources outside the tree.
mkdir "$tmp/src"
cp "$src"/conformance.c "$src"/conformance-compat.h "$src"/smarthost-keyfile-backend.[ch] "$src"/smarthost-keyfile-group-operation.[ch] "$tmp/src/"
# shellcheck disable=SC2086
if ! ${CC:-cc} -o "$tmp/conformance" \
       -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes -Werror \
       -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74 \
       $cflags \
       "$tmp/src/conformance.c" "$tmp/src/smarthost-keyfile-backend.c" "$tmp/src/smarthost-keyfile-group-operation.c" \
       $libs >"$tmp/cc.log" 2>&1; then
  cat "$tmp/cc.log" >&2
  fail "the test backend and the suite do not compile against the installed headers (see above)"
fi
[ -s "$tmp/cc.log" ] && cat "$tmp/cc.log" >&2

# 4. Run it against the installed library, and make sure it is that one.
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
loaded=$(ldd "$tmp/conformance" | awk '/libsmarthost-1.0/ { print $3 }')
case "$loaded" in
  "$tmp"/*) ;;
  *) fail "the suite would load libsmarthost from ${loaded:-nowhere}, not from the temporary installation" ;;
esac
echo "conformance: built against $tmp/root, running $tmp/conformance" >&2
# 5. The fake SmarterMail server (tests/smartermail/start-fake.sh), for
# the smartermail cases (which skip themselves without python3 or openssl).
fake_status=0
fake_smartermail_start "$tmp/fake" || fake_status=$?
case $fake_status in
  0)
    export CONFORMANCE_SMARTERMAIL_URL=$fake_url
    export CONFORMANCE_SMARTERMAIL_CA_FILE=$fake_ca
    export CONFORMANCE_SMARTERMAIL_PASSWORD_FILE=$fake_password_file
    export CONFORMANCE_SMARTERMAIL_CONTROL_TOKEN=$fake_token
    ;;
  77) ;;
  *) fail "$fake_error" ;;
esac

# Its scratch directories go into $tmp too, so that even an aborted run
# leaves nothing behind.
mkdir "$tmp/scratch"
status=0
(cd "$tmp" && TMPDIR="$tmp/scratch" "$tmp/conformance" --tap "$@") || status=$?
exit $status
