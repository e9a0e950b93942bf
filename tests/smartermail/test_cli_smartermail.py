#!/usr/bin/python3
# test_cli_smartermail.py: smarthostctl --backend smartermail, end to end,
# against the fake SmarterMail web API
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Each test starts its own fake (tests/smartermail/fake_smartermail.py, as a
# subprocess, HTTPS with a throwaway CA), runs the built smarthostctl
# ($SMARTHOSTCTL) with a private HOME and state directory, and asserts the
# fake's final state and its request log. Written against the CLI contract
# (doc/smarthostctl.1, doc/smartermail.md): until the smartermail backend is
# built, the whole module is skipped (exit status 77 for meson).
#
# Run with /usr/bin/python3.

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_client  # noqa: E402
import fake_smartermail  # noqa: E402

SMARTHOSTCTL = os.environ.get('SMARTHOSTCTL', 'smarthostctl')
MAPPING_FILE = os.environ.get('SMARTHOST_SMARTERMAIL_MAPPING', fake_client.DEFAULT_MAPPING)
M = fake_smartermail.Mapping(MAPPING_FILE)

ADMIN = 'admin'
ADMIN_PW = 'Adm1n-S3cret-pw-7f3a'
RELAY_PW = 'Relay-S3cret-key-9c1e'
OTHER_PW = 'Other-S3cret-key-4b2d'
SECRETS = (ADMIN_PW, RELAY_PW, OTHER_PW)
TIMEOUT = 60

# Every write endpoint sits under this prefix; login and refresh do not.
WRITE_ENDPOINTS = ('gateway-create', 'gateway-update', 'gateway-delete', 'domain-update')
WRITE_GLOB = os.path.commonprefix([M.endpoints[e][1] for e in WRITE_ENDPOINTS]) + '*'

F = M.f
V = M.v


def backend_missing():
    """Why the module cannot run yet, or None."""
    try:
        proc = subprocess.run([SMARTHOSTCTL, '--backend', 'smartermail', 'settings'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=TIMEOUT, env=dict(os.environ, HOME=tempfile.gettempdir()))
    except OSError as e:
        return 'cannot run %s: %s' % (SMARTHOSTCTL, e)
    if proc.returncode != 0 and re.search(r'no backend named|unknown backend', proc.stderr, re.I):
        return ('the smartermail backend is not built yet (smarthostctl --backend smartermail '
                'settings: %s); these tests start running once it is merged' % proc.stderr.strip())
    if proc.returncode != 0:
        return None   # another failure: let the tests show it
    return None


MISSING = backend_missing()


def setUpModule():
    if MISSING:
        raise unittest.SkipTest(MISSING)


def norm_gateway_ref(value):
    return value or ''


def comparable(state):
    """The state with "no gateway" written one way ("" and null are the same)."""
    state = json.loads(json.dumps(state))
    for d in state['domains']:
        s = d[F('domain-settings')]
        s[F('domain-gateway')] = norm_gateway_ref(s.get(F('domain-gateway')))
    return state


def gateway(gid, address, port=587, encryption=None, mode=None, auth=True, user='apikey',
            password=RELAY_PW, description='hand-made', **extra):
    g = {F('gateway-id'): gid, F('gateway-address'): address, F('gateway-port'): port,
         F('gateway-encryption'): encryption or V('encryption-starttls'),
         F('gateway-enabled'): True, F('gateway-mode'): mode or V('mode-round-robin'),
         F('gateway-auth'): auth, F('gateway-username'): user if auth else '',
         F('gateway-description'): description,
         'spoolCount': 3, 'createdDate': '2024-05-01T08:00:00Z',
         'statistics': {'sent': 1200, 'failed': 2, 'lastError': None},
         'futureSetting': {'nested': [1, 2, 3], 'flag': True}}
    if auth:
        g[F('gateway-password')] = password
    g.update(extra)
    return g


def domain(name, gateway_id='', **settings):
    s = fake_smartermail.default_domain_settings(name)
    s[F('domain-gateway')] = gateway_id
    s['unknownToLibsmarthost'] = {'keep': name, 'list': ['a', 'b']}
    s.update(settings)
    return {F('domain-name'): name, 'aliasCount': 1, 'isPrimary': False,
            F('domain-settings'): s}


class SmarterMailCLITest(unittest.TestCase):
    token_lifetime = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='smarthost-sm-cli-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = os.path.join(self.tmp, 'home')
        self.state_dir = os.path.join(self.tmp, 'state')
        os.makedirs(self.home, mode=0o700)
        os.makedirs(self.state_dir, mode=0o700)
        self.fake = fake_client.FakeProcess(os.path.join(self.tmp, 'fake'), admin=ADMIN, password=ADMIN_PW,
                                            token_lifetime=self.token_lifetime, mapping=MAPPING_FILE)
        self.fake.start()
        self.addCleanup(self.fake.stop)
        self.admin_pw_file = self.write_file('admin-pw', ADMIN_PW + '\n')
        self.relay_pw_file = self.write_file('relay-pw', RELAY_PW + '\n')
        self.other_pw_file = self.write_file('other-pw', OTHER_PW + '\n')

    # --- helpers -----------------------------------------------------------

    def write_file(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        return path

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy')}
        env.update(HOME=self.home, XDG_STATE_HOME=os.path.join(self.home, '.local', 'state'),
                   XDG_CONFIG_HOME=os.path.join(self.home, '.config'),
                   XDG_CACHE_HOME=os.path.join(self.home, '.cache'), LC_ALL='C.UTF-8')
        return env

    def argv(self, *args, url=None, ca=True, options=(), admin_pw=True, json_out=False, dry_run=False):
        argv = [SMARTHOSTCTL, '--backend', 'smartermail',
                '--option', 'url=' + (url or self.fake.url),
                '--option', 'admin=' + ADMIN,
                '--option', 'state-directory=' + self.state_dir]
        if admin_pw is True:
            argv += ['--option', 'admin-password-file=' + self.admin_pw_file]
        elif admin_pw:
            argv += ['--option', 'admin-password-file=' + admin_pw]
        if ca is True:
            argv += ['--option', 'ca-file=' + self.fake.ca_file]
        elif ca:
            argv += ['--option', 'ca-file=' + ca]
        for option in options:
            argv += ['--option', option]
        if json_out:
            argv.append('--json')
        if dry_run:
            argv.append('--dry-run')
        return argv + list(args)

    def run_ctl(self, *args, stdin=None, timeout=TIMEOUT, **kw):
        proc = subprocess.run(self.argv(*args, **kw), input=stdin, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout,
                              env=self.env())
        self.assert_no_secret(proc.stdout + proc.stderr)
        return proc

    def run_measured(self, *args, timeout=TIMEOUT, **kw):
        """run_ctl that also returns the child's peak RSS in KiB (os.wait4)."""
        p = subprocess.Popen(self.argv(*args, **kw), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, env=self.env())
        out = {}
        readers = [threading.Thread(target=lambda n, s: out.__setitem__(n, s.read()), args=(n, s))
                   for n, s in (('stdout', p.stdout), ('stderr', p.stderr))]
        for t in readers:
            t.start()
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, usage = os.wait4(p.pid, 0)
                self.fail('%s did not end within %d s' % (' '.join(args), timeout))
            time.sleep(0.05)
        p.returncode = os.waitstatus_to_exitcode(status)
        for t in readers:
            t.join(10)
        p.stdout.close()
        p.stderr.close()
        proc = subprocess.CompletedProcess(p.args, p.returncode, out.get('stdout', ''), out.get('stderr', ''))
        self.assert_no_secret(proc.stdout + proc.stderr)
        return proc, usage.ru_maxrss

    def assert_no_secret(self, text):
        for secret in SECRETS:
            self.assertNotIn(secret, text, 'a password was printed')

    def assert_rc(self, proc, rc):
        self.assertEqual(proc.returncode, rc, 'exit %d, expected %d\nstdout: %s\nstderr: %s'
                         % (proc.returncode, rc, proc.stdout, proc.stderr))

    def set_server(self, host='smtp.sendgrid.net', *extra, password=RELAY_PW, **kw):
        args = ['set-server', host, '--port', '587', '--security', 'starttls', '--user', 'apikey']
        args += list(extra)
        if password:
            args.append('--password-stdin')
        return self.run_ctl(*args, stdin=(password + '\n') if password else None, **kw)

    def set_domain(self, name, host='smtp.eu.mailgun.org', user='postmaster@shop.example',
                   password=OTHER_PW, *extra, **kw):
        args = ['set-domain', name, host, '--security', 'tls', '--user', user, '--password-stdin']
        return self.run_ctl(*(args + list(extra)), stdin=password + '\n', **kw)

    def writes(self, log=None):
        return self.fake.writes(log)

    def gateways(self):
        return self.fake.state()['gateways']

    def settings_of(self, name, state=None):
        for d in (state or self.fake.state())['domains']:
            if d[F('domain-name')] == name:
                return d[F('domain-settings')]
        raise KeyError(name)

    def gateway_of(self, name, state=None):
        return norm_gateway_ref(self.settings_of(name, state).get(F('domain-gateway')))

    def assert_log_clean(self, log):
        text = json.dumps(log)
        self.assert_no_secret(text)

    def apply_file(self, state):
        return self.write_file('apply-%d.json' % time.monotonic_ns(), json.dumps(state))

    def assert_round_robin(self, g, host='smtp.sendgrid.net', port=587, encryption=None,
                           user='apikey', password=RELAY_PW):
        self.assertEqual(g[F('gateway-address')], host)
        self.assertEqual(g[F('gateway-port')], port)
        self.assertEqual(g[F('gateway-encryption')], encryption or V('encryption-starttls'))
        self.assertEqual(g[F('gateway-mode')], V('mode-round-robin'))
        self.assertIs(g[F('gateway-enabled')], True)
        self.assertIs(g[F('gateway-auth')], True)
        self.assertEqual(g[F('gateway-username')], user)
        self.assertEqual(g[F('gateway-password')], password)


class TestChanges(SmarterMailCLITest):
    def setUp(self):
        super().setUp()
        self.fake.seed({'domains': [domain('a.example'), domain('b.example'), domain('c.example')]})

    def test_set_server_creates_one_round_robin_gateway(self):
        proc = self.set_server()
        self.assert_rc(proc, 0)
        gws = self.gateways()
        self.assertEqual(len(gws), 1)
        self.assert_round_robin(gws[0])
        log = self.fake.log()
        self.assertEqual([w['endpoint'] for w in self.writes(log)], ['gateway-create'])
        self.assertEqual(self.writes(log)[0]['body'][F('gateway')][F('gateway-password')], '********')
        self.assert_log_clean(log)
        # Domains untouched.
        for name in ('a.example', 'b.example', 'c.example'):
            self.assertEqual(self.gateway_of(name), '')

        # status reads it back, without the password.
        proc = self.run_ctl('status', json_out=True)
        self.assert_rc(proc, 0)
        status = json.loads(proc.stdout)
        self.assertEqual(status['server']['host'], 'smtp.sendgrid.net')
        self.assertEqual(status['server']['port'], 587)
        self.assertEqual(status['server']['security'], 'starttls')
        self.assertEqual(status['server']['username'], 'apikey')
        self.assertIs(status['server']['password_set'], True)
        self.assertEqual(status['domains'], {})

    def test_security_values(self):
        self.assert_rc(self.run_ctl('set-server', 'smtp.example.net', '--security', 'tls', '--user', 'u',
                                    '--password-stdin', stdin=RELAY_PW + '\n'), 0)
        g = self.gateways()[0]
        self.assertEqual((g[F('gateway-encryption')], g[F('gateway-port')]), (V('encryption-tls'), 465))
        self.assert_rc(self.run_ctl('set-server', 'smtp.example.net', '--security', 'none', '--port', '25'), 0)
        gws = self.gateways()
        self.assertEqual(len(gws), 1)
        self.assertEqual(gws[0][F('gateway-id')], g[F('gateway-id')])      # updated in place
        self.assertEqual(gws[0][F('gateway-encryption')], V('encryption-none'))
        self.assertIs(gws[0][F('gateway-auth')], False)

    def test_second_identical_set_server_writes_nothing(self):
        self.assert_rc(self.set_server(), 0)
        before = self.fake.state()
        self.fake.clear_log()
        proc = self.set_server(json_out=True)
        self.assert_rc(proc, 0)
        self.assertIs(json.loads(proc.stdout)['changed'], False)
        self.assertEqual(self.writes(), [])
        self.assertEqual(self.fake.state(), before)

    def test_set_domain_two_domains_share_one_gateway(self):
        self.assert_rc(self.set_domain('a.example'), 0)
        self.assert_rc(self.set_domain('b.example'), 0)
        gws = self.gateways()
        self.assertEqual(len(gws), 1, gws)
        g = gws[0]
        self.assertEqual(g[F('gateway-mode')], V('mode-specific-domains'))
        self.assertEqual(g[F('gateway-address')], 'smtp.eu.mailgun.org')
        self.assertEqual(g[F('gateway-port')], 465)
        self.assertEqual(g[F('gateway-encryption')], V('encryption-tls'))
        self.assertEqual(g[F('gateway-username')], 'postmaster@shop.example')
        self.assertEqual(g[F('gateway-password')], OTHER_PW)
        self.assertTrue(g[F('gateway-description')].startswith('libsmarthost'))
        gid = g[F('gateway-id')]
        self.assertEqual(self.gateway_of('a.example'), gid)
        self.assertEqual(self.gateway_of('b.example'), gid)
        self.assertEqual(self.gateway_of('c.example'), '')

        proc = self.run_ctl('list-domains')
        self.assert_rc(proc, 0)
        self.assertEqual(proc.stdout.split(), ['a.example', 'b.example'])
        status = json.loads(self.run_ctl('status', json_out=True).stdout)
        self.assertIsNone(status['server'])
        self.assertEqual(sorted(status['domains']), ['a.example', 'b.example'])
        self.assertEqual(status['domains']['a.example']['security'], 'tls')

    def test_different_credentials_get_different_gateways(self):
        self.assert_rc(self.set_domain('a.example'), 0)
        self.assert_rc(self.set_domain('b.example', user='postmaster@b.example', password=RELAY_PW), 0)
        gws = self.gateways()
        self.assertEqual(len(gws), 2)
        self.assertNotEqual(self.gateway_of('a.example'), self.gateway_of('b.example'))

    def test_unset_domain_unassigns_then_deletes_unused_gateway(self):
        self.assert_rc(self.set_domain('a.example'), 0)
        self.assert_rc(self.set_domain('b.example'), 0)
        gid = self.gateway_of('a.example')
        self.fake.clear_log()
        self.assert_rc(self.run_ctl('unset-domain', 'a.example'), 0)
        self.assertEqual(self.gateway_of('a.example'), '')
        self.assertEqual([g[F('gateway-id')] for g in self.gateways()], [gid])
        self.assertEqual([(w['endpoint'], w['path']) for w in self.writes()],
                         [('domain-update', M.path_of('domain-update', domain='a.example'))])
        self.fake.clear_log()
        self.assert_rc(self.run_ctl('unset-domain', 'b.example'), 0)
        self.assertEqual(self.gateway_of('b.example'), '')
        self.assertEqual(self.gateways(), [])
        self.assertEqual([w['endpoint'] for w in self.writes()], ['domain-update', 'gateway-delete'])

    def test_hand_made_specific_gateway_is_never_deleted(self):
        self.fake.seed({'gateways': [gateway('hand-1', 'relay.example.org', mode=V('mode-specific-domains'))],
                        'domains': [domain('a.example', 'hand-1')]})
        proc = self.run_ctl('status', json_out=True)
        self.assert_rc(proc, 0)
        self.assertEqual(json.loads(proc.stdout)['domains']['a.example']['host'], 'relay.example.org')
        self.assert_rc(self.run_ctl('unset-domain', 'a.example'), 0)
        self.assertEqual(self.gateway_of('a.example'), '')
        self.assertEqual([g[F('gateway-id')] for g in self.gateways()], ['hand-1'])

    def test_unset_server(self):
        self.assert_rc(self.set_server(), 0)
        self.fake.clear_log()
        self.assert_rc(self.run_ctl('unset-server'), 0)
        self.assertEqual(self.gateways(), [])
        self.assertEqual([w['endpoint'] for w in self.writes()], ['gateway-delete'])
        self.fake.clear_log()
        proc = self.run_ctl('unset-server', json_out=True)
        self.assert_rc(proc, 0)
        self.assertIs(json.loads(proc.stdout)['changed'], False)
        self.assertEqual(self.writes(), [])

    def test_two_round_robin_gateways_conflict(self):
        self.fake.seed({'gateways': [gateway('rr-1', 'one.example.net'), gateway('rr-2', 'two.example.net')],
                        'domains': [domain('a.example')]})
        before = self.fake.state()
        proc = self.set_server()
        self.assert_rc(proc, 1)
        self.assertIn('rr-1', proc.stderr + proc.stdout)
        self.assertIn('rr-2', proc.stderr + proc.stdout)
        self.assertEqual(self.writes(), [])
        self.assertEqual(self.fake.state(), before)

    def test_unknown_fields_survive_every_update(self):
        rr = gateway('rr-hand', 'old.example.net', port=2525, password='old-hand-pw')
        self.fake.seed({'gateways': [rr], 'domains': [domain('a.example'), domain('b.example')]})
        before = self.fake.state()

        # The hand-made round-robin gateway is updated in place.
        self.assert_rc(self.set_server(), 0)
        gws = self.gateways()
        self.assertEqual(len(gws), 1)
        g = gws[0]
        self.assertEqual(g[F('gateway-id')], 'rr-hand')
        self.assert_round_robin(g)
        for key in ('spoolCount', 'createdDate', 'statistics', 'futureSetting'):
            self.assertEqual(g[key], rr[key], key)
        update = [w for w in self.writes() if w['endpoint'] == 'gateway-update']
        self.assertEqual(len(update), 1)

        # Domain settings keep every field but the gateway's.
        self.assert_rc(self.set_domain('a.example'), 0)
        self.assert_rc(self.set_domain('b.example'), 0)
        sd = [g for g in self.gateways() if g[F('gateway-mode')] == V('mode-specific-domains')]
        self.assertEqual(len(sd), 1)
        self.assert_rc(self.set_domain('a.example', user='postmaster@a.example', password=RELAY_PW), 0)
        self.assert_rc(self.set_server('smtp2.sendgrid.net'), 0)
        after = self.fake.state()
        for name in ('a.example', 'b.example'):
            old = dict(self.settings_of(name, before))
            new = dict(self.settings_of(name, after))
            old.pop(F('domain-gateway'))
            new.pop(F('domain-gateway'))
            self.assertEqual(new, old, name)
        # The shared gateway, updated or not, kept the server's own fields.
        for g in self.gateways():
            for key in ('spoolCount', 'createdDate', 'statistics'):
                self.assertIn(key, g)
        rr_now = [g for g in self.gateways() if g[F('gateway-id')] == 'rr-hand'][0]
        self.assertEqual(rr_now['futureSetting'], rr['futureSetting'])
        self.assertEqual(rr_now[F('gateway-address')], 'smtp2.sendgrid.net')

        self.assert_rc(self.run_ctl('unset-domain', 'b.example'), 0)
        self.assertEqual(self.settings_of('b.example')['unknownToLibsmarthost'],
                         self.settings_of('b.example', before)['unknownToLibsmarthost'])

    def test_dry_run_lists_requests_and_writes_nothing(self):
        before = self.fake.state()
        self.fake.clear_log()
        proc = self.set_server(dry_run=True)
        self.assert_rc(proc, 0)
        self.assertIn('********', proc.stdout)
        self.assertIn(M.path_of('gateway-create'), proc.stdout)
        self.assertIn('POST', proc.stdout)
        proc = self.set_domain('a.example', dry_run=True, json_out=True)
        self.assert_rc(proc, 0)
        answer = json.loads(proc.stdout)
        self.assertIs(answer['dry_run'], True)
        self.assertIn(M.path_of('domain-update', domain='a.example'), answer['preview'])
        log = self.fake.log()
        self.assertEqual(self.writes(log), [])
        self.assertTrue(all(e['method'] == 'GET' or e['endpoint'] in ('login', 'refresh') for e in log))
        self.assertEqual(self.fake.state(), before)


class TestAllOrNothing(SmarterMailCLITest):
    """Failures of one request in a commit of several."""

    def seed_initial(self):
        # c.example uses a gateway libsmarthost made, without authentication
        # (so that deleting it could be undone): the commit below removes it.
        old = gateway('old-sd', 'old.example.net', mode=V('mode-specific-domains'), auth=False,
                      description='libsmarthost: c.example')
        self.fake.reset()
        self.fake.seed({'gateways': [old],
                        'domains': [domain('a.example'), domain('b.example'), domain('c.example', 'old-sd')]})
        return self.fake.state()

    def desired_file(self):
        relay = {'host': 'smtp.eu.mailgun.org', 'port': 465, 'security': 'tls',
                 'username': 'postmaster@shop.example', 'password_file': self.other_pw_file}
        return self.apply_file({
            'server': {'host': 'smtp.sendgrid.net', 'port': 587, 'security': 'starttls',
                       'username': 'apikey', 'password_file': self.relay_pw_file},
            'domains': {'a.example': relay, 'b.example': relay}})

    def target(self, entry):
        """What a write request acts on: a domain, or a gateway id."""
        if entry['endpoint'] == 'domain-update':
            return ('domain', entry['path'])
        if entry['endpoint'] == 'gateway-create':
            return ('gateway', entry.get('created_id'))
        return ('gateway', entry['path'].rstrip('/').rsplit('/', 1)[-1])

    def test_clean_commit(self):
        initial = self.seed_initial()
        self.assert_rc(self.run_ctl('apply', self.desired_file()), 0)
        state = self.fake.state()
        self.assertEqual(len(state['gateways']), 2)
        self.assertEqual(self.gateway_of('c.example', state), '')
        self.assertEqual(self.gateway_of('a.example', state), self.gateway_of('b.example', state))
        self.assertNotEqual(initial, state)
        writes = self.writes()
        # Deletions come last: a deleted gateway cannot always be put back.
        deletes = [i for i, w in enumerate(writes) if w['endpoint'] == 'gateway-delete']
        self.assertEqual(deletes, [len(writes) - 1])

    def test_failure_of_each_write_undoes_the_others(self):
        failures = 0
        for n in range(1, 21):
            initial = self.seed_initial()
            self.fake.inject(kind='status', status=500, method='POST', path=WRITE_GLOB, nth=n)
            proc = self.run_ctl('apply', self.desired_file())
            log = self.fake.log()
            if proc.returncode == 0:
                # Every write went through: n - 1 of them.
                self.assertEqual(len(self.writes(log)), n - 1)
                self.assertEqual(len(self.fake.state()['gateways']), 2)
                break
            failures += 1
            self.assert_rc(proc, 1)
            failed = [e for e in log if e['fault']]
            self.assertEqual(len(failed), 1, log)
            failed = failed[0]
            self.assertIn(failed['path'], proc.stderr, 'the error names the failing request')
            self.assertIn('500', proc.stderr)
            self.assertEqual(comparable(self.fake.state()), comparable(initial),
                             'write %d failed: the state is not as before' % n)
            # The requests made before the failure are undone in reverse order.
            writes = self.writes(log)
            i = writes.index(failed)
            done, undo = writes[:i], writes[i + 1:]
            self.assertEqual([self.target(u) for u in undo], [self.target(d) for d in reversed(done)],
                             'write %d failed: undo order' % n)
            self.assert_log_clean(log)
        else:
            self.fail('the commit never succeeded')
        self.assertGreaterEqual(failures, 4)

    def test_failure_answered_with_success_false(self):
        initial = self.seed_initial()
        self.fake.inject(kind='failure', message='Gateway limit reached', method='POST', path=WRITE_GLOB, nth=2)
        proc = self.run_ctl('apply', self.desired_file())
        self.assert_rc(proc, 1)
        self.assertIn('Gateway limit reached', proc.stderr)
        self.assertEqual(comparable(self.fake.state()), comparable(initial))

    def test_failed_undo_is_partial_and_status_finishes_it(self):
        initial = self.seed_initial()
        self.assert_rc(self.run_ctl('status'), 0)
        # The journal is the .smarthost-journal* files; the state directory
        # also holds files that stay (the gateways' password verifiers).
        files_clean = self.journal_files()
        self.assertFalse(files_clean, 'no journal before the commit')
        # Learn the order of the writes from a commit that works...
        self.assert_rc(self.run_ctl('apply', self.desired_file()), 0)
        order = self.writes()
        domain_writes = [i for i, w in enumerate(order) if w['endpoint'] == 'domain-update']
        self.assertGreaterEqual(len(domain_writes), 2)
        # ...then fail the write after the first assignment, and the undo of that assignment.
        first = order[domain_writes[0]]
        initial = self.seed_initial()
        self.fake.inject(kind='status', status=500, method='POST', path=WRITE_GLOB, nth=domain_writes[0] + 2)
        self.fake.inject(kind='status', status=503, method='POST', path=first['path'], nth=2)
        proc = self.run_ctl('apply', self.desired_file())
        self.assert_rc(proc, 4)
        self.assertIn(first['path'], proc.stderr, 'the message lists what is left')
        self.assertNotEqual(comparable(self.fake.state()), comparable(initial))
        journal = self.journal_files() - files_clean
        self.assertTrue(journal, 'the journal is kept in the state directory')

        # The next command that reads finishes the undo.
        proc = self.run_ctl('status')
        self.assert_rc(proc, 0)
        self.assertEqual(comparable(self.fake.state()), comparable(initial))
        self.assertFalse(self.journal_files(), 'the journal is gone')

    def journal_files(self):
        return {f for f in os.listdir(self.state_dir) if f.startswith('.smarthost-journal')}

    def test_undo_of_deleted_gateway_with_password_is_partial(self):
        # A gateway with authentication cannot be recreated with its
        # password: if a deletion had to be undone the result is PARTIAL.
        # The backend makes deletions last, so a failure before it is clean.
        self.fake.seed({'gateways': [gateway('old-sd', 'old.example.net', mode=V('mode-specific-domains'),
                                             description='libsmarthost: c.example', password='old-pw')],
                        'domains': [domain('c.example', 'old-sd'), domain('a.example')]})
        initial = self.fake.state()
        self.fake.inject(kind='status', status=500, method='POST', path=WRITE_GLOB + 'delete*')
        proc = self.run_ctl('unset-domain', 'c.example')
        self.assert_rc(proc, 1)
        self.assertEqual(comparable(self.fake.state()), comparable(initial))


class TestTokens(SmarterMailCLITest):
    token_lifetime = 1

    def test_token_expiry_mid_commit_is_refreshed(self):
        self.fake.seed({'domains': [domain('a.example'), domain('b.example')]})
        self.fake.configure(latency=0.4)
        relay = {'host': 'smtp.eu.mailgun.org', 'port': 465, 'security': 'tls',
                 'username': 'postmaster@shop.example', 'password_file': self.other_pw_file}
        path = self.apply_file({'server': {'host': 'smtp.sendgrid.net', 'port': 587, 'security': 'starttls',
                                           'username': 'apikey', 'password_file': self.relay_pw_file},
                                'domains': {'a.example': relay, 'b.example': relay}})
        proc = self.run_ctl('apply', path, timeout=120)
        self.assert_rc(proc, 0)
        log = self.fake.log()
        self.assertTrue([e for e in log if e['auth'] == 'expired'], 'no token expired: the test proves nothing')
        renewed = [e for e in log if e['endpoint'] in ('refresh', 'login') and e['status'] == 200]
        self.assertGreaterEqual(len(renewed), 2, 'the token was renewed')
        state = self.fake.state()
        self.assertEqual(len(state['gateways']), 2)    # each create applied once
        self.assertEqual(self.gateway_of('a.example', state), self.gateway_of('b.example', state))
        self.assertNotEqual(self.gateway_of('a.example', state), '')

    def test_401_after_refresh_fails(self):
        self.fake.configure(token_lifetime=600)
        self.fake.seed({'domains': [domain('a.example')]})
        before = self.fake.state()
        self.fake.inject(kind='unauthorized', method='POST', endpoint='gateway-create', times=0)
        proc = self.set_server()
        self.assert_rc(proc, 1)
        self.assertEqual(self.fake.state(), before)
        log = self.fake.log()
        creates = [e for e in log if e['endpoint'] == 'gateway-create']
        self.assertEqual(len(creates), 2, 'the request is repeated once after a new token, not more')
        self.assertTrue([e for e in log if e['endpoint'] in ('refresh', 'login')
                         and e['seq'] > creates[0]['seq']])
        self.assertRegex(proc.stderr, r'401|[Aa]uthori[sz]|token|log ?in')


class TestConnection(SmarterMailCLITest):
    def test_wrong_admin_password(self):
        wrong = 'Wrong-Adm1n-pw-5e8f'
        pw = self.write_file('wrong-admin-pw', wrong + '\n')
        proc = self.run_ctl('status', admin_pw=pw)
        self.assert_rc(proc, 1)
        self.assertIn(ADMIN, proc.stderr)
        self.assertNotIn(wrong, proc.stdout + proc.stderr)
        self.assertEqual([e['endpoint'] for e in self.fake.log()], ['login'])

    def test_server_unreachable(self):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        start = time.monotonic()
        proc = self.run_ctl('status', url='https://127.0.0.1:%d' % port)
        self.assert_rc(proc, 1)
        self.assertLess(time.monotonic() - start, 20)
        self.assertIn(str(port), proc.stderr, 'the message names the server')

    def test_slow_reply_times_out(self):
        self.fake.inject(kind='slow', delay=30, endpoint='login')
        start = time.monotonic()
        proc = self.run_ctl('status', options=['timeout=2'])
        elapsed = time.monotonic() - start
        self.assert_rc(proc, 1)
        self.assertLess(elapsed, 10, 'the timeout setting is obeyed')
        self.assertRegex(proc.stderr, r'(?i)time|seconds')

    def test_slow_write_times_out_and_changes_nothing(self):
        self.fake.seed({'domains': [domain('a.example')]})
        before = self.fake.state()
        self.fake.inject(kind='slow', delay=20, apply=False, endpoint='gateway-create')
        start = time.monotonic()
        proc = self.set_server(options=['timeout=2'])
        self.assert_rc(proc, 1)
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(self.fake.state(), before)

    def test_oversized_reply_bounded_memory(self):
        self.fake.inject(kind='oversized', endpoint='gateways')
        proc, maxrss_kib = self.run_measured('status')
        self.assert_rc(proc, 1)
        self.assertLess(maxrss_kib, 56 * 1024, 'smarthostctl held the 64 MiB reply (peak RSS %d KiB)' % maxrss_kib)
        self.fake.inject(kind='oversized', endpoint='gateways', length=False)
        proc, maxrss_kib = self.run_measured('status')
        self.assert_rc(proc, 1)
        self.assertLess(maxrss_kib, 56 * 1024)

    def test_malformed_json(self):
        self.fake.inject(kind='malformed', endpoint='gateways')
        proc = self.run_ctl('status')
        self.assert_rc(proc, 1)
        self.assertIn('JSON', proc.stderr)
        self.fake.inject(kind='malformed', endpoint='gateway-create')
        proc = self.set_server()
        self.assert_rc(proc, 1)
        self.assertEqual(self.gateways(), [])

    def test_closed_mid_reply(self):
        self.fake.inject(kind='close', endpoint='gateways')
        self.assert_rc(self.run_ctl('status'), 1)

    def test_success_but_not_applied(self):
        self.fake.seed({'domains': [domain('a.example')]})
        self.fake.inject(kind='noop', endpoint='domain-update')
        proc = self.set_domain('a.example')
        if proc.returncode == 0 and self.gateway_of('a.example') == '':
            self.skipTest('TODO: the backend does not re-read after a commit, so "success: true" '
                          'without effect goes unnoticed (doc/smartermail.md does not promise it)')
        self.assert_rc(proc, 1)

    def test_untrusted_certificate(self):
        proc = self.run_ctl('status', ca=False)
        self.assert_rc(proc, 1)
        self.assertRegex(proc.stderr, r'(?i)certificate|TLS')
        proc = self.run_ctl('status', ca=self.fake.ca.other_ca_cert)
        self.assert_rc(proc, 1)
        self.assertRegex(proc.stderr, r'(?i)certificate|TLS')
        self.assertEqual(self.fake.log(), [], 'nothing was sent over an untrusted connection')

    def test_insecure_works_and_says_so(self):
        self.fake.seed({'domains': [domain('a.example')]})
        for json_out in (False, True):
            proc = self.run_ctl('status', ca=False, options=['insecure=true'], json_out=json_out)
            self.assert_rc(proc, 0)
            self.assertRegex(proc.stderr, r'(?i)insecure|not verified|no verification')
        proc = self.set_server(ca=False, options=['insecure=true'])
        self.assert_rc(proc, 0)
        self.assertRegex(proc.stderr, r'(?i)insecure|not verified|no verification')


class TestRefusals(SmarterMailCLITest):
    def setUp(self):
        super().setUp()
        self.fake.seed({'domains': [domain('a.example')]})
        self.before = self.fake.state()

    def test_unsupported_relay_settings(self):
        ca = self.fake.ca_file
        for extra, word in ((['--ca-file', ca], r'(?i)CA|certificate authorit'),
                            (['--no-verify-certificate'], r'(?i)verif'),
                            (['--mx-lookup'], r'(?i)MX')):
            for command in (['set-server', 'smtp.sendgrid.net'], ['set-domain', 'a.example', 'smtp.sendgrid.net']):
                proc = self.run_ctl(*(command + ['--user', 'apikey', '--password-stdin'] + extra),
                                    stdin=RELAY_PW + '\n')
                self.assertIn(proc.returncode, (1, 2), proc.stderr)
                self.assertRegex(proc.stderr, word)
                self.assertRegex(proc.stderr, r'(?i)SmarterMail|not supported|cannot')
        self.assertEqual(self.writes(), [])
        self.assertEqual(self.fake.state(), self.before)

    def test_admin_password_on_command_line_refused(self):
        proc = self.run_ctl('status', admin_pw=False, options=['admin-password=' + ADMIN_PW])
        self.assert_rc(proc, 2)
        self.assertEqual(self.fake.log(), [])

    def test_admin_password_from_environment(self):
        env_name = 'SMARTHOST_TEST_SM_ADMIN_PW'
        os.environ[env_name] = ADMIN_PW
        self.addCleanup(os.environ.pop, env_name, None)
        proc = self.run_ctl('status', admin_pw=False, options=['admin-password-env=' + env_name])
        self.assert_rc(proc, 0)


class TestSchemaCheck(SmarterMailCLITest):
    def unconfirmed(self):
        with open(MAPPING_FILE) as f:
            data = json.load(f)
        return [(section, name, entry) for section in ('endpoints', 'fields', 'values')
                for name, entry in data[section].items() if entry.get('source') == 'unconfirmed']

    def test_schema_check_reports_each_unconfirmed_entry_with_gets_only(self):
        self.fake.seed({'gateways': [gateway('rr-1', 'relay.example.net'),
                                     gateway('sd-1', 'sd.example.net', mode=V('mode-specific-domains'))],
                        'domains': [domain('a.example', 'sd-1'), domain('b.example')]})
        before = self.fake.state()
        proc = self.run_ctl('schema-check')
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        for section, name, entry in self.unconfirmed():
            shown = entry.get('path') or entry.get('name') or entry.get('value')
            self.assertTrue(name in proc.stdout or shown in proc.stdout,
                            '%s %s (%s) not reported' % (section, name, shown))
        log = self.fake.log()
        self.assertTrue(log)
        self.assertEqual([e for e in log if e['method'] != 'GET' and e['endpoint'] not in ('login', 'refresh')],
                         [], 'schema-check made a request other than GET')
        self.assertEqual(self.fake.state(), before)

    def test_schema_check_finds_a_missing_field(self):
        # A server whose gateways call the description "notes".
        with open(MAPPING_FILE) as f:
            data = json.load(f)
        data['fields']['gateway-description']['name'] = 'notes'
        other = self.write_file('server-mapping.json', json.dumps(data))
        self.fake.stop()
        self.fake = fake_client.FakeProcess(os.path.join(self.tmp, 'fake2'), admin=ADMIN, password=ADMIN_PW,
                                            mapping=other, cert_dir=self.fake.cert_dir).start()
        self.addCleanup(self.fake.stop)
        g = gateway('rr-1', 'relay.example.net')
        g['notes'] = g.pop(F('gateway-description'))
        self.fake.seed({'gateways': [g], 'domains': [domain('a.example')]})
        proc = self.run_ctl('schema-check')
        lines = [line for line in proc.stdout.splitlines() if F('gateway-description') in line]
        self.assertTrue(lines, proc.stdout)
        self.assertTrue(any(re.search(r'(?i)missing|not found|absent|not present|no such|not seen', line)
                            for line in lines), lines)


def main():
    if MISSING:
        print('SKIP: ' + MISSING)
        return 77
    program = unittest.main(exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
