#!/usr/bin/python3
# test_backend.py: the SmarterMail backend at the API level (GObject
# Introspection), against the fake SmarterMail web API
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The CLI tests (test_cli_smartermail.py) drive smarthostctl; these drive
# Smarthost.SmarterMailBackend itself: transactions, previews, errors, the
# journal in the state directory. Run with /usr/bin/python3 against the
# uninstalled typelib (meson sets GI_TYPELIB_PATH and LD_LIBRARY_PATH).

import json
import os
import shutil
import sys
import tempfile
import time
import unittest

import gi
gi.require_version('Smarthost', '1.0')
from gi.repository import GLib, Smarthost  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_client  # noqa: E402
import fake_smartermail  # noqa: E402

M = fake_smartermail.Mapping(fake_client.DEFAULT_MAPPING)
F = M.f
V = M.v
ADMIN_PW = 'Adm1n-Api-S3cret-5e1f'
RELAY_PW = 'Relay-Api-S3cret-77aa'
OTHER_PW = 'Other-Api-S3cret-0c3b'
SECRETS = (ADMIN_PW, RELAY_PW, OTHER_PW)
WRITES = ('gateway-create', 'gateway-update', 'gateway-delete', 'domain-update')
WRITE_GLOB = os.path.commonprefix([M.endpoints[e][1] for e in WRITES]) + '*'
ERROR = Smarthost.error_quark()


def hand_gateway(gid, address, mode=None, auth=True, description='hand-made', password='hand-pw'):
    g = {F('gateway-id'): gid, F('gateway-address'): address, F('gateway-port'): 587,
         F('gateway-encryption'): V('encryption-starttls'), F('gateway-enabled'): True,
         F('gateway-mode'): mode or V('mode-round-robin'), F('gateway-auth'): auth,
         F('gateway-username'): 'apikey' if auth else '', F('gateway-description'): description,
         'futureSetting': {'nested': [1, 2, 3]}}
    if auth:
        g[F('gateway-password')] = password
    return g


def domain(name, gateway_id=''):
    s = fake_smartermail.default_domain_settings(name)
    s[F('domain-gateway')] = gateway_id
    s['unknownToLibsmarthost'] = {'keep': name}
    return {F('domain-name'): name, F('domain-settings'): s}


def relay(host='smtp.sendgrid.net', user='apikey', password=RELAY_PW, security=Smarthost.Security.STARTTLS):
    r = Smarthost.Relay(host=host, security=security)
    if user:
        r.set_username(user)
        r.set_password(password)
    return r


def comparable(state):
    state = json.loads(json.dumps(state))
    for d in state['domains']:
        s = d[F('domain-settings')]
        s[F('domain-gateway')] = s.get(F('domain-gateway')) or ''
    return state


class BackendTest(unittest.TestCase):
    token_lifetime = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='smarthost-sm-api-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.state_dir = os.path.join(self.tmp, 'state')
        self.fake = fake_client.FakeProcess(os.path.join(self.tmp, 'fake'), password=ADMIN_PW,
                                            token_lifetime=self.token_lifetime)
        self.fake.start()
        self.addCleanup(self.fake.stop)
        self.fake.seed({'domains': [domain('a.example'), domain('b.example'), domain('c.example')]})
        self.backend = self.make_backend()

    def make_backend(self, **props):
        kw = dict(url=self.fake.url, admin='admin', admin_password=ADMIN_PW, ca_file=self.fake.ca_file,
                  state_directory=self.state_dir, timeout=5)
        kw.update(props)
        return Smarthost.SmarterMailBackend(**kw)

    def writes(self, log=None):
        return self.fake.writes(log)

    def assert_clean(self, text):
        for secret in SECRETS:
            self.assertNotIn(secret, text)

    def assert_state_dir_clean(self):
        for root, _, files in os.walk(self.state_dir):
            for name in files:
                with open(os.path.join(root, name), 'rb') as f:
                    data = f.read()
                for secret in SECRETS:
                    self.assertNotIn(secret.encode(), data, 'a password in %s' % name)

    def error_of(self, call):
        with self.assertRaises(GLib.Error) as cm:
            call()
        self.assert_clean(cm.exception.message)
        return cm.exception

    def gateways(self):
        return self.fake.state()['gateways']


