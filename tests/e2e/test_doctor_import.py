#!/usr/bin/python3
"""smarthostctl doctor and smarthostctl import.

Most tests work on throwaway configuration directories (Postfix's tools,
no running Postfix): one per doctor finding, and hand-made relay setups
that import takes over, refuses (CONFLICT, exit 1, nothing changed) or
finds already taken over.  One test proves with a real Postfix and real
relays (harness.py) that mail flows through the same relays, as the same
users, before and after an import.

Needs root and Debian's postfix (python3-aiosmtpd for the delivery test);
run with /usr/bin/python3.  SMARTHOSTCTL names the binary.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import cool_down, snapshot  # noqa: E402

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"
PASSWORDS = {
    "srvuser": "Srv-Imp-Pw-4kQ9x-secret",
    "usera": "UsrA-Imp-Pw-7mW2z-secret",
    "userc": "UsrC-Imp-Pw-1bN8r-secret",
    "inline": "Inl-Imp-Pw-6vH3k-secret",
}
SECRETS = list(PASSWORDS.values())

MAIN_CF = """\
# A hand-made main.cf.
compatibility_level = 3.6
myhostname = mail.example.org
mydestination = $myhostname, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = loopback-only
"""

SEVERITY_RANK = {"error": 2, "warning": 1, "info": 0}


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


class ConfTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smarthost-doctor-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.conf = os.path.join(self.tmp, "postfix")
        os.mkdir(self.conf)
        shutil.copy(STOCK_MASTER_CF, os.path.join(self.conf, "master.cf"))
        self.write_main()
        self.secret_files = {}
        for user, password in PASSWORDS.items():
            path = os.path.join(self.tmp, user + ".pw")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(password + "\n")
            self.secret_files[user] = path

    def path(self, name):
        return os.path.join(self.conf, name)

    def write_main(self, extra=""):
        with open(self.path("main.cf"), "w") as f:
            f.write(MAIN_CF + extra)
        cool_down(self.path("main.cf"), self.path("master.cf"))

    def write_map(self, name, lines, mode=0o600, postmap=True, maptype="hash"):
        path = self.path(name)
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        os.chmod(path, mode)
        if postmap:
            subprocess.run(["postmap", "-c", self.conf, "%s:%s" % (maptype, path)], check=True)
        return path

    def smtp_service(self, *options, service="smtp"):
        """Give the master.cf service SERVICE (unix) these -o options."""
        path = self.path("master.cf")
        text = read(path)
        line = "%s unix  -       -       y       -       -       smtp\n" % service.ljust(9)
        self.assertIn(line, text)
        with open(path, "w") as f:
            f.write(text.replace(line, line + "".join("  -o %s\n" % o for o in options), 1))
        cool_down(path, self.path("main.cf"))

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

    def doctor(self, env=None):
        proc = self.ctl("--json", "doctor", env=env)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        findings = json.loads(proc.stdout)["findings"]
        for f in findings:
            self.assertEqual(set(f), {"severity", "code", "message", "fix"})
            self.assertIn(f["severity"], SEVERITY_RANK)
            self.assertTrue(f["message"] and f["fix"], f)
        ranks = [SEVERITY_RANK[f["severity"]] for f in findings]
        self.assertEqual(ranks, sorted(ranks, reverse=True), "most serious first")
        has_error = any(f["severity"] == "error" for f in findings)
        self.assertEqual(proc.returncode, 1 if has_error else 0, findings)
        return findings

    def codes(self, findings, severity=None):
        return [f["code"] for f in findings if severity is None or f["severity"] == severity]

    def the(self, findings, code):
        got = [f for f in findings if f["code"] == code]
        self.assertEqual(len(got), 1, findings)
        return got[0]


class TestDoctor(ConfTestCase):
    def test_clean_configuration(self):
        self.assertEqual(self.doctor(), [])
        proc = self.ctl("doctor", expect=0)
        self.assertIn("No problems found", proc.stdout)

    def test_duplicate_parameters_any_of_them(self):
        self.write_main("myhostname = other.example.org\nrelayhost = \nrelayhost =\n")
        findings = self.doctor()
        dups = [f for f in findings if f["code"] == "duplicate-parameter"]
        self.assertEqual(len(dups), 2, findings)
        self.assertTrue(all(f["severity"] == "warning" for f in dups))
        self.assertIn("myhostname", dups[0]["message"] + dups[1]["message"])
        self.assertIn("relayhost", dups[0]["message"] + dups[1]["message"])
        proc = self.ctl("doctor", expect=0)   # warnings only
        self.assertIn("warning [duplicate-parameter]", proc.stdout)
        self.assertIn("fix:", proc.stdout)

    def test_sasl_mechanisms_missing(self):
        self.ctl("--no-reload", "set-server", "127.0.0.1", "--no-verify-certificate", "--user", "srvuser",
                 "--password-file", self.secret_files["srvuser"], expect=0)
        empty = os.path.join(self.tmp, "no-sasl-plugins")
        os.mkdir(empty)
        f = self.the(self.doctor(env={"SMARTHOST_SASL_PLUGIN_DIR": empty}), "sasl-mechanisms-missing")
        self.assertEqual(f["severity"], "error")
        self.assertIn("libsasl2-modules", f["fix"])
        with open(os.path.join(empty, "libplain.so.2"), "w"):
            pass
        self.assertNotIn("sasl-mechanisms-missing",
                         self.codes(self.doctor(env={"SMARTHOST_SASL_PLUGIN_DIR": empty})))
        # This machine has libsasl2-modules.
        self.assertNotIn("sasl-mechanisms-missing", self.codes(self.doctor()))

    def test_secrets_readable_admins_and_ours(self):
        sasl = self.write_map("sasl_passwd", ["[127.0.0.1]:587 srvuser:x"], mode=0o644)
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = hash:%s\nsmtp_sasl_tls_security_options = noanonymous\n"
                        "smtp_tls_security_level = encrypt\n" % sasl)
        self.ctl("--no-reload", "set-domain", "a.example", "127.0.0.1", "--no-verify-certificate",
                 "--user", "usera", "--password-file", self.secret_files["usera"], expect=0)
        ours = self.path("smarthost/sender_passwd")
        os.chmod(ours, 0o644)
        findings = self.doctor()
        readable = sorted(f["message"].split()[0] for f in findings if f["code"] == "secrets-readable")
        self.assertEqual(readable, sorted([sasl, sasl + ".db"]), findings)
        self.assertTrue(all(f["severity"] == "warning" for f in findings if f["code"] == "secrets-readable"))
        # Our own map is an error of its own (TestFileOwnersAndModes).
        self.assertEqual(self.the(findings, "secrets-exposed")["message"].split()[0], ours)

    def test_map_not_built_and_stale(self):
        sasl = self.write_map("sasl_passwd", ["[127.0.0.1]:587 srvuser:x"], postmap=False)
        sdr = self.write_map("sdr", ["@a.example [127.0.0.1]:2525"])
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = hash:%s\nsmtp_sasl_tls_security_options = noanonymous\n"
                        "smtp_tls_security_level = encrypt\nsender_dependent_relayhost_maps = hash:%s\n"
                        % (sasl, sdr))
        future = time.time() + 60
        os.utime(sdr, (future, future))
        findings = self.doctor()
        f = self.the(findings, "map-not-built")
        self.assertEqual(f["severity"], "error")
        self.assertIn(sasl + ".db", f["message"])
        self.assertIn("postmap", f["fix"])
        f = self.the(findings, "map-stale")
        self.assertIn(sdr, f["message"])

    def test_no_ca_global_and_ours(self):
        self.write_main("relayhost = [127.0.0.1]:587\nsmtp_tls_security_level = secure\n"
                        "smtp_tls_CAfile =\nsmtp_tls_CApath =\n")
        f = self.the(self.doctor(), "no-ca")
        self.assertEqual(f["severity"], "error")
        self.assertIn("smtp_tls_CAfile", f["fix"])
        # Our transport's CA file vanished.
        self.write_main()
        ca = os.path.join(self.tmp, "ca.pem")
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", ca)
        self.ctl("--no-reload", "set-domain", "a.example", "localhost", "--ca-file", ca, expect=0)
        self.assertNotIn("no-ca", self.codes(self.doctor()))
        os.unlink(ca)
        f = self.the(self.doctor(), "no-ca")
        self.assertIn(ca, f["message"])

    def test_port_465_without_wrappermode(self):
        self.write_main("relayhost = [127.0.0.1]:465\nsmtp_tls_security_level = encrypt\n")
        f = self.the(self.doctor(), "port-465-without-wrappermode")
        self.assertEqual(f["severity"], "error")
        self.assertIn("smtp_tls_wrappermode", f["fix"])
        self.write_main("relayhost = [127.0.0.1]:465\nsmtp_tls_security_level = encrypt\n"
                        "smtp_tls_wrappermode = yes\n")
        self.assertNotIn("port-465-without-wrappermode", self.codes(self.doctor()))

    def test_sasl_plaintext_forbidden(self):
        sasl = self.write_map("sasl_passwd", ["[127.0.0.1]:587 srvuser:x"])
        base = ("relayhost = [127.0.0.1]:587\nsmtp_sasl_auth_enable = yes\n"
                "smtp_sasl_password_maps = hash:%s\n" % sasl)
        # Postfix's defaults: noplaintext, inherited by the TLS options.
        self.write_main(base + "smtp_tls_security_level = encrypt\n")
        f = self.the(self.doctor(), "sasl-plaintext-forbidden")
        self.assertEqual(f["severity"], "error")
        self.assertIn("smtp_sasl_tls_security_options = noanonymous", f["fix"])
        # No TLS at all.
        self.write_main(base + "smtp_sasl_tls_security_options = noanonymous\n")
        self.assertEqual(self.the(self.doctor(), "sasl-plaintext-forbidden")["severity"], "error")
        # SASL_README's recommendation: fine.
        self.write_main(base + "smtp_sasl_tls_security_options = noanonymous\n"
                        "smtp_tls_security_level = encrypt\n")
        self.assertNotIn("sasl-plaintext-forbidden", self.codes(self.doctor()))

    def test_relay_unresolvable(self):
        self.write_main("relayhost = [relay.nonexistent.invalid]:587\n")
        self.ctl("--no-reload", "set-domain", "a.example", "smarthost.nonexistent.invalid",
                 "--no-verify-certificate", expect=0)
        findings = [f for f in self.doctor() if f["code"] == "relay-unresolvable"]
        self.assertEqual(len(findings), 2, findings)
        # "not found" is an error; with no working resolver it is an info.
        for f in findings:
            self.assertIn(f["severity"], ("error", "info"))
        self.assertIn("relay.nonexistent.invalid", " ".join(f["message"] for f in findings))
        self.assertIn("smarthost.nonexistent.invalid", " ".join(f["message"] for f in findings))
        self.ctl("--no-reload", "set-domain", "a.example", "localhost", "--no-verify-certificate", expect=0)
        self.write_main("relayhost = [localhost]:587\n")
        self.assertNotIn("relay-unresolvable", self.codes(self.doctor()))

    def test_doctor_only_reads_and_dry_run_is_the_same(self):
        sasl = self.write_map("sasl_passwd", ["[relay.nonexistent.invalid]:465 srvuser:x"], mode=0o644,
                              postmap=False)
        self.write_main("relayhost = [relay.nonexistent.invalid]:465\nrelayhost = [relay.nonexistent.invalid]:465\n"
                        "smtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = hash:%s\n"
                        "smtp_tls_security_level = secure\n" % sasl)
        before = snapshot(self.tmp)
        findings = self.doctor()
        self.assertGreaterEqual(set(self.codes(findings)), {
            "duplicate-parameter", "secrets-readable", "map-not-built", "no-ca",
            "port-465-without-wrappermode", "sasl-plaintext-forbidden", "relay-unresolvable"})
        text = self.ctl("doctor", expect=1)
        dry = self.ctl("--dry-run", "doctor", expect=1)
        self.assertEqual(dry.stdout, text.stdout)
        self.assertEqual(json.loads(self.ctl("--dry-run", "--json", "doctor").stdout)["findings"], findings)
        self.assertEqual(snapshot(self.tmp), before, "doctor changed something")

    def test_bad_config_dir(self):
        proc = self.ctl("--config-dir", os.path.join(self.tmp, "nope"), "doctor", expect=2)
        self.assertIn("main.cf", proc.stderr)


class TestFileOwnersAndModes(ConfTestCase):
    """Who may change main.cf, master.cf and their folder, and read our
    password maps: root (or the user running us) alone."""

    def assertError(self, findings, code, path, fix):
        got = [f for f in findings if f["code"] == code and f["message"].split()[0] == path]
        self.assertEqual(len(got), 1, findings)
        self.assertEqual(got[0]["severity"], "error")
        self.assertIn(fix, got[0]["fix"])
        return got[0]

    def throwaway_user(self):
        """A system user that exists for this test only."""
        name = "smarthost-t-" + uuid.uuid4().hex[:8]
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        self.addCleanup(subprocess.run, ["userdel", name], capture_output=True)
        return name

    def set_domain_with_password(self):
        self.ctl("--no-reload", "set-domain", "a.example", "127.0.0.1", "--no-verify-certificate",
                 "--user", "usera", "--password-file", self.secret_files["usera"], expect=0)
        self.assertEqual(self.doctor(), [])

    def test_writable_by_others(self):
        os.chmod(self.path("main.cf"), 0o666)
        os.chmod(self.path("master.cf"), 0o664)
        findings = self.doctor()
        f = self.assertError(findings, "config-writable", self.path("main.cf"), "chmod go-w " + self.path("main.cf"))
        self.assertIn("every user (mode 0666)", f["message"])
        f = self.assertError(findings, "config-writable", self.path("master.cf"), "chmod go-w")
        self.assertIn("its group (mode 0664)", f["message"])
        os.chmod(self.path("main.cf"), 0o644)
        os.chmod(self.path("master.cf"), 0o644)
        for mode in (0o777, 0o775, 0o1777):
            os.chmod(self.conf, mode)
            self.assertError(self.doctor(), "config-writable", self.conf, "chmod go-w " + self.conf)
        os.chmod(self.conf, 0o755)
        self.assertEqual(self.doctor(), [])

    def test_symbolic_link(self):
        for name in ("main.cf", "master.cf"):
            real = os.path.join(self.tmp, "real-" + name)
            os.rename(self.path(name), real)
            os.symlink(real, self.path(name))
            f = self.assertError(self.doctor(), "config-symlink", self.path(name), "Replace the link")
            self.assertIn("readlink -f %s" % self.path(name), f["fix"])
            # What it points to is checked too.
            os.chmod(real, 0o646)
            self.assertError(self.doctor(), "config-writable", self.path(name), "chmod go-w")
            os.chmod(real, 0o644)
            os.unlink(self.path(name))
            os.rename(real, self.path(name))
        self.assertEqual(self.doctor(), [])

    def test_our_secrets_open_to_others(self):
        self.set_domain_with_password()
        own = self.path("smarthost")
        for name, mode in (("sender_passwd", 0o640), ("sender_passwd.db", 0o604)):
            path = os.path.join(own, name)
            os.chmod(path, mode)
            f = self.assertError(self.doctor(), "secrets-exposed", path, "chmod 600 " + path)
            self.assertIn("mode %04o" % mode, f["message"])
            self.assertNotIn("secrets-readable", self.codes(self.doctor()))
            os.chmod(path, 0o600)
        for mode in (0o750, 0o701, 0o755):
            os.chmod(own, mode)
            self.assertError(self.doctor(), "secrets-exposed", own, "chmod 700 " + own)
        os.chmod(own, 0o700)
        # The server's map as well.
        self.ctl("--no-reload", "set-server", "127.0.0.1", "--no-verify-certificate", "--user", "srvuser",
                 "--password-file", self.secret_files["srvuser"], expect=0)
        server = os.path.join(own, "server_passwd")
        os.chmod(server, 0o666)
        self.assertError(self.doctor(), "secrets-exposed", server, "chmod 600")
        os.chmod(server, 0o600)
        self.assertEqual(self.doctor(), [])

    def test_owned_by_another_user(self):
        self.set_domain_with_password()
        user = self.throwaway_user()
        own = self.path("smarthost")
        paths = [self.conf, self.path("main.cf"), self.path("master.cf"), own,
                 os.path.join(own, "sender_passwd"), os.path.join(own, "sender_passwd.db")]
        for path in paths:
            shutil.chown(path, user=user)
        try:
            findings = self.doctor()
            for path in paths[:3]:
                f = self.assertError(findings, "config-owner", path, "chown root:root " + path)
                self.assertIn("belongs to user %s (uid " % user, f["message"])
            self.assertError(findings, "secrets-owner", own, "chown -R root:root " + own)
            for path in paths[4:]:
                f = self.assertError(findings, "secrets-owner", path, "chown root:root %s && chmod 600" % path)
                self.assertIn(user, f["message"])
            self.assertEqual(len(findings), 6, findings)
        finally:
            for path in paths:
                shutil.chown(path, user="root")
        self.assertEqual(self.doctor(), [])


class TestImport(ConfTestCase):
    """A hand-made setup: relayhost with its credentials, a hash: SASL
    map with per-domain credentials (sender-dependent authentication), a
    texthash: sender_dependent_relayhost_maps, global TLS and a TLS
    policy entry."""

    def hand_made(self, sdr_lines=None, extra=""):
        self.sasl = self.write_map("sasl_passwd", [
            "[smtp.example.com]:587 srvuser:%s" % PASSWORDS["srvuser"],
            "@a.example usera:%s" % PASSWORDS["usera"],
            "@c.example userc:%s" % PASSWORDS["userc"],
        ])
        self.sdr = self.write_map("sender_relay", sdr_lines or [
            "@a.example [relay-a.example.com]:2525",
            "@b.example [relay-b.example.com]:465",
        ], mode=0o644, postmap=False)
        self.policy = self.write_map("tls_policy", ["[relay-a.example.com]:2525 secure match=nexthop"],
                                     mode=0o644)
        self.write_main(
            "relayhost = [smtp.example.com]:587\n"
            "smtp_sasl_auth_enable = yes\n"
            "smtp_sasl_password_maps = hash:%s\n"
            "smtp_sasl_security_options = noanonymous\n"
            "smtp_sender_dependent_authentication = yes\n"
            "smtp_tls_security_level = encrypt\n"
            "smtp_tls_wrappermode = no\n"
            "smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt\n"
            "smtp_tls_policy_maps = hash:%s\n"
            "sender_dependent_relayhost_maps = texthash:%s\n"
            % (self.sasl, self.policy, self.sdr) + extra)

    def status(self):
        return json.loads(self.ctl("--json", "status", expect=0).stdout)

    def relay(self, host, port, security="starttls", verify=False, ca=None, user=None):
        return {"host": host, "port": port, "security": security, "mx_lookup": False,
                "verify_certificate": verify, "ca_file": ca, "username": user,
                "password_set": user is not None}

    def test_complete_state_next_to_hand_made_routes(self):
        """apply of a complete state leaves hand-made sender routes alone
        but says that they still route senders it does not list."""
        self.hand_made()
        state = {"server": {"host": "smtp.example.net"}, "domains": {"z.example": {"host": "relay-z.example.net"}}}
        path = os.path.join(self.tmp, "state.json")
        with open(path, "w") as f:
            json.dump(state, f)
        text = self.notes(self.ctl("--dry-run", "apply", path, expect=0))
        self.assertIn("sender_dependent_relayhost_maps = \"texthash:%s\" routes senders by hand" % self.sdr, text)
        self.assertIn("smarthostctl import takes them over", text)

    def test_adoption_under_a_complete_state(self):
        """Adopting and applying a complete state in one transaction leaves
        exactly the state: adopted domains it does not list go too."""
        self.hand_made()
        script = (
            "import sys, gi\n"
            "gi.require_version('Smarthost', '1.0')\n"
            "from gi.repository import Smarthost\n"
            "b = Smarthost.PostfixBackend.new(sys.argv[1])\n"
            "tx = b.begin()\n"
            "tx.set_reload(False)\n"
            "tx.adopt()\n"
            "tx.set_state(Smarthost.State.new_from_json('{\"server\": null, \"domains\": "
            "{\"z.example\": {\"host\": \"relay-z.example.net\"}}}', Smarthost.JsonFlags.NONE))\n"
            "tx.commit(None)\n")
        proc = subprocess.run(["/usr/bin/python3", "-c", script, self.conf], capture_output=True, text=True,
                              timeout=120)
        if "Namespace Smarthost not available" in proc.stderr:
            self.skipTest("no uninstalled typelib")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(list(self.status()["domains"]), ["z.example"])
        # The hand-made table, all of whose entries were adopted, left main.cf.
        self.assertIn("sender_dependent_relayhost_maps = \n", read(self.path("main.cf")))

    def test_dry_run_says_what_is_taken_over_and_changes_nothing(self):
        self.hand_made()
        before = snapshot(self.tmp)
        proc = self.ctl("--dry-run", "import", expect=0)
        notes = [line for line in proc.stdout.splitlines() if line.startswith("# note: ")]
        text = "\n".join(notes)
        self.assertIn("adopts relayhost = [smtp.example.com]:587 as the server-wide smarthost", text)
        self.assertIn("logs in as srvuser", text)
        self.assertIn("adopts sender_dependent_relayhost_maps entry @a.example = [relay-a.example.com]:2525 "
                      "as the smarthost of a.example", text)
        self.assertIn("as the smarthost of c.example", text)
        self.assertIn("removes texthash:%s from sender_dependent_relayhost_maps" % self.sdr, text)
        self.assertIn("keeps untouched: ", text)
        self.assertIn("smtp_sasl_password_maps", text)
        self.assertIn("usera:********", proc.stdout)
        # The administrator's password table stays, but our copies serve now.
        self.assertIn("the password table smtp_sasl_password_maps = hash:%s stays untouched but no longer "
                      "serves the relays taken over: their credentials now also live in %s and %s (mode 0600)"
                      % (self.sasl, self.path("smarthost/server_passwd"), self.path("smarthost/sender_passwd")),
                      text)
        dry = json.loads(self.ctl("--dry-run", "--json", "import", expect=0).stdout)
        self.assertTrue(dry["dry_run"])
        self.assertIn("# note: adopts relayhost", dry["preview"])
        self.assertEqual(snapshot(self.tmp), before)

    def test_import_keeps_routing_and_is_idempotent(self):
        self.hand_made()
        admin_files = {p: read(p, "rb") for p in (self.sasl, self.sasl + ".db", self.sdr,
                                                        self.policy, self.policy + ".db")}
        before = self.status()
        self.assertEqual(before["domains"], {})
        result = json.loads(self.ctl("--json", "--no-reload", "import", expect=0).stdout)
        self.assertTrue(result["changed"])
        server = self.relay("smtp.example.com", 587, ca="/etc/ssl/certs/ca-certificates.crt",
                            user="srvuser")
        server["ca_file"] = None     # encrypt: not verified, so no CA
        domains = {
            # secure by its TLS policy entry, with the global CA file
            "a.example": self.relay("relay-a.example.com", 2525, verify=True,
                                    ca="/etc/ssl/certs/ca-certificates.crt", user="usera"),
            # no credentials of its own: Postfix logs in with none
            "b.example": self.relay("relay-b.example.com", 465),
            # logs in to relayhost as itself (sender-dependent authentication)
            "c.example": self.relay("smtp.example.com", 587, user="userc"),
        }
        self.assertEqual(result["adopted"], {"server": server, "domains": domains})
        after = self.status()
        self.assertEqual(after["server"], before["server"])
        self.assertEqual(after["domains"], domains)
        # Nothing of the administrator's is lost.
        for path, data in admin_files.items():
            with open(path, "rb") as f:
                self.assertEqual(f.read(), data, path)
        main_cf = read(self.path("main.cf"))
        self.assertIn("relayhost = [smtp.example.com]:587\n", main_cf)
        self.assertIn("smtp_sasl_password_maps = hash:%s\n" % self.sasl, main_cf)
        pc = subprocess.run(["postconf", "-c", self.conf, "-h", "sender_dependent_relayhost_maps"],
                            capture_output=True, text=True, check=True)
        self.assertEqual(pc.stdout.strip(), "")
        # Postfix routes each sender to the same nexthop as before.
        transport = "hash:" + self.path("smarthost/sender_transport")
        for domain, hop in (("a.example", "[relay-a.example.com]:2525"),
                            ("b.example", "[relay-b.example.com]:465"),
                            ("c.example", "[smtp.example.com]:587")):
            q = subprocess.run(["postmap", "-c", self.conf, "-q", "@" + domain, transport],
                               capture_output=True, text=True, check=True)
            self.assertTrue(q.stdout.strip().endswith(":" + hop), q.stdout)
        # A second import finds nothing left to take over.
        snap = snapshot(self.tmp)
        again = json.loads(self.ctl("--json", "--no-reload", "import", expect=0).stdout)
        self.assertEqual(again, {"changed": False, "adopted": {"server": None, "domains": {}}})
        self.assertEqual(snapshot(self.tmp), snap)
        self.assertIn("No change", self.ctl("--no-reload", "import", expect=0).stdout)

    def test_nothing_hand_made(self):
        before = snapshot(self.tmp)
        result = json.loads(self.ctl("--json", "--no-reload", "import", expect=0).stdout)
        self.assertFalse(result["changed"])
        self.assertEqual(snapshot(self.tmp), before)

    def assertConflict(self, expect_in, **kw):
        self.hand_made(**kw)
        before = snapshot(self.tmp)
        for args in (("--dry-run", "import"), ("--no-reload", "import"), ("--json", "--no-reload", "import")):
            proc = self.ctl(*args, expect=1)
            self.assertIn(expect_in, proc.stderr)
            self.assertIn("nothing was changed", proc.stderr)
        self.assertEqual(snapshot(self.tmp), before)

    def test_conflict_single_address_entry(self):
        self.assertConflict("\"bob@b.example\", not for a whole domain",
                            sdr_lines=["@a.example [relay-a.example.com]:2525",
                                       "bob@b.example [relay-b.example.com]:587"])

    def test_conflict_map_that_cannot_be_listed(self):
        self.hand_made()
        regexp = self.write_map("sender_relay.regexp", ["/@b\\.example$/ [relay-b.example.com]:587"],
                                postmap=False)
        self.write_main(read(self.path("main.cf"))[len(MAIN_CF):].replace(
            "texthash:" + self.sdr, "regexp:" + regexp))
        before = snapshot(self.tmp)
        proc = self.ctl("--no-reload", "import", expect=1)
        self.assertIn("regexp:%s, a table that cannot be listed" % regexp, proc.stderr)
        self.assertEqual(snapshot(self.tmp), before)

    def test_conflict_relay_list(self):
        self.hand_made()
        self.write_main(read(self.path("main.cf"))[len(MAIN_CF):].replace(
            "relayhost = [smtp.example.com]:587",
            "relayhost = [smtp.example.com]:587, [backup.example.com]:587"))
        before = snapshot(self.tmp)
        proc = self.ctl("--no-reload", "import", expect=1)
        self.assertIn("lists several relays", proc.stderr)
        self.assertEqual(snapshot(self.tmp), before)

    def test_conflict_single_sender_credentials(self):
        self.hand_made()
        with open(self.sasl, "a") as f:
            f.write("bob@c.example bob:%s\n" % PASSWORDS["userc"])
        subprocess.run(["postmap", "-c", self.conf, "hash:" + self.sasl], check=True)
        before = snapshot(self.tmp)
        proc = self.ctl("--no-reload", "import", expect=1)
        self.assertIn("single sender \"bob@c.example\"", proc.stderr)
        self.assertEqual(snapshot(self.tmp), before)

    # -- the settings of the service that carries the mail ---------------

    def notes(self, proc):
        return "\n".join(line for line in proc.stdout.splitlines() if line.startswith("# note: "))

    def simple_relay(self, relayhost="[smtp.example.com]:465", key=None, extra="", user="srvuser"):
        """relayhost with one login, and nothing else set by hand."""
        self.sasl = self.write_map("sasl_passwd", ["%s %s:%s" % (key or relayhost, user, PASSWORDS["srvuser"])])
        self.write_main("relayhost = %s\nsmtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = hash:%s\n"
                        "smtp_sasl_tls_security_options = noanonymous\n" % (relayhost, self.sasl) + extra)

    def transport_of(self, name):
        """The -o options of one of our master.cf transports."""
        out = subprocess.run(["postconf", "-c", self.conf, "-P", "%s/unix" % name],
                             capture_output=True, text=True, check=True).stdout
        options = {}
        for line in out.splitlines():
            name, _, value = line.split("/", 2)[2].partition(" =")
            options[name] = value.strip()
        return options

    def test_master_cf_overrides_win_465(self):
        # The common port 465 recipe: implicit TLS set on the smtp service only.
        self.simple_relay()
        self.smtp_service("smtp_tls_wrappermode=yes", "smtp_tls_security_level=encrypt")
        before = self.status()["server"]
        self.assertEqual(before, self.relay("smtp.example.com", 465, security="tls", user="srvuser"))
        proc = self.ctl("--dry-run", "import", expect=0)
        text = self.notes(proc)
        self.assertIn("adopts relayhost = [smtp.example.com]:465 as the server-wide smarthost "
                      "(TLS: tls, certificate not verified; logs in as srvuser", text)
        self.assertIn("master.cf service smtp (default_transport): its -o overrides of "
                      "smtp_tls_security_level, smtp_tls_wrappermode win over main.cf", text)
        self.assertIn("+default_transport = smarthost-server-tls-noverify\n", proc.stdout)
        self.ctl("--no-reload", "import", expect=0)
        self.assertEqual(self.status()["server"], before)
        options = self.transport_of("smarthost-server-tls-noverify")
        self.assertEqual((options["smtp_tls_wrappermode"], options["smtp_tls_security_level"]),
                         ("yes", "encrypt"))

    def test_master_cf_override_braces_and_references(self):
        # "-o { name = value }" and a reference to another override, as
        # Postfix expands them; the default smtp_sasl_tls_security_options
        # ($smtp_sasl_security_options) follows an override of the latter.
        self.sasl = self.write_map("sasl_passwd", ["[smtp.example.com]:587 srvuser:%s" % PASSWORDS["srvuser"]])
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = hash:%s\nsmtp_tls_security_level = may\n"
                        "my_level = encrypt\n" % self.sasl)
        self.smtp_service("{ smtp_tls_security_level = $my_level }")
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("(TLS: starttls, certificate not verified; logs in as srvuser", text)
        # An override of the security options that allows plaintext logins.
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = hash:%s\nsmtp_tls_security_level = may\n" % self.sasl)
        shutil.copy(STOCK_MASTER_CF, self.path("master.cf"))
        self.smtp_service("smtp_sasl_security_options=noanonymous")
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("(TLS: none; logs in as srvuser", text)
        self.assertIn("warning: relayhost = [smtp.example.com]:587 logs in without requiring TLS "
                      "(smtp_sasl_security_options = noanonymous allows plaintext logins)", text)

    def test_master_cf_override_undefined_variable(self):
        self.simple_relay()
        self.smtp_service("smtp_tls_wrappermode=yes", "smtp_tls_security_level=$no_such_parameter")
        before = snapshot(self.tmp)
        proc = self.ctl("--dry-run", "import", expect=1)
        self.assertIn("master.cf service smtp sets smtp_tls_security_level with a reference to "
                      "$no_such_parameter, a parameter defined nowhere", proc.stderr)
        self.assertIn("nothing was changed", proc.stderr)
        self.ctl("--no-reload", "import", expect=1)
        self.assertEqual(snapshot(self.tmp), before)

    def test_relay_transport_differs(self):
        # Mail for relay_domains leaves through "relay": the server-wide
        # smarthost would carry it with smtp's settings.
        self.simple_relay("[smtp.example.com]:587", extra="smtp_tls_security_level = encrypt\n"
                          "relay_domains = relayed.example\n")
        self.smtp_service("smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt", service="relay")
        proc = self.ctl("--dry-run", "import", expect=1)
        self.assertIn("mail for relay_domains leaves through master.cf service relay (relay_transport), "
                      "whose smtp_tls_CAfile differs from that of service smtp", proc.stderr)

    # -- TLS ---------------------------------------------------------------

    def test_obsolete_tls_settings(self):
        ca = "/etc/ssl/certs/ca-certificates.crt"
        cases = [
            # (main.cf, TLS in the note, status)
            ("smtp_enforce_tls = yes\n", "starttls, certificate verified",
             self.relay("smtp.example.com", 587, verify=True, ca=ca, user="srvuser")),
            ("smtp_enforce_tls = yes\nsmtp_tls_enforce_peername = no\n", "starttls, certificate not verified",
             self.relay("smtp.example.com", 587, user="srvuser")),
        ]
        for extra, tls, status in cases:
            with self.subTest(extra=extra):
                self.simple_relay("[smtp.example.com]:587", extra="smtp_tls_CAfile = %s\n" % ca + extra)
                self.assertEqual(self.status()["server"], status)
                text = self.notes(self.ctl("--dry-run", "import", expect=0))
                self.assertIn("(TLS: %s; logs in as srvuser" % tls, text)
                self.assertIn("smtp_tls_security_level is empty, so the TLS level is", text)
        # The same set on the smtp service in master.cf.
        self.simple_relay("[smtp.example.com]:587")
        self.smtp_service("smtp_enforce_tls=yes", "smtp_tls_enforce_peername=no")
        self.assertIn("(TLS: starttls, certificate not verified; logs in as srvuser",
                      self.notes(self.ctl("--dry-run", "import", expect=0)))

    def test_opportunistic_tls_with_login(self):
        # smtp_use_tls = yes is level may. Postfix's default security
        # options (noplaintext) never sent the password outside TLS: adopt
        # that as STARTTLS, not as a relay that may log in in clear.
        self.sasl = self.write_map("sasl_passwd", ["[smtp.example.com]:587 srvuser:%s" % PASSWORDS["srvuser"]])
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = hash:%s\nsmtp_sasl_tls_security_options = noanonymous\n"
                        "smtp_use_tls = yes\n" % self.sasl)
        self.assertEqual(self.status()["server"], self.relay("smtp.example.com", 587, user="srvuser"))
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("(TLS: starttls, certificate not verified; logs in as srvuser", text)
        self.assertIn("relayhost = [smtp.example.com]:587 does not require TLS, but its login never travelled "
                      "without it (smtp_sasl_security_options = noplaintext, noanonymous), so it is adopted as "
                      "STARTTLS without certificate verification", text)
        self.ctl("--no-reload", "import", expect=0)
        self.assertEqual(self.status()["server"], self.relay("smtp.example.com", 587, user="srvuser"))
        # Without a login there is no password to protect: level may stays "none".
        self.reset_conf()
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_tls_security_level = may\n")
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("(TLS: none; no login)", text)
        self.assertNotIn("warning:", text)

    def reset_conf(self):
        shutil.rmtree(self.path("smarthost"), True)
        shutil.copy(STOCK_MASTER_CF, self.path("master.cf"))

    def test_tls_policy_parent_domains(self):
        # An MX-style nexthop also finds ".parent" entries, as Postfix's
        # tls_policy_lookup() does; "[host]:port" only its own entry.
        self.policy = self.write_map("tls_policy", [".example.com encrypt", "[other.example.com]:587 secure"])
        extra = "smtp_tls_security_level = may\nsmtp_tls_policy_maps = hash:%s\n"
        self.simple_relay("relay.example.com", extra=extra % self.policy)
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("adopts relayhost = relay.example.com as the server-wide smarthost "
                      "(TLS: starttls, certificate not verified; logs in as srvuser", text)
        self.assertNotIn("does not require TLS", text)
        self.simple_relay("[relay.example.com]:587", extra=extra % self.policy)
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("(TLS: starttls, certificate not verified; logs in as srvuser", text)   # noplaintext
        self.assertIn("does not require TLS, but its login never travelled without it", text)

    def test_tls_policy_attribute_list(self):
        # "secure, match=nexthop" is split like Postfix splits it.
        self.policy = self.write_map("tls_policy", ["[smtp.example.com]:587 secure,match=nexthop:dot-nexthop"])
        self.simple_relay("[smtp.example.com]:587", extra="smtp_tls_policy_maps = hash:%s\n" % self.policy)
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("(TLS: starttls, certificate verified; logs in as srvuser", text)

    # -- credentials -------------------------------------------------------

    def test_inline_password_map(self):
        import test_secrets_audit
        # The map is one list item, "{...}" included; a value with spaces
        # and commas is written "{ key = value }".
        inline = ("inline:{ [smtp.example.com]:587=srvuser:%s, { @a.example = usera:%s, x } }"
                  % (PASSWORDS["srvuser"], PASSWORDS["inline"]))
        self.sdr = self.write_map("sender_relay", ["@a.example [relay-a.example.com]:2525"])
        # Four lines apart from any line import changes, so that no diff
        # shows the map as context (see the next test).
        self.write_main("smtp_sasl_password_maps = %s\n#\n#\n#\n#\n"
                        "relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_tls_security_options = noanonymous\n"
                        "smtp_sender_dependent_authentication = yes\nsmtp_tls_security_level = encrypt\n"
                        "sender_dependent_relayhost_maps = hash:%s\n" % (inline, self.sdr))
        watcher = test_secrets_audit.ArgvWatcher()
        watcher.start()
        try:
            self.assertEqual(self.status()["server"], self.relay("smtp.example.com", 587, user="srvuser"))
            proc = self.ctl("--dry-run", "import", expect=0)
            result = json.loads(self.ctl("--json", "--no-reload", "import", expect=0).stdout)
        finally:
            watcher.stop()
        self.assertGreater(watcher.scans, 0)
        for argv in watcher.seen:
            for secret in SECRETS:
                self.assertNotIn(secret.encode(), argv, "a password on a command line: %r" % argv[:120])
        text = self.notes(proc)
        self.assertIn("logs in as usera, the entry \"@a.example\" of smtp_sasl_password_maps", text)
        self.assertIn("the password table smtp_sasl_password_maps = inline:{...} stays untouched", text)
        self.assertEqual(result["adopted"]["domains"]["a.example"],
                         self.relay("relay-a.example.com", 2525, user="usera"))
        q = subprocess.run(["postmap", "-c", self.conf, "-q", "@a.example",
                            "hash:" + self.path("smarthost/sender_passwd")],
                           capture_output=True, text=True, check=True)
        self.assertEqual(q.stdout.strip(), "usera:%s, x" % PASSWORDS["inline"])

    def test_inline_password_map_malformed(self):
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = inline:{ [smtp.example.com]:587 srvuser:%s }\n"
                        "smtp_tls_security_level = encrypt\n" % PASSWORDS["srvuser"])
        proc = self.ctl("--dry-run", "import", expect=1)
        self.assertIn("smtp_sasl_password_maps has a table Postfix cannot read (inline:{...}: missing '=' "
                      "after attribute name)", proc.stderr)

    def test_dry_run_masks_inline_password_in_context(self):
        # The preview masks our own maps, and also a password that main.cf
        # itself holds in an inline: table when that line is diff context.
        self.write_main("relayhost = [smtp.example.com]:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_tls_security_level = encrypt\n"
                        "smtp_sasl_password_maps = inline:{ [smtp.example.com]:587=srvuser:%s }\n"
                        % PASSWORDS["srvuser"])
        self.ctl("--dry-run", "import", expect=0)

    def test_first_relayhost_table_decides_dunno(self):
        # Postfix stops at the first table with an entry: DUNNO in the
        # first keeps a.example on relayhost, whatever the second says.
        self.hand_made(sdr_lines=["@a.example DUNNO"])
        sdr2 = self.write_map("sender_relay2", ["@a.example [relay-x.example.com]:587",
                                                "@d.example [relay-d.example.com]:587"])
        self.write_main(read(self.path("main.cf"))[len(MAIN_CF):].replace(
            "sender_dependent_relayhost_maps = texthash:%s" % self.sdr,
            "sender_dependent_relayhost_maps = texthash:%s, hash:%s" % (self.sdr, sdr2)))
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertNotIn("relay-x", text)
        self.assertIn("the entry @a.example DUNNO of texthash:%s" % self.sdr, text)
        # a.example logs in to relayhost as itself, as before.
        self.assertIn("adopts relayhost (for senders @a.example) = [smtp.example.com]:587 as the smarthost "
                      "of a.example", text)
        self.assertIn("adopts sender_dependent_relayhost_maps entry @d.example = [relay-d.example.com]:587", text)
        result = json.loads(self.ctl("--json", "--no-reload", "import", expect=0).stdout)
        self.assertEqual(result["adopted"]["domains"]["a.example"]["host"], "smtp.example.com")

    def test_mx_style_credentials_host_before_nexthop(self):
        # smtp_sasl_glue.c: the name of the server Postfix connects to, then
        # the nexthop. Without MX records (none here) the server is the
        # domain itself.
        self.sasl = self.write_map("sasl_passwd", [
            "relay.example.test:587 userc:%s" % PASSWORDS["userc"],
            "relay.example.test srvuser:%s" % PASSWORDS["srvuser"]])
        self.write_main("relayhost = relay.example.test:587\nsmtp_sasl_auth_enable = yes\n"
                        "smtp_sasl_password_maps = hash:%s\nsmtp_tls_security_level = encrypt\n" % self.sasl)
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("logs in as srvuser, the entry \"relay.example.test\" of smtp_sasl_password_maps", text)

    def test_fallback_relay_note(self):
        self.simple_relay("[smtp.example.com]:587", extra="smtp_tls_security_level = encrypt\n"
                          "fallback_relay = [backup.example.com]:587\n")
        text = self.notes(self.ctl("--dry-run", "import", expect=0))
        self.assertIn("warning: smtp_fallback_relay = [backup.example.com]:587 no longer applies to the relays "
                      "taken over", text)

    def test_policy_forbids_import(self):
        self.hand_made()
        policy = os.path.join(self.tmp, "policy.ini")
        with open(policy, "w") as f:
            f.write("[mail]\nsmarthost.domain.enabled = false\n")
        before = snapshot(self.tmp)
        proc = self.ctl("--policy", policy, "import", expect=3)
        self.assertIn("smarthost.domain.enabled", proc.stderr)
        self.assertEqual(snapshot(self.tmp), before)


class ImportDeliveryCase(unittest.TestCase):
    """Sends mail through a throwaway Postfix to relays of harness.py."""

    RCPT = "someone@remote.example"

    def send_and_check(self, sender, relay, user):
        token = uuid.uuid4().hex[:12]
        subject = "import %s %s" % (sender, token)
        self.pf.send(sender, self.RCPT, subject)

        def arrived():
            return [(name, m) for name, r in self.relays.items()
                    for m in r.messages() if m["subject"] == subject]
        try:
            got = self.harness.wait_for(arrived, 30, 0.1)
        except TimeoutError:
            self.fail("%r did not arrive; maillog tail:\n%s" % (
                subject, "\n".join(self.pf.log().splitlines()[-40:])))
        self.assertEqual([(name, m["user"], m["tls"]) for name, m in got], [(relay, user, True)], subject)

    def ctl(self, *args):
        proc = subprocess.run([SMARTHOSTCTL, "--config-dir", self.pf.config_dir] + list(args),
                              capture_output=True, text=True, timeout=120)
        for secret in SECRETS:
            self.assertNotIn(secret, proc.stdout + proc.stderr)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc

    def import_and_wait(self):
        reloads = self.pf.log().count("reload")
        result = json.loads(self.ctl("--json", "import").stdout)
        self.assertTrue(result["changed"])
        self.harness.wait_for(lambda: self.pf.log().count("reload") > reloads, 15, 0.05,
                              "Postfix did not reload after the import")
        return result


class TestImportDelivery(ImportDeliveryCase):
    """Real mail, hand-made routing, then import: same relays, same users."""

    @classmethod
    def setUpClass(cls):
        import harness
        cls.harness = harness
        tmp = harness.TempDir()
        cls.addClassCleanup(tmp.cleanup)
        cls.work = tmp.path
        certs = os.path.join(cls.work, "certs")
        ca = harness.make_ca(certs)
        cert = harness.make_cert(certs, ca, name="relay")
        cls.relays = {
            "server": harness.RelayServer(cls.work, mode="starttls", cert=cert, name="server",
                                          users={"srvuser": PASSWORDS["srvuser"],
                                                 "userc": PASSWORDS["userc"]}),
            "a": harness.RelayServer(cls.work, mode="starttls", cert=cert, name="a",
                                     users={"usera": PASSWORDS["usera"]}),
        }
        for relay in cls.relays.values():
            cls.addClassCleanup(relay.stop)
            relay.start(wait=False)
        for relay in cls.relays.values():
            relay.wait_ready()
        cls.pf = harness.PostfixInstance(cls.work)
        cls.addClassCleanup(cls.pf.cleanup)
        server, a = cls.relays["server"], cls.relays["a"]
        sasl = cls.pf.write_map("sasl_passwd", [
            (server.nexthop, "srvuser:" + PASSWORDS["srvuser"]),
            ("@a.example", "usera:" + PASSWORDS["usera"]),
            ("@c.example", "userc:" + PASSWORDS["userc"]),
        ])
        sdr = cls.pf.write_map("sender_relay", [("@a.example", a.nexthop)], mode=0o644)
        cls.pf.postconf_e(relayhost=server.nexthop, smtp_sasl_auth_enable="yes",
                          smtp_sasl_password_maps=sasl, smtp_sasl_security_options="noanonymous",
                          smtp_sender_dependent_authentication="yes",
                          smtp_tls_security_level="encrypt",
                          sender_dependent_relayhost_maps=sdr)
        cls.pf.start()

    def test_mail_flows_the_same_way_after_import(self):
        flows = [("bob@a.example", "a", "usera"),
                 ("carol@c.example", "server", "userc"),
                 ("dave@other.example", "server", "srvuser")]
        for sender, relay, user in flows:
            self.send_and_check(sender, relay, user)
        before = json.loads(self.ctl("--json", "status").stdout)
        reloads = self.pf.log().count("reload")
        result = json.loads(self.ctl("--json", "import").stdout)
        self.assertTrue(result["changed"])
        self.assertEqual(sorted(result["adopted"]["domains"]), ["a.example", "c.example"])
        self.harness.wait_for(lambda: self.pf.log().count("reload") > reloads, 15, 0.05,
                              "Postfix did not reload after the import")
        after = json.loads(self.ctl("--json", "status").stdout)
        self.assertEqual(after["server"], before["server"])
        self.assertEqual(self.pf.get("default_transport")[:len("smarthost-")], "smarthost-")
        for sender, relay, user in flows:
            self.send_and_check(sender, relay, user)


class TestImportDelivery465(ImportDeliveryCase):
    """The port 465 recipe, implicit TLS set on master.cf's smtp service
    only: mail reaches the relay over TLS before and after an import."""

    @classmethod
    def setUpClass(cls):
        import harness
        cls.harness = harness
        tmp = harness.TempDir()
        cls.addClassCleanup(tmp.cleanup)
        cls.work = tmp.path
        certs = os.path.join(cls.work, "certs")
        cert = harness.make_cert(certs, harness.make_ca(certs), name="relay")
        relay = harness.RelayServer(cls.work, mode="tls", cert=cert, name="smtps",
                                    users={"srvuser": PASSWORDS["srvuser"]})
        cls.relays = {"smtps": relay}
        cls.addClassCleanup(relay.stop)
        relay.start()
        cls.pf = harness.PostfixInstance(cls.work)
        cls.addClassCleanup(cls.pf.cleanup)
        text = read(cls.pf.master_cf_path)
        line = "smtp      unix  -       -       y       -       -       smtp\n"
        assert line in text
        with open(cls.pf.master_cf_path, "w") as f:
            f.write(text.replace(line, line + "  -o smtp_tls_wrappermode=yes\n"
                                 "  -o smtp_tls_security_level=encrypt\n", 1))
        sasl = cls.pf.write_map("sasl_passwd", [(relay.nexthop, "srvuser:" + PASSWORDS["srvuser"])])
        cls.pf.postconf_e(relayhost=relay.nexthop, smtp_sasl_auth_enable="yes",
                          smtp_sasl_password_maps=sasl, smtp_sasl_tls_security_options="noanonymous")
        cls.pf.start()

    def test_implicit_tls_from_master_cf_survives_import(self):
        self.send_and_check("bob@a.example", "smtps", "srvuser")
        before = json.loads(self.ctl("--json", "status").stdout)["server"]
        self.assertEqual(before["security"], "tls")
        result = self.import_and_wait()
        self.assertEqual(result["adopted"]["server"], before)
        self.assertEqual(self.pf.get("default_transport"), "smarthost-server-tls-noverify")
        self.send_and_check("bob@a.example", "smtps", "srvuser")


if __name__ == "__main__":
    unittest.main(verbosity=2)
