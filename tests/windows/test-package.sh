#!/bin/bash
# test-package.sh: the Windows zip (scripts/package-windows.sh) on a clean
# Windows: unpacked into a fresh Wine prefix with nothing else installed,
# its smarthostctl.exe run from there with no WINEPATH, so that every DLL
# it loads comes from the zip (or Windows itself); and its pkg-config file
# read where it was unpacked. Prints TAP.
#
# The zip is $SMARTHOST_WINDOWS_ZIP (scripts/test-windows.sh builds it and
# sets it); without it the test is skipped (exit 77).
#
# SmarterMail: `smarthostctl.exe --backend smartermail ... status` against
# the fake SmarterMail server (tests/smartermail/start-fake.sh) on the
# host's loopback, which Wine programs reach: the zip's libsoup and
# OpenSSL DLLs, its GIO TLS module (found beside GIO's DLL: no
# GIO_MODULE_DIR here) and a CA file of the command line. Skipped (that
# case alone) without python3 or openssl.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -uo pipefail
zip=${SMARTHOST_WINDOWS_ZIP:-}
if [ -z "$zip" ] || [ ! -f "$zip" ]; then
  echo "1..0 # SKIP no package (SMARTHOST_WINDOWS_ZIP; scripts/test-windows.sh builds it)"
  exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../smartermail/start-fake.sh
. "$here/../smartermail/start-fake.sh"
win() { local p=${1//\//\\}; printf 'Z:%s' "$p"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smarthost-package.XXXXXX")
mkdir -p "$tmp/tmp"
# The wineserver's socket directory (wine-XXXXXX) goes into TMPDIR.
export TMPDIR=$tmp/tmp
export HOME=$tmp/home WINEPREFIX=$tmp/wine WINEARCH=win64 WINEDEBUG=-all
export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share XDG_CACHE_HOME=$HOME/.cache
export WINEDLLOVERRIDES='winemenubuilder.exe=d;mscoree=d;mshtml=d'
unset WINEPATH DISPLAY WAYLAND_DISPLAY GIO_MODULE_DIR
cleanup() {
  fake_smartermail_stop
  wineserver -k >/dev/null 2>&1 </dev/null || true
  rm -rf "$tmp" 2>/dev/null || { sleep 1; rm -rf "$tmp"; }
}
trap cleanup EXIT
mkdir -p "$HOME" "$WINEPREFIX"
# A server of this prefix's own, started alone with its output going
# nowhere: one started by a program below would hold this test's pipes.
wineserver -p >/dev/null 2>&1 </dev/null
wine wineboot -i >/dev/null 2>&1 </dev/null
unzip -q "$zip" -d "$WINEPREFIX/drive_c" || { echo "1..1"; echo "not ok 1 - unzip $zip"; exit 1; }
dir=$(basename "$zip" .zip)
exe="C:\\$dir\\bin\\smarthostctl.exe"

n=0
failed=0
check() {   # check NAME EXPECTED-REGEX ARGS...
  local name=$1 expect=$2 out rc
  shift 2
  n=$((n + 1))
  out=$(cd "$tmp" && wine "$exe" "$@" 2>&1 </dev/null)
  rc=$?
  if [ $rc -eq 0 ] && printf '%s' "$out" | grep -Eq "$expect"; then
    echo "ok $n - $name"
  else
    echo "not ok $n - $name (exit $rc)"
    printf '%s\n' "$out" | sed 's/^/# /' | head -20
    failed=1
  fi
}
echo "1..5"
check "smarthostctl.exe --version" '^smarthostctl [0-9]' --version
check "smarthostctl.exe providers" '[Ss]end[Gg]rid' providers
check "smarthostctl.exe spf (the library's SPF logic)" 'include:sendgrid\.net' spf example.org --provider sendgrid --record 'v=spf1 mx -all'
# The .pc, relocatable (prefix=${pcfiledir}/../..): read where the zip
# was unpacked (the build machine's pkg-config, not following Requires,
# whose .pc files the zip does not have), it names the headers and the
# import library there.
n=$((n + 1))
pc_dir="$WINEPREFIX/drive_c/$dir/lib/pkgconfig"
includedir=$(PKG_CONFIG_LIBDIR=$pc_dir pkg-config --maximum-traverse-depth=1 --variable=includedir libsmarthost-1.0 2>&1)
libdir=$(PKG_CONFIG_LIBDIR=$pc_dir pkg-config --maximum-traverse-depth=1 --variable=libdir libsmarthost-1.0 2>&1)
if [ -f "$includedir/libsmarthost-1.0/smarthost.h" ] && [ -f "$libdir/libsmarthost-1.0.dll.a" ]; then
  echo "ok $n - the .pc is relocatable: its includedir and libdir are where the zip was unpacked"
else
  echo "not ok $n - the .pc is not relocatable: includedir $includedir, libdir $libdir"
  sed 's/^/# /' "$pc_dir/libsmarthost-1.0.pc"
  failed=1
fi
fake_status=0
fake_smartermail_start "$tmp/fake" || fake_status=$?
case $fake_status in
  0)
    mkdir "$WINEPREFIX/drive_c/smarthost-state"
    check "smarthostctl.exe status of SmarterMail over HTTPS (libsoup, the TLS module, a CA file)" \
      '^Server-wide smarthost: none' \
      --backend smartermail --option "url=$fake_url" --option admin=admin \
      --option "admin-password-file=$(win "$fake_password_file")" --option "ca-file=$(win "$fake_ca")" \
      --option 'state-directory=C:\smarthost-state' status
    ;;
  77) n=$((n + 1)); echo "ok $n # SKIP $fake_error" ;;
  *) n=$((n + 1)); echo "not ok $n - the fake SmarterMail server: $fake_error"; failed=1 ;;
esac
exit $failed
