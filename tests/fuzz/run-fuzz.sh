#!/bin/bash
# run-fuzz.sh: builds one of libsmarthost's libFuzzer targets with clang and
# runs it for a while.
#
#   tests/fuzz/run-fuzz.sh TARGET [SECONDS]   (default 5 seconds)
#   tests/fuzz/run-fuzz.sh all [SECONDS]      every target in turn
#   tests/fuzz/run-fuzz.sh [SECONDS]          the SMTP reply parser (as before)
#
# TARGET is the name of a tests/fuzz/fuzz-TARGET.c:
#   smtp-reply      the SMTP reply parser (libsmarthost/smarthost-smtp.c)
#   postfix-conf    the main.cf/master.cf reader and editor
#   postfix-state   the lookup-table parser, nexthops and transport names,
#                   read back as relays (smarthost-postfix-read.c, -codec.c)
#   relay           domain normalization, relay validation, and what a
#                   valid relay becomes in Postfix's files (read back)
#   diff            the unified diff of dry runs, applied back
#   state           states and relays in JSON (apply files), written back
#   spf             SPF records merged with an include, and their zone text
#   policy          the policy file (Plesk-style INI feature switches)
#   journal         the commit journal, as recovery reads it
#   mailenable-reg  regedit's .reg files (the MailEnable backend's codec),
#                   written back and read again
#
# Meson builds with gcc, which has no libFuzzer, so this script compiles
# the target and the library sources it needs with clang and
# -fsanitize=fuzzer,address,undefined, in a temporary folder (the library
# objects are cached, keyed by a hash of the sources). Targets that need
# more than a single source file use the generated headers (config.h,
# smarthost-enum-types.[ch]) of a Meson build directory: $FUZZ_BUILD_ROOT,
# else _build-fuzz or _build of the source tree (set up if neither exists).
# The seed corpus (corpus-TARGET/) is copied, so runs never change it.
#
# Exit status: 0 nothing found; 1 the fuzzer found a crash, a leak or a
# broken invariant (the input is kept in $FUZZ_ARTIFACT_DIR, default the
# current folder, as crash-*/leak-*: rerun the target on it to reproduce,
# see FUZZ_KEEP); 2 bad usage; 77 clang or libFuzzer are missing (Meson
# reports the test as skipped).
#
# Environment: CC_FUZZ (default clang), FUZZ_ARTIFACT_DIR, FUZZ_EXTRA_CFLAGS,
# FUZZ_BUILD_ROOT, FUZZ_CACHE (where library objects are cached; default
# $FUZZ_BUILD_ROOT/fuzz-cache), FUZZ_JOBS (parallel compiles), FUZZ_KEEP=DIR
# (copy the built target and the grown corpus there, e.g. to reproduce:
# DIR/fuzz-TARGET crash-...).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

target=smtp-reply
if [ $# -ge 1 ] && ! [[ $1 =~ ^[0-9]+$ ]]; then
  target=$1
  shift
fi
seconds=${1:-5}
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
  echo "usage: run-fuzz.sh TARGET [SECONDS]" >&2
  exit 2
fi

if [ "$target" = all ]; then
  status=0
  for src in "$here"/fuzz-*.c; do
    t=$(basename "$src" .c)
    t=${t#fuzz-}
    "${BASH_SOURCE[0]}" "$t" "$seconds" || { s=$?; [ "$s" -eq 77 ] && exit 77; status=1; }
  done
  exit $status
fi
if [ ! -f "$here/fuzz-$target.c" ]; then
  echo "run-fuzz: no target $target (tests/fuzz/fuzz-$target.c)" >&2
  exit 2
fi

cc=${CC_FUZZ:-clang}
artifacts=${FUZZ_ARTIFACT_DIR:-$PWD}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "run-fuzz: $cc not found: skipped (install clang and libclang-rt-14-dev)"
  exit 77
fi
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists glib-2.0; then
  echo "run-fuzz: glib-2.0 development files not found: skipped"
  exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$target.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Does this clang have libFuzzer and the sanitizers?
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void) d; (void) n; return 0; }\n' > "$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
  echo "run-fuzz: $cc cannot build with -fsanitize=fuzzer,address,undefined: skipped (install libclang-rt-14-dev)"
  exit 77
