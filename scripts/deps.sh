#!/bin/sh
# Installs the Debian packages kbdesk needs to build, test and run.
# A no-op (no apt-get at all) when every package is already installed.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libxapian-dev xapian-tools libutf8proc-dev libjansson-dev libicu-dev
libopencc-dev opencc libcmocka-dev libsodium-dev libwebsockets-dev libpq-dev
postgresql"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
