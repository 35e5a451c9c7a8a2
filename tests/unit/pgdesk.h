/* pgdesk: the group setup the unit tests of the desk service share (the
 * WebSocket side, test_desk, and the JSON API, test_api): a fresh
 * PostgreSQL cluster (pgtest.h) with the migrations applied and the corpus
 * indexed next to it, one desk (the service layer) on them, and a libpq
 * connection for checking rows. Include after <cmocka.h>; static inline.
 * Failures are reported on stderr and as -1, for cmocka's group setup. */
#ifndef KB_PGDESK_H
#define KB_PGDESK_H

#include "pgtest.h"
#include "../../chatdesk/auth.h"
#include "../../chatdesk/desk.h"
#include "kb_lexicon.h"
#include "kb_util.h"
#include "store.h"

#include <libpq-fe.h>

struct pgdesk {
    char dir[256];
    char conninfo[512];
    char index[320];
    kb_lexicon *lx;
    struct desk_config cfg; /* desk_config_default */
    struct desk *d;
    PGconn *pg;
    int people; /* for unique names */
};

/* Starts the cluster (folder prefix.XXXXXX), indexes the corpus, applies
 * the migrations, then calls seed(st) (may be NULL) with the migrated
 * store before the desk opens. Returns 0 or -1. */
static inline int pgdesk_setup(struct pgdesk *g, const char *prefix, int (*seed)(struct store *st))
{
    if (auth_init() != 0)
        return -1;
    if (pgt_start(prefix, g->dir, sizeof g->dir, g->conninfo, sizeof g->conninfo))
        return -1;
    if (pgt_index(g->dir, g->index, sizeof g->index))
        return -1;
    struct store *st = NULL;
    char err[KB_ERR_MAX];
    if (store_open(g->conninfo, &st, err, sizeof err) || store_migrate(st, PGT_MIGRATIONS, NULL) ||
        (seed && seed(st))) {
        fprintf(stderr, "setup failed: %s\n", st ? store_errmsg(st) : err);
        store_close(st);
        return -1;
    }
    store_close(st);
    g->lx = kb_lexicon_new_builtin();
    desk_config_default(&g->cfg);
    if (desk_new(g->conninfo, g->index, g->lx, &g->cfg, &g->d, err, sizeof err)) {
        fprintf(stderr, "desk_new: %s\n", err);
        return -1;
    }
    g->pg = PQconnectdb(g->conninfo);
    return PQstatus(g->pg) == CONNECTION_OK ? 0 : -1;
}

/* Frees what pgdesk_setup made and destroys the cluster. Returns 0 or -1. */
static inline int pgdesk_teardown(struct pgdesk *g)
{
    desk_free(g->d);
    kb_lexicon_free(g->lx);
    PQfinish(g->pg);
    return pgt_destroy(g->dir);
}

#endif
