#!/bin/bash
# Profiles for make bench (called by tests/bench/run.sh): perf with DWARF
# call graphs on (1) the indexer building the Chinese man pages and Debian
# reference (about 5 MB, one core), (2) the query path (benchq kbdesk
# over 150 queries of the log on the real-corpus index) and (3) the same
# over 80 of them on the largest scale-set index, (4) searchd under load
# (--threads 1 on CPU 0, result cache off, wrk with 32 connections on CPU 1
# over the titles and keyword queries: where the HTTP throughput goes).
# Writes the
# inclusive ("children") and self profiles by symbol to RESULTS/prof_*.txt.
#   profile.sh WORKDIR RESULTS
set -euo pipefail
W=$1 R=$2
command -v perf >/dev/null || { echo "perf missing" >"$R/prof_missing.txt"; exit 0; }
P=$W/prof
rm -rf "$P"
mkdir -p "$P/corpus"
cp -r "$W/real/corpus/man-zh" "$W/real/corpus/debref-zh" "$P/corpus/"
report() { # DATA OUT
    perf report -i "$1" --children --sort symbol -g none --percent-limit 1.5 --stdio 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | sed 's/  *$//' | cut -c1-160 >"$2.children.txt"
    perf report -i "$1" --no-children --sort dso,symbol -g none --percent-limit 1 --stdio 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | sed 's/  *$//' | cut -c1-160 >"$2.self.txt"
    perf report -i "$1" --no-children --sort dso -g none --percent-limit 0.5 --stdio 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | sed 's/  *$//' >"$2.dso.txt"
}
taskset -c 0 perf record -q -F 299 --call-graph dwarf,32768 -o "$P/idx.data" \
    build/bin/indexer build --corpus "$P/corpus" --index "$P/ix" --quiet >/dev/null 2>&1
report "$P/idx.data" "$R/prof_indexer"
grep -v '^#' tests/bench/queries.txt | awk 'NR%16==3' | head -150 >"$P/q.txt"
taskset -c 1 perf record -q -F 499 --call-graph dwarf,32768 -o "$P/q.data" \
    "$W/bin/benchq" --engine kbdesk --index "$W/ix-real" --queries "$P/q.txt" --repeat 1 --warm 20 \
    >"$P/q.json" 2>/dev/null
report "$P/q.data" "$R/prof_query"
# (3) the query path at the largest scale size, where latency is worst
if [ -d "$W/ix-scale" ]; then
    head -80 "$P/q.txt" >"$P/q80.txt"
    taskset -c 1 perf record -q -F 199 --call-graph dwarf,32768 -o "$P/qs.data" \
        "$W/bin/benchq" --engine kbdesk --index "$W/ix-scale" --queries "$P/q80.txt" --repeat 1 --warm 10 \
        >"$P/qs.json" 2>/dev/null
    report "$P/qs.data" "$R/prof_query_scale"
fi
# (4) searchd under wrk, the real corpus, cache off
if command -v wrk >/dev/null && [ -f "$W/queries.short.txt" ]; then
    : >"$P/sd.out"
    taskset -c 0 build/bin/searchd --index "$W/ix-real" --listen 127.0.0.1:0 --threads 1 \
        --log-level error --cache-mb 0 >"$P/sd.out" 2>&1 &
    sd=$!
    for _ in $(seq 1 100); do grep -q 'listening on' "$P/sd.out" && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$P/sd.out" | head -1)
    if [ -n "$url" ]; then
        taskset -c 1 wrk -t1 -c32 -d2s -s tests/bench/wrk.lua "$url" -- "$W/queries.short.txt" >/dev/null 2>&1 || true
        taskset -c 1 wrk -t1 -c32 -d8s -s tests/bench/wrk.lua "$url" -- "$W/queries.short.txt" 2>/dev/null \
            | grep '^{' >"$R/prof_searchd_wrk.json" &
        wk=$!
        perf record -q -F 499 --call-graph dwarf,32768 -p "$sd" -o "$P/sd.data" -- sleep 6 >/dev/null 2>&1 || true
        wait "$wk" || true
        report "$P/sd.data" "$R/prof_searchd"
    fi
    kill "$sd" 2>/dev/null || true
    wait "$sd" 2>/dev/null || true
fi
rm -f "$P/idx.data" "$P/q.data" "$P/qs.data" "$P/sd.data"
