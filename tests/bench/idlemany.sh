# Sourced by tests/bench/big.sh (part `idlemany`, BIG_PARTS=idlemany runs
# it alone): MANY idle WebSocket connections (BIG_IDLE_MANY, default
# 100000) spread over INST chatdesk instances of one cluster
# (BIG_IDLE_INSTANCES, default 6; `--cluster 1`, `--threads BIG_IDLE_THREADS`,
# default 2; the same PostgreSQL), since
# one process may hold at most `ulimit -Hn` descriptors (20,000 here).
# Each instance listens on its own port of 127.0.0.1, so each has its own
# 64k local ports for the clients (tests/bench/idleconn.mjs, at most 9,000
# connections per process, explicit local ports from 127.0.0.1).
# Records the RSS of every instance and of PostgreSQL (every process: RSS
# summed and PSS summed) before and while holding, the time to open, the
# closes during a 35 s hold, every connection's answer to a protocol ping,
# the load average: build/bench-big/results/idle-many.json.
# Uses big.sh's W, CONF, DB, PIDS, R, log, loadavg, wait_for, rss, pss,
# pg_pids, pg_pss.
MANY=${BIG_IDLE_MANY:-100000} INST=${BIG_IDLE_INSTANCES:-6}
HARD=$(ulimit -Hn)
PER=$(((MANY + INST - 1) / INST))
[ $PER -le $((HARD - 2000)) ] ||
    { log "idlemany: $PER connections per instance exceed the descriptor limit $HARD; raise BIG_IDLE_INSTANCES"; exit 1; }
pg_rss() { local t=0 p; for p in $(pg_pids | sort -u); do t=$((t + $(rss "$p"))); done; echo $t; }
# one instance's smaps_rollup as JSON (kB): where its memory is
rollup() {
    awk 'BEGIN{printf "{"} /^[A-Z][A-Za-z_]*:/{sub(":","",$1); printf "%s\"%s\":%s", n++ ? "," : "", $1, $2} END{printf "}"}' \
        "/proc/$1/smaps_rollup"
}
# the instances ping after BIG_IDLE_PING s (default 300): the measured run
# (RESULTS.md) needed it while lws's per-connection ping timers cost more
# than 2 cores at ~17,000 connections per instance; chatdesk's own 1 s sweep
# has replaced them since, and 30 s at this count is not measured yet
PING=${BIG_IDLE_PING:-300} THREADS=${BIG_IDLE_THREADS:-2}
MCONF=$W/chatdesk.many.conf
{ cat "$CONF"; echo "ws_ping_interval = $PING"; } >"$MCONF"
MD=() MPORT=()
for k in $(seq 0 $((INST - 1))); do
    o=$W/chatdesk.many.$k.out
    "${BIG_CHATDESK:-build/bin/chatdesk}" --config "$MCONF" --index "$W/index" --db "$DB" --listen 127.0.0.1:0 \
        --www chatdesk/www --migrations shared/store/migrations --threads "$THREADS" --cluster 1 \
        --log-level error >"$o" 2>&1 &
    MD+=($!); PIDS+=($!)
    wait_for 60 grep -q 'listening on' "$o" || { cat "$o" >&2; log "chatdesk instance $k did not start"; exit 1; }
    p=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$o" | head -1)
    MPORT+=("${p##*:}")
done
log "idlemany: $INST instances on ports ${MPORT[*]}, $MANY connections ($PER each), load $(loadavg)"
RSS0=() ; for p in "${MD[@]}"; do RSS0+=("$(rss "$p")"); done
PGRSS0=$(pg_rss) PGPSS0=$(pg_pss) LOAD0=$(loadavg) ROLL0=$(rollup "${MD[0]}")
# per instance: ceil(PER / 9000) client processes, each its own slice of
# the local ports 1024..65535 (the slices repeat from one instance to the
# next: another server port, another 4-tuple)
IC=()
left=$MANY
for k in $(seq 0 $((INST - 1))); do
    n=$((left < PER ? left : PER)); left=$((left - n))
    nc=$(((n + 8999) / 9000)) span=$((64512 / ((n + 8999) / 9000)))
    for j in $(seq 0 $((nc - 1))); do
        m=$(((n + j) / nc)) lo=$((1024 + j * span))
        node tests/bench/idleconn.mjs 127.0.0.1 "${MPORT[$k]}" "$m" "$lo" $((lo + span - 1)) 600 120 \
            >"$W/many.$k.$j.out" 2>"$W/many.$k.$j.err" &
        IC+=($!); PIDS+=($!)
    done
