/* store_workspace: the agents' work on tickets beyond their lifecycle
 * (store_workspace.h): the analyzer's terms of messages and summaries, the
 * ticket list with filters, text search and keyset paging, editing fields,
 * internal notes, assigning and transferring, merging. Each change locks
 * the ticket, checks who asks (st_may_work), asks the one transition table
 * (store_ticket_next) whether the ticket's status allows it, and writes the
 * ticket and its ticket_events rows in one transaction. */
#include "store_int.h"

#include <errno.h>
#include <string.h>

#include "kb_analyzer.h"
#include "kb_util.h"

/* ---- terms ------------------------------------------------------------------ */

void store_terms_set(struct store *s, store_terms_fn fn, void *ctx)
{
    s->terms = fn;
    s->terms_ctx = ctx;
}

struct kb_terms_acc {
    void (*add)(void *acc, const char *term, size_t term_len);
    void *acc;
};

static int kb_term(void *ud, const struct kb_token *tok)
{
    struct kb_terms_acc *a = ud;
    if (!(tok->flags & KB_TOKF_RUN))
        a->add(a->acc, tok->term, tok->len);
    return 0;
}

int store_terms_kb(void *ctx, const char *text, size_t len,
                   void (*add)(void *acc, const char *term, size_t term_len), void *acc)
{
    char err[256];
    struct kb_terms_acc a = {add, acc};
    return kb_analyze(ctx, KB_TOK_DOCUMENT, text, len, kb_term, &a, NULL, err, sizeof err);
}

/* A PostgreSQL array literal being built: "{" then the quoted terms. */
struct termlit {
    struct kb_buf *b;
    int n;
};

static void terms_add(void *acc, const char *term, size_t len)
{
    struct termlit *t = acc;
    if (len == 0)
        return;
    kb_buf_adds(t->b, t->n++ ? ",\"" : "\"");
    for (size_t i = 0; i < len; i++) {
        if (term[i] == '"' || term[i] == '\\')
            kb_buf_addc(t->b, '\\');
        kb_buf_addc(t->b, term[i]);
    }
    kb_buf_addc(t->b, '"');
}

/* The analyzer's terms of text as an array literal into b (initialised by
 * the caller): "{}" when there is no hook or no term. */
static int terms_of(struct store *s, const char *text, struct kb_buf *b)
{
    struct termlit t = {b, 0};
    kb_buf_reset(b);
    kb_buf_addc(b, '{');
    if (s->terms && text && s->terms(s->terms_ctx, text, strlen(text), terms_add, &t) != 0)
        return st_seterr(s, STORE_EINVALID, "the text cannot be analyzed");
    kb_buf_addc(b, '}');
    return 0;
}

int st_conv_terms_add(struct store *s, int64_t conv, const char *body)
{
    if (!s->terms)
        return 0;
    struct kb_buf b;
    kb_buf_init(&b);
    int rc = terms_of(s, body, &b);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, conv);
        p_str(&p, b.data);
        rc = st_exec(s,
                     "INSERT INTO conversation_terms AS c (conversation_id, terms)"
                     " SELECT $1, ARRAY(SELECT DISTINCT unnest($2::text[]))"
                     " ON CONFLICT (conversation_id) DO UPDATE SET terms ="
                     " ARRAY(SELECT DISTINCT unnest(c.terms || EXCLUDED.terms))",
                     &p, NULL);
    }
    kb_buf_fin(&b);
    return rc;
}

int st_conv_terms_backfill(struct store *s, int64_t conv)
{
    if (!s->terms)
        return 0;
    struct params p = {0};
    p_i64(&p, conv);
    int rc = 0;
    PGresult *r = st_run(s, &rc,
                         "SELECT body FROM messages WHERE conversation_id = $1 ORDER BY seq", &p);
    for (int i = 0; r && rc == 0 && i < PQntuples(r); i++)
        rc = st_conv_terms_add(s, conv, PQgetvalue(r, i, 0));
    PQclear(r);
    return rc;
}

