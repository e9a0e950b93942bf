#!/usr/bin/python3
# fake_client.py: starts the fake SmarterMail server as a subprocess and
# drives its control interface, for tests
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   with FakeProcess(workdir) as fake:        # HTTPS with a new test CA
#       fake.seed({'gateways': [...], 'domains': ['example.com']})
#       fake.inject(kind='status', status=500, method='POST', endpoint='gateway-create')
#       ... run the client against fake.url, trusting fake.ca_file ...
#       fake.state(); fake.log(); fake.writes()
#
# The process is always stopped: by stop(), on leaving the with block, and
# at exit as a last resort (only processes this module started).

import atexit
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import certs  # noqa: E402

FAKE = os.path.join(HERE, 'fake_smartermail.py')
PYTHON = '/usr/bin/python3'
DEFAULT_MAPPING = os.path.normpath(os.path.join(HERE, '..', '..', 'backends', 'smartermail',
                                                'smartermail-mapping.json'))
CONTROL_PREFIX = '/__fake__/control/'
_live = set()


def _stop_all():
    for fake in list(_live):
        fake.stop()


atexit.register(_stop_all)


class ControlError(RuntimeError):
    pass


class FakeProcess:
    """The fake server in a subprocess of its own. *workdir* receives the
    certificates (unless *cert_dir* is given), the password file, the
    control token and the ready file."""

    def __init__(self, workdir, admin='admin', password='Adm1n-S3cret-pw', plain=False,
                 mapping=DEFAULT_MAPPING, cert_dir=None, token_lifetime=None, extra_args=()):
        self.workdir = workdir
        self.admin = admin
        self.password = password
        self.plain = plain
        self.mapping = mapping
        self.cert_dir = cert_dir or os.path.join(workdir, 'certs')
        self.token_lifetime = token_lifetime
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.password_file = os.path.join(workdir, 'fake-admin-password')
        self.control_token_file = os.path.join(workdir, 'fake-control-token')
        self.ready_file = os.path.join(workdir, 'fake-ready')
        self.output_file = os.path.join(workdir, 'fake-output.log')
        self.ca = None

    # --- process ---------------------------------------------------------

    def start(self, timeout=30):
        os.makedirs(self.workdir, exist_ok=True)
        if not self.plain:
            if os.path.exists(os.path.join(self.cert_dir, 'ca.pem')):
                self.ca = certs.TestCA(self.cert_dir, *[os.path.join(self.cert_dir, n) for n in (
                    'ca.pem', 'ca.key', 'server.pem', 'server.key', 'other-ca.pem')])
            else:
                self.ca = certs.make_test_ca(self.cert_dir)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(self.password + '\n')
        for path in (self.ready_file, self.control_token_file):
            if os.path.exists(path):
                os.unlink(path)
        cmd = [PYTHON, FAKE, '--port', '0', '--mapping', self.mapping, '--admin', self.admin,
               '--password-file', self.password_file, '--control-token-file', self.control_token_file,
               '--ready-file', self.ready_file]
        cmd += ['--plain'] if self.plain else ['--cert', self.cert_dir]
        if self.token_lifetime is not None:
            cmd += ['--token-lifetime', str(self.token_lifetime)]
        cmd += self.extra_args
        self._output = open(self.output_file, 'ab')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._output,
                                     stderr=subprocess.STDOUT)
        _live.add(self)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError('the fake SmarterMail server exited (%d):\n%s'
                                   % (self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('the fake SmarterMail server did not start:\n' + self.output())
            time.sleep(0.05)
        with open(self.ready_file) as f:
            self.port = int(f.read().strip())
        with open(self.control_token_file) as f:
            self.control_token = f.read().strip()
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None:
            self._output.close()
        _live.discard(self)

    def output(self):
        try:
            with open(self.output_file, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- addresses -----------------------------------------------------------

    @property
    def url(self):
        return '%s://127.0.0.1:%d' % ('http' if self.plain else 'https', self.port)

    @property
    def ca_file(self):
        return None if self.plain else self.ca.ca_cert

    def ssl_context(self):
        if self.plain:
            return None
        return ssl.create_default_context(cafile=self.ca.ca_cert)

    # --- control -------------------------------------------------------------

    def control(self, action, body=None, timeout=30):
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.url + CONTROL_PREFIX + action, data=data, method='POST',
                                     headers={'X-Fake-Control': self.control_token,
                                              'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl_context()) as r:
                answer = json.load(r)
        except urllib.error.HTTPError as e:
            raise ControlError('control %s: HTTP %d %s' % (action, e.code, e.read()[:500]))
        return answer['result']

    def seed(self, state, replace=True):
        """Sets the state: {"gateways": [G...], "domains": [NAME or {...}]}."""
        return self.control('seed', {'state': state, 'replace': replace})

    def state(self):
        """The full state, stored gateway passwords included."""
        return self.control('state')

    def inject(self, **fault):
        """Adds a fault (see fake_smartermail.py); returns its id."""
        return self.control('inject', fault)['id']

    def faults(self):
        return self.control('faults')

    def log(self, clear=False):
        return self.control('log', {'clear': clear})

    def clear_log(self):
        self.log(clear=True)

    def reset(self):
        return self.control('reset')

    def configure(self, **options):
        return self.control('configure', options)

    def writes(self, log=None):
        """The requests of the log that change something (not GETs, not
        logins or refreshes): (method, endpoint, path, body) tuples."""
        return [e for e in (log if log is not None else self.log())
                if e['method'] != 'GET' and e['endpoint'] not in ('login', 'refresh')]
