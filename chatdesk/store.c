/* store: the chat desk's data access over libpq. Every public function runs
 * one transaction (begin ... finish): it reconnects a broken connection
 * first, and if BEGIN finds the connection dead (the server restarted since
 * the last call) it reconnects once more and retries, which is safe because
 * nothing has been done yet. Any later failure rolls the whole transaction
 * back. All values travel as query parameters (struct params); the SQL text
 * is constant. Results are read in text format; timestamps are converted to
 * Unix seconds in SQL (EPOCH). Callbacks run after COMMIT on the kept
 * PGresult, so a callback may call back into the store. */
#include "store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "kb_util.h"

/* pg_advisory_lock key serialising store_migrate callers: "kbdesk" */
#define MIGRATE_LOCK_KEY "118070335337323"

#define EPOCH(x) "floor(extract(epoch FROM " x "))::bigint"

/* Statements prepared on the connection (named "s<slot>"), so that each is
 * parsed and planned once per connection instead of once per call: an open
 * hash table keyed by the SQL text. Emptied when the connection is reset
 * (the server forgets them). When it is full, statements run unprepared. */
#define PREP_SLOTS 256

struct prepared {
    char *sql; /* owned; NULL: a free slot */
};

struct store {
    PGconn *conn;
    const char *op; /* the operation running, for messages */
    char err[STORE_ERR_MAX];
    struct prepared prep[PREP_SLOTS];
    int nprep;
};

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

/* Formats "[store][op] message" into s->err on one line; returns code. */
__attribute__((format(printf, 3, 4))) static int seterr(struct store *s, int code,
                                                        const char *fmt, ...)
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

static int pgfail(struct store *s, const PGresult *r)
{
    if (PQstatus(s->conn) != CONNECTION_OK)
        return seterr(s, STORE_EDB, "database connection lost: %s", PQerrorMessage(s->conn));
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(s->conn);
    return seterr(s, classify(state), "%s%s%s%s", msg, state ? " (SQLSTATE " : "",
                  state ? state : "", state ? ")" : "");
}

/* ---- parameters and results ------------------------------------------- */

#define PMAX 12

/* Query parameters in text format (binary for bytea). Never copy one: the
 * value pointers point into it. */
struct params {
    int n;
    const char *v[PMAX];
    int len[PMAX];
    int fmt[PMAX];
    char num[PMAX][24];
};

static void p_add(struct params *p, const char *v, int len, int fmt)
{
    if (p->n >= PMAX)
        abort(); /* a programming error: raise PMAX */
    p->v[p->n] = v;
    p->len[p->n] = len;
    p->fmt[p->n] = fmt;
    p->n++;
}

static void p_str(struct params *p, const char *v)
{
    p_add(p, v, 0, 0);
}

static void p_i64(struct params *p, int64_t x)
{
    if (p->n >= PMAX)
        abort();
    snprintf(p->num[p->n], sizeof p->num[0], "%lld", (long long)x);
    p_add(p, p->num[p->n], 0, 0);
}

/* an id, with 0 as NULL */
static void p_id(struct params *p, int64_t id)
{
    if (id == 0)
        p_add(p, NULL, 0, 0);
    else
        p_i64(p, id);
}

/* a time for "to_timestamp($n::float8)", with 0 as NULL (the server's now) */
static void p_time(struct params *p, time_t t)
{
    if (t == 0)
        p_add(p, NULL, 0, 0);
    else
        p_i64(p, (int64_t)t);
}

static void p_bool(struct params *p, int b)
{
    p_add(p, b ? "true" : "false", 0, 0);
}

static void p_bin(struct params *p, const void *v, int len)
{
    p_add(p, (const char *)v, len, 1);
}

static const char *g_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t g_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int g_int(const PGresult *r, int row, int col)
{
    return (int)g_i64(r, row, col);
}

static int g_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

static void g_copy(char *dst, size_t n, const PGresult *r, int row, int col)
{
    snprintf(dst, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

/* Runs one statement. Returns its result (caller clears) or NULL with *rc
 * set and the message in s->err. */
static int connected(struct store *s);

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

static PGresult *run(struct store *s, int *rc, const char *sql, const struct params *p)
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
            *rc = connected(s);
            if (*rc)
                return NULL;
            continue;
        }
        *rc = pgfail(s, r);
        PQclear(r);
        return NULL;
    }
}

/* Runs a statement whose result is not needed. Returns 0 or a STORE_E*
 * code; *rows (may be NULL) gets the number of rows affected or returned. */
static int exec(struct store *s, const char *sql, const struct params *p, int *rows)
{
    int rc = 0;
    PGresult *r = run(s, &rc, sql, p);
    if (!r)
        return rc;
    if (rows)
        *rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : atoi(PQcmdTuples(r));
    PQclear(r);
    return 0;
}

/* ---- connection and transactions ---------------------------------------- */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int connected(struct store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    prep_forget(s); /* a new session knows none of them */
    PQreset(s->conn);
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    return seterr(s, STORE_EDB, "database unavailable: %s", PQerrorMessage(s->conn));
}

/* Starts the transaction of operation op. */
static int begin(struct store *s, const char *op)
{
    s->op = op;
    s->err[0] = '\0';
    for (int attempt = 0;; attempt++) {
        int rc = connected(s);
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
        rc = pgfail(s, r);
        PQclear(r);
        return rc;
    }
}

/* Ends the transaction: COMMIT when rc is 0 (whose failure becomes the
 * result), else ROLLBACK keeping rc and its message. */
static int finish(struct store *s, int rc)
{
    if (rc == 0) {
        PGresult *r = PQexec(s->conn, "COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pgfail(s, r);
        else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
            rc = seterr(s, STORE_EDB, "transaction was rolled back");
        PQclear(r);
    } else if (PQstatus(s->conn) == CONNECTION_OK &&
               PQtransactionStatus(s->conn) != PQTRANS_IDLE) {
        PQclear(PQexec(s->conn, "ROLLBACK"));
    }
    return rc;
}

/* Prepares operation op made of statements sent on their own (autocommit:
 * each is its own transaction), without BEGIN / COMMIT round trips: for one
 * write, or for reads (under READ COMMITTED a transaction would not give
 * them one snapshot anyway). */
static int single(struct store *s, const char *op)
{
    s->op = op;
    s->err[0] = '\0';
    int rc = connected(s);
    if (rc == 0 && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
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
        seterr(&tmp, STORE_EDB, "cannot connect: %s",
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
        return seterr(s, STORE_EDB, "database unavailable: %s", PQerrorMessage(s->conn));
    return 0;
}

/* ---- migrations ---------------------------------------------------------- */

struct migration {
    int version;
    char *name;
    char *path;
};

static int migration_cmp(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

static void migrations_free(struct migration *m, int n)
{
    for (int i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].path);
    }
    free(m);
}

/* Reads the NNN_name.sql files of dir, sorted by version. */
static int migrations_list(struct store *s, const char *dir, struct migration **out, int *count)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return seterr(s, STORE_EINVALID, "%s: %s", dir, strerror(errno));
    struct migration *m = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *f = e->d_name;
        size_t len = strlen(f);
        if (len < 4 || strcmp(f + len - 4, ".sql") != 0)
            continue;
        size_t i = 0;
        while (isdigit((unsigned char)f[i]))
            i++;
        int ok = i >= 1 && i <= 6 && f[i] == '_' && i + 1 < len - 4;
        for (size_t j = i + 1; ok && j < len - 4; j++)
            ok = isalnum((unsigned char)f[j]) || f[j] == '_' || f[j] == '-';
        int version = ok ? atoi(f) : 0;
        if (!ok || version < 1) {
            rc = seterr(s, STORE_EINVALID, "%s/%s: a migration is named NNN_name.sql (NNN >= 1)",
                        dir, f);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            m = kb_xrealloc(m, (size_t)cap * sizeof *m);
        }
        m[n].version = version;
        m[n].name = kb_xstrndup(f + i + 1, len - 4 - i - 1);
        m[n].path = kb_xmalloc(strlen(dir) + len + 2);
        sprintf(m[n].path, "%s/%s", dir, f);
        n++;
    }
    closedir(d);
    if (rc == 0 && n > 0) {
        qsort(m, (size_t)n, sizeof *m, migration_cmp);
        for (int i = 1; i < n && rc == 0; i++)
            if (m[i].version == m[i - 1].version)
                rc = seterr(s, STORE_EINVALID, "%s: two migrations numbered %d (%s, %s)", dir,
                            m[i].version, m[i - 1].name, m[i].name);
    }
    if (rc) {
        migrations_free(m, n);
        return rc;
    }
    *out = m;
    *count = n;
    return 0;
}

