#!/usr/bin/python3
"""smarthostctl doctor, more cases, and the policy file's groups and syntax.

Doctor: secrets never quoted (duplicate parameters, inline tables), a
password written inline in a main.cf or master.cf everyone can read, CAs
missing for per-nexthop TLS policies, master.cf services and the obsolete
smtp_enforce_tls, port 465 with wrappermode on the delivering service or a
port given by name, proxy: tables.  Policy: smarthost keys outside [mail]
are an error; panel.ini's quoted values and "; comments" are read.

Throwaway configuration directories, Postfix's tools, no running Postfix.
Needs root and Debian's postfix; run with /usr/bin/python3.  SMARTHOSTCTL
names the binary.
"""

import json
import os
import shutil
import subprocess
import tempfile
import sys
import unittest

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import cool_down, snapshot  # noqa: E402

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"
SECRET = "Secret-pw-9Zq7"
SECRETS = [SECRET, "user1:" + SECRET]

MAIN_CF = """\
# A hand-made main.cf.
compatibility_level = 3.6
myhostname = mail.example.org
mydestination = $myhostname, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = loopback-only
"""

SEVERITY_RANK = {"error": 2, "warning": 1, "info": 0}


class ConfTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smarthost-doctor-more-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.conf = os.path.join(self.tmp, "postfix")
        os.mkdir(self.conf)
        shutil.copy(STOCK_MASTER_CF, self.path("master.cf"))
        with open(STOCK_MASTER_CF) as f:
            self.stock_master = f.read()
        self.write_main()

    def path(self, name):
        return os.path.join(self.conf, name)

    def write_main(self, extra="", mode=0o644):
        with open(self.path("main.cf"), "w") as f:
            f.write(MAIN_CF + extra)
        os.chmod(self.path("main.cf"), mode)
        cool_down(self.path("main.cf"), self.path("master.cf"))

    def write_master(self, replace=None, extra=""):
        """The stock master.cf, with its lines in replace changed."""
        text = self.stock_master
        for old, new in (replace or {}).items():
            self.assertIn(old, text)
            text = text.replace(old, new, 1)
        with open(self.path("master.cf"), "w") as f:
            f.write(text + extra)
        cool_down(self.path("main.cf"), self.path("master.cf"))

    def write_map(self, name, lines, mode=0o600, postmap=True, maptype="hash"):
        path = self.path(name)
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        os.chmod(path, mode)
        if postmap:
            subprocess.run(["postmap", "-c", self.conf, "%s:%s" % (maptype, path)], check=True)
        return path

    def ctl(self, *args, expect=None, env=None):
        argv = [SMARTHOSTCTL, "--config-dir", self.conf] + list(args)
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=full_env)
        for secret in SECRETS:
            self.assertNotIn(secret, proc.stdout + proc.stderr, "a password leaked: %s" % argv)
        self.assertNotIn("CRITICAL", proc.stderr)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, "%s: exit %d\nstdout: %s\nstderr: %s" % (
                argv, proc.returncode, proc.stdout, proc.stderr))
        return proc

    def doctor(self):
        proc = self.ctl("--json", "doctor")
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        findings = json.loads(proc.stdout)["findings"]
        for f in findings:
            self.assertEqual(set(f), {"severity", "code", "message", "fix"})
            self.assertTrue(f["message"] and f["fix"], f)
        ranks = [SEVERITY_RANK[f["severity"]] for f in findings]
        self.assertEqual(ranks, sorted(ranks, reverse=True), "most serious first")
        # The plain-text report goes through the same check for secrets.
        self.ctl("doctor")
        return findings

    def codes(self, findings):
        return [f["code"] for f in findings]

    def with_code(self, findings, code):
        return [f for f in findings if f["code"] == code]

    def the(self, findings, code):
        got = self.with_code(findings, code)
        self.assertEqual(len(got), 1, findings)
        return got[0]