class TestReadAndWrite(BackendTest):
    def test_reads_hand_made_gateways(self):
        self.fake.seed({'gateways': [hand_gateway('rr', 'relay.example.net'),
                                     hand_gateway('sd', 'sd.example.net', mode=V('mode-specific-domains'),
                                                  auth=False)],
                        'domains': [domain('a.example', 'sd'), domain('b.example')]})
        state = self.backend.get_state(None)
        self.assertEqual(state.get_backend_name(), 'smartermail')
        server = state.get_server()
        self.assertEqual((server.get_host(), server.get_port(), server.get_username()),
                         ('relay.example.net', 587, 'apikey'))
        self.assertTrue(server.get_password_set())
        self.assertIsNone(server.get_password())
        self.assertEqual(state.list_domains(), ['a.example'])
        self.assertIsNone(state.get_domain('a.example').get_username())
        self.assertEqual(self.backend.list_domains(None), ['a.example'])
        self.assertEqual(self.backend.get_domain('a.example', None).get_host(), 'sd.example.net')
        self.assertIsNone(self.backend.get_domain('b.example', None))
        self.assertEqual(self.backend.get_server(None).get_host(), 'relay.example.net')
        self.assertEqual(self.writes(), [])

    def test_set_and_unset(self):
        self.backend.set_server(relay(), None)
        self.backend.set_domain('a.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW), None)
        self.backend.set_domain('b.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW), None)
        gws = self.gateways()
        self.assertEqual(sorted(g[F('gateway-mode')] for g in gws),
                         sorted([V('mode-round-robin'), V('mode-specific-domains')]))
        state = self.backend.get_state(None)
        self.assertEqual(state.get_server().get_host(), 'smtp.sendgrid.net')
        self.assertEqual(state.list_domains(), ['a.example', 'b.example'])
        # The same again writes nothing.
        self.fake.clear_log()
        tx = self.backend.begin()
        tx.set_domain('a.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW))
        tx.commit(None)
        self.assertFalse(tx.get_changed())
        self.assertEqual(self.writes(), [])
        # A new password is a change.
        self.backend.set_domain('a.example', relay('smtp.eu.mailgun.org', 'pm', RELAY_PW), None)
        self.assertNotEqual(self.fake.state()['domains'][0][F('domain-settings')][F('domain-gateway')], '')
        self.backend.set_domain('a.example', None, None)
        self.backend.set_domain('b.example', None, None)
        self.backend.set_server(None, None)
        self.assertEqual(self.gateways(), [])
        self.assert_state_dir_clean()

    def test_unknown_fields_preserved(self):
        self.fake.seed({'gateways': [hand_gateway('rr', 'old.example.net')],
                        'domains': [domain('a.example')]})
        before = self.fake.state()
        self.backend.set_server(relay(), None)
        self.backend.set_domain('a.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW), None)
        after = self.fake.state()
        rr = [g for g in after['gateways'] if g[F('gateway-id')] == 'rr'][0]
        self.assertEqual(rr['futureSetting'], {'nested': [1, 2, 3]})
        self.assertEqual(rr[F('gateway-address')], 'smtp.sendgrid.net')
        self.assertEqual(after['domains'][0][F('domain-settings')]['unknownToLibsmarthost'],
                         before['domains'][0][F('domain-settings')]['unknownToLibsmarthost'])

    def test_preview_masks_and_lists_requests(self):
        tx = self.backend.begin()
        tx.set_server(relay())
        tx.set_domain('a.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW))
        preview = tx.preview(None)
        self.assert_clean(preview)
        lines = [line for line in preview.splitlines() if line.startswith('# POST')]
        self.assertEqual(len(lines), 3, preview)
        self.assertIn(M.path_of('gateway-create'), lines[0])
        self.assertIn('********', lines[0])
        self.assertIn(M.path_of('domain-update', domain='a.example'), lines[2])
        self.assertEqual(self.writes(), [])

    def test_unsupported_relays(self):
        for props in ({'mx_lookup': True}, {'verify_certificate': False}):
            r = relay()
            for k, v in props.items():
                r.set_property(k.replace('_', '-'), v)
            e = self.error_of(lambda: self.backend.set_server(r, None))
            self.assertTrue(e.matches(ERROR, Smarthost.Error.NOT_SUPPORTED), e.message)
        self.assertEqual(self.writes(), [])


class TestAllOrNothing(BackendTest):
    def seed(self):
        old = hand_gateway('old-sd', 'old.example.net', mode=V('mode-specific-domains'), auth=False,
                           description='libsmarthost: c.example')
        self.fake.reset()
        self.fake.seed({'gateways': [old],
                        'domains': [domain('a.example'), domain('b.example'), domain('c.example', 'old-sd')]})
        return self.fake.state()

    def commit(self):
        tx = self.backend.begin()
        tx.set_server(relay())
        tx.set_domain('a.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW))
        tx.set_domain('b.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW))
        tx.set_domain('c.example', None)
        tx.commit(None)

    def target(self, entry):
        if entry['endpoint'] == 'domain-update':
            return ('domain', entry['path'])
        if entry['endpoint'] == 'gateway-create':
            return ('gateway', entry.get('created_id'))
        return ('gateway', entry['path'].rstrip('/').rsplit('/', 1)[-1])

    def test_rollback_at_every_request(self):
        for n in range(1, 20):
            initial = self.seed()
            shutil.rmtree(self.state_dir, True)
            self.fake.inject(kind='status', status=500, method='POST', path=WRITE_GLOB, nth=n)
            try:
                self.commit()
            except GLib.Error as e:
                self.assertTrue(e.matches(ERROR, Smarthost.Error.FAILED), e.message)
                self.assert_clean(e.message)
                log = self.fake.log()
                failed = [x for x in log if x['fault']][0]
                self.assertIn(failed['path'], e.message)
                self.assertEqual(comparable(self.fake.state()), comparable(initial), 'request %d' % n)
                writes = self.writes(log)
                i = writes.index(failed)
                self.assertEqual([self.target(u) for u in writes[i + 1:]],
                                 [self.target(d) for d in reversed(writes[:i])], 'request %d' % n)
                continue
            self.assertEqual(len(self.writes()), n - 1)
            self.assertGreaterEqual(n, 5)
            break
        else:
            self.fail('never succeeded')

    def test_partial_and_recovery(self):
        initial = self.seed()
        # The third write (the first assignment) succeeds, the fourth fails,
        # and so does the undo of the third.
        self.commit()
        order = self.writes()
        first_assign = [w for w in order if w['endpoint'] == 'domain-update'][0]
        nth = order.index(first_assign) + 2
        initial = self.seed()
        shutil.rmtree(self.state_dir, True)
        self.fake.inject(kind='status', status=500, method='POST', path=WRITE_GLOB, nth=nth)
        self.fake.inject(kind='status', status=503, method='POST', path=first_assign['path'], nth=2)
        e = self.error_of(self.commit)
        self.assertTrue(e.matches(ERROR, Smarthost.Error.PARTIAL), e.message)
        self.assertIn('a.example', e.message)
        self.assertTrue([n for n in os.listdir(self.state_dir) if n.startswith('.smarthost-journal')])
        self.assert_state_dir_clean()
        # A new backend (another process would do the same) finishes the undo on its first read.
        self.backend = self.make_backend()
        self.backend.get_state(None)
        self.assertEqual(comparable(self.fake.state()), comparable(initial))
        self.assertFalse([n for n in os.listdir(self.state_dir) if n.startswith('.smarthost-journal')])

    def test_deleted_gateway_with_password_is_partial(self):
        self.fake.seed({'gateways': [hand_gateway('ours', 'x.example.net', mode=V('mode-specific-domains'),
                                                  description='libsmarthost 1', password='old-pw')],
                        'domains': [domain('a.example', 'ours'), domain('b.example')]})
        # The deletion (last) applies but its answer is lost: its undo
        # recreates the gateway without its password.
        self.fake.inject(kind='status', status=500, method='POST', endpoint='gateway-delete', apply=True)
        e = self.error_of(lambda: self.backend.set_domain('a.example', None, None))
        self.assertTrue(e.matches(ERROR, Smarthost.Error.PARTIAL), e.message)
        self.assertIn('password', e.message)
        # The next read finishes: the gateway is back (without its password), a.example on it.
        state = self.backend.get_state(None)
        self.assertEqual(state.get_domain('a.example').get_host(), 'x.example.net')


class TestFailures(BackendTest):
    def test_wrong_admin_password(self):
        b = self.make_backend(admin_password='wrong-password-1')
        e = self.error_of(lambda: b.get_state(None))
        self.assertIn('"admin"', e.message)
        self.assertNotIn('wrong-password-1', e.message)

    def test_timeout(self):
        self.fake.inject(kind='slow', delay=20, method='GET', endpoint='gateways')
        start = time.monotonic()
        e = self.error_of(lambda: self.make_backend(timeout=2).get_state(None))
        self.assertLess(time.monotonic() - start, 10)
        self.assertIn('2 seconds', e.message)

    def test_oversized_and_malformed(self):
        self.fake.inject(kind='oversized', size=40 * 1024 * 1024, method='GET', endpoint='gateways')
        e = self.error_of(lambda: self.backend.get_state(None))
        self.assertIn('too large', e.message)
        self.fake.inject(kind='malformed', method='GET', endpoint='gateways')
        e = self.error_of(lambda: self.backend.get_state(None))
        self.assertIn('JSON', e.message)

    def test_untrusted_and_insecure(self):
        b = self.make_backend(ca_file=None)
        e = self.error_of(lambda: b.get_state(None))
        self.assertRegex(e.message, '(?i)certificate|TLS')
        b = self.make_backend(ca_file=None, insecure=True)
        self.assertTrue(b.get_insecure())
        b.get_state(None)
        tx = b.begin()
        tx.set_server(relay())
        self.assertIn('certificate verification is off', tx.preview(None))

    def test_schema_check_only_reads(self):
        self.fake.seed({'gateways': [hand_gateway('rr', 'relay.example.net')], 'domains': [domain('a.example')]})
        self.fake.clear_log()
        findings = self.backend.schema_check(None)
        codes = {f.get_code() for f in findings}
        self.assertIn('endpoint-found', codes)
        self.assertIn('field-found', codes)
        self.assertNotIn('field-missing', codes)
        self.assertTrue(all(e['method'] == 'GET' or e['endpoint'] == 'login' for e in self.fake.log()))

    def test_mapping_file_checked(self):
        bad = os.path.join(self.tmp, 'mapping.json')
        with open(fake_client.DEFAULT_MAPPING) as f:
            data = json.load(f)
        del data['endpoints']['gateways']['source']
        with open(bad, 'w') as f:
            json.dump(data, f)
        e = self.error_of(lambda: self.make_backend(mapping_file=bad).get_state(None))
        self.assertTrue(e.message.startswith('mapping-file:'), e.message)


class TestTokens(BackendTest):
    token_lifetime = 1

    def test_expiry_mid_commit(self):
        self.fake.configure(latency=0.4)
        tx = self.backend.begin()
        tx.set_server(relay())
        tx.set_domain('a.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW))
        tx.set_domain('b.example', relay('smtp.eu.mailgun.org', 'pm', OTHER_PW))
        tx.commit(None)
        log = self.fake.log()
        self.assertTrue([e for e in log if e['auth'] == 'expired'])
        self.assertTrue([e for e in log if e['endpoint'] == 'refresh' and e['status'] == 200])
        self.assertEqual(len(self.gateways()), 2)

    def test_refresh_refused_logs_in_again(self):
        self.backend.get_state(None)
        self.fake.inject(kind='unauthorized', method='GET', endpoint='gateways', refresh=False)
        self.backend.get_state(None)
        logins = [e for e in self.fake.log() if e['endpoint'] == 'login' and e['status'] == 200]
        self.assertEqual(len(logins), 2)


if __name__ == '__main__':
    unittest.main(verbosity=2)