int st_ticket_summary_terms(struct store *s, int64_t ticket, const char *summary)
{
    struct kb_buf b;
    kb_buf_init(&b);
    int rc = terms_of(s, summary, &b);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, ticket);
        p_str(&p, b.data);
        rc = st_exec(s,
                     "UPDATE tickets SET summary_terms = ARRAY(SELECT DISTINCT"
                     " unnest($2::text[])) WHERE id = $1",
                     &p, NULL);
    }
    kb_buf_fin(&b);
    return rc;
}

/* ---- a ticket's head -------------------------------------------------------- */

struct whead {
    struct st_ticket_head head;
    int64_t team_id;
    int impact, urgency, priority;
    char number[STORE_NUMBER_MAX];
    char *summary, *category, *team; /* owned */
};

static void whead_fin(struct whead *h)
{
    free(h->summary);
    free(h->category);
    free(h->team);
    memset(h, 0, sizeof *h);
}

/* Reads (and locks, if lock) ticket number. */
static int whead_read(struct store *s, const char *number, int lock, struct whead *h)
{
    memset(h, 0, sizeof *h);
    PGresult *r;
    int rc = st_ticket_select(s, number, lock,
                              ST_TICKET_HEAD_COLS ", t.team_id, t.impact, t.urgency,"
                              " t.priority, t.summary, t.category, (SELECT slug FROM teams"
                              " WHERE id = t.team_id), t.number",
                              &r);
    if (rc)
        return rc;
    st_ticket_head_read(r, &h->head);
    h->team_id = g_i64(r, 0, 5);
    h->impact = g_int(r, 0, 6);
    h->urgency = g_int(r, 0, 7);
    h->priority = g_int(r, 0, 8);
    h->summary = kb_xstrdup(g_str(r, 0, 9));
    h->category = g_str(r, 0, 10) ? kb_xstrdup(g_str(r, 0, 10)) : NULL;
    h->team = g_str(r, 0, 11) ? kb_xstrdup(g_str(r, 0, 11)) : NULL;
    g_copy(h->number, sizeof h->number, r, 0, 12);
    PQclear(r);
    return 0;
}

/* The status after event in h's status into *to, or STORE_EINVALID. */
static int step(struct store *s, const struct whead *h, const char *event, const char **to)
{
    *to = store_ticket_next(h->head.status, event);
    if (!*to)
        return st_seterr(s, STORE_EINVALID, "%s is %s: cannot be %s", h->number, h->head.status,
                         event);
    return 0;
}

/* Reads and locks ticket number for a change event by actor: the ticket,
 * who may work on it (*lead as st_may_work) and the status after. */
static int change_begin(struct store *s, const char *number, int64_t actor, const char *event,
                        struct whead *h, int *lead, const char **to)
{
    int rc = whead_read(s, number, 1, h);
    if (rc == 0)
        rc = st_may_work(s, h->head.id, actor, lead);
    if (rc == 0)
        rc = step(s, h, event, to);
    return rc;
}

/* ---- the list ------------------------------------------------------------------ */

static int valid_status_list(const char *v)
{
    static const char *const ok[] = {"new", "assigned", "resolved", "reopened", "closed",
                                     "pending"};
    const char *p = v;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
            if (strlen(ok[i]) == n && strncmp(ok[i], p, n) == 0)
                found = 1;
        if (!found)
            return 0;
        p += n;
        if (*p == ',')
            p++;
    }
    return v[0] != '\0';
}

/* Parses "k1.k2.id" (signed decimals) into k. */
static int parse_cursor(const char *c, long long k[3])
{
    const char *p = c;
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        k[i] = strtoll(p, &end, 10);
        if (end == p || errno)
            return -1;
        if (i < 2 && *end != '.')
            return -1;
        p = end + (i < 2);
        if (i == 2 && *end)
            return -1;
    }
    return 0;
}

