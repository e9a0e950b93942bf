#!/bin/bash
# Builds libsmarthost for 64-bit Windows (x86_64-w64-mingw32) on Debian 12
# with Debian's mingw-w64, and tests it under Wine.
#
#   scripts/build-windows.sh --deps-only   build (or find) the dependency cache,
#                                          print the path of its meson cross file
#   scripts/build-windows.sh --smoke       also cross-build scripts/windows/smoke.c
#                                          against it and run that under Wine
#   scripts/build-windows.sh               the project itself: the test build in
#                                          _build-windows and the package, its zip
#                                          in _build-windows/dist/ (scripts/test-windows.sh
#                                          runs the tests under Wine)
#
# Debian ships no Windows builds of GLib, OpenSSL or libsoup, so the
# dependencies are cross-built here from Debian's own source packages, fetched
# with `apt-get source` through a private apt configuration (its own deb-src
# list, lists and cache under the cache directory): the machine's apt sources
# are never touched. The result is cached in
#   ${SMARTHOST_WINDOWS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libsmarthost-windows}/<key>/
# where <key> hashes this script, the cross file template and the patches
# under scripts/windows/patches/: a second run costs seconds, any change to
# them rebuilds. A build runs in .partial-<key>/ beside it and is renamed into
# place only when complete, so an interrupted run never leaves a cache that
# looks complete; the next run with the same key resumes it package by package.
# Each package's build is logged in logs/<package>.log; a failure prints the tail.
#
# Inside <key>/: prefix/ (bin/ holds the DLLs, lib/pkgconfig/ the .pc files),
# cross-x86_64-w64-mingw32.ini (the repository's template with the prefix
# filled in), versions.txt (the Debian source packages used) and logs/.
set -euo pipefail

host=x86_64-w64-mingw32
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
windows_dir=$repo/scripts/windows
cross_template=$windows_dir/cross-$host.ini.in
patches_dir=$windows_dir/patches
jobs=$(nproc)

say() { printf 'build-windows: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

mode=project
case ${1-} in
  "") ;;
  --deps-only) mode=deps ;;
  --smoke) mode=smoke ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
