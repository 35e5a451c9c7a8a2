#!/bin/bash
# Two searchd builds over HTTP in the same window, alternated: each round
# runs A, then B, then B with the options in C_OPTS (default
# `--block-map 0`; the line's label is B_opts), every one with --threads 2 on
# both cores, the result cache off (--cache-mb 0), a 2 s warm-up, then
# `wrk -t2 -c32 -d10s` over the titles + keywords queries; prints one line
# per run: the load average, searchd's CPU (user + system, in clock ticks)
# and wrk's JSON line (tests/bench/wrk.lua). Each build reads its own index
# (an index is read by the schema it was built with).
#
#   ab_http.sh A_SEARCHD A_INDEX B_SEARCHD B_INDEX [ROUNDS] [QUERIES]
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
A=$1 AIX=$2 B=$3 BIX=$4 ROUNDS=${5:-3} Q=${6:-tests/bench/queries.txt}
command -v wrk >/dev/null || { echo "ab_http: wrk missing" >&2; exit 1; }
QS=$(mktemp)
trap 'rm -f "$QS"' EXIT
awk -F'\t' '$1=="keywords" || $1=="title" {print}' "$Q" >"$QS"
run() { # LABEL SEARCHD INDEX [searchd options...]
    local label=$1 bin=$2 ix=$3 log pid url c0 c1 out
    shift 3
    log=$(mktemp)
    "$bin" --index "$ix" --listen 127.0.0.1:0 --threads 2 --cache-mb 0 --log-level error "$@" >"$log" 2>&1 &
    pid=$!
    url=$(bench_listen_url "$log" $pid 100) || { echo "ab_http: $label did not start" >&2; exit 1; }
    wrk -t1 -c4 -d2 -s tests/bench/wrk.lua "$url" -- "$QS" >/dev/null 2>&1 || true
    c0=$(awk '{print $14 + $15}' /proc/$pid/stat)
    out=$(wrk -t2 -c32 -d10s --timeout 10s -s tests/bench/wrk.lua "$url" -- "$QS" 2>/dev/null | grep '^{')
    c1=$(awk '{print $14 + $15}' /proc/$pid/stat)
    kill $pid
    wait $pid 2>/dev/null || true
    rm -f "$log"
    echo "$label load=$(cut -d' ' -f1 /proc/loadavg) cpu_ticks=$((c1 - c0)) $out"
}
for _ in $(seq 1 "$ROUNDS"); do
    run A "$A" "$AIX"
    run B "$B" "$BIX"
    # shellcheck disable=SC2086
    run B_opts "$B" "$BIX" ${C_OPTS:---block-map 0}
done
