#!/bin/bash
# Xapian's matcher cost of kbdesk's queries, by pass and by boost subquery
# (issue 21, item 3): builds tests/bench/matchprobe.cc against build/lib/libkb.a
# (make all first) and runs it under callgrind in its modes passes, parts and
# walk, then prints the instructions of each get_mset kind (and of the walk
# over every posting of the first pass's terms), in total and per query;
# each mode's standard output is kept in OUTDIR/out.MODE (walk: the postings
# walked and Xapian's estimates, per query).
#
#   matchprobe.sh INDEX QUERIES OUTDIR
set -euo pipefail
IX=$1 Q=$2 OUT=$3
command -v valgrind >/dev/null || { echo "matchprobe: valgrind missing" >&2; exit 1; }
[ -f build/lib/libkb.a ] || { echo "matchprobe: build first (make all)" >&2; exit 1; }
mkdir -p "$OUT"
KBPKGS="libutf8proc jansson icu-uc icu-i18n opencc libzstd"
# shellcheck disable=SC2046,SC2086
c++ -std=c++17 -O2 -g -Ishared $(pkg-config --cflags $KBPKGS) -o "$OUT/matchprobe" \
    tests/bench/matchprobe.cc build/lib/libkb.a $(pkg-config --libs $KBPKGS) -lxapian -lm -lpthread
n=$(grep -vc '^#' "$Q")
for mode in passes parts walk; do
    valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$mode" --toggle-collect='mp_*' \
        "$OUT/matchprobe" "$IX" "$Q" "$mode" >"$OUT/out.$mode" 2>"$OUT/valgrind.$mode"
    callgrind_annotate --inclusive=yes --threshold=100 "$OUT/callgrind.$mode" 2>/dev/null |
        sed -n 's/^ *\([0-9,]*\) ([ 0-9.%]*) *[^ ]*:\(mp_[a-z0-9_]*\) .*/\2 \1/p' | tr -d , |
        awk -v n="$n" -v m="$mode" '{printf "%s %-16s %14d  per query %10.0f\n", m, $1, $2, $2 / n}'
done | tee "$OUT/summary.txt"
