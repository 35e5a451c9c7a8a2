/* kb_search_query: from a user's text to a Xapian query.
 *
 * A query goes through the same analyzer as the documents. Its tokens become
 * "groups" (one concept each: a word with its stem and synonyms, a code, a
 * bigram), each a Xapian subquery scaled by how informative it is; the
 * groups are ORed (relaxed matching ranked by BM25; words most documents
 * have only weigh the documents the others find), then title matches and
 * query words found close together in a document add weight through
 * AND_MAYBE (kept apart in the build, for kb_search_rank.c to apply to the
 * best candidates), as do the query's runs of CJK characters and of Latin
 * words found as they are (three words at a time). Bigrams across CJK words weigh more the more
 * of the query's Chinese is in no dictionary word (a fragment cut from a
 * page rather than a user's words). Expert syntax ("phrase", -word,
 * field:value) is taken out of the text before tokenizing; filters (kind,
 * category, lang, standard, clause, and the caller's visibility) are ANDed
 * as a FILTER. */
#include "kb_search_int.h"
#include "kb_schema.h"
#include "kb_utf8.h"

#include <stdlib.h>
#include <string.h>

/* ---- tuning --------------------------------------------------------------- */

#define W_WORD 1.0        /* a dictionary / lexicon / Latin word */
#define W_LONGWORD 1.3    /* a CJK word of three characters or more */
#define W_NUMBER 1.5      /* a bare number: usually an error number (809) */
#define W_CODE 2.5        /* a code kept whole (0x80070005, ora-12154) */
#define W_PART 0.4        /* a part of a code */
#define W_CLAUSE 4.0      /* N<clause>: the clause itself */
#define W_BIGRAM 0.35     /* a CJK bigram across words, in a query made of
                             dictionary words */
#define W_BIGRAM_FRAG 1.2 /* ... in a query none of whose characters is in a
                             word of two or more: between the two, by the
                             share of such characters (build_groups) */
#define W_SINGLE 0.3      /* a one-character CJK word */
#define W_SUBWORD 0.5     /* factor for a word inside a longer query word */
#define W_CHATTY 0.12     /* 怎么办, please, ... */
#define W_CONCEPT 2.0     /* a multi-word glossary entry (service desk) */
#define W_IN_CONCEPT 0.3  /* factor for a word that is part of such an entry */
#define W_TITLE 0.4       /* title / heading matches (AND_MAYBE): the body's
                             title terms already carry KB_WDF_TITLE */
#define W_NEAR 0.3        /* neighbouring query words near each other */
#define W_STDTITLE 0.5    /* query words naming a standard (AND_MAYBE) */
#define W_RUN 1.0         /* a run of three or more CJK characters of the query
                             found as it is (AND_MAYBE) */
#define W_LATIN_RUN 0.5   /* three consecutive Latin words of the query
                             found in that order (AND_MAYBE) */
#define MAX_TRIPLES 8
#define MAX_RUNS 4
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

/* ---- query building ----------------------------------------------------------- */

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

/* a op b (KBX_OP_*), freeing a and b. */
static kbx_query *q_pair(int op, kbx_query *a, kbx_query *b)
{
    kbx_query *two[2] = {a, b};
    kbx_query *q = kbx_query_combine(op, two, 2, 0);
    kbx_query_free(a);
    kbx_query_free(b);
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
 * indexed at its position), within the window the tokens span plus slack
 * positions. NULL if no usable token. */
static kbx_query *phrase_from(const struct toks *ts, struct build *b, uint32_t slack)
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
    uint32_t window = last - first + 1 + slack;
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
            ql_add(c->alts, phrase_from(&ts, c->b, 1));
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

/* Adds group q with weight w; freq: how many documents have its word. */
static void add_group(struct build *b, kbx_query *q, double w, uint32_t freq)
{
    size_t n = b->groups.n;
    add_to(&b->groups, q, w);
    if (b->groups.n > n)
        b->gfreq[n] = freq;
}

/* How many documents have term t (NUL-terminated); 0 if unknown, or when
 * no word of this query can be common (may_have_common). */
