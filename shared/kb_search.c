/* kb_search: query understanding, ranking, snippets, facets, suggestions.
 *
 * A query goes through the same analyzer as the documents. Its tokens become
 * "groups" (one concept each: a word with its stem and synonyms, a code, a
 * bigram), each a Xapian subquery scaled by how informative it is; the
 * groups are ORed (relaxed matching ranked by BM25), then title matches and
 * query words found close together in a document add weight through
 * AND_MAYBE. Expert syntax ("phrase", -word, field:value) is taken out of
 * the text before tokenizing.
 *
 * Visibility: what a caller may see is decided in one section below
 * ("visibility"), by the rule of kb_vis.h: documents (search filter, /doc,
 * /nav, /standards, titles, ids linked from a body), index words
 * (completions, known words) and spelling corrections. */
#include "kb_search.h"
#include "kb_analyzer.h"
#include "kb_clock.h"
#include "kb_doc.h"
#include "kb_map.h"
#include "kb_schema.h"
#include "kb_utf8.h"
#include "kb_util.h"
#include "kb_vis.h"
#include "kb_xapian.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- tuning --------------------------------------------------------------- */

#define W_WORD 1.0        /* a dictionary / lexicon / Latin word */
#define W_LONGWORD 1.3    /* a CJK word of three characters or more */
#define W_NUMBER 1.5      /* a bare number: usually an error number (809) */
#define W_CODE 2.5        /* a code kept whole (0x80070005, ora-12154) */
#define W_PART 0.4        /* a part of a code */
#define W_CLAUSE 4.0      /* N<clause>: the clause itself */
#define W_BIGRAM 0.35     /* a CJK bigram */
#define W_SINGLE 0.3      /* a one-character CJK word */
#define W_SUBWORD 0.5     /* factor for a word inside a longer query word */
#define W_CHATTY 0.12     /* 怎么办, please, ... */
#define W_CONCEPT 2.0     /* a multi-word glossary entry (service desk) */
#define W_IN_CONCEPT 0.3  /* factor for a word that is part of such an entry */
#define W_TITLE 0.8       /* title / heading matches (AND_MAYBE) */
#define W_NEAR 0.3        /* neighbouring query words near each other */
#define W_STDTITLE 0.5    /* query words naming a standard (AND_MAYBE) */
#define MAX_GROUPS 48
#define ELITE_ABOVE 24
#define MAX_NEAR 10

/* Words that carry little meaning in a problem description. Simplified,
 * normalised forms. */
static const char *const chatty[] = {
    "我", "我的", "你", "您", "他", "了", "的", "吗", "呢", "啊", "吧", "呀", "怎么", "怎么办",
    "怎样", "如何", "什么", "为什么", "为何", "请问", "一下", "帮忙", "帮我", "一直", "老是",
    "总是", "就", "都", "也", "还", "是", "在", "有", "和", "与", "或", "要", "会", "能",
    "可以", "需要", "这个", "那个", "时候", "现在", "今天", "突然", "出现", "显示", "提示",
    "谢谢", "麻烦", "一个", "没有", "不", "又", "把", "被", "让", "给", "说", "请", "急",
    "好", "哪", "哪里", "哪些", "里", "中", "对", "上", "下", "得", "着", "过", "该",
    "应该", "怎么回事", "咋", "咋办", "办", "想", "问", "问下", "求助", "一些", "有关",
    "关于", "方面", "规定", "要求", "什么样", "哪个",
    "the", "a", "an", "to", "of", "in", "on", "for", "is", "are", "was", "be", "my", "i",
    "me", "it", "this", "that", "with", "how", "what", "why", "when", "do", "does", "can",
    "cannot", "can't", "not", "please", "help", "and", "or", "get", "got", "keep", "still",
    "there", "any", "from", "by", "at", "as", "we", "our", "you", "your", "should", "about",
    "does", "did", "have", "has", "after", "again", "when", "which",
};

static int is_chatty(const char *t, size_t len)
{
    for (size_t i = 0; i < sizeof chatty / sizeof *chatty; i++)
        if (strlen(chatty[i]) == len && memcmp(chatty[i], t, len) == 0)
            return 1;
    return 0;
}

/* ---- the searcher ----------------------------------------------------------- */

struct title_entry {
    char *id;
    char *title;   /* as written */
    char *norm;    /* normalised, for matching */
    char *kind;
    char *visibility;
};

struct kb_searcher {
    kbx_db *db;
    kb_analyzer *an;
    uint64_t rev;
    uint32_t doccount;
    uint32_t public_docs; /* documents with visibility public */
    struct title_entry *titles; /* loaded on first suggest, per revision */
    size_t ntitles;
    uint64_t titles_rev;
    int titles_loaded;
    int schema_ok;        /* the index has the layout this code reads */
    char schema_err[KB_ERR_MAX];
};

static void titles_free(kb_searcher *s)
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

/* Reads the revision's counts and checks its schema: an index of another
 * layout is refused (one built before the H twins and shadowed spelling
 * would leak internal words to public callers), with a message saying
 * what to do. Returns 0 or KB_SEARCH_EINDEX (message in err). */
static int read_stats(kb_searcher *s, char *err, size_t errlen)
{
    kbx_db_revision(s->db, &s->rev);
    kbx_db_doccount(s->db, &s->doccount);
    if (kbx_db_termfreq(s->db, KB_PREFIX_VIS "public", &s->public_docs) < 0)
        s->public_docs = 0; /* unknown: always filter */
    char *v = NULL;
    size_t n = 0;
    const char *want = KB_SCHEMA_VERSION "-";
    int rc = kbx_db_get_metadata(s->db, KB_META_SCHEMA, &v, &n);
    s->schema_ok = rc == 0 && ((n == 0 && s->doccount == 0) ||
                               (n > strlen(want) && strncmp(v, want, strlen(want)) == 0));
    if (rc < 0)
        kb_seterr(s->schema_err, sizeof s->schema_err, "[search] %s", kbx_db_errmsg(s->db));
    else if (!s->schema_ok)
        kb_seterr(s->schema_err, sizeof s->schema_err,
                  "[search] the index has schema %s, this program reads schema %s: rebuild it "
                  "with `indexer build`",
                  n ? v : "(none)", KB_SCHEMA_VERSION);
    free(v);
    if (s->schema_ok)
        return 0;
    kb_seterr(err, errlen, "%s", s->schema_err);
    return KB_SEARCH_EINDEX;
}

/* Every entry point starts here: 0, or KB_SEARCH_EINDEX while the index
 * has a layout this code does not read. */
static int usable(const kb_searcher *s, char *err, size_t errlen)
{
    if (s->schema_ok)
        return 0;
    kb_seterr(err, errlen, "%s", s->schema_err);
    return KB_SEARCH_EINDEX;
}

int kb_searcher_new(const char *index, const kb_lexicon *lx, kb_searcher **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    kb_searcher *s = kb_xcalloc(1, sizeof *s);
    if (kb_analyzer_new(lx, &s->an, err, errlen) < 0) {
        kb_searcher_free(s);
        return KB_SEARCH_EINTERNAL;
    }
    if (kbx_db_open(index, KBX_OPEN_READ, &s->db, err, errlen) < 0) {
        kb_searcher_free(s);
        return KB_SEARCH_EINDEX;
    }
    if (read_stats(s, err, errlen) < 0) {
        kb_searcher_free(s);
        return KB_SEARCH_EINDEX;
    }
    *out = s;
    return 0;
}

void kb_searcher_free(kb_searcher *s)
{
    if (!s)
        return;
    titles_free(s);
    kbx_db_free(s->db);
    kb_analyzer_free(s->an);
    free(s);
}

int kb_searcher_refresh(kb_searcher *s, int *changed, char *err, size_t errlen)
{
    int ch = 0;
    if (changed)
        *changed = 0;
    if (kbx_db_reopen(s->db, &ch) < 0) {
        kb_seterr(err, errlen, "[search] reopen: %s", kbx_db_errmsg(s->db));
        return KB_SEARCH_EINDEX;
    }
    if (ch) {
        if (changed)
            *changed = 1;
        if (read_stats(s, err, errlen) < 0)
            return KB_SEARCH_EINDEX;
    }
    return 0;
}

uint64_t kb_searcher_revision(const kb_searcher *s)
{
    return s->rev;
}

uint32_t kb_searcher_doccount(const kb_searcher *s)
{
    return s->doccount;
}

/* ---- visibility ------------------------------------------------------------------ */

/* The one place that decides what a caller sees (the rule is kb_vis.h's;
 * internal is non-zero for an agent). Documents: vis_filter in every
 * search, kb_vis_may_see on every stored document handed out (load_doc,
 * titles) and kb_search_may_see for an id. Index words: visible_tf.
 * Spelling: visible_spelling. */

/* Does the index hold internal documents at this revision? */
static int has_internal(const kb_searcher *s)
{
    return s->public_docs < s->doccount;
}

