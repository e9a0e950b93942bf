#!/usr/bin/python3
"""The core includes nothing from the backends or the tools.

Dependencies point one way: tools/ -> backends/ -> libsmarthost/. This
fails when a file under libsmarthost/ includes a file of backends/ or
tools/, by path (`#include "../backends/..."`, `<postfix/...>`) or by the
name of a header that exists only there (`#include "smarthost-postfix.h"`,
which the build's include path would find), or when libsmarthost/'s
meson.build reaches into them.

    test_include_boundary.py [SOURCE_ROOT]    (default: this file's ../)

SPDX-License-Identifier: LGPL-2.1-or-later
"""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.MULTILINE)
# A string in a meson.build that leads out of libsmarthost/ into them.
MESON_PATH = re.compile(r"""['"](?:\.\./)+(?:backends|tools)(?:/[^'"]*)?['"]""")
FORBIDDEN_DIRS = ('backends', 'tools')


def walk(top):
    for root, dirs, names in os.walk(top):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(names):
            yield os.path.join(root, name)


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), '..'))
    core = os.path.join(root, 'libsmarthost')
    core_names = {os.path.basename(p) for p in walk(core)}
    # Files whose name exists under backends/ or tools/ and not in the core.
    foreign = {}
    for d in FORBIDDEN_DIRS:
        for p in walk(os.path.join(root, d)):
            name = os.path.basename(p)
            if name not in core_names and name.endswith(('.h', '.c')):
                foreign.setdefault(name, os.path.relpath(p, root))

    problems = []
    checked = 0
    for path in walk(core):
        rel = os.path.relpath(path, root)
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                text = f.read()
        except OSError as e:
            problems.append('%s: cannot read: %s' % (rel, e))
            continue
        if path.endswith(('.c', '.h')):
            checked += 1
            for m in INCLUDE.finditer(text):
                target = m.group(1)
                line = text.count('\n', 0, m.start()) + 1
                parts = os.path.normpath(target).split(os.sep)
                if any(p in FORBIDDEN_DIRS for p in parts) or parts[0] == 'postfix':
                    problems.append('%s:%d: includes %s, a path into backends/ or tools/'
                                    % (rel, line, target))
                elif os.path.basename(target) in foreign:
                    problems.append('%s:%d: includes %s, which is %s'
                                    % (rel, line, target, foreign[os.path.basename(target)]))
        elif os.path.basename(path) == 'meson.build':
            checked += 1
            for m in MESON_PATH.finditer(text):
                line = text.count('\n', 0, m.start()) + 1
                problems.append('%s:%d: %s reaches into backends/ or tools/' % (rel, line, m.group(0)))

    if checked == 0:
        print('include-boundary: no sources under %s' % core, file=sys.stderr)
        return 1
    if problems:
        print('\n'.join(problems))
        print('\ninclude-boundary: libsmarthost/ must not include anything from backends/ or tools/ '
              '(DESIGN.md, "The house"): move what it needs into the core, or have the backend '
              'register it (as backends/smarthost-backends.c does)', file=sys.stderr)
        return 1
    print('include-boundary: %d files under libsmarthost/ include nothing from backends/ or tools/'
          % checked)
    return 0


if __name__ == '__main__':
    sys.exit(main())
