#!/usr/bin/python3
"""Secrets audit: after a full end-to-end run, the test passwords are found
nowhere but in the secrets maps.

One throwaway Postfix and one STARTTLS relay with AUTH. Every command a
user would run goes through smarthostctl: dry runs, changes with passwords
from a file and from standard input, a change that fails (a conflicting
default_transport), checks and a test message, doctor, status, a delivery
with the right password and one with a wrong one. While each command runs,
a watcher thread reads the command line of every process on the machine
(smarthostctl and its children: postmap, postconf, postfix). Then the
whole temporary tree (configuration, queue, logs), every output and every
error message are searched for the passwords, in clear and in base64 as
AUTH PLAIN would carry them. Only smarthost/*passwd and their .db may hold
them.
"""

import base64
import os
import stat
import subprocess
import sys
import threading
import unittest

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
SERVER_PASSWORD = "Audit-Srv-Pw-7fQ2xZ9k"
DOMAIN_PASSWORD = "Audit-Dom-Pw-3mR8vL1c"
WRONG_PASSWORD = "Audit-Wrong-Pw-5tY6nB4q"
SECRETS = [SERVER_PASSWORD, DOMAIN_PASSWORD, WRONG_PASSWORD]


def needles():
    """Each secret, and the AUTH PLAIN tokens a client would send."""
    result = []
    for secret in SECRETS:
        result.append(secret.encode())
        for user in ("srvuser", "domuser"):
            token = base64.b64encode(b"\0" + user.encode() + b"\0" + secret.encode())
            result.append(token)
        result.append(base64.b64encode(secret.encode()))
    return result


