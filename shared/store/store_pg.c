/* store_pg: the store library's connection to PostgreSQL and the helpers
 * every aggregate's file uses (declared in store_int.h). Every public
 * function runs one transaction (st_begin ... st_finish): it reconnects a
 * broken connection first, and if BEGIN finds the connection dead (the
 * server restarted since the last call) it reconnects once more and
 * retries, which is safe because nothing has been done yet. Any later
 * failure rolls the whole transaction back. All values travel as query
 * parameters (struct params); the SQL text is constant, and each statement
 * is prepared once per connection. Results are read in text format;
 * timestamps are converted to Unix seconds in SQL (EPOCH). Callbacks run
 * after COMMIT on the kept PGresult, so a callback may call back into the
 * store. Errors are mapped to STORE_E* codes from their SQLSTATE here.
 * Group commit (store_batch_*) runs several operations in one transaction:
 * there st_begin / st_finish make and release a savepoint instead, and
 * nothing reconnects (s->batch). */
#include "store_int.h"

#include <stdarg.h>
#include <string.h>

#include "kb_util.h"
#include "kb_utf8.h"

static void prep_forget(struct store *s)
{
    for (int i = 0; i < PREP_SLOTS; i++) {
        free(s->prep[i].sql);
        s->prep[i].sql = NULL;
    }
    s->nprep = 0;
}

/* ---- errors ------------------------------------------------------------ */

const char *store_strerror(int code)
{
    switch (code) {
    case STORE_OK: return "success";
    case STORE_EDB: return "database unavailable or failed";
    case STORE_ENOTFOUND: return "not found";
    case STORE_ECONFLICT: return "conflict";
    case STORE_EINVALID: return "invalid";
    case STORE_EFORBIDDEN: return "forbidden";
    default: return "unknown error";
    }
}

const char *store_errmsg(const struct store *s)
{
    return s ? s->err : "";
}

const char *store_errtext(const struct store *s)
{
    const char *m = store_errmsg(s);
    const char *p = strstr(m, "] ");
    return p ? p + 2 : m;
}

/* Formats "[store][op] message" into s->err on one line; returns code. */
int st_seterr(struct store *s, int code, const char *fmt, ...)
{
    int n = snprintf(s->err, sizeof s->err, "[store][%s] ", s->op ? s->op : "store");
    if (n < 0 || (size_t)n >= sizeof s->err)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err + n, sizeof s->err - (size_t)n, fmt, ap);
    va_end(ap);
    /* libpq messages span lines and end with a newline */
    char *w = s->err;
    for (const char *r = s->err; *r; r++) {
        char c = (*r == '\n' || *r == '\r' || *r == '\t') ? ' ' : *r;
        if (c == ' ' && w > s->err && w[-1] == ' ')
            continue;
        *w++ = c;
    }
    while (w > s->err && w[-1] == ' ')
        w--;
    *w = '\0';
    return code;
}

/* STORE_E* for a failed result. Unique violations and serialisation
 * failures are conflicts; other integrity violations (class 23: check, not
 * null, foreign key, our triggers) and data exceptions (class 22: bad
 * UTF-8, out of range) are invalid data; the rest is the database's. */
static int classify(const char *state)
{
    if (!state)
        return STORE_EDB;
    if (strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0)
        return STORE_ECONFLICT;
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
        return STORE_EINVALID;
    return STORE_EDB;
}

int st_pgfail(struct store *s, const PGresult *r)
{
    if (PQstatus(s->conn) != CONNECTION_OK)
        return st_seterr(s, STORE_EDB, "database connection lost: %s", PQerrorMessage(s->conn));
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(s->conn);
    return st_seterr(s, classify(state), "%s%s%s%s", msg, state ? " (SQLSTATE " : "",
                     state ? state : "", state ? ")" : "");
}

/* The name of sql's prepared statement in name (preparing it on first
 * use), or 0 when it cannot be prepared (then it runs unprepared, which
 * reports any error in it the same way). */