fi

sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
common=(-g -O1 -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE)

# The sources each target is built from, besides itself.
case $target in
  smtp-reply)
    # smarthost-smtp.c includes Meson's config.h; it needs nothing from it.
    : > "$work/config.h"
    lib_sources=("$root/libsmarthost/smarthost-smtp.c")
    packages=(glib-2.0)
    includes=(-I"$work" -I"$root/libsmarthost")
    ;;
  postfix-conf)
    : > "$work/config.h"
    lib_sources=("$root/backends/postfix/smarthost-postfix-conf.c")
    packages=(glib-2.0)
    includes=(-I"$work" -I"$root/backends/postfix")
    ;;
  *)
    # The whole library, built from its sources; a target that includes a
    # source file itself (to reach its static functions) leaves it out.
    packages=(glib-2.0 gobject-2.0 gio-2.0 gio-unix-2.0 jansson openssl libsoup-3.0)
    for p in "${packages[@]}"; do
      if ! pkg-config --exists "$p"; then
        echo "run-fuzz: $p development files not found: skipped"
        exit 77
      fi
    done
    build=${FUZZ_BUILD_ROOT:-}
    if [ -z "$build" ]; then
      for b in "$root/_build-fuzz" "$root/_build"; do
        if [ -f "$b/build.ninja" ]; then build=$b; break; fi
      done
    fi
    if [ -z "$build" ]; then
      build=$root/_build-fuzz
      meson setup "$build" "$root" >/dev/null
    fi
    # The library's sources, generated ones included, as the Meson build
    # compiles them (its compile_commands.json); building the library
    # there first generates what they include.
    mapfile -t lib_sources < <(/usr/bin/python3 - "$build" <<'PY'
import json, os, sys
build = sys.argv[1]
for e in json.load(open(os.path.join(build, "compile_commands.json"))):
    if os.path.basename(e["output"]).endswith(".o") and "/libsmarthost-" in "/" + e["output"] and ".so" in e["output"]:
        print(os.path.normpath(os.path.join(e["directory"], e["file"])))
PY
)
    if [ ${#lib_sources[@]} -eq 0 ]; then
      echo "run-fuzz: no library sources in $build/compile_commands.json" >&2
      exit 1
    fi
    lib_target=$(/usr/bin/python3 -c '
import json, os, sys
for e in json.load(open(os.path.join(sys.argv[1], "compile_commands.json"))):
    if "/libsmarthost-" in "/" + e["output"] and ".so" in e["output"]:
        print(e["output"].split(".p/")[0]); break' "$build")
    ninja -C "$build" "$lib_target" >/dev/null
    gen=$build/libsmarthost
    includes=(-I"$build" -I"$gen" -I"$root/libsmarthost" -I"$root/backends" -I"$root/backends/postfix"
              -I"$build/backends/smartermail" -I"$root/backends/smartermail"
              -I"$build/backends/mailenable" -I"$root/backends/mailenable")
    for inc in $(grep -o '#include "[^"]*\.c"' "$here/fuzz-$target.c" | sed 's/.*"\(.*\)"/\1/'); do
      for i in "${!lib_sources[@]}"; do
        [ "$(basename "${lib_sources[$i]}")" = "$inc" ] && unset 'lib_sources[i]'
      done
    done
    lib_sources=("${lib_sources[@]}")
    common+=(-DSMARTHOST_COMPILATION '-DG_LOG_DOMAIN="Smarthost"'
             -DGLIB_VERSION_MIN_REQUIRED=GLIB_VERSION_2_74 -DGLIB_VERSION_MAX_ALLOWED=GLIB_VERSION_2_74
             -DG_LOG_USE_STRUCTURED)
    ;;
esac

# shellcheck disable=SC2046,SC2086
cflags=("${common[@]}" "${includes[@]}" $(pkg-config --cflags "${packages[@]}") ${FUZZ_EXTRA_CFLAGS:-})
# shellcheck disable=SC2046
libs=($(pkg-config --libs "${packages[@]}") -lm)

# Library objects: instrumented for the fuzzer (-fsanitize=fuzzer-no-link),
# cached; an object's name has a hash of its source, of every header and
# of the flags, so that targets share them and edits rebuild them.
headers_key=$( { printf '%s\n' "$cc" "${cflags[@]}" "${sanitize[@]}";
                 cat "$root"/libsmarthost/*.h "$root"/backends/*.h "$root"/backends/postfix/*.h \
                     "$root"/backends/smartermail/*.h "$root"/backends/mailenable/*.h 2>/dev/null;
                 if [ -n "${gen:-}" ]; then cat "$gen"/*.h "$build/config.h" 2>/dev/null; fi; } \
               | sha256sum | cut -c1-16)
cache=${FUZZ_CACHE:-${build:+$build/fuzz-cache}}
cache=${cache:-$work/cache}
mkdir -p "$cache"
find "$cache" -name "*.o" -mtime +7 -delete 2>/dev/null || true
objects=()
missing=()
for src in "${lib_sources[@]}"; do
  h=$( { echo "$headers_key"; cat "$src"; } | sha256sum | cut -c1-16)
  obj=$cache/$(basename "$src" .c)-$h.o
  objects+=("$obj")
  [ -f "$obj" ] || missing+=("$src=$obj")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run-fuzz: building ${#missing[@]} library source(s) with $cc"
  export cc
  printf '%s\n' "${missing[@]}" | \
    xargs -P "$jobs" -I{} sh -c 'src=${1%%=*}; obj=${1#*=}; shift;
      "$cc" "$@" -c "$src" -o "$obj.tmp$$" && mv "$obj.tmp$$" "$obj"' \
      sh {} -fsanitize=fuzzer-no-link "${sanitize[@]}" "${cflags[@]}" -w
fi

"$cc" -fsanitize=fuzzer "${sanitize[@]}" "${cflags[@]}" -Wall -Wextra -Wno-unused-parameter \
  -Wno-unused-function -Werror \
  "$here/fuzz-$target.c" "${objects[@]}" "${libs[@]}" -o "$work/fuzz-$target"

mkdir -p "$work/corpus" "$artifacts"
if [ -d "$here/corpus-$target" ]; then
  cp "$here/corpus-$target"/* "$work/corpus/"
fi
dict=()
[ -f "$here/$target.dict" ] && dict=(-dict="$here/$target.dict")
max_len=8192
[ "$target" = diff ] && max_len=16384

echo "run-fuzz: fuzzing $target for ${seconds}s"
status=0
(cd "$work" && \
 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
 ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=32 \
 G_SLICE=always-malloc \
 "$work/fuzz-$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
   -max_len=$max_len "${dict[@]}" -artifact_prefix="$artifacts/" \
   -print_final_stats=1 "$work/corpus" 2>"$work/log") || status=$?
if [ "$status" -ne 0 ]; then
  # The report itself, not only libFuzzer's statistics after it.
  grep -a -m1 -B2 -A30 -E "^==[0-9]+==ERROR|check failed|runtime error|ERROR: libFuzzer" "$work/log" | cut -c1-300 || true
  echo "..."
fi
tail -n 25 "$work/log"
if [ -n "${FUZZ_KEEP:-}" ]; then
  mkdir -p "$FUZZ_KEEP/corpus-$target"
  cp "$work/fuzz-$target" "$FUZZ_KEEP/"
  cp "$work/corpus"/* "$FUZZ_KEEP/corpus-$target/" 2>/dev/null || true
fi
if [ "$status" -ne 0 ]; then
  echo "run-fuzz: the fuzzer found a problem in $target (exit $status); the input is in $artifacts"
  exit 1
fi
grep -q "Done [0-9]* runs" "$work/log" || { echo "run-fuzz: the fuzzer did not run to the end"; exit 1; }
echo "run-fuzz: $target: nothing found"
