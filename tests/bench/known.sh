#!/bin/bash
# tests/bench/known.sh: the benchmark's known-item pass alone, kbdesk against
# the n-gram OR + BM25 baseline (xapian-bag), in minutes instead of make
# bench's half hour. Uses the same pieces as tests/bench/run.sh
# (tests/bench/lib.sh): the Debian text packages, convert.py, a kbdesk index
# and a scriptindex index of the real corpus, benchq's known-item pass over
# tests/bench/queries.txt on core 1.
#
#   tests/bench/known.sh            convert (first time only), index, compare
#   tests/bench/known.sh --reindex  rebuild only the kbdesk index (after an
#                                   indexer change), then compare
#   tests/bench/known.sh --query    reuse both indexes (after a query-side
#                                   change), compare
#   KNOWN_QUERIES=FILE              another query log (same format)
#
# make all must have run. Writes build/bench/known/: known_ENGINE.json
# (benchq's figures), ranks_ENGINE.tsv (per query: the known item's rank,
# 0 = not in the top 10, type, lang, source, query, top three ids) and
# losses.tsv (queries the baseline ranks higher than kbdesk). Prints a
# table of hit@10 and MRR@10 per engine and per query type.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$ROOT/build/bench
K=$W/known
T0=$(date +%s)
log() { printf 'known [%4ss] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
MODE=${1:-}
Q=${KNOWN_QUERIES:-tests/bench/queries.txt}

# shellcheck disable=SC2086
bench_packages $BENCH_TEXT_PKGS
bench_benchq
mkdir -p "$K"
if [ ! -f "$W/real/docs.si" ] || [ ! -d "$W/real/corpus" ]; then
    log "converting the Debian packages' text"
    bench_convert "$K/sources.json"
fi
if [ "$MODE" != --query ] || [ ! -d "$W/ix-real" ]; then
    log "kbdesk index ($(wc -l <"$W/real/docs.jsonl") documents)"
    bench_index_kbdesk "$W/ix-real" taskset -c 1
fi
if { [ "$MODE" != --query ] && [ "$MODE" != --reindex ]; } || [ ! -d "$W/xi-real" ]; then
    log "scriptindex index"
    bench_index_xapian "$W/xi-real" taskset -c 1
fi
for e in kbdesk xapian-bag; do
    case $e in kbdesk) ix=$W/ix-real ;; *) ix=$W/xi-real ;; esac
    log "known-item pass: $e"
    bench_known $e "$ix" "$Q" "$K/known_$e.json" --ranks "$K/ranks_$e.tsv"
done
python3 - "$K" <<'PY'
import collections, sys
k = sys.argv[1]
def load(e):
    return [l.rstrip("\n").split("\t") for l in open(f"{k}/ranks_{e}.tsv", encoding="utf-8")]
a, b = load("kbdesk"), load("xapian-bag")
def fig(rows):
    n = len(rows)
    return (sum(1 for r in rows if r[0] != "0") / n, sum(1 / int(r[0]) for r in rows if r[0] != "0") / n) if n else (0, 0)
groups = collections.OrderedDict([("all", list(range(len(a))))])
for i, r in enumerate(a):
    groups.setdefault(f"{r[1]} {r[2]}", []).append(i)
print(f"{'queries':<16} {'n':>5}  {'kbdesk hit@10':>13} {'MRR@10':>7}  {'bag hit@10':>10} {'MRR@10':>7}")
for g, ix in groups.items():
    ka, kb = fig([a[i] for i in ix]), fig([b[i] for i in ix])
    print(f"{g:<16} {len(ix):>5}  {ka[0]:>13.3f} {ka[1]:>7.3f}  {kb[0]:>10.3f} {kb[1]:>7.3f}")
rank = lambda r: int(r[0]) or 99
with open(f"{k}/losses.tsv", "w", encoding="utf-8") as f:
    n = 0
    for x, y in zip(a, b):
        if rank(y) < rank(x):
            n += 1
            f.write("\t".join([x[0], y[0]] + x[1:]) + "\n")
wins = sum(1 for x, y in zip(a, b) if rank(x) < rank(y))
print(f"kbdesk ranks the known item higher on {wins} queries, lower on {n} ({k}/losses.tsv:"
      " kbdesk rank, baseline rank, type, lang, source, query, kbdesk's top three)")
PY
