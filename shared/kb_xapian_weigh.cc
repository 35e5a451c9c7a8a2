/* kb_xapian_weigh.cc: the weights a query gives a few given documents,
 * computed from the documents' postings and positions rather than by
 * Xapian's matcher (kbx_weigh_docs in kb_xapian.h).
 *
 * The search's second pass re-weighs its best 50 to 150 candidates with
 * the title and proximity boosts (kb_search_rank.c). Run through the
 * matcher, FILTERed by the candidates' docids, that pass was the largest
 * part of a request: every leaf of the boost query is a posting list of
 * its own (a term in four NEAR pairs and triples is read four times), and
 * every candidate is a check() on each. Here each distinct term's postings
 * are read once for all candidates, a candidate's positions of a term at
 * most once, and the weight of each match is Xapian 1.4's BM25 (weight/
 * bm25weight.cc) with the factors of the scale nodes above it, as the
 * matcher computes it. PHRASE and NEAR match as Xapian's PhrasePostList
 * and NearPostList do: a phrase's terms in order at increasing positions
 * spanning fewer than window positions; a NEAR pair's two terms at two
 * different positions fewer than window apart. The query's structure
 * comes from the QNode each kbx_query keeps (kb_xapian_int.h). */
#include "kb_xapian_int.h"

#include <cmath>
#include <queue>

namespace {

/* A distinct term of the query and what each document slot holds of it. */
struct Term {
    std::string name;
    double logtw = 0; /* log of BM25's tw (no RSet), before any factor */
    std::vector<Xapian::termcount> wdf;            /* by slot */
    std::vector<unsigned char> has;                /* by slot */
    std::vector<std::vector<Xapian::termpos>> pos; /* by slot, once read */
    std::vector<unsigned char> pos_read;           /* by slot */
};

/* The query compiled for weighing: each node with the product of the
   scale factors above it (multiplied in the matcher's order) and, for a
   term, its index in the distinct terms. */
struct Node {
    enum Kind { TERM, OR, PHRASE, NEAR } kind = TERM;
    double factor = 1;
    size_t term = 0;           /* TERM */
    uint32_t wqf = 1;          /* TERM */
    Xapian::termpos window = 0; /* PHRASE, NEAR */
    std::vector<Node> subs;    /* OR; PHRASE and NEAR: their terms */
};

class Weigher {
  public:
    /* lens: db's document lengths, or NULL (then read from db) */
    Weigher(const Xapian::Database &db, const kbx_search_opts &o, const DocLens *lens)
        : db_(db), o_(o), lens_(lens) {}

    /* Compiles q under factor into *out, registering its distinct terms;
       false when q holds something kbx_weigh_docs does not weigh. */
    bool compile(const QNode &q, double factor, Node *out);
    /* Reads the terms' statistics and postings, and the documents'
       lengths, for the ascending distinct docids docs. */
    void read(std::vector<Xapian::docid> docs);
    /* Adds to w what n gives slot's document; whether it matches. With
       bound, a PHRASE or NEAR counts as matched when the document holds
       its terms, without reading positions: an upper bound of the weight
       (the parts are the same non-negative numbers summed in the same
       order, and rounding to nearest is monotonic). */
    bool eval(const Node &n, size_t slot, double &w, bool bound = false);

  private:
    const Xapian::Database &db_;
    const kbx_search_opts &o_;
    const DocLens *lens_;
    std::vector<Xapian::docid> docs_;    /* the slots: ascending, distinct */
    std::vector<Xapian::termcount> len_; /* by slot (0 where no term matches) */
    std::vector<Term> terms_;
    std::unordered_map<std::string, size_t> ix_;
    double len_factor_ = 0;

