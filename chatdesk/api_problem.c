/* api_problem: the service functions of /api/v1/problems (see api.h and
 * chatdesk/openapi.yaml): problem records, the incidents linked to them,
 * their lifecycle and the known error drafted from them, over the store's
 * problem functions (store_problem.h), which check who may do what; and
 * the open problems that resemble a ticket. Store answers map as in
 * api_knowledge.c: 404 not_found, 403 forbidden (requesters), 409 conflict
 * (an edit's "was" no longer holds: someone changed that field meanwhile),
 * 422 invalid (a step the lifecycle refuses, a bad field), 503
 * db_unavailable.
 *
 * Resolving a problem tells the agents of its still-open incidents: a
 * "problem_update" frame to the agent holding each, and one to every agent
 * for those nobody holds (api_ctx.out, delivered after the answer).
 *
 * Resemblance (GET /api/v1/tickets/{number}/problems): the share of the
 * ticket's features (its summary and the requester's messages: Chinese
 * character pairs and Latin words of two or more letters, lower-cased)
 * that an open problem's text (summary, description, linked incidents'
 * summaries) holds too; at least RESEMBLE_MIN of them and RESEMBLE_SHARE,
 * best first, at most 3. */
#include "api.h"
#include "kb_log.h"
#include "kb_map.h"
#include "kb_tok.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define RESEMBLE_MIN 3      /* features in common, at least */
#define RESEMBLE_SHARE 0.3  /* of the ticket's features, at least */
#define RESEMBLE_TOP 3

/* ---- codec ------------------------------------------------------------------ */

static json_t *time_or_null(int64_t t)
{
    return t ? json_integer((json_int_t)t) : json_null();
}

static json_t *problem_json(const struct store_problem *p)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:i, s:s, s:s, s:s, s:s?, s:{s:I, s:s},"
                     " s:i, s:i, s:I, s:I, s:o, s:o}",
                     "number", p->number, "status", p->status, "summary", p->summary,
                     "description", p->description, "service", p->service, "impact", p->impact,
                     "root_cause", p->root_cause, "workaround", p->workaround, "fix", p->fix,
                     "known_error", p->known_error_doc[0] ? p->known_error_doc : NULL, "owner",
                     "id", (json_int_t)p->owner_id, "name", p->owner_name, "incidents",
                     p->incidents, "open_incidents", p->open_incidents, "created_at",
                     (json_int_t)p->created_at, "updated_at", (json_int_t)p->updated_at,
                     "resolved_at", time_or_null(p->resolved_at), "closed_at",
                     time_or_null(p->closed_at));
}

/* The fields of object obj (the body, or its "was" when where is "was")
 * into f (strings borrowed from it); 400 for unknown keys, wrong types and
 * an impact outside 1..3. In the body, "was" (allowed when was is not
 * NULL) goes the same way into *was, and *has_was says it was there.
 * Returns 0 or -1 (answered). */
static int fields_from(struct api_ctx *ctx, const json_t *obj, const char *where,
                       struct store_problem_fields *f, struct store_problem_fields *was,
                       int *has_was)
{
    static const struct api_strfield str[] = {
        {"summary", offsetof(struct store_problem_fields, summary)},
        {"description", offsetof(struct store_problem_fields, description)},
        {"service", offsetof(struct store_problem_fields, service)},
        {"root_cause", offsetof(struct store_problem_fields, root_cause)},
        {"workaround", offsetof(struct store_problem_fields, workaround)},
        {"fix", offsetof(struct store_problem_fields, fix)}};
    const char *const extras[] = {"impact", was ? "was" : NULL, NULL};
    memset(f, 0, sizeof *f);
    if (api_object_fields(ctx, obj, where, str, sizeof str / sizeof *str, f, extras))
        return -1;
    json_t *v = json_object_get(obj, "impact");
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 3)) {
        api_response_error(ctx->resp, 400, "bad_field", "impact must be 1 (high), 2 or 3 (low)");
        return -1;
    }
    f->impact = v ? (int)json_integer_value(v) : 0;
    json_t *w = was ? json_object_get(obj, "was") : NULL;
    if (json_is_null(w))
        w = NULL;
    if (has_was)
        *has_was = w != NULL;
    if (w)
        return fields_from(ctx, w, "was", was, NULL, NULL);
    return 0;
}