/* Applies one migration file with its schema_migrations row. */
static int migration_apply(struct store *s, const struct migration *m)
{
    char *sql = NULL;
    size_t len = 0;
    char ferr[KB_ERR_MAX];
    if (kb_read_file(m->path, &sql, &len, ferr, sizeof ferr) != 0)
        return seterr(s, STORE_EINVALID, "%s", ferr);
    int rc = begin(s, "migrate");
    if (rc == 0) {
        /* the file's statements, as they are: several in one string */
        PGresult *r = PQexec(s->conn, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
            /* a file that fails is the file's fault, unless the server went */
            pgfail(s, r);
            char msg[STORE_ERR_MAX];
            snprintf(msg, sizeof msg, "%s", s->err + strlen("[store][migrate] "));
            rc = seterr(s, PQstatus(s->conn) == CONNECTION_OK ? STORE_EINVALID : STORE_EDB,
                        "%s: %s", m->path, msg);
        } else if (PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
            rc = seterr(s, STORE_EINVALID, "%s: a migration must not contain BEGIN or COMMIT",
                        m->path);
        }
        PQclear(r);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, m->version);
        p_str(&p, m->name);
        rc = exec(s, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &p, NULL);
    }
    free(sql);
    return finish(s, rc);
}

int store_migrate(struct store *s, const char *dir, int *applied)
{
    struct migration *m = NULL;
    int n = 0, done = 0;
    PGresult *have = NULL;
    if (applied)
        *applied = 0;
    s->op = "migrate";
    s->err[0] = '\0';
    int rc = migrations_list(s, dir, &m, &n);
    if (rc)
        return rc;
    /* the lock is the session's: it outlives the transactions below */
    rc = begin(s, "migrate");
    if (rc == 0)
        rc = exec(s, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", NULL, NULL);
    if (rc == 0)
        rc = exec(s,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version integer PRIMARY KEY CHECK (version >= 1),"
                  " name text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())",
                  NULL, NULL);
    if (rc == 0)
        have = run(s, &rc, "SELECT version, name FROM schema_migrations", NULL);
    rc = finish(s, rc);
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *recorded = NULL;
        for (int j = 0; j < PQntuples(have); j++)
            if (g_int(have, j, 0) == m[i].version)
                recorded = g_str(have, j, 1);
        if (recorded && strcmp(recorded, m[i].name) != 0)
            rc = seterr(s, STORE_EINVALID, "migration %d was applied as '%s' but the file is %s",
                        m[i].version, recorded, m[i].path);
        else if (!recorded && (rc = migration_apply(s, &m[i])) == 0)
            done++;
    }
    PQclear(have);
    if (PQstatus(s->conn) == CONNECTION_OK) {
        if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
            PQclear(PQexec(s->conn, "ROLLBACK"));
        PQclear(PQexec(s->conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    }
    migrations_free(m, n);
    if (applied)
        *applied = done;
    return rc;
}

/* ---- people ---------------------------------------------------------------- */

/* The role of an enabled person (ENOTFOUND if unknown or disabled). */
static int person_role(struct store *s, int64_t id, char role[STORE_WORD_MAX])
{
    struct params p = {0};
    p_i64(&p, id);
    int rc = 0;
    PGresult *r = run(s, &rc, "SELECT role FROM people WHERE id = $1 AND NOT disabled", &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no enabled person %lld", (long long)id);
    else
        g_copy(role, STORE_WORD_MAX, r, 0, 0);
    PQclear(r);
    return rc;
}

static int is_staff(const char *role)
{
    return strcmp(role, "agent") == 0 || strcmp(role, "admin") == 0;
}

/* Returns 0 if viewer may see what owner (a requester) owns: the owner or
 * an enabled agent or admin; else EFORBIDDEN. */
static int may_view(struct store *s, int64_t owner, int64_t viewer)
{
    char role[STORE_WORD_MAX];
    int rc = person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && viewer != owner && !is_staff(role)))
        return seterr(s, STORE_EFORBIDDEN, "person %lld may not see this", (long long)viewer);
    return rc;
}

/* The result of an INSERT ... RETURNING id. */
static int insert_id(struct store *s, const char *sql, const struct params *p, int64_t *id)
{
    int rc = 0;
    PGresult *r = run(s, &rc, sql, p);
    if (!r)
        return rc;
    *id = g_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

int store_agent_create(struct store *s, const char *username, const char *name,
                       const char *password_hash, int64_t *id)
{
    int64_t got = 0;
    int rc = begin(s, "agent_create");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, username);
    p_str(&p, name);
    p_str(&p, password_hash);
    rc = insert_id(s,
                   "INSERT INTO people (role, username, name, password_hash)"
                   " VALUES ('agent', $1, $2, $3) RETURNING id",
                   &p, &got);
    if (rc == STORE_ECONFLICT)
        seterr(s, rc, "user name '%s' is taken", username);
    else if (rc == STORE_EINVALID && (!username || !name || !password_hash))
        seterr(s, rc, "user name, name and password hash are required");
    rc = finish(s, rc);
    if (rc == 0)
        *id = got;
    return rc;
}

int store_agent_by_username(struct store *s, const char *username, struct store_agent *out)
{
    memset(out, 0, sizeof *out);
    int rc = begin(s, "agent_by_username");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, username);
    PGresult *r = run(s, &rc,
                      "SELECT id, role, name, password_hash,"
                      " coalesce(ceil(extract(epoch FROM locked_until - now())), 0)::integer"
                      " FROM people"
                      " WHERE lower(username) = lower($1) AND role IN ('agent', 'admin')"
                      " AND NOT disabled",
                      &p);
    rc = finish(s, rc);
    if (rc == 0 && PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no enabled agent '%s'", username ? username : "");
    if (rc == 0) {
        out->id = g_i64(r, 0, 0);
        g_copy(out->role, sizeof out->role, r, 0, 1);
        g_copy(out->name, sizeof out->name, r, 0, 2);
        g_copy(out->password_hash, sizeof out->password_hash, r, 0, 3);
        out->locked_for = g_int(r, 0, 4) > 0 ? g_int(r, 0, 4) : 0;
    }
    PQclear(r);
    return rc;
}

/* ---- login throttling ---------------------------------------------------------- */

int store_login_failed(struct store *s, int64_t person_id, int max_failures, int lockout_seconds,
                       const char *addr, int *locked_for)
{
    *locked_for = 0;
    int rc = begin(s, "login_failed");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person_id);
    p_i64(&p, max_failures);
    p_i64(&p, lockout_seconds);
    /* one statement: concurrent failures of one account count each (the row
     * lock orders them), and exactly one of them locks it */
    PGresult *r = run(s, &rc,
                      "UPDATE people SET"
                      " failed_logins = CASE WHEN failed_logins + 1 >= $2::integer THEN 0"
                      "                 ELSE failed_logins + 1 END,"
                      " locked_until = CASE WHEN failed_logins + 1 >= $2::integer"
                      "                THEN now() + $3::integer * interval '1 second'"
                      "                ELSE locked_until END"
                      " WHERE id = $1 RETURNING failed_logins = 0, failed_logins",
                      &p);
    int locked = 0;
    if (rc == 0 && PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no person %lld", (long long)person_id);
    else if (rc == 0)
        locked = g_bool(r, 0, 0);
    PQclear(r);
    if (rc == 0 && locked) {
        struct params q = {0};
        p_i64(&q, person_id);
        p_str(&q, addr && *addr ? addr : NULL);
        p_i64(&q, max_failures);
        rc = exec(s,
                  "INSERT INTO login_lockouts (person_id, address, failures, locked_until)"
                  " SELECT id, left($2, 64), $3::integer, locked_until FROM people WHERE id = $1",
                  &q, NULL);
    }
    rc = finish(s, rc);
    if (rc == 0 && locked)
        *locked_for = lockout_seconds;
    return rc;
}

int store_login_succeeded(struct store *s, int64_t person_id)
{
    int rc = begin(s, "login_succeeded");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person_id);
    rc = exec(s, "UPDATE people SET failed_logins = 0 WHERE id = $1 AND failed_logins <> 0", &p,
              NULL);
    return finish(s, rc);
}

