#!/usr/bin/python3
"""Crash safety of a commit, proven with SIGKILL at every fault point.

libsmarthost has test-only fault points on every step of a commit (listed in
libsmarthost/smarthost-plan.c; keep FAULT_POINTS below in step), built only
with -Dfault_injection=true (the build of scripts/build.sh): without it,
these tests skip and one checks that the variable is ignored. The
environment variable SMARTHOST_FAULT_POINT=NAME:N makes the committing
process SIGKILL itself the N-th time it reaches NAME. For six commands
(set-server with a password, set-domain, unset-domain, unset-server, apply
of a whole state, and import of a hand-made setup), each point and each N
in turn, this test

1. starts from the same "old" configuration directory, runs the command
   with the fault point set and checks that it died by SIGKILL;
2. compares the files Postfix reads (main.cf, master.cf, every map source
   byte for byte, every .db as `postmap -s` dumps it, with modes) with the
   old and the new state taken from clean runs: before the first rename
   they must be exactly old, after the last one exactly new; only between
   renames may they be a mix, which the library cannot avoid (several
   files cannot be renamed at once) and which recovery undoes;
3. checks that `postfix check` accepts the directory as the kill left it;
4. recovers, alternately through a read (`smarthostctl status`, which rolls
   back a journal it finds) and through the next commit, and checks that
   the state is then exactly old (a kill before the commit point) or
   exactly new (after it), with no directory left over;
5. runs the command again without a fault point and checks that it ends in
   exactly the new state, with no leftover (.smarthost-new, .smarthost-old,
   .smarthost-journal*) anywhere.

A last test kills recovery itself, again and again, and checks that the
next recovery still restores exactly the old state.
"""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
POSTFIX = "/usr/sbin/postfix"
POSTMAP = "/usr/sbin/postmap"
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"
SECRET = "s3cret-Crash-Pa55"

# Fault points exist only in builds configured with -Dfault_injection=true
# (scripts/build.sh sets that up); tests/e2e/meson.build says which kind of
# build this is. Run by hand without it, the binary is assumed to have them.
FAULT_INJECTION = os.environ.get("SMARTHOST_FAULT_INJECTION", "1") == "1"
NO_FAULT_INJECTION = ("this build has no fault injection (SMARTHOST_FAULT_POINT is ignored): "
                      "set it up with -Dfault_injection=true, as scripts/build.sh does")

# libsmarthost/smarthost-plan.c: fault_point_names, in commit order.
# "recover" (inside a rollback) is tested by test_kill_during_recovery.
FAULT_POINTS = ["journal", "mkdir", "write", "build", "backup", "rename", "delete",
                "step", "commit", "cleanup"]
BEFORE_RENAMES = {"journal", "mkdir", "write", "build", "backup"}
RENAMES = {"rename", "delete"}
AFTER_RENAMES = {"step", "commit", "cleanup"}
# A kill at these points is past the commit point: recovery keeps the new state.
COMMITTED = {"commit", "cleanup"}

LEFTOVER = re.compile(r"\.smarthost-(new|old)|^\.smarthost-journal")

MAIN_CF = """\
# main.cf of a throwaway configuration directory (tests/e2e/test_crash.py)
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
myhostname = mail.example.org
mydestination = $myhostname, localhost
relayhost =
mynetworks = 127.0.0.0/8
inet_interfaces = loopback-only
inet_protocols = ipv4
alias_maps =
alias_database =
"""


def cool_down(*paths):
    """Postfix waits until a just-written main.cf is two seconds old."""
    past = time.time() - 10
    for path in paths:
        if os.path.isfile(path):
            os.utime(path, (past, past))


