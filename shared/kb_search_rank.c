/* kb_search_rank: running a search and the result structs.
 *
 * kb_search_run builds the query (kb_search_query.c), runs it in two passes
 * (the plain query for the total, the facets and the best candidates; the
 * title and proximity boosts over those candidates only), re-ranks
 * standard sections below their own matching sub-clauses, fills the hits
 * (snippets from kb_search_snippet.c) and offers a spelling correction
 * (kb_search_typo.c): a Chinese sound-alike fix whenever one is found, an
 * English one when little matched; it searches with the correction when
 * the query matched nothing, or at once for a "sure" Chinese fix. */
#include "kb_search_int.h"
#include "kb_clock.h"
#include "kb_schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- results ------------------------------------------------------------------- */

static void hit_fin(struct kb_hit *h)
{
    char **f[] = {&h->id, &h->kind, &h->title, &h->snippet, &h->category, &h->updated,
                  &h->visibility, &h->workaround, &h->status, &h->service, &h->std,
                  &h->standard, &h->clause, &h->heading, &h->path};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        free(*f[i]);
}

static void facets_fin(struct kb_facets *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].value);
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

void kb_search_res_keep(struct kb_search_res *res, size_t n)
{
    for (size_t i = n; i < res->nhits; i++)
        hit_fin(&res->hits[i]);
    if (n < res->nhits)
        res->nhits = n;
}

void kb_search_res_fin(struct kb_search_res *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nhits; i++)
        hit_fin(&r->hits[i]);
    free(r->hits);
    facets_fin(&r->kind);
    facets_fin(&r->category);
    facets_fin(&r->standard);
    free(r->suggestion);
    free(r->corrected);
    memset(r, 0, sizeof *r);
}

static int add_facet(void *ud, const char *v, size_t len, uint32_t count)
{
    struct kb_facets *f = ud;
    f->v = kb_xrealloc(f->v, (f->n + 1) * sizeof *f->v);
    f->v[f->n].value = kb_xstrndup(v, len);
    f->v[f->n].count = count;
    f->n++;
    return 0;
}

static struct kb_doc *load_doc_data(kbx_mset *m, size_t i);

/* Fills hit h from the stored head d of mset entry i of m and its snippet
 * source src (NULL: d is the whole document); the whole document is read
 * only when the snippet source cannot give the snippet. */
static void fill_hit(kb_searcher *s, const struct hl_match *hm, size_t bytes,
                     const struct kb_doc *d, const char *src, size_t srclen, kbx_mset *m,
                     size_t i, struct kb_hit *h)
{
    h->id = kb_xstrdup(d->id);
    h->kind = kb_xstrdup(kb_kind_name(d->kind));
    h->title = kb_xstrdup(d->title ? d->title : d->id);
    h->category = kb_xstrdup(d->category);
    h->updated = kb_xstrdup(d->updated);
    h->visibility = kb_xstrdup(d->visibility);
    h->snippet = src ? kbs_src_snippet(s, hm, d->kind, src, srclen, bytes) : NULL;
    if (!h->snippet) {
        struct kb_doc *full = src ? load_doc_data(m, i) : NULL;
        h->snippet = kbs_doc_snippet(s, hm, full ? full : d, bytes);
        kb_doc_free(full);
    }
    if (d->kind == KB_KIND_KNOWN_ERROR) {
        h->workaround = kb_xstrdup(d->workaround);
        h->status = kb_xstrdup(d->status);
        h->service = kb_xstrdup(d->service);
    } else if (d->kind == KB_KIND_STANDARD) {
        h->std = kbs_std_slug(d);
        h->standard = kbs_standard_label(d);
        h->clause = kb_xstrdup(d->clause);
        h->heading = kb_xstrdup(d->heading);
        h->path = kb_xstrdup(d->path);
    }
}

/* ---- confidence ------------------------------------------------------------------- */

/* A logistic model of "this hit is the answer" over the hit's final score
 * (ln(1 + score)), its score relative to the first hit's, and whether it is
 * the first hit, fitted by tests/eval/calibrate.py on the judged queries
 * of tests/eval/queries.tsv (grade 2 = right) and the out-of-scope
 * questions of tests/eval/out_of_scope.tsv (nothing right); the table of
 * confidence against the share right is in tests/eval/RESULTS.md. Scores
 * depend on the index's statistics: refit when the corpus changes much. */