class TestHandMade(ConfTestCase):
    def test_hand_made_relay_and_routes_are_named(self):
        """status shows a hand-made relayhost but no hand-made sender
        route; the doctor names both, and how to take them over."""
        sdr = self.path("sender_relay")
        with open(sdr, "w") as f:
            f.write("@a.example [relay-a.example.com]:2525\n@b.example DUNNO\nuser@c.example [relay-c.example.com]\n")
        self.write_main("relayhost = [smtp.example.com]:587\nsender_dependent_relayhost_maps = texthash:%s\n" % sdr)
        findings = self.doctor()
        relay = self.the(findings, "hand-made-relay")
        self.assertEqual(relay["severity"], "info")
        self.assertIn("relayhost = [smtp.example.com]:587 is set by hand", relay["message"])
        routes = self.the(findings, "hand-made-routes")
        self.assertIn("routes 2 senders by hand", routes["message"])
        self.assertIn("@a.example -> [relay-a.example.com]:2525", routes["message"])
        self.assertNotIn("b.example", routes["message"])
        self.assertIn("smarthostctl import", routes["fix"])
        # Once libsmarthost manages them (a per-address route cannot be a
        # domain smarthost: import refuses it), neither is left.
        with open(sdr, "w") as f:
            f.write("@a.example [relay-a.example.com]:2525\n")
        self.ctl("--no-reload", "import", expect=0)
        after = self.doctor()
        self.assertEqual(self.with_code(after, "hand-made-relay") + self.with_code(after, "hand-made-routes"), [])


class TestSecretsNeverQuoted(ConfTestCase):
    INLINE = "inline:{ [smtp.example.com]:587=user1:%s }" % SECRET

    def test_duplicate_password_maps_value_not_shown(self):
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = hash:/nonexistent/sasl_passwd\n"
                        "smtp_tls_security_level = encrypt\n"
                        "smtp_sasl_password_maps = %s\n" % self.INLINE, mode=0o600)
        dup = self.the(self.doctor(), "duplicate-parameter")
        self.assertIn("smtp_sasl_password_maps", dup["message"])
        self.assertIn("lines 9, 11", dup["message"])
        self.assertIn("not shown", dup["message"])
        self.assertNotIn("inline", dup["message"])

    def test_duplicate_of_a_parameter_a_table_uses(self):
        # static:$relay_login: relay_login is the password, whatever its name.
        self.write_main("relay_login = user1:old\nrelay_login = user1:%s\n"
                        "smtp_sasl_password_maps = static:$relay_login\n"
                        "myhostname = other.example.org\n" % SECRET, mode=0o600)
        dups = {f["message"].split()[2]: f for f in self.with_code(self.doctor(), "duplicate-parameter")}
        self.assertEqual(set(dups), {"relay_login", "myhostname"}, dups)
        self.assertIn("not shown", dups["relay_login"]["message"])
        # A value that cannot be a password still helps to tell them apart.
        self.assertIn("other.example.org", dups["myhostname"]["message"])
        self.assertIn("lines 3, 10", dups["myhostname"]["message"])

    def test_inline_password_in_readable_main_cf(self):
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_tls_security_level = encrypt\nsmtp_sasl_tls_security_options = noanonymous\n"
                        "smtp_sasl_password_maps = %s\n" % self.INLINE)
        f = self.the(self.doctor(), "secrets-readable")
        self.assertEqual(f["severity"], "warning")
        self.assertIn(self.path("main.cf"), f["message"])
        self.assertIn("0644", f["message"])
        self.assertIn("chmod 600", f["fix"])
        self.assertIn("hash:%s/sasl_passwd" % self.conf, f["fix"])
        # static: as well, and inside a unionmap.
        self.write_main("smtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = unionmap:{static:user1:%s}\n" % SECRET)
        self.assertIn(self.path("main.cf"), self.the(self.doctor(), "secrets-readable")["message"])
        # Only root can read it: nothing to say about it.
        self.write_main("smtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = %s\n" % self.INLINE,
                        mode=0o600)
        self.assertNotIn("secrets-readable", self.codes(self.doctor()))

    def test_inline_password_in_master_cf(self):
        self.write_master(extra="relay-auth unix - - n - - smtp\n  -o smtp_sasl_auth_enable=yes\n"
                          "  -o smtp_sasl_password_maps=inline:{[smtp.example.com]:587=user1:%s}\n" % SECRET)
        f = self.the(self.doctor(), "secrets-readable")
        self.assertIn(self.path("master.cf"), f["message"])
        self.assertIn("relay-auth", f["message"])