class CrashDir:
    """A configuration directory at a fixed path (main.cf names its maps by
    absolute path), which states are stashed from and restored to."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.conf = os.path.join(tmp, "conf")
        self.queue = os.path.join(tmp, "queue")
        self.data = os.path.join(tmp, "data")
        self.stash_root = os.path.join(tmp, "stash")
        for d in (self.queue, self.data, self.stash_root):
            os.makedirs(d, exist_ok=True)
        os.makedirs(self.conf)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(queue=self.queue, data=self.data))
        shutil.copy(STOCK_MASTER_CF, os.path.join(self.conf, "master.cf"))
        cool_down(os.path.join(self.conf, "main.cf"), os.path.join(self.conf, "master.cf"))

    def stash(self, name):
        dst = os.path.join(self.stash_root, name)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(self.conf, dst, symlinks=True)

    def restore(self, name):
        shutil.rmtree(self.conf)
        shutil.copytree(os.path.join(self.stash_root, name), self.conf, symlinks=True)

    def visible(self, with_dirs=False):
        """What Postfix reads: every file but our leftovers, sources by
        bytes, hash tables by their dump, all with their modes."""
        result = {}
        for dirpath, dirnames, filenames in os.walk(self.conf):
            if with_dirs:
                for name in dirnames:
                    path = os.path.join(dirpath, name)
                    result[os.path.relpath(path, self.conf) + "/"] = stat.S_IMODE(os.lstat(path).st_mode)
            for name in filenames:
                if LEFTOVER.search(name):
                    continue
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                if name.endswith(".db"):
                    dump = subprocess.run([POSTMAP, "-c", self.conf, "-s", "hash:" + path[:-3]], capture_output=True,
                                          text=True, timeout=30)
                    if dump.returncode != 0:
                        raise AssertionError(f"postmap -s {path}: {dump.stderr}")
                    data = sorted(dump.stdout.splitlines())
                else:
                    with open(path, "rb") as f:
                        data = f.read()
                result[os.path.relpath(path, self.conf)] = (stat.S_IMODE(st.st_mode), data)
        return result

    def leftovers(self):
        found = []
        for dirpath, dirnames, filenames in os.walk(self.conf):
            for name in dirnames + filenames:
                if LEFTOVER.search(name):
                    found.append(os.path.relpath(os.path.join(dirpath, name), self.conf))
        return sorted(found)


def without_fault_injection(test):
    """Marks a test that runs in a build without fault points too."""
    test.without_fault_injection = True
    return test


class CrashTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        test = getattr(self, self._testMethodName)
        if not FAULT_INJECTION and not getattr(test, "without_fault_injection", False):
            self.skipTest(NO_FAULT_INJECTION)
        self.tmp = tempfile.mkdtemp(prefix="smarthost-crash-")
        self.dir = CrashDir(self.tmp)
        self.conf = self.dir.conf

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def ctl(self, args, stdin=None, fault=None):
        env = dict(os.environ)
        env.pop("SMARTHOST_FAULT_POINT", None)
        if fault:
            env["SMARTHOST_FAULT_POINT"] = fault
        proc = subprocess.run([SMARTHOSTCTL, "--config-dir", self.conf] + list(args), input=stdin,
                              capture_output=True, text=True, env=env, timeout=60)
        for stream in (proc.stdout, proc.stderr):
            self.assertNotIn(SECRET, stream, "the password leaked into output")
            self.assertNotIn("CRITICAL", stream)
            self.assertNotIn("WARNING", stream)
        return proc

    def ok(self, args, stdin=None):
        proc = self.ctl(args, stdin=stdin)
        self.assertEqual(proc.returncode, 0, f"{args}: {proc.stderr}")
        return proc

    def status(self):
        return json.loads(self.ok(["--json", "status"]).stdout)

    def postfix_check(self, when):
        proc = subprocess.run([POSTFIX, "-c", self.conf, "check"], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(proc.returncode, 0, f"postfix check {when}: {proc.stderr}")

    def classify(self, state, old, new):
        if state == old:
            return "old"
        if state == new:
            return "new"
        return "mixed"

    def run_scenario(self, prepare, command, stdin=None, expect_points=()):
        """Kills *command* at every fault point in turn; see the module's
        docstring for what is checked. *prepare* lists commands to run
        first, as (args, stdin), or functions to call."""
        for step in prepare:
            if callable(step):
                step()
            else:
                self.ok(step[0], stdin=step[1])
        self.dir.stash("old")
        old = self.dir.visible()
        old_dirs = self.dir.visible(with_dirs=True)
        old_status = self.status()
        self.assertEqual(self.dir.leftovers(), [])

        self.ok(command, stdin=stdin)
        new = self.dir.visible()
        new_dirs = self.dir.visible(with_dirs=True)
        new_status = self.status()
        self.assertEqual(self.dir.leftovers(), [])
        self.assertNotEqual(old, new, "the command must change something")
        self.postfix_check("in the new state")

        hits = {}
        raws = []
        run = 0
        for point in FAULT_POINTS:
            n = 0
            while True:
                n += 1
                self.assertLess(n, 50, f"{point} reached too often")
                run += 1
                fault = f"{point}:{n}"
                with self.subTest(fault=fault):
                    self.dir.restore("old")
                    proc = self.ctl(command, stdin=stdin, fault=fault)
                    if proc.returncode == 0:
                        # Fewer than n hits: the commit simply succeeded.
                        self.assertEqual(self.dir.visible(with_dirs=True), new_dirs)
                        self.assertEqual(self.dir.leftovers(), [])
                        break
                    self.assertEqual(proc.returncode, -signal.SIGKILL,
                                     f"{fault}: exit {proc.returncode}: {proc.stderr}")
                    hits[point] = n

                    # 2. What Postfix reads, as the kill left it.
                    raw = self.classify(self.dir.visible(), old, new)
                    raws.append(f"{fault}={raw}")
                    if point in BEFORE_RENAMES:
                        self.assertEqual(raw, "old", f"{fault}: Postfix would read a changed state")
                    elif point in AFTER_RENAMES:
                        self.assertEqual(raw, "new", f"{fault}: not every file is in place")
                    else:
                        self.assertIn(raw, ("old", "new", "mixed"))
                    if point != "cleanup":
                        self.assertNotEqual(self.dir.leftovers(), [], f"{fault}: no journal left?")

                    # 3. Postfix accepts the directory as the kill left it.
                    self.postfix_check(f"right after the kill at {fault}")

                    # 4. Recovery, by a read or by the next commit.
                    expected = "new" if point in COMMITTED else "old"
                    if run % 2 == 0:
                        self.assertEqual(self.status(), new_status if expected == "new" else old_status,
                                         f"{fault}: status after recovery")
                        self.assertEqual(self.dir.visible(with_dirs=True),
                                         new_dirs if expected == "new" else old_dirs,
                                         f"{fault}: a read did not recover exactly the {expected} state")
                        self.assertEqual(self.dir.leftovers(), [], f"{fault}: a read left leftovers")
                        self.postfix_check(f"after recovery from {fault}")

                    # 5. The next plain commit cleans up and gets the new state.
                    proc = self.ok(command, stdin=stdin)
                    self.assertEqual(self.dir.visible(with_dirs=True), new_dirs,
                                     f"{fault}: the next commit did not make the new state")
                    self.assertEqual(self.dir.leftovers(), [], f"{fault}: leftovers after the next commit")
                    self.assertEqual(self.status(), new_status)
                if hits.get(point) != n:
                    break
        print(f"\n  {' '.join(command[:2])}: {run - len(FAULT_POINTS)} kills; as left: {' '.join(raws)}",
              file=sys.stderr)
        for point in expect_points:
            self.assertIn(point, hits, f"fault point {point} was never reached")
        return hits

    def test_set_server_with_password(self):
        hits = self.run_scenario(
            [], ["set-server", "smtp.example.net", "--user", "apikey", "--password-stdin"], stdin=SECRET,
            expect_points=["journal", "mkdir", "write", "build", "rename", "step", "commit", "cleanup"])
        # server_passwd (+ .db) is new; master.cf and main.cf are replaced.
        self.assertEqual(hits["write"], 3)
        self.assertEqual(hits["build"], 1)
        self.assertEqual(hits["backup"], 2)
        self.assertEqual(hits["rename"], 4)
        self.assertEqual(hits["step"], 2)

    def test_set_domain(self):
        hits = self.run_scenario(
            [(["set-server", "smtp.example.net"], None),
             (["set-domain", "a.example", "relay-a.example.net"], None)],
            ["set-domain", "b.example", "relay-b.example.net", "--user", "b@example",
             "--password-stdin"], stdin=SECRET,
            expect_points=["journal", "write", "build", "backup", "rename", "step", "commit", "cleanup"])
        # Only the two sender maps and their tables change (the transport
        # for domains already exists in master.cf).
        self.assertEqual(hits["build"], 2)
        self.assertEqual(hits["rename"], 4)
        self.assertNotIn("mkdir", hits)

    def test_unset_domain(self):
        hits = self.run_scenario(
            [(["set-server", "smtp.example.net"], None),
             (["set-domain", "a.example", "relay-a.example.net", "--user", "a@example",
               "--password-stdin"], SECRET)],
            ["unset-domain", "a.example"],
            expect_points=["journal", "write", "backup", "rename", "delete", "step", "commit", "cleanup"])
        # Both sender maps and their tables are deleted.
        self.assertEqual(hits["delete"], 4)
        self.assertNotIn("build", hits)

    def test_apply(self):
        """A whole state in one commit: the server relay changes port and
        keeps its password, a domain keeps its own, one is removed, one is
        added."""
        state = {"server": {"host": "smtp.example.net", "port": 2525, "username": "apikey", "password_set": True},
                 "domains": {"a.example": {"host": "relay-a.example.net", "username": "a@example",
                                           "password_set": True},
                             "c.example": {"host": "relay-c.example.net", "security": "tls"}}}
        hits = self.run_scenario(
            [(["set-server", "smtp.example.net", "--user", "apikey", "--password-stdin"], SECRET),
             (["set-domain", "a.example", "relay-a.example.net", "--user", "a@example", "--password-stdin"], SECRET),
             (["set-domain", "b.example", "relay-b.example.net"], None)],
            ["apply", "-"], stdin=json.dumps(state),
            expect_points=["journal", "write", "build", "backup", "rename", "step", "commit", "cleanup"])
        # sender_transport and server_passwd (the nexthop of its entry has
        # a new port) are rebuilt, their tables and both .cf files replaced;
        # sender_passwd, whose entries stay the same, is not touched.
        self.assertEqual(hits["build"], 2)
        self.assertEqual(hits["rename"], 6)
        with open(os.path.join(self.conf, "smarthost", "server_passwd")) as f:
            self.assertIn("apikey:" + SECRET, f.read())

    def hand_made_relay(self):
        """A relayhost with its login in a map of the administrator's, and
        a sender route of theirs: what import takes over."""
        sasl = os.path.join(self.conf, "sasl_passwd")
        with open(sasl, "w") as f:
            f.write("[smtp.example.net]:587 apikey:%s\n@a.example a@example:%s\n" % (SECRET, SECRET))
        os.chmod(sasl, 0o600)
        sdr = os.path.join(self.conf, "sender_relay")
        with open(sdr, "w") as f:
            f.write("@a.example [relay-a.example.net]:2525\n")
        subprocess.run([POSTMAP, "-c", self.conf, "hash:" + sasl], check=True, timeout=30)
        main_cf = os.path.join(self.conf, "main.cf")
        with open(main_cf) as f:
            text = f.read().replace("relayhost =\n", "relayhost = [smtp.example.net]:587\n")
        with open(main_cf, "w") as f:
            f.write(text + "smtp_sasl_auth_enable = yes\nsmtp_sasl_password_maps = hash:%s\n"
                    "smtp_sender_dependent_authentication = yes\nsmtp_tls_security_level = encrypt\n"
                    "sender_dependent_relayhost_maps = texthash:%s\n" % (sasl, sdr))
        cool_down(main_cf, sasl, sasl + ".db", sdr)

    def test_import(self):
        """Adoption edits the administrator's main.cf lines (relayhost, the
        sender map list) besides writing our files."""
        hits = self.run_scenario(
            [self.hand_made_relay], ["import"],
            expect_points=["journal", "mkdir", "write", "build", "backup", "rename", "step", "commit", "cleanup"])
        self.assertGreaterEqual(hits["build"], 3)

    def test_unset_server(self):
        hits = self.run_scenario(
            [(["set-server", "smtp.example.net", "--user", "apikey", "--password-stdin"], SECRET)],
            ["unset-server"],
            expect_points=["journal", "write", "backup", "rename", "delete", "step", "commit", "cleanup"])
        self.assertNotIn("build", hits)

    def test_kill_during_recovery(self):
        """Recovery killed at each of its steps, one after the other, on the
        same directory: the last one still restores exactly the old state."""
        self.ok(["set-server", "smtp.example.net"])
        self.ok(["set-domain", "a.example", "relay-a.example.net", "--user", "a@example",
                 "--password-stdin"], stdin=SECRET)
        old = self.dir.visible(with_dirs=True)
        old_status = self.status()
        proc = self.ctl(["unset-domain", "a.example"], fault="delete:2")
        self.assertEqual(proc.returncode, -signal.SIGKILL, proc.stderr)
        self.assertNotEqual(self.dir.visible(with_dirs=True), old, "the kill should leave a mix")
        kills = 0
        for n in range(1, 20):
            proc = self.ctl(["status"], fault=f"recover:{n}")
            if proc.returncode == 0:
                break
            self.assertEqual(proc.returncode, -signal.SIGKILL, proc.stderr)
            kills += 1
        self.assertGreater(kills, 1)
        self.assertEqual(self.status(), old_status)
        self.assertEqual(self.dir.visible(with_dirs=True), old)
        self.assertEqual(self.dir.leftovers(), [])
        self.postfix_check("after an interrupted recovery")

    def test_doctor_and_dry_run_leave_an_interrupted_commit_alone(self):
        """The doctor and dry runs promise to change nothing: after a kill
        they report the interrupted commit instead of finishing it."""
        self.ok(["set-domain", "a.example", "relay-a.example.net"])
        proc = self.ctl(["set-domain", "b.example", "relay-b.example.net"], fault="rename:2")
        self.assertEqual(proc.returncode, -signal.SIGKILL, proc.stderr)
        self.dir.stash("killed")
        left = self.dir.visible(with_dirs=True)
        leftovers = self.dir.leftovers()
        self.assertNotEqual(leftovers, [])

        proc = self.ctl(["--json", "doctor"])
        self.assertEqual(proc.returncode, 1, proc.stderr)     # an error-level finding
        codes = [f["code"] for f in json.loads(proc.stdout)["findings"]]
        self.assertIn("interrupted-commit", codes)
        proc = self.ctl(["--dry-run", "set-domain", "c.example", "relay-c.example.net"])
        self.assertEqual(proc.returncode, 1)
        self.assertIn("interrupted", proc.stderr)
        self.assertEqual(self.dir.visible(with_dirs=True), left)
        self.assertEqual(self.dir.leftovers(), leftovers)

        # A read finishes it; then the doctor has nothing to say about it.
        self.status()
        self.assertEqual(self.dir.leftovers(), [])
        proc = self.ctl(["--json", "doctor"])
        self.assertNotIn("interrupted-commit", [f["code"] for f in json.loads(proc.stdout)["findings"]])

    @without_fault_injection
    def test_fault_point_off_by_default(self):
        """Without the variable, or with a count never reached, nothing dies."""
        self.ok(["set-domain", "a.example", "relay-a.example.net"])
        proc = self.ctl(["set-domain", "b.example", "relay-b.example.net"], fault="write:99")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.ok(["list-domains"]).stdout.split(), ["a.example", "b.example"])

    @without_fault_injection
    @unittest.skipIf(FAULT_INJECTION, "this build has fault injection, as test builds do")
    def test_fault_point_ignored_without_the_option(self):
        """A build without -Dfault_injection=true (a default one, the kind
        that is installed) ignores SMARTHOST_FAULT_POINT: a root command can
        never be made to kill itself halfway through a commit."""
        self.ok(["set-domain", "a.example", "relay-a.example.net"])
        for fault in ("journal", "write:1", "commit"):
            proc = self.ctl(["set-domain", "b.example", "relay-b.example.net"], fault=fault)
            self.assertEqual(proc.returncode, 0, f"{fault}: {proc.stderr}")
            self.ok(["unset-domain", "b.example"])
        self.assertEqual(self.dir.leftovers(), [])


if __name__ == "__main__":
    if not FAULT_INJECTION:
        print("test_crash: " + NO_FAULT_INJECTION + "; only checking that it is ignored", file=sys.stderr)
    unittest.main(verbosity=2)
