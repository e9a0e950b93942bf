#!/usr/bin/python3
# run-snippets.py: runs every code snippet of the documentation, so that the
# documentation never rots
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: run-snippets.py [--verbose] --source-root DIR --build-root DIR
#                        --smarthostctl PATH [--gjs PATH] [--cc PATH]
#                        [FILE.md...]
#
# Without files it reads README.md and doc/*.md. It prints TAP, one test per
# snippet, and fails a snippet with its file and line.
#
# What runs, and how
#
#   Fenced blocks tagged ```python, ```js, ```c and ```sh run; blocks with no
#   tag or another one (output, configuration text, ```ini) are text. The
#   tags bash, shell, console, py and javascript are refused: a snippet
#   tagged so would silently never run.
#
#   A snippet that cannot run here (it needs a real relay, the network, root,
#   or installs packages) is marked in the Markdown with a comment on the
#   line before its fence, saying why:
#
#       <!-- snippet: skip (needs a real relay) -->
#
#   Skipped snippets are counted and listed (TAP "# SKIP"). A marker that is
#   not followed by a fence is an error.
#
#   python  The python snippets of one page run in order in one namespace, in
#           one /usr/bin/python3 process, the way a reader follows the page:
#           a later snippet uses the `backend` or `relay` an earlier one made.
#           The first one that fails fails the page's remaining ones.
#   js      The js snippets of one page run in order as one ES module with
#           gjs -m; a snippet that starts with an import starts a new
#           module (a complete script stands alone). Top-level await works.
#   c       Each snippet is compiled and linked against the uninstalled
#           library (meson-uninstalled/libsmarthost-1.0-uninstalled.pc) with
#           -Wall -Werror, then run. A snippet without a main() is the body
#           of one, after #include <smarthost-postfix.h> (which includes
#           <smarthost.h>).
#   sh      Each snippet runs with bash -e -o pipefail. `smarthostctl` on
#           PATH is the built one, with --config-dir set to the page's
#           temporary Postfix directory. The working directory is a
#           temporary one where `_build` is the build tree and `examples`
#           the source's examples/.
#
#   The languages of a page run one after the other (python, js, c, sh),
#   each in the order of the page.
#
#   Errors point at the Markdown: each snippet is placed at its own line
#   numbers (Python's compile(), C's #line, blank lines before js and sh).
#
# The setup every snippet finds
#
#   - /etc/postfix means a temporary Postfix configuration directory of the
#     page (Debian's stock master.cf and a two-line main.cf), never the
#     machine's: the path is replaced in the snippet's text. It is shared by
#     all snippets of the page, so a page can set a relay and read it back.
#   - /root/NAME and /etc/smarthost/NAME mean a temporary file holding a fake
#     password, made for every such path a snippet names.
#   - Fake secrets: SENDGRID_KEY and SHOP_KEY in the environment; in Python
#     `api_key`, `shop_password` and `domain_passwords` (two domains); in JS
#     `apiKey` and `shopPassword`.
#   - The environment of the python suite (GI_TYPELIB_PATH, LD_LIBRARY_PATH,
#     PYTHONPATH for the overrides, SMARTHOST_POLICY allowing everything),
#     which meson gives this test.
#   - A commit never reloads a running Postfix: none runs on the temporary
#     directory.

import argparse
import contextlib
import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

RUNNABLE = ('python', 'js', 'c', 'sh')
REFUSED = {'bash': 'sh', 'shell': 'sh', 'console': 'sh', 'py': 'python', 'javascript': 'js'}
SKIP_RE = re.compile(r'^<!--\s*snippet:\s*skip\s*\((.+)\)\s*-->\s*$')
FENCE_RE = re.compile(r'^```(\S*)\s*$')
SECRET_PATH_RE = re.compile(r'(?<![\w/])(/root|/etc/smarthost)/([\w.-]+)')
POSTFIX_DIR_RE = re.compile(r'(?<![\w/])/etc/postfix(?![\w.-])')
TIMEOUT = 120

FAKE_PASSWORD = 'Fake-Doc-Password-0ddba11'
FAKE_ENV = {'SENDGRID_KEY': 'SG.Fake-Doc-Key-c0ffee', 'SHOP_KEY': 'Fake-Shop-Key-feed'}
PY_PRELUDE = {
    'api_key': 'SG.Fake-Doc-Key-c0ffee',
    'shop_password': 'Fake-Shop-Password-beef',
    'domain_passwords': {'a.example': 'Fake-Password-a', 'b.example': 'Fake-Password-b'},
}
JS_PRELUDE = ("const apiKey = 'SG.Fake-Doc-Key-c0ffee'; "
              "const shopPassword = 'Fake-Shop-Password-beef';")
