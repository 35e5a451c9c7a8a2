/* desk_search: the desk's knowledge look-ups (see desk.h): suggestions
 * searched over the requester's messages of a conversation (the latest first
 * when they exceed the query limit; public articles and known errors for
 * requesters, internal ones too for agents), an agent's search, a
 * document opened from a suggestion or a hit, and a reader's feedback on a
 * document (kb_feedback). Each of them records its knowledge use
 * (store_kuse.h: shown, opened, helpful / not_helpful / out_of_date). */
#include "desk_int.h"
#include "kb_clock.h"
#include "kb_log.h"
#include "kb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* bytes of conversation text searched (kb_search's limit is 4096) */
#define QUERY_BYTES 4000

static int collect_text(void *arg, const struct store_message *m)
{
    struct texts *t = arg;
    if (strcmp(m->sender_role, "requester") != 0)
        return 0;
    if (t->all.len)
        kb_buf_addc(&t->all, '\n');
    kb_buf_adds(&t->all, m->body);
    if (!t->first)
        t->first = kb_xstrdup(m->body);
    t->count++;
    return 0;
}

int desk_conv_texts(struct desk *d, int64_t conv, int64_t viewer, struct texts *t)
{
    memset(t, 0, sizeof *t);
    kb_buf_init(&t->all);
    return store_messages_since(d->st, conv, viewer, 0, collect_text, t);
}

void desk_texts_fin(struct texts *t)
{
    kb_buf_fin(&t->all);
    free(t->first);
}

/* The last QUERY_BYTES of s (at a character boundary). */
static const char *query_tail(const char *s, size_t len, size_t *qlen)
{
    if (len <= QUERY_BYTES) {
        *qlen = len;
        return s;
    }
    const char *p = s + len - QUERY_BYTES;
    while (((unsigned char)*p & 0xC0) == 0x80)
        p++;
    *qlen = (size_t)(s + len - p);
    return p;
}

/* Searches articles and known errors for text; internal for agents. */
int desk_search_kb(struct desk *d, const char *text, size_t len, int internal, int limit,
                   struct kb_search_res *res)
{
    desk_refresh(d);
    struct kb_search_req q;
    memset(&q, 0, sizeof q);
    size_t qlen;
    q.q = query_tail(text, len, &qlen);
    q.qlen = qlen;
    q.kind = "article,known_error";
    q.internal = internal;
    q.limit = (uint32_t)limit;
    q.no_facets = 1;
    q.no_suggestion = 1;
    char err[KB_ERR_MAX];
    memset(res, 0, sizeof *res);
    return kb_search_run(d->ks, &q, res, err, sizeof err);
}

/* Records a "shown" use of every hit of res by viewer (in conv, 0: none),
 * in one statement; a failure is logged, the answer goes out anyway. */
static void record_shown(struct desk *d, const struct kb_search_res *res, int64_t viewer,
                         int64_t conv)
{
    if (res->nhits == 0)
        return;
    const char **ids = kb_xcalloc(res->nhits, sizeof *ids);
    for (size_t i = 0; i < res->nhits; i++)
        ids[i] = res->hits[i].id;
    if (store_kuse_record(d->st, "shown", viewer, conv, res->nhits, ids))
        kb_warn("knowledge use not recorded: %s", store_errmsg(d->st));
    free(ids);
}

/* Logs one search for the report's search indicators (a failure is
 * logged, the answer goes out anyway). */
static void log_search(struct desk *d, const char *source, int64_t person, int64_t conv,
                       const char *query, const struct kb_search_res *res)
{
    const struct kb_hit *top = res->nhits ? &res->hits[0] : NULL;
    if (query && *query &&
        store_search_log(d->st, source, person, conv, query, (int)res->nhits,
                         top ? top->confidence : -1, res->no_good_match, top ? top->id : NULL))
        kb_warn("search not logged: %s", store_errmsg(d->st));
}

/* A suggestions frame for hits: {"type":"suggestions","items":[...],
 * "no_good_match":bool}. */
static json_t *suggestions_frame(const struct kb_search_res *res)
{
    json_t *items = json_array();
    for (size_t i = 0; i < res->nhits; i++)
        json_array_append_new(items, proto_hit(&res->hits[i]));
    return json_pack("{s:s, s:o, s:b}", "type", "suggestions", "items", items, "no_good_match",
                     res->no_good_match);
}

/* Items per suggestions frame: the administration page's value (table
 * settings), else the config file's. */