done
wait_idle_clients many "idlemany: the clients"
log "idlemany: opened in $CONNECT_S s, holding 35 s, load $(loadavg)"
sleep 35 # the hold itself (chatdesk pings a connection idle 30 s): a measured duration
RSS1=() OPEN=() NOFD=()
for k in $(seq 0 $((INST - 1))); do
    RSS1+=("$(rss "${MD[$k]}")")
    m=$(timeout 10 curl -s "http://127.0.0.1:${MPORT[$k]}/metrics" || true)
    OPEN+=("$(awk '/^chatdesk_connections_open /{print $2}' <<<"$m")")
    NOFD+=("$(awk '/^chatdesk_connections_refused_total\{reason="no_fd"\}/{print $2}' <<<"$m")")
done
PGRSS1=$(pg_rss) PGPSS1=$(pg_pss) NPG=$(pg_pids | sort -u | wc -l)
PGCONN=$(psql "$DB" -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'") LOAD1=$(loadavg) ROLL1=$(rollup "${MD[0]}")
CLRSS=0; for p in "${IC[@]}"; do CLRSS=$((CLRSS + $(rss "$p"))); done
kill -USR1 "${IC[@]}"
for p in "${IC[@]}"; do timeout 180 tail --pid="$p" -f /dev/null || true; done
for p in "${MD[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
j() { local IFS=,; echo "[$*]"; }
python3 - "$R/idle-many.json" "$W" <<EOF
import glob, json, sys
out, w = sys.argv[1], sys.argv[2]
cl = [json.loads(open(f).read().strip().splitlines()[-1]) for f in sorted(glob.glob(w + "/many.*.out"))]
opened = sum(c["opened"] for c in cl)
rss0, rss1 = $(j "${RSS0[@]}"), $(j "${RSS1[@]}")
d = {"requested": $MANY, "instances": $INST, "hard_nofile": $HARD, "opened": opened,
     "failed": sum(c["failed"] for c in cl), "pongs": sum(c["pongs"] for c in cl),
     "ws_pings_answered": sum(c["ws_pings"] for c in cl),
     "closed_during_hold": sum(c["closed_during_hold"] for c in cl), "hold_s": 35, "ws_ping_interval": $PING, "threads": $THREADS,
     "connect_s": $CONNECT_S, "chatdesk_rss0_kb": rss0, "chatdesk_rss1_kb": rss1,
     "open_metric": [int(x or 0) for x in "${OPEN[*]}".split(" ")],
     "refused_no_fd": [int(x or 0) for x in "${NOFD[*]}".split(" ")],
     "pg_processes": $NPG, "pg_client_backends": $PGCONN, "pg_rss0_kb": $PGRSS0, "pg_rss1_kb": $PGRSS1, "pg_pss0_kb": $PGPSS0, "pg_pss1_kb": $PGPSS1,
     "smaps_rollup_instance0_before": $ROLL0, "smaps_rollup_instance0_holding": $ROLL1,
     "clients_rss_kb": $CLRSS, "client_processes": len(cl), "load_start": "$LOAD0", "load_end": "$LOAD1", "clients": cl}
d["kb_per_conn_chatdesk"] = (sum(rss1) - sum(rss0)) / max(1, opened)
d["total1_kb"] = sum(rss1) + $PGPSS1
json.dump(d, open(out, "w"), indent=1)
EOF
log "idlemany: $(head -c 600 "$R/idle-many.json")"
