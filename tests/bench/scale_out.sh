#!/bin/sh
# tests/bench/scale_out.sh: searchd beyond one process, on loopback, with
# Xapian's own tools. Two tables on stdout (markdown), for tests/bench/
# RESULTS.md:
#   1. replicas: queries/s with 1, 2 and 3 searchd processes, each on its own
#      replica copied by xapian-replicate from xapian-replicate-server, each
#      loaded by its own wrk (one connection per process, 4 in flight);
#   2. shards: latency of one client with the index split in 1, 2 and 4
#      shards (`indexer build --shard I/N`), the first local and the others
#      served by xapian-tcpsrv on 127.0.0.1.
# The corpus is corpora/ (520 documents), the queries tests/bench/queries.txt,
# the result cache off. Needs make all, wrk and xapian-tools.
#   sh tests/bench/scale_out.sh [SECONDS per run, default 5]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DUR=${1:-5}
B=build/bin
W=$(mktemp -d "${TMPDIR:-/tmp}/kbscale.XXXXXX")
PIDS=""
cleanup() {
    # Xapian's servers signal their process group on SIGTERM: SIGKILL them
    # (and their connection processes) by id; searchd gets SIGTERM
    for p in $PIDS; do
        for k in $(cat /proc/"$p"/task/"$p"/children 2>/dev/null); do kill -9 "$k" 2>/dev/null || true; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
Q=tests/bench/queries.txt
for t in wrk xapian-tcpsrv xapian-replicate xapian-replicate-server; do
    command -v $t >/dev/null || { echo "scale_out: $t missing (apt-get install wrk xapian-tools)" >&2; exit 1; }
done
[ -x $B/searchd ] || { echo "scale_out: make all first" >&2; exit 1; }

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# waits (at most 20 s) for a line matching $2 in file $1
waitline() {
    i=0
    until grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 200 ] || { echo "scale_out: timed out waiting for $2 in $1" >&2; cat "$1" >&2; exit 1; }
        sleep 0.1
    done
}
# starts searchd on index $1; sets URL to its address
start_searchd() {
    log=$W/sd.$(date +%s%N)
    $B/searchd --index "$1" --listen 127.0.0.1:0 --threads 1 --cache-mb 0 --log-level error \
        --www searchd/www >"$log" 2>"$log.err" &
    PIDS="$PIDS $!"
    waitline "$log" "^listening on"
    URL=$(sed -n 's/^listening on //p' "$log")
}
stop_searchd_all() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    PIDS=""
}
# one wrk run: prints wrk.lua's JSON line
wrk1() { wrk -t1 -c"$2" -d"${DUR}s" --timeout 10s -s tests/bench/wrk.lua "$1" -- "$Q" 2>/dev/null | grep '^{'; }
field() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($2)" "$3"; }

echo "scale_out: building the indexes in $W" >&2
mkdir -p "$W/master"
$B/indexer build --quiet --corpus corpora --index "$W/master/kb" >/dev/null

# ---- 1. replicas -------------------------------------------------------------
RP=$(freeport)
xapian-replicate-server -I 127.0.0.1 -p "$RP" "$W/master" >"$W/rs.log" 2>&1 &
RSPID=$!
i=0
until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$RP),1)" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "scale_out: replicate server not up" >&2; exit 1; }
    sleep 0.1
done
for r in 1 2 3; do
    xapian-replicate -h 127.0.0.1 -p "$RP" -m kb -o -q "$W/rep$r"
done
kill -9 $RSPID 2>/dev/null || true
wait $RSPID 2>/dev/null || true

echo "| searchd processes (1 thread each, own replica) | queries/s (sum) | p50 ms | p99 ms |"
echo "|---|---|---|---|"
for n in 1 2 3; do
    urls=""
    for r in $(seq 1 $n); do start_searchd "$W/rep$r"; urls="$urls $URL"; done
    k=0
    WP=""
    for u in $urls; do k=$((k + 1)); wrk1 "$u" 4 >"$W/wrk.$n.$k" & WP="$WP $!"; done
    for p in $WP; do wait "$p"; done
    python3 - "$n" "$W"/wrk.$n.* <<'EOF'
import json, sys
rows = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sys.argv[2:]]
qps = sum(r["requests"] / r["duration_s"] for r in rows)
p50 = max(r["p50"] for r in rows); p99 = max(r["p99"] for r in rows)
print(f"| {sys.argv[1]} | {qps:.0f} | {p50:.2f} | {p99:.2f} |")
EOF
    stop_searchd_all
done

# ---- 2. shards -----------------------------------------------------------------
echo
echo "| shards (first local, others xapian-tcpsrv) | one client: queries/s | p50 ms | p90 ms | p99 ms |"
echo "|---|---|---|---|---|"
for s in 1 2 4; do
    spec=""
    for i in $(seq 0 $((s - 1))); do
        $B/indexer build --quiet --corpus corpora --index "$W/s$s.$i" --shard "$i/$s" >/dev/null
        if [ "$i" -eq 0 ]; then
            spec="$W/s$s.0"
        else
            p=$(freeport)
            xapian-tcpsrv --port "$p" --interface 127.0.0.1 "$W/s$s.$i" >"$W/tcp.$s.$i" 2>&1 &
            PIDS="$PIDS $!"
            waitline "$W/tcp.$s.$i" "^Listening"
            spec="$spec, tcp:127.0.0.1:$p"
        fi
    done
    start_searchd "$spec"
    j=$(wrk1 "$URL" 1)
    echo "| $s | $(field "$j" 'round(d["requests"]/d["duration_s"])' "$j") | $(field "$j" '"%.2f" % d["p50"]' "$j") | $(field "$j" '"%.2f" % d["p90"]' "$j") | $(field "$j" '"%.2f" % d["p99"]' "$j") |"
    for p in $PIDS; do
        for k in $(cat /proc/"$p"/task/"$p"/children 2>/dev/null); do kill -9 "$k" 2>/dev/null || true; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    PIDS=""
done
