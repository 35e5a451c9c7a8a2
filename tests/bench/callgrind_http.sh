#!/bin/bash
# Instructions per /search request over HTTP, for comparing builds on a
# loaded machine where wall-clock figures are noise (issue 21): searchd
# (--threads 1, result cache off) runs under valgrind's callgrind, a
# keep-alive client (tests/bench/httpq.py) sends the queries one at a
# time, the counters are zeroed after a warm-up and dumped after the
# measured queries, so the profile holds the requests alone: the HTTP
# codec, the service thread and the worker, nothing of the start-up.
#
#   callgrind_http.sh INDEX QUERIES OUTDIR [SEARCHD]
#
# Environment: WARM (20) warm-up queries, the first of QUERIES; SD_OPTS
# further searchd options (e.g. --doc-cache-mb 0).
# QUERIES: the benchmark's format (type<TAB>lang<TAB>source<TAB>query).
# Writes OUTDIR/callgrind.out (the raw profile), OUTDIR/inclusive.txt and
# OUTDIR/self.txt (callgrind_annotate), OUTDIR/answers.txt (each answer with
# its took_ms removed, to check that two builds answer the same) and
# OUTDIR/summary.txt (total instructions and per request).
set -euo pipefail
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
IX=$1 Q=$2 OUT=$3 SD=${4:-build/bin/searchd}
command -v valgrind >/dev/null || { echo "callgrind_http: valgrind missing" >&2; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/callgrind.out*
LOG=$OUT/searchd.log
: >"$LOG"
# shellcheck disable=SC2086
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" --dump-instr=no \
    "$SD" --index "$IX" --listen 127.0.0.1:0 --threads 1 --cache-mb 0 --log-level error \
    ${SD_OPTS:-} >"$LOG" 2>&1 &
VG=$!
trap 'kill $VG 2>/dev/null || true' EXIT
# valgrind starts slowly: up to 60 s
url=$(bench_listen_url "$LOG" $VG 600) || { echo "callgrind_http: searchd did not start" >&2; exit 1; }
python3 tests/bench/httpq.py "$url" "$Q" --warm "${WARM:-20}" --answers "$OUT/answers.txt" \
    --before "callgrind_control -z $VG" --after "callgrind_control -d $VG" >"$OUT/client.txt"
kill $VG
wait $VG 2>/dev/null || true
trap - EXIT
# the dump taken after the measured queries (the one at exit holds only the
# shutdown)
f=$(ls "$OUT"/callgrind.out.* 2>/dev/null | grep -v '\.[0-9]*-' | sort | head -1 || true)
[ -n "$f" ] || f=$(ls "$OUT"/callgrind.out* | sort | head -1)
cp "$f" "$OUT/callgrind.measured"
n=$(sed -n 's/^requests: //p' "$OUT/client.txt")
callgrind_annotate --inclusive=yes --threshold=99.9 "$OUT/callgrind.measured" 2>/dev/null \
    | sed 's/  *$//' >"$OUT/inclusive.txt"
callgrind_annotate --inclusive=no --threshold=99 "$OUT/callgrind.measured" 2>/dev/null \
    | sed 's/  *$//' >"$OUT/self.txt"
total=$(sed -n 's/^summary: *//p' "$OUT/callgrind.measured" | head -1)
{
    echo "requests: $n"
    echo "instructions: $total"
    echo "per request: $((total / n))"
} >"$OUT/summary.txt"
cat "$OUT/summary.txt"
