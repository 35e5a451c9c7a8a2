/* kb_xapian: a plain C11 interface to the parts of Xapian 1.4's C++ API that
 * kbdesk uses: opening, reopening and closing databases, transactions,
 * documents (terms with positions, values, data) replaced or deleted by a
 * unique id term, metadata, term lists, synonyms, spelling, immutable query
 * trees, BM25 searches with facet counts over a joined value slot. It holds
 * what the indexer and the search core call, and no more: the unit tests
 * use the same entry points. The implementation (kb_xapian.cc: databases;
 * kb_xapian_search.cc: queries and searches) catches every C++ exception at the boundary and turns it into
 * a negative KBX_ERR_* code plus a message, so nothing ever throws into C.
 *
 * Conventions:
 *   - Functions returning int give 0 on success and a negative KBX_ERR_* code
 *     on failure (kbx_strerror names the code). Iterating functions also
 *     return the first non-zero value a callback returns, which stops the
 *     iteration; callbacks should return positive values so those cannot be
 *     mistaken for errors.
 *   - The detailed message of a failure is kept in the handle the call was
 *     made on (kbx_db_errmsg, kbx_mset_errmsg, kbx_doc_errmsg); functions
 *     without a handle take a caller buffer (char *err, size_t errlen; err may
 *     be NULL). Each call on a handle first clears that handle's message.
 *   - Strings handed to callbacks are NUL-terminated, also carry their length
 *     (terms may hold any bytes), and are valid only during the callback.
 *     Callbacks must return normally (no longjmp out of them).
 *   - Strings the caller frees are allocated with malloc and freed with free;
 *     they are always NUL-terminated (the length excludes the NUL).
 *   - x_free(NULL) is a no-op for every handle type.
 *
 * Threads: a kbx_db handle, and every kbx_mset made from it, must be used by
 * one thread at a time (they share Xapian objects that are not thread-safe).
 * Several handles opened on the same path may be used concurrently from
 * different threads (only one of them can be writable: Xapian allows a single
 * writer per database). kbx_doc and kbx_query handles are independent of any
 * database; a kbx_query is immutable, so after construction it may be read by
 * several threads at once. */
#ifndef KB_XAPIAN_H
#define KB_XAPIAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error codes ------------------------------------------------------ */

#define KBX_OK 0
#define KBX_ERR_INVALID (-1)      /* bad argument: NULL, empty, out of range, or
                                     Xapian::InvalidArgumentError */
#define KBX_ERR_NOMEM (-2)        /* std::bad_alloc */
#define KBX_ERR_NOTFOUND (-3)     /* no such document (incl. DocNotFoundError) */
#define KBX_ERR_LOCK (-4)         /* DatabaseLockError: another writer holds it */
#define KBX_ERR_OPENING (-5)      /* DatabaseOpeningError (not one below) */
#define KBX_ERR_NODB (-6)         /* DatabaseNotFoundError: no database there */
#define KBX_ERR_VERSION (-7)      /* DatabaseVersionError: unsupported format */
#define KBX_ERR_CREATE (-8)       /* DatabaseCreateError */
#define KBX_ERR_CORRUPT (-9)      /* DatabaseCorruptError */
#define KBX_ERR_MODIFIED (-10)    /* DatabaseModifiedError: call kbx_db_reopen
                                     and retry the operation */
#define KBX_ERR_CLOSED (-11)      /* DatabaseClosedError (e.g. mset used after
                                     its db was freed) */
#define KBX_ERR_DATABASE (-12)    /* any other DatabaseError */
#define KBX_ERR_READONLY (-13)    /* write attempted on a read-only handle */
#define KBX_ERR_INVALID_OP (-14)  /* InvalidOperationError (e.g. commit_tx with
                                     no transaction) */
