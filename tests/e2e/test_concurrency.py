#!/usr/bin/python3
"""Concurrent commits, proven: nothing is lost, nothing is corrupt.

Two processes commit different domains to the same configuration directory
at the same time, round after round (a set-domain per round, some with
credentials, and now and then an unset-domain of an earlier one), while a
third changes the server-wide smarthost (main.cf, master.cf and the server's
password map) and a fourth keeps reading. Commits lock the directory and
compute their change under the lock, so at the end every change must be
there: list-domains shows exactly the domains each worker left, status
shows the server the last set-server gave, every map's .db holds exactly
its source, Postfix accepts the directory, and no leftover is anywhere.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
POSTFIX = "/usr/sbin/postfix"
POSTMAP = "/usr/sbin/postmap"
POSTCONF = "/usr/sbin/postconf"
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"
SECRET = "s3cret-Race-Pa55"

WORKERS = 2
ROUNDS = 40
SERVER_ROUNDS = 15
LEFTOVER = re.compile(r"\.smarthost-(new|old)|^\.smarthost-journal")

MAIN_CF = """\
# main.cf of a throwaway configuration directory (tests/e2e/test_concurrency.py)
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


def domain(w, i):
    return f"w{w}-{i}.example"


def with_credentials(i):
    return i % 3 == 0


def unsets_previous(i):
    return i % 5 == 4


