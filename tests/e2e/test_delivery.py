#!/usr/bin/python3
"""Real mail through a real Postfix, configured only with smarthostctl.

One throwaway Postfix instance (Debian's stock, chrooted master.cf; see
harness.py) and a set of aiosmtpd relays on 127.0.0.1 are shared by all
tests of the class.  Each test configures smarthosts with
``smarthostctl --config-dir <instance>`` only (passwords through
--password-file or --password-stdin, never argv), injects mail with
sendmail, and checks at the relays which relay received it and as which
user it authenticated.  Between tests every smarthost is unset again and
the queue is emptied.

Relays are addressed as ``localhost``: Postfix cannot verify the
certificate of an IP-literal relay, and the test certificates carry
DNS:localhost (see /work/notes/postfix-experiments.md).

Needs root, Debian's postfix and python3-aiosmtpd; run with /usr/bin/python3.
SMARTHOSTCTL names the binary; SMARTHOST_E2E_KEEP=1 keeps the temp folder.
"""

import collections
import json
import os
import re
import stat
import subprocess
import sys
import unittest
import uuid

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
RCPT = "someone@remote.example"
OTHER_SENDER = "carol@other.example"
DELIVERY_TIMEOUT = 30

# Relay users and their passwords.  Every password is a secret that must
# never show up outside smarthost/*passwd(.db).
PASSWORDS = {
    "srvuser": "Srv-Pw-q8Zr3vX1-secret",
    "usera": "UsrA-Pw-m2Kd7wY4-secret",
    "userb": "UsrB-Pw-t5Hn9cJ6-secret",
    "userc": "UsrC-Pw-p1Lx4gF8-secret",
    "tlsuser": "Tls-Pw-v7Bq2sN5-secret",
    "plainuser": "Plain-Pw-k3Wy6dR0-secret",
    "certuser": "Cert-Pw-h9Mf1zT2-secret",
}
WRONG_PASSWORD = "Wrong-Pw-x4Gc8uE7-secret"
SECRETS = sorted(PASSWORDS.values()) + [WRONG_PASSWORD]

# name -> (mode, certificate, users); the certificate names an attribute
# set up in setUpClass.
RELAYS = {
    "server": ("starttls", "good_cert", ["srvuser"]),
    "a": ("starttls", "good_cert", ["usera"]),
    "shared": ("starttls", "good_cert", ["srvuser", "userb", "userc"]),
    "implicit": ("tls", "good_cert", ["tlsuser", "usera"]),
    "plain": ("plain", None, ["plainuser"]),
    "selfsigned": ("starttls", "self_signed_cert", ["certuser"]),
    "foreign": ("starttls", "foreign_cert", ["certuser"]),
}
SECURITY = {"plain": "none", "starttls": "starttls", "tls": "tls"}

Mail = collections.namedtuple("Mail", "sender subject msgid")


