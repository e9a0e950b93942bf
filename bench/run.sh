#!/bin/bash
# run.sh: the commit benchmarks of issue 6, side by side in one run.
#
#   bench/run.sh [BUILD-DIR] [DOMAINS]     (defaults: _build-bench, 100000)
#
# Builds bench/bench-commit and bench/bench-maincf in BUILD-DIR (they are
# not built by default), then, on temporary Postfix configuration
# directories (master.cf.dist, a small main.cf dated 10 s back; reload off,
# no Postfix runs, /etc/postfix is never touched), measures each figure
# next to its floor and prints the ratio:
#
#  1. commit of DOMAINS domain relays in one transaction (each with its
#     own credentials) vs. postmap of the two maps it builds, one after
#     the other (sender_transport and sender_passwd, same files);
#  2. one domain changed with DOMAINS present vs. the same postmaps;
#  3. the main.cf edit of a server-wide change (relayhost,
#     default_transport, relay_transport: parse, edit, write, fsync,
#     rename) vs. `postconf -e` of the same three parameters; the whole
#     server-wide commit (master.cf too, journal, validation) for context;
#  4. the naive way, 1,000 commits of one domain, vs. one commit of 1,000;
#  5. peak RSS of the process of (1), staging included (/usr/bin/time -f %M).
#
# Library figures are timed in-process around the library calls (median
# of several runs where a run can be repeated); the floors are whole
# processes timed by hyperfine (mean), so the floors include a process
# start-up (about 1 ms) that the library figures do not.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/_build-bench}
n=${2:-100000}
postmap=/usr/sbin/postmap
postconf=/usr/sbin/postconf

for tool in hyperfine "$postmap" "$postconf" /usr/bin/time ninja; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done
[ -d "$build" ] || { echo "run.sh: no build directory $build (meson setup $build)" >&2; exit 1; }
ninja -C "$build" bench/bench-commit bench/bench-maincf >/dev/null
bc=$build/bench/bench-commit
bm=$build/bench/bench-maincf

# An empty policy: a policy file on the machine must not change the figures.
export SMARTHOST_POLICY=$root/tests/fixtures/policy-allow-all.ini

