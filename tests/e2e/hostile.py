#!/usr/bin/python3
"""Small misbehaving SMTP servers for the connection-check tests.

Python 3.11 standard library only.  Each server listens on 127.0.0.1 (or
the *host* given, such as ``::1``) in a thread of the test process
(``HostileServer(mode, ...).start()``, stopped by ``stop()`` or ``with``),
or in a process of its own::

    /usr/bin/python3 hostile.py --mode silent --port 2525

Modes:

``silent``          accepts and never says anything
``garbage``         sends bytes that are not SMTP, then waits
``overlong``        sends "220 " and 100 kB without a line break, then waits
``flood``           sends bytes without a line break for as long as the
                    peer reads
``endless-greeting`` "220-x" lines, forever
``endless-ehlo``    a normal greeting, then "250-x" lines forever after EHLO
``drip``            "220-x" lines, one every 0.3 s, forever: busy but slow
``close-mid-tls``   implicit TLS port that reads the ClientHello and hangs up
``starttls-broken`` offers STARTTLS, says 220, then answers the ClientHello
                    with a fatal TLS alert
``starttls-close``  offers STARTTLS, says 220, reads the ClientHello and
                    hangs up
``starttls-inject`` answers STARTTLS with "220" and an extra reply in the
                    same packet (a STARTTLS command-injection attempt)
``scripted``        a small but complete SMTP server (STARTTLS with *cert*,
                    AUTH PLAIN/LOGIN, MAIL, RCPT, DATA) whose reply at any
                    stage can be replaced: ``replies={"greeting": "554 go
                    away", "auth": "535 5.7.8 no", ...}`` with the keys
                    greeting, ehlo, starttls, auth, mail, rcpt, data
                    (the reply to the DATA command) and eom (the reply to
                    the message).  *caps* replaces the EHLO extensions;
                    *auth_after_tls* offers AUTH only after STARTTLS.

Everything a server received is kept in ``received`` (bytes), so that tests
can see what the client sent (for example, that no credential went out in
clear).
"""

import argparse
import base64
import contextlib
import socket
import ssl
import sys
import threading
import time

FATAL_HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"

DEFAULT_CAPS = ("PIPELINING", "SIZE 10240000", "AUTH PLAIN LOGIN", "8BITMIME")

MODES = ("silent", "garbage", "overlong", "flood", "endless-greeting",
         "endless-ehlo", "drip", "close-mid-tls", "starttls-broken",
         "starttls-close", "starttls-inject", "scripted")


class _Closed(Exception):
    pass


class _Conn:
    """A socket (plain or TLS) with line reading."""

    def __init__(self, sock, server):
        self.sock = sock
        self.server = server
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self, text):
        self.send(text.rstrip("\r\n") + "\r\n")

    def recv(self, n=4096):
        data = self.sock.recv(n)
        if not data:
            raise _Closed()
        self.server._record(data)
        return data

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 65536:
                raise _Closed()
            self.buf += self.recv()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")


