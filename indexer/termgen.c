/* termgen: kb_doc -> Xapian document (see kb_schema.h for the layout; an
 * internal document's terms get their H twins here, kb_vis.h says why). */
#include "termgen.h"
#include "kb_schema.h"
#include "kb_util.h"
#include "kb_vis.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen {
    kbx_doc *xd;
    uint32_t base;      /* position offset of the current field */
    uint32_t wdf;
    const char *extra;  /* also add each term with this prefix (no positions) */
    int failed;
    int internal;       /* an internal document: H twins of its terms */
    struct termgen_words *words;
    struct kb_buf tmp;
};

int termgen_spelling_term(const char *t, size_t len)
{
    if (len == 0 || (t[0] >= 'A' && t[0] <= 'Z'))
        return 0; /* prefixed */
    size_t han = 0, alpha = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c >= 'a' && c <= 'z')
            alpha++;
        else if (c >= 0xE4 && c <= 0xE9)
            han++; /* lead byte of U+4E00..U+9FFF */
        else if (c < 0x80)
            return 0; /* digits, punctuation: codes are not spelled */
    }
    if (alpha == len)
        return len >= 3 && len <= 30;
    /* CJK words of 3 to 8 characters (bigrams are not words) */
    return alpha == 0 && han >= 3 && han <= 8 && han * 3 == len;
}

static size_t word_slot(const struct termgen_words *w, const char *t, size_t len)
{
    size_t mask = w->nslot - 1, i = (size_t)kb_hash64(t, len) & mask;
    for (;; i = (i + 1) & mask) {
        size_t k = w->slot[i];
        if (!k || (strlen(w->v[k - 1]) == len && memcmp(w->v[k - 1], t, len) == 0))
            return i;
    }
}

/* Appends t[0..len) unless already there: a hash index over v keeps this
 * linear in the document's words (a long document has thousands). */
static void add_word(struct termgen_words *w, const char *t, size_t len)
{
    if (w->nslot < 2 * (w->n + 1)) {
        free(w->slot);
        w->nslot = w->nslot ? w->nslot * 2 : 128;
        w->slot = kb_xcalloc(w->nslot, sizeof *w->slot);
        for (size_t i = 0; i < w->n; i++)
            w->slot[word_slot(w, w->v[i], strlen(w->v[i]))] = i + 1;
    }
    size_t s = word_slot(w, t, len);
    if (w->slot[s])
        return;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->v = kb_xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = kb_xstrndup(t, len);
    w->slot[s] = w->n;
}

void termgen_words_fin(struct termgen_words *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    free(w->slot);
    w->v = NULL;
    w->slot = NULL;
    w->n = w->cap = w->nslot = 0;
}

static int on_token(void *ud, const struct kb_token *tk)
{
    struct gen *g = ud;
    if (kbx_doc_add_posting(g->xd, tk->term, tk->len, g->base + tk->pos, g->wdf) < 0) {
        g->failed = 1;
        return 1;
    }
    if (g->internal && tk->len && !(tk->term[0] >= 'A' && tk->term[0] <= 'Z')) {
        /* the twin that keeps this term out of public completions */
        kb_buf_reset(&g->tmp);
        kb_buf_adds(&g->tmp, KB_PREFIX_INTERNAL);
        kb_buf_add(&g->tmp, tk->term, tk->len);
        kbx_doc_add_boolean_term(g->xd, g->tmp.data, g->tmp.len);
    }
    if (g->extra && !(tk->flags & KB_TOKF_STEM)) {
        kb_buf_reset(&g->tmp);
        kb_buf_adds(&g->tmp, g->extra);
        kb_buf_add(&g->tmp, tk->term, tk->len);
        kbx_doc_add_term(g->xd, g->tmp.data, g->tmp.len, 1);
    }
    if (g->words && (tk->flags & KB_TOKF_WORD) && termgen_spelling_term(tk->term, tk->len))
        add_word(g->words, tk->term, tk->len);
    return 0;
}

static int index_field(kb_analyzer *an, struct gen *g, const char *text, uint32_t wdf,
                       const char *extra, char *err, size_t errlen)
{
    if (!text || !*text)
        return 0;
    uint32_t npos = 0;
    g->wdf = wdf;
    g->extra = extra;
    int rc = kb_analyze(an, KB_TOK_DOCUMENT, text, strlen(text), on_token, g, &npos, err,
                        errlen);
    if (g->failed) {
        kb_seterr(err, errlen, "[termgen] %s", kbx_doc_errmsg(g->xd));
        return -1;
    }
    if (rc < 0)
        return -1;
    g->base += npos + KB_FIELD_GAP;
    return 0;
}

