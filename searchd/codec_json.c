/* codec_json: searchd's response bodies, rendered from the search core's
 * result structs (kb_search.h): /search's result with a writer of its own
 * (a search's answer is mostly snippets, copied once, no JSON tree built),
 * and /doc, /nav, /suggest and /standards through Jansson. The bytes are
 * what searchd has always answered (the e2e tests check them); the cache
 * stores them as rendered. */
#include "codec.h"
#include "kb_search.h"
#include "kb_utf8.h"
#include "kb_util.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- /search ----------------------------------------------------------------------- */

/* The JSON writers below write what Jansson's compact dump of the same
   tree would (the unit test compares them), without building the tree: a
   search's answer is mostly snippets, copied once. A string that is not
   valid UTF-8 (Jansson refuses it) leaves its member out, as it did. */
static void member_str(struct kb_buf *b, int *first, const char *k, const char *v, size_t n,
                       int allow_nul)
{
    if (!v || kb_utf8_check(v, n, allow_nul, NULL) < 0)
        return;
    kb_buf_json_key(b, first, k);
    kb_buf_json_str(b, v, n);
}

static void member_s(struct kb_buf *b, int *first, const char *k, const char *v)
{
    if (v)
        member_str(b, first, k, v, strlen(v), 0);
}

/* v, or null when v is NULL */
static void member_or_null(struct kb_buf *b, int *first, const char *k, const char *v)
{
    if (v) {
        member_s(b, first, k, v);
    } else {
        kb_buf_json_key(b, first, k);
        kb_buf_add(b, "null", 4);
    }
}

static void member_int(struct kb_buf *b, int *first, const char *k, long long v)
{
    kb_buf_json_key(b, first, k);
    kb_buf_json_int(b, v);
}

static void member_real(struct kb_buf *b, int *first, const char *k, double v)
{
    if (!isfinite(v))
        return; /* Jansson has no real for it */
    kb_buf_json_key(b, first, k);
    kb_buf_json_real(b, v);
}

static void facets_json(struct kb_buf *b, int *first, const char *k, const struct kb_facets *f)
{
    kb_buf_json_key(b, first, k);
    kb_buf_addc(b, '{');
    int ff = 1;
    for (size_t i = 0; i < f->n; i++)
        member_int(b, &ff, f->v[i].value, f->v[i].count);
    kb_buf_addc(b, '}');
}

char *codec_search_json(const struct kb_search_res *r, const char *query, size_t qlen,
                        uint32_t offset, uint32_t limit)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_addc(&b, '{');
    int first = 1;
    member_str(&b, &first, "query", query ? query : "", query ? qlen : 0, 1);
    member_int(&b, &first, "total", r->total);
    member_real(&b, &first, "took_ms", round(r->took_ms * 1000) / 1000);
    member_int(&b, &first, "offset", offset);
    member_int(&b, &first, "limit", limit);
    kb_buf_json_key(&b, &first, "hits");
    kb_buf_addc(&b, '[');
    for (size_t i = 0; i < r->nhits; i++) {
        const struct kb_hit *h = &r->hits[i];
        if (i)
            kb_buf_addc(&b, ',');
        kb_buf_addc(&b, '{');
        int hf = 1;
        member_s(&b, &hf, "id", h->id);
        member_s(&b, &hf, "kind", h->kind);
        member_s(&b, &hf, "title", h->title);
        member_real(&b, &hf, "score", round(h->score * 10000) / 10000);
        member_int(&b, &hf, "percent", h->percent);
        member_real(&b, &hf, "confidence", round(h->confidence * 1000) / 1000);
        const char *rest[][2] = {
            {"snippet", h->snippet},       {"category", h->category}, {"updated", h->updated},
            {"visibility", h->visibility}, {"workaround", h->workaround},
            {"status", h->status},         {"service", h->service},   {"std", h->std},
            {"standard", h->standard},     {"clause", h->clause},     {"heading", h->heading},
            {"path", h->path}};
        for (size_t k = 0; k < sizeof rest / sizeof *rest; k++)
            member_s(&b, &hf, rest[k][0], rest[k][1]);
        kb_buf_addc(&b, '}');
    }
    kb_buf_addc(&b, ']');
    kb_buf_json_key(&b, &first, "facets");
    if (r->has_facets) {
        kb_buf_addc(&b, '{');
        int ff = 1;
        facets_json(&b, &ff, "kind", &r->kind);
        facets_json(&b, &ff, "category", &r->category);
        facets_json(&b, &ff, "standard", &r->standard);
        kb_buf_addc(&b, '}');
    } else {
        kb_buf_adds(&b, "null"); /* not asked for (facets=1) */
    }
    member_or_null(&b, &first, "suggestion", r->suggestion);
    member_or_null(&b, &first, "corrected", r->corrected);
    kb_buf_json_key(&b, &first, "no_good_match");
    kb_buf_adds(&b, r->no_good_match ? "true" : "false");
    kb_buf_addc(&b, '}');
    return kb_buf_take(&b);
}

/* ---- /doc, /nav, /suggest, /standards ----------------------------------------------- */

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    json_decref(o);
    char *r = kb_xstrdup(s ? s : "null");
    free(s);
    return r;
}

static json_t *doc_tree(const struct kb_search_doc *d)
{
    char *dj = kb_doc_to_json(d->doc);
    json_t *o = json_loads(dj, 0, NULL);
    free(dj);
    if (!o)
        return NULL;
    set_str(o, "std", d->std);
    set_str(o, "standard", d->standard);
    json_t *refs = json_array();
    for (size_t i = 0; i < d->nrefs; i++)
        json_array_append_new(refs, json_string(d->refs[i]));
    json_object_set_new(o, "refs", refs);
    return o;
}

char *codec_doc_json(const struct kb_search_doc *d)
{
    return dump(doc_tree(d));
}

static json_t *clause_json(const struct kb_search_clause *c)
{
    if (!c)
        return json_null();
    json_t *o = json_object();
    set_str(o, "id", c->id);
    set_str(o, "clause", c->clause);
    set_str(o, "heading", c->heading);
    return o;
}

char *codec_nav_json(const struct kb_search_nav *n)
{
    json_t *o = json_object();
    json_object_set_new(o, "parent", clause_json(n->parent));
    json_object_set_new(o, "prev", clause_json(n->prev));
    json_object_set_new(o, "next", clause_json(n->next));
    json_t *children = json_array();
    for (size_t i = 0; i < n->nchildren; i++)
        json_array_append_new(children, clause_json(&n->children[i]));
    json_object_set_new(o, "children", children);
    return dump(o);
}

char *codec_suggest_json(const struct kb_search_completions *l, const char *prefix, size_t len)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++) {
        const struct kb_search_completion *c = &l->v[i];
        json_t *o = json_object();
        json_object_set_new(o, "text", json_string(c->text));
        json_object_set_new(o, "kind", json_string(c->title ? "title" : "term"));
        set_str(o, "id", c->id);
        set_str(o, "doc_kind", c->doc_kind);
        json_array_append_new(arr, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "query", json_stringn(prefix, len));
    json_object_set_new(o, "suggestions", arr);
    return dump(o);
}

char *codec_standards_json(const struct kb_search_stds *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->n; i++) {
        const struct kb_search_std *s = &l->v[i];
        json_t *o = json_object();
        json_object_set_new(o, "std", json_string(s->std));
        set_str(o, "code", s->code);
        set_str(o, "title", s->title);
        json_object_set_new(o, "clauses", json_integer(s->clauses));
        json_array_append_new(arr, o);
    }
    return dump(arr);
}
