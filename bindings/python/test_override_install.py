#!/usr/bin/python3
# test_override_install.py MESON BUILD-DIR: the installed Python override is
# where the configured interpreter imports it
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The uninstalled tests find gi/overrides/Smarthost.py through PYTHONPATH,
# so they cannot notice an override installed where no interpreter looks
# (Meson's own choice put it in /usr/local/lib/python3/dist-packages, which
# Debian's python3 does not search). This checks the build's install plan
# instead of installing into the machine's directories:
#
# 1. The directory Meson installs gi/overrides into, for the configured
#    prefix, is one of the interpreter's site directories (site.
#    getsitepackages(), which sys.path holds once they exist). A prefix
#    under which the interpreter searches nothing (/opt/..., a home
#    directory) is skipped: there the user sets PYTHONPATH by design; so
#    is an explicit -Dpython.purelibdir, the builder's own choice.
# 2. `meson install --destdir TMP --tags python-runtime` (the override
#    alone, in a fraction of a second) puts it there, and an isolated
#    interpreter (-I: no PYTHONPATH, so not the source tree's copy) with
#    TMP + that directory on sys.path, the way the real one would be, takes
#    the installed file as the override of Smarthost: str() and repr()
#    come from it and do not show the password.
#
# The interpreter is the one running this test, /usr/bin/python3, the one
# Meson is configured with (bindings/meson.build).

import json
import os
import subprocess
import sys
import tempfile

SKIP = 77
PASSWORD = 'Fake-Pa55w0rd-xyzzy-0003'

CHILD = r'''
import sys
sys.path.append(sys.argv[1])
import gi
gi.require_version('Smarthost', '1.0')
from gi.repository import Smarthost
module = sys.modules['gi.overrides.Smarthost']
relay = Smarthost.Relay(host='smtp.example', port=587, username='u', password=sys.argv[2])
assert type(relay).__module__ == 'gi.overrides.Smarthost', type(relay).__module__
assert module.__file__ == sys.argv[3], (module.__file__, sys.argv[3])
assert str(relay) == relay.to_string(), str(relay)
assert repr(relay).startswith('<Smarthost.Relay '), repr(relay)
assert sys.argv[2] not in str(relay) + repr(relay)
print('ok:', module.__file__, repr(relay))
'''


def introspect(meson, build, what):
    out = subprocess.run([meson, 'introspect', build, what], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(out)


def under(path, prefix):
    return os.path.commonpath([os.path.normpath(path), os.path.normpath(prefix)]) == os.path.normpath(prefix)


def main():
    meson, build = sys.argv[1:3]
    options = {o['name']: o['value'] for o in introspect(meson, build, '--buildoptions')}
    prefix = options['prefix']
    if options.get('python.purelibdir'):
        print('skip: python.purelibdir=%s: the builder chose where Python modules go'
              % options['python.purelibdir'])
        sys.exit(SKIP)
    installed = [dest for dest in introspect(meson, build, '--installed').values()
                 if dest.endswith(os.path.join('gi', 'overrides', 'Smarthost.py'))]
    if len(installed) != 1:
        sys.exit('expected one installed gi/overrides/Smarthost.py, found %r' % installed)
    dest = installed[0]
    site_dir = os.path.dirname(os.path.dirname(os.path.dirname(dest)))

    probe = subprocess.run([sys.executable, '-I', '-c',
                            'import json, site, sys; print(json.dumps([site.getsitepackages(), sys.path]))'],
                           check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    site_dirs, path = json.loads(probe)
    site_dirs = [os.path.normpath(d) for d in site_dirs]
    if not any(under(d, prefix) for d in site_dirs):
        print('skip: %s searches no site directory under the prefix %s (%s); '
              'there the override needs PYTHONPATH' % (sys.executable, prefix, ', '.join(site_dirs)))
        sys.exit(SKIP)
    print('prefix %s: the override installs to %s' % (prefix, dest))
    if os.path.normpath(site_dir) not in site_dirs:
        sys.exit('%s is not a site directory of %s for the prefix %s (those are: %s)'
                 % (site_dir, sys.executable, prefix, ', '.join(site_dirs)))
    if os.path.isdir(site_dir) and site_dir not in [os.path.normpath(p) for p in path]:
        sys.exit('%s exists but is not on the sys.path of %s: %s' % (site_dir, sys.executable, path))

    with tempfile.TemporaryDirectory(prefix='smarthost-override-') as destdir:
        subprocess.run([meson, 'install', '-C', build, '--no-rebuild', '--quiet',
                        '--destdir', destdir, '--tags', 'python-runtime'], check=True)
        staged = destdir + dest
        if not os.path.isfile(staged):
            sys.exit('meson install did not put the override at %s' % staged)
        env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
        subprocess.run([sys.executable, '-I', '-c', CHILD, destdir + site_dir, PASSWORD, staged],
                       check=True, env=env)


if __name__ == '__main__':
    main()