#define KBX_ERR_UNIMPLEMENTED (-15) /* UnimplementedError */
#define KBX_ERR_RANGE (-16)       /* RangeError, or an mset index past the end */
#define KBX_ERR_TOOLONG (-17)     /* id term longer than KBX_MAX_TERM_LEN */
#define KBX_ERR_XAPIAN (-18)      /* any other Xapian::Error */
#define KBX_ERR_INTERNAL (-19)    /* another std::exception */
#define KBX_ERR_UNKNOWN (-20)     /* a non-standard exception */

/* Returns a static English name for a KBX_ERR_* code (never NULL). */
const char *kbx_strerror(int code);

/* The longest term (in bytes) a database accepts; longer terms given to
 * kbx_doc_add_* are skipped. */
#define KBX_MAX_TERM_LEN 245

/* ---- databases -------------------------------------------------------- */

typedef struct kbx_db kbx_db;

#define KBX_OPEN_READ 0      /* read-only; the database must exist */
#define KBX_OPEN_WRITE 1     /* writable; created if missing */
#define KBX_OPEN_OVERWRITE 2 /* writable; any existing contents discarded */

/* Opens the database directory path in mode KBX_OPEN_*. On success stores a
 * new handle in *out (free with kbx_db_free) and returns 0. On error returns
 * a negative code (KBX_ERR_NODB, KBX_ERR_LOCK, ...), leaves *out NULL and
 * writes the message to err[errlen] (if err is not NULL). */
int kbx_db_open(const char *path, int mode, kbx_db **out, char *err, size_t errlen);

/* Closes and frees the handle. For a writable handle, pending changes are
 * committed, except inside a transaction, which is cancelled; the write lock
 * is released. Errors while closing are ignored (commit a transaction first
 * to see them). All msets made from db must be freed first. NULL is a no-op. */
void kbx_db_free(kbx_db *db);

/* The message of the last failed call on db ("" if the last call succeeded).
 * Owned by db; valid until the next call on db or kbx_db_free. A NULL db
 * gives a static string. */
const char *kbx_db_errmsg(const kbx_db *db);

/* Moves a read-only handle to the latest committed revision; *changed (if
 * not NULL) is set to 1 if the revision moved, else 0. On a writable handle
 * (which always sees its own latest state) it does nothing and sets 0.
 * Returns 0 or a negative code. */
int kbx_db_reopen(kbx_db *db, int *changed);

/* Stores the revision the handle sees in *rev. Returns 0 or a negative
 * code. */
int kbx_db_revision(kbx_db *db, uint64_t *rev);

/* Stores the number of documents in *n. Returns 0 or a negative code. */
int kbx_db_doccount(kbx_db *db, uint32_t *n);

/* ---- shards: several databases searched as one ------------------------- */

#define KBX_MAX_SHARDS 16
#define KBX_SHARD_RETRY_MS 1000 /* a shard down is tried again after this */
#define KBX_SHARD_HUNG_RETRY_MS 10000 /* ... or this, when its last call ran
                                         into the timeout (a hung server) */

/* Opens specs[0..n) (1 <= n <= KBX_MAX_SHARDS) read-only as one database
 * whose searches rank the documents of all of them in one list, with
 * statistics over all of them (Xapian's Database::add_database). A spec is
 * a database folder, or tcp:HOST:PORT for a database served by
 * xapian-tcpsrv (HOST may be [::1]); timeout_ms bounds the connection and
 * every operation on a remote shard (0: 10000). A shard that cannot be
 * opened is left out and retried at each kbx_db_reopen (at most every
 * KBX_SHARD_RETRY_MS, or KBX_SHARD_HUNG_RETRY_MS after a timeout); one that fails during a search is dropped and that
 * search returns KBX_ERR_MODIFIED (docids of the union moved: reopen and
 * run it again). kbx_db_shard tells which shards are down. The revision
 * (kbx_db_revision) is the sum of the revisions of the shards up (for a
 * remote one, which gives none, the number of reopens of this handle that
 * saw it change), shifted left by KBX_MAX_SHARDS bits, plus the bit mask of
 * the shards up: it changes when any of them changes. Stores a new handle in *out (free with
 * kbx_db_free) and returns 0 even when every shard is down (the union is
 * then empty); returns KBX_ERR_INVALID for bad arguments or specs (message
 * in err). Documents, terms and metadata are read from the union: the
 * metadata of the first shard up. */