int store_login_unlock(struct store *s, const char *username, const char *by, int *was_locked)
{
    if (was_locked)
        *was_locked = 0;
    int rc = begin(s, "login_unlock");
    if (rc)
        return rc;
    if (!by || !*by || strlen(by) > 512)
        return finish(s, seterr(s, STORE_EINVALID, "who unlocks must be named"));
    struct params p = {0};
    p_str(&p, username);
    PGresult *r = run(s, &rc,
                      "UPDATE people n SET failed_logins = 0, locked_until = NULL"
                      " FROM people o WHERE o.id = n.id AND lower(n.username) = lower($1)"
                      " AND n.role IN ('agent', 'admin')"
                      " RETURNING n.id, coalesce(o.locked_until > now(), false)",
                      &p);
    int64_t id = 0;
    int locked = 0;
    if (rc == 0 && PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no agent '%s'", username ? username : "");
    else if (rc == 0) {
        id = g_i64(r, 0, 0);
        locked = g_bool(r, 0, 1);
    }
    PQclear(r);
    if (rc == 0 && locked) {
        struct params q = {0};
        p_i64(&q, id);
        p_str(&q, by);
        rc = exec(s,
                  "UPDATE login_lockouts SET unlocked_at = now(), unlocked_by = $2"
                  " WHERE person_id = $1 AND unlocked_at IS NULL AND locked_until > now()",
                  &q, NULL);
    }
    rc = finish(s, rc);
    if (rc == 0 && was_locked)
        *was_locked = locked;
    return rc;
}

int store_lockouts(struct store *s, int limit, store_lockout_cb cb, void *arg)
{
    int rc = begin(s, "lockouts");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, limit < 1 ? 1 : limit > 10000 ? 10000 : limit);
    PGresult *r = run(s, &rc,
                      "SELECT l.id, p.username, l.address, l.failures, " EPOCH("l.locked_at")
                      ", " EPOCH("l.locked_until") ", " EPOCH("l.unlocked_at") ", l.unlocked_by,"
                      " l.unlocked_at IS NULL AND l.locked_until > now()"
                      "   AND p.locked_until IS NOT NULL AND p.locked_until > now()"
                      " FROM login_lockouts l JOIN people p ON p.id = l.person_id"
                      " ORDER BY l.locked_at DESC, l.id DESC LIMIT $1::integer",
                      &p);
    rc = finish(s, rc);
    for (int i = 0; rc == 0 && i < (r ? PQntuples(r) : 0); i++) {
        struct store_lockout l = {
            .id = g_i64(r, i, 0),
            .username = g_str(r, i, 1),
            .address = g_str(r, i, 2),
            .failures = g_int(r, i, 3),
            .locked_at = g_i64(r, i, 4),
            .locked_until = g_i64(r, i, 5),
            .unlocked_at = g_i64(r, i, 6),
            .unlocked_by = g_str(r, i, 7),
            .active = g_bool(r, i, 8),
        };
        rc = cb(arg, &l);
    }
    PQclear(r);
    return rc;
}

/* ---- requesters ---------------------------------------------------------------- */

int store_requester_start(struct store *s, const char *name, const char *email,
                          const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                          int ttl_seconds, int64_t *person, int64_t *conv)
{
    int64_t pid = 0, cid = 0;
    int rc = begin(s, "requester_start");
    if (rc)
        return rc;
    if (ttl_seconds <= 0)
        return finish(s, seterr(s, STORE_EINVALID, "a session lives a positive time"));
    struct params p = {0};
    p_str(&p, name);
    p_str(&p, email);
    rc = insert_id(s,
                   "INSERT INTO people (role, name, email) VALUES ('requester', $1, $2)"
                   " RETURNING id",
                   &p, &pid);
    if (rc == 0) {
        struct params q = {0};
        p_bin(&q, token_hash, STORE_TOKEN_HASH_BYTES);
        p_i64(&q, pid);
        p_i64(&q, ttl_seconds);
        rc = exec(s,
                  "INSERT INTO sessions (token_hash, person_id, expires_at)"
                  " VALUES ($1, $2, now() + $3::integer * interval '1 second')",
                  &q, NULL);
    }
    if (rc == 0) {
        struct params q = {0};
        p_i64(&q, pid);
        rc = insert_id(s, "INSERT INTO conversations (requester_id) VALUES ($1) RETURNING id",
                       &q, &cid);
    }
    rc = finish(s, rc);
    if (rc == 0) {
        *person = pid;
        *conv = cid;
    }
    return rc;
}

int store_requester_purge(struct store *s, int *count)
{
    int rows = 0;
    int rc = begin(s, "requester_purge");
    if (rc)
        return rc;
    rc = exec(s,
              "DELETE FROM conversations c WHERE c.last_seq = 0"
              " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM conversation_suggestions g"
              "                 WHERE g.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM deflections d WHERE d.conversation_id = c.id)"
              " AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.person_id = c.requester_id)",
              NULL, NULL);
    if (rc == 0)
        rc = exec(s,
                  "DELETE FROM people p WHERE p.role = 'requester'"
                  " AND NOT EXISTS (SELECT 1 FROM sessions x WHERE x.person_id = p.id)"
                  " AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.requester_id = p.id)"
                  " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.sender_id = p.id)"
                  " AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.requester_id = p.id)",
                  NULL, &rows);
    rc = finish(s, rc);
    if (count)
        *count = rc == 0 ? rows : 0;
    return rc;
}

int store_requester_create(struct store *s, const char *name, const char *email, int64_t *id)
{
    int64_t got = 0;
    int rc = begin(s, "requester_create");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, name);
    p_str(&p, email);
    rc = insert_id(s,
                   "INSERT INTO people (role, name, email) VALUES ('requester', $1, $2)"
                   " RETURNING id",
                   &p, &got);
    rc = finish(s, rc);
    if (rc == 0)
        *id = got;
    return rc;
}