int store_ticket_list(struct store *s, int64_t viewer, const struct store_ticket_filter *f,
                      int (*cb)(void *arg, const struct store_ticket *t, int matches), void *arg,
                      char *next)
{
    next[0] = '\0';
    int rc = st_single(s, "ticket_list");
    if (rc)
        return rc;
    char role[STORE_WORD_MAX] = "";
    rc = st_person_role(s, viewer, role);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !st_is_staff(role)))
        return st_seterr(s, STORE_EFORBIDDEN, "agents and admins only");
    if (rc)
        return rc;
    const char *sort = f->sort ? f->sort : (f->q ? "relevance" : "updated");
    const char *k1, *k2, *dir;
    if (strcmp(sort, "updated") == 0)
        k1 = "0::bigint", k2 = EPOCH("t.updated_at"), dir = "DESC";
    else if (strcmp(sort, "created") == 0)
        k1 = "0::bigint", k2 = EPOCH("t.created_at"), dir = "DESC";
    else if (strcmp(sort, "priority") == 0)
        k1 = "t.priority::bigint", k2 = EPOCH("t.created_at"), dir = "ASC";
    else if (strcmp(sort, "relevance") == 0 && f->q)
        k1 = "mm.m::bigint", k2 = EPOCH("t.updated_at"), dir = "DESC";
    else
        return st_seterr(s, STORE_EINVALID,
                         "sort is updated, created, priority or relevance (with q)");
    if (f->status && !valid_status_list(f->status))
        return st_seterr(s, STORE_EINVALID,
                         "status is a comma list of new, assigned, pending, resolved, reopened,"
                         " closed");
    if (f->priority < 0 || f->priority > 4)
        return st_seterr(s, STORE_EINVALID, "priority is 1..4");
    if (f->sla && strcmp(f->sla, "ok") != 0 && strcmp(f->sla, "warning") != 0 &&
        strcmp(f->sla, "breached") != 0 && strcmp(f->sla, "none") != 0)
        return st_seterr(s, STORE_EINVALID, "sla is ok, warning, breached or none");
    int limit = f->limit ? f->limit : 25;
    if (limit < 1 || limit > 100)
        return st_seterr(s, STORE_EINVALID, "limit is 1..100");
    long long cur[3] = {0, 0, 0};
    if (f->after && parse_cursor(f->after, cur))
        return st_seterr(s, STORE_EINVALID, "after is not a cursor this list gave");

    struct kb_buf qt, st, sql;
    kb_buf_init(&qt);
    kb_buf_init(&st);
    kb_buf_init(&sql);
    if (f->q)
        rc = terms_of(s, f->q, &qt);
    if (rc == 0 && f->status) {
        kb_buf_addc(&st, '{');
        kb_buf_adds(&st, f->status);
        kb_buf_addc(&st, '}');
    }
    kb_buf_printf(&sql,
                  "WITH qt AS (SELECT CASE WHEN $1::text[] IS NULL THEN NULL"
                  "  ELSE ARRAY(SELECT DISTINCT unnest($1::text[])) END AS t),"
                  " base AS (SELECT t.id AS bid, mm.m AS matches, %s AS k1, %s AS k2"
                  "  FROM tickets t LEFT JOIN conversation_terms ct"
                  "  ON ct.conversation_id = t.conversation_id"
                  "  LEFT JOIN ticket_sla ts ON ts.ticket_id = t.id CROSS JOIN qt,"
                  "  LATERAL (SELECT count(*)::int AS m FROM unnest(qt.t) x"
                  "   WHERE x = ANY(t.summary_terms) OR x = ANY(coalesce(ct.terms, '{}'))) mm"
                  "  WHERE ($2::text[] IS NULL OR t.status = ANY($2::text[]))"
                  "  AND ($3::int IS NULL OR t.priority = $3::int)"
                  "  AND ($4::text IS NULL OR ($4 = 'none' AND t.team_id IS NULL)"
                  "   OR t.team_id = (SELECT id FROM teams WHERE slug = $4))"
                  "  AND ($5::bigint IS NULL OR ($5 = -1 AND t.agent_id IS NULL)"
                  "   OR t.agent_id = $5::bigint)"
                  "  AND ($6::text IS NULL OR t.category = $6"
                  "   OR left(t.category, char_length($6) + 1) = $6 || '/')"
                  "  AND ($7::float8 IS NULL OR t.created_at >= to_timestamp($7::float8))"
                  "  AND ($8::float8 IS NULL OR t.created_at < to_timestamp($8::float8 + 1))"
                  "  AND ($9::float8 IS NULL OR t.updated_at >= to_timestamp($9::float8))"
                  "  AND ($10::float8 IS NULL OR t.updated_at < to_timestamp($10::float8 + 1))"
                  "  AND (qt.t IS NULL OR ((t.summary_terms && qt.t OR ct.terms && qt.t)"
                  "   AND mm.m >= greatest(1, (cardinality(qt.t) + 1) / 2)))"
                  "  AND ($15::text IS NULL OR coalesce(" SLA_STATE_SQL ", 'none') = $15))"
                  " SELECT " ST_TICKET_COLS ", b.matches, b.k1, b.k2"
                  ST_TICKET_FROM " JOIN base b ON b.bid = t.id"
                  " WHERE ($11::bigint IS NULL OR (b.k1, b.k2, t.id) %s"
                  "  ($11::bigint, $12::bigint, $13::bigint))"
                  " ORDER BY b.k1 %s, b.k2 %s, t.id %s LIMIT $14",
                  k1, k2, strcmp(dir, "DESC") == 0 ? "<" : ">", dir, dir, dir);
    PGresult *r = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, f->q ? qt.data : NULL);
        p_str(&p, f->status ? st.data : NULL);
        if (f->priority)
            p_i64(&p, f->priority);
        else
            p_str(&p, NULL);
        p_str(&p, f->team);
        if (f->assignee)
            p_i64(&p, f->assignee);
        else
            p_str(&p, NULL);
        p_str(&p, f->category);
        int64_t times[4] = {f->created_from, f->created_to, f->updated_from, f->updated_to};
        for (int i = 0; i < 4; i++) {
            if (times[i])
                p_i64(&p, times[i]);
            else
                p_str(&p, NULL);
        }
        if (f->after) {
            p_i64(&p, cur[0]);
            p_i64(&p, cur[1]);
            p_i64(&p, cur[2]);
        } else {
            p_str(&p, NULL);
            p_str(&p, NULL);
            p_str(&p, NULL);
        }
        p_i64(&p, limit + 1);
        p_str(&p, f->sla);
        r = st_run(s, &rc, sql.data, &p);
    }
    kb_buf_fin(&sql);
    kb_buf_fin(&qt);
    kb_buf_fin(&st);
    int n = r ? PQntuples(r) : 0;
    if (rc == 0 && n > limit) {
        const int c = ST_TICKET_COLS_N;
        snprintf(next, STORE_CURSOR_MAX, "%lld.%lld.%lld", (long long)g_i64(r, limit - 1, c + 1),
                 (long long)g_i64(r, limit - 1, c + 2), (long long)g_i64(r, limit - 1, 0));
        n = limit;
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        struct store_ticket t;
        st_ticket_from_row(r, i, &t, 0);
        rc = cb(arg, &t, g_int(r, i, ST_TICKET_COLS_N));
    }
    PQclear(r);
    return rc;
}