int kbx_db_open_shards(const char *const *specs, size_t n, unsigned timeout_ms, kbx_db **out,
                       char *err, size_t errlen);
/* The number of shards of db (0 for a database not opened as shards). */
size_t kbx_db_shard_count(const kbx_db *db);
/* The spec of shard i (NULL when i is out of range); *why (may be NULL) is
 * set to NULL while the shard is up, else to the reason it is down. Both
 * strings are owned by db and valid until the next call on db. */
const char *kbx_db_shard(const kbx_db *db, size_t i, const char **why);
/* Non-zero when some shard of db is remote: custom posting sources
 * (kbx_query_docids) cannot be sent to it. */
int kbx_db_has_remote(const kbx_db *db);

/* ---- transactions (writable handles; others give KBX_ERR_READONLY) ------ */

/* Starts a flushed transaction: pending changes are committed first, and
 * kbx_db_commit_tx commits the transaction's changes (so begin then
 * commit_tx also commits changes made outside a transaction). Nested transactions
 * give KBX_ERR_INVALID_OP. Returns 0 or a negative code. */
int kbx_db_begin(kbx_db *db);
/* Commits the open transaction. Returns 0, KBX_ERR_INVALID_OP without one,
 * or another negative code. */
int kbx_db_commit_tx(kbx_db *db);
/* Discards the open transaction's changes. Returns 0, KBX_ERR_INVALID_OP
 * without one, or another negative code. */
int kbx_db_cancel_tx(kbx_db *db);
/* ---- documents -------------------------------------------------------- */

typedef struct kbx_doc kbx_doc;

/* Returns a new empty document (free with kbx_doc_free), or NULL when out of
 * memory. */
kbx_doc *kbx_doc_new(void);
/* Frees doc. NULL is a no-op. */
void kbx_doc_free(kbx_doc *doc);
/* The message of the last failed call on doc ("" after success); owned by
 * doc, valid until the next call on doc. */
const char *kbx_doc_errmsg(const kbx_doc *doc);

/* Adds term[len] at position pos, increasing its wdf by wdfinc (usually 1).
 * A term longer than KBX_MAX_TERM_LEN is skipped and 0 returned. Returns KBX_ERR_INVALID for a NULL doc/term or len 0, or
 * another negative code. */
int kbx_doc_add_posting(kbx_doc *doc, const char *term, size_t len, uint32_t pos,
                        uint32_t wdfinc);
/* As kbx_doc_add_posting but without a position. */
int kbx_doc_add_term(kbx_doc *doc, const char *term, size_t len, uint32_t wdfinc);
/* Adds a term with wdf 0 and no position (for filters and ids). Same
 * errors as kbx_doc_add_posting. */
int kbx_doc_add_boolean_term(kbx_doc *doc, const char *term, size_t len);
/* Sets value slot to v[len] (copied); len 0 removes the value. Returns 0,
 * KBX_ERR_INVALID (NULL doc, NULL v with len > 0, slot 0xffffffff) or another
 * negative code. */
int kbx_doc_set_value(kbx_doc *doc, unsigned slot, const char *v, size_t len);
/* Sets the document data to data[len] (copied). Same errors. */
int kbx_doc_set_data(kbx_doc *doc, const char *data, size_t len);

/* ---- documents by unique id term (writable handles for changes) --------- */

/* Adds idterm to doc as a boolean term and stores doc in place of every
 * document indexed by idterm (or as a new one). doc stays owned by the caller
 * and may be freed or reused at once. Returns 0, KBX_ERR_TOOLONG if idterm is
 * longer than KBX_MAX_TERM_LEN, KBX_ERR_READONLY, or another negative code. */
