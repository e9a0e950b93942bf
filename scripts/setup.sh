#!/bin/bash
# Installs everything libsmarthost needs to build, test and run its demo on
# Debian 12, as root. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
  # build
  gcc meson ninja-build pkg-config libglib2.0-dev libjansson-dev libssl-dev
  # GObject-Introspection, Python and GJS bindings, docs
  gobject-introspection libgirepository1.0-dev python3-gi gjs gi-docgen
  # a real Postfix for the end-to-end tests, and what its SMTP client needs
  # to authenticate at all (postfix only suggests libsasl2-modules)
  postfix libsasl2-modules ca-certificates
  # the SmarterMail backend: HTTP(S) with libsoup 3, TLS through glib-networking
  libsoup-3.0-dev glib-networking
  # relays and certificates for the tests and the demo
  python3 python3-aiosmtpd openssl
  # tools the tests use
  patch valgrind time
  # the fuzz target of the SMTP reply parser (clang with libFuzzer)
  clang libclang-rt-14-dev
  # bench/: the connection check side by side with swaks
  swaks libnet-ssleay-perl hyperfine
  # the Ansible module's test (ansible/library/smarthost.py): Debian 12's
  # ansible 7.7 with ansible-core 2.14
  ansible
  # a real regedit for the MailEnable backend's .reg files (tests/mailenable:
  # Wine's, in a private prefix); the Windows build runs under it too
  wine wine64
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  # Postfix is installed unconfigured: the tests run their own throwaway
  # instances and never touch /etc/postfix or start the system's Postfix.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