/* The filter a search of this caller needs, or NULL for none: every
 * document has one visibility, so when all are public the filter is a
 * no-op and is left out, sparing the matcher a posting list as long as
 * the index. */
static kbx_query *vis_filter(const kb_searcher *s, int internal)
{
    if (internal || !has_internal(s))
        return NULL;
    return kbx_query_term(KB_PREFIX_VIS "public", strlen(KB_PREFIX_VIS "public"), 1, 0);
}

/* The public documents among the tf holding a term of len bytes whose H
 * twin is in twf documents. A term too long to have a twin counts as
 * internal. */
static uint32_t public_tf(uint32_t tf, uint32_t twf, size_t len)
{
    if (len + strlen(KB_PREFIX_INTERNAL) > KBX_MAX_TERM_LEN)
        return 0;
    return tf > twf ? tf - twf : 0;
}

/* How many documents the caller may see hold term t. */
static uint32_t visible_tf(kb_searcher *s, const char *t, int internal)
{
    uint32_t tf = 0, twf = 0;
    kbx_db_termfreq(s->db, t, &tf);
    if (internal || !has_internal(s) || tf == 0)
        return tf;
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_printf(&b, "%s%s", KB_PREFIX_INTERNAL, t);
    kbx_db_termfreq(s->db, b.data, &twf);
    kb_buf_fin(&b);
    return public_tf(tf, twf, strlen(t));
}

/* Edit distance (insertions, deletions, substitutions and transpositions
 * of neighbours) between two words, counted in code points, as Xapian
 * counts it for spelling; words over 64 code points are "far". */
static unsigned edit_distance(const char *a, const char *b)
{
    int32_t x[65], y[65];
    size_t n = 0, m = 0, la = strlen(a), lb = strlen(b);
    for (size_t i = 0; i < la && n < 65;)
        x[n++] = kb_utf8_next(a, la, &i);
    for (size_t i = 0; i < lb && m < 65;)
        y[m++] = kb_utf8_next(b, lb, &i);
    if (n > 64 || m > 64)
        return 1000;
    unsigned d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            unsigned c = d[i - 1][j - 1] + (x[i - 1] != y[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] &&
                d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    return d[n][m];
}

/* The spelling correction of word (within dist edits) the caller may see,
 * or NULL (caller frees). Public documents' words are in the spelling
 * table as they are, internal ones' shadowed (kb_vis.h): a public caller
 * gets the plain table's answer only, an agent the better of the plain
 * and the shadow answers (fewer edits, then more documents). A word or an
 * answer holding a shadow character never goes out to anyone. */
static char *visible_spelling(kb_searcher *s, const char *word, unsigned dist, int internal)
{
    size_t wl = strlen(word);
    if (!wl || kb_vis_has_shadow(word, wl))
        return NULL;
    char *pub = NULL;
    if (kbx_db_spelling_suggestion(s->db, word, dist, &pub) < 0 ||
        (pub && kb_vis_has_shadow(pub, strlen(pub)))) {
        free(pub);
        pub = NULL;
    }
    if (!internal || !has_internal(s))
        return pub;
    char *sw = kb_vis_shadow(word, wl), *sfix = NULL, *priv = NULL;
    if (sw && kbx_db_spelling_suggestion(s->db, sw, dist, &sfix) == 0 && sfix)
        priv = kb_vis_unshadow(sfix, strlen(sfix));
    free(sw);
    free(sfix);
    if (!priv || !pub)
        return priv ? priv : pub;
    unsigned dp = edit_distance(word, pub), di = edit_distance(word, priv);
    uint32_t fp = 0, fi = 0;
    if (di == dp) {
        kbx_db_termfreq(s->db, pub, &fp);
        kbx_db_termfreq(s->db, priv, &fi);
    }
    if (di < dp || (di == dp && fi > fp)) {
        free(pub);
        return priv;
    }
    free(priv);
    return pub;
}

int kb_search_may_see(kb_searcher *s, const char *id, int internal)
{
    if (usable(s, NULL, 0) < 0)
        return KB_SEARCH_EINDEX;
    if (!id || !*id || strlen(id) > 200)
        return 0;
    struct kb_buf t;
    kb_buf_init(&t);
    kb_buf_printf(&t, "%s%s", KB_PREFIX_ID, id);
    char *v = NULL;
    size_t len = 0;
    int rc = kbx_db_get_value(s->db, t.data, KB_SLOT_VISIBILITY, &v, &len);
    kb_buf_fin(&t);
    int ok = rc == 0 ? kb_vis_may_see(len ? v : NULL, internal)
                     : rc == KBX_ERR_NOTFOUND ? 0 : KB_SEARCH_EINDEX;
    free(v);
    return ok;
}

/* ---- query building ----------------------------------------------------------- */

struct tok {
    char *term;
    size_t len;
    uint32_t pos;
    unsigned flags;
    uint32_t nchars; /* CJK characters */
};

struct toks {
    struct tok *v;
    size_t n, cap;
};

static int collect_tok(void *ud, const struct kb_token *t)
{
    struct toks *ts = ud;
    if (ts->n == ts->cap) {
        ts->cap = ts->cap ? ts->cap * 2 : 32;
        ts->v = kb_xrealloc(ts->v, ts->cap * sizeof *ts->v);
    }
    struct tok *k = &ts->v[ts->n++];
    k->term = kb_xstrndup(t->term, t->len);
    k->len = t->len;
    k->pos = t->pos;
    k->flags = t->flags;
    k->nchars = 0;
    if (t->flags & KB_TOKF_CJK)
        for (size_t i = 0; i < t->len; i++)
            k->nchars += ((unsigned char)t->term[i] & 0xC0) != 0x80;
    return 0;
}

static void toks_fin(struct toks *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->v[i].term);
    free(ts->v);
    ts->v = NULL;
    ts->n = ts->cap = 0;
}

/* A list of owned subqueries. */
struct qlist {
    kbx_query **v;
    size_t n, cap;
};

static void ql_add(struct qlist *l, kbx_query *q)
{
    if (!q)
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = kb_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = q;
}

