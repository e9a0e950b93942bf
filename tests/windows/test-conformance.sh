#!/bin/bash
# test-conformance.sh CONFORMANCE.EXE [GTEST-ARGS...]: the conformance
# suite of the Windows build (tests/conformance/meson.build) under Wine,
# with the fake SmarterMail server (tests/smartermail/start-fake.sh) on the
# host's loopback, which Wine programs reach: the smartermail cases run
# too, through libsoup, GIO's TLS module (GIO_MODULE_DIR, which
# scripts/test-windows.sh sets) and the test CA. Without python3 or openssl
# they skip themselves, as on Linux. Prints the suite's TAP.
#
# The files the suite reads are given as Windows paths (Wine's Z: is /):
# GLib would take "/tmp/..." as a path on the current drive, which is
# right only while the current directory is on Z:.
#
# Run by meson test in _build-windows, inside scripts/test-windows.sh's
# Wine prefix (its wineserver is already up).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -uo pipefail
exe=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../smartermail/start-fake.sh
. "$here/../smartermail/start-fake.sh"

win() { local p=${1//\//\\}; printf 'Z:%s' "$p"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/conformance-windows.XXXXXX")
cleanup() {
  fake_smartermail_stop
  rm -rf "$tmp"
}
trap cleanup EXIT

fake_status=0
fake_smartermail_start "$tmp/fake" || fake_status=$?
case $fake_status in
  0)
    export CONFORMANCE_SMARTERMAIL_URL=$fake_url
    CONFORMANCE_SMARTERMAIL_CA_FILE=$(win "$fake_ca")
    CONFORMANCE_SMARTERMAIL_PASSWORD_FILE=$(win "$fake_password_file")
    export CONFORMANCE_SMARTERMAIL_CA_FILE CONFORMANCE_SMARTERMAIL_PASSWORD_FILE
    export CONFORMANCE_SMARTERMAIL_CONTROL_TOKEN=$fake_token
    ;;
  77) echo "# $fake_error: the smartermail cases skip themselves" ;;
  *)
    echo "1..1"
    echo "not ok 1 - conformance: $fake_error"
    exit 1
    ;;
esac

wine "$exe" --tap "$@" </dev/null
