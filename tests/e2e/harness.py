#!/usr/bin/python3
"""End-to-end test harness for libsmarthost (Postfix backend).

Python 3.11 standard library only (the relay process additionally needs
Debian's ``python3-aiosmtpd``).  Run everything with ``/usr/bin/python3``;
the tests need root (Postfix instances are started with ``postfix -c``).

Three building blocks:

* **Certificates** -- :func:`make_ca`, :func:`make_cert`,
  :func:`make_self_signed` drive the ``openssl`` CLI and return
  :class:`Cert` objects (paths to PEM key and certificate).  Relay
  certificates carry ``DNS:localhost, DNS:relay.test, IP:127.0.0.1`` by
  default.

* **Relays** -- :class:`RelayServer` runs ``relay.py`` (aiosmtpd) as a
  subprocess on 127.0.0.1: ``plain``, ``starttls`` or implicit ``tls``,
  with AUTH PLAIN/LOGIN against a set of credentials, and records every
  accepted message as a JSON line (:meth:`RelayServer.messages`).

* **Postfix** -- :class:`PostfixInstance` builds a throwaway Postfix
  instance in a temp folder: own config dir, queue dir, data dir, a
  ``maillog_file`` and Debian's stock ``master.cf`` (chrooted services,
  ``smtp inet`` listener commented out).  The queue directory gets the
  same chroot files Debian's ``configure-instance.sh`` copies (resolver
  files, NSS libraries, CApath), so the chrooted smtp client behaves as on
  a real Debian server.

Typical use (unittest)::

    import harness
    class T(unittest.TestCase):
        def setUp(self):
            self.tmp = harness.TempDir(self)           # removed on cleanup
            self.ca = harness.make_ca(self.tmp.path)
            self.cert = harness.make_cert(self.tmp.path, self.ca)
            self.relay = harness.RelayServer(
                self.tmp.path, mode="starttls", cert=self.cert,
                users={"alice": "pw"}).start()
            self.addCleanup(self.relay.stop)
            self.pf = harness.PostfixInstance(self.tmp.path)
            self.addCleanup(self.pf.cleanup)
        def test_relay(self):
            # level secure needs a host name nexthop + native lookups in
            # the chroot: relayhost=self.relay.nexthop_name() and
            # smtp_host_lookup=native (see /work/notes/postfix-experiments.md)
            self.pf.postconf_e(relayhost=self.relay.nexthop)
            ...
            self.pf.start()
            self.pf.send("me@a.example", "you@remote.example", "hello")
            self.relay.wait_for_messages(1)

Everything started here is stopped by ``stop()``/``cleanup()``, by the
context managers, and as a last resort by an ``atexit`` hook (Postfix
processes are found via their ``MAIL_CONFIG`` environment variable, so
only processes of *our* instances are ever killed).
"""

import atexit
import contextlib
import dataclasses
import glob
import json
import os
import stat
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RELAY_PY = os.path.join(HERE, "relay.py")
PYTHON = "/usr/bin/python3"          # Debian's python, has aiosmtpd

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTMAP = "/usr/sbin/postmap"
POSTQUEUE = "/usr/sbin/postqueue"
POSTSUPER = "/usr/sbin/postsuper"
SENDMAIL = "/usr/sbin/sendmail"
OPENSSL = "openssl"
MASTER_CF_DIST = "/usr/share/postfix/master.cf.dist"

DEFAULT_DNS_NAMES = ("localhost", "relay.test")
DEFAULT_IPS = ("127.0.0.1",)

# Files Debian's /usr/lib/postfix/configure-instance.sh copies into the
# queue directory (chroot) before starting Postfix.
CHROOT_FILES = ("etc/localtime", "etc/services", "etc/resolv.conf",
                "etc/hosts", "etc/host.conf", "etc/nsswitch.conf",
                "etc/nss_mdns.config")
CHROOT_LIB_NAMES = ("gcc_s", "nss", "resolv")


class HarnessError(RuntimeError):
    pass


