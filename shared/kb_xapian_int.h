/* kb_xapian_int.h: what the files of the Xapian wrapper share, private
 * to them (C++ only): the error plumbing that turns every exception into a
 * KBX_ERR_* code and a message (never throwing itself), the handle types of
 * databases, documents and queries, and the entry checks of a database
 * call. kb_xapian.cc holds the database side (open, transactions,
 * documents, metadata, terms, synonyms, spelling), kb_xapian_search.cc the
 * query side (queries, searches, result sets, facets), kb_xapian_weigh.cc
 * the weighing of a few documents against a query without the matcher,
 * kb_xapian_shard.cc shard sets. */
#ifndef KB_XAPIAN_INT_H
#define KB_XAPIAN_INT_H

#include "kb_xapian.h"

#include <xapian.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <unordered_map>
#include <string>
#include <vector>

/* ---- error plumbing ---------------------------------------------------- */

namespace {

/* Where a failure's message goes: a std::string owned by a handle, a caller
 * buffer, or nowhere. */
struct Sink {
    std::string *str;
    char *buf;
    size_t len;
};

inline Sink sink_str(std::string *s) { return Sink{s, nullptr, 0}; }
inline Sink sink_buf(char *b, size_t n) { return Sink{nullptr, b, n}; }

inline void sink_set(Sink s, const char *msg) noexcept {
    if (!msg) msg = "";
    if (s.str) {
        try {
            s.str->assign(msg);
        } catch (...) {
            s.str->clear();
        }
    }
    if (s.buf && s.len > 0) std::snprintf(s.buf, s.len, "%s", msg);
}

inline void sink_clear(Sink s) noexcept {
    if (s.str) s.str->clear();
    if (s.buf && s.len > 0) s.buf[0] = '\0';
}

inline int fail(Sink s, int code, const char *msg) noexcept {
    sink_set(s, msg);
    return code;
}

/* Maps the Xapian::Error being handled to a code. Xapian::Error is not
 * polymorphic (no dynamic_cast), so this rethrows it and lets the handlers
 * pick the class, most specific first. Call only from inside a handler. */
inline int xapian_code() noexcept {
    try {
        throw;
    } catch (const Xapian::DatabaseLockError &) {
        return KBX_ERR_LOCK;
    } catch (const Xapian::DatabaseNotFoundError &) {
        return KBX_ERR_NODB;
    } catch (const Xapian::DatabaseVersionError &) {
        return KBX_ERR_VERSION;
    } catch (const Xapian::DatabaseOpeningError &) {
        return KBX_ERR_OPENING;
    } catch (const Xapian::DatabaseCreateError &) {
        return KBX_ERR_CREATE;
    } catch (const Xapian::DatabaseCorruptError &) {
        return KBX_ERR_CORRUPT;
    } catch (const Xapian::DatabaseModifiedError &) {
        return KBX_ERR_MODIFIED;
    } catch (const Xapian::DatabaseClosedError &) {
        return KBX_ERR_CLOSED;
    } catch (const Xapian::DatabaseError &) {
        return KBX_ERR_DATABASE;
    } catch (const Xapian::DocNotFoundError &) {
        return KBX_ERR_NOTFOUND;
    } catch (const Xapian::InvalidArgumentError &) {
        return KBX_ERR_INVALID;
    } catch (const Xapian::InvalidOperationError &) {
        return KBX_ERR_INVALID_OP;
    } catch (const Xapian::UnimplementedError &) {
        return KBX_ERR_UNIMPLEMENTED;
    } catch (const Xapian::RangeError &) {
        return KBX_ERR_RANGE;
    } catch (...) {
        return KBX_ERR_XAPIAN;
    }
}

/* Stores the message of e (the exception being handled) and returns its
 * code. */
inline int fail_xapian(Sink s, const Xapian::Error &e) noexcept {
    char msg[1024];
    const char *type = e.get_type();
    std::snprintf(msg, sizeof msg, "%s: %s", type ? type : "Xapian::Error", e.get_msg().c_str());
    size_t used = std::strlen(msg);
    if (!e.get_context().empty() && used < sizeof msg - 1) {
        std::snprintf(msg + used, sizeof msg - used, " (context: %s)", e.get_context().c_str());
        used = std::strlen(msg);
    }
    const char *errstr = e.get_error_string();
    if (errstr && *errstr && used < sizeof msg - 1)
        std::snprintf(msg + used, sizeof msg - used, " (%s)", errstr);
    return fail(s, xapian_code(), msg);
}

inline int fail_std(Sink s, const std::exception &e) noexcept {
    char msg[512];
    int code = dynamic_cast<const std::bad_alloc *>(&e) ? KBX_ERR_NOMEM : KBX_ERR_INTERNAL;
    std::snprintf(msg, sizeof msg, "C++ exception: %s", e.what());
    return fail(s, code, msg);
}

inline int fail_unknown(Sink s) noexcept {
    return fail(s, KBX_ERR_UNKNOWN, "unknown C++ exception");
}

/* Copies n bytes to a new NUL-terminated malloc'd buffer (NULL on OOM). */
inline char *dup_bytes(const char *p, size_t n) noexcept {
    char *r = static_cast<char *>(std::malloc(n + 1));
    if (!r) return nullptr;
    if (n) std::memcpy(r, p, n);
    r[n] = '\0';
    return r;
}

}  // namespace