static void ql_fin(struct qlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        kbx_query_free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

/* Combines and frees the list's queries; NULL if empty. */
static kbx_query *ql_combine(struct qlist *l, int op, uint32_t param)
{
    kbx_query *q = NULL;
    if (l->n == 1) {
        q = l->v[0];
        l->n = 0;
    } else if (l->n > 1) {
        q = kbx_query_combine(op, l->v, l->n, param);
    }
    ql_fin(l);
    return q;
}

static kbx_query *scaled(kbx_query *q, double w)
{
    if (!q || w == 1.0)
        return q;
    kbx_query *r = kbx_query_scale(q, w);
    kbx_query_free(q);
    return r;
}

static kbx_query *term_q(const char *t, size_t len)
{
    return kbx_query_term(t, len, 1, 0);
}

static kbx_query *prefixed_q(const char *prefix, const char *t, size_t len)
{
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_adds(&b, prefix);
    kb_buf_add(&b, t, len);
    kbx_query *q = term_q(b.data, b.len);
    kb_buf_fin(&b);
    return q;
}

/* The state of one query build. */
struct build {
    kb_searcher *s;
    struct qlist groups;        /* weighted concept subqueries */
    struct qlist chatty;        /* chatty words' groups: used alone only */
    struct qlist boosts;        /* title and proximity boosts */
    kbx_query *boost;           /* owned: boosts ORed (NULL: none) */
    kb_map *hl;                 /* term -> weight*1000, for snippets */
    struct {
        char *term;
        uint32_t pos;
        double weight;
    } prim[MAX_GROUPS];         /* primary term of each word group */
    size_t nprim;
    /* words the spelling suggestion may correct: (term, freq 0) */
    struct toks unknown;
    struct toks clauses;        /* clause numbers named in the query */
    int internal;               /* the caller may see internal documents */
};

static void hl_add(struct build *b, const char *t, size_t len, double w)
{
    char *k = kb_xstrndup(t, len);
    intptr_t old = (intptr_t)kb_map_get(b->hl, k);
    intptr_t nw = (intptr_t)(w * 1000) + 1;
    if (nw > old)
        kb_map_put(b->hl, k, (void *)nw);
    free(k);
}

/* Builds a phrase query from analysed tokens: Latin words and codes in
 * order, CJK runs as a chain of bigrams (every adjacent character pair is
 * indexed at its position), within the window the tokens span. NULL if no
 * usable token. */
static kbx_query *phrase_from(const struct toks *ts, struct build *b)
{
    struct qlist l = {0};
    uint32_t first = 0, last = 0;
    int any = 0;
    for (size_t i = 0; i < ts->n; i++) {
        const struct tok *t = &ts->v[i];
        int take = 0;
        if (t->flags & KB_TOKF_CJK) {
            /* a bigram at every other position, plus the run's last one */
            if (t->nchars == 2 && (t->flags & KB_TOKF_BIGRAM)) {
                int next_is_bigram = 0;
                for (size_t j = i + 1; j < ts->n; j++)
                    if (ts->v[j].pos == t->pos + 1 && (ts->v[j].flags & KB_TOKF_BIGRAM) &&
                        ts->v[j].nchars == 2)
                        next_is_bigram = 1;
                take = !any || t->pos >= last + 2 || !next_is_bigram;
                if (any && t->pos <= last)
                    take = 0;
            } else if (t->nchars == 1) {
                /* a lone character: no bigram exists */
                int has_bigram = 0;
                for (size_t j = 0; j < ts->n; j++)
                    if ((ts->v[j].pos == t->pos || ts->v[j].pos + 1 == t->pos) &&
                        (ts->v[j].flags & KB_TOKF_BIGRAM))
                        has_bigram = 1;
                take = !has_bigram;
            }
        } else if (!(t->flags & (KB_TOKF_STEM | KB_TOKF_PART))) {
            take = 1;
        }
        if (!take)
            continue;
        ql_add(&l, term_q(t->term, t->len));
        if (b)
            hl_add(b, t->term, t->len, W_WORD);
        if (!any)
            first = t->pos;
        last = t->pos;
        any = 1;
    }
    if (l.n == 0)
        return NULL;
    uint32_t window = last - first + 2;
    return ql_combine(&l, KBX_OP_PHRASE, l.n > 1 ? window : 0);
}

/* Analyses a piece of normalised text into tokens. */
static int analyse(kb_searcher *s, const char *text, size_t len, struct toks *ts)
{
    return kb_analyzer_tokenize(s->an, KB_TOK_QUERY, text, len, collect_tok, ts, NULL, NULL, 0);
}

struct syn_ctx {
    struct build *b;
    struct qlist *alts;
    kb_map *seen; /* synonym values already added */
};

/* A synonym value becomes a term (one word) or a phrase (several). */
static int add_synonym(void *ud, const char *syn, size_t len)
{
    struct syn_ctx *c = ud;
    char *v = kb_xstrndup(syn, len);
    int seen = kb_map_put(c->seen, v, (void *)1) != NULL;
    free(v);
    if (seen)
        return 0;
    struct toks ts = {0};
    if (analyse(c->b->s, syn, len, &ts) == 0) {
        size_t words = 0;
        const struct tok *w = NULL, *stem = NULL;
        for (size_t i = 0; i < ts.n; i++) {
            if (ts.v[i].flags & (KB_TOKF_WORD | KB_TOKF_CODE)) {
                if (!w || ts.v[i].pos != w->pos)
                    words++;
                if (!w || ts.v[i].pos != w->pos || ts.v[i].len > w->len)
                    w = &ts.v[i];
            }
            if (ts.v[i].flags & KB_TOKF_STEM)
                stem = &ts.v[i];
        }
        /* one whole word (the longest at its position) covering the value */
        if (words == 1 && w && (!(w->flags & KB_TOKF_CJK) || w->len == len)) {
            ql_add(c->alts, term_q(w->term, w->len));
            hl_add(c->b, w->term, w->len, W_WORD);
            if (stem) {
                ql_add(c->alts, term_q(stem->term, stem->len));
                hl_add(c->b, stem->term, stem->len, W_WORD);
            }
        } else {
            ql_add(c->alts, phrase_from(&ts, c->b));
        }
    }
    toks_fin(&ts);
    return 0;
}

/* Adds the glossary synonyms of key and, when stemkey is not NULL, of the
 * stem key (KB_SYNONYM_STEM + stems), each value once. */
static void add_synonyms2(struct build *b, const char *key, const char *stemkey,
                          struct qlist *alts)
{
    struct syn_ctx c = {b, alts, kb_map_new()};
    kbx_db_synonyms(b->s->db, key, add_synonym, &c);
    if (stemkey) {
        struct kb_buf k;
        kb_buf_init(&k);
        kb_buf_printf(&k, "%s%s", KB_SYNONYM_STEM, stemkey);
        kbx_db_synonyms(b->s->db, k.data, add_synonym, &c);
        kb_buf_fin(&k);
    }
    kb_map_free(c.seen, NULL);
}

static void add_synonyms(struct build *b, const char *key, struct qlist *alts)
{
    add_synonyms2(b, key, NULL, alts);
}

/* Adds group q with weight w to list l (b->groups, or b->chatty), at most
   MAX_GROUPS of them. */
static void add_to(struct qlist *l, kbx_query *q, double w)
{
    if (!q)
        return;
    if (l->n >= MAX_GROUPS) {
        kbx_query_free(q);
        return;
    }
    ql_add(l, scaled(q, w));
}

static void add_group(struct build *b, kbx_query *q, double w)
{
    add_to(&b->groups, q, w);
}

/* A chatty word's group (怎么办, how, the) is searched only when the query
   has nothing else: at W_CHATTY it barely moves the ranking, but its
   posting list (every English page has "the") is among the longest, and
   OR has to walk it. */
static void add_chatty(struct build *b, kbx_query *q)
{
    add_to(&b->chatty, q, W_CHATTY);
}

static void add_prim(struct build *b, const char *t, size_t len, uint32_t pos, double w)
{
    if (b->nprim >= MAX_GROUPS)
        return;
    b->prim[b->nprim].term = kb_xstrndup(t, len);
    b->prim[b->nprim].pos = pos;
    b->prim[b->nprim].weight = w;
    b->nprim++;
}

static int is_number(const char *t, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (t[i] < '0' || t[i] > '9')
            return 0;
    return len > 0;
}

/* 8, 8.3, 8.3.4.1: one to five dot-separated numbers of up to 3 digits. */
static int is_clause_number(const char *t, size_t len)
{
    int parts = 1, digits = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.') {
            if (!digits)
                return 0;
            parts++;
            digits = 0;
        } else if (t[i] >= '0' && t[i] <= '9') {
            if (++digits > 3)
                return 0;
        } else {
            return 0;
        }
    }
    return digits && parts >= 2 && parts <= 5;
}

/* A word no document the caller may see holds is one the spelling
   suggestion may correct. */
static void note_unknown(struct build *b, const struct tok *t)
{
    if (visible_tf(b->s, t->term, b->internal) > 0)
        return;
    struct kb_token kt = {t->term, t->len, t->pos, 0, 0, t->flags};
    collect_tok(&b->unknown, &kt);
}

/* Index of the stem token that follows Latin word token i, or i itself. */
static size_t stem_of(const struct toks *ts, size_t i)
{
    if (i + 1 < ts->n && (ts->v[i + 1].flags & KB_TOKF_STEM) && ts->v[i + 1].pos == ts->v[i].pos)
        return i + 1;
    return i;
}

static int latin_word(const struct tok *t)
{
    return (t->flags & (KB_TOKF_WORD | KB_TOKF_CODE)) &&
           !(t->flags & (KB_TOKF_CJK | KB_TOKF_STEM | KB_TOKF_PART));
}

/* Multi-word glossary entries among consecutive Latin words ("service
 * desk", "key performance indicators"): the longest one starting at each
 * word becomes one concept group (the phrase itself or any synonym), and
 * its words are marked in covered[pos] so they count less on their own. */
static void find_concepts(struct build *b, const struct toks *ts, unsigned char *covered,
                          uint32_t maxpos)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (!latin_word(&ts->v[i]) || covered[ts->v[i].pos])
            continue;
        size_t idx[4];
        size_t n = 0;
        uint32_t want = ts->v[i].pos;
        for (size_t j = i; j < ts->n && n < 4; j++) {
            if (!latin_word(&ts->v[j]))
                continue;
            if (ts->v[j].pos != want)
                break;
            idx[n++] = j;
            want++;
        }
        for (size_t len = n; len >= 2; len--) {
            struct kb_buf key, sk;
            kb_buf_init(&key);
            kb_buf_init(&sk);
            for (size_t k = 0; k < len; k++) {
                const struct tok *w = &ts->v[idx[k]], *st = &ts->v[stem_of(ts, idx[k])];
                kb_buf_printf(&key, "%s%s", k ? " " : "", w->term);
                kb_buf_printf(&sk, "%s%s", k ? " " : "", st == w ? w->term : st->term + 1);
            }
            struct qlist alts = {0};
            add_synonyms2(b, key.data, sk.data, &alts);
            if (alts.n) {
                /* the words themselves, as a phrase, are the concept too */
                struct qlist ph = {0};
                for (size_t k = 0; k < len; k++)
                    ql_add(&ph, term_q(ts->v[idx[k]].term, ts->v[idx[k]].len));
                ql_add(&alts, ql_combine(&ph, KBX_OP_PHRASE, (uint32_t)len + 1));
                add_group(b, ql_combine(&alts, KBX_OP_OR, 0), W_CONCEPT);
                for (size_t k = 0; k < len; k++)
                    if (ts->v[idx[k]].pos <= maxpos)
                        covered[ts->v[idx[k]].pos] = 1;
            }
            ql_fin(&alts);
            kb_buf_fin(&key);
            kb_buf_fin(&sk);
            if (covered[ts->v[i].pos])
                break;
        }
    }
}

