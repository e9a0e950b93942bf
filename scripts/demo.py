#!/usr/bin/python3
"""libsmarthost demo: smarthostctl on a sandboxed Postfix with two local relays.

Run it through ``bash scripts/demo.sh`` (installs what is missing, builds,
then runs this file), as root.  Everything happens in a temp folder that is
removed at the end, also after an error or Ctrl-C:

* a test CA and a certificate for each relay (DNS:localhost);
* two aiosmtpd relays on 127.0.0.1 that record who authenticated:
  "SendGrid-like" (STARTTLS, user ``apikey``) and
  "Mailgun-like" (implicit TLS, user ``postmaster@shop.example``);
* a throwaway Postfix instance (its own config, queue and log; it never
  touches /etc/postfix and listens on no port);
* smarthostctl sets a server-wide smarthost and one for shop.example,
  mail is sent, and a table shows which relay carried which message as
  which user; then shop.example's smarthost is removed and its mail falls
  back to the server-wide relay.

Environment: SMARTHOSTCTL overrides the smarthostctl binary (default
_build/tools/smarthostctl); SMARTHOST_E2E_KEEP=1 keeps the temp folder;
DEMO_TIMEOUT sets how many seconds to wait for mail (default 20).
"""

import hashlib
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import harness  # noqa: E402  (tests/e2e/harness.py)

SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL",
                              os.path.join(ROOT, "_build", "tools", "smarthostctl"))
RCPT = "customer@remote.example"
DELIVERY_TIMEOUT = int(os.environ.get("DEMO_TIMEOUT", "20"))

TTY = sys.stdout.isatty()
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


class Interrupted(Exception):
    pass


def bold(text):
    return "\033[1m%s\033[0m" % text if TTY else text


def dim(text):
    return "\033[2m%s\033[0m" % text if TTY else text


def say(text=""):
    print(text, flush=True)


def step(number, title):
    say()
    say(bold("== %d. %s " % (number, title) + "=" * max(3, 66 - len(title))))


def indent(text, prefix="    "):
    return "\n".join(prefix + line if line else prefix.rstrip()
                     for line in text.rstrip("\n").split("\n"))


