#!/bin/bash
# Configures and builds libsmarthost in _build (warnings are errors).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f _build/build.ninja ]; then
  meson setup _build -Dwerror=true >/dev/null
fi
ninja -C _build
