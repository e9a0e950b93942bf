#!/usr/bin/python3
# test_ansible_smartermail.py: the Ansible module (ansible/library/smarthost.py)
# with backend: smartermail, against the fake SmarterMail web API
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Debian's ansible-playbook runs the module on localhost (connection local,
# /usr/bin/python3 with python3-gi and the uninstalled typelib, as
# tests/e2e/test_ansible.py does for Postfix); the fake
# (tests/smartermail/fake_smartermail.py, HTTPS with a throwaway test CA)
# is started once per test by fake_client.FakeProcess, and its state and
# request log are what the tests assert.
#
# The backend's settings go in backend_options: url, admin, ca_file,
# state_directory, timeout, and the administrator's password as
# admin_password. How the secret is passed: the module has no
# "admin-password-file" form (that is smarthostctl's --option KEY-file=PATH,
# which the module does not take: backend_options go to the library as
# they are). The module documents that a secret setting's value is never
# logged or returned: it asks the library which settings are secret and
# adds their values to no_log_values before the arguments are checked. So
# the playbook reads the password from a file on the controller,
# "{{ lookup('file', PATH) }}", and passes it inline, masked; the test
# proves that the password appears nowhere in ansible's output (at -vvv,
# which includes -v, with --diff) nor in a result. The relays' passwords
# are given both ways the module takes them: the server's as password_file,
# the domains' inline.
#
# Life cycle: check mode (changed, no write request); the real run (one
# round-robin gateway for the server, one shared specific-domains gateway
# for both domains); the same run again (not changed, no write request);
# one domain removed (changed); no password in ansible's output or the
# state directory; a wrong administrator's password (the task fails naming
# the user, not the password, and nothing is written); a misspelled secret
# setting (refused, its value masked too).
#
# Exits 77 (skipped) without ansible-playbook or the smartermail backend.

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fake_client  # noqa: E402
import fake_smartermail  # noqa: E402

ANSIBLE_PLAYBOOK = shutil.which('ansible-playbook')
LIBRARY = os.environ.get('SMARTHOST_ANSIBLE_LIBRARY') or os.path.join(HERE, '..', '..', 'ansible', 'library')
PYTHON = '/usr/bin/python3'
MAPPING_FILE = os.environ.get('SMARTHOST_SMARTERMAIL_MAPPING', fake_client.DEFAULT_MAPPING)
M = fake_smartermail.Mapping(MAPPING_FILE)
F = M.f
V = M.v

ADMIN = 'ansible-sm-admin'
ADMIN_PW = 'Ans-Adm1n-S3cret-pw-2d6b'
WRONG_ADMIN_PW = 'Ans-Wrong-Adm1n-pw-8e4c'
RELAY_PW = 'Ans-Relay-S3cret-key-5a9f'
OTHER_PW = 'Ans-Other-S3cret-key-3c7d'
TYPO_PW = 'Ans-Typo-S3cret-pw-6f1e'
SECRETS = (ADMIN_PW, WRONG_ADMIN_PW, RELAY_PW, OTHER_PW, TYPO_PW)