class DeliveryTest(unittest.TestCase):
    maxDiff = None

    # -- class fixture: certificates, relays, one running Postfix ----------

    @classmethod
    def setUpClass(cls):
        tmp = harness.TempDir()
        cls.addClassCleanup(tmp.cleanup)
        cls.work = tmp.path
        certs = os.path.join(cls.work, "certs")
        cls.ca = harness.make_ca(certs)
        cls.good_cert = harness.make_cert(certs, cls.ca, name="relay")
        other_ca = harness.make_ca(certs, name="other-ca", cn="some other CA")
        cls.foreign_cert = harness.make_cert(certs, other_ca, name="foreign")
        cls.self_signed_cert = harness.make_self_signed(certs)

        # Password files: 0600 in a 0700 folder of the temp directory.
        secrets = os.path.join(cls.work, "secrets")
        os.mkdir(secrets, 0o700)
        cls.password_file = {}
        for name, password in list(PASSWORDS.items()) + [("wrong", WRONG_PASSWORD)]:
            path = os.path.join(secrets, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(password + "\n")
            cls.password_file[name] = path

        cls.relays = {}
        for name, (mode, cert, users) in RELAYS.items():
            relay = harness.RelayServer(
                cls.work, mode=mode, name=name,
                cert=getattr(cls, cert) if cert else None,
                users={u: PASSWORDS[u] for u in users})
            cls.addClassCleanup(relay.stop)
            cls.relays[name] = relay.start(wait=False)
        for relay in cls.relays.values():
            relay.wait_ready()

        cls.pf = harness.PostfixInstance(cls.work)
        cls.addClassCleanup(cls.pf.cleanup)
        cls.pf.start()
        cls.conf = cls.pf.config_dir
        cls.ctl_outputs = []

    # -- per test: remember where the log was, undo the configuration -------

    def setUp(self):
        self.log_offset = len(self.pf.log())
        self.relay_counts = self.message_counts()

    def tearDown(self):
        if self._failed():
            sys.stderr.write("\n=== %s failed; maillog of this test (tail) ===\n%s\n"
                             "=== queue ===\n%s\n=== routing ===\n%s\n" % (
                                 self._testMethodName, self.log_tail(80),
                                 json.dumps(self.pf.queue(), indent=1), self.routing()))
        status = self.ctl("status")
        for domain in status["domains"]:
            self.ctl("unset-domain", domain)
        if status["server"] is not None:
            self.ctl("unset-server")
        self.pf.purge_queue()

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if hasattr(outcome, "errors"):              # Python <= 3.10
            return any(exc for _, exc in outcome.errors)
        # Python >= 3.11 reports failures to the result at once.
        result = outcome.result
        return any(test is self for test, _ in
                   getattr(result, "failures", []) + getattr(result, "errors", []))

    # -- diagnostics --------------------------------------------------------

    def log_since_start(self):
        """The maillog written since this test started."""
        return self.pf.log()[self.log_offset:]

    def log_tail(self, lines=40):
        return "\n".join(self.log_since_start().splitlines()[-lines:])

    def routing(self):
        """The generated routing (no password maps: they hold secrets)."""
        out = [self.pf.postconf("-n", "relayhost", "default_transport", "relay_transport",
                                "sender_dependent_default_transport_maps",
                                check=False).stdout]
        out += [e for e in self.pf.postconf("-M", check=False).stdout.splitlines()
                if e.startswith("smarthost-")]
        path = os.path.join(self.conf, "smarthost", "sender_transport")
        if os.path.exists(path):
            with open(path) as f:
                out.append("sender_transport:\n" + f.read())
        return "\n".join(out)

    def diag(self, what):
        # tearDown prints the maillog and the queue of a failed test.
        return what + " (maillog and queue of this test on stderr)"

    # -- smarthostctl -------------------------------------------------------

    def reload_count(self):
        return len(re.findall(r"postfix/master\[\d+\]: reload", self.pf.log()))

    def ctl(self, *args, stdin=None, expect=0, as_json=True):
        """Run smarthostctl on the instance; check that no secret is in
        its output; after a change wait until Postfix has reloaded.
        Returns the parsed JSON (or the CompletedProcess with as_json=False)."""
        argv = [SMARTHOSTCTL, "--config-dir", self.conf]
        if as_json:
            argv.append("--json")
        argv += list(args)
        reloads = self.reload_count()
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
        self.ctl_outputs.append((argv, proc.stdout, proc.stderr))
        for secret in SECRETS:
            self.assertNotIn(secret, proc.stdout + proc.stderr,
                             "a password leaked into the output of %s" % argv)
        self.assertEqual(proc.returncode, expect, "%s: exit %d\nstdout: %s\nstderr: %s" % (
            argv, proc.returncode, proc.stdout, proc.stderr))
        if not as_json:
            return proc
        data = json.loads(proc.stdout) if proc.stdout.strip() else None
        if expect == 0 and isinstance(data, dict) and data.get("changed"):
            # smarthostctl reloads Postfix after every change: wait until the
            # master has done it, so the next mail sees the new routes.
            harness.wait_for(lambda: self.reload_count() > reloads, 15, 0.05,
                             self.diag("Postfix did not reload after %s" % argv))
        return data

    def relay_args(self, relay, user, password="file", ca=True, verify=True,
                   extra=()):
        """HOST and relay options for RELAYS[relay].  password: "file",
        "stdin" (the caller passes it) or a key of password_file."""
        r = self.relays[relay]
        args = ["localhost", "--port", str(r.port), "--security", SECURITY[r.mode]]
        if ca and r.mode != "plain":
            args += ["--ca-file", self.ca.cert]
        if not verify:
            args.append("--no-verify-certificate")
        if user is not None:
            args += ["--user", user]
            if password == "stdin":
                args.append("--password-stdin")
            else:
                args += ["--password-file",
                         self.password_file[user if password == "file" else password]]
        return args + list(extra)

    def set_server(self, relay, user, password="file", **kw):
        data = self.ctl("set-server", *self.relay_args(relay, user, password, **kw),
                        stdin=PASSWORDS[user] + "\n" if password == "stdin" else None)
        self.assertEqual(data["server"]["port"], self.relays[relay].port)
        return data

    def set_domain(self, domain, relay, user, password="file", **kw):
        data = self.ctl("set-domain", domain, *self.relay_args(relay, user, password, **kw),
                        stdin=PASSWORDS[user] + "\n" if password == "stdin" else None)
        self.assertEqual(data["relay"]["port"], self.relays[relay].port)
        return data

    # -- mail ---------------------------------------------------------------

    def send(self, sender, tag):
        token = uuid.uuid4().hex[:16]
        mail = Mail(sender, "%s %s %s" % (self._testMethodName, tag, token),
                    "<%s@e2e.test>" % token)
        self.pf.send(sender, RCPT, mail.subject, headers={"Message-ID": mail.msgid})
        return mail

    def message_counts(self):
        return {name: len(r.messages()) for name, r in self.relays.items()}

    def received_since_setup(self):
        return [(name, m) for name, r in self.relays.items()
                for m in r.messages()[self.relay_counts[name]:]]

    def received(self, mail):
        """[(relay name, record)] of every relay that received *mail*."""
        return [(name, m) for name, r in self.relays.items()
                for m in r.messages() if m["subject"] == mail.subject]

    def queue_id(self, mail):
        line = self.wait_log(r"cleanup\[\d+\]: \w+: message-id=%s" % re.escape(mail.msgid),
                             "%s was not queued" % mail.subject)
        return re.search(r": (\w+): message-id=", line).group(1)

    def wait_log(self, pattern, what, timeout=DELIVERY_TIMEOUT):
        """The first line of this test's maillog matching *pattern*."""
        rx = re.compile(pattern)

        def find():
            return next((line for line in self.log_since_start().splitlines() if rx.search(line)), None)
        try:
            return harness.wait_for(find, timeout, 0.1)
        except TimeoutError:
            self.fail(self.diag("%s (no log line matching %r after %ss)" % (what, pattern, timeout)))

    def assertDelivered(self, mail, relay, user, tls=True):
        """*mail* arrives exactly once, at *relay*, authenticated as *user*."""
        try:
            got = harness.wait_for(lambda: self.received(mail), DELIVERY_TIMEOUT, 0.1)
        except TimeoutError:
            self.fail(self.diag("%r from %s did not reach relay %s within %ss"
                                % (mail.subject, mail.sender, relay, DELIVERY_TIMEOUT)))
        self.assertEqual([(name, m["user"]) for name, m in got], [(relay, user)],
                         self.diag("%r from %s reached the wrong relay or user"
                                   % (mail.subject, mail.sender)))
        record = got[0][1]
        self.assertEqual(record["mail_from"], mail.sender)
        self.assertEqual(record["rcpt_tos"], [RCPT])
        self.assertEqual(record["tls"], tls, "TLS use at relay %s" % relay)
        return record

    def assertDeferred(self, mail, reason):
        """*mail* is deferred (not bounced) with a status matching *reason*,
        stays in the deferred queue, no bounce was generated and no relay
        received anything.  Returns the queue id."""
        qid = self.queue_id(mail)
        line = self.wait_log(r"\b%s: to=<%s>.*status=" % (qid, re.escape(RCPT)),
                             "no delivery attempt for %s" % mail.subject)
        self.assertIn("status=deferred", line, self.diag("%s was not deferred" % mail.subject))
        self.assertRegex(line, reason, self.diag("unexpected deferral reason"))

        def in_deferred_queue():
            return any(e["queue_id"] == qid and e["queue_name"] == "deferred"
                       for e in self.pf.queue())
        try:
            harness.wait_for(in_deferred_queue, 10, 0.1)
        except TimeoutError:
            self.fail(self.diag("%s (%s) is not in the deferred queue" % (mail.subject, qid)))
        log = self.log_since_start()
        self.assertNotIn("status=bounced", log, self.diag("mail was bounced"))
        self.assertNotRegex(log, r"\b%s: sender non-delivery notification" % qid,
                            self.diag("a bounce was generated"))
        self.assertEqual([e for e in self.pf.queue() if e["sender"] == ""], [],
                         self.diag("a bounce message is in the queue"))
        self.assertEqual(self.received(mail), [], self.diag("a relay received the mail"))
        bounces = [(name, m) for name, m in self.received_since_setup() if not m["mail_from"]]
        self.assertEqual(bounces, [], self.diag("a relay received a bounce"))
        return qid

    # -- the tests ----------------------------------------------------------

    def test_01_server_relay_starttls_verified(self):
        self.set_server("server", "srvuser")
        mail = self.send(OTHER_SENDER, "server")
        self.assertDelivered(mail, "server", "srvuser")
        server = self.ctl("status")["server"]
        self.assertEqual((server["username"], server["verify_certificate"], server["ca_file"]),
                         ("srvuser", True, self.ca.cert))
        # It was the test CA that made the certificate trusted: without
        # --ca-file (the system's CAs) the same relay is not trusted.
        self.set_server("server", "srvuser", ca=False)
        self.assertDeferred(self.send(OTHER_SENDER, "server, system CAs"),
                            r"status=deferred \(Server certificate not verified\)")

    def test_02_domain_relay_wins_for_its_senders(self):
        # The domain first, the server relay second: order must not matter.
        self.set_domain("a.example", "a", "usera", password="stdin")
        self.set_server("server", "srvuser")
        from_a = self.send("bob@a.example", "from a.example")
        other = self.send(OTHER_SENDER, "from another domain")
        self.assertDelivered(from_a, "a", "usera")
        self.assertDelivered(other, "server", "srvuser")

    def test_03_two_domains_on_one_relay_authenticate_as_themselves(self):
        self.set_server("shared", "srvuser")
        self.set_domain("b.example", "shared", "userb")
        self.set_domain("c.example", "shared", "userc", password="stdin")
        from_b = self.send("bob@b.example", "from b.example")
        from_c = self.send("cecil@c.example", "from c.example")
        other = self.send(OTHER_SENDER, "from another domain")
        self.assertDelivered(from_b, "shared", "userb")
        self.assertDelivered(from_c, "shared", "userc")
        self.assertDelivered(other, "shared", "srvuser")

    def test_04_implicit_tls_server_wide_and_per_domain(self):
        # Server-wide implicit TLS; a STARTTLS domain relay still wins.
        self.set_server("implicit", "tlsuser")
        self.set_domain("a.example", "a", "usera")
        other = self.send(OTHER_SENDER, "server implicit TLS")
        from_a = self.send("bob@a.example", "domain STARTTLS")
        self.assertDelivered(other, "implicit", "tlsuser")
        self.assertDelivered(from_a, "a", "usera")
        # The reverse: the domain on implicit TLS, the server on STARTTLS.
        self.set_server("server", "srvuser")
        self.set_domain("a.example", "implicit", "usera", password="stdin")
        other = self.send(OTHER_SENDER, "server STARTTLS")
        from_a = self.send("bob@a.example", "domain implicit TLS")
        self.assertDelivered(from_a, "implicit", "usera")
        self.assertDelivered(other, "server", "srvuser")

    def test_05_unset_domain_falls_back_to_server_relay(self):
        self.set_server("server", "srvuser")
        self.set_domain("a.example", "a", "usera")
        self.assertDelivered(self.send("bob@a.example", "before unset"), "a", "usera")
        data = self.ctl("unset-domain", "a.example")
        self.assertTrue(data["changed"])
        self.assertEqual(self.ctl("status")["domains"], {})
        self.assertDelivered(self.send("bob@a.example", "after unset"), "server", "srvuser")

    def test_05b_unset_server_keeps_domain_relays(self):
        self.set_server("server", "srvuser")
        self.set_domain("a.example", "a", "usera")
        self.assertTrue(self.ctl("unset-server")["changed"])
        self.assertIsNone(self.ctl("status")["server"])
        self.assertDelivered(self.send("bob@a.example", "after unset-server"), "a", "usera")

    def test_06_wrong_password_defers(self):
        self.set_server("server", "srvuser", password="wrong")
        self.set_domain("a.example", "a", "usera", password="wrong")
        other = self.send(OTHER_SENDER, "server, wrong password")
        from_a = self.send("bob@a.example", "domain, wrong password")
        sasl_failed = r"status=deferred \(SASL authentication failed"
        self.assertDeferred(other, sasl_failed)
        self.assertDeferred(from_a, sasl_failed)
        # Nothing was lost: with the right passwords the same mail goes out.
        self.set_server("server", "srvuser")
        self.set_domain("a.example", "a", "usera")
        self.pf.flush()
        self.assertDelivered(other, "server", "srvuser")
        self.assertDelivered(from_a, "a", "usera")

    def test_07_certificate_verification(self):
        # Verification on, the certificate signed by a CA the relay's CA
        # file does not hold: not delivered.
        self.set_server("foreign", "certuser", ca=True)
        # Verification on, a self-signed certificate, the system's CAs.
        self.set_domain("a.example", "selfsigned", "certuser", ca=False)
        other = self.send(OTHER_SENDER, "foreign CA, verified")
        from_a = self.send("bob@a.example", "self-signed, verified")
        not_verified = r"status=deferred \(Server certificate not verified\)"
        self.assertDeferred(other, not_verified)
        self.assertDeferred(from_a, not_verified)
        for relay in ("foreign", "selfsigned"):
            self.assertRegex(self.log_since_start(),
                             r"certificate verification failed for localhost\[127\.0\.0\.1\]:%d"
                             % self.relays[relay].port)
        # Verification off: the same mail is delivered.
        self.set_server("foreign", "certuser", ca=False, verify=False)
        self.set_domain("a.example", "selfsigned", "certuser", ca=False, verify=False)
        self.pf.flush()
        self.assertDelivered(other, "foreign", "certuser")
        self.assertDelivered(from_a, "selfsigned", "certuser")
        # (Verification on with the relay's CA file delivers: tests 01-05.)

    def test_08_security_none_authenticates(self):
        self.set_server("plain", "plainuser")
        self.assertDelivered(self.send(OTHER_SENDER, "server plain"),
                             "plain", "plainuser", tls=False)
        self.set_server("server", "srvuser")
        self.set_domain("a.example", "plain", "plainuser", password="stdin")
        self.assertDelivered(self.send("bob@a.example", "domain plain"),
                             "plain", "plainuser", tls=False)

    def test_09_secrets_never_leak(self):
        # Runs last, so the maillog also holds every earlier test's traffic
        # (wrong passwords, failed verification, ...).
        self.set_server("server", "srvuser")
        self.set_domain("a.example", "a", "usera", password="stdin")
        self.set_domain("b.example", "shared", "userb")
        self.set_domain("c.example", "shared", "userc")
        self.set_domain("d.example", "implicit", "tlsuser")
        self.set_domain("e.example", "plain", "plainuser")
        dry = self.ctl("--dry-run", "set-domain", "f.example",
                       *self.relay_args("shared", "userc", password="wrong"), as_json=False)
        self.assertIn("********", dry.stdout, "the dry run shows the masked password")
        self.assertNotIn("f.example", self.ctl("status")["domains"], "a dry run changed nothing")
        self.assertDelivered(self.send("bob@b.example", "secrets"), "shared", "userb")

        for argv, out, err in self.ctl_outputs:
            for secret in SECRETS:
                self.assertNotIn(secret, out + err, "password in the output of %s" % argv)
        log = self.pf.log()
        self.assertIn("status=sent", log)
        for secret in SECRETS:
            self.assertNotIn(secret, log, "a password is in the maillog")

        own = os.path.join(self.conf, "smarthost")
        self.assertEqual(stat.S_IMODE(os.stat(own).st_mode), 0o700)
        seen_secret_files = set()
        for dirpath, _, files in os.walk(self.conf):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    data = f.read()
                leaked = [s for s in SECRETS if s.encode() in data]
                rel = os.path.relpath(path, self.conf)
                if dirpath == own and (name.endswith("passwd") or name.endswith("passwd.db")):
                    self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, rel)
                    if leaked:
                        seen_secret_files.add(rel)
                    continue
                self.assertEqual(leaked, [], "passwords in %s" % rel)
        # The check above looked where the passwords really are.
        self.assertIn("smarthost/server_passwd", seen_secret_files)
        self.assertIn("smarthost/sender_passwd", seen_secret_files)
        with open(os.path.join(own, "sender_passwd")) as f:
            text = f.read()
        for user in ("usera", "userb", "userc", "tlsuser", "plainuser"):
            self.assertIn(PASSWORDS[user], text)
        self.assertNotIn(WRONG_PASSWORD, text, "the dry run wrote nothing")


if __name__ == "__main__":
    unittest.main(verbosity=2)
