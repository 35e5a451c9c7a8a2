/* api_knowledge: the service functions of /api/v1/knowledge (see api.h and
 * chatdesk/openapi.yaml): desk-authored articles and known errors, their
 * versions and their review lifecycle, over the store's knowledge
 * functions (store_knowledge.h), which check who may do what and which
 * state allows it; this file maps JSON to a struct kb_doc and the store's
 * answers to HTTP ones:
 *
 *     STORE_ENOTFOUND   404 not_found
 *     STORE_EFORBIDDEN  403 forbidden (requesters; approving without the
 *                       reviewer role or one's own version; retiring
 *                       without being a reviewer or the owner)
 *     STORE_ECONFLICT   412 precondition_failed (If-Match was stale) or
 *                       409 conflict (the body's "version" was)
 *     STORE_EINVALID    422 invalid (a state the lifecycle refuses, a bad
 *                       field value), with the store's message
 *     STORE_EDB         503 db_unavailable
 *
 * A document travels as a flat JSON object of strings: title, body,
 * visibility, category, tags, product, lang, updated (articles), symptom,
 * cause, workaround, resolution, service, status (known errors). */
#include "api.h"
#include "kb_doc.h"
#include "kb_log.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    size_t off;
} doc_fields[] = {
    {"title", offsetof(struct kb_doc, title)},
    {"body", offsetof(struct kb_doc, body)},
    {"visibility", offsetof(struct kb_doc, visibility)},
    {"category", offsetof(struct kb_doc, category)},
    {"tags", offsetof(struct kb_doc, tags)},
    {"product", offsetof(struct kb_doc, product)},
    {"lang", offsetof(struct kb_doc, lang)},
    {"updated", offsetof(struct kb_doc, updated)},
    {"symptom", offsetof(struct kb_doc, symptom)},
    {"cause", offsetof(struct kb_doc, cause)},
    {"workaround", offsetof(struct kb_doc, workaround)},
    {"resolution", offsetof(struct kb_doc, resolution)},
    {"service", offsetof(struct kb_doc, service)},
    {"status", offsetof(struct kb_doc, status)},
};
#define NDOC_FIELDS (sizeof doc_fields / sizeof doc_fields[0])

static char **doc_slot(struct kb_doc *d, size_t i)
{
    return (char **)((char *)d + doc_fields[i].off);
}


static void knowledge_failed(struct api_ctx *ctx, int rc, int if_match)
{
    switch (rc) {
    case STORE_ENOTFOUND:
        api_response_error(ctx->resp, 404, "not_found", api_store_msg(ctx));
        break;
    case STORE_EFORBIDDEN:
        api_response_error(ctx->resp, 403, "forbidden", api_store_msg(ctx));
        break;
    case STORE_ECONFLICT:
        api_response_error(ctx->resp, if_match ? 412 : 409,
                           if_match ? "precondition_failed" : "conflict", api_store_msg(ctx));
        break;
    case STORE_EINVALID:
        api_response_error(ctx->resp, 422, "invalid", api_store_msg(ctx));
        break;
    case STORE_EDB:
        kb_warn("api %s: the database is unavailable: %s", ctx->req->route->name,
                store_errmsg(desk_store(ctx->d)));
        api_response_error(ctx->resp, 503, "db_unavailable",
                           "the database is unavailable: nothing was done; retry shortly");
        break;
    default:
        kb_warn("api %s: %s", ctx->req->route->name, store_errmsg(desk_store(ctx->d)));
        api_response_error(ctx->resp, 500, "internal", "internal error");
    }
}

/* ---- codec ------------------------------------------------------------------ */

static json_t *time_or_null(int64_t t)
{
    return t ? json_integer((json_int_t)t) : json_null();
}

