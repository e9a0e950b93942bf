#!/bin/bash
# Sets up, builds and runs the demo: a sandboxed Postfix, two local TLS
# relays, a server-wide and a domain smarthost set with smarthostctl, and
# mail that shows which relay carried which message as which user.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh >/dev/null
exec /usr/bin/python3 scripts/demo.py
