# start-fake.sh: sourced, not run. The fake SmarterMail server
# (fake_smartermail.py) for a test script of the build machine, on a port
# of its own choosing, serving HTTPS with a new test CA (certs.py).
#
#   . tests/smartermail/start-fake.sh
#   fake_smartermail_start DIR || fail "$fake_error"
#
# DIR must not exist; it gets the CA and server certificates (certs/), the
# admin's password (admin-password, 0600), the control token and the
# server's output. On success the function sets
#
#   fake_pid            the server's process (fake_smartermail_stop ends it)
#   fake_url            https://127.0.0.1:PORT
#   fake_ca             DIR/certs/ca.pem
#   fake_password_file  DIR/admin-password (the admin is "admin")
#   fake_token          the control token (X-Fake-Control)
#
# and returns 0; it returns 1 with $fake_error set (one line; the
# server's output goes to stderr) when the server could not start, and 77 (fake_error says why) without /usr/bin/python3 or
# openssl. Used by tests/conformance/run.sh and, for the Windows build,
# tests/windows/test-conformance.sh and test-package.sh (Wine programs
# reach the host's loopback).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

fake_pid=

fake_smartermail_start() {
  local dir=$1 here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  fake_error=
  if [ ! -x /usr/bin/python3 ] || ! command -v openssl >/dev/null 2>&1; then
    fake_error="the fake SmarterMail server needs /usr/bin/python3 and openssl"
    return 77
  fi
  mkdir -m 700 "$dir" || { fake_error="cannot make $dir"; return 1; }
  if ! /usr/bin/python3 "$here/certs.py" "$dir/certs" >"$dir/certs.log" 2>&1; then
    cat "$dir/certs.log" >&2
    fake_error="cannot make the fake SmarterMail server's test CA"
    return 1
  fi
  (umask 077 && echo "Adm1n-Fake-$$-pw" >"$dir/admin-password")
  /usr/bin/python3 "$here/fake_smartermail.py" --port 0 --cert "$dir/certs" \
    --mapping "$here/../../backends/smartermail/smartermail-mapping.json" --admin admin \
    --password-file "$dir/admin-password" --control-token-file "$dir/control-token" \
    --ready-file "$dir/ready" </dev/null >"$dir/output.log" 2>&1 &
  fake_pid=$!
  for _ in $(seq 300); do
    [ -s "$dir/ready" ] && break
    if ! kill -0 "$fake_pid" 2>/dev/null; then
      fake_pid=
      cat "$dir/output.log" >&2
      fake_error="the fake SmarterMail server exited"
      return 1
    fi
    sleep 0.1
  done
  if [ ! -s "$dir/ready" ]; then
    fake_smartermail_stop
    cat "$dir/output.log" >&2
    fake_error="the fake SmarterMail server did not start"
    return 1
  fi
  fake_url="https://127.0.0.1:$(cat "$dir/ready")"
  fake_ca=$dir/certs/ca.pem
  fake_password_file=$dir/admin-password
  fake_token=$(cat "$dir/control-token")
  return 0
}

fake_smartermail_stop() {
  if [ -n "$fake_pid" ]; then
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
    fake_pid=
  fi
}
