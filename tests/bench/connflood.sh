#!/bin/bash
# 30,000 connection attempts from one address against searchd and then
# chatdesk, each with its default caps (tests/bench/connflood.mjs), on
# loopback: prints one JSON line per daemon (outcomes, refusals by reason,
# CPU during the flood, CPU share when idle afterwards, the status another
# client got). Not part of `make test` (about a minute or two on 2 cores).
#   bash tests/bench/connflood.sh [ATTEMPTS] [CONCURRENCY]
# Needs `make all`; starts its own index and PostgreSQL (scripts/pg.sh) in
# a temporary folder and removes them afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30000} C=${2:-1000}
W=$(mktemp -d /tmp/kbflood.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    sh scripts/pg.sh destroy "$W/pg" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
# the client side needs descriptors too
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# start_daemon OUTFILE CMD... -> sets URL, PID
start_daemon() {
    local out=$1
    shift
    "$@" >"$out" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 300); do
        grep -q 'listening on' "$out" && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out" | head -1)
    [ -n "$URL" ] || { cat "$out" >&2; echo "daemon did not start" >&2; exit 1; }
}

build/bin/indexer build --quiet --corpus corpora --index "$W/index" >/dev/null
rc=0
start_daemon "$W/searchd.out" build/bin/searchd --index "$W/index" --listen 127.0.0.1:0 \
    --www searchd/www --log-level error
node tests/bench/connflood.mjs "$URL" "$PID" "$N" "$C" /healthz || rc=1

PGC=$(PG_FSYNC=off sh scripts/pg.sh start "$W/pg")
start_daemon "$W/chatdesk.out" build/bin/chatdesk --index "$W/index" --db "$PGC" \
    --listen 127.0.0.1:0 --www chatdesk/www --log-level error
node tests/bench/connflood.mjs "$URL" "$PID" "$N" "$C" / || rc=1
exit $rc
