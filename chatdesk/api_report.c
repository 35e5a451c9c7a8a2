/* api_report: the service functions of /api/v1/reports (see api.h and
 * chatdesk/openapi.yaml): the key indicators of a period and the
 * per-document figures, as JSON or, with ?format=csv, as CSV of the very
 * same struct (store_report.h), so the page, the API and the export show
 * one number from one definition. Agents and admins (403 otherwise); each
 * read is an audit row. */
#include "api.h"
#include "kb_util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TZ "Asia/Shanghai"
#define DEFAULT_RECONTACT 7

/* The period from the query: from, to (YYYY-MM-DD, required), tz, and
 * recontact_days. Returns 0, or -1 with 400 answered. */
static int period_of(struct api_ctx *ctx, struct store_report_period *p, int *csv)
{
    memset(p, 0, sizeof *p);
    const char *from = api_request_arg(ctx->req, "from"), *to = api_request_arg(ctx->req, "to");
    const char *tz = api_request_arg(ctx->req, "tz"), *days = api_request_arg(ctx->req,
                                                                           "recontact_days");
    const char *format = api_request_arg(ctx->req, "format");
    if (!from || !to || strlen(from) != 10 || strlen(to) != 10) {
        api_response_error(ctx->resp, 400, "bad_query",
                           "from and to are required dates YYYY-MM-DD (to inclusive)");
        return -1;
    }
    if (tz && (!*tz || strlen(tz) >= sizeof p->tz)) {
        api_response_error(ctx->resp, 400, "bad_query", "tz is a time-zone name");
        return -1;
    }
    char *end = NULL;
    long d = days ? strtol(days, &end, 10) : DEFAULT_RECONTACT;
    if (days && (!*days || *end)) {
        api_response_error(ctx->resp, 400, "bad_query", "recontact_days is a number of days");
        return -1;
    }
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        api_response_error(ctx->resp, 400, "bad_query", "format is json or csv");
        return -1;
    }
    /* the filters of the ticket figures */
    static const struct {
        const char *arg;
        size_t off, size;
    } filters[] = {
        {"service", offsetof(struct store_report_period, service), sizeof p->service},
        {"team", offsetof(struct store_report_period, team), sizeof p->team},
        {"category", offsetof(struct store_report_period, category), sizeof p->category},
        {"channel", offsetof(struct store_report_period, channel), sizeof p->channel},
    };
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        const char *v = api_request_arg(ctx->req, filters[i].arg);
        if (v && strlen(v) >= filters[i].size) {
            api_response_error(ctx->resp, 400, "bad_query", "a filter is too long");
            return -1;
        }
        if (v)
            snprintf((char *)p + filters[i].off, filters[i].size, "%s", v);
    }
    const char *prio = api_request_arg(ctx->req, "priority");
    if (prio && *prio) {
        if (strlen(prio) != 1 || prio[0] < '1' || prio[0] > '4') {
            api_response_error(ctx->resp, 400, "bad_query", "priority is 1..4");
            return -1;
        }
        p->priority = prio[0] - '0';
    }
    *csv = format && strcmp(format, "csv") == 0;
    snprintf(p->from, sizeof p->from, "%s", from);
    snprintf(p->to, sizeof p->to, "%s", to);
    snprintf(p->tz, sizeof p->tz, "%s", tz ? tz : DEFAULT_TZ);
    p->recontact_days = d < 0 || d > 1000 ? 0 : (int)d;
    return 0;
}

static json_t *rate_json(double r)
{
    return r < 0 ? json_null() : json_real((double)(long long)(r * 10000 + 0.5) / 10000);
}

/* One figure: its section, name and value (an integer, or a rate/-1). */
struct figure {
    const char *section, *name;
    long long count;
    double value; /* used when is_rate */
    int is_rate;
};

