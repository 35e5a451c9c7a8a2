#!/bin/bash
# tests/bench/big1m.sh: the 1,000,000-document point of `make bench-big`
# (tests/bench/big.sh runs it with BIG_PARTS containing 1m; it also runs
# alone: `bash tests/bench/big1m.sh`, or `BIG_PARTS=1m bash tests/bench/big.sh`).
#   1. the scale set of `make bench` (tests/bench/scale.py: the real corpus of
#      tests/bench/convert.py plus its variants, same generator and seed),
#      at BASE (200,000) and TOP (1,000,000) documents;
#   2. indexes of both from scratch, the two builds at the same time (one
#      per core), each under `nice -n 10` (the machine is shared) and
#      /usr/bin/time: seconds, CPU seconds, docs/s, index on disk, peak RSS,
#      load average;
#   3. in-process latency as in the scale table of RESULTS.md section 3
#      (tests/bench/benchq.cc on core 1, the query sample of `make bench`:
#      every 4th query of tests/bench/queries.txt, 100 warm-up queries),
#      engines kbdesk (with facets) and kbdesk-nofacets, at BASE and TOP in
#      the same run: ROUNDS rounds, the sizes alternating (BASE first in odd
#      rounds, TOP first in even ones), one repeat each, load average
#      recorded around every run. The index files are read once before the
#      first round (both indexes fit in the page cache).
# Writes build/bench-big/results/1m.json (bigreport.py renders it) and the
# raw latencies to build/bench-big/results/1m/. The corpus and indexes are
# kept in build/bench-big/1m/ (about 7 GB at 1,000,000) and reused by the
# next run: every step whose output is complete (its .complete mark) is
# skipped; BIG_1M_CLEAN=1 removes them at the end.
# Environment: BIG_1M_DOCS=1000000 BIG_1M_BASE=200000 BIG_1M_ROUNDS=3
# (BIG_1M_DIR, BIG_1M_RESULTS: other folders, e.g. for a small trial run).
# Needs make all and the Debian text packages of `make bench` (lib.sh
# BENCH_TEXT_PKGS).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TOP=${BIG_1M_DOCS:-1000000} BASE=${BIG_1M_BASE:-200000} ROUNDS=${BIG_1M_ROUNDS:-3}
W=${BIG_1M_DIR:-$ROOT/build/bench-big/1m}
R=${BIG_1M_RESULTS:-$ROOT/build/bench-big/results}
mkdir -p "$W" "$R/1m"
log() { echo "bench-big 1m [$(date -u +%H:%M:%S), load $(loadavg)]: $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
done_mark() { [ -f "$W/$1.complete" ]; }
mark() { touch "$W/$1.complete"; }
log "disk: $(df -h "$W" | awk 'NR==2{print $4" free of "$2}')"

# ---- 1. the corpus ---------------------------------------------------------------
if ! done_mark real; then
    log "converting the Debian packages' text into articles"
    rm -rf "$W/real"
    python3 tests/bench/convert.py "$W/real" >"$W/sources.json"
    mark real
fi
REAL=$(wc -l <"$W/real/docs.jsonl")
awk -F'\t' -v k=4 '/^#/{next} {n++} n%k==1' tests/bench/queries.txt >"$W/queries.sample.txt"
if ! done_mark gen-base; then
    log "variants 0..$((BASE - REAL - 1)) ($BASE documents)"
    rm -rf "$W/corpus"
    mkdir -p "$W/corpus"
    cp -r "$W/real/corpus/." "$W/corpus/"
    nice -n 10 python3 tests/bench/scale.py variants "$W/real/docs.jsonl" "$W/corpus" \
        --from 0 --to $((BASE - REAL)) >"$W/gen_base.json"
    mark gen-base
fi

# timed_index NAME INDEX: `indexer build` of the NAME corpus into INDEX under nice
# and /usr/bin/time; $W/idx_NAME.json gets the figures
timed_index() {
    local name=$1 ix=$2 l0 l1 corpus=$W/corpus
    [ "$1" = base ] || corpus=$W/corpus-$1
    l0=$(loadavg)
    /usr/bin/time -f '{"wall":%e,"user":%U,"sys":%S,"maxrss_kb":%M}' -o "$W/idx_$name.time" \
        nice -n 10 build/bin/indexer build --corpus "$corpus" --index "$ix" --quiet >/dev/null
    l1=$(loadavg)
    python3 - "$W/idx_$name.time" "$(du -sb "$ix" | cut -f1)" "$l0" "$l1" >"$W/idx_$name.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t.update(bytes=int(sys.argv[2]), load_start=sys.argv[3], load_end=sys.argv[4])
print(json.dumps(t))
PY
}
# ---- 2. TOP documents, and both indexes ---------------------------------------------------
if ! done_mark gen-top; then
    log "variants $((BASE - REAL))..$((TOP - REAL - 1)) ($TOP documents)"
    rm -rf "$W/more"
    mkdir -p "$W/more"
    nice -n 10 python3 tests/bench/scale.py variants "$W/real/docs.jsonl" "$W/more" \
        --from $((BASE - REAL)) --to $((TOP - REAL)) >"$W/gen_top.json"
    mark gen-top
fi
if ! done_mark corpus-top; then
    # the TOP corpus: hard links to the BASE corpus and the new variants
    # (folder vNNN may hold both ranges)
    rm -rf "$W/corpus-top"
    cp -rl "$W/corpus" "$W/corpus-top"
    cp -rl "$W/more/." "$W/corpus-top/"
    mark corpus-top
fi
[ "$(find "$W/corpus" -name '*.md' | wc -l)" -eq "$BASE" ] || { log "the corpus does not hold $BASE documents"; exit 1; }
[ "$(find "$W/corpus-top" -name '*.md' | wc -l)" -eq "$TOP" ] || { log "the corpus does not hold $TOP documents"; exit 1; }
# both from scratch, at the same time (two cores; each under nice)
BUILDS=()
for s in base top; do
    done_mark "index-$s" && continue
    log "indexing the $s corpus from scratch (nice -n 10)"
    rm -rf "$W/ix-$s"
    ( timed_index "$s" "$W/ix-$s" && mark "index-$s" ) &
    BUILDS+=($!)
done
for p in "${BUILDS[@]}"; do wait "$p"; done
for s in base top; do done_mark "index-$s" || { log "index $s failed"; exit 1; }; log "  $s: $(cat "$W/idx_$s.json")"; done

# ---- 3. latency, BASE and TOP alternating ----------------------------------------------
bench_benchq
log "reading both indexes into the page cache"
find "$W/ix-base" "$W/ix-top" -type f -exec cat {} + >/dev/null
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then order="base top"; else order="top base"; fi
    for s in $order; do
        for e in kbdesk kbdesk-nofacets; do
            o=$R/1m/lat_${s}_${e}_$r
            l0=$(loadavg)
            taskset -c 1 "$BENCHQ" --engine "$e" --index "$W/ix-$s" --queries "$W/queries.sample.txt" \
                --repeat 1 --warm 100 --raw "$o.raw" >"$o.json"
            echo "$l0|$(loadavg)" >"$o.load"
            log "  round $r, $s, $e: $(cut -c1-160 "$o.json")"
        done
    done
done

# ---- 4. the result file ----------------------------------------------------------------
python3 - "$R/1m.json" "$W" "$R/1m" "$BASE" "$TOP" "$ROUNDS" "$REAL" <<'PY'
import json, math, os, sys
out, w, rd, base, top, rounds, real = sys.argv[1:8]
base, top, rounds, real = int(base), int(top), int(rounds), int(real)


def pct(v, p):  # nearest rank, as benchq
    v = sorted(v)
    i = max(0, math.ceil(p / 100 * len(v)) - 1)
    return v[min(i, len(v) - 1)]


def jl(p):
    return json.load(open(p))


d = {"base": base, "top": top, "rounds": rounds, "real_docs": real,
     "queries": sum(1 for _ in open(os.path.join(w, "queries.sample.txt"))),
     "index": {"base": jl(os.path.join(w, "idx_base.json")), "top": jl(os.path.join(w, "idx_top.json"))},
     "latency": []}
d["index"]["base"]["added"] = base
d["index"]["top"]["added"] = top
for r in range(1, rounds + 1):
    for s in ("base", "top"):
        for e in ("kbdesk", "kbdesk-nofacets"):
            o = os.path.join(rd, f"lat_{s}_{e}_{r}")
            ms = [float(l.split("\t")[0]) for l in open(o + ".raw") if l.strip()]
            l0, l1 = open(o + ".load").read().strip().split("|")
            j = jl(o + ".json")
            d["latency"].append({
                "round": r, "size": s, "docs": base if s == "base" else top, "engine": e,
                "n": len(ms), "p50": pct(ms, 50), "p95": pct(ms, 95), "p99": pct(ms, 99),
                "mean": sum(ms) / len(ms), "max": max(ms), "qps": j["repeats"][0].get("qps"),
                "no_results": j.get("zero_hits"), "errors": j.get("errors"),
                "load_start": l0, "load_end": l1})
json.dump(d, open(out, "w"), indent=1)
PY
log "wrote $R/1m.json"
if [ -n "${BIG_1M_CLEAN:-}" ]; then
    rm -rf "$W/corpus" "$W/corpus-top" "$W/more" "$W/ix-base" "$W/ix-top" "$W"/*.complete
fi
log "done, disk: $(df -h "$W" | awk 'NR==2{print $4" free"}')"