    double sumpart(const Node &n, size_t slot) const;
    const std::vector<Xapian::termpos> &positions(size_t term, size_t slot);
    bool phrase_match(const Node &n, size_t slot);
    bool near_match(const Node &n, size_t slot);
};

/* Walks term's posting list forward through the ascending docids docs and
   calls f(slot, iterator) for each slot whose document it holds, skipping
   the slots where want (when not NULL) is 0. */
template <class F>
void each_posting(const Xapian::Database &db, const std::string &term,
                  const std::vector<Xapian::docid> &docs, const unsigned char *want, F f) {
    Xapian::PostingIterator it = db.postlist_begin(term), end = db.postlist_end(term);
    for (size_t s = 0; s < docs.size() && it != end; s++) {
        if (want && !want[s]) continue;
        it.skip_to(docs[s]);
        if (it != end && *it == docs[s]) f(s, it);
    }
}

bool Weigher::compile(const QNode &q, double factor, Node *out) {
    out->factor = factor;
    switch (q.kind) {
    case QNode::TERM: {
        auto r = ix_.emplace(q.term, terms_.size());
        if (r.second) {
            terms_.emplace_back();
            terms_.back().name = q.term;
        }
        out->kind = Node::TERM;
        out->term = r.first->second;
        out->wqf = q.wqf;
        return true;
    }
    case QNode::SCALE: /* QueryScaleWeight: factor * scale */
        return compile(*q.subs[0], factor * q.factor, out);
    case QNode::OP:
        break;
    case QNode::OTHER:
        return false;
    }
    if (q.subs.empty() && (q.op == KBX_OP_OR || q.op == KBX_OP_PHRASE || q.op == KBX_OP_NEAR)) {
        out->kind = Node::OR; /* the empty query: matches nothing */
        return true;
    }
    if (q.op == KBX_OP_PHRASE || q.op == KBX_OP_NEAR) {
        if (q.subs.size() == 1) return compile(*q.subs[0], factor, out); /* as Xapian */
        if (q.op == KBX_OP_NEAR && q.subs.size() > 2) return false;
        for (const auto &s : q.subs)
            if (s->kind != QNode::TERM) return false;
        out->kind = q.op == KBX_OP_PHRASE ? Node::PHRASE : Node::NEAR;
        /* 0, or fewer than the terms, means the number of terms */
        out->window = q.param < q.subs.size() ? static_cast<Xapian::termpos>(q.subs.size())
                                              : q.param;
    } else if (q.op == KBX_OP_OR) {
        out->kind = Node::OR;
    } else {
        return false;
    }
    out->subs.resize(q.subs.size());
    for (size_t i = 0; i < q.subs.size(); i++)
        if (!compile(*q.subs[i], factor, &out->subs[i])) return false;
    return true;
}

void Weigher::read(std::vector<Xapian::docid> docs) {
    docs_ = std::move(docs);
    size_t n = docs_.size();
    const Xapian::doccount ndocs = db_.get_doccount();
    len_factor_ = bm25_len_factor(db_, o_);
    len_.assign(n, 0);
    std::vector<unsigned char> any(n, 0);
    for (Term &t : terms_) {
        Xapian::doccount tf = db_.get_termfreq(t.name);
        t.logtw = bm25_logtw(ndocs, tf);
        t.wdf.assign(n, 0);
        t.has.assign(n, 0);
        t.pos.resize(n);
        t.pos_read.assign(n, 0);
        if (tf == 0) continue;
        each_posting(db_, t.name, docs_, nullptr, [&](size_t s, const Xapian::PostingIterator &it) {
            t.has[s] = 1;
            t.wdf[s] = it.get_wdf();
            any[s] = 1;
        });
    }
    /* the lengths of the documents some term matches: from the array of
       the revision's lengths when there is one (kb_xapian_match.cc), else
       from the document length list ("" lists every document) read
       forward (one get_doclength() by docid reads the B-tree from its
       root, seven times the instructions; the list, 1.7 K a document) */
    if (lens_) {
        for (size_t s = 0; s < n; s++)
            if (any[s] && docs_[s] < lens_->len.size()) len_[s] = lens_->len[docs_[s]];
        return;
    }
    each_posting(db_, std::string(), docs_, any.data(),
                 [&](size_t s, const Xapian::PostingIterator &it) { len_[s] = it.get_doclength(); });
}

/* BM25Weight::init() then get_sumpart(), operation for operation, so that
   a term's weight is the matcher's to the last bit. */
double Weigher::sumpart(const Node &n, size_t slot) const {
    const Term &t = terms_[n.term];
    return bm25_sumpart(bm25_termweight(t.logtw, n.factor, n.wqf, o_), t.wdf[slot], len_[slot],
                        len_factor_, o_);
}

const std::vector<Xapian::termpos> &Weigher::positions(size_t term, size_t slot) {
    Term &t = terms_[term];
    if (!t.pos_read[slot]) {
        t.pos_read[slot] = 1;
        std::vector<Xapian::termpos> &v = t.pos[slot];
        v.reserve(t.wdf[slot]);
        for (auto p = db_.positionlist_begin(docs_[slot], t.name),
                  e = db_.positionlist_end(docs_[slot], t.name);
             p != e; ++p)
            v.push_back(*p);
    }
    return t.pos[slot];
}

/* PhrasePostList::test_doc()'s search over position vectors: each term
   after the first takes its first position after the previous term's; a
   start that cannot fit in the window moves the first term on to the
   first position that still could. A term's positions are read only when
   the search reaches it. */
bool Weigher::phrase_match(const Node &n, size_t slot) {
    size_t k = n.subs.size();
    const Xapian::termpos window = n.window;
    std::vector<size_t> at(k, 0);
    const std::vector<Xapian::termpos> &first = positions(n.subs[0].term, slot);
    while (at[0] < first.size()) {
        Xapian::termpos base = first[at[0]], pos = base, b = 0;
        size_t i = 0;
        do {
            if (++i == k) return true;
            const std::vector<Xapian::termpos> &v = positions(n.subs[i].term, slot);
            while (at[i] < v.size() && v[at[i]] < pos + 1) at[i]++;
            if (at[i] == v.size()) return false;
            pos = v[at[i]];
            b = pos + static_cast<Xapian::termpos>(k - i);
        } while (b - base <= window);
        while (at[0] < first.size() && first[at[0]] < b - window) at[0]++;
    }
    return false;
}

/* A NEAR pair: a position of one term and a different position of the
   other (NearPostList::test_doc() moves a term off a position another
   already holds), fewer than window apart. */
bool Weigher::near_match(const Node &n, size_t slot) {
    const std::vector<Xapian::termpos> &a = positions(n.subs[0].term, slot);
    const std::vector<Xapian::termpos> &b = positions(n.subs[1].term, slot);
    size_t j = 0;
    for (Xapian::termpos x : a) {
        while (j < b.size() && b[j] < x) j++;
        if (j > 0 && x - b[j - 1] < n.window) return true;
        size_t k = j < b.size() && b[j] == x ? j + 1 : j;
        if (k < b.size() && b[k] - x < n.window) return true;
    }
    return false;
}

bool Weigher::eval(const Node &n, size_t slot, double &w, bool bound) {
    /* each subquery's weight is summed on its own first, as the matcher's
       tree of postlists does */
    double sum = 0;
    switch (n.kind) {
    case Node::TERM:
        if (!terms_[n.term].has[slot]) return false;
        w += sumpart(n, slot);
        return true;
    case Node::OR: {
        bool any = false;
        for (const Node &s : n.subs) {
            double x = 0;
            if (eval(s, slot, x, bound)) {
                sum += x;
                any = true;
            }
        }
        if (any) w += sum;
        return any;
    }
    case Node::PHRASE:
    case Node::NEAR:
        for (const Node &s : n.subs)
            if (!terms_[s.term].has[slot]) return false;
        if (!bound && !(n.kind == Node::NEAR ? near_match(n, slot) : phrase_match(n, slot)))
            return false;
        for (const Node &s : n.subs) sum += sumpart(s, slot);
        w += sum;
        return true;
    }
    return false;
}

/* The weights of the candidates ids[0..n) into w, all exact when top is
   NULL (see kbx_weigh_docs and kbx_weigh_docs_top). */
int weigh(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *opts, const uint32_t *ids,
          size_t n, struct kbx_weigh_top *top, double *w) {
    int rc = db_enter(db);
    if (rc) return rc;
    if (!q || (n && (!ids || !w)) || (top && n && !top->base))
        return bad_arg(db, "query, ids, weights or base weights is NULL");
    struct kbx_search_opts defaults;
    if (!opts) {
        kbx_search_opts_init(&defaults);
        opts = &defaults;
    }
    for (size_t i = 0; i < n; i++) w[i] = 0;
    if (top) top->exact = 0;
    if (db->shards && db->shards->remote)
        return fail(sink_str(&db->err), KBX_ERR_UNIMPLEMENTED,
                    "remote shards: weigh with kbx_search");
    try {
        std::shared_ptr<const DocLens> lens = doc_lens(db);
        Weigher wg(*db->db, *opts, lens.get());
        Node plan;
        if (!wg.compile(*q->node, 1.0, &plan))
            return fail(sink_str(&db->err), KBX_ERR_UNIMPLEMENTED,
                        "the query holds an operator kbx_weigh_docs does not weigh");
        if (n == 0) return 0;
        std::vector<Xapian::docid> docs(ids, ids + n);
        std::sort(docs.begin(), docs.end());
        docs.erase(std::unique(docs.begin(), docs.end()), docs.end());
        if (docs[0] == 0) docs.erase(docs.begin()); /* no document has id 0 */
        wg.read(docs);
        std::vector<size_t> slot(n, SIZE_MAX);
        for (size_t i = 0; i < n; i++) {
            auto it = std::lower_bound(docs.begin(), docs.end(), ids[i]);
            if (it != docs.end() && *it == ids[i]) slot[i] = static_cast<size_t>(it - docs.begin());
        }
        auto exact = [&](size_t i) {
            double x = 0;
            if (slot[i] != SIZE_MAX && wg.eval(plan, slot[i], x)) w[i] = x;
        };
        if (!top || top->top >= n) {
            for (size_t i = 0; i < n; i++) exact(i);
            if (top) top->exact = n;
            return 0;
        }
        /* Bounds first (postings only), then the candidates in falling
           order of base + bound, exactly, until the best top exact totals
           among the candidates not marked keep all lie above the next
           bound: no candidate left can then enter the best top. */
        std::vector<double> ub(n, 0);
        std::vector<size_t> order(n);
        for (size_t i = 0; i < n; i++) {
            double x = 0;
            if (slot[i] != SIZE_MAX && wg.eval(plan, slot[i], x, true)) ub[i] = x;
            order[i] = i;
        }
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            return top->base[a] + ub[a] > top->base[b] + ub[b];
        });
        std::priority_queue<double, std::vector<double>, std::greater<double>> best;
        size_t k = 0;
        for (; k < n; k++) {
            size_t i = order[k];
            if (top->top == 0 || (best.size() == top->top && top->base[i] + ub[i] < best.top()))
                break;
            exact(i);
            top->exact++;
            if (top->keep && top->keep[i]) continue;
            best.push(top->base[i] + w[i]);
            if (best.size() > top->top) best.pop();
        }
        for (; k < n; k++) {
            size_t i = order[k];
            if (top->keep && top->keep[i]) {
                exact(i);
                top->exact++;
            } else {
                w[i] = ub[i];
            }
        }
        return 0;
    }
    catch (...) {
        return search_failed(db);
    }
}

}  // namespace

extern "C" {

int kbx_weigh_docs(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *opts,
                   const uint32_t *ids, size_t n, double *w) {
    return weigh(db, q, opts, ids, n, nullptr, w);
}

int kbx_weigh_docs_top(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *opts,
                       const uint32_t *ids, size_t n, struct kbx_weigh_top *top, double *w) {
    if (!top) return db ? bad_arg(db, "top is NULL") : KBX_ERR_INVALID;
    return weigh(db, q, opts, ids, n, top, w);
}

}  // extern "C"