/* Adds prefix + normalised value as a boolean term. */
static void add_bool(kb_analyzer *an, kbx_doc *xd, const char *prefix, const char *value,
                     size_t vlen, int normalise)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_adds(&b, prefix);
    char *norm = NULL;
    size_t nlen = 0;
    if (normalise && kb_analyzer_normalize(an, value, vlen, &norm, &nlen, NULL, 0) == 0)
        kb_buf_add(&b, norm, nlen);
    else
        kb_buf_add(&b, value, vlen);
    free(norm);
    if (b.len > strlen(prefix))
        kbx_doc_add_boolean_term(xd, b.data, b.len);
    kb_buf_fin(&b);
}

/* Each comma-separated item (ASCII or full-width comma) as a boolean term. */
static void add_list(kb_analyzer *an, kbx_doc *xd, const char *prefix, const char *list)
{
    const char *p = list;
    while (p && *p) {
        const char *e = p;
        while (*e && *e != ',' && strncmp(e, "，", 3) != 0 && strncmp(e, "、", 3) != 0)
            e++;
        char *item = kb_strip(kb_xstrndup(p, (size_t)(e - p)));
        if (*item)
            add_bool(an, xd, prefix, item, strlen(item), 1);
        free(item);
        p = *e == ',' ? e + 1 : (*e ? e + 3 : e);
    }
}

/* C<category> for every level: 网络/VPN gives C网络 and C网络/vpn. */
static void add_category(kb_analyzer *an, kbx_doc *xd, const char *cat)
{
    for (const char *s = strchr(cat, '/');; s = strchr(s + 1, '/')) {
        size_t n = s ? (size_t)(s - cat) : strlen(cat);
        add_bool(an, xd, KB_PREFIX_CATEGORY, cat, n, 1);
        if (!s)
            break;
    }
}

void termgen_clause_key(const char *clause, char *out, size_t cap)
{
    struct kb_buf b;
    kb_buf_init(&b);
    const char *p = clause;
    while (*p) {
        if (*p >= '0' && *p <= '9') {
            long v = strtol(p, (char **)&p, 10);
            kb_buf_printf(&b, "%03ld", v % 1000);
        } else {
            if (*p != '.')
                kb_buf_addc(&b, *p);
            p++;
        }
    }
    snprintf(out, cap, "%s", b.data ? b.data : "");
    kb_buf_fin(&b);
}

static void set_value(kbx_doc *xd, unsigned slot, const char *v)
{
    if (v && *v)
        kbx_doc_set_value(xd, slot, v, strlen(v));
}

/* The standard's slug from the id "std-<slug>:<clause>". */
static char *std_slug(const struct kb_doc *d)
{
    const char *colon = strrchr(d->id, ':');
    if (strncmp(d->id, "std-", 4) != 0 || !colon)
        return kb_xstrdup(d->id);
    return kb_xstrndup(d->id + 4, (size_t)(colon - d->id - 4));
}

int termgen_doc(kb_analyzer *an, const struct kb_doc *d, kbx_doc **out,
                struct termgen_words *words, char *err, size_t errlen)
{
    *out = NULL;
    struct gen g = {0};
    g.xd = kbx_doc_new();
    g.words = words;
    g.internal = !kb_vis_may_see(d->visibility, 0);
    kb_buf_init(&g.tmp);
    int rc = -1;
    if (!g.xd) {
        kb_seterr(err, errlen, "[termgen] cannot allocate a document");
        goto done;
    }
    /* weighted fields first, then the bodies (see kb_schema.h) */
    static const struct {
        size_t off;
        uint32_t wdf;
        const char *extra;
    } fields[] = {
        {offsetof(struct kb_doc, title), KB_WDF_TITLE, KB_PREFIX_TITLE},
        {offsetof(struct kb_doc, heading), KB_WDF_TITLE, KB_PREFIX_TITLE},
        {offsetof(struct kb_doc, path), KB_WDF_PATH, KB_PREFIX_TITLE},
        {offsetof(struct kb_doc, tags), KB_WDF_TITLE, NULL},
        {offsetof(struct kb_doc, product), KB_WDF_TITLE, NULL},
        {offsetof(struct kb_doc, service), KB_WDF_TITLE, NULL},
        {offsetof(struct kb_doc, std_code), KB_WDF_TITLE, NULL},
        {offsetof(struct kb_doc, symptom), KB_WDF_BODY, NULL},
        {offsetof(struct kb_doc, cause), KB_WDF_BODY, NULL},
        {offsetof(struct kb_doc, workaround), KB_WDF_BODY, NULL},
        {offsetof(struct kb_doc, resolution), KB_WDF_BODY, NULL},
        {offsetof(struct kb_doc, body), KB_WDF_BODY, NULL},
        {offsetof(struct kb_doc, category), KB_WDF_BODY, NULL},
        {offsetof(struct kb_doc, std_title), KB_WDF_BODY, KB_PREFIX_STDTITLE},
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        const char *text = *(char *const *)((const char *)d + fields[i].off);
        if (fields[i].off == offsetof(struct kb_doc, body) && d->body_composed)
            continue; /* its sub-clauses are indexed with this text */
        if (index_field(an, &g, text, fields[i].wdf, fields[i].extra, err, errlen) < 0)
            goto done;
    }

