#!/bin/bash
# test-probe.sh SMARTHOSTCTL.EXE: the connection check's sockets on Windows
# (Winsock, WSAPoll; smarthost-platform-windows.c): smarthostctl.exe, under
# Wine, checks an aiosmtpd relay on the host's loopback (which Wine
# programs reach), and a port where nothing listens. Prints TAP; exits 77
# without the build machine's aiosmtpd (scripts/setup.sh installs it).
#
# Run by meson test in _build-windows, inside scripts/test-windows.sh's Wine
# prefix (its wineserver is already up).
#
# SPDX-License-Identifier: LGPL-2.1-or-later
set -uo pipefail
exe=$1
python=/usr/bin/python3
if ! "$python" -c 'import aiosmtpd' 2>/dev/null; then
  echo "1..0 # SKIP needs aiosmtpd (python3-aiosmtpd)"
  exit 77
fi
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
closed=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$python" -m aiosmtpd -n -l "127.0.0.1:$port" </dev/null >/dev/null 2>&1 &
relay=$!
trap 'kill $relay 2>/dev/null; wait $relay 2>/dev/null' EXIT
for _ in $(seq 50); do
  "$python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done

status=0
echo "1..2"
out=$(wine "$exe" check 127.0.0.1 --port "$port" --security none 2>&1 </dev/null)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q ': works' && printf '%s' "$out" | grep -q 'Greeting: 220'; then
  echo "ok 1 - check of a relay on the host's loopback: connect, greeting, EHLO, QUIT"
else
  echo "not ok 1 - check of a relay on the host's loopback"
  printf '%s\n' "$out" | sed 's/^/# /'
  status=1
fi
out=$(wine "$exe" check 127.0.0.1 --port "$closed" --security none 2>&1 </dev/null)
if [ $? -eq 1 ] && printf '%s' "$out" | grep -q 'Connection refused' && printf '%s' "$out" | grep -q 'Nothing listens'; then
  echo "ok 2 - a closed port: connection refused, said in words, with what to do"
else
  echo "not ok 2 - a closed port"
  printf '%s\n' "$out" | sed 's/^/# /'
  status=1
fi
exit $status
