#!/bin/bash
# make bench: kbdesk's indexing, query and chat-desk benchmarks on real text
# from Debian packages, with Xapian's scriptindex and PostgreSQL full-text
# search (tsvector GIN, pg_trgm), Groonga and Sphinx (tests/bench/peers.sh)
# measured in the same run on the same documents. Writes the raw figures to build/bench/results/ and regenerates
# tests/bench/RESULTS.md and its plots (tests/bench/plots/*.svg).
#
#   make bench                 the full run (3 repeats, scale set to 200,000)
#   make bench BENCH_QUICK=1   a quick pass for iteration (1 repeat, scale set
#                              to 20,000, short wrk runs, 2,000 idle sockets);
#                              RESULTS.md then says it was a quick run
#   tests/bench/run.sh --queries   only regenerate tests/bench/queries.txt
#
# It builds its query driver (tests/bench/benchq.cc) against build/lib/libkb.a,
# so `make all` must have run (make bench does it).
# Run as root (or with sudo for apt-get); PostgreSQL runs as the postgres
# user in a throwaway cluster (scripts/pg.sh) with fsync on.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$ROOT/build/bench
R=$W/results
T0=$(date +%s)
QUICK=${BENCH_QUICK:-}
case $QUICK in 0 | no | false) QUICK= ;; esac

log() { printf 'bench [%4ss] %s\n' $(($(date +%s) - T0)) "$*" >&2; }
now() { date +%s.%N; }
# json KEY=VALUE... -> {"KEY":VALUE,...} (values are numbers or JSON already)
json() {
    local out="" kv
    for kv in "$@"; do out="$out${out:+,}\"${kv%%=*}\":${kv#*=}"; done
    printf '{%s}\n' "$out"
}
jstr() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh
# shellcheck source=tests/bench/peers.sh
. tests/bench/peers.sh

if [ -n "$QUICK" ]; then
    REPS=1; SIZES="10000 20000"; WRK_D=3; WRK_D1=2; IDLE_N=2000; CHAT_D=5; QEVERY=8; SLOWQ=40
else
    REPS=3; SIZES="10000 50000 100000 200000"; WRK_D=10; WRK_D1=5; IDLE_N=10000; CHAT_D=10; QEVERY=4; SLOWQ=150
fi

# ---- packages ---------------------------------------------------------------
# shellcheck disable=SC2086
bench_packages $BENCH_TEXT_PKGS wrk gnuplot-nox postgresql-contrib linux-perf time util-linux libpq-dev $PEERS_PKGS

mkdir -p "$W/bin"
if [ "${1:-}" = "--queries" ]; then
    python3 tests/bench/convert.py "$W/real" >/dev/null
    python3 tests/bench/mkqueries.py "$W/real/docs.jsonl" >tests/bench/queries.txt
    exit 0
fi

rm -rf "$R"
mkdir -p "$R"
PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    scripts/pg.sh stop "$W/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# ---- build the query driver -------------------------------------------------
log "building benchq"
[ -x build/bin/searchd ] || { echo "bench: build first (make all), or run make bench" >&2; exit 1; }
bench_benchq

# ---- machine ----------------------------------------------------------------
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "quick: ${QUICK:-no}"
    echo "commit: $(cat .git/HEAD 2>/dev/null | sed 's/^ref: //' | while read -r r; do if [ -f ".git/$r" ]; then cat ".git/$r"; elif [ -f .git/packed-refs ] && grep -q " $r\$" .git/packed-refs; then grep " $r\$" .git/packed-refs | cut -d' ' -f1; else echo "$r"; fi; done)"
    echo "kernel: $(uname -srm)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p')"
    echo "cpus: $(nproc)"
    echo "memory: $(free -g | awk '/^Mem:/{print $2" GiB"}')"
    echo "xapian: $(dpkg-query -W -f='${Version}' libxapian30 2>/dev/null)"
    echo "postgresql: $(/usr/lib/postgresql/15/bin/postgres --version | sed 's/.*) //')"
    echo "wrk: $(dpkg-query -W -f='${Version}' wrk)"
    echo "groonga: $(dpkg-query -W -f='${Version}' groonga-bin)"
    echo "sphinx: $(dpkg-query -W -f='${Version}' sphinxsearch)"
    echo "icu: $(dpkg-query -W -f='${Version}' libicu72 2>/dev/null)"
    echo "node: $(node --version 2>/dev/null || echo none)"
    echo "disk: $(df -h "$W" | awk 'NR==2{print $2" total, "$4" free"}')"
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$R/machine.txt"
lscpu >"$R/lscpu.txt"

