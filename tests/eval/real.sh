#!/bin/bash
# tests/eval/real.sh: kbeval on tests/eval/real_queries.tsv, judged users'
# questions over the benchmark's real corpus (Debian text, see
# tests/bench/convert.py), kbdesk against the same two Xapian baselines as
# make eval. Converts the corpus once (tests/bench/known.sh or make bench
# leave it in build/bench/real), indexes it into build/eval-real and prints
# kbeval's report (also in build/eval-real/RESULTS.md). make all and
# build/bin/kbeval must have been built (make eval builds it).
set -euo pipefail
cd "$(dirname "$0")/../.."
W=build/eval-real
mkdir -p "$W"
if [ ! -d build/bench/real/corpus ]; then
    python3 tests/bench/convert.py build/bench/real >/dev/null
fi
build/bin/indexer build --quiet --corpus build/bench/real/corpus --index "$W/index" >/dev/null
build/bin/kbeval --corpus build/bench/real/corpus --index "$W/index" --work "$W" \
    --queries tests/eval/real_queries.tsv --out "$W/RESULTS.md" >/dev/null
cat "$W/RESULTS.md"
