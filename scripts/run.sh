#!/bin/sh
# `make run`: index corpora/ into var/index (incrementally), then start
# searchd on 127.0.0.1 and print its URL; Ctrl-C (or SIGTERM) stops it.
#   SEARCHD_LISTEN  where searchd listens (default 127.0.0.1:8080)
# The agent token that unlocks internal documents is kept in
# var/agent-token (created on first run).
set -eu
cd "$(dirname "$0")/.."
mkdir -p var
INDEX=var/index
LISTEN=${SEARCHD_LISTEN:-127.0.0.1:8080}

build/bin/indexer build --corpus corpora --index "$INDEX"
build/bin/indexer stats --index "$INDEX"

if [ ! -s var/agent-token ]; then
    umask 077
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >var/agent-token
fi
TOKEN=$(cat var/agent-token)

LOG=var/searchd.log
build/bin/searchd --index "$INDEX" --listen "$LISTEN" --www searchd/www \
    --agent-token "$TOKEN" >"$LOG" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null; exit 0' INT TERM
# wait for the "listening on" line (or for searchd to die)
while kill -0 $PID 2>/dev/null && ! grep -q '^listening on ' "$LOG"; do
    sleep 0.1
done
if ! kill -0 $PID 2>/dev/null; then
    echo "searchd failed to start:" >&2
    cat "$LOG" >&2
    exit 1
fi
URL=$(sed -n 's/^listening on //p' "$LOG" | head -1)
cat <<MSG

kbdesk is running
  search page   $URL/
  search API    $URL/search?q=VPN%20809
  metrics       $URL/metrics
  agent token   $TOKEN   (Authorization: Bearer ..., shows internal documents)
  searchd log   $LOG
Press Ctrl-C to stop.
MSG
wait $PID