MAIN_CF = 'compatibility_level = 3.6\nmyhostname = mail.example.org\n'


class Snippet:
    def __init__(self, path, fence_line, lang, lines, skip):
        self.path = path              # as shown: relative to the source root
        self.fence_line = fence_line  # line of the opening fence, from 1
        self.lang = lang
        self.lines = lines
        self.skip = skip              # the reason, or None

    @property
    def first_line(self):
        return self.fence_line + 1

    @property
    def code(self):
        return ''.join(self.lines)

    def where(self):
        return '%s:%d' % (self.path, self.fence_line)


def extract(path, shown):
    """The fenced blocks of a Markdown file, and the problems of its markers."""
    snippets, problems, text_blocks = [], [], 0
    with open(path, encoding='utf-8') as f:
        lines = f.readlines()
    pending_skip = None   # (line, reason) of a marker waiting for its fence
    i = 0
    while i < len(lines):
        line = lines[i].rstrip('\n')
        m = SKIP_RE.match(line)
        if m:
            if pending_skip:
                problems.append('%s:%d: skip marker not followed by a code block' % (shown, pending_skip[0]))
            pending_skip = (i + 1, m.group(1))
            i += 1
            continue
        if line.startswith('<!--') and 'snippet' in line:
            problems.append('%s:%d: unreadable snippet marker; write <!-- snippet: skip (why) -->' % (shown, i + 1))
        m = FENCE_RE.match(line)
        if not m:
            if line.strip() and pending_skip:
                problems.append('%s:%d: skip marker not followed by a code block' % (shown, pending_skip[0]))
                pending_skip = None
            i += 1
            continue
        lang, start = m.group(1), i
        body = []
        i += 1
        while i < len(lines) and not lines[i].startswith('```'):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            problems.append('%s:%d: code block never closed' % (shown, start + 1))
        i += 1
        if lang in REFUSED:
            problems.append('%s:%d: tag the block ```%s, not ```%s: only python, js, c and sh blocks run'
                            % (shown, start + 1, REFUSED[lang], lang))
        if lang in RUNNABLE:
            snippets.append(Snippet(shown, start + 1, lang, body, pending_skip and pending_skip[1]))
        else:
            text_blocks += 1
            if pending_skip:
                problems.append('%s:%d: skip marker before a block that never runs (```%s)'
                                % (shown, pending_skip[0], lang))
        pending_skip = None
    if pending_skip:
        problems.append('%s:%d: skip marker not followed by a code block' % (shown, pending_skip[0]))
    return snippets, problems, text_blocks


class Page:
    """The temporary setup shared by the snippets of one Markdown file."""

    def __init__(self, args, shown):
        self.args = args
        self.shown = shown
        self.tmp = tempfile.mkdtemp(prefix='smarthost-doc-')
        self.conf = os.path.join(self.tmp, 'postfix')
        self.secrets = os.path.join(self.tmp, 'secrets')
        self.work = os.path.join(self.tmp, 'work')
        self.bin = os.path.join(self.tmp, 'bin')
        for d in (self.conf, self.secrets, self.work, self.bin):
            os.mkdir(d, 0o700)
        shutil.copy('/usr/share/postfix/master.cf.dist', os.path.join(self.conf, 'master.cf'))
        with open(os.path.join(self.conf, 'main.cf'), 'w') as f:
            f.write(MAIN_CF)
        # Postfix ignores a main.cf changed in the last two seconds.
        past = time.time() - 10
        for name in ('main.cf', 'master.cf'):
            os.utime(os.path.join(self.conf, name), (past, past))
        os.symlink(args.build_root, os.path.join(self.work, '_build'))
        os.symlink(os.path.join(args.source_root, 'examples'), os.path.join(self.work, 'examples'))
        wrapper = os.path.join(self.bin, 'smarthostctl')
        with open(wrapper, 'w') as f:
            f.write('#!/bin/sh\nexec %s --config-dir %s "$@"\n'
                    % (shell_quote(args.smarthostctl), shell_quote(self.conf)))
        os.chmod(wrapper, 0o755)
        self.env = dict(os.environ)
        self.env.update(FAKE_ENV)
        self.env['PATH'] = self.bin + os.pathsep + self.env.get('PATH', '/usr/bin:/bin')
        # What a snippet leaves in the temporary folder goes with the page.
        self.env['TMPDIR'] = os.path.join(self.tmp, 'tmp')
        os.mkdir(self.env['TMPDIR'], 0o700)

    def localize(self, code):
        """The snippet's text with the machine's paths replaced by the page's."""
        def secret(m):
            path = os.path.join(self.secrets, m.group(2))
            if not os.path.exists(path):
                with open(path, 'w') as f:
                    f.write(FAKE_PASSWORD + '\n')
                os.chmod(path, 0o600)
            return path
        code = SECRET_PATH_RE.sub(secret, code)
        return POSTFIX_DIR_RE.sub(self.conf, code)

    def padded(self, snippet, first_line=''):
        """Source that puts the snippet at its own line numbers."""
        pad = snippet.first_line - 1
        return first_line + '\n' * (pad - first_line.count('\n')) + self.localize(snippet.code)

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def run(cmd, page, **kw):
    try:
        proc = subprocess.run(cmd, cwd=page.work, env=page.env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=TIMEOUT, **kw)
        return proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b'').decode(errors='replace')
        return -1, out + '\ntimed out after %d s\n' % TIMEOUT


