#!/usr/bin/python3
# fake_smartermail.py: a fake SmarterMail web API for libsmarthost's tests
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fake SmarterMail web API (Python standard library only).

It models what libsmarthost's SmarterMail backend assumes about the server
(doc/smartermail.md), and takes every endpoint path, JSON field name and
value from the mapping file (backends/smartermail/smartermail-mapping.json,
or the one given with --mapping), so that a corrected mapping changes the
fake too. Run it with /usr/bin/python3.

What is documented, and what is assumed
=======================================

Documented (the mapping's sources):

* ``solidcp`` (FuseCP/SolidCP's SmarterMail 100.x provider,
  SmarterMail100.cs): logging in with POST ``login`` and the fields
  ``login-username``/``login-password``, answered with ``access-token``,
  ``refresh-token`` and ``access-expiration``; ``Authorization: Bearer``;
  every answer carrying ``success``, and ``message`` on failure; the
  ``domains`` list; GET/POST ``domain-get``/``domain-update`` with
  ``domain-settings`` (a partial update).
* ``help-gateways`` and ``kb-smarthost`` (SmarterTools' help and
  knowledge base): a smarthost is an outbound gateway with a server
  address, port, encryption, status, optional authentication (user name,
  password), in round-robin or specific-domains mode; a specific-domains
  gateway is selected in a domain's settings.

Assumed (``"unconfirmed"`` in the mapping, or not said anywhere):

* the gateway endpoints (``gateways``, ``gateway-create``,
  ``gateway-update``, ``gateway-delete``), the JSON names of the gateway
  fields, the encryption and mode values, the key of domainSettings that
  selects a domain's gateway (``domain-gateway``), the ``refresh``
  endpoint (its request is ``{"token": R}``, doc/smartermail.md), the
  ``domains`` answer key and ``domain-name``;
* a wrong login answers 401 (``--login-failure-status 200`` models the
  other reading of the doc) with ``success: false``;
* refresh tokens are used once (a refresh answers a new pair) and live
  a day; an access token lives 600 s unless told otherwise;
* gateway ids are strings (uuid4); a create ignores an ``id`` it is given;
  an update of an unknown id, or a delete of one, answers 404 with
  ``success: false``; the gateway password is stored and never sent back;
* the server adds fields of its own to a gateway (``spoolCount``,
  ``createdDate``, ``statistics`` -- a nested object) and keeps every
  field it is sent, known or not; updates keep the fields not given;
* a domain-settings POST changes only the keys of domainSettings given
  (a shallow merge) and keeps every other; assigning a gateway id that
  does not exist is refused (400); deleting a gateway a domain still
  uses is refused (400; ``--delete-in-use allow`` lets it through and
  leaves the domains pointing at nothing, as a lax server might);
* request bodies are JSON of at most 1 MiB (413 beyond), with a
  Content-Length; unknown paths answer 404 ``{"success": false}``, a known
  path with the wrong method 405.

Control interface
=================

In-process: ``FakeSmarterMail(...).start()`` (a context manager too), then
``seed()``, ``state()``, ``inject()``, ``log()``, ``reset()``,
``configure()``. As a subprocess (tests/smartermail/fake_client.py wraps
it): POST ``/__fake__/control/<seed|state|inject|log|reset|configure>``
with the header ``X-Fake-Control: TOKEN`` and a JSON body; without the
right token the path is as unknown as any other (404). Control requests
are neither logged nor counted for faults.

State (seed, state): ``{"gateways": [G...], "domains": [{"name": D,
..., "domainSettings": {...}}]}`` where G includes its stored password
(``gateway-password`` field) -- the only place it is ever shown.

Faults (inject): ``{"kind": K, "method": M, "endpoint": NAME | "path":
GLOB, "nth": N, "times": T, ...}`` fires on the N-th request (counted from
the injection) that matches the method, the mapping's endpoint name (or an
fnmatch pattern on the path), and then on the next T-1 matching ones
(``times`` 0: on every one from the N-th on). Kinds:

* ``status``: the HTTP status ``status`` (default 500) with
  ``{"success": false, "message": ...}``;
* ``failure``: 200 with ``{"success": false, "message": message}``;
* ``slow``: waits ``delay`` seconds (default 30) and then answers;
* ``close``: sends the headers and half the body, then closes;
* ``malformed``: 200 with a body that is not JSON;
* ``oversized``: 200 with ``size`` bytes (default 64 MiB) of valid JSON,
  streamed (the fake holds 64 KiB of it at a time); ``length: false``
  sends it without a Content-Length;