    kbx_doc *xd = g.xd;
    const char *kind = kb_kind_name(d->kind);
    add_bool(an, xd, KB_PREFIX_KIND, kind, strlen(kind), 0);
    const char *vis = d->visibility ? d->visibility : "public";
    add_bool(an, xd, KB_PREFIX_VIS, vis, strlen(vis), 0);
    if (d->category && *d->category)
        add_category(an, xd, d->category);
    if (d->lang)
        add_bool(an, xd, KB_PREFIX_LANG, d->lang, strlen(d->lang), 0);
    if (d->tags)
        add_list(an, xd, KB_PREFIX_TAG, d->tags);
    if (d->product && *d->product)
        add_bool(an, xd, KB_PREFIX_PRODUCT, d->product, strlen(d->product), 1);
    if (d->status)
        add_bool(an, xd, KB_PREFIX_STATUS, d->status, strlen(d->status), 0);
    if (d->service && *d->service)
        add_bool(an, xd, KB_PREFIX_SERVICE, d->service, strlen(d->service), 1);
    char key[128];
    char *slug = NULL;
    if (d->kind == KB_KIND_STANDARD && d->clause) {
        slug = std_slug(d);
        add_bool(an, xd, KB_PREFIX_STD, slug, strlen(slug), 0);
        /* N<clause> carries a wdf, so a clause number in a query can give
           the clause itself a weight (and not only filter on it) */
        struct kb_buf b;
        kb_buf_init(&b);
        kb_buf_printf(&b, "%s%s", KB_PREFIX_CLAUSE, d->clause);
        kbx_doc_add_term(xd, b.data, b.len, 1);
        kb_buf_reset(&b);
        kb_buf_printf(&b, "%s:%s", slug, d->clause);
        add_bool(an, xd, KB_PREFIX_CLAUSE, b.data, b.len, 0);
        kb_buf_fin(&b);
        set_value(xd, KB_SLOT_STD_SLUG, slug);
        termgen_clause_key(d->clause, key, sizeof key);
        set_value(xd, KB_SLOT_CLAUSE_KEY, key);
        set_value(xd, KB_SLOT_STD, d->std_code && *d->std_code ? d->std_code : d->std_title);
    }
    set_value(xd, KB_SLOT_KIND, kind);
    set_value(xd, KB_SLOT_CATEGORY, d->category);
    /* the three facets in one value: the search reads one value per
       matching document instead of three */
    struct kb_buf fb;
    kb_buf_init(&fb);
    kb_buf_printf(&fb, "%s%c%s%c%s", kind, KBX_FACET_SEP, d->category ? d->category : "",
                  KBX_FACET_SEP, slug ? slug : "");
    kbx_doc_set_value(xd, KB_SLOT_FACETS, fb.data, fb.len);
    kb_buf_fin(&fb);
    free(slug);
    set_value(xd, KB_SLOT_UPDATED, d->updated);
    set_value(xd, KB_SLOT_LANG, d->lang);
    set_value(xd, KB_SLOT_VISIBILITY, vis);
    set_value(xd, KB_SLOT_SOURCE, d->source);
    set_value(xd, KB_SLOT_STATUS, d->status);
    size_t plen = 0;
    char *packed = kb_doc_pack(d, an, &plen);
    kbx_doc_set_data(xd, packed, plen);
    free(packed);
    *out = g.xd;
    g.xd = NULL;
    rc = 0;
done:
    kbx_doc_free(g.xd);
    kb_buf_fin(&g.tmp);
    return rc;
}
