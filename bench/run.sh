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
#  5. peak RSS of the process of (1), staging included (/usr/bin/time -f %M);
#  6. `smarthostctl apply` of a JSON state of DOMAINS domains (the relays of
#     (1): each domain its own relay, user and password_file) on a fresh
#     directory, whole process, vs. the postmap floor of (1) (the same maps);
#  7. `smarthostctl --dry-run apply` of the same state (the preview of every
#     line of both maps, printed to /dev/null), vs. the same floor;
#  8. peak RSS of the processes of (6) and (7);
#  and, for reference, applying it again with the security of two domains
#  in three changed (STARTTLS and TLS swapped, so ports too) and the
#  passwords kept ("password_set": true, resolved from the maps).
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
ninja -C "$build" bench/bench-commit bench/bench-maincf tools/smarthostctl >/dev/null
bc=$build/bench/bench-commit
bm=$build/bench/bench-maincf
ctl=$build/tools/smarthostctl

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

# 6-8: apply and --dry-run apply of a JSON state, whole processes. The
# relays are those of bench-commit bulk, so the maps are the floor's; the
# passwords come from a file each (0600), as apply reads them.
mkdir -m 700 "$work/pw"
/usr/bin/python3 - "$n" "$work/state.json" "$work/kept.json" "$work/pw" <<'EOF'
import json, os, sys
n, out, kept, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
hosts = ["smtp.sendgrid.net", "smtp.eu.mailgun.org", "in-v3.mailjet.com", "email-smtp.eu-west-1.amazonaws.com"]
def relay(i, variant, password):
    r = {"host": hosts[i % 4], "security": "tls" if (i + variant) % 3 == 0 else "starttls",
         "username": "user%07u@d%07u.example" % (i, i)}
    r.update(password)
    return r
domains, again = {}, {}
for i in range(n):
    path = os.path.join(pw, "d%07u" % i)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"Fake-Bench-Pa55w0rd-%07u\n" % i)
    os.close(fd)
    domains["d%07u.example" % i] = relay(i, 0, {"password_file": path})
    again["d%07u.example" % i] = relay(i, 1, {"password_set": True})
for name, d in ((out, domains), (kept, again)):
    with open(name, "w") as f:
        json.dump({"backend": "postfix", "server": None, "domains": d}, f, indent=2)
EOF
state_mb=$(du -m "$work/state.json" | cut -f1)
apply_times=(); dry_times=(); apply_rss=0; dry_rss=0
for r in 1 2 3; do
  d=$(new_conf apply$r)
  out=$(/usr/bin/time -f 'rss_kb=%M wall=%e' "$ctl" --config-dir "$d" --no-reload apply "$work/state.json" 2>&1 >/dev/null)
  apply_times+=("$(echo "$out" | field wall)")
  rss=$(echo "$out" | field rss_kb)
  [ "$rss" -gt "$apply_rss" ] && apply_rss=$rss
  d=$(new_conf dry$r)
  out=$(/usr/bin/time -f 'rss_kb=%M wall=%e' "$ctl" --config-dir "$d" --no-reload --dry-run apply "$work/state.json" 2>&1 >/dev/null)
  dry_times+=("$(echo "$out" | field wall)")
  rss=$(echo "$out" | field rss_kb)
  [ "$rss" -gt "$dry_rss" ] && dry_rss=$rss
  [ -z "$(ls "$d")" ] || [ "$(ls "$d" | tr '\n' ' ')" = "main.cf master.cf " ] || { echo "run.sh: --dry-run apply changed $d" >&2; exit 1; }
done
# bulk1 had a domain changed by (2): compare with bulk2.
cmp -s "$work/apply1/smarthost/sender_transport" "$work/bulk2/smarthost/sender_transport" &&
  cmp -s "$work/apply1/smarthost/sender_passwd" "$work/bulk2/smarthost/sender_passwd" ||
  { echo "run.sh: apply did not write the maps of the bulk commit" >&2; exit 1; }
apply=$(printf '%s\n' "${apply_times[@]}" | sort -n | sed -n 2p)
dry=$(printf '%s\n' "${dry_times[@]}" | sort -n | sed -n 2p)
out=$(/usr/bin/time -f 'rss_kb=%M wall=%e' "$ctl" --config-dir "$work/apply1" --no-reload apply "$work/kept.json" 2>&1 >/dev/null)
kept=$(echo "$out" | field wall)
kept_rss=$(echo "$out" | field rss_kb)

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
printf '%-58s %8.3fs %8.3fs %7s  %s\n' "6. smarthostctl apply, $n domains from JSON" "$apply" "$floor_postmap" \
  "$(ratio "$apply" "$floor_postmap")" "<= 2x postmap of both maps: $(verdict "$(ratio "$apply" "$floor_postmap")" 2)"
printf '%-58s %8.3fs %8.3fs %7s  %s\n' "7. smarthostctl --dry-run apply, the same" "$dry" "$floor_postmap" \
  "$(ratio "$dry" "$floor_postmap")" "<= 2x postmap of both maps: $(verdict "$(ratio "$dry" "$floor_postmap")" 2)"
printf '%-58s %8.3fs %8.3fs %7s  %s\n' "   apply again, 2/3 of the relays changed, passwords kept" "$kept" "$floor_postmap" \
  "$(ratio "$kept" "$floor_postmap")" "(for reference)"
printf '%-58s %7.1fMB %9s %7s  %s\n' "8. peak RSS, smarthostctl apply" "$(echo "$apply_rss/1024" | bc -l)" "64MB" \
  "$(ratio "$apply_rss" 65536)" "<= 64 MB: $(verdict "$apply_rss" 65536)"
printf '%-58s %7.1fMB %9s %7s  %s\n' "   peak RSS, smarthostctl --dry-run apply" "$(echo "$dry_rss/1024" | bc -l)" "64MB" \
  "$(ratio "$dry_rss" 65536)" "<= 64 MB: $(verdict "$dry_rss" 65536)"
printf '%-58s %7.1fMB %9s %7s  %s\n' "   peak RSS, apply again with passwords kept" "$(echo "$kept_rss/1024" | bc -l)" "" \
  "" "(for reference)"
echo
echo "# staging $n domains (set_domain): ${stage}s; bulk commit runs: ${bulk_times[*]} (median shown)"
echo "# apply runs: ${apply_times[*]}; --dry-run apply runs: ${dry_times[*]} (median shown; whole processes,"
echo "# /usr/bin/time, 10 ms resolution); the state is ${state_mb} MB of JSON"
