#!/usr/bin/python3
# example.py: configure smarthosts on Postfix with libsmarthost from Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: example.py [POSTFIX-CONFIG-DIR]
#
# Sets a server-wide smarthost and one for the sender domain example.com in
# one transaction, prints the dry-run diff, commits, and reads the result
# back through a fresh backend. Without an argument it works on a new
# temporary copy of Postfix's stock configuration, never on /etc/postfix.

import os
import shutil
import sys
import tempfile
import time

import gi
gi.require_version('Smarthost', '1.0')
from gi.repository import GLib, Smarthost  # noqa: E402

API_KEY = 'Fake-Example-Key-c0ffee'   # a fixed fake key; never printed


def make_config_dir():
    conf = tempfile.mkdtemp(prefix='smarthost-example-')
    shutil.copy('/usr/share/postfix/master.cf.dist', os.path.join(conf, 'master.cf'))
    with open(os.path.join(conf, 'main.cf'), 'w') as f:
        f.write('compatibility_level = 3.6\nmyhostname = mail.example.org\n')
    # Postfix ignores a main.cf changed in the last two seconds.
    past = time.time() - 10
    for name in ('main.cf', 'master.cf'):
        os.utime(os.path.join(conf, name), (past, past))
    return conf


def configure(conf):
    backend = Smarthost.PostfixBackend.new(conf)

    # Relays are plain records, checked when they are staged.
    server = Smarthost.Relay(host='smtp.sendgrid.net',
                             security=Smarthost.Security.STARTTLS,
                             username='apikey', password=API_KEY)
    domain = Smarthost.Relay(host='smtp.eu.mailgun.org',
                             security=Smarthost.Security.TLS,   # port 465
                             username='postmaster@example.com', password=API_KEY)

    # Both changes in one transaction: all or nothing.
    tx = backend.begin()
    tx.set_server(server)
    tx.set_domain('example.com', domain)

    # The dry run: a unified diff, secrets masked.
    print('Dry run:')
    print(tx.preview(None))

    tx.commit(None)
    print('Committed (%s).' % ('changed' if tx.props.changed else 'nothing to change'))

    # Read back through a new backend object: what a later run would see.
    # str() of a relay shows "password set", never the password.
    fresh = Smarthost.PostfixBackend.new(conf)
    print('server:', fresh.get_server(None) or 'none')
    print('example.com:', fresh.get_domain('example.com', None) or 'none')


def main():
    conf = sys.argv[1] if len(sys.argv) > 1 else make_config_dir()
    try:
        configure(conf)
    except GLib.Error as e:
        # Smarthost errors say what to do; the code tells what went wrong.
        if e.matches(Smarthost.error_quark(), Smarthost.Error.INVALID):
            print('example.py: invalid setting:', e.message, file=sys.stderr)
        else:
            print('example.py:', e.message, file=sys.stderr)
        return 1
    finally:
        if len(sys.argv) < 2:
            shutil.rmtree(conf)
    return 0


if __name__ == '__main__':
    sys.exit(main())