/* ---- records -------------------------------------------------------------------- */

void api_problems_create(struct api_ctx *ctx)
{
    struct store_problem_fields f;
    if (fields_from(ctx, ctx->req->body, "", &f, NULL, NULL))
        return;
    if (!f.summary) {
        api_response_error(ctx->resp, 400, "missing_field", "summary is required");
        return;
    }
    struct store_problem p;
    int rc = store_problem_create(desk_store(ctx->d), ctx->who->person_id, &f, &p);
    if (rc == 0)
        api_response_json(ctx->resp, 201, problem_json(&p));
    else
        api_store_failed(ctx, rc);
    store_problem_fin(&p);
}

static int list_cb(void *ud, const struct store_problem *p)
{
    json_t *o = problem_json(p);
    json_object_set_new(o, "id", json_integer((json_int_t)p->id));
    json_array_append_new(ud, o);
    return 0;
}

void api_problems_list(struct api_ctx *ctx)
{
    const char *status = api_request_arg(ctx->req, "status");
    long long after;
    long n;
    if (api_page_args(ctx, "after", &after, &n, 50, 200))
        return;
    json_t *arr = json_array();
    int rc = store_problem_list(desk_store(ctx->d), ctx->who->person_id,
                                status && *status ? status : NULL, after, (int)n, list_cb, arr);
    api_page_answer(ctx, rc, arr, n, "next_after");
}

static int incident_cb(void *ud, const struct store_problem_incident *t)
{
    json_array_append_new(ud, json_pack("{s:s, s:s, s:s, s:i, s:I, s:o}", "number", t->number,
                                        "status", t->status, "summary",
                                        t->summary ? t->summary : "", "priority", t->priority,
                                        "created_at", (json_int_t)t->created_at, "agent_id",
                                        t->agent_id ? json_integer((json_int_t)t->agent_id)
                                                    : json_null()));
    return 0;
}

static int event_cb(void *ud, const struct store_problem_event *e)
{
    json_error_t jerr;
    json_t *detail = e->detail ? json_loads(e->detail, 0, &jerr) : NULL;
    json_array_append_new(ud, json_pack("{s:s, s:o, s:s, s:o, s:s?, s:o, s:I}", "type", e->type,
                                        "from", e->from[0] ? json_string(e->from) : json_null(),
                                        "to", e->to, "actor",
                                        e->actor_name ? json_string(e->actor_name) : json_null(),
                                        "ticket", e->ticket, "detail",
                                        detail ? detail : json_object(), "at",
                                        (json_int_t)e->at));
    return 0;
}

void api_problems_get(struct api_ctx *ctx)
{
    struct store *st = desk_store(ctx->d);
    const char *number = ctx->req->params[0];
    struct store_problem p;
    int rc = store_problem_get(st, number, ctx->who->person_id, &p);
    json_t *inc = json_array(), *ev = json_array();
    if (rc == 0)
        rc = store_problem_incidents(st, number, ctx->who->person_id, incident_cb, inc);
    if (rc == 0)
        rc = store_problem_events(st, number, ctx->who->person_id, event_cb, ev);
    if (rc == 0) {
        api_audit(ctx, "read", "problem", p.number, NULL);
        json_t *o = problem_json(&p);
        json_object_set_new(o, "incident_list", inc);
        json_object_set_new(o, "events", ev);
        api_response_json(ctx->resp, 200, o);
    } else {
        json_decref(inc);
        json_decref(ev);
        api_store_failed(ctx, rc);
    }
    store_problem_fin(&p);
}

void api_problems_patch(struct api_ctx *ctx)
{
    struct store_problem_fields f, was;
    int has_was = 0;
    if (fields_from(ctx, ctx->req->body, "", &f, &was, &has_was))
        return;
    struct store_problem p;
    int rc = store_problem_edit(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id,
                                &f, has_was ? &was : NULL, &p);
    if (rc == 0)
        api_response_json(ctx->resp, 200, problem_json(&p));
    else
        api_store_failed(ctx, rc);
    store_problem_fin(&p);
}