/* ---- edits ------------------------------------------------------------------------ */

/* One "edited" event: field from -> to (strings, NULL as null). */
static int edited(struct store *s, const struct whead *h, int64_t actor, const char *to_status,
                  const char *field, json_t *from, json_t *to)
{
    json_t *d = json_pack("{s:s, s:o, s:o}", "field", field, "from", from ? from : json_null(),
                          "to", to ? to : json_null());
    if (!d)
        return st_seterr(s, STORE_EINVALID, "the %s is not valid UTF-8", field);
    return st_ticket_event(s, h->head.id, actor, "edited", h->head.status, to_status, d, 0);
}

static json_t *jstr(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* Are two category values the same ("" and NULL: none)? */
static int same_category(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The fields e changes whose was_* value no longer holds, as STORE_EDIT_*
 * bits; their names and values now go into s's message. */
static unsigned changed_meanwhile(struct store *s, const struct whead *h,
                                  const struct store_ticket_edit *e)
{
    unsigned bits = 0;
    struct kb_buf b;
    kb_buf_init(&b);
    if (e->summary && e->was_summary && strcmp(e->was_summary, h->summary) != 0) {
        bits |= STORE_EDIT_SUMMARY;
        kb_buf_printf(&b, "%ssummary (now \"%s\")", b.len ? ", " : "", h->summary);
    }
    if (e->category && e->was_category && !same_category(e->was_category, h->category)) {
        bits |= STORE_EDIT_CATEGORY;
        kb_buf_printf(&b, "%scategory (now \"%s\")", b.len ? ", " : "",
                      h->category ? h->category : "");
    }
    if (e->impact && e->was_impact && e->was_impact != h->impact) {
        bits |= STORE_EDIT_IMPACT;
        kb_buf_printf(&b, "%simpact (now %d)", b.len ? ", " : "", h->impact);
    }
    if (e->urgency && e->was_urgency && e->was_urgency != h->urgency) {
        bits |= STORE_EDIT_URGENCY;
        kb_buf_printf(&b, "%surgency (now %d)", b.len ? ", " : "", h->urgency);
    }
    if (bits)
        st_seterr(s, STORE_ECONFLICT, "changed by someone else meanwhile: %s", b.data);
    kb_buf_fin(&b);
    return bits;
}

int store_ticket_edit(struct store *s, const char *number, int64_t actor,
                      const struct store_ticket_edit *e, int *changed, unsigned *conflicts)
{
    struct whead h;
    const char *to = NULL;
    int n = 0;
    if (changed)
        *changed = 0;
    if (conflicts)
        *conflicts = 0;
    int rc = st_begin(s, "ticket_edit");
    if (rc)
        return rc;
    rc = change_begin(s, number, actor, "edited", &h, NULL, &to);
    if (rc == 0 && ((e->impact && (e->impact < 1 || e->impact > 3)) ||
                    (e->urgency && (e->urgency < 1 || e->urgency > 3))))
        rc = st_seterr(s, STORE_EINVALID, "impact and urgency are 1..3");
    if (rc == 0) {
        unsigned bits = changed_meanwhile(s, &h, e);
        if (bits) {
            rc = STORE_ECONFLICT;
            if (conflicts)
                *conflicts = bits;
        }
    }
    const char *cat = e->category && !e->category[0] ? NULL : e->category;
    int impact = e->impact ? e->impact : h.impact, urgency = e->urgency ? e->urgency : h.urgency;
    int prio = rc == 0 ? store_priority(impact, urgency) : 0;
    if (rc == 0 && e->summary && strcmp(e->summary, h.summary) != 0) {
        rc = edited(s, &h, actor, to, "summary", jstr(h.summary), jstr(e->summary));
        if (rc == 0)
            rc = st_ticket_summary_terms(s, h.head.id, e->summary);
        n++;
    }
    if (rc == 0 && e->category && !same_category(cat, h.category)) {
        rc = edited(s, &h, actor, to, "category", jstr(h.category), jstr(cat));
        n++;
    }
    if (rc == 0 && impact != h.impact) {
        rc = edited(s, &h, actor, to, "impact", json_integer(h.impact), json_integer(impact));
        n++;
    }
    if (rc == 0 && urgency != h.urgency) {
        rc = edited(s, &h, actor, to, "urgency", json_integer(h.urgency), json_integer(urgency));
        n++;
    }
    if (rc == 0 && prio != h.priority) {
        rc = edited(s, &h, actor, to, "priority", json_integer(h.priority), json_integer(prio));
        n++;
    }
    if (rc == 0 && n > 0) {
        struct params p = {0};
        p_i64(&p, h.head.id);
        p_str(&p, e->summary ? e->summary : h.summary);
        p_str(&p, e->category ? cat : h.category);
        p_i64(&p, impact);
        p_i64(&p, urgency);
        p_i64(&p, prio);
        p_str(&p, to);
        rc = st_exec(s,
                     "UPDATE tickets SET summary = $2, category = $3, impact = $4, urgency = $5,"
                     " priority = $6, status = $7, updated_at = now() WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0 && prio != h.priority) /* the deadlines follow the priority */
        rc = st_sla_priority_changed(s, h.head.id, actor);
    whead_fin(&h);
    rc = st_finish(s, rc);
    if (rc == 0 && changed)
        *changed = n;
    return rc;
}

/* ---- notes ------------------------------------------------------------------------ */

int store_ticket_note(struct store *s, const char *number, int64_t actor, const char *body,
                      int64_t *id)
{
    struct whead h;
    const char *to = NULL;
    int64_t got = 0;
    int rc = st_begin(s, "ticket_note");
    if (rc)
        return rc;
    rc = change_begin(s, number, actor, "noted", &h, NULL, &to);
    if (rc == 0 && !body)
        rc = st_seterr(s, STORE_EINVALID, "a note needs a text");
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.head.id);
        p_i64(&p, actor);
        p_str(&p, body);
        rc = st_insert_id(s,
                          "INSERT INTO ticket_notes (ticket_id, author_id, body)"
                          " VALUES ($1, $2, $3) RETURNING id",
                          &p, &got);
    }
    if (rc == 0)
        rc = st_ticket_event(s, h.head.id, actor, "noted", h.head.status, to,
                             json_pack("{s:I}", "note", (json_int_t)got), 0);
    whead_fin(&h);
    rc = st_finish(s, rc);
    if (rc == 0 && id)
        *id = got;
    return rc;
}

int store_ticket_notes(struct store *s, const char *number, int64_t viewer,
                       int (*cb)(void *arg, const struct store_note *n), void *arg)
{
    int rc = st_single(s, "ticket_notes");
    if (rc)
        return rc;
    char role[STORE_WORD_MAX] = "";
    rc = st_person_role(s, viewer, role);
    if (rc == 0 && !st_is_staff(role))
        rc = st_seterr(s, STORE_ENOTFOUND, "no such ticket");
    PGresult *r = NULL;
    if (rc == 0) {
        struct params p = {0};
        p_str(&p, number);
        r = st_run(s, &rc,
                   "SELECT n.id, n.author_id, p.name, n.body, " EPOCH("n.created_at")
                   ", t.id FROM tickets t LEFT JOIN ticket_notes n ON n.ticket_id = t.id"
                   " LEFT JOIN people p ON p.id = n.author_id"
                   " WHERE t.number = $1 ORDER BY n.id",
                   &p);
    }
    if (rc == 0 && PQntuples(r) == 0)
        rc = st_seterr(s, STORE_ENOTFOUND, "no ticket %s", number ? number : "");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 0))
            continue; /* the ticket without notes */
        struct store_note n = {
            .id = g_i64(r, i, 0),
            .author_id = g_i64(r, i, 1),
            .author_name = g_str(r, i, 2),
            .body = g_str(r, i, 3),
            .at = g_i64(r, i, 4),
        };
        rc = cb(arg, &n);
    }
    PQclear(r);
    return rc;
}