static int prepared(struct store *s, const char *sql, char name[16])
{
    uint32_t h = 2166136261u;
    for (const unsigned char *c = (const unsigned char *)sql; *c; c++)
        h = (h ^ *c) * 16777619u;
    unsigned slot = h % PREP_SLOTS;
    for (int probe = 0; probe < PREP_SLOTS; probe++, slot = (slot + 1) % PREP_SLOTS) {
        struct prepared *e = &s->prep[slot];
        snprintf(name, 16, "s%u", slot);
        if (e->sql && strcmp(e->sql, sql) == 0)
            return 1;
        if (e->sql)
            continue;
        /* a free slot: prepare it here, keeping a quarter of the table free */
        if (s->nprep >= PREP_SLOTS * 3 / 4 || PQtransactionStatus(s->conn) == PQTRANS_INERROR)
            return 0;
        PGresult *r = PQprepare(s->conn, name, sql, 0, NULL);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok)
            return 0;
        e->sql = kb_xstrdup(sql);
        s->nprep++;
        return 1;
    }
    return 0;
}

PGresult *st_run(struct store *s, int *rc, const char *sql, const struct params *p)
{
    /* outside a transaction, a connection that died while idle is
     * reconnected and the statement sent once more: it had not run, or
     * (lost on the way back) it is one of our autocommit statements, which
     * are reads or idempotent writes */
    int idle = PQstatus(s->conn) == CONNECTION_OK &&
               PQtransactionStatus(s->conn) == PQTRANS_IDLE;
    for (int attempt = 0;; attempt++) {
        char name[16];
        PGresult *r =
            PQstatus(s->conn) == CONNECTION_OK && prepared(s, sql, name)
                ? PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL,
                                 p ? p->len : NULL, p ? p->fmt : NULL, 0)
                : PQexecParams(s->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL,
                               p ? p->len : NULL, p ? p->fmt : NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return r;
        if (attempt == 0 && idle && PQstatus(s->conn) != CONNECTION_OK) {
            PQclear(r);
            *rc = st_connected(s);
            if (*rc)
                return NULL;
            continue;
        }
        *rc = st_pgfail(s, r);
        PQclear(r);
        return NULL;
    }
}

/* Runs a statement whose result is not needed. Returns 0 or a STORE_E*
 * code; *rows (may be NULL) gets the number of rows affected or returned. */