int store_person_set_disabled(struct store *s, int64_t person_id, int disabled)
{
    int rc = begin(s, "person_set_disabled");
    if (rc)
        return rc;
    struct params p = {0};
    int rows = 0;
    p_i64(&p, person_id);
    p_bool(&p, disabled);
    rc = exec(s, "UPDATE people SET disabled = $2 WHERE id = $1", &p, &rows);
    if (rc == 0 && rows == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no person %lld", (long long)person_id);
    return finish(s, rc);
}

/* ---- sessions ---------------------------------------------------------------- */

int store_session_create(struct store *s, int64_t person_id,
                         const unsigned char token_hash[STORE_TOKEN_HASH_BYTES], int ttl_seconds)
{
    int rc = begin(s, "session_create");
    if (rc)
        return rc;
    if (ttl_seconds <= 0)
        return finish(s, seterr(s, STORE_EINVALID, "a session lives a positive time"));
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    p_i64(&p, person_id);
    p_i64(&p, ttl_seconds);
    rc = exec(s,
              "INSERT INTO sessions (token_hash, person_id, expires_at)"
              " VALUES ($1, $2, now() + $3::integer * interval '1 second')",
              &p, NULL);
    return finish(s, rc);
}

int store_session_lookup(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                         struct store_session *out)
{
    memset(out, 0, sizeof *out);
    int rc = begin(s, "session_lookup");
    if (rc)
        return rc;
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    PGresult *r = run(s, &rc,
                      "SELECT p.id, p.role, p.name, " EPOCH("s.expires_at")
                      " FROM sessions s JOIN people p ON p.id = s.person_id"
                      " WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT p.disabled",
                      &p);
    rc = finish(s, rc);
    if (rc == 0 && PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no such session, or it expired");
    if (rc == 0) {
        out->person_id = g_i64(r, 0, 0);
        g_copy(out->role, sizeof out->role, r, 0, 1);
        g_copy(out->name, sizeof out->name, r, 0, 2);
        out->expires_at = g_i64(r, 0, 3);
    }
    PQclear(r);
    return rc;
}

int store_session_touch(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int ttl_seconds)
{
    int rc = begin(s, "session_touch");
    if (rc)
        return rc;
    struct params p = {0};
    int rows = 0;
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    p_i64(&p, ttl_seconds > 0 ? ttl_seconds : 0);
    rc = exec(s,
              "UPDATE sessions SET last_seen_at = now(),"
              " expires_at = greatest(expires_at, now() + $2::integer * interval '1 second')"
              " WHERE token_hash = $1 AND expires_at > now()",
              &p, &rows);
    if (rc == 0 && rows == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no such session, or it expired");
    return finish(s, rc);
}

int store_session_check(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES],
                        int64_t person_id, int ttl_seconds, int touch_after)
{
    /* one statement, no BEGIN / COMMIT around it: one round trip */
    int rc = single(s, "session_check");
    if (rc)
        return rc;
    struct params p = {0};
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    p_i64(&p, person_id);
    p_i64(&p, ttl_seconds > 0 ? ttl_seconds : 0);
    p_i64(&p, touch_after > 0 ? touch_after : 0);
    /* the UPDATE of a data-modifying WITH runs whether or not it is read */
    PGresult *r = run(s, &rc,
                      "WITH live AS ("
                      "  SELECT s.token_hash, s.last_seen_at"
                      "  FROM sessions s JOIN people p ON p.id = s.person_id"
                      "  WHERE s.token_hash = $1 AND s.person_id = $2"
                      "    AND s.expires_at > now() AND NOT p.disabled),"
                      " touched AS ("
                      "  UPDATE sessions SET last_seen_at = now(),"
                      "   expires_at = greatest(expires_at,"
                      "                         now() + $3::integer * interval '1 second')"
                      "  WHERE token_hash IN (SELECT token_hash FROM live"
                      "   WHERE last_seen_at <= now() - $4::integer * interval '1 second')"
                      "  RETURNING 1)"
                      " SELECT count(*) FROM live",
                      &p);
    if (r && g_i64(r, 0, 0) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no such session, or it expired");
    PQclear(r);
    return rc;
}

int store_session_delete(struct store *s, const unsigned char token_hash[STORE_TOKEN_HASH_BYTES])
{
    int rc = begin(s, "session_delete");
    if (rc)
        return rc;
    struct params p = {0};
    int rows = 0;
    p_bin(&p, token_hash, STORE_TOKEN_HASH_BYTES);
    rc = exec(s, "DELETE FROM sessions WHERE token_hash = $1", &p, &rows);
    if (rc == 0 && rows == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no such session");
    return finish(s, rc);
}

int store_session_purge(struct store *s, int *count)
{
    int rows = 0;
    int rc = begin(s, "session_purge");
    if (rc)
        return rc;
    rc = finish(s, exec(s, "DELETE FROM sessions WHERE expires_at <= now()", NULL, &rows));
    if (count)
        *count = rc == 0 ? rows : 0;
    return rc;
}

/* ---- conversations ------------------------------------------------------------ */

#define CONV_SELECT                                                                        \
    "SELECT c.id, c.requester_id, c.status, c.last_seq, " EPOCH("c.created_at") ", "       \
    EPOCH("c.updated_at") ", t.number"                                                     \
    " FROM conversations c LEFT JOIN tickets t ON t.conversation_id = c.id "

static void conv_from_row(const PGresult *r, int row, struct store_conversation *c)
{
    c->id = g_i64(r, row, 0);
    c->requester_id = g_i64(r, row, 1);
    g_copy(c->status, sizeof c->status, r, row, 2);
    c->last_seq = g_int(r, row, 3);
    c->created_at = g_i64(r, row, 4);
    c->updated_at = g_i64(r, row, 5);
    g_copy(c->ticket, sizeof c->ticket, r, row, 6);
}

int store_conversation_create(struct store *s, int64_t requester_id, int64_t *id)
{
    int64_t got = 0;
    int rc = begin(s, "conversation_create");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, requester_id);
    rc = insert_id(s, "INSERT INTO conversations (requester_id) VALUES ($1) RETURNING id", &p,
                   &got);
    if (rc == STORE_EINVALID)
        seterr(s, rc, "person %lld is not a requester", (long long)requester_id);
    rc = finish(s, rc);
    if (rc == 0)
        *id = got;
    return rc;
}

/* Reads conversation id (locking it if lock), checking that viewer may see
 * it when viewer is not 0. */
static int conv_read(struct store *s, int64_t id, int64_t viewer, int lock,
                     struct store_conversation *out)
{
    struct params p = {0};
    p_i64(&p, id);
    int rc = 0;
    PGresult *r = run(s, &rc,
                      lock ? CONV_SELECT "WHERE c.id = $1 FOR UPDATE OF c"
                           : CONV_SELECT "WHERE c.id = $1",
                      &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no conversation %lld", (long long)id);
    else
        conv_from_row(r, 0, out);
    PQclear(r);
    if (rc == 0 && viewer != 0)
        rc = may_view(s, out->requester_id, viewer);
    return rc;
}

int store_conversation_get(struct store *s, int64_t id, int64_t viewer_id,
                           struct store_conversation *out)
{
    memset(out, 0, sizeof *out);
    int rc = single(s, "conversation_get");
    if (rc)
        return rc;
    rc = conv_read(s, id, viewer_id ? viewer_id : -1, 0, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int store_conversation_of_requester(struct store *s, int64_t requester_id,
                                    struct store_conversation *out)
{
    memset(out, 0, sizeof *out);
    int rc = single(s, "conversation_of_requester");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, requester_id);
    PGresult *r = run(s, &rc,
                      CONV_SELECT "WHERE c.requester_id = $1 AND c.status IN ('open', 'escalated')"
                                  " ORDER BY c.id DESC LIMIT 1",
                      &p);
    if (rc == 0 && PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "requester %lld has no conversation going on",
                    (long long)requester_id);
    if (rc == 0)
        conv_from_row(r, 0, out);
    PQclear(r);
    return rc;
}

/* ---- ticket events ---------------------------------------------------------- */

/* Writes one ticket_events row. detail (may be NULL: {}) is stolen. */
static int event_add(struct store *s, int64_t ticket, int64_t actor, const char *type,
                     const char *from, const char *to, json_t *detail, time_t at)
{
    char *js = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    struct params p = {0};
    p_i64(&p, ticket);
    p_id(&p, actor);
    p_str(&p, type);
    p_str(&p, from);
    p_str(&p, to);
    p_str(&p, js);
    p_time(&p, at);
    int rc = exec(s,
                  "INSERT INTO ticket_events (ticket_id, actor_id, type, from_status, to_status,"
                  " detail, at) VALUES ($1, $2, $3, $4, $5, coalesce($6::jsonb, '{}'),"
                  " coalesce(to_timestamp($7::float8), now()))",
                  &p, NULL);
    free(js);
    return rc;
}

/* ---- messages ------------------------------------------------------------------ */

/* The body of store_message_add, inside the caller's transaction. */
static int message_add(struct store *s, int64_t conv, int64_t sender, const char *client_id,
                       const char *body, int *seq, int *duplicate, struct store_posted *info)
{
    *seq = 0;
    *duplicate = 0;
    if (!body)
        return seterr(s, STORE_EINVALID, "a message needs a body");
    struct params p = {0};
    p_i64(&p, conv);
    p_i64(&p, sender);
    p_str(&p, client_id);
    int rc = 0;
    /* locking the conversation serialises its writers. The duplicate check
     * rides along (one round trip), but runs on the statement's snapshot,
     * taken before the lock: a duplicate committed while this waited for
     * the lock is missed here and then violates the unique (conversation,
     * sender, client id) on insert: store_message_post retries once. */
    PGresult *r = run(s, &rc,
                      "SELECT c.requester_id, c.status, p.role, p.disabled, t.id, t.agent_id,"
                      " t.status, t.number,"
                      " (SELECT m.seq FROM messages m WHERE m.conversation_id = $1"
                      "   AND m.sender_id = $2 AND m.client_id = $3)"
                      " FROM conversations c JOIN people p ON p.id = $2"
                      " LEFT JOIN tickets t ON t.conversation_id = c.id"
                      " WHERE c.id = $1 FOR UPDATE OF c",
                      &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return seterr(s, STORE_ENOTFOUND, "no conversation %lld or no person %lld",
                      (long long)conv, (long long)sender);
    }
    int64_t owner = g_i64(r, 0, 0);
    char cstatus[STORE_WORD_MAX], role[STORE_WORD_MAX], tstatus[STORE_WORD_MAX];
    g_copy(cstatus, sizeof cstatus, r, 0, 1);
    g_copy(role, sizeof role, r, 0, 2);
    int disabled = g_bool(r, 0, 3);
    int64_t ticket = g_i64(r, 0, 4), agent = g_i64(r, 0, 5);
    g_copy(tstatus, sizeof tstatus, r, 0, 6);
    if (info) {
        memset(info, 0, sizeof *info);
        snprintf(info->status, sizeof info->status, "%s", cstatus);
        g_copy(info->ticket, sizeof info->ticket, r, 0, 7);
        info->agent_id = agent;
    }
    int dup_seq = client_id && !PQgetisnull(r, 0, 8) ? g_int(r, 0, 8) : 0;
    PQclear(r);

    int staff = is_staff(role);
    if (disabled)
        return seterr(s, STORE_EFORBIDDEN, "person %lld is disabled", (long long)sender);
    if (!staff && owner != sender)
        return seterr(s, STORE_EFORBIDDEN, "conversation %lld is not this requester's",
                      (long long)conv);
    if (staff && (ticket == 0 || agent != sender))
        return seterr(s, STORE_EFORBIDDEN, "conversation %lld has no ticket assigned to agent %lld",
                      (long long)conv, (long long)sender);

    if (dup_seq) {
        *seq = dup_seq;
        *duplicate = 1;
        return 0;
    }

    if (!staff && strcmp(cstatus, "open") != 0 && strcmp(cstatus, "escalated") != 0)
        return seterr(s, STORE_EINVALID, "conversation %lld is %s", (long long)conv, cstatus);
    if (staff && strcmp(tstatus, "closed") == 0)
        return seterr(s, STORE_EINVALID, "the ticket of conversation %lld is closed",
                      (long long)conv);

    struct params q = {0};
    p_i64(&q, conv);
    p_i64(&q, sender);
    p_str(&q, role);
    p_str(&q, client_id);
    p_str(&q, body);
    r = run(s, &rc,
            "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, updated_at = now()"
            "           WHERE id = $1 RETURNING last_seq)"
            " INSERT INTO messages (conversation_id, seq, sender_id, sender_role, client_id, body)"
            " SELECT $1, c.last_seq, $2, $3, $4, $5 FROM c RETURNING seq",
            &q);
    if (!r)
        return rc;
    int got = g_int(r, 0, 0);
    PQclear(r);

    if (staff) {
        struct params t = {0};
        p_i64(&t, ticket);
        rc = exec(s,
                  "UPDATE tickets SET first_response_at = coalesce(first_response_at, now()),"
                  " updated_at = now() WHERE id = $1",
                  &t, NULL);
        if (rc == 0)
            rc = event_add(s, ticket, sender, "replied", tstatus, tstatus,
                           json_pack("{s:i}", "seq", got), 0);
        if (rc)
            return rc;
    }
    *seq = got;
    return 0;
}

int store_message_post(struct store *s, int64_t conv, int64_t sender_id, const char *client_id,
                       const char *body, int *seq, int *duplicate, struct store_posted *info)
{
    int got = 0, dup = 0;
    struct store_posted pi;
    int rc = STORE_ECONFLICT;
    /* a conflict: the same client id stored meanwhile (see message_add) */
    for (int attempt = 0; rc == STORE_ECONFLICT && attempt < 2; attempt++) {
        rc = begin(s, "message_add");
        if (rc)
            return rc;
        rc = finish(s, message_add(s, conv, sender_id, client_id, body, &got, &dup, &pi));
    }
    if (rc == 0) {
        *seq = got;
        *duplicate = dup;
        if (info)
            *info = pi;
    }
    return rc;
}

int store_message_add(struct store *s, int64_t conv, int64_t sender_id, const char *client_id,
                      const char *body, int *seq, int *duplicate)
{
    return store_message_post(s, conv, sender_id, client_id, body, seq, duplicate, NULL);
}

int store_messages_since(struct store *s, int64_t conv, int64_t viewer_id, int after_seq,
                         store_message_cb cb, void *arg)
{
    struct store_conversation c;
    PGresult *r = NULL;
    int rc = single(s, "messages_since");
    if (rc)
        return rc;
    rc = conv_read(s, conv, viewer_id ? viewer_id : -1, 0, &c);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_i64(&p, after_seq);
        r = run(s, &rc,
                "SELECT m.seq, m.sender_id, m.sender_role, p.name, m.client_id, m.body, "
                EPOCH("m.created_at")
                " FROM messages m JOIN people p ON p.id = m.sender_id"
                " WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq",
                &p);
    }
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_message m = {
            .conversation_id = conv,
            .seq = g_int(r, i, 0),
            .sender_id = g_i64(r, i, 1),
            .sender_role = g_str(r, i, 2),
            .sender_name = g_str(r, i, 3),
            .client_id = g_str(r, i, 4),
            .body = g_str(r, i, 5),
            .created_at = g_i64(r, i, 6),
        };
        rc = cb(arg, &m);
    }
    PQclear(r);
    return rc;
}

/* ---- suggestions and feedback ----------------------------------------------- */

int store_suggestion_add(struct store *s, int64_t conv, const char *doc_id, const char *kind,
                         const char *title)
{
    int rc = begin(s, "suggestion_add");
    if (rc)
        return rc;
    struct params p = {0};
    int rows = 0;
    p_i64(&p, conv);
    p_str(&p, doc_id);
    p_str(&p, kind);
    p_str(&p, title);
    rc = exec(s,
              "INSERT INTO conversation_suggestions (conversation_id, doc_id, doc_kind, title)"
              " SELECT id, $2, $3, $4 FROM conversations WHERE id = $1"
              " ON CONFLICT (conversation_id, doc_id) DO UPDATE"
              " SET doc_kind = EXCLUDED.doc_kind, title = EXCLUDED.title, shown_at = now()",
              &p, &rows);
    if (rc == 0 && rows == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no conversation %lld", (long long)conv);
    return finish(s, rc);
}

int store_suggestions_add(struct store *s, int64_t conv, size_t n, const char *const *doc_ids,
                          const char *const *kinds, const char *const *titles)
{
    if (n == 0)
        return 0;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id", doc_ids[i], "kind",
                                              kinds[i], "title",
                                              titles[i] ? titles[i] : doc_ids[i]));
    char *js = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    int rc = single(s, "suggestions_add");
    if (rc) {
        free(js);
        return rc;
    }
    struct params p = {0};
    int rows = 0;
    p_i64(&p, conv);
    p_str(&p, js);
    /* one statement is one transaction: all of them or none */
    PGresult *r = run(
        s, &rc,
        "INSERT INTO conversation_suggestions (conversation_id, doc_id, doc_kind, title)"
        " SELECT DISTINCT ON (x.id) c.id, x.id, x.kind, x.title"
        " FROM conversations c,"
        "  jsonb_to_recordset($2::jsonb) AS x(id text, kind text, title text)"
        " WHERE c.id = $1 ORDER BY x.id"
        " ON CONFLICT (conversation_id, doc_id) DO UPDATE"
        " SET doc_kind = EXCLUDED.doc_kind, title = EXCLUDED.title, shown_at = now()",
        &p);
    if (r) {
        rows = atoi(PQcmdTuples(r));
        PQclear(r);
    }
    free(js);
    if (rc == 0 && rows == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no conversation %lld", (long long)conv);
    return rc;
}

int store_suggestions(struct store *s, int64_t conv, int64_t viewer_id, store_suggestion_cb cb,
                      void *arg)
{
    struct store_conversation c;
    PGresult *r = NULL;
    int rc = begin(s, "suggestions");
    if (rc)
        return rc;
    rc = conv_read(s, conv, viewer_id ? viewer_id : -1, 0, &c);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        r = run(s, &rc,
                "SELECT doc_id, doc_kind, title, " EPOCH("shown_at") ", helpful"
                " FROM conversation_suggestions WHERE conversation_id = $1"
                " ORDER BY shown_at, doc_id",
                &p);
    }
    rc = finish(s, rc);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_suggestion sg = {
            .doc_id = g_str(r, i, 0),
            .kind = g_str(r, i, 1),
            .title = g_str(r, i, 2),
            .shown_at = g_i64(r, i, 3),
            .helpful = PQgetisnull(r, i, 4) ? -1 : g_bool(r, i, 4),
        };
        rc = cb(arg, &sg);
    }
    PQclear(r);
    return rc;
}

/* Links doc to ticket with relation, writing a "linked" event when new. */
static int link_add(struct store *s, int64_t ticket, const char *tstatus, const char *doc_id,
                    const char *relation, int64_t actor, int *added)
{
    struct params p = {0};
    int rows = 0;
    p_i64(&p, ticket);
    p_str(&p, doc_id);
    p_str(&p, relation);
    p_id(&p, actor);
    int rc = exec(s,
                  "INSERT INTO ticket_links (ticket_id, doc_id, relation, actor_id)"
                  " VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id, doc_id, relation) DO NOTHING",
                  &p, &rows);
    if (rc == 0 && rows > 0)
        rc = event_add(s, ticket, actor, "linked", tstatus, tstatus,
                       json_pack("{s:s, s:s}", "doc_id", doc_id, "relation", relation), 0);
    if (added)
        *added = rc == 0 && rows > 0;
    return rc;
}

int store_feedback(struct store *s, int64_t conv, int64_t requester_id, const char *doc_id,
                   int helpful, int *ended)
{
    struct store_conversation c;
    int self_solved = 0;
    if (ended)
        *ended = 0;
    int rc = begin(s, "feedback");
    if (rc)
        return rc;
    rc = conv_read(s, conv, 0, 1, &c);
    if (rc == 0 && c.requester_id != requester_id)
        rc = seterr(s, STORE_EFORBIDDEN, "conversation %lld is not this requester's",
                    (long long)conv);
    if (rc == 0 && strcmp(c.status, "open") != 0 && strcmp(c.status, "escalated") != 0)
        rc = seterr(s, STORE_EINVALID, "conversation %lld is %s", (long long)conv, c.status);
    if (rc == 0) {
        struct params p = {0};
        int rows = 0;
        p_i64(&p, conv);
        p_str(&p, doc_id);
        p_bool(&p, helpful);
        rc = exec(s,
                  "UPDATE conversation_suggestions SET helpful = $3"
                  " WHERE conversation_id = $1 AND doc_id = $2",
                  &p, &rows);
        if (rc == 0 && rows == 0)
            rc = seterr(s, STORE_ENOTFOUND, "%s was not suggested in conversation %lld",
                        doc_id ? doc_id : "(null)", (long long)conv);
    }
    if (rc == 0 && helpful && strcmp(c.status, "open") == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_str(&p, doc_id);
        rc = exec(s,
                  "WITH c AS (UPDATE conversations SET status = 'self_solved',"
                  "           updated_at = now() WHERE id = $1)"
                  " INSERT INTO deflections (conversation_id, doc_id) VALUES ($1, $2)",
                  &p, NULL);
        self_solved = rc == 0;
    } else if (rc == 0 && helpful) {
        struct params p = {0};
        p_i64(&p, conv);
        PGresult *r = run(s, &rc, "SELECT id, status FROM tickets WHERE conversation_id = $1", &p);
        if (r && PQntuples(r) > 0) {
            char tstatus[STORE_WORD_MAX];
            g_copy(tstatus, sizeof tstatus, r, 0, 1);
            rc = link_add(s, g_i64(r, 0, 0), tstatus, doc_id, "helpful", requester_id, NULL);
        }
        PQclear(r);
    }
    rc = finish(s, rc);
    if (rc == 0 && ended)
        *ended = self_solved;
    return rc;
}

/* ---- tickets --------------------------------------------------------------------- */

int store_priority(int impact, int urgency)
{
    static const int matrix[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 4}};
    if (impact < 1 || impact > 3 || urgency < 1 || urgency > 3)
        return STORE_EINVALID;
    return matrix[impact - 1][urgency - 1];
}

