/* kb_search: the search core shared by searchd and chatdesk, so both give the
 * same answers. No sockets, no threads: a kb_searcher is one thread's view of
 * the index (its own read-only Xapian handle and analyzer); a daemon keeps
 * one per worker thread.
 *
 * A query is any user text. It is never a syntax error: it is normalised and
 * tokenized with the same analyzer as the documents, then built into a
 * relaxed query (an OR of term groups ranked by BM25, so long, chatty problem
 * descriptions work), with
 *   - Chinese dictionary words at full weight and character bigrams at a
 *     lower weight; chatty words (怎么办, 请问, please, how) down-weighted;
 *   - English words matched through their stems, codes (0x80070005,
 *     ora-12154) whole and strongly weighted;
 *   - synonyms from the bilingual glossary stored in the index (known error ↔
 *     已知错误, SLA ↔ 服务级别协议, ...), so English reaches Chinese and back;
 *   - a boost for title / heading matches and for query words found near each
 *     other in the document;
 *   - a clause number (8.3.4) boosting that clause of every standard;
 *   - optional expert syntax: "exact phrase", -excluded, and field:value for
 *     kind, category, lang, standard and clause.
 * Internal documents are left out unless the request allows them, and so
 * is everything derived from them: completions, spelling corrections,
 * facet counts, ids linked from a body (see kb_vis.h for the rule and the
 * index layout that keeps it). Every call fails with KB_SEARCH_EINDEX
 * while the index has another schema than kb_schema.h's (rebuild it).
 *
 * Results are C structs, rendered by the daemons' codecs (searchd/codec.h,
 * chatdesk/proto.h). Ownership: every string in a result is owned by the
 * result and freed by its _fin function (kb_search_res_fin, ...); a result
 * does not depend on the searcher and stays valid until then. The caller
 * owns the request's strings.
 *
 * The implementation is split by noun (kb_search_int.h lists the files). */
#ifndef KB_SEARCH_H
#define KB_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "kb_doc.h"
#include "kb_lexicon.h"

typedef struct kb_searcher kb_searcher;

/* error codes */
#define KB_SEARCH_EINPUT (-1)    /* bad request: invalid UTF-8, NUL, too long */
#define KB_SEARCH_ENOTFOUND (-2) /* no such document (or not visible) */
#define KB_SEARCH_EINDEX (-3)    /* the index could not be read */
#define KB_SEARCH_EINTERNAL (-4) /* ICU / OpenCC failure */

#define KB_SEARCH_MAX_QUERY 4096 /* bytes; longer queries are KB_SEARCH_EINPUT */
#define KB_SEARCH_MAX_LIMIT 100  /* limit is clamped to this */
#define KB_SEARCH_DEFAULT_LIMIT 10 /* limit 0 means this */

/* The one result-limit clamp: 0 gives KB_SEARCH_DEFAULT_LIMIT, above
 * KB_SEARCH_MAX_LIMIT gives the maximum, anything else itself. */
uint32_t kb_search_limit(uint32_t asked);
#define KB_SEARCH_MAX_PREFIX 256 /* bytes; a longer suggest prefix is KB_SEARCH_EINPUT */

/* Opens index (read-only) with lexicon lx, which must outlive the searcher.
 * Returns 0 and *out (caller frees with kb_searcher_free), or a negative
 * code with *out = NULL and a message in err. */
int kb_searcher_new(const char *index, const kb_lexicon *lx, kb_searcher **out, char *err,
                    size_t errlen);
void kb_searcher_free(kb_searcher *s);

/* Shards (kbx_db_open_shards): index may also be a comma-separated list of
 * index folders and tcp:HOST:PORT databases served by xapian-tcpsrv,
 * searched as one; shard_timeout_ms bounds each remote operation (0:
 * 10000). A shard down is left out (see kb_searcher_shard) and retried at
 * each refresh. Same returns as kb_searcher_new. */
int kb_searcher_new_shards(const char *index, unsigned shard_timeout_ms, const kb_lexicon *lx,
                           kb_searcher **out, char *err, size_t errlen);
/* Non-zero when index names shards (a comma, or tcp:) rather than a folder. */
int kb_searcher_is_sharded(const char *index);
/* The number of shards (0 for a single index), and shard i's spec (borrowed
 * from s, valid until the next call on s; NULL when out of range) with *why
 * (may be NULL) set to NULL while it is up, else to why it is down. */
size_t kb_searcher_shard_count(const kb_searcher *s);
const char *kb_searcher_shard(const kb_searcher *s, size_t i, const char **why);

/* Picks up the latest committed index revision (cheap when nothing
 * changed). *changed (may be NULL) is set to 1 if the revision moved.
 * Returns 0 or KB_SEARCH_EINDEX with a message in err. */
