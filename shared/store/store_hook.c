/* store_hook: notification preferences, robots and webhooks, and the
 * webhook outbox's queue operations (see store_hook.h). */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

int store_prefs_get(struct store *s, int64_t person, struct store_prefs *out)
{
    memset(out, 0, sizeof *out);
    int rc = st_single(s, "prefs_get");
    if (rc)
        return rc;
    struct params p = {0};
    p_i64(&p, person);
    PGresult *r = st_run(s, &rc,
                         "SELECT coalesce(n.mail_assigned, true), coalesce(n.mail_team, true),"
                         " coalesce(n.browser_assigned, true), coalesce(n.browser_team, true),"
                         " coalesce(p.email, '')"
                         " FROM people p LEFT JOIN notify_prefs n ON n.person_id = p.id"
                         " WHERE p.id = $1",
                         &p);
    if (r && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no such person");
    if (rc == 0) {
        out->mail_assigned = g_bool(r, 0, 0);
        out->mail_team = g_bool(r, 0, 1);
        out->browser_assigned = g_bool(r, 0, 2);
        out->browser_team = g_bool(r, 0, 3);
        g_copy(out->email, sizeof out->email, r, 0, 4);
    }
    PQclear(r);
    return rc;
}

/* A plain address: local@domain, 3..254 bytes, no spaces, controls or
 * list/angle characters. */
static int email_ok(const char *e)
{
    size_t n = strlen(e);
    const char *at = strchr(e, '@');
    if (n < 3 || n > 254 || !at || at == e || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (const char *c = e; *c; c++)
        if ((unsigned char)*c <= ' ' || strchr("<>,;\"()[]\\", *c) || (unsigned char)*c == 0x7f)
            return 0;
    return 1;
}

int store_prefs_set(struct store *s, int64_t person, const struct store_prefs *in, int set_email)
{
    int rc = st_begin(s, "prefs_set");
    if (rc)
        return rc;
    char role[STORE_WORD_MAX] = "";
    rc = st_person_role(s, person, role);
    if (rc == 0 && set_email && !st_is_staff(role))
        rc = st_seterr(s, STORE_EFORBIDDEN,
                       "a requester's address is set by signing in with a mailed code");
    if (rc == 0 && set_email && in->email[0] && !email_ok(in->email))
        rc = st_seterr(s, STORE_EINVALID, "email is not a plain address (name@domain)");
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, person);
        p_bool(&p, in->mail_assigned);
        p_bool(&p, in->mail_team);
        p_bool(&p, in->browser_assigned);
        p_bool(&p, in->browser_team);
        rc = st_exec(s,
                     "INSERT INTO notify_prefs (person_id, mail_assigned, mail_team,"
                     " browser_assigned, browser_team) VALUES ($1, $2, $3, $4, $5)"
                     " ON CONFLICT (person_id) DO UPDATE SET mail_assigned = $2,"
                     " mail_team = $3, browser_assigned = $4, browser_team = $5,"
                     " updated_at = now()",
                     &p, NULL);
    }
    if (rc == 0 && set_email) {
        struct params p = {0};
        p_i64(&p, person);
        p_str(&p, in->email[0] ? in->email : NULL);
        rc = st_exec(s, "UPDATE people SET email = $2 WHERE id = $1", &p, NULL);
    }
    return st_finish(s, rc);
}

/* 0 for the command line (actor 0) or an admin, else STORE_EFORBIDDEN. */
static int admin_only(struct store *s, int64_t actor)
{
    if (!actor)
        return 0;
    char role[STORE_WORD_MAX] = "";
    int rc = st_person_role(s, actor, role);
    if (rc == 0 && strcmp(role, "admin") != 0)
        rc = st_seterr(s, STORE_EFORBIDDEN, "only administrators manage robots and webhooks");
    return rc;
}