work=$(mktemp -d "${TMPDIR:-/tmp}/smarthost-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

new_conf() {
  local d=$work/$1
  rm -rf "$d"
  mkdir -p "$d"
  cp /usr/share/postfix/master.cf.dist "$d/master.cf"
  printf '%s\n' '# A small main.cf for the benchmark.' 'compatibility_level = 3.6' \
    'myhostname = mail.example.org' 'mydestination = $myhostname, localhost' \
    'inet_interfaces = loopback-only' > "$d/main.cf"
  touch -d '-10 seconds' "$d/main.cf" "$d/master.cf"
  echo "$d"
}
field() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p"; }
hmean() { /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["results"][0]["mean"])' "$1"; }
ratio() { /usr/bin/python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
verdict() { /usr/bin/python3 -c 'import sys; print("met" if float(sys.argv[1]) <= float(sys.argv[2]) else "NOT met")' "$1" "$2"; }

echo "# libsmarthost commit benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)"
echo "# build: $build ($(meson introspect "$build" --buildoptions 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' 2>/dev/null || echo '?'))"
echo

# 1 and 5: the bulk commit, three fresh directories; peak RSS of each.
bulk_times=()
rss_max=0
for r in 1 2 3; do
  d=$(new_conf bulk$r)
  out=$(/usr/bin/time -f 'rss_kb=%M' "$bc" bulk "$d" "$n" 2>&1)
  bulk_times+=("$(echo "$out" | field commit)")
  stage=$(echo "$out" | field stage)
  rss=$(echo "$out" | field rss_kb)
  [ "$rss" -gt "$rss_max" ] && rss_max=$rss
done
bulk=$(printf '%s\n' "${bulk_times[@]}" | sort -n | sed -n 2p)
d=$work/bulk1
cp "$d/smarthost/sender_transport" "$work/floor_transport"
cp "$d/smarthost/sender_passwd" "$work/floor_passwd"
hyperfine -N --warmup 1 --runs 10 --export-json "$work/postmap.json" \
  --prepare "rm -f $work/floor_transport.db $work/floor_passwd.db" \
  "bash -c '$postmap -c $d hash:$work/floor_transport && $postmap -c $d hash:$work/floor_passwd'" >/dev/null
floor_postmap=$(hmean "$work/postmap.json")
hyperfine -N --warmup 1 --runs 10 --export-json "$work/postmap1.json" \
  --prepare "rm -f $work/floor_transport.db" "$postmap -c $d hash:$work/floor_transport" >/dev/null
floor_postmap1=$(hmean "$work/postmap1.json")

# 2: one domain changed, with the domains of bulk1 present.
one=$("$bc" one "$work/bulk1" 11 | field median)

# 3: the main.cf edit, and the whole server-wide commit.
d=$(new_conf server)
maincf=$("$bm" "$d" 51 | field median)
hyperfine -N --warmup 3 --runs 50 --export-json "$work/postconf.json" \
  "$postconf -c $d -e relayhost=[smtp.sendgrid.net]:587 default_transport=smarthost-server-starttls relay_transport=smarthost-server-starttls" >/dev/null
floor_postconf=$(hmean "$work/postconf.json")
d=$(new_conf server-commit)
server=$("$bc" server "$d" 11 | field median)

# 4: naive vs bulk for 1,000 domains.
naive=$("$bc" naive "$(new_conf naive)" 1000 | field total)
bulk1k=$("$bc" bulk "$(new_conf bulk1k)" 1000 | field commit)

printf '%-58s %9s %9s %7s  %s\n' "figure" "library" "floor" "ratio" "target"
printf '%-58s %8.3fs %8.3fs %7s  %s\n' "1. commit of $n domains, one transaction" "$bulk" "$floor_postmap" \
  "$(ratio "$bulk" "$floor_postmap")" "<= 1.5x postmap of both maps: $(verdict "$(ratio "$bulk" "$floor_postmap")" 1.5)"
printf '%-58s %8.3fs %8.3fs %7s  %s\n' "2. one domain changed, $n present" "$one" "$floor_postmap" \
  "$(ratio "$one" "$floor_postmap")" "<= 1.5x postmap of both maps: $(verdict "$(ratio "$one" "$floor_postmap")" 1.5)"
printf '%-58s %8.3fs %8.3fs %7s  %s\n' "   (the same against postmap of sender_transport alone)" "$one" "$floor_postmap1" \
  "$(ratio "$one" "$floor_postmap1")" "(for reference)"
printf '%-58s %8.4fs %8.4fs %7s  %s\n' "3. main.cf edit of a server-wide change" "$maincf" "$floor_postconf" \
  "$(ratio "$maincf" "$floor_postconf")" "<= 1x postconf -e: $(verdict "$(ratio "$maincf" "$floor_postconf")" 1)"
printf '%-58s %8.4fs %8.4fs %7s  %s\n' "   whole server-wide commit (master.cf, journal, validation)" "$server" "$floor_postconf" \
  "$(ratio "$server" "$floor_postconf")" "(for reference)"
printf '%-58s %8.3fs %8.3fs %7s  %s\n' "4. naive: 1,000 commits of one domain vs one of 1,000" "$naive" "$bulk1k" \
  "$(ratio "$naive" "$bulk1k")" "(what the bulk path saves)"
printf '%-58s %7.1fMB %9s %7s  %s\n' "5. peak RSS, $n domains staged and committed" "$(echo "$rss_max/1024" | bc -l)" "64MB" \
  "$(ratio "$rss_max" 65536)" "<= 64 MB: $(verdict "$rss_max" 65536)"
echo
echo "# staging $n domains (set_domain): ${stage}s; bulk commit runs: ${bulk_times[*]} (median shown)"