/* The JSON of an item with its document. */
static json_t *item_json(const struct store_knowledge *k)
{
    json_t *doc = json_object();
    for (size_t i = 0; i < NDOC_FIELDS; i++) {
        const char *v = *doc_slot(k->doc, i);
        if (v)
            json_object_set_new(doc, doc_fields[i].name, json_string(v));
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:o, s:I, s:I, s:o, s:I, s:I, s:i, s:o}", "id",
                     k->doc_id, "kind", k->kind, "state", k->state, "version", k->version,
                     "published_version",
                     k->published_version ? json_integer(k->published_version) : json_null(),
                     "owner_id", (json_int_t)k->owner_id, "author_id",
                     (json_int_t)k->author_id, "review_due", time_or_null(k->review_due),
                     "created_at", (json_int_t)k->created_at, "updated_at",
                     (json_int_t)k->updated_at, "document_version", k->doc_version, "document",
                     doc);
    /* the ticket it was written from (POST /api/v1/tickets/{number}/knowledge) */
    json_object_set_new(o, "source_ticket",
                        k->source_ticket[0] ? json_string(k->source_ticket) : json_null());
    return o;
}

/* Sets the document fields of body on d (a string sets, null clears when
 * allow_null). Keys in extra (NULL-terminated) are skipped; any other key
 * is refused. Returns 0, or -1 with 400 bad_field answered. */
static int doc_from_body(struct api_ctx *ctx, const json_t *body, struct kb_doc *d,
                         const char *const *extra, int allow_null)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        int skip = 0;
        for (const char *const *e = extra; e && *e; e++)
            skip |= strcmp(*e, key) == 0;
        if (skip)
            continue;
        size_t i = 0;
        while (i < NDOC_FIELDS && strcmp(doc_fields[i].name, key) != 0)
            i++;
        char msg[160];
        if (i == NDOC_FIELDS) {
            snprintf(msg, sizeof msg, "unknown field '%.64s'", key);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return -1;
        }
        if (json_is_null(v) && allow_null) {
            kb_doc_set(doc_slot(d, i), NULL);
        } else if (json_is_string(v)) {
            kb_doc_set(doc_slot(d, i), json_string_value(v));
        } else {
            snprintf(msg, sizeof msg, "%s must be a string%s", key, allow_null ? " or null" : "");
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return -1;
        }
    }
    return 0;
}

/* The version the client edits from: If-Match ("3", W/"3" or 3), else the
 * body's "version". *if_match says which. Returns it (>= 1), or -1 with 400
 * or 428 answered. */
static int expected_version(struct api_ctx *ctx, int *if_match)
{
    const char *h = ctx->req->if_match;
    *if_match = h != NULL;
    if (h) {
        if (strncmp(h, "W/", 2) == 0)
            h += 2;
        char buf[32];
        size_t n = strlen(h);
        if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
            h++;
            n -= 2;
        }
        snprintf(buf, sizeof buf, "%.*s", (int)(n < 31 ? n : 31), h);
        char *end;
        errno = 0;
        long v = strtol(buf, &end, 10);
        if (!buf[0] || *end || errno || v < 1 || v > 1000000000) {
            api_response_error(ctx->resp, 400, "bad_header",
                               "If-Match is the version number you edited, e.g. \"3\"");
            return -1;
        }
        return (int)v;
    }
    json_t *v = json_object_get(ctx->req->body, "version");
    if (json_is_integer(v) && json_integer_value(v) >= 1 &&
        json_integer_value(v) <= 1000000000)
        return (int)json_integer_value(v);
    if (v) {
        api_response_error(ctx->resp, 400, "bad_field", "version must be an integer >= 1");
        return -1;
    }
    api_response_error(ctx->resp, 428, "precondition_required",
                       "say which version you edited: If-Match: \"N\" or \"version\": N");
    return -1;
}

/* Answers status with the item doc_id as it now is. */
static void answer_item(struct api_ctx *ctx, int status, const char *doc_id)
{
    struct store_knowledge k;
    int rc = store_knowledge_get(desk_store(ctx->d), doc_id, ctx->who->person_id, 0, &k);
    if (rc == 0)
        api_response_json(ctx->resp, status, item_json(&k));
    else
        knowledge_failed(ctx, rc, 0);
    store_knowledge_fin(&k);
}

/* ---- handlers ------------------------------------------------------------------- */

