#!/bin/bash
# valgrind-unit.sh: runs each C unit test binary under valgrind's memcheck
# and fails on any memory error or definite leak.
#
#   scripts/valgrind-unit.sh [TEST-BINARY...]
#
# Without arguments: every tests/test-* binary of _build (build it first).
# Meson runs it as the test "valgrind-unit" (suite "valgrind"), with the
# binaries of its own build directory. Exit status: 0 clean, 1 an error or
# a definite leak (the report is printed), 77 valgrind is missing.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind-unit: valgrind not found: skipped"
  exit 77
fi

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  for t in "$root"/_build/tests/test-*; do
    [ -x "$t" ] && [ -f "$t" ] && tests+=("$t")
  done
fi
if [ ${#tests[@]} -eq 0 ]; then
  echo "valgrind-unit: no test binaries (build _build first, or name them)" >&2
  exit 1
fi

# What the unit tests get from Meson (tests/meson.build), and what makes
# GLib's allocations visible to valgrind.
export SMARTHOST_POLICY=${SMARTHOST_POLICY:-$root/tests/fixtures/policy-allow-all.ini}
export G_TEST_SRCDIR=${G_TEST_SRCDIR:-$root/tests}
export G_SLICE=always-malloc
export G_DEBUG=gc-friendly
unset MALLOC_CHECK_ MALLOC_PERTURB_

supp=()
for f in /usr/share/glib-2.0/valgrind/glib.supp "$root/tests/valgrind.supp"; do
  [ -f "$f" ] && supp+=("--suppressions=$f")
done

work=$(mktemp -d "${TMPDIR:-/tmp}/valgrind-unit.XXXXXX")
trap 'rm -rf "$work"' EXIT

status=0
for t in "${tests[@]}"; do
  name=$(basename "$t")
  log=$work/$name.log
  start=$SECONDS
  G_TEST_BUILDDIR=$(dirname "$t") \
  valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --error-exitcode=1 --num-callers=30 \
    --track-origins=yes "${supp[@]}" --log-file="$log" \
    "$t" >"$work/$name.out" 2>&1
  rc=$?
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n1)
  if [ "$rc" -eq 0 ] && [ "${errors:-1}" = 0 ]; then
    echo "ok   $name ($((SECONDS - start)) s)"
  else
    echo "FAIL $name (exit $rc, ${errors:-?} valgrind errors)"
    echo "---- valgrind report of $name ----"
    grep -v "^==[0-9]*== *$" "$log" | sed -n '/Invalid\|uninitialised\|definitely lost\|Mismatched\|overlap\|Syscall param\|ERROR SUMMARY/,/^==[0-9]*== *$/p' | head -n 200
    echo "---- test output (tail) ----"
    tail -n 20 "$work/$name.out"
    status=1
  fi
done
exit $status