/* ---- assign, transfer ------------------------------------------------------------ */

int store_ticket_transfer(struct store *s, const char *number, int64_t actor, const char *team,
                          int64_t agent, const char *reason)
{
    struct whead h;
    const char *to = NULL;
    int lead = 0;
    int rc = st_begin(s, "ticket_transfer");
    if (rc)
        return rc;
    const char *event = agent ? "assigned" : "transferred";
    rc = change_begin(s, number, actor, event, &h, &lead, &to);
    if (rc == 0 && (!reason || !reason[strspn(reason, " \t\r\n")]))
        rc = st_seterr(s, STORE_EINVALID, "a transfer needs a reason");
    if (rc == 0 && !agent && !team)
        rc = st_seterr(s, STORE_EINVALID, "transfer to an agent or a team");
    if (rc == 0 && h.head.agent_id && h.head.agent_id != actor && !lead)
        rc = st_seterr(s, STORE_EFORBIDDEN,
                       "%s is held by another agent: only a team lead or an admin moves it",
                       number);
    int64_t tid = h.team_id;
    if (rc == 0 && team) {
        struct params p = {0};
        p_str(&p, team);
        PGresult *r = st_run(s, &rc, "SELECT id FROM teams WHERE slug = $1", &p);
        if (r && PQntuples(r) == 0)
            rc = st_seterr(s, STORE_ENOTFOUND, "no team '%s'", team);
        else if (r)
            tid = g_i64(r, 0, 0);
        PQclear(r);
    }
    if (rc == 0 && agent) {
        struct params p = {0};
        p_i64(&p, agent);
        p_id(&p, tid);
        PGresult *r = st_run(s, &rc,
                             "SELECT p.role IN ('agent', 'admin') AND NOT p.disabled,"
                             " $2::bigint IS NULL OR EXISTS (SELECT 1 FROM team_members m"
                             "  WHERE m.team_id = $2::bigint AND m.person_id = p.id)"
                             " FROM people p WHERE p.id = $1",
                             &p);
        if (r && (PQntuples(r) == 0 || !g_bool(r, 0, 0)))
            rc = st_seterr(s, STORE_ENOTFOUND, "no enabled agent %lld", (long long)agent);
        else if (r && !g_bool(r, 0, 1))
            rc = st_seterr(s, STORE_EINVALID, "agent %lld is not in that team", (long long)agent);
        PQclear(r);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, h.head.id);
        p_id(&p, agent);
        p_id(&p, tid);
        p_str(&p, to);
        rc = st_exec(s,
                     "UPDATE tickets SET agent_id = $2, team_id = $3, status = $4,"
                     " updated_at = now() WHERE id = $1",
                     &p, NULL);
    }
    if (rc == 0) {
        json_t *d = json_pack("{s:s, s:o, s:o, s:o, s:o}", "reason", reason, "from_team",
                              jstr(h.team), "to_team", jstr(team ? team : h.team), "from_agent",
                              h.head.agent_id ? json_integer(h.head.agent_id) : json_null(),
                              "to_agent", agent ? json_integer(agent) : json_null());
        rc = d ? st_ticket_event(s, h.head.id, actor, event, h.head.status, to, d, 0)
               : st_seterr(s, STORE_EINVALID, "the reason is not valid UTF-8");
    }
    whead_fin(&h);
    return st_finish(s, rc);
}