void store_sla_default(struct store_sla *sla)
{
    static const struct store_sla def = {
        .response_s = {15 * 60, 30 * 60, 4 * 3600, 8 * 3600},
        .resolution_s = {4 * 3600, 8 * 3600, 3 * 86400, 5 * 86400},
    };
    *sla = def;
}

void store_ticket_fin(struct store_ticket *t)
{
    if (!t)
        return;
    free(t->summary);
    free(t->category);
    free(t->resolution);
    free(t->requester_name);
    free(t->agent_name);
    memset(t, 0, sizeof *t);
}

#define TICKET_SELECT                                                                       \
    "SELECT t.id, t.number, t.conversation_id, t.requester_id, t.agent_id, t.status,"      \
    " t.impact, t.urgency, t.priority, " EPOCH("t.response_due") ", "                       \
    EPOCH("t.resolution_due") ", " EPOCH("t.first_response_at") ", "                        \
    EPOCH("t.resolved_at") ", " EPOCH("t.closed_at") ", " EPOCH("t.created_at") ", "        \
    EPOCH("t.updated_at") ", g.score, t.summary, t.category, t.resolution, r.name, a.name"  \
    " FROM tickets t JOIN people r ON r.id = t.requester_id"                                \
    " LEFT JOIN people a ON a.id = t.agent_id LEFT JOIN ratings g ON g.ticket_id = t.id "