int kb_searcher_refresh(kb_searcher *s, int *changed, char *err, size_t errlen);
/* Query words most documents have (more than share × the documents, and
 * more than least) only add weight to the documents the query's other
 * words find, when it has others: a document with nothing but such words
 * is no candidate, and the matcher does not walk their long posting lists
 * to find it; a document that has another word of the query weighs what
 * it would weigh anyway. Defaults KB_SEARCH_COMMON_SHARE and
 * KB_SEARCH_COMMON_MIN (below that many documents nothing is common);
 * share 0 turns it off, and so do remote shards (tcp:, whose term
 * frequencies would cost a round trip each). For tests and measurements. */
#define KB_SEARCH_COMMON_SHARE 0.03
#define KB_SEARCH_COMMON_MIN 1000
void kb_searcher_set_common(kb_searcher *s, double share, uint32_t least);
/* Keeps the decoded heads of the hits' stored documents (kb_doccache.h),
 * at most bytes of them (0: none, the default): a hit shown again reads
 * neither its stored data nor decompresses it. Emptied whenever the
 * searcher moves to another revision. Only for a searcher of one local
 * index (with shards it does nothing: their document ids are the union's).
 * Answers are the same with it and without. */
void kb_searcher_set_doc_cache(kb_searcher *s, size_t bytes);
/* Bytes and entries in it now (0 without one). */
size_t kb_searcher_doc_cache_bytes(const kb_searcher *s, size_t *entries);

/* The index revision this searcher reads, and its document count. */
uint64_t kb_searcher_revision(const kb_searcher *s);
uint32_t kb_searcher_doccount(const kb_searcher *s);

/* Filters: NULL or "" means no filter; several values may be given
 * comma-separated (OR within a field, AND across fields). */
struct kb_search_req {
    const char *q;            /* the user's text, UTF-8 (need not be NUL-terminated) */
    size_t qlen;
    const char *kind;         /* article, known_error, standard */
    const char *category;     /* a category path or any prefix level of it */
    const char *lang;         /* zh, en, mixed */
    const char *standard;     /* a standard's slug (see kb_std in results) */
    int internal;             /* non-zero: include internal documents */
    uint32_t offset;
    uint32_t limit;           /* as kb_search_limit clamps it */
    size_t snippet_bytes;     /* 0 means 240 */
    int no_facets;            /* skip facet counting */
    int no_suggestion;        /* skip the spelling suggestion */
    double min_confidence;    /* no_good_match below this; 0 means
                                 KB_SEARCH_MIN_CONFIDENCE */
};

/* The default confidence under which the best hit is "no good match": the
 * point where, on the judged and out-of-scope sets of tests/eval/, most
 * out-of-scope questions fall below and almost no answerable one does
 * (tests/eval/RESULTS.md). */
#define KB_SEARCH_MIN_CONFIDENCE 0.25

struct kb_hit {
    char *id;
    char *kind;        /* "article", "known_error", "standard" */
    char *title;
    double score;      /* BM25 weight */
    int percent;
    double confidence; /* in [0, 1]: calibrated so that about that share of
                          hits with it are the answer (kb_search_rank.c) */
    char *snippet;     /* HTML-escaped text, matches in <mark>...</mark> */
    char *category;    /* articles; NULL otherwise */
    char *updated;
    char *visibility;
    char *workaround;  /* known errors: plain text, may be NULL */
    char *status;      /* known errors */
    char *service;     /* known errors */
    char *std;         /* standards: the standard's slug ("s004") */
    char *standard;    /* standards: code and title, "GB/T 34077.5—2020 基于..." */
    char *clause;      /* standards: "8.3.4.1" */
    char *heading;     /* standards */
    char *path;        /* standards: parent headings */
};

struct kb_facet {
    char *value;
    uint32_t count;
};

struct kb_facets {
    struct kb_facet *v;
    size_t n;
};

struct kb_search_res {
    uint32_t total;            /* Xapian's estimate of all matches */
    double took_ms;
    struct kb_hit *hits;
    size_t nhits;
    struct kb_facets kind;     /* value -> count over the matches */
    struct kb_facets category; /* full category paths */
    struct kb_facets standard; /* slugs */
    char *suggestion;          /* a corrected query, or NULL */
    int no_good_match;         /* no hit, or the best hit's confidence is
                                  below the request's min_confidence */
    char *corrected;           /* when the query matched nothing and the
                                  suggestion did, the hits are for this query
                                  (equal to suggestion); NULL otherwise */
    int has_facets;            /* kind, category and standard were counted
                                  (the request's no_facets was 0) */
};

/* Runs a search. Returns 0 with *res filled (the caller calls
 * kb_search_res_fin), or a negative code with a message in err and *res
 * empty (safe to kb_search_res_fin). An empty query (nothing searchable
 * after normalisation, e.g. only punctuation) is not an error: it returns
 * no hits. */
int kb_search_run(kb_searcher *s, const struct kb_search_req *req, struct kb_search_res *res,
                  char *err, size_t errlen);
