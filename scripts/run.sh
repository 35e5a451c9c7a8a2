#!/bin/sh
# `make run`: index corpora/ into var/index (incrementally), start PostgreSQL
# (the embedded cluster in var/pg, unless DATABASE_URL is set), searchd and
# chatdesk on 127.0.0.1, create the demo agent (a knowledge reviewer), start
# `indexer follow` (knowledge published in PostgreSQL reaches the index
# within seconds), a demo mailbox (a local SMTP sink writing to var/mail/,
# unless SMTP_URL names a real relay) and print the URLs and the demo login;
# Ctrl-C (or SIGTERM) stops everything this script started.
#   SEARCHD_LISTEN   where searchd listens (default 127.0.0.1:8080)
#   CHATDESK_LISTEN  where chatdesk listens (default 127.0.0.1:8081)
#   DATABASE_URL     a PostgreSQL conninfo or URI to use instead of var/pg
#   SMTP_URL         a mail relay (smtp://host:port) instead of the demo
#                    mailbox; SMTP_FROM its sender (default desk@kbdesk.localhost)
#   MAILBOX_PORT     the demo mailbox's port on 127.0.0.1 (default 8025)
# The agent token that unlocks internal documents in searchd is kept in
# var/agent-token, the demo agent's password in var/demo-agent-password
# (both created on first run).
set -eu
cd "$(dirname "$0")/.."
mkdir -p var
INDEX=var/index
LISTEN=${SEARCHD_LISTEN:-127.0.0.1:8080}
CHAT_LISTEN=${CHATDESK_LISTEN:-127.0.0.1:8081}

build/bin/indexer build --corpus corpora --index "$INDEX"
build/bin/indexer stats --index "$INDEX"

if [ ! -s var/agent-token ]; then
    (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >var/agent-token)
fi
TOKEN=$(cat var/agent-token)

PID=""
CHAT_PID=""
FOLLOW_PID=""
MAIL_PID=""
PG_STARTED=""
stop_all() {
    trap - INT TERM EXIT
    for p in $FOLLOW_PID $CHAT_PID $MAIL_PID $PID; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in $FOLLOW_PID $CHAT_PID $MAIL_PID $PID; do
        wait "$p" 2>/dev/null || true
    done
    if [ -n "$PG_STARTED" ]; then
        scripts/pg.sh stop var/pg || true
    fi
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

# wait_listening PID LOG NAME: waits for the "listening on" line (or death)
wait_listening() {
    while kill -0 "$1" 2>/dev/null && ! grep -q '^listening on ' "$2"; do
        sleep 0.1
    done
    if ! kill -0 "$1" 2>/dev/null; then
        echo "$3 failed to start:" >&2
        cat "$2" >&2
        exit 1
    fi
    sed -n 's/^listening on //p' "$2" | head -1
}

LOG=var/searchd.log
build/bin/searchd --index "$INDEX" --listen "$LISTEN" --www searchd/www \
    --agent-token "$TOKEN" >"$LOG" 2>&1 &
PID=$!
URL=$(wait_listening "$PID" "$LOG" searchd)

# PostgreSQL: DATABASE_URL, or the embedded cluster in var/pg
if [ -n "${DATABASE_URL:-}" ]; then
    DB=$DATABASE_URL
    DB_SHOWN="DATABASE_URL"
else
    DB=$(scripts/pg.sh start var/pg)
    PG_STARTED=1
    DB_SHOWN="$DB (var/pg, log var/pg/server.log)"
fi

# the demo agent (useradd applies the migrations first; exit 3: it exists)
NEW_PASSWORD=""
if [ ! -s var/demo-agent-password ]; then
    (umask 077 && od -An -N9 -tx1 /dev/urandom | tr -d ' \n' >var/demo-agent-password)
    NEW_PASSWORD=1
fi
AGENT_PASSWORD=$(cat var/demo-agent-password)
rc=0
printf '%s\n' "$AGENT_PASSWORD" |
    build/bin/chatdesk useradd --agent agent --name "演示坐席" --db "$DB" >/dev/null || rc=$?
case $rc in
    0) echo "created the demo agent \"agent\"" ;;
    3) if [ -n "$NEW_PASSWORD" ]; then
           echo "warning: the agent \"agent\" exists already with another password" \
                "(var/demo-agent-password was missing); create another with" \
                "build/bin/chatdesk useradd --agent NAME" >&2
       fi ;;
    *) echo "could not create the demo agent (exit status $rc)" >&2
       exit 1 ;;