void api_knowledge_create(struct api_ctx *ctx)
{
    json_t *body = ctx->req->body;
    if (!body) {
        api_response_error(ctx->resp, 400, "bad_json",
                           "send {\"kind\":\"article\",\"title\":...,\"visibility\":...}");
        return;
    }
    json_t *jk = json_object_get(body, "kind");
    const char *kname = jk ? json_string_value(jk) : "article";
    int kind = kb_kind_parse(kname);
    if (kind != KB_KIND_ARTICLE && kind != KB_KIND_KNOWN_ERROR) {
        api_response_error(ctx->resp, 400, "bad_field", "kind is article or known_error");
        return;
    }
    struct kb_doc *d = kb_doc_new((enum kb_kind)kind);
    static const char *const extra[] = {"kind", NULL};
    char id[STORE_DOCID_MAX];
    if (doc_from_body(ctx, body, d, extra, 0) == 0) {
        int existed = 0;
        int rc = store_knowledge_create(desk_store(ctx->d), ctx->who->person_id, d,
                                        ctx->req->idempotency_key, id, &existed);
        if (rc == 0)
            answer_item(ctx, existed ? 200 : 201, id); /* a retry: the first one's item */
        else
            knowledge_failed(ctx, rc, 0);
    }
    kb_doc_free(d);
}

/* {"shown":..,"opened":..,...} (new reference) */
static json_t *counters_json(const struct store_kcounters *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "shown", (json_int_t)c->shown,
                     "opened", (json_int_t)c->opened, "helpful", (json_int_t)c->helpful,
                     "not_helpful", (json_int_t)c->not_helpful, "out_of_date",
                     (json_int_t)c->out_of_date, "linked", (json_int_t)c->linked,
                     "self_solved", (json_int_t)c->self_solved);
}

static int feedback_cb(void *arg, const struct store_kfeedback *f)
{
    json_array_append_new(
        arg, json_pack("{s:s, s:o, s:I, s:o, s:o, s:o}", "verdict", f->verdict, "comment",
                       f->comment ? json_string(f->comment) : json_null(), "at",
                       (json_int_t)f->at, "by", f->by_name ? json_string(f->by_name) : json_null(),
                       "by_id", f->by_id ? json_integer(f->by_id) : json_null(), "by_role",
                       f->by_role ? json_string(f->by_role) : json_null()));
    return 0;
}

/* Adds "counters" (and, with feedback, "feedback": the newest first) of
 * doc_id to o. Returns 0, or a STORE_E* code (o unchanged). */
static int add_usage(struct api_ctx *ctx, json_t *o, const char *doc_id, int feedback)
{
    struct store *st = desk_store(ctx->d);
    struct store_kcounters c;
    int rc = store_kuse_counters(st, doc_id, 0, 0, &c);
    json_t *list = feedback ? json_array() : NULL;
    if (rc == 0 && feedback)
        rc = store_kuse_feedback_list(st, doc_id, ctx->who->person_id, STORE_KUSE_FEEDBACK_MAX,
                                      feedback_cb, list);
    if (rc) {
        json_decref(list);
        return rc;
    }
    json_object_set_new(o, "counters", counters_json(&c));
    if (list)
        json_object_set_new(o, "feedback", list);
    return 0;
}

void api_knowledge_get(struct api_ctx *ctx)
{
    int version = 0;
    if (api_version_arg(ctx, &version))
        return;
    struct store_knowledge k;
    int rc = store_knowledge_get(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id,
                                 version, &k);
    json_t *o = rc == 0 ? item_json(&k) : NULL;
    /* the item's use and its readers' feedback (only staff get here) */
    if (rc == 0)
        rc = add_usage(ctx, o, k.doc_id, 1);
    if (rc == 0) {
        api_audit(ctx, "read", "knowledge", k.doc_id, NULL);
        api_response_json(ctx->resp, 200, o);
    }
    else {
        json_decref(o);
        knowledge_failed(ctx, rc, 0);
    }
    store_knowledge_fin(&k);
}

/* Does document id exist for the caller: in the index as they may read it
 * (requesters: public documents only), or, for staff, as a desk item in
 * any state? Returns 1, 0 (404 not_found answered) or -1 (error answered). */