[ $# -le 1 ] || { usage >&2; exit 2; }

# ---------------------------------------------------------------------------
# The source packages, in build order. Versions are pinned: the patches under
# scripts/windows/patches/<name>/ apply to them, and changing one changes this
# script and so the cache key.
#   unpack = debian: upstream plus Debian's patches (security fixes included)
#   unpack = orig:   the upstream tarball alone: gettext, whose Debian patches
#            make it rerun autotools; and two packages only trixie serves
#            (publicsuffix, glib-networking: bookworm's are not served here),
#            of which the archive serves the orig tarball but not the .dsc nor
#            the Debian tarball.
#
# name            source package   version               unpack
packages=(
  "zlib            zlib             1:1.2.13.dfsg-1       debian"
  "libffi          libffi           3.4.4-1               debian"
  "pcre2           pcre2            10.42-1               debian"
  "libintl         gettext          0.21-12               orig"
  "openssl         openssl          3.0.20-1~deb12u2      debian"
  "glib            glib2.0          2.74.6-2+deb12u9      debian"
  "jansson         jansson          2.14-2                debian"
  "publicsuffix    publicsuffix     20250328.1952-0.1     orig"
  "libpsl          libpsl           0.21.2-1              debian"
  "nghttp2         nghttp2          1.52.0-1+deb12u3      debian"
  "sqlite3         sqlite3          3.40.1-2+deb12u2      debian"
  "glib-networking glib-networking  2.80.1-1              orig"
  "libsoup         libsoup3         3.2.3-0+deb12u2       debian"
)

# Debian packages this script runs (build machine tools, not dependencies of
# the Windows build): the cross compilers, Wine, the build systems, and what
# the source packages' builds call (dpkg-source, tclsh for SQLite's
# amalgamation, python3 for libpsl's DAFSA, glib-mkenums for libsoup).
tools=(
  gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 mingw-w64-tools
  wine wine64
  meson ninja-build cmake pkg-config make patch
  gcc dpkg-dev tcl python3 perl libglib2.0-dev-bin
  xz-utils bzip2 ca-certificates
)

ensure_tools() {
  local missing=() p
  for p in "${tools[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || die "run as root to install: ${missing[*]}"
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------------------
# Cache location and key.

cache_root=${SMARTHOST_WINDOWS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libsmarthost-windows}

cache_key() {
  # Relative names, so that every work tree of the repository shares a cache.
  (
    cd "$repo"
    # The script up to its modes (below them: how the project itself is
    # built, which may change without rebuilding the dependencies).
    sed '/^# --- The modes: not part of the cache key/,$d' scripts/build-windows.sh | sha256sum
    {
      echo "${cross_template#"$repo"/}"
      if [ -d "$patches_dir" ]; then
        find "${patches_dir#"$repo"/}" -type f | LC_ALL=C sort
      fi
    } | xargs -d '\n' sha256sum
  ) | sha256sum | cut -c1-16
}

key=$(cache_key)
cache=$cache_root/$key
stage=$cache_root/.partial-$key
cross_file=$cache/cross-$host.ini

# write_cross PREFIX [--no-exe-wrapper]: the cross file for PREFIX on stdout.
# The dependencies build without the exe_wrapper, so that no configure check
# starts Wine (GLib then takes its known answers for Windows).
write_cross() {
  local prefix=$1
  case $prefix in *[\|\&\\]*) die "unusable cache path (| & or \\): $prefix" ;; esac
  if [ "${2-}" = --no-exe-wrapper ]; then
    sed -e "s|@PREFIX@|$prefix|g" -e '/^exe_wrapper *=/d' "$cross_template"
  else
    sed -e "s|@PREFIX@|$prefix|g" "$cross_template"
  fi
}

# ---------------------------------------------------------------------------
# Debian's source packages through a private apt configuration.

apt_dir=$cache_root/apt
sources_dir=$cache_root/sources
apt_opts=(
  -o Dir::Etc::sourcelist=/dev/null
  -o Dir::Etc::sourceparts="$apt_dir/sources.list.d"
  -o Dir::State::Lists="$apt_dir/lists"
  -o Dir::Cache="$apt_dir/cache"
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
  # The download directory is root's: fetch as root, not as _apt.
  -o APT::Sandbox::User=root
)

setup_apt() {
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" \
    "$apt_dir/cache/archives/partial" "$sources_dir"
  cat >"$apt_dir/sources.list.d/debian-src.sources" <<'EOF'
# Written by libsmarthost's scripts/build-windows.sh, read only by it.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

update_source_index() {
  say "updating the private deb-src index (bookworm, trixie)"
  apt-get "${apt_opts[@]}" -qq update >"$stage/logs/apt-update.log" 2>&1 || {
    tail -n 20 "$stage/logs/apt-update.log" >&2
    die "apt-get update of the private deb-src index failed"
  }
}

# source_files SOURCE VERSION: "sha256  file" lines, from the index's
# Checksums-Sha256 of that version. (awk reads to the end: leaving early
# would kill apt-cache with SIGPIPE, a failure under pipefail.)
source_files() {
  apt-cache "${apt_opts[@]}" showsrc "$1" 2>/dev/null | awk -v want="$2" '
    function flush() { if (ver == want && !done) { printf "%s", files; done = 1 } }
    /^$/ { flush(); ver = ""; files = ""; ck = 0; next }
    /^Version:/ { ver = $2 }
    /^Checksums-Sha256:/ { ck = 1; next }
    /^[^ ]/ { ck = 0 }
    ck { files = files $1 "  " $3 "\n" }
    END { flush() }'
}

check_source_index() {
  local entry name src version unpack missing=()
  ls "$apt_dir/lists/"*Sources* >/dev/null 2>&1 || update_source_index
  for entry in "${packages[@]}"; do
    read -r name src version unpack <<<"$entry"
    [ -n "$(source_files "$src" "$version")" ] || missing+=("$src=$version")
  done
  [ ${#missing[@]} -eq 0 ] && return
  update_source_index
  missing=()
  for entry in "${packages[@]}"; do
    read -r name src version unpack <<<"$entry"
    [ -n "$(source_files "$src" "$version")" ] || missing+=("$src=$version")
  done
  [ ${#missing[@]} -eq 0 ] ||
    die "not in the archive's source index (bookworm, trixie): ${missing[*]}"
}

upstream_version() { local v=${1#*:}; echo "${v%-*}"; }

# orig_tarball SOURCE VERSION: the name of the upstream tarball (not of an
# orig-COMPONENT tarball, nor of its signature).
orig_tarball() {
  local up
  up=$(upstream_version "$2" | sed 's/[.+]/\\&/g')
  source_files "$1" "$2" | awk '{print $2}' | grep -E "^${1}_${up}\.orig\.tar\.[a-z0-9]+$"
}

# fetch SOURCE VERSION UNPACK: the files that UNPACK needs, in $sources_dir,
# checked against the index. apt-get skips what is already there; for
# orig-only packages it fails on the files the archive does not serve, which
# is fine as long as the orig tarball came.
fetch() {
  local src=$1 version=$2 unpack=$3 want
  want=$(source_files "$src" "$version")
  if [ "$unpack" = orig ]; then
    want=$(awk -v f="$(orig_tarball "$src" "$version")" '$2 == f' <<<"$want")
  fi
  [ -n "$want" ] || { echo "no files for $src $version"; return 1; }
  if ! (cd "$sources_dir" && sha256sum --quiet -c <<<"$want") >/dev/null 2>&1; then
    (cd "$sources_dir" && apt-get "${apt_opts[@]}" source --download-only "$src=$version") ||
      [ "$unpack" = orig ]
  fi
  (cd "$sources_dir" && sha256sum -c <<<"$want")
}

# unpack NAME SOURCE VERSION UNPACK DIR
unpack() {
  local name=$1 src=$2 version=$3 unpack=$4 dir=$5 orig p
  rm -rf "$dir"
  if [ "$unpack" = debian ]; then
    dpkg-source --no-copy -x "$sources_dir/${src}_${version#*:}.dsc" "$dir"
  else
    orig=$sources_dir/$(orig_tarball "$src" "$version")
    mkdir -p "$dir"
    tar -xf "$orig" -C "$dir" --strip-components=1
  fi
  for p in "$patches_dir/$name"/*.patch; do
    [ -e "$p" ] || continue
    echo "applying $p"
    patch -d "$dir" -p1 --forward --batch <"$p"
  done
}

# Debian's patches give the files they touch a new time stamp; where one is a
# configure.ac or Makefile.am, make would rerun autoconf and automake (another
# version than upstream's, if installed at all). Build from upstream's
# generated files: make them newer than their sources.
freeze_autotools() {
  find . -name aclocal.m4 -exec touch {} +
  find . \( -name configure -o -name '*config.h.in' -o -name Makefile.in \) -exec touch {} +
}

# ---------------------------------------------------------------------------
# How each package builds. Each runs in its unpacked source directory, in a
# subshell whose output goes to its log; $P is the prefix being filled.

autotools_env() {
  export PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR=$P/lib/pkgconfig PKG_CONFIG_PATH=
  export CPPFLAGS="-I$P/include" LDFLAGS="-L$P/lib" CFLAGS="-O2"
}

configure_host() {
  ./configure --host=$host --build=x86_64-pc-linux-gnu --prefix="$P" \
    --disable-static --enable-shared "$@"
}

meson_build() {
  meson setup _build --cross-file "$stage/cross-build.ini" --prefix "$P" \
    --libdir lib --default-library shared --wrap-mode nofallback \
    -Doptimization=2 -Ddebug=false "$@"
  ninja -C _build -j "$jobs"
  meson install -C _build --no-rebuild
}

cmake_build() {
  cmake -S . -B _build -DCMAKE_SYSTEM_NAME=Windows \
    -DCMAKE_C_COMPILER=$host-gcc -DCMAKE_CXX_COMPILER=$host-g++ \
    -DCMAKE_RC_COMPILER=$host-windres \
    -DCMAKE_FIND_ROOT_PATH="$P" -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
    -DCMAKE_INSTALL_PREFIX="$P" -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build _build -j "$jobs"
  cmake --install _build
}

build_zlib() {
  # Debian's dfsg tarball drops win32/ (its Makefile.gcc, .def and .rc), and
  # the CMake build needs win32/zlib1.rc: compile the library directly, as
  # zlib1.dll with every symbol exported, the name zlib's own Windows build
  # gives it.
  local objs=() f
  for f in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback \
           inffast inflate inftrees trees uncompr zutil; do
    $host-gcc -O2 -Wall -c "$f.c" -o "$f.o"
    objs+=("$f.o")
  done
  $host-gcc -shared -o zlib1.dll "${objs[@]}" -Wl,--out-implib,libz.dll.a
  mkdir -p "$P/bin" "$P/lib/pkgconfig" "$P/include"
  install -m 755 zlib1.dll "$P/bin/"
  install -m 644 libz.dll.a "$P/lib/"
  install -m 644 zlib.h zconf.h "$P/include/"
  local version
  version=$(sed -n 's/^#define ZLIB_VERSION "\(.*\)"/\1/p' zlib.h)
  cat >"$P/lib/pkgconfig/zlib.pc" <<EOF
prefix=$P
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: zlib
Description: zlib compression library
Version: $version
Libs: -L\${libdir} -lz
Cflags: -I\${includedir}
EOF
}

build_libffi() {
  autotools_env
  freeze_autotools
  configure_host --disable-docs --disable-multi-os-directory
  make -j "$jobs"
  make install
}

build_pcre2() {
  # 8-bit only: what GLib uses.
  autotools_env
  freeze_autotools
  configure_host --enable-pcre2-8 --disable-pcre2-16 --disable-pcre2-32
  make -j "$jobs"
  make install
}

build_libintl() {
  # GLib needs an intl library even with -Dnls=disabled (else it falls back
  # to the proxy-libintl wrap, a git clone). The archive has no
  # proxy-libintl; gettext's runtime part builds GNU libintl alone.
  autotools_env
  cd gettext-runtime
  configure_host --disable-java --disable-csharp --disable-libasprintf \
    --disable-openmp --enable-threads=windows
  make -C intl -j "$jobs"
  make -C intl install
}

build_openssl() {
  # OpenSSL compiles its directories in (OPENSSLDIR; ENGINESDIR and
  # MODULESDIR, where it loads the legacy provider from): configure it for
  # the final prefix, install into a DESTDIR and copy that into the staging
  # prefix, so they name the real place (on Z: under Wine). (A Windows-style
  # --openssldir such as "C:/Program Files/Common Files/SSL" is taken as
  # relative to the prefix when configured on Linux.) Configure reads
  # CFLAGS and friends from the environment: none set here.
  local destdir=$stage/build/openssl-destdir
  ./Configure mingw64 --cross-compile-prefix=$host- --prefix="$cache/prefix" \
    --libdir=lib shared no-tests
  make -j "$jobs" build_sw
  rm -rf "$destdir"
  make install_sw DESTDIR="$destdir"
  cp -a "$destdir$cache/prefix/." "$P/"
  rm -rf "$destdir"
  # Its .pc files name the final prefix: the staging one until the end.
  sed -i "s|$cache/prefix|$P|g" "$P"/lib/pkgconfig/{openssl,libssl,libcrypto}.pc
  # The static libraries, built alongside: only the DLLs are for use.
  rm -f "$P/lib/libcrypto.a" "$P/lib/libssl.a"
}

build_glib() {
  meson_build -Dnls=disabled -Dtests=false -Dinstalled_tests=false -Dman=false \
    -Dgtk_doc=false -Dlibmount=disabled -Dselinux=disabled -Dxattr=false \
    -Dsysprof=disabled -Dlibelf=disabled -Ddtrace=false -Dsystemtap=false
}

build_jansson() {
  # Debian builds jansson with CMake: the release tarball has no configure.
  cmake_build -DJANSSON_BUILD_SHARED_LIBS=ON -DJANSSON_BUILD_DOCS=OFF \
    -DJANSSON_WITHOUT_TESTS=ON -DJANSSON_EXAMPLES=OFF
}

build_publicsuffix() {
  # Data only: the list libpsl compiles into its built-in DAFSA.
  mkdir -p "$P/share/publicsuffix"
  install -m 644 public_suffix_list.dat "$P/share/publicsuffix/"
  install -m 644 tests/tests.txt "$P/share/publicsuffix/test_psl.txt"
}

build_libpsl() {
  # No IDNA library on Windows: the built-in list, no run-time conversions.
  meson_build -Druntime=no -Dbuiltin=true -Ddocs=false \
    -Dpsl_file="$P/share/publicsuffix/public_suffix_list.dat" \
    -Dpsl_testfile="$P/share/publicsuffix/test_psl.txt"
}

build_nghttp2() {
  # The tarball has no configure (Debian runs autoreconf): CMake.
  cmake_build -DENABLE_LIB_ONLY=ON -DENABLE_SHARED_LIB=ON -DENABLE_STATIC_LIB=OFF \
    -DENABLE_DOC=OFF -DENABLE_FAILMALLOC=OFF
}

build_sqlite3() {
  # The full source tree (with Debian's fixes) generates the amalgamation:
  # configure and make natively (tclsh, the build machine's gcc), then the
  # cross compiler builds sqlite3.c alone into a DLL. Cross-configuring the
  # tree builds its generators for Windows (Debian's cross patch needs a
  # configure regenerated with autoconf).
  freeze_autotools
  ./configure --disable-tcl --disable-readline --disable-editline
  make sqlite3.c sqlite3.h
  local version
  version=$(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' sqlite3.h)
  $host-gcc -O2 -DSQLITE_API='__declspec(dllexport)' -DSQLITE_THREADSAFE=1 \
    -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_ENABLE_UNLOCK_NOTIFY \
    -DSQLITE_SECURE_DELETE -DSQLITE_USE_URI=1 \
    -shared -o libsqlite3-0.dll sqlite3.c -Wl,--out-implib,libsqlite3.dll.a
  mkdir -p "$P/bin" "$P/lib/pkgconfig" "$P/include"
  install -m 755 libsqlite3-0.dll "$P/bin/"
  install -m 644 libsqlite3.dll.a "$P/lib/"
  install -m 644 sqlite3.h "$P/include/"
  cat >"$P/lib/pkgconfig/sqlite3.pc" <<EOF
prefix=$P
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: SQLite
Description: SQL database engine
Version: $version
Libs: -L\${libdir} -lsqlite3
Cflags: -I\${includedir}
EOF
}

build_glib_networking() {
  meson_build -Dopenssl=enabled -Dgnutls=disabled -Dlibproxy=disabled \
    -Dgnome_proxy=disabled -Denvironment_proxy=disabled -Dinstalled_tests=false
  # gnome.post_install ran the build machine's gio-querymodules on the
  # Windows module: its cache lists nothing. GIO loads a module that no
  # cache names, so leave no cache at all.
  rm -f "$P/lib/gio/modules/giomodule.cache"
}

build_libsoup() {
  meson_build -Dtests=false -Dinstalled_tests=false -Dintrospection=disabled \
    -Dvapi=disabled -Ddocs=disabled -Ddoc_tests=false -Dgssapi=disabled \
    -Dntlm=disabled -Dbrotli=disabled -Dtls_check=false -Dsysprof=disabled \
    -Dautobahn=disabled -Dpkcs11_tests=disabled -Dfuzzing=disabled
}

# build_one NAME SOURCE VERSION UNPACK
build_one() {
  local name=$1 src=$2 version=$3 unpack=$4 rc start=$SECONDS
  local log=$stage/logs/$name.log
  if [ -e "$stage/stamps/$name" ]; then
    say "$name: built by an earlier, interrupted run"
    return
  fi
  say "$name: $src $version ($unpack)"
  set +e
  (
    set -eE
    trap 'echo "build-windows: failed (exit $?): $BASH_COMMAND"' ERR
    unset CC CXX CFLAGS CXXFLAGS CPPFLAGS LDFLAGS PKG_CONFIG PKG_CONFIG_PATH \
      PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
    PATH=$stage/no-wine:$PATH
    fetch "$src" "$version" "$unpack"
    unpack "$name" "$src" "$version" "$unpack" "$stage/build/$name"
    cd "$stage/build/$name"
    "build_${name//-/_}"
  ) >"$log" 2>&1 </dev/null
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    say "$name: FAILED (exit $rc); the end of $log:"
    tail -n 40 "$log" >&2
    die "$name failed; run again to resume from it (the packages before it are kept in $stage)"
  fi
  touch "$stage/stamps/$name"
  say "$name: done in $((SECONDS - start)) s"
}

build_deps() {
  local entry name src version unpack f start=$SECONDS
  P=$stage/prefix
  mkdir -p "$P" "$stage/build" "$stage/logs" "$stage/stamps"
  write_cross "$P" --no-exe-wrapper >"$stage/cross-build.ini"
  # libtool, linking a program for mingw on Linux, converts paths with
  # `winepath`, which starts Wine in $HOME/.wine and leaves a wineserver
  # holding the build's output. Nothing in these builds needs Wine: make
  # wine and winepath fail at once (libtool then only warns).
  mkdir -p "$stage/no-wine"
  for f in wine wine64 winepath; do
    printf '#!/bin/sh\n# No Wine while building dependencies (scripts/build-windows.sh).\nexit 127\n' \
      >"$stage/no-wine/$f"
    chmod +x "$stage/no-wine/$f"
  done
  setup_apt
  check_source_index
  for entry in "${packages[@]}"; do
    read -r name src version unpack <<<"$entry"
    build_one "$name" "$src" "$version" "$unpack"
  done

  # Move into place: the prefix's text files (.pc files, scripts) name the
  # staging path; rewrite it to the final one. libtool archives are not
  # needed to link against DLLs and only spread absolute paths.
  find "$P" -name '*.la' -delete
  local from
  from=$(printf '%s/' "$stage" | sed 's/[].[*^$\\/]/\\&/g')
  grep -rlIF "$stage/" "$P" | while IFS= read -r f; do
    sed -i "s/$from/$(printf '%s/' "$cache" | sed 's/[&\\/]/\\&/g')/g" "$f"
  done
  # A few binaries keep the staging path as a compiled-in default that
  # Windows builds do not rely on: the locale directory of libintl and GLib
  # (GLib finds its own beside its DLL; no translations here anyway),
  # libpsl's PSL_FILE (psl_latest() falls back to the built-in list),
  # source file names in nghttp2's assertions. logs/relocate.log lists them.
  {
    echo "binary files naming the staging path:"
    grep -rlF "$stage/" "$P" | sed "s|^$P/|  |" || true
  } >"$stage/logs/relocate.log"
  rm -rf "$stage/build" "$stage/stamps" "$stage/no-wine" "$stage/cross-build.ini"
  {
    echo "# Debian source packages cross-built into prefix/ (unpack: debian ="
    echo "# with Debian's patches, orig = the upstream tarball alone)"
    printf '%s\n' "${packages[@]}"
  } >"$stage/versions.txt"
  write_cross "$cache/prefix" >"$stage/cross-$host.ini"
  du -sm "$P" | awk '{print "prefix size: " $1 " MB"}' >>"$stage/logs/relocate.log"
  touch "$stage/.complete"
  mv -T "$stage" "$cache"
  say "dependencies built in $((SECONDS - start)) s: $cache ($(du -sh "$cache/prefix" | cut -f1))"
}

# prune_partials: remove the interrupted builds of other keys (an older
# script's), unless a run holds their lock. Complete caches of other keys
# stay: another work tree may use them.
prune_partials() {
  local d k
  for d in "$cache_root"/.partial-*; do
    [ -d "$d" ] || continue
    k=${d##*/.partial-}
    [ "$k" != "$key" ] || continue
    if (flock -n 8 || exit 1) 8>"$cache_root/.lock-$k"; then
      say "removing an interrupted build of an older script: $d"
      rm -rf "$d"
    fi
  done
}

# ensure_deps: the complete cache for $key, built if missing.
ensure_deps() {
  if [ -e "$cache/.complete" ]; then
    say "dependencies: cached in $cache"
    return
  fi
  mkdir -p "$cache_root"
  exec 9>"$cache_root/.lock-$key"
  if ! flock -n 9; then
    say "waiting for another run building $cache"
    flock 9
  fi
  if [ -e "$cache/.complete" ]; then
    say "dependencies: cached in $cache"
  else
    # The rename makes a cache appear complete or not at all; a directory
    # without .complete has no other way in, and is not to be trusted.
    rm -rf "$cache"
    prune_partials
    say "dependencies: building into $stage (from scratch: 7 to 13 minutes on 2 cores, OpenSSL and GLib most of it)"
    # Other work shares the cores.
    renice -n 10 -p $$ >/dev/null 2>&1 || true
    build_deps
  fi
  exec 9>&-
}

# ---------------------------------------------------------------------------
# Wine, with everything it writes kept in a temporary directory.

tmp_dir=

# cleanup: stop the wineserver of our private prefix, remove the directory.
cleanup() {
  [ -n "$tmp_dir" ] && [ -d "$tmp_dir" ] || return 0
  if [ -d "$tmp_dir/wine" ]; then
    WINEPREFIX=$tmp_dir/wine wineserver -k >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp_dir" 2>/dev/null || { sleep 1; rm -rf "$tmp_dir"; }
}

make_tmp_dir() {
  tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/smarthost-windows.XXXXXX")
  trap cleanup EXIT
}

# start_wine: a private HOME, XDG directories and WINEPREFIX under
# $tmp_dir (Wine writes .wine, .local/share and .config/menus into HOME);
# winemenubuilder, Mono and Gecko off. The wineserver is started first and
# alone, its output going nowhere: one that a program's own wine process
# starts keeps that program's output pipes open after it exits.
start_wine() {
  mkdir -p "$tmp_dir/home" "$tmp_dir/wine"
  export HOME=$tmp_dir/home
  export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share \
    XDG_CACHE_HOME=$HOME/.cache XDG_STATE_HOME=$HOME/.local/state
  export WINEPREFIX=$tmp_dir/wine WINEARCH=win64 WINEDEBUG=-all
  export WINEDLLOVERRIDES='winemenubuilder.exe=d;mscoree=d;mshtml=d'
  unset DISPLAY WAYLAND_DISPLAY
  wineserver -p >/dev/null 2>&1 </dev/null
  wine wineboot -i >/dev/null 2>&1 </dev/null
}

# The Windows path of a Unix one, on Wine's Z: drive.
wine_path() { local p=${1//\//\\}; printf 'Z:%s' "$p"; }

run_smoke() {
  local prefix=$cache/prefix rc=0 start=$SECONDS
  make_tmp_dir
  say "smoke: cross-compiling scripts/windows/smoke.c"
  # shellcheck disable=SC2046 # pkg-config's words
  $host-gcc -O2 -Wall -Werror -o "$tmp_dir/smoke.exe" "$windows_dir/smoke.c" \
    $(PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig pkg-config --cflags --libs \
      gio-2.0 jansson libsoup-3.0 libssl libcrypto)
  say "smoke: running under Wine"
  start_wine
  # Only the prefix's bin/ on WINEPATH: the DLLs need no libgcc or libstdc++.
  WINEPATH=$(wine_path "$prefix/bin") wine "$tmp_dir/smoke.exe" </dev/null || rc=$?
  [ $rc -eq 0 ] || die "smoke: FAILED (exit $rc)"
  say "smoke: passed in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------------------

# --- The modes: not part of the cache key (see cache_key) ---------------------

ensure_tools
ensure_deps

case $mode in
  deps)
    echo "$cross_file"
    ;;
  smoke)
    run_smoke
    ;;
  project)
    # The project itself: the test build in _build-windows (the one
    # scripts/test-windows.sh runs under Wine, with fault injection), then
    # the package: a release build without fault injection
    # (scripts/package-windows.sh, in _build-windows-dist), its zip copied
    # into _build-windows/dist/.
    cd "$repo"
    bash scripts/test-windows.sh --build-only
    zip=$(bash scripts/package-windows.sh)
    mkdir -p _build-windows/dist
    cp "$zip" _build-windows/dist/
    say "the package: _build-windows/dist/$(basename "$zip")"
    echo "_build-windows/dist/$(basename "$zip")"
    ;;
esac
