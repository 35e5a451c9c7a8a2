/* kb_xapian_match.cc: the search's first pass without Xapian's matcher
 * (own_match in kb_xapian_int.h, used by kbx_search when asked).
 *
 * The first pass ranks every document the query's word groups match and
 * keeps the best 50 or 150. Xapian 1.4's matcher spends about 3,000
 * instructions on each document it examines (a tree of virtual posting
 * lists, its weight objects, its pruning bookkeeping), while reading a
 * posting costs about 100: on the benchmark's real corpus, reading every
 * posting of every term of the query costs a quarter of Xapian's pass
 * (tests/bench/matchprobe.sh, walk). Here every posting is read once,
 * document at a time: the terms that can make a document match drive the
 * walk, the others (an AND_MAYBE's right side, a filter) are skipped to
 * each candidate, and each match is weighed with Xapian's BM25 as the
 * matcher weighs it: a term's part with the factors above it, an
 * OP_SYNONYM's part from its terms' summed wdf (at most the document's
 * length) and the frequency Xapian estimates for their OR. Every match is
 * visited, so the count is exact where Xapian's is an estimate, unless the
 * finding groups hold more than KBX_PRUNE_POSTINGS postings: then MaxScore
 * skips the documents that cannot reach the candidates (the same
 * candidates, an estimated count). The percentages are Xapian's (the
 * matching subqueries of the best document, over all of them). Document
 * lengths come from an array per revision of the database (DocLens). */
#include "kb_xapian_int.h"

#include <cfloat>
#include <queue>

namespace {

/* A posting list read forward; did 0 once it has ended. */
struct Cursor {
    std::string term;
    Xapian::PostingIterator it, end;
    Xapian::docid did = 0;

    void start(const Xapian::Database &db) {
        it = db.postlist_begin(term);
        end = db.postlist_end(term);
        did = it != end ? *it : 0;
    }
    void next() {
        ++it;
        did = it != end ? *it : 0;
    }
    /* Whether the list holds d, moving forward to it (d never falls). */
    bool at(Xapian::docid d) {
        if (did != 0 && did < d) {
            it.skip_to(d);
            did = it != end ? *it : 0;
        }
        return did == d;
    }
};

struct MNode {
    enum Kind { LEAF, SYN, OR, MAYBE, FILTER, BTERM, BOR, BAND } kind = OR;
    double termweight = 0;     /* LEAF, SYN: BM25's, factors included */
    Xapian::doccount tf = 0;   /* LEAF, SYN, BTERM: the frequency (SYN:
                                  Xapian's estimate) */
    size_t cur = 0;            /* LEAF, BTERM */
    std::vector<size_t> curs;  /* SYN */
    std::vector<MNode> subs;   /* OR, BOR, BAND; MAYBE and FILTER: two */
};

/* The shape nearly every first pass has, evaluated without recursion:
   FILTERs around an OR of groups (a term or a synonym), or around an
   AND_MAYBE of two such ORs. */
struct Flat {
    std::vector<const MNode *> filters; /* boolean: each must hold */
    std::vector<const MNode *> left;    /* LEAF or SYN: the groups that find */
    std::vector<const MNode *> right;   /* ... that only add (AND_MAYBE) */
};

class Matcher {
  public:
    Matcher(const Xapian::Database &db, const kbx_search_opts &o, const DocLens &lens)
        : db_(db), o_(o), lens_(lens), ndocs_(db.get_doccount()) {}

    /* Compiles q (weighted when factor is not 0) into *out; false when q
       holds something this does not run. */
    bool compile(const QNode &q, double factor, MNode *out);
    /* Visits every match of root; fills *res. */
    void run(const MNode &root, const kbx_search_opts &o, OwnResult *res,
             const std::function<void(Xapian::docid)> &on_match);

  private:
    const Xapian::Database &db_;
    const kbx_search_opts &o_;
    const DocLens &lens_;
    Xapian::doccount ndocs_;
    double len_factor_ = 0;
    std::vector<Cursor> cur_;
    std::unordered_map<std::string, size_t> ix_;
    Xapian::termcount total_subqs_ = 0; /* weighted terms and synonyms */