# ---- 1. corpora ---------------------------------------------------------------
log "converting the Debian packages' text into articles"
bench_convert "$R/sources.json"
REAL_DOCS=$(wc -l <"$W/real/docs.jsonl")
REAL_BYTES=$(python3 -c 'import json,sys; print(sum(x["text_bytes"] for x in json.load(open(sys.argv[1]))))' "$R/sources.json")
json docs=$REAL_DOCS text_bytes=$REAL_BYTES >"$R/real.json"
python3 tests/bench/mkqueries.py "$W/real/docs.jsonl" >"$W/queries.regen.txt" 2>/dev/null
if cmp -s "$W/queries.regen.txt" tests/bench/queries.txt; then echo true; else echo false; fi >"$R/queries_same.json"
Q=tests/bench/queries.txt
# the query sample for repeated latency runs: every QEVERY-th query (all types)
awk -F'\t' -v k=$QEVERY '/^#/{next} {n++} n%k==1' "$Q" >"$W/queries.sample.txt"
cp "$W/queries.sample.txt" "$R/queries.sample.txt"
# typical 2-5 term queries for the HTTP throughput target
awk -F'\t' '$1=="keywords" || $1=="title" {print}' "$Q" >"$W/queries.short.txt"
peers_inputs

# ---- PostgreSQL -----------------------------------------------------------------
log "starting PostgreSQL (fsync on, server pinned to CPU 0)"
scripts/pg.sh stop "$W/pg" >/dev/null 2>&1 || true
rm -rf "$W/pg"
PGC=$(PG_FSYNC=on taskset -c 0 scripts/pg.sh start "$W/pg")
PGB=${PGC/dbname=postgres/dbname=bench}
psql "$PGC" -qAt -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" \
    -c "CREATE DATABASE bench TEMPLATE template0 LC_CTYPE 'C.UTF-8' LC_COLLATE 'C'" \
    -c "CREATE DATABASE chat" >/dev/null
psql "$PGB" -qAt -c "CREATE EXTENSION pg_trgm" >/dev/null
{
    echo "## cluster default (initdb --no-locale: LC_CTYPE $(psql "$PGC" -At -c 'show lc_ctype'))"
    psql "$PGC" -At -c "select 'show_trgm(''知识库管理'') = ' || show_trgm('知识库管理')::text" \
        -c "select 'to_tsvector(''simple'', ''我的电脑连不上VPN了，提示错误809'') = ' || to_tsvector('simple','我的电脑连不上VPN了，提示错误809')::text"
    echo "## database bench (LC_CTYPE $(psql "$PGB" -At -c 'show lc_ctype'))"
    psql "$PGB" -At -c "select 'show_trgm(''知识库管理'') = ' || show_trgm('知识库管理')::text" \
        -c "select 'to_tsvector(''simple'', ''我的电脑连不上VPN了，提示错误809'') = ' || to_tsvector('simple','我的电脑连不上VPN了，提示错误809')::text" \
        -c "select 'plainto_tsquery(''simple'', ''打印机 卡纸怎么办'') = ' || plainto_tsquery('simple','打印机 卡纸怎么办')::text"
} >"$R/pg_locale.txt"

