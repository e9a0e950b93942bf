#!/bin/bash
# test-build-setup.sh BUILD-DIR [MESON-SETUP-OPTIONS...]
#
# Sets up BUILD-DIR as a test build: like `meson setup BUILD-DIR OPTIONS`,
# with -Dfault_injection=true. A BUILD-DIR that exists is kept, and
# reconfigured only when the option is off there (a build set up by hand,
# or before the option existed), so that the crash tests do not skip.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" -Dfault_injection=true "$@" >/dev/null
elif ! meson introspect "$dir" --buildoptions |
     /usr/bin/python3 -c 'import json, sys
sys.exit(0 if any(o["name"] == "fault_injection" and o["value"] is True for o in json.load(sys.stdin)) else 1)'; then
  echo "build: turning fault injection on in $dir (a test build)"
  # --reconfigure rather than `meson configure`: it also knows an option
  # added since the directory was set up.
  meson setup --reconfigure "$dir" -Dfault_injection=true >/dev/null
fi
