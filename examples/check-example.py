#!/usr/bin/python3
# check-example.py: runs an example as a test, so that the examples never rot
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-example.py COMMAND [ARG...]
#
# Passes when the example succeeds, prints a masked dry-run diff and reads
# both relays back, and never prints the fake API key the examples use.

import subprocess
import sys

API_KEY = 'Fake-Example-Key-c0ffee'
EXPECTED = [
    'Dry run:',
    'smtp.sendgrid.net',
    '********',
    'Committed (changed).',
    'server: smtp.sendgrid.net:587 (starttls, certificate verified), user apikey, password set',
    'example.com: smtp.eu.mailgun.org:465 (tls, certificate verified), '
    'user postmaster@example.com, password set',
]

proc = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                      universal_newlines=True)
sys.stdout.write(proc.stdout)
problems = []
if proc.returncode != 0:
    problems.append('exit status %d' % proc.returncode)
if API_KEY in proc.stdout:
    problems.append('the API key was printed')
problems += ['missing: %r' % text for text in EXPECTED if text not in proc.stdout]
for problem in problems:
    print('check-example: ' + problem, file=sys.stderr)
sys.exit(1 if problems else 0)