class HostileServer:
    """A misbehaving SMTP server on 127.0.0.1 (see the module's doc)."""

    def __init__(self, mode, port=0, cert=None, replies=None, caps=None,
                 auth_after_tls=False, host="127.0.0.1"):
        if mode not in MODES:
            raise ValueError("unknown mode %r" % mode)
        self.mode = mode
        self.cert = cert
        self.replies = dict(replies or {})
        self.caps = tuple(DEFAULT_CAPS if caps is None else caps)
        self.auth_after_tls = auth_after_tls
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._clients = []
        self._tls = None
        if cert is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(cert.cert, cert.key)

    # -- life ---------------------------------------------------------------

    def start(self):
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                c.close()
        for t in self._threads:
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _record(self, data):
        with self._lock:
            if len(self.received) < 1 << 20:
                self.received += data

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self._clients.append(client)
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(client,),
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, client):
        conn = _Conn(client, self)
        try:
            getattr(self, "_mode_" + self.mode.replace("-", "_"))(conn)
        except (_Closed, OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.sock.close()

    def _hold(self, conn):
        """Keeps the connection open, reading, until the peer goes."""
        while not self._stop.is_set():
            conn.recv()

    # -- modes --------------------------------------------------------------

    def _mode_silent(self, conn):
        self._hold(conn)

    def _mode_garbage(self, conn):
        conn.send(b"\x00\x01\xfe\xffHTTP/1.1 400 Bad Request\r\n\x1b[31m\r\n")
        self._hold(conn)

    def _mode_overlong(self, conn):
        conn.send(b"220 " + b"A" * 100000)
        self._hold(conn)

    def _mode_flood(self, conn):
        chunk = b"B" * 65536
        conn.send(b"220 ")
        while not self._stop.is_set():
            conn.send(chunk)

    def _mode_endless_greeting(self, conn):
        while not self._stop.is_set():
            conn.send(b"220-x\r\n" * 1000)

    def _mode_endless_ehlo(self, conn):
        conn.reply("220 relay.test ESMTP hostile")
        conn.readline()
        while not self._stop.is_set():
            conn.send(b"250-x\r\n" * 1000)

    def _mode_drip(self, conn):
        while not self._stop.is_set():
            conn.send(b"220-x\r\n")
            time.sleep(0.3)

    def _mode_close_mid_tls(self, conn):
        conn.recv()           # the ClientHello
        raise _Closed()

    def _starttls_prelude(self, conn):
        conn.reply("220 relay.test ESMTP hostile")
        conn.readline()                                   # EHLO
        conn.send("250-relay.test\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n")
        line = conn.readline()
        if line.upper() != "STARTTLS":
            raise _Closed()

    def _mode_starttls_broken(self, conn):
        self._starttls_prelude(conn)
        conn.reply("220 2.0.0 Ready to start TLS")
        conn.recv()                                       # ClientHello
        conn.send(FATAL_HANDSHAKE_FAILURE)
        self._hold(conn)

    def _mode_starttls_close(self, conn):
        self._starttls_prelude(conn)
        conn.reply("220 2.0.0 Ready to start TLS")
        conn.recv()
        raise _Closed()

    def _mode_starttls_inject(self, conn):
        self._starttls_prelude(conn)
        conn.send("220 2.0.0 Ready to start TLS\r\n250 injected\r\n")
        self._hold(conn)

    # -- a complete, scriptable server ---------------------------------------

    def _say(self, conn, stage, default):
        """Sends the reply for @stage; returns True when it is not the
        default (the script took over)."""
        text = self.replies.get(stage)
        conn.reply(text if text is not None else default)
        return text is not None and not text.startswith(("2", "3"))

    def _mode_scripted(self, conn):
        if self._say(conn, "greeting", "220 relay.test ESMTP scripted"):
            self._hold(conn)
            return
        tls = False
        while True:
            line = conn.readline()
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                caps = [c for c in self.caps
                        if tls or not self.auth_after_tls or
                        not c.upper().startswith("AUTH")]
                if tls:
                    caps = [c for c in caps if c.upper() != "STARTTLS"]
                elif self._tls is not None and "STARTTLS" not in caps:
                    caps.append("STARTTLS")
                text = self.replies.get("ehlo")
                if text is not None:
                    conn.reply(text)
                    continue
                lines = ["relay.test"] + caps
                conn.send("".join("250%s%s\r\n" % ("-" if i < len(lines) - 1
                                                   else " ", l)
                                  for i, l in enumerate(lines)))
            elif verb == "STARTTLS":
                if self._say(conn, "starttls", "220 2.0.0 Ready to start TLS"):
                    continue
                conn.sock = self._tls.wrap_socket(conn.sock, server_side=True)
                conn.buf = b""
                tls = True
            elif verb == "AUTH":
                parts = line.split()
                mech = parts[1].upper() if len(parts) > 1 else ""
                if mech == "LOGIN":
                    conn.reply("334 VXNlcm5hbWU6")
                    conn.readline()
                    conn.reply("334 UGFzc3dvcmQ6")
                    conn.readline()
                elif mech == "PLAIN" and len(parts) < 3:
                    conn.reply("334 ")
                    conn.readline()
                self._say(conn, "auth", "235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                self._say(conn, "mail", "250 2.1.0 OK")
            elif verb == "RCPT":
                self._say(conn, "rcpt", "250 2.1.5 OK")
            elif verb == "DATA":
                if self._say(conn, "data", "354 End data with <CR><LF>.<CR><LF>"):
                    continue
                while conn.readline() != ".":
                    pass
                self._say(conn, "eom", "250 2.0.0 OK queued as HOSTILE1")
            elif verb == "QUIT":
                conn.reply("221 2.0.0 Bye")
                return
            elif verb == "RSET" or verb == "NOOP":
                conn.reply("250 2.0.0 OK")
            else:
                conn.reply("502 5.5.2 Error: command not recognized")


def auth_plain_decode(received):
    """The (user, password) pairs an AUTH PLAIN in *received* carried."""
    pairs = []
    for line in received.split(b"\r\n"):
        if line.upper().startswith(b"AUTH PLAIN "):
            raw = base64.b64decode(line.split()[2])
            _, user, password = raw.split(b"\0")
            pairs.append((user.decode(), password.decode()))
    return pairs


def main(argv=None):
    p = argparse.ArgumentParser(description="A misbehaving SMTP server.")
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    server = HostileServer(args.mode, port=args.port).start()
    sys.stdout.write("%d\n" % server.port)
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