static uint32_t tf(const struct build *b, const char *t)
{
    uint32_t n = 0;
    if (!b->common || kbx_db_termfreq(b->s->db, t, &n) < 0)
        n = 0;
    return n;
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
    if (kbs_visible_tf(b->s, t->term, b->internal) > 0)
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
                add_group(b, ql_combine(&alts, KBX_OP_OR, 0), W_CONCEPT, 0);
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
    /* share of the query's CJK characters in no word of two characters or
       more (a fragment cut across words: 以编辑配), which moves the
       cross-word bigrams' weight from W_BIGRAM towards W_BIGRAM_FRAG */
    unsigned char *cjk = kb_xcalloc(maxpos + 1, 1);
    for (size_t i = 0; i < ts->n; i++) {
        const struct tok *t = &ts->v[i];
        if ((t->flags & KB_TOKF_CJK) && (t->flags & KB_TOKF_WORD))
            for (uint32_t k = t->pos; k < t->pos + t->nchars && k <= maxpos; k++)
                cjk[k] = 1;
    }
    size_t ncjk = 0, nloose = 0;
    for (uint32_t k = 0; k <= maxpos; k++) {
        ncjk += cjk[k];
        nloose += cjk[k] && !cov[k] && !chat[k];
    }
    free(cjk);
    double frag = ncjk ? (double)nloose / (double)ncjk : 0;
    double w_bigram = W_BIGRAM + (W_BIGRAM_FRAG - W_BIGRAM) * frag;
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
                    add_group(b, ql_combine(&alts, KBX_OP_SYNONYM, 0), w, tf(b, t->term));
                if (!c && t->nchars >= 2) {
                    add_prim(b, t->term, t->len, t->pos, w);
                    if (t->nchars >= 3)
                        note_unknown(b, t);
                }
            } else if (t->flags & KB_TOKF_BIGRAM) {
                /* every bigram of the query but those inside a chatty word
                   (怎么 of 怎么办): also across two words and next to a
                   one-character function word (用该, 选的), since the
                   segmenter cuts a fragment or a user's run of characters
                   differently from the page's sentence, and a bigram's
                   BM25 weight already says how common it is */
                int in_chatty = 0;
                for (size_t j = 0; j < ts->n && !in_chatty; j++) {
                    const struct tok *u = &ts->v[j];
                    in_chatty = (u->flags & KB_TOKF_WORD) && (u->flags & KB_TOKF_CJK) &&
                                u->pos <= t->pos && t->pos + 2 <= u->pos + u->nchars &&
                                is_chatty(u->term, u->len);
                }
                if (in_chatty)
                    continue;
                add_group(b, term_q(t->term, t->len), w_bigram, tf(b, t->term));
                hl_add(b, t->term, t->len, w_bigram);
            }
            continue;
        }
        /* Latin words, numbers, codes and their parts */
        if (t->flags & KB_TOKF_PART) {
            add_group(b, term_q(t->term, t->len), W_PART, tf(b, t->term));
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
        else {
            uint32_t f = tf(b, t->term), fs = stem ? tf(b, stem->term) : 0;
            add_group(b, ql_combine(&alts, KBX_OP_SYNONYM, 0), w, f > fs ? f : fs);
        }
        if (!c) {
            const struct tok *p = stem ? stem : t;
            add_prim(b, p->term, p->len, t->pos, w);
            if (!code && !is_number(t->term, t->len) && t->len >= 3)
                note_unknown(b, t);
        }
        if (code && is_clause_number(t->term, t->len)) {
            add_group(b, prefixed_q(KB_PREFIX_CLAUSE, t->term, t->len), W_CLAUSE, 0);
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

/* Exact-run boosts: each run of three or more consecutive CJK characters
 * of the query (a heading, a phrase cut from a page, a problem worded as
 * the page words it) becomes a phrase of its bigrams, a boost for pages
 * that hold the run as it is, whatever the segmenter made of its words
 * (a fragment cut across words: 以编辑配). At most MAX_RUNS runs. */
static void build_run_boosts(struct build *b, const struct toks *ts)
{
    size_t start = 0, nruns = 0;
    while (start < ts->n && nruns < MAX_RUNS) {
        if (!(ts->v[start].flags & KB_TOKF_CJK)) {
            start++;
            continue;
        }
        /* tokens of one run cover contiguous positions */
        uint32_t first = ts->v[start].pos, end = first + ts->v[start].nchars;
        size_t i = start + 1;
        while (i < ts->n && (ts->v[i].flags & KB_TOKF_CJK) && ts->v[i].pos >= first &&
               ts->v[i].pos <= end) {
            if (ts->v[i].pos + ts->v[i].nchars > end)
                end = ts->v[i].pos + ts->v[i].nchars;
            i++;
        }
        if (end - first >= 3) {
            struct toks run = {ts->v + start, i - start, i - start};
            kbx_query *ph = phrase_from(&run, NULL, 0) /* as it is */;
            if (ph) {
                ql_add(&b->boosts, scaled(ph, W_RUN));
                nruns++;
            }
        }
        start = i;
    }
}

/* Latin word order boosts: each three consecutive Latin words of the
 * query, the little words included (at the start of, cannot be opened),
 * become a phrase: a boost for the pages that hold them so, in order.
 * Words alone say little when most of them are common (how, the, of);
 * their order says more. At most MAX_TRIPLES of them. */
static void build_latin_run_boosts(struct build *b, const struct toks *ts)
{
    const struct tok *w[3] = {NULL, NULL, NULL};
    size_t have = 0, ntriples = 0;
    for (size_t i = 0; i < ts->n && ntriples < MAX_TRIPLES; i++) {
        const struct tok *t = &ts->v[i];
        if (t->flags & (KB_TOKF_STEM | KB_TOKF_PART))
            continue;
        if (!latin_word(t) || (have && t->pos != w[have - 1]->pos + 1))
            have = 0;
        if (!latin_word(t))
            continue;
        if (have == 3) {
            w[0] = w[1];
            w[1] = w[2];
            have = 2;
        }
        w[have++] = t;
        if (have < 3)
            continue;
        struct qlist l = {0};
        for (size_t k = 0; k < 3; k++)
            ql_add(&l, term_q(w[k]->term, w[k]->len));
        if (l.n == 3)
            ql_add(&b->boosts, scaled(ql_combine(&l, KBX_OP_PHRASE, 3), W_LATIN_RUN));
        ql_fin(&l);
        ntriples++;
        b->norder++;
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
static void parse_syntax(const char *q, size_t len, int quotes_as_text, struct syntax *x)
{
    memset(x, 0, sizeof *x);
    kb_buf_add(&x->free_text, "", 0);
    size_t i = 0;
    while (i < len) {
        int at_start = i == 0 || is_space(q + i - 1);
        /* "..." or “...” */
        size_t ql = q[i] == '"' ? 1 : (len - i >= 3 && !memcmp(q + i, "\xe2\x80\x9c", 3)) ? 3 : 0;
        if (ql && quotes_as_text) { /* the quote is just text */
            kb_buf_addc(&x->free_text, ' ');
            i += ql;
            continue;
        }
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

void kbs_build_fin(struct build *b)
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

/* The groups ORed, except that when some of them are words most documents
 * have and others are not (kb_searcher_set_common), the common ones only
 * add weight to the documents the others find (AND_MAYBE): a document with
 * nothing but common words of the query is no candidate, and the matcher
 * does not walk their long posting lists to find it. A document that has
 * a rarer group weighs what it weighed in the plain OR. */
static kbx_query *common_apart(struct build *b)
{
    if (!b->common)
        return ql_combine(&b->groups, KBX_OP_OR, 0);
    const kb_searcher *s = b->s;
    double cut = s->common_share * s->doccount;
    if (cut < s->common_min)
        cut = s->common_min;
    struct qlist rare = {0}, common = {0};
    for (size_t i = 0; i < b->groups.n; i++)
        ql_add(b->gfreq[i] > cut ? &common : &rare, b->groups.v[i]);
    b->groups.n = 0;
    ql_fin(&b->groups);
    if (rare.n == 0)
        return ql_combine(&common, KBX_OP_OR, 0);
    kbx_query *r = ql_combine(&rare, KBX_OP_OR, 0);
    if (common.n == 0)
        return r;
    return q_pair(KBX_OP_AND_MAYBE, r, ql_combine(&common, KBX_OP_OR, 0));
}

/* Whether a query of s may have common words (common_apart): the rule is
 * on, the index holds more documents than the floor, and no shard is
 * remote (each term frequency would cost a round trip to it). */
static int may_have_common(kb_searcher *s)
{
    if (s->common_share <= 0 || s->doccount <= s->common_min)
        return 0;
    for (size_t i = 0; i < kb_searcher_shard_count(s); i++) {
        const char *spec = kb_searcher_shard(s, i, NULL);
        if (spec && strncmp(spec, "tcp:", 4) == 0)
            return 0;
    }
    return 1;
}

/* Builds the query for normalised text nq; *out NULL means "matches
 * nothing". The title and proximity boosts are left out of *out and kept in
 * b->boost, for run_once to apply to the best candidates only. */
int kbs_build_query(kb_searcher *s, const struct kb_search_req *req, const char *nq,
                    size_t nqlen, int quotes_as_text, struct build *b, kbx_query **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    memset(b, 0, sizeof *b);
    b->s = s;
    b->internal = req->internal;
    b->hl = kb_map_new();
    struct syntax x;
    struct toks runs = {0};
    parse_syntax(nq, nqlen, quotes_as_text, &x);
    b->nphrases = x.nphrases;
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
    b->common = may_have_common(s);
    build_groups(b, &ts);
    runs = ts; /* the query's tokens, kept for the run boosts */
    memset(&ts, 0, sizeof ts);
    if (b->groups.n == 0) { /* 怎么办 alone: the chatty words are the query */
        struct qlist t = b->groups;
        b->groups = b->chatty;
        b->chatty = t;
    }
    kbx_query *main = NULL;
    if (b->groups.n > ELITE_ABOVE)
        main = ql_combine(&b->groups, KBX_OP_ELITE_SET, ELITE_ABOVE);
    else
        main = common_apart(b);
    /* required phrases */
    struct qlist req_l = {0};
    for (size_t i = 0; i < x.nphrases; i++) {
        struct toks pt = {0};
        analyse(s, x.phrases[i].data, x.phrases[i].len, &pt);
        ql_add(&req_l, phrase_from(&pt, b, 1));
        toks_fin(&pt);
    }
    if (req_l.n) {
        kbx_query *must = ql_combine(&req_l, KBX_OP_AND, 0);
        main = main ? q_pair(KBX_OP_AND_MAYBE, must, main) : must;
    }
    if (main) {
        build_boosts(b);
        build_run_boosts(b, &runs);
        build_latin_run_boosts(b, &runs);
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
        if (exq)
            main = q_pair(KBX_OP_AND_NOT, main, exq);
    }
    /* filters: AND across fields, OR within one */
    struct qlist f = {0};
    ql_add(&f, filter_of(s, KB_PREFIX_KIND, kind, 0));
    ql_add(&f, filter_of(s, KB_PREFIX_CATEGORY, x.field[1] ? x.field[1] : req->category, 1));
    ql_add(&f, filter_of(s, KB_PREFIX_LANG, x.field[2] ? x.field[2] : req->lang, 0));
    ql_add(&f, filter_of(s, KB_PREFIX_STD, x.field[3] ? x.field[3] : req->standard, 0));
    ql_add(&f, filter_of(s, KB_PREFIX_CLAUSE, x.field[4], 0));
    ql_add(&f, kbs_vis_filter(s, req->internal)); /* counted at each reopen */
    if (f.n) {
        main = q_pair(KBX_OP_FILTER, main, ql_combine(&f, KBX_OP_AND, 0));
    }
    *out = main;
done:
    toks_fin(&runs);
    syntax_fin(&x);
    return rc;
}