int kbx_db_replace(kbx_db *db, const char *idterm, kbx_doc *doc);
/* Deletes every document indexed by idterm. Returns 0, KBX_ERR_NOTFOUND if
 * there was none, KBX_ERR_READONLY, or another negative code. */
int kbx_db_delete(kbx_db *db, const char *idterm);
/* Copies the data of the document indexed by idterm into *data (caller
 * frees; NUL-terminated) and its length into *len (may be NULL). Returns 0,
 * KBX_ERR_NOTFOUND when absent (then *data is NULL), or another code. */
int kbx_db_get_data(kbx_db *db, const char *idterm, char **data, size_t *len);
/* Copies value slot of the document indexed by idterm into *v (caller frees;
 * an unset value gives "" and length 0). Returns 0, KBX_ERR_NOTFOUND when
 * the document is absent (then *v is NULL), or another code. */
int kbx_db_get_value(kbx_db *db, const char *idterm, unsigned slot, char **v, size_t *len);
/* ---- metadata --------------------------------------------------------- */

/* Sets metadata key (non-empty, at most KBX_MAX_TERM_LEN bytes, else
 * KBX_ERR_TOOLONG) to val[len]; len 0 deletes the key. Returns 0,
 * KBX_ERR_READONLY, or another negative code. */
int kbx_db_set_metadata(kbx_db *db, const char *key, const char *val, size_t len);
/* Copies the value of key into *val (caller frees; an absent key gives ""
 * and length 0). Returns 0 or a negative code (then *val is NULL). */
int kbx_db_get_metadata(kbx_db *db, const char *key, char **val, size_t *len);

/* Callback receiving one string (key, term, synonym...). */
typedef int (*kbx_str_cb)(void *ud, const char *s, size_t len);
/* Calls cb for each metadata key starting with prefix (NULL = all), in
 * byte order. Returns 0, a callback's non-zero value, or a negative code. */
int kbx_db_metadata_keys(kbx_db *db, const char *prefix, kbx_str_cb cb, void *ud);

/* ---- terms ------------------------------------------------------------ */

typedef int (*kbx_term_cb)(void *ud, const char *term, size_t len, uint32_t termfreq);
/* Calls cb for each term starting with prefix (NULL = all), in byte order,
 * with the number of documents containing it. Returns 0, a callback's
 * non-zero value, or a negative code. */
int kbx_db_allterms(kbx_db *db, const char *prefix, kbx_term_cb cb, void *ud);
typedef int (*kbx_twin_cb)(void *ud, const char *term, size_t len, uint32_t termfreq,
                           uint32_t twinfreq);
/* As kbx_db_allterms, also giving for each term the number of documents
 * containing twin + term (0 if none), in one ordered walk of both ranges
 * (twin must be non-empty). Returns 0, a callback's non-zero value, or a
 * negative code. */
int kbx_db_allterms_twin(kbx_db *db, const char *prefix, const char *twin, kbx_twin_cb cb,
                         void *ud);
/* Stores the number of documents containing term in *n (0 if none).
 * Returns 0 or a negative code. */
int kbx_db_termfreq(kbx_db *db, const char *term, uint32_t *n);

/* positions[npos] is sorted ascending; NULL when npos is 0. */
typedef int (*kbx_docterm_cb)(void *ud, const char *term, size_t len, uint32_t wdf,
                              const uint32_t *positions, size_t npos);
/* Calls cb for each term of the document indexed by idterm, in byte order.
 * Returns 0, KBX_ERR_NOTFOUND, a callback's non-zero value, or a negative
 * code. */
int kbx_db_doc_terms(kbx_db *db, const char *idterm, kbx_docterm_cb cb, void *ud);
/* ---- synonyms (changes need a writable handle) ------------------------ */

