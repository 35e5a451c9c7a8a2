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
static void doc_refs(kb_searcher *s, const struct kb_doc *d, int internal,
                     struct kb_search_doc *out)
{
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
                    if (kb_search_may_see(s, id, internal) == 1) {
                        out->refs =
                            kb_xrealloc(out->refs, (out->nrefs + 1) * sizeof *out->refs);
                        out->refs[out->nrefs++] = kb_xstrdup(id);
                    }
                }
                free(id);
            }
            p = e;
        }
    }
    kb_map_free(seen, NULL);
}

/* The document a look-up by id starts from (load_doc), on a usable
 * searcher; NULL with *rc KB_SEARCH_EINDEX (err: the index's error) or
 * KB_SEARCH_ENOTFOUND (err: no document with that id). */
static struct kb_doc *doc_for(kb_searcher *s, const char *id, int internal, int *rc, char *err,
                              size_t errlen)
{
    *rc = KB_SEARCH_EINDEX;
    if (kbs_usable(s, err, errlen) < 0)
        return NULL;
    int ie;
    struct kb_doc *d = load_doc(s, id, internal, &ie);
    if (!d) {
        kb_seterr(err, errlen, ie ? "[search] %s" : "no document with id %s",
                  ie ? kbx_db_errmsg(s->db) : id ? id : "");
        *rc = ie ? KB_SEARCH_EINDEX : KB_SEARCH_ENOTFOUND;
        return NULL;
    }
    *rc = 0;
    return d;
}

int kb_search_get_doc(kb_searcher *s, const char *id, int internal, struct kb_search_doc *out,
                      char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc;
    struct kb_doc *d = doc_for(s, id, internal, &rc, err, errlen);
    if (!d)
        return rc;
    out->doc = d;
    out->std = kbs_std_slug(d);
    if (d->kind == KB_KIND_STANDARD)
        out->standard = kbs_standard_label(d);
    doc_refs(s, d, internal, out);
    return 0;
}

void kb_search_doc_fin(struct kb_search_doc *d)
{
    if (!d)
        return;
    kb_doc_free(d->doc);
    free(d->std);
    free(d->standard);
    for (size_t i = 0; i < d->nrefs; i++)
        free(d->refs[i]);
    free(d->refs);
    memset(d, 0, sizeof *d);
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

/* The clause of this standard the caller may see, or 0 (*c zeroed). */
static int clause_ref(kb_searcher *s, const char *slug, const char *clause, int internal,
                      struct kb_search_clause *c)
{
    memset(c, 0, sizeof *c);
    struct kb_buf id;
    kb_buf_init(&id);
    kb_buf_printf(&id, "std-%s:%s", slug, clause);
    int ie;
    struct kb_doc *d = load_doc(s, id.data, internal, &ie);
    if (d) {
        c->id = kb_xstrdup(d->id);
        c->clause = kb_xstrdup(d->clause);
        c->heading = kb_xstrdup(d->heading);
        kb_doc_free(d);
    }
    kb_buf_fin(&id);
    return d != NULL;
}

/* A new clause reference for clause, or NULL when the caller may not see it. */
static struct kb_search_clause *clause_new(kb_searcher *s, const char *slug, const char *clause,
                                           int internal)
{
    struct kb_search_clause c;
    if (!clause_ref(s, slug, clause, internal, &c))
        return NULL;
    struct kb_search_clause *r = kb_xmalloc(sizeof *r);
    *r = c;
    return r;
}

static void clause_fin(struct kb_search_clause *c)
{
    free(c->id);
    free(c->clause);
    free(c->heading);
}

static void clause_free(struct kb_search_clause *c)
{
    if (c)
        clause_fin(c);
    free(c);
}

void kb_search_nav_fin(struct kb_search_nav *n)
{
    if (!n)
        return;
    clause_free(n->parent);
    clause_free(n->prev);
    clause_free(n->next);
    for (size_t i = 0; i < n->nchildren; i++)
        clause_fin(&n->children[i]);
    free(n->children);
    memset(n, 0, sizeof *n);
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

int kb_search_clause_nav(kb_searcher *s, const char *id, int internal, struct kb_search_nav *out,
                         char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc;
    struct kb_doc *d = doc_for(s, id, internal, &rc, err, errlen);
    if (rc == KB_SEARCH_EINDEX)
        return rc;
    char *slug = d ? kbs_std_slug(d) : NULL;
    if (!d || !slug || d->kind != KB_KIND_STANDARD || !d->clause) {
        kb_seterr(err, errlen, "no standard clause with id %s", id ? id : "");
        kb_doc_free(d);
        free(slug);
        return KB_SEARCH_ENOTFOUND;
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
    if (parent[0])
        out->parent = clause_new(s, slug, parent, internal);
    const char *prev = NULL, *next = NULL;
    int seen = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (child_of(all.v[i], parent)) {
            if (!strcmp(all.v[i], d->clause))
                seen = 1;
            else if (!seen)
                prev = all.v[i];
            else if (!next)
                next = all.v[i];
        }
        struct kb_search_clause c;
        /* a child the caller may not see is left out */
        if (child_of(all.v[i], d->clause) && clause_ref(s, slug, all.v[i], internal, &c)) {
            out->children =
                kb_xrealloc(out->children, (out->nchildren + 1) * sizeof *out->children);
            out->children[out->nchildren++] = c;
        }
    }
    if (prev)
        out->prev = clause_new(s, slug, prev, internal);
    if (next)
        out->next = clause_new(s, slug, next, internal);
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
    struct kb_search_stds *out;
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
    c->out->v = kb_xrealloc(c->out->v, (c->out->n + 1) * sizeof *c->out->v);
    struct kb_search_std *o = &c->out->v[c->out->n++];
    memset(o, 0, sizeof *o);
    o->std = slug;
    if (first.n) {
        struct kb_buf id;
        kb_buf_init(&id);
        kb_buf_printf(&id, "std-%s:%s", slug, first.v[0]);
        int ie;
        struct kb_doc *d = load_doc(c->s, id.data, c->internal, &ie);
        if (d) {
            o->code = kb_xstrdup(d->std_code ? d->std_code : "");
            o->title = kb_xstrdup(d->std_title ? d->std_title : "");
            kb_doc_free(d);
        }
        kb_buf_fin(&id);
    }
    o->clauses = tf;
    for (size_t i = 0; i < first.n; i++)
        free(first.v[i]);
    free(first.v);
    return 0;
}

int kb_search_standards(kb_searcher *s, int internal, struct kb_search_stds *out, char *err,
                        size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (kbs_usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    struct std_ctx c = {s, out, internal};
    if (kbx_db_allterms(s->db, KB_PREFIX_STD, one_standard, &c) < 0) {
        kb_seterr(err, errlen, "[search] %s", kbx_db_errmsg(s->db));
        kb_search_stds_fin(out);
        return KB_SEARCH_EINDEX;
    }
    return 0;
}

void kb_search_stds_fin(struct kb_search_stds *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].std);
        free(l->v[i].code);
        free(l->v[i].title);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}
