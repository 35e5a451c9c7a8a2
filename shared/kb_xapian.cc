/* kb_xapian: the database side of the C interface declared in kb_xapian.h,
 * on top of Xapian 1.4's C++ API: opening, reopening and closing databases,
 * transactions, documents replaced or deleted by id term, metadata, term
 * lists, synonyms and spelling. (Queries, searches and result sets are in
 * kb_xapian_search.cc; both share kb_xapian_int.h.) Every extern "C" entry
 * point runs its body inside a try block whose handlers (KBX_CATCH and
 * friends) catch Xapian::Error, std::exception and anything else, map the
 * exception to a KBX_ERR_* code and store its message in the handle or the
 * caller's buffer, so no exception ever reaches C code. Message storage
 * itself never throws (fixed buffers, noexcept helpers). */
#include "kb_xapian_int.h"

/* ---- helpers of the database side -------------------------------------------- */

namespace {

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

/* The text of the stub file path/XAPIANDB ("" when there is none). A
 * replica kept by xapian-replicate is such a folder: the stub names the
 * replica_N subfolder holding the current copy, and a full copy is written
 * beside it and switched in by renaming a new stub over the old one. */
std::string read_stub(const std::string &path) {
    std::string text;
    FILE *f = std::fopen((path + "/XAPIANDB").c_str(), "rb");
    if (!f) return text;
    char buf[512];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() < 65536) text.append(buf, n);
    std::fclose(f);
    return text;
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
            h->path = path;
            h->stub = read_stub(h->path);
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
    if (db->shards) {
        try {
            return shard_reopen(db, changed);
        }
        KBX_CATCH(sink_str(&db->err))
    }
    try {
        if (!db->stub.empty()) {
            /* a replica: a full copy switched in is a new database (the old
               copy's files go away); changesets applied in place are seen
               by reopen below. The stub is switched only once the copy is
               complete, so a half-copied index is never opened. */
            std::string now = read_stub(db->path);
            if (!now.empty() && now != db->stub) {
                std::unique_ptr<Xapian::Database> fresh(new Xapian::Database(db->path));
                db->db = std::move(fresh);
                db->facets.reset();
                db->stub = now;
                if (changed) *changed = 1;
                return 0;
            }
        }
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
        *rev = db->shards ? shard_revision(db) : static_cast<uint64_t>(db->db->get_revision());
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

}  // extern "C"