static int doc_exists(struct api_ctx *ctx, const char *id)
{
    int staff = ctx->who->role == DESK_AGENT;
    int vis = desk_doc_visible(ctx->d, id, staff);
    if (vis < 0) {
        api_response_error(ctx->resp, 500, "internal", "the knowledge base cannot be read");
        return -1;
    }
    if (vis == 0 && staff) {
        struct store_knowledge k;
        int rc = store_knowledge_get(desk_store(ctx->d), id, ctx->who->person_id, 0, &k);
        store_knowledge_fin(&k);
        if (rc && rc != STORE_ENOTFOUND) {
            knowledge_failed(ctx, rc, 0);
            return -1;
        }
        vis = rc == 0;
    }
    if (!vis)
        api_response_error(ctx->resp, 404, "not_found", "no such item in the knowledge base");
    return vis;
}

/* A time query argument (Unix seconds) into *t (0 when absent). Returns 0,
 * or -1 with 400 answered. */
static int time_arg(struct api_ctx *ctx, const char *name, time_t *t)
{
    const char *v = api_request_arg(ctx->req, name);
    *t = 0;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 1 || n > 253402300799LL) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s is a time in Unix seconds", name);
        api_response_error(ctx->resp, 400, "bad_query", msg);
        return -1;
    }
    *t = (time_t)n;
    return 0;
}

void api_knowledge_stats(struct api_ctx *ctx)
{
    if (ctx->who->role != DESK_AGENT) {
        api_response_error(ctx->resp, 403, "forbidden", "agents only");
        return;
    }
    const char *id = ctx->req->params[0];
    time_t from = 0, to = 0;
    if (time_arg(ctx, "from", &from) || time_arg(ctx, "to", &to))
        return;
    if (doc_exists(ctx, id) <= 0)
        return;
    struct store_kcounters c;
    int rc = store_kuse_counters(desk_store(ctx->d), id, from, to, &c);
    if (rc) {
        knowledge_failed(ctx, rc, 0);
        return;
    }
    json_t *o = json_pack("{s:s, s:o}", "id", id, "counters", counters_json(&c));
    if (from)
        json_object_set_new(o, "from", json_integer((json_int_t)from));
    if (to)
        json_object_set_new(o, "to", json_integer((json_int_t)to));
    api_response_json(ctx->resp, 200, o);
}

void api_knowledge_feedback_list(struct api_ctx *ctx)
{
    if (ctx->who->role != DESK_AGENT) {
        api_response_error(ctx->resp, 403, "forbidden", "agents only");
        return;
    }
    const char *id = ctx->req->params[0];
    if (doc_exists(ctx, id) <= 0)
        return;
    json_t *list = json_array();
    int rc = store_kuse_feedback_list(desk_store(ctx->d), id, ctx->who->person_id,
                                      STORE_KUSE_FEEDBACK_MAX, feedback_cb, list);
    if (rc) {
        json_decref(list);
        knowledge_failed(ctx, rc, 0);
        return;
    }
    api_response_json(ctx->resp, 200, json_pack("{s:s, s:o}", "id", id, "feedback", list));
}

void api_knowledge_feedback(struct api_ctx *ctx)
{
    json_t *body = ctx->req->body;
    if (!json_is_object(body)) {
        api_response_error(ctx->resp, 400, "bad_json",
                           "send {\"verdict\":\"helpful\"|\"not_helpful\"|\"out_of_date\","
                           "\"comment\":\"...\"}");
        return;
    }
    const char *verdict = NULL, *comment = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "verdict") == 0 && json_is_string(v)) {
            verdict = json_string_value(v);
        } else if (strcmp(key, "comment") == 0 && (json_is_string(v) || json_is_null(v))) {
            comment = json_string_value(v);
        } else {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "unexpected field '%.64s' (only a string \"verdict\" and \"comment\")", key);
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return;
        }
    }
    if (!store_kuse_verdict_ok(verdict)) {
        api_response_error(ctx->resp, 400, "bad_field",
                           "verdict must be helpful, not_helpful or out_of_date");
        return;
    }
    if (comment && kb_utf8_count(comment, strlen(comment)) > STORE_KUSE_COMMENT_MAX) {
        api_response_error(ctx->resp, 400, "bad_field", "comment has at most 2000 characters");
        return;
    }
    const char *id = ctx->req->params[0];
    if (doc_exists(ctx, id) <= 0)
        return;
    int rc = store_kuse_feedback(desk_store(ctx->d), id, ctx->who->person_id,
                                 ctx->who->role == DESK_REQUESTER ? ctx->who->conv_id : 0,
                                 verdict, comment);
    if (rc) {
        knowledge_failed(ctx, rc, 0);
        return;
    }
    int blank = 1;
    for (const char *p = comment; p && *p; p++)
        blank &= strchr(" \t\r\n", *p) != NULL;
    api_response_json(ctx->resp, 201,
                      json_pack("{s:s, s:s, s:o}", "item", id, "verdict", verdict, "comment",
                                comment && !blank ? json_string(comment) : json_null()));
}

