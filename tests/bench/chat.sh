#!/bin/bash
# chat-desk part of make bench (called by tests/bench/run.sh):
#   chat.sh WORKDIR RESULTS PG_CONNINFO IDLE_CONNECTIONS SECONDS REPEATS
# Starts chatdesk on the real-corpus index with the throwaway cluster's
# database "chat" (fsync on), then runs tests/bench/chatload.mjs: idle
# connections (RSS before/after), a steady 500 messages/s, a steady 2,000
# messages/s (100 requesters: the load of issue 21's goal, ack p99 < 20 ms),
# a steady 20 messages/s, and saturation (closed loop), each on a fresh
# chatdesk.
set -euo pipefail
W=$1 R=$2 PGC=$3 IDLE_N=$4 D=$5 REPS=${6:-1}
DB=${PGC/dbname=postgres/dbname=chat}
# run.sh pinned PostgreSQL to CPU 0 for the query benchmarks (the engine
# under test on CPU 1); the desk's database gets every core, as chatdesk
# does: the postmaster, its processes, and so every backend forked later
PM=$(head -1 "$W/pg/data/postmaster.pid")
for p in $PM $(ps -o pid= --ppid "$PM"); do
    taskset -a -p -c "0-$(($(nproc) - 1))" "$p" >/dev/null
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
log() { echo "bench chat: $*" >&2; }
OUT=$W/chatdesk.out
PID=
# every load client connects from 127.0.0.1: lift the per-address caps on
# connections and on new chats (each requester starts a new chat every 5
# messages)
CONF=$W/chatdesk-bench.conf
printf 'max_connections = 100000\nmax_connections_per_address = 0\nhello_per_minute = 100000\nhello_burst = 100000\n' >"$CONF"
start_desk() {
    : >"$OUT"
    build/bin/chatdesk --config "$CONF" --index "$W/ix-real" --db "$DB" --listen 127.0.0.1:0 --www chatdesk/www \
        --migrations shared/store/migrations --threads 2 --rate 10000 --burst 100000 \
        --log-level error >"$OUT" 2>&1 &
    PID=$!
    for _ in $(seq 1 150); do
        grep -q 'listening on' "$OUT" && break
        kill -0 $PID 2>/dev/null || break
        sleep 0.1
    done
    HTTP=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$OUT" | head -1)
    [ -n "$HTTP" ] || { cat "$OUT" >&2; log "chatdesk did not start"; exit 1; }
    URL="ws://${HTTP#http://}/ws"
}
stop_desk() {
    [ -n "$PID" ] || return 0
    kill $PID 2>/dev/null || true
    wait $PID 2>/dev/null || true
    PID=
}
trap stop_desk EXIT
start_desk
rss() { awk '/^VmRSS/{print $2}' /proc/$PID/status; }
log "chatdesk at $URL (ulimit -n $(ulimit -n))"

# idle connections
sleep 1
RSS0=$(rss)
node tests/bench/chatload.mjs idle "$URL" "$IDLE_N" 10 >"$W/idle.out" 2>"$W/idle.err" &
NP=$!
for _ in $(seq 1 600); do
    grep -q '"phase":"held"' "$W/idle.out" 2>/dev/null && break
    kill -0 $NP 2>/dev/null || break
    sleep 0.5
done
sleep 3
RSS1=$(rss)
wait $NP || true
tail -1 "$W/idle.out" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
d["rss0_kb"] = int(sys.argv[1]); d["rss1_kb"] = int(sys.argv[2])
d["kb_per_conn"] = (d["rss1_kb"] - d["rss0_kb"]) / max(1, d["opened"])
print(json.dumps(d))' "$RSS0" "$RSS1" >"$R/chat_idle.json"
log "idle: $(cat "$R/chat_idle.json")"
sleep 2

# each load run gets a fresh chatdesk, so an overloaded run's backlog does
# not spill into the next one; a load client that has not finished a
# minute after its run should have is stopped (the run then fails)
for rep in $(seq 1 "$REPS"); do
    stop_desk; start_desk
    timeout $((D + 60)) node tests/bench/chatload.mjs rate "$URL" 100 500 "$D" tests/bench/queries.txt >"$R/chat_rate_$rep.json"
    log "500 msg/s: $(cut -c1-220 "$R/chat_rate_$rep.json")"
    stop_desk; start_desk
    timeout $((D + 60)) node tests/bench/chatload.mjs rate "$URL" 100 2000 "$D" tests/bench/queries.txt >"$R/chat_rate2k_$rep.json"
    log "2,000 msg/s: $(cut -c1-220 "$R/chat_rate2k_$rep.json")"
    stop_desk; start_desk
    timeout $((D + 60)) node tests/bench/chatload.mjs rate "$URL" 20 20 "$D" tests/bench/queries.txt >"$R/chat_low_$rep.json"
    log "20 msg/s: $(cut -c1-220 "$R/chat_low_$rep.json")"
    stop_desk; start_desk
    timeout $((D + 60)) node tests/bench/chatload.mjs saturate "$URL" 50 "$D" tests/bench/queries.txt >"$R/chat_sat_$rep.json"
    log "saturation: $(cut -c1-220 "$R/chat_sat_$rep.json")"
done