/* Fills t from a TICKET_SELECT row: strings borrowed from r, or copies
 * (owned by t) when copy. */
static void ticket_from_row(const PGresult *r, int row, struct store_ticket *t, int copy)
{
    memset(t, 0, sizeof *t);
    t->id = g_i64(r, row, 0);
    g_copy(t->number, sizeof t->number, r, row, 1);
    t->conversation_id = g_i64(r, row, 2);
    t->requester_id = g_i64(r, row, 3);
    t->agent_id = g_i64(r, row, 4);
    g_copy(t->status, sizeof t->status, r, row, 5);
    t->impact = g_int(r, row, 6);
    t->urgency = g_int(r, row, 7);
    t->priority = g_int(r, row, 8);
    t->response_due = g_i64(r, row, 9);
    t->resolution_due = g_i64(r, row, 10);
    t->first_response_at = g_i64(r, row, 11);
    t->resolved_at = g_i64(r, row, 12);
    t->closed_at = g_i64(r, row, 13);
    t->created_at = g_i64(r, row, 14);
    t->updated_at = g_i64(r, row, 15);
    t->rating = g_int(r, row, 16);
    char **str[] = {&t->summary, &t->category, &t->resolution, &t->requester_name,
                    &t->agent_name};
    for (int i = 0; i < 5; i++) {
        const char *v = g_str(r, row, 17 + i);
        *str[i] = copy ? kb_xstrdup(v) : (char *)v;
    }
}

/* Reads one ticket (owned strings) by a TICKET_SELECT query of one param. */
static int ticket_load(struct store *s, const char *sql, const struct params *p,
                       struct store_ticket *out)
{
    int rc = 0;
    PGresult *r = run(s, &rc, sql, p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = seterr(s, STORE_ENOTFOUND, "no such ticket");
    else
        ticket_from_row(r, 0, out, 1);
    PQclear(r);
    return rc;
}

/* The fields of a ticket the state changes look at. */
struct ticket_head {
    int64_t id, conversation_id, requester_id, agent_id;
    char status[STORE_WORD_MAX];
};

/* Reads (and locks, if lock) ticket number's head. */
static int ticket_head(struct store *s, const char *number, int lock, struct ticket_head *h)
{
    memset(h, 0, sizeof *h);
    if (!number)
        return seterr(s, STORE_EINVALID, "no ticket number");
    struct params p = {0};
    p_str(&p, number);
    int rc = 0;
    PGresult *r = run(s, &rc,
                      lock ? "SELECT id, conversation_id, requester_id, agent_id, status"
                             " FROM tickets WHERE number = $1 FOR UPDATE"
                           : "SELECT id, conversation_id, requester_id, agent_id, status"
                             " FROM tickets WHERE number = $1",
                      &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        rc = seterr(s, STORE_ENOTFOUND, "no ticket %s", number);
    } else {
        h->id = g_i64(r, 0, 0);
        h->conversation_id = g_i64(r, 0, 1);
        h->requester_id = g_i64(r, 0, 2);
        h->agent_id = g_i64(r, 0, 3);
        g_copy(h->status, sizeof h->status, r, 0, 4);
    }
    PQclear(r);
    return rc;
}

int store_escalate(struct store *s, int64_t conv, int64_t requester_id, const char *summary,
                   const char *category, int impact, int urgency, const struct store_sla *sla,
                   time_t now, struct store_ticket *out)
{
    struct store_sla def;
    struct store_conversation c;
    memset(out, 0, sizeof *out);
    int rc = begin(s, "escalate");
    if (rc)
        return rc;
    int prio = store_priority(impact, urgency);
    if (!sla) {
        store_sla_default(&def);
        sla = &def;
    }
    if (prio < 0)
        return finish(s, seterr(s, STORE_EINVALID, "impact and urgency are 1..3 (got %d, %d)",
                                impact, urgency));
    if (sla->response_s[prio - 1] <= 0 ||
        sla->resolution_s[prio - 1] < sla->response_s[prio - 1])
        return finish(s, seterr(s, STORE_EINVALID, "bad SLA targets for P%d", prio));
    if (!summary)
        return finish(s, seterr(s, STORE_EINVALID, "a ticket needs a summary"));

    rc = conv_read(s, conv, 0, 1, &c);
    if (rc == 0 && c.requester_id != requester_id)
        rc = seterr(s, STORE_EFORBIDDEN, "conversation %lld is not this requester's",
                    (long long)conv);
    if (rc == 0 && c.ticket[0]) {
        struct params p = {0};
        p_i64(&p, conv);
        rc = finish(s, ticket_load(s, TICKET_SELECT "WHERE t.conversation_id = $1", &p, out));
        if (rc) {
            store_ticket_fin(out);
            return rc;
        }
        return seterr(s, STORE_ECONFLICT, "conversation %lld is already ticket %s",
                      (long long)conv, c.ticket);
    }
    if (rc == 0 && strcmp(c.status, "open") != 0)
        rc = seterr(s, STORE_EINVALID, "conversation %lld is %s", (long long)conv, c.status);

    int64_t ticket = 0;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_i64(&p, requester_id);
        p_str(&p, summary);
        p_str(&p, category);
        p_i64(&p, impact);
        p_i64(&p, urgency);
        p_i64(&p, prio);
        p_i64(&p, sla->response_s[prio - 1]);
        p_i64(&p, sla->resolution_s[prio - 1]);
        p_time(&p, now);
        rc = insert_id(s,
                       "WITH n AS (SELECT coalesce(to_timestamp($10::float8), now()) AS t)"
                       " INSERT INTO tickets (conversation_id, requester_id, summary, category,"
                       " impact, urgency, priority, response_due, resolution_due, created_at,"
                       " updated_at)"
                       " SELECT $1, $2, $3, $4, $5, $6, $7,"
                       " n.t + $8::integer * interval '1 second',"
                       " n.t + $9::integer * interval '1 second', n.t, n.t FROM n RETURNING id",
                       &p, &ticket);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        rc = exec(s,
                  "UPDATE conversations SET status = 'escalated', updated_at = now()"
                  " WHERE id = $1",
                  &p, NULL);
    }
    int suggested = 0;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_i64(&p, ticket);
        rc = exec(s,
                  "INSERT INTO ticket_links (ticket_id, doc_id, relation, actor_id, at)"
                  " SELECT $2, doc_id, 'suggested', NULL, shown_at"
                  " FROM conversation_suggestions WHERE conversation_id = $1"
                  " ON CONFLICT (ticket_id, doc_id, relation) DO NOTHING",
                  &p, &suggested);
    }
    if (rc == 0)
        rc = event_add(s, ticket, requester_id, "created", NULL, "new",
                       json_pack("{s:i, s:i, s:i, s:i}", "impact", impact, "urgency", urgency,
                                 "priority", prio, "suggested", suggested),
                       now);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, ticket);
        rc = ticket_load(s, TICKET_SELECT "WHERE t.id = $1", &p, out);
    }
    rc = finish(s, rc);
    if (rc)
        store_ticket_fin(out);
    return rc;
}