static size_t figures(const struct store_indicators *o, struct figure *f)
{
    size_t n = 0;
#define C(sec, nm, v) f[n++] = (struct figure){sec, nm, (long long)(v), 0, 0}
#define R(sec, nm, v) f[n++] = (struct figure){sec, nm, 0, (v), 1}
    C("desk", "received", o->received);
    C("desk", "resolved", o->resolved);
    C("desk", "received_resolved", o->received_resolved);
    R("desk", "resolution_rate", o->resolution_rate);
    C("desk", "first_contact", o->first_contact);
    R("desk", "first_contact_resolution_rate", o->fcr_rate);
    C("desk", "conversations", o->conversations);
    C("desk", "self_solved", o->self_solved);
    R("desk", "self_service_rate", o->self_service_rate);
    C("desk", "deflected", o->deflected);
    R("desk", "deflection_rate", o->deflection_rate);
    C("satisfaction", "ratings", o->ratings);
    C("satisfaction", "ratings_good", o->ratings_good);
    R("satisfaction", "csat", o->csat);
    C("satisfaction", "closed", o->closed);
    C("satisfaction", "closed_rated", o->closed_rated);
    R("satisfaction", "rating_response_rate", o->rating_response_rate);
    C("knowledge", "new", o->k_new);
    C("knowledge", "updated", o->k_updated);
    C("knowledge", "retired", o->k_retired);
    C("knowledge", "past_review", o->k_past_review);
    C("knowledge", "tickets_with_knowledge", o->tickets_with_knowledge);
    R("knowledge", "utilisation", o->utilisation);
    C("problems", "opened", o->p_opened);
    C("problems", "resolved", o->p_resolved);
    C("problems", "opened_resolved", o->p_opened_resolved);
    R("problems", "resolution_rate", o->p_resolution_rate);
    C("problems", "open_known_errors", o->p_open_known_errors);
    f[n++] = (struct figure){"problems", "mean_hours_to_resolve", 0, o->p_mttr_hours, 2};
    C("search", "searches", o->searches);
    C("search", "zero_result", o->zero_result);
    R("search", "zero_result_rate", o->zero_result_rate);
    C("search", "low_confidence", o->low_confidence);
    R("search", "low_confidence_rate", o->low_confidence_rate);
    C("search", "searches_with_hits", o->searches_with_hits);
    C("search", "clicked", o->clicked);
    R("search", "click_through", o->click_through);
    C("desk", "followups", o->followups);
    C("desk", "recontacts", o->followups_recurred);
    R("desk", "stayed_solved_rate", o->stayed_solved_rate);
    C("desk", "priority1", o->priority1);
    C("desk", "major_incidents", o->major_incidents);
    C("timeliness", "response_due", o->response_due);
    C("timeliness", "response_met", o->response_met);
    R("timeliness", "response_attainment", o->response_attainment);
    C("timeliness", "resolve_due", o->resolve_due);
    C("timeliness", "resolve_met", o->resolve_met);
    R("timeliness", "resolve_attainment", o->resolve_attainment);
    C("timeliness", "breached", o->breached);
    C("timeliness", "response_timed", o->response_timed);
    f[n++] = (struct figure){"timeliness", "response_mean_hours", 0, o->response_mean_hours, 2};
    f[n++] = (struct figure){"timeliness", "response_p90_hours", 0, o->response_p90_hours, 2};
    C("timeliness", "resolve_timed", o->resolve_timed);
    f[n++] = (struct figure){"timeliness", "resolve_mean_hours", 0, o->resolve_mean_hours, 2};
    f[n++] = (struct figure){"timeliness", "resolve_p90_hours", 0, o->resolve_p90_hours, 2};
#undef C
#undef R
    return n;
}

static int policy_cb(void *ud, const struct store_report_policy *x)
{
    json_array_append_new(ud, json_pack("{s:s, s:i, s:i, s:i, s:o, s:i, s:i, s:o}", "service",
                                        x->service, "priority", x->priority, "response_due",
                                        x->response_due, "response_met", x->response_met,
                                        "response_attainment",
                                        rate_json(x->response_due
                                                      ? (double)x->response_met / x->response_due
                                                      : -1),
                                        "resolve_due", x->resolve_due, "resolve_met",
                                        x->resolve_met, "resolve_attainment",
                                        rate_json(x->resolve_due
                                                      ? (double)x->resolve_met / x->resolve_due
                                                      : -1)));
    return 0;
}

/* The filters in force, as the answer states them (null: all). */
static json_t *filters_json(const struct store_report_period *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "service", p->service[0] ? json_string(p->service) : json_null());
    json_object_set_new(o, "team", p->team[0] ? json_string(p->team) : json_null());
    json_object_set_new(o, "category", p->category[0] ? json_string(p->category) : json_null());
    json_object_set_new(o, "channel", p->channel[0] ? json_string(p->channel) : json_null());
    json_object_set_new(o, "priority", p->priority ? json_integer(p->priority) : json_null());
    return o;
}

