#!/bin/sh
# Installs the Debian packages kbdesk needs to build, test and run.
# A no-op (no apt-get at all) when every package is already installed.
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libxapian-dev xapian-tools libutf8proc-dev libjansson-dev libicu-dev
libopencc-dev opencc libzstd-dev libcmocka-dev libsodium-dev libwebsockets-dev libev-dev libpq-dev
postgresql chromium fonts-wqy-microhei nodejs npm curl wamerican
libcurl4-openssl-dev python3-aiosmtpd libtcmalloc-minimal4
poppler-utils"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# node and npm may come from outside Debian's packages: accept any on PATH
case "$missing" in *nodejs*) command -v node >/dev/null && missing=$(echo "$missing" | sed 's/ nodejs//');; esac
case "$missing" in *npm*) command -v npm >/dev/null && missing=$(echo "$missing" | sed 's/ npm//');; esac
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
# the node test dependencies: playwright-core drives Debian's chromium in the
# browser tests, ws is the WebSocket client of chatdesk's end-to-end tests
cd "$(dirname "$0")/../tests"
# (again whenever package-lock.json changed since the last install)
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
# the knowledge page's libraries (chatdesk/vendor/package.json, pinned):
# markdown-it renders the editor's preview, DOMPurify sanitises it, diff
# (jsdiff) compares versions; the reports page draws with Apache ECharts;
# their browser builds are copied into
# chatdesk/www/vendor/, which chatdesk serves (never from a CDN)
cd ../chatdesk/vendor
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p ../www/vendor
for f in node_modules/markdown-it/dist/browser/markdown-it.umd.min.js \
         node_modules/dompurify/dist/purify.min.js node_modules/diff/dist/diff.min.js \
         node_modules/echarts/dist/echarts.min.js; do
    cmp -s "$f" "../www/vendor/$(basename "$f")" || cp "$f" ../www/vendor/
done
# searchd's search page renders documents with the same two libraries
# (markdown-it and DOMPurify, pinned above); searchd serves searchd/www/,
# so their browser builds are copied into searchd/www/vendor/ as well
mkdir -p ../../searchd/www/vendor
for f in node_modules/markdown-it/dist/browser/markdown-it.umd.min.js node_modules/dompurify/dist/purify.min.js; do
    cmp -s "$f" "../../searchd/www/vendor/$(basename "$f")" || cp "$f" ../../searchd/www/vendor/
done
# what both daemons' pages share (shared/www/: the language code, the DOM
# helpers, the base style sheet) is copied into each daemon's www/shared/,
# so each serves it from its own origin (the pages' CSP allows only 'self')
for d in ../../chatdesk/www/shared ../../searchd/www/shared; do
    mkdir -p "$d"
    for f in ../../shared/www/*; do
        cmp -s "$f" "$d/$(basename "$f")" || cp "$f" "$d/"
    done
done