static int suggestions(struct desk *d)
{
    int n = d->cfg->suggestions;
    store_setting_get(d->st, "suggestions", n, &n);
    return n;
}

/* Suggestions for requester viewer over conv's text (recorded as shown, in
 * one commit), to out. When the best is no good match, none are shown: the
 * frame says so and the chat offers a ticket instead of weak guesses. */
static void suggest_requester(struct desk *d, struct desk_outbox *out, int64_t conv,
                              int64_t viewer, int for_seq)
{
    struct texts t;
    int rc = desk_conv_texts(d, conv, viewer, &t);
    if (rc || t.count == 0) {
        desk_texts_fin(&t);
        return; /* the ack went out; suggestions are a bonus */
    }
    struct kb_search_res res;
    if (desk_search_kb(d, t.all.data, t.all.len, 0, suggestions(d), &res) == 0) {
        if (res.no_good_match)
            kb_search_res_keep(&res, 0);
        /* the query people typed last: the latest message */
        const char *nl = strrchr(t.all.data, '\n');
        log_search(d, "chat", viewer, conv, nl ? nl + 1 : t.all.data, &res);
        size_t n = res.nhits;
        const char **ids = kb_xcalloc(n + 1, sizeof *ids);
        const char **kinds = kb_xcalloc(n + 1, sizeof *kinds);
        const char **titles = kb_xcalloc(n + 1, sizeof *titles);
        for (size_t i = 0; i < n; i++) {
            ids[i] = res.hits[i].id;
            kinds[i] = res.hits[i].kind;
            titles[i] = res.hits[i].title;
        }
        store_suggestions_add(d->st, conv, n, ids, kinds, titles);
        free(ids);
        free(kinds);
        free(titles);
        json_t *f = suggestions_frame(&res);
        json_object_set_new(f, "for_seq", json_integer(for_seq));
        desk_outbox_add(out, DESK_TO_SELF, 0, f);
    }
    kb_search_res_fin(&res);
    desk_texts_fin(&t);
}

/* Suggestions including internal knowledge for an agent (viewer) about
 * ticket (conversation conv), to `to`/`target`. */
void desk_suggest_agent(struct desk *d, struct desk_outbox *out, int64_t conv, int64_t viewer,
                        const char *ticket, enum desk_target to, int64_t target)
{
    struct texts t;
    int rc = desk_conv_texts(d, conv, viewer, &t);
    if (rc == 0 && t.count > 0) {
        struct kb_search_res res;
        if (desk_search_kb(d, t.all.data, t.all.len, 1, suggestions(d), &res) == 0) {
            record_shown(d, &res, viewer, conv);
            json_t *f = suggestions_frame(&res);
            json_object_set_new(f, "ticket", json_string(ticket));
            desk_outbox_add(out, to, target, f);
        }
        kb_search_res_fin(&res);
    }
    desk_texts_fin(&t);
}

void desk_suggest(struct desk *d, const struct desk_client *who, const struct desk_suggest *sg,
                  struct desk_outbox *out)
{
    if (sg->requester && who->role == DESK_REQUESTER)
        suggest_requester(d, out, sg->conv, who->person_id, sg->for_seq);
    if (sg->agent && sg->agent_id)
        desk_suggest_agent(d, out, sg->conv, sg->agent_id, sg->ticket, DESK_TO_PERSON,
                           sg->agent_id);
}

/* ---- knowledge: search, doc ------------------------------------------------------------ */

void desk_do_search(struct req *r)
{
    const struct desk_msg *m = r->m;
    if (!desk_is_agent(r))
        return;
    desk_refresh(r->d);
    struct kb_search_req q;
    memset(&q, 0, sizeof q);
    q.q = m->q;
    q.qlen = strlen(m->q);
    q.kind = m->kind ? m->kind : "article,known_error";
    q.internal = 1; /* agents see internal knowledge */
    q.offset = (uint32_t)m->offset;
    q.limit = kb_search_limit(m->limit > 0 ? (uint32_t)m->limit : 0);
    q.no_facets = 1;
    q.no_suggestion = 1;
    struct kb_search_res res;
    char err[KB_ERR_MAX];
    memset(&res, 0, sizeof res);
    int rc = kb_search_run(r->d->ks, &q, &res, err, sizeof err);
    if (rc == KB_SEARCH_EINPUT) {
        desk_outbox_error(r->out, P_BAD_FIELD, "q cannot be searched", m->id, "q");
    } else if (rc) {
        desk_err(r, P_INTERNAL, "the knowledge base cannot be read");
    } else {
        record_shown(r->d, &res, r->who->person_id, 0);
        if (m->offset == 0)
            log_search(r->d, "agent", r->who->person_id, 0, m->q, &res);
        json_t *items = json_array();
        for (size_t i = 0; i < res.nhits; i++)
            json_array_append_new(items, proto_hit(&res.hits[i]));
        json_t *f = json_pack("{s:s, s:s, s:I, s:i, s:o}", "type", "search_results", "q", m->q,
                              "total", (json_int_t)res.total, "offset", m->offset, "items", items);
        if (m->id)
            json_object_set_new(f, "id", json_string(m->id));
        desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
    }
    kb_search_res_fin(&res);
}