* ``unauthorized``: 401 as if the token expired, and the token is
  revoked (``refresh: false`` revokes the refresh tokens too);
* ``noop``: answers success as if the request applied, without changing
  anything.

Only ``slow`` applies the request (after its delay); the others change
nothing unless the fault has ``"apply": true`` (the request applied but
its answer was lost).

The request log lists, per request: ``seq``, ``method``, ``path``,
``endpoint`` (the mapping's name, or null), ``body`` (JSON with every
password -- and any key containing "password" -- as ``********``),
``auth`` (none, valid, expired, unknown), ``status``, ``fault``, and
for a gateway create that succeeded, ``created_id``.

Command line
============

  fake_smartermail.py --port 0 --cert DIR --mapping FILE --admin admin
      --password-file F --control-token-file F2 --ready-file F3

``--cert DIR`` serves HTTPS with DIR/server.pem and DIR/server.key (made,
with a new test CA in DIR, when missing; see certs.py); ``--plain``
serves HTTP. The port is written to the ready file once the server
listens. A control token file that exists is read; otherwise a token is
made and written there (0600). SIGTERM and SIGINT stop the server.
"""

import argparse
import copy
import datetime
import fnmatch
import http.server
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MAPPING = os.path.join(HERE, '..', '..', 'backends', 'smartermail', 'smartermail-mapping.json')
CONTROL_PREFIX = '/__fake__/control/'
CONTROL_HEADER = 'X-Fake-Control'
MASK = '********'
MAX_BODY = 1024 * 1024
DEFAULT_TOKEN_LIFETIME = 600.0
REFRESH_TOKEN_LIFETIME = 86400.0
FAULT_KINDS = ('status', 'failure', 'slow', 'close', 'malformed', 'oversized', 'unauthorized', 'noop')


class MappingError(Exception):
    pass


class Mapping:
    """The endpoints, field names and values of a mapping file."""

    ENDPOINTS = ('login', 'refresh', 'domains', 'domain-get', 'domain-update',
                 'gateways', 'gateway-create', 'gateway-update', 'gateway-delete')
    FIELDS = ('login-username', 'login-password', 'access-token', 'refresh-token',
              'access-expiration', 'success', 'message', 'domains', 'domain-name',
              'domain-settings', 'domain-gateway', 'gateways', 'gateway', 'gateway-id',
              'gateway-address', 'gateway-port', 'gateway-encryption', 'gateway-enabled',
              'gateway-mode', 'gateway-auth', 'gateway-username', 'gateway-password',
              'gateway-description')
    VALUES = ('mode-round-robin', 'mode-specific-domains', 'encryption-none',
              'encryption-starttls', 'encryption-tls')

    def __init__(self, path):
        self.path = path
        with open(path) as f:
            data = json.load(f)
        try:
            self.endpoints = {name: (data['endpoints'][name]['method'].upper(),
                                     data['endpoints'][name]['path'])
                              for name in self.ENDPOINTS}
            self.fields = {name: data['fields'][name]['name'] for name in self.FIELDS}
            self.values = {name: data['values'][name]['value'] for name in self.VALUES}
        except (KeyError, TypeError, AttributeError) as e:
            raise MappingError('%s: missing or malformed entry %s' % (path, e))
        self.sources = {}
        for section in ('endpoints', 'fields', 'values'):
            for name, entry in data[section].items():
                self.sources[(section, name)] = entry.get('source', 'unconfirmed')
        # The refresh request's field: the doc's "token" unless the mapping names it.
        self.fields['refresh-request-token'] = (
            data['fields'].get('refresh-request-token', {}).get('name', 'token'))
        self._routes = []
        for name, (method, template) in self.endpoints.items():
            pattern = ''
            for part in re.split(r'(\{[a-z]+\})', template):
                if part.startswith('{') and part.endswith('}'):
                    pattern += '(?P<%s>[^/]+)' % part[1:-1]
                else:
                    pattern += re.escape(part)
            self._routes.append((name, method, re.compile('^' + pattern + '$')))

    def f(self, name):
        return self.fields[name]

    def v(self, name):
        return self.values[name]

    def route(self, method, path):
        """(endpoint name, path parameters) for a request, (None, None) for
        an unknown path, ('', None) for a known path with the wrong method."""
        wrong_method = False
        for name, m, regex in self._routes:
            match = regex.match(path)
            if match:
                if m == method:
                    return name, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                wrong_method = True
        return ('', None) if wrong_method else (None, None)

    def path_of(self, endpoint, **params):
        path = self.endpoints[endpoint][1]
        for key, value in params.items():
            path = path.replace('{%s}' % key, urllib.parse.quote(str(value), safe=''))
        return path


def iso_utc(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def mask_passwords(value, password_keys):
    """A copy of a JSON value with each password (a key in
    *password_keys*, or any key containing "password") as ********."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and (key in password_keys or 'password' in key.lower()) \
                    and item not in (None, ''):
                out[key] = MASK
            else:
                out[key] = mask_passwords(item, password_keys)
        return out
    if isinstance(value, list):
        return [mask_passwords(item, password_keys) for item in value]
    return value


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Fault:
    def __init__(self, spec, mapping):
        if not isinstance(spec, dict):
            raise ValueError('a fault is an object')
        self.kind = spec.get('kind')
        if self.kind not in FAULT_KINDS:
            raise ValueError('fault kind must be one of %s' % ', '.join(FAULT_KINDS))
        self.method = spec.get('method')
        self.endpoint = spec.get('endpoint')
        if self.endpoint is not None and self.endpoint not in mapping.endpoints:
            raise ValueError('unknown endpoint %r' % self.endpoint)
        self.path = spec.get('path')
        self.nth = int(spec.get('nth', 1))
        self.times = int(spec.get('times', 1))
        self.status = int(spec.get('status', 500))
        self.message = spec.get('message', 'Injected failure')
        self.delay = float(spec.get('delay', 30))
        self.size = int(spec.get('size', 64 * 1024 * 1024))
        self.length = bool(spec.get('length', True))
        self.revoke_refresh = not spec.get('refresh', True)
        self.apply = bool(spec.get('apply', self.kind == 'slow'))
        self.seen = 0
        self.fired = 0
        self.id = spec.get('id') or uuid.uuid4().hex[:8]
        self.spec = dict(spec, id=self.id)

    def matches(self, method, path, endpoint):
        if self.method and self.method.upper() != method:
            return False
        if self.endpoint and self.endpoint != endpoint:
            return False
        if self.path and not fnmatch.fnmatchcase(path, self.path):
            return False
        return True

    def take(self, method, path, endpoint):
        """Counts a matching request; True when the fault fires on it."""
        if not self.matches(method, path, endpoint):
            return False
        self.seen += 1
        if self.seen < self.nth:
            return False
        if self.times and self.fired >= self.times:
            return False
        self.fired += 1
        return True