/* Terms and synonyms given to the changing functions must be non-empty and at
 * most KBX_MAX_TERM_LEN bytes (else KBX_ERR_INVALID / KBX_ERR_TOOLONG): Xapian
 * buffers them until commit, where a longer one would fail the commit. */

/* Adds synonym to the synonyms of term. Returns 0 or a negative code. */
int kbx_db_add_synonym(kbx_db *db, const char *term, const char *synonym);
/* Removes all synonyms of term. Returns 0 or a negative code. */
int kbx_db_clear_synonyms(kbx_db *db, const char *term);
/* Calls cb for each synonym of term, in byte order. Returns 0, a callback's
 * non-zero value, or a negative code. */
int kbx_db_synonyms(kbx_db *db, const char *term, kbx_str_cb cb, void *ud);
/* Calls cb for each term starting with prefix (NULL = all) that has
 * synonyms. Returns 0, a callback's non-zero value, or a negative code. */
int kbx_db_synonym_keys(kbx_db *db, const char *prefix, kbx_str_cb cb, void *ud);

/* ---- spelling --------------------------------------------------------- */

/* Adds word to the spelling dictionary, increasing its frequency by freqinc
 * (usually 1). Returns 0, KBX_ERR_READONLY, KBX_ERR_TOOLONG for a word longer
 * than KBX_MAX_TERM_LEN (refused up front, as for synonyms), or another
 * negative code. */
int kbx_db_add_spelling(kbx_db *db, const char *word, uint32_t freqinc);
/* Decreases word's frequency by freqdec, removing it at 0. Returns 0 or a
 * negative code. */
int kbx_db_remove_spelling(kbx_db *db, const char *word, uint32_t freqdec);
/* Stores in *out the most frequent dictionary word within max_edit_distance
 * edits of word (caller frees), or NULL when there is none. Returns 0 or a
 * negative code (then *out is NULL). */
int kbx_db_spelling_suggestion(kbx_db *db, const char *word, unsigned max_edit_distance,
                               char **out);

/* ---- queries ---------------------------------------------------------- */

typedef struct kbx_query kbx_query;

#define KBX_OP_AND 0
#define KBX_OP_OR 1
#define KBX_OP_AND_NOT 2
#define KBX_OP_AND_MAYBE 3
#define KBX_OP_FILTER 4
#define KBX_OP_XOR 5
#define KBX_OP_PHRASE 6    /* param: window (0 = number of subqueries) */
#define KBX_OP_NEAR 7      /* param: window (0 = number of subqueries) */
#define KBX_OP_ELITE_SET 8 /* param: set size (0 = Xapian's default) */
#define KBX_OP_SYNONYM 9
#define KBX_OP_MAX 10

/* Every constructor returns a new handle (free with kbx_query_free), or NULL
 * for invalid arguments or when out of memory. Arguments are copied; the
 * caller keeps ownership of (and still frees) any query it passes in. */

/* A single term[len] (len > 0; an empty term is rejected, as Xapian would
 * read it as "match all") with within-query frequency wqf (usually 1) and
 * query position pos (0 = none). */
kbx_query *kbx_query_term(const char *term, size_t len, uint32_t wqf, uint32_t pos);
/* Matches every document (weight 0). */
kbx_query *kbx_query_match_all(void);
/* Combines subs[n] with KBX_OP_*. n may be 0 (subs then may be NULL), which
 * gives the empty query. NULL for an unknown op or a NULL element. */
kbx_query *kbx_query_combine(int op, kbx_query *const *subs, size_t n, uint32_t param);
/* q with its weights multiplied by factor (>= 0). */
kbx_query *kbx_query_scale(const kbx_query *q, double factor);
/* Exactly the documents ids[0..n) (n > 0; order and repeats do not
 * matter), weight 0: the right side of KBX_OP_FILTER to run a second query
 * over the results of a first one. */