esac

build/bin/chatdesk reviewer agent --db "$DB" >/dev/null

# service levels: the China 5x8 and 7x24 calendars, demo services and
# policies (a changed file adds calendar versions; nothing changed: no-op)
build/bin/chatdesk sla-load corpora/calendars/cn-2026-2027.json --db "$DB"

# mail: a relay, or the demo mailbox (every mail as var/mail/N.eml and a
# readable var/mail/N.txt: sign-in codes, ticket mails)
MAIL_LOG=var/mailbox.log
if [ -n "${SMTP_URL:-}" ]; then
    MAIL_URL=$SMTP_URL
    MAIL_SHOWN="$SMTP_URL"
else
    MAIL_URL=smtp://127.0.0.1:${MAILBOX_PORT:-8025}
    /usr/bin/python3 scripts/mailsink.py "${MAILBOX_PORT:-8025}" var/mail </dev/null >"$MAIL_LOG" 2>&1 &
    MAIL_PID=$!
    while kill -0 "$MAIL_PID" 2>/dev/null && ! grep -q '^ready' "$MAIL_LOG"; do
        sleep 0.1
    done
    if ! kill -0 "$MAIL_PID" 2>/dev/null; then
        echo "the demo mailbox failed to start (is port ${MAILBOX_PORT:-8025} taken? set MAILBOX_PORT):" >&2
        cat "$MAIL_LOG" >&2
        exit 1
    fi
    MAIL_SHOWN="var/mail/ (the demo mailbox: each mail as N.txt, readable)"
fi

CHAT_LOG=var/chatdesk.log
build/bin/chatdesk --index "$INDEX" --db "$DB" --listen "$CHAT_LISTEN" --www chatdesk/www \
    --smtp-url "$MAIL_URL" --smtp-from "${SMTP_FROM:-desk@kbdesk.localhost}" \
    --public-url "http://$CHAT_LISTEN" >"$CHAT_LOG" 2>&1 &
CHAT_PID=$!
CHAT_URL=$(wait_listening "$CHAT_PID" "$CHAT_LOG" chatdesk)

# published knowledge -> the index (LISTEN/NOTIFY, and a poll each second)
FOLLOW_LOG=var/follow.log
build/bin/indexer follow --corpus corpora --index "$INDEX" --db "$DB" >"$FOLLOW_LOG" 2>&1 &
FOLLOW_PID=$!
while kill -0 "$FOLLOW_PID" 2>/dev/null && ! grep -q '^following ' "$FOLLOW_LOG"; do
    sleep 0.1
done
if ! kill -0 "$FOLLOW_PID" 2>/dev/null; then
    echo "indexer follow failed to start:" >&2
    cat "$FOLLOW_LOG" >&2
    exit 1
fi

cat <<MSG

kbdesk is running
  search page   $URL/
  search API    $URL/search?q=VPN%20809
  metrics       $URL/metrics
  agent token   $TOKEN   (Authorization: Bearer ..., shows internal documents)
  chat page     $CHAT_URL/
  agent page    $CHAT_URL/agent.html
  WebSocket     ws://${CHAT_URL#http://}/ws
  demo login    user name: agent   password: $AGENT_PASSWORD   (var/demo-agent-password)
  PostgreSQL    $DB_SHOWN
  knowledge API $CHAT_URL/api/v1/knowledge   (see README, Knowledge in PostgreSQL)
  mail          $MAIL_SHOWN
  logs          $LOG, $CHAT_LOG, $FOLLOW_LOG
Press Ctrl-C to stop.
MSG
# until Ctrl-C, or until a daemon ends (then the rest is stopped)
while kill -0 "$PID" 2>/dev/null && kill -0 "$CHAT_PID" 2>/dev/null &&
    kill -0 "$FOLLOW_PID" 2>/dev/null; do
    sleep 1
done
echo "a daemon stopped (see $LOG, $CHAT_LOG and $FOLLOW_LOG); stopping the rest" >&2
