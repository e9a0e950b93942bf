#!/usr/bin/python3
"""smarthostctl's contract on a throwaway Postfix configuration directory.

These tests need Postfix's tools (postconf, postmap) but no running Postfix:
each works on a copy of Debian's stock master.cf and a small main.cf in a
temporary folder, and checks exit codes, output, and that bad input changes
nothing at all.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"
SECRET = "s3cret-Pa55word-xyzzy"

MAIN_CF = """\
# A main.cf like Debian's, with the things an editor must not break.
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no

# appending .domain is the MUA's job.
append_dot_mydomain = no
compatibility_level = 3.6
myhostname = mail.example.org
mydestination = $myhostname, localhost
relayhost = 
mynetworks = 127.0.0.0/8
    [::1]/128
inet_interfaces = loopback-only
"""


def snapshot(root):
    return harness.snapshot(root, mtimes=False)


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smarthost-cli-")
        self.conf = os.path.join(self.tmp, "postfix")
        os.mkdir(self.conf)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF)
        shutil.copy(STOCK_MASTER_CF, os.path.join(self.conf, "master.cf"))
        self.cool_down()
        self.secret_file = os.path.join(self.tmp, "secret")
        with open(os.path.join(self.secret_file), "w") as f:
            f.write(SECRET + "\n")
        os.chmod(self.secret_file, 0o600)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def cool_down(self):
        """Postfix waits until a just-written main.cf is two seconds old
        before reading it; files the tests write are dated back instead."""
        past = time.time() - 10
        for name in ("main.cf", "master.cf"):
            path = os.path.join(self.conf, name)
            if os.path.isfile(path):
                os.utime(path, (past, past))

    def run_ctl(self, *args, stdin=None, config_dir=True):
        argv = [SMARTHOSTCTL]
        if config_dir:
            argv += ["--config-dir", self.conf]
        argv += list(args)
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
        for stream in (proc.stdout, proc.stderr):
            self.assertNotIn(SECRET, stream, "the password leaked into output")
            self.assertNotIn("CRITICAL", stream)
        return proc

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code,
                         f"exit {proc.returncode}, stdout={proc.stdout!r} stderr={proc.stderr!r}")

    def status_json(self):
        proc = self.run_ctl("--json", "status")
        self.assertExit(proc, 0)
        return json.loads(proc.stdout)


class TestContract(CliTestCase):
    def test_status_empty(self):
        self.assertEqual(self.status_json(), {"backend": "postfix", "server": None, "domains": {}})
        proc = self.run_ctl("list-domains")
        self.assertExit(proc, 0)
        self.assertEqual(proc.stdout, "")
        proc = self.run_ctl("--json", "list-domains")
        self.assertEqual(json.loads(proc.stdout), [])

    def test_set_server_and_read_back(self):
        proc = self.run_ctl("--json", "set-server", "smtp.sendgrid.net", "--user", "apikey",
                            "--password-file", self.secret_file)
        self.assertExit(proc, 0)
        self.assertTrue(json.loads(proc.stdout)["changed"])
        self.assertEqual(self.status_json()["server"], {
            "host": "smtp.sendgrid.net", "port": 587, "security": "starttls",
            "mx_lookup": False, "verify_certificate": True, "ca_file": None,
            "username": "apikey", "password_set": True})
        # The same again changes nothing.
        before = snapshot(self.conf)
        proc = self.run_ctl("--json", "set-server", "smtp.sendgrid.net", "--user", "apikey",
                            "--password-file", self.secret_file)
        self.assertExit(proc, 0)
        self.assertFalse(json.loads(proc.stdout)["changed"])
        self.assertEqual(before, snapshot(self.conf))

    def test_tls_defaults_to_465(self):
        proc = self.run_ctl("set-server", "smtp.example.net", "--security", "tls")
        self.assertExit(proc, 0)
        self.assertEqual(self.status_json()["server"]["port"], 465)

    def test_every_option_round_trips(self):
        ca = os.path.join(self.tmp, "ca.pem")
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", ca)
        proc = self.run_ctl("set-domain", "example.com", "relay.example.net", "--port", "2525",
                            "--security", "starttls", "--ca-file", ca, "--user", "u@example.com",
                            "--password-stdin", stdin=SECRET)
        self.assertExit(proc, 0)
        proc = self.run_ctl("set-domain", "example.org", "mx.example.net", "--mx-lookup",
                            "--security", "none")
        self.assertExit(proc, 0)
        proc = self.run_ctl("set-domain", "example.net", "10.1.2.3", "--security", "tls",
                            "--no-verify-certificate")
        self.assertExit(proc, 0)
        domains = self.status_json()["domains"]
        self.assertEqual(domains["example.com"], {
            "host": "relay.example.net", "port": 2525, "security": "starttls", "mx_lookup": False,
            "verify_certificate": True, "ca_file": ca, "username": "u@example.com",
            "password_set": True})
        self.assertEqual(domains["example.org"]["mx_lookup"], True)
        self.assertEqual(domains["example.org"]["security"], "none")
        self.assertEqual(domains["example.net"]["port"], 465)
        self.assertEqual(domains["example.net"]["verify_certificate"], False)
        proc = self.run_ctl("list-domains")
        self.assertEqual(proc.stdout.split(), ["example.com", "example.net", "example.org"])

    def test_set_and_unset_restore_every_byte(self):
        before = snapshot(self.conf)
        self.assertExit(self.run_ctl("set-server", "smtp.example.net", "--user", "a",
                                     "--password-file", self.secret_file), 0)
        self.assertExit(self.run_ctl("set-domain", "a.example", "smtp.example.net", "--user", "b",
                                     "--password-file", self.secret_file), 0)
        self.assertNotEqual(before, snapshot(self.conf))
        self.assertExit(self.run_ctl("unset-domain", "a.example"), 0)
        self.assertExit(self.run_ctl("unset-server"), 0)
        after = snapshot(self.conf)
        # Our folder stays (empty); every file the administrator had is as it was.
        self.assertEqual(after.pop("smarthost")[0], 0o700)
        self.assertEqual(before, after)

    def test_unset_domain_keeps_server_and_other_domains(self):
        self.assertExit(self.run_ctl("set-server", "smtp.example.net"), 0)
        self.assertExit(self.run_ctl("set-domain", "a.example", "relay-a.example.net"), 0)
        self.assertExit(self.run_ctl("set-domain", "b.example", "relay-b.example.net"), 0)
        self.assertExit(self.run_ctl("unset-domain", "a.example"), 0)
        status = self.status_json()
        self.assertEqual(status["server"]["host"], "smtp.example.net")
        self.assertEqual(list(status["domains"]), ["b.example"])
        self.assertExit(self.run_ctl("unset-server"), 0)
        status = self.status_json()
        self.assertIsNone(status["server"])
        self.assertEqual(list(status["domains"]), ["b.example"])

    def test_dry_run_changes_nothing_and_masks(self):
        before = snapshot(self.conf)
        proc = self.run_ctl("--dry-run", "set-domain", "example.com", "smtp.example.net",
                            "--user", "apikey", "--password-file", self.secret_file)
        self.assertExit(proc, 0)
        self.assertEqual(before, snapshot(self.conf))
        self.assertIn("+@example.com apikey:********", proc.stdout)
        self.assertIn("+++ " + os.path.join(self.conf, "main.cf"), proc.stdout)
        self.assertIn("postmap", proc.stdout)
        self.assertIn("reload", proc.stdout)

    def test_dry_run_of_password_change(self):
        self.assertExit(self.run_ctl("set-server", "smtp.example.net", "--user", "a",
                                     "--password-stdin", stdin="old-password"), 0)
        proc = self.run_ctl("--dry-run", "set-server", "smtp.example.net", "--user", "a",
                            "--password-file", self.secret_file)
        self.assertExit(proc, 0)
        self.assertIn("a password changes (not shown)", proc.stdout)
        self.assertNotIn("old-password", proc.stdout)

    def test_dry_run_resolves_duplicates(self):
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write("relayhost = [old.example.net]:25\n")
        self.cool_down()
        proc = self.run_ctl("--dry-run", "set-server", "smtp.example.net")
        self.assertExit(proc, 0)
        self.assertIn("relayhost was defined 2 times", proc.stdout)
        self.assertExit(self.run_ctl("set-server", "smtp.example.net"), 0)
        out = subprocess.run(["/usr/sbin/postconf", "-c", self.conf, "-h", "relayhost"],
                             capture_output=True, text=True).stdout.strip()
        self.assertEqual(out, "[smtp.example.net]:587")
        with open(os.path.join(self.conf, "main.cf")) as f:
            text = f.read()
        self.assertIn("#relayhost = \n", text)
        self.assertIn("relayhost = [smtp.example.net]:587\n", text)

    def test_secrets_files(self):
        self.assertExit(self.run_ctl("set-server", "smtp.example.net", "--user", "a",
                                     "--password-file", self.secret_file), 0)
        self.assertExit(self.run_ctl("set-domain", "a.example", "smtp.example.net", "--user", "b",
                                     "--password-file", self.secret_file), 0)
        own = os.path.join(self.conf, "smarthost")
        self.assertEqual(stat.S_IMODE(os.stat(own).st_mode), 0o700)
        holders = set()
        for rel, (mode, data) in snapshot(self.conf).items():
            if data is not None and SECRET.encode() in data:
                holders.add(rel)
                self.assertEqual(mode & 0o077, 0, f"{rel} is readable by others")
        self.assertEqual(holders, {"smarthost/server_passwd", "smarthost/server_passwd.db",
                                   "smarthost/sender_passwd", "smarthost/sender_passwd.db"})

    def test_no_reload_option_accepted(self):
        self.assertExit(self.run_ctl("--no-reload", "set-server", "smtp.example.net"), 0)

    def test_unknown_backend(self):
        proc = self.run_ctl("--backend", "exim", "status")
        self.assertExit(proc, 2)
        self.assertIn("postfix", proc.stderr)


class TestBadInput(CliTestCase):
    """Each bad input gets exit status 2, a message naming the problem, and
    changes nothing at all."""

    def check(self, args, needle, stdin=None, code=2):
        before = snapshot(self.tmp)
        proc = self.run_ctl(*args, stdin=stdin)
        self.assertExit(proc, code)
        self.assertIn(needle, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(before, snapshot(self.tmp))

    def test_host_with_space(self):
        self.check(["set-server", "smtp example.net"], "host:")

    def test_host_with_newline(self):
        self.check(["set-server", "smtp.example.net\nrelayhost = evil"], "host:")

    def test_host_with_control_char(self):
        self.check(["set-server", "smtp.exa\x01mple.net"], "host:")

    def test_host_with_brackets(self):
        self.check(["set-server", "[smtp.example.net]"], "host:")

    def test_host_with_port(self):
        self.check(["set-server", "smtp.example.net:587"], "host:")

    def test_host_not_a_name(self):
        self.check(["set-server", "bad-.example"], "host:")

    def test_ip_host_with_verification(self):
        self.check(["set-server", "192.0.2.10"], "host:")
        self.check(["set-server", "2001:db8::1", "--security", "tls"], "host:")

    def test_domain_with_space(self):
        self.check(["set-domain", "exa mple.com", "smtp.example.net"], "domain:")

    def test_domain_with_newline(self):
        self.check(["set-domain", "example.com\n@evil.com", "smtp.example.net"], "domain:")

    def test_domain_not_a_domain(self):
        self.check(["set-domain", "not_a_domain", "smtp.example.net"], "domain:")
        self.check(["set-domain", "192.0.2.1", "smtp.example.net"], "domain:")
        self.check(["unset-domain", "@example.com"], "domain:")

    def test_port_zero(self):
        self.check(["set-server", "smtp.example.net", "--port", "0"], "port:")

    def test_port_too_big(self):
        self.check(["set-server", "smtp.example.net", "--port", "65536"], "port:")
        self.check(["set-server", "smtp.example.net", "--port", "99999999999"], "port:")

    def test_port_not_a_number(self):
        self.check(["set-server", "smtp.example.net", "--port", "587x"], "port:")

    def test_unknown_security(self):
        self.check(["set-server", "smtp.example.net", "--security", "ssl3"], "security:")

    def test_password_without_user(self):
        self.check(["set-server", "smtp.example.net", "--password-file", self.secret_file], "password:")

    def test_user_with_colon(self):
        self.check(["set-server", "smtp.example.net", "--user", "a:b",
                    "--password-file", self.secret_file], "username:")

    def test_user_with_space(self):
        self.check(["set-server", "smtp.example.net", "--user", "a b",
                    "--password-file", self.secret_file], "username:")

    def test_user_with_newline(self):
        self.check(["set-server", "smtp.example.net", "--user", "a\nb",
                    "--password-file", self.secret_file], "username:")

    def test_user_without_password(self):
        self.check(["set-server", "smtp.example.net", "--user", "a"], "password:")

    def test_password_with_newline(self):
        self.check(["set-server", "smtp.example.net", "--user", "a", "--password-stdin"],
                   "password:", stdin=SECRET + "\nsecond line\n")

    def test_password_trailing_space(self):
        self.check(["set-server", "smtp.example.net", "--user", "a", "--password-stdin"],
                   "password:", stdin=SECRET + " ")

    def test_empty_password(self):
        self.check(["set-server", "smtp.example.net", "--user", "a", "--password-stdin"],
                   "password:", stdin="\n")

    def test_unreadable_password_file(self):
        self.check(["set-server", "smtp.example.net", "--user", "a",
                    "--password-file", os.path.join(self.tmp, "missing")], "password-file:")

    def test_password_stdin_and_file(self):
        self.check(["set-server", "smtp.example.net", "--user", "a", "--password-stdin",
                    "--password-file", self.secret_file], "password:", stdin=SECRET)

    def test_ca_file_missing(self):
        self.check(["set-server", "smtp.example.net", "--ca-file", os.path.join(self.tmp, "nope.pem")],
                   "ca-file:")

    def test_ca_file_not_pem(self):
        self.check(["set-server", "smtp.example.net", "--ca-file", self.secret_file], "ca-file:")

    def test_ca_file_with_no_verify(self):
        self.check(["set-server", "smtp.example.net", "--ca-file", "/etc/ssl/certs/ca-certificates.crt",
                    "--no-verify-certificate"], "ca-file:")

    def test_missing_main_cf(self):
        os.unlink(os.path.join(self.conf, "main.cf"))
        self.check(["set-server", "smtp.example.net"], "config-directory:")
        self.check(["status"], "config-directory:")

    def test_unreadable_main_cf(self):
        if os.geteuid() == 0:
            # root reads anything; a directory in its place is unreadable as a file
            os.unlink(os.path.join(self.conf, "main.cf"))
            os.mkdir(os.path.join(self.conf, "main.cf"))
        else:
            os.chmod(os.path.join(self.conf, "main.cf"), 0)
        self.check(["set-server", "smtp.example.net"], "config-directory:")

    def test_missing_config_dir(self):
        before = snapshot(self.tmp)
        proc = self.run_ctl("--config-dir", os.path.join(self.tmp, "nowhere"), "status", config_dir=False)
        self.assertExit(proc, 2)
        self.assertIn("config-directory:", proc.stderr)
        self.assertEqual(before, snapshot(self.tmp))

    def test_relay_options_without_set(self):
        self.check(["status", "--port", "25"], "relay options")

    def test_unknown_command(self):
        self.check(["frobnicate"], "unknown command")

    def test_missing_arguments(self):
        self.check(["set-domain", "example.com"], "usage")
        self.check(["unset-domain"], "wrong number of arguments")

    def test_no_password_option_on_command_line(self):
        self.check(["set-server", "smtp.example.net", "--password", SECRET], "Unknown option")

    def test_conflicting_default_transport(self):
        with open(os.path.join(self.conf, "main.cf"), "a") as f:
            f.write("default_transport = error:no outbound mail\n")
        self.cool_down()
        self.check(["set-server", "smtp.example.net"], "default_transport", code=1)


class TestPolicy(CliTestCase):
    """Plesk's [mail] switches: a disabled change exits 3 naming the key and
    changes nothing; reading stays allowed; a broken file allows nothing."""

    def write_policy(self, text):
        path = os.path.join(self.tmp, "policy.ini")
        with open(path, "w") as f:
            f.write(text)
        return path

    def check_refused(self, args, needle, code=3, env_policy=None):
        before = snapshot(self.conf)
        env = dict(os.environ)
        if env_policy:
            env["SMARTHOST_POLICY"] = env_policy
        proc = subprocess.run([SMARTHOSTCTL, "--config-dir", self.conf] + args, capture_output=True,
                              text=True, env=env, timeout=60)
        self.assertExit(proc, code)
        self.assertIn(needle, proc.stderr)
        self.assertEqual(before, snapshot(self.conf))

    def test_server_disabled(self):
        policy = self.write_policy("[mail]\nsmarthost.server.enabled = false\n")
        self.check_refused(["--policy", policy, "set-server", "smtp.example.net"], "smarthost.server.enabled")
        self.check_refused(["--policy", policy, "unset-server"], "smarthost.server.enabled")
        # domains stay allowed
        proc = self.run_ctl("--policy", policy, "set-domain", "a.example", "smtp.example.net")
        self.assertExit(proc, 0)

    def test_domain_disabled_through_environment(self):
        policy = self.write_policy("[mail]\nsmarthost.domain.enabled = false\n")
        self.check_refused(["set-domain", "a.example", "smtp.example.net"], "smarthost.domain.enabled",
                           env_policy=policy)

    def test_restricted_mode(self):
        self.assertExit(self.run_ctl("set-domain", "a.example", "smtp.example.net"), 0)
        policy = self.write_policy("[mail]\nsmarthost.restricted = true\n")
        self.check_refused(["--policy", policy, "unset-domain", "a.example"], "smarthost.restricted")
        proc = self.run_ctl("--policy", policy, "status")
        self.assertExit(proc, 0)
        self.assertIn("a.example", proc.stdout)

    def test_malformed_policy(self):
        policy = self.write_policy("[mail]\nsmarthost.server.enabled = perhaps\n")
        self.check_refused(["--policy", policy, "set-server", "smtp.example.net"], "line 2", code=2)
        self.check_refused(["--policy", os.path.join(self.tmp, "missing.ini"), "set-server",
                            "smtp.example.net"], "policy:", code=2)
        proc = self.run_ctl("--policy", policy, "list-domains")
        self.assertExit(proc, 0)


class TestProvidersSpfApply(CliTestCase):
    def test_providers(self):
        proc = self.run_ctl("--json", "providers")
        self.assertExit(proc, 0)
        providers = {p["id"]: p for p in json.loads(proc.stdout)}
        self.assertEqual(providers["sendgrid"]["username"], "apikey")
        self.assertEqual(providers["ses"]["host"], "email-smtp.us-east-1.amazonaws.com")
        self.assertIn("eu-west-1", providers["ses"]["regions"])
        self.assertExit(self.run_ctl("providers"), 0)

    def test_set_with_provider_warns_its_quirks(self):
        proc = self.run_ctl("set-server", "--provider", "sendgrid", "--password-file", self.secret_file)
        self.assertExit(proc, 0)
        self.assertIn("warning: SendGrid", proc.stderr)
        server = self.status_json()["server"]
        self.assertEqual((server["host"], server["port"], server["username"]), ("smtp.sendgrid.net", 587, "apikey"))
        proc = self.run_ctl("set-domain", "a.example", "--provider", "ses", "--region", "eu-west-1",
                            "--security", "tls", "--user", "AKIA1", "--password-file", self.secret_file)
        self.assertExit(proc, 0)
        domain = self.status_json()["domains"]["a.example"]
        self.assertEqual((domain["host"], domain["port"]), ("email-smtp.eu-west-1.amazonaws.com", 465))

    def test_provider_errors_change_nothing(self):
        before = snapshot(self.tmp)
        for args, needle in ((["set-server", "--provider", "nosuch"], "provider:"),
                             (["set-server", "--provider", "ses", "--region", "mars-1"], "region:"),
                             (["set-server", "--provider", "microsoft365", "--security", "tls"], "security:"),
                             (["set-server", "smtp.example.net", "--region", "eu-west-1"], "region:"),
                             (["set-server"], "usage")):
            proc = self.run_ctl(*args)
            self.assertExit(proc, 2)
            self.assertIn(needle, proc.stderr)
        self.assertEqual(before, snapshot(self.tmp))

    def test_spf(self):
        proc = self.run_ctl("--json", "spf", "example.com", "--provider", "sendgrid", "--record", "v=spf1 mx -all")
        self.assertExit(proc, 0)
        out = json.loads(proc.stdout)
        self.assertEqual(out["record"], "v=spf1 mx include:sendgrid.net -all")
        self.assertTrue(out["changed"])
        # The relay this domain uses says which include to add.
        self.assertExit(self.run_ctl("set-domain", "shop.example", "--provider", "mailgun", "--user",
                                     "postmaster@shop.example", "--password-file", self.secret_file), 0)
        proc = self.run_ctl("spf", "shop.example", "--record", "v=spf1 include:mailgun.org ~all")
        self.assertExit(proc, 0)
        self.assertEqual(proc.stdout.strip(), 'shop.example. TXT "v=spf1 include:mailgun.org ~all"')
        proc = self.run_ctl("spf", "example.com", "--include", "x.example",
                            "--record", "v=spf1 " + " ".join("include:d%d.example" % i for i in range(10)) + " -all")
        self.assertExit(proc, 0)
        self.assertIn("RFC 7208", proc.stderr)
        proc = self.run_ctl("spf", "example.com", "--provider", "sendgrid", "--record", "v=DMARC1")
        self.assertExit(proc, 2)

    def write_json(self, data):
        path = os.path.join(self.tmp, "state.json")
        with open(path, "w") as f:
            json.dump(data, f)
        return path

    def test_apply(self):
        state = {"server": {"provider": "sendgrid", "password_file": self.secret_file},
                 "domains": {"a.example": {"host": "relay-a.example.net", "security": "tls",
                                           "username": "ua", "password_env": "A_PW"},
                             "b.example": {"host": "relay-b.example.net"}}}
        path = self.write_json(state)
        env = dict(os.environ, A_PW=SECRET)
        before = snapshot(self.conf)
        run = lambda *a: subprocess.run([SMARTHOSTCTL, "--config-dir", self.conf] + list(a), env=env,
                                        capture_output=True, text=True, timeout=60)
        proc = run("--dry-run", "--json", "apply", path)
        self.assertExit(proc, 0)
        self.assertTrue(json.loads(proc.stdout)["changed"])
        self.assertNotIn(SECRET, proc.stdout)
        self.assertEqual(before, snapshot(self.conf))
        proc = run("--json", "apply", path)
        self.assertExit(proc, 0)
        self.assertTrue(json.loads(proc.stdout)["changed"])
        proc = run("--json", "apply", path)
        self.assertFalse(json.loads(proc.stdout)["changed"])
        self.assertEqual(sorted(self.status_json()["domains"]), ["a.example", "b.example"])
        # The complete state: b.example is no longer listed, so it loses its relay.
        del state["domains"]["b.example"]
        proc = run("--json", "apply", self.write_json(state))
        self.assertTrue(json.loads(proc.stdout)["changed"])
        self.assertEqual(list(self.status_json()["domains"]), ["a.example"])

    def test_apply_refuses_bad_files(self):
        self.assertExit(self.run_ctl("set-domain", "keep.example", "smtp.example.net"), 0)
        before = snapshot(self.tmp)
        cases = [({"server": None}, "complete state"),
                 ({"server": None, "domains": {}, "extra": 1}, "unknown key"),
                 ({"server": {"host": "smtp.example.net", "hots": 1}, "domains": {}}, "unknown key"),
                 ({"server": {"host": "smtp.example.net", "username": "u", "password": SECRET}, "domains": {}},
                  "--allow-inline-password"),
                 ({"server": {"host": "smtp.example.net", "username": "u", "password_env": "NOT_SET_ANYWHERE"},
                   "domains": {}}, "password_env"),
                 ({"server": None, "domains": {"bad domain": {"host": "x.example"}}}, "domain:"),
                 ({"server": {"host": "smtp example.net"}, "domains": {}}, "host:")]
        for data, needle in cases:
            proc = self.run_ctl("apply", self.write_json(data))
            self.assertExit(proc, 2)
            self.assertIn(needle, proc.stderr)
            os.unlink(os.path.join(self.tmp, "state.json"))
            self.assertEqual(before, snapshot(self.tmp), needle)
        proc = self.run_ctl("apply", "-", stdin="not json")
        self.assertExit(proc, 2)

    def test_apply_is_strict_about_types(self):
        """A value of the wrong type is an error naming the key, never
        coerced: "true" is not true, and a security setting must not be
        turned off by a typo."""
        self.assertExit(self.run_ctl("set-domain", "keep.example", "smtp.example.net"), 0)
        before = snapshot(self.tmp)
        relay = {"host": "smtp.example.net"}
        cases = [("verify_certificate", "true", "server.verify_certificate: must be true or false"),
                 ("verify_certificate", None, "server.verify_certificate: must be true or false"),
                 ("verify_certificate", 0, "server.verify_certificate: must be true or false"),
                 ("mx_lookup", "yes", "server.mx_lookup: must be true or false"),
                 ("port", True, "server.port: must be a whole number"),
                 ("port", 587.9, "server.port: must be a whole number"),
                 ("port", "2525", "server.port: must be a whole number"),
                 ("port", 0, "server.port: must be a whole number"),
                 ("port", 70000, "server.port: must be a whole number"),
                 ("security", 5, "server.security: must be a string"),
                 ("security", "ssl", "server.security:"),
                 ("username", 42, "server.username: must be a string"),
                 ("host", ["a"], "server.host: must be a string"),
                 ("region", "eu-west-1", "server.region: needs a provider"),
                 ("provider", "sendgrid", "give host or provider, not both"),
                 ("password_set", "yes", "server.password_set: must be true or false")]
        for key, value, needle in cases:
            data = {"server": dict(relay, **{key: value}), "domains": {}}
            proc = self.run_ctl("apply", self.write_json(data))
            self.assertExit(proc, 2)
            self.assertIn(needle, proc.stderr, (key, value))
            self.assertNotIn("CRITICAL", proc.stderr)
            os.unlink(os.path.join(self.tmp, "state.json"))
            self.assertEqual(before, snapshot(self.tmp), (key, value))
        # The same domain twice, in two spellings.
        proc = self.run_ctl("apply", self.write_json({"server": None, "domains": {
            "Shop.example": {"host": "a.example.net"}, "shop.example.": {"host": "b.example.net"}}}))
        self.assertExit(proc, 2)
        self.assertIn("same domain", proc.stderr)
        # A state of another backend.
        proc = self.run_ctl("apply", self.write_json({"backend": "smartermail", "server": None, "domains": {}}))
        self.assertExit(proc, 2)
        self.assertIn("backend", proc.stderr)
        os.unlink(os.path.join(self.tmp, "state.json"))
        self.assertEqual(before, snapshot(self.tmp))

    def test_apply_errors_never_quote_a_password(self):
        """JSON syntax errors name the place, not the text: a password
        written without quotes, or a number where a string belongs, must
        not come back in the message."""
        before = snapshot(self.tmp)
        for text in ('{"server": {"host": "a.example.net", "username": "u", "password": %s}, "domains": {}}' % SECRET,
                     '{"server": {"host": "a.example.net", "username": "u" "%s"}, "domains": {}}' % SECRET,
                     '{"server": {"host": "a.example.net", "username": "u", "password": 98765431}, "domains": {}}'):
            for args in (["apply", "-"], ["--allow-inline-password", "apply", "-"]):
                proc = self.run_ctl(*args, stdin=text)
                self.assertExit(proc, 2)
                self.assertNotIn(SECRET, proc.stderr + proc.stdout)
                self.assertNotIn("98765431", proc.stderr + proc.stdout)
        self.assertEqual(before, snapshot(self.tmp))

    def test_status_json_applies_back_unchanged(self):
        """status --json is a valid apply file: relays with a password say
        "password_set": true, which keeps the stored password."""
        self.assertExit(self.run_ctl("set-server", "smtp.example.net", "--user", "srv",
                                     "--password-file", self.secret_file), 0)
        self.assertExit(self.run_ctl("set-domain", "a.example", "relay-a.example.net", "--security", "tls",
                                     "--user", "ua", "--password-file", self.secret_file), 0)
        self.assertExit(self.run_ctl("set-domain", "b.example", "relay-b.example.net"), 0)
        status = self.run_ctl("--json", "status")
        self.assertExit(status, 0)
        before = snapshot(self.tmp)
        proc = self.run_ctl("--json", "--dry-run", "apply", "-", stdin=status.stdout)
        self.assertExit(proc, 0)
        self.assertFalse(json.loads(proc.stdout)["changed"])
        proc = self.run_ctl("--json", "apply", "-", stdin=status.stdout)
        self.assertExit(proc, 0)
        self.assertFalse(json.loads(proc.stdout)["changed"])
        self.assertEqual(before, snapshot(self.tmp))
        # A port changed in that file keeps the password too.
        state = json.loads(status.stdout)
        state["domains"]["a.example"]["port"] = 2465
        proc = self.run_ctl("--json", "apply", self.write_json(state))
        self.assertExit(proc, 0)
        self.assertTrue(json.loads(proc.stdout)["changed"])
        with open(os.path.join(self.conf, "smarthost", "sender_passwd")) as f:
            self.assertIn("@a.example ua:" + SECRET, f.read())
        # Another user name cannot keep the old user's password.
        state["domains"]["a.example"]["username"] = "someone-else"
        os.unlink(os.path.join(self.tmp, "state.json"))
        before = snapshot(self.tmp)
        proc = self.run_ctl("apply", self.write_json(state))
        self.assertExit(proc, 2)
        self.assertIn("domains.a.example.password:", proc.stderr)
        # Nor can another host: the password stays where it was given.
        state["domains"]["a.example"]["username"] = "ua"
        state["server"]["host"] = "attacker.example.net"
        proc = self.run_ctl("apply", self.write_json(state))
        self.assertExit(proc, 2)
        self.assertIn("server.password: is to be kept, but it was given for \"smtp.example.net\"", proc.stderr)
        self.assertNotIn(SECRET, proc.stderr)
        os.unlink(os.path.join(self.tmp, "state.json"))
        self.assertEqual(before, snapshot(self.tmp))


class TestBackendSettings(CliTestCase):
    """--option KEY=VALUE, the shorthands, and the settings command."""

    def test_option_config_directory(self):
        proc = self.run_ctl("--option", "config-directory=" + self.conf, "--json", "set-server",
                            "smtp.example.net", config_dir=False)
        self.assertExit(proc, 0)
        self.assertEqual(self.status_json()["server"]["host"], "smtp.example.net")
        proc = self.run_ctl("--option", "config-directory=" + self.conf, "--option", "lock-timeout=5",
                            "--json", "status", config_dir=False)
        self.assertExit(proc, 0)
        self.assertEqual(json.loads(proc.stdout)["server"]["host"], "smtp.example.net")

    def test_unknown_key(self):
        before = snapshot(self.tmp)
        proc = self.run_ctl("--option", "config-dir=" + self.conf, "status", config_dir=False)
        self.assertExit(proc, 2)
        self.assertIn('"config-dir"', proc.stderr)
        self.assertIn("config-directory, lock-timeout", proc.stderr)
        self.assertEqual(before, snapshot(self.tmp))

    def test_file_for_a_setting_that_is_no_secret(self):
        proc = self.run_ctl("--option", "config-directory-file=" + self.secret_file, "status", config_dir=False)
        self.assertExit(proc, 2)
        self.assertIn("config-directory is not a secret", proc.stderr)
        proc = self.run_ctl("--option", "lock-timeout-env=HOME", "status")
        self.assertExit(proc, 2)
        self.assertIn("lock-timeout is not a secret", proc.stderr)

    def test_bad_values(self):
        for args, needle in ((["--option", "lock-timeout=soon"], 'lock-timeout: "soon"'),
                             (["--option", "lock-timeout=86401"], "86400"),
                             (["--option", "novalue"], "KEY=VALUE"),
                             (["--option", "config-directory=" + self.conf], "not both"),
                             (["--option", "lock-timeout=1", "--lock-timeout", "2"], "not both"),
                             (["--option", "lock-timeout=1", "--option", "lock-timeout=2"], "given twice")):
            proc = self.run_ctl(*args, "status")
            self.assertExit(proc, 2)
            self.assertIn(needle, proc.stderr)
        proc = self.run_ctl("--option", "config-directory=", "status", config_dir=False)
        self.assertExit(proc, 2)
        self.assertIn("config-directory: the path is empty", proc.stderr)

    def test_settings(self):
        proc = self.run_ctl("settings", config_dir=False)
        self.assertExit(proc, 0)
        self.assertIn("config-directory", proc.stdout)
        self.assertIn("lock-timeout", proc.stdout)
        self.assertIn("Capabilities:", proc.stdout)
        proc = self.run_ctl("--backend", "postfix", "--json", "settings", config_dir=False)
        self.assertExit(proc, 0)
        out = json.loads(proc.stdout)
        self.assertEqual(out["backend"], "postfix")
        self.assertEqual([(s["name"], s["type"], s["secret"]) for s in out["settings"]],
                         [("config-directory", "path", False), ("lock-timeout", "uint", False)])
        self.assertTrue(all(s["help"] for s in out["settings"]))
        for cap in ("server-relay", "domain-relay", "adopt", "diagnose", "crash-safe"):
            self.assertIn(cap, out["capabilities"])
        self.assertNotIn("restart-needed", out["capabilities"])
        proc = self.run_ctl("--backend", "exim", "settings", config_dir=False)
        self.assertExit(proc, 2)
        self.assertIn("postfix", proc.stderr)
        proc = self.run_ctl("settings", "extra", config_dir=False)
        self.assertExit(proc, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
