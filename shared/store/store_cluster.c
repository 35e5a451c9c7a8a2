/* store_cluster: LISTEN / NOTIFY between chatdesk instances (see
 * store_cluster.h). Publishing is one transaction of pg_notify calls (and,
 * for a payload too long for a notification, an insert into
 * cluster_events whose id the notification carries). Listening reads the
 * connection's socket with poll and libpq's PQconsumeInput / PQnotifies;
 * LISTEN is sent with PQexec (a utility statement, never prepared). A
 * listener whose connection was replaced behind its back (st_run
 * reconnects an idle connection by itself) is told so by STORE_EDB, since
 * the new session is not listening. */
#include "store_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#include "kb_util.h"

int store_cluster_publish(struct store *s, const char *const *payloads, size_t n)
{
    if (n == 0)
        return 0;
    int rc = st_begin(s, "cluster_publish");
    int purged = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct params p = {0};
        p_str(&p, STORE_CLUSTER_CHANNEL);
        p_str(&p, payloads[i]);
        if (strlen(payloads[i]) <= STORE_CLUSTER_INLINE_MAX) {
            rc = st_exec(s, "SELECT pg_notify($1, $2)", &p, NULL);
            continue;
        }
        rc = st_exec(s,
                     "WITH e AS (INSERT INTO cluster_events (payload) VALUES ($2) RETURNING id)"
                     " SELECT pg_notify($1, '#' || e.id) FROM e",
                     &p, NULL);
        if (rc == 0 && !purged) {
            purged = 1;
            rc = st_exec(s,
                         "DELETE FROM cluster_events WHERE created_at < now() - interval '1 hour'",
                         NULL, NULL);
        }
    }
    return st_finish(s, rc);
}

int store_cluster_listen(struct store *s)
{
    int rc = st_single(s, "cluster_listen");
    if (rc)
        return rc;
    PGresult *r = PQexec(s->conn, "LISTEN " STORE_CLUSTER_CHANNEL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = st_pgfail(s, r);
    PQclear(r);
    if (rc == 0)
        s->listen_pid = PQbackendPID(s->conn);
    return rc;
}

/* The payload of cluster_events row id, handed to fn (a row purged
 * already is skipped). */
static int deliver_ref(struct store *s, const char *ref, store_cluster_fn fn, void *ctx)
{
    char *end;
    long long id = strtoll(ref, &end, 10);
    if (end == ref || *end)
        return 0; /* not ours */
    struct params p = {0};
    p_i64(&p, id);
    int rc = 0;
    PGresult *r = st_run(s, &rc, "SELECT payload FROM cluster_events WHERE id = $1", &p);
    if (!r)
        return rc;
    if (PQbackendPID(s->conn) != s->listen_pid) {
        PQclear(r);
        return st_seterr(s, STORE_EDB, "the listening connection was replaced");
    }
    if (PQntuples(r) == 1)
        fn(ctx, g_str(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
    PQclear(r);
    return 0;
}

int store_cluster_wait(struct store *s, int timeout_ms, store_cluster_fn fn, void *ctx)
{
    s->op = "cluster_wait";
    s->err[0] = '\0';
    if (PQstatus(s->conn) != CONNECTION_OK || PQbackendPID(s->conn) != s->listen_pid)
        return st_seterr(s, STORE_EDB, "not listening: the connection was lost");
    struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};
    if (pfd.fd < 0)
        return st_seterr(s, STORE_EDB, "no socket: %s", PQerrorMessage(s->conn));
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0 && errno != EINTR)
        return st_seterr(s, STORE_EDB, "poll: %s", strerror(errno));
    if (ready > 0 && (!PQconsumeInput(s->conn) || PQstatus(s->conn) != CONNECTION_OK))
        return st_seterr(s, STORE_EDB, "database connection lost: %s", PQerrorMessage(s->conn));
    for (;;) {
        PGnotify *n = PQnotifies(s->conn);
        if (!n)
            break;
        int rc = 0;
        if (n->extra && n->extra[0] == '#')
            rc = deliver_ref(s, n->extra + 1, fn, ctx);
        else if (n->extra)
            fn(ctx, n->extra, strlen(n->extra));
        PQfreemem(n);
        if (rc)
            return rc;
    }
    return 0;
}
