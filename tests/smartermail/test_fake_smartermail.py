#!/usr/bin/python3
# test_fake_smartermail.py: the fake SmarterMail server behaves as
# doc/smartermail.md says the real one does, and its faults work
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run with /usr/bin/python3 (standard library only). Talks to the fake over
# HTTPS with urllib, trusting the fake's test CA.

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_client  # noqa: E402
import fake_smartermail  # noqa: E402

MAPPING = fake_smartermail.Mapping(fake_client.DEFAULT_MAPPING)
ADMIN_PW = 'Adm1n-S3cret-pw'
GW_PW = 'Gateway-P4ss-word'


def P(endpoint, **params):
    return MAPPING.path_of(endpoint, **params)


class Api:
    """A tiny client of the fake, in the mapping's terms."""

    def __init__(self, url, context):
        self.url = url
        self.context = context
        self.token = None
        self.refresh = None

    def call(self, method, path, body=None, token=True, timeout=10, raw=False):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        if token is True and self.token:
            req.add_header('Authorization', 'Bearer ' + self.token)
        elif isinstance(token, str):
            req.add_header('Authorization', 'Bearer ' + token)
        try:
            with urllib.request.urlopen(req, context=self.context, timeout=timeout) as r:
                payload = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            payload = e.read()
            status = e.code
        return status, (payload if raw else json.loads(payload))

    def login(self, user='admin', password=ADMIN_PW):
        status, answer = self.call('POST', P('login'), {MAPPING.f('login-username'): user,
                                                         MAPPING.f('login-password'): password}, token=False)
        if status == 200 and answer.get('success'):
            self.token = answer[MAPPING.f('access-token')]
            self.refresh = answer[MAPPING.f('refresh-token')]
        return status, answer

    def gateways(self):
        status, answer = self.call('GET', P('gateways'))
        assert status == 200, answer
        return answer[MAPPING.f('gateways')]

    def create(self, **fields):
        return self.call('POST', P('gateway-create'), {MAPPING.f('gateway'): fields})


def gateway_fields(**over):
    m = MAPPING
    g = {m.f('gateway-address'): 'smtp.sendgrid.net', m.f('gateway-port'): 587,
         m.f('gateway-encryption'): m.v('encryption-starttls'), m.f('gateway-enabled'): True,
         m.f('gateway-mode'): m.v('mode-round-robin'), m.f('gateway-auth'): True,
         m.f('gateway-username'): 'apikey', m.f('gateway-password'): GW_PW,
         m.f('gateway-description'): 'test'}
    g.update(over)
    return g