/* Is CJK word t part of a longer, non-chatty CJK word of the query? */
static int inside_longer_word(const struct toks *ts, const struct tok *t)
{
    for (size_t j = 0; j < ts->n; j++) {
        const struct tok *u = &ts->v[j];
        if (u != t && (u->flags & KB_TOKF_WORD) && (u->flags & KB_TOKF_CJK) &&
            u->nchars > t->nchars && u->pos <= t->pos &&
            t->pos + t->nchars <= u->pos + u->nchars && !is_chatty(u->term, u->len))
            return 1;
    }
    return 0;
}

/* Turns free-text tokens into weighted groups. */
static void build_groups(struct build *b, const struct toks *ts)
{
    /* CJK character spans covered by words of two characters or more */
    uint32_t maxpos = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (ts->v[i].pos + 2 > maxpos)
            maxpos = ts->v[i].pos + 2;
    unsigned char *cov = kb_xcalloc(maxpos + 1, 1);      /* in some real word */
    unsigned char *chat = kb_xcalloc(maxpos + 1, 1);     /* in a chatty word */
    unsigned char *concept = kb_xcalloc(maxpos + 1, 1);  /* in a glossary phrase */
    find_concepts(b, ts, concept, maxpos);
    for (size_t i = 0; i < ts->n; i++) {
        const struct tok *t = &ts->v[i];
        if ((t->flags & KB_TOKF_CJK) && (t->flags & KB_TOKF_WORD)) {
            int c = is_chatty(t->term, t->len);
            for (uint32_t k = t->pos; k < t->pos + t->nchars && k <= maxpos; k++) {
                if (t->nchars >= 2 && !c)
                    cov[k] = 1;
                if (c)
                    chat[k] = 1;
            }
        }
    }
    for (size_t i = 0; i < ts->n; i++) {
        const struct tok *t = &ts->v[i];
        if (t->flags & KB_TOKF_STEM)
            continue; /* taken with its word */
        if (t->flags & KB_TOKF_CJK) {
            if (t->flags & KB_TOKF_WORD) {
                int c = is_chatty(t->term, t->len);
                double w = c ? W_CHATTY
                         : t->nchars == 1 ? W_SINGLE
                         : t->nchars >= 3 ? W_LONGWORD : W_WORD;
                if (!c && t->nchars >= 2 && inside_longer_word(ts, t))
                    w *= W_SUBWORD; /* 服务 in 服务台: the compound carries it */
                if (t->nchars == 1 && cov[t->pos])
                    continue; /* a fragment of a longer word */
                struct qlist alts = {0};
                ql_add(&alts, term_q(t->term, t->len));
                if (!c) {
                    hl_add(b, t->term, t->len, w);
                    add_synonyms(b, t->term, &alts);
                }
                if (c)
                    add_chatty(b, ql_combine(&alts, KBX_OP_SYNONYM, 0));
                else
                    add_group(b, ql_combine(&alts, KBX_OP_SYNONYM, 0), w);
                if (!c && t->nchars >= 2) {
                    add_prim(b, t->term, t->len, t->pos, w);
                    if (t->nchars >= 3)
                        note_unknown(b, t);
                }
            } else if (t->flags & KB_TOKF_BIGRAM) {
                /* bigrams inside a known word, or among characters no word
                   covers; not across two words nor through chatty words */
                int inside = 0;
                for (size_t j = 0; j < ts->n && !inside; j++) {
                    const struct tok *u = &ts->v[j];
                    inside = (u->flags & KB_TOKF_WORD) && (u->flags & KB_TOKF_CJK) &&
                             u->nchars > 2 && u->pos <= t->pos &&
                             t->pos + 2 <= u->pos + u->nchars && !is_chatty(u->term, u->len);
                }
                int free_chars = !cov[t->pos] && !cov[t->pos + 1];
                if ((!inside && !free_chars) || chat[t->pos] || chat[t->pos + 1])
                    continue;
                add_group(b, term_q(t->term, t->len), W_BIGRAM);
                hl_add(b, t->term, t->len, W_BIGRAM);
            }
            continue;
        }
        /* Latin words, numbers, codes and their parts */
        if (t->flags & KB_TOKF_PART) {
            add_group(b, term_q(t->term, t->len), W_PART);
            hl_add(b, t->term, t->len, W_PART);
            continue;
        }
        int code = (t->flags & KB_TOKF_CODE) != 0;
        int c = !code && is_chatty(t->term, t->len);
        double w = code ? W_CODE : c ? W_CHATTY : is_number(t->term, t->len) ? W_NUMBER : W_WORD;
        if (!code && !c && concept[t->pos])
            w *= W_IN_CONCEPT; /* the phrase's concept group speaks for it */
        struct qlist alts = {0};
        ql_add(&alts, term_q(t->term, t->len));
        if (!c)
            hl_add(b, t->term, t->len, w);
        const struct tok *stem = NULL;
        if (i + 1 < ts->n && (ts->v[i + 1].flags & KB_TOKF_STEM) && ts->v[i + 1].pos == t->pos)
            stem = &ts->v[i + 1];
        if (stem) {
            ql_add(&alts, term_q(stem->term, stem->len));
            if (!c)
                hl_add(b, stem->term, stem->len, w);
        }
        if (!c && !concept[t->pos])
            add_synonyms2(b, t->term, stem ? stem->term + 1 : NULL, &alts);
        if (c)
            add_chatty(b, ql_combine(&alts, KBX_OP_SYNONYM, 0));
        else
            add_group(b, ql_combine(&alts, KBX_OP_SYNONYM, 0), w);
        if (!c) {
            const struct tok *p = stem ? stem : t;
            add_prim(b, p->term, p->len, t->pos, w);
            if (!code && !is_number(t->term, t->len) && t->len >= 3)
                note_unknown(b, t);
        }
        if (code && is_clause_number(t->term, t->len)) {
            add_group(b, prefixed_q(KB_PREFIX_CLAUSE, t->term, t->len), W_CLAUSE);
            struct kb_token kt = {t->term, t->len, t->pos, 0, 0, t->flags};
            collect_tok(&b->clauses, &kt);
        }
    }
    free(cov);
    free(chat);
    free(concept);
}

/* Title and proximity boosts from the primary terms. */
static void build_boosts(struct build *b)
{
    struct qlist titles = {0};
    for (size_t i = 0; i < b->nprim; i++) {
        const char *t = b->prim[i].term;
        if (t[0] == 'Z')
            t++; /* titles are indexed unstemmed */
        ql_add(&titles, scaled(prefixed_q(KB_PREFIX_TITLE, t, strlen(t)), b->prim[i].weight));
    }
    ql_add(&b->boosts, scaled(ql_combine(&titles, KBX_OP_OR, 0), W_TITLE));
    /* every query term and synonym (运维 reaches 运行维护 in a title) */
    struct qlist stdt = {0};
    size_t it = 0;
    const char *key;
    void *val;
    while (kb_map_next(b->hl, &it, &key, &val)) {
        if (key[0] == 'Z')
            continue; /* titles are indexed unstemmed */
        double w = (double)((intptr_t)val - 1) / 1000.0;
        ql_add(&stdt, scaled(prefixed_q(KB_PREFIX_STDTITLE, key, strlen(key)), w));
    }
    ql_add(&b->boosts, scaled(ql_combine(&stdt, KBX_OP_OR, 0), W_STDTITLE));
    size_t pairs = 0;
    for (size_t i = 0; i + 1 < b->nprim && pairs < MAX_NEAR; i++) {
        uint32_t d = b->prim[i + 1].pos > b->prim[i].pos ? b->prim[i + 1].pos - b->prim[i].pos : 0;
        if (d == 0 || d > 8)
            continue;
        kbx_query *two[2] = {term_q(b->prim[i].term, strlen(b->prim[i].term)),
                             term_q(b->prim[i + 1].term, strlen(b->prim[i + 1].term))};
        if (two[0] && two[1])
            ql_add(&b->boosts, scaled(kbx_query_combine(KBX_OP_NEAR, two, 2, d + 4), W_NEAR));
        kbx_query_free(two[0]);
        kbx_query_free(two[1]);
        pairs++;
    }
}

/* ---- expert syntax ---------------------------------------------------------- */

struct syntax {
    struct kb_buf free_text;   /* what is left for relaxed matching */
    struct kb_buf phrases[8];
    size_t nphrases;
    struct kb_buf excludes;    /* space-separated excluded words */
    char *field[5];            /* kind, category, lang, standard, clause */
};

static const char *const field_names[5] = {"kind", "category", "lang", "standard", "clause"};

