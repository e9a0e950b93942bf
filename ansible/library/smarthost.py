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
  backend_options:
    description:
      - Settings of the backend, by name (C(smarthostctl --backend NAME
        settings) lists them; C(_) may stand for C(-)), such as
        C(lock-timeout) for Postfix. Passed to the library as text, which
        converts and checks them; an unknown name fails, listing the known
        ones. A secret setting's value is never logged or returned.
      - A secret setting (C(admin-password) of C(smartermail)) takes its value
        (from a vault, or C(lookup('file', PATH))); there is no C(KEY-file)
        form as in C(smarthostctl --option). When the backend has a secret
        setting, the values of unknown names (a misspelled secret one) are
        masked too.
      - C(config-directory) here and I(config_dir) must agree when both are
        given.
    type: dict
    default: {}
  server:
    description:
      - The server-wide smarthost, a relay (see I(domains) for its keys).
      - C(null) or left out means none when I(exclusive) is true, and no change
        when it is false. The string C(absent) always removes it.
    type: raw
  domains:
    description:
      - Sender domain => relay. A domain's relay wins over the server's.
      - "Relay keys, as C(smarthostctl apply) reads them: C(host) (required
        unless C(provider)), C(port) (left out or null: the usual one of the
        security mode), C(security) (C(none), C(starttls), C(tls); default
        C(starttls)), C(mx_lookup) (bool, default false),
        C(verify_certificate) (bool, default true), C(ca_file), C(username),
        the password as C(password_file) (an absolute path on the managed
        host), C(password_env) (an environment variable of the module) or
        C(password), or C(password_set: true) to keep the stored one, and
        C(provider) and C(region) (a preset of libsmarthost standing in for
        host and port)."
      - Values are read as strictly as C(smarthostctl apply) reads them, but
        for what templates make of them (a port templated to the string
        C(587) is a number, the strings C(True) and C(yes) are booleans, an
        empty string is no value).
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

import json
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

ABSENT = 'absent'


class InputError(Exception):
    pass


def is_absent(value):
    return value is None or (isinstance(value, str) and value == ABSENT)


BOOLEAN_KEYS = ('mx_lookup', 'verify_certificate', 'password_set')
STRING_KEYS = ('host', 'security', 'ca_file', 'username', 'password_file', 'password_env', 'provider', 'region')


def relay_from_playbook(where, spec):
    """A relay dict as a playbook gives it, with the values templates turn
    into strings ("{{ port }}" is "587", "{{ flag }}" is "True") and empty
    optional strings made what they mean, before the library reads it
    strictly. Anything else is passed on, for the library to refuse."""
    if not isinstance(spec, dict):
        return spec
    relay = dict(spec)
    port = relay.get('port')
    if isinstance(port, str) and port.strip().isdigit():
        relay['port'] = int(port)
    if relay.get('port') in (0, ''):
        relay['port'] = None
    for key in BOOLEAN_KEYS:
        if isinstance(relay.get(key), str):
            try:
                relay[key] = boolean(relay[key], strict=True)
            except TypeError:
                raise InputError('%s.%s: must be true or false' % (where, key))
    for key in STRING_KEYS:
        if relay.get(key) == '':
            relay[key] = None
    if relay.get('password') is not None and not isinstance(relay['password'], str):
        relay['password'] = str(relay['password'])
    return relay


def state_from_params(params):
    """The playbook's server and domains as a Smarthost.State. The library
    reads it as it reads `smarthostctl apply` files: every key known and of
    its type, passwords from password_file or password_env (or inline: the
    module's arguments are no_log), the same domain listed only once."""
    domains = params['domains'] or {}
    if not isinstance(domains, dict):
        raise InputError('domains: must be a dict of domain: relay')
    data = {
        'server': None if is_absent(params['server']) else relay_from_playbook('server', params['server']),
        'domains': dict((str(name), None if is_absent(spec) else relay_from_playbook('domains.%s' % name, spec))
                        for name, spec in domains.items()),
    }
    try:
        text = json.dumps(data)
    except (TypeError, ValueError) as e:
        raise InputError('the relays must hold plain values (strings, numbers, booleans): %s' % e)
    try:
        return Smarthost.State.new_from_json(text, Smarthost.JsonFlags.ALLOW_INLINE_PASSWORD)
    except GLib.Error as e:
        raise InputError(e.message)


def state_to_result(state):
    """server and domains as `smarthostctl status --json` shows them: no
    password, "password_set" instead."""
    data = json.loads(state.to_json())
    return data['server'], data['domains']


DEFAULT_CONFIG_DIR = '/etc/postfix'


