/* service: searchd's request handling over kb_search (see service.h). Each
 * endpoint is one call into the search core; this file only maps the core's
 * return codes to HTTP statuses and wraps the core's JSON. */
#include "service.h"
#include "kb_log.h"
#include "metrics.h"
#include "shards.h"
#include "kb_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int svc_refresh(kb_searcher *s, sd_cache *cache)
{
    char err[KB_ERR_MAX];
    int changed = 0;
    if (kb_searcher_refresh(s, &changed, err, sizeof err)) {
        metrics_refresh_error();
        kb_warn("index refresh failed: %s", err);
        return -1;
    }
    uint64_t rev = kb_searcher_revision(s);
    uint32_t docs = kb_searcher_doccount(s);
    metrics_index(docs, rev);
    cache_revision(cache, rev);
    if (changed)
        kb_info("index revision %llu (%u documents)", (unsigned long long)rev, docs);
    return 0;
}

/* Maps a kb_search error to a response. Returns -1 for server errors. */
static int fail(struct sd_response *resp, int rc, const char *err, const char *what)
{
    switch (rc) {
    case KB_SEARCH_ENOTFOUND:
        codec_set_error3(resp, 404, "not_found", "no such document");
        return 0;
    case KB_SEARCH_EINPUT:
        codec_set_error3(resp, 400, "bad_query", err);
        return 0;
    case KB_SEARCH_EINDEX:
        kb_err("%s: index error: %s", what, err);
        codec_set_error3(resp, 503, "index_unavailable", "the index cannot be read right now");
        return -1;
    default:
        kb_err("%s: internal error: %s", what, err);
        codec_set_error3(resp, 500, "internal", "internal error");
        return -1;
    }
}

static int do_search(kb_searcher *s, sd_cache *cache, const struct sd_request *req,
                     struct sd_response *resp)
{
    struct kb_search_req sr;
    memset(&sr, 0, sizeof sr);
    sr.q = req->q;
    sr.qlen = req->qlen;
    sr.kind = req->kind;
    sr.category = req->category;
    sr.lang = req->lang;
    sr.standard = req->standard;
    sr.internal = req->internal;
    sr.offset = req->offset;
    sr.limit = req->limit;
    sr.min_confidence = req->min_conf / 1000.0;
    struct kb_search_res res;
    char err[KB_ERR_MAX];
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        memset(&res, 0, sizeof res);
        err[0] = '\0';
        rc = kb_search_run(s, &sr, &res, err, sizeof err);
        if (rc != KB_SEARCH_EINDEX || attempt == 1)
            break;
        kb_search_res_fin(&res);
        svc_refresh(s, cache); /* the index moved on underneath: catch up, retry */
    }
    if (rc) {
        kb_search_res_fin(&res);
        return fail(resp, rc, err, "search");
    }
    char *json = codec_search_json(&res, req->q, req->qlen, req->offset, req->limit);
    kb_search_res_fin(&res);
    if (json)
        json = shards_annotate(s, json); /* "partial" when a shard is down */
    if (!json)
        return fail(resp, KB_SEARCH_EINTERNAL, "result JSON", "search");
    codec_set_json(resp, 200, json);
    return 0;
}

/* Runs one look-up with a retry after a refresh on EINDEX, and renders its
 * result. */
enum call { CALL_DOC, CALL_NAV, CALL_SUGGEST, CALL_STANDARDS };

static int do_json(kb_searcher *s, sd_cache *cache, enum call call,
                   const struct sd_request *req, struct sd_response *resp)
{
    static const char *const names[] = {"doc", "nav", "suggest", "standards"};
    char err[KB_ERR_MAX];
    struct kb_search_doc doc = {0};
    struct kb_search_nav nav = {0};
    struct kb_search_completions comp = {0};
    struct kb_search_stds stds = {0};
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        err[0] = '\0';
        switch (call) {
        case CALL_DOC:
            kb_search_doc_fin(&doc);
            rc = kb_search_get_doc(s, req->id, req->internal, &doc, err, sizeof err);
            break;
        case CALL_NAV:
            kb_search_nav_fin(&nav);
            rc = kb_search_clause_nav(s, req->id, req->internal, &nav, err, sizeof err);
            break;
        case CALL_SUGGEST:
            kb_search_completions_fin(&comp);
            rc = kb_search_suggest(s, req->q, req->qlen, req->internal, 0, &comp, err,
                                   sizeof err);
            break;
        case CALL_STANDARDS:
            kb_search_stds_fin(&stds);
            rc = kb_search_standards(s, req->internal, &stds, err, sizeof err);
            break;
        }
        if (rc != KB_SEARCH_EINDEX || attempt == 1)
            break;
        svc_refresh(s, cache);
    }
    char *json = NULL;
    if (rc == 0) {
        switch (call) {
        case CALL_DOC:
            json = codec_doc_json(&doc);
            break;
        case CALL_NAV:
            json = codec_nav_json(&nav);
            break;
        case CALL_SUGGEST:
            json = codec_suggest_json(&comp, req->q, req->qlen);
            break;
        case CALL_STANDARDS:
            json = codec_standards_json(&stds);
            break;
        }
    }
    kb_search_doc_fin(&doc);
    kb_search_nav_fin(&nav);
    kb_search_completions_fin(&comp);
    kb_search_stds_fin(&stds);
    if (rc)
        return fail(resp, rc, err, names[call]);
    codec_set_json(resp, 200, json);
    return 0;
}

static int do_healthz(kb_searcher *s, struct sd_response *resp)
{
    json_t *o = json_pack("{s:s,s:I,s:I}", "status", "ok", "documents",
                          (json_int_t)kb_searcher_doccount(s), "revision",
                          (json_int_t)kb_searcher_revision(s));
    char *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (json)
        json = shards_annotate(s, json);
    if (!json)
        return fail(resp, KB_SEARCH_EINTERNAL, "healthz JSON", "healthz");
    codec_set_json(resp, 200, json);
    return 0;
}

static void do_metrics(struct sd_response *resp)
{
    size_t len;
    char *text = metrics_render(&len);
    sd_response_fin(resp);
    resp->status = 200;
    resp->content_type = METRICS_CONTENT_TYPE;
    resp->cache_control = "no-store";
    resp->body = text;
    resp->len = len;
}

int svc_handle(kb_searcher *s, sd_cache *cache, const struct sd_request *req,
               struct sd_response *resp)
{
    int rc;
    switch (req->ep) {
    case SD_EP_SEARCH:
        rc = do_search(s, cache, req, resp);
        if (rc == 0)
            cache_put(cache, req, kb_searcher_revision(s), resp);
        return rc;
    case SD_EP_DOC:
        return do_json(s, cache, CALL_DOC, req, resp);
    case SD_EP_NAV:
        return do_json(s, cache, CALL_NAV, req, resp);
    case SD_EP_SUGGEST:
        rc = do_json(s, cache, CALL_SUGGEST, req, resp);
        if (rc == 0)
            cache_put(cache, req, kb_searcher_revision(s), resp);
        return rc;
    case SD_EP_STANDARDS:
        return do_json(s, cache, CALL_STANDARDS, req, resp);
    case SD_EP_HEALTHZ:
        return do_healthz(s, resp);
    case SD_EP_METRICS:
        do_metrics(resp);
        return 0;
    default:
        codec_set_error3(resp, 404, "not_found", "no such endpoint");
        return 0;
    }
}
