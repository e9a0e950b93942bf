#!/bin/bash
# Sets up, builds and runs the whole test suite: C unit tests, Python and
# GJS binding tests and the end-to-end tests against a real Postfix.
# Then builds again with AddressSanitizer and UndefinedBehaviorSanitizer in
# _build-asan and runs the C unit suite there, and the CLI contract test
# (smarthostctl itself instrumented; Python is not, so nothing needs
# LD_PRELOAD). Set SMARTHOST_NO_ASAN=1 to skip that second pass.
# Then builds for Windows in _build-windows and runs the unit tests and the
# conformance suite there under Wine (scripts/test-windows.sh: seconds with
# the dependency cache, 7 to 13 minutes more the first time, which builds
# it). Set SMARTHOST_SKIP_WINDOWS=1 to skip that pass locally; CI runs it.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit $?
bash scripts/build.sh || exit $?
status=0
meson test -C _build --print-errorlogs "$@" || status=$?

if [ -z "${SMARTHOST_NO_ASAN:-}" ]; then
  echo "test: the C unit suite with AddressSanitizer and UndefinedBehaviorSanitizer (_build-asan)"
  bash scripts/test-build-setup.sh _build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true || exit 1
  ninja -C _build-asan || exit 1
  # Every test of the suite "unit", and e2e-cli when it is defined (one
  # run, so that one testlog.json has them all).
  mapfile -t asan_tests < <(meson test -C _build-asan --list --no-rebuild 2>/dev/null |
                            sed -n 's|^[^:]*:unit / ||p; s|^[^:]*:e2e / \(e2e-cli\)$|\1|p')
  if [ ${#asan_tests[@]} -eq 0 ]; then
    echo "test: no unit tests found in _build-asan" >&2
    status=1
  else
    ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C _build-asan --print-errorlogs --no-rebuild "${asan_tests[@]}" || status=1
  fi
fi

if [ -z "${SMARTHOST_SKIP_WINDOWS:-}" ]; then
  echo "test: the Windows build under Wine (_build-windows; SMARTHOST_SKIP_WINDOWS=1 skips it)"
  bash scripts/test-windows.sh || status=1
fi
exit $status
