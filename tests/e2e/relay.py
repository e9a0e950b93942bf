#!/usr/bin/python3
"""A throwaway SMTP relay ("smarthost") for libsmarthost's end-to-end tests.

Run with Debian's interpreter (``/usr/bin/python3``), which has
``python3-aiosmtpd`` (1.4.x).  Usually started through
``harness.RelayServer``; can also be run by hand::

    /usr/bin/python3 relay.py --port 2525 --mode starttls \\
        --cert relay.pem --key relay.key \\
        --user alice --password s3cret --user bob --password hunter2 \\
        --record /tmp/x/relay.jsonl --ready-file /tmp/x/relay.ready

Modes (always listening on 127.0.0.1 only):

``plain``     no TLS at all; AUTH offered and accepted in clear text.
``starttls``  STARTTLS offered; AUTH is only offered/accepted after
              STARTTLS (``538 5.7.11`` before), like a port-587 submission
              service.  With ``--require-starttls`` MAIL etc. are refused
              before STARTTLS as well.
``tls``       implicit TLS: the whole connection is wrapped (like port 465).

AUTH (PLAIN and LOGIN) is required unless ``--no-auth`` is given; exactly one
of the configured ``--user``/``--password`` pairs must match, anything else
gets ``535 5.7.8``.  With ``--no-auth`` AUTH is not required, but if users
are configured AUTH is still offered and checked.

For every accepted message one JSON line is appended to the ``--record``
file::

    {"relay": NAME, "user": "alice" | null, "mail_from": "...",
     "rcpt_tos": [...], "subject": "...", "tls": true|false, "peer": "..."}

The ready file is written (containing the port) once the socket listens.
SIGTERM / SIGINT stop the server cleanly (exit status 0).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class RecordingHandler:
    """aiosmtpd handler that appends a JSON line per accepted message."""

    def __init__(self, name, record):
        self.name = name
        self.record = record

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        msg = email.message_from_bytes(content, policy=email.policy.default)
        user = None
        if session.authenticated and session.auth_data is not None:
            user = _decode(getattr(session.auth_data, "login", None))
        entry = {
            "relay": self.name,
            "user": user,
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "subject": str(msg.get("Subject", "")),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "peer": "%s:%s" % tuple(session.peer[:2]) if session.peer else None,
        }
        line = json.dumps(entry, sort_keys=True) + "\n"
        # O_APPEND keeps concurrent writers (several sessions) line-atomic.
        fd = os.open(self.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        return "250 2.0.0 OK queued by %s" % self.name


class Authenticator:
    """Accept exactly one of the configured (user, password) pairs."""

    def __init__(self, pairs):
        self.pairs = {(u.encode(), p.encode()) for u, p in pairs}

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if mechanism not in ("PLAIN", "LOGIN"):
            return AuthResult(success=False, handled=False)
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if (auth_data.login, auth_data.password) in self.pairs:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


def _tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1",
                   help="listen address (default 127.0.0.1)")
    p.add_argument("--mode", choices=("plain", "starttls", "tls"),
                   default="starttls")
    p.add_argument("--cert", help="PEM certificate (chain) for starttls/tls")
    p.add_argument("--key", help="PEM private key for starttls/tls")
    p.add_argument("--user", action="append", default=[])
    p.add_argument("--password", action="append", default=[])
    p.add_argument("--no-auth", action="store_true",
                   help="do not require AUTH")
    p.add_argument("--require-starttls", action="store_true",
                   help="starttls mode: refuse everything but "
                        "EHLO/STARTTLS/QUIT before STARTTLS")
    p.add_argument("--record", required=True,
                   help="file receiving one JSON line per message")
    p.add_argument("--ready-file", required=True)
    p.add_argument("--name", help="relay name in the record "
                                  "(default relay-PORT)")
    args = p.parse_args(argv)
    if len(args.user) != len(args.password):
        p.error("--user and --password must be given in pairs")
    if args.mode != "plain" and not (args.cert and args.key):
        p.error("--cert and --key are required for mode %s" % args.mode)
    if not args.no_auth and not args.user:
        p.error("at least one --user/--password pair (or --no-auth) needed")
    if args.name is None:
        args.name = "relay-%d" % args.port
    return args


async def serve(args):
    loop = asyncio.get_running_loop()
    handler = RecordingHandler(args.name, args.record)
    pairs = list(zip(args.user, args.password))
    tls_ctx = _tls_context(args.cert, args.key) if args.mode != "plain" else None

    smtp_kwargs = dict(
        hostname="relay.test",
        ident="libsmarthost test relay",
        auth_required=not args.no_auth,
        # In starttls mode AUTH must wait for STARTTLS.  In tls mode the
        # connection is already encrypted but aiosmtpd only knows about
        # STARTTLS, so the check has to be off there (and in plain mode).
        auth_require_tls=(args.mode == "starttls"),
        authenticator=Authenticator(pairs) if pairs else None,
        # aiosmtpd disables LOGIN/PLAIN when there is no authenticator, so
        # give a reject-all authenticator in --no-auth mode without users.
    )
    if smtp_kwargs["authenticator"] is None:
        smtp_kwargs["authenticator"] = Authenticator([])
    if args.mode == "starttls":
        smtp_kwargs["tls_context"] = tls_ctx
        smtp_kwargs["require_starttls"] = args.require_starttls

    def factory():
        return SMTP(handler, **smtp_kwargs)

    server = await loop.create_server(
        factory, host=args.host, port=args.port,
        ssl=tls_ctx if args.mode == "tls" else None,
        reuse_address=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % args.port)
    os.replace(tmp, args.ready_file)

    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv=None):
    args = parse_args(argv)
    # aiosmtpd warns loudly when auth_required without auth_require_tls.
    import logging
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
