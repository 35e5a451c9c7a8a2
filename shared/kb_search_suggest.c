/* kb_search_suggest: completions for what a user is typing: the titles of
 * the documents the caller may see (cached per index revision in the
 * searcher), then frequent index words, counted over the documents the
 * caller may see. */
#include "kb_search_int.h"
#include "kb_schema.h"
#include "kb_vis.h"

#include <stdlib.h>
#include <string.h>

void kbs_titles_free(kb_searcher *s)
{
    for (size_t i = 0; i < s->ntitles; i++) {
        free(s->titles[i].id);
        free(s->titles[i].title);
        free(s->titles[i].norm);
        free(s->titles[i].kind);
        free(s->titles[i].visibility);
    }
    free(s->titles);
    s->titles = NULL;
    s->ntitles = 0;
    s->titles_loaded = 0;
}

/* ---- suggestions ------------------------------------------------------------------------ */

static int load_title(void *ud, const char *term, size_t len, uint32_t tf)
{
    (void)tf;
    kb_searcher *s = ud;
    char *idt = kb_xstrndup(term, len);
    char *data = NULL;
    size_t dl = 0;
    if (kbx_db_get_data(s->db, idt, &data, &dl) == 0) {
        struct kb_doc *d = kb_doc_unpack(data, dl, NULL, 0);
        if (d && d->title) {
            char *norm = NULL;
            size_t nl = 0;
            if (kb_analyzer_normalize(s->an, d->title, strlen(d->title), &norm, &nl, NULL, 0) ==
                0) {
                s->titles = kb_xrealloc(s->titles, (s->ntitles + 1) * sizeof *s->titles);
                struct title_entry *e = &s->titles[s->ntitles++];
                e->id = kb_xstrdup(d->id);
                e->title = kb_xstrdup(d->title);
                e->norm = norm;
                e->kind = kb_xstrdup(kb_kind_name(d->kind));
                e->visibility = kb_xstrdup(d->visibility);
            }
        }
        kb_doc_free(d);
    }
    free(data);
    free(idt);
    return 0;
}

struct term_sugg {
    char *term;
    uint32_t tf;
};

struct term_ctx {
    struct term_sugg *v;
    size_t n, cap;
    size_t plen;
};

static int collect_term(void *ud, const char *term, size_t len, uint32_t tf)
{
    struct term_ctx *c = ud;
    if (len <= c->plen || c->n >= 5000)
        return 0;
    /* whole words only: skip stems, prefixed and bigram-looking terms */
    if (term[0] >= 'A' && term[0] <= 'Z')
        return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = kb_xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n].term = kb_xstrndup(term, len);
    c->v[c->n].tf = tf;
    c->n++;
    return 0;
}

/* collect_term for a public caller: the term counts only the public
   documents holding it (its H twin counts the internal ones), and a term
   no public document holds is no completion. */
static int collect_public_term(void *ud, const char *term, size_t len, uint32_t tf,
                               uint32_t twf)
{
    uint32_t pub = kbs_public_tf(tf, twf, len);
    return pub ? collect_term(ud, term, len, pub) : 0;
}

static int cmp_tf(const void *a, const void *b)
{
    const struct term_sugg *x = a, *y = b;
    return x->tf < y->tf ? 1 : x->tf > y->tf ? -1 : strcmp(x->term, y->term);
}

/* Appends a completion; id and doc_kind may be NULL. */
static void add_completion(struct kb_search_completions *out, char *text, int title,
                           const char *id, const char *doc_kind)
{
    out->v = kb_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
    struct kb_search_completion *c = &out->v[out->n++];
    c->text = text;
    c->title = title;
    c->id = id ? kb_xstrdup(id) : NULL;
    c->doc_kind = doc_kind ? kb_xstrdup(doc_kind) : NULL;
}

void kb_search_completions_fin(struct kb_search_completions *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].text);
        free(l->v[i].id);
        free(l->v[i].doc_kind);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

int kb_search_suggest(kb_searcher *s, const char *prefix, size_t len, int internal, size_t max,
                      struct kb_search_completions *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (kbs_usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    if (max == 0)
        max = 8;
    if (len > KB_SEARCH_MAX_PREFIX) {
        kb_seterr(err, errlen, "[suggest] prefix too long: %zu bytes (at most %d)", len,
                  KB_SEARCH_MAX_PREFIX);
        return KB_SEARCH_EINPUT;
    }
    char *np = NULL;
    size_t nl = 0;
    int rc = kb_analyzer_normalize(s->an, prefix, len, &np, &nl, err, errlen);
    if (rc < 0)
        return rc == KB_AN_EINPUT ? KB_SEARCH_EINPUT : KB_SEARCH_EINTERNAL;
    kb_strip(np);
    nl = strlen(np);
    if (!s->titles_loaded || s->titles_rev != s->rev) {
        kbs_titles_free(s);
        kbx_db_allterms(s->db, KB_PREFIX_ID, load_title, s);
        s->titles_loaded = 1;
        s->titles_rev = s->rev;
    }
    size_t n = 0;
    if (nl) {
        /* titles: those starting with the prefix first, then containing it */
        for (int pass = 0; pass < 2 && n < max; pass++) {
            for (size_t i = 0; i < s->ntitles && n < max; i++) {
                const struct title_entry *e = &s->titles[i];
                if (!kb_vis_may_see(e->visibility, internal))
                    continue;
                const char *at = strstr(e->norm, np);
                if (!at || (pass == 0) != (at == e->norm))
                    continue;
                add_completion(out, kb_xstrdup(e->title), 1, e->id, e->kind);
                n++;
            }
        }
        /* index words starting with the last word typed */
        const char *last = np + nl;
        while (last > np && last[-1] != ' ')
            last--;
        size_t ll = strlen(last);
        if (n < max && ll) {
            struct term_ctx tc = {0};
            tc.plen = ll;
            if (internal || !kbs_has_internal(s))
                kbx_db_allterms(s->db, last, collect_term, &tc);
            else
                kbx_db_allterms_twin(s->db, last, KB_PREFIX_INTERNAL, collect_public_term, &tc);
            if (tc.n)
                qsort(tc.v, tc.n, sizeof *tc.v, cmp_tf);
            for (size_t i = 0; i < tc.n && n < max; i++) {
                struct kb_buf t;
                kb_buf_init(&t);
                kb_buf_add(&t, np, (size_t)(last - np));
                kb_buf_adds(&t, tc.v[i].term);
                add_completion(out, kb_buf_take(&t), 0, NULL, NULL);
                n++;
            }
            for (size_t i = 0; i < tc.n; i++)
                free(tc.v[i].term);
            free(tc.v);
        }
    }
    free(np);
    return 0;
}