void desk_do_doc(struct req *r)
{
    const struct desk_msg *m = r->m;
    char err[KB_ERR_MAX];
    struct kb_search_doc doc;
    desk_refresh(r->d);
    /* requesters read public documents only */
    int rc = kb_search_get_doc(r->d->ks, m->item, r->who->role == DESK_AGENT, &doc, err,
                               sizeof err);
    json_t *dj = rc == 0 ? proto_doc(&doc) : NULL;
    kb_search_doc_fin(&doc);
    if (rc == KB_SEARCH_ENOTFOUND || rc == KB_SEARCH_EINPUT) {
        desk_err(r, P_NOT_FOUND, "no such item in the knowledge base");
        return;
    }
    if (rc || !dj) {
        json_decref(dj);
        desk_err(r, P_INTERNAL, "the knowledge base cannot be read");
        return;
    }
    const char *ids[1] = {m->item};
    if (store_kuse_record(r->d->st, "opened", r->who->person_id,
                          r->who->role == DESK_REQUESTER ? r->who->conv_id : 0, 1, ids))
        kb_warn("knowledge use not recorded: %s", store_errmsg(r->d->st));
    desk_audit_read(r, "knowledge", m->item);
    json_t *f = json_pack("{s:s, s:o}", "type", "doc", "doc", dj);
    if (m->id)
        json_object_set_new(f, "id", json_string(m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}

int desk_doc_visible(struct desk *d, const char *id, int internal)
{
    char err[KB_ERR_MAX];
    struct kb_search_doc doc;
    desk_refresh(d);
    int rc = kb_search_get_doc(d->ks, id, internal, &doc, err, sizeof err);
    kb_search_doc_fin(&doc);
    if (rc == KB_SEARCH_ENOTFOUND || rc == KB_SEARCH_EINPUT)
        return 0;
    return rc ? -1 : 1;
}

void desk_do_kb_feedback(struct req *r)
{
    const struct desk_msg *m = r->m;
    int agent = r->who->role == DESK_AGENT;
    /* a reader gives feedback on what they may open: requesters on public
     * documents of the index, agents on any, and on desk items not
     * published yet */
    int vis = desk_doc_visible(r->d, m->item, agent);
    if (vis < 0) {
        desk_err(r, P_INTERNAL, "the knowledge base cannot be read");
        return;
    }
    if (vis == 0 && agent) {
        struct store_knowledge k;
        int rc = store_knowledge_get(r->d->st, m->item, r->who->person_id, 0, &k);
        store_knowledge_fin(&k);
        if (rc != STORE_ENOTFOUND && desk_store_err(r, rc, NULL))
            return;
        vis = rc == 0;
    }
    if (!vis) {
        desk_err(r, P_NOT_FOUND, "no such item in the knowledge base");
        return;
    }
    int rc = store_kuse_feedback(r->d->st, m->item, r->who->person_id,
                                 r->who->role == DESK_REQUESTER ? r->who->conv_id : 0,
                                 m->verdict, m->comment);
    static const struct store_msgs msgs = {
        .invalid = "the feedback was refused: a verdict and at most 2000 characters of comment"};
    if (desk_store_err(r, rc, &msgs))
        return;
    json_t *f = json_pack("{s:s, s:s, s:s}", "type", "kb_feedback_ack", "item", m->item,
                          "verdict", m->verdict);
    if (m->comment)
        json_object_set_new(f, "comment", json_string(m->comment));
    if (m->id)
        json_object_set_new(f, "id", json_string(m->id));
    desk_outbox_add(r->out, DESK_TO_SELF, 0, f);
}