class Store:
    """Gateways and domains, and the handlers of the API endpoints."""

    def __init__(self, mapping, delete_in_use='refuse'):
        self.m = mapping
        self.gateways = {}     # id -> dict, with the password
        self.domains = {}      # name -> dict (list fields + domainSettings)
        self.delete_in_use = delete_in_use

    def __deepcopy__(self, memo):
        # A scratch copy, for a request that must not apply (the mapping is shared).
        other = Store(self.m, self.delete_in_use)
        other.gateways = copy.deepcopy(self.gateways, memo)
        other.domains = copy.deepcopy(self.domains, memo)
        return other

    # --- seeding and reading -------------------------------------------

    def seed(self, state, replace=True):
        m = self.m
        if replace:
            self.gateways.clear()
            self.domains.clear()
        for g in state.get('gateways', []):
            g = copy.deepcopy(g)
            gid = g.get(m.f('gateway-id')) or str(uuid.uuid4())
            g[m.f('gateway-id')] = str(gid)
            self.gateways[str(gid)] = g
        for d in state.get('domains', []):
            if isinstance(d, str):
                d = {m.f('domain-name'): d}
            d = copy.deepcopy(d)
            name = d[m.f('domain-name')]
            settings = default_domain_settings(name)
            settings[m.f('domain-gateway')] = ''
            settings.update(d.get(m.f('domain-settings'), {}))
            d[m.f('domain-settings')] = settings
            self.domains[name] = d

    def dump(self):
        return {'gateways': copy.deepcopy(list(self.gateways.values())),
                'domains': copy.deepcopy(list(self.domains.values()))}

    # --- helpers -----------------------------------------------------

    def public_gateway(self, g):
        g = copy.deepcopy(g)
        g.pop(self.m.f('gateway-password'), None)
        return g

    def check_gateway(self, g):
        m = self.m
        address = g.get(m.f('gateway-address'))
        if not isinstance(address, str) or not address:
            raise ApiError(400, '%s: a server address is required' % m.f('gateway-address'))
        port = g.get(m.f('gateway-port'))
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ApiError(400, '%s: must be a number from 1 to 65535' % m.f('gateway-port'))
        encryptions = [m.v('encryption-none'), m.v('encryption-starttls'), m.v('encryption-tls')]
        if g.get(m.f('gateway-encryption')) not in encryptions:
            raise ApiError(400, '%s: must be one of %s' % (m.f('gateway-encryption'), ', '.join(encryptions)))
        modes = [m.v('mode-round-robin'), m.v('mode-specific-domains')]
        if g.get(m.f('gateway-mode')) not in modes:
            raise ApiError(400, '%s: must be one of %s' % (m.f('gateway-mode'), ', '.join(modes)))
        for key in ('gateway-enabled', 'gateway-auth'):
            if not isinstance(g.get(m.f(key)), bool):
                raise ApiError(400, '%s: must be true or false' % m.f(key))
        for key in ('gateway-username', 'gateway-password', 'gateway-description'):
            if g.get(m.f(key)) is not None and not isinstance(g.get(m.f(key)), str):
                raise ApiError(400, '%s: must be a string' % m.f(key))
        if g[m.f('gateway-auth')] and not g.get(m.f('gateway-username')):
            raise ApiError(400, '%s: required with authentication' % m.f('gateway-username'))

    def body_object(self, body, key):
        if not isinstance(body, dict) or not isinstance(body.get(key), dict):
            raise ApiError(400, 'The request must be a JSON object with "%s"' % key)
        return body[key]

    def domain(self, name):
        if name not in self.domains:
            raise ApiError(404, 'Domain %s not found' % name)
        return self.domains[name]

    def gateway(self, gid):
        if gid not in self.gateways:
            raise ApiError(404, 'Gateway %s not found' % gid)
        return self.gateways[gid]

    # --- endpoints (after authentication) -----------------------------

    def handle(self, endpoint, params, body):
        m = self.m
        ok = {m.f('success'): True}
        if endpoint == 'gateways':
            return dict(ok, **{m.f('gateways'): [self.public_gateway(g) for g in self.gateways.values()]})
        if endpoint == 'gateway-create':
            fields = self.body_object(body, m.f('gateway'))
            g = {m.f('gateway-address'): '', m.f('gateway-port'): 25,
                 m.f('gateway-encryption'): m.v('encryption-none'), m.f('gateway-enabled'): True,
                 m.f('gateway-mode'): m.v('mode-round-robin'), m.f('gateway-auth'): False,
                 m.f('gateway-username'): '', m.f('gateway-description'): ''}
            g.update(copy.deepcopy(fields))
            gid = str(uuid.uuid4())
            g[m.f('gateway-id')] = gid
            # Fields of the server's own, which no client knows about.
            g.setdefault('spoolCount', 0)
            g.setdefault('createdDate', iso_utc(time.time()))
            g.setdefault('statistics', {'sent': 0, 'failed': 0, 'lastError': None})
            self.check_gateway(g)
            self.gateways[gid] = g
            return dict(ok, **{m.f('gateway'): self.public_gateway(g)})
        if endpoint == 'gateway-update':
            old = self.gateway(params['id'])
            fields = self.body_object(body, m.f('gateway'))
            if fields.get(m.f('gateway-id')) not in (None, params['id']):
                raise ApiError(400, '%s does not match the gateway updated' % m.f('gateway-id'))
            g = copy.deepcopy(old)
            g.update(copy.deepcopy(fields))
            self.check_gateway(g)
            self.gateways[params['id']] = g
            return dict(ok, **{m.f('gateway'): self.public_gateway(g)})
        if endpoint == 'gateway-delete':
            self.gateway(params['id'])
            users = sorted(name for name, d in self.domains.items()
                           if d[m.f('domain-settings')].get(m.f('domain-gateway')) == params['id'])
            if users and self.delete_in_use == 'refuse':
                raise ApiError(400, 'The gateway is in use by %s' % ', '.join(users))
            del self.gateways[params['id']]
            return ok
        if endpoint == 'domains':
            items = []
            for d in self.domains.values():
                item = {k: copy.deepcopy(v) for k, v in d.items() if k != m.f('domain-settings')}
                items.append(item)
            return dict(ok, **{m.f('domains'): items})
        if endpoint == 'domain-get':
            d = self.domain(params['domain'])
            return dict(ok, **{m.f('domain-settings'): copy.deepcopy(d[m.f('domain-settings')])})
        if endpoint == 'domain-update':
            d = self.domain(params['domain'])
            fields = self.body_object(body, m.f('domain-settings'))
            key = m.f('domain-gateway')
            if key in fields and fields[key] not in (None, ''):
                if not isinstance(fields[key], str) or fields[key] not in self.gateways:
                    raise ApiError(400, '%s: no gateway has the id %s' % (key, str(fields[key])[:64]))
            d[m.f('domain-settings')].update(copy.deepcopy(fields))
            return ok
        raise ApiError(404, 'Unknown endpoint')


