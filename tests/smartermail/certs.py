#!/usr/bin/python3
# certs.py: a throwaway test CA and a server certificate for the fake
# SmarterMail server, made with the openssl command-line tool
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make_test_ca(DIR) writes, into DIR:
#   ca.pem, ca.key          the CA (what a client trusts: --option ca-file=DIR/ca.pem)
#   server.pem, server.key  a certificate for 127.0.0.1 and localhost, signed by the CA
#   other-ca.pem            a second CA that did not sign anything, for tests
#                           that give the client the wrong CA
# and returns a TestCA with those paths. Nothing outside DIR is touched;
# the keys are 0600.

import dataclasses
import os
import subprocess
import tempfile
import time

OPENSSL = 'openssl'


@dataclasses.dataclass
class TestCA:
    dir: str
    ca_cert: str
    ca_key: str
    server_cert: str
    server_key: str
    other_ca_cert: str


def _run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError('%s failed (exit %d):\n%s' % (' '.join(cmd), proc.returncode, proc.stdout))


def _self_signed_ca(key, cert, cn):
    _run([OPENSSL, 'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
          '-nodes', '-keyout', key, '-out', cert, '-days', '3650', '-subj', '/CN=' + cn,
          '-addext', 'basicConstraints=critical,CA:TRUE',
          '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    os.chmod(key, 0o600)


def make_test_ca(directory, names=('localhost',), ips=('127.0.0.1',)):
    """Makes the CA and the server certificate in *directory* (created if
    needed) and returns a TestCA."""
    os.makedirs(directory, exist_ok=True)
    ca = TestCA(dir=directory,
                ca_cert=os.path.join(directory, 'ca.pem'),
                ca_key=os.path.join(directory, 'ca.key'),
                server_cert=os.path.join(directory, 'server.pem'),
                server_key=os.path.join(directory, 'server.key'),
                other_ca_cert=os.path.join(directory, 'other-ca.pem'))
    _self_signed_ca(ca.ca_key, ca.ca_cert, 'libsmarthost fake SmarterMail test CA')
    other_key = os.path.join(directory, 'other-ca.key')
    _self_signed_ca(other_key, ca.other_ca_cert, 'libsmarthost unrelated test CA')

    san = ','.join(['DNS:' + n for n in names] + ['IP:' + i for i in ips])
    work = tempfile.mkdtemp(prefix='csr-', dir=directory)
    try:
        csr = os.path.join(work, 'server.csr')
        ext = os.path.join(work, 'ext.cnf')
        with open(ext, 'w') as f:
            f.write('basicConstraints = critical, CA:FALSE\n'
                    'keyUsage = critical, digitalSignature, keyEncipherment\n'
                    'extendedKeyUsage = serverAuth\n'
                    'subjectAltName = %s\n' % san)
        _run([OPENSSL, 'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
              '-nodes', '-keyout', ca.server_key, '-out', csr, '-subj', '/CN=localhost'])
        os.chmod(ca.server_key, 0o600)
        # Backdated by an hour against clock skew.
        start = time.strftime('%Y%m%d%H%M%SZ', time.gmtime(time.time() - 3600))
        _run([OPENSSL, 'x509', '-req', '-in', csr, '-CA', ca.ca_cert, '-CAkey', ca.ca_key,
              '-CAcreateserial', '-out', ca.server_cert, '-days', '365', '-sha256',
              '-extfile', ext] + (['-not_before', start] if _openssl_has_not_before() else []))
    finally:
        for name in os.listdir(work):
            os.unlink(os.path.join(work, name))
        os.rmdir(work)
    return ca


_not_before = None


def _openssl_has_not_before():
    # openssl x509 -not_before arrived in OpenSSL 3.4; Debian 12 has 3.0.
    global _not_before
    if _not_before is None:
        proc = subprocess.run([OPENSSL, 'x509', '-help'], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True)
        _not_before = '-not_before' in proc.stdout
    return _not_before


def ensure_server_cert(directory):
    """The server certificate and key in *directory*, made with a new CA
    when they are not there yet. Returns (cert, key)."""
    cert = os.path.join(directory, 'server.pem')
    key = os.path.join(directory, 'server.key')
    if not (os.path.exists(cert) and os.path.exists(key)):
        make_test_ca(directory)
    return cert, key


if __name__ == '__main__':
    import sys
    if len(sys.argv) != 2:
        sys.exit('usage: certs.py DIR')
    print(make_test_ca(sys.argv[1]))
