#!/bin/bash
# probe-vs-swaks.sh: how long `smarthostctl check` takes against a local
# STARTTLS relay with AUTH, side by side with swaks doing the same dialogue.
#
#   bench/probe-vs-swaks.sh [RUNS]        (default 30; needs hyperfine, swaks)
#
# One aiosmtpd relay (tests/e2e/harness.py: STARTTLS, AUTH PLAIN/LOGIN, a
# certificate from a test CA made here) listens on 127.0.0.1. Both clients
# then connect, read the greeting, say EHLO, STARTTLS, verify the
# certificate against the test CA, EHLO again, AUTH PLAIN, and QUIT:
#
#   smarthostctl check localhost --port P --ca-file CA --user U --password-file F
#   swaks --server localhost:P -tls --tls-verify --tls-ca-path CA \
#         --auth PLAIN --auth-user U --auth-password PW --quit-after AUTH
#
# swaks takes the password in argv: fine here, it is a fake one. hyperfine
# runs each (--warmup 3, --shell=none) and exports JSON; the script prints
# the ratio of the means (smarthostctl / swaks; below 1 means faster).
#
# Environment: SMARTHOSTCTL (default: _build/tools/smarthostctl, else the
# one on PATH), BENCH_OUT (where the JSON goes; default bench/results).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -euo pipefail

runs=${1:-30}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
python=/usr/bin/python3
ctl=${SMARTHOSTCTL:-$root/_build/tools/smarthostctl}
[ -x "$ctl" ] || ctl=$(command -v smarthostctl || true)
out=${BENCH_OUT:-$here/results}

for tool in hyperfine swaks "$python"; do
  command -v "$tool" >/dev/null || { echo "probe-vs-swaks: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
if [ -z "$ctl" ] || [ ! -x "$ctl" ]; then
  echo "probe-vs-swaks: no smarthostctl: build it, or set SMARTHOSTCTL" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/probe-vs-swaks.XXXXXX")
relay_pid=
cleanup() {
  if [ -n "$relay_pid" ]; then kill "$relay_pid" 2>/dev/null || true; wait "$relay_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

user=benchuser
password=Bench-Fake-Pw-4711
printf '%s\n' "$password" > "$work/password"
chmod 600 "$work/password"

# The relay, started through the test harness; it runs until we kill it.
"$python" - "$root/tests/e2e" "$work" "$user" "$password" > "$work/relay.out" 2>"$work/relay.err" <<'PY' &
import signal, sys, time
sys.path.insert(0, sys.argv[1])
import harness
work, user, password = sys.argv[2:5]
ca = harness.make_ca(work)
cert = harness.make_cert(work, ca)
relay = harness.RelayServer(work, mode="starttls", cert=cert, users={user: password}).start()
signal.signal(signal.SIGTERM, lambda *a: (relay.stop(), sys.exit(0)))
print(relay.port, ca.cert, flush=True)
while True:
    time.sleep(3600)
PY
relay_pid=$!
for _ in $(seq 100); do
  [ -s "$work/relay.out" ] && break
  kill -0 "$relay_pid" 2>/dev/null || { cat "$work/relay.err" >&2; exit 1; }
  sleep 0.1
done
read -r port ca < "$work/relay.out"

export SMARTHOST_POLICY="$root/tests/fixtures/policy-allow-all.ini"
ctl_cmd="$ctl check localhost --port $port --ca-file $ca --user $user --password-file $work/password"
swaks_cmd="swaks --server localhost:$port -tls --tls-verify --tls-ca-path $ca --auth PLAIN --auth-user $user --auth-password $password --quit-after AUTH --hide-all"

# Both must work before they are timed.
$ctl_cmd > "$work/ctl.log" 2>&1 || { echo "probe-vs-swaks: smarthostctl check failed:" >&2; cat "$work/ctl.log" >&2; exit 1; }
$swaks_cmd > "$work/swaks.log" 2>&1 || { echo "probe-vs-swaks: swaks failed:" >&2; $swaks_cmd >&2 || true; exit 1; }

mkdir -p "$out"
json="$out/probe-vs-swaks.json"
hyperfine --shell=none --warmup 3 --runs "$runs" --export-json "$json" \
  -n "smarthostctl check" "$ctl_cmd" \
  -n "swaks --quit-after AUTH" "$swaks_cmd"

"$python" - "$json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
ctl, swaks = r["smarthostctl check"], r["swaks --quit-after AUTH"]
print("smarthostctl check: mean %.1f ms (σ %.1f), median %.1f ms" % (ctl["mean"] * 1e3, ctl["stddev"] * 1e3, ctl["median"] * 1e3))
print("swaks:              mean %.1f ms (σ %.1f), median %.1f ms" % (swaks["mean"] * 1e3, swaks["stddev"] * 1e3, swaks["median"] * 1e3))
print("ratio (smarthostctl mean / swaks mean): %.3f" % (ctl["mean"] / swaks["mean"]))
PY
echo "probe-vs-swaks: results in $json"
