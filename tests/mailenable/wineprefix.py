# wineprefix.py: a Wine prefix of its own for a test, everything under one
# temporary directory (HOME, the XDG directories, WINEPREFIX), its
# wineserver started first and alone, killed at the end
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess
import tempfile


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
            # The wineserver's socket directory (wine-XXXXXX) goes here.
            'TMPDIR': os.path.join(self.tmp, 'tmp'),
            'WINEARCH': 'win64',
            'WINEDEBUG': '-all',
            'WINEDLLOVERRIDES': 'winemenubuilder.exe=d;mscoree=d;mshtml=d',
        })
        self.env = env
        os.makedirs(home)
        os.makedirs(env['XDG_RUNTIME_DIR'], mode=0o700)
        os.makedirs(env['WINEPREFIX'])
        os.makedirs(env['TMPDIR'])

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