static void syntax_fin(struct syntax *x)
{
    kb_buf_fin(&x->free_text);
    for (size_t i = 0; i < x->nphrases; i++)
        kb_buf_fin(&x->phrases[i]);
    kb_buf_fin(&x->excludes);
    for (int i = 0; i < 5; i++)
        free(x->field[i]);
}

static int is_space(const char *s)
{
    return *s == ' ' || *s == '\t' || *s == '\n';
}

/* Splits normalised query text into free text, "phrases", -exclusions and
 * field:value filters. A quote without its closing quote is plain text. */
static void parse_syntax(const char *q, size_t len, struct syntax *x)
{
    memset(x, 0, sizeof *x);
    kb_buf_add(&x->free_text, "", 0);
    size_t i = 0;
    while (i < len) {
        int at_start = i == 0 || is_space(q + i - 1);
        /* "..." or “...” */
        size_t ql = q[i] == '"' ? 1 : (len - i >= 3 && !memcmp(q + i, "\xe2\x80\x9c", 3)) ? 3 : 0;
        if (ql) {
            size_t j = i + ql, end = len, next = len;
            for (size_t k = j; k < len; k++) {
                if (q[k] == '"') {
                    end = k;
                    next = k + 1;
                    break;
                }
                if (len - k >= 3 && !memcmp(q + k, "\xe2\x80\x9d", 3)) {
                    end = k;
                    next = k + 3;
                    break;
                }
            }
            if (end == len) { /* no closing quote: the quote is just text */
                kb_buf_addc(&x->free_text, ' ');
                i += ql;
                continue;
            }
            if (x->nphrases < 8 && end > j) {
                kb_buf_add(&x->phrases[x->nphrases], q + j, end - j);
                x->nphrases++;
            }
            kb_buf_addc(&x->free_text, ' ');
            i = next;
            continue;
        }
        if (at_start) {
            size_t e = i;
            while (e < len && !is_space(q + e))
                e++;
            /* -word (not -5: a negative number is text) */
            if (q[i] == '-' && e > i + 1 && !(q[i + 1] >= '0' && q[i + 1] <= '9') &&
                q[i + 1] != '-') {
                if (x->excludes.len)
                    kb_buf_addc(&x->excludes, ' ');
                kb_buf_add(&x->excludes, q + i + 1, e - i - 1);
                i = e;
                continue;
            }
            /* field:value */
            const char *colon = memchr(q + i, ':', e - i);
            if (colon && colon + 1 < q + e) {
                for (int f = 0; f < 5; f++) {
                    size_t fl = strlen(field_names[f]);
                    if ((size_t)(colon - (q + i)) == fl && !memcmp(q + i, field_names[f], fl)) {
                        char *v = kb_xstrndup(colon + 1, (size_t)(q + e - colon - 1));
                        free(x->field[f]);
                        x->field[f] = v;
                        i = e;
                        goto next;
                    }
                }
            }
        }
        kb_buf_addc(&x->free_text, q[i]);
        i++;
    next:;
    }
}

/* ---- filters ------------------------------------------------------------------ */

/* OR of prefix+value for each comma-separated value (normalised when
 * norm is set); NULL when values is empty. */
static kbx_query *filter_of(kb_searcher *s, const char *prefix, const char *values, int norm)
{
    if (!values || !*values)
        return NULL;
    struct qlist l = {0};
    const char *p = values;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *v = kb_strip(kb_xstrndup(p, n));
        if (*v) {
            char *nv = NULL;
            size_t nl = 0;
            if (norm && kb_analyzer_normalize(s->an, v, strlen(v), &nv, &nl, NULL, 0) == 0) {
                ql_add(&l, prefixed_q(prefix, nv, nl));
                free(nv);
            } else {
                ql_add(&l, prefixed_q(prefix, v, strlen(v)));
            }
        }
        free(v);
        if (!e)
            break;
        p = e + 1;
    }
    return ql_combine(&l, KBX_OP_OR, 0);
}

static int valid_kinds(const char *values)
{
    if (!values)
        return 1;
    const char *p = values;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *v = kb_strip(kb_xstrndup(p, n));
        int ok = !*v || kb_kind_parse(v) >= 0;
        free(v);
        if (!ok)
            return 0;
        if (!e)
            break;
        p = e + 1;
    }
    return 1;
}

/* ---- snippets ------------------------------------------------------------------- */

struct span {
    size_t start, end; /* original byte offsets */
    uint64_t th;       /* hash of the term, to count each term once */
    double w;
};

/* The query's highlight terms, prepared once per search. Latin terms are
   looked up per token in the map; CJK terms are found in a CJK run as
   substrings, through buckets by their first character, so a hit's text
   is never segmented by ICU. */
#define HL_BUCKETS 64
struct hl_cjk {
    const char *s; /* borrowed from the map's keys */
    size_t len;
    uint64_t th;
    double w;
    int next; /* next term in the same bucket, or -1 */
};

#define HL_LATIN 2048
struct hl_match {
    kb_map *hl; /* borrowed: term -> weight*1000+1 */
    struct hl_cjk *v;
    size_t n;
    int bucket[HL_BUCKETS];
    uint8_t latin[HL_LATIN / 8]; /* filter of the other terms' first two bytes */
    uint8_t zfirst[32];          /* first bytes of the stems (Z terms) */
};

/* The filter bit of a term or token s[0, len) (len >= 1). */
static unsigned hl_latin_bit(const char *s, size_t len)
{
    unsigned a = (unsigned char)s[0], b = len > 1 ? (unsigned char)s[1] : 0;
    return (a * 67u + b) & (HL_LATIN - 1);
}

/* The bucket of a term or text position by its first code point. */
static unsigned hl_bucket(int32_t cp)
{
    return ((uint32_t)cp * 2654435761u) >> 26; /* 64 buckets: the top 6 bits */
}

static void hl_match_init(struct hl_match *hm, kb_map *hl)
{
    memset(hm, 0, sizeof *hm);
    hm->hl = hl;
    for (size_t b = 0; b < HL_BUCKETS; b++)
        hm->bucket[b] = -1;
    size_t it = 0;
    const char *key;
    void *val;
    while (kb_map_next(hl, &it, &key, &val)) {
        size_t i = 0, len = strlen(key);
        int32_t first = kb_utf8_next(key, len, &i);
        if (!kb_tok_is_cjk(first)) {
            unsigned bit = hl_latin_bit(key, len);
            hm->latin[bit / 8] |= (uint8_t)(1u << (bit % 8));
            if (key[0] == 'Z' && len > 1) {
                unsigned char z = (unsigned char)key[1];
                hm->zfirst[z / 8] |= (uint8_t)(1u << (z % 8));
            }
            continue;
        }
        hm->v = kb_xrealloc(hm->v, (hm->n + 1) * sizeof *hm->v);
        struct hl_cjk *t = &hm->v[hm->n];
        t->s = key;
        t->len = len;
        t->th = kb_hash64(key, len);
        t->w = (double)((intptr_t)val - 1) / 1000.0;
        unsigned b = hl_bucket(first);
        t->next = hm->bucket[b];
        hm->bucket[b] = (int)hm->n++;
    }
}

static void hl_match_fin(struct hl_match *hm)
{
    free(hm->v);
    hm->v = NULL;
}

struct spans {
    struct span *v;
    size_t n, cap;
    const size_t *map;
    const struct hl_match *hm;
};

#define SPANS_MAX 4000

static void add_span(struct spans *sp, size_t start, size_t end, uint64_t th, double w)
{
    if (sp->n == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 32;
        sp->v = kb_xrealloc(sp->v, sp->cap * sizeof *sp->v);
    }
    struct span *s = &sp->v[sp->n++];
    s->start = sp->map[start];
    s->end = sp->map[end];
    s->th = th;
    s->w = w;
}

static int collect_span(void *ud, const struct kb_token *t)
{
    struct spans *sp = ud;
    const struct hl_match *hm = sp->hm;
    if (t->flags & KB_TOKF_RUN) {
        /* every occurrence of every CJK term in the run */
        const char *p = t->term;
        for (size_t i = 0, next = 0; i < t->len && sp->n < SPANS_MAX; i = next) {
            int32_t cp = kb_utf8_next(p, t->len, &next);
            for (int j = hm->bucket[hl_bucket(cp)]; j >= 0; j = hm->v[j].next) {
                const struct hl_cjk *h = &hm->v[j];
                if (h->len <= t->len - i && memcmp(p + i, h->s, h->len) == 0)
                    add_span(sp, t->start + i, t->start + i + h->len, h->th, h->w);
            }
        }
        return 0;
    }
    /* a word whose first letter starts no stem wants no stem: the
       stemmer keeps a word's first letter */
    unsigned char f = (unsigned char)t->term[0];
    int rc = (t->flags & KB_TOKF_WORD) && !(hm->zfirst[f / 8] >> (f % 8) & 1) ? KB_TOK_NOSTEM
                                                                               : 0;
    unsigned bit = hl_latin_bit(t->term, t->len);
    if (!(hm->latin[bit / 8] >> (bit % 8) & 1))
        return rc; /* no term starts with these two bytes */
    intptr_t w = (intptr_t)kb_map_getn(hm->hl, t->term, t->len);
    if (!w || sp->n >= SPANS_MAX)
        return rc;
    add_span(sp, t->start, t->end, kb_hash64(t->term, t->len), (double)(w - 1) / 1000.0);
    return rc;
}