void kb_search_res_fin(struct kb_search_res *res);
/* Frees the hits after the first n (keeps them all when there are n or
 * fewer). */
void kb_search_res_keep(struct kb_search_res *res, size_t n);

/* A stored document, for a caller allowed to see it. Everything is owned by
 * the struct, freed by kb_search_doc_fin, and stays valid until then (it
 * does not depend on the searcher, which may be refreshed or freed). */
struct kb_search_doc {
    struct kb_doc *doc; /* the stored fields (kb_doc.h) */
    char *std;          /* standard clauses: the standard's slug ("s004"); else NULL */
    char *standard;     /* standard clauses: "code title" of the standard; else NULL */
    char **refs;        /* the ids named in its text of documents this caller may
                           see, each once, in order of appearance (links; other
                           ids are plain text) */
    size_t nrefs;
};

/* The stored document with this id in *out (kb_search_doc_fin it, whatever
 * the result). Internal documents are KB_SEARCH_ENOTFOUND unless internal
 * is non-zero; KB_SEARCH_EINDEX when the index cannot be read (message in
 * err). */
int kb_search_get_doc(kb_searcher *s, const char *id, int internal, struct kb_search_doc *out,
                      char *err, size_t errlen);
void kb_search_doc_fin(struct kb_search_doc *d);

/* A standard clause as a link: strings owned by the struct holding it;
 * any may be NULL when the stored clause lacks it. */
struct kb_search_clause {
    char *id;
    char *clause;
    char *heading;
};

/* A standard clause's neighbours the caller may see. Owned by the struct,
 * freed by kb_search_nav_fin, independent of the searcher. */
struct kb_search_nav {
    struct kb_search_clause *parent;   /* NULL: top level, or not visible */
    struct kb_search_clause *prev;     /* previous sibling, or NULL */
    struct kb_search_clause *next;     /* next sibling, or NULL */
    struct kb_search_clause *children; /* in clause order */
    size_t nchildren;
};

/* For a standard clause: its parent, previous and next sibling and
 * children in *out (kb_search_nav_fin it, whatever the result). Clauses the
 * caller may not see (internal zero: public ones only) are left out, and
 * such a clause itself, or an id that is no clause, is
 * KB_SEARCH_ENOTFOUND. */
int kb_search_clause_nav(kb_searcher *s, const char *id, int internal, struct kb_search_nav *out,
                         char *err, size_t errlen);
void kb_search_nav_fin(struct kb_search_nav *n);

/* One completion: text to put in the search box; for a title, the
 * document's id and kind ("article", ...), NULL for an index word. */
struct kb_search_completion {
    char *text;
    int title;      /* 1: a document title or clause heading; 0: an index word */
    char *id;
    char *doc_kind;
};

/* Owned by the struct, freed by kb_search_completions_fin, independent of
 * the searcher. */
struct kb_search_completions {
    struct kb_search_completion *v;
    size_t n;
};

/* Completions for what a user is typing: titles and clause headings that
 * contain prefix (the start of a title ranks first), then frequent index
 * words that start with the last word of prefix (for a public caller, words
 * of public documents only, ranked by the number of public documents), in
 * *out (kb_search_completions_fin it, whatever the result). At most max
 * entries (0 means 8). Internal titles only with internal non-zero. A
 * prefix longer than KB_SEARCH_MAX_PREFIX bytes or not valid UTF-8 is
 * KB_SEARCH_EINPUT. */
int kb_search_suggest(kb_searcher *s, const char *prefix, size_t len, int internal, size_t max,
                      struct kb_search_completions *out, char *err, size_t errlen);
void kb_search_completions_fin(struct kb_search_completions *l);

/* One standard in the index. code and title come from a clause the caller
 * may see ("" when that clause has none); both NULL when the caller may
 * see none of its clauses. */
struct kb_search_std {
    char *std;        /* slug */
    char *code;
    char *title;
    uint32_t clauses; /* clauses indexed */
};

/* Owned by the struct, freed by kb_search_stds_fin, independent of the
 * searcher. */
struct kb_search_stds {
    struct kb_search_std *v;
    size_t n;
};

/* The standards in the index, in slug order, in *out (kb_search_stds_fin
 * it, whatever the result); KB_SEARCH_EINDEX when the index cannot be
 * read. */
int kb_search_standards(kb_searcher *s, int internal, struct kb_search_stds *out, char *err,
                        size_t errlen);
void kb_search_stds_fin(struct kb_search_stds *l);

/* The visibility rule (kb_vis.h) for one id: 1 if a document with this id
 * exists and the caller (internal non-zero: an agent) may see it, 0 if
 * not (absent, or internal for a public caller), KB_SEARCH_EINDEX when the
 * index cannot be read or has another layout. */
int kb_search_may_see(kb_searcher *s, const char *id, int internal);

#endif