static const char *const KINDS[] = {"article", "known_error"};
static const char *const STATES[] = {"draft", "in_review", "approved", "published", "retired"};

void api_reports_indicators(struct api_ctx *ctx)
{
    struct store_report_period p;
    int csv = 0;
    if (period_of(ctx, &p, &csv))
        return;
    struct store_indicators o;
    int rc = store_report_indicators(desk_report_store(ctx->d), ctx->who->person_id, &p, &o);
    if (rc) {
        api_page_answer(ctx, rc, json_array(), 0, "next");
        return;
    }
    struct figure f[64];
    size_t n = figures(&o, f);
    json_t *pols = json_array();
    rc = store_report_policies(desk_report_store(ctx->d), ctx->who->person_id, &p, policy_cb, pols);
    if (rc) {
        api_page_answer(ctx, rc, pols, 0, "next");
        return;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "indicators %s..%s", p.from, p.to);
    api_audit(ctx, csv ? "export" : "read", "report", detail, NULL);
    if (csv) {
        struct kb_buf b;
        kb_buf_init(&b);
        kb_buf_printf(&b, "# kbdesk indicators %s..%s, time zone %s, recontact window %d days\r\n",
                      p.from, p.to, p.tz, p.recontact_days);
        kb_buf_printf(&b, "# filters: service=%s team=%s category=%s channel=%s priority=%d\r\n",
                      p.service, p.team, p.category, p.channel, p.priority);
        kb_buf_adds(&b, "section,indicator,value\r\n");
        for (size_t i = 0; i < n; i++) {
            if (!f[i].is_rate)
                kb_buf_printf(&b, "%s,%s,%lld\r\n", f[i].section, f[i].name, f[i].count);
            else if (f[i].value < 0)
                kb_buf_printf(&b, "%s,%s,\r\n", f[i].section, f[i].name);
            else
                kb_buf_printf(&b, "%s,%s,%.4f\r\n", f[i].section, f[i].name, f[i].value);
        }
        for (int k = 0; k < 2; k++)
            for (int s = 0; s < 5; s++)
                kb_buf_printf(&b, "knowledge,items_%s_%s,%d\r\n", KINDS[k], STATES[s],
                              o.k_items[k][s]);
        /* per policy: section policy, indicator SERVICE/P<n>/name */
        size_t i;
        json_t *x;
        json_array_foreach(pols, i, x)
        {
            const char *sv = json_string_value(json_object_get(x, "service"));
            int pr = (int)json_integer_value(json_object_get(x, "priority"));
            static const char *const keys[] = {"response_due", "response_met", "resolve_due",
                                               "resolve_met"};
            for (int k = 0; k < 4; k++)
                kb_buf_printf(&b, "policy,%s/P%d/%s,%lld\r\n", sv, pr, keys[k],
                              (long long)json_integer_value(json_object_get(x, keys[k])));
        }
        json_decref(pols);
        size_t len = b.len;
        api_response_file(ctx->resp, kb_buf_take(&b), len, "text/csv; charset=utf-8",
                          "kbdesk-indicators.csv");
        return;
    }
    json_t *root = json_pack("{s:{s:s, s:s, s:s, s:i}}", "period", "from", p.from, "to", p.to,
                             "tz", p.tz, "recontact_days", p.recontact_days);
    for (size_t i = 0; i < n; i++) {
        json_t *sec = json_object_get(root, f[i].section);
        if (!sec) {
            sec = json_object();
            json_object_set_new(root, f[i].section, sec);
        }
        json_object_set_new(sec, f[i].name,
                            f[i].is_rate ? rate_json(f[i].value) : json_integer(f[i].count));
    }
    json_t *items = json_object();
    for (int k = 0; k < 2; k++) {
        json_t *by = json_object();
        for (int s = 0; s < 5; s++)
            json_object_set_new(by, STATES[s], json_integer(o.k_items[k][s]));
        json_object_set_new(items, KINDS[k], by);
    }
    json_object_set_new(json_object_get(root, "knowledge"), "items", items);
    json_object_set_new(json_object_get(root, "timeliness"), "policies", pols);
    json_object_set_new(root, "filters", filters_json(&p));
    api_response_json(ctx->resp, 200, root);
}