# pg_load OUT TSV... : loads the documents into a fresh table in database
# bench, builds the tsvector GIN and the pg_trgm GIN, reports times (s),
# sizes (bytes) and the backend's peak RSS (kB)
pg_load() {
    local out=$1; shift
    local sql=$W/pg_load.sql f
    {
        echo "\\set ON_ERROR_STOP 1"
        echo "SET client_min_messages = warning;"
        echo "DROP TABLE IF EXISTS docs;"
        echo "SET maintenance_work_mem = '512MB';"
        echo "SET max_parallel_maintenance_workers = 0;"
        echo "CREATE TABLE docs (id text PRIMARY KEY, lang text, title text, body text,"
        echo "  tsv tsvector GENERATED ALWAYS AS (setweight(to_tsvector('simple', title), 'A') || to_tsvector('simple', body)) STORED);"
        echo "select pg_backend_pid() as pid \\gset"
        echo "\\setenv BPID :pid"
        echo "\\! echo t_start \$(date +%s.%N)"
        for f in "$@"; do echo "\\copy docs (id, lang, title, body) from '$f'"; done
        echo "\\! echo t_loaded \$(date +%s.%N)"
        echo "CREATE INDEX docs_tsv ON docs USING gin (tsv);"
        echo "\\! echo t_fts \$(date +%s.%N)"
        echo "\\! echo hwm_fts \$(awk '/^VmHWM/{print \$2}' /proc/\$BPID/status)"
        echo "CREATE INDEX docs_trgm ON docs USING gin ((title || ' ' || body) gin_trgm_ops);"
        echo "\\! echo t_trgm \$(date +%s.%N)"
        echo "\\! echo hwm_trgm \$(awk '/^VmHWM/{print \$2}' /proc/\$BPID/status)"
        echo "CHECKPOINT;"
        echo "ANALYZE docs;"
        echo "select 'table ' || pg_table_size('docs');"
        echo "select 'pkey ' || pg_relation_size('docs_pkey');"
        echo "select 'gin_tsv ' || pg_relation_size('docs_tsv');"
        echo "select 'gin_trgm ' || pg_relation_size('docs_trgm');"
    } >"$sql"
    psql "$PGB" -qAt -f "$sql" >"$W/pg_load.out"
    python3 - "$W/pg_load.out" >"$out" <<'PY'
import json, sys
v = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 2:
        v[p[0]] = float(p[1])
load = v["t_loaded"] - v["t_start"]
fts = v["t_fts"] - v["t_loaded"]
trgm = v["t_trgm"] - v["t_fts"]
print(json.dumps({"load_s": load, "fts_gin_s": fts, "trgm_gin_s": trgm,
                  "fts_total_s": load + fts, "trgm_total_s": load + trgm,
                  "table_bytes": v["table"], "pkey_bytes": v["pkey"],
                  "gin_tsv_bytes": v["gin_tsv"], "gin_trgm_bytes": v["gin_trgm"],
                  "fts_bytes": v["table"] + v["pkey"] + v["gin_tsv"],
                  "peak_rss_kb_fts": v["hwm_fts"], "peak_rss_kb_trgm": v["hwm_trgm"]}))
PY
}

# timed OUT CMD...: runs CMD on CPU 0 under /usr/bin/time; OUT gets wall,
# user, sys (s) and peak RSS (kB)
timed() {
    local out=$1; shift
    /usr/bin/time -f '{"wall":%e,"user":%U,"sys":%S,"maxrss_kb":%M}' -o "$out" taskset -c 0 "$@"
}
# timed2 OUT CMD...: the same on both cores (the kbdesk indexer reads and
# analyses files on a second thread; scriptindex has one)
timed2() {
    local out=$1; shift
    /usr/bin/time -f '{"wall":%e,"user":%U,"sys":%S,"maxrss_kb":%M}' -o "$out" taskset -c 0,1 "$@"
}
dir_bytes() { du -sb "$1" | cut -f1; }