/* Handlers closing the try block of every entry point. */
#define KBX_CATCH(SINK)                                                    \
    catch (const Xapian::Error &kbx_e_) {                                  \
        return fail_xapian((SINK), kbx_e_);                                \
    }                                                                      \
    catch (const std::exception &kbx_e_) {                                 \
        return fail_std((SINK), kbx_e_);                                   \
    }                                                                      \
    catch (...) {                                                          \
        return fail_unknown(SINK);                                         \
    }

/* As KBX_CATCH, storing the code in VAR instead of returning it. */
#define KBX_CATCH_SET(SINK, VAR)                                           \
    catch (const Xapian::Error &kbx_e_) {                                  \
        (VAR) = fail_xapian((SINK), kbx_e_);                               \
    }                                                                      \
    catch (const std::exception &kbx_e_) {                                 \
        (VAR) = fail_std((SINK), kbx_e_);                                  \
    }                                                                      \
    catch (...) {                                                          \
        (VAR) = fail_unknown(SINK);                                        \
    }

/* For entry points that report failure as a plain value (NULL, 0) and have
 * no message sink. */
#define KBX_CATCH_RET(VAL)                                                 \
    catch (const Xapian::Error &) {                                        \
        return (VAL);                                                      \
    }                                                                      \
    catch (const std::exception &) {                                       \
        return (VAL);                                                      \
    }                                                                      \
    catch (...) {                                                          \
        return (VAL);                                                      \
    }
#define KBX_CATCH_NULL KBX_CATCH_RET(nullptr)

/* For void entry points (destructors): swallow everything. */
#define KBX_CATCH_VOID                                                     \
    catch (const Xapian::Error &) {                                        \
    }                                                                      \
    catch (const std::exception &) {                                       \
    }                                                                      \
    catch (...) {                                                          \
    }

/* ---- handle types ------------------------------------------------------ */

/* A read-only database's facet_joined_slot, held in memory for one
   revision (as Lucene's doc values): the value of every document,
   interned. Reading a value from the index costs a B-tree lookup and often
   a pread per matching document; this costs an array lookup. */
struct FacetCache {
    Xapian::valueno slot = 0;
    Xapian::rev rev = 0;
    std::vector<uint32_t> id_of;      /* by docid: index into values */
    std::vector<std::string> values;  /* values[0] is "" (no value) */
};

/* A read-only database's document lengths, held in memory for one
   revision (by docid; 0 where no document is): the first pass of our own
   (kb_xapian_match.cc) weighs every match, and one length read through
   Xapian's API costs a B-tree step. */
struct DocLens {
    Xapian::rev rev = 0;
    std::vector<Xapian::termcount> len;
};

/* One shard of a database opened with kbx_db_open_shards
   (kb_xapian_shard.cc): its spec, its own handle while it is up, and why
   it is down otherwise. */