    size_t cursor(const std::string &term);
    bool synonym_tf(const std::vector<Xapian::doccount> &tfs, Xapian::doccount *est) const;
    void drivers(const MNode &n, std::vector<size_t> &out) const;
    bool drives_at(const MNode &g, Xapian::docid d) const;
    bool eval(const MNode &n, Xapian::docid d, Xapian::termcount len, double &w,
              Xapian::termcount &subqs);
    bool holds(const MNode &n, Xapian::docid d);
    bool group(const MNode &g, Xapian::docid d, Xapian::termcount len, double &sum);
    double share(const MNode &n) const;
};

/* The groups of n (an OR of LEAF and SYN nodes, or one of them) into v;
   false for another shape. */
bool groups_of(const MNode &n, std::vector<const MNode *> &v) {
    if (n.kind == MNode::LEAF || n.kind == MNode::SYN) {
        v.push_back(&n);
        return true;
    }
    if (n.kind != MNode::OR) return false;
    for (const MNode &s : n.subs) {
        if (s.kind != MNode::LEAF && s.kind != MNode::SYN) return false;
        v.push_back(&s);
    }
    return true;
}

/* root as a Flat; false when its shape is another. */
bool flatten(const MNode &root, Flat *f) {
    const MNode *n = &root;
    while (n->kind == MNode::FILTER) {
        f->filters.push_back(&n->subs[1]);
        n = &n->subs[0];
    }
    if (n->kind == MNode::MAYBE)
        return groups_of(n->subs[0], f->left) && groups_of(n->subs[1], f->right);
    return groups_of(*n, f->left);
}

size_t Matcher::cursor(const std::string &term) {
    auto r = ix_.emplace(term, cur_.size());
    if (r.second) {
        cur_.emplace_back();
        cur_.back().term = term;
    }
    return r.first->second;
}

/* The term frequency Xapian gives the OR of terms of frequencies tfs
   (OrContext::postlist() and OrPostList::get_termfreq_est_using_stats()):
   a tree built as a Huffman code is, the two least frequent first, each
   OR estimated as independent and rounded. With two lists of the same
   frequency at some step the tree's shape would depend on Xapian's heap:
   false then. */
bool Matcher::synonym_tf(const std::vector<Xapian::doccount> &tfs, Xapian::doccount *est) const {
    struct Part {
        Xapian::doccount heap_tf; /* the sum, by which the heap orders */
        Xapian::doccount est;
    };
    std::vector<Part> v;
    for (Xapian::doccount tf : tfs) v.push_back({tf, tf});
    while (v.size() > 1) {
        std::sort(v.begin(), v.end(),
                  [](const Part &a, const Part &b) { return a.heap_tf < b.heap_tf; });
        if (v.size() > 2 && v[1].heap_tf == v[2].heap_tf) return false;
        const Part &r = v[0], &l = v[1];
        double a = l.est, b = r.est, n = ndocs_;
        Part p;
        p.est = n == 0 ? 0 : static_cast<Xapian::doccount>(a + b - (a * b / n) + 0.5);
        p.heap_tf = l.heap_tf + r.heap_tf;
        v.erase(v.begin(), v.begin() + 2);
        v.push_back(p);
    }
    *est = v.empty() ? 0 : v[0].est;
    return true;
}

bool Matcher::compile(const QNode &q, double factor, MNode *out) {
    const bool weighted = factor != 0;
    switch (q.kind) {
    case QNode::TERM:
        out->cur = cursor(q.term);
        out->tf = db_.get_termfreq(q.term);
        if (!weighted) {
            out->kind = MNode::BTERM;
            return true;
        }
        out->kind = MNode::LEAF;
        out->termweight = bm25_termweight(bm25_logtw(ndocs_, out->tf), factor, q.wqf, o_);
        total_subqs_++;
        return true;
    case QNode::SCALE:
        if (!weighted || q.factor == 0) return false;
        return compile(*q.subs[0], factor * q.factor, out);
    case QNode::OP:
        break;
    case QNode::OTHER:
        return false;
    }
    if (q.subs.empty()) return false;
    switch (q.op) {
    case KBX_OP_OR:
        if (q.subs.size() == 1) return compile(*q.subs[0], factor, out);
        out->kind = weighted ? MNode::OR : MNode::BOR;
        break;
    case KBX_OP_AND:
        if (weighted) return false; /* a required AND: the matcher's */
        if (q.subs.size() == 1) return compile(*q.subs[0], factor, out);
        out->kind = MNode::BAND;
        break;
    case KBX_OP_SYNONYM: {
        if (q.subs.size() == 1) return compile(*q.subs[0], factor, out);
        if (!weighted) {
            out->kind = MNode::BOR;
            break;
        }
        std::vector<Xapian::doccount> tfs;
        for (const auto &s : q.subs) {
            if (s->kind != QNode::TERM) return false;
            out->curs.push_back(cursor(s->term));
            tfs.push_back(db_.get_termfreq(s->term));
        }
        Xapian::doccount est;
        if (!synonym_tf(tfs, &est)) return false;
        out->kind = MNode::SYN;
        out->tf = est;
        out->termweight = bm25_termweight(bm25_logtw(ndocs_, est), factor, 1, o_);
        total_subqs_++;
        return true;
    }
    case KBX_OP_AND_MAYBE:
    case KBX_OP_FILTER:
        if (!weighted || q.subs.size() != 2) return false;
        out->kind = q.op == KBX_OP_AND_MAYBE ? MNode::MAYBE : MNode::FILTER;
        out->subs.resize(2);
        return compile(*q.subs[0], factor, &out->subs[0]) &&
               compile(*q.subs[1], q.op == KBX_OP_AND_MAYBE ? factor : 0, &out->subs[1]);
    default:
        return false;
    }
    out->subs.resize(q.subs.size());
    for (size_t i = 0; i < q.subs.size(); i++)
        if (!compile(*q.subs[i], factor, &out->subs[i])) return false;
    return true;
}

/* The cursors whose documents can make weighted n match (a boolean node
   never drives: it only filters). */
void Matcher::drivers(const MNode &n, std::vector<size_t> &out) const {
    switch (n.kind) {
    case MNode::LEAF:
        out.push_back(n.cur);
        return;
    case MNode::SYN:
        out.insert(out.end(), n.curs.begin(), n.curs.end());
        return;
    case MNode::OR:
        for (const MNode &s : n.subs) drivers(s, out);
        return;
    case MNode::MAYBE:
    case MNode::FILTER:
        drivers(n.subs[0], out);
        return;
    default:
        return;
    }
}

/* Whether driving group g (LEAF or SYN) is at document d: a driving
   cursor is never behind the document being weighed. */
bool Matcher::drives_at(const MNode &g, Xapian::docid d) const {
    if (g.kind == MNode::LEAF) return cur_[g.cur].did == d;
    for (size_t k : g.curs)
        if (cur_[k].did == d) return true;
    return false;
}

/* Whether boolean n holds document d. */
bool Matcher::holds(const MNode &n, Xapian::docid d) {
    switch (n.kind) {
    case MNode::BTERM:
        return cur_[n.cur].at(d);
    case MNode::BOR:
        for (const MNode &s : n.subs)
            if (holds(s, d)) return true;
        return false;
    case MNode::BAND:
        for (const MNode &s : n.subs)
            if (!holds(s, d)) return false;
        return true;
    default:
        return false;
    }
}

/* Adds to w what n gives document d of length len and to subqs the
   subqueries of n that match it (as Xapian's count_matching_subqs());
   whether n matches d. */
bool Matcher::eval(const MNode &n, Xapian::docid d, Xapian::termcount len, double &w,
                   Xapian::termcount &subqs) {
    switch (n.kind) {
    case MNode::LEAF:
    case MNode::SYN:
        if (!group(n, d, len, w)) return false;
        subqs++;
        return true;
    case MNode::OR: {
        double sum = 0;
        bool any = false;
        for (const MNode &s : n.subs) {
            double x = 0;
            if (eval(s, d, len, x, subqs)) {
                sum += x;
                any = true;
            }
        }
        if (any) w += sum;
        return any;
    }
    case MNode::MAYBE: {
        double l = 0, r = 0;
        if (!eval(n.subs[0], d, len, l, subqs)) return false;
        if (eval(n.subs[1], d, len, r, subqs)) l += r;
        w += l;
        return true;
    }
    case MNode::FILTER: {
        if (!holds(n.subs[1], d)) return false;
        return eval(n.subs[0], d, len, w, subqs);
    }
    default:
        return false;
    }
}

/* Adds to sum the part group g (LEAF or SYN) gives document d of length
   len; whether g matches d. eval's LEAF and SYN cases, for Flat. */
bool Matcher::group(const MNode &g, Xapian::docid d, Xapian::termcount len, double &sum) {
    Xapian::termcount wdf = 0;
    if (g.kind == MNode::LEAF) {
        Cursor &c = cur_[g.cur];
        if (!c.at(d)) return false;
        wdf = c.it.get_wdf();
    } else {
        bool any = false;
        for (size_t k : g.curs)
            if (cur_[k].at(d)) {
                wdf += cur_[k].it.get_wdf();
                any = true;
            }
        if (!any) return false;
        if (wdf > len) wdf = len; /* SynonymPostList::get_weight() */
    }
    sum += bm25_sumpart(g.termweight, wdf, len, len_factor_, o_);
    return true;
}

/* The share of the documents boolean n (or a group) holds, its terms
   taken as independent. */
double Matcher::share(const MNode &n) const {
    double N = ndocs_ ? ndocs_ : 1;
    switch (n.kind) {
    case MNode::LEAF:
    case MNode::SYN:
    case MNode::BTERM:
        return n.tf / N;
    case MNode::BOR: {
        double none = 1;
        for (const MNode &s : n.subs) none *= 1 - share(s);
        return 1 - none;
    }
    case MNode::BAND: {
        double all = 1;
        for (const MNode &s : n.subs) all *= share(s);
        return all;
    }
    default:
        return 1;
    }
}

/* v sorted, each value once. */
void sort_unique(std::vector<size_t> &v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

/* Xapian's relevance order: weight falling, then docid rising. */
struct Better {
    bool operator()(const OwnItem &a, const OwnItem &b) const {
        return a.wt != b.wt ? a.wt > b.wt : a.did < b.did;
    }
};

void Matcher::run(const MNode &root, const kbx_search_opts &o, OwnResult *res,
                  const std::function<void(Xapian::docid)> &on_match) {
    len_factor_ = bm25_len_factor(db_, o_);
    for (Cursor &c : cur_) c.start(db_);
    std::vector<size_t> drv;
    drivers(root, drv);
    sort_unique(drv);
    Flat f;
    const bool flat = flatten(root, &f);
    double rmax = 0; /* the most the right side can add */
    for (const MNode *g : f.right) rmax += g->termweight;
    const size_t want = static_cast<size_t>(o.offset) + o.limit;
    /* the best `want` so far, the worst on top */
    std::priority_queue<OwnItem, std::vector<OwnItem>, Better> best;
    double greatest = 0;
    Xapian::termcount greatest_subqs = 0;
    const std::vector<Xapian::termcount> &lens = lens_.len;
    /* MaxScore (Turtle and Flood), for a flat query whose finding groups
       hold more than o.prune_postings postings (KBX_PRUNE_POSTINGS):
       once the page is full (and check_at_least matches are counted), the
       groups whose bounds
       (termweights, each above any part it gives) sum, with the right
       side's, below the page's lowest weight cannot make a document enter
       on their own: they stop driving, and are only skipped to the
       documents the others find; a document whose bound stays below the
       page is not weighed. The page is the same; the count then is an
       estimate (the matches seen, or the groups' independent estimate). */
    size_t n_left = f.left.size(), nonessential = 0;
    std::vector<size_t> by_bound(n_left);
    std::vector<double> prefix(n_left + 1, 0);
    std::vector<unsigned char> essential(n_left, 1);
    unsigned long long left_postings = 0;
    for (size_t i = 0; i < n_left; i++) {
        by_bound[i] = i;
        left_postings += f.left[i]->tf;
    }
    std::stable_sort(by_bound.begin(), by_bound.end(), [&](size_t a, size_t b) {
        return f.left[a]->termweight < f.left[b]->termweight;
    });
    for (size_t i = 0; i < n_left; i++) prefix[i + 1] = prefix[i] + f.left[by_bound[i]]->termweight;
    const bool may_prune =
        flat && left_postings > (o.prune_postings ? o.prune_postings : KBX_PRUNE_POSTINGS);
    bool pruned = false;
    auto bound_below = [](double ub, double floor) { return ub * (1 + 1e-9) < floor; };
    for (;;) {
        Xapian::docid d = 0;
        for (size_t k : drv) {
            Xapian::docid x = cur_[k].did;
            if (x != 0 && (d == 0 || x < d)) d = x;
        }
        if (d == 0) break;
        Xapian::termcount len = d < lens.size() ? lens[d] : 0;
        double w = 0;
        Xapian::termcount subqs = 0;
        bool matched;
        if (flat) {
            matched = true;
            for (const MNode *fn : f.filters) matched = matched && holds(*fn, d);
            const bool pruning = may_prune && want > 0 && best.size() == want &&
                                 res->matches >= o.check_at_least;
            if (matched && pruning) {
                /* the bound of d: the driving groups it holds, all the
                   others, the right side */
                double ub = prefix[nonessential] + rmax;
                for (size_t i = 0; i < n_left; i++)
                    if (essential[i] && drives_at(*f.left[i], d)) ub += f.left[i]->termweight;
                if (bound_below(ub, best.top().wt)) {
                    matched = false;
                    pruned = true;
                }
            }
            if (matched) {
                /* the sums eval makes: each OR's parts in order, then the
                   AND_MAYBE's right side added to its left */
                double l = 0, r = 0;
                bool any = false, rany = false;
                for (size_t i = 0; i < n_left; i++) {
                    const MNode *g = f.left[i];
                    /* a group that no longer drives is skipped to d */
                    bool here = !essential[i] || drives_at(*g, d);
                    if (here && group(*g, d, len, l)) {
                        any = true;
                        subqs++;
                    }
                }
                /* the right side only adds: not read for a document that
                   cannot enter the page even with all of it (its parts
                   are each below their termweight) */
                bool full = want > 0 && best.size() == want;
                if (!full || !bound_below(l + rmax, best.top().wt))
                    for (const MNode *g : f.right)
                        if (group(*g, d, len, r)) {
                            rany = true;
                            subqs++;
                        }
                if (rany) l += r;
                w = l;
                matched = any;
            }
        } else {
            matched = eval(root, d, len, w, subqs);
        }
        if (matched) {
            res->matches++;
            if (on_match) on_match(d);
            if (w > greatest) {
                greatest = w;
                greatest_subqs = subqs;
            }
            if (want > 0) {
                OwnItem it{d, w};
                bool in = false;
                if (best.size() < want) {
                    best.push(it);
                    in = true;
                } else if (Better()(it, best.top())) {
                    best.pop();
                    best.push(it);
                    in = true;
                }
                /* the page's floor rose: groups that can no longer make a
                   document enter stop driving */
                if (in && may_prune && best.size() == want && res->matches >= o.check_at_least) {
                    size_t before = nonessential;
                    while (nonessential < n_left &&
                           bound_below(prefix[nonessential + 1] + rmax, best.top().wt))
                        essential[by_bound[nonessential++]] = 0;
                    if (nonessential != before) {
                        drv.clear();
                        for (size_t i = 0; i < n_left; i++)
                            if (essential[i]) drivers(*f.left[i], drv);
                        sort_unique(drv);
                    }
                }
            }
        }
        for (size_t k : drv)
            if (cur_[k].did == d) cur_[k].next();
    }
    if (pruned) {
        /* Xapian's way: the finding groups as independent, times each
           filter's share; never below what was seen */
        double none = 1;
        for (const MNode *g : f.left) none *= 1 - share(*g);
        double est = (1 - none) * ndocs_;
        for (const MNode *fn : f.filters) est *= share(*fn);
        Xapian::doccount e = static_cast<Xapian::doccount>(est + 0.5);
        if (e > res->matches) res->matches = e;
    }
    std::vector<OwnItem> all;
    all.reserve(best.size());
    while (!best.empty()) {
        all.push_back(best.top());
        best.pop();
    }
    std::sort(all.begin(), all.end(), Better());
    if (o.offset < all.size()) all.erase(all.begin(), all.begin() + o.offset);
    else all.clear();
    res->items = std::move(all);
    /* multimatch.cc: the best document's share of the subqueries, over
       its weight */
    res->percent_factor = 0;
    if (greatest > 0 && total_subqs_ > 0)
        res->percent_factor = greatest_subqs / double(total_subqs_) / greatest * 100.0;
}

}  // namespace

/* Walks the all-documents list forward (a length read this way costs a
   step in a chunk, not a B-tree descent). */
std::shared_ptr<const DocLens> doc_lens(kbx_db *db) {
    if (db->wdb || db->shards) return nullptr; /* no single revision */
    Xapian::rev rev = db->db->get_revision();
    if (db->lens && db->lens->rev == rev) return db->lens;
    db->lens.reset();
    auto l = std::make_shared<DocLens>();
    l->len.assign(static_cast<size_t>(db->db->get_lastdocid()) + 1, 0);
    for (Xapian::PostingIterator it = db->db->postlist_begin(std::string()),
                                 end = db->db->postlist_end(std::string());
         it != end; ++it) {
        Xapian::docid did = *it;
        if (did < l->len.size()) l->len[did] = it.get_doclength();
    }
    l->rev = rev;
    db->lens = l;
    return db->lens;
}

bool own_match(kbx_db *db, const QNode &q, const kbx_search_opts &o, OwnResult *out,
               const std::function<void(Xapian::docid)> &on_match) {
    std::shared_ptr<const DocLens> lens = doc_lens(db);
    if (!lens) return false;
    Matcher m(*db->db, o, *lens);
    MNode root;
    if (!m.compile(q, 1.0, &root)) return false;
    m.run(root, o, out, on_match);
    return true;
}

int percent_of(double wt, double f) {
    /* MSet::Internal::convert_to_percent_internal() */
    if (f == 0) return 100;
    double v = wt * f + 100.0 * DBL_EPSILON;
    int pcent = static_cast<int>(v);
    if (pcent > 100) pcent = 100;
    if (pcent < 0) pcent = 0;
    if (pcent == 0 && wt > 0) pcent = 1;
    return pcent;
}