int store_queue(struct store *s, store_ticket_cb cb, void *arg)
{
    int rc = begin(s, "queue");
    if (rc)
        return rc;
    PGresult *r = run(s, &rc,
                      TICKET_SELECT "WHERE t.status IN ('new', 'assigned', 'reopened')"
                                    " ORDER BY t.priority, t.created_at, t.id",
                      NULL);
    rc = finish(s, rc);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_ticket t;
        ticket_from_row(r, i, &t, 0);
        rc = cb(arg, &t);
    }
    PQclear(r);
    return rc;
}

/* Checks that agent is an enabled agent or admin. */
static int check_agent(struct store *s, int64_t agent)
{
    char role[STORE_WORD_MAX];
    int rc = person_role(s, agent, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !is_staff(role)))
        return seterr(s, STORE_EFORBIDDEN, "person %lld is not an enabled agent",
                      (long long)agent);
    return rc;
}

int store_ticket_take(struct store *s, const char *number, int64_t agent_id)
{
    int rc = begin(s, "ticket_take");
    if (rc)
        return rc;
    rc = check_agent(s, agent_id);
    if (rc == 0 && !number)
        rc = seterr(s, STORE_EINVALID, "no ticket number");
    PGresult *r = NULL;
    if (rc == 0) {
        /* the race is decided here: of concurrent updates of the row, the
         * later ones re-check "agent_id IS NULL" on the winner's version */
        struct params p = {0};
        p_str(&p, number);
        p_i64(&p, agent_id);
        r = run(s, &rc,
                "WITH old AS (SELECT id, status FROM tickets WHERE number = $1)"
                " UPDATE tickets t SET agent_id = $2, status = 'assigned', updated_at = now()"
                " FROM old WHERE t.id = old.id AND t.agent_id IS NULL"
                " AND t.status IN ('new', 'reopened') RETURNING t.id, old.status",
                &p);
    }
    if (rc == 0 && PQntuples(r) == 1) {
        char from[STORE_WORD_MAX];
        g_copy(from, sizeof from, r, 0, 1);
        rc = event_add(s, g_i64(r, 0, 0), agent_id, "taken", from, "assigned", NULL, 0);
    } else if (rc == 0) {
        /* lost, or nothing to take: say why */
        struct ticket_head h;
        rc = ticket_head(s, number, 0, &h);
        if (rc == 0 && h.agent_id == agent_id && strcmp(h.status, "closed") != 0 &&
            strcmp(h.status, "resolved") != 0)
            rc = 0; /* one's own already */
        else if (rc == 0 && h.agent_id != 0 && strcmp(h.status, "closed") != 0 &&
                 strcmp(h.status, "resolved") != 0)
            rc = seterr(s, STORE_ECONFLICT, "%s is already taken by another agent", number);
        else if (rc == 0)
            rc = seterr(s, STORE_EINVALID, "%s is %s: nothing to take", number, h.status);
    }
    PQclear(r);
    return finish(s, rc);
}

int store_ticket_access(struct store *s, const char *number, int64_t viewer_id)
{
    struct ticket_head h;
    int rc = begin(s, "ticket_access");
    if (rc)
        return rc;
    rc = ticket_head(s, number, 0, &h);
    if (rc == 0)
        rc = may_view(s, h.requester_id, viewer_id);
    return finish(s, rc);
}

int store_ticket_get(struct store *s, const char *number, int64_t viewer_id,
                     struct store_ticket *out)
{
    struct ticket_head h;
    memset(out, 0, sizeof *out);
    int rc = single(s, "ticket_get");
    if (rc)
        return rc;
    rc = ticket_head(s, number, 0, &h);
    if (rc == 0)
        rc = may_view(s, h.requester_id, viewer_id);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        rc = ticket_load(s, TICKET_SELECT "WHERE t.id = $1", &p, out);
    }
    if (rc)
        store_ticket_fin(out);
    return rc;
}

int store_ticket_reply(struct store *s, const char *number, int64_t agent_id,
                       const char *client_id, const char *body, int *seq, int *duplicate)
{
    struct ticket_head h;
    int got = 0, dup = 0;
    int rc = STORE_ECONFLICT;
    /* a conflict: the same client id stored meanwhile (see message_add) */
    for (int attempt = 0; rc == STORE_ECONFLICT && attempt < 2; attempt++) {
        rc = begin(s, "ticket_reply");
        if (rc)
            return rc;
        rc = ticket_head(s, number, 0, &h);
        if (rc == 0)
            rc = message_add(s, h.conversation_id, agent_id, client_id, body, &got, &dup, NULL);
        rc = finish(s, rc);
    }
    if (rc == 0) {
        *seq = got;
        *duplicate = dup;
    }
    return rc;
}

int store_ticket_link(struct store *s, const char *number, const char *doc_id,
                      const char *relation, int64_t actor_id, int *added)
{
    struct ticket_head h;
    char role[STORE_WORD_MAX] = "";
    int got = 0;
    if (added)
        *added = 0;
    int rc = begin(s, "ticket_link");
    if (rc)
        return rc;
    rc = ticket_head(s, number, 1, &h);
    if (rc == 0) {
        rc = person_role(s, actor_id, role);
        if (rc == STORE_ENOTFOUND)
            rc = seterr(s, STORE_EFORBIDDEN, "person %lld is not enabled", (long long)actor_id);
    }
    if (rc == 0 && !is_staff(role)) {
        if (actor_id != h.requester_id)
            rc = seterr(s, STORE_EFORBIDDEN, "%s is not this requester's", number);
        else if (!relation || (strcmp(relation, "viewed") != 0 && strcmp(relation, "helpful") != 0))
            rc = seterr(s, STORE_EFORBIDDEN, "a requester links only 'viewed' or 'helpful'");
    }
    if (rc == 0 && strcmp(h.status, "closed") == 0)
        rc = seterr(s, STORE_EINVALID, "%s is closed", number);
    if (rc == 0)
        rc = link_add(s, h.id, h.status, doc_id, relation, actor_id, &got);
    rc = finish(s, rc);
    if (rc == 0 && added)
        *added = got;
    return rc;
}

