#!/usr/bin/python3
"""Hostile input: a table of bad inputs, each of which must give a clear
error and change nothing.

Every row runs one operation -- smarthostctl, the API through the GObject
bindings (a /usr/bin/python3 subprocess), or either of them on a
configuration directory with something wrong on disk -- in a fresh
temporary tree, and checks that

* the exit status is the one expected (1 or 2; the API script exits 2 on a
  GLib.Error),
* stderr names the problem (every needle of the row is in it), with no
  GLib criticals, warnings or sanitizer reports,
* stderr is short (``max_stderr``) and holds no raw control or format
  character, nor bytes that are not UTF-8: whatever the input held is
  shown escaped (an ESC as \x1b, a U+202E as \u202e),
* and nothing at all changed: the whole tree (files, links, folders, their
  bytes, modes, owners, inodes and modification times) is the same
  before and after.

Rows where the library misbehaves today are kept, marked with the bug they
show (``bug=``), and run as expected failures.

Needs Postfix's tools (postconf, postmap) but no running Postfix; rows that
need another user (setpriv/runuser to nobody) or valgrind are skipped
without them.
"""

import dataclasses
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unicodedata
import unittest

HERE = os.environ.get("SMARTHOST_E2E_DIR") or os.path.dirname(os.path.abspath(__file__))
SMARTHOSTCTL = os.environ.get("SMARTHOSTCTL", "smarthostctl")
STOCK_MASTER_CF = "/usr/share/postfix/master.cf.dist"
SECRET = "Bad-Input-Pw-9xQ2mZ7v"
PYTHON = "/usr/bin/python3"

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

# What no error message may contain.
FORBIDDEN = ("CRITICAL", "WARNING **", "AddressSanitizer", "runtime error:", "Segmentation",
             "LeakSanitizer", "Traceback")

API_PRELUDE = """\
import sys, gi
gi.require_version('Smarthost', '1.0')
from gi.repository import GLib, Smarthost
conf = sys.argv[1]
def relay(host='smtp.example.net', **props):
    r = Smarthost.Relay.new(host)
    for k, v in props.items():
        getattr(r, 'set_' + k)(v)
    return r
try:
{body}
except GLib.Error as e:
    sys.stderr.write('error %s %d: %s\\n' % (e.domain, e.code, e.message))
    sys.exit(2)
"""


@dataclasses.dataclass
class Row:
    name: str
    args: list = None            # smarthostctl arguments (str or bytes)
    api: str = None              # or: the body of an API script (indented 4)
    setup: callable = None       # setup(case) before the snapshot
    codes: tuple = (2,)
    needles: tuple = ()
    stdin: bytes = None
    as_nobody: bool = False
    managed: bool = False        # start from a configuration with a domain relay
    config_dir: bool = True      # add --config-dir
    valgrind: bool = False
    max_stderr: int = 8192       # bytes: no input comes back whole
    bug: str = None              # a known bug: the row is an expected failure


# --- setups ----------------------------------------------------------------

def write(path, data, mode=None):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    if mode is not None:
        os.chmod(path, mode)


def main_cf(data):
    return lambda c: write(c.path("main.cf"), data)


def master_cf(data):
    return lambda c: write(c.path("master.cf"), data)


def edit_file(name, old, new):
    def setup(c):
        with open(c.path(name), "rb") as f:
            data = f.read()
        assert old in data, (name, old)
        write(c.path(name), data.replace(old, new, 1))
    return setup


def replace_by_dir(name):
    def setup(c):
        os.unlink(c.path(name))
        os.mkdir(c.path(name))
    return setup


def remove(name):
    return lambda c: os.unlink(c.path(name))


def symlink_secrets(c):
    # The secrets map points at another file: the library must neither
    # write through the link nor read that file as its map (think of
    # /etc/shadow), nor silently replace the link.
    os.unlink(c.path("smarthost/sender_passwd"))
    os.symlink(c.victim, c.path("smarthost/sender_passwd"))


def symlink_own_folder(c):
    elsewhere = os.path.join(c.tmp, "elsewhere")
    os.rename(c.path("smarthost"), elsewhere)
    os.symlink(elsewhere, c.path("smarthost"))


def append_map(name, data):
    def setup(c):
        with open(c.path("smarthost/" + name), "ab") as f:
            f.write(data)
    return setup


def chmod(name, mode):
    return lambda c: os.chmod(c.path(name), mode)


