#!/usr/bin/python3
"""Attacks by a local user on smarthostctl running as root (issue 10).

Each test builds, in a temporary tree, the setup an attack run found
exploitable, runs smarthostctl against it and checks that the attack no
longer works: nothing widened or handed to another user, nothing read
without a bound or waited on forever, nothing moved on the word of a file
someone else planted. Tests that need a second user create a throwaway
system user and remove it.

Needs root and Postfix's tools (postconf, postmap), no running Postfix.
"""

import contextlib
import json
import os
import pwd
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import test_bad_input as bad  # noqa: E402  (its setups, snapshot and MAIN_CF)

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
SECRET = "Hardening-Pw-4rT8kLq2"
# A command that must end by itself: a read without a bound or a wait on
# a FIFO would take this long.
TIMEOUT = 30


@contextlib.contextmanager
def throwaway_user():
    """A system user that exists for the duration of the block."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        raise unittest.SkipTest("needs root and useradd to make a second user")
    name = "smarthost-t-%06x" % random.randrange(1 << 24)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def as_user(user):
    """A preexec_fn that becomes *user*."""
    def become():
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return become


class Hardening(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smarthost-hardening-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        os.chmod(self.tmp, 0o755)
        self.conf = os.path.join(self.tmp, "postfix")
        os.mkdir(self.conf, 0o755)
        bad.write(self.path("main.cf"), bad.MAIN_CF, 0o644)
        shutil.copy(bad.STOCK_MASTER_CF, self.path("master.cf"))
        self.secret_file = os.path.join(self.tmp, "secret")
        bad.write(self.secret_file, SECRET + "\n", 0o600)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def path(self, *names):
        return os.path.join(self.conf, *names)

    def env(self):
        env = dict(os.environ)
        env.setdefault("SMARTHOST_POLICY", os.path.join(HERE, "..", "fixtures", "policy-allow-all.ini"))
        return env

    def ctl(self, *args, stdin=None, conf=None, timeout=TIMEOUT):
        argv = [SMARTHOSTCTL, "--no-reload", "--config-dir", conf or self.conf] + list(args)
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, env=self.env())
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace")
        self.assertNotIn(SECRET, out + err, "the password leaked into the output")
        for word in bad.FORBIDDEN:
            self.assertNotIn(word, err)
        return proc.returncode, out, err

    def doctor_errors(self, conf=None):
        """The codes of the doctor's error findings for the setup."""
        code, out, err = self.ctl("--json", "doctor", conf=conf)
        self.assertIn(code, (0, 1), err)
        return {f["code"] for f in json.loads(out)["findings"] if f["severity"] == "error"}

    def relay(self, *extra):
        return ["smtp.example.net", "--user", "u", "--password-file", self.secret_file] + list(extra)

    def assert_refused(self, args, needles, codes=(1,), stdin=None):
        """The command fails with a clear message and changes nothing."""
        before = bad.snapshot(self.tmp)
        code, out, err = self.ctl(*args, stdin=stdin)
        self.assertIn(code, codes, err)
        for needle in needles:
            self.assertIn(needle, err)
        self.assertLess(len(err), 4096, "an error message of %d bytes" % len(err))
        after = bad.snapshot(self.tmp)
        self.assertTrue(before == after, bad.describe_difference(before, after))
        return err

    # --- 1. symbolic links to main.cf and master.cf --------------------------

    def link_config(self):
        real = os.path.join(self.tmp, "managed-tree")
        os.mkdir(real, 0o755)
        for name in ("main.cf", "master.cf"):
            os.rename(self.path(name), os.path.join(real, name))
            os.symlink(os.path.join(real, name), self.path(name))
        return real

    def test_symlinked_main_cf_is_not_replaced_by_a_world_writable_file(self):
        self.link_config()
        for args in (["set-server"] + self.relay(), ["--dry-run", "set-server"] + self.relay()):
            err = self.assert_refused(args, ("symbolic link", "replace the link"))
            self.assertTrue("main.cf" in err or "master.cf" in err, err)
        for name in ("main.cf", "master.cf"):
            self.assertTrue(os.path.islink(self.path(name)))
        # Reading through the link still works; the doctor says what is wrong.
        code, out, err = self.ctl("status")
        self.assertEqual(code, 0, err)
        self.assertIn("config-symlink", self.doctor_errors())

    def test_symlinked_master_cf_alone(self):
        real = os.path.join(self.tmp, "real-master.cf")
        os.rename(self.path("master.cf"), real)
        os.symlink(real, self.path("master.cf"))
        self.assert_refused(["set-server"] + self.relay("--security", "tls", "--port", "465"),
                            ("master.cf", "symbolic link"))
        self.assertEqual(stat.S_IMODE(os.stat(real).st_mode), 0o644)

    # --- 2. secrets never handed to another user ------------------------------

    def test_new_secrets_file_belongs_to_root_even_if_the_old_did_not(self):
        with throwaway_user() as user:
            code, out, err = self.ctl("set-server", *self.relay())
            self.assertEqual(code, 0, err)
            old = self.path("smarthost", "server_passwd")
            os.chown(old, user.pw_uid, user.pw_gid)
            os.chmod(old, 0o644)
            code, out, err = self.ctl("set-server", "smtp2.example.net", "--user", "v",
                                      "--password-file", self.secret_file)
            self.assertEqual(code, 0, err)
            for name in ("server_passwd", "server_passwd.db"):
                st = os.lstat(self.path("smarthost", name))
                self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o600), name)

    def test_secrets_folder_of_another_user_is_refused(self):
        with throwaway_user() as user:
            os.mkdir(self.path("smarthost"), 0o700)
            os.chown(self.path("smarthost"), user.pw_uid, user.pw_gid)
            err = self.assert_refused(["set-server"] + self.relay(), ("smarthost", user.pw_name, "chown root:root"))
            self.assertEqual(os.listdir(self.path("smarthost")), [])
            self.assertIn("secrets-owner", self.doctor_errors())

    def test_config_directory_writable_by_others_is_refused(self):
        os.chmod(self.conf, 0o777)
        err = self.assert_refused(["set-server"] + self.relay(), ("configuration directory", "writable by others"))
        self.assertNotIn("smarthost", os.listdir(self.conf))
        self.assertIn("config-writable", self.doctor_errors())
        os.chmod(self.conf, 0o755)

    def test_config_directory_owned_by_another_user_is_refused(self):
        with throwaway_user() as user:
            os.chown(self.conf, user.pw_uid, user.pw_gid)
            self.assert_refused(["set-server"] + self.relay(), ("configuration directory", user.pw_name))
            self.assertIn("config-owner", self.doctor_errors())

    def test_config_directory_inside_a_directory_of_another_user_is_refused(self):
        with throwaway_user() as user:
            outer = os.path.join(self.tmp, "outer")
            os.mkdir(outer, 0o755)
            os.chown(outer, user.pw_uid, user.pw_gid)
            conf = os.path.join(outer, "postfix")
            shutil.copytree(self.conf, conf)
            code, out, err = self.ctl("set-server", *self.relay(), conf=conf)
            self.assertEqual(code, 1, err)
            self.assertIn(outer, err)
            self.assertFalse(os.path.exists(os.path.join(conf, "smarthost")))
            self.assertIn("config-parent", self.doctor_errors(conf=conf))

    def test_config_directory_reached_through_a_link_of_another_user_is_refused(self):
        with throwaway_user() as user:
            # The link sits in the sticky /tmp-like directory and is the
            # other user's: they could point it elsewhere after the check.
            sticky = os.path.join(self.tmp, "sticky")
            os.mkdir(sticky)
            os.chmod(sticky, 0o1777)
            link = os.path.join(sticky, "pf")
            os.symlink(self.conf, link)
            os.lchown(link, user.pw_uid, user.pw_gid)
            code, out, err = self.ctl("set-server", *self.relay(), conf=link)
            self.assertEqual(code, 1, err)
            self.assertIn("symbolic link", err)
            self.assertFalse(os.path.exists(self.path("smarthost")))
            # The same link made root's is fine.
            os.lchown(link, 0, 0)
            code, out, err = self.ctl("set-server", *self.relay(), conf=link)
            self.assertEqual(code, 0, err)

    # --- 3. no other user can block commits and reads -------------------------

    def test_another_user_cannot_block_by_locking_the_directory(self):
        with throwaway_user() as user:
            # The other user locks everything it can open: the
            # configuration directory and main.cf.
            holder = subprocess.Popen(
                [sys.executable, "-c",
                 "import fcntl, os, sys, time\n"
                 "fds = [os.open(p, os.O_RDONLY) for p in sys.argv[1:]]\n"
                 "[fcntl.flock(fd, fcntl.LOCK_EX) for fd in fds]\n"
                 "print('locked', flush=True)\n"
                 "time.sleep(60)\n", self.conf, self.path("main.cf")],
                stdout=subprocess.PIPE, preexec_fn=as_user(user))
            try:
                self.assertEqual(holder.stdout.readline().strip(), b"locked")
                code, out, err = self.ctl("--lock-timeout", "2", "set-server", *self.relay())
                self.assertEqual(code, 0, err)
                code, out, err = self.ctl("--lock-timeout", "2", "status")
                self.assertEqual(code, 0, err)
            finally:
                holder.kill()
                holder.wait()
                holder.stdout.close()

    def test_lock_wait_is_bounded_and_names_the_holder(self):
        code, out, err = self.ctl("set-server", *self.relay())
        self.assertEqual(code, 0, err)
        st = os.stat(self.conf)
        lock = "/run/libsmarthost/%d-%d.lock" % (st.st_dev, st.st_ino)
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import fcntl, os, sys, time\n"
             "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
             "fcntl.flock(fd, fcntl.LOCK_EX)\n"
             "print('locked', flush=True)\n"
             "time.sleep(60)\n", lock],
            stdout=subprocess.PIPE)
        try:
            self.assertEqual(holder.stdout.readline().strip(), b"locked")
            started = time.monotonic()
            err = self.assert_refused(["--lock-timeout", "1", "unset-server"],
                                      ("more than 1 s", "process %d" % holder.pid, "lock-timeout"))
            self.assertLess(time.monotonic() - started, TIMEOUT)
        finally:
            holder.kill()
            holder.wait()
            holder.stdout.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock)
        # And once it is free, the lock file is gone after use.
        code, out, err = self.ctl("unset-server")
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(lock))

    # --- 4. journals of other users are not trusted ----------------------------

    def plant_journal(self, directory):
        """A journal that would move the attacker's file over main.cf."""
        evil = os.path.join(directory, "evil")
        bad.write(evil, "relayhost = [attacker.example]\n", 0o644)
        backup = os.path.join(directory, ".main.cf.smarthost-old")
        os.link(evil, backup)
        journal = os.path.join(directory, ".smarthost-journal")
        bad.write(journal, "smarthost-journal 1\nfile\t1\t%s\t%s\t\nend\n" % (
            os.path.join(directory, "main.cf"), backup), 0o644)
        return journal

    def test_journal_planted_in_a_directory_others_can_write_is_left_alone(self):
        os.chmod(self.conf, 0o777)
        journal = self.plant_journal(self.conf)
        main_before = self.read("main.cf")
        code, out, err = self.ctl("status")
        self.assertEqual(code, 1, err)
        self.assertIn("not trusted", err)
        self.assertEqual(self.read("main.cf"), main_before)
        self.assertTrue(os.path.exists(journal))
        self.assertTrue({"config-writable", "untrusted-journal"} <= self.doctor_errors())
        self.assertEqual(self.read("main.cf"), main_before)
        os.chmod(self.conf, 0o755)

    def test_journal_of_another_user_is_left_alone(self):
        with throwaway_user() as user:
            journal = self.plant_journal(self.conf)
            os.chown(journal, user.pw_uid, user.pw_gid)
            main_before = self.read("main.cf")
            for args in (["status"], ["set-server"] + self.relay()):
                code, out, err = self.ctl(*args)
                self.assertEqual(code, 1, err)
                self.assertIn("not a journal of ours", err)
            self.assertEqual(self.read("main.cf"), main_before)
            self.assertIn("untrusted-journal", self.doctor_errors())
            self.assertTrue(os.path.exists(journal))

    def test_backup_of_another_user_is_not_restored(self):
        with throwaway_user() as user:
            journal = self.plant_journal(self.conf)
            os.chmod(journal, 0o600)
            os.chown(os.path.join(self.conf, "evil"), user.pw_uid, user.pw_gid)
            main_before = self.read("main.cf")
            code, out, err = self.ctl("status")
            self.assertEqual(code, 1, err)
            self.assertIn("not ours", err)
            self.assertEqual(self.read("main.cf"), main_before)

    # --- 5. bounded reads, never a wait on a FIFO -------------------------------

    def fifo(self, name="fifo"):
        path = os.path.join(self.tmp, name)
        os.mkfifo(path, 0o600)
        return path

    def test_password_file_that_never_ends(self):
        for source in ("/dev/zero", "/dev/urandom"):
            self.assert_refused(["set-server", "smtp.example.net", "--user", "u", "--password-file", source],
                                ("password-file:", source, "not a regular file"), codes=(2,))

    def test_password_file_is_a_fifo(self):
        fifo = self.fifo()
        self.assert_refused(["set-server", "smtp.example.net", "--user", "u", "--password-file", fifo],
                            ("password-file:", "pipe"), codes=(2,))

    def test_password_too_large(self):
        big = os.path.join(self.tmp, "big")
        bad.write(big, "x" * (64 * 1024 + 1), 0o600)
        self.assert_refused(["set-server", "smtp.example.net", "--user", "u", "--password-file", big],
                            ("too large",), codes=(2,))
        self.assert_refused(["set-server", "smtp.example.net", "--user", "u", "--password-stdin"],
                            ("too large",), codes=(2,), stdin=b"y" * (1024 * 1024))

    def test_ca_file_that_never_ends_or_blocks(self):
        for source in ("/dev/zero", self.fifo()):
            self.assert_refused(["set-server"] + self.relay("--ca-file", source), ("ca-file:",), codes=(2,))
        # The connection check reads it the same way.
        code, out, err = self.ctl("check", *self.relay("--ca-file", "/dev/zero", "--timeout", "5"))
        self.assertNotEqual(code, 0)

    def test_policy_that_never_ends_or_blocks(self):
        huge = os.path.join(self.tmp, "huge.ini")
        with open(huge, "wb") as f:
            f.truncate(100 * 1024 * 1024)  # 100 MB, sparse: a file of NUL bytes
        blank = os.path.join(self.tmp, "blank.ini")
        bad.write(blank, "\n" * (2 * 1024 * 1024))
        for source in ("/dev/zero", self.fifo(), huge, blank):
            self.assert_refused(["--policy", source, "set-server"] + self.relay(), ("policy:",), codes=(2,))

    def test_apply_password_file_fifo(self):
        fifo = self.fifo()
        state = os.path.join(self.tmp, "state.json")
        bad.write(state, '{"server": {"host": "smtp.example.net", "username": "u", "password_file": "%s"},'
                         ' "domains": {}}' % fifo)
        self.assert_refused(["apply", state], ("password_file", "pipe"), codes=(2,))
        # apply's own input: a FIFO is refused, standard input is taken.
        self.assert_refused(["apply", fifo], ("pipe",), codes=(2,))
        self.assert_refused(["apply", "/dev/zero"], ("not a regular file",), codes=(2,))

    # --- 8. paths Postfix would expand ------------------------------------------

    def test_dollar_in_ca_file_is_refused(self):
        ca = os.path.join(self.tmp, "$myhostname.pem")
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", ca)
        self.assert_refused(["set-server"] + self.relay("--ca-file", ca), ("ca-file:", "'$'"), codes=(2,))

    def test_dollar_in_config_dir_is_refused(self):
        conf = os.path.join(self.tmp, "$myhostname")
        shutil.copytree(self.conf, conf)
        code, out, err = self.ctl("set-server", *self.relay(), conf=conf)
        self.assertEqual(code, 2, err)
        self.assertIn("'$'", err)
        self.assertFalse(os.path.exists(os.path.join(conf, "smarthost")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
