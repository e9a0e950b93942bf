#!/bin/bash
# Configures and builds libsmarthost in _build (warnings are errors), a test
# build: fault injection is on (SMARTHOST_FAULT_POINT, which the crash tests
# use to kill a commit halfway). Do not install it; a build for installing
# is a plain `meson setup`, where the option is off.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-build-setup.sh _build -Dwerror=true
ninja -C _build