#define CONF_BIAS -12.541
#define CONF_LOGSCORE 1.976
#define CONF_RELATIVE 5.585
#define CONF_FIRST 1.748

static void set_confidence(const struct kb_search_req *req, struct kb_search_res *res)
{
    double top = res->nhits ? res->hits[0].score : 0;
    for (size_t i = 0; i < res->nhits; i++) {
        struct kb_hit *h = &res->hits[i];
        double z = CONF_BIAS + CONF_LOGSCORE * log1p(h->score > 0 ? h->score : 0) +
                   CONF_RELATIVE * (top > 0 ? h->score / top : 0) +
                   (i == 0 && req->offset == 0 ? CONF_FIRST : 0);
        h->confidence = 1.0 / (1.0 + exp(-z));
    }
    double min = req->min_confidence > 0 ? req->min_confidence : KB_SEARCH_MIN_CONFIDENCE;
    res->no_good_match = res->nhits == 0 || res->hits[0].confidence < min;
}

/* ---- running a search ---------------------------------------------------------------- */

uint32_t kb_search_limit(uint32_t asked)
{
    return asked == 0 ? KB_SEARCH_DEFAULT_LIMIT : asked > KB_SEARCH_MAX_LIMIT ? KB_SEARCH_MAX_LIMIT : asked;
}

/* ---- re-ranking ------------------------------------------------------------------------ */

#define RERANK_DEPTH 50
#define BOOST_DEPTH 50 /* candidates the title and proximity boosts may lift */
#define ORDER_DEPTH 150 /* ... when the query has Latin word-order boosts: its
                           words are mostly common ones (how, the, of), which
                           rank the first pass poorly, and the page holding
                           them in order may come far down */
#define BOOST_K1 0.5   /* BM25 k1 of the boost pass (titles, proximity) */
#define W_SECTION 0.95 /* a section entry yields to its own matching sub-clause */

struct cand {
    size_t i;           /* index in the mset */
    double w;           /* weight after re-ranking */
    struct kb_doc *doc; /* owned: the stored head (kb_doc_unpack_head) */
    char *src;          /* owned: its snippet source, or NULL */
    size_t srclen;
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->w != y->w)
        return x->w < y->w ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* A clause with no text of its own (its body is its sub-clauses', see
 * kb_doc.body_composed) is an entry for its section: when one of its own
 * sub-clauses matched too, the sub-clause holds the text that matched, so
 * the section ranks just below the best such sub-clause, unless the query
 * names the section's own number or is its heading (服务台 -> 7.8 服务台). */
/* Letters and digits of s only, for comparing a query with a heading. */
static char *squeezed(kb_searcher *s, const char *text)
{
    char *norm = NULL;
    size_t nl = 0;
    if (kb_analyzer_normalize(s->an, text, strlen(text), &norm, &nl, NULL, 0) < 0)
        return kb_xstrdup("");
    size_t o = 0;
    for (size_t i = 0; i < nl; i++) {
        unsigned char ch = (unsigned char)norm[i];
        if (ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
            norm[o++] = norm[i];
    }
    norm[o] = '\0';
    return norm;
}

static void rerank_candidates(kb_searcher *s, struct cand *c, size_t n, const struct toks *named,
                              const char *nq)
{
    char *q = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].doc || !c[i].doc->body_composed || !c[i].doc->id || !c[i].doc->clause)
            continue;
        int asked = 0; /* the query names this section's number: keep it */
        for (size_t k = 0; k < named->n; k++)
            asked |= strcmp(named->v[k].term, c[i].doc->clause) == 0;
        if (!asked && c[i].doc->heading) { /* ... or is its heading, as typed */
            if (!q)
                q = squeezed(s, nq);
            char *h = squeezed(s, c[i].doc->heading);
            asked = *q && strcmp(q, h) == 0;
            free(h);
        }
        if (asked)
            continue;
        size_t pl = strlen(c[i].doc->id);
        double best = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i && c[j].doc && c[j].doc->id &&
                strncmp(c[j].doc->id, c[i].doc->id, pl) == 0 && c[j].doc->id[pl] == '.' &&
                c[j].w > best)
                best = c[j].w;
        if (best > 0 && c[i].w > best * W_SECTION)
            c[i].w = best * W_SECTION;
    }
    free(q);
    if (n)
        qsort(c, n, sizeof *c, cmp_cand);
}

