// matchprobe: Xapian's matcher cost of kbdesk's queries, by pass and by
// boost subquery (issue 21, item 3). Builds each query with the searcher's
// own code (kbs_build_query, no facets), runs the first pass (50 candidates,
// 150 with Latin word-order boosts) and the boost pass over them (FILTER by
// the candidates' docids, BM25 k1 0.5) as kb_search_rank.c does, each
// get_mset in a function of its own, for callgrind's --toggle-collect:
//
//   valgrind --tool=callgrind --toggle-collect='mp_*' build/bench/bin/matchprobe INDEX QUERIES MODE
//   callgrind_annotate --inclusive=yes callgrind.out.PID | grep 'mp_'
//
// MODE: desc (prints each query and its boost query, no search), passes
// (mp_pass1; mp_pass2, or mp_pass2_order for a query with Latin word-order
// boosts (150 candidates); mp_setup1 / mp_setup2: the same get_mset with no
// result asked for, the per-query set-up), parts (the boost pass split: each
// OR branch of the boost query FILTERed alone, by kind: mp_title, mp_stdtitle,
// mp_near, mp_cjkrun, mp_latinrun; mp_empty: a get_mset of a term no
// document has), walk (mp_pass1, and mp_walk: every posting of every
// distinct term of the first pass's query read forward with its wdf, the
// floor of any matcher that visits each match; prints per query the
// postings walked, then Xapian's matches estimated, lower and upper
// bound, and the number of terms). QUERIES: the benchmark's format (the
// query is the last tab-separated field). Built by tests/bench/matchprobe.sh.
#include "kb_xapian_int.h"
extern "C" {
#include "kb_lexicon.h"
#include "kb_search_int.h"
}
#include <xapian.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct Built {
    Xapian::Query main, boost;
    bool has_boost = false;
    size_t norder = 0;
};

bool build_query(kb_searcher *s, const std::string &q, Built &out) {
    char *nq = nullptr;
    size_t nql = 0;
    if (kb_analyzer_normalize(s->an, q.data(), q.size(), &nq, &nql, nullptr, 0) < 0) return false;
    struct kb_search_req req;
    std::memset(&req, 0, sizeof req);
    req.q = q.c_str();
    req.qlen = q.size();
    req.no_facets = 1;
    struct build b;
    kbx_query *mq = nullptr;
    char err[256];
    kbs_build_query(s, &req, nq, nql, 0, &b, &mq, err, sizeof err);
    bool ok = mq != nullptr;
    if (mq) out.main = mq->q;
    out.norder = b.norder;
    if (b.boost) {
        out.boost = b.boost->q;
        out.has_boost = true;
    }
    kbx_query_free(mq);
    kbs_build_fin(&b);
    std::free(nq);
    return ok;
}

typedef void (*runner)(Xapian::Enquire &, Xapian::doccount, Xapian::MSet &);

}  // namespace

#define MP(name)                                                                          \
    extern "C" __attribute__((noinline)) void name(Xapian::Enquire &e, Xapian::doccount n, \
                                                   Xapian::MSet &m) {                      \
        m = e.get_mset(0, n, Xapian::doccount(0));                                         \
    }
MP(mp_pass1) MP(mp_pass2) MP(mp_pass2_order) MP(mp_setup1) MP(mp_setup2) MP(mp_title) MP(mp_stdtitle)
MP(mp_near) MP(mp_cjkrun) MP(mp_latinrun) MP(mp_empty)

