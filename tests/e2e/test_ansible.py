#!/usr/bin/python3
"""The Ansible module ansible/library/smarthost.py, run by Debian's
ansible-playbook against localhost (connection local) on a throwaway
Postfix configuration directory.

One life cycle: check mode with --diff (reports a change, changes
nothing), the real run, the same run again (no change), one domain
changed, a domain and the server removed through exclusive, a domain added
with exclusive false; then bad input (the task fails with the library's
message and nothing changes). No password may appear in anything Ansible
prints, at -vvv with --diff.

Needs Debian's ansible (ansible-playbook), postfix (postconf, postmap),
python3-gi and the uninstalled typelib (GI_TYPELIB_PATH, LD_LIBRARY_PATH,
set by meson). Exits 77 (skipped) without ansible-playbook.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ANSIBLE_PLAYBOOK = shutil.which("ansible-playbook")
HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import snapshot  # noqa: E402
LIBRARY = os.environ.get("SMARTHOST_ANSIBLE_LIBRARY") or os.path.join(HERE, "..", "..", "ansible", "library")
PYTHON = "/usr/bin/python3"
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"

FILE_PASSWORD = "Fake-Ansible-FilePw-q7Zx-0001"
INLINE_PASSWORD = "Fake-Ansible-InlinePw-k3Vb-0002"
OTHER_PASSWORD = "Fake-Ansible-OtherPw-m9Tc-0003"
SECRETS = (FILE_PASSWORD, INLINE_PASSWORD, OTHER_PASSWORD)

MAIN_CF = """\
# A small main.cf; comments and other parameters must survive.
compatibility_level = 3.6
myhostname = mail.example.org
mydestination = $myhostname, localhost
inet_interfaces = loopback-only
"""


class AnsibleModuleTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smarthost-ansible-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.conf = os.path.join(self.tmp, "postfix")
        os.mkdir(self.conf)
        shutil.copy(STOCK_MASTER_CF, os.path.join(self.conf, "master.cf"))
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF)
        # Postfix will not read a main.cf younger than two seconds.
        past = time.time() - 10
        for name in ("main.cf", "master.cf"):
            os.utime(os.path.join(self.conf, name), (past, past))
        self.password_file = os.path.join(self.tmp, "server.pw")
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(FILE_PASSWORD + "\n")
        self.runs = 0

    # --- running a playbook ---------------------------------------------

    def play(self, tasks, check=False, expect_failed=False):
        """Runs one play of smarthost tasks (each with ignore_errors, its
        result registered and saved) at -vvv with --diff; returns the
        results, one per task. Asserts that no password is printed."""
        self.runs += 1
        results = os.path.join(self.tmp, "results-%d" % self.runs)
        os.mkdir(results)
        play_tasks = []
        for i, args in enumerate(tasks):
            args = dict(args)
            args.setdefault("config_dir", self.conf)
            args.setdefault("reload", False)
            play_tasks.append({"name": "smarthost %d" % i, "smarthost": args,
                               "register": "r%d" % i, "ignore_errors": True})
            play_tasks.append({"name": "save result %d" % i,
                               "ansible.builtin.copy": {
                                   "content": "{{ r%d | to_json }}" % i,
                                   "dest": os.path.join(results, "%d.json" % i)},
                               "check_mode": False, "diff": False})
        playbook = [{
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"ansible_python_interpreter": PYTHON},
            # How an uninstalled build is reached on the managed host.
            "environment": {k: os.environ.get(k, "") for k in
                            ("GI_TYPELIB_PATH", "LD_LIBRARY_PATH", "SMARTHOST_POLICY")},
            "tasks": play_tasks,
        }]
        path = os.path.join(self.tmp, "playbook-%d.yml" % self.runs)
        with open(path, "w") as f:
            json.dump(playbook, f, indent=2)      # JSON is YAML

        env = dict(os.environ)
        env.update({
            "ANSIBLE_LIBRARY": os.path.abspath(LIBRARY),
            "ANSIBLE_PYTHON_INTERPRETER": PYTHON,
            "ANSIBLE_CONFIG": os.path.join(self.tmp, "no-ansible.cfg"),
            "ANSIBLE_LOCAL_TEMP": os.path.join(self.tmp, "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": os.path.join(self.tmp, "ansible-remote"),
            "ANSIBLE_HOME": os.path.join(self.tmp, "ansible-home"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_STDOUT_CALLBACK": "default",
        })
        argv = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "--diff", "-vvv", path]
        if check:
            argv.insert(1, "--check")
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=self.tmp)
        output = proc.stdout + proc.stderr
        for secret in SECRETS:
            self.assertNotIn(secret, output, "a password leaked in ansible's output")
        self.assertIn(proc.returncode, (0, 2), output)
        out = []
        for i in range(len(tasks)):
            with open(os.path.join(results, "%d.json" % i)) as f:
                text = f.read()
            for secret in SECRETS:
                self.assertNotIn(secret, text, "a password leaked in a result")
            out.append(json.loads(text))
            if not expect_failed:
                self.assertFalse(out[-1].get("failed"), "%s\n%s" % (out[-1].get("msg"), output[-3000:]))
        self.output = output
        return out

    def play_one(self, args, **kwargs):
        return self.play([args], **kwargs)[0]

    def read_back(self):
        """The configuration as the library reads it, passwords included
        (they are compared here, never printed)."""
        script = (
            "import json, sys, gi\n"
            "gi.require_version('Smarthost', '1.0')\n"
            "from gi.repository import Smarthost\n"
            "b = Smarthost.PostfixBackend.new(sys.argv[1])\n"
            "def j(r):\n"
            "    return None if r is None else [r.get_host(), r.get_effective_port(),\n"
            "        Smarthost.security_to_string(r.get_security()), r.get_username(), r.get_password()]\n"
            "print(json.dumps({'server': j(b.get_server(None)),\n"
            "    'domains': {d: j(r) for d, r in b.get_domains(None).items()}}))\n")
        proc = subprocess.run([PYTHON, "-c", script, self.conf], capture_output=True, text=True,
                              timeout=60, check=True)
        return json.loads(proc.stdout)

    # --- the tests --------------------------------------------------------

    SERVER = {"host": "smtp.sendgrid.net", "security": "starttls", "username": "apikey"}
    SHOP = {"host": "smtp.mailgun.org", "security": "tls", "username": "postmaster@shop.example"}
    NEWS = {"host": "in-v3.mailjet.com", "port": 2525, "security": "starttls", "username": "newsuser"}

    def desired(self, **changes):
        state = {
            "server": dict(self.SERVER, password_file=self.password_file),
            "domains": {
                "Shop.Example": dict(self.SHOP, password=INLINE_PASSWORD),
                "news.example": dict(self.NEWS, password=OTHER_PASSWORD),
            },
        }
        state.update(changes)
        return state

    def test_life_cycle(self):
        pristine = snapshot(self.conf)

        # Check mode with --diff: would change, changes nothing.
        r = self.play_one(self.desired(), check=True)
        self.assertTrue(r["changed"])
        prepared = r["diff"]["prepared"]
        self.assertIn("+++ %s/main.cf" % self.conf, prepared)
        self.assertIn("@shop.example postmaster@shop.example:********", prepared)
        self.assertIn("[smtp.sendgrid.net]:587 apikey:********", prepared)
        self.assertIn("relayhost = [smtp.sendgrid.net]:587", self.output, "the diff is shown")
        self.assertEqual(r["server"]["host"], "smtp.sendgrid.net")
        self.assertEqual(sorted(r["domains"]), ["news.example", "shop.example"])
        self.assertEqual(snapshot(self.conf), pristine, "check mode changed the configuration")

        # The real run.
        r = self.play_one(self.desired())
        self.assertTrue(r["changed"])
        self.assertEqual(r["server"], {
            "host": "smtp.sendgrid.net", "port": 587, "security": "starttls", "mx_lookup": False,
            "verify_certificate": True, "ca_file": None, "username": "apikey", "password_set": True})
        self.assertEqual(r["domains"]["shop.example"]["port"], 465)
        self.assertEqual(r["domains"]["news.example"]["port"], 2525)
        self.assertTrue(all(d["password_set"] for d in r["domains"].values()))
        # The relay services' quirks, once each, as warnings.
        warnings = r.get("warnings", [])
        self.assertTrue(any(w.startswith("SendGrid: ") and "verified" in w for w in warnings), warnings)
        self.assertEqual(len([w for w in warnings if "apikey" in w]), 1, warnings)
        self.assertEqual(self.read_back(), {
            "server": ["smtp.sendgrid.net", 587, "starttls", "apikey", FILE_PASSWORD],
            "domains": {
                "shop.example": ["smtp.mailgun.org", 465, "tls", "postmaster@shop.example", INLINE_PASSWORD],
                "news.example": ["in-v3.mailjet.com", 2525, "starttls", "newsuser", OTHER_PASSWORD],
            }})
        applied = snapshot(self.conf)

        # The same again, in check mode and for real: no change, no write.
        r_check, = self.play([self.desired()], check=True)
        self.assertFalse(r_check["changed"])
        self.assertNotIn("diff", r_check)
        r = self.play_one(self.desired())
        self.assertFalse(r["changed"], "not idempotent")
        self.assertEqual(snapshot(self.conf), applied, "an unchanged run wrote something")

        # One domain changes (its port and its password); the rest stays.
        news = dict(self.NEWS, port=587, password=INLINE_PASSWORD)
        r = self.play_one(self.desired(domains={
            "shop.example": dict(self.SHOP, password=INLINE_PASSWORD), "news.example": news}))
        self.assertTrue(r["changed"])
        state = self.read_back()
        self.assertEqual(state["domains"]["news.example"],
                         ["in-v3.mailjet.com", 587, "starttls", "newsuser", INLINE_PASSWORD])
        self.assertEqual(state["domains"]["shop.example"][4], INLINE_PASSWORD)
        self.assertEqual(state["server"][4], FILE_PASSWORD)

        # exclusive (the default): what is not listed goes, the server too.
        r = self.play_one({"server": None,
                           "domains": {"shop.example": dict(self.SHOP, password=INLINE_PASSWORD)}})
        self.assertTrue(r["changed"])
        self.assertIsNone(r["server"])
        self.assertEqual(list(r["domains"]), ["shop.example"])
        self.assertEqual(self.read_back(), {"server": None, "domains": {
            "shop.example": ["smtp.mailgun.org", 465, "tls", "postmaster@shop.example", INLINE_PASSWORD]}})

        # exclusive false: only what is listed changes.
        r = self.play_one({"exclusive": False,
                           "domains": {"news.example": dict(self.NEWS, password_file=self.password_file)}})
        self.assertTrue(r["changed"])
        self.assertEqual(sorted(r["domains"]), ["news.example", "shop.example"])
        self.assertEqual(self.read_back()["domains"]["news.example"][4], FILE_PASSWORD)
        # reload on (the default): this Postfix is not running, so no reload.
        r = self.play_one({"exclusive": False, "reload": True, "domains": {"news.example": "absent"}})
        self.assertTrue(r["changed"])
        self.assertEqual(list(r["domains"]), ["shop.example"])

    def test_templated_values(self):
        """What templates make of values: "2525" is a port, "True" a
        boolean, "" no value; the library then reads them strictly."""
        shop = dict(self.SHOP, password=INLINE_PASSWORD, port="2525", verify_certificate="True", ca_file="")
        r = self.play_one(self.desired(domains={"shop.example": shop}))
        self.assertTrue(r["changed"])
        self.assertEqual(r["domains"]["shop.example"]["port"], 2525)
        self.assertTrue(r["domains"]["shop.example"]["verify_certificate"])
        self.assertIsNone(r["domains"]["shop.example"]["ca_file"])

    def test_bad_input(self):
        self.play_one(self.desired())
        before = snapshot(self.conf)
        good_shop = dict(self.SHOP, password=INLINE_PASSWORD)
        cases = [
            # (arguments, what the message must say)
            (self.desired(domains={"shop.example": good_shop,
                                   "news.example": dict(self.NEWS, port=70000, password=OTHER_PASSWORD)}),
             "domains.news.example.port: must be a whole number between 1 and 65535"),
            (self.desired(domains={"shop.example": dict(good_shop, port=True)}),
             "domains.shop.example.port: must be a whole number"),
            (self.desired(domains={"shop.example": dict(good_shop, verify_certificate="maybe")}),
             "domains.shop.example.verify_certificate: must be true or false"),
            (self.desired(domains={"shop.example": dict(good_shop, security="ssl")}),
             "domains.shop.example.security:"),
            (self.desired(domains={"shop.example": dict(good_shop, hots="x.example")}),
             'domains.shop.example: unknown key "hots"'),
            (self.desired(domains={"bad domain": good_shop}), 'domains: "bad domain": domain:'),
            (self.desired(server=dict(self.SERVER, password_file=self.password_file,
                                      password=OTHER_PASSWORD)),
             "server: give one of password_file, password_env and password"),
            (self.desired(server=dict(self.SERVER, password_file=os.path.join(self.tmp, "missing.pw"))),
             "server.password_file: cannot open"),
            (self.desired(server=dict(self.SERVER, host=None, password=OTHER_PASSWORD)), "server: needs a host"),
        ]
        results = self.play([c[0] for c in cases], check=False, expect_failed=True)
        for (args, message), r in zip(cases, results):
            self.assertTrue(r.get("failed"), "%s did not fail: %s" % (message, r))
            self.assertFalse(r.get("changed"))
            self.assertIn(message, r.get("msg", ""))
        self.assertEqual(snapshot(self.conf), before, "a failed task changed the configuration")


    def test_backend_options(self):
        """backend_options go through the library's settings: converted,
        checked, unknown names refused with the known ones listed."""
        before = snapshot(self.conf)
        results = self.play([
            dict(self.desired(), backend_options={"lock_timeout": 5, "config-directory": self.conf}),
            dict(self.desired(), backend_options={"lock-timout": 5}),
            dict(self.desired(), backend_options={"lock-timeout": "soon"}),
            dict(self.desired(), backend_options={"config-directory": os.path.join(self.tmp, "elsewhere")}),
        ], expect_failed=True)
        self.assertFalse(results[0].get("failed"), results[0])
        self.assertTrue(results[0]["changed"])
        self.assertEqual(results[0]["server"]["host"], self.SERVER["host"])
        for r, message in zip(results[1:], ('"lock-timout"; it takes: config-directory, lock-timeout',
                                            'lock-timeout: "soon"',
                                            "config_dir: backend_options.config-directory says")):
            self.assertTrue(r.get("failed"), r)
            self.assertFalse(r.get("changed"))
            self.assertIn(message, r.get("msg", ""))
        self.assertNotEqual(snapshot(self.conf), before)


if __name__ == "__main__":
    if ANSIBLE_PLAYBOOK is None:
        print("SKIP: ansible-playbook is not installed (Debian's ansible package)")
        sys.exit(77)
    unittest.main(verbosity=2)
