#!/bin/sh
# tests/bench/scale_out.sh: searchd beyond one process, on loopback, with
# Xapian's own tools. Two tables on stdout (markdown), for tests/bench/
# RESULTS.md section 8:
#   1. replicas: queries/s with 1, 2 and 3 searchd processes, each on its own
#      replica copied by xapian-replicate from xapian-replicate-server, each
#      loaded by its own wrk (one connection per process, 4 in flight);
#   2. shards: latency of one client with the index split in 1, 2 and 4
#      shards (`indexer build --shard I/N`), the first local and the others
#      served by xapian-tcpsrv on 127.0.0.1.
# Each point runs ROUNDS times (the rounds interleave the points, so a
# change in the machine's load falls on all of them); the tables give the
# median and the range, the ratio to the first row of the same run, and the
# load average at the start and the end of the points.
#
#   sh tests/bench/scale_out.sh [SECONDS per point, default 5]
#       the demo corpus corpora/ (520 documents), the queries of
#       tests/bench/queries.txt, one round, in a temporary folder;
#   sh tests/bench/scale_out.sh --scale N [SECONDS, default 15]   (make bench-scaleout)
#       the N-document scale set of tests/bench/scale.py (the real corpus of
#       tests/bench/convert.py plus its variants, as `make bench` grows it)
#       and the query sample of the scale benchmarks (every 4th query of
#       tests/bench/queries.txt), 3 rounds. Kept in SCALE_DIR (default
#       build/bench-scale) and reused by the next run: every step whose
#       output is complete (its .complete mark) is skipped. The indexes:
#       `indexer build --shard I/4` makes the four shards (two builds at a
#       time); xapian-compact merges shards I and I+2 into shard I of 2 and
#       all four into the single index (FNV-1a mod 4 gives mod 2 by its low
#       bit, so these are the same documents as `--shard I/2`; checked on
#       the demo corpus each run) and compacts each shard of 4 alone, so
#       every layout is compacted the same way. Raw figures go to
#       SCALE_DIR/results/.
# The result cache is off. Needs make all, wrk and xapian-tools (and for
# --scale the Debian text packages of `make bench`: lib.sh BENCH_TEXT_PKGS).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SCALE=
if [ "${1:-}" = "--scale" ]; then
    SCALE=${2:?--scale needs a document count}
    shift 2
    case $SCALE in *[!0-9]*) echo "scale_out: --scale takes a number" >&2; exit 2 ;; esac