int store_ticket_resolve(struct store *s, const char *number, int64_t agent_id,
                         const char *resolution)
{
    int rc = begin(s, "ticket_resolve");
    if (rc)
        return rc;
    if (!number)
        rc = seterr(s, STORE_EINVALID, "no ticket number");
    else if (!resolution)
        rc = seterr(s, STORE_EINVALID, "a resolution needs a text");
    PGresult *r = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, number);
        p_i64(&p, agent_id);
        p_str(&p, resolution);
        r = run(s, &rc,
                "WITH old AS (SELECT id, status FROM tickets WHERE number = $1)"
                " UPDATE tickets t SET status = 'resolved', resolved_at = now(), resolution = $3,"
                " first_response_at = coalesce(t.first_response_at, now()), updated_at = now()"
                " FROM old WHERE t.id = old.id AND t.agent_id = $2"
                " AND t.status IN ('assigned', 'reopened') RETURNING t.id, old.status",
                &p);
    }
    if (rc == 0 && PQntuples(r) == 1) {
        char from[STORE_WORD_MAX];
        g_copy(from, sizeof from, r, 0, 1);
        json_t *d = json_pack("{s:s}", "resolution", resolution);
        rc = d ? event_add(s, g_i64(r, 0, 0), agent_id, "resolved", from, "resolved", d, 0)
               : seterr(s, STORE_EINVALID, "the resolution is not valid UTF-8");
    } else if (rc == 0) {
        struct ticket_head h;
        rc = ticket_head(s, number, 0, &h);
        if (rc == 0 && h.agent_id != agent_id)
            rc = seterr(s, STORE_EFORBIDDEN, "%s is not assigned to agent %lld", number,
                        (long long)agent_id);
        else if (rc == 0)
            rc = seterr(s, STORE_EINVALID, "%s is %s: cannot resolve it", number, h.status);
    }
    PQclear(r);
    return finish(s, rc);
}

/* Reads and locks the ticket of a requester's answer (confirm, rate). */
static int requester_ticket(struct store *s, const char *number, int64_t requester,
                            struct ticket_head *h)
{
    int rc = ticket_head(s, number, 1, h);
    if (rc == 0 && h->requester_id != requester)
        rc = seterr(s, STORE_EFORBIDDEN, "%s is not this requester's", number);
    return rc;
}

int store_ticket_confirm(struct store *s, const char *number, int64_t requester_id,
                         int accepted)
{
    struct ticket_head h;
    int rc = begin(s, "ticket_confirm");
    if (rc)
        return rc;
    rc = requester_ticket(s, number, requester_id, &h);
    if (rc == 0 && strcmp(h.status, "resolved") != 0)
        rc = seterr(s, STORE_EINVALID, "%s is %s, not resolved", number, h.status);
    if (rc == 0 && accepted) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_i64(&p, h.conversation_id);
        rc = exec(s,
                  "WITH c AS (UPDATE conversations SET status = 'closed', updated_at = now()"
                  "           WHERE id = $2)"
                  " UPDATE tickets SET status = 'closed', closed_at = now(), updated_at = now()"
                  " WHERE id = $1",
                  &p, NULL);
        if (rc == 0)
            rc = event_add(s, h.id, requester_id, "confirmed", "resolved", "closed", NULL, 0);
    } else if (rc == 0) {
        /* back to its agent, or to the queue if the agent was disabled */
        struct params p = {0};
        p_i64(&p, h.id);
        PGresult *r = run(s, &rc,
                          "UPDATE tickets t SET status = 'reopened', resolved_at = NULL,"
                          " updated_at = now(), agent_id = (SELECT p.id FROM people p"
                          "  WHERE p.id = t.agent_id AND NOT p.disabled)"
                          " WHERE t.id = $1 RETURNING t.agent_id",
                          &p);
        if (r) {
            json_t *d = PQgetisnull(r, 0, 0)
                            ? json_pack("{s:n}", "agent_id")
                            : json_pack("{s:I}", "agent_id", (json_int_t)g_i64(r, 0, 0));
            PQclear(r);
            rc = event_add(s, h.id, requester_id, "reopened", "resolved", "reopened", d, 0);
        }
    }
    return finish(s, rc);
}

int store_ticket_rate(struct store *s, const char *number, int64_t requester_id, int score,
                      const char *comment)
{
    struct ticket_head h;
    int rc = begin(s, "ticket_rate");
    if (rc)
        return rc;
    if (score < 1 || score > 5)
        return finish(s, seterr(s, STORE_EINVALID, "a rating is 1..5 (got %d)", score));
    rc = requester_ticket(s, number, requester_id, &h);
    if (rc == 0 && strcmp(h.status, "resolved") != 0 && strcmp(h.status, "closed") != 0)
        rc = seterr(s, STORE_EINVALID, "%s is %s: rate it once it is resolved", number,
                    h.status);
    if (rc == 0) {
        struct params p = {0};
        int rows = 0;
        p_i64(&p, h.id);
        rc = exec(s, "SELECT 1 FROM ratings WHERE ticket_id = $1", &p, &rows);
        if (rc == 0 && rows > 0)
            rc = seterr(s, STORE_ECONFLICT, "%s is rated already", number);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        p_i64(&p, score);
        p_str(&p, comment);
        rc = exec(s, "INSERT INTO ratings (ticket_id, score, comment) VALUES ($1, $2, $3)", &p,
                  NULL);
    }
    if (rc == 0)
        rc = event_add(s, h.id, requester_id, "rated", h.status, h.status,
                       json_pack("{s:i}", "score", score), 0);
    return finish(s, rc);
}

int store_auto_close(struct store *s, int days, time_t now, int *closed)
{
    int n = 0;
    if (closed)
        *closed = 0;
    int rc = begin(s, "auto_close");
    if (rc)
        return rc;
    if (days < 1)
        return finish(s, seterr(s, STORE_EINVALID, "auto-close after at least one day"));
    struct params p = {0};
    p_i64(&p, days);
    p_time(&p, now);
    PGresult *r = run(s, &rc,
                      "WITH n AS (SELECT coalesce(to_timestamp($2::float8), now()) AS t),"
                      " closed AS (UPDATE tickets k SET status = 'closed', closed_at = n.t,"
                      "            updated_at = n.t FROM n"
                      "            WHERE k.status = 'resolved'"
                      "            AND k.resolved_at <= n.t - $1::integer * interval '1 day'"
                      "            RETURNING k.id, k.conversation_id),"
                      " ev AS (INSERT INTO ticket_events (ticket_id, actor_id, type, from_status,"
                      "        to_status, detail, at)"
                      "        SELECT closed.id, NULL, 'auto_closed', 'resolved', 'closed',"
                      "        jsonb_build_object('days', $1::integer), n.t FROM closed, n),"
                      " cv AS (UPDATE conversations c SET status = 'closed', updated_at = now()"
                      "        FROM closed WHERE c.id = closed.conversation_id)"
                      " SELECT count(*) FROM closed",
                      &p);
    if (r)
        n = g_int(r, 0, 0);
    PQclear(r);
    rc = finish(s, rc);
    if (rc == 0 && closed)
        *closed = n;
    return rc;
}

int store_ticket_links(struct store *s, const char *number, int64_t viewer_id, store_link_cb cb,
                       void *arg)
{
    struct ticket_head h;
    PGresult *r = NULL;
    int rc = begin(s, "ticket_links");
    if (rc)
        return rc;
    rc = ticket_head(s, number, 0, &h);
    if (rc == 0)
        rc = may_view(s, h.requester_id, viewer_id);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        r = run(s, &rc,
                "SELECT l.doc_id, l.relation, l.actor_id, p.name, " EPOCH("l.at")
                " FROM ticket_links l LEFT JOIN people p ON p.id = l.actor_id"
                " WHERE l.ticket_id = $1 ORDER BY l.at, l.doc_id, l.relation",
                &p);
    }
    rc = finish(s, rc);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_link l = {
            .doc_id = g_str(r, i, 0),
            .relation = g_str(r, i, 1),
            .actor_id = g_i64(r, i, 2),
            .actor_name = g_str(r, i, 3),
            .at = g_i64(r, i, 4),
        };
        rc = cb(arg, &l);
    }
    PQclear(r);
    return rc;
}

int store_ticket_events(struct store *s, const char *number, int64_t viewer_id,
                        store_event_cb cb, void *arg)
{
    struct ticket_head h;
    PGresult *r = NULL;
    int rc = begin(s, "ticket_events");
    if (rc)
        return rc;
    rc = ticket_head(s, number, 0, &h);
    if (rc == 0)
        rc = may_view(s, h.requester_id, viewer_id);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.id);
        r = run(s, &rc,
                "SELECT e.id, e.actor_id, p.name, e.type, e.from_status, e.to_status,"
                " e.detail::text, " EPOCH("e.at")
                " FROM ticket_events e LEFT JOIN people p ON p.id = e.actor_id"
                " WHERE e.ticket_id = $1 ORDER BY e.id",
                &p);
    }
    rc = finish(s, rc);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        struct store_event e = {
            .id = g_i64(r, i, 0),
            .actor_id = g_i64(r, i, 1),
            .actor_name = g_str(r, i, 2),
            .type = g_str(r, i, 3),
            .from_status = g_str(r, i, 4),
            .to_status = g_str(r, i, 5),
            .detail = g_str(r, i, 6),
            .at = g_i64(r, i, 7),
        };
        rc = cb(arg, &e);
    }
    PQclear(r);
    return rc;
}
