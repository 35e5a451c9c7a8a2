/* kb_xapian: implements the C interface declared in kb_xapian.h on top of
 * Xapian 1.4's C++ API. Each handle type is a small struct owning the Xapian
 * objects; every extern "C" entry point runs its body inside a try block whose
 * handlers (KBX_CATCH and friends) catch Xapian::Error, std::exception and
 * anything else, map the exception to a KBX_ERR_* code and store its message
 * in the handle or the caller's buffer, so no exception ever reaches C code.
 * Message storage itself never throws (fixed buffers, noexcept helpers). */
#include "kb_xapian.h"

#include <xapian.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
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

Sink sink_str(std::string *s) { return Sink{s, nullptr, 0}; }
Sink sink_buf(char *b, size_t n) { return Sink{nullptr, b, n}; }

void sink_set(Sink s, const char *msg) noexcept {
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

void sink_clear(Sink s) noexcept {
    if (s.str) s.str->clear();
    if (s.buf && s.len > 0) s.buf[0] = '\0';
}

int fail(Sink s, int code, const char *msg) noexcept {
    sink_set(s, msg);
    return code;
}

/* Maps the Xapian::Error being handled to a code. Xapian::Error is not
 * polymorphic (no dynamic_cast), so this rethrows it and lets the handlers
 * pick the class, most specific first. Call only from inside a handler. */
int xapian_code() noexcept {
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
int fail_xapian(Sink s, const Xapian::Error &e) noexcept {
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

int fail_std(Sink s, const std::exception &e) noexcept {
    char msg[512];
    int code = dynamic_cast<const std::bad_alloc *>(&e) ? KBX_ERR_NOMEM : KBX_ERR_INTERNAL;
    std::snprintf(msg, sizeof msg, "C++ exception: %s", e.what());
    return fail(s, code, msg);
}

int fail_unknown(Sink s) noexcept {
    return fail(s, KBX_ERR_UNKNOWN, "unknown C++ exception");
}

/* Copies n bytes to a new NUL-terminated malloc'd buffer (NULL on OOM). */
char *dup_bytes(const char *p, size_t n) noexcept {
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

struct kbx_db {
    std::unique_ptr<Xapian::Database> db; /* the object; may be writable */
    Xapian::WritableDatabase *wdb = nullptr; /* db as writable, or NULL */
    /* shared with the result sets counting from it, so a rebuild for a new
       revision never changes one under a result set still in use */
    std::shared_ptr<const FacetCache> facets;
    std::string err;
};

struct kbx_doc {
    Xapian::Document doc;
    std::string err;
};

struct kbx_query {
    Xapian::Query q;
};

namespace {

struct MsetItem {
    bool loaded = false;
    Xapian::Document doc;
    bool data_loaded = false;
    std::string data;
    std::map<unsigned, std::string> values; /* node-based: stable c_str() */
};

}  // namespace

namespace {

/* Counts the parts of one slot's joined value (KBX_FACET_SEP between
   them), each in its own map: facets from a single value per document,
   taken from the database's FacetCache when there is one. Used only on
   local databases, so it is never serialised. */
class JoinedCountSpy : public Xapian::MatchSpy {
  public:
    JoinedCountSpy(Xapian::valueno slot, size_t parts, std::shared_ptr<const FacetCache> cache)
        : slot_(slot), cache_(std::move(cache)), parts_(parts) {
        if (cache_) by_id_.assign(cache_->values.size(), 0);
    }
    void operator()(const Xapian::Document &doc, double) override {
        Xapian::docid did = doc.get_docid();
        if (cache_ && did < cache_->id_of.size())
            by_id_[cache_->id_of[did]]++;
        else
            other_[doc.get_value(slot_)]++;
    }
    std::string name() const override { return "kbdesk.JoinedCountSpy"; }
    size_t parts() const { return parts_; }
    Xapian::valueno slot() const { return slot_; }
    /* The document's value from the cache (stable while the spy lives), or
       NULL when it is not there. */
    const std::string *cached(Xapian::docid did) const {
        if (!cache_ || did >= cache_->id_of.size()) return nullptr;
        return &cache_->values[cache_->id_of[did]];
    }
    /* The counts of part k, by value. */
    const std::map<std::string, uint32_t> &part(size_t k) {
        if (counts_.empty()) split();
        return counts_[k];
    }

  private:
    void add(const std::string &v, uint32_t n) {
        size_t start = 0;
        for (size_t k = 0; k < parts_ && start <= v.size(); k++) {
            size_t end = v.find(KBX_FACET_SEP, start);
            if (end == std::string::npos) end = v.size();
            if (end > start) counts_[k][v.substr(start, end - start)] += n;
            start = end + 1;
        }
    }
    void split() {
        counts_.resize(parts_);
        for (size_t i = 0; i < by_id_.size(); i++)
            if (by_id_[i]) add(cache_->values[i], by_id_[i]);
        for (const auto &e : other_) add(e.first, e.second);
    }

    Xapian::valueno slot_;
    std::shared_ptr<const FacetCache> cache_;
    size_t parts_;
    std::vector<uint32_t> by_id_;                 /* counts by interned value */
    std::map<std::string, uint32_t> other_;       /* counts of values read */
    std::vector<std::map<std::string, uint32_t>> counts_;
};

/* The FacetCache of db for slot, built or rebuilt for the current
   revision; empty for a writable database (its revision does not change
   with uncommitted edits). */
std::shared_ptr<const FacetCache> facet_cache(kbx_db *db, Xapian::valueno slot) {
    if (db->wdb) return nullptr;
    Xapian::rev rev = db->db->get_revision();
    if (db->facets && db->facets->slot == slot && db->facets->rev == rev) return db->facets;
    db->facets.reset();
    auto c = std::make_shared<FacetCache>();
    c->id_of.assign(static_cast<size_t>(db->db->get_lastdocid()) + 1, 0);
    c->values.assign(1, std::string());
    std::unordered_map<std::string, uint32_t> ids;
    for (Xapian::ValueIterator it = db->db->valuestream_begin(slot);
         it != db->db->valuestream_end(slot); ++it) {
        Xapian::docid did = it.get_docid();
        if (did >= c->id_of.size()) continue; /* cannot happen in one revision */
        auto ins = ids.emplace(*it, static_cast<uint32_t>(c->values.size()));
        if (ins.second) c->values.push_back(*it);
        c->id_of[did] = ins.first->second;
    }
    c->slot = slot;
    c->rev = rev;
    db->facets = c;
    return db->facets;
}

}  // namespace

struct kbx_mset {
    /* Declared before enq so they outlive it (members die in reverse). */
    std::unique_ptr<JoinedCountSpy> joined;
    Xapian::Enquire enq;
    Xapian::MSet mset;
    std::vector<MsetItem> items; /* sized once; never reallocated */
    std::string err;

    explicit kbx_mset(const Xapian::Database &d) : enq(d) {}
};

/* ---- small helpers ------------------------------------------------------ */

namespace {

/* Clears db's message and checks it is usable; returns 0 or a code. */
int db_enter(kbx_db *db) noexcept {
    if (!db) return KBX_ERR_INVALID;
    db->err.clear();
    if (!db->db) return fail(sink_str(&db->err), KBX_ERR_CLOSED, "database handle is closed");
    return 0;
}

int db_enter_write(kbx_db *db) noexcept {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!db->wdb)
        return fail(sink_str(&db->err), KBX_ERR_READONLY, "database was opened read-only");
    return 0;
}

int bad_arg(kbx_db *db, const char *what) noexcept {
    char msg[256];
    std::snprintf(msg, sizeof msg, "invalid argument: %s", what);
    return fail(sink_str(&db->err), KBX_ERR_INVALID, msg);
}

/* Checks an id term: non-NULL, non-empty, not too long. */
int check_idterm(kbx_db *db, const char *idterm) noexcept {
    if (!idterm || !*idterm) return bad_arg(db, "id term is NULL or empty");
    if (std::strlen(idterm) > KBX_MAX_TERM_LEN)
        return fail(sink_str(&db->err), KBX_ERR_TOOLONG, "id term longer than KBX_MAX_TERM_LEN");
    return 0;
}

/* Checks a key Xapian stores as a B-tree key (synonym term, spelling word,
 * metadata key): some are buffered until commit, where a too-long one would
 * make the whole commit fail, so they are refused up front. */
int check_key(kbx_db *db, const char *key, const char *what) noexcept {
    if (!key || !*key) {
        char msg[128];
        std::snprintf(msg, sizeof msg, "invalid argument: %s is NULL or empty", what);
        return fail(sink_str(&db->err), KBX_ERR_INVALID, msg);
    }
    if (std::strlen(key) > KBX_MAX_TERM_LEN) {
        char msg[128];
        std::snprintf(msg, sizeof msg, "%s longer than KBX_MAX_TERM_LEN", what);
        return fail(sink_str(&db->err), KBX_ERR_TOOLONG, msg);
    }
    return 0;
}

/* Finds the first document indexed by idterm; 0 when none. May throw. */
Xapian::docid find_doc(const Xapian::Database &d, const std::string &idterm) {
    Xapian::PostingIterator p = d.postlist_begin(idterm);
    if (p == d.postlist_end(idterm)) return 0;
    return *p;
}

int notfound(kbx_db *db, const char *what) noexcept {
    char msg[400];
    std::snprintf(msg, sizeof msg, "no document %s", what);
    return fail(sink_str(&db->err), KBX_ERR_NOTFOUND, msg);
}

/* Copies s into a malloc'd buffer for the caller; 0 or KBX_ERR_NOMEM. */
int give_string(kbx_db *db, const std::string &s, char **out, size_t *len) noexcept {
    char *p = dup_bytes(s.data(), s.size());
    if (!p) return fail(sink_str(&db->err), KBX_ERR_NOMEM, "out of memory");
    *out = p;
    if (len) *len = s.size();
    return 0;
}

/* Runs cb over a TermIterator range; returns 0 or the callback's value. */
int each_string(Xapian::TermIterator it, Xapian::TermIterator end, kbx_str_cb cb, void *ud) {
    for (; it != end; ++it) {
        const std::string t = *it;
        int r = cb(ud, t.c_str(), t.size());
        if (r) return r;
    }
    return 0;
}

int doc_terms(kbx_db *db, Xapian::docid did, kbx_docterm_cb cb, void *ud) {
    const Xapian::Database &d = *db->db;
    std::vector<uint32_t> pos;
    for (Xapian::TermIterator t = d.termlist_begin(did); t != d.termlist_end(did); ++t) {
        const std::string term = *t;
        pos.clear();
        for (Xapian::PositionIterator p = t.positionlist_begin(); p != t.positionlist_end();
             ++p)
            pos.push_back(*p);
        int r = cb(ud, term.c_str(), term.size(), t.get_wdf(), pos.empty() ? nullptr : pos.data(),
                   pos.size());
        if (r) return r;
    }
    return 0;
}

int doc_add(kbx_doc *doc, const char *term, size_t len, bool positional, uint32_t pos,
            uint32_t wdfinc) noexcept {
    if (!doc) return KBX_ERR_INVALID;
    doc->err.clear();
    if (!term || len == 0)
        return fail(sink_str(&doc->err), KBX_ERR_INVALID, "invalid argument: term is NULL or empty");
    if (len > KBX_MAX_TERM_LEN) return 0; /* skipped: Xapian would refuse it */
    try {
        std::string t(term, len);
        if (positional)
            doc->doc.add_posting(t, pos, wdfinc);
        else
            doc->doc.add_term(t, wdfinc);
        return 0;
    }
    KBX_CATCH(sink_str(&doc->err))
}

/* Fetches (once) the document of item i; 0 or a code with m->err set. */
int mset_item(kbx_mset *m, size_t i, MsetItem **out) {
    if (i >= m->items.size())
        return fail(sink_str(&m->err), KBX_ERR_RANGE, "mset index out of range");
    MsetItem &it = m->items[i];
    if (!it.loaded) {
        it.doc = m->mset[static_cast<Xapian::doccount>(i)].get_document();
        it.loaded = true;
    }
    *out = &it;
    return 0;
}

}  // namespace

extern "C" {

/* ---- errors ------------------------------------------------------------ */

const char *kbx_strerror(int code) {
    switch (code) {
    case KBX_OK: return "success";
    case KBX_ERR_INVALID: return "invalid argument";
    case KBX_ERR_NOMEM: return "out of memory";
    case KBX_ERR_NOTFOUND: return "document not found";
    case KBX_ERR_LOCK: return "database is locked by another writer";
    case KBX_ERR_OPENING: return "cannot open database";
    case KBX_ERR_NODB: return "database does not exist";
    case KBX_ERR_VERSION: return "unsupported database format version";
    case KBX_ERR_CREATE: return "cannot create database";
    case KBX_ERR_CORRUPT: return "database is corrupt";
    case KBX_ERR_MODIFIED: return "database was modified; reopen and retry";
    case KBX_ERR_CLOSED: return "database is closed";
    case KBX_ERR_DATABASE: return "database error";
    case KBX_ERR_READONLY: return "database is read-only";
    case KBX_ERR_INVALID_OP: return "invalid operation";
    case KBX_ERR_UNIMPLEMENTED: return "not implemented";
    case KBX_ERR_RANGE: return "out of range";
    case KBX_ERR_TOOLONG: return "term too long";
    case KBX_ERR_XAPIAN: return "Xapian error";
    case KBX_ERR_INTERNAL: return "internal error";
    case KBX_ERR_UNKNOWN: return "unknown error";
    default: return code > 0 ? "stopped by callback" : "unknown error code";
    }
}

/* ---- databases ---------------------------------------------------------- */

int kbx_db_open(const char *path, int mode, kbx_db **out, char *err, size_t errlen) {
    Sink s = sink_buf(err, errlen);
    sink_clear(s);
    if (out) *out = nullptr;
    if (!path || !*path || !out)
        return fail(s, KBX_ERR_INVALID, "invalid argument: path or out is NULL or empty");
    try {
        std::unique_ptr<kbx_db> h(new kbx_db);
        switch (mode) {
        case KBX_OPEN_READ:
            h->db.reset(new Xapian::Database(path));
            break;
        case KBX_OPEN_WRITE:
        case KBX_OPEN_OVERWRITE: {
            int action = mode == KBX_OPEN_WRITE ? Xapian::DB_CREATE_OR_OPEN
                                                : Xapian::DB_CREATE_OR_OVERWRITE;
            Xapian::WritableDatabase *w = new Xapian::WritableDatabase(path, action);
            h->db.reset(w);
            h->wdb = w;
            break;
        }
        default:
            return fail(s, KBX_ERR_INVALID, "invalid argument: unknown open mode");
        }
        *out = h.release();
        return 0;
    }
    KBX_CATCH(s)
}

void kbx_db_free(kbx_db *db) {
    if (!db) return;
    try {
        if (db->db) db->db->close();
    }
    KBX_CATCH_VOID
    try {
        db->db.reset();
    }
    KBX_CATCH_VOID
    delete db;
}

const char *kbx_db_errmsg(const kbx_db *db) {
    if (!db) return "NULL kbx_db handle";
    return db->err.c_str();
}

int kbx_db_reopen(kbx_db *db, int *changed) {
    int rc = db_enter(db);
    if (changed) *changed = 0;
    if (rc) return rc;
    if (db->wdb) return 0;
    try {
        Xapian::rev before = db->db->get_revision();
        db->db->reopen();
        if (changed) *changed = db->db->get_revision() != before;
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_revision(kbx_db *db, uint64_t *rev) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!rev) return bad_arg(db, "rev is NULL");
    try {
        *rev = static_cast<uint64_t>(db->db->get_revision());
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_doccount(kbx_db *db, uint32_t *n) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!n) return bad_arg(db, "n is NULL");
    try {
        *n = db->db->get_doccount();
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

/* ---- transactions -------------------------------------------------------- */

int kbx_db_begin(kbx_db *db) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    try {
        db->wdb->begin_transaction(true);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_commit_tx(kbx_db *db) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    try {
        db->wdb->commit_transaction();
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_cancel_tx(kbx_db *db) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    try {
        db->wdb->cancel_transaction();
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

/* ---- documents ------------------------------------------------------------ */

kbx_doc *kbx_doc_new(void) {
    try {
        return new kbx_doc;
    }
    KBX_CATCH_NULL
}

void kbx_doc_free(kbx_doc *doc) {
    try {
        delete doc;
    }
    KBX_CATCH_VOID
}

const char *kbx_doc_errmsg(const kbx_doc *doc) {
    if (!doc) return "NULL kbx_doc handle";
    return doc->err.c_str();
}

int kbx_doc_add_posting(kbx_doc *doc, const char *term, size_t len, uint32_t pos,
                        uint32_t wdfinc) {
    return doc_add(doc, term, len, true, pos, wdfinc);
}

int kbx_doc_add_term(kbx_doc *doc, const char *term, size_t len, uint32_t wdfinc) {
    return doc_add(doc, term, len, false, 0, wdfinc);
}

int kbx_doc_add_boolean_term(kbx_doc *doc, const char *term, size_t len) {
    return doc_add(doc, term, len, false, 0, 0);
}

int kbx_doc_set_value(kbx_doc *doc, unsigned slot, const char *v, size_t len) {
    if (!doc) return KBX_ERR_INVALID;
    doc->err.clear();
    if ((!v && len) || slot == Xapian::BAD_VALUENO)
        return fail(sink_str(&doc->err), KBX_ERR_INVALID, "invalid argument: NULL value or bad slot");
    try {
        if (len == 0)
            doc->doc.remove_value(slot);
        else
            doc->doc.add_value(slot, std::string(v, len));
        return 0;
    }
    KBX_CATCH(sink_str(&doc->err))
}

int kbx_doc_set_data(kbx_doc *doc, const char *data, size_t len) {
    if (!doc) return KBX_ERR_INVALID;
    doc->err.clear();
    if (!data && len)
        return fail(sink_str(&doc->err), KBX_ERR_INVALID, "invalid argument: NULL data");
    try {
        doc->doc.set_data(len ? std::string(data, len) : std::string());
        return 0;
    }
    KBX_CATCH(sink_str(&doc->err))
}

/* ---- documents by id term --------------------------------------------------- */

int kbx_db_replace(kbx_db *db, const char *idterm, kbx_doc *doc) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    if ((rc = check_idterm(db, idterm))) return rc;
    if (!doc) return bad_arg(db, "doc is NULL");
    try {
        const std::string id(idterm);
        doc->doc.add_boolean_term(id);
        db->wdb->replace_document(id, doc->doc);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_delete(kbx_db *db, const char *idterm) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    if ((rc = check_idterm(db, idterm))) return rc;
    try {
        const std::string id(idterm);
        if (!db->wdb->term_exists(id)) return notfound(db, "with that id term");
        db->wdb->delete_document(id);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_get_data(kbx_db *db, const char *idterm, char **data, size_t *len) {
    if (data) *data = nullptr;
    int rc = db_enter(db);
    if (rc) return rc;
    if ((rc = check_idterm(db, idterm))) return rc;
    if (!data) return bad_arg(db, "data is NULL");
    try {
        Xapian::docid did = find_doc(*db->db, idterm);
        if (!did) return notfound(db, "with that id term");
        return give_string(db, db->db->get_document(did).get_data(), data, len);
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_get_value(kbx_db *db, const char *idterm, unsigned slot, char **v, size_t *len) {
    if (v) *v = nullptr;
    int rc = db_enter(db);
    if (rc) return rc;
    if ((rc = check_idterm(db, idterm))) return rc;
    if (!v) return bad_arg(db, "v is NULL");
    try {
        Xapian::docid did = find_doc(*db->db, idterm);
        if (!did) return notfound(db, "with that id term");
        return give_string(db, db->db->get_document(did).get_value(slot), v, len);
    }
    KBX_CATCH(sink_str(&db->err))
}

/* ---- metadata ----------------------------------------------------------------- */

int kbx_db_set_metadata(kbx_db *db, const char *key, const char *val, size_t len) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    if ((rc = check_key(db, key, "key"))) return rc;
    if (!val && len) return bad_arg(db, "val is NULL");
    try {
        db->wdb->set_metadata(key, len ? std::string(val, len) : std::string());
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_get_metadata(kbx_db *db, const char *key, char **val, size_t *len) {
    if (val) *val = nullptr;
    int rc = db_enter(db);
    if (rc) return rc;
    if (!key || !*key || !val) return bad_arg(db, "key is NULL or empty, or val is NULL");
    try {
        return give_string(db, db->db->get_metadata(key), val, len);
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_metadata_keys(kbx_db *db, const char *prefix, kbx_str_cb cb, void *ud) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!cb) return bad_arg(db, "cb is NULL");
    try {
        const std::string p(prefix ? prefix : "");
        return each_string(db->db->metadata_keys_begin(p), db->db->metadata_keys_end(p), cb, ud);
    }
    KBX_CATCH(sink_str(&db->err))
}

/* ---- terms -------------------------------------------------------------------- */

int kbx_db_allterms(kbx_db *db, const char *prefix, kbx_term_cb cb, void *ud) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!cb) return bad_arg(db, "cb is NULL");
    try {
        const std::string p(prefix ? prefix : "");
        for (Xapian::TermIterator t = db->db->allterms_begin(p); t != db->db->allterms_end(p);
             ++t) {
            const std::string term = *t;
            int r = cb(ud, term.c_str(), term.size(), t.get_termfreq());
            if (r) return r;
        }
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_allterms_twin(kbx_db *db, const char *prefix, const char *twin, kbx_twin_cb cb,
                         void *ud) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!cb || !twin || !*twin) return bad_arg(db, "cb is NULL or twin is NULL or empty");
    try {
        const std::string p(prefix ? prefix : ""), tw(twin);
        const std::string tp = tw + p;
        Xapian::TermIterator u = db->db->allterms_begin(tp), ue = db->db->allterms_end(tp);
        for (Xapian::TermIterator t = db->db->allterms_begin(p); t != db->db->allterms_end(p);
             ++t) {
            const std::string term = *t;
            /* both ranges are in byte order: twin + term is at u or later */
            const std::string want = tw + term;
            while (u != ue && *u < want) ++u;
            uint32_t twf = u != ue && *u == want ? u.get_termfreq() : 0;
            int r = cb(ud, term.c_str(), term.size(), t.get_termfreq(), twf);
            if (r) return r;
        }
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_termfreq(kbx_db *db, const char *term, uint32_t *n) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!term || !*term || !n) return bad_arg(db, "term is NULL or empty, or n is NULL");
    try {
        /* Longer terms cannot be in the database. */
        *n = std::strlen(term) > KBX_MAX_TERM_LEN ? 0 : db->db->get_termfreq(term);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_doc_terms(kbx_db *db, const char *idterm, kbx_docterm_cb cb, void *ud) {
    int rc = db_enter(db);
    if (rc) return rc;
    if ((rc = check_idterm(db, idterm))) return rc;
    if (!cb) return bad_arg(db, "cb is NULL");
    try {
        Xapian::docid did = find_doc(*db->db, idterm);
        if (!did) return notfound(db, "with that id term");
        return doc_terms(db, did, cb, ud);
    }
    KBX_CATCH(sink_str(&db->err))
}

/* ---- synonyms ------------------------------------------------------------------ */

int kbx_db_add_synonym(kbx_db *db, const char *term, const char *synonym) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    if ((rc = check_key(db, term, "term")) || (rc = check_key(db, synonym, "synonym")))
        return rc;
    try {
        db->wdb->add_synonym(term, synonym);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_clear_synonyms(kbx_db *db, const char *term) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    if ((rc = check_key(db, term, "term"))) return rc;
    try {
        db->wdb->clear_synonyms(term);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_synonyms(kbx_db *db, const char *term, kbx_str_cb cb, void *ud) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!term || !*term || !cb) return bad_arg(db, "term is NULL or empty, or cb is NULL");
    try {
        const std::string t(term);
        return each_string(db->db->synonyms_begin(t), db->db->synonyms_end(t), cb, ud);
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_synonym_keys(kbx_db *db, const char *prefix, kbx_str_cb cb, void *ud) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!cb) return bad_arg(db, "cb is NULL");
    try {
        const std::string p(prefix ? prefix : "");
        return each_string(db->db->synonym_keys_begin(p), db->db->synonym_keys_end(p), cb, ud);
    }
    KBX_CATCH(sink_str(&db->err))
}

/* ---- spelling ------------------------------------------------------------------ */

int kbx_db_add_spelling(kbx_db *db, const char *word, uint32_t freqinc) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    if ((rc = check_key(db, word, "word"))) return rc;
    try {
        db->wdb->add_spelling(word, freqinc);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_remove_spelling(kbx_db *db, const char *word, uint32_t freqdec) {
    int rc = db_enter_write(db);
    if (rc) return rc;
    if ((rc = check_key(db, word, "word"))) return rc;
    try {
        db->wdb->remove_spelling(word, freqdec);
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

int kbx_db_spelling_suggestion(kbx_db *db, const char *word, unsigned max_edit_distance,
                               char **out) {
    if (out) *out = nullptr;
    int rc = db_enter(db);
    if (rc) return rc;
    if (!word || !*word || !out) return bad_arg(db, "word is NULL or empty, or out is NULL");
    try {
        const std::string s = db->db->get_spelling_suggestion(word, max_edit_distance);
        if (s.empty()) return 0;
        return give_string(db, s, out, nullptr);
    }
    KBX_CATCH(sink_str(&db->err))
}

/* ---- queries ------------------------------------------------------------------- */

kbx_query *kbx_query_term(const char *term, size_t len, uint32_t wqf, uint32_t pos) {
    if (!term || len == 0) return nullptr;
    try {
        return new kbx_query{Xapian::Query(std::string(term, len), wqf, pos)};
    }
    KBX_CATCH_NULL
}

kbx_query *kbx_query_match_all(void) {
    try {
        return new kbx_query{Xapian::Query::MatchAll};
    }
    KBX_CATCH_NULL
}

kbx_query *kbx_query_combine(int op, kbx_query *const *subs, size_t n, uint32_t param) {
    Xapian::Query::op xop;
    bool uses_param = false;
    switch (op) {
    case KBX_OP_AND: xop = Xapian::Query::OP_AND; break;
    case KBX_OP_OR: xop = Xapian::Query::OP_OR; break;
    case KBX_OP_AND_NOT: xop = Xapian::Query::OP_AND_NOT; break;
    case KBX_OP_AND_MAYBE: xop = Xapian::Query::OP_AND_MAYBE; break;
    case KBX_OP_FILTER: xop = Xapian::Query::OP_FILTER; break;
    case KBX_OP_XOR: xop = Xapian::Query::OP_XOR; break;
    case KBX_OP_PHRASE: xop = Xapian::Query::OP_PHRASE; uses_param = true; break;
    case KBX_OP_NEAR: xop = Xapian::Query::OP_NEAR; uses_param = true; break;
    case KBX_OP_ELITE_SET: xop = Xapian::Query::OP_ELITE_SET; uses_param = true; break;
    case KBX_OP_SYNONYM: xop = Xapian::Query::OP_SYNONYM; break;
    case KBX_OP_MAX: xop = Xapian::Query::OP_MAX; break;
    default: return nullptr;
    }
    if (n && !subs) return nullptr;
    for (size_t i = 0; i < n; i++)
        if (!subs[i]) return nullptr;
    try {
        std::vector<Xapian::Query> v;
        v.reserve(n);
        for (size_t i = 0; i < n; i++) v.push_back(subs[i]->q);
        return new kbx_query{Xapian::Query(xop, v.begin(), v.end(), uses_param ? param : 0)};
    }
    KBX_CATCH_NULL
}

kbx_query *kbx_query_scale(const kbx_query *q, double factor) {
    if (!q || !(factor >= 0)) return nullptr;
    try {
        return new kbx_query{Xapian::Query(Xapian::Query::OP_SCALE_WEIGHT, q->q, factor)};
    }
    KBX_CATCH_NULL
}

namespace {

/* A fixed, sorted list of document ids as a posting source (weight 0). */
class DocidSource : public Xapian::PostingSource {
    std::vector<Xapian::docid> ids;
    size_t at = 0;
    bool started = false;

  public:
    explicit DocidSource(std::vector<Xapian::docid> v) : ids(std::move(v)) {}
    PostingSource *clone() const override { return new DocidSource(ids); }
    void init(const Xapian::Database &) override {
        at = 0;
        started = false;
    }
    Xapian::doccount get_termfreq_min() const override { return 0; }
    Xapian::doccount get_termfreq_est() const override { return ids.size(); }
    Xapian::doccount get_termfreq_max() const override { return ids.size(); }
    void next(double) override {
        if (started)
            at++;
        started = true;
    }
    void skip_to(Xapian::docid did, double) override {
        started = true;
        while (at < ids.size() && ids[at] < did)
            at++;
    }
    bool at_end() const override { return started && at >= ids.size(); }
    Xapian::docid get_docid() const override { return ids[at]; }
    std::string get_description() const override { return "DocidSource"; }
};

} // namespace

kbx_query *kbx_query_docids(const uint32_t *ids, size_t n) {
    if (!ids || n == 0) return nullptr;
    try {
        std::vector<Xapian::docid> v(ids, ids + n);
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
        return new kbx_query{Xapian::Query((new DocidSource(std::move(v)))->release())};
    }
    KBX_CATCH_NULL
}

void kbx_query_free(kbx_query *q) {
    try {
        delete q;
    }
    KBX_CATCH_VOID
}

/* ---- searching ----------------------------------------------------------------- */

void kbx_search_opts_init(struct kbx_search_opts *o) {
    if (!o) return;
    std::memset(o, 0, sizeof *o);
    o->limit = 10;
    o->bm25_k1 = 1;
    o->bm25_k2 = 0;
    o->bm25_k3 = 1;
    o->bm25_b = 0.5;
    o->bm25_min_normlen = 0.5;
    o->facet_joined_slot = -1;
}

int kbx_search(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *opts,
               kbx_mset **out) {
    if (out) *out = nullptr;
    int rc = db_enter(db);
    if (rc) return rc;
    if (!q || !out) return bad_arg(db, "query or out is NULL");
    struct kbx_search_opts defaults;
    if (!opts) {
        kbx_search_opts_init(&defaults);
        opts = &defaults;
    }
    try {
        std::unique_ptr<kbx_mset> m(new kbx_mset(*db->db));
        m->enq.set_query(q->q);
        m->enq.set_weighting_scheme(Xapian::BM25Weight(opts->bm25_k1, opts->bm25_k2,
                                                       opts->bm25_k3, opts->bm25_b,
                                                       opts->bm25_min_normlen));
        if (opts->facet_joined_slot >= 0 && opts->facet_parts > 0) {
            Xapian::valueno js = static_cast<Xapian::valueno>(opts->facet_joined_slot);
            m->joined.reset(new JoinedCountSpy(js, opts->facet_parts, facet_cache(db, js)));
            m->enq.add_matchspy(m->joined.get());
        }
        m->mset = m->enq.get_mset(opts->offset, opts->limit, opts->check_at_least);
        m->items.resize(m->mset.size());
        *out = m.release();
        return 0;
    }
    KBX_CATCH(sink_str(&db->err))
}

void kbx_mset_free(kbx_mset *m) {
    try {
        delete m;
    }
    KBX_CATCH_VOID
}

const char *kbx_mset_errmsg(const kbx_mset *m) {
    if (!m) return "NULL kbx_mset handle";
    return m->err.c_str();
}

size_t kbx_mset_size(const kbx_mset *m) {
    return m ? m->items.size() : 0;
}

uint32_t kbx_mset_matches_estimated(const kbx_mset *m) {
    return m ? m->mset.get_matches_estimated() : 0;
}

uint32_t kbx_mset_docid(const kbx_mset *m, size_t i) {
    if (!m || i >= m->items.size()) return 0;
    try {
        return *m->mset[static_cast<Xapian::doccount>(i)];
    }
    KBX_CATCH_RET(0)
}

double kbx_mset_weight(const kbx_mset *m, size_t i) {
    if (!m || i >= m->items.size()) return 0;
    try {
        return m->mset[static_cast<Xapian::doccount>(i)].get_weight();
    }
    KBX_CATCH_RET(0)
}

int kbx_mset_percent(const kbx_mset *m, size_t i) {
    if (!m || i >= m->items.size()) return 0;
    try {
        return m->mset[static_cast<Xapian::doccount>(i)].get_percent();
    }
    KBX_CATCH_RET(0)
}

int kbx_mset_data(kbx_mset *m, size_t i, const char **data, size_t *len) {
    if (data) *data = nullptr;
    if (!m) return KBX_ERR_INVALID;
    m->err.clear();
    if (!data) return fail(sink_str(&m->err), KBX_ERR_INVALID, "invalid argument: data is NULL");
    try {
        MsetItem *it;
        int rc = mset_item(m, i, &it);
        if (rc) return rc;
        if (!it->data_loaded) {
            it->data = it->doc.get_data();
            it->data_loaded = true;
        }
        *data = it->data.c_str();
        if (len) *len = it->data.size();
        return 0;
    }
    KBX_CATCH(sink_str(&m->err))
}

int kbx_mset_value(kbx_mset *m, size_t i, unsigned slot, const char **v, size_t *len) {
    if (v) *v = nullptr;
    if (!m) return KBX_ERR_INVALID;
    m->err.clear();
    if (!v) return fail(sink_str(&m->err), KBX_ERR_INVALID, "invalid argument: v is NULL");
    try {
        if (m->joined && slot == m->joined->slot() && i < m->items.size()) {
            const std::string *c = m->joined->cached(*m->mset[static_cast<Xapian::doccount>(i)]);
            if (c) {
                *v = c->c_str();
                if (len) *len = c->size();
                return 0;
            }
        }
        MsetItem *it;
        int rc = mset_item(m, i, &it);
        if (rc) return rc;
        auto f = it->values.find(slot);
        if (f == it->values.end()) f = it->values.emplace(slot, it->doc.get_value(slot)).first;
        *v = f->second.c_str();
        if (len) *len = f->second.size();
        return 0;
    }
    KBX_CATCH(sink_str(&m->err))
}

int kbx_mset_part_facets(kbx_mset *m, size_t part, kbx_facet_cb cb, void *ud) {
    if (!m) return KBX_ERR_INVALID;
    m->err.clear();
    if (!cb) return fail(sink_str(&m->err), KBX_ERR_INVALID, "invalid argument: NULL callback");
    if (!m->joined || part >= m->joined->parts())
        return fail(sink_str(&m->err), KBX_ERR_INVALID,
                    "no such part of the search's facet_joined_slot");
    try {
        for (const auto &e : m->joined->part(part)) {
            int r = cb(ud, e.first.data(), e.first.size(), e.second);
            if (r) return r;
        }
        return 0;
    }
    KBX_CATCH(sink_str(&m->err))
}

}  // extern "C"