/* PUT replaces the document; PATCH changes the fields it names (null
 * clears one) on the version named by If-Match. */
static void save(struct api_ctx *ctx, int patch)
{
    json_t *body = ctx->req->body;
    if (!body) {
        api_response_error(ctx->resp, 400, "bad_json", "send the document as a JSON object");
        return;
    }
    int if_match = 0;
    int expected = expected_version(ctx, &if_match);
    if (expected < 0)
        return;
    const char *doc_id = ctx->req->params[0];
    struct store *st = desk_store(ctx->d);
    struct store_knowledge k;
    /* the kind (and for PATCH the fields) of the latest version; the store
     * checks the version again when it saves, in the same transaction */
    int rc = store_knowledge_get(st, doc_id, ctx->who->person_id, 0, &k);
    if (rc) {
        knowledge_failed(ctx, rc, if_match);
        return;
    }
    if (patch && k.version != expected) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "%s is at version %d, not %d: someone saved it meanwhile;"
                 " reload it and apply your change again",
                 doc_id, k.version, expected);
        api_response_error(ctx->resp, if_match ? 412 : 409,
                           if_match ? "precondition_failed" : "conflict", msg);
        store_knowledge_fin(&k);
        return;
    }
    struct kb_doc *d = kb_doc_new(k.doc->kind);
    if (patch) {
        for (size_t i = 0; i < NDOC_FIELDS; i++)
            kb_doc_set(doc_slot(d, i), *doc_slot(k.doc, i));
    }
    store_knowledge_fin(&k);
    static const char *const extra[] = {"version", NULL};
    if (doc_from_body(ctx, body, d, extra, patch) == 0) {
        int v = 0;
        rc = store_knowledge_save(st, doc_id, ctx->who->person_id, expected, d, &v);
        if (rc == 0)
            answer_item(ctx, 200, doc_id);
        else
            knowledge_failed(ctx, rc, if_match);
    }
    kb_doc_free(d);
}

void api_knowledge_put(struct api_ctx *ctx)
{
    save(ctx, 0);
}

void api_knowledge_patch(struct api_ctx *ctx)
{
    save(ctx, 1);
}

static int version_cb(void *arg, const struct store_kversion *v)
{
    json_array_append_new(arg, json_pack("{s:i, s:I, s:s?, s:s?, s:o, s:I}", "version",
                                         v->version, "author_id", (json_int_t)v->author_id,
                                         "author_name", v->author_name, "title", v->title,
                                         "restored_from",
                                         v->restored_from ? json_integer(v->restored_from)
                                                          : json_null(),
                                         "at", (json_int_t)v->at));
    return 0;
}

void api_knowledge_versions(struct api_ctx *ctx)
{
    json_t *arr = json_array();
    int rc = store_knowledge_versions(desk_store(ctx->d), ctx->req->params[0],
                                      ctx->who->person_id, version_cb, arr);
    if (rc == 0)
        api_response_json(ctx->resp, 200, json_pack("{s:o}", "versions", arr));
    else {
        json_decref(arr);
        knowledge_failed(ctx, rc, 0);
    }
}