/* The whole stored document of mset entry i, or NULL. Caller frees. */
static struct kb_doc *load_doc_data(kbx_mset *m, size_t i)
{
    const char *data;
    size_t len;
    if (kbx_mset_data(m, i, &data, &len) != 0)
        return NULL;
    return kb_doc_unpack(data, len, NULL, 0);
}

/* Loads the stored head and snippet source of candidate c (entry c->i of
 * m) into c->doc and c->src; c->doc stays NULL on failure. Through s's
 * cache of decoded heads when it has one. */
static void load_cand(kb_searcher *s, kbx_mset *m, struct cand *c)
{
    uint32_t id = s->dc ? kbx_mset_docid(m, c->i) : 0;
    size_t an = 0;
    const char *a = s->dc ? kb_doccache_get(s->dc, id, &an) : NULL;
    if (a) {
        c->doc = kb_doc_head_from_bytes(a, an, &c->src, &c->srclen, NULL, 0);
        return;
    }
    const char *data;
    size_t len;
    if (kbx_mset_data(m, c->i, &data, &len) != 0)
        return;
    char *bytes = s->dc ? kb_doc_head_bytes(data, len, &an, NULL, 0) : NULL;
    if (!bytes) { /* no cache, damaged, or not the split form */
        c->doc = kb_doc_unpack_head(data, len, &c->src, &c->srclen, NULL, 0);
        return;
    }
    c->doc = kb_doc_head_from_bytes(bytes, an, &c->src, &c->srclen, NULL, 0);
    if (c->doc)
        kb_doccache_put(s->dc, id, bytes, an);
    else
        free(bytes);
}

/* Xapian's defaults with kbdesk's BM25 parameters (the boost pass changes
 * only k1, see add_boosts). */
static void search_opts_init(struct kbx_search_opts *o)
{
    kbx_search_opts_init(o);
    o->bm25_k1 = 1.2;
    o->bm25_b = 0.6;
}

/* The error handling every failed index read needs (rc a KBX_ERR_*): a
 * message in err, and a reopen when the index moved under us. Returns
 * KB_SEARCH_EINDEX. */
static int index_failed(kb_searcher *s, int rc, char *err, size_t errlen)
{
    kb_seterr(err, errlen, "[search] %s", kbx_db_errmsg(s->db));
    if (rc == KBX_ERR_MODIFIED) /* the index moved under us: reopen once */
        kb_searcher_refresh(s, NULL, NULL, 0);
    return KB_SEARCH_EINDEX;
}

/* kbx_search, failing as index_failed. */
static int search_db(kb_searcher *s, const kbx_query *q, const struct kbx_search_opts *o,
                     kbx_mset **m, char *err, size_t errlen)
{
    int rc = kbx_search(s->db, q, o, m);
    return rc < 0 ? index_failed(s, rc, err, errlen) : 0;
}

/* The candidates c[0..n) of m as an OR of their id terms, or NULL: the
 * filter of the boost pass over remote shards, which cannot run our docid
 * posting source (xapian-tcpsrv knows only Xapian's own classes). A filter
 * gives no weight, so the boosts are the same as with the docids. */
static kbx_query *idterms_query(kbx_mset *m, const struct cand *c, size_t n)
{
    kbx_query **t = kb_xcalloc(n, sizeof *t);
    size_t k = 0;
    struct kb_buf b;
    kb_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        struct kb_doc *d = c[i].doc ? NULL : load_doc_data(m, c[i].i);
        const struct kb_doc *dd = c[i].doc ? c[i].doc : d;
        if (dd && dd->id) {
            kb_buf_reset(&b);
            kb_buf_printf(&b, "%s%s", KB_PREFIX_ID, dd->id);
            if ((t[k] = kbx_query_term(b.data, b.len, 1, 0)))
                k++;
        }
        kb_doc_free(d);
    }
    kbx_query *q = k ? kbx_query_combine(KBX_OP_OR, t, k, 0) : NULL;
    for (size_t i = 0; i < k; i++)
        kbx_query_free(t[i]);
    free(t);
    kb_buf_fin(&b);
    return q;
}

