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
  # The connector key the smarthostctl case makes (it removes it itself,
  # unless it failed halfway).
  wine reg delete 'HKLM\SOFTWARE\Mail Enable' /reg:32 /f </dev/null >/dev/null 2>&1
}
trap cleanup EXIT

# A prefix just made (wineboot -i) runs two services.exe, each answering
# on the SCM's pipe with a database of its own: sc create goes to one, sc
# start to the other (1060, 1055, then 1053). So the session is ended and
# booted again (the wineserver stays), with one SCM; then the service is
# created while it is not there and started while it is stopped, for 30 s
# at most.
wine wineboot -k </dev/null >/dev/null 2>&1
wine wineboot -r </dev/null >/dev/null 2>&1
ensure_running() {
  local q
  for _ in $(seq 150); do
    q=$(wine sc query "$name" </dev/null 2>/dev/null)
    if ! grep -q SERVICE_NAME <<<"$q"; then
      wine sc create "$name" binPath= "$(win "$(realpath "$service_exe")")" </dev/null >/dev/null 2>&1
    elif grep -q RUNNING <<<"$q"; then
      return 0
    elif grep -q STOPPED <<<"$q"; then
      wine sc start "$name" </dev/null >/dev/null 2>&1
    fi
    sleep 0.2
  done
  return 1
}

cleanup
if ! ensure_running; then
  echo "Bail out! $name (me-test-service.exe) could not be installed and started with sc create, sc start"
  exit 1
fi
wine "$test_exe" --tap -k </dev/null