void api_knowledge_restore(struct api_ctx *ctx)
{
    char *end;
    long from = strtol(ctx->req->params[1], &end, 10);
    if (*end || from < 1 || from > 1000000000) {
        api_response_error(ctx->resp, 404, "not_found", "no such version");
        return;
    }
    int if_match = 0;
    int expected = expected_version(ctx, &if_match);
    if (expected < 0)
        return;
    int rc = store_knowledge_restore(desk_store(ctx->d), ctx->req->params[0],
                                     ctx->who->person_id, expected, (int)from, NULL);
    if (rc == 0)
        answer_item(ctx, 200, ctx->req->params[0]);
    else
        knowledge_failed(ctx, rc, if_match);
}

/* The optional {"comment": "..."} of a lifecycle step into *comment
 * (borrowed from the body). Returns 0, or -1 with 400 answered. */
static int comment_of(struct api_ctx *ctx, const char **comment, const char *also)
{
    *comment = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(ctx->req->body, key, v)
    {
        if (strcmp(key, "comment") == 0 && json_is_string(v)) {
            *comment = json_string_value(v);
        } else if (!(also && strcmp(key, also) == 0)) {
            char msg[128];
            snprintf(msg, sizeof msg, "unexpected field '%.64s' (only a string \"comment\"%s%s)",
                     key, also ? " and " : "", also ? also : "");
            api_response_error(ctx->resp, 400, "bad_field", msg);
            return -1;
        }
    }
    return 0;
}

enum step { STEP_SUBMIT, STEP_APPROVE, STEP_RETURN, STEP_PUBLISH, STEP_RETIRE };

static void lifecycle(struct api_ctx *ctx, enum step which)
{
    const char *comment = NULL;
    time_t due = 0;
    if (comment_of(ctx, &comment, which == STEP_PUBLISH ? "review_due" : NULL))
        return;
    if (which == STEP_PUBLISH) {
        json_t *v = json_object_get(ctx->req->body, "review_due");
        if (v && !(json_is_integer(v) && json_integer_value(v) > 0)) {
            api_response_error(ctx->resp, 400, "bad_field",
                               "review_due is a time in Unix seconds");
            return;
        }
        due = v ? (time_t)json_integer_value(v) : 0;
    }
    struct store *st = desk_store(ctx->d);
    const char *id = ctx->req->params[0];
    int64_t who = ctx->who->person_id;
    int rc = STORE_EINVALID;
    switch (which) {
    case STEP_SUBMIT: rc = store_knowledge_submit(st, id, who, comment); break;
    case STEP_APPROVE: {
        /* the administration page's value, else the config file's */
        int self = ctx->cfg->knowledge_self_approval;
        store_setting_get(st, "knowledge_self_approval", self, &self);
        rc = store_knowledge_approve(st, id, who, self, comment);
        break;
    }
    case STEP_RETURN: rc = store_knowledge_return(st, id, who, comment); break;
    case STEP_PUBLISH: rc = store_knowledge_publish(st, id, who, due); break;
    case STEP_RETIRE: rc = store_knowledge_retire(st, id, who, comment); break;
    }
    static const char *const names[] = {"submitted", "approved", "returned", "published",
                                        "retired"};
    if (rc == 0) {
        json_t *d = json_pack("{s:s}", "step", names[which]);
        api_audit(ctx, "change", "knowledge", id, d);
        json_decref(d);
        answer_item(ctx, 200, id);
    } else {
        knowledge_failed(ctx, rc, 0);
    }
}

void api_knowledge_submit(struct api_ctx *ctx)
{
    lifecycle(ctx, STEP_SUBMIT);
}

void api_knowledge_approve(struct api_ctx *ctx)
{
    lifecycle(ctx, STEP_APPROVE);
}

void api_knowledge_return(struct api_ctx *ctx)
{
    lifecycle(ctx, STEP_RETURN);
}

void api_knowledge_publish(struct api_ctx *ctx)
{
    lifecycle(ctx, STEP_PUBLISH);
}

void api_knowledge_retire(struct api_ctx *ctx)
{
    lifecycle(ctx, STEP_RETIRE);
}

/* items per page of the list: by default, at most */
#define LIST_LIMIT 100
#define LIST_LIMIT_MAX 500

