#!/usr/bin/python3
# check-smartermail-example.py: runs a SmarterMail example as a test,
# against the fake SmarterMail web API
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-smartermail-example.py COMMAND [ARG...]
#
# Starts tests/smartermail/fake_smartermail.py (HTTPS, a throwaway CA) with a
# round-robin gateway and a specific-domains gateway assigned to
# example.com, runs COMMAND URL ADMIN PASSWORD-FILE CA-FILE STATE-DIR, and
# passes when the example reads both relays back, prints no password and
# makes no write request. The example's exit status 77 (the library has no
# SmarterMail backend yet) is passed on: meson counts it as skipped.

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'smartermail'))

import fake_client  # noqa: E402

ADMIN_PW = 'Example-Adm1n-pw-c0ffee'
RELAY_PW = 'Fake-Example-Key-c0ffee'
EXPECTED = [
    'server: smtp.sendgrid.net:587 (starttls',
    'user apikey, password set',
    'example.com: smtp.eu.mailgun.org:465 (tls',
    'user postmaster@example.com, password set',
]


def seed(fake):
    common = {'enabled': True, 'enableAuthentication': True, 'spoolCount': 0,
              'createdDate': '2025-01-01T00:00:00Z', 'statistics': {'sent': 0}}
    fake.seed({
        'gateways': [
            dict(common, id='rr-1', address='smtp.sendgrid.net', port=587, encryption='StartTLS',
                 mode='RoundRobin', authUsername='apikey', authPassword=RELAY_PW, description='outbound'),
            dict(common, id='sd-1', address='smtp.eu.mailgun.org', port=465, encryption='SSL',
                 mode='SpecificDomains', authUsername='postmaster@example.com', authPassword=RELAY_PW,
                 description='libsmarthost: example.com'),
        ],
        'domains': [
            {'name': 'example.com', 'domainSettings': {'outboundGatewayId': 'sd-1'}},
            {'name': 'example.org'},
        ],
    })


def main():
    tmp = tempfile.mkdtemp(prefix='smarthost-sm-example-')
    try:
        with fake_client.FakeProcess(os.path.join(tmp, 'fake'), password=ADMIN_PW,
                                     mapping=os.environ.get('SMARTHOST_SMARTERMAIL_MAPPING',
                                                            fake_client.DEFAULT_MAPPING)) as fake:
            seed(fake)
            state_dir = os.path.join(tmp, 'state')
            os.makedirs(state_dir, mode=0o700)
            cmd = sys.argv[1:] + [fake.url, 'admin', fake.password_file, fake.ca_file, state_dir]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True, timeout=60,
                                  env=dict(os.environ, HOME=tmp))
            sys.stdout.write(proc.stdout)
            if proc.returncode == 77:
                return 77
            problems = []
            if proc.returncode != 0:
                problems.append('exit status %d' % proc.returncode)
            for secret in (ADMIN_PW, RELAY_PW):
                if secret in proc.stdout:
                    problems.append('a password was printed')
            problems += ['missing: %r' % text for text in EXPECTED if text not in proc.stdout]
            log = fake.log()
            if fake.writes(log):
                problems.append('the example made write requests: %s' % json.dumps(fake.writes(log)))
            for problem in problems:
                print('check-smartermail-example: ' + problem, file=sys.stderr)
            return 1 if problems else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