kbx_query *kbx_query_docids(const uint32_t *ids, size_t n);
/* Frees q. NULL is a no-op. */
void kbx_query_free(kbx_query *q);
/* ---- searching -------------------------------------------------------- */

typedef struct kbx_mset kbx_mset;

struct kbx_search_opts {
    uint32_t offset;          /* first result to return (0 = best) */
    uint32_t limit;           /* maximum results to return */
    uint32_t check_at_least;  /* examine at least this many matches (makes
                                 estimates and facet counts more exact) */
    double bm25_k1, bm25_k2, bm25_k3, bm25_b, bm25_min_normlen;
    int facet_joined_slot;    /* -1: none; else a slot whose value holds
                                 facet_parts values joined by KBX_FACET_SEP,
                                 each part counted as a facet of its own
                                 (kbx_mset_part_facets): one value read per
                                 document instead of one per facet */
    size_t facet_parts;
    int visit_all;            /* 1: rank with kbdesk's own matcher, which
                                 visits every match (an exact
                                 kbx_mset_matches_estimated, facets counted
                                 over all matches), where the query and
                                 database allow it (terms, scale factors,
                                 OR, SYNONYM of terms, AND_MAYBE, FILTER by
                                 terms; one read-only database); 0 or
                                 elsewhere: Xapian's */
    uint32_t prune_postings;  /* visit_all: when the query's finding words
                                 hold more postings than this (0:
                                 KBX_PRUNE_POSTINGS), the matches that
                                 cannot reach the page are skipped once
                                 check_at_least are counted (MaxScore): the
                                 same page, an estimated count */
};

/* Postings up to which the own matcher visits every match: about 100
 * instructions a posting, a few milliseconds. */
#define KBX_PRUNE_POSTINGS 50000

/* Separates the parts of a facet_joined_slot value. */
#define KBX_FACET_SEP '\x1f'

/* Fills o with Xapian's BM25 defaults (k1 1, k2 0, k3 1, b 0.5,
 * min_normlen 0.5), offset 0, limit 10, check_at_least 0, no facets
 * (facet_joined_slot -1), Xapian's matcher (visit_all 0). */
void kbx_search_opts_init(struct kbx_search_opts *o);

/* Runs q against db with opts (NULL = kbx_search_opts_init defaults) and
 * stores a new result set in *out (free with kbx_mset_free). The mset shares
 * db's Xapian objects: use it from db's thread and free it before db (if db
 * is freed first, later mset calls fail with KBX_ERR_CLOSED, not a crash).
 * Returns 0 or a negative code (then *out is NULL), e.g. KBX_ERR_MODIFIED
 * when a read-only handle must be reopened. */
int kbx_search(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *opts,
               kbx_mset **out);
/* Weighs each document ids[i] (i < n) against q as kbx_search with opts
 * (NULL = defaults; only the BM25 parameters count) would weigh it, and
 * stores the weight in w[i]: 0 for a document q does not match or that
 * does not exist. It reads each distinct term's postings once, and a
 * document's positions of a term at most once, instead of running Xapian's
 * matcher: for re-weighing a few candidates (kb_search_rank.c's boost
 * pass). The weights are kbx_search's but for the order in which a
 * match's parts are summed (a difference in the last bits), and for a
 * fault of Xapian 1.4's matcher that this does not share: run as an OR
 * over a few documents, a phrase branch could add its weight to a document
 * that does not hold the phrase (each branch run alone does not). q may hold
 * terms, KBX_OP_OR, kbx_query_scale, KBX_OP_PHRASE of terms and
 * KBX_OP_NEAR of two terms; anything else, or a database with remote
 * shards, gives KBX_ERR_UNIMPLEMENTED (run kbx_search FILTERed by
 * kbx_query_docids instead). Returns 0 or a negative code, e.g.
 * KBX_ERR_MODIFIED when a read-only handle must be reopened. */
int kbx_weigh_docs(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *opts,
                   const uint32_t *ids, size_t n, double *w);