/* Scores the window [ws, ws+bytes): distinct matched spans' weights. */
static double window_score(const struct spans *sp, size_t ws, size_t bytes)
{
    double score = 0;
    for (size_t i = 0; i < sp->n; i++) {
        const struct span *a = &sp->v[i];
        if (a->start < ws || a->end > ws + bytes)
            continue;
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = sp->v[j].th == a->th;
        score += dup ? 0 : a->w;
    }
    return score;
}

static void add_escaped(struct kb_buf *b, const char *s, size_t n, int *space)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            if (!*space)
                kb_buf_addc(b, ' ');
            *space = 1;
            continue;
        }
        if (c == '*' || c == '`' || c == '#')
            continue; /* Markdown markers */
        *space = 0;
        switch (c) {
        case '&': kb_buf_adds(b, "&amp;"); break;
        case '<': kb_buf_adds(b, "&lt;"); break;
        case '>': kb_buf_adds(b, "&gt;"); break;
        case '"': kb_buf_adds(b, "&quot;"); break;
        case '\'': kb_buf_adds(b, "&#39;"); break;
        default: kb_buf_addc(b, c);
        }
    }
}

static size_t char_start(const char *s, size_t i)
{
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? 1 : x->end > y->end ? -1 : 0;
}

#define SNIPPET_CHUNK 4096      /* bytes analysed at a time */
#define SNIPPET_SCAN_MAX 262144  /* no match in this many bytes: the start */

/* Adds the matches in text[0, len) (at byte offset off of the field) to sp. */
static int chunk_spans(kb_searcher *s, struct spans *sp, const char *text, size_t len, size_t off)
{
    char *norm = NULL;
    size_t nlen = 0, *map = NULL;
    if (kb_analyzer_normalize_map(s->an, text, len, &norm, &nlen, &map, NULL, 0) < 0)
        return -1;
    size_t from = sp->n;
    sp->map = map;
    kb_analyzer_tokenize(s->an, KB_TOK_RUNS, norm, nlen, collect_span, sp, NULL, NULL, 0);
    sp->map = NULL;
    for (size_t i = from; i < sp->n; i++) {
        sp->v[i].start += off;
        sp->v[i].end += off;
    }
    free(norm);
    free(map);
    return 0;
}

/* The best snippet of one field text, its score in *score. Caller frees. */
static char *field_snippet(kb_searcher *s, const struct hl_match *hm, const char *text,
                           size_t bytes, double *score)
{
    *score = -1;
    size_t len = strlen(text);
    if (!len)
        return NULL;
    struct spans sp = {0};
    sp.hm = hm;
    /* A long text (a man page, a list of functions) is analysed a piece
       at a time, up to the first piece with a match: the snippet comes
       from the first SNIPPET_CHUNK bytes that match, and a hit's cost does
       not grow with the length of its body. */
    for (size_t off = 0; off < len && off < SNIPPET_SCAN_MAX && !sp.n;) {
        size_t end = len;
        if (len - off > SNIPPET_CHUNK) {
            end = off + SNIPPET_CHUNK;
            const char *nl = NULL;
            for (size_t k = end; k > end - SNIPPET_CHUNK / 8 && !nl; k--)
                if (text[k - 1] == '\n')
                    nl = text + k;
            end = nl ? (size_t)(nl - text) : char_start(text, end);
        }
        if (chunk_spans(s, &sp, text + off, end - off, off) < 0)
            break;
        off = end;
    }
    if (sp.n)
        qsort(sp.v, sp.n, sizeof *sp.v, cmp_span);
    /* best window start among the matches */
    size_t best_ws = 0;
    double best = 0;
    size_t lead = bytes / 5;
    for (size_t i = 0; i < sp.n; i++) {
        size_t ws = sp.v[i].start > lead ? sp.v[i].start - lead : 0;
        double sc = window_score(&sp, ws, bytes);
        if (sc > best + 1e-9) {
            best = sc;
            best_ws = ws;
        }
    }
    size_t ws = char_start(text, best_ws);
    if (ws > 0 && best > 0) {
        /* start after a sentence end close before the first match */
        size_t first = ws + lead < len ? ws + lead : len;
        for (size_t k = first; k > ws; k--) {
            if (text[k - 1] == '\n' || (k >= 3 && (!memcmp(text + k - 3, "。", 3) ||
                                                   !memcmp(text + k - 3, "；", 3) ||
                                                   !memcmp(text + k - 3, "！", 3) ||
                                                   !memcmp(text + k - 3, "？", 3)))) {
                ws = k;
                break;
            }
        }
    }
    size_t we = ws + bytes < len ? char_start(text, ws + bytes) : len;
    for (size_t i = 0; i < sp.n; i++) /* never cut a match in half */
        if (sp.v[i].start < we && sp.v[i].end > we)
            we = sp.v[i].end;
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, "", 0);
    if (ws > 0)
        kb_buf_adds(&b, "…");
    int space = 1;
    size_t at = ws;
    for (size_t i = 0; i < sp.n; i++) {
        struct span m = sp.v[i];
        if (m.start < at || m.start >= we)
            continue;
        /* merge overlapping or touching matches */
        while (i + 1 < sp.n && sp.v[i + 1].start <= m.end) {
            if (sp.v[i + 1].end > m.end)
                m.end = sp.v[i + 1].end;
            i++;
        }
        if (m.end > we)
            m.end = we;
        add_escaped(&b, text + at, m.start - at, &space);
        kb_buf_adds(&b, "<mark>");
        space = 0;
        add_escaped(&b, text + m.start, m.end - m.start, &space);
        kb_buf_adds(&b, "</mark>");
        at = m.end;
    }
    if (at < we)
        add_escaped(&b, text + at, we - at, &space);
    while (b.len && b.data[b.len - 1] == ' ')
        b.data[--b.len] = '\0';
    if (we < len)
        kb_buf_adds(&b, "…");
    *score = best;
    free(sp.v);
    return kb_buf_take(&b);
}

static char *doc_snippet(kb_searcher *s, const struct hl_match *hm, const struct kb_doc *d,
                         size_t bytes)
{
    const char *fields[6] = {0};
    size_t n = 0;
    if (d->kind == KB_KIND_KNOWN_ERROR) {
        fields[n++] = d->symptom;
        fields[n++] = d->workaround;
        fields[n++] = d->cause;
        fields[n++] = d->resolution;
        fields[n++] = d->body;
    } else {
        fields[n++] = d->body;
    }
    char *best = NULL;
    double best_score = -1;
    for (size_t i = 0; i < n; i++) {
        if (!fields[i] || !*fields[i])
            continue;
        double sc;
        char *sn = field_snippet(s, hm, fields[i], bytes, &sc);
        if (sn && sc > best_score + 1e-9) {
            free(best);
            best = sn;
            best_score = sc;
        } else {
            free(sn);
        }
    }
    return best ? best : kb_xstrdup("");
}

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

static char *std_slug_of(const struct kb_doc *d)
{
    const char *colon = d->id ? strrchr(d->id, ':') : NULL;
    if (!d->id || strncmp(d->id, "std-", 4) != 0 || !colon)
        return NULL;
    return kb_xstrndup(d->id + 4, (size_t)(colon - d->id - 4));
}

static char *standard_label(const struct kb_doc *d)
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

static void fill_hit(kb_searcher *s, const struct hl_match *hm, size_t bytes,
                     const struct kb_doc *d, struct kb_hit *h)
{
    h->id = kb_xstrdup(d->id);
    h->kind = kb_xstrdup(kb_kind_name(d->kind));
    h->title = kb_xstrdup(d->title ? d->title : d->id);
    h->category = kb_xstrdup(d->category);
    h->updated = kb_xstrdup(d->updated);
    h->visibility = kb_xstrdup(d->visibility);
    h->snippet = doc_snippet(s, hm, d, bytes);
    if (d->kind == KB_KIND_KNOWN_ERROR) {
        h->workaround = kb_xstrdup(d->workaround);
        h->status = kb_xstrdup(d->status);
        h->service = kb_xstrdup(d->service);
    } else if (d->kind == KB_KIND_STANDARD) {
        h->std = std_slug_of(d);
        h->standard = standard_label(d);
        h->clause = kb_xstrdup(d->clause);
        h->heading = kb_xstrdup(d->heading);
        h->path = kb_xstrdup(d->path);
    }
}

