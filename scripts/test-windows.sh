#!/bin/bash
# test-windows.sh [--build-only | MESON-TEST-ARGS...]: libsmarthost built for 64-bit
# Windows in _build-windows and its tests run under Wine.
#
# 1. The dependencies: scripts/build-windows.sh --deps-only (a cache; seconds
#    when it exists, 7 to 13 minutes on 2 cores when it does not).
# 2. meson setup _build-windows with its cross file, as a test build
#    (-Dwerror=true -Dfault_injection=true), and ninja.
# 3. meson test -C _build-windows under Wine (the cross file's exe_wrapper):
#    the C unit tests that do not need Postfix, and the conformance suite
#    (the test backend, and SmarterMail against the fake server on the
#    host's loopback: tests/windows/test-conformance.sh; Postfix skips
#    itself there), smarthostctl.exe, and
#    the zip of scripts/package-windows.sh unpacked into a second, empty
#    prefix (tests/windows/test-package.sh). A fresh Wine prefix,
#    HOME and XDG directories in a temporary directory each run; the
#    wineserver is started first and alone, and killed after (one that a
#    test's own wine process starts keeps meson's pipes open: TIMEOUT).
#
# scripts/test.sh runs it (skip it with SMARTHOST_SKIP_WINDOWS=1; CI never
# does); .ci/run counts _build-windows/meson-logs/testlog.json.
#
# Lives beside build-windows.sh rather than in its project stub: that
# script's text is its cache key, so any edit to it rebuilds every
# dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=_build-windows
jobs=$(nproc)

say() { printf 'test-windows: %s\n' "$*" >&2; }

start=$SECONDS
cross_file=$(bash scripts/build-windows.sh --deps-only)
prefix=$(dirname "$cross_file")/prefix
[ -d "$prefix/bin" ] || { say "no dependency prefix at $prefix"; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
  nice meson setup "$build" --cross-file "$cross_file" \
    -Dwerror=true -Dfault_injection=true >/dev/null
elif ! grep -qF "$cross_file" "$build/meson-private/cmd_line.txt" 2>/dev/null; then
  # A new dependency cache (another key): set up afresh against it.
  say "the dependency cache changed: setting up $build again"
  rm -rf "$build"
  nice meson setup "$build" --cross-file "$cross_file" \
    -Dwerror=true -Dfault_injection=true >/dev/null
fi
nice ninja -C "$build" -j "$jobs" >/dev/null
say "built in $((SECONDS - start)) s"
# scripts/build-windows.sh builds the project through here.
[ "${1-}" = --build-only ] && exit 0
# The zip, from a build without fault injection; the test "package"
# unpacks it into a fresh Wine prefix of its own.
SMARTHOST_WINDOWS_ZIP=$(bash scripts/package-windows.sh)
export SMARTHOST_WINDOWS_ZIP
say "packaged $(basename "$SMARTHOST_WINDOWS_ZIP") at $((SECONDS - start)) s"

# Wine, with everything it writes in a temporary directory.
tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/smarthost-wine.XXXXXX")
cleanup() {
  WINEPREFIX=$tmp_dir/wine wineserver -k >/dev/null 2>&1 || true
  rm -rf "$tmp_dir" 2>/dev/null || { sleep 1; rm -rf "$tmp_dir"; }
}
trap cleanup EXIT
mkdir -p "$tmp_dir/home" "$tmp_dir/wine" "$tmp_dir/tmp"
# The wineserver makes its socket directory (wine-XXXXXX) in TMPDIR, and
# every process of the tests finds it there: in ours, not in /tmp.
export TMPDIR=$tmp_dir/tmp
export HOME=$tmp_dir/home
export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share \
  XDG_CACHE_HOME=$HOME/.cache XDG_STATE_HOME=$HOME/.local/state XDG_RUNTIME_DIR=$tmp_dir/run
mkdir -p "$XDG_RUNTIME_DIR"
export WINEPREFIX=$tmp_dir/wine WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES='winemenubuilder.exe=d;mscoree=d;mshtml=d'
unset DISPLAY WAYLAND_DISPLAY
wine_start=$SECONDS
wineserver -p >/dev/null 2>&1 </dev/null
wine wineboot -i >/dev/null 2>&1 </dev/null
say "fresh Wine prefix in $((SECONDS - wine_start)) s"

# The dependencies' DLLs and the library's (the build root).
win() { local p=${1//\//\\}; printf 'Z:%s' "$p"; }
export WINEPATH="$(win "$prefix/bin");$(win "$repo/$build")"
# GIO's TLS module (glib-networking's OpenSSL backend), for the SmarterMail
# backend's HTTPS.
export GIO_MODULE_DIR
GIO_MODULE_DIR=$(win "$prefix/lib/gio/modules")

status=0
nice meson test -C "$build" --no-rebuild --print-errorlogs "$@" || status=$?
say "tests under Wine: exit $status; $((SECONDS - start)) s in all"
exit $status
