# tests/bench/peers.sh: the search engines a user would pick for Chinese
# text, set up as their documentation recommends, for tests/bench/run.sh
# (make bench). Sourced, not run; the caller sets W (the work folder), R
# (the results folder), the PIDS array (processes to stop at exit), a log
# function and timed (tests/bench/run.sh), and runs under
# `set -euo pipefail`.
#
#   Groonga (Debian's groonga-bin): table Docs (title ShortText, body
#   LongText), lexicon Terms with TokenBigram and NormalizerAuto, an index
#   column WITH_POSITION for each field, built after the load (Groonga's
#   offline index construction); queried through its own HTTP server
#   (`groonga -s --protocol http`, 127.0.0.1; its default thread limit, the
#   number of CPUs: 2 here, as searchd's --threads 2).
#   Sphinx (Debian's sphinxsearch 2.2.11): one index, fields title and
#   body and the document id as a string attribute, from a tsvpipe
#   source; CJK characters as one-character n-grams (ngram_len = 1,
#   ngram_chars = U+3000..U+2FA1F, the documentation's CJK setting), Latin
#   through the default charset_table; queried through its own daemon
#   (searchd) over SphinxQL (the MySQL protocol, 127.0.0.1), which is the
#   only network interface 2.2.11 has (no HTTP).
# The queries (benchq's groonga and sphinx engines, tests/bench/wrk.lua's
# groonga mode) pass the user's text with the query syntax's operators
# escaped; both engines then AND the terms, as their defaults do.

PEERS_PKGS="groonga-bin sphinxsearch libmariadb-dev libcurl4-openssl-dev"

# free_port: a TCP port on 127.0.0.1 nothing listens on now
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# peers_inputs: writes the peers' input files from $W/real/docs.jsonl:
# $W/peers/groonga.grn (schema, load, index) and $W/peers/sphinx.tsv
peers_inputs() {
    rm -rf "$W/peers"
    mkdir -p "$W/peers"
    python3 - "$W/real/docs.jsonl" "$W/peers" <<'PY'
import json, re, sys
src, out = sys.argv[1], sys.argv[2]
g = open(f"{out}/groonga.grn", "w", encoding="utf-8")
g.write("table_create Docs TABLE_HASH_KEY ShortText\n"
        "column_create Docs title COLUMN_SCALAR ShortText\n"
        "column_create Docs body COLUMN_SCALAR LongText\n"
        "load --table Docs\n[\n")
t = open(f"{out}/sphinx.tsv", "w", encoding="utf-8")
flat = lambda s: re.sub(r"[\t\r\n]+", " ", s)
for i, line in enumerate(open(src, encoding="utf-8"), 1):
    d = json.loads(line)
    g.write(("" if i == 1 else ",\n") + json.dumps({"_key": d["id"], "title": d["title"], "body": d["body"]},
                                                  ensure_ascii=False))
    t.write(f"{i}\t{d['id']}\t{flat(d['title'])}\t{flat(d['body'])}\n")
g.write("\n]\n"
        "table_create Terms TABLE_PAT_KEY ShortText --default_tokenizer TokenBigram "
        "--normalizer NormalizerAuto\n"
        "column_create Terms docs_title COLUMN_INDEX|WITH_POSITION Docs title\n"
        "column_create Terms docs_body COLUMN_INDEX|WITH_POSITION Docs body\n")
PY
    SPHINX_PORT=$(free_port)
    cat >"$W/peers/sphinx.conf" <<EOF
source docs
{
    type = tsvpipe
    tsvpipe_command = cat $W/peers/sphinx.tsv
    tsvpipe_attr_string = key
    tsvpipe_field = title
    tsvpipe_field = body
}
index docs
{
    source = docs
    path = $W/peers/sx/docs
    charset_table = 0..9, A..Z->a..z, _, a..z, U+410..U+42F->U+430..U+44F, U+430..U+44F, U+401->U+451, U+451
    ngram_len = 1
    ngram_chars = U+3000..U+2FA1F
}
indexer
{
    mem_limit = 256M
}
searchd
{
    listen = 127.0.0.1:$SPHINX_PORT:mysql41
    log = $W/peers/searchd.log
    query_log = $W/peers/query.log
    pid_file = $W/peers/searchd.pid
    binlog_path =
    workers = threads
}
EOF
}

# peers_index REP: builds both from scratch on CPU 0 (timed), sizes to
# $R/idx_groonga_REP.{time,size} and $R/idx_sphinx_REP.{time,size}
peers_index() {
    local rep=$1
    rm -rf "$W/peers/gr" "$W/peers/sx"
    mkdir -p "$W/peers/gr" "$W/peers/sx"
    timed "$R/idx_groonga_$rep.time" sh -c "groonga -n '$W/peers/gr/db' <'$W/peers/groonga.grn' >'$W/peers/groonga.load.out'"
    # every command of the file answers [[0,...],...]: a non-zero status is a failure
    if grep -q '^\[\[-' "$W/peers/groonga.load.out"; then
        log "groonga load failed: $(grep -m1 '^\[\[-' "$W/peers/groonga.load.out" | cut -c1-200)"
        exit 1
    fi
    # Groonga's files are sparse (space reserved ahead): the blocks in use
    json bytes=$(du -s --block-size=1 "$W/peers/gr" | cut -f1) >"$R/idx_groonga_$rep.size"
    timed "$R/idx_sphinx_$rep.time" /usr/bin/indexer --config "$W/peers/sphinx.conf" --all --quiet >/dev/null
    json bytes=$(dir_bytes "$W/peers/sx") >"$R/idx_sphinx_$rep.size"
}