def backend_missing():
    """Why these tests cannot run, or None."""
    if ANSIBLE_PLAYBOOK is None:
        return "ansible-playbook is not installed (Debian's ansible package)"
    script = ("import gi\n"
              "gi.require_version('Smarthost', '1.0')\n"
              "from gi.repository import Smarthost\n"
              "Smarthost.Backend.list_settings_for_name('smartermail')\n")
    proc = subprocess.run([PYTHON, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=60)
    if proc.returncode != 0:
        return 'the smartermail backend cannot be reached through GI: ' + proc.stdout.strip()[-500:]
    return None


def domain(name):
    s = fake_smartermail.default_domain_settings(name)
    s[F('domain-gateway')] = ''
    return {F('domain-name'): name, F('domain-settings'): s}


class AnsibleSmarterMailTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='smarthost-ansible-sm-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.state_dir = os.path.join(self.tmp, 'state')
        os.makedirs(self.state_dir, mode=0o700)
        self.fake = fake_client.FakeProcess(os.path.join(self.tmp, 'fake'), admin=ADMIN, password=ADMIN_PW,
                                            mapping=MAPPING_FILE)
        self.fake.start()
        self.addCleanup(self.fake.stop)
        self.fake.seed({'domains': [domain('a.example'), domain('b.example'), domain('c.example')]})
        self.admin_pw_file = self.write_file('admin-pw', ADMIN_PW + '\n')
        self.wrong_pw_file = self.write_file('wrong-admin-pw', WRONG_ADMIN_PW + '\n')
        self.relay_pw_file = self.write_file('relay-pw', RELAY_PW + '\n')
        self.runs = 0

    def write_file(self, name, text):
        path = os.path.join(self.tmp, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        return path

    # --- running a playbook -----------------------------------------------

    def backend_options(self, admin_pw_file=None):
        return {
            'url': self.fake.url,
            'admin': ADMIN,
            # Read on the controller, passed inline: the module masks the
            # value of every setting the backend declares secret.
            'admin_password': "{{ lookup('file', '%s') }}" % (admin_pw_file or self.admin_pw_file),
            'ca_file': self.fake.ca_file,
            'state_directory': self.state_dir,
            'timeout': 10,
        }

    def play(self, args, check=False, expect_failed=False, admin_pw_file=None, extra_options=None):
        """Runs one smarthost task (ignore_errors, its result registered and
        saved) at -vvv with --diff; returns the result. Asserts that no
        password is printed or in the result."""
        self.runs += 1
        result_file = os.path.join(self.tmp, 'result-%d.json' % self.runs)
        options = dict(self.backend_options(admin_pw_file), **(extra_options or {}))
        args = dict(args, backend='smartermail', backend_options=options)
        playbook = [{
            'hosts': 'localhost',
            'gather_facts': False,
            'vars': {'ansible_python_interpreter': PYTHON},
            # How an uninstalled build is reached on the managed host.
            'environment': {k: os.environ.get(k, '') for k in
                            ('GI_TYPELIB_PATH', 'LD_LIBRARY_PATH', 'SMARTHOST_POLICY')},
            'tasks': [
                {'name': 'smarthost', 'smarthost': args, 'register': 'r', 'ignore_errors': True},
                {'name': 'save result', 'ansible.builtin.copy': {'content': '{{ r | to_json }}',
                                                                 'dest': result_file},
                 'check_mode': False, 'diff': False},
            ],
        }]
        path = os.path.join(self.tmp, 'playbook-%d.yml' % self.runs)
        with open(path, 'w') as f:
            json.dump(playbook, f, indent=2)      # JSON is YAML

        env = {k: v for k, v in os.environ.items()
               if k.lower() not in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy')}
        env.update({
            'HOME': self.tmp,
            'ANSIBLE_LIBRARY': os.path.abspath(LIBRARY),
            'ANSIBLE_PYTHON_INTERPRETER': PYTHON,
            'ANSIBLE_CONFIG': os.path.join(self.tmp, 'no-ansible.cfg'),
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.tmp, 'ansible-local'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(self.tmp, 'ansible-remote'),
            'ANSIBLE_HOME': os.path.join(self.tmp, 'ansible-home'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'ANSIBLE_STDOUT_CALLBACK': 'default',
        })
        argv = [ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', '--diff', '-vvv', path]
        if check:
            argv.insert(1, '--check')
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=self.tmp)
        output = proc.stdout + proc.stderr
        self.assert_no_secret(output, "ansible's output")
        self.assertEqual(proc.returncode, 0, output[-4000:])
        with open(result_file) as f:
            text = f.read()
        self.assert_no_secret(text, 'the result')
        result = json.loads(text)
        if not expect_failed:
            self.assertFalse(result.get('failed'), '%s\n%s' % (result.get('msg'), output[-4000:]))
        self.output = output
        return result

    # --- helpers ----------------------------------------------------------

    def assert_no_secret(self, text, where):
        for secret in SECRETS:
            self.assertNotIn(secret, text, 'a password in %s' % where)

    def assert_state_dir_clean(self):
        files = 0
        for root, _, names in os.walk(self.state_dir):
            for name in names:
                files += 1
                with open(os.path.join(root, name), 'rb') as f:
                    data = f.read()
                for secret in SECRETS:
                    self.assertNotIn(secret.encode(), data, 'a password in %s' % name)
        self.assertGreater(files, 0, 'the state directory was used (the gateways\' password verifiers)')

    def writes(self):
        return self.fake.writes()

    def gateway_of(self, name, state):
        for d in state['domains']:
            if d[F('domain-name')] == name:
                return d[F('domain-settings')].get(F('domain-gateway')) or ''
        raise KeyError(name)

    SERVER = {'host': 'smtp.sendgrid.net', 'port': 587, 'security': 'starttls', 'username': 'apikey'}
    SHARED = {'host': 'smtp.eu.mailgun.org', 'security': 'tls', 'username': 'postmaster@shop.example'}

    def desired(self, domains=('a.example', 'b.example')):
        return {
            'server': dict(self.SERVER, password_file=self.relay_pw_file),
            'domains': {name: dict(self.SHARED, password=OTHER_PW) for name in domains},
        }

    # --- the test ---------------------------------------------------------

    def test_life_cycle(self):
        pristine = self.fake.state()

        # (1) Check mode: would change; only reads reach the server.
        self.fake.clear_log()
        r = self.play(self.desired(), check=True)
        self.assertTrue(r['changed'])
        self.assertEqual(r['server']['host'], 'smtp.sendgrid.net')
        self.assertEqual(sorted(r['domains']), ['a.example', 'b.example'])
        self.assertIn('prepared', r.get('diff', {}), 'the preview is shown with --diff')
        self.assertEqual(self.writes(), [], 'check mode sent a write request')
        self.assertEqual(self.fake.state(), pristine, 'check mode changed the server')

        # (2) For real: one round-robin gateway for the server, one
        # specific-domains gateway shared by both domains.
        self.fake.clear_log()
        r = self.play(self.desired())
        self.assertTrue(r['changed'])
        self.assertTrue(self.writes(), 'the real run wrote nothing')
        self.assertEqual(r['server'], {
            'host': 'smtp.sendgrid.net', 'port': 587, 'security': 'starttls', 'mx_lookup': False,
            'verify_certificate': True, 'ca_file': None, 'username': 'apikey', 'password_set': True})
        self.assertEqual(sorted(r['domains']), ['a.example', 'b.example'])
        self.assertEqual(r['domains']['a.example']['port'], 465)
        self.assertTrue(all(d['password_set'] for d in r['domains'].values()))
        state = self.fake.state()
        gateways = {g[F('gateway-id')]: g for g in state['gateways']}
        self.assertEqual(len(gateways), 2, gateways)
        rr = [g for g in gateways.values() if g[F('gateway-mode')] == V('mode-round-robin')]
        sd = [g for g in gateways.values() if g[F('gateway-mode')] == V('mode-specific-domains')]
        self.assertEqual((len(rr), len(sd)), (1, 1), gateways)
        rr, sd = rr[0], sd[0]
        self.assertEqual((rr[F('gateway-address')], rr[F('gateway-port')], rr[F('gateway-encryption')],
                          rr[F('gateway-username')], rr[F('gateway-password')]),
                         ('smtp.sendgrid.net', 587, V('encryption-starttls'), 'apikey', RELAY_PW))
        self.assertEqual((sd[F('gateway-address')], sd[F('gateway-port')], sd[F('gateway-encryption')],
                          sd[F('gateway-username')], sd[F('gateway-password')]),
                         ('smtp.eu.mailgun.org', 465, V('encryption-tls'), 'postmaster@shop.example', OTHER_PW))
        self.assertEqual(self.gateway_of('a.example', state), sd[F('gateway-id')])
        self.assertEqual(self.gateway_of('b.example', state), sd[F('gateway-id')])
        self.assertEqual(self.gateway_of('c.example', state), '')

        # (3) The same again, in check mode and for real: not changed, no write.
        self.fake.clear_log()
        r = self.play(self.desired(), check=True)
        self.assertFalse(r['changed'])
        r = self.play(self.desired())
        self.assertFalse(r['changed'], 'not idempotent')
        self.assertNotIn('diff', r)
        self.assertEqual(self.writes(), [], 'an unchanged run wrote something')
        self.assertEqual(self.fake.state(), state)

        # (4) One domain removed (exclusive, the default: it is not listed).
        self.fake.clear_log()
        r = self.play(self.desired(domains=('a.example',)))
        self.assertTrue(r['changed'])
        self.assertEqual(sorted(r['domains']), ['a.example'])
        self.assertEqual(r['server']['host'], 'smtp.sendgrid.net')
        after = self.fake.state()
        self.assertEqual(self.gateway_of('a.example', after), sd[F('gateway-id')])
        self.assertEqual(self.gateway_of('b.example', after), '')
        self.assertEqual(sorted(g[F('gateway-id')] for g in after['gateways']), sorted(gateways))
        self.assertEqual([w['endpoint'] for w in self.writes()], ['domain-update'])

        # (5) No password in the state directory (ansible's output and the
        # results were checked on every run by play()); nor in the log.
        self.assert_state_dir_clean()
        self.assert_no_secret(json.dumps(self.fake.log()), "the fake's request log")

    def test_wrong_admin_password(self):
        # (6) The task fails naming the user, never the password; nothing is written.
        before = self.fake.state()
        self.fake.clear_log()
        r = self.play(self.desired(), admin_pw_file=self.wrong_pw_file, expect_failed=True)
        self.assertTrue(r.get('failed'), r)
        self.assertFalse(r.get('changed'))
        self.assertIn('"%s"' % ADMIN, r.get('msg', ''))
        self.assertEqual(self.writes(), [])
        self.assertEqual(self.fake.state(), before)
        self.assertIn(ADMIN, self.output, 'the message is shown')

    def test_misspelled_secret_setting(self):
        # A setting the backend does not know may be a misspelled secret
        # one: the task fails listing the known names, and the value (shown
        # at -vvv among the module's arguments) is masked like a secret's.
        before = self.fake.state()
        r = self.play(self.desired(), expect_failed=True, extra_options={'admin_pasword': TYPO_PW})
        self.assertTrue(r.get('failed'), r)
        self.assertIn('no setting "admin-pasword"', r.get('msg', ''))
        self.assertIn('admin-password', r.get('msg', ''))
        self.assertIn('admin_pasword', self.output, 'the arguments are shown at -vvv')
        self.assertEqual(self.fake.state(), before)


def main():
    missing = backend_missing()
    if missing:
        print('SKIP: ' + missing)
        return 77
    program = unittest.main(exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