/* ---- lifecycle --------------------------------------------------------------------- */

/* The open incidents of a problem being resolved, for the frames sent
 * once it committed: [{number, agent_id}]. */
static int note_open(void *ud, const struct store_problem_incident *t)
{
    json_array_append_new(ud, json_pack("{s:s, s:I}", "number", t->number, "agent_id",
                                        (json_int_t)t->agent_id));
    return 0;
}

/* {"type":"problem_update","event":"resolved","problem":...,"summary":...,
 * "tickets":[...]} to each holding agent for their tickets, and to every
 * agent for the tickets nobody holds. */
static void tell_resolved(struct api_ctx *ctx, const struct store_problem *p, json_t *open)
{
    json_t *unheld = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(open, i, t)
    {
        json_int_t agent = json_integer_value(json_object_get(t, "agent_id"));
        json_t *num = json_object_get(t, "number");
        if (!agent)
            json_array_append(unheld, num);
        else
            desk_outbox_add(ctx->out, DESK_TO_PERSON, agent,
                            json_pack("{s:s, s:s, s:s, s:s, s:[O]}", "type", "problem_update",
                                      "event", "resolved", "problem", p->number, "summary",
                                      p->summary, "tickets", num));
    }
    if (json_array_size(unheld))
        desk_outbox_add(ctx->out, DESK_TO_AGENTS, 0,
                        json_pack("{s:s, s:s, s:s, s:s, s:O}", "type", "problem_update", "event",
                                  "resolved", "problem", p->number, "summary", p->summary,
                                  "tickets", unheld));
    json_decref(unheld);
}

void api_problems_step(struct api_ctx *ctx)
{
    const char *event, *comment;
    if (api_body_str_and_opt(ctx, "event",
                             "event is required (investigating, known_error, resolved, closed,"
                             " reopened)",
                             &event, "comment", &comment))
        return;
    struct store_problem p;
    json_t *open = json_array();
    int rc = store_problem_step(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id,
                                event, comment, &p, note_open, open);
    if (rc == 0) {
        tell_resolved(ctx, &p, open);
        json_t *o = problem_json(&p);
        json_object_set_new(o, "told", json_integer((json_int_t)json_array_size(open)));
        api_response_json(ctx->resp, 200, o);
    } else {
        api_store_failed(ctx, rc);
    }
    json_decref(open);
    store_problem_fin(&p);
}

static void link(struct api_ctx *ctx, const char *ticket, int on)
{
    int rc = store_problem_link(desk_store(ctx->d), ctx->req->params[0], ticket,
                                ctx->who->person_id, on);
    if (rc == 0)
        api_response_json(ctx->resp, 200, json_pack("{s:s, s:s, s:b}", "problem",
                                                     ctx->req->params[0], "ticket", ticket,
                                                     "linked", on));
    else
        api_store_failed(ctx, rc);
}

void api_problems_link(struct api_ctx *ctx)
{
    const json_t *body = ctx->req->body;
    const char *ticket = body ? json_string_value(json_object_get(body, "ticket")) : NULL;
    if (!ticket) {
        api_response_error(ctx->resp, 400, "missing_field", "ticket is required (\"INC-000001\")");
        return;
    }
    link(ctx, ticket, 1);
}

void api_problems_unlink(struct api_ctx *ctx)
{
    link(ctx, ctx->req->params[1], 0);
}

void api_problems_known_error(struct api_ctx *ctx)
{
    char doc[STORE_DOCID_MAX];
    int existed = 0;
    int rc = store_problem_draft_known_error(desk_store(ctx->d), ctx->req->params[0],
                                             ctx->who->person_id, doc, &existed);
    if (rc == 0)
        api_response_json(ctx->resp, existed ? 200 : 201,
                          json_pack("{s:s, s:s, s:b}", "problem", ctx->req->params[0],
                                    "knowledge_id", doc, "existed", existed));
    else
        api_store_failed(ctx, rc);
}

/* ---- resemblance ---------------------------------------------------------------------- */

