#!/bin/bash
# tests/bench/chatsat.sh: chat saturation alone, for comparing chatdesk
# binaries back to back on a shared machine:
#   bash tests/bench/chatsat.sh SECONDS ROUNDS CHATDESK [CHATDESK...]
# Starts a throwaway PostgreSQL (scripts/pg.sh, fsync on) and builds an
# index of corpora/ (build/bin/indexer), then, ROUNDS times, runs each
# binary in turn (A B A B ...) on a fresh database with
# `chatload.mjs saturate` (50 requesters in a closed loop, as chat.sh's
# saturation run, --threads 2), and prints one JSON line per run with the
# binary, the load average before it and chatload's figures (achieved_rate:
# acknowledged messages/s; ack_ms: message -> ack, committed), and what
# each acknowledged message cost: WAL flushes (pg_stat_wal.wal_sync),
# commits (pg_stat_database.xact_commit, reads included) and CPU
# milliseconds of chatdesk (suggestion searches included) and of the
# PostgreSQL processes, read from /proc: figures that a loaded machine
# disturbs less than the rate. Needs tests/node_modules/ws. Everything it
# made is removed at the end.
# Environment: CHATSAT_RATE=R runs chat.sh's steady run instead (`chatload.mjs
# rate`, R messages/s offered) with CHATSAT_CONNS requesters (default 100;
# 50 for saturation); CHATSAT_INDEX=DIR uses that index instead of building
# one of corpora/ (chat.sh uses the real corpus's, build/bench/ix-real).
# CHATSAT_STATEMENTS=N: PostgreSQL loads pg_stat_statements, and after each
# run the N statements that took the most execution time are written to
# stderr (calls and milliseconds per acknowledged message, rows per call).
# CHATSAT_LOCKWAITS=MS: PostgreSQL logs every lock wait longer than MS ms
# (log_lock_waits, deadlock_timeout), and each line counts the run's waits
# and the milliseconds they lasted (lock_waits, lock_wait_ms).
set -euo pipefail
D=$1 ROUNDS=$2
shift 2
W=$(mktemp -d /tmp/kbchatsat.XXXXXX)
chmod 755 "$W"
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    scripts/pg.sh destroy "$W/pg" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
PGC=$(PG_FSYNC=on scripts/pg.sh start "$W/pg")
if [ -n "${CHATSAT_STATEMENTS:-}" ]; then
    psql "$PGC" -qAt -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    scripts/pg.sh stop "$W/pg" >/dev/null
    PGC=$(PG_FSYNC=on scripts/pg.sh start "$W/pg")
fi
if [ -n "${CHATSAT_LOCKWAITS:-}" ]; then
    psql "$PGC" -qAt -c "ALTER SYSTEM SET log_lock_waits = on" \
        -c "ALTER SYSTEM SET deadlock_timeout = '${CHATSAT_LOCKWAITS}ms'" -c "SELECT pg_reload_conf()" >/dev/null
fi
# lock_waits: "WAITS MS" of the waits logged so far that ended
lock_waits() {
    { grep -o 'acquired [A-Za-z]* on .* after [0-9.]* ms' "$W/pg/server.log" 2>/dev/null || true; } |
        awk '{n++; t += $(NF - 1)} END {printf "%d %.0f", n, t}'
}
RATE=${CHATSAT_RATE:-0}
CONNS=${CHATSAT_CONNS:-$([ "$RATE" -gt 0 ] && echo 100 || echo 50)}
IX=${CHATSAT_INDEX:-}
if [ -z "$IX" ]; then
    IX=$W/ix
    build/bin/indexer build --quiet --corpus corpora --index "$IX"