class TestConcurrency(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smarthost-race-")
        self.conf = os.path.join(self.tmp, "conf")
        for d in ("conf", "queue", "data"):
            os.makedirs(os.path.join(self.tmp, d))
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(queue=os.path.join(self.tmp, "queue"),
                                   data=os.path.join(self.tmp, "data")))
        shutil.copy(STOCK_MASTER_CF, os.path.join(self.conf, "master.cf"))
        past = time.time() - 10
        for name in ("main.cf", "master.cf"):
            os.utime(os.path.join(self.conf, name), (past, past))
        self.failures = []
        self.torn = []
        self.vanished = []
        self.lock = threading.Lock()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def ctl(self, *args, stdin=None):
        proc = subprocess.run([SMARTHOSTCTL, "--config-dir", self.conf] + list(args), input=stdin,
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 or SECRET in proc.stdout + proc.stderr:
            with self.lock:
                self.failures.append(f"{args}: exit {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def domain_worker(self, w):
        for i in range(ROUNDS):
            args = ["set-domain", domain(w, i), f"relay-{w}.example.net"]
            if with_credentials(i):
                self.ctl(*args, "--user", f"u{i}@example", "--password-stdin", stdin=SECRET)
            else:
                self.ctl(*args)
            if unsets_previous(i):
                self.ctl("unset-domain", domain(w, i - 1))

    def server_worker(self):
        for i in range(SERVER_ROUNDS):
            if i % 4 == 3:
                self.ctl("unset-server")
            else:
                self.ctl("set-server", "smtp.example.net", "--port", str(2500 + i), "--user", f"s{i}",
                         "--password-stdin", stdin=SECRET)

    def reader(self, stop, reads):
        try:
            self.read_until(stop, reads)
        except Exception as e:      # a thread's exception would not fail the test
            with self.lock:
                self.failures.append(f"reader: {e!r}")

    def read_until(self, stop, reads):
        while not stop.is_set():
            proc = self.ctl("--json", "status")
            if proc.returncode == 0:
                status = json.loads(proc.stdout)
                reads.append(1)
                # status reads every file once (Backend.get_state), under a
                # lock readers share and commits hold alone: a domain shown
                # as null, or without its credentials, would be a read torn
                # between the maps of one commit, or between two commits.
                for name, relay in status["domains"].items():
                    i = int(name.split("-")[1].split(".")[0])
                    if relay is None:
                        self.vanished.append(name)
                    elif with_credentials(i) and relay["username"] != f"u{i}@example":
                        self.torn.append(name)

    def expected_domains(self):
        expected = {}
        for w in range(WORKERS):
            for i in range(ROUNDS):
                gone = unsets_previous(i + 1) and i + 1 < ROUNDS
                if not gone:
                    expected[domain(w, i)] = i
        return expected

    def test_parallel_commits(self):
        started = time.monotonic()
        stop = threading.Event()
        reads = []
        writers = [threading.Thread(target=self.domain_worker, args=(w,)) for w in range(WORKERS)]
        writers.append(threading.Thread(target=self.server_worker))
        reader = threading.Thread(target=self.reader, args=(stop, reads))
        for t in writers + [reader]:
            t.start()
        for t in writers:
            t.join()
        stop.set()
        reader.join()
        elapsed = time.monotonic() - started
        commits = WORKERS * (ROUNDS + ROUNDS // 5) + SERVER_ROUNDS
        print(f"\n  {commits} commits and {len(reads)} reads in {elapsed:.1f}s; "
              f"reads that saw a domain vanish between list and get: {len(self.vanished)}, "
              f"torn between maps: {len(self.torn)}", file=sys.stderr)
        self.assertEqual(self.failures, [])
        self.assertEqual(self.vanished, [], "a read saw part of a commit")
        self.assertEqual(self.torn, [], "a read saw part of a commit")

        # Every change is there, no update lost.
        expected = self.expected_domains()
        proc = self.ctl("list-domains")
        self.assertEqual(proc.stdout.split(), sorted(expected))
        status = json.loads(self.ctl("--json", "status").stdout)
        for name, i in expected.items():
            relay = status["domains"][name]
            self.assertEqual(relay["host"], f"relay-{name[1]}.example.net", name)
            if with_credentials(i):
                self.assertEqual((relay["username"], relay["password_set"]), (f"u{i}@example", True), name)
            else:
                self.assertIsNone(relay["username"], name)
        last = SERVER_ROUNDS - 1
        if last % 4 == 3:
            self.assertIsNone(status["server"])
        else:
            self.assertEqual((status["server"]["port"], status["server"]["username"]), (2500 + last, f"s{last}"))

        # No map is corrupt: each .db holds exactly its source.
        own = os.path.join(self.conf, "smarthost")
        maps = sorted(n for n in os.listdir(own) if not n.startswith(".") and not n.endswith(".db"))
        self.assertIn("sender_transport", maps)
        for name in maps:
            path = os.path.join(own, name)
            dump = subprocess.run([POSTMAP, "-c", self.conf, "-s", "hash:" + path], capture_output=True, text=True)
            self.assertEqual(dump.returncode, 0, dump.stderr)
            with open(path) as f:
                source = [" ".join(line.split(None, 1)) for line in f.read().splitlines()
                          if line.strip() and not line.startswith("#")]
            table = [" ".join(line.split(None, 1)) for line in dump.stdout.splitlines()]
            # (no diff in the message: it would print the test password)
            self.assertTrue(sorted(table) == sorted(source), f"{name}.db does not hold {name}")
        routes = subprocess.run([POSTMAP, "-c", self.conf, "-s", "hash:" + os.path.join(own, "sender_transport")],
                                capture_output=True, text=True).stdout
        self.assertEqual(sorted(l.split()[0] for l in routes.splitlines()),
                         sorted("@" + d for d in expected))

        # Postfix accepts the result, master.cf has no duplicate service.
        check = subprocess.run([POSTFIX, "-c", self.conf, "check"], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr)
        services = subprocess.run([POSTCONF, "-c", self.conf, "-M"], capture_output=True, text=True)
        self.assertEqual(services.returncode, 0, services.stderr)
        names = [tuple(l.split()[:2]) for l in services.stdout.splitlines()]
        self.assertEqual(len(names), len(set(names)), "a service is defined twice in master.cf")

        # Nothing left behind.
        leftovers = [os.path.join(d, n) for d, dirs, files in os.walk(self.conf)
                     for n in dirs + files if LEFTOVER.search(n)]
        self.assertEqual(leftovers, [])
        self.assertLess(elapsed, 60)


if __name__ == "__main__":
    unittest.main(verbosity=2)