static void flush_word(kb_map *set, char *word, size_t *wl)
{
    if (*wl >= 2) {
        word[*wl] = '\0';
        kb_map_put(set, word, set);
    }
    *wl = 0;
}

/* Adds text's features to set (value: the set itself, as a marker). */
static void features(kb_map *set, const char *text)
{
    size_t len = strlen(text), i = 0, wl = 0;
    int32_t prev = -1;
    char word[64];
    while (i < len) {
        int32_t c = kb_utf8_next(text, len, &i);
        if (c < 0)
            break;
        if (c < 128 && isalnum((int)c)) {
            if (wl + 1 < sizeof word)
                word[wl++] = (char)tolower((int)c);
        } else {
            flush_word(set, word, &wl);
        }
        if (kb_tok_is_cjk(c) && prev > 0 && kb_tok_is_cjk(prev)) {
            char pair[9];
            size_t n = kb_utf8_encode(prev, pair);
            n += kb_utf8_encode(c, pair + n);
            pair[n] = '\0';
            kb_map_put(set, pair, set);
        }
        prev = c;
    }
    flush_word(set, word, &wl);
}

static int collect_requester(void *ud, const struct store_message *m)
{
    if (strcmp(m->sender_role, "requester") == 0) {
        kb_buf_adds(ud, m->body);
        kb_buf_addc(ud, '\n');
    }
    return 0;
}

struct resemble {
    kb_map *mine;
    size_t nmine;
    json_t *best; /* [{number, summary, status, incidents, share}] sorted */
};

static int resemble_cb(void *ud, const struct store_problem *p, const char *text, int incidents)
{
    struct resemble *r = ud;
    kb_map *theirs = kb_map_new();
    features(theirs, text ? text : "");
    size_t common = 0, it = 0;
    const char *k;
    void *v;
    while (kb_map_next(r->mine, &it, &k, &v))
        common += kb_map_get(theirs, k) != NULL;
    kb_map_free(theirs, NULL);
    double share = r->nmine ? (double)common / (double)r->nmine : 0;
    if (common < RESEMBLE_MIN || share < RESEMBLE_SHARE)
        return 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:f}", "number", p->number, "summary", p->summary,
                          "status", p->status, "incidents", incidents, "share",
                          (double)(int)(share * 1000) / 1000);
    size_t at = 0;
    while (at < json_array_size(r->best) &&
           json_real_value(json_object_get(json_array_get(r->best, at), "share")) >= share)
        at++;
    json_array_insert_new(r->best, at, o);
    if (json_array_size(r->best) > RESEMBLE_TOP)
        json_array_remove(r->best, RESEMBLE_TOP);
    return 0;
}

void api_tickets_problems(struct api_ctx *ctx)
{
    struct store *st = desk_store(ctx->d);
    struct store_ticket t;
    int rc = store_ticket_get(st, ctx->req->params[0], ctx->who->person_id, &t);
    if (rc == STORE_ENOTFOUND || rc == STORE_EFORBIDDEN) {
        store_ticket_fin(&t);
        api_response_error(ctx->resp, 404, "not_found", "no such ticket");
        return;
    }
    struct kb_buf text;
    kb_buf_init(&text);
    if (rc == 0) {
        kb_buf_adds(&text, t.summary ? t.summary : "");
        kb_buf_addc(&text, '\n');
        rc = store_messages_since(st, t.conversation_id, ctx->who->person_id, 0,
                                  collect_requester, &text);
    }
    struct resemble r = {kb_map_new(), 0, json_array()};
    if (rc == 0) {
        features(r.mine, text.data ? text.data : "");
        r.nmine = kb_map_count(r.mine);
        rc = store_problem_open_texts(st, ctx->who->person_id, resemble_cb, &r);
    }
    if (rc == 0)
        api_response_json(ctx->resp, 200,
                          json_pack("{s:s, s:O}", "ticket", t.number, "problems", r.best));
    else
        api_store_failed(ctx, rc);
    json_decref(r.best);
    kb_map_free(r.mine, NULL);
    kb_buf_fin(&text);
    store_ticket_fin(&t);
}
