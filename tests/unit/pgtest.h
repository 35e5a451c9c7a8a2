/* pgtest: what the unit tests that need PostgreSQL share: a private
 * cluster in a fresh temporary folder (scripts/pg.sh, fsync off), started,
 * stopped and destroyed; the corpus indexed next to it; a shell command's
 * first output line. Included by one test file each (static inline, so a
 * file may use only some); failures are reported on stderr and as -1, for
 * cmocka's group setup to fail with. */
#ifndef KB_PGTEST_H
#define KB_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PGT_MIGRATIONS "shared/store/migrations"
#define PGT_PG_SH "scripts/pg.sh"

/* Runs a shell command; the first line of its output goes to out (if not
 * NULL). Returns the exit status (-1 if it could not run). */
static inline int pgt_sh(const char *cmd, char *out, size_t outlen)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[1024];
    if (out && outlen)
        out[0] = '\0';
    for (int first = 1; fgets(line, sizeof line, f); first = 0)
        if (first && out && outlen)
            snprintf(out, outlen, "%.*s", (int)strcspn(line, "\n"), line);
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* scripts/pg.sh what (start, stop, destroy) on the cluster in dir/pg; the
 * first output line (start: the conninfo) to out. Returns the exit status. */
static inline int pgt_ctl(const char *dir, const char *what, char *out, size_t outlen)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "PG_FSYNC=off " PGT_PG_SH " %s '%s/pg'", what, dir);
    return pgt_sh(cmd, out, outlen);
}

/* Makes dir ($TMPDIR or /tmp, then prefix.XXXXXX; open to the postgres
 * user) and starts a cluster in dir/pg; its conninfo goes to conninfo.
 * Returns 0 or -1. */
static inline int pgt_start(const char *prefix, char *dir, size_t dirlen, char *conninfo,
                            size_t cilen)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, dirlen, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (!mkdtemp(dir) || chmod(dir, 0755)) { /* the postgres user must enter it */
        fprintf(stderr, "cannot make the folder %s\n", dir);
        return -1;
    }
    if (pgt_ctl(dir, "start", conninfo, cilen) != 0 || !strstr(conninfo, "host=")) {
        fprintf(stderr, "could not start PostgreSQL in %s/pg -> '%s'\n", dir, conninfo);
        return -1;
    }
    return 0;
}

/* Indexes corpora/ into dir/index (its path to index). Returns 0 or -1. */
static inline int pgt_index(const char *dir, char *index, size_t len)
{
    char cmd[1024];
    snprintf(index, len, "%s/index", dir);
    snprintf(cmd, sizeof cmd,
             "build/bin/indexer build --quiet --corpus corpora --index '%s' >/dev/null", index);
    if (pgt_sh(cmd, NULL, 0) != 0) {
        fprintf(stderr, "indexer failed: %s\n", cmd);
        return -1;
    }
    return 0;
}

/* Destroys the cluster and removes dir. Returns 0 or -1. */
static inline int pgt_destroy(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PGT_PG_SH " destroy '%s/pg' >/dev/null && rm -rf '%s'", dir, dir);
    return pgt_sh(cmd, NULL, 0) == 0 ? 0 : -1;
}

#endif
