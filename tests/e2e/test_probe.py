#!/usr/bin/python3
"""The connection check (smarthostctl check, send-test, --check) against
real servers on loopback.

Good relays are aiosmtpd processes (harness.RelayServer: plain, STARTTLS,
implicit TLS, with AUTH), with certificates made here with OpenSSL: a test
CA, an expired certificate, a self-signed one and one for another name.
Bad ones are the small servers of hostile.py: silent, garbage, overlong and
endless replies, 4xx/5xx at every stage, broken TLS.

Every check asserts the exit status, the failing stage (``failed_stage`` of
``--json``), the hint where the issue asks for one, that it finished within
its timeout, and that no credential shows up in what smarthostctl printed.
Checks of the endless and overlong servers also assert that smarthostctl
stayed small (its own maximum RSS, from wait4()).

Cancellation is tested through the Python API (GObject-Introspection),
when the uninstalled typelib is on GI_TYPELIB_PATH (meson sets it up).

Run with /usr/bin/python3; SMARTHOSTCTL names the binary. Needs Postfix's
postconf/postmap for the --check and configured-relay tests (not a running
Postfix) and python3-aiosmtpd.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
import hostile  # noqa: E402

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"

USER = "probeuser"
PASSWORD = "Probe-Pw-z7Qk2mV9-secret"
WRONG_PASSWORD = "Wrong-Pw-c3Xn8bH1-secret"

# Short timeouts for the servers that misbehave; SLACK is what a check may
# take beyond its timeout (process start, TLS set-up).
TIMEOUT = 3
CONNECT_TIMEOUT = 2
SLACK = 1.5
QUICK = 2.0            # a check that fails at once must not wait for a timeout
MAX_RSS_KB = 50 * 1024

MAIN_CF = """\
compatibility_level = 3.6
myhostname = mail.example.org
mydestination = $myhostname, localhost
relayhost =
inet_interfaces = loopback-only
"""


def secrets_forms(*passwords):
    """A password and the encodings it travels in (AUTH PLAIN, LOGIN)."""
    forms = []
    for pw in passwords:
        forms.append(pw)
        forms.append(base64.b64encode(pw.encode()).decode())
        forms.append(base64.b64encode(("\0%s\0%s" % (USER, pw)).encode()).decode())
    return forms


SECRETS = secrets_forms(PASSWORD, WRONG_PASSWORD)


def snapshot(root):
    return harness.snapshot(root, mtimes=False)


class Run:
    """What one smarthostctl run did."""

    def __init__(self, argv, returncode, stdout, stderr, elapsed, maxrss_kb):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.maxrss_kb = maxrss_kb
        self._json = None

    @property
    def json(self):
        if self._json is None:
            self._json = json.loads(self.stdout)
        return self._json

    def __repr__(self):
        return "exit %s after %.2f s, %d kB; stdout=%r stderr=%r" % (
            self.returncode, self.elapsed, self.maxrss_kb, self.stdout[-3000:], self.stderr[-2000:])


GNU_TIME = "/usr/bin/time"


def run_ctl(*args, stdin=None, limit=60):
    """Runs smarthostctl; measures the wall time and its maximum RSS. The
    RSS comes from GNU time: a child's ru_maxrss from wait4() here would
    include this (large) Python process, which the child starts as a copy
    of. Kills it after *limit* seconds."""
    argv = [SMARTHOSTCTL] + list(args)
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = os.path.join(tmp, "rss")
        cmd = argv
        if os.access(GNU_TIME, os.X_OK):
            cmd = [GNU_TIME, "-f", "%M", "-o", rss_file] + argv
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, input=stdin.encode() if stdin is not None else None,
                                  stdin=subprocess.DEVNULL if stdin is None else None,
                                  capture_output=True, timeout=limit)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("%s did not finish within %s s" % (" ".join(argv), limit)) from e
        elapsed = time.monotonic() - start
        maxrss = 0
        try:
            with open(rss_file) as f:
                maxrss = int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    # Strict decoding: what a relay sends must not make the output invalid UTF-8.
    return Run(argv, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8"),
               elapsed, maxrss)


def setUpModule():
    global TMP, CA, CERT, RELAYS, PASSWORD_FILE, WRONG_PASSWORD_FILE
    TMP = tempfile.mkdtemp(prefix="smarthost-probe-")
    os.chmod(TMP, 0o755)
    CA = harness.make_ca(TMP)
    CERT = harness.make_cert(TMP, CA)
    certs = {
        "good": CERT,
        "expired": harness.make_cert(TMP, CA, name="expired", expired=True),
        "selfsigned": harness.make_self_signed(TMP),
        "wrongname": harness.make_cert(TMP, CA, name="wrongname", cn="other.test",
                                       names=("other.test",), ips=()),
    }
    PASSWORD_FILE = os.path.join(TMP, "password")
    WRONG_PASSWORD_FILE = os.path.join(TMP, "wrong-password")
    for path, pw in ((PASSWORD_FILE, PASSWORD), (WRONG_PASSWORD_FILE, WRONG_PASSWORD)):
        with open(path, "w") as f:
            f.write(pw + "\n")
        os.chmod(path, 0o600)
    specs = {
        "starttls": ("starttls", "good"),
        "tls": ("tls", "good"),
        "plain": ("plain", None),
        "expired": ("tls", "expired"),
        "selfsigned": ("tls", "selfsigned"),
        "wrongname": ("tls", "wrongname"),
    }
    RELAYS = {}
    for name, (mode, cert) in specs.items():
        RELAYS[name] = harness.RelayServer(TMP, mode=mode, cert=certs[cert] if cert else None,
                                           users={USER: PASSWORD}, name=name).start(wait=False)
    for relay in RELAYS.values():
        relay.wait_ready()


def tearDownModule():
    for relay in RELAYS.values():
        relay.stop()
    if not os.environ.get("SMARTHOST_E2E_KEEP"):
        shutil.rmtree(TMP, ignore_errors=True)


class ProbeTestCase(unittest.TestCase):
    def ctl(self, *args, stdin=None, limit=60):
        r = run_ctl(*args, stdin=stdin, limit=limit)
        for text in (r.stdout, r.stderr):
            for secret in SECRETS:
                self.assertNotIn(secret, text, "a credential leaked: %r" % r)
            self.assertNotIn("CRITICAL", text, r)
        return r

    def check(self, port, *options, host="localhost", security="starttls", auth=True,
              ca=True, timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT, command=("check",),
              extra=()):
        """`smarthostctl --json check HOST --port P ...`; returns the Run."""
        args = ["--json", "--timeout", str(timeout), "--connect-timeout", str(connect_timeout)]
        args += list(command) + [host, "--port", str(port), "--security", security]
        if ca and security != "none":
            args += ["--ca-file", CA.cert]
        if auth:
            args += ["--user", USER, "--password-file", PASSWORD_FILE]
        return self.ctl(*(args + list(options) + list(extra)))

    def send_test(self, port, security="none", auth=True):
        """send-test through a relay configured in a new config dir
        (send-test takes no HOST)."""
        conf = make_config_dir(self)
        args = ["--config-dir", conf, "--no-reload", "set-server", "localhost", "--port", str(port),
                "--security", security]
        if security != "none":
            args += ["--ca-file", CA.cert]
        if auth:
            args += ["--user", USER, "--password-file", PASSWORD_FILE]
        r = self.ctl(*args)
        self.assertEqual(r.returncode, 0, r)
        return self.ctl("--config-dir", conf, "--json", "--timeout", str(TIMEOUT),
                        "--connect-timeout", str(CONNECT_TIMEOUT), "send-test",
                        "--from", "a@example.org", "--to", "b@example.net")

    def assertWorks(self, r):
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(r.json["success"], r)
        self.assertEqual(r.json["stage"], "done", r)
        self.assertIsNone(r.json["failed_stage"], r)
        self.assertIsNone(r.json["hint"], r)
        self.assertLess(r.elapsed, QUICK, r)

    def assertFails(self, r, stage, hint=None, within=None, message=None):
        """Exit 1, failed at *stage*, a hint with every word of *hint*
        (or no hint at all when hint is False), and done within *within*
        seconds (default: quickly, well before any timeout)."""
        self.assertEqual(r.returncode, 1, r)
        j = r.json
        self.assertFalse(j["success"], r)
        self.assertEqual(j["failed_stage"], stage, r)
        self.assertTrue(j["message"], r)
        if message is not None:
            self.assertIn(message, j["message"], r)
        if hint:
            self.assertIsNotNone(j["hint"], r)
            for word in ([hint] if isinstance(hint, str) else hint):
                self.assertIn(word.lower(), j["hint"].lower(), r)
        elif hint is False:
            self.assertIsNone(j["hint"], r)
        self.assertLess(r.elapsed, within if within is not None else QUICK, r)
        for line in j["transcript"]:
            for secret in SECRETS:
                self.assertNotIn(secret, line)
        return j


# --------------------------------------------------------------------------
# Relays that work, and the mistakes people make with them
# --------------------------------------------------------------------------

class TestGoodRelays(ProbeTestCase):
    def test_starttls(self):
        r = self.check(RELAYS["starttls"].port)
        self.assertWorks(r)
        j = r.json
        self.assertTrue(j["greeting"].startswith("220 "))
        self.assertIn("C: STARTTLS", j["transcript"])
        self.assertNotIn("STARTTLS", j["capabilities"])   # those after TLS
        self.assertTrue(j["tls"]["version"].startswith("TLSv1."))
        self.assertNotIn(j["tls"]["version"], ("TLSv1", "TLSv1.1"))
        self.assertTrue(j["tls"]["verified"])
        self.assertEqual(j["tls"]["verification"], "verified")
        self.assertIn("localhost", j["tls"]["certificate"]["names"])
        self.assertIn("test CA", j["tls"]["certificate"]["issuer"])
        self.assertEqual(j["auth_mechanism"], "PLAIN")
        self.assertIn("C: AUTH PLAIN ********", j["transcript"])
        self.assertIn("C: QUIT", j["transcript"])
        for stage in ("connect", "greeting", "ehlo", "starttls", "tls", "auth"):
            self.assertIn(stage, j["timings_ms"])

    def test_implicit_tls(self):
        r = self.check(RELAYS["tls"].port, security="tls")
        self.assertWorks(r)
        self.assertTrue(r.json["tls"]["verified"])
        self.assertNotIn("starttls", r.json["timings_ms"])

    def test_ip_address_verifies_against_ip_san(self):
        r = self.check(RELAYS["tls"].port, host="127.0.0.1", security="tls")
        self.assertWorks(r)
        # Regression test: it works here, but Postfix refuses such a relay.
        self.assertEqual(len(r.json["warnings"]), 1, r)
        self.assertIn("IP address", r.json["warnings"][0])

    def test_plain_relay_with_security_none(self):
        r = self.check(RELAYS["plain"].port, security="none")
        self.assertWorks(r)
        self.assertIsNone(r.json["tls"])

    def test_ipv6(self):
        try:
            server = hostile.HostileServer("scripted", host="::1").start()
        except OSError as e:
            self.skipTest("no IPv6 loopback: %s" % e)
        self.addCleanup(server.stop)
        r = self.check(server.port, host="::1", security="none")
        self.assertWorks(r)
        self.assertEqual(r.json["address"], "::1")

    def test_text_output(self):
        r = self.ctl("check", "localhost", "--port", str(RELAYS["starttls"].port),
                     "--ca-file", CA.cert, "--user", USER, "--password-file", PASSWORD_FILE)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("works", r.stdout)
        self.assertEqual(r.stderr, "")
        r = self.ctl("check", "localhost", "--port", str(RELAYS["starttls"].port),
                     "--ca-file", CA.cert, "--user", USER, "--password-file", WRONG_PASSWORD_FILE)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("FAILED at auth", r.stderr)
        self.assertIn("What to do:", r.stderr)
        self.assertIn("credentials", r.stderr)

    def test_check_host_needs_no_mail_server_configuration(self):
        missing = os.path.join(TMP, "no", "such", "postfix")
        r = self.ctl("--config-dir", missing, "--json", "check", "localhost",
                     "--port", str(RELAYS["starttls"].port), "--ca-file", CA.cert,
                     "--user", USER, "--password-file", PASSWORD_FILE)
        self.assertWorks(r)
        self.assertFalse(os.path.exists(missing))


class TestMistakes(ProbeTestCase):
    def test_implicit_tls_on_a_starttls_port(self):
        self.assertFails(self.check(RELAYS["starttls"].port, security="tls"), "tls",
                         hint=["starttls", "465"])

    def test_starttls_on_an_implicit_tls_port(self):
        # The relay waits for a ClientHello; we wait for its greeting.
        self.assertFails(self.check(RELAYS["tls"].port, security="starttls"), "greeting",
                         hint=["implicit", "security tls"], within=TIMEOUT + SLACK)

    def test_starttls_not_offered(self):
        server = hostile.HostileServer("scripted").start()
        self.addCleanup(server.stop)
        self.assertFails(self.check(server.port), "starttls", hint=["STARTTLS", "465"])
        # The credentials never went out in clear.
        self.assertNotIn(b"AUTH", server.received)
        # Against the aiosmtpd relay in plain mode, too.
        self.assertFails(self.check(RELAYS["plain"].port), "starttls", hint="STARTTLS")

    def test_auth_not_offered(self):
        server = hostile.HostileServer("scripted", cert=CERT, caps=("PIPELINING", "8BITMIME")).start()
        self.addCleanup(server.stop)
        self.assertFails(self.check(server.port), "auth", hint="does not offer authentication")

    # Regression test: with security none and a relay that offers neither STARTTLS nor AUTH, the hint says "use security starttls", which cannot work
    def test_auth_not_offered_in_clear_without_starttls(self):
        server = hostile.HostileServer("scripted", caps=("PIPELINING",)).start()
        self.addCleanup(server.stop)
        j = self.assertFails(self.check(server.port, security="none"), "auth")
        self.assertNotIn("security starttls", j["hint"] or "")

    def test_wrong_password_535(self):
        r = self.check(RELAYS["starttls"].port, extra=["--password-file", WRONG_PASSWORD_FILE])
        j = self.assertFails(r, "auth", hint=["credentials", "password"], message="535")
        self.assertEqual(j["auth_mechanism"], "PLAIN")

    def test_530_starttls_required(self):
        server = hostile.HostileServer(
            "scripted", caps=("PIPELINING",),
            replies={"mail": "530 5.7.0 Must issue a STARTTLS command first"}).start()
        self.addCleanup(server.stop)
        r = self.send_test(server.port, security="none", auth=False)
        self.assertFails(r, "mail", hint=["STARTTLS", "security starttls"], message="530")

    def test_530_authentication_required(self):
        # A relay that requires AUTH, reached without credentials.
        r = self.send_test(RELAYS["starttls"].port, security="starttls", auth=False)
        self.assertFails(r, "mail", hint="authentication", message="530")

    def test_expired_certificate(self):
        r = self.check(RELAYS["expired"].port, security="tls")
        j = self.assertFails(r, "tls", hint="expired", message="expired")
        self.assertFalse(j["tls"]["verified"])
        self.assertIn("expired", j["tls"]["verification"])
        self.assertTrue(j["tls"]["certificate"]["expires"].startswith("2020-02-01"))

    def test_self_signed_certificate(self):
        r = self.check(RELAYS["selfsigned"].port, security="tls")
        j = self.assertFails(r, "tls", hint=["self-signed", "ca-file"])
        self.assertFalse(j["tls"]["verified"])

    def test_self_signed_certificate_not_verified(self):
        r = self.check(RELAYS["selfsigned"].port, "--no-verify-certificate", security="tls", ca=False)
        self.assertWorks(r)
        self.assertFalse(r.json["tls"]["verified"])
        self.assertIn("not verified", r.json["tls"]["verification"])
        self.assertIn("self-signed", r.json["tls"]["verification"])

    def test_untrusted_ca(self):
        # The system store does not know the test CA.
        r = self.check(RELAYS["tls"].port, security="tls", ca=False)
        self.assertFails(r, "tls", hint=["authority", "ca-file"])

    def test_wrong_name_certificate(self):
        r = self.check(RELAYS["wrongname"].port, security="tls")
        j = self.assertFails(r, "tls", hint="other names", message="hostname mismatch")
        self.assertEqual(j["tls"]["certificate"]["names"], ["other.test"])
        r = self.check(RELAYS["wrongname"].port, security="tls", host="127.0.0.1")
        self.assertFails(r, "tls", hint="other names", message="IP address mismatch")

    def test_connection_refused(self):
        r = self.check(harness.free_port())
        self.assertFails(r, "connect", hint=["nothing listens", "port"])

    def test_connect_timeout_says_blocked(self):
        # A listener whose accept queue is full drops SYNs: to the client,
        # like a firewall that drops packets.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        for _ in range(4):
            s = socket.socket()
            self.addCleanup(s.close)
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        time.sleep(0.1)
        r = self.check(port, host="127.0.0.1")
        j = self.assertFails(r, "connect", hint=["block", "2525"], within=CONNECT_TIMEOUT + SLACK)
        self.assertGreater(r.elapsed, CONNECT_TIMEOUT - 0.2, r)
        self.assertIn("timed out", j["message"])


# --------------------------------------------------------------------------
# Hostile servers
# --------------------------------------------------------------------------

class TestHostile(ProbeTestCase):
    def hostile(self, mode, **kw):
        server = hostile.HostileServer(mode, **kw).start()
        self.addCleanup(server.stop)
        return server

    def assertSmall(self, r):
        if not os.access(GNU_TIME, os.X_OK):
            self.skipTest("measuring memory needs GNU time (%s)" % GNU_TIME)
        self.assertGreater(r.maxrss_kb, 0, r)
        self.assertLess(r.maxrss_kb, MAX_RSS_KB, r)

    def test_silent_server(self):
        s = self.hostile("silent")
        r = self.check(s.port)
        self.assertFails(r, "greeting", hint="no greeting", within=TIMEOUT + SLACK, message="timed out")
        self.assertGreater(r.elapsed, TIMEOUT - 0.2)
        # On an implicit TLS port it stalls in the handshake instead.
        r = self.check(s.port, security="tls")
        self.assertFails(r, "tls", within=TIMEOUT + SLACK, message="timed out")

    def test_whole_check_timeout_bounds_a_slow_server(self):
        # A line every 0.3 s: each read is quick, the check as a whole is not.
        s = self.hostile("drip")
        r = self.check(s.port)
        self.assertFails(r, "greeting", within=TIMEOUT + SLACK, message="timed out")

    # Regression test: a greeting cut short by the timeout is hinted as "sent no greeting ... use security tls" although the relay did send lines
    def test_slow_greeting_is_not_hinted_as_no_greeting(self):
        s = self.hostile("drip")
        j = self.check(s.port).json
        self.assertEqual(j["failed_stage"], "greeting")
        self.assertNotIn("no greeting", j["hint"] or "")

    def test_garbage(self):
        s = self.hostile("garbage")
        self.assertFails(self.check(s.port), "greeting", hint="implicit-TLS",
                         message="not an SMTP reply")

    def test_overlong_line(self):
        s = self.hostile("overlong")
        r = self.check(s.port)
        self.assertFails(r, "greeting", message="longer than")
        self.assertSmall(r)

    def test_flood_without_line_break(self):
        s = self.hostile("flood")
        r = self.check(s.port)
        self.assertFails(r, "greeting", message="longer than")
        self.assertSmall(r)

    def test_endless_multiline_greeting(self):
        s = self.hostile("endless-greeting")
        r = self.check(s.port)
        j = self.assertFails(r, "greeting", message="longer than")
        self.assertSmall(r)
        self.assertLess(len(j["transcript"]), 1000)

    def test_endless_multiline_ehlo(self):
        s = self.hostile("endless-ehlo")
        r = self.check(s.port)
        j = self.assertFails(r, "ehlo", message="longer than")
        self.assertSmall(r)
        self.assertLess(len(r.stdout), 100000)
        self.assertEqual(j["capabilities"], [])

    def test_close_mid_tls_handshake(self):
        s = self.hostile("close-mid-tls")
        self.assertFails(self.check(s.port, security="tls"), "tls", message="TLS")

    def test_starttls_offered_but_handshake_fails(self):
        s = self.hostile("starttls-broken")
        self.assertFails(self.check(s.port), "tls", message="handshake")
        self.assertNotIn(b"AUTH", s.received)
        s = self.hostile("starttls-close")
        self.assertFails(self.check(s.port), "tls", message="handshake")
        self.assertNotIn(b"AUTH", s.received)

    def test_starttls_response_injection(self):
        s = self.hostile("starttls-inject")
        self.assertFails(self.check(s.port), "tls", message="before the TLS handshake")
        self.assertNotIn(b"AUTH", s.received)

    # 4xx/5xx at every stage. security none keeps the scripted server
    # simple where TLS does not matter; AUTH is checked after STARTTLS too.
    def scripted(self, replies, security="none", **kw):
        return self.hostile("scripted", replies=replies,
                            cert=CERT if security != "none" else None, **kw)

    def test_greeting_554(self):
        s = self.scripted({"greeting": "554 5.7.1 No SMTP service here"})
        self.assertFails(self.check(s.port, security="none"), "greeting",
                         hint="refuses connections", message="554")

    def test_greeting_421(self):
        s = self.scripted({"greeting": "421 4.3.2 Service not available"})
        self.assertFails(self.check(s.port, security="none"), "greeting", message="421")

    def test_ehlo_5xx(self):
        for reply in ("550 5.7.1 Go away", "502 5.5.2 Command not implemented"):
            s = self.scripted({"ehlo": reply})
            self.assertFails(self.check(s.port, security="none"), "ehlo", message=reply[:3])

    def test_starttls_454(self):
        s = self.scripted({"starttls": "454 4.7.0 TLS not available due to local problem"},
                          security="starttls")
        self.assertFails(self.check(s.port), "starttls", message="454")
        self.assertNotIn(b"AUTH", s.received)

    def test_auth_535_after_starttls(self):
        s = self.scripted({"auth": "535 5.7.8 Authentication credentials invalid"},
                          security="starttls", auth_after_tls=True)
        self.assertFails(self.check(s.port), "auth", hint="credentials", message="535")

    def test_auth_454(self):
        s = self.scripted({"auth": "454 4.7.0 Temporary authentication failure"})
        self.assertFails(self.check(s.port, security="none"), "auth", message="454")

    def test_auth_login_535(self):
        s = self.scripted({"auth": "535 5.7.8 Authentication credentials invalid"},
                          caps=("AUTH LOGIN",))
        j = self.assertFails(self.check(s.port, security="none"), "auth", hint="credentials")
        self.assertEqual(j["auth_mechanism"], "LOGIN")

    def test_no_common_mechanism(self):
        s = self.scripted({}, caps=("AUTH CRAM-MD5 XOAUTH2",))
        self.assertFails(self.check(s.port, security="none"), "auth", hint="PLAIN",
                         message="CRAM-MD5")

    def test_mail_550(self):
        s = self.scripted({"mail": "550 5.7.1 Sender address rejected: not verified"})
        self.assertFails(self.send_test(s.port), "mail", hint="sender", message="550")

    def test_rcpt_550(self):
        s = self.scripted({"rcpt": "550 5.1.1 Recipient address rejected"})
        self.assertFails(self.send_test(s.port), "rcpt", message="550")

    def test_rcpt_451(self):
        s = self.scripted({"rcpt": "451 4.3.0 Try again later"})
        self.assertFails(self.send_test(s.port), "rcpt", message="451")

    def test_data_554(self):
        s = self.scripted({"data": "554 5.5.1 No valid recipients"})
        self.assertFails(self.send_test(s.port), "data", message="554")

    def test_end_of_message_554(self):
        s = self.scripted({"eom": "554 5.7.1 Message rejected as spam"})
        j = self.assertFails(self.send_test(s.port), "data", message="554")
        self.assertIsNone(j["queue_reply"])

    def test_scripted_server_works_when_it_behaves(self):
        s = self.scripted({})
        r = self.send_test(s.port)
        self.assertWorks(r)
        self.assertEqual(r.json["queue_reply"], "250 2.0.0 OK queued as HOSTILE1")
        # AUTH in clear is fine with security none: it is what was asked.
        self.assertEqual(hostile.auth_plain_decode(s.received), [(USER, PASSWORD)])


# --------------------------------------------------------------------------
# Cancellation, through the Python API
# --------------------------------------------------------------------------

def load_gi():
    try:
        import gi
        gi.require_version("Smarthost", "1.0")
        gi.require_version("Gio", "2.0")
        from gi.repository import GLib, Gio, Smarthost
        return GLib, Gio, Smarthost
    except (ImportError, ValueError):
        return None


class TestCancellation(ProbeTestCase):
    def setUp(self):
        modules = load_gi()
        if modules is None:
            self.skipTest("the Smarthost typelib is not on GI_TYPELIB_PATH")
        self.GLib, self.Gio, self.Smarthost = modules

    def cancel_after(self, relay, delay=0.3):
        """Starts run_async, cancels after *delay* s; returns (seconds from
        the cancel to the callback, the error)."""
        GLib, Gio = self.GLib, self.Gio
        probe = self.Smarthost.Probe.new(relay)
        probe.set_timeout(20)
        probe.set_connect_timeout(20)
        cancellable = Gio.Cancellable()
        loop = GLib.MainLoop()
        got = {}

        def done(p, res):
            got["at"] = time.monotonic()
            try:
                got["result"] = p.run_finish(res)
            except GLib.Error as e:
                got["error"] = e
            loop.quit()

        def cancel():
            got["cancelled_at"] = time.monotonic()
            cancellable.cancel()
            return False

        probe.run_async(cancellable, done)
        GLib.timeout_add(int(delay * 1000), cancel)
        GLib.timeout_add_seconds(10, loop.quit)
        loop.run()
        self.assertIn("at", got, "no callback within 10 s")
        self.assertNotIn("result", got)
        return got["at"] - got["cancelled_at"], got["error"]

    def relay(self, port, security, host="localhost"):
        S = self.Smarthost
        return S.Relay(host=host, port=port, security=security, ca_file=CA.cert,
                       username=USER, password=PASSWORD)

    def assertCancelledQuickly(self, lag, error):
        self.assertTrue(error.matches(self.Gio.io_error_quark(), self.Gio.IOErrorEnum.CANCELLED), error)
        self.assertLess(lag, 1.0)

    def test_cancel_while_waiting_for_the_greeting(self):
        s = hostile.HostileServer("silent").start()
        self.addCleanup(s.stop)
        self.assertCancelledQuickly(*self.cancel_after(self.relay(s.port, self.Smarthost.Security.STARTTLS)))

    def test_cancel_during_the_tls_handshake(self):
        s = hostile.HostileServer("silent").start()
        self.addCleanup(s.stop)
        self.assertCancelledQuickly(*self.cancel_after(self.relay(s.port, self.Smarthost.Security.TLS)))

    def test_cancel_while_connecting(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        for _ in range(4):
            c = socket.socket()
            self.addCleanup(c.close)
            c.setblocking(False)
            try:
                c.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
        time.sleep(0.1)
        self.assertCancelledQuickly(*self.cancel_after(
            self.relay(port, self.Smarthost.Security.STARTTLS, host="127.0.0.1")))

    # Regression test: bytes that are not UTF-8 in a relay's reply reach the result's strings unchanged
    def test_non_utf8_replies_reach_python_as_text(self):
        # A relay's bytes must come out as valid UTF-8 (GI strings are).
        s = RawServer([b"220 relay \xff\xfe ESMTP\r\n", b"250 ok\r\n", b"221 bye\r\n"])
        self.addCleanup(s.close)
        S = self.Smarthost
        result = S.Probe.new(S.Relay(host="127.0.0.1", port=s.port, security=S.Security.NONE)).run(None)
        self.assertTrue(result.get_success(), result.to_string())
        self.assertTrue(result.get_greeting().startswith("220 relay "))
        json.loads(result.to_json())


class RawServer:
    """Sends each of *payloads* after reading a line (the first at once)."""

    def __init__(self, payloads):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, args=(payloads,), daemon=True)
        self.thread.start()

    def serve(self, payloads):
        try:
            c, _ = self.sock.accept()
            with c:
                for p in payloads:
                    c.sendall(p)
                    c.recv(4096)
        except OSError:
            pass

    def close(self):
        self.sock.close()


class TestRelayBytes(ProbeTestCase):
    # Regression test: bytes that are not UTF-8 in a relay's reply make --json print invalid UTF-8
    def test_non_utf8_reply_keeps_json_valid(self):
        s = RawServer([b"220 relay \xff\xfe ESMTP\r\n", b"250 ok\r\n", b"221 bye\r\n"])
        self.addCleanup(s.close)
        # run_ctl decodes stdout as UTF-8 strictly, and .json parses it.
        r = self.ctl("--json", "--timeout", str(TIMEOUT), "check", "127.0.0.1", "--port", str(s.port),
                     "--security", "none")
        self.assertWorks(r)

    # Regression test: the transcript keeps a relay's bytes that are not UTF-8
    def test_non_utf8_garbage_keeps_json_valid(self):
        s = RawServer([b"\xff\xfe garbage\r\n"])
        self.addCleanup(s.close)
        r = self.ctl("--json", "--timeout", str(TIMEOUT), "check", "127.0.0.1", "--port", str(s.port),
                     "--security", "none")
        self.assertFails(r, "greeting")

    # Regression test: the result's message quotes the relay's reply without redacting the credentials (the transcript does redact)
    def test_relay_echoing_the_credentials_does_not_leak_them(self):
        # A relay that quotes the AUTH line in its 535: the message, the
        # JSON and the text output must not carry the credentials.
        token = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode())
        s = RawServer([b"220 relay ESMTP\r\n", b"250-relay\r\n250 AUTH PLAIN\r\n",
                       b"535 5.7.8 bad credentials in AUTH PLAIN " + token + b"\r\n"])
        self.addCleanup(s.close)
        r = self.check(s.port, security="none", host="127.0.0.1")   # ctl() asserts no secret
        self.assertFails(r, "auth", message="535")


# --------------------------------------------------------------------------
# Configured relays: check, check --domain, send-test, --check
# --------------------------------------------------------------------------

def make_config_dir(testcase):
    if not (os.path.exists("/usr/sbin/postconf") and os.path.exists(STOCK_MASTER_CF)):
        testcase.skipTest("needs Postfix's postconf and master.cf.dist")
    tmp = tempfile.mkdtemp(prefix="smarthost-probe-conf-")
    testcase.addCleanup(shutil.rmtree, tmp, True)
    conf = os.path.join(tmp, "postfix")
    os.mkdir(conf)
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write(MAIN_CF)
    shutil.copy(STOCK_MASTER_CF, os.path.join(conf, "master.cf"))
    past = time.time() - 10
    for name in ("main.cf", "master.cf"):
        os.utime(os.path.join(conf, name), (past, past))
    return conf


class TestConfigured(ProbeTestCase):
    def setUp(self):
        self.conf = make_config_dir(self)

    def conf_ctl(self, *args, **kw):
        return self.ctl("--config-dir", self.conf, *args, **kw)

    def relay_args(self, name, password_file=None, security="starttls"):
        return ["localhost", "--port", str(RELAYS[name].port), "--security", security,
                "--ca-file", CA.cert, "--user", USER, "--password-file", password_file or PASSWORD_FILE]

    def test_check_uses_the_stored_credentials(self):
        r = self.conf_ctl("--no-reload", "set-server", *self.relay_args("starttls"))
        self.assertEqual(r.returncode, 0, r)
        r = self.conf_ctl("--json", "check")
        self.assertWorks(r)
        self.assertEqual(r.json["auth_mechanism"], "PLAIN")
        self.assertEqual(r.json["port"], RELAYS["starttls"].port)

    def test_check_domain_uses_the_domain_relay(self):
        # The server relay has a wrong password, the domain's the right one.
        self.assertEqual(self.conf_ctl("--no-reload", "set-server",
                                       *self.relay_args("starttls", WRONG_PASSWORD_FILE)).returncode, 0)
        self.assertEqual(self.conf_ctl("--no-reload", "set-domain", "example.com",
                                       *self.relay_args("tls", security="tls")).returncode, 0)
        r = self.conf_ctl("--json", "check", "--domain", "example.com")
        self.assertWorks(r)
        self.assertEqual(r.json["security"], "tls")
        self.assertFails(self.conf_ctl("--json", "check"), "auth", hint="credentials")
        # A domain without a relay of its own uses the server's.
        r = self.conf_ctl("check", "--domain", "other.example")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("server-wide", r.stdout)

    def test_check_with_nothing_configured(self):
        r = self.conf_ctl("check")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("no smarthost is configured", r.stderr)

    def test_send_test(self):
        relay = RELAYS["starttls"]
        before = len(relay.messages())
        self.assertEqual(self.conf_ctl("--no-reload", "set-server", *self.relay_args("starttls")).returncode, 0)
        r = self.conf_ctl("send-test", "--from", "sender@example.org", "--to", "rcpt@example.net")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("250 2.0.0 OK queued by starttls", r.stdout)
        messages = relay.wait_for_messages(before + 1, timeout=10)
        m = messages[-1]
        self.assertEqual(m["mail_from"], "sender@example.org")
        self.assertEqual(m["rcpt_tos"], ["rcpt@example.net"])
        self.assertEqual(m["user"], USER)
        self.assertTrue(m["tls"])
        self.assertEqual(m["subject"], "libsmarthost test message")
        r = self.conf_ctl("--json", "send-test", "--from", "sender@example.org", "--to", "rcpt@example.net")
        self.assertWorks(r)
        self.assertEqual(r.json["queue_reply"], "250 2.0.0 OK queued by starttls")
        # Regression test: the line for the message ended in U+FFFD (one
        # byte too many was taken from the literal).
        self.assertIn("C: (message: headers and one line of text)", r.json["transcript"])
        self.assertNotIn("\ufffd", r.stdout)

    def test_send_test_through_the_domain_relay(self):
        relay = RELAYS["tls"]
        before = len(relay.messages())
        self.assertEqual(self.conf_ctl("--no-reload", "set-domain", "example.org",
                                       *self.relay_args("tls", security="tls")).returncode, 0)
        r = self.conf_ctl("send-test", "--domain", "example.org", "--from", "x@example.org",
                          "--to", "y@example.net")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("queued by tls", r.stdout)
        self.assertEqual(relay.wait_for_messages(before + 1, timeout=10)[-1]["mail_from"], "x@example.org")

    def test_set_server_check_fails_and_changes_nothing(self):
        before = snapshot(self.conf)
        for args in (self.relay_args("starttls", WRONG_PASSWORD_FILE),
                     self.relay_args("expired", security="tls"),
                     ["localhost", "--port", str(harness.free_port())]):
            r = self.conf_ctl("--check", "--timeout", str(TIMEOUT), "set-server", *args)
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("nothing was changed", r.stderr)
            self.assertIn("What to do:", r.stderr)
            self.assertEqual(before, snapshot(self.conf))

    def test_set_domain_check_fails_and_changes_nothing(self):
        before = snapshot(self.conf)
        r = self.conf_ctl("--check", "set-domain", "example.com",
                          *self.relay_args("selfsigned", security="tls"))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("self-signed", r.stderr)
        self.assertEqual(before, snapshot(self.conf))

    def test_set_server_and_domain_check_succeed(self):
        r = self.conf_ctl("--check", "--no-reload", "--json", "set-server", *self.relay_args("starttls"))
        self.assertEqual(r.returncode, 0, r)
        self.assertTrue(r.json["changed"])
        self.assertEqual(r.json["server"]["port"], RELAYS["starttls"].port)
        r = self.conf_ctl("--check", "--no-reload", "set-domain", "example.com",
                          *self.relay_args("tls", security="tls"))
        self.assertEqual(r.returncode, 0, r)
        status = self.conf_ctl("--json", "status").json
        self.assertEqual(status["server"]["host"], "localhost")
        self.assertEqual(status["domains"]["example.com"]["security"], "tls")
        self.assertTrue(status["domains"]["example.com"]["password_set"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