/* Adds to w[0..n) the weights the boost query gives the documents ids[]
 * (the candidates c[0..n), entries of m) with Xapian's matcher: the boost
 * query alone, FILTERed by the candidates. The way for remote shards,
 * which kbx_weigh_docs cannot read; the matcher of Xapian 1.4.22 gives a
 * few candidates weight from phrases they do not hold this way (see
 * add_boosts). */
static int matcher_boosts(kb_searcher *s, const kbx_query *boost, kbx_mset *m,
                          const struct cand *c, const uint32_t *ids, size_t n,
                          const struct kbx_search_opts *opts, double *w, char *err,
                          size_t errlen)
{
    kbx_query *only = kbx_db_has_remote(s->db) ? idterms_query(m, c, n) : kbx_query_docids(ids, n);
    kbx_query *two[2] = {(kbx_query *)boost, only};
    kbx_query *bq = only ? kbx_query_combine(KBX_OP_FILTER, two, 2, 0) : NULL;
    kbx_query_free(only);
    if (!bq) {
        kb_seterr(err, errlen, "[search] out of memory");
        return -1;
    }
    struct kbx_search_opts o = *opts;
    o.limit = (uint32_t)n;
    kbx_mset *mb = NULL;
    int rc = search_db(s, bq, &o, &mb, err, errlen);
    kbx_query_free(bq);
    if (rc < 0)
        return rc;
    for (size_t j = 0; j < kbx_mset_size(mb); j++) {
        uint32_t id = kbx_mset_docid(mb, j);
        for (size_t i = 0; i < n; i++)
            if (ids[i] == id) {
                w[i] += kbx_mset_weight(mb, j);
                break;
            }
    }
    kbx_mset_free(mb);
    return 0;
}

/* Adds to each candidate c[0..n) (entries of m) the weight the boost query
 * gives it: each BM25 part of the boost query that the candidate matches,
 * computed by kbx_weigh_docs_top from each distinct term's postings and
 * the candidates' positions, as Xapian's matcher would over the whole
 * index. Only the best `top` after the boosts are shown, so a candidate
 * whose weight with every phrase and NEAR pair it might hold stays below
 * them is not checked for those (most position reads are spared); its
 * weight then is that bound. Candidates marked in keep (standard clauses,
 * whose weight rerank_candidates may lower) are always weighed exactly.
 * (The matcher, FILTERed by the candidates, was two fifths of a request's
 * instructions: every leaf of the boost query is a posting list of its
 * own. Xapian 1.4.22's matcher also gives a few candidates, in 12 of the
 * benchmark's 267 short queries, the weight of a phrase they do not hold
 * when the phrase is one branch of the boost OR; each branch run alone
 * gives the weights kbx_weigh_docs gives. Running the boosted query
 * restricted to the candidates was worse still.) Remote shards go through
 * the matcher (matcher_boosts). */
static int add_boosts(kb_searcher *s, const kbx_query *boost, kbx_mset *m, struct cand *c,
                      size_t n, const unsigned char *keep, size_t top, char *err, size_t errlen)
{
    uint32_t *ids = kb_xcalloc(n, sizeof *ids);
    double *w = kb_xcalloc(n, sizeof *w);
    double *base = kb_xcalloc(n, sizeof *base);
    for (size_t i = 0; i < n; i++) {
        ids[i] = kbx_mset_docid(m, c[i].i);
        base[i] = c[i].w;
    }
    struct kbx_search_opts o;
    search_opts_init(&o);
    /* a title or heading names a page once: its terms' frequency says
       little, so their weight saturates sooner than the body's (with the
       body's k1 a list page whose title repeats a query word outranked
       the page the words came from) */
    o.bm25_k1 = BOOST_K1;
    struct kbx_weigh_top t = {.base = base, .keep = keep, .top = top};
    int rc = kbx_weigh_docs_top(s->db, boost, &o, ids, n, &t, w);
    if (rc == KBX_ERR_UNIMPLEMENTED)
        rc = matcher_boosts(s, boost, m, c, ids, n, &o, w, err, errlen);
    else if (rc < 0)
        rc = index_failed(s, rc, err, errlen);
    if (rc == 0)
        for (size_t i = 0; i < n; i++)
            c[i].w += w[i];
    free(base);
    free(w);
    free(ids);
    return rc < 0 ? -1 : 0;
}

