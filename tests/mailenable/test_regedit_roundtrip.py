#!/usr/bin/python3
# test_regedit_roundtrip.py: the MailEnable backend's .reg codec against a
# real regedit, Wine's, in a private prefix
#
#   test_regedit_roundtrip.py REG-TOOL
#
# A seed (written here, UTF-16LE) puts the connector key in Wine's
# registry with a value the patch deletes and one it does not mention;
# the patch written by the library (reg-tool write-patch) is imported with
# `regedit /S`; the key exported with `regedit /E` is read back by the
# library (reg-tool dump). What regedit holds is what the patch says: its
# strings (non-ASCII, a newline, quotes and backslashes), dword and binary
# data byte for byte, the deleted value gone, the other one kept. Wine's
# export is UTF-16LE with a byte-order mark, as Windows writes it.
#
# The prefix, HOME and the XDG directories are in a temporary directory,
# removed at the end (its wineserver killed first), whatever happens. Exit
# status 77 (skipped) without wine.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run with /usr/bin/python3 (standard library only).

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

KEY = r'HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\Mail Enable\Mail Enable\Connectors\SMTP'
REG_SZ, REG_BINARY, REG_DWORD = 1, 3, 4

REG_TOOL = None

SEED = ('Windows Registry Editor Version 5.00\r\n'
        '\r\n'
        '[' + KEY + ']\r\n'
        '"SmartHost"="old.example.com"\r\n'
        '"Obsolete"="to be deleted"\r\n'
        '"Keep"=dword:0000002a\r\n'
        '\r\n')


def sz(text):
    return (text + '\0').encode('utf-16-le').hex()


# What reg-tool write-patch writes (tests/mailenable/reg-tool.c).
PATCHED = {
    'SmartHost': (REG_SZ, sz('smtp.example.net')),
    'SmartHostPort': (REG_DWORD, '4b020000'),
    'Banner': (REG_SZ, sz('Grüße ✓\nsecond line "quoted" C:\\Mail')),
    'Blob': (REG_BINARY, bytes((i * 37 + 1) & 0xff for i in range(64)).hex()),
}