class TestNoCa(ConfTestCase):
    def test_policy_map_secure_without_ca(self):
        policy = self.write_map("tls_policy", [
            "[127.0.0.1]:587 secure match=nexthop",
            "[127.0.0.2]:587 verify tafile=/etc/postfix/anchor.pem",
            "[127.0.0.3]:25 encrypt",
        ], mode=0o644)
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_tls_security_level = may\n"
                        "smtp_tls_policy_maps = hash:%s\n" % policy)
        f = self.the(self.doctor(), "no-ca")
        self.assertEqual(f["severity"], "error")
        self.assertIn("[127.0.0.1]:587 (secure)", f["message"])
        self.assertIn(policy, f["message"])
        self.assertNotIn("127.0.0.2", f["message"])
        self.assertNotIn("127.0.0.3", f["message"])
        self.assertIn("tafile=", f["fix"])
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_tls_security_level = may\n"
                        "smtp_tls_policy_maps = hash:%s\nsmtp_tls_CAfile = %s\n" % (policy, SYSTEM_CA))
        self.assertNotIn("no-ca", self.codes(self.doctor()))

    def test_policy_map_through_proxy_and_inline(self):
        policy = self.write_map("tls_policy", ["[127.0.0.1]:587 secure"], mode=0o644)
        self.write_main("smtp_tls_policy_maps = proxy:hash:%s, inline:{ {[127.0.0.9]:25 = verify match=x} }\n"
                        % policy)
        findings = self.with_code(self.doctor(), "no-ca")
        self.assertEqual(len(findings), 2, findings)
        text = " ".join(f["message"] for f in findings)
        self.assertIn("[127.0.0.1]:587", text)
        self.assertIn("[127.0.0.9]:25 (verify)", text)

    def test_master_cf_service_verifies_without_ca(self):
        self.write_master(extra="relay-secure unix - - n - - smtp\n  -o smtp_tls_security_level=secure\n")
        f = self.the(self.doctor(), "no-ca")
        self.assertIn("relay-secure", f["message"])
        self.assertIn("-o smtp_tls_security_level=secure", f["message"])
        self.assertIn("-o smtp_tls_CAfile=", f["fix"])
        # The service's own CA, or main.cf's, is enough.
        self.write_master(extra="relay-secure unix - - n - - smtp\n  -o smtp_tls_security_level=secure\n"
                          "  -o smtp_tls_CAfile=%s\n" % SYSTEM_CA)
        self.assertNotIn("no-ca", self.codes(self.doctor()))
        self.write_master(extra="relay-secure unix - - n - - smtp\n  -o smtp_tls_security_level=secure\n")
        self.write_main("smtp_tls_CApath = /etc/ssl/certs\n")
        self.assertNotIn("no-ca", self.codes(self.doctor()))
        # A service emptying main.cf's CAs.
        self.write_master(extra="relay-secure unix - - n - - smtp\n  -o smtp_tls_security_level=verify\n"
                          "  -o smtp_tls_CApath=\n")
        self.assertIn("relay-secure", self.the(self.doctor(), "no-ca")["message"])
        # Not an smtp client: its smtp_ options mean nothing.
        self.write_main()
        self.write_master(extra="odd unix - - n - - lmtp\n  -o smtp_tls_security_level=secure\n")
        self.assertNotIn("no-ca", self.codes(self.doctor()))

    def test_obsolete_enforce_tls_means_verify(self):
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_enforce_tls = yes\n")
        f = self.the(self.doctor(), "no-ca")
        self.assertIn("smtp_enforce_tls", f["message"])
        self.assertIn("its default", f["message"])
        self.assertIn("smtp_tls_CAfile", f["fix"])
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_enforce_tls = yes\nsmtp_tls_enforce_peername = no\n")
        self.assertNotIn("no-ca", self.codes(self.doctor()))
        # A level, once set, replaces the obsolete parameters.
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_enforce_tls = yes\nsmtp_tls_security_level = encrypt\n")
        self.assertNotIn("no-ca", self.codes(self.doctor()))
        # On a service too.
        self.write_main()
        self.write_master(extra="relay-old unix - - n - - smtp\n  -o smtp_enforce_tls=yes\n")
        self.assertIn("relay-old", self.the(self.doctor(), "no-ca")["message"])