def default_domain_settings(name):
    """A domain's settings as a server holds them: many fields a client
    does not know, one nested."""
    return {
        'hostname': 'mail.' + name,
        'isEnabled': True,
        'maxMailboxes': 0,
        'maxAliases': 0,
        'maxDomainSizeInMB': 0,
        'maxMessageSizeInKB': 30720,
        'maxRecipients': 200,
        'showDomainAliasMenu': True,
        'enableCatchAlls': False,
        'spamFilteringEnabled': True,
        'bypassForwardBlacklist': False,
        'popRetrievalEnabled': True,
        'imapRetrievalEnabled': True,
        'smtpAuthenticationRequired': True,
        'customHeaders': [],
        'dkim': {'enabled': False, 'selector': 'default', 'keySize': 2048},
        'sharedResources': {'calendars': True, 'contacts': True, 'notes': False},
        'postmasterAddress': 'postmaster@' + name,
        'domainLocation': 'C:\\SmarterMail\\Domains\\' + name,
    }


class Tokens:
    def __init__(self):
        self.access = {}    # token -> expiry (monotonic seconds)
        self.refresh = {}   # token -> expiry
        self.revoked = set()

    def issue(self, lifetime):
        now = time.monotonic()
        access = secrets.token_urlsafe(24)
        refresh = secrets.token_urlsafe(24)
        self.access[access] = now + lifetime
        self.refresh[refresh] = now + REFRESH_TOKEN_LIFETIME
        return access, refresh, time.time() + lifetime

    def check(self, token):
        if token is None:
            return 'none'
        if token in self.revoked:
            return 'expired'
        expiry = self.access.get(token)
        if expiry is None:
            return 'unknown'
        return 'valid' if time.monotonic() < expiry else 'expired'

    def revoke(self, token, refresh_too=False):
        if token in self.access:
            self.revoked.add(token)
            del self.access[token]
        if refresh_too:
            self.refresh.clear()


