/* kb_search_int.h: what the files of the search core share, private to
 * them: the searcher's state, the query build handed from query building to
 * ranking, the highlight terms handed from ranking to snippets, and the
 * helpers one file offers another. The files: kb_search.c (the searcher,
 * visibility), kb_search_query.c (query building), kb_search_rank.c
 * (running, re-ranking, spelling, result structs), kb_search_snippet.c,
 * kb_search_doc.c (documents, clause navigation, standards) and
 * kb_search_suggest.c (completions). Nothing outside them includes it.
 * Every kbs_ helper works on one searcher from its one thread. */
#ifndef KB_SEARCH_INT_H
#define KB_SEARCH_INT_H

#include "kb_search.h"
#include "kb_analyzer.h"
#include "kb_doc.h"
#include "kb_doccache.h"
#include "kb_map.h"
#include "kb_util.h"
#include "kb_xapian.h"

#include <stdint.h>

/* ---- the searcher (kb_search.c) ---------------------------------------------- */

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
    const kb_lexicon *lx; /* the analyzer's (borrowed) */
    kb_map *sound;        /* lexicon words by sound key (kb_search_typo.c), built on first use */
    uint64_t rev;
    uint32_t doccount;
    uint32_t public_docs; /* documents with visibility public */
    uint32_t standard_docs; /* standard clauses (UINT32_MAX: unknown) */
    struct title_entry *titles; /* loaded on first suggest, per revision */
    size_t ntitles;
    uint64_t titles_rev;
    int titles_loaded;
    double common_share;  /* kb_searcher_set_common */
    uint32_t common_min;
    kb_doccache *dc;      /* decoded heads (kb_searcher_set_doc_cache), or NULL */
    int schema_ok;        /* the index has the layout this code reads */
    char schema_err[KB_ERR_MAX];
};

/* 0, or KB_SEARCH_EINDEX with s's schema message in err while the index has
 * a layout this code does not read: every entry point starts here. */
int kbs_usable(const kb_searcher *s, char *err, size_t errlen);

/* ---- visibility (kb_search.c) ------------------------------------------------ */

/* Does the index hold internal documents at this revision? */
int kbs_has_internal(const kb_searcher *s);
/* The filter a search of this caller needs (caller frees), or NULL for none. */
kbx_query *kbs_vis_filter(const kb_searcher *s, int internal);
/* The public documents among the tf holding a term of len bytes whose H
 * twin is in twf documents. */
uint32_t kbs_public_tf(uint32_t tf, uint32_t twf, size_t len);
/* How many documents the caller may see hold term t. */
uint32_t kbs_visible_tf(kb_searcher *s, const char *t, int internal);
/* The spelling correction of word the caller may see, or NULL (caller frees). */
char *kbs_visible_spelling(kb_searcher *s, const char *word, unsigned dist, int internal);

/* ---- query building (kb_search_query.c) -------------------------------------- */

#define MAX_GROUPS 48

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

/* A list of owned subqueries. */
struct qlist {
    kbx_query **v;
    size_t n, cap;
};

/* The state of one query build. */
struct build {
    kb_searcher *s;
    struct qlist groups;        /* weighted concept subqueries */
    uint32_t gfreq[MAX_GROUPS]; /* documents with each group's word (0: not
                                   looked up: a phrase or clause group, or
                                   common is 0) */
    int common;                 /* the query's words may be common ones
                                   (kb_searcher_set_common) */
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
    size_t nphrases;            /* "quoted" phrases required by the query */
    size_t norder;              /* Latin word-order (three-word) boosts */
};

/* Builds the query for the normalised text nq into b (always: the caller
 * calls kbs_build_fin(b) whatever the result); *out (caller frees) NULL
 * means "matches nothing". Returns 0 or KB_SEARCH_EINPUT (unknown kind,
 * message in err). The title and proximity boosts are left out of *out
 * and kept in b->boost. With quotes_as_text, "quoted" text is free text
 * like the rest (b->nphrases stays 0). */