/* ---- spelling --------------------------------------------------------------------- */

/* Replaces each unknown word of the normalised query that has a spelling
 * correction. Returns a new string (caller frees) or NULL if none. */
static char *spell(struct build *b, const char *nq)
{
    struct kb_buf out;
    kb_buf_init(&out);
    kb_buf_adds(&out, nq);
    int changed = 0;
    for (size_t i = 0; i < b->unknown.n; i++) {
        const struct tok *t = &b->unknown.v[i];
        char *fix = NULL;
        unsigned dist = (t->flags & KB_TOKF_CJK) ? 1 : (t->len > 6 ? 2 : 1);
        if ((fix = visible_spelling(b->s, t->term, dist, b->internal)) &&
            strcmp(fix, t->term) != 0) {
            char *at = strstr(out.data, t->term);
            if (at) {
                struct kb_buf nb;
                kb_buf_init(&nb);
                kb_buf_add(&nb, out.data, (size_t)(at - out.data));
                kb_buf_adds(&nb, fix);
                kb_buf_adds(&nb, at + t->len);
                kb_buf_fin(&out);
                out = nb;
                changed = 1;
            }
        }
        free(fix);
    }
    if (!changed) {
        kb_buf_fin(&out);
        return NULL;
    }
    return kb_buf_take(&out);
}

/* ---- running a search ---------------------------------------------------------------- */

uint32_t kb_search_limit(uint32_t asked)
{
    return asked == 0 ? KB_SEARCH_DEFAULT_LIMIT : asked > KB_SEARCH_MAX_LIMIT ? KB_SEARCH_MAX_LIMIT : asked;
}

static void build_fin(struct build *b)
{
    ql_fin(&b->groups);
    ql_fin(&b->chatty);
    ql_fin(&b->boosts);
    kbx_query_free(b->boost);
    kb_map_free(b->hl, NULL);
    for (size_t i = 0; i < b->nprim; i++)
        free(b->prim[i].term);
    toks_fin(&b->unknown);
    toks_fin(&b->clauses);
}

/* Builds the query for normalised text nq; *out NULL means "matches
 * nothing". The title and proximity boosts are left out of *out and kept in
 * b->boost, for run_once to apply to the best candidates only. */
static int build_query(kb_searcher *s, const struct kb_search_req *req, const char *nq,
                       size_t nqlen, struct build *b, kbx_query **out, char *err, size_t errlen)
{
    *out = NULL;
    memset(b, 0, sizeof *b);
    b->s = s;
    b->internal = req->internal;
    b->hl = kb_map_new();
    struct syntax x;
    parse_syntax(nq, nqlen, &x);
    int rc = 0;
    const char *kind = x.field[0] ? x.field[0] : req->kind;
    if (!valid_kinds(kind)) {
        kb_seterr(err, errlen, "[search] unknown kind '%s' (article, known_error, standard)",
                  kind);
        rc = KB_SEARCH_EINPUT;
        goto done;
    }
    struct toks ts = {0};
    analyse(s, x.free_text.data, x.free_text.len, &ts);
    build_groups(b, &ts);
    toks_fin(&ts);
    if (b->groups.n == 0) { /* 怎么办 alone: the chatty words are the query */
        struct qlist t = b->groups;
        b->groups = b->chatty;
        b->chatty = t;
    }
    kbx_query *main = NULL;
    if (b->groups.n > ELITE_ABOVE)
        main = ql_combine(&b->groups, KBX_OP_ELITE_SET, ELITE_ABOVE);
    else
        main = ql_combine(&b->groups, KBX_OP_OR, 0);
    /* required phrases */
    struct qlist req_l = {0};
    for (size_t i = 0; i < x.nphrases; i++) {
        struct toks pt = {0};
        analyse(s, x.phrases[i].data, x.phrases[i].len, &pt);
        ql_add(&req_l, phrase_from(&pt, b));
        toks_fin(&pt);
    }
    if (req_l.n) {
        kbx_query *must = ql_combine(&req_l, KBX_OP_AND, 0);
        if (main) {
            kbx_query *two[2] = {must, main};
            kbx_query *q = kbx_query_combine(KBX_OP_AND_MAYBE, two, 2, 0);
            kbx_query_free(must);
            kbx_query_free(main);
            main = q;
        } else {
            main = must;
        }
    }
    if (main) {
        build_boosts(b);
        if (b->boosts.n)
            b->boost = ql_combine(&b->boosts, KBX_OP_OR, 0);
    } else if (x.field[0] || x.field[1] || x.field[2] || x.field[3] || x.field[4]) {
        main = kbx_query_match_all(); /* only filters: list what they select */
    }
    if (!main)
        goto done;
    /* exclusions */
    if (x.excludes.len) {
        struct toks et = {0};
        analyse(s, x.excludes.data, x.excludes.len, &et);
        struct qlist ex = {0};
        for (size_t i = 0; i < et.n; i++)
            if (et.v[i].flags & (KB_TOKF_WORD | KB_TOKF_CODE))
                ql_add(&ex, term_q(et.v[i].term, et.v[i].len));
        toks_fin(&et);
        kbx_query *exq = ql_combine(&ex, KBX_OP_OR, 0);
        if (exq) {
            kbx_query *two[2] = {main, exq};
            kbx_query *q = kbx_query_combine(KBX_OP_AND_NOT, two, 2, 0);
            kbx_query_free(main);
            kbx_query_free(exq);
            main = q;
        }
    }
    /* filters: AND across fields, OR within one */
    struct qlist f = {0};
    ql_add(&f, filter_of(s, KB_PREFIX_KIND, kind, 0));
    ql_add(&f, filter_of(s, KB_PREFIX_CATEGORY, x.field[1] ? x.field[1] : req->category, 1));
    ql_add(&f, filter_of(s, KB_PREFIX_LANG, x.field[2] ? x.field[2] : req->lang, 0));
    ql_add(&f, filter_of(s, KB_PREFIX_STD, x.field[3] ? x.field[3] : req->standard, 0));
    ql_add(&f, filter_of(s, KB_PREFIX_CLAUSE, x.field[4], 0));
    ql_add(&f, vis_filter(s, req->internal)); /* counted at each reopen */
    if (f.n) {
        kbx_query *filt = ql_combine(&f, KBX_OP_AND, 0);
        kbx_query *two[2] = {main, filt};
        kbx_query *q = kbx_query_combine(KBX_OP_FILTER, two, 2, 0);
        kbx_query_free(main);
        kbx_query_free(filt);
        main = q;
    }
    *out = main;
done:
    syntax_fin(&x);
    return rc;
}

/* ---- re-ranking ------------------------------------------------------------------------ */

#define RERANK_DEPTH 50
#define BOOST_DEPTH 50 /* candidates the title and proximity boosts may lift */
#define W_SECTION 0.95 /* a section entry yields to its own matching sub-clause */