class TestPort465(ConfTestCase):
    SMTP_UNIX = "smtp      unix  -       -       y       -       -       smtp\n"

    def test_wrappermode_on_the_delivering_service(self):
        self.write_main("relayhost = [127.0.0.1]:465\n")
        self.write_master({self.SMTP_UNIX: self.SMTP_UNIX.rstrip("\n") +
                           " -o smtp_tls_wrappermode=yes -o smtp_tls_security_level=encrypt\n"})
        self.assertNotIn("port-465-without-wrappermode", self.codes(self.doctor()))
        # Wrappermode without a level that encrypts: Postfix skips the host.
        self.write_master({self.SMTP_UNIX: self.SMTP_UNIX.rstrip("\n") + "\n  -o smtp_tls_wrappermode=yes\n"})
        f = self.the(self.doctor(), "port-465-without-wrappermode")
        self.assertIn("smtp_tls_security_level", f["message"])
        # Another service, named by default_transport.
        self.write_master(extra="smtps-out unix - - n - - smtp -o smtp_tls_wrappermode=yes "
                          "-o smtp_tls_security_level=encrypt\n")
        self.assertIn("port-465-without-wrappermode", self.codes(self.doctor()))
        self.write_main("relayhost = [127.0.0.1]:465\ndefault_transport = smtps-out\n")
        self.assertNotIn("port-465-without-wrappermode", self.codes(self.doctor()))

    def test_obsolete_use_tls(self):
        # With smtp_tls_security_level empty, Postfix still honours the
        # obsolete smtp_use_tls (level may), in main.cf or as a service's
        # -o option: the doctor reads the level the delivering service
        # gets as Postfix does (smarthost-postfix-tls.c), not as empty.
        wrapper = {self.SMTP_UNIX: self.SMTP_UNIX.rstrip("\n") + "\n  -o smtp_tls_wrappermode=yes\n"}
        self.write_main("relayhost = [127.0.0.1]:465\nsmtp_use_tls = yes\n")
        self.write_master(wrapper)
        f = self.the(self.doctor(), "port-465-without-wrappermode")
        self.assertIn("smtp_use_tls = yes (the obsolete form of smtp_tls_security_level = may)", f["message"])
        self.write_main("relayhost = [127.0.0.1]:465\n")
        self.write_master({self.SMTP_UNIX: self.SMTP_UNIX.rstrip("\n") +
                           "\n  -o smtp_tls_wrappermode=yes -o smtp_use_tls=yes\n"})
        f = self.the(self.doctor(), "port-465-without-wrappermode")
        self.assertIn("-o smtp_use_tls=yes (the obsolete form of smtp_tls_security_level = may)", f["message"])
        # smtp_enforce_tls, which the same model reads, encrypts: no finding.
        self.write_main("relayhost = [127.0.0.1]:465\nsmtp_use_tls = yes\nsmtp_enforce_tls = yes\n")
        self.write_master(wrapper)
        self.assertNotIn("port-465-without-wrappermode", self.codes(self.doctor()))

    def test_port_given_by_name(self):
        for port in ("smtps", "submissions"):
            self.write_main("relayhost = [127.0.0.1]:%s\nsmtp_tls_security_level = encrypt\n" % port)
            f = self.the(self.doctor(), "port-465-without-wrappermode")
            self.assertIn("[127.0.0.1]:%s" % port, f["message"])
        self.write_main("relayhost = [127.0.0.1]:smtps\nsmtp_tls_security_level = encrypt\n"
                        "smtp_tls_wrappermode = yes\n")
        self.assertNotIn("port-465-without-wrappermode", self.codes(self.doctor()))
        self.write_main("relayhost = [127.0.0.1]:submission\nsmtp_tls_security_level = encrypt\n")
        self.assertNotIn("port-465-without-wrappermode", self.codes(self.doctor()))

    def test_sender_relays_through_proxy_and_inline(self):
        sdr = self.write_map("sender_relay", ["@a.example [127.0.0.1]:465"], mode=0o644)
        self.write_main("smtp_tls_security_level = encrypt\n"
                        "sender_dependent_relayhost_maps = proxy:hash:%s, "
                        "inline:{ @b.example=[127.0.0.2]:465, { @c.example = DUNNO } }\n" % sdr)
        hops = sorted(f["message"].split()[2] for f in self.with_code(self.doctor(),
                                                                      "port-465-without-wrappermode"))
        self.assertEqual(hops, ["[127.0.0.1]:465", "[127.0.0.2]:465"])

    def test_import_lists_a_proxy_table(self):
        sdr = self.write_map("sender_relay", ["@a.example [127.0.0.1]:2525"], mode=0o644)
        self.write_main("sender_dependent_relayhost_maps = proxy:hash:%s\n" % sdr)
        before = snapshot(self.conf)
        proc = self.ctl("--dry-run", "import")
        self.assertNotIn("sequence", proc.stdout + proc.stderr)
        self.assertIn("a.example", proc.stdout + proc.stderr)
        self.assertEqual(snapshot(self.conf), before)


