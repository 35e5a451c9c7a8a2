#!/bin/bash
# make bench-big: the chat desk's larger points, apart from `make bench`
# (which must stay within 45 minutes) and from `make test`:
#   1. desk capacity: AGENTS signed-in agents and REQUESTERS requesters
#      (tests/bench/deskload.mjs, several node processes) against one
#      chatdesk (--threads 2) and PostgreSQL (fsync on) for SECONDS;
#      latency, errors, the load clients' CPU and the memory of every
#      process (chatdesk RSS, PostgreSQL PSS summed over its processes,
#      shared buffers counted once);
#   2. IDLE idle WebSocket connections to one chatdesk
#      (tests/bench/idleconn.mjs), from 127.0.0.1 with explicit local
#      ports, as many as the descriptor limit allows; chatdesk RSS before
#      and while holding them;
#   3. idle connections over several chatdesk instances of one cluster
#      (tests/bench/idlemany.sh);
#   4. 1,000,000 documents (tests/bench/big1m.sh, which also runs alone):
#      the scale set of `make bench` grown to 1,000,000 documents, its
#      indexing, and in-process latency at 200,000 and 1,000,000 alternating.
# Writes build/bench-big/results/*.json and replaces the bench-big section
# of tests/bench/RESULTS.md (tests/bench/bigreport.py).
#   bash tests/bench/big.sh       (environment: BIG_AGENTS=1000
#     BIG_REQUESTERS=10000 BIG_SECONDS=180 BIG_IDLE=100000 BIG_PARTS=desk,idle,idlemany,1m
#     BIG_PWLOGINS=40: agents signing in with the password, the others with
#     a session made in the store; BIG_TAG=T writes desk-T.json instead of
#     desk.json: a further load level, reported beside the main one)
#     BIG_IDLE_MANY=100000 BIG_IDLE_INSTANCES=6: part idlemany, idle
#     connections over several chatdesk instances of one cluster;
#     BIG_CORPUS=corpora: the index the suggestions search; BIG_CHATDESK=PATH:
#     another chatdesk binary, for A/B runs)
# Needs `make all` and tests/node_modules/ws. Everything runs on loopback
# (127.0.0.1); every step is bounded by a timeout, and the processes
# and the temporary folder are removed on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
AGENTS=${BIG_AGENTS:-1000} REQS=${BIG_REQUESTERS:-10000} SECS=${BIG_SECONDS:-180}
IDLE=${BIG_IDLE:-100000} PWLOGINS=${BIG_PWLOGINS:-40} PARTS=${BIG_PARTS:-desk,idle,idlemany,1m} CORPUS=${BIG_CORPUS:-corpora}
[ -x build/bin/chatdesk ] && [ -f tests/node_modules/ws/package.json ] ||
    { echo "bench-big: build first (make all) and install tests/node_modules" >&2; exit 1; }
R=build/bench-big/results
mkdir -p "$R"
W=$(mktemp -d /tmp/kbbig.XXXXXX)
chmod 755 "$W"
log() { echo "bench-big: $*" >&2; }
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    sh scripts/pg.sh destroy "$W/pg" >/dev/null 2>&1 || true
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# descriptors for both sides (root may raise the hard limit up to nr_open)
NOFILE=$((IDLE + 20000))
ulimit -Hn "$NOFILE" 2>/dev/null || true
ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
log "ulimit -n $(ulimit -n), load $(loadavg)"
# only the 1,000,000-document point: no chatdesk, no PostgreSQL
if [[ ,$PARTS, != *,desk,* && ,$PARTS, != *,idle,* && ,$PARTS, != *,idlemany,* ]]; then
    [[ ,$PARTS, != *,1m,* ]] || bash tests/bench/big1m.sh
    exit 0
fi

