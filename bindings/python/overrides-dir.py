#!/usr/bin/python3
# overrides-dir.py PREFIX: where, relative to PREFIX, the Python override
# module goes so that this interpreter finds it
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prints the directory (relative to PREFIX) that holds gi/overrides, or
# nothing when the interpreter searches no directory under PREFIX (a private
# prefix: /opt/..., a home directory), where the caller keeps Meson's own
# choice and the user sets PYTHONPATH.
#
# Why not Meson's choice: for a prefix, Meson's python module installs into
# the interpreter's purelib with the prefix cut off, which on Debian is
# lib/python3/dist-packages, the distribution's own directory. Under /usr
# that is right; under /usr/local, the default prefix, Debian's python3
# searches /usr/local/lib/python3.X/dist-packages instead, so the override
# would be installed where no interpreter imports it. gi.overrides extends
# its __path__ over sys.path (pkgutil.extend_path), so any site directory the
# interpreter searches does; this picks the one its install scheme names for
# PREFIX.
#
# The candidates are the purelib directories of the interpreter's install
# schemes (the default one, posix_local on Debian; deb_system, Debian's
# scheme for /usr; posix_prefix, upstream's), kept when they lie under PREFIX
# and are site directories of the interpreter (site.getsitepackages(), which
# sys.path holds once they exist). Of those, the nearest to PREFIX wins:
# under /usr, /usr/lib/python3/dist-packages rather than the /usr/local one,
# which is also under /usr.

import os
import site
import sys
import sysconfig


def under(path, prefix):
    """PATH relative to PREFIX, or None when it is not inside it."""
    path = os.path.normpath(path)
    prefix = os.path.normpath(prefix)
    if os.path.commonpath([path, prefix]) != prefix:
        return None
    return os.path.relpath(path, prefix)


def main():
    if len(sys.argv) != 2 or not os.path.isabs(sys.argv[1]):
        sys.exit('usage: overrides-dir.py PREFIX (an absolute path)')
    prefix = sys.argv[1]
    searched = {os.path.normpath(d) for d in site.getsitepackages()}
    schemes = [sysconfig.get_default_scheme()]
    schemes += [s for s in ('deb_system', 'posix_prefix') if s in sysconfig.get_scheme_names()]
    found = []
    for scheme in schemes:
        purelib = os.path.normpath(sysconfig.get_path('purelib', scheme))
        relative = under(purelib, prefix)
        if relative is not None and relative != '.' and purelib in searched:
            found.append(relative)
    if found:
        # min() keeps the first of equals: the default scheme first.
        print(min(found, key=lambda r: len(r.split(os.sep))))


if __name__ == '__main__':
    main()
