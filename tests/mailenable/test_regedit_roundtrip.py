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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wineprefix import Wine  # noqa: E402

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
