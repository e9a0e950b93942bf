#!/usr/bin/python3
# test_cli_mailenable.py: smarthostctl --backend mailenable on .reg exports,
# end to end, and its patches through a real regedit (Wine's)
#
#   test_cli_mailenable.py       (SMARTHOSTCTL names the binary)
#
# Export mode (settings reg-file and output): status, a dry run that writes
# nothing and masks the password, set-server writing the patch and its undo
# patch (UTF-16LE with a BOM, 0600 when they hold a password, the export
# untouched, every other value unnamed), a repeat that writes nothing,
# unset-server, what MailEnable cannot do refused with nothing written,
# malformed exports refused with their line, an output that is not ours
# never replaced, schema-check with the built-in and a corrected schema,
# and `check` of the configured relay against a relay started here.
#
# Then Wine: the export imported into a private prefix's registry with
# regedit /S, the patch imported, the key exported with regedit /E and read
# by smarthostctl (the relay as set, the other values kept), the undo patch
# imported, and the key back as it was.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run with /usr/bin/python3 (standard library only).

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wineprefix import Wine  # noqa: E402

SMARTHOSTCTL = os.environ.get('SMARTHOSTCTL')
KEY = r'HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Mail Enable\Mail Enable\Connectors\SMTP'
PASSWORD = 'Me-Pa55-cli-secret'

EXPORT = ('Windows Registry Editor Version 5.00\r\n'
          '\r\n'
          '[' + KEY + ']\r\n'
          '"Host Name"="mail.example.com"\r\n'
          '"Outbound Interface"="192.0.2.5"\r\n'
          '"Maximum Send Threads"=dword:00000014\r\n'
          '"Banner"=hex(2):25,00,43,00,4f,00,4d,00,50,00,55,00,54,00,45,00,52,00,4e,00,\\\r\n'
          '  41,00,4d,00,45,00,25,00,00,00\r\n'
          '\r\n')


def utf16(text):
    return b'\xff\xfe' + text.encode('utf-16-le')