class FakeSmarterMail:
    """The fake server. Use as a context manager, or start()/stop()."""

    def __init__(self, mapping=DEFAULT_MAPPING, admin='admin', password='admin-password',
                 cert_dir=None, host='127.0.0.1', port=0, control_token=None,
                 token_lifetime=DEFAULT_TOKEN_LIFETIME, max_body=MAX_BODY,
                 login_failure_status=401, delete_in_use='refuse'):
        self.mapping = mapping if isinstance(mapping, Mapping) else Mapping(mapping)
        self.admin = admin
        self.password = password
        self.cert_dir = cert_dir
        self.host = host
        self.requested_port = port
        self.control_token = control_token or secrets.token_hex(16)
        self.defaults = {'token_lifetime': float(token_lifetime), 'max_body': int(max_body),
                         'login_failure_status': int(login_failure_status),
                         'delete_in_use': delete_in_use, 'latency': 0.0}
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.httpd = None
        self.thread = None
        self.ssl_context = None
        self._reset_locked()

    # --- control API ---------------------------------------------------

    def _reset_locked(self):
        self.config = dict(self.defaults)
        self.store = Store(self.mapping, self.config['delete_in_use'])
        self.tokens = Tokens()
        self.faults = []
        self.requests = []
        self.seq = 0

    def reset(self):
        """Empty state, no faults, an empty log, no tokens, default configuration."""
        with self.lock:
            self._reset_locked()
        return {}

    def configure(self, **options):
        """token_lifetime (s), latency (s, before every API request),
        max_body (bytes), login_failure_status (401 or 200), delete_in_use
        (refuse or allow)."""
        with self.lock:
            for key, value in options.items():
                if key not in self.config:
                    raise ValueError('unknown option %r' % key)
                self.config[key] = type(self.defaults[key])(value)
            self.store.delete_in_use = self.config['delete_in_use']
            return dict(self.config)

    def seed(self, state, replace=True):
        """Sets gateways (with passwords) and domains (with domainSettings)."""
        with self.lock:
            self.store.seed(state, replace)
            return self.store.dump()

    def state(self):
        """The full state, stored passwords included."""
        with self.lock:
            return self.store.dump()

    def inject(self, **spec):
        """Adds a fault (see the module's documentation); returns its id."""
        with self.lock:
            fault = Fault(spec, self.mapping)
            self.faults.append(fault)
            return fault.id

    def faults_state(self):
        with self.lock:
            return [dict(f.spec, seen=f.seen, fired=f.fired) for f in self.faults]

    def log(self, clear=False):
        """The request log (passwords masked); *clear* empties it."""
        with self.lock:
            entries = copy.deepcopy(self.requests)
            if clear:
                self.requests = []
            return entries

    def control(self, action, body):
        body = body if isinstance(body, dict) else {}
        if action == 'seed':
            return self.seed(body.get('state', {}), body.get('replace', True))
        if action == 'state':
            return self.state()
        if action == 'inject':
            return {'id': self.inject(**body)}
        if action == 'faults':
            return self.faults_state()
        if action == 'log':
            return self.log(body.get('clear', False))
        if action == 'reset':
            return self.reset()
        if action == 'configure':
            return self.configure(**body)
        raise ValueError('unknown control action %r' % action)

    # --- serving -------------------------------------------------------

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def scheme(self):
        return 'https' if self.cert_dir else 'http'

    @property
    def url(self):
        return '%s://%s:%d' % (self.scheme, self.host, self.port)

    def start(self):
        if self.cert_dir:
            sys.path.insert(0, HERE)
            import certs
            cert, key = certs.ensure_server_cert(self.cert_dir)
            self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl_context.load_cert_chain(cert, key)
        self.httpd = _Server((self.host, self.requested_port), _Handler, self)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.1},
                                       name='fake-smartermail', daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- one API request (called from the handler thread) ---------------

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def api(self, handler, method, path, raw_body, token):
        """Returns (status, answer object) or a fault to play, and logs."""
        m = self.mapping
        endpoint, params = m.route(method, path)
        body = None
        body_error = None
        if raw_body:
            try:
                body = json.loads(raw_body.decode('utf-8'))
            except (UnicodeDecodeError, ValueError):
                body_error = 'The request body is not JSON'
        password_keys = {m.f('login-password'), m.f('gateway-password')}
        logged_body = (mask_passwords(body, password_keys) if body_error is None
                       else {'_unparsed_bytes': len(raw_body)})
        with self.lock:
            self.seq += 1
            entry = {'seq': self.seq, 'method': method, 'path': path, 'endpoint': endpoint or None,
                     'body': logged_body, 'auth': self.tokens.check(token), 'status': None,
                     'fault': None, 'time': time.time()}
            self.requests.append(entry)
            fault = None
            for f in self.faults:
                if f.take(method, path, endpoint):
                    fault = f
                    break
            entry['fault'] = fault.kind if fault else None
            latency = self.config['latency']

        if latency:
            self.stopping.wait(latency)
        if fault is not None and fault.kind == 'slow':
            self.stopping.wait(fault.delay)
            if self.stopping.is_set():
                return entry, None, None, fault

        with self.lock:
            # Checked after the waits: a token may expire while a request waits.
            entry['auth'] = self.tokens.check(token)
            apply = fault is None or fault.apply
            if fault is not None and fault.kind == 'unauthorized':
                self.tokens.revoke(token, fault.revoke_refresh)
                status, answer = 401, self.failure('The access token has expired')
            else:
                store = self.store if apply else copy.deepcopy(self.store)
                tokens = self.tokens if apply else copy.deepcopy(self.tokens)
                status, answer = self.dispatch(store, tokens, endpoint, params, body, body_error, token)
            if fault is not None and fault.kind in ('status', 'failure', 'malformed', 'oversized', 'close'):
                if fault.kind == 'status':
                    status, answer = fault.status, self.failure('Injected HTTP %d' % fault.status)
                elif fault.kind == 'failure':
                    status, answer = 200, self.failure(fault.message)
                else:
                    status = 200 if fault.kind != 'close' else status
            entry['status'] = status
            if endpoint == 'gateway-create' and status == 200 and isinstance(answer, dict) \
                    and isinstance(answer.get(self.mapping.f('gateway')), dict):
                # The id the server gave, so that tests can follow what happened to it.
                entry['created_id'] = answer[self.mapping.f('gateway')].get(self.mapping.f('gateway-id'))
        return entry, status, answer, fault

    def failure(self, message):
        return {self.mapping.f('success'): False, self.mapping.f('message'): message}

    def dispatch(self, store, tokens, endpoint, params, body, body_error, token):
        m = self.mapping
        if endpoint is None:
            return 404, {m.f('success'): False, m.f('message'): 'Not found'}
        if endpoint == '':
            return 405, self.failure('Method not allowed')
        if body_error:
            return 400, self.failure(body_error)
        try:
            if endpoint == 'login':
                if not isinstance(body, dict):
                    raise ApiError(400, 'The request must be a JSON object')
                if body.get(m.f('login-username')) == self.admin and \
                        body.get(m.f('login-password')) == self.password and self.password:
                    return 200, self.token_answer(tokens)
                return self.config['login_failure_status'], self.failure('Invalid username or password')
            if endpoint == 'refresh':
                given = body.get(m.f('refresh-request-token')) if isinstance(body, dict) else None
                expiry = tokens.refresh.pop(given, None) if isinstance(given, str) else None
                if expiry is None or time.monotonic() >= expiry:
                    return 401, self.failure('The refresh token is not valid')
                return 200, self.token_answer(tokens)
            auth = tokens.check(token)
            if auth != 'valid':
                return 401, self.failure({'none': 'Authorization required',
                                          'expired': 'The access token has expired',
                                          'unknown': 'The access token is not valid'}[auth])
            return 200, store.handle(endpoint, params, body)
        except ApiError as e:
            return e.status, self.failure(e.message)

    def token_answer(self, tokens):
        m = self.mapping
        access, refresh, expires = tokens.issue(self.config['token_lifetime'])
        return {m.f('success'): True, m.f('access-token'): access, m.f('refresh-token'): refresh,
                m.f('access-expiration'): iso_utc(expires)}


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, fake):
        self.fake = fake
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the request's thread: a client
        # that connects and says nothing blocks nobody.
        request.settimeout(30)
        if self.fake.ssl_context is not None:
            request = self.fake.ssl_context.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # Clients that give up (timeouts, rejected certificates, closed
        # connections) are part of the tests, not errors of the fake.
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, ConnectionError)):
            return
        super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'FakeSmarterMail/1.0'

    def log_message(self, fmt, *args):
        if os.environ.get('FAKE_SMARTERMAIL_VERBOSE'):
            sys.stderr.write('fake-smartermail: %s\n' % (fmt % args))

    def do_GET(self):
        self.serve('GET')

    def do_POST(self):
        self.serve('POST')

    def do_PUT(self):
        self.serve('PUT')

    def do_DELETE(self):
        self.serve('DELETE')

    def do_PATCH(self):
        self.serve('PATCH')

    def send_json(self, status, obj, close=False):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        self.send_header('Content-Length', str(len(data)))
        if close:
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def read_body(self, limit):
        """The body, or None after answering 411/413 (the connection is closed)."""
        fake = self.server.fake
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            self.send_json(411, fake.failure('A Content-Length is required'), close=True)
            return None
        try:
            length = int(self.headers.get('Content-Length', '0'))
        except ValueError:
            length = -1
        if length < 0:
            self.send_json(400, fake.failure('Bad Content-Length'), close=True)
            return None
        if length > limit:
            # Read and drop what was sent (up to 16 MiB, never kept), so
            # that the client sees the answer rather than a reset.
            left = length if length <= 16 * 1024 * 1024 else 0
            while left > 0:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
            self.send_json(413, fake.failure('The request body is larger than %d bytes' % limit), close=True)
            return None
        return self.rfile.read(length) if length else b''

    def serve(self, method):
        fake = self.server.fake
        path = urllib.parse.urlsplit(self.path).path
        raw = self.read_body(fake.config['max_body'])
        if raw is None:
            return
        if path.startswith(CONTROL_PREFIX):
            given = self.headers.get(CONTROL_HEADER, '')
            if given and secrets.compare_digest(given, fake.control_token):
                try:
                    body = json.loads(raw.decode()) if raw else {}
                    self.send_json(200, {'success': True,
                                         'result': fake.control(path[len(CONTROL_PREFIX):], body)})
                except (ValueError, TypeError) as e:
                    self.send_json(400, fake.failure('control: %s' % e))
                return
            self.send_json(404, fake.failure('Not found'))
            return

        token = None
        authorization = self.headers.get('Authorization', '')
        if authorization.startswith('Bearer '):
            token = authorization[len('Bearer '):].strip()
        entry, status, answer, fault = fake.api(self, method, path, raw, token)
        if status is None:          # stopping during a slow reply
            self.close_connection = True
            return
        kind = fault.kind if fault else None
        if kind == 'close':
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json; charset=utf-8')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif kind == 'malformed':
            data = b'{"success": true, "message": "this is not JSON\', [1, 2,, }'
            self.send_response(200)
            self.send_header('Content-Type', 'application/json; charset=utf-8')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif kind == 'oversized':
            self.send_oversized(fault)
        else:
            self.send_json(status, answer)

    def send_oversized(self, fault):
        head = b'{"success": true, "padding": ['
        tail = b'"end"]}'
        item = b'"' + b'x' * 1022 + b'",'
        size = max(fault.size, len(head) + len(tail))
        self.send_response(200)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        if fault.length:
            self.send_header('Content-Length', str(size))
        else:
            self.send_header('Connection', 'close')
        self.end_headers()
        self.close_connection = True
        fake = self.server.fake
        try:
            self.wfile.write(head)
            left = size - len(head) - len(tail)
            chunk = item * 64
            while left > 0 and not fake.stopping.is_set():
                piece = chunk if left >= len(chunk) else (item * (left // len(item)))
                if not piece:
                    # Pad with spaces, which JSON allows between values.
                    piece = b' ' * left
                self.wfile.write(piece)
                left -= len(piece)
            self.wfile.write(tail)
        except OSError:
            pass


def main(argv=None):
    parser = argparse.ArgumentParser(description='A fake SmarterMail web API for tests.')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--cert', metavar='DIR', help='serve HTTPS with DIR/server.pem and DIR/server.key')
    parser.add_argument('--plain', action='store_true', help='serve plain HTTP')
    parser.add_argument('--mapping', default=DEFAULT_MAPPING)
    parser.add_argument('--admin', default='admin')
    parser.add_argument('--password-file', required=True)
    parser.add_argument('--control-token-file')
    parser.add_argument('--ready-file')
    parser.add_argument('--token-lifetime', type=float, default=DEFAULT_TOKEN_LIFETIME)
    parser.add_argument('--max-body', type=int, default=MAX_BODY)
    parser.add_argument('--login-failure-status', type=int, choices=(200, 401), default=401)
    parser.add_argument('--delete-in-use', choices=('refuse', 'allow'), default='refuse')
    parser.add_argument('--seed', metavar='FILE', help='a JSON state to start with')
    args = parser.parse_args(argv)
    if not args.plain and not args.cert:
        parser.error('give --cert DIR, or --plain')

    with open(args.password_file) as f:
        password = f.read().rstrip('\n')
    token = None
    if args.control_token_file and os.path.exists(args.control_token_file) \
            and os.path.getsize(args.control_token_file):
        with open(args.control_token_file) as f:
            token = f.read().strip()
    try:
        fake = FakeSmarterMail(mapping=args.mapping, admin=args.admin, password=password,
                               cert_dir=None if args.plain else args.cert, host=args.host,
                               port=args.port, control_token=token,
                               token_lifetime=args.token_lifetime, max_body=args.max_body,
                               login_failure_status=args.login_failure_status,
                               delete_in_use=args.delete_in_use)
    except (OSError, ValueError, MappingError) as e:
        sys.exit('fake_smartermail: %s' % e)
    if token is None:
        if args.control_token_file:
            fd = os.open(args.control_token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(fake.control_token + '\n')
        else:
            print('control token: %s' % fake.control_token, flush=True)
    if args.seed:
        with open(args.seed) as f:
            fake.seed(json.load(f))

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    fake.start()
    if args.ready_file:
        tmp = args.ready_file + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % fake.port)
        os.rename(tmp, args.ready_file)
    print('fake SmarterMail listening on %s' % fake.url, flush=True)
    while not done.wait(1):
        pass
    fake.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