fi
if [ -n "$SCALE" ]; then DUR=${1:-15}; ROUNDS=${ROUNDS:-3}; else DUR=${1:-5}; ROUNDS=${ROUNDS:-1}; fi
B=build/bin
W=$(mktemp -d "${TMPDIR:-/tmp}/kbscale.XXXXXX")
PIDS=""
# kills the processes in PIDS: Xapian's servers signal their process group
# on SIGTERM, so they (and their connection processes) get SIGKILL by id;
# searchd gets SIGTERM
stop_all() {
    for p in $PIDS; do
        for k in $(cat /proc/"$p"/task/"$p"/children 2>/dev/null); do kill -9 "$k" 2>/dev/null || true; done
        case " $SEARCHDS " in *" $p "*) kill "$p" 2>/dev/null || true ;; *) kill -9 "$p" 2>/dev/null || true ;; esac
    done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    PIDS=""
    SEARCHDS=""
}
SEARCHDS=""
BUILDS=""
cleanup() {
    for p in $BUILDS; do kill "$p" 2>/dev/null || true; done
    stop_all
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for t in wrk xapian-tcpsrv xapian-replicate xapian-replicate-server xapian-compact; do
    command -v $t >/dev/null || { echo "scale_out: $t missing (apt-get install wrk xapian-tools)" >&2; exit 1; }
done
[ -x $B/searchd ] && [ -x $B/indexer ] || { echo "scale_out: make all first" >&2; exit 1; }
log() { echo "scale_out [$(date -u +%H:%M:%S), load $(loadavg)] $*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# waits (at most 30 s) for a line matching $2 in file $1
waitline() {
    i=0
    until grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 300 ] || { echo "scale_out: timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1; }
        sleep 0.1
    done
}
# starts searchd on index spec $1; sets URL to its address
start_searchd() {
    log=$W/sd.$(date +%s%N)
    $B/searchd --index "$1" --listen 127.0.0.1:0 --threads 1 --cache-mb 0 --log-level error \
        --shard-timeout-ms 10000 --www searchd/www >"$log" 2>"$log.err" &
    PIDS="$PIDS $!"
    SEARCHDS="$SEARCHDS $!"
    waitline "$log" "^listening on"
    URL=$(sed -n 's/^listening on //p' "$log")
}
# starts xapian-tcpsrv on database $1; sets TCP to its shard spec
start_tcpsrv() {
    p=$(freeport)
    tl=$W/tcp.$(date +%s%N)
    xapian-tcpsrv --port "$p" --interface 127.0.0.1 "$1" >"$tl" 2>&1 &
    PIDS="$PIDS $!"
    waitline "$tl" "^Listening"
    TCP=tcp:127.0.0.1:$p
}
# cpu_ticks PID...: user + system CPU ticks of the processes and their
# children (xapian-tcpsrv forks one per connection)
cpu_ticks() {
    for p in "$@"; do echo "$p"; cat /proc/"$p"/task/*/children 2>/dev/null; done | tr ' ' '\n' | grep . | sort -u |
        while read -r q; do awk '{print $14 + $15}' /proc/"$q"/stat 2>/dev/null || true; done | awk '{s += $1} END {print s + 0}'
}
TCK=$(getconf CLK_TCK)
# one wrk run of $3 s on URL $1 with $2 connections: wrk.lua's JSON line
wrk1() { wrk -t1 -c"$2" -d"${3}s" --timeout 10s -s tests/bench/wrk.lua "$1" -- "$Q" 2>/dev/null | grep '^{'; }
# reads every file of the index folders given into the page cache
warm_files() { find "$@" -type f -exec cat {} + >/dev/null 2>&1 || true; }

# ---- the indexes -----------------------------------------------------------------
# Sets Q (queries), MASTER (folder holding the single index as "kb", served
# by xapian-replicate-server), REPDIR (where the replicas go), SHARDS_n
# (shard folders of the n-shard layout, n = 1 2 4), OUT (raw results),
# DOCS and the corpus line of the report.
demo_indexes() {
    Q=tests/bench/queries.txt
    OUT=$W/results
    mkdir -p "$W/master" "$OUT"
    log "building the indexes of corpora/ in $W"
    $B/indexer build --quiet --corpus corpora --index "$W/master/kb" >/dev/null
    DOCS=$(doccount "$W/master/kb")
    MASTER=$W/master REPDIR=$W
    SHARDS_1=$W/master/kb SHARDS_2="" SHARDS_4=""
    for s in 2 4; do
        for i in $(seq 0 $((s - 1))); do
            $B/indexer build --quiet --corpus corpora --index "$W/s$s.$i" --shard "$i/$s" >/dev/null
            eval "SHARDS_$s=\"\$SHARDS_$s $W/s$s.$i\""
        done
    done
}

# is_complete DIR: true when DIR was completed (by this run or an earlier one)
is_complete() { [ -f "$1/.complete" ]; }
# ids DIR: the sorted document ids of an index
ids() { $B/indexer list --index "$1" | cut -f1 | sort; }
# compact OUT SRC...: xapian-compact of the sources into OUT (skipped when
# complete)
compact() {
    out=$1; shift
    is_complete "$out" && return 0
    rm -rf "$out" "$out.tmp"
    mkdir -p "$(dirname "$out")"
    xapian-compact "$@" "$out.tmp" >/dev/null
    mv "$out.tmp" "$out"
    : >"$out/.complete"
}
# doccount DIR: documents in an index
doccount() { $B/indexer stats --index "$1" | sed -n 's/^documents: //p'; }

scale_indexes() {
    S=${SCALE_DIR:-build/bench-scale}
    mkdir -p "$S"
    S=$(cd "$S" && pwd)
    OUT=$S/results
    mkdir -p "$OUT"
    # the real corpus (convert.py), as make bench converts it
    if ! is_complete "$S/real"; then
        for f in /usr/share/libreoffice/help/zh-CN /usr/share/debian-reference; do
            [ -e "$f" ] || { echo "scale_out: the Debian text packages are missing: apt-get install $(echo "$BENCH_TEXT_PKGS" | tr "\n" " ")" >&2; exit 1; }
        done
        log "converting the Debian packages' text (tests/bench/convert.py)"
        rm -rf "$S/real" "$S/real.tmp"
        python3 tests/bench/convert.py "$S/real.tmp" >"$S/real.tmp.sources.json"
        mv "$S/real.tmp.sources.json" "$S/real.tmp/sources.json"
        mv "$S/real.tmp" "$S/real"
        : >"$S/real/.complete"
    fi
    REAL=$(wc -l <"$S/real/docs.jsonl")
    [ "$SCALE" -ge "$REAL" ] || { echo "scale_out: --scale must be at least the real corpus, $REAL" >&2; exit 2; }
    C=$S/corpus-$SCALE
    if ! is_complete "$C"; then
        log "writing the $SCALE-document scale set (tests/bench/scale.py variants 0..$((SCALE - REAL - 1)))"
        rm -rf "$C" "$C.tmp"
        mkdir -p "$C.tmp"
        cp -r "$S/real/corpus/." "$C.tmp/"
        python3 tests/bench/scale.py variants "$S/real/docs.jsonl" "$C.tmp" --from 0 --to $((SCALE - REAL)) \
            >"$C.tmp/.gen.json"
        mv "$C.tmp" "$C"
        : >"$C/.complete"
    fi
    # the query sample of the scale benchmarks (run.sh: every QEVERY-th query
    # of the log, QEVERY = 4 in the full run)
    Q=$S/queries.sample.txt
    awk -F'\t' -v k=4 '/^#/{next} {n++} n%k==1' tests/bench/queries.txt >"$Q"
    DOCS=$SCALE
    X=$S/ix-$SCALE
    mkdir -p "$X"
    # the merge of shards of 4 into shards of 2 gives the documents of
    # --shard I/2: checked on the demo corpus (seconds)
    log "checking on corpora/ that compacting shards I and I+2 of 4 gives shard I of 2"
    for i in 0 1 2 3; do $B/indexer build --quiet --corpus corpora --index "$W/chk4.$i" --shard "$i/4" >/dev/null; done
    for i in 0 1; do
        $B/indexer build --quiet --corpus corpora --index "$W/chk2.$i" --shard "$i/2" >/dev/null
        xapian-compact "$W/chk4.$i" "$W/chk4.$((i + 2))" "$W/chkm.$i" >/dev/null
        ids "$W/chk2.$i" >"$W/a" && ids "$W/chkm.$i" >"$W/b"
        [ -s "$W/a" ] && cmp -s "$W/a" "$W/b" ||
            { echo "scale_out: compacted shards $i+$((i + 2)) of 4 differ from --shard $i/2" >&2; exit 1; }
    done
    # the four shards: two builds at a time, each timed
    for pair in "0 1" "2 3"; do
        BUILDS=""
        for i in $pair; do
            is_complete "$X/raw4.$i" && continue
            log "indexer build --shard $i/4 of $SCALE documents"
            rm -rf "$X/raw4.$i"
            ( /usr/bin/time -f '{"shard":"'"$i"'/4","seconds":%e,"user_s":%U,"sys_s":%S,"max_rss_kb":%M}' \
                -o "$OUT/build4.$i.json" $B/indexer build --quiet --corpus "$C" --index "$X/raw4.$i" \
                --shard "$i/4" >/dev/null && : >"$X/raw4.$i/.complete" ) &
            BUILDS="$BUILDS $!"
        done
        for p in $BUILDS; do wait "$p" || { echo "scale_out: a shard build failed" >&2; exit 1; }; done
        BUILDS=""
    done
    log "compacting (xapian-compact): 1, 2 and 4 shards"
    compact "$X/master/kb" "$X/raw4.0" "$X/raw4.1" "$X/raw4.2" "$X/raw4.3"
    compact "$X/s2.0" "$X/raw4.0" "$X/raw4.2"
    compact "$X/s2.1" "$X/raw4.1" "$X/raw4.3"
    for i in 0 1 2 3; do compact "$X/s4.$i" "$X/raw4.$i"; done
    n=$(doccount "$X/master/kb")
    [ "$n" -eq "$SCALE" ] || { echo "scale_out: the single index holds $n documents, not $SCALE" >&2; exit 1; }
    for s in 2 4; do
        t=0
        for i in $(seq 0 $((s - 1))); do t=$((t + $(doccount "$X/s$s.$i"))); done
        [ "$t" -eq "$SCALE" ] || { echo "scale_out: the $s shards hold $t documents, not $SCALE" >&2; exit 1; }
    done
    MASTER=$X/master REPDIR=$X
    SHARDS_1=$X/master/kb SHARDS_2="$X/s2.0 $X/s2.1" SHARDS_4="$X/s4.0 $X/s4.1 $X/s4.2 $X/s4.3"
    {
        echo "{\"docs\":$SCALE,\"index_mb\":{"
        echo "\"1\":$(du -sm "$X/master/kb" | cut -f1),"
        echo "\"2\":$(du -smc $SHARDS_2 | tail -1 | cut -f1),"
        echo "\"4\":$(du -smc $SHARDS_4 | tail -1 | cut -f1)}}"
    } >"$OUT/indexes.json"
}

if [ -n "$SCALE" ]; then
    # shellcheck source=tests/bench/lib.sh
    . tests/bench/lib.sh
    scale_indexes
else
    demo_indexes
fi

# ---- the replicas ------------------------------------------------------------------
# xapian-replicate copies the single index to rep1..rep3 (an up-to-date
# replica left by an earlier run is only checked)
RP=$(freeport)
xapian-replicate-server -I 127.0.0.1 -p "$RP" "$MASTER" >"$W/rs.log" 2>&1 &
PIDS="$PIDS $!"
i=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$RP),1)" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "scale_out: replicate server not up" >&2; exit 1; }
    sleep 0.1
done
for r in 1 2 3; do
    log "xapian-replicate: replica $r"
    T0=$(date +%s.%N)
    xapian-replicate -h 127.0.0.1 -p "$RP" -m kb -o -q "$REPDIR/rep$r"
    echo "{\"replica\":$r,\"seconds\":$(echo "$(date +%s.%N) - $T0" | bc)}" >"$OUT/replicate.$r.json"
done
stop_all

# ---- a check: the 2- and 4-shard layouts give the single index's top 10 -------
CHECKQ=20
# The first CHECKQ queries' top-10 ids (and whether partial) from searchd at $1.
top10_ids() {
    python3 - "$1" "$Q" "$CHECKQ" <<'EOF'
import json, sys, urllib.parse, urllib.request
url, qf, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
qs = [l.rstrip("\n").split("\t")[3] for l in open(qf, encoding="utf-8") if not l.startswith("#")][:n]
for q in qs:
    d = json.load(urllib.request.urlopen(url + "/search?q=" + urllib.parse.quote(q), timeout=60))
    print(json.dumps([h["id"] for h in d["hits"]][:10]), bool(d.get("partial")))
EOF
}

check_top10() {
    start_searchd "$SHARDS_1"
    base=$URL
    top10_ids "$base" >"$W/top.1"
    stop_all
    SAME=""
    for s in 2 4; do
        spec=""
        # shellcheck disable=SC2046 # the folders, split on purpose
        set -- $(eval echo "\$SHARDS_$s")
        spec=$1; shift
        for d in "$@"; do start_tcpsrv "$d"; spec="$spec,$TCP"; done
        start_searchd "$spec"
        top10_ids "$URL" >"$W/top.$s"
        stop_all
        same=$(python3 - "$W/top.1" "$W/top.$s" <<'EOF'
import json, sys
a = [l.rsplit(" ", 1) for l in open(sys.argv[1]).read().splitlines()]
b = [l.rsplit(" ", 1) for l in open(sys.argv[2]).read().splitlines()]
order = sum(x[0] == y[0] for x, y in zip(a, b))
sets = sum(set(json.loads(x[0])) == set(json.loads(y[0])) for x, y in zip(a, b))
print(json.dumps({"queries": len(a), "same_order": order, "same_ids": sets,
                  "partial": sum(y[1] == "True" for y in b)}))
EOF
)
        SAME="$SAME \"$s\":$same,"
    done
    echo "{${SAME%,}}" >"$OUT/top10_same.json"
    log "top 10 of the shard layouts against the single index: {${SAME%,}}"
}
log "checking the top 10 of the shard layouts against the single index"
check_top10

# ---- the measurements -------------------------------------------------------------------
# warm-up: the index files into the page cache, then a 2 s wrk pass that is
# not counted
rm -f "$OUT"/rep.*.json "$OUT"/shard.*.json
T_START=$(date -u +%Y-%m-%dT%H:%M:%SZ) LOAD_START=$(loadavg)
for round in $(seq 1 "$ROUNDS"); do
    for n in 1 2 3; do
        urls=""
        for r in $(seq 1 $n); do
            warm_files "$REPDIR/rep$r"
            start_searchd "$REPDIR/rep$r"; urls="$urls $URL"
        done
        WP=""
        for u in $urls; do wrk1 "$u" 4 2 >/dev/null & WP="$WP $!"; done
        for p in $WP; do wait "$p"; done
        l0=$(loadavg) c0=$(cpu_ticks $SEARCHDS)
        k=0 WP=""
        for u in $urls; do k=$((k + 1)); wrk1 "$u" 4 "$DUR" >"$W/wrk.$k" & WP="$WP $!"; done
        for p in $WP; do wait "$p"; done
        c1=$(cpu_ticks $SEARCHDS)
        python3 - "$OUT/rep.$n.$round.json" "$l0" "$(loadavg)" "$(((c1 - c0) * 1000 / TCK))" "$W"/wrk.[0-9]* <<'EOF'
import json, sys
rows = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[5:]]
json.dump({"load_start": sys.argv[2], "load_end": sys.argv[3], "server_cpu_ms": int(sys.argv[4]),
           "wrk": rows}, open(sys.argv[1], "w"))
EOF
        rm -f "$W"/wrk.[0-9]*
        stop_all
        log "round $round: $n replica(s) done"
    done
    for s in 1 2 4; do
        # shellcheck disable=SC2046 # the folders, split on purpose
        set -- $(eval echo "\$SHARDS_$s")
        warm_files "$@"
        spec=$1; shift
        for d in "$@"; do start_tcpsrv "$d"; spec="$spec,$TCP"; done
        start_searchd "$spec"
        wrk1 "$URL" 1 2 >/dev/null
        l0=$(loadavg) c0=$(cpu_ticks $PIDS) d0=$(cpu_ticks $SEARCHDS)
        j=$(wrk1 "$URL" 1 "$DUR")
        c1=$(cpu_ticks $PIDS) d1=$(cpu_ticks $SEARCHDS)
        echo "{\"load_start\":\"$l0\",\"load_end\":\"$(loadavg)\",\"server_cpu_ms\":$(((c1 - c0) * 1000 / TCK))," \
            "\"searchd_cpu_ms\":$(((d1 - d0) * 1000 / TCK)),\"wrk\":[$j]}" >"$OUT/shard.$s.$round.json"
        stop_all
        log "round $round: $s shard(s) done"
    done
done
T_END=$(date -u +%Y-%m-%dT%H:%M:%SZ) LOAD_END=$(loadavg)

# ---- the tables ------------------------------------------------------------------------
python3 - "$OUT" "$DOCS" "$DUR" "$ROUNDS" "$T_START" "$T_END" "$LOAD_START" "$LOAD_END" "$(nproc)" >"$OUT/tables.md" <<'EOF'
import glob, json, os, statistics, sys
out, docs, dur, rounds, t0, t1, l0, l1, cpus = sys.argv[1:10]
rounds = int(rounds)
def med(v):
    return statistics.median(v)
def rng(v, f):
    return f"{f(med(v))} ({f(min(v))}–{f(max(v))})" if len(v) > 1 else f(v[0])
def loads(rs):
    ones = [float(r["load_start"].split()[0]) for r in rs] + [float(r["load_end"].split()[0]) for r in rs]
    return f"{min(ones):.1f}–{max(ones):.1f}"
f0 = lambda x: f"{x:,.0f}"
f2 = lambda x: f"{x:.2f}"
print(f"<!-- scale_out.sh: {docs} documents, {rounds} round(s) of {dur} s per point, {t0} to {t1}, "
      f"{cpus} CPUs, load average {l0} at the start and {l1} at the end -->")
print("| searchd processes (1 thread each, own replica) | queries/s (sum) | × 1 process | p50 ms | p99 ms | searchd CPU ms per query | load (1 min) during the points |")
print("|---|---:|---:|---:|---:|---:|---:|")
base = None
for n in (1, 2, 3):
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/rep.{n}.*.json"))]
    qps = [sum(w["requests"] / w["duration_s"] for w in r["wrk"]) for r in rs]
    p50 = [max(w["p50"] for w in r["wrk"]) for r in rs]
    p99 = [max(w["p99"] for w in r["wrk"]) for r in rs]
    errs = sum(w[k] for r in rs for w in r["wrk"] for k in w if k.startswith("err_"))
    if base is None:
        base = med(qps)
    cpu = [r["server_cpu_ms"] / max(1, sum(w["requests"] for w in r["wrk"])) for r in rs]
    print(f"| {n} | {rng(qps, f0)} | {med(qps) / base:.2f}× | {rng(p50, f2)} | {rng(p99, f2)} | {rng(cpu, f2)} | {loads(rs)} |"
          + (f" <!-- {errs} errors -->" if errs else ""))
print()
print("| shards (first local, others xapian-tcpsrv) | one client: queries/s | p50 ms | × 1 shard (p50) | p90 ms | p99 ms | CPU ms per query: searchd + xapian-tcpsrv | load (1 min) during the points |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
def cpu_split(rs, w):
    sd = [r["searchd_cpu_ms"] / max(1, x["requests"]) for r, x in zip(rs, w)]
    tcp = [(r["server_cpu_ms"] - r["searchd_cpu_ms"]) / max(1, x["requests"]) for r, x in zip(rs, w)]
    return f"{f2(med(sd))} + {f2(med(tcp))}"
base = None
for s in (1, 2, 4):
    rs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/shard.{s}.*.json"))]
    w = [r["wrk"][0] for r in rs]
    qps = [x["requests"] / x["duration_s"] for x in w]
    p50 = [x["p50"] for x in w]
    if base is None:
        base = med(p50)
    print(f"| {s} | {rng(qps, f0)} | {rng(p50, f2)} | {med(p50) / base:.2f}× | {rng([x['p90'] for x in w], f2)} | "
          f"{rng([x['p99'] for x in w], f2)} | {cpu_split(rs, w)} | {loads(rs)} |")
for extra in ["indexes.json", "top10_same.json"] + sorted(
        os.path.basename(f) for f in glob.glob(f"{out}/build4.*.json") + glob.glob(f"{out}/replicate.*.json")):
    p = os.path.join(out, extra)
    if os.path.exists(p):
        print(f"<!-- {extra}: {' '.join(open(p).read().split())} -->")
EOF
cat "$OUT/tables.md"