class Demo:
    def __init__(self):
        self.tmp = None
        self.relays = []
        self.pf = None
        self.secrets = []

    # -- helpers -----------------------------------------------------------

    def short(self, path):
        """A path inside the temp folder, written as $DEMO/..."""
        if self.tmp and path.startswith(self.tmp.path + "/"):
            return "$DEMO/" + path[len(self.tmp.path) + 1:]
        return path

    def ctl(self, *args, expect=0, show_output=True):
        """Run smarthostctl --config-dir CONF ARGS, printing the command
        first as a user would type it, then its output (indented)."""
        argv = ["--config-dir", self.pf.config_dir] + list(args)
        shown = " ".join(a if a.startswith("$DEMO/") else shlex.quote(a)
                         for a in ["smarthostctl"] + [self.short(a) for a in argv])
        say()
        say(bold("$ " + shown))
        proc = subprocess.run([SMARTHOSTCTL] + argv, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        for stream in (proc.stdout, proc.stderr):
            for secret in self.secrets:
                if secret in stream:
                    raise DemoError("smarthostctl printed a password: this is "
                                    "a bug in libsmarthost (output withheld)")
        out = proc.stdout.replace(self.tmp.path, "$DEMO")
        err = proc.stderr.replace(self.tmp.path, "$DEMO")
        if show_output and out.strip():
            say(indent(out))
        if err.strip():
            say(indent(err))
        say(dim("    (exit status %d)" % proc.returncode))
        if proc.returncode != expect:
            command = next((a for a in args if not a.startswith("--")), "")
            raise DemoError("smarthostctl %s exited with %d, expected %d"
                            % (command, proc.returncode, expect))
        return proc.stdout

    def write_secret(self, name, value):
        """A password file, mode 0600 from the start."""
        path = os.path.join(self.tmp.path, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        self.secrets.append(value)
        return path

    def backdate(self, *paths):
        """Postfix waits until a main.cf/master.cf is two seconds old
        before reading it ("cool down"); date the harness's files back."""
        past = time.time() - 10
        for p in paths:
            os.utime(p, (past, past))

    # -- the demo ----------------------------------------------------------

    def run(self):
        if os.geteuid() != 0:
            raise DemoError("run the demo as root (it starts a Postfix "
                            "instance): sudo bash scripts/demo.sh")
        if not os.access(SMARTHOSTCTL, os.X_OK):
            raise DemoError("%s not found: build first (bash scripts/build.sh)"
                            % SMARTHOSTCTL)
        started = time.monotonic()
        etc_before = etc_postfix_fingerprint()

        say(bold("libsmarthost demo: outbound smarthosts on a sandboxed Postfix"))
        say("""
A smarthost is an SMTP relay service (SendGrid, Mailgun, ...) that a mail
server hands its outgoing mail to. smarthostctl configures one for the whole
server and, optionally, one per sender domain. Below, two local relays play
SendGrid and Mailgun, and a throwaway Postfix sends mail through them.
Nothing here touches /etc/postfix; "smarthostctl" is %s.""" % os.path.relpath(SMARTHOSTCTL, os.getcwd()))

        # 1. temp folder, CA, certificates --------------------------------
        step(1, "A temp folder, a test CA and relay certificates")
        self.tmp = harness.TempDir(prefix="smarthost-demo-")
        say("DEMO=%s   (removed at the end)" % self.tmp.path)
        ca = harness.make_ca(self.tmp.path, cn="libsmarthost demo CA")
        sg_cert = harness.make_cert(self.tmp.path, ca, name="sendgrid-like",
                                    cn="localhost")
        mg_cert = harness.make_cert(self.tmp.path, ca, name="mailgun-like",
                                    cn="localhost")
        say("CA certificate:      %s" % self.short(ca.cert))
        say("relay certificates:  %s, %s" % (self.short(sg_cert.cert),
                                             self.short(mg_cert.cert)))
        say("Both are issued by the demo CA for DNS:localhost, so Postfix can")
        say("verify them when told to trust that CA (--ca-file).")

        # 2. relays ---------------------------------------------------------
        step(2, "Two local relays")
        sg_password = secrets.token_urlsafe(18)
        mg_password = secrets.token_urlsafe(18)
        sg_pwfile = self.write_secret("sendgrid.password", sg_password)
        mg_pwfile = self.write_secret("mailgun.password", mg_password)
        sg = harness.RelayServer(self.tmp.path, mode="starttls", cert=sg_cert,
                                 users={"apikey": sg_password},
                                 name="sendgrid-like", require_starttls=True)
        self.relays.append(sg)
        sg.start()
        mg = harness.RelayServer(self.tmp.path, mode="tls", cert=mg_cert,
                                 users={"postmaster@shop.example": mg_password},
                                 name="mailgun-like")
        self.relays.append(mg)
        mg.start()
        say("SendGrid-like: localhost:%d  STARTTLS       accepts user apikey"
            % sg.port)
        say("Mailgun-like:  localhost:%d  implicit TLS   accepts user "
            "postmaster@shop.example" % mg.port)
        say("Each accepts only its own user and password, and records every")
        say("message with the user that authenticated.")
        say("Their passwords are in %s and %s (mode 0600);"
            % (self.short(sg_pwfile), self.short(mg_pwfile)))
        say("smarthostctl reads them with --password-file and never prints them.")

        # 3. postfix ----------------------------------------------------------
        step(3, "A sandboxed Postfix")
        self.pf = harness.PostfixInstance(self.tmp.path)
        self.backdate(self.pf.main_cf_path, self.pf.master_cf_path)
        self.pf.start()
        say("Configuration:  %s   (main.cf, Debian's stock master.cf)"
            % self.short(self.pf.config_dir))
        say("Queue, log:     %s, %s" % (self.short(self.pf.queue_dir),
                                       self.short(self.pf.maillog)))
        say("It runs chrooted like Debian's, sends to no one yet, and listens on")
        say("no port; mail is injected with sendmail -C.")
        self.ctl("status")

        # 4. dry run + server-wide -----------------------------------------
        step(4, "The server-wide smarthost (SendGrid-like)")
        sg_args = ["localhost", "--port", str(sg.port), "--security", "starttls",
                   "--user", "apikey", "--password-file", sg_pwfile,
                   "--ca-file", ca.cert]
        say("First a dry run: the exact change, password masked, nothing written.")
        self.ctl("--dry-run", "set-server", *sg_args)
        say()
        say("Now for real: files are written beside the old ones, renamed into")
        say("place, the maps rebuilt with postmap, and Postfix reloaded.")
        self.ctl("set-server", *sg_args)

        # 5. domain -----------------------------------------------------------
        step(5, "A smarthost for shop.example only (Mailgun-like)")
        say("Mail whose envelope sender is @shop.example goes to this relay,")
        say("with shop.example's own credentials; all other mail keeps using")
        say("the server-wide one.")
        self.ctl("set-domain", "shop.example", "localhost", "--port", str(mg.port),
                 "--security", "tls", "--user", "postmaster@shop.example",
                 "--password-file", mg_pwfile, "--ca-file", ca.cert)

        step(6, "What is configured now")
        self.ctl("status")
        self.ctl("--json", "status")
        self.show_secret_files()

        # 7. mail -----------------------------------------------------------
        step(7, "Sending three messages")
        msgs = [
            ("news@blog.example", "Blog newsletter", "sendgrid-like", "apikey"),
            ("orders@shop.example", "Your order #1001", "mailgun-like",
             "postmaster@shop.example"),
            ("", "Undelivered Mail Returned to Sender", "sendgrid-like", "apikey"),
        ]
        self.send_and_show(msgs)
        say()
        say("blog.example has no smarthost of its own, so its mail and the bounce")
        say("(null sender <>) went to the server-wide relay as apikey;")
        say("shop.example's mail went to its own relay as postmaster@shop.example.")
        say("Both transports verify the relay's certificate against --ca-file")
        say("(TLS level \"secure\"): had it failed, the mail would have stayed queued.")

        # 8. fallback -------------------------------------------------------
        step(8, "Removing shop.example's smarthost: fallback to the server's")
        self.ctl("unset-domain", "shop.example")
        self.ctl("status")
        say()
        self.send_and_show([
            ("orders@shop.example", "Your order #1002", "sendgrid-like", "apikey"),
        ])
        say()
        say("shop.example's mail now leaves through the server-wide relay.")

        # 9. stop -----------------------------------------------------------
        step(9, "Stopping everything")
        self.stop()
        if etc_postfix_fingerprint() != etc_before:
            raise DemoError("/etc/postfix changed during the demo: this is a bug")
        say("/etc/postfix was not touched.")
        say("Postfix and both relays stopped, no process left; %s removed."
            % self.tmp.path)
        say()
        say(bold("Demo finished in %.0f s." % (time.monotonic() - started)))

    def show_secret_files(self):
        own = os.path.join(self.pf.config_dir, "smarthost")
        say()
        say("The passwords live only in these files (main.cf and master.cf "
            "name the maps):")
        lines = ["%s  %s/" % (oct(os.stat(own).st_mode & 0o777)[2:], self.short(own))]
        for name in sorted(os.listdir(own)):
            if name.endswith(".db"):
                continue
            mode = os.stat(os.path.join(own, name)).st_mode & 0o777
            lines.append("%s  %s/%s" % (oct(mode)[2:], self.short(own), name))
        say(indent("\n".join(lines)))

    def send_and_show(self, msgs):
        before = {r.name: len(r.messages()) for r in self.relays}
        log_start = len(self.pf.log_lines())
        tag = secrets.token_hex(3)
        for sender, subject, _, _ in msgs:
            shown = shlex.quote(sender) if sender else "''"
            say(dim("  sendmail -f %s %s   Subject: %s" % (shown, RCPT, subject)))
            self.pf.send(sender, RCPT, "%s [%s]" % (subject, tag))
        expected = {}
        for _, _, relay, _ in msgs:
            expected[relay] = expected.get(relay, 0) + 1

        def arrived():
            return all(len(r.messages()) - before[r.name] >= expected.get(r.name, 0)
                       for r in self.relays)
        try:
            harness.wait_for(arrived, DELIVERY_TIMEOUT, 0.2)
        except TimeoutError:
            raise DemoError("not every message reached a relay within %d s\n%s"
                            % (DELIVERY_TIMEOUT, self.diagnostics()))
        time.sleep(0.5)    # anything misrouted would arrive by now too

        received = []
        for r in self.relays:
            for m in r.messages()[before[r.name]:]:
                received.append(m)
        rows = []
        wrong = []
        for sender, subject, relay, user in msgs:
            hit = [m for m in received
                   if m.get("subject") == "%s [%s]" % (subject, tag)]
            if len(hit) != 1:
                wrong.append("%r arrived %d times" % (subject, len(hit)))
                continue
            m = hit[0]
            rows.append((sender or "<> (bounce)", subject, m["relay"],
                         m["user"] or "(none)", "yes" if m["tls"] else "NO"))
            if (m["relay"], m["user"]) != (relay, user) or not m["tls"]:
                wrong.append("%r: expected %s as %s over TLS, got %s as %s (tls=%s)"
                             % (subject, relay, user, m["relay"], m["user"], m["tls"]))
        say()
        say(indent(table(("Envelope sender", "Subject", "Received by",
                          "Authenticated as", "TLS"), rows), "  "))
        if wrong:
            raise DemoError("mail took the wrong route:\n  " + "\n  ".join(wrong))
        sent = []
        for line in self.pf.log_lines()[log_start:]:
            m = re.search(r"postfix/(\S+?)/smtp\[\d+\]: \w+: to=<[^>]*>, "
                          r"(relay=\S+?),.*(status=sent \(.*\))", line)
            if m:
                sent.append("%s  %s  %s" % m.groups())
        if sent:
            say()
            say("Postfix's log (master.cf transport, relay, result):")
            say(indent("\n".join(sent)))

    def diagnostics(self):
        lines = ["Queue:"]
        try:
            for q in self.pf.queue():
                for rc in q.get("recipients", []):
                    lines.append("  %s from <%s>: %s" % (
                        q.get("queue_id"), q.get("sender"),
                        rc.get("delay_reason", "(not tried yet)")))
        except Exception as e:          # diagnostics must not hide the error
            lines.append("  (postqueue failed: %s)" % e)
        lines.append("Last lines of %s:" % self.pf.maillog)
        lines += ["  " + line for line in self.pf.log_lines()[-15:]]
        text = "\n".join(lines)
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text

    def stop(self):
        """Stop Postfix and the relays, remove the temp folder; check that
        no process of ours is left.  Signals are ignored meanwhile, so a
        second Ctrl-C cannot leave a half-stopped Postfix behind."""
        saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in SIGNALS}
        try:
            self._stop()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)

    def _stop(self):
        errors = []
        if self.pf is not None:
            try:
                self.pf.cleanup()
                if harness._instance_pids(self.pf.config_dir):
                    errors.append("Postfix processes of the demo are still running")
            except Exception as e:
                errors.append("stopping Postfix: %s" % e)
            self.pf = None
        for r in self.relays:
            proc = r.proc
            try:
                r.stop()
            except Exception as e:
                errors.append("stopping relay %s: %s" % (r.name, e))
            if proc is not None and proc.poll() is None:
                errors.append("relay %s is still running" % r.name)
        self.relays = []
        if self.tmp is not None:
            self.tmp.cleanup()
            if os.path.exists(self.tmp.path) and not os.environ.get("SMARTHOST_E2E_KEEP"):
                errors.append("could not remove %s" % self.tmp.path)
        if errors:
            raise DemoError("cleanup: " + "; ".join(errors))


def etc_postfix_fingerprint():
    """Names, sizes, mtimes and hashes of the files in /etc/postfix."""
    result = {}
    for dirpath, _, filenames in os.walk("/etc/postfix"):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            except OSError:
                digest, st = None, None
            result[path] = (digest, st and (st.st_size, st.st_mtime_ns, st.st_mode))
    return result


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out = [fmt % header, fmt % tuple("-" * w for w in widths)]
    out += [fmt % row for row in rows]
    return "\n".join(line.rstrip() for line in out)


def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main():
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)
    demo = Demo()
    status = 0
    try:
        demo.run()
    except Interrupted as e:
        print("\ndemo: interrupted (%s); cleaning up" % e, file=sys.stderr)
        status = 130
    except (DemoError, harness.HarnessError, TimeoutError, OSError,
            subprocess.SubprocessError) as e:
        print("\ndemo FAILED: %s" % e, file=sys.stderr)
        if not os.environ.get("SMARTHOST_E2E_KEEP"):
            print("(run again with SMARTHOST_E2E_KEEP=1 to keep the temp folder "
                  "for inspection)", file=sys.stderr)
        status = 1
    finally:
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        try:
            demo.stop()
        except Exception as e:
            print("demo: %s" % e, file=sys.stderr)
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
