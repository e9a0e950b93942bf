#!/usr/bin/python3
# -*- coding: utf-8 -*-
#
# smarthost.py: an Ansible module that sets the smarthost state of one host
# through libsmarthost's GObject-Introspection binding (Smarthost-1.0).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: smarthost
short_description: Configure the outbound smarthost (SMTP relay) of a mail server
description:
  - Sets the server-wide smarthost and the per-sender-domain smarthosts of one
    host in a single all-or-nothing transaction of libsmarthost.
  - Runs on the managed host with an interpreter that has PyGObject and the
    C(Smarthost-1.0) typelib (Debian's C(/usr/bin/python3) with C(python3-gi)).
  - Supports check mode (the change is previewed, nothing is written) and diff
    mode (the preview, a unified diff with passwords shown as C(********)).
  - Passwords are never returned, logged or shown in a diff.
options:
  backend:
    description: Name of the libsmarthost backend.
    type: str
    default: postfix
  config_dir:
    description: Configuration directory of the mail server (the backend's
      C(config-directory) property; Postfix only).
    type: path
    default: /etc/postfix
  server:
    description:
      - The server-wide smarthost, a relay (see I(domains) for its keys).
      - C(null) or left out means none when I(exclusive) is true, and no change
        when it is false. The string C(absent) always removes it.
    type: raw
  domains:
    description:
      - Sender domain => relay. A domain's relay wins over the server's.
      - "Relay keys: C(host) (required unless C(provider)), C(port) (0 or left
        out: the usual one of the security mode), C(security) (C(none),
        C(starttls), C(tls); default C(starttls)), C(mx_lookup) (bool, default
        false), C(verify_certificate) (bool, default true), C(ca_file),
        C(username), C(password_file) (a file on the managed host) or
        C(password), C(provider) and C(region) (a preset of libsmarthost
        filling host, port and user name)."
      - A value of C(null) or C(absent) removes the domain's smarthost.
    type: dict
    default: {}
  exclusive:
    description:
      - True means I(server) and I(domains) are the complete state; domains
        not listed lose their smarthost.
      - False means only what is given changes.
    type: bool
    default: true
  reload:
    description: Reload the mail server after a change.
    type: bool
    default: true
requirements:
  - python3-gi
  - libsmarthost (the Smarthost-1.0 typelib)
'''

EXAMPLES = r'''
- name: SendGrid for the server, Mailgun for one shop
  smarthost:
    server:
      host: smtp.sendgrid.net
      security: starttls
      username: apikey
      password_file: /etc/smarthost/sendgrid.key
    domains:
      shop.example:
        provider: mailgun-eu
        security: tls
        username: postmaster@shop.example
        password: "{{ vault_shop_password }}"   # masked in every result
      old.example: absent
    exclusive: false
'''

RETURN = r'''
changed:
  description: Whether the configuration changed (in check mode, would change).
  type: bool
server:
  description: The server-wide relay afterwards, in the shape of
    C(smarthostctl status --json) (C(password_set), never the password), or null.
  type: dict
domains:
  description: Sender domain => relay afterwards, same shape.
  type: dict
diff:
  description: With --diff, C(prepared) holds the preview of the change.
  type: dict