# Python: a child process runs the page's snippets in one namespace.

def exec_python_page(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    namespace = {'__name__': '__main__'}
    namespace.update(PY_PRELUDE)
    results = []
    for item in spec['snippets']:
        out = io.StringIO()
        ok = True
        try:
            code = compile(item['source'], item['filename'], 'exec')
            with contextlib.redirect_stdout(out):
                exec(code, namespace)
        except BaseException:
            ok = False
            out.write(traceback.format_exc())
        results.append({'ok': ok, 'output': out.getvalue()})
        with open(spec['results'], 'w') as f:
            json.dump(results, f)
        if not ok:
            break
    return 0


def run_python(page, snippets, report):
    spec = os.path.join(page.tmp, 'python.json')
    results_path = os.path.join(page.tmp, 'python-results.json')
    with open(spec, 'w') as f:
        json.dump({'results': results_path,
                   'snippets': [{'source': page.padded(s),
                                 'filename': os.path.join(page.args.source_root, s.path)}
                                for s in snippets]}, f)
    rc, output = run([sys.executable, os.path.abspath(__file__), '--exec-python', spec], page)
    results = []
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)
    if rc != 0 and len(results) == len(snippets) and results[-1]['ok']:
        # Every snippet ran, but the interpreter failed on its way out.
        results[-1] = {'ok': False, 'output': results[-1]['output']
                       + 'the interpreter exited with status %d after the last snippet:\n%s' % (rc, output)}
    elif output.strip() and results:
        # What went to standard error (GLib's warnings) or around Python's print.
        results[-1]['output'] += output
    for i, s in enumerate(snippets):
        if i < len(results):
            r = results[i]
            report(s, r['ok'], r['output'])
        elif results and not results[-1]['ok']:
            report(s, False, 'not run: an earlier snippet of the page failed')
        else:
            report(s, False, 'the interpreter ended before this snippet (exit status %d):\n%s' % (rc, output))


def run_js(page, snippets, report):
    programs = []
    for s in snippets:
        first = next((l for l in s.lines if l.strip()), '')
        if not programs or first.startswith('import '):
            programs.append([])
        programs[-1].append(s)
    for n, program in enumerate(programs):
        # One module: each snippet at its own lines, the prelude on line 1.
        text = JS_PRELUDE + '\n'
        line = 2
        for s in program:
            text += '\n' * (s.first_line - line) + page.localize(s.code)
            line = s.first_line + len(s.lines)
        name = os.path.join(page.tmp, '%s.%d.js' % (os.path.basename(page.shown), n))
        with open(name, 'w') as f:
            f.write(text)
        rc, output = run([page.args.gjs, '-m', name], page)
        output = output.replace('file://' + name, page.shown).replace(name, page.shown)
        detail = output
        if rc != 0:
            detail += '\ngjs exit status %d (the module of the snippets at lines %s)' % (
                rc, ', '.join(str(s.fence_line) for s in program))
        for s in program:
            report(s, rc == 0, detail if s is program[-1] or rc != 0 else '')