def run(cmd, check=True, input=None, env=None, timeout=60):
    """Run *cmd* (list), capture output as text; raise HarnessError on
    failure when *check*.  Returns the CompletedProcess."""
    p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                       env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise HarnessError("%s failed (exit %d):\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p


def wait_for(predicate, timeout=30.0, interval=0.2, message=None):
    """Poll *predicate* until it returns a true value; return that value.
    Raise TimeoutError (with *message*) after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(message or "condition not met within %ss"
                               % timeout)
        time.sleep(interval)


def cool_down(*paths, age=10):
    """Date *paths* back by *age* seconds.  Postfix will not read a
    main.cf/master.cf modified in the last two seconds (it waits for the
    file to "cool down"), which would stall postconf/start/reload."""
    past = time.time() - age
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.utime(path, (past, past))


def snapshot(root, mtimes=True):
    """Every file and folder under *root*: mode, modification time (unless
    *mtimes* is false) and, for files, bytes. Two equal snapshots mean
    nothing was written."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            data = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    data = f.read()
            if mtimes:
                result[os.path.relpath(path, root)] = (stat.S_IMODE(st.st_mode), st.st_mtime_ns, data)
            else:
                result[os.path.relpath(path, root)] = (stat.S_IMODE(st.st_mode), data)
    return result


def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TempDir:
    """A temp folder (mode 0755 so Postfix's unprivileged daemons can
    traverse it).  Removed by ``cleanup()``, on ``with`` exit, or -- if a
    unittest.TestCase is passed -- via ``addCleanup``.  Set the environment
    variable ``SMARTHOST_E2E_KEEP=1`` to keep it for debugging."""

    def __init__(self, testcase=None, prefix="smarthost-e2e-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.path, 0o755)
        if testcase is not None:
            testcase.addCleanup(self.cleanup)

    def cleanup(self):
        if os.environ.get("SMARTHOST_E2E_KEEP"):
            sys.stderr.write("keeping %s\n" % self.path)
            return
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        self.cleanup()


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

@dataclasses.dataclass
class Cert:
    """PEM files of a key pair.  ``cert`` is what a server presents,
    ``key`` its private key.  For a CA, ``cert`` is the CAfile."""
    key: str
    cert: str
    name: str = ""

    @property
    def pem(self):
        with open(self.cert) as f:
            return f.read()


_CA_CONF = """\
[ ca ]
default_ca = ca_default
[ ca_default ]
database = {db}/index.txt
new_certs_dir = {db}
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = placeholder
[ ext_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ ext_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
{san}
"""


def _san_line(names, ips):
    items = ["DNS:%s" % n for n in names] + ["IP:%s" % i for i in ips]
    return "subjectAltName = " + ", ".join(items) if items else ""


def _sign(dir, name, cn, issuer, names=(), ips=(), is_ca=False,
          expired=False, days=365):
    """Create ``DIR/NAME.key`` + ``DIR/NAME.pem`` signed by *issuer*
    (a Cert) or self-signed when *issuer* is None.  Uses ``openssl ca``
    because it can set arbitrary validity dates (for expired certs)."""
    os.makedirs(dir, exist_ok=True)
    key = os.path.join(dir, name + ".key")
    cert = os.path.join(dir, name + ".pem")
    work = tempfile.mkdtemp(prefix="ca-", dir=dir)
    try:
        open(os.path.join(work, "index.txt"), "w").close()
        conf = os.path.join(work, "openssl.cnf")
        with open(conf, "w") as f:
            f.write(_CA_CONF.format(db=work, san=_san_line(names, ips)))
        csr = os.path.join(work, "req.csr")
        run([OPENSSL, "req", "-new", "-config", conf, "-newkey", "rsa:2048",
             "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % cn])
        os.chmod(key, 0o600)
        if expired:
            dates = ["-startdate", "20200101000000Z",
                     "-enddate", "20200201000000Z"]
        else:
            # backdate a little against clock skew
            start = time.strftime("%Y%m%d%H%M%SZ",
                                  time.gmtime(time.time() - 3600))
            end = time.strftime("%Y%m%d%H%M%SZ",
                                time.gmtime(time.time() + days * 86400))
            dates = ["-startdate", start, "-enddate", end]
        cmd = [OPENSSL, "ca", "-batch", "-notext", "-config", conf,
               "-in", csr, "-out", cert, "-extfile", conf,
               "-extensions", "ext_ca" if is_ca else "ext_leaf"] + dates
        if issuer is None:
            cmd += ["-selfsign", "-keyfile", key]
        else:
            cmd += ["-cert", issuer.cert, "-keyfile", issuer.key]
        run(cmd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Cert(key=key, cert=cert, name=name)


def make_ca(dir, name="ca", cn="libsmarthost test CA"):
    """A self-signed CA.  Returns Cert(key, cert); ``cert`` is the CAfile."""
    return _sign(dir, name, cn, None, is_ca=True, days=3650)


def make_cert(dir, ca, name="relay", cn="relay.test",
              names=DEFAULT_DNS_NAMES, ips=DEFAULT_IPS, expired=False):
    """A server certificate signed by *ca* (a Cert from make_ca).
    *names*/*ips* become subjectAltName DNS/IP entries; pass both empty
    for a CN-only certificate (no SAN extension at all)."""
    return _sign(dir, name, cn, ca, names=names, ips=ips, expired=expired)


def make_self_signed(dir, name="selfsigned", cn="relay.test",
                     names=DEFAULT_DNS_NAMES, ips=DEFAULT_IPS,
                     expired=False):
    """A self-signed server (leaf) certificate, trusted by nobody."""
    return _sign(dir, name, cn, None, names=names, ips=ips, expired=expired)


# --------------------------------------------------------------------------
# Relay (aiosmtpd in a subprocess)
# --------------------------------------------------------------------------

_live_relays = set()


class RelayServer:
    """An aiosmtpd relay (``relay.py``) in a subprocess on 127.0.0.1.

    *users*: dict ``{user: password}`` or list of ``(user, password)``.
    *mode*: ``plain`` | ``starttls`` | ``tls`` (implicit TLS, like 465).
    *cert*: a :class:`Cert` (needed unless mode is plain).
    *no_auth*: accept mail without AUTH.
    """

    def __init__(self, workdir, mode="starttls", cert=None, users=None,
                 port=None, name=None, no_auth=False,
                 require_starttls=False):
        self.mode = mode
        self.port = port or free_port()
        self.name = name or "relay-%d" % self.port
        if isinstance(users, dict):
            users = list(users.items())
        self.users = list(users or [])
        self.cert = cert
        self.no_auth = no_auth
        self.require_starttls = require_starttls
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.record = os.path.join(self.dir, "messages.jsonl")
        self.ready_file = os.path.join(self.dir, "ready")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.proc = None

    @property
    def nexthop(self):
        """``[127.0.0.1]:PORT`` -- the Postfix nexthop for this relay.
        Note: Postfix 3.7 ``secure`` verification never matches an
        IP-literal nexthop; use :meth:`nexthop_name` for that."""
        return "[127.0.0.1]:%d" % self.port

    def nexthop_name(self, host="localhost"):
        """``[HOST]:PORT``; with the default certificates ``localhost``
        verifies at level ``secure``.  The chrooted smtp client only
        resolves it with ``smtp_host_lookup = native`` (DNS has no
        ``localhost``)."""
        return "[%s]:%d" % (host, self.port)

    def command(self):
        cmd = [PYTHON, RELAY_PY, "--port", str(self.port),
               "--mode", self.mode, "--record", self.record,
               "--ready-file", self.ready_file, "--name", self.name]
        if self.cert is not None:
            cmd += ["--cert", self.cert.cert, "--key", self.cert.key]
        for user, password in self.users:
            cmd += ["--user", user, "--password", password]
        if self.no_auth:
            cmd.append("--no-auth")
        if self.require_starttls:
            cmd.append("--require-starttls")
        return cmd

    def start(self, timeout=15, wait=True):
        """Start the relay; with *wait* (default) return once it listens.
        ``start(wait=False)`` on several relays, then :meth:`wait_ready`
        on each, starts them in parallel."""
        for f in (self.ready_file,):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f)
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr,
                                     stderr=self._stderr)
        _live_relays.add(self)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=15):
        """Wait until a started relay listens (raise HarnessError if it
        exited); return self."""
        def ready():
            if self.proc.poll() is not None:
                raise HarnessError("relay %s exited (%s): %s" % (
                    self.name, self.proc.returncode, self.stderr()))
            return os.path.exists(self.ready_file)
        wait_for(ready, timeout, 0.05,
                 "relay %s not ready after %ss" % (self.name, timeout))
        return self

    def stderr(self):
        with contextlib.suppress(OSError), open(self.stderr_path) as f:
            return f.read()
        return ""

    def messages(self):
        """All recorded messages (list of dicts, in arrival order)."""
        try:
            with open(self.record) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def wait_for_messages(self, count=1, timeout=30):
        """Wait until at least *count* messages arrived; return them."""
        return wait_for(lambda: len(self.messages()) >= count and
                        self.messages(), timeout, 0.2,
                        "relay %s: fewer than %d messages after %ss"
                        % (self.name, count, timeout))

    def stop(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._stderr.close()
        _live_relays.discard(self)

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------
# Postfix
# --------------------------------------------------------------------------

_live_instances = set()


def _instance_pids(config_dir):
    """PIDs of processes that belong to the Postfix instance using
    *config_dir*: master exports MAIL_CONFIG to all its children."""
    needle = ("MAIL_CONFIG=%s" % config_dir).encode()
    pids = []
    for env_path in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(env_path, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if needle in env:
            pid = int(env_path.split("/")[2])
            if pid != os.getpid():
                pids.append(pid)
    return pids


class PostfixInstance:
    """A throwaway Postfix instance below *workdir*::

        WORKDIR/postfix/conf     config_directory (main.cf, master.cf, maps)
        WORKDIR/postfix/queue    queue_directory (= chroot)
        WORKDIR/postfix/data     data_directory
        WORKDIR/postfix/maillog  maillog_file

    *chroot*: keep Debian's stock chroot column (``y``); False rewrites
    every chroot ``y`` to ``n`` (for comparison experiments only).
    *main_cf*: extra ``{param: value}`` written into main.cf.
    Call :meth:`cleanup` (or use ``with``) when done.
    """

    def __init__(self, workdir, name="postfix", main_cf=None, chroot=True,
                 sync_chroot=True):
        self.base = os.path.join(workdir, name)
        self.config_dir = os.path.join(self.base, "conf")
        self.queue_dir = os.path.join(self.base, "queue")
        self.data_dir = os.path.join(self.base, "data")
        self.maillog = os.path.join(self.base, "maillog")
        self.sync_chroot_files = sync_chroot
        # `postfix check/start` chdir()s into queue_directory first and
        # fails ("fatal: chdir(...queue): No such file or directory") if
        # it does not exist; it creates everything below it itself.
        for d in (self.base, self.config_dir, self.queue_dir):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        self._write_main_cf(main_cf or {})
        self._write_master_cf(chroot)
        cool_down(self.main_cf_path, self.master_cf_path)
        _live_instances.add(self)

    # -- configuration ----------------------------------------------------

    @property
    def main_cf_path(self):
        return os.path.join(self.config_dir, "main.cf")

    @property
    def master_cf_path(self):
        return os.path.join(self.config_dir, "master.cf")

    def _write_main_cf(self, extra):
        params = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue_dir,
            "data_directory": self.data_dir,
            "maillog_file": self.maillog,
            "maillog_file_prefixes": "/var, /dev/stdout, %s" % self.base,
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "myhostname": "smarthost-e2e.localdomain",
            "mydomain": "localdomain",
            "myorigin": "$myhostname",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "relayhost": "",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "append_dot_mydomain": "no",
            "readme_directory": "no",
            # Tests flush deferred mail explicitly; keep timers short so a
            # failed attempt is reported quickly.
            "smtp_connect_timeout": "10s",
            "smtp_helo_timeout": "20s",
            "minimal_backoff_time": "300s",
        }
        params.update(extra)
        with open(self.main_cf_path, "w") as f:
            f.write("# throwaway instance written by tests/e2e/harness.py\n")
            for k, v in params.items():
                f.write("%s = %s\n" % (k, v))

    def _write_master_cf(self, chroot):
        out = []
        with open(MASTER_CF_DIST) as f:
            for line in f:
                if re.match(r"^smtp\s+inet\s", line):
                    line = "#" + line      # no port-25 listener
                elif not chroot and re.match(r"^[a-z]", line):
                    fields = line.split()
                    if len(fields) >= 8 and fields[4] in ("y", "-"):
                        fields[4] = "n"
                        line = "  ".join(fields) + "\n"
                out.append(line)
        with open(self.master_cf_path, "w") as f:
            f.writelines(out)

    def postconf(self, *args, check=True):
        """Run ``postconf -c CONF ARGS``; returns CompletedProcess."""
        return run([POSTCONF, "-c", self.config_dir] + list(args),
                   check=check)

    def postconf_e(self, **params):
        """Set main.cf parameters (``postconf -e name=value ...``)."""
        if params:
            self.postconf("-e", *("%s=%s" % kv for kv in params.items()))
            cool_down(self.main_cf_path)

    def get(self, name):
        """Effective main.cf value (``postconf -h NAME``)."""
        return self.postconf("-h", name).stdout.rstrip("\n")

    def add_master_service(self, text):
        """Append service entries (master.cf syntax) to master.cf."""
        with open(self.master_cf_path, "a") as f:
            f.write("\n" + text.strip("\n") + "\n")
        cool_down(self.master_cf_path)

    def write_map(self, relpath, entries, mode=0o600, postmap=True):
        """Write a lookup table ``CONF/RELPATH`` (dict or list of pairs),
        run postmap on it, and return ``hash:PATH``."""
        path = os.path.join(self.config_dir, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(entries, dict):
            entries = list(entries.items())
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            for k, v in entries:
                f.write("%s %s\n" % (k, v))
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        if postmap:
            self.postmap(path)
        return "hash:" + path

    def postmap(self, path, maptype="hash"):
        run([POSTMAP, "-c", self.config_dir, "%s:%s" % (maptype, path)])

    # -- chroot -----------------------------------------------------------

    def sync_chroot(self):
        """Do what Debian's configure-instance.sh does for the queue dir:
        copy resolver/NSS files, /dev/[u]random, NSS libraries and the
        smtp[d]_tls_CApath directories into the chroot."""
        q = self.queue_dir
        os.makedirs(q, exist_ok=True)
        old_umask = os.umask(0o022)
        try:
            for rel in CHROOT_FILES:
                src, dst = "/" + rel, os.path.join(q, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if os.path.isfile(src):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(dst)
                    shutil.copy(src, dst)     # follows symlinks (localtime)
                    os.chmod(dst, 0o644)
            for dev in ("random", "urandom"):
                dst = os.path.join(q, "dev", dev)
                if not os.path.exists(dst):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    st = os.stat("/dev/" + dev)
                    with contextlib.suppress(OSError):
                        os.mknod(dst, 0o666 | 0o020000, st.st_rdev)
            zi = os.path.join(q, "usr/lib/zoneinfo")
            os.makedirs(zi, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(zi, "localtime"))
            os.symlink("/etc/localtime", os.path.join(zi, "localtime"))
            for lib_name in CHROOT_LIB_NAMES:
                for src in (glob.glob("/lib/*/lib%s*.so*" % lib_name)
                            + glob.glob("/lib/lib%s*.so*" % lib_name)):
                    if not os.path.isfile(src):
                        continue
                    dst = os.path.join(q, src.lstrip("/"))
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(dst)
                    shutil.copy2(src, dst, follow_symlinks=False)
            for param in ("smtp_tls_CApath", "smtpd_tls_CApath"):
                ca_path = self.postconf("-hx", param, check=False).stdout
                ca_path = ca_path.strip()
                if ca_path and os.path.isdir(ca_path) and \
                        not ca_path.startswith(q + "/"):
                    dst = os.path.join(q, ca_path.lstrip("/").rstrip("/"))
                    shutil.rmtree(dst, ignore_errors=True)
                    shutil.copytree(ca_path, dst, symlinks=False)
                    run([OPENSSL, "rehash", dst], check=False)
        finally:
            os.umask(old_umask)

    # -- control ----------------------------------------------------------

    def postfix(self, *args, check=True):
        """Run ``postfix -c CONF ARGS``."""
        return run([POSTFIX, "-c", self.config_dir] + list(args),
                   check=check)

    def check(self):
        """``postfix check``; returns CompletedProcess (not raising)."""
        return self.postfix("check", check=False)

    def start(self):
        if self.sync_chroot_files:
            self.sync_chroot()
        self.postfix("start")
        wait_for(self.running, 15, 0.1, "postfix master did not start")
        return self

    def reload(self):
        if self.sync_chroot_files:
            self.sync_chroot()
        self.postfix("reload")

    def status(self):
        """Exit code of ``postfix status`` (0 = running)."""
        return self.postfix("status", check=False).returncode

    def master_pid(self):
        try:
            with open(os.path.join(self.queue_dir, "pid/master.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def running(self):
        return self.master_pid() is not None

    def stop(self, timeout=15):
        """``postfix stop``, then wait until every process of this instance
        is gone (killing stragglers)."""
        if self.running():
            self.postfix("stop", check=False)
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: not self.running(), timeout, 0.1)
        self.kill_strays()

    def kill_strays(self, timeout=5):
        """SIGTERM, then SIGKILL, processes still carrying our
        MAIL_CONFIG (never touches other Postfix instances)."""
        pids = _instance_pids(self.config_dir)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pids = _instance_pids(self.config_dir)
                if not pids:
                    return
                time.sleep(0.1)

    def cleanup(self):
        self.stop()
        _live_instances.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # -- mail -------------------------------------------------------------

    def send(self, sender, recipient, subject, body="test message\n",
             headers=None):
        """Inject a message with ``sendmail -C CONF -f SENDER RECIPIENT``.
        *recipient* may be a list."""
        rcpts = [recipient] if isinstance(recipient, str) else list(recipient)
        hdrs = {"From": sender or "MAILER-DAEMON", "To": ", ".join(rcpts),
                "Subject": subject,
                "Message-ID": "<%d.%d@e2e.test>" % (time.time_ns(),
                                                    os.getpid())}
        hdrs.update(headers or {})
        text = "".join("%s: %s\n" % kv for kv in hdrs.items()) + "\n" + body
        run([SENDMAIL, "-C", self.config_dir, "-f", sender, "--"] + rcpts,
            input=text)

    def flush(self):
        """``postqueue -f``: attempt delivery of all queued mail now."""
        run([POSTQUEUE, "-c", self.config_dir, "-f"])

    def purge_queue(self):
        """``postsuper -d ALL``: delete every queued message."""
        run([POSTSUPER, "-c", self.config_dir, "-d", "ALL"])

    def queue(self):
        """Queue contents (``postqueue -j``) as a list of dicts with keys
        queue_name, queue_id, sender, recipients[{address,
        delay_reason}], ..."""
        out = run([POSTQUEUE, "-c", self.config_dir, "-j"]).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def log(self):
        """The maillog text so far."""
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_lines(self, pattern=None):
        lines = self.log().splitlines()
        if pattern is None:
            return lines
        rx = re.compile(pattern)
        return [line for line in lines if rx.search(line)]

    def wait_for_log(self, pattern, timeout=30, count=1):
        """Wait until *pattern* (regex) matches >= count log lines;
        return the matching lines."""
        return wait_for(lambda: len(self.log_lines(pattern)) >= count and
                        self.log_lines(pattern), timeout, 0.2,
                        "no log line matching %r after %ss"
                        % (pattern, timeout))

    def wait_for_queue_empty(self, timeout=30):
        wait_for(lambda: not self.queue(), timeout, 0.3,
                 "queue not empty after %ss" % timeout)

    def wait_for(self, predicate, timeout=30, interval=0.2, message=None):
        return wait_for(predicate, timeout, interval, message)


@atexit.register
def _cleanup_everything():
    for relay in list(_live_relays):
        with contextlib.suppress(Exception):
            relay.stop()
    for inst in list(_live_instances):
        with contextlib.suppress(Exception):
            inst.cleanup()