struct docs {
    json_t *arr;
    struct kb_buf *csv;
};

static int doc_cb(void *ud, const struct store_report_doc *d)
{
    struct docs *x = ud;
    if (x->csv)
        kb_buf_printf(x->csv, "%s,%d,%d,%d,%d,%d,%d\r\n", d->doc_id, d->self_solved,
                      d->deflected, d->shown, d->opened, d->helpful, d->linked);
    else
        json_array_append_new(x->arr,
                              json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i}", "id", d->doc_id,
                                        "self_solved", d->self_solved, "deflected", d->deflected,
                                        "shown", d->shown, "opened", d->opened, "helpful",
                                        d->helpful, "linked", d->linked));
    return 0;
}

void api_reports_documents(struct api_ctx *ctx)
{
    struct store_report_period p;
    int csv = 0;
    if (period_of(ctx, &p, &csv))
        return;
    struct kb_buf b;
    kb_buf_init(&b);
    if (csv)
        kb_buf_adds(&b, "id,self_solved,deflected,shown,opened,helpful,linked\r\n");
    struct docs x = {json_array(), csv ? &b : NULL};
    int rc = store_report_docs(desk_report_store(ctx->d), ctx->who->person_id, &p, doc_cb, &x);
    if (rc) {
        kb_buf_fin(&b);
        api_page_answer(ctx, rc, x.arr, 0, "next");
        return;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "documents %s..%s", p.from, p.to);
    api_audit(ctx, csv ? "export" : "read", "report", detail, NULL);
    if (csv) {
        json_decref(x.arr);
        size_t len = b.len;
        api_response_file(ctx->resp, kb_buf_take(&b), len, "text/csv; charset=utf-8",
                          "kbdesk-documents.csv");
        return;
    }
    kb_buf_fin(&b);
    api_response_json(ctx->resp, 200,
                      json_pack("{s:{s:s, s:s, s:s, s:i}, s:o}", "period", "from", p.from, "to",
                                p.to, "tz", p.tz, "recontact_days", p.recontact_days, "items",
                                x.arr));
}

static int query_cb(void *ud, const struct store_report_query *q)
{
    json_array_append_new(ud, json_pack("{s:s, s:i, s:i}", "query", q->query, "count", q->count,
                                        "no_good_match", q->no_good_match));
    return 0;
}

void api_reports_queries(struct api_ctx *ctx)
{
    struct store_report_period p;
    int csv = 0;
    if (period_of(ctx, &p, &csv))
        return;
    const char *gaps = api_request_arg(ctx->req, "gaps");
    json_t *arr = json_array();
    int rc = store_report_queries(desk_report_store(ctx->d), ctx->who->person_id, &p,
                                  gaps && strcmp(gaps, "1") == 0, query_cb, arr);
    if (rc) {
        api_page_answer(ctx, rc, arr, 0, "next");
        return;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "queries %s..%s", p.from, p.to);
    api_audit(ctx, "read", "report", detail, NULL);
    api_response_json(ctx->resp, 200,
                      json_pack("{s:{s:s, s:s, s:s}, s:b, s:o}", "period", "from", p.from, "to",
                                p.to, "tz", p.tz, "gaps", gaps && strcmp(gaps, "1") == 0,
                                "items", arr));
}

/* ---- drill-down ------------------------------------------------------------------------ */

struct items {
    json_t *arr;
    struct kb_buf *csv;
};

static void csv_field(struct kb_buf *b, const char *v)
{
    kb_buf_adds(b, "\"");
    for (const char *c = v ? v : ""; *c; c++)
        kb_buf_printf(b, *c == '"' ? "\"\"" : "%c", *c);
    kb_buf_adds(b, "\"");
}

