/* store_attach: attachment rows, who may read them and what they are
 * attached to (see store_attach.h). Visibility is st_may_view's (the
 * owner of the conversation or ticket, or an enabled agent or admin), plus
 * the uploader; attaching to a ticket is st_may_work's for agents. Every
 * "may not see" is answered STORE_ENOTFOUND, like "does not exist". */
#include "store_attach.h"
#include "store_int.h"

#include <string.h>

/* the columns of an attachment row, then its owner (the requester of the
 * conversation or ticket it is on; NULL: unattached) */
#define ATT_COLS                                                                            \
    "a.id, a.sha256, a.size, a.type, a.name, a.uploader_id,"                                \
    " coalesce(a.conversation_id, 0), coalesce(a.message_seq, 0), coalesce(t.number, ''),"  \
    " " EPOCH("a.created_at") ", coalesce(c.requester_id, t.requester_id)"
#define ATT_FROM                                                                            \
    " FROM attachments a LEFT JOIN conversations c ON c.id = a.conversation_id"            \
    " LEFT JOIN tickets t ON t.id = a.ticket_id "

static void att_from_row(const PGresult *r, int row, struct store_attachment *a)
{
    memset(a, 0, sizeof *a);
    a->id = g_i64(r, row, 0);
    g_copy(a->sha256, sizeof a->sha256, r, row, 1);
    a->size = g_i64(r, row, 2);
    g_copy(a->type, sizeof a->type, r, row, 3);
    g_copy(a->name, sizeof a->name, r, row, 4);
    a->uploader_id = g_i64(r, row, 5);
    a->conversation_id = g_i64(r, row, 6);
    a->message_seq = g_int(r, row, 7);
    g_copy(a->ticket, sizeof a->ticket, r, row, 8);
    a->created_at = g_i64(r, row, 9);
}

/* May viewer see row's attachment? 0 or STORE_ENOTFOUND / STORE_EDB. */
static int att_visible(struct store *s, const PGresult *r, int row, int64_t viewer)
{
    int64_t uploader = g_i64(r, row, 5);
    if (viewer == uploader)
        return 0;
    if (PQgetisnull(r, row, 10))
        return st_seterr(s, STORE_ENOTFOUND, "no attachment %s", g_str(r, row, 0));
    int rc = st_may_view(s, g_i64(r, row, 10), viewer);
    if (rc == STORE_EFORBIDDEN)
        return st_seterr(s, STORE_ENOTFOUND, "no attachment %s", g_str(r, row, 0));
    return rc;
}

int store_attach_add(struct store *s, int64_t uploader, const char *sha256, int64_t size,
                     const char *type, const char *name, int64_t *id)
{
    int rc = st_begin(s, "attach_add");
    if (rc)
        return rc;
    char role[STORE_WORD_MAX];
    rc = st_person_role(s, uploader, role);
    if (rc == 0)
        rc = st_text_ok(s, "name", name, 1, STORE_ATTACH_NAME_MAX);
    if (rc == 0 && (!sha256 || strlen(sha256) != 64 || strspn(sha256, "0123456789abcdef") != 64))
        rc = st_seterr(s, STORE_EINVALID, "bad sha256");
    if (rc == 0 && size <= 0)
        rc = st_seterr(s, STORE_EINVALID, "empty content");
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, sha256);
        p_i64(&p, size);
        p_str(&p, type);
        p_str(&p, name);
        p_i64(&p, uploader);
        rc = st_insert_id(s,
                          "INSERT INTO attachments (sha256, size, type, name, uploader_id)"
                          " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                          &p, id);
    }
    return st_finish(s, rc);
}

int store_attach_get(struct store *s, int64_t id, int64_t viewer, struct store_attachment *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "attach_get");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, id);
    PGresult *r = st_run_row(s, &rc, "SELECT " ATT_COLS ATT_FROM "WHERE a.id = $1", &p,
                             "no attachment %lld", (long long)id);
    if (!r)
        return rc;
    rc = att_visible(s, r, 0, viewer);
    if (rc == 0)
        att_from_row(r, 0, out);
    PQclear(r);
    return rc;
}

/* Inside a transaction: are ids person's unattached uploads (locked when
 * lock)? */
static int check_ids(struct store *s, int64_t person, const int64_t *ids, int n, int lock)
{
    if (n < 0 || n > STORE_ATTACH_PER_MESSAGE)
        return st_seterr(s, STORE_EINVALID, "at most %d attachments", STORE_ATTACH_PER_MESSAGE);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++)
            if (ids[j] == ids[i])
                return st_seterr(s, STORE_EINVALID, "attachment %lld given twice",
                                 (long long)ids[i]);
        struct params p = {0};
        p_i64(&p, ids[i]);
        p_i64(&p, person);
        int rows = 0;
        int rc = st_exec(s,
                         lock ? "SELECT 1 FROM attachments WHERE id = $1 AND uploader_id = $2"
                                " AND conversation_id IS NULL AND ticket_id IS NULL FOR UPDATE"
                              : "SELECT 1 FROM attachments WHERE id = $1 AND uploader_id = $2"
                                " AND conversation_id IS NULL AND ticket_id IS NULL",
                         &p, &rows);
        if (rc)
            return rc;
        if (rows == 0)
            return st_seterr(s, STORE_ENOTFOUND, "no attachment %lld of yours to attach",
                             (long long)ids[i]);
    }
    return 0;
}