class TestBytesNotUtf8(ConfTestCase):
    """Postfix reads main.cf and master.cf as bytes: a Latin-1 comment or
    a value libsmarthost does not read is kept byte for byte, and shown
    (diffs, findings) as valid UTF-8 with the byte escaped; a value it reads
    that is not UTF-8 is a clear error (issue 10)."""

    COMMENT = b"# Caf\xe9 au lait: a comment in Latin-1.\n"
    BANNER = b"smtpd_banner = $myhostname ESMTP caf\xe9\n"
    SERVICE = b"latin1    unix  -       n       n       -       -       pipe\n  flags=R user=nobody argv=/bin/echo caf\xe9\n"

    def write_bytes(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        cool_down(self.path("main.cf"), self.path("master.cf"))

    def read_bytes(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def run_bytes(self, *args):
        """smarthostctl's output, which must be UTF-8 (decoded strictly)."""
        proc = subprocess.run([SMARTHOSTCTL, "--config-dir", self.conf] + list(args), capture_output=True,
                              timeout=120)
        return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")

    def setUp(self):
        super().setUp()
        self.main = self.COMMENT + MAIN_CF.encode() + self.BANNER
        self.master = self.read_bytes("master.cf") + self.SERVICE
        self.write_bytes("main.cf", self.main)
        self.write_bytes("master.cf", self.master)

    def test_kept_byte_for_byte_and_shown_as_text(self):
        code, out, err = self.run_bytes("status")
        self.assertEqual(code, 0, err)
        self.assertIn("none", out)

        before = snapshot(self.tmp)
        code, out, err = self.run_bytes("--dry-run", "set-server", "smtp.example.com")
        self.assertEqual(code, 0, err)
        # The banner is context of the change, its byte escaped.
        self.assertIn(" smtpd_banner = $myhostname ESMTP caf\\xE9\n", out)
        self.assertIn("+relayhost = [smtp.example.com]:587", out)
        self.assertEqual(snapshot(self.tmp), before, "a dry run changed something")

        # The binding hands the same preview on as a Python str.
        script = ("import sys, gi\ngi.require_version('Smarthost', '1.0')\n"
                  "from gi.repository import Smarthost\n"
                  "b = Smarthost.PostfixBackend(config_directory=sys.argv[1])\n"
                  "tx = b.begin()\ntx.set_server(Smarthost.Relay.new('smtp.example.com'))\n"
                  "print(tx.preview(None))\n")
        proc = subprocess.run(["/usr/bin/python3", "-c", script, self.conf], capture_output=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(" smtpd_banner = $myhostname ESMTP caf\\xE9\n", proc.stdout.decode("utf-8"))

        code, out, err = self.run_bytes("--no-reload", "set-server", "smtp.example.com")
        self.assertEqual(code, 0, err)
        written = self.read_bytes("main.cf")
        self.assertTrue(written.startswith(self.main), written)
        self.assertIn(b"\nrelayhost = [smtp.example.com]:587\n", written)
        self.assertTrue(self.read_bytes("master.cf").startswith(self.master))
        # Postfix reads both files as before.
        for args in (["-h", "smtpd_banner"], ["-M", "latin1/unix"]):
            proc = subprocess.run(["postconf", "-c", self.conf] + args, capture_output=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn(b"caf\xe9", proc.stdout)
        code, out, err = self.run_bytes("status")
        self.assertEqual(code, 0, err)
        self.assertIn("smtp.example.com", out)
        code, out, err = self.run_bytes("--no-reload", "unset-server")
        self.assertEqual(code, 0, err)
        self.assertEqual(self.read_bytes("main.cf"), self.main)

    def test_doctor_quotes_it_as_text(self):
        self.write_bytes("main.cf", self.main + self.BANNER)
        code, out, err = self.run_bytes("--json", "doctor")
        self.assertIn(code, (0, 1), err)
        dup = self.the(json.loads(out)["findings"], "duplicate-parameter")
        self.assertIn("smtpd_banner = $myhostname ESMTP caf\\xE9", dup["message"])

    def test_a_value_libsmarthost_reads_must_be_utf8(self):
        line = self.main.count(b"\n") + 1
        self.write_bytes("main.cf", self.main + b"relayhost = [caf\xe9.example]:587\n")
        before = snapshot(self.tmp)
        for args in (["status"], ["--dry-run", "set-server", "smtp.example.com"],
                     ["--no-reload", "set-server", "smtp.example.com"], ["doctor"]):
            code, out, err = self.run_bytes(*args)
            self.assertEqual(code, 2, (args, out, err))
            self.assertIn("%s, line %d: relayhost has bytes that are not UTF-8" % (self.path("main.cf"), line), err)
        self.assertEqual(snapshot(self.tmp), before)


class TestDoctorOnlyReads(ConfTestCase):
    def test_new_checks_change_nothing(self):
        policy = self.write_map("tls_policy", ["[127.0.0.1]:587 secure"], mode=0o644)
        self.write_main("relayhost = [127.0.0.1]:smtps\nsmtp_enforce_tls = yes\n"
                        "smtp_tls_policy_maps = proxy:hash:%s\n"
                        "smtp_sasl_password_maps = inline:{ [127.0.0.1]:465=user1:%s }\n"
                        "smtp_sasl_password_maps = inline:{ [127.0.0.1]:465=user1:%s }\n"
                        % (policy, SECRET, SECRET))
        self.write_master(extra="relay-secure unix - - n - - smtp -o smtp_tls_security_level=secure\n")
        before = snapshot(self.tmp)
        codes = set(self.codes(self.doctor()))
        self.assertGreaterEqual(codes, {"duplicate-parameter", "secrets-readable", "no-ca",
                                        "port-465-without-wrappermode"})
        self.assertEqual(snapshot(self.tmp), before, "doctor changed something")


class TestPolicyGroups(ConfTestCase):
    """smarthost keys outside [mail] are an error naming the file, the group
    and the key; never ignored."""

    def write_policy(self, text):
        path = os.path.join(self.tmp, "p.ini")
        with open(path, "w") as f:
            f.write(text)
        return path

    def set_domain(self, policy, expect):
        before = snapshot(self.conf)
        proc = self.ctl("--policy", policy, "--no-reload", "set-domain", "a.example", "127.0.0.1",
                        "--no-verify-certificate", expect=expect)
        if expect != 0:
            self.assertEqual(snapshot(self.conf), before, "a refused change changed something")
        return proc

    def test_key_outside_mail_is_an_error(self):
        for text, group, line in (
                ("smarthost.restricted = true\n", "outside any group", 1),
                ("[Mail]\nsmarthost.restricted = true\n", '"[Mail]"', 2),
                ("[mail]\n[other]\n; c\nsmarthost.restricted = true\n", '"[other]"', 4),
                ("[MAIL]\nsmarthost.domain.enabled = false\n", '"[MAIL]"', 2)):
            policy = self.write_policy(text)
            proc = self.set_domain(policy, expect=2)
            self.assertIn(policy, proc.stderr, text)
            self.assertIn("line %d" % line, proc.stderr, text)
            self.assertIn(group, proc.stderr, text)
            self.assertIn("smarthost.", proc.stderr, text)
            self.assertIn("[mail]", proc.stderr, text)

    def test_lone_carriage_return_is_an_error(self):
        # PHP's ini reader (Plesk's) ends a line at a lone CR: what is a
        # comment here would be restricted mode there.
        for text in ("[mail]\n;\rsmarthost.restricted = true\n", "[mail]\nx = 1\rsmarthost.restricted = true\n"):
            proc = self.set_domain(self.write_policy(text), expect=2)
            self.assertIn("line 2", proc.stderr)
            self.assertIn("carriage return", proc.stderr)
        # CRLF line ends are fine.
        self.set_domain(self.write_policy("[mail]\r\nsmarthost.domain.enabled = true\r\n"), expect=0)

    def test_key_in_another_letter_case_is_an_error(self):
        proc = self.set_domain(self.write_policy("[mail]\nSmarthost.Restricted = true\n"), expect=2)
        self.assertIn('unknown key "Smarthost.Restricted"', proc.stderr)

    def test_panel_ini_style(self):
        policy = self.write_policy(
            "; Plesk panel.ini\n"
            "[php]\nsettings.performance.memory_limit.values[]=\"64M\"\n"
            "[ext-custom-config]\nhomepage = \"https://another-url.com/a;b\"\n"
            "[mail] ; the mail switches\n"
            "smarthost.server.enabled = \"false\" ; no server-wide relay\n"
            "smarthost.domain.enabled = on;per-domain relays are fine\n"
            "smarthost.restricted = 'false'\n"
            "other.key = anything ; ignored\n")
        proc = self.ctl("--policy", policy, "--no-reload", "set-server", "127.0.0.1",
                        "--no-verify-certificate", expect=3)
        self.assertIn("smarthost.server.enabled", proc.stderr)
        self.set_domain(policy, expect=0)

    def test_bad_quoting_is_an_error(self):
        for text in ('[mail]\nsmarthost.restricted = "true\n',
                     '[mail]\nsmarthost.restricted = "true" yes\n',
                     '[mail]\nsmarthost.restricted = true # comment\n',
                     '[mail]\nsmarthost.restricted =\n'):
            proc = self.set_domain(self.write_policy(text), expect=2)
            self.assertIn('"smarthost.restricted" must be true or false', proc.stderr, text)


if __name__ == "__main__":
    if os.geteuid() != 0 or not shutil.which("postconf"):
        print("needs root and Postfix's tools")
        raise SystemExit(77)
    unittest.main(verbosity=2)
