/* kb_xapian_search: the query side of the C interface declared in
 * kb_xapian.h: immutable query trees, BM25 searches, result sets (documents
 * fetched once and cached, values, weights) and facet counts over a joined
 * value slot, read from an in-memory copy of the slot per revision. Same
 * exception rules as kb_xapian.cc (kb_xapian_int.h). */
#include "kb_xapian_int.h"

/* ---- result set types ------------------------------------------------------- */

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
    /* Over remote shards a spy of our own cannot run (xapian-tcpsrv knows
       only Xapian's registered classes): the joined values are counted by
       Xapian's ValueCountMatchSpy instead, which the servers run and whose
       counts Xapian merges; split() then splits each value into its parts,
       which gives the same counts. The caller adds spy() to the Enquire. */
    Xapian::MatchSpy *use_value_count() {
        vc_.reset(new Xapian::ValueCountMatchSpy(slot_));
        return vc_.get();
    }
    Xapian::MatchSpy *spy() { return vc_ ? static_cast<Xapian::MatchSpy *>(vc_.get()) : this; }
    void operator()(const Xapian::Document &doc, double) override {
        Xapian::docid did = doc.get_docid();
        if (cache_ && did < cache_->id_of.size())
            by_id_[cache_->id_of[did]]++;
        else
            other_[doc.get_value(slot_)]++;
    }
    /* Counts document did of db (our own matcher's matches). */
    void count(const Xapian::Database &db, Xapian::docid did) {
        if (cache_ && did < cache_->id_of.size())
            by_id_[cache_->id_of[did]]++;
        else
            other_[db.get_document(did).get_value(slot_)]++;
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
        if (vc_)
            for (Xapian::TermIterator t = vc_->values_begin(); t != vc_->values_end(); ++t)
                add(*t, t.get_termfreq());
    }

    Xapian::valueno slot_;
    std::shared_ptr<const FacetCache> cache_;
    size_t parts_;
    std::vector<uint32_t> by_id_;                 /* counts by interned value */
    std::map<std::string, uint32_t> other_;       /* counts of values read */
    std::vector<std::map<std::string, uint32_t>> counts_;
    std::unique_ptr<Xapian::ValueCountMatchSpy> vc_; /* remote shards only */
};

/* The FacetCache of db for slot, built or rebuilt for the current
   revision; empty for a writable database (its revision does not change
   with uncommitted edits). */
std::shared_ptr<const FacetCache> facet_cache(kbx_db *db, Xapian::valueno slot) {
    if (db->wdb || db->shards) return nullptr; /* no single revision */
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
    Xapian::MSet mset;           /* Xapian's matcher's */
    bool own = false;            /* ranked by own_match instead: */
    OwnResult own_res;           /* ... its page and count */
    Xapian::Database db;         /* ... and the documents' database */
    std::vector<MsetItem> items; /* sized once; never reallocated */
    std::string err;

    explicit kbx_mset(const Xapian::Database &d) : enq(d), db(d) {}
};

namespace {

/* Fetches (once) the document of item i; 0 or a code with m->err set. */
int mset_item(kbx_mset *m, size_t i, MsetItem **out) {
    if (i >= m->items.size())
        return fail(sink_str(&m->err), KBX_ERR_RANGE, "mset index out of range");
    MsetItem &it = m->items[i];
    if (!it.loaded) {
        it.doc = m->own ? m->db.get_document(m->own_res.items[i].did)
                        : m->mset[static_cast<Xapian::doccount>(i)].get_document();
        it.loaded = true;
    }
    *out = &it;
    return 0;
}

}  // namespace

extern "C" {

/* ---- queries ------------------------------------------------------------------- */

kbx_query *kbx_query_term(const char *term, size_t len, uint32_t wqf, uint32_t pos) {
    if (!term || len == 0) return nullptr;
    try {
        auto n = std::make_shared<QNode>();
        n->kind = QNode::TERM;
        n->term.assign(term, len);
        n->wqf = wqf;
        return new kbx_query{Xapian::Query(n->term, wqf, pos), std::move(n)};
    }
    KBX_CATCH_NULL
}

kbx_query *kbx_query_match_all(void) {
    try {
        return new kbx_query{Xapian::Query::MatchAll, std::make_shared<QNode>()};
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
        auto node = std::make_shared<QNode>();
        node->kind = QNode::OP;
        node->op = op;
        node->param = uses_param ? param : 0;
        node->subs.reserve(n);
        for (size_t i = 0; i < n; i++) {
            v.push_back(subs[i]->q);
            node->subs.push_back(subs[i]->node);
        }
        return new kbx_query{Xapian::Query(xop, v.begin(), v.end(), node->param), std::move(node)};
    }
    KBX_CATCH_NULL
}

kbx_query *kbx_query_scale(const kbx_query *q, double factor) {
    if (!q || !(factor >= 0)) return nullptr;
    try {
        auto n = std::make_shared<QNode>();
        n->kind = QNode::SCALE;
        n->factor = factor;
        n->subs.push_back(q->node);
        return new kbx_query{Xapian::Query(Xapian::Query::OP_SCALE_WEIGHT, q->q, factor),
                             std::move(n)};
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
        return new kbx_query{Xapian::Query((new DocidSource(std::move(v)))->release()),
                             std::make_shared<QNode>()};
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
        }
        if (opts->visit_all) {
            /* facets over every match, not the first check_at_least */
            JoinedCountSpy *spy = m->joined.get();
            const Xapian::Database &d = m->db;
            std::function<void(Xapian::docid)> count;
            if (spy) count = [spy, &d](Xapian::docid did) { spy->count(d, did); };
            if (own_match(db, *q->node, *opts, &m->own_res, count)) {
                m->own = true;
                m->items.resize(m->own_res.items.size());
                *out = m.release();
                return 0;
            }
            /* it declines before it counts anything */
        }
        if (m->joined) {
            if (db->shards && db->shards->remote) m->joined->use_value_count();
            m->enq.add_matchspy(m->joined->spy());
        }
        m->mset = m->enq.get_mset(opts->offset, opts->limit, opts->check_at_least);
        m->items.resize(m->mset.size());
        *out = m.release();
        return 0;
    }
    catch (...) {
        return search_failed(db);
    }
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

int kbx_mset_visited_all(const kbx_mset *m) {
    return m && m->own;
}

size_t kbx_mset_size(const kbx_mset *m) {
    return m ? m->items.size() : 0;
}

uint32_t kbx_mset_matches_estimated(const kbx_mset *m) {
    return !m ? 0 : m->own ? m->own_res.matches : m->mset.get_matches_estimated();
}

uint32_t kbx_mset_docid(const kbx_mset *m, size_t i) {
    if (!m || i >= m->items.size()) return 0;
    if (m->own) return m->own_res.items[i].did;
    try {
        return *m->mset[static_cast<Xapian::doccount>(i)];
    }
    KBX_CATCH_RET(0)
}

double kbx_mset_weight(const kbx_mset *m, size_t i) {
    if (!m || i >= m->items.size()) return 0;
    if (m->own) return m->own_res.items[i].wt;
    try {
        return m->mset[static_cast<Xapian::doccount>(i)].get_weight();
    }
    KBX_CATCH_RET(0)
}

int kbx_mset_percent(const kbx_mset *m, size_t i) {
    if (!m || i >= m->items.size()) return 0;
    if (m->own) return percent_of(m->own_res.items[i].wt, m->own_res.percent_factor);
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
            const std::string *c = m->joined->cached(
                m->own ? m->own_res.items[i].did : *m->mset[static_cast<Xapian::doccount>(i)]);
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
