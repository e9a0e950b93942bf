#!/bin/bash
# Sets up, builds and runs the whole test suite: C unit tests, Python and
# GJS binding tests and the end-to-end tests against a real Postfix.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
meson test -C _build --print-errorlogs "$@"