struct cand {
    size_t i;           /* index in the mset */
    double w;           /* weight after re-ranking */
    struct kb_doc *doc; /* owned */
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

/* The stored document of mset entry i, or NULL. Caller frees. */
static struct kb_doc *load_cand(kbx_mset *m, size_t i)
{
    const char *data;
    size_t len;
    if (kbx_mset_data(m, i, &data, &len) != 0)
        return NULL;
    return kb_doc_unpack(data, len, NULL, 0);
}

/* Xapian's defaults with kbdesk's BM25 parameters: every pass of a search
 * must weigh alike, since run_once adds the passes' weights. */
static void search_opts_init(struct kbx_search_opts *o)
{
    kbx_search_opts_init(o);
    o->bm25_k1 = 1.2;
    o->bm25_b = 0.6;
}

/* kbx_search with the error handling every search needs: on failure a
 * message in err, and a reopen when the index moved under us. */
static int search_db(kb_searcher *s, const kbx_query *q, const struct kbx_search_opts *o,
                     kbx_mset **m, char *err, size_t errlen)
{
    int rc = kbx_search(s->db, q, o, m);
    if (rc < 0) {
        kb_seterr(err, errlen, "[search] %s", kbx_db_errmsg(s->db));
        if (rc == KBX_ERR_MODIFIED) /* the index moved under us: reopen once */
            kb_searcher_refresh(s, NULL, NULL, 0);
        return KB_SEARCH_EINDEX;
    }
    return 0;
}

/* Adds to each candidate c[0..n) (entries of m) the weight the boost query
 * gives it. The boost query runs alone, restricted to the candidates'
 * documents: the candidates' other weights are m's. (Running the boosted
 * query restricted to the candidates instead gives wrong weights in Xapian
 * 1.4.22: some candidates get weight from subqueries they do not match,
 * it seems the phrase ones. With the boosts alone, the top hit of 130 of
 * the 133 eval queries is the one-pass search's.) */
static int add_boosts(kb_searcher *s, const kbx_query *boost, kbx_mset *m, struct cand *c,
                      size_t n, char *err, size_t errlen)
{
    uint32_t *ids = kb_xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = kbx_mset_docid(m, c[i].i);
    kbx_query *only = kbx_query_docids(ids, n);
    kbx_query *two[2] = {(kbx_query *)boost, only};
    kbx_query *bq = only ? kbx_query_combine(KBX_OP_FILTER, two, 2, 0) : NULL;
    kbx_query_free(only);
    int rc = -1;
    if (!bq) {
        kb_seterr(err, errlen, "[search] out of memory");
        goto out;
    }
    struct kbx_search_opts o;
    search_opts_init(&o);
    o.limit = (uint32_t)n;
    kbx_mset *mb = NULL;
    rc = search_db(s, bq, &o, &mb, err, errlen);
    kbx_query_free(bq);
    if (rc < 0)
        goto out;
    for (size_t j = 0; j < kbx_mset_size(mb); j++) {
        uint32_t id = kbx_mset_docid(mb, j);
        for (size_t i = 0; i < n; i++)
            if (ids[i] == id) {
                c[i].w += kbx_mset_weight(mb, j);
                break;
            }
    }
    kbx_mset_free(mb);
out:
    free(ids);
    return rc;
}

/* Two passes. The first runs the query without its title and proximity
 * boosts (their posting lists and position checks would otherwise be
 * evaluated for every match) and yields the total, the facets and the best
 * BOOST_DEPTH candidates; the second runs the boosted query over those
 * candidates only, which gives them exactly the weights the boosted query
 * would give them over the whole index. A page past RERANK_DEPTH runs the
 * boosted query once over everything. */
static int run_once(kb_searcher *s, const struct kb_search_req *req, const char *nq, size_t nqlen,
                    struct kb_search_res *res, struct build *b, char *err, size_t errlen)
{
    kbx_query *q = NULL;
    int rc = build_query(s, req, nq, nqlen, b, &q, err, errlen);
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
    o.offset = rerank ? 0 : req->offset;
    o.limit = !rerank ? limit : b->boost ? BOOST_DEPTH : RERANK_DEPTH;
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
    if (rerank && b->boost && n > 0) {
        if (add_boosts(s, b->boost, m, c, n, err, errlen) < 0) {
            free(c);
            kbx_mset_free(m);
            return KB_SEARCH_EINDEX;
        }
        qsort(c, n, sizeof *c, cmp_cand);
        if (n > RERANK_DEPTH)
            n = RERANK_DEPTH;
    }
    /* re-ranking only looks at standard clauses: other candidates' stored
       documents (long bodies) are parsed only if they become hits */
    for (size_t i = 0; rerank && i < n; i++) {
        const char *kind;
        size_t klen;
        /* the kind is the first part of the facet slot (held in memory
           when the search counted facets) */
        if (kbx_mset_value(m, c[i].i, KB_SLOT_FACETS, &kind, &klen) == 0 && klen > 8 &&
            memcmp(kind, "standard", 8) == 0 && kind[8] == KBX_FACET_SEP)
            c[i].doc = load_cand(m, c[i].i);
    }
    if (rerank)
        rerank_candidates(s, c, n, &b->clauses, nq);
    size_t from = rerank ? req->offset : 0, to = rerank ? req->offset + limit : n;
    if (to > n)
        to = n;
    res->hits = kb_xcalloc(to > from ? to - from : 1, sizeof *res->hits);
    size_t bytes = req->snippet_bytes ? req->snippet_bytes : 240;
    struct hl_match hm;
    hl_match_init(&hm, b->hl);
    for (size_t k = from; k < to; k++) {
        if (!c[k].doc)
            c[k].doc = load_cand(m, c[k].i);
        if (!c[k].doc)
            continue;
        struct kb_hit *h = &res->hits[res->nhits++];
        fill_hit(s, &hm, bytes, c[k].doc, h);
        h->score = c[k].w;
        h->percent = kbx_mset_percent(m, c[k].i);
    }
    hl_match_fin(&hm);
    for (size_t i = 0; i < n; i++)
        kb_doc_free(c[i].doc);
    free(c);
    if (!req->no_facets) {
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
    if (usable(s, err, errlen) < 0)
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
    rc = run_once(s, req, nq, nqlen, res, &b, err, errlen);
    if (rc == 0 && !req->no_suggestion && res->total < 3 && b.unknown.n) {
        res->suggestion = spell(&b, nq);
        if (res->suggestion && res->total == 0) {
            struct kb_search_res again;
            struct build b2;
            memset(&again, 0, sizeof again);
            if (run_once(s, req, res->suggestion, strlen(res->suggestion), &again, &b2, NULL,
                         0) == 0 &&
                again.total > 0) {
                char *sugg = res->suggestion;
                res->suggestion = NULL;
                kb_search_res_fin(res);
                *res = again;
                res->suggestion = sugg;
                res->corrected = kb_xstrdup(sugg);
            } else {
                kb_search_res_fin(&again);
            }
            build_fin(&b2);
        }
    }
    build_fin(&b);
    free(nq);
    if (rc < 0) {
        kb_search_res_fin(res);
        return rc;
    }
    res->took_ms = kb_clock_ms() - t0;
    return 0;
}

/* ---- JSON -------------------------------------------------------------------------- */

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
    kb_buf_printf(b, "%lld", v);
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

char *kb_search_res_json(const struct kb_search_res *r, const char *query, size_t qlen,
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
    kb_buf_addc(&b, '{');
    int ff = 1;
    facets_json(&b, &ff, "kind", &r->kind);
    facets_json(&b, &ff, "category", &r->category);
    facets_json(&b, &ff, "standard", &r->standard);
    kb_buf_addc(&b, '}');
    member_or_null(&b, &first, "suggestion", r->suggestion);
    member_or_null(&b, &first, "corrected", r->corrected);
    kb_buf_addc(&b, '}');
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
    if (usable(s, err, errlen) < 0)
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
    char *slug = std_slug_of(d);
    if (o && slug)
        json_object_set_new(o, "std", json_string(slug));
    if (o && d->kind == KB_KIND_STANDARD) {
        char *label = standard_label(d);
        json_object_set_new(o, "standard", json_string(label));
        free(label);
    }
    if (o)
        json_object_set_new(o, "refs", doc_refs(s, d, internal));
    free(slug);
    kb_doc_free(d);
    *json = dump(o);
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
        set_str(o, "id", d->id);
        set_str(o, "clause", d->clause);
        set_str(o, "heading", d->heading);
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
    if (usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    int ie;
    struct kb_doc *d = load_doc(s, id, internal, &ie);
    char *slug = d ? std_slug_of(d) : NULL;
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
    *json = dump(o);
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
    if (usable(s, err, errlen) < 0)
        return KB_SEARCH_EINDEX;
    struct std_ctx c = {s, json_array(), internal};
    if (kbx_db_allterms(s->db, KB_PREFIX_STD, one_standard, &c) < 0) {
        kb_seterr(err, errlen, "[search] %s", kbx_db_errmsg(s->db));
        json_decref(c.arr);
        *json = NULL;
        return KB_SEARCH_EINDEX;
    }
    *json = dump(c.arr);
    return 0;
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
    uint32_t pub = public_tf(tf, twf, len);
    return pub ? collect_term(ud, term, len, pub) : 0;
}

static int cmp_tf(const void *a, const void *b)
{
    const struct term_sugg *x = a, *y = b;
    return x->tf < y->tf ? 1 : x->tf > y->tf ? -1 : strcmp(x->term, y->term);
}

int kb_search_suggest(kb_searcher *s, const char *prefix, size_t len, int internal, size_t max,
                      char **json, char *err, size_t errlen)
{
    *json = NULL;
    if (usable(s, err, errlen) < 0)
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
        titles_free(s);
        kbx_db_allterms(s->db, KB_PREFIX_ID, load_title, s);
        s->titles_loaded = 1;
        s->titles_rev = s->rev;
    }
    json_t *arr = json_array();
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
                json_t *o = json_object();
                json_object_set_new(o, "text", json_string(e->title));
                json_object_set_new(o, "kind", json_string("title"));
                json_object_set_new(o, "id", json_string(e->id));
                json_object_set_new(o, "doc_kind", json_string(e->kind));
                json_array_append_new(arr, o);
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
            if (internal || !has_internal(s))
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
                json_t *o = json_object();
                json_object_set_new(o, "text", json_string(t.data));
                json_object_set_new(o, "kind", json_string("term"));
                json_array_append_new(arr, o);
                kb_buf_fin(&t);
                n++;
            }
            for (size_t i = 0; i < tc.n; i++)
                free(tc.v[i].term);
            free(tc.v);
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "query", json_stringn(prefix, len));
    json_object_set_new(o, "suggestions", arr);
    *json = dump(o);
    free(np);
    return 0;
}