/* Every posting of terms, forward, with its wdf; returns how many. */
extern "C" __attribute__((noinline)) size_t mp_walk(const Xapian::Database &db,
                                                    const std::vector<std::string> &terms) {
    size_t n = 0;
    Xapian::termcount wdf = 0;
    for (const std::string &t : terms)
        for (Xapian::PostingIterator it = db.postlist_begin(t); it != db.postlist_end(t); ++it) {
            wdf += it.get_wdf();
            n++;
        }
    static volatile Xapian::termcount sink; /* the wdf is read, not used */
    sink = wdf;
    return n;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: matchprobe INDEX QUERIES desc|passes|parts|walk\n");
        return 2;
    }
    std::string mode = argv[3];
    kb_lexicon *lx = kb_lexicon_new_builtin();
    kb_searcher *s = nullptr;
    char err[512];
    if (kb_searcher_new(argv[1], lx, &s, err, sizeof err) != 0) {
        std::fprintf(stderr, "matchprobe: %s\n", err);
        return 1;
    }
    std::ifstream in(argv[2]);
    std::string line;
    size_t nq = 0;
    try {
        Xapian::Database &db = *s->db->db;
        while (std::getline(in, line)) {
            if (line.empty() || line[0] == '#') continue;
            size_t tab = line.rfind('\t');
            std::string q = tab == std::string::npos ? line : line.substr(tab + 1);
            Built b;
            if (!build_query(s, q, b)) continue;
            nq++;
            if (mode == "desc") {
                std::cout << "Q: " << q << "\n M: " << b.main.get_description() << "\n B: "
                          << (b.has_boost ? b.boost.get_description() : "-") << "\n";
                continue;
            }
            Xapian::Enquire e(db);
            e.set_query(b.main);
            e.set_weighting_scheme(Xapian::BM25Weight(1.2, 0, 1, 0.6, 0.5));
            Xapian::MSet m;
            if (mode == "walk") {
                std::vector<std::string> terms;
                for (auto t = b.main.get_unique_terms_begin(); t != b.main.get_unique_terms_end();
                     ++t)
                    terms.push_back(*t);
                mp_pass1(e, b.has_boost && b.norder ? 150 : 50, m);
                size_t walked = mp_walk(db, terms);
                std::cout << walked << '\t' << m.get_matches_estimated() << '\t'
                          << m.get_matches_lower_bound() << '\t' << m.get_matches_upper_bound()
                          << '\t' << terms.size() << '\n';
                continue;
            }
            if (mode == "passes") mp_setup1(e, 0, m);
            mp_pass1(e, b.has_boost && b.norder ? 150 : 50, m);
            if (!b.has_boost || m.empty()) continue;
            std::vector<uint32_t> ids;
            for (Xapian::MSetIterator it = m.begin(); it != m.end(); ++it) ids.push_back(*it);
            kbx_query *only = kbx_query_docids(ids.data(), ids.size());
            Xapian::Query oq = only->q;
            kbx_query_free(only);
            auto run = [&](const Xapian::Query &sub, runner fn, Xapian::doccount n) {
                Xapian::Enquire e2(db);
                e2.set_query(Xapian::Query(Xapian::Query::OP_FILTER, sub, oq));
                e2.set_weighting_scheme(Xapian::BM25Weight(0.5, 0, 1, 0.6, 0.5));
                Xapian::MSet m2;
                fn(e2, n, m2);
            };
            if (mode == "passes") {
                run(b.boost, mp_setup2, 0);
                run(b.boost, b.norder ? mp_pass2_order : mp_pass2, ids.size());
                continue;
            }
            run(Xapian::Query("Qmatchprobe-no-such-id"), mp_empty, ids.size());
            std::vector<Xapian::Query> subs;
            if (b.boost.get_type() == Xapian::Query::OP_OR)
                for (size_t i = 0; i < b.boost.get_num_subqueries(); i++)
                    subs.push_back(b.boost.get_subquery(i));
            else
                subs.push_back(b.boost);
            for (const Xapian::Query &sq : subs) {
                /* by kind, from the description (kb_search_query.c's prefixes
                   and weights: S title, B standard title, W_LATIN_RUN 0.5) */
                std::string d = sq.get_description();
                runner fn = d.find(" NEAR ") != std::string::npos ? mp_near
                          : d.find(" PHRASE ") != std::string::npos
                              ? (d.find("0.5 * (") != std::string::npos ? mp_latinrun : mp_cjkrun)
                          : d.find(" S") != std::string::npos || d.find("(S") != std::string::npos
                              ? mp_title
                              : mp_stdtitle;
                run(sq, fn, ids.size());
            }
        }
    } catch (const Xapian::Error &x) {
        std::fprintf(stderr, "matchprobe: %s\n", x.get_description().c_str());
        return 1;
    }
    std::fprintf(stderr, "matchprobe: %zu queries\n", nq);
    kb_searcher_free(s);
    kb_lexicon_free(lx);
    return 0;
}
