#!/bin/bash
# Profiles for make bench (called by tests/bench/run.sh): perf with DWARF
# call graphs on (1) the indexer building the Chinese man pages and Debian
# reference (about 5 MB, one core), (2) the query path (benchq kbdesk
# over 150 queries of the log on the real-corpus index) and (3) the same
# over 80 of them on the largest scale-set index. Writes the
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
rm -f "$P/idx.data" "$P/q.data" "$P/qs.data"
