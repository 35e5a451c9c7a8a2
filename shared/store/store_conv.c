/* store_conv: conversations and their messages (tables conversations,
 * messages), the knowledge suggested during a chat
 * (conversation_suggestions) and the requester's verdicts, which end a
 * chat as self-solved with a deflection (deflections). A message stored by
 * an agent is a ticket reply: its ticket side (first response, "replied"
 * event) is st_ticket_replied in store_ticket.c. */
#include "store_int.h"

#include <string.h>

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
    int rc = st_begin(s, "conversation_create");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, requester_id);
    rc = st_insert_id(s, "INSERT INTO conversations (requester_id) VALUES ($1) RETURNING id", &p,
                      &got);
    if (rc == STORE_EINVALID)
        st_seterr(s, rc, "person %lld is not a requester", (long long)requester_id);
    rc = st_finish(s, rc);
    if (rc == 0)
        *id = got;
    return rc;
}

/* Reads conversation id (locking it if lock), checking that viewer may see
 * it when viewer is not 0. The lock (FOR NO KEY UPDATE) makes the
 * conversation's other writers wait, but not the transactions that only
 * insert rows referring to it (their foreign key takes FOR KEY SHARE):
 * FOR UPDATE would make a chat message wait for a search worker's
 * suggestions batch, which stays open while it searches (no writer changes
 * a conversation's id, so FOR UPDATE is never needed). */
int st_conv_read(struct store *s, int64_t id, int64_t viewer, int lock,
                     struct store_conversation *out)
{
    struct params p = {0};
    p_i64(&p, id);
    int rc = 0;
    PGresult *r = st_run_row(s, &rc,
                             lock ? CONV_SELECT "WHERE c.id = $1 FOR NO KEY UPDATE OF c"
                               : CONV_SELECT "WHERE c.id = $1",
                             &p, "no conversation %lld", (long long)id);
    if (!r)
        return rc;
    conv_from_row(r, 0, out);
    PQclear(r);
    if (rc == 0 && viewer != 0)
        rc = st_may_view(s, out->requester_id, viewer);
    return rc;
}

int store_conversation_get(struct store *s, int64_t id, int64_t viewer_id,
                           struct store_conversation *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "conversation_get");
    if (rc)
        return rc;
    rc = st_conv_read(s, id, viewer_id ? viewer_id : -1, 0, out);
    if (rc)
        memset(out, 0, sizeof *out);
    return rc;
}

int store_conversation_of_requester(struct store *s, int64_t requester_id,
                                    struct store_conversation *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "conversation_of_requester");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, requester_id);
    PGresult *r = st_run(s, &rc,
                         CONV_SELECT "WHERE c.requester_id = $1"
                                     " AND c.status IN ('open', 'escalated')"
                                     " ORDER BY c.id DESC LIMIT 1",
                         &p);
    if (rc == 0 && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "requester %lld has no conversation going on",
                       (long long)requester_id);
    if (rc == 0)
        conv_from_row(r, 0, out);
    PQclear(r);
    return rc;
}

/* ---- messages ------------------------------------------------------------------ */

