#!/usr/bin/python3
# test_ansible_mailenable.py: the Ansible module (ansible/library/smarthost.py)
# with backend: mailenable, on a .reg export
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Debian's ansible-playbook runs the module on localhost (connection local,
# /usr/bin/python3 with python3-gi and the uninstalled typelib), with
# backend_options reg_file, output and state_directory: the way a Linux
# fleet controller makes the patch it then imports on each MailEnable
# server (doc/mailenable.md). Check mode (changed, nothing written), the
# real run (the patch and its undo patch), the same run again (not
# changed, nothing written), what MailEnable cannot do (failed, nothing
# written), and the password in no output, result or file but the patch.
#
# Exits 77 (skipped) without ansible-playbook.

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ANSIBLE_PLAYBOOK = shutil.which('ansible-playbook')
LIBRARY = os.environ.get('SMARTHOST_ANSIBLE_LIBRARY') or os.path.join(HERE, '..', '..', 'ansible', 'library')
PYTHON = '/usr/bin/python3'
PASSWORD = 'Ans-ME-Relay-S3cret-4b1d'
KEY = r'HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Mail Enable\Mail Enable\Connectors\SMTP'
EXPORT = ('Windows Registry Editor Version 5.00\r\n\r\n[' + KEY + ']\r\n'
          '"Host Name"="mail.example.com"\r\n\r\n')


class AnsibleMailEnableTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='smarthost-ansible-me-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.export = os.path.join(self.tmp, 'smtp.reg')
        with open(self.export, 'wb') as f:
            f.write(b'\xff\xfe' + EXPORT.encode('utf-16-le'))
        self.out_dir = os.path.join(self.tmp, 'out')
        os.mkdir(self.out_dir)
        self.pw_file = os.path.join(self.tmp, 'relay-pw')
        fd = os.open(self.pw_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(PASSWORD + '\n')
        self.runs = 0

    def play(self, server, check=False):
        self.runs += 1
        result_file = os.path.join(self.tmp, 'result-%d.json' % self.runs)
        args = {'backend': 'mailenable', 'server': server,
                'backend_options': {'reg_file': self.export, 'output': os.path.join(self.out_dir, 'smarthost.reg'),
                                    'state_directory': self.out_dir}}
        playbook = [{
            'hosts': 'localhost', 'gather_facts': False,
            'vars': {'ansible_python_interpreter': PYTHON},
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
            'HOME': self.tmp, 'ANSIBLE_LIBRARY': os.path.abspath(LIBRARY), 'ANSIBLE_PYTHON_INTERPRETER': PYTHON,
            'ANSIBLE_CONFIG': os.path.join(self.tmp, 'no-ansible.cfg'),
            'ANSIBLE_LOCAL_TEMP': os.path.join(self.tmp, 'ansible-local'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(self.tmp, 'ansible-remote'),
            'ANSIBLE_HOME': os.path.join(self.tmp, 'ansible-home'), 'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0', 'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0', 'ANSIBLE_STDOUT_CALLBACK': 'default',
        })
        argv = [ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', '--diff', '-vvv', path]
        if check:
            argv.insert(1, '--check')
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=self.tmp)
        output = proc.stdout + proc.stderr
        self.assertNotIn(PASSWORD, output)
        self.assertEqual(proc.returncode, 0, output[-4000:])
        with open(result_file) as f:
            text = f.read()
        self.assertNotIn(PASSWORD, text)
        return json.loads(text)

    def files(self):
        out = {}
        for name in sorted(os.listdir(self.out_dir)):
            st = os.stat(os.path.join(self.out_dir, name))
            out[name] = (st.st_ino, st.st_mtime_ns, st.st_mode & 0o777)
        return out

    def test_life_cycle(self):
        server = {'host': 'smtp.relay.example', 'port': 2525, 'security': 'none', 'username': 'relay-user',
                  'password_file': self.pw_file}
        r = self.play(server, check=True)
        self.assertTrue(r['changed'], r)
        self.assertEqual(self.files(), {})

        r = self.play(server)
        self.assertTrue(r['changed'], r)
        self.assertEqual(r['server']['host'], 'smtp.relay.example')
        files = self.files()
        self.assertEqual(sorted(files), ['smarthost.reg', 'smarthost.undo.reg'])
        self.assertEqual(files['smarthost.reg'][2], 0o600)
        with open(os.path.join(self.out_dir, 'smarthost.reg'), 'rb') as f:
            self.assertIn(('"SmartHost Password"="%s"' % PASSWORD).encode('utf-16-le'), f.read())

        r = self.play(server)
        self.assertFalse(r['changed'], r)
        self.assertEqual(self.files(), files)

        r = self.play(dict(server, security='starttls'))
        self.assertTrue(r.get('failed'), r)
        self.assertIn('falls back to plain text', r['msg'])
        self.assertEqual(self.files(), files)


if __name__ == '__main__':
    if ANSIBLE_PLAYBOOK is None:
        print("ansible-playbook is not installed (Debian's ansible package)", file=sys.stderr)
        sys.exit(77)
    unittest.main(verbosity=2)
