#!/bin/bash
# package-windows.sh: the self-contained Windows zip of libsmarthost.
#
# Builds libsmarthost for Windows as it is installed (_build-windows-dist:
# no fault injection, unlike the test build _build-windows), installs it
# into a staging folder and adds what it needs from the dependency cache,
# in the layout of an installation prefix:
#
#   bin/                smarthostctl.exe, libsmarthost-1.0-0.dll, every DLL
#                       of the dependencies (GLib, OpenSSL, jansson, libsoup
#                       and theirs), GLib's spawn helpers (gspawn-win64-*.exe)
#   lib/gio/modules/    libgioopenssl.dll, GIO's TLS module (glib-networking's
#                       OpenSSL backend; GIO looks for it there, relative to
#                       its own DLL)
#   lib/, include/      the import library, pkg-config file (relocatable:
#                       prefix=${pcfiledir}/../..) and headers, for C
#                       programs linking libsmarthost-1.0
#   share/doc/libsmarthost/  README.md, the licence, versions.txt (the Debian
#                       source packages the DLLs were built from)
#
# Prints the path of the zip: _build-windows-dist/dist/libsmarthost-VERSION-win64.zip.
# tests/windows/test-package.sh unpacks it into a fresh Wine prefix with
# nothing else installed and runs smarthostctl.exe from there.
set -euo pipefail
cd "$(dirname "$0")/.."
build=_build-windows-dist

cross_file=$(bash scripts/build-windows.sh --deps-only)
cache=$(dirname "$cross_file")
prefix=$cache/prefix

if [ ! -f "$build/build.ninja" ] || ! grep -qF "$cross_file" "$build/meson-private/cmd_line.txt" 2>/dev/null; then
  rm -rf "$build"
  nice meson setup "$build" --cross-file "$cross_file" --prefix /libsmarthost \
    -Dwerror=true -Dbuildtype=release >/dev/null
fi
nice ninja -C "$build" >/dev/null

version=$(meson introspect "$build" --projectinfo | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
name=libsmarthost-$version-win64
stage=$build/dist/stage
root=$stage/$name
rm -rf "$build/dist"
mkdir -p "$stage"
meson install -C "$build" --no-rebuild --destdir "$PWD/$stage/destdir" >/dev/null
mv "$stage/destdir/libsmarthost" "$root"
rm -rf "$stage/destdir"
# The .pc, relocatable: the zip may be unpacked anywhere, so its prefix is
# where the .pc is (lib/pkgconfig), two levels up, not the --prefix above.
for pc in "$root"/lib/pkgconfig/*.pc; do
  sed -i -e 's#^prefix=.*#prefix=${pcfiledir}/../..#' -e 's#=/libsmarthost/#=${prefix}/#' "$pc"
  if grep -Eq '(^|[=[:space:]]|-[LI])/libsmarthost(/|[[:space:]]|$)' "$pc"; then
    echo "package-windows: $pc still names /libsmarthost" >&2
    exit 1
  fi
done

mkdir -p "$root/bin" "$root/lib/gio/modules" "$root/share/doc/libsmarthost"
cp "$prefix"/bin/*.dll "$root/bin/"
cp "$prefix"/bin/gspawn-win64-helper.exe "$prefix"/bin/gspawn-win64-helper-console.exe "$root/bin/"
cp "$prefix/lib/gio/modules/libgioopenssl.dll" "$root/lib/gio/modules/"
cp README.md "$root/share/doc/libsmarthost/"
for f in COPYING LICENSE LICENSE.md; do
  [ -f "$f" ] && cp "$f" "$root/share/doc/libsmarthost/"
done
cp "$cache/versions.txt" "$root/share/doc/libsmarthost/"
x86_64-w64-mingw32-strip --strip-unneeded "$root"/bin/*.dll "$root"/bin/*.exe "$root"/lib/gio/modules/*.dll 2>/dev/null || true

(cd "$stage" && rm -f "../$name.zip" && zip -qr -X "../$name.zip" "$name")
rm -rf "$stage"
echo "$PWD/$build/dist/$name.zip"