def run_c(page, snippets, report):
    for n, s in enumerate(snippets):
        code = page.localize(s.code)
        directive = '#line %d "%s"\n' % (s.first_line, s.path)
        if re.search(r'\bmain\s*\(', code):
            source = directive + code
        else:
            source = ('#include <smarthost-postfix.h>\n\nint\nmain (void)\n{\n'
                      + directive + code + '\n  return 0;\n}\n')
        src = os.path.join(page.tmp, 'snippet%d.c' % n)
        exe = os.path.join(page.tmp, 'snippet%d' % n)
        with open(src, 'w') as f:
            f.write(source)
        pc_env = dict(page.env)
        pc_env['PKG_CONFIG_PATH'] = os.path.join(page.args.build_root, 'meson-uninstalled')
        flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'libsmarthost-1.0'], env=pc_env,
                               stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.split()
        rc, output = run([page.args.cc, '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror',
                          src, '-o', exe] + flags, page)
        if rc != 0:
            report(s, False, 'does not compile:\n' + output)
            continue
        rc, output = run([exe], page)
        report(s, rc == 0, output + ('' if rc == 0 else '\nexit status %d' % rc))


def run_sh(page, snippets, report):
    for n, s in enumerate(snippets):
        prelude = ('set -e -o pipefail; trap \'echo "%s:$LINENO: exit status $?: $BASH_COMMAND" >&2\' ERR'
                   % s.path)
        script = os.path.join(page.tmp, 'snippet%d.sh' % n)
        with open(script, 'w') as f:
            f.write(page.padded(s, prelude))
        rc, output = run(['bash', script], page)
        report(s, rc == 0, output + ('' if rc == 0 else '\nexit status %d' % rc))


RUNNERS = {'python': run_python, 'js': run_js, 'c': run_c, 'sh': run_sh}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--exec-python':
        return exec_python_page(sys.argv[2])
    parser = argparse.ArgumentParser()
    parser.add_argument('--source-root', required=True)
    parser.add_argument('--build-root', required=True)
    parser.add_argument('--smarthostctl', required=True)
    parser.add_argument('--gjs')
    parser.add_argument('--cc', default=os.environ.get('CC', 'cc'))
    parser.add_argument('--verbose', '-v', action='store_true')
    parser.add_argument('files', nargs='*')
    args = parser.parse_args()
    args.source_root = os.path.abspath(args.source_root)
    args.build_root = os.path.abspath(args.build_root)
    args.smarthostctl = os.path.abspath(args.smarthostctl)
    files = args.files or ([os.path.join(args.source_root, 'README.md')]
                           + sorted(glob.glob(os.path.join(args.source_root, 'doc', '*.md'))))

    counter = {'n': 0, 'failed': [], 'skipped': [], 'ran': 0}

    def tap(ok, description, detail='', directive=''):
        counter['n'] += 1
        print('%s %d - %s%s' % ('ok' if ok else 'not ok', counter['n'], description, directive))
        if detail and (not ok or args.verbose):
            for line in detail.rstrip('\n').split('\n'):
                print('#   ' + line)
        sys.stdout.flush()

    results = []   # of the current page, reported in the order of its lines

    def report(snippet, ok, detail=''):
        counter['ran'] += 1
        if not ok:
            counter['failed'].append(snippet.where())
        results.append((snippet.fence_line, ok, '%s %s' % (snippet.where(), snippet.lang), detail, ''))

    def skip(snippet, reason):
        counter['skipped'].append('%s (%s)' % (snippet.where(), reason))
        results.append((snippet.fence_line, True, '%s %s' % (snippet.where(), snippet.lang), '',
                        ' # SKIP ' + reason))

    problems, text_blocks = [], 0
    for path in files:
        shown = os.path.relpath(path, args.source_root)
        snippets, page_problems, page_text = extract(path, shown)
        problems += page_problems
        text_blocks += page_text
        results.clear()
        for s in snippets:
            if s.skip:
                skip(s, s.skip)
        page = Page(args, shown)
        try:
            for lang in RUNNABLE:
                todo = [s for s in snippets if s.lang == lang and not s.skip]
                if not todo:
                    continue
                if lang == 'js' and not args.gjs:
                    for s in todo:
                        skip(s, 'gjs is not installed')
                    continue
                RUNNERS[lang](page, todo, report)
        finally:
            page.cleanup()
        for _, ok, description, detail, directive in sorted(results, key=lambda r: r[0]):
            tap(ok, description, detail, directive)
    for problem in problems:
        tap(False, problem)
    print('1..%d' % counter['n'])
    print('# %d snippets ran, %d failed; %d skipped; %d blocks are text (not run)'
          % (counter['ran'], len(counter['failed']), len(counter['skipped']), text_blocks))
    for where in counter['skipped']:
        print('# skipped: ' + where)
    for where in counter['failed']:
        print('# FAILED: ' + where)
    return 1 if counter['failed'] or problems else 0


if __name__ == '__main__':
    sys.exit(main())