int kbs_build_query(kb_searcher *s, const struct kb_search_req *req, const char *nq,
                    size_t nqlen, int quotes_as_text, struct build *b, kbx_query **out,
                    char *err, size_t errlen);
void kbs_build_fin(struct build *b);

/* ---- typo correction (kb_search_typo.c) ------------------------------------------- */

/* nq with each unknown Latin word of b (not an English word) replaced by
 * its visible spelling correction; NULL when nothing changed. Caller frees. */
char *kbs_spell(struct build *b, const char *nq);
/* Loads the English word list once per process (kb_searcher_new calls it,
 * so that no query pays for it). */
void kbs_typo_init(void);
/* Frees s's sound-key map (kb_searcher_free calls it). */
void kbs_sound_map_free(kb_searcher *s);
/* nq with Chinese characters replaced by sound-alikes that make domain
 * words the caller's documents hold; NULL when nothing changed. *sure is
 * set when every fixed word has three or more characters. Caller frees. */
char *kbs_sound_alike(kb_searcher *s, const char *nq, int internal, int *sure);

/* ---- snippets (kb_search_snippet.c) ------------------------------------------ */

/* The query's highlight terms, prepared once per search. In a stored
   snippet source (kb_snipsrc.h) each term is looked up in the field's
   index. In text analysed at search time Latin terms are looked up per
   token in the map, and CJK terms are found in a CJK run as substrings,
   through buckets by the bytes of their first character, so a hit's text
   is never segmented by ICU. */
#define HL_BUCKETS 256
struct hl_term {
    const char *s; /* borrowed from the map's keys */
    size_t len;
    uint64_t th; /* kb_hash64 of the term */
    double w;
    int cjk;  /* its first character is CJK */
    int next; /* next CJK term in the same bucket, or -1 */
};

#define HL_LATIN 2048
struct hl_match {
    kb_map *hl; /* borrowed: term -> weight*1000+1 */
    struct hl_term *v; /* every term */
    size_t n, ncjk;
    int bucket[HL_BUCKETS];      /* the CJK terms */
    uint8_t latin[HL_LATIN / 8]; /* filter of the other terms' first two bytes */
    uint8_t zfirst[32];          /* first bytes of the stems (Z terms) */
};

/* Prepares the highlight terms of hl (term -> weight*1000+1), which must
 * outlive hm; kbs_hl_match_fin frees what init allocated. */
void kbs_hl_match_init(struct hl_match *hm, kb_map *hl);
void kbs_hl_match_fin(struct hl_match *hm);
/* The best snippet of d's text, about bytes long: HTML-escaped, matches in
 * <mark>. Never NULL ("" when nothing fits); caller frees. */
char *kbs_doc_snippet(kb_searcher *s, const struct hl_match *hm, const struct kb_doc *d,
                      size_t bytes);
/* The same snippet from a stored snippet source (kb_snipsrc.h) of a
 * document of this kind, without its text; NULL when the source cannot
 * tell (a match may lie past its first chunk, the snippet reaches past the
 * kept text, or the source is damaged): then kbs_doc_snippet over the whole
 * document gives it. Caller frees. */
char *kbs_src_snippet(kb_searcher *s, const struct hl_match *hm, enum kb_kind kind,
                      const char *src, size_t srclen, size_t bytes);

/* ---- documents (kb_search_doc.c) --------------------------------------------- */

/* A standard clause's standard slug ("s004" of "std-s004:8.3"), or NULL for
 * other documents; caller frees. */
char *kbs_std_slug(const struct kb_doc *d);
/* "code title" of a clause's standard (either may be missing); caller frees. */
char *kbs_standard_label(const struct kb_doc *d);

/* ---- completions (kb_search_suggest.c) --------------------------------------- */

/* Frees the searcher's title cache (loaded again on the next completion). */
void kbs_titles_free(kb_searcher *s);


#endif