'''

import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.parsing.convert_bool import boolean

GI_IMPORT_ERROR = None
try:
    import gi
    gi.require_version('GLib', '2.0')
    gi.require_version('Smarthost', '1.0')
    from gi.repository import GLib, Smarthost
except (ImportError, ValueError):
    GI_IMPORT_ERROR = traceback.format_exc()

RELAY_KEYS = ('host', 'port', 'security', 'mx_lookup', 'verify_certificate', 'ca_file',
              'username', 'password_file', 'password', 'provider', 'region')
SECURITY = ('none', 'starttls', 'tls')
ABSENT = 'absent'


class InputError(Exception):
    pass


def is_absent(value):
    return value is None or (isinstance(value, str) and value == ABSENT)


def read_password_file(where, path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        raise InputError('%s: password_file: cannot read %s: %s' % (where, path, e.strerror))
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise InputError('%s: password_file: %s is not UTF-8 text' % (where, path))
    if text.endswith('\n'):
        text = text[:-1]
    if text.endswith('\r'):
        text = text[:-1]
    return text


def relay_from_spec(module, where, spec):
    """A validated Smarthost.Relay from a relay dict of the playbook."""
    if not isinstance(spec, dict):
        raise InputError('%s: must be a dict of relay settings, null or "absent"' % where)
    for key in spec:
        if key not in RELAY_KEYS:
            raise InputError('%s: unknown key "%s"; known: %s' % (where, key, ', '.join(RELAY_KEYS)))

    def get(key):
        value = spec.get(key)
        return None if value is None or value == '' else value

    if get('password') is not None and get('password_file') is not None:
        raise InputError('%s: give password_file or password, not both' % where)

    security_name = str(get('security') or 'starttls').lower()
    if security_name not in SECURITY:
        raise InputError('%s: security: must be one of %s, not "%s"' % (where, ', '.join(SECURITY), security_name))
    security = {'none': Smarthost.Security.NONE,
                'starttls': Smarthost.Security.STARTTLS,
                'tls': Smarthost.Security.TLS}[security_name]

    try:
        if get('provider') is not None:
            provider = Smarthost.Provider.lookup(str(get('provider')))
            region = get('region')
            relay = provider.create_relay(None if region is None else str(region), security)
        else:
            if get('region') is not None:
                raise InputError('%s: region: needs provider' % where)
            relay = Smarthost.Relay()
    except GLib.Error as e:
        raise InputError('%s: %s' % (where, e.message))

    if get('host') is not None:
        relay.set_host(str(get('host')))
    relay.set_security(security)
    if get('port') is not None:
        try:
            port = int(get('port'))
        except (TypeError, ValueError):
            raise InputError('%s: port: must be a number, not "%s"' % (where, get('port')))
        if port < 0 or port > 65535:
            raise InputError('%s: port: must be between 1 and 65535' % where)
        relay.set_port(port)
    for key, setter in (('mx_lookup', relay.set_mx_lookup),
                        ('verify_certificate', relay.set_verify_certificate)):
        if get(key) is not None:
            try:
                setter(boolean(get(key), strict=True))
            except TypeError:
                raise InputError('%s: %s: must be true or false, not "%s"' % (where, key, get(key)))
    if get('ca_file') is not None:
        relay.set_ca_file(str(get('ca_file')))
    if get('username') is not None:
        relay.set_username(str(get('username')))

    password = None
    if get('password_file') is not None:
        password = read_password_file(where, str(get('password_file')))
        module.no_log_values.add(password)
    elif get('password') is not None:
        password = str(get('password'))
    if password:
        relay.set_password(password)

    try:
        relay.validate()
    except GLib.Error as e:
        raise InputError('%s: %s' % (where, e.message))
    return relay


def relay_to_status(relay):
    """The relay as `smarthostctl status --json` shows it: no password."""
    if relay is None:
        return None
    return {
        'host': relay.get_host(),
        'port': relay.get_effective_port(),
        'security': Smarthost.security_to_string(relay.get_security()),
        'mx_lookup': relay.get_mx_lookup(),
        'verify_certificate': relay.get_verify_certificate(),
        'ca_file': relay.get_ca_file(),
        'username': relay.get_username(),
        'password_set': relay.get_password_set(),
    }


def open_backend(params):
    """The backend named in the playbook, on its configuration directory.
    config-directory is construct-only: a backend made by name is made
    again with it, and checked, so that it never silently works on the
    default directory."""
    backend = Smarthost.Backend.new_for_name(params['backend'])
    if backend.find_property('config-directory') is not None and params['config_dir']:
        backend = type(backend)(config_directory=params['config_dir'])
        if os.path.realpath(backend.props.config_directory or '') != os.path.realpath(params['config_dir']):
            raise InputError('config_dir: the %s backend did not take %s'
                             % (params['backend'], params['config_dir']))
    return backend


def read_state(backend):
    server = backend.get_server(None)
    domains = backend.get_domains(None) or {}
    return server, dict(domains)


def inline_passwords(params):
    """The inline passwords of the raw module arguments."""
    domains = params.get('domains')
    specs = [params.get('server')] + (list(domains.values()) if isinstance(domains, dict) else [])
    for spec in specs:
        if isinstance(spec, dict) and spec.get('password') not in (None, ''):
            yield str(spec['password'])


class SmarthostModule(AnsibleModule):
    """Passwords sit inside free-form dicts (a domain name is a key), where
    no_log cannot be declared. They are added to no_log_values as soon as
    the arguments are loaded, before validation, so that no result, error
    or invocation ever shows one, whatever fails."""

    def _load_params(self):
        super(SmarthostModule, self)._load_params()
        self.no_log_values.update(inline_passwords(self.params))


def run(module):
    params = module.params
    exclusive = params['exclusive']
    domains_spec = params['domains'] or {}

    # Everything the playbook says, checked before the configuration is read.
    where = 'server'
    server_given = params['server'] is not None
    remove_server = is_absent(params['server']) and (exclusive or server_given)
    server_relay = None if is_absent(params['server']) else relay_from_spec(module, where, params['server'])

    desired = {}     # normalized domain => Relay, or None to remove
    for name, spec in domains_spec.items():
        where = 'domains.%s' % name
        try:
            normalized = Smarthost.domain_normalize(str(name))
        except GLib.Error as e:
            raise InputError('%s: %s' % (where, e.message))
        if normalized in desired:
            raise InputError('%s: listed twice (as %s)' % (where, normalized))
        desired[normalized] = None if is_absent(spec) else relay_from_spec(module, where, spec)

    backend = open_backend(params)
    current_server, current_domains = read_state(backend)

    tx = backend.begin()
    tx.set_reload(params['reload'])
    staged = []      # (where, domain or None for the server, relay or None)
    if server_relay is not None or remove_server:
        staged.append(('server', None, server_relay))
    for domain in sorted(desired):
        staged.append(('domains.%s' % domain, domain, desired[domain]))
    if exclusive:
        for domain in sorted(current_domains):
            if domain not in desired:
                staged.append(('domains.%s' % domain, domain, None))
    for where, domain, relay in staged:
        try:
            if domain is None:
                tx.set_server(relay)
            else:
                tx.set_domain(domain, relay)
        except GLib.Error as e:     # policy, or what this backend cannot do
            raise InputError('%s: %s' % (where, e.message))

    result = {}
    preview = None
    if module.check_mode or module._diff:
        preview = tx.preview(None)

    if module.check_mode:
        changed = '# no change' not in preview
        final_server = server_relay if server_relay is not None else (None if remove_server else current_server)
        final_domains = {} if exclusive else dict(current_domains)
        for domain, relay in desired.items():
            if relay is None:
                final_domains.pop(domain, None)
            else:
                final_domains[domain] = relay
    else:
        tx.commit(None)
        changed = tx.get_changed()
        final_server, final_domains = read_state(open_backend(params))

    result['changed'] = bool(changed)
    if module._diff and changed:
        result['diff'] = {'prepared': preview}
    result['server'] = relay_to_status(final_server)
    result['domains'] = dict((d, relay_to_status(r)) for d, r in sorted(final_domains.items()))
    return result


def main():
    # no_log=True: the arguments are not written to the system log (they
    # hold passwords); results are masked through no_log_values.
    module = SmarthostModule(
        argument_spec=dict(
            backend=dict(type='str', default='postfix'),
            config_dir=dict(type='path', default='/etc/postfix'),
            server=dict(type='raw'),
            domains=dict(type='dict', default={}),
            exclusive=dict(type='bool', default=True),
            reload=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
        no_log=True,
    )
    if GI_IMPORT_ERROR is not None:
        module.fail_json(msg='the smarthost module needs PyGObject and the Smarthost-1.0 typelib '
                             '(python3-gi and libsmarthost) on the managed host, for the interpreter '
                             'Ansible runs there (set ansible_python_interpreter=/usr/bin/python3)',
                         exception=GI_IMPORT_ERROR)
    try:
        result = run(module)
    except InputError as e:
        module.fail_json(msg=str(e), changed=False)
    except GLib.Error as e:
        module.fail_json(msg=e.message, changed=False)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