def dump(path):
    """The keys of a .reg file as the library reads it:
    (header dict, {key path: {name: (type, hex) or None when deleted}})."""
    out = subprocess.run([REG_TOOL, 'dump', path], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    header, keys, values = {}, {}, None
    for line in out.splitlines():
        fields = line.split('\t')
        if fields[0] in ('encoding', 'version'):
            header[fields[0]] = fields[1]
        elif fields[0] == 'key':
            values = keys.setdefault(fields[1], {})
        elif fields[0] == 'value' and fields[2] == 'deleted':
            values[fields[1]] = None
        elif fields[0] == 'value':
            values[fields[1]] = (int(fields[2]), fields[3])
        else:
            raise AssertionError('reg-tool dump: unexpected line %r' % line)
    return header, keys


class Wine:
    """A Wine prefix of its own, everything under one temporary directory."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix='smarthost-regedit.')
        home = os.path.join(self.tmp, 'home')
        env = dict(os.environ)
        for name in ('DISPLAY', 'WAYLAND_DISPLAY'):
            env.pop(name, None)
        env.update({
            'HOME': home,
            'XDG_CONFIG_HOME': os.path.join(home, '.config'),
            'XDG_DATA_HOME': os.path.join(home, '.local', 'share'),
            'XDG_CACHE_HOME': os.path.join(home, '.cache'),
            'XDG_STATE_HOME': os.path.join(home, '.local', 'state'),
            'XDG_RUNTIME_DIR': os.path.join(self.tmp, 'run'),
            'WINEPREFIX': os.path.join(self.tmp, 'wine'),
            'WINEARCH': 'win64',
            'WINEDEBUG': '-all',
            'WINEDLLOVERRIDES': 'winemenubuilder.exe=d;mscoree=d;mshtml=d',
        })
        self.env = env
        os.makedirs(home)
        os.makedirs(env['XDG_RUNTIME_DIR'], mode=0o700)
        os.makedirs(env['WINEPREFIX'])

    def run(self, *argv, timeout=60):
        # A wine process started here must not hold the test's pipes open
        # after it ends: its output goes to a file.
        log = os.path.join(self.tmp, 'wine.log')
        with open(log, 'w') as out:
            result = subprocess.run(list(argv), env=self.env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
        if result.returncode != 0:
            with open(log, errors='replace') as f:
                raise AssertionError('%s: exit %d\n%s' % (' '.join(argv), result.returncode, f.read()))

    def start(self):
        # The wineserver first and alone (see scripts/test-windows.sh); then
        # the prefix. `wineserver -w` hangs headless: it is killed at the end.
        self.run('wineserver', '-p', timeout=30)
        self.run('wine', 'wineboot', '-i', timeout=150)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def win_path(self, name):
        return 'Z:' + self.path(name).replace('/', '\\')

    def regedit_import(self, name):
        self.run('wine', 'regedit', '/S', self.win_path(name))

    def regedit_export(self, name, key):
        self.run('wine', 'regedit', '/E', self.win_path(name), key)
        with open(self.path(name), 'rb') as f:
            return f.read()

    def close(self):
        try:
            subprocess.run(['wineserver', '-k'], env=self.env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


class RegeditRoundTrip(unittest.TestCase):
    wine = None

    @classmethod
    def setUpClass(cls):
        cls.wine = Wine()
        try:
            cls.wine.start()
            with open(cls.wine.path('seed.reg'), 'wb') as f:
                f.write(b'\xff\xfe' + SEED.encode('utf-16-le'))
            cls.wine.regedit_import('seed.reg')
            cls.seeded = cls.wine.regedit_export('seeded.reg', KEY)
            subprocess.run([REG_TOOL, 'write-patch', cls.wine.path('patch.reg')], check=True, timeout=30)
            cls.wine.regedit_import('patch.reg')
            cls.exported = cls.wine.regedit_export('out.reg', KEY)
        except BaseException:
            cls.wine.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.wine.close()

    def test_export_is_utf16le_with_bom(self):
        for data in (self.seeded, self.exported):
            self.assertEqual(data[:2], b'\xff\xfe')
            text = data[2:].decode('utf-16-le')
            self.assertTrue(text.startswith('Windows Registry Editor Version 5.00\r\n'), text[:80])
        header, _ = dump(self.wine.path('out.reg'))
        self.assertEqual(header, {'encoding': 'utf16le', 'version': '5'})

    def test_seed_was_there(self):
        _, keys = dump(self.wine.path('seeded.reg'))
        values = keys[KEY]
        self.assertEqual(values['Obsolete'], (REG_SZ, sz('to be deleted')))
        self.assertEqual(values['Keep'], (REG_DWORD, '2a000000'))
        self.assertEqual(values['SmartHost'], (REG_SZ, sz('old.example.com')))

    def test_patch_as_written(self):
        with open(self.wine.path('patch.reg'), 'rb') as f:
            self.assertEqual(f.read(2), b'\xff\xfe')
        header, keys = dump(self.wine.path('patch.reg'))
        self.assertEqual(header, {'encoding': 'utf16le', 'version': '5'})
        self.assertEqual(keys, {KEY: dict(PATCHED, Obsolete=None)})

    def test_regedit_holds_the_patch(self):
        _, keys = dump(self.wine.path('out.reg'))
        self.assertIn(KEY, keys)
        values = keys[KEY]
        for name, expected in PATCHED.items():
            self.assertEqual(values.get(name), expected, name)
        # Deleted by the patch; kept (not mentioned); nothing else.
        self.assertNotIn('Obsolete', values)
        self.assertEqual(values.get('Keep'), (REG_DWORD, '2a000000'))
        self.assertEqual(set(values), set(PATCHED) | {'Keep'})

    def test_hex_wrapped_as_regedit_wraps(self):
        # The binary value's lines, ",\" and the two-space indent included,
        # are the ones regedit itself writes for the same bytes.
        def blob_lines(data):
            lines = data[2:].decode('utf-16-le').split('\r\n')
            start = next(i for i, line in enumerate(lines) if line.startswith('"Blob"='))
            end = start
            while lines[end].endswith('\\'):
                end += 1
            return lines[start:end + 1]

        with open(self.wine.path('patch.reg'), 'rb') as f:
            ours = blob_lines(f.read())
        self.assertGreater(len(ours), 2)
        self.assertEqual(ours, blob_lines(self.exported))


def main():
    global REG_TOOL
    if len(sys.argv) < 2:
        print('usage: test_regedit_roundtrip.py REG-TOOL', file=sys.stderr)
        return 2
    REG_TOOL = sys.argv.pop(1)
    if shutil.which('wine') is None or shutil.which('wineserver') is None:
        print('wine is not installed: skipped')
        return 77
    program = unittest.main(exit=False, verbosity=2)
    return 0 if program.result.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
