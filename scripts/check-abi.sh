#!/bin/bash
# check-abi.sh: the API/ABI guard. Compares the symbols a shared library
# exports with the list kept in git, and fails when they differ, so that no
# symbol is added or removed by accident.
#
#   scripts/check-abi.sh SO_PATH SYMBOLS_FILE             check (meson test --suite abi)
#   scripts/check-abi.sh --update SO_PATH SYMBOLS_FILE    rewrite SYMBOLS_FILE deliberately
#
# The list holds the names of the defined dynamic symbols, one a line,
# sorted bytewise (LC_ALL=C).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail
export LC_ALL=C

update=false
if [ "${1-}" = "--update" ]; then
  update=true
  shift
fi
if [ $# -ne 2 ]; then
  echo "usage: $0 [--update] SO_PATH SYMBOLS_FILE" >&2
  exit 2
fi
so=$1
symbols=$2

if ! command -v nm >/dev/null 2>&1; then
  echo "check-abi: nm (binutils) is not installed; skipping" >&2
  exit 77
fi
if [ ! -f "$so" ]; then
  echo "check-abi: $so does not exist; build the library first" >&2
  exit 1
fi

# Names only: drop the address and type columns and any @VERSION suffix.
exported() {
  nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sed 's/@.*//' | sort -u
}

if $update; then
  exported > "$symbols"
  echo "check-abi: wrote $(wc -l < "$symbols") symbols to $symbols; review 'git diff $symbols' and commit it"
  exit 0
fi

if [ ! -f "$symbols" ]; then
  echo "check-abi: $symbols does not exist" >&2
  echo "create it with:  $0 --update $so $symbols" >&2
  exit 1
fi

current=$(mktemp)
trap 'rm -f "$current"' EXIT
exported > "$current"

if diff -u --label "$symbols (in git)" --label "$so (exported now)" "$symbols" "$current"; then
  echo "check-abi: $(wc -l < "$current") exported symbols match $symbols"
  exit 0
fi

cat >&2 <<MSG

check-abi: the symbols exported by $so differ from $symbols (diff above).
  '-' lines: symbols that are no longer exported. Removing a public symbol
      breaks every program linked against libsmarthost: bring it back, or bump
      the soversion deliberately.
  '+' lines: new exports. Check that each one is meant to be public API
      (declared in a public header with SMARTHOST_AVAILABLE_IN_ALL and
      documented), not an internal function that lost its static or hidden
      visibility.
If the change is deliberate, update the list and commit it with the change:
  $0 --update $so $symbols
MSG
exit 1