def read_reg(path):
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:2] == b'\xff\xfe', path
    return data[2:].decode('utf-16-le')


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='smarthost-me-cli.')
        self.export = os.path.join(self.tmp, 'smtp.reg')
        with open(self.export, 'wb') as f:
            f.write(utf16(EXPORT))
        self.output = os.path.join(self.tmp, 'out', 'smarthost.reg')
        os.mkdir(os.path.dirname(self.output), 0o755)
        self.undo = os.path.join(self.tmp, 'out', 'smarthost.undo.reg')
        self.pwfile = os.path.join(self.tmp, 'pw')
        with open(self.pwfile, 'w') as f:
            f.write(PASSWORD + '\n')
        os.chmod(self.pwfile, 0o600)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def ctl(self, *args, reg_file=None, output=True, expect=0):
        argv = [SMARTHOSTCTL, '--backend', 'mailenable', '--option', 'reg-file=' + (reg_file or self.export)]
        if output:
            argv += ['--option', 'output=' + (self.output if output is True else output)]
        result = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=60)
        self.assertNotIn(PASSWORD, result.stdout + result.stderr)
        if expect is not None:
            self.assertEqual(result.returncode, expect, result.stdout + result.stderr)
        return result

    def set_server(self, *extra, expect=0):
        return self.ctl('set-server', 'smtp.relay.example', '--port', '2525', '--security', 'none',
                        '--user', 'relay-user', '--password-file', self.pwfile, *extra, expect=expect)

    def snapshot(self):
        out = {}
        for name in sorted(os.listdir(os.path.dirname(self.output))):
            path = os.path.join(os.path.dirname(self.output), name)
            st = os.stat(path)
            with open(path, 'rb') as f:
                out[name] = (st.st_ino, st.st_mtime_ns, st.st_mode, f.read())
        with open(self.export, 'rb') as f:
            out['export'] = f.read()
        return out

    def test_status_of_an_export(self):
        self.assertIn('none', self.ctl('status').stdout)
        state = json.loads(self.ctl('status', '--json').stdout)
        self.assertEqual((state['backend'], state['server'], state['domains']), ('mailenable', None, {}))
        self.assertEqual(self.ctl('list-domains').stdout.strip(), '')
        self.assertEqual(self.snapshot(), {'export': utf16(EXPORT)})

    def test_dry_run_writes_nothing(self):
        out = self.set_server('--dry-run').stdout
        self.assertIn('"SmartHost Server"="smtp.relay.example"', out)
        self.assertIn('"SmartHost Password"="********"', out)
        self.assertIn('no public source confirms the value names', out)
        self.assertIn('restart the service MESMTPCS', out)
        self.assertEqual(self.snapshot(), {'export': utf16(EXPORT)})

    def test_set_repeat_unset(self):
        self.set_server()
        patch, undo = read_reg(self.output), read_reg(self.undo)
        self.assertTrue(patch.startswith('Windows Registry Editor Version 5.00\r\n'))
        self.assertIn('[' + KEY + ']\r\n', patch)
        self.assertIn('"SmartHost Password"="%s"\r\n' % PASSWORD, patch)
        self.assertIn('"SmartHost Port"=dword:000009dd\r\n', patch)
        self.assertIn('"SmartHost Server"=-\r\n', undo)
        self.assertNotIn(PASSWORD, undo)
        for text in (patch, undo):
            for other in ('Host Name', 'Outbound Interface', 'Maximum Send Threads', 'Banner'):
                self.assertNotIn('"%s"' % other, text)
        self.assertEqual(os.stat(self.output).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.undo).st_mode & 0o777, 0o644)
        with open(self.export, 'rb') as f:
            self.assertEqual(f.read(), utf16(EXPORT))
        state = json.loads(self.ctl('status', '--json').stdout)
        self.assertEqual(state['server']['host'], 'smtp.relay.example')
        self.assertEqual(state['server']['port'], 2525)
        self.assertEqual(state['server']['security'], 'none')
        self.assertEqual(state['server']['username'], 'relay-user')

        # The same again writes nothing.
        before = self.snapshot()
        self.assertIn('No change', self.set_server().stdout)
        self.assertEqual(self.snapshot(), before)

        # Unset: the patch now turns the smart host off.
        self.ctl('unset-server')
        patch = read_reg(self.output)
        self.assertIn('"SmartHost Enabled"=dword:00000000\r\n', patch)
        self.assertNotIn('SmartHost Server', patch)
        self.assertNotIn(PASSWORD, patch)
        self.assertIn('none', self.ctl('status').stdout)

    def test_refused_changes_write_nothing(self):
        for args, word in ((['set-server', 'smtp.relay.example', '--security', 'starttls'], 'falls back'),
                           (['set-server', 'smtp.relay.example', '--port', '465', '--security', 'tls'], 'falls back'),
                           (['set-server', 'smtp.relay.example', '--security', 'none', '--mx-lookup'], 'MX'),
                           (['set-domain', 'shop.example', 'smtp.relay.example', '--security', 'none'],
                            'recipient')):
            result = self.ctl(*args, expect=2)
            self.assertIn(word, result.stderr)
        self.assertEqual(self.snapshot(), {'export': utf16(EXPORT)})

    def test_bad_settings(self):
        for output, word in ((os.path.join(self.tmp, 'patch.txt'), '.reg'), (self.export, 'export itself')):
            result = self.ctl('set-server', 'smtp.relay.example', '--security', 'none', output=output, expect=2)
            self.assertIn('output:', result.stderr)
            self.assertIn(word, result.stderr)
        result = self.ctl('set-server', 'smtp.relay.example', '--security', 'none', output=False, expect=2)
        self.assertIn('output:', result.stderr)
        result = self.ctl('status', reg_file=os.path.join(self.tmp, 'missing.reg'), expect=2)
        self.assertIn('reg-file:', result.stderr)
        self.assertEqual(self.snapshot(), {'export': utf16(EXPORT)})

    def test_malformed_exports(self):
        cases = [
            (b'REGEDIT5\r\n', 'line 1'),
            (b'\xfe\xff' + 'Windows Registry Editor Version 5.00\r\n'.encode('utf-16-be'), 'UTF-16'),
            (utf16(EXPORT) + b'\x00', 'odd'),
            (utf16(EXPORT.replace('"Host Name"="mail.example.com"', '"Host Name"="mail.example.com'
                                  + PASSWORD)), 'line 4'),
            (utf16(EXPORT.replace('dword:00000014', 'dword:0000001g')), 'line 6'),
            (utf16(EXPORT.replace('  41,00', '  4x,00')), 'line 8'),
            (utf16('Windows Registry Editor Version 5.00\r\n\r\n"Stray"="' + PASSWORD + '"\r\n'), 'line 3'),
            (utf16('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Other]\r\n'),
             'no key'),
            (utf16(EXPORT.replace('"Outbound Interface"="192.0.2.5"', '"Host Name"="x"')), 'twice'),
            (b'\xff\xfeW\x00\x00\xd8', 'UTF-16'),
        ]
        for data, word in cases:
            with open(self.export, 'wb') as f:
                f.write(data)
            result = self.ctl('set-server', 'smtp.relay.example', '--security', 'none', expect=2)
            self.assertIn('reg-file:', result.stderr)
            self.assertIn(word, result.stderr, data[:60])
            self.assertNotIn(PASSWORD, result.stderr)
            self.assertEqual(os.listdir(os.path.dirname(self.output)), [])

    def test_export_values_of_the_wrong_type(self):
        with open(self.export, 'wb') as f:
            f.write(utf16(EXPORT.replace('"Host Name"', '"SmartHost Enabled"=dword:00000001\r\n'
                                         '"SmartHost Server"=dword:00000001\r\n"Host Name"')))
        result = self.ctl('status', expect=2)
        self.assertIn('SmartHost Server', result.stderr)
        self.assertIn('REG_SZ', result.stderr)

    def test_hostile_files(self):
        if os.path.exists('/dev/zero'):
            result = self.ctl('status', reg_file='/dev/zero', expect=2)
            self.assertIn('reg-file:', result.stderr)
        fifo = os.path.join(self.tmp, 'fifo.reg')
        os.mkfifo(fifo)
        result = self.ctl('status', reg_file=fifo, expect=2)
        self.assertIn('reg-file:', result.stderr)
        # An output that is not ours is never replaced.
        with open(self.output, 'w') as f:
            f.write('my own notes\n')
        result = self.set_server(expect=1)
        self.assertIn('not a .reg patch libsmarthost wrote', result.stderr)
        with open(self.output) as f:
            self.assertEqual(f.read(), 'my own notes\n')
        os.unlink(self.output)
        # Nor written through a symbolic link.
        target = os.path.join(self.tmp, 'elsewhere.reg')
        os.symlink(target, self.output)
        result = self.set_server(expect=None)
        self.assertNotEqual(result.returncode, 0)
        self.assertFalse(os.path.exists(target))

    def test_stale_patch_is_replaced(self):
        self.set_server()
        with open(self.export, 'wb') as f:
            f.write(utf16(EXPORT.replace('192.0.2.5', '192.0.2.6')))
        # Made from another export: not laid over this one.
        self.assertIn('none', self.ctl('status').stdout)
        self.set_server()
        with open(self.export, 'rb') as f:
            self.assertIn('(sha256 %s)' % hashlib.sha256(f.read()).hexdigest(), read_reg(self.output))
        state = json.loads(self.ctl('status', '--json').stdout)
        self.assertEqual(state['server']['host'], 'smtp.relay.example')

    def test_schema_check(self):
        result = self.ctl('schema-check', expect=1)
        self.assertIn('value-missing', result.stdout)
        self.assertIn('"Host Name"', result.stdout)
        findings = json.loads(self.ctl('schema-check', '--json', expect=1).stdout)['findings']
        codes = {f['code'] for f in findings}
        self.assertIn('value-found', codes)
        # A corrected schema whose names the export holds.
        schema_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'backends',
                                   'mailenable', 'mailenable-schema.json')
        with open(schema_path) as f:
            schema = json.load(f)
        schema['values']['smarthost-server']['name'] = 'Outbound Interface'
        schema['values']['smarthost-server']['source'] = 'test'
        schema['sources']['test'] = 'this test'
        schema['neighbours']['outbound-interface']['name'] = 'Unused Neighbour'
        corrected = os.path.join(self.tmp, 'schema.json')
        with open(corrected, 'w') as f:
            json.dump(schema, f)
        result = self.ctl('--option', 'schema-file=' + corrected, 'schema-check', expect=1)
        self.assertIn('"Outbound Interface" (REG_SZ, smarthost-server; confirmed): present', result.stdout)
        # A damaged schema is refused, naming what is wrong.
        schema['values']['smarthost-port']['type'] = 'REG_BINARY'
        with open(corrected, 'w') as f:
            json.dump(schema, f)
        result = self.ctl('--option', 'schema-file=' + corrected, 'status', expect=2)
        self.assertIn('schema-file: values.smarthost-port', result.stderr)
        # Another export, given on the command line.
        other = os.path.join(self.tmp, 'other.reg')
        with open(other, 'wb') as f:
            f.write(utf16(EXPORT.replace('"Host Name"', '"SmartHost Relay Address"="x"\r\n"Host Name"')))
        result = self.ctl('schema-check', other, expect=1)
        self.assertIn('value-candidate', result.stdout)
        self.assertIn('"SmartHost Relay Address"', result.stdout)

    def test_doctor(self):
        # Nothing set: nothing wrong, beyond the unconfirmed names once a
        # smart host is read from them.
        self.assertEqual(json.loads(self.ctl('doctor', '--json').stdout)['findings'], [])
        cases = [
            ('"SmartHost Enabled"=dword:00000001\r\n', 1, {'enabled-without-server'}),
            ('"SmartHost Enabled"=dword:00000001\r\n"SmartHost Server"="smtp.x.example"\r\n'
             '"SmartHost Authentication"=dword:00000001\r\n', 1, {'auth-without-username', 'credentials-in-clear'}),
            ('"SmartHost Enabled"=dword:00000001\r\n"SmartHost Server"="smtp.x.example"\r\n'
             '"SmartHost Authentication"=dword:00000001\r\n"SmartHost Username"="u"\r\n'
             '"SmartHost Password"="' + PASSWORD + '"\r\n"Outbound TLS"=dword:00000001\r\n', 0,
             {'export-readable', 'schema-unconfirmed'}),
        ]
        for values, status, codes in cases:
            with open(self.export, 'wb') as f:
                f.write(utf16(EXPORT.replace('"Host Name"', values + '"Host Name"')))
            os.chmod(self.export, 0o644)
            result = self.ctl('doctor', '--json', expect=status)
            found = {f['code'] for f in json.loads(result.stdout)['findings']}
            self.assertTrue(codes <= found, (codes, found))
        os.chmod(self.export, 0o600)
        found = {f['code'] for f in json.loads(self.ctl('doctor', '--json').stdout)['findings']}
        self.assertNotIn('export-readable', found)
        self.assertEqual(self.snapshot()['export'][:2], b'\xff\xfe')
        self.assertEqual(os.listdir(os.path.dirname(self.output)), [])

    def test_check_the_configured_relay(self):
        # A relay on this machine, plain SMTP without authentication.
        relay_py = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e', 'relay.py')
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        ready = os.path.join(self.tmp, 'relay.ready')
        relay = subprocess.Popen(['/usr/bin/python3', relay_py, '--port', str(port), '--mode', 'plain',
                                  '--no-auth', '--ready-file', ready, '--record', os.path.join(self.tmp, 'relay.jsonl')],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(ready) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertTrue(os.path.exists(ready), 'the relay did not start')
            self.ctl('set-server', '127.0.0.1', '--port', str(port), '--security', 'none')
            result = self.ctl('check')
            self.assertIn('127.0.0.1', result.stdout)
        finally:
            relay.terminate()
            relay.wait(timeout=30)


@unittest.skipUnless(shutil.which('wine') and shutil.which('wineserver'), 'needs wine')
class ThroughRegedit(unittest.TestCase):
    """The export in a real registry (Wine's), the patch and the undo patch
    imported with regedit /S, the key read back with regedit /E."""

    def test_round_trip(self):
        wine = Wine()
        try:
            wine.start()
            with open(wine.path('smtp.reg'), 'wb') as f:
                f.write(utf16(EXPORT))
            wine.regedit_import('smtp.reg')
            before = wine.regedit_export('before.reg', KEY)
            base = [SMARTHOSTCTL, '--backend', 'mailenable']
            pw = wine.path('pw')
            with open(pw, 'w') as f:
                f.write(PASSWORD + '\n')

            def ctl(*args):
                result = subprocess.run(base + list(args), capture_output=True, text=True, timeout=60)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertNotIn(PASSWORD, result.stdout + result.stderr)
                return result.stdout

            ctl('--option', 'reg-file=' + wine.path('before.reg'), '--option', 'output=' + wine.path('patch.reg'),
                'set-server', 'smtp.relay.example', '--port', '2525', '--security', 'none',
                '--user', 'relay-user', '--password-file', pw)
            wine.regedit_import('patch.reg')
            wine.regedit_export('after.reg', KEY)
            state = json.loads(ctl('--option', 'reg-file=' + wine.path('after.reg'), 'status', '--json'))
            self.assertEqual(state['server']['host'], 'smtp.relay.example')
            self.assertEqual(state['server']['port'], 2525)
            self.assertEqual(state['server']['username'], 'relay-user')
            after = read_reg(wine.path('after.reg'))
            for kept in ('"Host Name"="mail.example.com"', '"Outbound Interface"="192.0.2.5"',
                         '"Maximum Send Threads"=dword:00000014'):
                self.assertIn(kept, after)
            self.assertIn('"SmartHost Password"="%s"' % PASSWORD, after)

            wine.regedit_import('patch.undo.reg')
            again = wine.regedit_export('again.reg', KEY)
            self.assertEqual(again, before)
            self.assertIn('none', ctl('--option', 'reg-file=' + wine.path('again.reg'), 'status'))
        finally:
            wine.close()


if __name__ == '__main__':
    if not SMARTHOSTCTL:
        print('SMARTHOSTCTL is not set', file=sys.stderr)
        sys.exit(2)
    unittest.main(verbosity=2)