int st_exec(struct store *s, const char *sql, const struct params *p, int *rows)
{
    int rc = 0;
    PGresult *r = st_run(s, &rc, sql, p);
    if (!r)
        return rc;
    if (rows)
        *rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

/* STORE_ENOTFOUND with the message fmt, ap in s->err. */
__attribute__((format(printf, 2, 0))) static int not_found(struct store *s, const char *fmt,
                                                         va_list ap)
{
    char msg[STORE_ERR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return st_seterr(s, STORE_ENOTFOUND, "%s", msg);
}

int st_exec_found(struct store *s, const char *sql, const struct params *p, const char *fmt,
                  ...)
{
    int rows = 0;
    int rc = st_exec(s, sql, p, &rows);
    if (rc == 0 && rows == 0) {
        va_list ap;
        va_start(ap, fmt);
        rc = not_found(s, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int st_begin_staff(struct store *s, const char *op, int64_t actor, const char *what)
{
    int rc = st_begin(s, op);
    if (rc == 0 && (rc = st_staff_only(s, actor, what)) != 0)
        rc = st_finish(s, rc);
    return rc;
}

PGresult *st_run_row(struct store *s, int *rc, const char *sql, const struct params *p,
                     const char *fmt, ...)
{
    PGresult *r = st_run(s, rc, sql, p);
    if (r && PQntuples(r) == 0) {
        PQclear(r);
        va_list ap;
        va_start(ap, fmt);
        *rc = not_found(s, fmt, ap);
        va_end(ap);
        return NULL;
    }
    return r;
}

/* ---- connection and transactions ---------------------------------------- */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int st_connected(struct store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    if (s->batch) /* a new session would not hold the batch's transaction */
        return st_seterr(s, STORE_EDB, "database connection lost in a batch: %s",
                         PQerrorMessage(s->conn));
    prep_forget(s); /* a new session knows none of them */
    PQreset(s->conn);
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    return st_seterr(s, STORE_EDB, "database unavailable: %s", PQerrorMessage(s->conn));
}

/* Runs a savepoint command of a batch. Returns 0 or the failure's code. */
static int batch_cmd(struct store *s, const char *sql)
{
    PGresult *r = PQexec(s->conn, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : st_pgfail(s, r);
    PQclear(r);
    return rc;
}

/* Starts the transaction of operation op (in a batch: its savepoint). */
int st_begin(struct store *s, const char *op)
{
    s->op = op;
    s->err[0] = '\0';
    if (s->batch) {
        int rc = st_connected(s);
        if (rc)
            return rc;
        /* the last operation's savepoint is released here, in the same
         * round trip (COMMIT releases the last one) */
        rc = batch_cmd(s, s->batch_sp ? "RELEASE SAVEPOINT st_op; SAVEPOINT st_op"
                                      : "SAVEPOINT st_op");
        s->batch_sp = rc == 0;
        return rc;
    }
    for (int attempt = 0;; attempt++) {
        int rc = st_connected(s);
        if (rc)
            return rc;
        if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
            PQclear(PQexec(s->conn, "ROLLBACK"));
        PGresult *r = PQexec(s->conn, "BEGIN");
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            PQclear(r);
            return 0;
        }
        /* a connection that died while idle: reconnect and retry once */
        if (attempt == 0 && PQstatus(s->conn) != CONNECTION_OK) {
            PQclear(r);
            continue;
        }
        rc = st_pgfail(s, r);
        PQclear(r);
        return rc;
    }
}

/* Ends the transaction: COMMIT when rc is 0 (whose failure becomes the
 * result), else ROLLBACK keeping rc and its message. */
int st_finish(struct store *s, int rc)
{
    if (s->batch) {
        if (rc == 0)
            return 0; /* kept open until the next operation or the commit */
        if (s->batch_sp && PQstatus(s->conn) == CONNECTION_OK)
            PQclear(PQexec(s->conn, "ROLLBACK TO SAVEPOINT st_op; RELEASE SAVEPOINT st_op"));
        s->batch_sp = 0;
        return rc;
    }
    if (rc == 0) {
        PGresult *r = PQexec(s->conn, "COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = st_pgfail(s, r);
        else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
            rc = st_seterr(s, STORE_EDB, "transaction was rolled back");
        PQclear(r);
    } else if (PQstatus(s->conn) == CONNECTION_OK &&
               PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PQclear(PQexec(s->conn, "ROLLBACK"));
    }
    return rc;
}

int st_begin_json(struct store *s, const char *op, const char *json, size_t len,
                  json_t **root)
{
    *root = NULL;
    int rc = st_begin(s, op);
    if (rc)
        return rc;
    json_error_t je;
    *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!*root)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "line %d: %s", je.line, je.text));
    return 0;
}

/* Prepares operation op made of statements sent on their own (autocommit:
 * each is its own transaction), without BEGIN / COMMIT round trips: for one
 * write, or for reads (under READ COMMITTED a transaction would not give
 * them one snapshot anyway). */
int st_staff_only(struct store *s, int64_t who, const char *what)
{
    char role[STORE_WORD_MAX];
    int rc = st_person_role(s, who, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "person %lld may not work on %s", (long long)who,
                         what);
    return rc;
}

int st_text_ok(struct store *s, const char *name, const char *v, size_t min, size_t max)
{
    if (!v)
        return 0;
    size_t len = strlen(v), bad;
    if (kb_utf8_check(v, len, 0, &bad) != 0)
        return st_seterr(s, STORE_EINVALID, "%s is not valid UTF-8", name);
    size_t n = kb_utf8_count(v, len);
    int blank = 1;
    for (const char *c = v; *c && blank; c++)
        blank = *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r';
    if (n < min || n > max || (min && blank))
        return st_seterr(s, STORE_EINVALID, "%s must be %zu..%zu characters%s", name, min, max,
                         min ? ", not blank" : "");
    return 0;
}

void st_changed_text(json_t *changed, const char *field, const char *now, const char *old)
{
    if (now && strcmp(now, old ? old : "") != 0)
        json_array_append_new(changed, json_string(field));
}

char *st_detail_text(json_t *detail)
{
    if (!detail)
        return kb_xstrdup("{}");
    char *d = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    return d ? d : kb_xstrdup("{}");
}

int st_single(struct store *s, const char *op)
{
    s->op = op;
    s->err[0] = '\0';
    int rc = st_connected(s);
    if (rc == 0 && !s->batch && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

/* ---- group commit ----------------------------------------------------------- */

int store_batch_begin(struct store *s)
{
    int rc = st_begin(s, "batch");
    if (rc == 0) {
        s->batch = 1;
        s->batch_sp = 0;
        s->batch_doomed = 0;
    }
    return rc;
}

int store_batch_item_begin(struct store *s)
{
    s->op = "batch_item";
    s->err[0] = '\0';
    int rc = st_connected(s);
    if (rc == 0 && (s->batch_doomed || PQtransactionStatus(s->conn) != PQTRANS_INTRANS))
        rc = st_seterr(s, STORE_EDB, "the batch's transaction is not usable");
    return rc;
}

int store_batch_item_end(struct store *s)
{
    s->op = "batch_item";
    if (PQstatus(s->conn) != CONNECTION_OK) {
        s->batch_doomed = 1;
        return st_seterr(s, STORE_EDB, "database connection lost in a batch: %s",
                         PQerrorMessage(s->conn));
    }
    if (PQtransactionStatus(s->conn) == PQTRANS_INTRANS)
        return 0;
    /* aborted: a statement failed outside an operation's savepoint */
    s->batch_doomed = 1;
    return st_seterr(s, STORE_EDB, "an item aborted the batch's transaction");
}

int store_batch_commit(struct store *s)
{
    s->batch = 0;
    s->op = "batch_commit";
    s->err[0] = '\0';
    if (PQstatus(s->conn) != CONNECTION_OK)
        return st_seterr(s, STORE_EDB, "database connection lost in a batch: %s",
                         PQerrorMessage(s->conn));
    if (s->batch_doomed || PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
        PQclear(PQexec(s->conn, "ROLLBACK"));
        return st_seterr(s, STORE_EDB, "the batch's transaction was aborted: nothing stored");
    }
    return st_finish(s, 0);
}

int store_open(const char *conninfo, struct store **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    /* keywords after dbname override the conninfo, those before it do not */
    const char *const keys[] = {"connect_timeout", "dbname", "client_encoding", NULL};
    const char *const vals[] = {"10", conninfo ? conninfo : "", "UTF8", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        struct store tmp = {.conn = conn, .op = "open"};
        st_seterr(&tmp, STORE_EDB, "cannot connect: %s",
                  conn ? PQerrorMessage(conn) : "out of memory");
        if (err && errlen)
            snprintf(err, errlen, "%s", tmp.err);
        PQfinish(conn);
        return STORE_EDB;
    }
    PQsetNoticeProcessor(conn, quiet_notices, NULL);
    struct store *s = kb_xcalloc(1, sizeof *s);
    s->conn = conn;
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    prep_forget(s);
    PQfinish(s->conn);
    free(s);
}

int store_reconnect(struct store *s)
{
    s->op = "reconnect";
    s->err[0] = '\0';
    prep_forget(s);
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return st_seterr(s, STORE_EDB, "database unavailable: %s", PQerrorMessage(s->conn));
    return 0;
}

/* The result of an INSERT ... RETURNING id. */
int st_insert_id(struct store *s, const char *sql, const struct params *p, int64_t *id)
{
    int rc = 0;
    PGresult *r = st_run(s, &rc, sql, p);
    if (!r)
        return rc;
    *id = g_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

const char *st_transition_next(const struct st_transition *t, size_t n, const char *from,
                               const char *event)
{
    if (!event)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].event, event) == 0 &&
            (t[i].from ? from && strcmp(t[i].from, from) == 0 : from == NULL))
            return t[i].to;
    return NULL;
}
