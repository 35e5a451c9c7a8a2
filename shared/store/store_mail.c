/* store_mail: the mail outbox's queue operations (see store_mail.h): the
 * sender's claim, send and mark, in one transaction per batch (the batch
 * loop and the mark, st_outbox_run / st_outbox_mark, serve the webhook
 * outbox of store_hook.c too), and the "agent replied while you were
 * away" mail. */
#include "store_int.h"

#include <string.h>

int st_outbox_mark(struct store *s, const char *table, int64_t id, const char *err,
                   const struct store_mail_policy *policy)
{
    int webhook = strcmp(table, "webhook_outbox") == 0;
    struct params q = {0};
    p_i64(&q, id);
    if (!err)
        return st_exec(s,
                       webhook ? "UPDATE webhook_outbox SET status = 'sent', sent_at = now(),"
                                 " attempts = attempts + 1, last_error = NULL WHERE id = $1"
                               : "UPDATE mail_outbox SET status = 'sent', sent_at = now(),"
                                 " attempts = attempts + 1, last_error = NULL WHERE id = $1",
                       &q, NULL);
    p_str(&q, err);
    p_i64(&q, policy->retry_min > 0 ? policy->retry_min : 1);
    p_i64(&q, policy->retry_max > 0 ? policy->retry_max : 3600);
    p_i64(&q, policy->max_attempts > 0 ? policy->max_attempts : 10);
#define OUTBOX_FAILED(t)                                                                     \
    "UPDATE " t " SET attempts = attempts + 1, last_error = $2,"                             \
    " status = CASE WHEN attempts + 1 >= $5 THEN 'failed' ELSE 'queued' END,"                \
    " next_attempt_at = now() + least($4::float8,"                                           \
    "   $3::float8 * power(2, least(attempts, 30))) * interval '1 second'"                   \
    " WHERE id = $1"
    return st_exec(s, webhook ? OUTBOX_FAILED("webhook_outbox") : OUTBOX_FAILED("mail_outbox"),
                   &q, NULL);
#undef OUTBOX_FAILED
}

int st_outbox_run(struct store *s, const char *what, const char *table, const char *claim,
                  const char *arg2, const struct store_mail_policy *policy,
                  st_outbox_attempt attempt, void *ctx, int *sent, int *failed)
{
    int nsent = 0, nfailed = 0;
    if (sent)
        *sent = 0;
    if (failed)
        *failed = 0;
    int batch = policy->batch < 1 ? 1 : policy->batch > 100 ? 100 : policy->batch;
    int rc = st_begin(s, what);
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, batch);
    if (arg2)
        p_str(&p, arg2);
    PGresult *r = st_run(s, &rc, claim, &p);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++) {
        char err[512] = "";
        int bad = attempt(ctx, r, i, err, sizeof err);
        rc = st_outbox_mark(s, table, g_i64(r, i, 0), bad ? (err[0] ? err : "failed") : NULL,
                            policy);
        if (bad)
            nfailed++;
        else
            nsent++;
    }
    PQclear(r);
    rc = st_finish(s, rc);
    if (rc == 0) {
        if (sent)
            *sent = nsent;
        if (failed)
            *failed = nfailed;
    }
    return rc;
}

struct mail_send_ctx {
    store_mail_send_cb send;
    void *arg;
};

/* st_outbox_attempt for a mail_outbox row (store_mail_deliver's columns). */
static int mail_attempt(void *ctx, PGresult *r, int i, char *err, size_t errlen)
{
    const struct mail_send_ctx *c = ctx;
    struct store_mail m = {
        .id = g_i64(r, i, 0),
        .kind = g_str(r, i, 1),
        .to = g_str(r, i, 2),
        .subject = g_str(r, i, 3),
        .body = g_str(r, i, 4),
        .attempts = g_int(r, i, 5),
    };
    return c->send(c->arg, &m, err, errlen);
}

int store_mail_deliver(struct store *s, const struct store_mail_policy *policy,
                       store_mail_send_cb send, void *arg, int *sent, int *failed)
{
    struct mail_send_ctx c = {send, arg};
    return st_outbox_run(s, "mail_deliver", "mail_outbox",
                         "SELECT id, kind, to_addr, subject,"
                         " replace(CASE WHEN status = 'held' THEN replace(body, '{link}', $2)"
                         "         ELSE body END, '{portal}', $2), attempts"
                         " FROM mail_outbox"
                         " WHERE (status = 'queued' AND next_attempt_at <= now())"
                         "    OR (status = 'held' AND created_at <= now() - interval '10 minutes')"
                         " ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED",
                         policy->portal_url ? policy->portal_url : "", policy, mail_attempt, &c,
                         sent, failed);
}

int store_mail_reply_away(struct store *s, int64_t conv, int seq, int *queued)
{
    if (queued)
        *queued = 0;
    int rc = st_begin(s, "mail_reply_away");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, conv);
    p_i64(&p, seq);
    int rows = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT 1 FROM messages m JOIN tickets t ON t.conversation_id = m.conversation_id"
                         " WHERE m.conversation_id = $1 AND m.seq = $2"
                         "   AND m.sender_role IN ('agent', 'admin')",
                         &p);
    if (r && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such agent message in a ticket");
    PQclear(r);
    if (rc == 0)
        rc = st_exec(s,
                     "INSERT INTO mail_outbox (kind, person_id, ticket_id, to_addr, subject, body)"
                     " SELECT 'agent_replied', p.id, t.id, p.email,"
                     "  '工单 ' || t.number || ' 有新回复 / New reply on ticket ' || t.number,"
                     "  p.name || '，您好：' || E'\\n\\n' || '服务台（' || a.name || '）回复了您的工单 '"
                     "  || t.number || '：' || E'\\n\\n' || m.body || E'\\n\\n'"
                     "  || '回到聊天页面继续对话（私密链接或邮箱登录）：' || E'\\n' || '{portal}'"
                     "  || E'\\n\\n' || 'The service desk replied to ticket ' || t.number"
                     "  || '. Continue on the chat page.' || E'\\n'"
                     " FROM messages m JOIN tickets t ON t.conversation_id = m.conversation_id"
                     " JOIN people p ON p.id = t.requester_id JOIN people a ON a.id = m.sender_id"
                     " WHERE m.conversation_id = $1 AND m.seq = $2"
                     "   AND p.email IS NOT NULL AND p.ticket_mail AND NOT p.disabled"
                     "   AND p.email !~ '[\\r\\n<>,]'"
                     "   AND NOT EXISTS (SELECT 1 FROM mail_outbox o WHERE o.ticket_id = t.id"
                     "                   AND o.kind = 'agent_replied' AND o.status = 'queued')",
                     &p, &rows);
    rc = st_finish(s, rc);
    if (rc == 0 && queued)
        *queued = rows > 0;
    return rc;
}