/* ---- merge ------------------------------------------------------------------------ */

int store_ticket_merge(struct store *s, const char *duplicate, const char *target,
                       int64_t actor)
{
    struct whead d, t;
    const char *dto = NULL, *tto = NULL;
    memset(&d, 0, sizeof d);
    memset(&t, 0, sizeof t);
    int rc = st_begin(s, "ticket_merge");
    if (rc)
        return rc;
    if (!duplicate || !target || strcmp(duplicate, target) == 0)
        return st_finish(s, st_seterr(s, STORE_EINVALID, "merge a ticket into another one"));
    /* lock both in number order (numbers sort as ids do at equal length;
     * any fixed order avoids a deadlock between two merges) */
    int dfirst = strcmp(duplicate, target) < 0;
    rc = whead_read(s, dfirst ? duplicate : target, 1, dfirst ? &d : &t);
    if (rc == 0)
        rc = whead_read(s, dfirst ? target : duplicate, 1, dfirst ? &t : &d);
    if (rc == 0)
        rc = st_may_work(s, d.head.id, actor, NULL);
    if (rc == 0)
        rc = st_may_work(s, t.head.id, actor, NULL);
    if (rc == 0)
        rc = step(s, &d, "merged", &dto);
    if (rc == 0 && !(tto = store_ticket_next(t.head.status, "merged_from")))
        rc = st_seterr(s, STORE_EINVALID, "%s cannot take a merge", target);
    if (rc == 0 && strcmp(t.head.status, "closed") == 0)
        rc = st_seterr(s, STORE_EINVALID, "%s is closed: merge into an open ticket", target);
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, d.head.id);
        p_i64(&p, t.head.id);
        p_str(&p, dto);
        p_i64(&p, d.head.conversation_id);
        p_i64(&p, t.head.conversation_id);
        rc = st_exec(s,
                     "WITH k AS (UPDATE tickets SET status = $3, merged_into = $2,"
                     "  resolution = coalesce(resolution, 'merged'),"
                     "  resolved_at = coalesce(resolved_at, now()), closed_at = now(),"
                     "  updated_at = now() WHERE id = $1),"
                     " c AS (UPDATE conversations SET status = 'closed', updated_at = now()"
                     "  WHERE id = $4),"
                     " dt AS (SELECT terms FROM conversation_terms WHERE conversation_id = $4)"
                     " INSERT INTO conversation_terms AS x (conversation_id, terms)"
                     " SELECT $5, coalesce((SELECT terms FROM dt), '{}')"
                     " ON CONFLICT (conversation_id) DO UPDATE SET terms ="
                     " ARRAY(SELECT DISTINCT unnest(x.terms || EXCLUDED.terms))",
                     &p, NULL);
    }
    if (rc == 0) {
        struct params p = {0};
        p_i64(&p, t.head.id);
        rc = st_exec(s, "UPDATE tickets SET updated_at = now() WHERE id = $1", &p, NULL);
    }
    if (rc == 0)
        rc = st_ticket_event(s, d.head.id, actor, "merged", d.head.status, dto,
                             json_pack("{s:s, s:s}", "into", t.number, "role", "duplicate"), 0);
    if (rc == 0)
        rc = st_ticket_event(s, t.head.id, actor, "merged_from", t.head.status, tto,
                             json_pack("{s:s, s:s}", "from", d.number, "role", "survivor"), 0);
    whead_fin(&d);
    whead_fin(&t);
    return st_finish(s, rc);
}

