#!/bin/bash
# System calls per /search request over HTTP, with and without searchd's
# block map (issue 21, item 3): searchd (--threads 2, result cache off,
# --block-map 1 and then 0) answers every query once as a warm-up, then
# `strace -c -f` is attached to all its threads while a keep-alive client
# (tests/bench/httpq.py) sends every query once more, one at a time.
#
#   syscalls_http.sh INDEX QUERIES OUTDIR [SEARCHD]
#
# QUERIES: the benchmark's format (type<TAB>lang<TAB>source<TAB>query).
# Writes OUTDIR/strace_mapN.txt (strace's table), OUTDIR/answers_mapN.txt
# (each answer without its took_ms; the two must be equal, checked here)
# and OUTDIR/summary.txt: per request, all system calls and the preads.
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
IX=$1 Q=$2 OUT=$3 SD=${4:-build/bin/searchd}
command -v strace >/dev/null || { echo "syscalls_http: strace missing" >&2; exit 1; }
mkdir -p "$OUT"
: >"$OUT/summary.txt"
for map in 1 0; do
    LOG=$OUT/searchd_map$map.log
    : >"$LOG"
    "$SD" --index "$IX" --listen 127.0.0.1:0 --threads 2 --cache-mb 0 --block-map $map \
        --log-level error >"$LOG" 2>&1 &
    SDP=$!
    trap 'kill $SDP 2>/dev/null || true' EXIT
    url=$(bench_listen_url "$LOG" $SDP 100) || { echo "syscalls_http: searchd did not start" >&2; exit 1; }
    # warm-up: every query once (page cache, index handles)
    python3 tests/bench/httpq.py "$url" "$Q" --warm 0 >/dev/null
    ntask=$(ls /proc/$SDP/task | wc -l)
    strace -c -f -p $SDP -o "$OUT/strace_map$map.txt" 2>"$OUT/strace_map$map.err" &
    ST=$!
    for _ in $(seq 1 100); do # until strace has attached to every thread
        [ "$(grep -c attached "$OUT/strace_map$map.err" || true)" -ge "$ntask" ] && break
        sleep 0.1
    done
    python3 tests/bench/httpq.py "$url" "$Q" --warm 0 --answers "$OUT/answers_map$map.txt" \
        >"$OUT/client_map$map.txt"
    kill -INT $ST
    wait $ST 2>/dev/null || true
    kill $SDP
    wait $SDP 2>/dev/null || true
    trap - EXIT
    n=$(sed -n 's/^requests: //p' "$OUT/client_map$map.txt")
    calls=$(awk '$NF == "total" {print $(NF-2)}' "$OUT/strace_map$map.txt")
    preads=$(awk '$NF == "pread64" {print $4}' "$OUT/strace_map$map.txt")
    awk -v n="$n" -v map=$map -v c="$calls" -v p="${preads:-0}" 'BEGIN {
        printf "block_map=%d requests %d syscalls %d (%.1f per request) preads %d (%.1f per request)\n",
            map, n, c, c / n, p, p / n }' >>"$OUT/summary.txt"
done
if cmp -s "$OUT/answers_map1.txt" "$OUT/answers_map0.txt"; then
    echo "answers: identical with and without the map" >>"$OUT/summary.txt"
else
    echo "answers: DIFFER with and without the map" >>"$OUT/summary.txt"
fi
cat "$OUT/summary.txt"
