/* kb_search_doc: looking up what the index holds, for a caller allowed to
 * see it: one stored document with the ids its text links, a standard
 * clause's neighbours (parent, siblings, children) and the list of
 * standards. */
#include "kb_search_int.h"
#include "kb_schema.h"
#include "kb_vis.h"

#include <stdlib.h>
#include <string.h>

char *kbs_std_slug(const struct kb_doc *d)
{
    const char *colon = d->id ? strrchr(d->id, ':') : NULL;
    if (!d->id || strncmp(d->id, "std-", 4) != 0 || !colon)
        return NULL;
    return kb_xstrndup(d->id + 4, (size_t)(colon - d->id - 4));
}

char *kbs_standard_label(const struct kb_doc *d)
{
    struct kb_buf b;
    kb_buf_init(&b);
    if (d->std_code && *d->std_code)
        kb_buf_adds(&b, d->std_code);
    if (d->std_title && *d->std_title) {
        if (b.len)
            kb_buf_addc(&b, ' ');
        kb_buf_adds(&b, d->std_title);
    }
    return kb_buf_take(&b);
}

/* ---- documents, navigation, standards --------------------------------------------------- */

/* Loads a document by id (NULL if absent, or internal and not allowed). */
static struct kb_doc *load_doc(kb_searcher *s, const char *id, int internal, int *index_error)
{
    *index_error = 0;
    if (!id || !*id || strlen(id) > 200)
        return NULL;
    struct kb_buf t;
    kb_buf_init(&t);
    kb_buf_printf(&t, "%s%s", KB_PREFIX_ID, id);
    char *data = NULL;
    size_t len = 0;
    int rc = kbx_db_get_data(s->db, t.data, &data, &len);
    kb_buf_fin(&t);
    if (rc < 0) {
        *index_error = rc != KBX_ERR_NOTFOUND && rc != KBX_ERR_INVALID && rc != KBX_ERR_TOOLONG;
        return NULL;
    }
    struct kb_doc *d = kb_doc_unpack(data, len, NULL, 0);
    free(data);
    if (d && !kb_vis_may_see(d->visibility, internal)) {
        kb_doc_free(d);
        return NULL;
    }
    return d;
}

/* The ids named in a document's text (runs of letters, digits, '_' and
 * '-' holding a '-' and a digit, as KB-0045) of the documents the caller
 * may see, each once, in order: the page links these and shows every
 * other id as plain text. */
static json_t *doc_refs(kb_searcher *s, const struct kb_doc *d, int internal)
{
    json_t *refs = json_array();
    const char *texts[] = {d->body, d->symptom, d->cause, d->workaround, d->resolution};
    kb_map *seen = kb_map_new();
    size_t looked = 0;
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        const char *p = texts[k];
        while (p && *p && looked < 256) {
            const char *e = p;
            int dash = 0, digit = 0;
            while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') ||
                   (*e >= '0' && *e <= '9') || *e == '-' || *e == '_') {
                dash |= *e == '-';
                digit |= *e >= '0' && *e <= '9';
                e++;
            }
            if (e == p) {
                p++;
                continue;
            }
            if (dash && digit && e - p <= 200) {
                char *id = kb_xstrndup(p, (size_t)(e - p));
                if (strcmp(id, d->id ? d->id : "") != 0 && !kb_map_get(seen, id)) {
                    kb_map_put(seen, id, (void *)1);
                    looked++;
                    if (kb_search_may_see(s, id, internal) == 1)
                        json_array_append_new(refs, json_string(id));
                }
                free(id);
            }
            p = e;
        }
    }
    kb_map_free(seen, NULL);
    return refs;
}

int kb_search_get_doc(kb_searcher *s, const char *id, int internal, char **json, char *err,
                      size_t errlen)
{
    *json = NULL;
    if (kbs_usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    int ie;
    struct kb_doc *d = load_doc(s, id, internal, &ie);
    if (!d) {
        kb_seterr(err, errlen, ie ? "[search] %s" : "no document with id %s",
                  ie ? kbx_db_errmsg(s->db) : id);
        return ie ? KB_SEARCH_EINDEX : KB_SEARCH_ENOTFOUND;
    }
    char *dj = kb_doc_to_json(d);
    json_t *o = json_loads(dj, 0, NULL);
    free(dj);
    char *slug = kbs_std_slug(d);
    if (o && slug)
        json_object_set_new(o, "std", json_string(slug));
    if (o && d->kind == KB_KIND_STANDARD) {
        char *label = kbs_standard_label(d);
        json_object_set_new(o, "standard", json_string(label));
        free(label);
    }
    if (o)
        json_object_set_new(o, "refs", doc_refs(s, d, internal));
    free(slug);
    kb_doc_free(d);
    *json = kbs_dump(o);
    return 0;
}

struct clauses {
    char **v;
    size_t n, cap;
    size_t plen;
};

static int collect_clause(void *ud, const char *term, size_t len, uint32_t tf)
{
    (void)tf;
    struct clauses *c = ud;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->v = kb_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = kb_xstrndup(term + c->plen, len - c->plen);
    return 0;
}

/* Compares clause numbers numerically, part by part. */
static int clause_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y)
            return x < y ? -1 : 1;
        if (*a == '.')
            a++;
        if (*b == '.')
            b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int cmp_clause_p(const void *a, const void *b)
{
    return clause_cmp(*(char *const *)a, *(char *const *)b);
}