struct Shard {
    std::string spec;                 /* a folder, or tcp:HOST:PORT */
    std::unique_ptr<Xapian::Database> db; /* NULL while down */
    std::string why;                  /* the last failure ("" while up) */
    double retry_at = 0;              /* monotonic s: next reopen attempt */
    bool remote = false;              /* tcp:HOST:PORT */
    uint64_t gen = 0;                 /* a remote database gives no revision:
                                         counts the reopens that saw a change */
};

struct ShardSet {
    std::vector<Shard> v;
    unsigned timeout_ms = 0;
    bool remote = false;  /* some shard is remote (no custom spies/sources) */
    bool dirty = false;   /* the set of shards up changed: reopen reports it */
};

struct kbx_db {
    std::unique_ptr<Xapian::Database> db; /* the object; may be writable; for
                                             shards, the union of those up */
    std::unique_ptr<ShardSet> shards;     /* NULL unless opened as shards */
    /* a read-only folder holding a stub file (XAPIANDB: a replica kept by
       xapian-replicate): its path and the stub's text when opened; a new
       text at reopen means a full copy was switched in (kb_xapian.cc) */
    std::string path, stub;
    Xapian::WritableDatabase *wdb = nullptr; /* db as writable, or NULL */
    /* shared with the result sets counting from it, so a rebuild for a new
       revision never changes one under a result set still in use */
    std::shared_ptr<const FacetCache> facets;
    std::shared_ptr<const DocLens> lens; /* built by own_match, per revision */
    std::string err;
};

struct kbx_doc {
    Xapian::Document doc;
    std::string err;
};

/* What a query was built from, kept beside the Xapian::Query (whose scale
   factors, windows and wqfs Xapian 1.4 does not expose) so kbx_weigh_docs
   (kb_xapian_weigh.cc) can weigh documents against it without running the
   matcher. Immutable once built; subqueries are shared, not copied. */
struct QNode {
    enum Kind { TERM, OP, SCALE, OTHER } kind = OTHER; /* OTHER: match-all, docids */
    int op = 0;               /* OP: KBX_OP_* */
    uint32_t param = 0;       /* OP: PHRASE / NEAR window (0 = number of subs) */
    double factor = 1;        /* SCALE */
    std::string term;         /* TERM */
    uint32_t wqf = 1;         /* TERM */
    std::vector<std::shared_ptr<const QNode>> subs; /* OP: its subqueries; SCALE: one */
};

struct kbx_query {
    Xapian::Query q;
    std::shared_ptr<const QNode> node; /* never NULL */
};

/* ---- BM25 as Xapian 1.4 computes it (weight/bm25weight.cc) ---------------- */

/* log of BM25's tw for a term in tf of ndocs documents (no RSet), with
   BM25Weight::init()'s remedy for terms in more than half of them. */
inline double bm25_logtw(Xapian::doccount ndocs, Xapian::doccount tf) {
    double tw = (ndocs - tf + 0.5) / (tf + 0.5);
    if (tw < 2) tw = tw * 0.5 + 1;
    return std::log(tw);
}

/* BM25Weight::init(factor)'s termweight for a term of query frequency wqf. */
inline double bm25_termweight(double logtw, double factor, double wqf,
                              const kbx_search_opts &o) {
    double termweight = logtw * factor;
    if (o.bm25_k3 != 0) termweight *= (o.bm25_k3 + 1) * wqf / (o.bm25_k3 + wqf);
    return termweight * (o.bm25_k1 + 1);
}

/* BM25Weight::get_sumpart(): len_factor is 1 / the average length, or 0
   when nothing uses the length (bm25_len_factor). */
inline double bm25_sumpart(double termweight, Xapian::termcount wdf, Xapian::termcount len,
                           double len_factor, const kbx_search_opts &o) {
    double normlen = std::max(len * len_factor, o.bm25_min_normlen);
    double wdf_double = wdf;
    double denom = o.bm25_k1 * (normlen * o.bm25_b + (1 - o.bm25_b)) + wdf_double;
    return termweight * (wdf_double / denom);
}