/* The body of store_message_add, inside the caller's transaction. */
int st_message_add(struct store *s, int64_t conv, int64_t sender, const char *client_id,
                       const char *body, int *seq, int *duplicate, struct store_posted *info)
{
    *seq = 0;
    *duplicate = 0;
    if (!body)
        return st_seterr(s, STORE_EINVALID, "a message needs a body");
    struct params p = {0};
    p_i64(&p, conv);
    p_i64(&p, sender);
    p_str(&p, client_id);
    int rc = 0;
    /* locking the conversation serialises its writers (FOR NO KEY UPDATE:
     * see st_conv_read; not the inserts that only refer to it, such as
     * suggestions recorded meanwhile). The duplicate check
     * rides along (one round trip), but runs on the statement's snapshot,
     * taken before the lock: a duplicate committed while this waited for
     * the lock is missed here and then violates the unique (conversation,
     * sender, client id) on insert: store_message_post retries once. */
    PGresult *r = st_run(s, &rc,
                         "SELECT c.requester_id, c.status, p.role, p.disabled, t.id, t.agent_id,"
                         " t.status, t.number,"
                         " (SELECT m.seq FROM messages m WHERE m.conversation_id = $1"
                         "   AND m.sender_id = $2 AND m.client_id = $3)"
                         " FROM conversations c JOIN people p ON p.id = $2"
                         " LEFT JOIN tickets t ON t.conversation_id = c.id"
                         " WHERE c.id = $1 FOR NO KEY UPDATE OF c",
                         &p);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return st_seterr(s, STORE_ENOTFOUND, "no conversation %lld or no person %lld",
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

    int staff = st_is_staff(role);
    if (disabled)
        return st_seterr(s, STORE_EFORBIDDEN, "person %lld is disabled", (long long)sender);
    if (!staff && owner != sender)
        return st_seterr(s, STORE_EFORBIDDEN, "conversation %lld is not this requester's",
                         (long long)conv);
    /* an agent's message is a ticket reply: the status decides before the
     * holder does (a new ticket has no holder), but a resend stays a resend */
    if (staff && ticket != 0 && !dup_seq && !store_ticket_next(tstatus, "replied"))
        return st_seterr(s, STORE_EINVALID, "the ticket of conversation %lld is %s",
                         (long long)conv, tstatus);
    if (staff && (ticket == 0 || agent != sender))
        return st_seterr(s, STORE_EFORBIDDEN,
                         "conversation %lld has no ticket assigned to agent %lld", (long long)conv,
                         (long long)sender);

    if (dup_seq) {
        *seq = dup_seq;
        *duplicate = 1;
        return 0;
    }

    if (!staff && strcmp(cstatus, "open") != 0 && strcmp(cstatus, "escalated") != 0)
        return st_seterr(s, STORE_EINVALID, "conversation %lld is %s", (long long)conv, cstatus);

    struct params q = {0};
    p_i64(&q, conv);
    p_i64(&q, sender);
    p_str(&q, role);
    p_str(&q, client_id);
    p_str(&q, body);
    r = st_run(s, &rc,
               "WITH c AS (UPDATE conversations SET last_seq = last_seq + 1, updated_at = now()"
               "           WHERE id = $1 RETURNING last_seq)"
               " INSERT INTO messages (conversation_id, seq, sender_id, sender_role, client_id,"
               " body)"
               " SELECT $1, c.last_seq, $2, $3, $4, $5 FROM c RETURNING seq",
               &q);
    if (!r)
        return rc;
    int got = g_int(r, 0, 0);
    PQclear(r);
    /* the message's terms for ticket search, in this transaction; a chat
     * without a ticket is not searched, and most end in self-service: its
     * messages get their terms at escalation (st_conv_terms_backfill) */
    if (ticket != 0 && (rc = st_conv_terms_add(s, conv, body)) != 0)
        return rc;

    if (staff) {
        rc = st_ticket_replied(s, ticket, tstatus, sender, got);
        if (rc)
            return rc;
    } else if (ticket != 0) {
        /* the requester's answer ends a wait for it (014_pause.sql) */
        int resumed = 0;
        rc = st_ticket_requester_wrote(s, ticket, tstatus, sender, got, &resumed);
        if (rc)
            return rc;
        if (info)
            info->resumed = resumed;
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
        rc = st_begin(s, "message_add");
        if (rc)
            return rc;
        rc = st_finish(s, st_message_add(s, conv, sender_id, client_id, body, &got, &dup, &pi));
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

/* Inside the running operation: the rows of sql about conversation conv
 * ($1; $2: *arg when arg is not NULL) once viewer (0: anybody) may see it.
 * Returns the result (caller clears), or NULL with *rc set. */
static PGresult *conv_rows(struct store *s, int64_t conv, int64_t viewer, const int *arg,
                           const char *sql, int *rc)
{
    struct store_conversation c;
    *rc = st_conv_read(s, conv, viewer ? viewer : -1, 0, &c);
    if (*rc)
        return NULL;
    struct params p = {0};
    p_i64(&p, conv);
    if (arg)
        p_i64(&p, *arg);
    return st_run(s, rc, sql, &p);
}

int store_messages_since(struct store *s, int64_t conv, int64_t viewer_id, int after_seq,
                         store_message_cb cb, void *arg)
{
    PGresult *r = NULL;
    int rc = st_single(s, "messages_since");
    if (rc)
        return rc;
    r = conv_rows(s, conv, viewer_id, &after_seq,
                  "SELECT m.seq, m.sender_id, m.sender_role, p.name, m.client_id, m.body, "
                  EPOCH("m.created_at")
                  " FROM messages m JOIN people p ON p.id = m.sender_id"
                  " WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY m.seq",
                  &rc);
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
    int rc = st_begin(s, "suggestion_add");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, conv);
    p_str(&p, doc_id);
    p_str(&p, kind);
    p_str(&p, title);
    rc = st_exec_found(
        s,
        "INSERT INTO conversation_suggestions (conversation_id, doc_id, doc_kind, title)"
        " SELECT id, $2, $3, $4 FROM conversations WHERE id = $1"
        " ON CONFLICT (conversation_id, doc_id) DO UPDATE"
        " SET doc_kind = EXCLUDED.doc_kind, title = EXCLUDED.title, shown_at = now()",
        &p, "no conversation %lld", (long long)conv);
    return st_finish(s, rc);
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
    int rc = st_single(s, "suggestions_add");
    if (rc) {
        free(js);
        return rc;
    }
    struct params p = {0};
    int rows = 0;
    p_i64(&p, conv);
    p_str(&p, js);
    /* one statement is one transaction: all of them or none, with a
     * "shown" use of each (knowledge_use, store_kuse.h) */
    PGresult *r = st_run(
        s, &rc,
        "WITH g AS (INSERT INTO conversation_suggestions (conversation_id, doc_id, doc_kind,"
        " title)"
        " SELECT DISTINCT ON (x.id) c.id, x.id, x.kind, x.title"
        " FROM conversations c,"
        "  jsonb_to_recordset($2::jsonb) AS x(id text, kind text, title text)"
        " WHERE c.id = $1 ORDER BY x.id"
        " ON CONFLICT (conversation_id, doc_id) DO UPDATE"
        " SET doc_kind = EXCLUDED.doc_kind, title = EXCLUDED.title, shown_at = now()"
        " RETURNING conversation_id, doc_id)"
        " INSERT INTO knowledge_use (doc_id, kind, person_id, conversation_id)"
        " SELECT g.doc_id, 'shown', c.requester_id, c.id"
        " FROM g JOIN conversations c ON c.id = g.conversation_id",
        &p);
    if (r) {
        rows = atoi(PQcmdTuples(r));
        PQclear(r);
    }
    free(js);
    if (rc == 0 && rows == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no conversation %lld", (long long)conv);
    return rc;
}

int store_suggestions(struct store *s, int64_t conv, int64_t viewer_id, store_suggestion_cb cb,
                      void *arg)
{
    PGresult *r = NULL;
    int rc = st_begin(s, "suggestions");
    if (rc)
        return rc;
    r = conv_rows(s, conv, viewer_id, NULL,
                  "SELECT doc_id, doc_kind, title, " EPOCH("shown_at") ", helpful"
                  " FROM conversation_suggestions WHERE conversation_id = $1"
                  " ORDER BY shown_at, doc_id",
                  &rc);
    rc = st_finish(s, rc);
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

int store_feedback(struct store *s, int64_t conv, int64_t requester_id, const char *doc_id,
                   int helpful, int *ended)
{
    struct store_conversation c;
    int self_solved = 0;
    if (ended)
        *ended = 0;
    int rc = st_begin(s, "feedback");
    if (rc)
        return rc;
    rc = st_conv_read(s, conv, 0, 1, &c);
    if (rc == 0 && c.requester_id != requester_id)
        rc = st_seterr(s, STORE_EFORBIDDEN, "conversation %lld is not this requester's",
                       (long long)conv);
    if (rc == 0 && strcmp(c.status, "open") != 0 && strcmp(c.status, "escalated") != 0)
        rc = st_seterr(s, STORE_EINVALID, "conversation %lld is %s", (long long)conv, c.status);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_str(&p, doc_id);
        p_bool(&p, helpful);
        rc = st_exec_found(s,
                           "UPDATE conversation_suggestions SET helpful = $3"
                           " WHERE conversation_id = $1 AND doc_id = $2",
                           &p, "%s was not suggested in conversation %lld",
                           doc_id ? doc_id : "(null)", (long long)conv);
    }
    if (rc == 0 && helpful && strcmp(c.status, "open") == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_str(&p, doc_id);
        rc = st_exec(s,
                     "WITH c AS (UPDATE conversations SET status = 'self_solved',"
                     "           updated_at = now() WHERE id = $1)"
                     " INSERT INTO deflections (conversation_id, doc_id) VALUES ($1, $2)",
                     &p, NULL);
        /* every document suggested in it counts a self-solved use */
        if (rc == 0)
            rc = st_kuse_self_solved(s, conv, requester_id);
        self_solved = rc == 0;
    } else if (rc == 0 && helpful) {
        rc = st_ticket_link_conversation(s, conv, doc_id, "helpful", requester_id);
    }
    rc = st_finish(s, rc);
    if (rc == 0 && ended)
        *ended = self_solved;
    return rc;
}