static json_t *clause_ref(kb_searcher *s, const char *slug, const char *clause, int internal)
{
    struct kb_buf id;
    kb_buf_init(&id);
    kb_buf_printf(&id, "std-%s:%s", slug, clause);
    int ie;
    struct kb_doc *d = load_doc(s, id.data, internal, &ie);
    json_t *o = json_null();
    if (d) {
        o = json_object();
        kbs_set_str(o, "id", d->id);
        kbs_set_str(o, "clause", d->clause);
        kbs_set_str(o, "heading", d->heading);
        kb_doc_free(d);
    }
    kb_buf_fin(&id);
    return o;
}

/* Is c a direct child of parent ("" for top level)? */
static int child_of(const char *c, const char *parent)
{
    size_t pl = strlen(parent);
    if (pl) {
        if (strncmp(c, parent, pl) != 0 || c[pl] != '.')
            return 0;
        c += pl + 1;
    }
    return *c && !strchr(c, '.');
}

int kb_search_clause_nav(kb_searcher *s, const char *id, int internal, char **json, char *err,
                         size_t errlen)
{
    *json = NULL;
    if (kbs_usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    int ie;
    struct kb_doc *d = load_doc(s, id, internal, &ie);
    char *slug = d ? kbs_std_slug(d) : NULL;
    if (!d || !slug || d->kind != KB_KIND_STANDARD || !d->clause) {
        kb_seterr(err, errlen, "no standard clause with id %s", id ? id : "");
        kb_doc_free(d);
        free(slug);
        return ie ? KB_SEARCH_EINDEX : KB_SEARCH_ENOTFOUND;
    }
    struct clauses all = {0};
    struct kb_buf pre;
    kb_buf_init(&pre);
    kb_buf_printf(&pre, "%s%s:", KB_PREFIX_CLAUSE, slug);
    all.plen = pre.len;
    kbx_db_allterms(s->db, pre.data, collect_clause, &all);
    kb_buf_fin(&pre);
    if (all.n)
        qsort(all.v, all.n, sizeof *all.v, cmp_clause_p);
    char *parent = kb_xstrdup(d->clause);
    char *dot = strrchr(parent, '.');
    if (dot)
        *dot = '\0';
    else
        parent[0] = '\0';
    json_t *o = json_object();
    json_object_set_new(o, "parent",
                        parent[0] ? clause_ref(s, slug, parent, internal) : json_null());
    const char *prev = NULL, *next = NULL;
    int seen = 0;
    json_t *children = json_array();
    for (size_t i = 0; i < all.n; i++) {
        if (child_of(all.v[i], parent)) {
            if (!strcmp(all.v[i], d->clause))
                seen = 1;
            else if (!seen)
                prev = all.v[i];
            else if (!next)
                next = all.v[i];
        }
        if (child_of(all.v[i], d->clause)) {
            json_t *c = clause_ref(s, slug, all.v[i], internal);
            if (json_is_null(c))
                json_decref(c); /* not one the caller may see */
            else
                json_array_append_new(children, c);
        }
    }
    json_object_set_new(o, "prev", prev ? clause_ref(s, slug, prev, internal) : json_null());
    json_object_set_new(o, "next", next ? clause_ref(s, slug, next, internal) : json_null());
    json_object_set_new(o, "children", children);
    *json = kbs_dump(o);
    for (size_t i = 0; i < all.n; i++)
        free(all.v[i]);
    free(all.v);
    free(parent);
    free(slug);
    kb_doc_free(d);
    return 0;
}

struct std_ctx {
    kb_searcher *s;
    json_t *arr;
    int internal;
};

static int one_standard(void *ud, const char *term, size_t len, uint32_t tf)
{
    struct std_ctx *c = ud;
    char *slug = kb_xstrndup(term + 1, len - 1);
    struct clauses first = {0};
    struct kb_buf pre;
    kb_buf_init(&pre);
    kb_buf_printf(&pre, "%s%s:", KB_PREFIX_CLAUSE, slug);
    first.plen = pre.len;
    kbx_db_allterms(c->s->db, pre.data, collect_clause, &first);
    kb_buf_fin(&pre);
    json_t *o = json_object();
    json_object_set_new(o, "std", json_string(slug));
    if (first.n) {
        struct kb_buf id;
        kb_buf_init(&id);
        kb_buf_printf(&id, "std-%s:%s", slug, first.v[0]);
        int ie;
        struct kb_doc *d = load_doc(c->s, id.data, c->internal, &ie);
        if (d) {
            json_object_set_new(o, "code", json_string(d->std_code ? d->std_code : ""));
            json_object_set_new(o, "title", json_string(d->std_title ? d->std_title : ""));
            kb_doc_free(d);
        }
        kb_buf_fin(&id);
    }
    json_object_set_new(o, "clauses", json_integer(tf));
    json_array_append_new(c->arr, o);
    for (size_t i = 0; i < first.n; i++)
        free(first.v[i]);
    free(first.v);
    free(slug);
    return 0;
}

int kb_search_standards(kb_searcher *s, int internal, char **json, char *err, size_t errlen)
{
    *json = NULL;
    if (kbs_usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    struct std_ctx c = {s, json_array(), internal};
    if (kbx_db_allterms(s->db, KB_PREFIX_STD, one_standard, &c) < 0) {
        kb_seterr(err, errlen, "[search] %s", kbx_db_errmsg(s->db));
        json_decref(c.arr);
        *json = NULL;
        return KB_SEARCH_EINDEX;
    }
    *json = kbs_dump(c.arr);
    return 0;
}
