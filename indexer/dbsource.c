/* dbsource: published knowledge in PostgreSQL as a build source (see
 * dbsource.h); the SQL is the store's (store_knowledge_changes). */
#include "dbsource.h"
#include "kb_util.h"
#include "store.h"

struct relay {
    build_change_cb cb;
    void *cb_arg;
};

static int relay_one(void *arg, const char *doc_id, int64_t seq, const struct kb_doc *doc)
{
    (void)seq;
    struct relay *r = arg;
    return r->cb(r->cb_arg, doc_id, doc);
}

static int db_changes(void *arg, long long after, build_change_cb cb, void *cb_arg,
                      long long *mark, char *err, size_t errlen)
{
    struct store *st = arg;
    struct relay r = {cb, cb_arg};
    int64_t last = after;
    int rc = store_knowledge_changes(st, after, relay_one, &r, &last);
    *mark = last;
    if (rc < 0) {
        kb_seterr(err, errlen, "%s", store_errmsg(st));
        return -1;
    }
    return rc;
}

void dbsource_init(struct build_source *src, struct store *st)
{
    src->name = "@db";
    src->label = "database item";
    src->changes = db_changes;
    src->arg = st;
}
