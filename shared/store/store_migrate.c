/* store_migrate: applies the numbered SQL files of a folder (NNN_name.sql)
 * not yet recorded in schema_migrations, each in a transaction of its own
 * with its row, under a session-level advisory lock so that several
 * programs starting at once apply each file exactly once. */
#include "store_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "kb_util.h"

/* pg_advisory_lock key serialising store_migrate callers: "kbdesk" */
#define MIGRATE_LOCK_KEY "118070335337323"

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
        return st_seterr(s, STORE_EINVALID, "%s: %s", dir, strerror(errno));
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
            rc = st_seterr(s, STORE_EINVALID, "%s/%s: a migration is named NNN_name.sql (NNN >= 1)",
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
                rc = st_seterr(s, STORE_EINVALID, "%s: two migrations numbered %d (%s, %s)", dir,
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
        return st_seterr(s, STORE_EINVALID, "%s", ferr);
    int rc = st_begin(s, "migrate");
    if (rc == 0) {
        /* the file's statements, as they are: several in one string */
        PGresult *r = PQexec(s->conn, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
            /* a file that fails is the file's fault, unless the server went */
            st_pgfail(s, r);
            char msg[STORE_ERR_MAX];
            snprintf(msg, sizeof msg, "%s", s->err + strlen("[store][migrate] "));
            rc = st_seterr(s, PQstatus(s->conn) == CONNECTION_OK ? STORE_EINVALID : STORE_EDB,
                           "%s: %s", m->path, msg);
        } else if (PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
            rc = st_seterr(s, STORE_EINVALID, "%s: a migration must not contain BEGIN or COMMIT",
                           m->path);
        }
        PQclear(r);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, m->version);
        p_str(&p, m->name);
        rc = st_exec(s, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &p, NULL);
    }
    free(sql);
    return st_finish(s, rc);
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
    rc = st_begin(s, "migrate");
    if (rc == 0)
        rc = st_exec(s, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", NULL, NULL);
    if (rc == 0)
        rc = st_exec(s,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version integer PRIMARY KEY CHECK (version >= 1),"
                     " name text NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())",
                     NULL, NULL);
    if (rc == 0)
        have = st_run(s, &rc, "SELECT version, name FROM schema_migrations", NULL);
    rc = st_finish(s, rc);
    for (int i = 0; rc == 0 && i < n; i++) {
        const char *recorded = NULL;
        for (int j = 0; j < PQntuples(have); j++)
            if (g_int(have, j, 0) == m[i].version)
                recorded = g_str(have, j, 1);
        if (recorded && strcmp(recorded, m[i].name) != 0)
            rc = st_seterr(s, STORE_EINVALID, "migration %d was applied as '%s' but the file is %s",
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