/* Two passes. The first runs the query without its title and proximity
 * boosts (their posting lists and position checks would otherwise be
 * evaluated for every match) and yields the total, the facets and the best
 * BOOST_DEPTH candidates (ORDER_DEPTH with Latin word-order boosts); the
 * second adds to those candidates only the weights the boosts give them
 * (add_boosts), the weights the boosted query would give them over the
 * whole index. A page past RERANK_DEPTH runs the boosted query once over
 * everything. */
static int run_once(kb_searcher *s, const struct kb_search_req *req, const char *nq, size_t nqlen,
                    int quotes_as_text, struct kb_search_res *res, struct build *b, char *err,
                    size_t errlen)
{
    kbx_query *q = NULL;
    int rc = kbs_build_query(s, req, nq, nqlen, quotes_as_text, b, &q, err, errlen);
    if (rc < 0 || !q)
        return rc;
    uint32_t limit = kb_search_limit(req->limit);
    /* the first RERANK_DEPTH results are fetched and re-ranked together,
       so a page boundary never splits a re-ranked group */
    int rerank = req->offset + limit <= RERANK_DEPTH;
    if (!rerank && b->boost) {
        kbx_query *two[2] = {q, b->boost};
        kbx_query *full = kbx_query_combine(KBX_OP_AND_MAYBE, two, 2, 0);
        kbx_query_free(q);
        q = full;
    }
    struct kbx_search_opts o;
    search_opts_init(&o);
    /* our own matcher where the query allows it: the same ranking for
       two thirds of Xapian's instructions on the real corpus (less on a
       large index), and an exact count (kbx_search_opts.visit_all) */
    o.visit_all = 1;
    o.offset = rerank ? 0 : req->offset;
    o.limit = !rerank ? limit : !b->boost ? RERANK_DEPTH : b->norder ? ORDER_DEPTH : BOOST_DEPTH;
    if (!req->no_facets) {
        o.facet_joined_slot = KB_SLOT_FACETS;
        o.facet_parts = KB_FACET_PARTS;
        o.check_at_least = 2000;
    }
    kbx_mset *m = NULL;
    rc = search_db(s, q, &o, &m, err, errlen);
    kbx_query_free(q);
    if (rc < 0)
        return rc;
    res->total = kbx_mset_matches_estimated(m);
    size_t n = kbx_mset_size(m);
    struct cand *c = kb_xcalloc(n ? n : 1, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        c[i].i = i;
        c[i].w = kbx_mset_weight(m, i);
    }
    /* re-ranking only looks at standard clauses: other candidates' stored
       documents (long bodies) are parsed only if they become hits, and an
       index without standards needs no candidate's kind (reading the value
       slot of 50 candidates was 4 % of a request's instructions) */
    unsigned char *standard = rerank && s->standard_docs ? kb_xcalloc(n ? n : 1, 1) : NULL;
    for (size_t i = 0; standard && i < n; i++) {
        const char *kind;
        size_t klen;
        /* the kind is the first part of the facet slot (held in memory
           when the search counted facets) */
        standard[i] = kbx_mset_value(m, c[i].i, KB_SLOT_FACETS, &kind, &klen) == 0 && klen > 8 &&
                      memcmp(kind, "standard", 8) == 0 && kind[8] == KBX_FACET_SEP;
    }
    if (rerank && b->boost && n > 0) {
        if (add_boosts(s, b->boost, m, c, n, standard, req->offset + limit, err, errlen) < 0) {
            free(standard);
            free(c);
            kbx_mset_free(m);
            return KB_SEARCH_EINDEX;
        }
        qsort(c, n, sizeof *c, cmp_cand);
        if (n > RERANK_DEPTH)
            n = RERANK_DEPTH;
    }
    for (size_t i = 0; standard && i < n; i++)
        if (standard[c[i].i])
            load_cand(s, m, &c[i]);
    free(standard);
    if (rerank)
        rerank_candidates(s, c, n, &b->clauses, nq);
    size_t from = rerank ? req->offset : 0, to = rerank ? req->offset + limit : n;
    if (to > n)
        to = n;
    res->hits = kb_xcalloc(to > from ? to - from : 1, sizeof *res->hits);
    size_t bytes = req->snippet_bytes ? req->snippet_bytes : 240;
    struct hl_match hm;
    kbs_hl_match_init(&hm, b->hl);
    for (size_t k = from; k < to; k++) {
        if (!c[k].doc)
            load_cand(s, m, &c[k]);
        if (!c[k].doc)
            continue;
        struct kb_hit *h = &res->hits[res->nhits++];
        fill_hit(s, &hm, bytes, c[k].doc, c[k].src, c[k].srclen, m, c[k].i, h);
        h->score = c[k].w;
        h->percent = kbx_mset_percent(m, c[k].i);
    }
    kbs_hl_match_fin(&hm);
    for (size_t i = 0; i < n; i++) {
        kb_doc_free(c[i].doc);
        free(c[i].src);
    }
    free(c);
    if (!req->no_facets) {
        res->has_facets = 1;
        kbx_mset_part_facets(m, KB_FACET_KIND, add_facet, &res->kind);
        kbx_mset_part_facets(m, KB_FACET_CATEGORY, add_facet, &res->category);
        kbx_mset_part_facets(m, KB_FACET_STD, add_facet, &res->standard);
    }
    kbx_mset_free(m);
    return 0;
}