# wait_for SECONDS CMD...: runs CMD every 0.2 s until it succeeds (exit 1
# after SECONDS)
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $end ] || return 1
        sleep 0.2
    done
}
# memory of a process in kB: rss PID, pss PID (smaps_rollup)
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
pss() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
cpu_s() { awk '{printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
pg_pids() { pgrep -u postgres -f "$W/pg" 2>/dev/null; pgrep -u postgres -P "$(head -1 "$W/pg/data/postmaster.pid")" 2>/dev/null; }
pg_pss() { local t=0 p; for p in $(pg_pids | sort -u); do t=$((t + $(pss "$p"))); done; echo $t; }
pg_cpu() { local t=0 p; for p in $(pg_pids | sort -u); do t=$(echo "$t + $(cpu_s "$p" 2>/dev/null || echo 0)" | bc); done; echo $t; }

log "index of $CORPUS"
timeout 600 build/bin/indexer build --quiet --corpus "$CORPUS" --index "$W/index" >/dev/null
DOCS=$(find "$CORPUS" -name '*.md' | wc -l)
log "PostgreSQL (fsync on)"
PGC=$(PG_FSYNC=on timeout 120 sh scripts/pg.sh start "$W/pg")
DB=${PGC/dbname=postgres/dbname=desk}
psql "$PGC" -qAt -c "CREATE DATABASE desk" >/dev/null
PW=bench-big-$$-pass

# every client connects from 127.0.0.1: lift the per-address caps
# on connections, new chats and queued password checks
CONF=$W/chatdesk.conf
cat >"$CONF" <<EOF
max_connections = $((IDLE + 20000))
max_connections_per_address = 0
hello_per_minute = 100000
hello_burst = 100000
login_hash_concurrency = 2
login_hash_queue = 1000
EOF
OUT=
DESK=
start_desk() {
    OUT=$W/chatdesk.$1.out
    "${BIG_CHATDESK:-build/bin/chatdesk}" --config "$CONF" --index "$W/index" --db "$DB" --listen 127.0.0.1:0 \
        --www chatdesk/www --migrations shared/store/migrations --threads 2 \
        --log-level error >"$OUT" 2>&1 &
    DESK=$!
    PIDS+=("$DESK")
    wait_for 60 grep -q 'listening on' "$OUT" || { cat "$OUT" >&2; log "chatdesk did not start"; exit 1; }
    HTTP=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$OUT" | head -1)
    PORT=${HTTP##*:}
}
stop_desk() { kill "$DESK" 2>/dev/null || true; wait "$DESK" 2>/dev/null || true; }

# ---- 1. desk capacity ---------------------------------------------------------------
if [[ $PARTS == *desk* ]]; then
    log "creating $AGENTS agents (one useradd, the rest copy its Argon2id hash)"
    echo "$PW" | timeout 60 build/bin/chatdesk useradd --agent bench0 --name 坐席0 --db "$DB" \
        --migrations shared/store/migrations >/dev/null
    psql "$DB" -qAt -v ON_ERROR_STOP=1 -c "INSERT INTO people (role, username, name, password_hash)
        SELECT 'agent', 'bench' || g, '坐席' || g, p.password_hash
        FROM generate_series(1, $((AGENTS - 1))) g, people p WHERE p.username = 'bench0'" >/dev/null
    # all but the first PWLOGINS agents sign in with a session made in the
    # store (a random 32-byte token, base64url, whose BLAKE2b-256 hash the
    # sessions table keeps, as chatdesk's auth_token_hash): 1,000 Argon2id
    # checks would take minutes on 2 shared cores and measure nothing else
    python3 - "$W/tokens" "$PWLOGINS" "$AGENTS" >"$W/sessions.tsv" <<'PY'
import base64, hashlib, os, sys
with open(sys.argv[1], "w") as tf:
    for n in range(int(sys.argv[2]), int(sys.argv[3])):
        tok = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
        tf.write(f"bench{n} {tok}\n")
        print(f"bench{n}\t\\\\x{hashlib.blake2b(tok.encode(), digest_size=32).hexdigest()}")
PY
    psql "$DB" -qAt -v ON_ERROR_STOP=1 -c "CREATE TEMP TABLE t (u text, h bytea)" \
        -c "\\copy t FROM '$W/sessions.tsv'" \
        -c "INSERT INTO sessions (token_hash, person_id, expires_at)
            SELECT t.h, p.id, now() + interval '1 day' FROM t JOIN people p ON p.username = t.u" >/dev/null
    start_desk desk
    URL="ws://127.0.0.1:$PORT/ws"
    log "chatdesk at $URL, load $(loadavg)"
    # the clients: agents in 2 processes, requesters in 4
    CL=()
    NA=2 NR=4
    for k in $(seq 0 $((NA - 1))); do
        node tests/bench/deskload.mjs agents "$URL" $((k * AGENTS / NA)) $((AGENTS / NA)) "$AGENTS" "$SECS" "$PW" "$W/tokens" \
            >"$W/agents.$k.out" 2>"$W/agents.$k.err" &
        CL+=($!); PIDS+=($!)
    done
    for k in $(seq 0 $((NR - 1))); do
        node tests/bench/deskload.mjs requesters "$URL" $((k * REQS / NR)) $((REQS / NR)) "$SECS" tests/bench/queries.txt \
            >"$W/req.$k.out" 2>"$W/req.$k.err" &
        CL+=($!); PIDS+=($!)
    done
    all_ready() {
        local f
        for f in "$W"/agents.*.out "$W"/req.*.out; do grep -q '"phase":"ready"' "$f" || return 1; done
        for p in "${CL[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done
    }
    T0=$SECONDS
    if ! wait_for 600 all_ready; then
        cat "$W"/*.err >&2
        log "the load clients did not connect"; exit 1
    fi
    log "connected in $((SECONDS - T0)) s: $(cat "$W"/agents.*.out "$W"/req.*.out | tr '\n' ' ')"
    MEM0_DESK=$(rss "$DESK") MEM0_PG=$(pg_pss)
    LOAD0=$(loadavg)
    CPU0_DESK=$(cpu_s "$DESK") CPU0_PG=$(pg_cpu)
    kill -USR1 "${CL[@]}"
    # memory every 5 s during the window: the peak of each
    PK_DESK=0 PK_PG=0 PK_CL=0
    END=$((SECONDS + SECS))
    while [ $SECONDS -lt $END ]; do
        m=$(rss "$DESK"); [ "$m" -gt $PK_DESK ] && PK_DESK=$m
        m=$(pg_pss); [ "$m" -gt $PK_PG ] && PK_PG=$m
        m=0; for p in "${CL[@]}"; do m=$((m + $(rss "$p"))); done; [ $m -gt $PK_CL ] && PK_CL=$m
        sleep 5
    done
    CPU1_DESK=$(cpu_s "$DESK") CPU1_PG=$(pg_cpu)
    LOAD1=$(loadavg)
    NPG=$(pg_pids | sort -u | wc -l)
    SB=$(psql "$DB" -At -c "show shared_buffers")
    for p in "${CL[@]}"; do timeout $((SECS + 60)) tail --pid="$p" -f /dev/null || true; done
    stop_desk
    python3 - "$R/desk${BIG_TAG:+-$BIG_TAG}.json" "$W" <<EOF
import glob, json, sys
out, w = sys.argv[1], sys.argv[2]
def last(f):
    return json.loads(open(f).read().strip().splitlines()[-1])
d = {"agents": $AGENTS, "requesters": $REQS, "seconds": $SECS, "docs": $DOCS, "corpus": "$CORPUS",
     "load_start": "$LOAD0", "load_end": "$LOAD1",
     "chatdesk_rss_kb_before": $MEM0_DESK, "chatdesk_rss_kb_peak": $PK_DESK,
     "pg_pss_kb_before": $MEM0_PG, "pg_pss_kb_peak": $PK_PG, "pg_processes": $NPG,
     "pg_shared_buffers": "$SB", "clients_rss_kb_peak": $PK_CL,
     "chatdesk_cpu_s": round($CPU1_DESK - $CPU0_DESK, 2), "pg_cpu_s": round($CPU1_PG - $CPU0_PG, 2),
     "clients": [last(f) for f in sorted(glob.glob(w + "/agents.*.out")) + sorted(glob.glob(w + "/req.*.out"))]}
json.dump(d, open(out, "w"), indent=1)
EOF
    log "desk: $(head -c 600 "$R/desk${BIG_TAG:+-$BIG_TAG}.json")"
fi

# Waits (up to 900 s) until every idleconn.mjs client writing $W/PREFIX.*.out
# has opened all its connections; sets CONNECT_S; exits naming WHO if not.
wait_idle_clients() {
    local prefix=$1 who=$2 t0=$SECONDS
    held() {
        local f
        for f in "$W/$prefix".*.out; do grep -q '"phase":"held"' "$f" || return 1; done
    }
    wait_for 900 held || { cat "$W/$prefix".*.err >&2; log "$who did not finish connecting"; exit 1; }
    CONNECT_S=$((SECONDS - t0))
}

# ---- 2. idle connections -------------------------------------------------------------
# Each process may hold at most `ulimit -Hn` descriptors (raising it needs
# CAP_SYS_RESOURCE): that caps one chatdesk's connections below IDLE on a
# machine whose hard limit is lower; the run then holds as many as fit and
# records the limit (idle.json: hard_nofile, attempted).
if [[ ,$PARTS, == *,idle,* ]]; then
    start_desk idle
    HARD=$(ulimit -Hn)
    N=$IDLE
    # chatdesk keeps room for its own descriptors (index, PostgreSQL,
    # logs, a reserve of 64): 2,000 below the limit fits
    [ $N -le $((HARD - 2000)) ] || N=$((HARD - 2000))
    log "chatdesk on 127.0.0.1:$PORT; $N idle connections of $IDLE asked (hard limit $HARD descriptors), load $(loadavg)"
    wait_for 30 test -n "$(rss "$DESK")"
    RSS0=$(rss "$DESK") LOAD0=$(loadavg)
    # at most 9,000 connections per client process, each from its own
    # 20,000 local ports of 1024..65535 on 127.0.0.1
    IC=()
    left=$N k=0
    while [ $left -gt 0 ]; do
        n=$((left < 9000 ? left : 9000))
        lo=$((1024 + k * 20000))
        [ $lo -lt 61024 ] || { log "more client processes than port ranges"; exit 1; }
        node tests/bench/idleconn.mjs 127.0.0.1 "$PORT" "$n" "$lo" $((lo + 19999 > 65535 ? 65535 : lo + 19999)) 600 \
            >"$W/idle.$k.out" 2>"$W/idle.$k.err" &
        IC+=($!); PIDS+=($!)
        left=$((left - n)); k=$((k + 1))
    done
    wait_idle_clients idle "the idle clients"
    # hold 35 s (chatdesk pings each connection after 30 s idle; the
    # clients answer), then read the memory and ask every connection for a
    # protocol pong
    sleep 35 # the hold itself: a measured duration, not a wait for an event
    RSS1=$(rss "$DESK") LOAD1=$(loadavg)
    CLRSS=0; for p in "${IC[@]}"; do CLRSS=$((CLRSS + $(rss "$p"))); done
    METRICS=$(timeout 10 curl -s "http://127.0.0.1:$PORT/metrics" || true)
    OPEN=$(awk '/^chatdesk_connections_open /{print $2}' <<<"$METRICS")
    NOFD=$(awk '/^chatdesk_connections_refused_total\{reason="no_fd"\}/{print $2}' <<<"$METRICS")
    kill -USR1 "${IC[@]}"
    for p in "${IC[@]}"; do timeout 120 tail --pid="$p" -f /dev/null || true; done
    stop_desk
    python3 - "$R/idle.json" "$W" <<EOF
import glob, json, sys
out, w = sys.argv[1], sys.argv[2]
cl = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sorted(glob.glob(w + "/idle.*.out"))]
opened = sum(c["opened"] for c in cl)
d = {"requested": $IDLE, "attempted": $N, "hard_nofile": $HARD, "opened": opened,
     "failed": sum(c["failed"] for c in cl), "pongs": sum(c["pongs"] for c in cl),
     "ws_pings_answered": sum(c["ws_pings"] for c in cl),
     "closed_during_hold": sum(c["closed_during_hold"] for c in cl),
     "connect_s": $CONNECT_S, "rss0_kb": $RSS0, "rss1_kb": $RSS1, "open_metric": "${OPEN:-}",
     "refused_no_fd": "${NOFD:-}", "kb_per_conn": ($RSS1 - $RSS0) / max(1, opened),
     "clients_rss_kb": $CLRSS, "load_start": "$LOAD0", "load_end": "$LOAD1", "clients": cl}
json.dump(d, open(out, "w"), indent=1)
EOF
    log "idle: $(head -c 400 "$R/idle.json")"
fi
# ---- 3. idle connections over several instances (tests/bench/idlemany.sh) ----------
if [[ ,$PARTS, == *,idlemany,* ]]; then . tests/bench/idlemany.sh; fi

# ---- 4. 1,000,000 documents ----------------------------------------------------------
[[ ,$PARTS, != *,1m,* ]] || bash tests/bench/big1m.sh
log "done, load $(loadavg)"
