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
# (tests/smartermail/fake_smartermail.py, with a test CA of its own), which
# this script starts once for the whole run and stops on exit; the suite
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/conformance-XXXXXX")
fake_pid=
cleanup() {
  if [ -n "$fake_pid" ]; then
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
  fi
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
# 5. The fake SmarterMail server, on a port of its own choosing, HTTPS with
# a new test CA, for the smartermail cases (skipped without python3 or
# openssl).
fake="$tmp/fake"
if [ -x /usr/bin/python3 ] && command -v openssl >/dev/null 2>&1; then
  mkdir -m 700 "$fake"
  /usr/bin/python3 "$root/tests/smartermail/certs.py" "$fake/certs" >"$fake/certs.log" 2>&1 ||
    { cat "$fake/certs.log" >&2; fail "cannot make the fake SmarterMail server's test CA"; }
  (umask 077 && echo "Adm1n-Conformance-$$-pw" >"$fake/admin-password")
  /usr/bin/python3 "$root/tests/smartermail/fake_smartermail.py" --port 0 --cert "$fake/certs" \
    --mapping "$root/backends/smartermail/smartermail-mapping.json" --admin admin \
    --password-file "$fake/admin-password" --control-token-file "$fake/control-token" \
    --ready-file "$fake/ready" </dev/null >"$fake/output.log" 2>&1 &
  fake_pid=$!
  for _ in $(seq 300); do
    [ -s "$fake/ready" ] && break
    kill -0 "$fake_pid" 2>/dev/null || { cat "$fake/output.log" >&2; fail "the fake SmarterMail server exited"; }
    sleep 0.1
  done
  [ -s "$fake/ready" ] || { cat "$fake/output.log" >&2; fail "the fake SmarterMail server did not start"; }
  export CONFORMANCE_SMARTERMAIL_URL="https://127.0.0.1:$(cat "$fake/ready")"
  export CONFORMANCE_SMARTERMAIL_CA_FILE="$fake/certs/ca.pem"
  export CONFORMANCE_SMARTERMAIL_PASSWORD_FILE="$fake/admin-password"
  CONFORMANCE_SMARTERMAIL_CONTROL_TOKEN=$(cat "$fake/control-token")
  export CONFORMANCE_SMARTERMAIL_CONTROL_TOKEN
fi

# Its scratch directories go into $tmp too, so that even an aborted run
# leaves nothing behind.
mkdir "$tmp/scratch"
status=0
(cd "$tmp" && TMPDIR="$tmp/scratch" "$tmp/conformance" --tap "$@") || status=$?
exit $status