static int item_cb(void *ud, const struct store_report_item *it)
{
    struct items *x = ud;
    if (x->csv) {
        const char *f[] = {it->kind, it->id, it->summary, it->status, it->service,
                           it->resolution};
        for (int i = 0; i < 6; i++) {
            csv_field(x->csv, f[i]);
            kb_buf_adds(x->csv, ",");
        }
        if (it->hours >= 0)
            kb_buf_printf(x->csv, "%d,%.4f\r\n", it->priority, it->hours);
        else
            kb_buf_printf(x->csv, "%d,\r\n", it->priority);
        return 0;
    }
    json_t *o = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?}", "kind", it->kind, "id", it->id,
                          "summary", it->summary, "status", it->status, "service", it->service,
                          "resolution", it->resolution);
    if (it->priority)
        json_object_set_new(o, "priority", json_integer(it->priority));
    if (it->hours >= 0)
        json_object_set_new(o, "working_hours",
                            json_real((double)(long long)(it->hours * 10000 + 0.5) / 10000));
    json_array_append_new(x->arr, o);
    return 0;
}

void api_reports_items(struct api_ctx *ctx)
{
    struct store_report_period p;
    int csv = 0;
    if (period_of(ctx, &p, &csv))
        return;
    const char *name = ctx->req->params[0];
    struct kb_buf b;
    kb_buf_init(&b);
    if (csv)
        kb_buf_adds(&b, "kind,id,summary,status,service,resolution,priority,working_hours\r\n");
    struct items x = {json_array(), csv ? &b : NULL};
    int rc = store_report_items(desk_report_store(ctx->d), ctx->who->person_id, &p, name, item_cb, &x);
    if (rc) {
        kb_buf_fin(&b);
        if (rc == STORE_ENOTFOUND) {
            json_decref(x.arr);
            api_response_error(ctx->resp, 404, "not_found", api_store_msg(ctx));
        } else {
            api_page_answer(ctx, rc, x.arr, 0, "next");
        }
        return;
    }
    char detail[160];
    snprintf(detail, sizeof detail, "items %.64s %s..%s", name, p.from, p.to);
    api_audit(ctx, csv ? "export" : "read", "report", detail, NULL);
    if (csv) {
        json_decref(x.arr);
        size_t len = b.len;
        api_response_file(ctx->resp, kb_buf_take(&b), len, "text/csv; charset=utf-8",
                          "kbdesk-items.csv");
        return;
    }
    kb_buf_fin(&b);
    json_t *root = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:I, s:o}", "indicator", name,
                             "period", "from", p.from, "to", p.to, "tz", p.tz, "filters",
                             filters_json(&p), "count", (json_int_t)json_array_size(x.arr),
                             "items", x.arr);
    api_response_json(ctx->resp, 200, root);
}

/* ---- follow-ups (回访) ---------------------------------------------------------------- */

void api_tickets_followup(struct api_ctx *ctx)
{
    const char *outcome, *note;
    if (api_body_str_and_opt(ctx, "outcome",
                             "outcome is required (stayed_solved, recurred, no_answer)", &outcome,
                             "note", &note))
        return;
    int rc = store_followup_record(desk_store(ctx->d), ctx->req->params[0], ctx->who->person_id,
                                   outcome, note);
    if (rc == 0)
        api_response_json(ctx->resp, 201, json_pack("{s:s, s:s}", "ticket", ctx->req->params[0],
                                                     "outcome", outcome));
    else
        api_store_failed(ctx, rc);
}

static int due_cb(void *ud, const struct store_followup_due *f)
{
    json_array_append_new(ud, json_pack("{s:s, s:s, s:s, s:I}", "ticket", f->number, "summary",
                                        f->summary ? f->summary : "", "requester",
                                        f->requester ? f->requester : "", "closed_at",
                                        (json_int_t)f->closed_at));
    return 0;
}

void api_followups_due(struct api_ctx *ctx)
{
    const char *d = api_request_arg(ctx->req, "days");
    char *end = NULL;
    long days = d ? strtol(d, &end, 10) : 7;
    if (d && (!*d || *end)) {
        api_response_error(ctx->resp, 400, "bad_query", "days is a number 1..90");
        return;
    }
    json_t *arr = json_array();
    int rc = store_followup_due(desk_store(ctx->d), ctx->who->person_id, (int)days, due_cb, arr);
    if (rc == 0)
        api_response_json(ctx->resp, 200, json_pack("{s:i, s:o}", "days", (int)days, "items", arr));
    else
        api_page_answer(ctx, rc, arr, 0, "next");
}