class FakeTestCase(unittest.TestCase):
    """One fake process for the class; reset before each test."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='smartermail-fake-test-')
        cls.fake = fake_client.FakeProcess(cls.tmp, password=ADMIN_PW).start()

    @classmethod
    def tearDownClass(cls):
        cls.fake.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.fake.reset()
        self.api = Api(self.fake.url, self.fake.ssl_context())


class TestAuth(FakeTestCase):
    def test_login(self):
        status, answer = self.api.login()
        self.assertEqual(status, 200)
        self.assertIs(answer['success'], True)
        for key in ('access-token', 'refresh-token', 'access-expiration'):
            self.assertIsInstance(answer[MAPPING.f(key)], str)
        self.assertRegex(answer[MAPPING.f('access-expiration')], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual(self.api.call('GET', P('gateways')), (200, {'success': True, 'gateways': []}))

    def test_wrong_login(self):
        for user, password in (('admin', 'wrong'), ('root', ADMIN_PW), ('', '')):
            status, answer = self.api.login(user, password)
            self.assertEqual(status, 401)
            self.assertIs(answer['success'], False)
            self.assertIn('message', answer)
        status, answer = self.api.call('POST', P('login'), b'not json', token=False)
        self.assertEqual((status, answer['success']), (400, False))

    def test_login_failure_status_200(self):
        self.fake.configure(login_failure_status=200)
        status, answer = self.api.login('admin', 'wrong')
        self.assertEqual((status, answer['success']), (200, False))

    def test_missing_unknown_token(self):
        status, answer = self.api.call('GET', P('gateways'))
        self.assertEqual((status, answer['success']), (401, False))
        status, answer = self.api.call('GET', P('gateways'), token='made-up')
        self.assertEqual((status, answer['success']), (401, False))
        self.assertEqual([e['auth'] for e in self.fake.log()], ['none', 'unknown'])

    def test_expiry_and_refresh(self):
        self.fake.configure(token_lifetime=1)
        self.api.login()
        self.assertEqual(self.api.call('GET', P('gateways'))[0], 200)
        time.sleep(1.3)
        status, answer = self.api.call('GET', P('gateways'))
        self.assertEqual((status, answer['success']), (401, False))
        self.assertEqual(self.fake.log()[-1]['auth'], 'expired')
        old_refresh = self.api.refresh
        status, answer = self.api.call('POST', P('refresh'), {MAPPING.f('refresh-request-token'): old_refresh},
                                       token=False)
        self.assertEqual(status, 200)
        self.assertIs(answer['success'], True)
        self.assertNotEqual(answer[MAPPING.f('access-token')], self.api.token)
        self.api.token = answer[MAPPING.f('access-token')]
        self.assertEqual(self.api.call('GET', P('gateways'))[0], 200)
        # A refresh token is good once.
        status, answer = self.api.call('POST', P('refresh'), {'token': old_refresh}, token=False)
        self.assertEqual((status, answer['success']), (401, False))
        status, answer = self.api.call('POST', P('refresh'), {'token': 'nonsense'}, token=False)
        self.assertEqual((status, answer['success']), (401, False))


class TestGateways(FakeTestCase):
    def setUp(self):
        super().setUp()
        self.api.login()

    def test_create_list_password_never_returned(self):
        status, answer = self.api.create(**gateway_fields())
        self.assertEqual(status, 200)
        g = answer[MAPPING.f('gateway')]
        gid = g[MAPPING.f('gateway-id')]
        self.assertIsInstance(gid, str)
        self.assertNotIn(MAPPING.f('gateway-password'), g)
        for extra in ('spoolCount', 'createdDate', 'statistics'):
            self.assertIn(extra, g)
        self.assertIsInstance(g['statistics'], dict)
        listed = self.api.gateways()
        self.assertEqual(listed, [g])
        self.assertNotIn(GW_PW, json.dumps(listed))
        stored = self.fake.state()['gateways'][0]
        self.assertEqual(stored[MAPPING.f('gateway-password')], GW_PW)

    def test_create_ignores_given_id_and_validates(self):
        status, answer = self.api.create(**gateway_fields(id='chosen'))
        self.assertEqual(status, 200)
        self.assertNotEqual(answer['gateway']['id'], 'chosen')
        for bad in ({MAPPING.f('gateway-port'): 0}, {MAPPING.f('gateway-port'): '587'},
                    {MAPPING.f('gateway-encryption'): 'TLS-ish'}, {MAPPING.f('gateway-mode'): 'Failover'},
                    {MAPPING.f('gateway-address'): ''}, {MAPPING.f('gateway-enabled'): 'true'}):
            status, answer = self.api.create(**gateway_fields(**bad))
            self.assertEqual((status, answer['success']), (400, False), bad)
            self.assertTrue(answer['message'])
        self.assertEqual(len(self.fake.state()['gateways']), 1)
        status, answer = self.api.call('POST', P('gateway-create'), {'notagateway': {}})
        self.assertEqual((status, answer['success']), (400, False))

    def test_partial_update_keeps_unknown_fields(self):
        self.fake.seed({'gateways': [dict(gateway_fields(), id='gw-1', spoolCount=7,
                                          createdDate='2024-01-01T00:00:00Z',
                                          routing={'priority': 3, 'ips': ['192.0.2.1']},
                                          futureField='keep me')]})
        status, answer = self.api.call('POST', P('gateway-update', id='gw-1'),
                                       {'gateway': {MAPPING.f('gateway-port'): 2525}})
        self.assertEqual(status, 200, answer)
        stored = self.fake.state()['gateways'][0]
        self.assertEqual(stored[MAPPING.f('gateway-port')], 2525)
        self.assertEqual(stored['spoolCount'], 7)
        self.assertEqual(stored['routing'], {'priority': 3, 'ips': ['192.0.2.1']})
        self.assertEqual(stored['futureField'], 'keep me')
        self.assertEqual(stored[MAPPING.f('gateway-password')], GW_PW)
        self.assertEqual(stored[MAPPING.f('gateway-address')], 'smtp.sendgrid.net')
        self.assertNotIn(MAPPING.f('gateway-password'), answer['gateway'])
        # A new password is stored, and still never shown.
        self.api.call('POST', P('gateway-update', id='gw-1'), {'gateway': {MAPPING.f('gateway-password'): 'new'}})
        self.assertEqual(self.fake.state()['gateways'][0][MAPPING.f('gateway-password')], 'new')
        self.assertNotIn('new', json.dumps(self.api.gateways()).replace('"', ' ').split())
        # An unknown id, a mismatched id, an invalid merge.
        self.assertEqual(self.api.call('POST', P('gateway-update', id='nope'), {'gateway': {}})[0], 404)
        self.assertEqual(self.api.call('POST', P('gateway-update', id='gw-1'),
                                       {'gateway': {'id': 'other'}})[0], 400)
        self.assertEqual(self.api.call('POST', P('gateway-update', id='gw-1'),
                                       {'gateway': {MAPPING.f('gateway-port'): 70000}})[0], 400)
        self.assertEqual(self.fake.state()['gateways'][0][MAPPING.f('gateway-port')], 2525)

    def test_delete(self):
        self.fake.seed({'gateways': [dict(gateway_fields(), id='gw-1')], 'domains': ['a.example']})
        self.assertEqual(self.api.call('POST', P('gateway-delete', id='nope'))[0], 404)
        status, answer = self.api.call('POST', P('gateway-delete', id='gw-1'))
        self.assertEqual((status, answer), (200, {'success': True}))
        self.assertEqual(self.fake.state()['gateways'], [])

    def test_delete_in_use_refused_or_allowed(self):
        self.fake.seed({'gateways': [dict(gateway_fields(), id='gw-1')],
                        'domains': [{'name': 'a.example', 'domainSettings': {'outboundGatewayId': 'gw-1'}}]})
        status, answer = self.api.call('POST', P('gateway-delete', id='gw-1'))
        self.assertEqual((status, answer['success']), (400, False))
        self.assertIn('a.example', answer['message'])
        self.fake.configure(delete_in_use='allow')
        self.assertEqual(self.api.call('POST', P('gateway-delete', id='gw-1'))[0], 200)


class TestDomains(FakeTestCase):
    def setUp(self):
        super().setUp()
        self.api.login()
        self.fake.seed({'gateways': [dict(gateway_fields(), id='gw-1',
                                          mode=MAPPING.v('mode-specific-domains'))],
                        'domains': ['a.example', {'name': 'b.example', 'aliasCount': 2,
                                                  'domainSettings': {'customThing': {'x': 1}}}]})

    def test_list(self):
        status, answer = self.api.call('GET', P('domains'))
        self.assertEqual(status, 200)
        names = [d[MAPPING.f('domain-name')] for d in answer[MAPPING.f('domains')]]
        self.assertEqual(names, ['a.example', 'b.example'])
        self.assertEqual(answer['data'][1]['aliasCount'], 2)
        self.assertNotIn('domainSettings', answer['data'][0])

    def test_settings_partial_update(self):
        status, answer = self.api.call('GET', P('domain-get', domain='b.example'))
        self.assertEqual(status, 200)
        before = answer[MAPPING.f('domain-settings')]
        self.assertGreater(len(before), 10)
        self.assertEqual(before[MAPPING.f('domain-gateway')], '')
        self.assertEqual(before['customThing'], {'x': 1})
        status, answer = self.api.call('POST', P('domain-update', domain='b.example'),
                                       {'domainSettings': {MAPPING.f('domain-gateway'): 'gw-1'}})
        self.assertEqual((status, answer), (200, {'success': True}))
        after = self.api.call('GET', P('domain-get', domain='b.example'))[1][MAPPING.f('domain-settings')]
        self.assertEqual(after, dict(before, **{MAPPING.f('domain-gateway'): 'gw-1'}))
        # Unassigning, with "" or null.
        for none in ('', None):
            self.api.call('POST', P('domain-update', domain='b.example'),
                          {'domainSettings': {MAPPING.f('domain-gateway'): none}})
            after = self.api.call('GET', P('domain-get', domain='b.example'))[1]['domainSettings']
            self.assertEqual(after, dict(before, **{MAPPING.f('domain-gateway'): none}))

    def test_settings_errors(self):
        self.assertEqual(self.api.call('GET', P('domain-get', domain='nope.example'))[0], 404)
        status, answer = self.api.call('POST', P('domain-update', domain='a.example'),
                                       {'domainSettings': {MAPPING.f('domain-gateway'): 'no-such-gateway'}})
        self.assertEqual((status, answer['success']), (400, False))
        self.assertEqual(self.api.call('POST', P('domain-update', domain='a.example'), {'x': 1})[0], 400)
        self.assertEqual(self.fake.state()['domains'][0]['domainSettings'][MAPPING.f('domain-gateway')], '')


class TestEnvelope(FakeTestCase):
    def test_unknown_endpoint_and_method(self):
        self.api.login()
        status, answer = self.api.call('GET', '/api/v1/settings/sysadmin/no-such-thing')
        self.assertEqual(status, 404)
        self.assertIs(answer['success'], False)
        status, answer = self.api.call('DELETE', P('gateways'))
        self.assertEqual((status, answer['success']), (405, False))
        status, answer = self.api.call('GET', P('login'), token=False)
        self.assertEqual((status, answer['success']), (405, False))

    def test_body_limit(self):
        self.fake.configure(max_body=1000)
        status, answer = self.api.call('POST', P('login'), b'{"username": "' + b'a' * 2000 + b'"}', token=False)
        self.assertEqual((status, answer['success']), (413, False))

    def test_control_needs_token(self):
        for headers in ({}, {'X-Fake-Control': 'wrong'}):
            req = urllib.request.Request(self.fake.url + '/__fake__/control/state', data=b'{}',
                                         method='POST', headers=headers)
            with self.assertRaises(urllib.error.HTTPError) as cm:
                urllib.request.urlopen(req, context=self.fake.ssl_context(), timeout=10)
            self.assertEqual(cm.exception.code, 404)
        self.assertEqual(self.fake.log(), [])   # control requests are not logged

    def test_tls_needs_the_ca(self):
        with self.assertRaises(urllib.error.URLError) as cm:
            urllib.request.urlopen(self.fake.url + P('gateways'), timeout=10,
                                   context=ssl.create_default_context(cafile=self.fake.ca.other_ca_cert))
        self.assertIsInstance(cm.exception.reason, ssl.SSLCertVerificationError)
        # Names: localhost works as well as 127.0.0.1.
        ctx = self.fake.ssl_context()
        req = urllib.request.Request('https://localhost:%d%s' % (self.fake.port, P('gateways')))
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req, context=ctx, timeout=10)
        self.assertEqual(cm.exception.code, 401)

    def test_log_masks_passwords(self):
        self.api.login()
        self.api.create(**gateway_fields())
        log = self.fake.log()
        text = json.dumps(log)
        self.assertNotIn(ADMIN_PW, text)
        self.assertNotIn(GW_PW, text)
        self.assertEqual([(e['method'], e['endpoint'], e['status']) for e in log],
                         [('POST', 'login', 200), ('POST', 'gateway-create', 200)])
        self.assertEqual(log[0]['body'][MAPPING.f('login-password')], '********')
        self.assertEqual(log[1]['body']['gateway'][MAPPING.f('gateway-password')], '********')
        self.assertEqual(log[1]['auth'], 'valid')
        self.assertEqual([e['seq'] for e in log], [1, 2])
        self.fake.log(clear=True)
        self.assertEqual(self.fake.log(), [])
        self.assertEqual(len(self.fake.writes(log)), 1)


class TestFaults(FakeTestCase):
    def setUp(self):
        super().setUp()
        self.api.login()
        self.fake.clear_log()

    def test_status(self):
        for code in (400, 500, 503):
            self.fake.inject(kind='status', status=code, method='POST', endpoint='gateway-create')
            status, answer = self.api.create(**gateway_fields())
            self.assertEqual((status, answer['success']), (code, False))
            self.assertTrue(answer['message'])
        self.assertEqual(self.fake.state()['gateways'], [])
        self.assertEqual([e['fault'] for e in self.fake.log()], ['status'] * 3)
        self.assertEqual(self.api.create(**gateway_fields())[0], 200)   # fired once each

    def test_nth_and_times(self):
        self.fake.inject(kind='status', status=500, method='POST', path='*/gateway-put', nth=2, times=2)
        results = [self.api.create(**gateway_fields())[0] for _ in range(5)]
        self.assertEqual(results, [200, 500, 500, 200, 200])
        self.assertEqual(len(self.fake.state()['gateways']), 3)
        faults = self.fake.faults()
        self.assertEqual((faults[0]['seen'], faults[0]['fired']), (5, 2))
        # times 0: every matching request from the n-th on; GETs do not match POST.
        self.fake.reset()
        self.api.login()
        self.fake.inject(kind='failure', message='no', endpoint='gateways', times=0, nth=2)
        self.assertEqual(self.api.call('GET', P('gateways'))[1]['success'], True)
        for _ in range(3):
            self.assertEqual(self.api.call('GET', P('gateways')), (200, {'success': False, 'message': 'no'}))

    def test_failure(self):
        self.fake.seed({'gateways': [dict(gateway_fields(), id='gw-1')]})
        self.fake.inject(kind='failure', message='Gateway is locked', endpoint='gateway-update')
        status, answer = self.api.call('POST', P('gateway-update', id='gw-1'), {'gateway': {'port': 25}})
        self.assertEqual((status, answer), (200, {'success': False, 'message': 'Gateway is locked'}))
        self.assertEqual(self.fake.state()['gateways'][0]['port'], 587)

    def test_slow(self):
        self.fake.inject(kind='slow', delay=3, endpoint='gateway-create')
        start = time.monotonic()
        with self.assertRaises((socket.timeout, urllib.error.URLError, TimeoutError)):
            self.api.call('POST', P('gateway-create'), {'gateway': gateway_fields()}, timeout=1)
        self.assertLess(time.monotonic() - start, 2.5)
        # Other requests are not held up meanwhile.
        self.assertEqual(self.api.call('GET', P('gateways'), timeout=2)[0], 200)
        # A slow request applies, once its delay is over.
        time.sleep(2.5)
        self.assertEqual(len(self.fake.state()['gateways']), 1)
        self.fake.inject(kind='slow', delay=0.5, apply=False, endpoint='gateway-create')
        self.assertEqual(self.api.create(**gateway_fields())[0], 200)
        self.assertEqual(len(self.fake.state()['gateways']), 1)

    def test_close(self):
        self.fake.seed({'gateways': [dict(gateway_fields(), id='gw-%d' % i) for i in range(5)]})
        self.fake.inject(kind='close', endpoint='gateways')
        with self.assertRaises((http.client.IncompleteRead, ConnectionError, urllib.error.URLError)):
            self.api.call('GET', P('gateways'))
        self.fake.inject(kind='close', endpoint='gateway-create')
        with self.assertRaises((http.client.IncompleteRead, ConnectionError, urllib.error.URLError)):
            self.api.create(**gateway_fields())
        self.assertEqual(len(self.fake.state()['gateways']), 5)

    def test_malformed(self):
        self.fake.inject(kind='malformed', endpoint='gateways')
        status, raw = self.api.call('GET', P('gateways'), raw=True)
        self.assertEqual(status, 200)
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_oversized(self):
        for length in (True, False):
            self.fake.inject(kind='oversized', size=3 * 1024 * 1024 + 17, length=length, endpoint='gateways')
            status, raw = self.api.call('GET', P('gateways'), raw=True, timeout=30)
            self.assertEqual((status, len(raw)), (200, 3 * 1024 * 1024 + 17))
            self.assertIs(json.loads(raw)['success'], True)
        # The default is 64 MiB; a client that stops reading is no problem.
        self.fake.inject(kind='oversized', endpoint='gateways')
        req = urllib.request.Request(self.fake.url + P('gateways'),
                                     headers={'Authorization': 'Bearer ' + self.api.token})
        with urllib.request.urlopen(req, context=self.fake.ssl_context(), timeout=10) as r:
            self.assertEqual(int(r.headers['Content-Length']), 64 * 1024 * 1024)
            r.read(100000)
        self.assertEqual(self.api.call('GET', P('gateways'))[0], 200)

    def test_unauthorized(self):
        self.fake.inject(kind='unauthorized', endpoint='gateway-create')
        status, answer = self.api.create(**gateway_fields())
        self.assertEqual((status, answer['success']), (401, False))
        # The token is gone, as if it had expired; the refresh token works.
        self.assertEqual(self.api.call('GET', P('gateways'))[0], 401)
        status, answer = self.api.call('POST', P('refresh'), {'token': self.api.refresh}, token=False)
        self.assertEqual(status, 200)
        self.api.token, self.api.refresh = answer['accessToken'], answer['refreshToken']
        self.assertEqual(self.api.create(**gateway_fields())[0], 200)
        # refresh: false takes the refresh tokens too.
        self.fake.inject(kind='unauthorized', endpoint='gateways', refresh=False)
        self.assertEqual(self.api.call('GET', P('gateways'))[0], 401)
        status, _ = self.api.call('POST', P('refresh'), {'token': self.api.refresh}, token=False)
        self.assertEqual(status, 401)
        self.assertEqual(self.api.login()[0], 200)

    def test_noop(self):
        self.fake.seed({'gateways': [dict(gateway_fields(), id='gw-1')], 'domains': ['a.example']})
        before = self.fake.state()
        for endpoint, path, body in (
                ('gateway-create', P('gateway-create'), {'gateway': gateway_fields()}),
                ('gateway-update', P('gateway-update', id='gw-1'), {'gateway': {'port': 2525}}),
                ('domain-update', P('domain-update', domain='a.example'),
                 {'domainSettings': {MAPPING.f('domain-gateway'): 'gw-1'}}),
                ('gateway-delete', P('gateway-delete', id='gw-1'), None)):
            self.fake.inject(kind='noop', endpoint=endpoint)
            status, answer = self.api.call('POST', path, body)
            self.assertEqual((status, answer['success']), (200, True), endpoint)
        self.assertEqual(self.fake.state(), before)

    def test_apply_then_fail(self):
        self.fake.inject(kind='status', status=500, apply=True, endpoint='gateway-create')
        self.assertEqual(self.api.create(**gateway_fields())[0], 500)
        self.assertEqual(len(self.fake.state()['gateways']), 1)

    def test_latency_expires_tokens(self):
        self.fake.configure(token_lifetime=1, latency=0.6)
        self.api.login()
        self.assertEqual(self.api.call('GET', P('gateways'))[0], 200)
        self.assertEqual(self.api.call('GET', P('gateways'))[0], 401)

    def test_bad_fault(self):
        with self.assertRaises(fake_client.ControlError):
            self.fake.inject(kind='explode')
        with self.assertRaises(fake_client.ControlError):
            self.fake.inject(kind='status', endpoint='no-such-endpoint')


class TestProcessAndMapping(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='smartermail-fake-test-')
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_mapping_drives_the_fake(self):
        with open(fake_client.DEFAULT_MAPPING) as f:
            data = json.load(f)
        data['endpoints']['gateways']['path'] = '/api/v1/settings/sysadmin/outbound-gateways'
        data['fields']['gateways']['name'] = 'outboundGateways'
        data['fields']['gateway-address']['name'] = 'serverAddress'
        data['values']['encryption-tls']['value'] = 'Tls'
        mapping = os.path.join(self.tmp, 'mapping.json')
        with open(mapping, 'w') as f:
            json.dump(data, f)
        with fake_client.FakeProcess(self.tmp, password=ADMIN_PW, mapping=mapping) as fake:
            api = Api(fake.url, fake.ssl_context())
            api.login()
            self.assertEqual(api.call('GET', '/api/v1/settings/sysadmin/gateways')[0], 404)
            status, answer = api.call('GET', '/api/v1/settings/sysadmin/outbound-gateways')
            self.assertEqual((status, answer), (200, {'success': True, 'outboundGateways': []}))
            fields = gateway_fields(encryption='Tls')
            fields['serverAddress'] = fields.pop('address')
            status, answer = api.create(**fields)
            self.assertEqual(status, 200, answer)
            self.assertEqual(api.create(**gateway_fields(encryption='SSL'))[0], 400)

    def test_plain_http_and_sigterm(self):
        fake = fake_client.FakeProcess(self.tmp, password=ADMIN_PW, plain=True).start()
        try:
            self.assertTrue(fake.url.startswith('http://'))
            api = Api(fake.url, None)
            self.assertEqual(api.login()[0], 200)
            pid = fake.proc.pid
            fake.proc.send_signal(signal.SIGTERM)
            self.assertEqual(fake.proc.wait(10), 0)
            with self.assertRaises(ProcessLookupError):
                os.kill(pid, 0)
        finally:
            fake.stop()

    def test_sigterm_during_slow_reply(self):
        with fake_client.FakeProcess(self.tmp, password=ADMIN_PW) as fake:
            fake.inject(kind='slow', delay=60, endpoint='login')
            s = socket.create_connection(('127.0.0.1', fake.port))
            tls = fake.ssl_context().wrap_socket(s, server_hostname='127.0.0.1')
            body = b'{"username": "admin", "password": "x"}'
            tls.sendall(b'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s'
                        % (P('login').encode(), len(body), body))
            time.sleep(0.3)
            start = time.monotonic()
            fake.proc.send_signal(signal.SIGTERM)
            self.assertEqual(fake.proc.wait(10), 0)
            self.assertLess(time.monotonic() - start, 5)
            tls.close()

    def test_in_process(self):
        with fake_smartermail.FakeSmarterMail(mapping=fake_client.DEFAULT_MAPPING, password=ADMIN_PW,
                                              cert_dir=os.path.join(self.tmp, 'certs')) as fake:
            ctx = ssl.create_default_context(cafile=os.path.join(self.tmp, 'certs', 'ca.pem'))
            api = Api(fake.url, ctx)
            fake.seed({'domains': ['a.example']})
            self.assertEqual(api.login()[0], 200)
            self.assertEqual(api.call('GET', P('domains'))[1]['data'], [{'name': 'a.example'}])
            fake.inject(kind='failure', endpoint='domains')
            self.assertIs(api.call('GET', P('domains'))[1]['success'], False)
            self.assertEqual([e['endpoint'] for e in fake.log()], ['login', 'domains', 'domains'])

    def test_bad_mapping_is_refused(self):
        mapping = os.path.join(self.tmp, 'mapping.json')
        with open(mapping, 'w') as f:
            json.dump({'format': 1, 'endpoints': {}, 'fields': {}, 'values': {}}, f)
        pw = os.path.join(self.tmp, 'pw')
        with open(pw, 'w') as f:
            f.write('x\n')
        proc = subprocess.run([fake_client.PYTHON, fake_client.FAKE, '--plain', '--mapping', mapping,
                               '--password-file', pw], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=30)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn('missing or malformed entry', proc.stdout)


if __name__ == '__main__':
    unittest.main(verbosity=2)