# ---- 2. indexing on the real corpus -------------------------------------------
for rep in $(seq 1 $REPS); do
    log "indexing the real corpus ($REAL_DOCS documents), repeat $rep/$REPS"
    cat "$W"/real/corpus/*/*.md "$W/real/docs.si" "$W/real/docs.tsv" >/dev/null
    bench_index_kbdesk "$W/ix-real" timed2 "$R/idx2_kbdesk_$rep.time"
    bench_index_xapian "$W/xi-real" timed2 "$R/idx2_xapian_$rep.time"
    bench_index_kbdesk "$W/ix-real" timed "$R/idx_kbdesk_$rep.time"
    json bytes=$(dir_bytes "$W/ix-real") >"$R/idx_kbdesk_$rep.size"
    bench_index_xapian "$W/xi-real" timed "$R/idx_xapian_$rep.time"
    json bytes=$(dir_bytes "$W/xi-real") >"$R/idx_xapian_$rep.size"
    pg_load "$R/idx_pg_$rep.json" "$W/real/docs.tsv"
    peers_index $rep
done
# the peers' servers on CPU 0, as PostgreSQL's (benchq runs on CPU 1)
peers_start 0

# ---- 3. queries on the real corpus --------------------------------------------
log "queries on the real corpus: known-item pass over all $(grep -vc '^#' $Q) queries, every engine"
# pg_trgm takes about a second a query here: it gets the first $SLOWQ queries
# of the sample, once, with a 1 s statement timeout (also for the known item)
for e in kbdesk xapian-qp xapian-bag pg-fts pg-fts-or pg-trgm groonga sphinx; do
    case $e in
        kbdesk) a=(--index "$W/ix-real") ;;
        xapian-*) a=(--index "$W/xi-real") ;;
        groonga) a=(--index "$GROONGA_URL" --timeout-ms 2000) ;;
        sphinx) a=(--db "$SPHINX_ADDR" --timeout-ms 2000) ;;
        pg-trgm) a=(--db "$PGB" --timeout-ms 1000 --max $SLOWQ --warm 10); qf=$W/queries.sample.txt ;;
        *) a=(--db "$PGB" --timeout-ms 2000) ;;
    esac
    [ $e = pg-trgm ] || qf=$Q
    taskset -c 1 "$BENCHQ" --engine $e --warm 200 "${a[@]}" --queries "$qf" --repeat 1 \
        >"$R/known_$e.json"
    log "  $e: $(cut -c1-160 "$R/known_$e.json")"
done
log "latency on the real corpus: $(wc -l <"$W/queries.sample.txt") queries x $REPS"
for e in kbdesk kbdesk-nofacets xapian-qp xapian-bag pg-fts pg-fts-or groonga sphinx; do
    case $e in
        kbdesk*) a=(--index "$W/ix-real") ;;
        xapian-*) a=(--index "$W/xi-real") ;;
        groonga) a=(--index "$GROONGA_URL" --timeout-ms 2000) ;;
        sphinx) a=(--db "$SPHINX_ADDR" --timeout-ms 2000) ;;
        *) a=(--db "$PGB" --timeout-ms 2000) ;;
    esac
    taskset -c 1 "$BENCHQ" --engine $e "${a[@]}" --queries "$W/queries.sample.txt" --repeat $REPS \
        --warm 100 --raw "$R/raw_real_$e.txt" >"$R/lat_real_$e.json"
done
cp "$R/known_pg-trgm.json" "$R/lat_real_pg-trgm.json"

# ---- 4. HTTP: searchd under wrk -------------------------------------------------
# start_searchd INDEX THREADS CPUS CACHE_MB -> sets SD_PID, SD_URL
start_searchd() {
    local out=$W/searchd.out
    : >"$out"
    taskset -c "$3" build/bin/searchd --index "$1" --listen 127.0.0.1:0 --threads "$2" \
        --www searchd/www --log-level error --cache-mb "$4" >"$out" 2>&1 &
    SD_PID=$!
    PIDS+=("$SD_PID")
    for _ in $(seq 1 100); do
        grep -q 'listening on' "$out" && break
        sleep 0.1
    done
    SD_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out" | head -1)
    [ -n "$SD_URL" ] || { cat "$out" >&2; echo "searchd did not start" >&2; exit 1; }
}
stop_searchd() { kill "$SD_PID" 2>/dev/null || true; wait "$SD_PID" 2>/dev/null || true; }
# warm_cache CPUS URL QUERYFILE: asks for every query of the file once (8
# at a time), so searchd's result cache holds them all
warm_cache() {
    taskset -c "$1" python3 - "$2" "$3" <<'PY'
import sys, urllib.parse, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, qf = sys.argv[1], sys.argv[2]
qs = [l.rstrip("\n").split("\t", 3)[3] for l in open(qf, encoding="utf-8")
      if not l.startswith("#") and l.count("\t") >= 3]
def get(q):
    with urllib.request.urlopen(url + "/search?q=" + urllib.parse.quote(q, safe=""), timeout=60) as r:
        r.read()
with ThreadPoolExecutor(8) as ex:
    list(ex.map(get, [q for q in qs if q]))
PY
}
# http_runs LABEL INDEX QUERYFILE [cached]: searchd with its result cache off
# (--cache-mb 0: every request runs the engine; results http_LABEL_*), and
# with "cached" also with the cache on, measured after one warm-up pass over
# the query file has filled it (steady state: every request is a hit;
# results http_LABEL_cached_*)
http_runs() {
    local label=$1 ix=$2 qf=$3 cores rep mode name
    for cores in 1 2; do
        for mode in off ${4:+on}; do
            if [ $mode = off ]; then name=$label; else name=${label}_cached; fi
            if [ $cores = 1 ]; then
                start_searchd "$ix" 1 0 $([ $mode = off ] && echo 0 || echo 256); WRKCPU=1; WT=1
            else
                start_searchd "$ix" 2 0,1 $([ $mode = off ] && echo 0 || echo 256); WRKCPU=0,1; WT=2
            fi
            if [ $mode = on ]; then
                warm_cache $WRKCPU "$SD_URL" "$qf" || log "  cache warm-up failed"
            else
                taskset -c $WRKCPU wrk -t1 -c4 -d2 -s tests/bench/wrk.lua "$SD_URL" -- "$qf" >/dev/null 2>&1 || true
            fi
            for rep in $(seq 1 $REPS); do
                taskset -c $WRKCPU wrk -t1 -c1 -d${WRK_D1}s --timeout 10s -s tests/bench/wrk.lua "$SD_URL" -- "$qf" 2>/dev/null \
                    | grep '^{' >"$R/http_${name}_${cores}core_c1_$rep.json"
                taskset -c $WRKCPU wrk -t$WT -c32 -d${WRK_D}s --timeout 10s -s tests/bench/wrk.lua "$SD_URL" -- "$qf" 2>/dev/null \
                    | grep '^{' >"$R/http_${name}_${cores}core_c32_$rep.json"
            done
            if [ $mode = on ]; then
                curl -s "$SD_URL/metrics" | grep '^searchd_cache_' >"$R/http_${name}_${cores}core_metrics.txt" || true
            fi
            log "  $name, $cores core(s): $(cat "$R/http_${name}_${cores}core_c32_$REPS.json" | cut -c1-120)"
            stop_searchd
        done
    done
}
# /healthz: the ceiling of the HTTP path itself (transport, worker handoff),
# no search involved
healthz_runs() {
    local cores rep
    for cores in 1 2; do
        if [ $cores = 1 ]; then
            start_searchd "$W/ix-real" 1 0 0; WRKCPU=1; WT=1
        else
            start_searchd "$W/ix-real" 2 0,1 0; WRKCPU=0,1; WT=2
        fi
        for rep in $(seq 1 $REPS); do
            taskset -c $WRKCPU wrk -t$WT -c32 -d${WRK_D1}s --timeout 10s -s tests/bench/wrk.lua "$SD_URL/healthz" -- /dev/null 2>/dev/null \
                | grep '^{' >"$R/http_healthz_${cores}core_c32_$rep.json"
        done
        log "  healthz, $cores core(s): $(cut -c1-120 "$R/http_healthz_${cores}core_c32_$REPS.json")"
        stop_searchd
    done
}
log "HTTP: /healthz, the ceiling of the HTTP path"
healthz_runs
log "HTTP on the real corpus (typical short queries: titles and 2-5 keywords)"
http_runs real_short "$W/ix-real" "$W/queries.short.txt" cached
log "HTTP: Groonga (its HTTP server) and Sphinx (SphinxQL), same short queries, 2 cores"
peers_http real_short "$W/queries.short.txt"
log "HTTP on the real corpus (the whole query log)"
http_runs real_all "$W/ix-real" "$Q" cached

# ---- 5. scale set: growth from 10k to 200k ---------------------------------------
log "scale set: sizes $SIZES"
rm -rf "$W/scale" "$W/ix-scale"
mkdir -p "$W/scale"
cp -r "$W/real/corpus/." "$W/scale/"
: >"$W/variants.si"; : >"$W/variants.tsv"
have=0
for n in $SIZES; do
    want=$((n - REAL_DOCS))
    python3 tests/bench/scale.py variants "$W/real/docs.jsonl" "$W/scale" --from $have --to $want \
        --emit "$W/variants" >"$R/scale_gen_$n.json"
    have=$want
    log "  $n documents: indexing (incremental: only the new variants are added)"
    timed2 "$R/scale_idx_$n.time" build/bin/indexer build --corpus "$W/scale" --index "$W/ix-scale" --quiet >/dev/null
    json docs=$n bytes=$(dir_bytes "$W/ix-scale") >"$R/scale_size_$n.json"
    taskset -c 1 "$BENCHQ" --engine kbdesk --index "$W/ix-scale" --queries "$W/queries.sample.txt" \
        --repeat $REPS --warm 100 --raw "$R/raw_scale_${n}_kbdesk.txt" >"$R/scale_lat_${n}_kbdesk.json"
    log "  $n: $(cut -c1-200 "$R/scale_lat_${n}_kbdesk.json")"
done
TOP=${SIZES##* }
rm -rf "$W/ix-scale-compact"
timed "$R/scale_compact.time" xapian-compact "$W/ix-scale" "$W/ix-scale-compact" >/dev/null
json bytes=$(dir_bytes "$W/ix-scale-compact") >"$R/scale_compact.size"
rm -rf "$W/ix-scale-compact"

# baselines at the top size, same documents
log "baselines at $TOP documents: scriptindex and PostgreSQL"
rm -rf "$W/xi-scale"
XAPIAN_CJK_NGRAM=1 timed2 "$R/scale_idx_xapian.time" scriptindex "$W/xi-scale" tests/bench/xapian.si \
    "$W/real/docs.si" "$W/variants.si" >/dev/null
json bytes=$(dir_bytes "$W/xi-scale") >"$R/scale_idx_xapian.size"
pg_load "$R/scale_idx_pg.json" "$W/real/docs.tsv" "$W/variants.tsv"
for e in kbdesk-nofacets xapian-qp xapian-bag pg-fts pg-fts-or pg-trgm; do
    case $e in
        kbdesk-nofacets) a=(--index "$W/ix-scale" --repeat 1) ;;
        xapian-*) a=(--index "$W/xi-scale" --repeat $REPS) ;;
        pg-trgm) a=(--db "$PGB" --timeout-ms 1000 --max $SLOWQ --repeat 1) ;;
        pg-fts-or) a=(--db "$PGB" --timeout-ms 2000 --max $SLOWQ --repeat $REPS) ;;
        *) a=(--db "$PGB" --timeout-ms 2000 --repeat $REPS) ;;
    esac
    taskset -c 1 "$BENCHQ" --engine $e "${a[@]}" --queries "$W/queries.sample.txt" \
        --warm 20 --raw "$R/raw_scale_${TOP}_$e.txt" >"$R/scale_lat_${TOP}_$e.json"
    log "  $e: $(cut -c1-200 "$R/scale_lat_${TOP}_$e.json")"
done
log "HTTP at $TOP documents"
http_runs scale_short "$W/ix-scale" "$W/queries.short.txt"

# relevance: kbeval on the demo corpus (tests/eval), output kept in results
if [ -x build/bin/kbeval ]; then
    log "relevance: kbeval (tests/eval) on corpora/"
    rm -rf "$W/eval"; mkdir -p "$W/eval"
    build/bin/indexer build --quiet --corpus corpora --index "$W/eval/index" >/dev/null
    build/bin/kbeval --corpus corpora --index "$W/eval/index" --work "$W/eval" \
        --queries tests/eval/queries.tsv --out "$R/eval.md" >/dev/null 2>&1 || true
fi

# ---- 6. chat desk -------------------------------------------------------------------
if [ -x build/bin/chatdesk ] && [ -f tests/node_modules/ws/package.json ]; then
    log "chat desk"
    bash tests/bench/chat.sh "$W" "$R" "$PGC" "$IDLE_N" "$CHAT_D" "$REPS" || echo '{"failed":true}' >"$R/chat_failed.json"
else
    echo '{"pending":"build/bin/chatdesk or tests/node_modules/ws missing"}' >"$R/chat_pending.json"
fi

# ---- 7. profiles ----------------------------------------------------------------------
log "profiles (perf): indexer and query path"
bash tests/bench/profile.sh "$W" "$R" || true

# ---- 8. report --------------------------------------------------------------------------
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$R/machine.txt"
json seconds=$(($(date +%s) - T0)) >"$R/duration.json"
python3 tests/bench/report.py "$R" tests/bench/RESULTS.md tests/bench/plots
log "done in $(($(date +%s) - T0)) s: tests/bench/RESULTS.md"