/* A ticket event type a hook may subscribe to. */
static int event_ok(const char *e, size_t n)
{
    static const char *const types[] = {
        "created",   "taken",       "replied",   "linked",      "resolved",   "reopened",
        "confirmed", "closed",      "auto_closed", "rated",     "sla_applied", "sla_warning",
        "sla_breach", "edited",     "noted",     "assigned",    "transferred", "merged",
        "merged_from", "pending",   "resumed"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (strlen(types[i]) == n && memcmp(types[i], e, n) == 0)
            return 1;
    return 0;
}

/* The comma list events as a PostgreSQL array literal into *arr (caller
 * frees), or STORE_EINVALID. */
static int events_array(struct store *s, const char *events, int webhook, char **arr)
{
    *arr = NULL;
    if (!events || !*events)
        return st_seterr(s, STORE_EINVALID, "events: a comma list of ticket event types");
    size_t cap = strlen(events) * 3 + 3, len = 0;
    char *a = malloc(cap);
    if (!a)
        return st_seterr(s, STORE_EINVALID, "out of memory");
    a[len++] = '{';
    int count = 0;
    for (const char *p = events; *p;) {
        size_t n = strcspn(p, ",");
        while (n && *p == ' ')
            p++, n--;
        size_t m = n;
        while (m && p[m - 1] == ' ')
            m--;
        int star = webhook && m == 1 && *p == '*';
        if (!star && !event_ok(p, m)) {
            free(a);
            return st_seterr(s, STORE_EINVALID, "events: unknown event type '%.*s'",
                             (int)(m > 40 ? 40 : m), p);
        }
        if (++count > 32) {
            free(a);
            return st_seterr(s, STORE_EINVALID, "events: at most 32");
        }
        if (count > 1)
            a[len++] = ',';
        a[len++] = '"';
        memcpy(a + len, p, m);
        len += m;
        a[len++] = '"';
        p += n;
        if (*p == ',')
            p++;
    }
    a[len++] = '}';
    a[len] = '\0';
    *arr = a;
    return 0;
}

static int url_ok(const char *u)
{
    if (!u)
        return 0;
    size_t n = strlen(u);
    const char *host = strncmp(u, "http://", 7) == 0 ? u + 7
                       : strncmp(u, "https://", 8) == 0 ? u + 8 : NULL;
    if (!host || n > 2000 || !*host || strchr("/?#", *host))
        return 0;
    for (const char *c = u; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c == 0x7f)
            return 0;
    return 1;
}

int store_hook_create(struct store *s, int64_t actor, const struct store_hook_new *h, int64_t *id)
{
    int rc = st_begin(s, "hook_create");
    if (rc)
        return rc;
    int webhook = h->kind && strcmp(h->kind, "webhook") == 0;
    rc = admin_only(s, actor);
    char *arr = NULL;
    if (rc == 0 && !webhook &&
        (!h->kind || (strcmp(h->kind, "wecom") && strcmp(h->kind, "dingtalk") &&
                      strcmp(h->kind, "feishu"))))
        rc = st_seterr(s, STORE_EINVALID, "kind is wecom, dingtalk or feishu");
    if (rc == 0 && !url_ok(h->url))
        rc = st_seterr(s, STORE_EINVALID, "url: an http:// or https:// address");
    if (rc == 0 && webhook && (!h->secret || strlen(h->secret) < 16 || strlen(h->secret) > 200))
        rc = st_seterr(s, STORE_EINVALID, "secret: 16..200 characters");
    if (rc == 0 && !webhook && h->secret && (!*h->secret || strlen(h->secret) > 200))
        rc = st_seterr(s, STORE_EINVALID, "secret: 1..200 characters");
    if (rc == 0 && !webhook)
        rc = st_text_ok(s, "name", h->name, 1, 64);
    if (rc == 0)
        rc = events_array(s, h->events, webhook, &arr);
    int64_t team = 0;
    if (rc == 0 && !webhook && h->team) {
        struct params p = {0};
        p_str(&p, h->team);
        PGresult *r = st_run(s, &rc, "SELECT id FROM teams WHERE slug = $1", &p);
        if (r && PQntuples(r) == 0)
            rc = st_seterr(s, STORE_ENOTFOUND, "no team '%s'", h->team);
        else if (r)
            team = g_i64(r, 0, 0);
        PQclear(r);
    }
    int64_t got = 0;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, h->url);
        p_str(&p, h->secret);
        p_str(&p, arr);
        if (webhook) {
            rc = st_insert_id(s,
                              "INSERT INTO webhooks (url, secret, events)"
                              " VALUES ($1, $2, $3::text[]) RETURNING id",
                              &p, &got);
        } else {
            p_str(&p, h->kind);
            p_str(&p, h->name);
            p_id(&p, team);
            rc = st_insert_id(s,
                              "INSERT INTO robots (url, secret, events, kind, name, team_id)"
                              " VALUES ($1, $2, $3::text[], $4, $5, $6) RETURNING id",
                              &p, &got);
        }
    }
    free(arr);
    rc = st_finish(s, rc);
    if (rc == 0 && id)
        *id = got;
    return rc;
}

