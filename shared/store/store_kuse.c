/* store_kuse: knowledge utilisation rows and reader feedback (see
 * store_kuse.h): recording uses, one statement each; the counters as one
 * aggregate over the (doc_id, kind) index; the newest feedback for staff.
 * The steps other aggregates' transactions take (linked, self_solved) are
 * the st_kuse_* helpers of store_int.h. */
#include "store_int.h"

#include <string.h>

static const char *const verdicts[] = {"helpful", "not_helpful", "out_of_date"};

int store_kuse_verdict_ok(const char *verdict)
{
    for (size_t i = 0; verdict && i < sizeof verdicts / sizeof verdicts[0]; i++)
        if (strcmp(verdict, verdicts[i]) == 0)
            return 1;
    return 0;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n", *s))
            return 0;
    return 1;
}

int store_kuse_record(struct store *s, const char *kind, int64_t person, int64_t conv, size_t n,
                      const char *const *doc_ids)
{
    if (!kind || (strcmp(kind, "shown") != 0 && strcmp(kind, "opened") != 0))
        return st_seterr(s, STORE_EINVALID, "a use recorded here is shown or opened, not %s",
                         kind ? kind : "(null)");
    if (n == 0)
        return 0;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(doc_ids[i] ? doc_ids[i] : ""));
    char *js = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    int rc = st_single(s, "kuse_record");
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, kind);
        p_id(&p, person);
        p_id(&p, conv);
        p_str(&p, js);
        rc = st_exec(s,
                     "INSERT INTO knowledge_use (doc_id, kind, person_id, conversation_id)"
                     " SELECT x, $1, $2, $3 FROM jsonb_array_elements_text($4::jsonb) AS x",
                     &p, NULL);
    }
    free(js);
    return rc;
}

int store_kuse_feedback(struct store *s, const char *doc_id, int64_t person, int64_t conv,
                        const char *verdict, const char *comment)
{
    int rc = st_single(s, "kuse_feedback");
    if (rc)
        return rc;
    if (!store_kuse_verdict_ok(verdict))
        return st_seterr(s, STORE_EINVALID, "verdict is helpful, not_helpful or out_of_date");
    if (!doc_id || !doc_id[0] || utf8_chars(doc_id) > 200)
        return st_seterr(s, STORE_EINVALID, "a document id has 1 to 200 characters");
    if (comment && blank(comment))
        comment = NULL;
    if (comment && utf8_chars(comment) > STORE_KUSE_COMMENT_MAX)
        return st_seterr(s, STORE_EINVALID, "a comment has at most %d characters",
                         STORE_KUSE_COMMENT_MAX);
    struct params p = {0};
    p_str(&p, doc_id);
    p_str(&p, verdict);
    p_id(&p, person);
    p_id(&p, conv);
    p_str(&p, comment);
    return st_exec(s,
                   "INSERT INTO knowledge_use (doc_id, kind, person_id, conversation_id, comment)"
                   " VALUES ($1, $2, $3, $4, $5)",
                   &p, NULL);
}

int store_kuse_counters(struct store *s, const char *doc_id, time_t from, time_t to,
                        struct store_kcounters *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "kuse_counters");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, doc_id);
    p_time(&p, from);
    p_time(&p, to);
    PGresult *r = st_run(s, &rc,
                         "SELECT kind, count(*) FROM knowledge_use WHERE doc_id = $1"
                         " AND ($2::float8 IS NULL OR at >= to_timestamp($2::float8))"
                         " AND ($3::float8 IS NULL OR at < to_timestamp($3::float8))"
                         " GROUP BY kind",
                         &p);
    for (int i = 0; r && i < PQntuples(r); i++) {
        const char *k = g_str(r, i, 0);
        int64_t n = g_i64(r, i, 1);
        if (strcmp(k, "shown") == 0)
            out->shown = n;
        else if (strcmp(k, "opened") == 0)
            out->opened = n;
        else if (strcmp(k, "helpful") == 0)
            out->helpful = n;
        else if (strcmp(k, "not_helpful") == 0)
            out->not_helpful = n;
        else if (strcmp(k, "out_of_date") == 0)
            out->out_of_date = n;
        else if (strcmp(k, "linked") == 0)
            out->linked = n;
        else if (strcmp(k, "self_solved") == 0)
            out->self_solved = n;
    }
    PQclear(r);
    return rc;
}

int store_kuse_feedback_list(struct store *s, const char *doc_id, int64_t viewer, int limit,
                             store_kfeedback_cb cb, void *arg)
{
    char role[STORE_WORD_MAX];
    int rc = st_single(s, "kuse_feedback_list");
    if (rc)
        return rc;
    rc = st_person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "only agents read the feedback of others");
    if (rc)
        return rc;
    if (limit < 1 || limit > STORE_KUSE_FEEDBACK_MAX)
        limit = STORE_KUSE_FEEDBACK_MAX;
    struct params p = {0};
    p_str(&p, doc_id);
    p_i64(&p, limit);
    PGresult *r = st_run(s, &rc,
                         "SELECT u.id, u.kind, u.comment, u.person_id, p.name, p.role, "
                         EPOCH("u.at")
                         " FROM knowledge_use u LEFT JOIN people p ON p.id = u.person_id"
                         " WHERE u.doc_id = $1"
                         " AND u.kind IN ('helpful', 'not_helpful', 'out_of_date')"
                         " ORDER BY u.id DESC LIMIT $2",
                         &p);
    for (int i = 0; rc == 0 && r && i < PQntuples(r); i++) {
        struct store_kfeedback f = {
            .id = g_i64(r, i, 0),
            .verdict = g_str(r, i, 1),
            .comment = g_str(r, i, 2),
            .by_id = g_i64(r, i, 3),
            .by_name = g_str(r, i, 4),
            .by_role = g_str(r, i, 5),
            .at = g_i64(r, i, 6),
        };
        rc = cb(arg, &f);
    }
    PQclear(r);
    return rc;
}

/* ---- inside other aggregates' transactions (store_int.h) ------------------- */

int st_kuse_linked(struct store *s, const char *doc_id, int64_t person, int64_t ticket)
{
    struct params p = {0};
    p_str(&p, doc_id);
    p_id(&p, person);
    p_i64(&p, ticket);
    return st_exec(s,
                   "INSERT INTO knowledge_use (doc_id, kind, person_id, conversation_id,"
                   " ticket_id) SELECT $1, 'linked', $2, t.conversation_id, t.id"
                   " FROM tickets t WHERE t.id = $3",
                   &p, NULL);
}

int st_kuse_self_solved(struct store *s, int64_t conv, int64_t person)
{
    struct params p = {0};
    p_i64(&p, conv);
    p_id(&p, person);
    return st_exec(s,
                   "INSERT INTO knowledge_use (doc_id, kind, person_id, conversation_id)"
                   " SELECT doc_id, 'self_solved', $2, $1 FROM conversation_suggestions"
                   " WHERE conversation_id = $1",
                   &p, NULL);
}