int kb_search_run(kb_searcher *s, const struct kb_search_req *req, struct kb_search_res *res,
                  char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    double t0 = kb_clock_ms();
    if (kbs_usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    if (req->qlen > KB_SEARCH_MAX_QUERY) {
        kb_seterr(err, errlen, "[search] query too long: %zu bytes (at most %d)", req->qlen,
                  KB_SEARCH_MAX_QUERY);
        return KB_SEARCH_EINPUT;
    }
    char *nq = NULL;
    size_t nqlen = 0;
    int rc = kb_analyzer_normalize(s->an, req->q ? req->q : "", req->q ? req->qlen : 0, &nq,
                                   &nqlen, err, errlen);
    if (rc < 0)
        return rc == KB_AN_EINPUT ? KB_SEARCH_EINPUT : KB_SEARCH_EINTERNAL;
    struct build b;
    rc = run_once(s, req, nq, nqlen, 0, res, &b, err, errlen);
    if (rc == 0 && res->total == 0 && b.nphrases) {
        /* a quoted error message that no document holds as it is (cut
           short, or worded a little differently): its words still count */
        struct kb_search_res again;
        struct build b2;
        memset(&again, 0, sizeof again);
        if (run_once(s, req, nq, nqlen, 1, &again, &b2, NULL, 0) == 0 && again.total > 0) {
            kb_search_res_fin(res);
            *res = again;
            kbs_build_fin(&b);
            b = b2;
        } else {
            kb_search_res_fin(&again);
            kbs_build_fin(&b2);
        }
    }
    if (rc == 0 && !req->no_suggestion) {
        int sure = 0;
        char *fix = kbs_sound_alike(s, nq, req->internal, &sure);
        if (!fix && res->total < 3 && b.unknown.n)
            fix = kbs_spell(&b, nq);
        else if (fix && res->total >= 3 && !sure) {
            res->suggestion = fix; /* offered, not applied: the query found enough */
            fix = NULL;
        }
        if (fix && (res->total == 0 || sure)) {
            struct kb_search_res again;
            struct build b2;
            memset(&again, 0, sizeof again);
            if (run_once(s, req, fix, strlen(fix), 0, &again, &b2, NULL, 0) == 0 &&
                again.total > 0) {
                kb_search_res_fin(res);
                *res = again;
                res->corrected = kb_xstrdup(fix);
            } else {
                kb_search_res_fin(&again);
            }
            kbs_build_fin(&b2);
        }
        if (fix)
            res->suggestion = fix;
    }
    kbs_build_fin(&b);
    free(nq);
    if (rc < 0) {
        kb_search_res_fin(res);
        return rc;
    }
    set_confidence(req, res);
    res->took_ms = kb_clock_ms() - t0;
    return 0;
}