int store_attach_check(struct store *s, int64_t person, const int64_t *ids, int n)
{
    int rc = st_single(s, "attach_check");
    if (rc)
        return rc;
    return check_ids(s, person, ids, n, 0);
}

int store_attach_to_message(struct store *s, int64_t person, const int64_t *ids, int n,
                            int64_t conv, int seq)
{
    int rc = st_begin(s, "attach_to_message");
    if (rc)
        return rc;
    rc = check_ids(s, person, ids, n, 1);
    for (int i = 0; rc == 0 && i < n; i++) {
        struct params p = {0};
        p_i64(&p, ids[i]);
        p_i64(&p, conv);
        p_i64(&p, seq);
        rc = st_exec(s,
                     "UPDATE attachments SET conversation_id = $2, message_seq = $3,"
                     " attached_at = now() WHERE id = $1",
                     &p, NULL);
    }
    return st_finish(s, rc);
}

int store_attach_to_ticket(struct store *s, int64_t person, int64_t id, const char *number)
{
    int rc = st_begin(s, "attach_to_ticket");
    if (rc)
        return rc;
    struct params p = {0};
    p_str(&p, number ? number : "");
    PGresult *r = st_run_row(s, &rc,
                             "SELECT id, requester_id, status FROM tickets WHERE number = $1"
                             " FOR UPDATE",
                             &p, "no ticket %s", number ? number : "");
    int64_t ticket = 0, requester = 0;
    char status[STORE_WORD_MAX] = "";
    if (r) {
        ticket = g_i64(r, 0, 0);
        requester = g_i64(r, 0, 1);
        g_copy(status, sizeof status, r, 0, 2);
        PQclear(r);
    }
    if (rc == 0) {
        rc = st_may_view(s, requester, person);
        if (rc == STORE_EFORBIDDEN)
            rc = st_seterr(s, STORE_ENOTFOUND, "no ticket %s", number);
    }
    if (rc == 0 && person != requester)
        rc = st_may_work(s, ticket, person, NULL);
    if (rc == 0 && strcmp(status, "closed") == 0)
        rc = st_seterr(s, STORE_EINVALID, "the ticket is closed");
    if (rc == 0)
        rc = check_ids(s, person, &id, 1, 1);
    if (rc == 0) {
        struct params q = {0};
        p_i64(&q, id);
        p_i64(&q, ticket);
        rc = st_exec(s, "UPDATE attachments SET ticket_id = $2, attached_at = now() WHERE id = $1",
                     &q, NULL);
    }
    return st_finish(s, rc);
}

/* Runs sql ($1: the ticket's or conversation's id) and hands the rows to
 * cb, after checking viewer may see owner. */
static int att_list(struct store *s, const char *op, const char *head_sql,
                    const struct params *hp, const char *sql, int64_t viewer,
                    store_attach_cb cb, void *arg)
{
    int rc = st_begin(s, op);
    if (rc)
        return rc;
    PGresult *r = st_run(s, &rc, head_sql, hp);
    PGresult *rows = NULL;
    if (r) {
        if (PQntuples(r) == 0) {
            rc = st_seterr(s, STORE_ENOTFOUND, "no such %s", op);
        } else {
            int64_t target = g_i64(r, 0, 0), owner = g_i64(r, 0, 1);
            rc = st_may_view(s, owner, viewer);
            if (rc == STORE_EFORBIDDEN)
                rc = st_seterr(s, STORE_ENOTFOUND, "no such %s", op);
            if (rc == 0) {
                struct params p = {0};
                p_i64(&p, target);
                rows = st_run(s, &rc, sql, &p);
            }
        }
        PQclear(r);
    }
    rc = st_finish(s, rc);
    if (rc == 0) {
        for (int i = 0; i < PQntuples(rows) && rc == 0; i++) {
            struct store_attachment a;
            att_from_row(rows, i, &a);
            rc = cb(arg, &a);
        }
    }
    PQclear(rows);
    return rc;
}

int store_attach_of_ticket(struct store *s, const char *number, int64_t viewer,
                           store_attach_cb cb, void *arg)
{
    struct params p = {0};
    p_str(&p, number ? number : "");
    return att_list(s, "ticket", "SELECT id, requester_id FROM tickets WHERE number = $1", &p,
                    "SELECT " ATT_COLS ATT_FROM
                    "WHERE a.ticket_id = $1 OR a.conversation_id ="
                    " (SELECT conversation_id FROM tickets WHERE id = $1) ORDER BY a.id",
                    viewer, cb, arg);
}

int store_attach_of_conversation(struct store *s, int64_t conv, int64_t viewer,
                                 store_attach_cb cb, void *arg)
{
    struct params p = {0};
    p_i64(&p, conv);
    return att_list(s, "conversation",
                    "SELECT id, requester_id FROM conversations WHERE id = $1", &p,
                    "SELECT " ATT_COLS ATT_FROM
                    "WHERE a.conversation_id = $1 ORDER BY a.message_seq, a.id",
                    viewer, cb, arg);
}