class ArgvWatcher(threading.Thread):
    """Reads /proc/*/cmdline of every process until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop_event = threading.Event()
        self.seen = set()
        self.scans = 0

    def run(self):
        while not self.stop_event.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        argv = f.read()
                except OSError:
                    continue
                if argv:
                    self.seen.add(argv)
            self.scans += 1

    def stop(self):
        self.stop_event.set()
        self.join()


class SecretsAudit(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        tmp = harness.TempDir()
        cls.addClassCleanup(tmp.cleanup)
        cls.work = tmp.path
        cls.ca = harness.make_ca(cls.work)
        cert = harness.make_cert(cls.work, cls.ca, name="relay", names=["localhost"])
        cls.relay = harness.RelayServer(cls.work, mode="starttls", cert=cert,
                                        users={"srvuser": SERVER_PASSWORD, "domuser": DOMAIN_PASSWORD})
        cls.relay.start()
        cls.addClassCleanup(cls.relay.stop)
        cls.postfix = harness.PostfixInstance(cls.work)
        cls.addClassCleanup(cls.postfix.cleanup)
        cls.postfix.start()
        cls.outputs = []
        cls.watcher = ArgvWatcher()
        cls.watcher.start()
        cls.addClassCleanup(cls.watcher.stop)

    def secret_file(self, secret):
        path = os.path.join(self.work, "pw-%d" % SECRETS.index(secret))
        with open(path, "w") as f:
            f.write(secret + "\n")
        os.chmod(path, 0o600)
        return path

    def ctl(self, *args, stdin=None, expect=None):
        proc = subprocess.run([SMARTHOSTCTL, "--config-dir", self.postfix.config_dir] + list(args),
                              input=stdin, capture_output=True, text=True, timeout=120)
        self.outputs.append(" ".join(args) + "\n" + proc.stdout + proc.stderr)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, proc.stdout + proc.stderr)
        return proc

    def api_error_message(self, password_file):
        """A commit through the API that fails; the password comes from a
        file (never argv). Its GError message joins the outputs searched."""
        script = (
            "import sys, gi\n"
            "gi.require_version('Smarthost', '1.0')\n"
            "from gi.repository import GLib, Smarthost\n"
            "conf, port, ca, pwfile = sys.argv[1:]\n"
            "r = Smarthost.Relay.new('localhost')\n"
            "r.set_port(int(port)); r.set_ca_file(ca); r.set_username('srvuser')\n"
            "r.set_password(open(pwfile).read().strip())\n"
            "try:\n"
            "    Smarthost.PostfixBackend.new(conf).set_server(r, None)\n"
            "except GLib.Error as e:\n"
            "    print('GError:', e.message); sys.exit(1)\n")
        proc = subprocess.run(["/usr/bin/python3", "-c", script, self.postfix.config_dir, str(self.relay.port),
                               self.ca.cert, password_file], capture_output=True, text=True, timeout=60)
        if "Namespace Smarthost not available" in proc.stderr:
            return  # the test runs without the uninstalled typelib
        self.outputs.append("API\n" + proc.stdout + proc.stderr)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("GError:", proc.stdout)

    def relay_args(self, user, secret_source):
        return ["localhost", "--port", str(self.relay.port), "--ca-file", self.ca.cert,
                "--user", user] + secret_source

    def test_audit(self):
        server_file = self.secret_file(SERVER_PASSWORD)
        domain_file = self.secret_file(DOMAIN_PASSWORD)
        wrong_file = self.secret_file(WRONG_PASSWORD)

        # Dry runs, then the changes; a password from a file and from stdin.
        self.ctl("--dry-run", "set-server", *self.relay_args("srvuser", ["--password-file", server_file]),
                 expect=0)
        self.ctl("--json", "set-server", *self.relay_args("srvuser", ["--password-file", server_file]),
                 "--check", expect=0)
        self.ctl("--dry-run", "set-domain", "a.example",
                 *self.relay_args("domuser", ["--password-stdin"]), stdin=DOMAIN_PASSWORD, expect=0)
        self.ctl("set-domain", "a.example", *self.relay_args("domuser", ["--password-stdin"]),
                 stdin=DOMAIN_PASSWORD, expect=0)
        # A password change shows as such, never as text.
        self.ctl("--dry-run", "set-domain", "a.example",
                 *self.relay_args("domuser", ["--password-file", wrong_file]), expect=0)
        # Reads, checks, a test message, the doctor.
        self.ctl("status", expect=0)
        self.ctl("--json", "status", expect=0)
        self.ctl("--json", "check", expect=0)
        self.ctl("check", "--domain", "a.example", expect=0)
        self.ctl("send-test", "--from", "postmaster@a.example", "--to", "someone@remote.example", expect=0)
        self.ctl("doctor")
        self.ctl("--json", "doctor")
        # A check with the wrong password fails: its error must not quote it.
        self.ctl("--json", "check", *self.relay_args("srvuser", ["--password-file", wrong_file]), expect=1)
        self.ctl("check", *self.relay_args("srvuser", ["--password-file", wrong_file]), expect=1)
        # A change that fails half-way: a conflicting default_transport
        # written by hand after our settings.
        main_cf = os.path.join(self.postfix.config_dir, "main.cf")
        with open(main_cf) as f:
            original = f.read()
        with open(main_cf, "a") as f:
            f.write("default_transport = error:no outbound mail\n")
        harness.cool_down(main_cf)
        self.ctl("set-server", *self.relay_args("srvuser", ["--password-file", wrong_file]), expect=1)
        # The same through the API: the GError's message must not quote it.
        self.api_error_message(wrong_file)
        with open(main_cf, "w") as f:
            f.write(original)
        harness.cool_down(main_cf)

        # Mail with the right password, then with a wrong one (deferred).
        self.postfix.send("news@blog.example", "someone@remote.example", "audit 1")
        self.postfix.send("shop@a.example", "someone@remote.example", "audit 2")
        self.relay.wait_for_messages(count=3, timeout=30)
        self.ctl("set-domain", "a.example", *self.relay_args("domuser", ["--password-file", wrong_file]),
                 expect=0)
        self.postfix.send("shop@a.example", "someone@remote.example", "audit 3")
        harness.wait_for(lambda: "SASL authentication failed" in self.postfix.log(), timeout=30,
                         message="the wrong password was never tried")

        self.watcher.stop()
        self.assertGreater(self.watcher.scans, 10, "the argv watcher did not run")
        self.assertTrue(any(b"smarthostctl" in argv for argv in self.watcher.seen),
                        "the argv watcher never saw smarthostctl running")
        # ... nor only smarthostctl: the children it runs, which are what
        # would get a password on their command line.
        for child in (b"/postmap\0", b"/postconf\0"):
            self.assertTrue(any(child in argv for argv in self.watcher.seen),
                            "the argv watcher never saw %s running" % child.strip(b"/\0").decode())

        found = []
        for argv in self.watcher.seen:
            # The stand-in relay service is given its users' passwords on
            # its command line by the test harness; it is not ours.
            if b"/relay.py\0" in argv:
                continue
            for n in needles():
                if n in argv:
                    found.append("process arguments: %r" % argv[:200])
        for text in self.outputs:
            for n in needles():
                if n.decode() in text:
                    found.append("command output: %s" % text[:200])
        allowed = {"sender_passwd", "sender_passwd.db", "server_passwd", "server_passwd.db"}
        secret_files = {os.path.basename(f) for f in (server_file, domain_file, wrong_file)}
        holders = set()
        for dirpath, _, filenames in os.walk(self.work):
            for name in filenames:
                path = os.path.join(dirpath, name)
                # Only regular files: the queue holds FIFOs and sockets.
                if name in secret_files or not stat.S_ISREG(os.lstat(path).st_mode):
                    continue
                try:
                    with open(path, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                if any(n in data for n in needles()):
                    if os.path.basename(dirpath) == "smarthost" and name in allowed:
                        holders.add(name)
                        self.assertEqual(os.stat(path).st_mode & 0o077, 0, path)
                    else:
                        found.append("file: %s" % os.path.relpath(path, self.work))
        # The relay's own record of messages is in the tree too: no
        # credentials there either.
        self.assertEqual(found, [])
        self.assertTrue(holders, "the secrets maps were not found: the search looked in the wrong place")


if __name__ == "__main__":
    unittest.main(verbosity=2)