static int list_cb(void *arg, const struct store_knowledge *k)
{
    json_array_append_new(
        arg, json_pack("{s:s, s:s, s:s, s:i, s:o, s:s?, s:s?, s:I, s:o, s:I}", "id", k->doc_id,
                       "kind", k->kind, "state", k->state, "version", k->version,
                       "published_version",
                       k->published_version ? json_integer(k->published_version) : json_null(),
                       "title", k->doc->title, "visibility", k->doc->visibility, "owner_id",
                       (json_int_t)k->owner_id, "review_due", time_or_null(k->review_due),
                       "updated_at", (json_int_t)k->updated_at));
    return 0;
}

void api_knowledge_list(struct api_ctx *ctx)
{
    const char *state = api_request_arg(ctx->req, "state");
    const char *due = api_request_arg(ctx->req, "due_for_review");
    if (due && strcmp(due, "0") != 0 && strcmp(due, "1") != 0) {
        api_response_error(ctx->resp, 400, "bad_query", "due_for_review is 0 or 1");
        return;
    }
    const char *after = api_request_arg(ctx->req, "after");
    if (after && (!after[0] || strlen(after) >= STORE_DOCID_MAX ||
                  after[strspn(after, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789._-")])) {
        api_response_error(ctx->resp, 400, "bad_query",
                           "after is the last id of the previous page (\"next\")");
        return;
    }
    long limit = LIST_LIMIT;
    const char *lv = api_request_arg(ctx->req, "limit");
    if (lv) {
        char *end;
        limit = strtol(lv, &end, 10);
        if (!*lv || *end || limit < 1 || limit > LIST_LIMIT_MAX) {
            api_response_error(ctx->resp, 400, "bad_query", "limit is an integer 1..500");
            return;
        }
    }
    json_t *arr = json_array();
    /* one more than the page: whether a next page exists */
    int rc = store_knowledge_page(desk_store(ctx->d), ctx->who->person_id, state,
                                  due && strcmp(due, "1") == 0, 0, after, (int)limit + 1,
                                  list_cb, arr);
    if (rc == 0) {
        json_t *next = json_null();
        if (json_array_size(arr) > (size_t)limit) {
            json_array_remove(arr, (size_t)limit);
            json_t *last = json_object_get(json_array_get(arr, (size_t)limit - 1), "id");
            next = json_string(json_string_value(last));
        }
        api_response_json(ctx->resp, 200, json_pack("{s:o, s:o}", "items", arr, "next", next));
    } else {
        json_decref(arr);
        if (rc == STORE_EINVALID)
            api_response_error(ctx->resp, 400, "bad_query", api_store_msg(ctx));
        else
            knowledge_failed(ctx, rc, 0);
    }
}

/* ---- from ticket to knowledge ----------------------------------------------- */

void api_tickets_knowledge(struct api_ctx *ctx)
{
    json_t *body = ctx->req->body;
    const char *key;
    json_t *v;
    const char *kind = NULL;
    if (!body) {
        api_response_error(ctx->resp, 400, "bad_json",
                           "send {\"kind\":\"article\"} or {\"kind\":\"known_error\"}");
        return;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "kind") == 0 && json_is_string(v)) {
            kind = json_string_value(v);
        } else {
            api_response_error(ctx->resp, 400, "bad_field",
                               "only \"kind\": \"article\" or \"known_error\"");
            return;
        }
    }
    if (!kind || (strcmp(kind, "article") != 0 && strcmp(kind, "known_error") != 0)) {
        api_response_error(ctx->resp, 400, "bad_field", "kind is article or known_error");
        return;
    }
    char id[STORE_DOCID_MAX];
    int existed = 0;
    int rc = store_knowledge_from_ticket(desk_store(ctx->d), ctx->req->params[0],
                                         ctx->who->person_id, kind,
                                         ctx->req->idempotency_key, id, &existed);
    if (rc == 0)
        answer_item(ctx, existed ? 200 : 201, id);
    else if (rc == STORE_ECONFLICT)
        api_response_error(ctx->resp, 409, "conflict", api_store_msg(ctx));
    else
        knowledge_failed(ctx, rc, 0);
}