def backend_settings(params):
    """backend_options (and config_dir, for a backend that has a
    config-directory) as setting names and values as text, for
    Smarthost.Backend.new_for_name_with_settings, which converts and
    checks them."""
    name = params['backend']
    declared = {s.get_name(): s for s in Smarthost.Backend.list_settings_for_name(name)}
    settings = {}
    for key, value in (params.get('backend_options') or {}).items():
        key = str(key).replace('_', '-')
        if key in settings:
            raise InputError('backend_options.%s: given twice' % key)
        if value is None or value == '':
            raise InputError('backend_options.%s: no value given' % key)
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        settings[key] = str(value)
    config_dir = params.get('config_dir')
    if 'config-directory' in declared and config_dir:
        given = settings.get('config-directory')
        if given is None:
            settings['config-directory'] = config_dir
        elif config_dir != DEFAULT_CONFIG_DIR and os.path.realpath(given) != os.path.realpath(config_dir):
            raise InputError('config_dir: backend_options.config-directory says %s; give one of them'
                             % given)
    return settings


def open_backend(params):
    """The backend named in the playbook, constructed with its settings.
    Settings are construct-only; the configuration directory is checked
    afterwards, so that the backend never silently works on another."""
    settings = backend_settings(params)
    backend = Smarthost.Backend.new_for_name_with_settings(params['backend'], settings)
    wanted = settings.get('config-directory')
    if wanted is not None and \
            os.path.realpath(backend.props.config_directory or '') != os.path.realpath(wanted):
        raise InputError('config_dir: the %s backend did not take %s' % (params['backend'], wanted))
    return backend


def inline_passwords(params):
    """The inline passwords of the raw module arguments."""
    domains = params.get('domains')
    specs = [params.get('server')] + (list(domains.values()) if isinstance(domains, dict) else [])
    for spec in specs:
        if isinstance(spec, dict) and spec.get('password') not in (None, ''):
            yield str(spec['password'])


def secret_backend_options(params):
    """The values of backend_options that the backend declares secret (all
    of them when the backend cannot be asked). When it has a secret
    setting, the values of names it does not know are masked too: such a
    name may be a misspelled secret one (admin_pasword), and the task that
    refuses it shows its arguments at -vvv."""
    options = params.get('backend_options')
    if not isinstance(options, dict):
        return
    try:
        declared = {s.get_name(): s.get_secret()
                    for s in Smarthost.Backend.list_settings_for_name(str(params.get('backend') or 'postfix'))}
    except Exception:
        declared = None
    has_secret = declared is None or any(declared.values())
    for key, value in options.items():
        key = str(key).replace('_', '-')
        if value not in (None, '') and (declared is None or declared.get(key, has_secret)):
            yield str(value)


class SmarthostModule(AnsibleModule):
    """Passwords sit inside free-form dicts (a domain name is a key), where
    no_log cannot be declared. They are added to no_log_values as soon as
    the arguments are loaded, before validation, so that no result, error
    or invocation ever shows one, whatever fails."""

    def _load_params(self):
        super(SmarthostModule, self)._load_params()
        self.no_log_values.update(inline_passwords(self.params))
        self.no_log_values.update(secret_backend_options(self.params))


def run(module):
    params = module.params
    exclusive = params['exclusive']
    server_given = params['server'] is not None
    named = set()   # the domains the playbook lists, normalized
    for name in (params['domains'] or {}):
        try:
            named.add(Smarthost.domain_normalize(str(name)))
        except GLib.Error as e:
            raise InputError('domains: "%s": %s' % (name, e.message))

    # Everything the playbook says, checked before the configuration is read.
    desired = state_from_params(params)
    backend = open_backend(params)
    tx = backend.begin()
    tx.set_reload(params['reload'])
    try:
        if exclusive:
            # The complete state, applied the way `smarthostctl apply` does.
            tx.set_state(desired)
        else:
            # Only what is given: the server if said, each domain listed
            # (null or "absent" removes its relay).
            where = 'server'
            if server_given:
                tx.set_server(desired.get_server())
            for domain in sorted(named):
                where = 'domains.%s' % domain
                tx.set_domain(domain, desired.get_domain(domain))
    except GLib.Error as e:     # policy, or what this backend cannot do
        raise InputError(e.message if exclusive else '%s: %s' % (where, e.message))

    result = {}
    preview = None
    if module.check_mode or module._diff:
        preview = tx.preview(None)

    if module.check_mode:
        changed = tx.get_would_change()
        if exclusive:
            final = desired
        else:
            final = backend.get_state(None)
            if server_given:
                final.set_server(desired.get_server())
            for domain in named:
                final.set_domain(domain, desired.get_domain(domain))
    else:
        tx.commit(None)
        changed = tx.get_changed()
        final = open_backend(params).get_state(None)

    result['changed'] = bool(changed)
    # Warned about when something changes: a state applied again and again
    # (what configuration management does) is no news.
    if changed:
        for quirk in Smarthost.Provider.quirks_for_state(desired):
            module.warn(quirk)
    if module._diff and changed:
        result['diff'] = {'prepared': preview}
    result['server'], result['domains'] = state_to_result(final)
    return result


def main():
    # no_log=True: the arguments are not written to the system log (they
    # hold passwords); results are masked through no_log_values.
    module = SmarthostModule(
        argument_spec=dict(
            backend=dict(type='str', default='postfix'),
            config_dir=dict(type='path', default=DEFAULT_CONFIG_DIR),
            backend_options=dict(type='dict', default={}),
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