/* ---- escalation ----------------------------------------------------------------- */

int st_ticket_escalate_team(struct store *s, const char *number, int64_t team_id,
                            const char *reason, int *moved)
{
    struct whead h;
    memset(&h, 0, sizeof h);
    *moved = 0;
    int rc = whead_read(s, number, 1, &h);
    const char *to = rc == 0 ? store_ticket_next(h.head.status, "transferred") : NULL;
    char slug[64] = "";
    if (rc == 0 && to && h.team_id != team_id) {
        struct params p = {0};
        p_i64(&p, team_id);
        PGresult *r = st_run(s, &rc, "SELECT slug FROM teams WHERE id = $1", &p);
        if (r && PQntuples(r) == 1)
            g_copy(slug, sizeof slug, r, 0, 0);
        PQclear(r);
    }
    if (rc == 0 && slug[0]) {
        struct params p = {0};
        p_i64(&p, h.head.id);
        p_i64(&p, team_id);
        p_str(&p, to);
        rc = st_exec(s,
                     "UPDATE tickets SET agent_id = NULL, team_id = $2, status = $3,"
                     " updated_at = now() WHERE id = $1",
                     &p, NULL);
        if (rc == 0) {
            json_t *d = json_pack("{s:s, s:o, s:s, s:o, s:n}", "reason", reason, "from_team",
                                  jstr(h.team), "to_team", slug, "from_agent",
                                  h.head.agent_id ? json_integer(h.head.agent_id) : json_null(),
                                  "to_agent");
            rc = st_ticket_event(s, h.head.id, 0, "transferred", h.head.status, to, d, 0);
        }
        if (rc == 0)
            *moved = 1;
    }
    whead_fin(&h);
    return rc;
}