fi
CONF=$W/chatdesk.conf
printf 'max_connections = 100000\nmax_connections_per_address = 0\nhello_per_minute = 100000\nhello_burst = 100000\n' >"$CONF"
TCK=$(getconf CLK_TCK)
# cpu_ticks PID...: utime + stime of the processes
cpu_ticks() {
    local t=0 p
    for p in "$@"; do
        [ -r /proc/$p/stat ] && t=$((t + $(sed 's/^.*) //' /proc/$p/stat | awk '{print $12 + $13}')))
    done
    echo $t
}
pg_pids() {
    local pm
    pm=$(head -1 "$W/pg/data/postmaster.pid")
    echo "$pm" $(ps -o pid= --ppid "$pm")
}
pg_counts() { psql "$PGC" -qAt -c "SELECT (SELECT wal_sync FROM pg_stat_wal) || ' ' || (SELECT sum(xact_commit) FROM pg_stat_database)"; }
n=0
for round in $(seq 1 "$ROUNDS"); do
    for bin in "$@"; do
        n=$((n + 1))
        psql "$PGC" -qAt -c "CREATE DATABASE chat$n" >/dev/null
        if [ -n "${CHATSAT_STATEMENTS:-}" ]; then
            psql "${PGC/dbname=postgres/dbname=chat$n}" -qAt -c "CREATE EXTENSION pg_stat_statements" \
                -c "SELECT pg_stat_statements_reset()" >/dev/null
        fi
        OUT=$W/out.$n
        "$bin" --config "$CONF" --index "$IX" --db "${PGC/dbname=postgres/dbname=chat$n}" \
            --listen 127.0.0.1:0 --www chatdesk/www --migrations shared/store/migrations \
            --threads 2 --rate 10000 --burst 100000 --log-level error >"$OUT" 2>&1 &
        PID=$!
        for _ in $(seq 1 300); do
            grep -q 'listening on' "$OUT" && break
            kill -0 $PID 2>/dev/null || break
            sleep 0.1
        done
        HTTP=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$OUT" | head -1)
        [ -n "$HTTP" ] || { cat "$OUT" >&2; echo "chatdesk did not start" >&2; exit 1; }
        LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
        C0=$(pg_counts) D0=$(cpu_ticks $PID) P0=$(cpu_ticks $(pg_pids)) L0=$(lock_waits)
        if [ "$RATE" -gt 0 ]; then
            MODE=(rate "ws://${HTTP#http://}/ws" "$CONNS" "$RATE")
        else
            MODE=(saturate "ws://${HTTP#http://}/ws" "$CONNS")
        fi
        R=$(timeout $((D + 60)) node tests/bench/chatload.mjs "${MODE[@]}" "$D" tests/bench/queries.txt)
        C1=$(pg_counts) D1=$(cpu_ticks $PID) P1=$(cpu_ticks $(pg_pids)) L1=$(lock_waits)
        LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
        kill $PID
        wait $PID 2>/dev/null || true
        PID=
        if [ -n "${CHATSAT_STATEMENTS:-}" ]; then
            N=$(echo "$R" | python3 -c 'import json,sys; print(max(1, json.load(sys.stdin)["acked"]))')
            echo "== $bin round $round: statements by execution time (per acknowledged message)" >&2
            psql "${PGC/dbname=postgres/dbname=chat$n}" -qAt -F $'\t' -c "SELECT round(calls::numeric / $N, 3),
                round((total_exec_time / $N)::numeric, 4), round(rows::numeric / greatest(calls, 1), 1),
                left(regexp_replace(query, '\s+', ' ', 'g'), 160) FROM pg_stat_statements
                WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                ORDER BY total_exec_time DESC LIMIT ${CHATSAT_STATEMENTS}" >&2
        fi
        python3 - "$bin" "$LOAD -> $LOAD1" "$R" "$round" "$C0" "$C1" "$((D1 - D0))" "$((P1 - P0))" "$TCK" "$L0" "$L1" <<'PY'
import json, sys
b, load, r, rnd, c0, c1, dt, pt, tck, l0, l1 = sys.argv[1:]
d = json.loads(r)
n = max(1, d["acked"])
w0, x0 = map(int, c0.split()); w1, x1 = map(int, c1.split())
ms = 1000 / int(tck)
print(json.dumps({"bin": b, "round": int(rnd), "load": load,
    "rate": round(d["achieved_rate"], 1), "acked": d["acked"], "unacked": d["unacked"],
    "ack_p50": round(d["ack_ms"]["p50"], 1), "ack_p90": round(d["ack_ms"]["p90"], 1),
    "ack_p99": round(d["ack_ms"]["p99"], 1), "ack_max": round(d["ack_ms"]["max"], 1),
    "sugg_p50": round(d["suggestions_ms"]["p50"], 1),
    "sugg_p99": round(d["suggestions_ms"]["p99"], 1), "errors": d["errors"],
    "client_lag_p99": round(d["client_lag_ms"]["p99"], 1), "client_lag_max": round(d["client_lag_ms"]["max"], 1),
    "wal_syncs_per_msg": round((w1 - w0) / n, 3), "commits_per_msg": round((x1 - x0) / n, 2),
    "chatdesk_cpu_ms_per_msg": round(int(dt) * ms / n, 3),
    "pg_cpu_ms_per_msg": round(int(pt) * ms / n, 3),
    "lock_waits": int(l1.split()[0]) - int(l0.split()[0]),
    "lock_wait_ms": int(l1.split()[1]) - int(l0.split()[1])}))
PY
    done
done