def journal(data):
    return lambda c: write(c.path(".smarthost-journal"), data, 0o600)


def policy(data):
    return lambda c: write(os.path.join(c.tmp, "policy.ini"), data)


def json_file(data):
    return lambda c: write(os.path.join(c.tmp, "state.json"), data)


def state_with_domain(key, relay=None):
    """An apply file whose one domain is *key* (built when the row runs: a
    key of 10 MB is not kept in the table)."""
    return lambda c: write(os.path.join(c.tmp, "state.json"),
                           json.dumps({"server": None, "domains": {key() if callable(key) else key: relay}}))


def raw_controls(data):
    """The characters of *data* (stderr, bytes) that a terminal would act
    on or that hide what is written: control and format characters (but
    the line feed), and bytes that are not UTF-8."""
    text = data.decode("utf-8", errors="replace")
    return sorted({"U+%04X" % ord(ch) for ch in text
                   if (ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")) or ch == "\ufffd"})


# Escape sequences and bidi overrides, as a hostile domain or host holds them.
ESC_RED = "\x1b[31m"
TITLE = "\x1b]0;pwned\x07"
RLO = "\u202e"


HUGE = 1024 * 1024
GARBAGE = bytes(range(1, 256)) * 8 + b"\xff\xfe\x01garbage\n" * 4    # no NUL byte
WITH_NUL = b"\x00" + GARBAGE


def stock_master_cf():
    with open(STOCK_MASTER_CF, "rb") as f:
        return f.read()


def stock_master_cf_with_nul():
    data = stock_master_cf()
    i = data.index(b"\npickup") + 1
    return data[:i] + b"\0" + data[i:]


def relay_args(user="u"):
    return ["smtp.example.net", "--user", user, "--password-file", "{secret}"]


ROWS = [
    # --- command line: arguments -------------------------------------------
    Row("host_invalid_utf8", ["set-server", b"smtp.\xff.example"], needles=("host:",)),
    Row("host_invalid_utf8_read_past_end", ["set-server", b"abc\xdf"], needles=("host:", "UTF-8"),
        valgrind=True),
    Row("domain_invalid_utf8", ["set-domain", b"ex\xe4mple.com", "smtp.example.net"], needles=("domain:",)),
    Row("domain_invalid_utf8_says_so", ["set-domain", b"ex\xe4mple.com", "smtp.example.net"],
        needles=("domain:", "UTF-8")),
    Row("user_invalid_utf8", ["set-server", "smtp.example.net", "--user", b"\xffuser",
                              "--password-file", "{secret}"], needles=("--user", "UTF-8")),
    Row("user_invalid_utf8_with_equals", ["set-server", "smtp.example.net", b"--user=\xffuser",
                                          "--password-file", "{secret}"], needles=("--user", "UTF-8")),
    Row("password_invalid_utf8", ["set-server", "smtp.example.net", "--user", "u", "--password-stdin"],
        stdin=b"\xff\xfepw", needles=("password:",)),
    Row("password_nul_byte", ["set-server", "smtp.example.net", "--user", "u", "--password-stdin"],
        stdin=b"pw\0tail", needles=("password:",)),
    Row("host_10kB", ["set-server", "a" * 10240], needles=("host:",)),
    Row("host_10kB_of_labels", ["set-server", "a." * 5120 + "net"], needles=("host:",)),
    Row("domain_10kB", ["set-domain", "b." * 5120 + "com", "smtp.example.net"], needles=("domain:",)),
    Row("user_10kB", ["set-server", "smtp.example.net", "--user", "u" * 10240, "--password-file", "{secret}"],
        needles=("username:",)),
    Row("password_2kB", ["set-server", "smtp.example.net", "--user", "u", "--password-stdin"],
        stdin=b"p" * 2048, needles=("password:",)),
    Row("domain_ip_with_trailing_dot", ["set-domain", "192.0.2.1.", "smtp.example.net"],
        needles=("domain:", "not an address")),
    Row("ca_file_relative", ["set-server", "smtp.example.net", "--ca-file", "ca.pem"], needles=("ca-file:",)),
    Row("ca_file_directory", ["set-server", "smtp.example.net", "--ca-file", "/etc"], needles=("ca-file:",)),
    Row("config_dir_with_space", ["--config-dir", "{tmp}/post fix", "status"], config_dir=False,
        needles=("config-directory:",)),
    Row("config_dir_control_char", ["--config-dir", "{tmp}/post\x01fix", "status"], config_dir=False,
        needles=("config-directory:",)),
    Row("password_file_directory", ["set-server", "smtp.example.net", "--user", "u", "--password-file", "{tmp}"],
        needles=("password",)),
    Row("password_file_empty", ["set-server", "smtp.example.net", "--user", "u", "--password-file", "/dev/null"],
        needles=("password",)),
    Row("port_negative", ["set-server", "smtp.example.net", "--port", "-1"], needles=("port",)),
    Row("policy_binary_garbage", ["--policy", "{tmp}/policy.ini", "set-server", "smtp.example.net"],
        setup=policy(GARBAGE), needles=("policy",)),
    Row("apply_truncated_json", ["apply", "{tmp}/state.json"], setup=json_file('{"server": {"host": "a.b'),
        needles=("apply",)),
    Row("apply_binary_garbage", ["apply", "{tmp}/state.json"], setup=json_file(GARBAGE), needles=("apply",)),
    # json-glib parses by recursion: a million levels of nesting crashed
    # the process (issue 10). Refused before parsing, brackets in strings
    # not counted.
    Row("apply_deeply_nested_arrays", ["apply", "{tmp}/state.json"], managed=True,
        setup=json_file('{"server": null, "domains": ' + "[" * 1000000), needles=("apply", "nested too deep", "32 levels")),
    Row("apply_deeply_nested_objects", ["apply", "{tmp}/state.json"], managed=True,
        setup=json_file('{"server": null, "domains": ' + '{"a":' * 1000000 + "null" + "}" * 1000000 + "}"),
        needles=("apply", "nested too deep", "32 levels")),
    Row("apply_deeply_nested_dry_run_stdin", ["--dry-run", "apply", "-"], managed=True,
        stdin=b'{"server": null, "domains": {"a.example": {"host": "a.example.net", "username": "[[[[\\\"{{", '
              b'"password": ' + b"[" * 1000000 + b"}}}",
        needles=("standard input", "nested too deep", "32 levels")),
    # Longer than the library reads: said so, without reading it all.
    Row("apply_too_large_stdin", ["apply", "-"], managed=True,
        stdin=b'{"server": null, "domains": {}, "x": "' + b"a" * (128 * 1024 * 1024) + b'"}',
        needles=("standard input", "too large", "128 MiB")),

    # --- quoting: what comes back of the input is short and escaped --------
    Row("apply_domain_key_10MB", ["apply", "{tmp}/state.json"],
        setup=state_with_domain(lambda: "a" * (10 * HUGE) + ESC_RED + ".example"),
        needles=("domains:", '"aaaa', "more bytes"), max_stderr=2048),
    Row("apply_domain_key_10MB_valid_name", ["apply", "{tmp}/state.json"],
        setup=state_with_domain(lambda: "a." * (5 * HUGE) + "example", {"host": "smtp.example.net"}),
        needles=("domains:", "more bytes"), max_stderr=2048),
    Row("apply_domain_key_escape", ["apply", "{tmp}/state.json"],
        setup=state_with_domain("a" + ESC_RED + "b.example", {"host": "smtp.example.net"}),
        needles=("domains:", '"a\\x1b[31mb.example"')),
    Row("apply_domain_key_bidi", ["apply", "{tmp}/state.json"],
        setup=state_with_domain("moc." + RLO + "elpmaxe", {"host": "smtp.example.net"}),
        needles=("domains:", "\\u202e")),
    Row("apply_domain_key_c1_control", ["apply", "{tmp}/state.json"],
        setup=state_with_domain("a\u009b31mb.example", {"host": "smtp.example.net"}),
        needles=("domains:", "\\u009b")),
    Row("apply_host_escape", ["apply", "{tmp}/state.json"],
        setup=state_with_domain("a.example", {"host": "smtp" + TITLE + ".example.net"}),
        needles=("domains.a.example.host:",)),
    Row("apply_password_env_escape", ["apply", "{tmp}/state.json"],
        setup=state_with_domain("a.example", {"host": "smtp.example.net", "username": "u",
                                              "password_env": "NO_SUCH_VARIABLE" + ESC_RED}),
        needles=("password_env", '"NO_SUCH_VARIABLE\\x1b[31m"')),
    Row("apply_password_file_escape", ["apply", "{tmp}/state.json"],
        setup=state_with_domain("a.example", {"host": "smtp.example.net", "username": "u",
                                              "password_file": "/nonexistent/" + TITLE + RLO}),
        needles=("password_file", "\\x1b]0;pwned\\x07\\u202e")),
    Row("apply_file_name_escape", ["apply", "{tmp}/no" + ESC_RED + "such.json"], needles=("apply",)),
    Row("set_domain_hostile_name", ["set-domain", "ex" + ESC_RED + "ample" + RLO + ".com", "smtp.example.net"],
        needles=("domain:",)),
    Row("set_domain_bidi_name", ["set-domain", "moc." + RLO + "elpmaxe", "smtp.example.net"],
        needles=("domain:",)),
    Row("set_server_hostile_host", ["set-server", "smtp" + TITLE + ".example" + RLO + ".net"], needles=("host:",)),
    Row("set_server_bidi_host", ["set-server", "smtp.\u2066example\u2069.net"], needles=("host:",)),
    Row("config_dir_bidi", ["--config-dir", "{tmp}/post" + RLO + "fix", "status"], config_dir=False,
        needles=("config-directory:", "\\u202e")),
    Row("unknown_command_escape", [ESC_RED + "x" * 100000], needles=("unknown command", "more bytes")),
    Row("policy_key_escape", ["--policy", "{tmp}/policy.ini", "set-server", "smtp.example.net"],
        setup=policy("[mail]\nsmarthost." + ESC_RED + "enabled = true\n"),
        needles=("policy", "\\x1b[31m")),

    # --- hosts the resolver reads as addresses ----------------------------------
    Row("host_ipv4_short", ["set-server", "127.1"], needles=("host:", "127.0.0.1 written short")),
    Row("host_ipv4_hex", ["set-server", "0x7f.1"], needles=("host:", "127.0.0.1 written in hexadecimal")),
    Row("host_ipv4_octal", ["set-server", "0177.0.0.1"], needles=("host:", "127.0.0.1 written in octal")),
    Row("host_ipv4_short_no_verify", ["set-server", "127.1", "--no-verify-certificate"],
        needles=("host:", "write it as 127.0.0.1")),
    Row("host_numeric_last_label", ["set-server", "1.2.3.4.5"], needles=("host:", "neither an IP address")),
    Row("domain_ipv4_short", ["set-domain", "127.1", "smtp.example.net"], needles=("domain:", "127.0.0.1")),

    # --- files on disk -------------------------------------------------------
    Row("main_cf_truncated_mid_line", ["set-server", "smtp.example.net"],
        setup=main_cf(MAIN_CF[:MAIN_CF.index("compatibility_level") + 10]), codes=(1,),
        needles=("main.cf", "missing '='")),
    Row("main_cf_truncated_mid_continuation", ["set-server", "smtp.example.net"],
        setup=main_cf("biff = no\nmydestination = $myhostname,\n    ${inet_interfaces?{"), codes=(1,),
        needles=("macro",)),
    # Bytes that are not UTF-8 in main.cf or master.cf are kept as they
    # are (Postfix reads bytes) unless libsmarthost interprets them (issue
    # 10): binary garbage no longer fails the read itself, Postfix's tools
    # reject it during the commit, which is undone; status has nothing of
    # ours to read in it (the doctor is where it shows).
    Row("main_cf_binary_garbage", ["set-server", "smtp.example.net"], setup=main_cf(GARBAGE), codes=(1,),
        needles=("main.cf", "nothing was changed", "missing '='")),
    Row("main_cf_binary_garbage_status", ["status"], setup=main_cf(GARBAGE), codes=(0,)),
    Row("main_cf_relayhost_not_utf8", ["set-server", "smtp.example.net"],
        setup=main_cf(MAIN_CF.encode() + b"relayhost = [caf\xe9.example]:587\n"),
        needles=("main.cf", "line %d:" % (MAIN_CF.count("\n") + 1), "relayhost", "not UTF-8")),
    Row("main_cf_relayhost_not_utf8_status", ["status"],
        setup=main_cf(MAIN_CF.encode() + b"relayhost = [caf\xe9.example]:587\n"),
        needles=("main.cf", "relayhost", "not UTF-8")),
    Row("main_cf_sasl_option_not_utf8_continued", ["--dry-run", "set-server", "smtp.example.net"],
        setup=main_cf(MAIN_CF.encode() + b"smtp_sasl_password_maps =\n    hash:/etc/postfix/caf\xe9\n"),
        needles=("main.cf", "line %d:" % (MAIN_CF.count("\n") + 2), "smtp_sasl_password_maps", "not UTF-8")),
    Row("master_cf_own_transport_not_utf8", ["status"], managed=True,
        setup=edit_file("master.cf", b"smtp_tls_loglevel=1", b"smtp_tls_loglevel=1\xe9"),
        needles=("master.cf", "smarthost-domain-", "not UTF-8")),
    Row("master_cf_tls_option_not_utf8", ["set-server", "smtp.example.net"],
        setup=master_cf(stock_master_cf() + b"hand unix - - y - - smtp\n  -o smtp_tls_CAfile=/caf\xe9.pem\n"),
        needles=("master.cf", "-o smtp_tls_CAfile", "not UTF-8")),
    Row("main_cf_nul_byte", ["set-server", "smtp.example.net"],
        setup=main_cf(MAIN_CF.replace("biff = no\n", "biff = no\n\0")),
        needles=("main.cf", "not a text file", "NUL byte")),
    Row("main_cf_binary_garbage_with_nul", ["status"], setup=main_cf(WITH_NUL),
        needles=("main.cf", "not a text file", "line 1")),
    Row("master_cf_nul_byte", ["set-server", "smtp.example.net"], setup=master_cf(stock_master_cf_with_nul()),
        needles=("master.cf", "not a text file", "NUL byte")),
    Row("main_cf_is_a_directory", ["set-server", "smtp.example.net"], setup=replace_by_dir("main.cf"),
        needles=("main.cf", "directory")),
    Row("main_cf_missing", ["status"], setup=remove("main.cf"), needles=("main.cf", "does not exist")),
    Row("main_cf_huge_garbage_line", ["set-server", "smtp.example.net"],
        setup=main_cf(MAIN_CF + "x" * HUGE + "\n"), codes=(1,), needles=("main.cf",)),
    Row("master_cf_missing", ["set-server", "smtp.example.net"], setup=remove("master.cf"),
        needles=("master.cf", "does not exist")),
    Row("master_cf_is_a_directory", ["set-server", "smtp.example.net"], setup=replace_by_dir("master.cf"),
        needles=("master.cf",)),
    Row("master_cf_binary_garbage", ["set-server", "smtp.example.net"], setup=master_cf(GARBAGE), codes=(1,),
        needles=("nothing was changed", "Postfix rejects")),
    # Text that Postfix rejects: the commit is undone, and the error names
    # master.cf and quotes no more than a line of postconf's.
    Row("master_cf_text_garbage", ["set-server", "smtp.example.net"],
        setup=lambda c: write(c.path("master.cf"), stock_master_cf() + b"x" * 3000 + b" junk\n"),
        codes=(1,), needles=("master.cf", "nothing was changed")),
    Row("own_folder_is_a_file", ["set-server", "smtp.example.net"],
        setup=lambda c: write(c.path("smarthost"), "not a folder\n"), codes=(1,), needles=("smarthost",)),
    Row("own_folder_is_a_file_status", ["status"],
        setup=lambda c: write(c.path("smarthost"), "not a folder\n"), codes=(1,), needles=("smarthost",)),
    Row("secrets_map_is_a_symlink", ["set-domain", "b.example"] + relay_args("u2"), managed=True,
        setup=symlink_secrets, codes=(1,), needles=("sender_passwd", "symbolic link")),
    Row("secrets_map_is_a_symlink_status", ["status"], managed=True, setup=symlink_secrets, codes=(1,),
        needles=("sender_passwd", "symbolic link")),
    Row("own_folder_is_a_symlink", ["set-domain", "b.example"] + relay_args("u2"), managed=True,
        setup=symlink_own_folder, codes=(1, 2), needles=("smarthost",)),
    Row("map_is_a_directory", ["status"], managed=True,
        setup=lambda c: (os.unlink(c.path("smarthost/sender_transport")),
                         os.mkdir(c.path("smarthost/sender_transport"))),
        codes=(1,), needles=("sender_transport",)),
    Row("map_with_text_garbage", ["set-domain", "b.example", "smtp.example.net"], managed=True,
        setup=append_map("sender_transport", b"this is not a lookup table line\n@c.example\n"), codes=(1,),
        needles=("sender_transport", "line 4", "drop")),
    Row("map_with_foreign_entry", ["set-domain", "b.example", "smtp.example.net"], managed=True,
        setup=append_map("sender_transport", b"@c.example smtp:[mine.example]:25\n"), codes=(1,),
        needles=("sender_transport", "@c.example smtp:[mine.example]:25")),
    Row("map_with_foreign_entry_dry_run", ["--dry-run", "unset-domain", "a.example"], managed=True,
        setup=append_map("sender_transport", b"@c.example smtp:[mine.example]:25\n"), codes=(1,),
        needles=("sender_transport", "@c.example")),
    Row("secrets_map_with_orphan_credentials", ["set-domain", "b.example", "smtp.example.net"], managed=True,
        setup=append_map("sender_passwd", b"@c.example someone:" + SECRET.encode() + b"\n"), codes=(1,),
        needles=("sender_passwd", "@c.example")),
    Row("map_with_binary_garbage", ["set-domain", "b.example", "smtp.example.net"], managed=True,
        setup=append_map("sender_transport",
                         b"\x00\xff\xfe junk\n@d.example smarthost-domain-starttls:[lost.example]:587\n"),
        codes=(1,), needles=("sender_transport", "not a text file")),
    Row("journal_garbage", ["status"], managed=True, setup=journal(GARBAGE), codes=(1, 2),
        needles=("journal",)),
    Row("journal_truncated", ["set-domain", "b.example", "smtp.example.net"], managed=True,
        setup=journal(b"smarthost-journal 1\n"), codes=(1, 2), needles=("journal",)),

    # --- permissions -----------------------------------------------------------
    Row("no_permission_to_write", ["set-server", "smtp.example.net"], as_nobody=True, codes=(1,),
        needles=("Permission denied",)),
    Row("no_permission_to_read_secrets", ["status"], managed=True, as_nobody=True, codes=(1,),
        needles=("smarthost/", "Permission denied")),
    Row("no_permission_to_read_main_cf", ["status"], as_nobody=True, setup=chmod("main.cf", 0),
        needles=("main.cf", "Permission denied")),

    # --- the API -----------------------------------------------------------------
    Row("api_relative_config_dir", api="    Smarthost.PostfixBackend.new('postfix').get_server(None)",
        needles=("config-directory:",)),
    Row("api_port_out_of_range", api="    Smarthost.PostfixBackend.new(conf).set_server(relay(port=70000), None)",
        needles=("port:",)),
    Row("api_host_with_newline",
        api="    Smarthost.PostfixBackend.new(conf).set_server(relay('smtp.example.net\\nrelayhost = x'), None)",
        needles=("host:",)),
    Row("api_domain_with_space",
        api="    Smarthost.PostfixBackend.new(conf).set_domain('bad domain.com', relay(), None)",
        needles=("domain:",)),
    Row("api_domain_10kB",
        api="    Smarthost.PostfixBackend.new(conf).set_domain('b.' * 5120 + 'com', relay(), None)",
        needles=("domain:",)),
    Row("api_ca_file_relative",
        api="    Smarthost.PostfixBackend.new(conf).set_server(relay(ca_file='ca.pem'), None)",
        needles=("ca-file:",)),
    Row("api_password_without_user",
        api="    Smarthost.PostfixBackend.new(conf).set_server(relay(password='x'), None)",
        needles=("password:",)),
    # As main_cf_binary_garbage_status: nothing the library reads (issue 10).
    Row("api_main_cf_binary_garbage", api="    Smarthost.PostfixBackend.new(conf).get_server(None)",
        setup=main_cf(GARBAGE), codes=(0,)),
    Row("api_main_cf_relayhost_not_utf8", api="    Smarthost.PostfixBackend.new(conf).get_server(None)",
        setup=main_cf(MAIN_CF.encode() + b"relayhost = [caf\xe9.example]:587\n"),
        needles=("relayhost", "not UTF-8")),
    Row("api_main_cf_nul_byte", api="    Smarthost.PostfixBackend.new(conf).set_server(relay(), None)",
        setup=main_cf(MAIN_CF.replace("biff = no\n", "biff = no\n\0")), needles=("not a text file",)),
    Row("api_transaction_main_cf_is_a_directory",
        api="    tx = Smarthost.PostfixBackend.new(conf).begin()\n"
            "    tx.set_server(relay())\n"
            "    tx.commit(None)",
        setup=replace_by_dir("main.cf"), needles=("main.cf",)),
]


def snapshot(root):
    """Everything under root: type, mode, owner, bytes or link target, and
    for files their inode and modification time (a rewrite with the same
    bytes is a change too)."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            entry = [stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid]
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    entry += [f.read(), st.st_ino, st.st_mtime_ns]
            elif stat.S_ISLNK(st.st_mode):
                entry.append(os.readlink(path))
            result[os.path.relpath(path, root)] = tuple(entry)
    return result


def describe_difference(before, after):
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            what = ("added" if key not in before else "removed" if key not in after else "changed")
            lines.append("%s: %s" % (key, what))
    return "\n".join(lines)


def drop_privileges():
    """The argv prefix that runs a command as nobody, or None."""
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    return None


class BadInput(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="smarthost-bad-input-")
        os.chmod(self.tmp, 0o755)
        self.conf = os.path.join(self.tmp, "postfix")
        os.mkdir(self.conf, 0o755)
        write(self.path("main.cf"), MAIN_CF, 0o644)
        shutil.copy(STOCK_MASTER_CF, self.path("master.cf"))
        self.secret_file = os.path.join(self.tmp, "secret")
        write(self.secret_file, SECRET + "\n", 0o600)
        self.victim = os.path.join(self.tmp, "victim")
        write(self.victim, "victim:not-a-secrets-map\n", 0o644)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.conf, name)

    def cool_down(self):
        # Postfix waits for a main.cf younger than two seconds; date every
        # file back (before the snapshot, so that this is no change).
        past = time.time() - 10
        for dirpath, dirnames, filenames in os.walk(self.tmp):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    os.utime(path, (past, past))

    def env(self):
        env = dict(os.environ)
        env.setdefault("SMARTHOST_POLICY", os.path.join(HERE, "..", "fixtures", "policy-allow-all.ini"))
        return env

    def run_ctl(self, args, stdin=None, prefix=(), timeout=120):
        argv = list(prefix) + [SMARTHOSTCTL] + list(args)
        return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, env=self.env())

    def make_managed(self):
        proc = self.run_ctl(["--config-dir", self.conf, "set-domain", "a.example", "smtp.example.net",
                             "--user", "u", "--password-file", self.secret_file])
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def expand(self, arg):
        if isinstance(arg, str):
            return arg.replace("{secret}", self.secret_file).replace("{tmp}", self.tmp)
        return arg

    def check_row(self, row):
        if row.managed:
            self.make_managed()
        if row.setup:
            row.setup(self)
        prefix = []
        if row.as_nobody:
            prefix = drop_privileges()
            if prefix is None:
                self.skipTest("needs root and setpriv or runuser to run as nobody")
        if row.valgrind:
            if not shutil.which("valgrind"):
                self.skipTest("valgrind not found")
            prefix = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=no"]
        self.cool_down()
        before = snapshot(self.tmp)

        if row.api is not None:
            script = API_PRELUDE.format(body=row.api)
            proc = subprocess.run(prefix + [PYTHON, "-c", script, self.conf], capture_output=True,
                                  timeout=120, env=self.env())
        else:
            args = [self.expand(a) for a in row.args]
            if row.config_dir:
                args = ["--config-dir", self.conf] + args
            proc = self.run_ctl(args, stdin=row.stdin, prefix=prefix)
        out = proc.stdout.decode(errors="replace")
        err = proc.stderr.decode(errors="replace")
        report = "exit %d\nstdout: %s\nstderr: %s" % (proc.returncode, out[:2000], err[:3000])

        self.assertNotIn(SECRET, out + err, "the password leaked into the output")
        for word in FORBIDDEN:
            self.assertNotIn(word, err, report)
        self.assertEqual(raw_controls(proc.stderr), [], "raw control characters on stderr\n" + report)
        self.assertLessEqual(len(proc.stderr), row.max_stderr, report)
        self.assertIn(proc.returncode, row.codes, report)
        for needle in row.needles:
            self.assertIn(needle, err, report)
        after = snapshot(self.tmp)
        self.assertTrue(before == after, "the tree changed:\n%s\n%s" % (describe_difference(before, after),
                                                                        report))


def make_test(row):
    def test(self):
        self.check_row(row)
    test.__doc__ = row.bug
    if row.bug:
        test = unittest.expectedFailure(test)
    return test


for _row in ROWS:
    assert not hasattr(BadInput, "test_" + _row.name), _row.name
    setattr(BadInput, "test_" + _row.name, make_test(_row))


if __name__ == "__main__":
    unittest.main(verbosity=2)