/* BM25Weight::init()'s len_factor for db. */
inline double bm25_len_factor(const Xapian::Database &db, const kbx_search_opts &o) {
    if (o.bm25_k2 == 0 && (o.bm25_b == 0 || o.bm25_k1 == 0)) return 0;
    double f = db.get_avlength();
    return f != 0 ? 1 / f : 0;
}

/* ---- the first pass of our own (kb_xapian_match.cc) -------------------------- */

struct OwnItem {
    Xapian::docid did;
    double wt;
};

/* What own_match found: the asked page of the matches, best first (weight
   falling, then docid rising, as Xapian's relevance order), every match
   counted, and the factor of Xapian's percentages (percent_of). */
struct OwnResult {
    std::vector<OwnItem> items;
    Xapian::doccount matches = 0;
    double percent_factor = 0;
};

/* Runs q with o's BM25, offset and limit over db as Xapian's matcher would
   rank it, but visiting every match (so that the count is exact), when q
   is made of terms, scale factors, OR, SYNONYM of terms, AND_MAYBE and a
   FILTER by terms (ORed or ANDed) and db is one read-only database; false
   when it is not (run Xapian's matcher). on_match (may be empty) is called
   with every match, in docid order (facets are counted over all of them). Weights equal Xapian's but for
   the order in which a match's parts are summed (a difference in the last
   bits). May throw Xapian exceptions. */
bool own_match(kbx_db *db, const QNode &q, const kbx_search_opts &o, OwnResult *out,
               const std::function<void(Xapian::docid)> &on_match);

/* The document lengths of db's current revision (DocLens), built on the
   first call after a change; NULL for a writable database or shards (no
   single revision). Shared: a rebuild never changes one in use. May
   throw. */
std::shared_ptr<const DocLens> doc_lens(kbx_db *db);

/* Xapian's MSet percentage of weight wt for percent_factor f. */
int percent_of(double wt, double f);

/* ---- shards (kb_xapian_shard.cc) ------------------------------------------- */

/* kbx_db_reopen of a shard set: *changed when a revision or the set of
   shards up moved. May throw. */
int shard_reopen(kbx_db *db, int *changed);
/* The synthetic revision of a shard set (see kbx_db_open_shards). */
uint64_t shard_revision(kbx_db *db);
/* After a failed call on a shard set: finds the shards that no longer
   answer, drops them and rebuilds the union. Returns true when one was
   dropped (the caller reports KBX_ERR_MODIFIED: docids moved). Never
   throws. */
bool shard_drop_failed(kbx_db *db) noexcept;

/* ---- entry checks of a database call ---------------------------------------- */

namespace {

/* Clears db's message and checks it is usable; returns 0 or a code. */
inline int db_enter(kbx_db *db) noexcept {
    if (!db) return KBX_ERR_INVALID;
    db->err.clear();
    if (!db->db) return fail(sink_str(&db->err), KBX_ERR_CLOSED, "database handle is closed");
    return 0;
}

inline int db_enter_write(kbx_db *db) noexcept {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!db->wdb)
        return fail(sink_str(&db->err), KBX_ERR_READONLY, "database was opened read-only");
    return 0;
}

/* The code of the exception being handled by a search on db, its message
   in db->err. A shard that fails mid-search is dropped; the docids of the
   union change, so this returns KBX_ERR_MODIFIED and the caller reopens
   and runs its query again. Call only from inside a handler. */
inline int search_failed(kbx_db *db) noexcept {
    int code;
    try {
        throw;
    }
    KBX_CATCH_SET(sink_str(&db->err), code)
    if (db->shards && shard_drop_failed(db)) {
        char why[1100];
        std::snprintf(why, sizeof why, "a shard failed and was dropped: %s", db->err.c_str());
        return fail(sink_str(&db->err), KBX_ERR_MODIFIED, why);
    }
    return code;
}

inline int bad_arg(kbx_db *db, const char *what) noexcept {
    char msg[256];
    std::snprintf(msg, sizeof msg, "invalid argument: %s", what);
    return fail(sink_str(&db->err), KBX_ERR_INVALID, msg);
}

}  // namespace

#endif