/* For kbx_weigh_docs_top: the candidates' weights before q's, and how many
 * of the best must come out in their exact order. */
struct kbx_weigh_top {
    const double *base;        /* in: base[i], candidate i's weight so far */
    const unsigned char *keep; /* in, may be NULL: keep[i] != 0 marks a
                                  candidate to weigh exactly whatever its
                                  place, and whose total the caller may
                                  still lower (it cannot hold a place in
                                  the best top for the others) */
    size_t top;                /* in: only the best top totals matter */
    size_t exact;              /* out: candidates weighed exactly */
};
/* As kbx_weigh_docs when only the best top->top of the totals base[i] + w[i]
 * (over the candidates not marked keep) matter. Every candidate's terms
 * are weighed from their postings, and a phrase or NEAR pair counted as
 * matched wherever its terms are, which bounds the weight from above at no
 * position read; then the candidates are weighed exactly, positions and
 * all, in falling order of base + bound, until the best top exact totals
 * all lie above the next candidate's bound. The w[i] of a candidate left
 * there is that bound, which is below all top of them: the best top totals
 * and their order are those kbx_weigh_docs would give, and no other
 * candidate can come between them. Candidates marked keep are always
 * weighed exactly. top may not be NULL. */
int kbx_weigh_docs_top(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *opts,
                       const uint32_t *ids, size_t n, struct kbx_weigh_top *top, double *w);
/* Frees m and everything it handed out. NULL is a no-op. */
void kbx_mset_free(kbx_mset *m);
/* The message of the last failed call on m ("" after success); owned by m,
 * valid until the next call on m. */
const char *kbx_mset_errmsg(const kbx_mset *m);

/* 1 when m was ranked by kbdesk's own matcher (kbx_search_opts.visit_all
 * and a query it runs), 0 when by Xapian's (or m is NULL). */
int kbx_mset_visited_all(const kbx_mset *m);
/* Number of results in m (0 for NULL). */
size_t kbx_mset_size(const kbx_mset *m);
/* Total number of matches (0 for NULL): exact when the own matcher ranked
 * m without pruning (kbx_search_opts.visit_all, prune_postings), else an
 * estimate. */
uint32_t kbx_mset_matches_estimated(const kbx_mset *m);
/* Document id, weight and percentage score of result i (0 when i is out of
 * range or m is NULL). */
uint32_t kbx_mset_docid(const kbx_mset *m, size_t i);
double kbx_mset_weight(const kbx_mset *m, size_t i);
int kbx_mset_percent(const kbx_mset *m, size_t i);

/* Stores a borrowed pointer to result i's data in *data (NUL-terminated) and
 * its length in *len (may be NULL). The document is fetched on first use and
 * cached; the pointer stays valid until kbx_mset_free. Returns 0,
 * KBX_ERR_RANGE for i past the end, or another negative code (message in
 * kbx_mset_errmsg). */
int kbx_mset_data(kbx_mset *m, size_t i, const char **data, size_t *len);
/* As kbx_mset_data for value slot (an unset value gives "" and length 0).
 * The search's facet_joined_slot is read from the in-memory copy a
 * read-only handle keeps, without reading the document. */
int kbx_mset_value(kbx_mset *m, size_t i, unsigned slot, const char **v, size_t *len);

typedef int (*kbx_facet_cb)(void *ud, const char *value, size_t len, uint32_t count);
/* Calls cb for each value seen in part `part` (0-based, below facet_parts)
 * of the search's facet_joined_slot, in byte order, with the number of
 * matching documents examined that had it (all matches when check_at_least
 * is at least the number of matches); empty parts are not counted. Returns 0, a
 * callback's non-zero value, or KBX_ERR_INVALID (no joined slot, or part
 * out of range). */
int kbx_mset_part_facets(kbx_mset *m, size_t part, kbx_facet_cb cb, void *ud);

#ifdef __cplusplus
}
#endif

#endif
