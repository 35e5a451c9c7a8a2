#!/bin/sh
# A throwaway PostgreSQL 15 cluster in a directory of its own, for the tests
# and `make run`.
#
#   scripts/pg.sh start    DIR   create the cluster if missing, start it, wait
#                                until it accepts connections, print conninfo
#   scripts/pg.sh stop     DIR   stop it (fast: open sessions are ended)
#   scripts/pg.sh conninfo DIR   print the libpq conninfo
#   scripts/pg.sh status   DIR   exit 0 if it is running, 3 if not
#   scripts/pg.sh destroy  DIR   stop it, remove DIR and the socket directory
#
# Layout: DIR/data (the cluster), DIR/server.log, and the unix socket in DIR
# itself. A socket path must fit in 107 bytes, so when DIR is long the socket
# goes to a short /tmp/kbpg.XXXXXX directory instead, whose name is kept in
# DIR/socket_dir so that a restart uses the same one (and the conninfo stays
# the same). There is no TCP listener (listen_addresses = ''), so clusters
# never clash on ports; the port number only names the socket.
#
# The conninfo printed on stdout looks like
#   host=/tmp/kbtest.ab12cd port=5432 user=postgres dbname=postgres
# and authentication is "trust" (for the socket's owner and root only: the
# socket directory is not world-accessible unless DIR is).
#
# Run as root, the cluster belongs to the postgres user (initdb refuses to run
# as root): DIR is handed to postgres and every PostgreSQL program runs through
# runuser. Run as anyone else, it belongs to that user.
#
# Environment: PG_FSYNC=off turns off fsync, synchronous_commit and
# full_page_writes (for tests; a crash can then lose data). Default on.
# PG_BIN overrides the directory of the PostgreSQL programs.
# `start` on a running cluster only prints the conninfo; `stop` on a stopped
# one does nothing.
set -eu

PORT=5432

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: scripts/pg.sh start|stop|conninfo|status|destroy DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
CMD=$1
[ -n "$2" ] || usage
case $CMD in start|stop|conninfo|status|destroy) ;; *) usage ;; esac

find_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        echo "$PG_BIN"
        return
    fi
    for d in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)"; do
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    done
    die "PostgreSQL 15 programs not found (install postgresql-15, or set PG_BIN)"
}
PGBIN=$(find_bin)

# as_pg CMD...: runs CMD as the cluster's owner
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

# absolute path of DIR (creating it for start)
if [ "$CMD" = start ]; then
    mkdir -p "$2"
fi
[ -d "$2" ] || die "$2: no such directory"
DIR=$(cd "$2" && pwd -P)
DATA=$DIR/data
LOG=$DIR/server.log

# The socket directory: DIR when short enough, else the one recorded in
# DIR/socket_dir (created by start when missing).
socket_dir() {
    if [ -s "$DIR/socket_dir" ]; then
        cat "$DIR/socket_dir"
    elif [ ${#DIR} -le 90 ]; then
        echo "$DIR"
    else
        echo ""
    fi
}

# conninfo values with spaces, quotes or backslashes must be quoted
conninfo() {
    sd=$(socket_dir)
    [ -n "$sd" ] || die "$DIR: no socket directory recorded (was the cluster started?)"
    case $sd in
        *[!A-Za-z0-9/._+-]*)
            q=$(printf '%s' "$sd" | sed "s/[\\\\']/\\\\&/g")
            echo "host='$q' port=$PORT user=postgres dbname=postgres" ;;
        *) echo "host=$sd port=$PORT user=postgres dbname=postgres" ;;
    esac
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# single-quoted for postgresql.conf
conf_quote() {
    printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
}

do_start() {
    if is_running; then
        conninfo
        return
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$DIR"
        as_pg test -w "$DIR" ||
            die "$DIR: the postgres user cannot write here (a parent directory is closed to it?)"
    fi
    if [ ! -f "$DATA/PG_VERSION" ]; then
        as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --no-locale \
            >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
        echo "include_if_exists = 'kbdesk.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
    fi
    sd=$(socket_dir)
    if [ -z "$sd" ]; then
        sd=$(mktemp -d /tmp/kbpg.XXXXXX)
        printf '%s\n' "$sd" >"$DIR/socket_dir"
    elif [ ! -d "$sd" ]; then
        # /tmp was cleaned: take the same name again
        mkdir -m 700 "$sd" || die "cannot recreate the socket directory $sd"
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$sd"
    fi
    fsync=on
    case ${PG_FSYNC:-on} in
        off | 0 | false | no) fsync=off ;;
        on | 1 | true | yes) ;;
        *) die "PG_FSYNC must be on or off" ;;
    esac
    # our settings, rewritten at every start (postgresql.conf includes this)
    as_pg tee "$DATA/kbdesk.conf" >/dev/null <<CONF
# written by scripts/pg.sh at every start; edits are lost
listen_addresses = ''
port = $PORT
unix_socket_directories = $(conf_quote "$sd")
unix_socket_permissions = 0700
fsync = $fsync
synchronous_commit = $fsync
full_page_writes = $fsync
max_connections = 100
log_min_messages = warning
CONF
    if [ ! -f "$LOG" ]; then
        : >"$LOG"
        if [ "$(id -u)" -eq 0 ]; then
            chown postgres:postgres "$LOG"
        fi
    fi
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null ||
        { tail -n 20 "$LOG" >&2; die "PostgreSQL did not start (log: $LOG)"; }
    conninfo
}

do_stop() {
    if is_running; then
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null ||
            die "PostgreSQL did not stop (log: $LOG)"
    fi
}

case $CMD in
    start) do_start ;;
    stop) do_stop ;;
    conninfo)
        [ -f "$DATA/PG_VERSION" ] || die "$DIR: no cluster here"
        conninfo ;;
    status)
        if is_running; then echo running; else echo stopped; exit 3; fi ;;
    destroy)
        do_stop
        if [ -s "$DIR/socket_dir" ]; then
            sd=$(cat "$DIR/socket_dir")
            case $sd in /tmp/kbpg.*) rm -rf "$sd" ;; esac
        fi
        rm -rf "$DIR" ;;
esac
