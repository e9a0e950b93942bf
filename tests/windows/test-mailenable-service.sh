#!/bin/bash
# test-mailenable-service.sh SERVICE.EXE TEST.EXE [SMARTHOSTCTL.EXE]:
# me_service_restart() under Wine's Service Control Manager. Installs
# SERVICE.EXE (me-test-service.exe) as MESMTPCS, starts it, runs TEST.EXE
# (test-mailenable-service.exe, whose TAP is this test's; with
# SMARTHOSTCTL.EXE, it also runs smarthostctl.exe --backend mailenable on
# the live registry), and deletes the service at the end, failed or not.
#
# Run by meson test in _build-windows, inside scripts/test-windows.sh's Wine
# prefix (its wineserver is already up, which keeps the service alive).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -uo pipefail
service_exe=$1
test_exe=$2
win() { local p=${1//\//\\}; printf 'Z:%s' "$p"; }

if [ -n "${3-}" ]; then
  SMARTHOSTCTL_EXE=$(win "$(realpath "$3")")
  export SMARTHOSTCTL_EXE
  [ -n "${SMARTHOST_POLICY-}" ] && SMARTHOST_POLICY=$(win "$SMARTHOST_POLICY") && export SMARTHOST_POLICY
fi
name=MESMTPCS

cleanup() {
  wine sc stop "$name" </dev/null >/dev/null 2>&1
  for _ in $(seq 50); do
    wine sc query "$name" </dev/null 2>/dev/null | grep -q RUNNING || break
    sleep 0.1
  done
  wine sc delete "$name" </dev/null >/dev/null 2>&1
  wine reg delete 'HKLM\SOFTWARE\libsmarthost-test' /f </dev/null >/dev/null 2>&1
}
trap cleanup EXIT

cleanup
if ! out=$(wine sc create "$name" binPath= "$(win "$(realpath "$service_exe")")" </dev/null 2>&1); then
  echo "Bail out! sc create $name failed: $out"
  exit 1
fi
if ! out=$(wine sc start "$name" </dev/null 2>&1); then
  echo "Bail out! sc start $name failed: $out"
  exit 1
fi
for _ in $(seq 100); do
  wine sc query "$name" </dev/null 2>/dev/null | grep -q RUNNING && break
  sleep 0.1
done
wine "$test_exe" --tap -k </dev/null