int store_hook_list(struct store *s, int64_t actor, int webhooks,
                    int (*cb)(void *arg, const struct store_hook *h), void *arg)
{
    int rc = st_single(s, "hook_list");
    if (rc)
        return rc;
    rc = admin_only(s, actor);
    if (rc)
        return rc;
    const char *sql =
        webhooks
            ? "SELECT h.id, 'webhook', NULL, h.url, NULL, array_to_string(h.events, ','),"
              " h.secret IS NOT NULL, h.enabled, " EPOCH("h.created_at") ","
              " (SELECT count(*) FILTER (WHERE status = 'queued') FROM webhook_outbox o"
              "   WHERE o.webhook_id = h.id),"
              " (SELECT count(*) FILTER (WHERE status = 'sent') FROM webhook_outbox o"
              "   WHERE o.webhook_id = h.id),"
              " (SELECT count(*) FILTER (WHERE status = 'failed') FROM webhook_outbox o"
              "   WHERE o.webhook_id = h.id),"
              " (SELECT last_error FROM webhook_outbox o WHERE o.webhook_id = h.id"
              "   AND last_error IS NOT NULL ORDER BY o.next_attempt_at DESC LIMIT 1)"
              " FROM webhooks h ORDER BY h.id"
            : "SELECT h.id, h.kind, h.name, h.url, t.slug, array_to_string(h.events, ','),"
              " h.secret IS NOT NULL, h.enabled, " EPOCH("h.created_at") ","
              " (SELECT count(*) FILTER (WHERE status = 'queued') FROM webhook_outbox o"
              "   WHERE o.robot_id = h.id),"
              " (SELECT count(*) FILTER (WHERE status = 'sent') FROM webhook_outbox o"
              "   WHERE o.robot_id = h.id),"
              " (SELECT count(*) FILTER (WHERE status = 'failed') FROM webhook_outbox o"
              "   WHERE o.robot_id = h.id),"
              " (SELECT last_error FROM webhook_outbox o WHERE o.robot_id = h.id"
              "   AND last_error IS NOT NULL ORDER BY o.next_attempt_at DESC LIMIT 1)"
              " FROM robots h LEFT JOIN teams t ON t.id = h.team_id ORDER BY h.id";
    PGresult *r = st_run(s, &rc, sql, NULL);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++) {
        struct store_hook h = {
            .id = g_i64(r, i, 0),
            .kind = g_str(r, i, 1),
            .name = PQgetisnull(r, i, 2) ? NULL : g_str(r, i, 2),
            .url = g_str(r, i, 3),
            .team = PQgetisnull(r, i, 4) ? NULL : g_str(r, i, 4),
            .events = g_str(r, i, 5),
            .has_secret = g_bool(r, i, 6),
            .enabled = g_bool(r, i, 7),
            .created_at = g_i64(r, i, 8),
            .queued = g_int(r, i, 9),
            .sent = g_int(r, i, 10),
            .failed = g_int(r, i, 11),
            .last_error = PQgetisnull(r, i, 12) ? NULL : g_str(r, i, 12),
        };
        rc = cb(arg, &h);
    }
    PQclear(r);
    return rc;
}

int store_hook_delete(struct store *s, int64_t actor, int webhooks, int64_t id)
{
    int rc = st_begin(s, "hook_delete");
    if (rc)
        return rc;
    rc = admin_only(s, actor);
    int rows = 0;
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, id);
        rc = st_exec(s,
                     webhooks ? "DELETE FROM webhooks WHERE id = $1"
                              : "DELETE FROM robots WHERE id = $1",
                     &p, &rows);
    }
    if (rc == 0 && rows == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no %s %lld", webhooks ? "webhook" : "robot",
                       (long long)id);
    return st_finish(s, rc);
}

struct hook_post_ctx {
    store_delivery_cb post;
    void *arg;
};

/* st_outbox_attempt for a webhook_outbox row (store_hook_deliver's columns). */
static int hook_attempt(void *ctx, PGresult *r, int i, char *err, size_t errlen)
{
    const struct hook_post_ctx *c = ctx;
    struct store_delivery d = {
        .id = g_i64(r, i, 0),
        .kind = g_str(r, i, 1),
        .url = g_str(r, i, 2),
        .secret = PQgetisnull(r, i, 3) ? NULL : g_str(r, i, 3),
        .payload = g_str(r, i, 4),
        .attempts = g_int(r, i, 5),
    };
    return c->post(c->arg, &d, err, errlen);
}

int store_hook_deliver(struct store *s, const struct store_mail_policy *policy,
                       store_delivery_cb post, void *arg, int *sent, int *failed)
{
    struct hook_post_ctx c = {post, arg};
    return st_outbox_run(s, "hook_deliver", "webhook_outbox",
                         "SELECT o.id, coalesce(r.kind, 'webhook'), coalesce(r.url, w.url),"
                         " coalesce(r.secret, w.secret),"
                         " (o.payload || jsonb_build_object('delivery', o.id))::text, o.attempts"
                         " FROM webhook_outbox o LEFT JOIN robots r ON r.id = o.robot_id"
                         " LEFT JOIN webhooks w ON w.id = o.webhook_id"
                         " WHERE o.status = 'queued' AND o.next_attempt_at <= now()"
                         " ORDER BY o.next_attempt_at, o.id LIMIT $1"
                         " FOR UPDATE OF o SKIP LOCKED",
                         NULL, policy, hook_attempt, &c, sent, failed);
}
