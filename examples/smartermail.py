#!/usr/bin/python3
# smartermail.py: read a SmarterMail server's smarthosts with libsmarthost
# from Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: smartermail.py URL ADMIN ADMIN-PASSWORD-FILE [CA-FILE [STATE-DIR]]
#
# Constructs the SmarterMail backend by name, the way a front end that does
# not know it does, and prints the server-wide smarthost (SmarterMail's
# round-robin outbound gateway) and each domain's (a specific-domains
# gateway selected in the domain's settings). It only reads. Exits 77 when
# the library was built without the SmarterMail backend.

import sys

import gi
gi.require_version('Smarthost', '1.0')
from gi.repository import GLib, Smarthost  # noqa: E402


def read_password(path):
    # The administrator's password comes from a file, never the command line.
    with open(path) as f:
        return f.readline().rstrip('\n')


def main(argv):
    if len(argv) < 4:
        print('usage: smartermail.py URL ADMIN ADMIN-PASSWORD-FILE [CA-FILE [STATE-DIR]]', file=sys.stderr)
        return 2
    settings = {'url': argv[1], 'admin': argv[2], 'admin-password': read_password(argv[3])}
    if len(argv) > 4:
        settings['ca-file'] = argv[4]
    if len(argv) > 5:
        settings['state-directory'] = argv[5]
    try:
        # Settings as text, converted by each setting's type.
        backend = Smarthost.Backend.new_for_name_with_settings('smartermail', settings)
    except GLib.Error as e:
        if e.matches(Smarthost.error_quark(), Smarthost.Error.NOT_SUPPORTED):
            print('smartermail.py: skipped:', e.message)
            return 77
        print('smartermail.py:', e.message, file=sys.stderr)
        return 1

    try:
        # str() of a relay shows "password set", never the password.
        print('server:', backend.get_server(None) or 'none')
        for domain in backend.list_domains(None):
            print('%s: %s' % (domain, backend.get_domain(domain, None)))
    except GLib.Error as e:
        # Errors name what failed (a request, a login) and never a secret.
        print('smartermail.py:', e.message, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