# peers_start CPUS: starts Groonga's HTTP server and Sphinx's searchd on
# CPUS; sets GROONGA_URL, SPHINX_ADDR, GROONGA_PID, SPHINX_PID
peers_start() {
    local port i
    port=$(free_port)
    taskset -c "$1" groonga -s --protocol http --bind-address 127.0.0.1 -p "$port" \
        --log-path "$W/peers/groonga.log" --query-log-path /dev/null "$W/peers/gr/db" &
    GROONGA_PID=$!
    PIDS+=("$GROONGA_PID")
    GROONGA_URL=http://127.0.0.1:$port
    taskset -c "$1" /usr/bin/searchd --config "$W/peers/sphinx.conf" --nodetach >"$W/peers/searchd.out" 2>&1 &
    SPHINX_PID=$!
    PIDS+=("$SPHINX_PID")
    SPHINX_ADDR=127.0.0.1:$(sed -n 's/.*listen = 127.0.0.1:\([0-9]*\):mysql41/\1/p' "$W/peers/sphinx.conf")
    for i in $(seq 1 100); do
        curl -sf "$GROONGA_URL/d/status" >/dev/null 2>&1 && break
        [ "$i" = 100 ] && { log "groonga did not start"; exit 1; }
        sleep 0.1
    done
    # Groonga caches the last 100 queries' results by default: off, as
    # searchd's result cache in the runs it is compared with (Sphinx 2.2
    # has no result cache)
    curl -sf "$GROONGA_URL/d/cache_limit?max=0" >/dev/null
    for i in $(seq 1 100); do
        python3 -c 'import socket,sys; h,p=sys.argv[1].split(":"); socket.create_connection((h,int(p)),1).close()' \
            "$SPHINX_ADDR" 2>/dev/null && break
        [ "$i" = 100 ] && { cat "$W/peers/searchd.out" >&2; log "sphinx searchd did not start"; exit 1; }
        sleep 0.1
    done
}
peers_stop() {
    kill "$GROONGA_PID" "$SPHINX_PID" 2>/dev/null || true
    wait "$GROONGA_PID" "$SPHINX_PID" 2>/dev/null || true
}

# peers_http LABEL QUERYFILE: throughput of both on the cores searchd's
# 2-core run uses (server and load generator sharing CPUs 0 and 1): Groonga
# under wrk through its HTTP server (results http_groonga_LABEL_*), Sphinx
# through benchq's closed-loop SphinxQL clients (http_sphinx_LABEL_*, the
# same JSON shape; 2.2.11 has no HTTP)
peers_http() {
    local label=$1 qf=$2 rep
    peers_stop
    peers_start 0,1
    taskset -c 0,1 wrk -t1 -c4 -d2 -s tests/bench/wrk.lua "$GROONGA_URL" -- "$qf" groonga >/dev/null 2>&1 || true
    for rep in $(seq 1 $REPS); do
        taskset -c 0,1 wrk -t1 -c1 -d${WRK_D1}s --timeout 10s -s tests/bench/wrk.lua "$GROONGA_URL" -- "$qf" groonga 2>/dev/null \
            | grep '^{' >"$R/http_groonga_${label}_2core_c1_$rep.json"
        taskset -c 0,1 wrk -t2 -c32 -d${WRK_D}s --timeout 10s -s tests/bench/wrk.lua "$GROONGA_URL" -- "$qf" groonga 2>/dev/null \
            | grep '^{' >"$R/http_groonga_${label}_2core_c32_$rep.json"
        taskset -c 0,1 "$BENCHQ" --engine sphinx --db "$SPHINX_ADDR" --queries "$qf" --clients 1 \
            --seconds $WRK_D1 --timeout-ms 10000 >"$R/http_sphinx_${label}_2core_c1_$rep.json"
        taskset -c 0,1 "$BENCHQ" --engine sphinx --db "$SPHINX_ADDR" --queries "$qf" --clients 32 \
            --seconds $WRK_D --timeout-ms 10000 >"$R/http_sphinx_${label}_2core_c32_$rep.json"
    done
    log "  groonga $label, 2 cores: $(cut -c1-120 "$R/http_groonga_${label}_2core_c32_$REPS.json")"
    log "  sphinx $label, 2 cores: $(cut -c1-120 "$R/http_sphinx_${label}_2core_c32_$REPS.json")"
    peers_stop
}
