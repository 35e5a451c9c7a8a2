/* test_xapian_weigh: unit tests of kbx_weigh_docs (shared/kb_xapian.h,
 * kb_xapian_weigh.cc), the weights a query gives given documents computed
 * without Xapian's matcher. The reference is the matcher itself: each
 * query is also run by kbx_search over the same documents (FILTERed by
 * their docids), and every document must get the same weight, to rounding,
 * and match or not alike: terms with scale factors, ORs, NEAR pairs
 * (windows, one term twice, two terms at one position), phrases (exact,
 * with gaps, a term twice), an OR of such branches weighed as the sum of
 * each branch run alone, then what kbx_weigh_docs refuses (other
 * operators), ids that name no document, kbx_weigh_docs_top's best
 * places against kbx_weigh_docs' order, lengths from a read-only handle's
 * array, and two local shards read as one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapfix.h"

#define NDOCS 12

/* Documents of various lengths and word orders; doc "QS" (stored by
   put_same_pos) has "err" and "error" at the same positions, as the
   indexer puts a code and its parts. */
static const char *const TEXTS[NDOCS - 1] = {
    "printer paper jam in tray two",
    "paper jam printer",
    "the printer reports a paper jam when the tray is empty and the printer is cold",
    "printer printer printer jam",
    "jam the paper then clear the jam",
    "tray paper printer jam paper",
    "how to clear a paper jam from the printer tray",
    "scanner glass cleaning",
    "printer driver install error",
    "paper size letter or a4 in the tray settings",
    "jam jam jam paper paper printer printer tray",
};

struct corpus {
    kbx_db *db;
    uint32_t ids[NDOCS];
};

static void put_same_pos(kbx_db *db) {
    kbx_doc *doc = kbx_doc_new();
    assert_non_null(doc);
    /* err and error at 1 and 4, printer at 2, code at 3 */
    assert_int_equal(kbx_doc_add_posting(doc, "err", 3, 1, 1), 0);
    assert_int_equal(kbx_doc_add_posting(doc, "error", 5, 1, 1), 0);
    assert_int_equal(kbx_doc_add_posting(doc, "printer", 7, 2, 1), 0);
    assert_int_equal(kbx_doc_add_posting(doc, "code", 4, 3, 1), 0);
    assert_int_equal(kbx_doc_add_posting(doc, "err", 3, 4, 1), 0);
    assert_int_equal(kbx_doc_add_posting(doc, "error", 5, 4, 1), 0);
    assert_int_equal(kbx_db_replace(db, "QS", doc), 0);
    kbx_doc_free(doc);
}

static void build(struct fx *f, struct corpus *c) {
    c->db = open_db(f->db, KBX_OPEN_WRITE);
    for (size_t i = 0; i < NDOCS - 1; i++) {
        char id[16];
        snprintf(id, sizeof id, "Q%zu", i);
        c->ids[i] = put(c->db, id, TEXTS[i], 0, NULL);
    }
    put_same_pos(c->db);
    assert_int_equal(commit(c->db), 0);
    c->ids[NDOCS - 1] = docid_of(c->db, "QS");
}

/* The boost pass's BM25 (kb_search_rank.c): k1 0.5, b 0.6. */
static void boost_opts(struct kbx_search_opts *o) {
    kbx_search_opts_init(o);
    o->bm25_k1 = 0.5;
    o->bm25_b = 0.6;
    o->limit = 100;
}

/* w[i]: the matcher's weight of c->ids[i] for q (-1 when it does not
   match), the boost pass's old way: q FILTERed by the documents' ids. */
static void matcher_weights(struct corpus *c, const kbx_query *q, double *w) {
    struct kbx_search_opts o;
    boost_opts(&o);
    kbx_query *only = kbx_query_docids(c->ids, NDOCS);
    assert_non_null(only);
    kbx_query *two[2] = {(kbx_query *)q, only};
    kbx_query *fq = kbx_query_combine(KBX_OP_FILTER, two, 2, 0);
    assert_non_null(fq);
    kbx_mset *m = run(c->db, fq, &o);
    for (size_t i = 0; i < NDOCS; i++) {
        w[i] = -1;
        for (size_t j = 0; j < kbx_mset_size(m); j++)
            if (kbx_mset_docid(m, j) == c->ids[i]) w[i] = kbx_mset_weight(m, j);
    }
    kbx_mset_free(m);
    kbx_query_free(fq);
    kbx_query_free(only);
}

static void weigh(struct corpus *c, const kbx_query *q, double *w) {
    struct kbx_search_opts o;
    boost_opts(&o);
    int rc = kbx_weigh_docs(c->db, q, &o, c->ids, NDOCS, w);
    if (rc) print_error("weigh: %s\n", kbx_db_errmsg(c->db));
    assert_int_equal(rc, 0);
}

/* Asserts kbx_weigh_docs gives every document the matcher's weight, and
   returns how many match (so a test can check its query matches some
   documents and misses others). Frees q. */
static size_t same_as_matcher(struct corpus *c, kbx_query *q) {
    double want[NDOCS], got[NDOCS];
    assert_non_null(q);
    matcher_weights(c, q, want);
    weigh(c, q, got);
    size_t matched = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        if (want[i] < 0) {
            assert_true(got[i] == 0);
            continue;
        }
        matched++;
        if (absd(got[i] - want[i]) > 1e-12 * (1 + want[i]))
            print_error("doc %zu: weighed %.17g, matcher %.17g\n", i, got[i], want[i]);
        assert_true(absd(got[i] - want[i]) <= 1e-12 * (1 + want[i]));
        assert_true(got[i] > 0);
    }
    kbx_query_free(q);
    return matched;
}

static kbx_query *S(double f, kbx_query *q) {
    kbx_query *r = kbx_query_scale(q, f);
    assert_non_null(r);
    kbx_query_free(q);
    return r;
}

static kbx_query *C3(int op, kbx_query *a, kbx_query *b, kbx_query *d, uint32_t param) {
    kbx_query *subs[3] = {a, b, d};
    kbx_query *q = kbx_query_combine(op, subs, 3, param);
    assert_non_null(q);
    kbx_query_free(a);
    kbx_query_free(b);
    kbx_query_free(d);
    return q;
}

static void test_terms_and_scales(void **state) {
    struct corpus c;
    build(*state, &c);
    size_t n = same_as_matcher(&c, T("printer"));
    assert_true(n > 3 && n < NDOCS);
    assert_int_equal(same_as_matcher(&c, T("nosuchword")), 0);
    /* nested factors multiply; a term in more than half the documents
       takes BM25's remedy for a negative idf */
    n = same_as_matcher(&c, S(0.4, C3(KBX_OP_OR, S(1.3, T("jam")), S(0.7, T("tray")),
                                      T("scanner"), 0)));
    assert_true(n > 5);
    assert_true(same_as_matcher(&c, S(0.5, C2(KBX_OP_OR, T("paper"), T("printer"), 0))) > 6);
    kbx_db_free(c.db);
}

static void test_near_pairs(void **state) {
    struct corpus c;
    build(*state, &c);
    size_t tight = same_as_matcher(&c, S(0.3, C2(KBX_OP_NEAR, T("paper"), T("jam"), 2)));
    size_t wide = same_as_matcher(&c, S(0.3, C2(KBX_OP_NEAR, T("paper"), T("jam"), 6)));
    assert_true(tight > 0);
    assert_true(wide > tight);
    /* one term twice: two of its positions within the window */
    size_t twice = same_as_matcher(&c, C2(KBX_OP_NEAR, T("printer"), T("printer"), 3));
    assert_true(twice > 0);
    /* two terms on one position do not make a pair on their own */
    assert_int_equal(same_as_matcher(&c, C2(KBX_OP_NEAR, T("err"), T("error"), 2)), 0);
    assert_int_equal(same_as_matcher(&c, C2(KBX_OP_NEAR, T("err"), T("error"), 4)), 1);
    assert_true(same_as_matcher(&c, C2(KBX_OP_NEAR, T("code"), T("error"), 2)) == 1);
    /* window 0: the number of terms */
    assert_true(same_as_matcher(&c, C2(KBX_OP_NEAR, T("paper"), T("jam"), 0)) == tight);
    kbx_db_free(c.db);
}

static void test_phrases(void **state) {
    struct corpus c;
    build(*state, &c);
    size_t exact = same_as_matcher(&c, S(0.5, C3(KBX_OP_PHRASE, T("printer"), T("paper"),
                                                 T("jam"), 3)));
    size_t two = same_as_matcher(&c, C2(KBX_OP_PHRASE, T("paper"), T("jam"), 0));
    assert_true(exact >= 1);
    assert_true(two > exact);
    /* with gaps, as the CJK run boosts are built: in order within 5 */
    size_t gaps = same_as_matcher(&c, C3(KBX_OP_PHRASE, T("clear"), T("paper"), T("jam"), 5));
    assert_true(gaps >= 1);
    /* in order: jam, paper, clear span five positions in one document */
    assert_int_equal(same_as_matcher(&c, C3(KBX_OP_PHRASE, T("jam"), T("paper"), T("clear"), 5)),
                     1);
    assert_int_equal(same_as_matcher(&c, C3(KBX_OP_PHRASE, T("jam"), T("paper"), T("clear"), 4)),
                     0);
    /* a term twice, and a phrase of one term (the term) */
    assert_true(same_as_matcher(&c, C3(KBX_OP_PHRASE, T("printer"), T("printer"), T("jam"), 3)) ==
                1);
    kbx_query *one = T("scanner");
    kbx_query *ph = kbx_query_combine(KBX_OP_PHRASE, &one, 1, 0);
    kbx_query_free(one);
    assert_int_equal(same_as_matcher(&c, ph), 1);
    kbx_db_free(c.db);
}

/* The boost query's shape: an OR of scaled branches. Each document gets the
   sum of what each branch, run alone by the matcher, gives it. */
static void test_or_of_branches(void **state) {
    struct corpus c;
    build(*state, &c);
    kbx_query *branches[4] = {
        S(0.4, C2(KBX_OP_OR, S(1.5, T("printer")), T("tray"), 0)),
        S(0.3, C2(KBX_OP_NEAR, T("paper"), T("jam"), 5)),
        S(0.5, C3(KBX_OP_PHRASE, T("the"), T("printer"), T("tray"), 3)),
        C3(KBX_OP_PHRASE, T("paper"), T("jam"), T("printer"), 4),
    };
    double sum[NDOCS] = {0}, one[NDOCS];
    for (size_t b = 0; b < 4; b++) {
        matcher_weights(&c, branches[b], one);
        for (size_t i = 0; i < NDOCS; i++)
            if (one[i] > 0) sum[i] += one[i];
    }
    kbx_query *q = kbx_query_combine(KBX_OP_OR, branches, 4, 0);
    assert_non_null(q);
    double got[NDOCS];
    weigh(&c, q, got);
    size_t matched = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        assert_true(absd(got[i] - sum[i]) <= 1e-12 * (1 + sum[i]));
        matched += got[i] > 0;
    }
    assert_true(matched > 3 && matched < NDOCS);
    for (size_t b = 0; b < 4; b++) kbx_query_free(branches[b]);
    kbx_query_free(q);
    kbx_db_free(c.db);
}

static void test_refused_and_odd_ids(void **state) {
    struct corpus c;
    build(*state, &c);
    double w[4] = {9, 9, 9, 9};
    /* operators it does not weigh: the caller runs the matcher instead */
    kbx_query *and = C2(KBX_OP_AND, T("paper"), T("jam"), 0);
    assert_int_equal(kbx_weigh_docs(c.db, and, NULL, c.ids, 1, w), KBX_ERR_UNIMPLEMENTED);
    assert_true(w[0] == 0);
    kbx_query *inside = C2(KBX_OP_OR, T("tray"), and, 0);
    assert_int_equal(kbx_weigh_docs(c.db, inside, NULL, c.ids, 1, w), KBX_ERR_UNIMPLEMENTED);
    kbx_query_free(inside);
    kbx_query *all = kbx_query_match_all();
    assert_int_equal(kbx_weigh_docs(c.db, all, NULL, c.ids, 1, w), KBX_ERR_UNIMPLEMENTED);
    kbx_query_free(all);
    kbx_query *near3 = C3(KBX_OP_NEAR, T("paper"), T("jam"), T("tray"), 5);
    assert_int_equal(kbx_weigh_docs(c.db, near3, NULL, c.ids, 1, w), KBX_ERR_UNIMPLEMENTED);
    kbx_query_free(near3);
    kbx_query *nested = C2(KBX_OP_PHRASE, T("paper"), C2(KBX_OP_OR, T("jam"), T("tray"), 0), 2);
    assert_int_equal(kbx_weigh_docs(c.db, nested, NULL, c.ids, 1, w), KBX_ERR_UNIMPLEMENTED);
    kbx_query_free(nested);
    /* bad arguments */
    kbx_query *q = T("jam");
    assert_int_equal(kbx_weigh_docs(c.db, NULL, NULL, c.ids, 1, w), KBX_ERR_INVALID);
    assert_int_equal(kbx_weigh_docs(c.db, q, NULL, NULL, 1, w), KBX_ERR_INVALID);
    assert_int_equal(kbx_weigh_docs(NULL, q, NULL, c.ids, 1, w), KBX_ERR_INVALID);
    assert_int_equal(kbx_weigh_docs(c.db, q, NULL, NULL, 0, NULL), 0);
    /* id 0, an id no document has, and one document twice */
    uint32_t jam = docid_of(c.db, "Q1");
    uint32_t ids[4] = {0, 999999, jam, jam};
    assert_int_equal(kbx_weigh_docs(c.db, q, NULL, ids, 4, w), 0);
    assert_true(w[0] == 0 && w[1] == 0);
    assert_true(w[2] > 0 && w[2] == w[3]);
    kbx_query_free(q);
    kbx_db_free(c.db);
}

/* A read-only handle reads the documents' lengths from the revision's
   array (DocLens) instead of the length list: the same weights, to the
   bit, and still the matcher's. */
static void test_read_only_lengths(void **state) {
    struct fx *f = *state;
    struct corpus c;
    build(f, &c);
    kbx_query *branches[3] = {
        S(0.4, C2(KBX_OP_OR, S(1.5, T("printer")), T("tray"), 0)),
        S(0.3, C2(KBX_OP_NEAR, T("paper"), T("jam"), 5)),
        C3(KBX_OP_PHRASE, T("paper"), T("jam"), T("printer"), 4),
    };
    kbx_query *q = kbx_query_combine(KBX_OP_OR, branches, 3, 0);
    assert_non_null(q);
    for (size_t b = 0; b < 3; b++) kbx_query_free(branches[b]);
    double w1[NDOCS], w2[NDOCS];
    weigh(&c, q, w1);
    kbx_db_free(c.db);
    c.db = open_db(f->db, KBX_OPEN_READ);
    weigh(&c, q, w2);
    size_t matched = 0;
    for (size_t i = 0; i < NDOCS; i++) {
        assert_true(w1[i] == w2[i]);
        matched += w2[i] > 0;
    }
    assert_true(matched > 3);
    assert_true(same_as_matcher(&c, q) == matched);
    kbx_db_free(c.db);
}

/* The order of totals base[i] + w[i] the search shows: falling, then by
   index. Fills ord[0..NDOCS). */
static void order_by_total(const double *base, const double *w, size_t *ord) {
    for (size_t i = 0; i < NDOCS; i++) ord[i] = i;
    for (size_t i = 1; i < NDOCS; i++)
        for (size_t j = i; j > 0; j--) {
            size_t a = ord[j - 1], b = ord[j];
            double ta = base[a] + w[a], tb = base[b] + w[b];
            if (ta > tb || (ta == tb && a < b)) break;
            ord[j - 1] = b;
            ord[j] = a;
        }
}

/* kbx_weigh_docs_top: for every number of places and several first-pass
   weights, the best `top` totals and their order are kbx_weigh_docs', with
   candidates marked keep weighed exactly and then lowered by the caller
   (as the search lowers a standard's section entry); every other weight
   is at least the exact one; and with one place, some candidates' positions
   are never read. */
static void test_best_only(void **state) {
    struct corpus c;
    build(*state, &c);
    kbx_query *branches[3] = {
        S(0.4, C2(KBX_OP_OR, S(1.5, T("printer")), T("tray"), 0)),
        S(0.3, C2(KBX_OP_NEAR, T("paper"), T("jam"), 2)),
        S(2.0, C3(KBX_OP_PHRASE, T("paper"), T("jam"), T("printer"), 3)),
    };
    kbx_query *q = kbx_query_combine(KBX_OP_OR, branches, 3, 0);
    assert_non_null(q);
    struct kbx_search_opts o;
    boost_opts(&o);
    double want[NDOCS];
    assert_int_equal(kbx_weigh_docs(c.db, q, &o, c.ids, NDOCS, want), 0);
    /* first-pass weights: none; falling with the index; rising (the
       phrase's documents last); one candidate far ahead */
    double bases[4][NDOCS];
    for (size_t i = 0; i < NDOCS; i++) {
        bases[0][i] = 0;
        bases[1][i] = 3.0 - 0.2 * (double)i;
        bases[2][i] = 0.2 * (double)i;
        bases[3][i] = i == 7 ? 50 : 1;
    }
    size_t spared = 0;
    for (size_t b = 0; b < 4; b++)
        for (int marked = 0; marked < 2; marked++)
            for (size_t top = 0; top <= NDOCS; top++) {
                unsigned char keep[NDOCS] = {0};
                if (marked) keep[2] = keep[5] = 1;
                double got[NDOCS];
                struct kbx_weigh_top t = {.base = bases[b], .keep = marked ? keep : NULL,
                                          .top = top};
                assert_int_equal(kbx_weigh_docs_top(c.db, q, &o, c.ids, NDOCS, &t, got), 0);
                assert_true(t.exact <= NDOCS);
                if (top == 1 && !marked) spared += NDOCS - t.exact;
                for (size_t i = 0; i < NDOCS; i++) {
                    assert_true(got[i] >= want[i]);
                    if (keep[i]) assert_true(got[i] == want[i]);
                }
                /* the caller lowers the kept ones */
                double lw[NDOCS], lg[NDOCS];
                for (size_t i = 0; i < NDOCS; i++) {
                    lw[i] = keep[i] ? want[i] * 0.5 - 1 : want[i];
                    lg[i] = keep[i] ? got[i] * 0.5 - 1 : got[i];
                }
                size_t ow[NDOCS], og[NDOCS];
                order_by_total(bases[b], lw, ow);
                order_by_total(bases[b], lg, og);
                for (size_t k = 0; k < top; k++) {
                    if (ow[k] != og[k])
                        print_error("base %zu keep %d top %zu: place %zu holds %zu, not %zu\n",
                                    b, marked, top, k, og[k], ow[k]);
                    assert_int_equal(og[k], ow[k]);
                    assert_true(lg[og[k]] == lw[ow[k]]);
                }
            }
    assert_true(spared > 0);
    /* bad arguments */
    double w[1];
    struct kbx_weigh_top nobase = {.top = 1};
    assert_int_equal(kbx_weigh_docs_top(c.db, q, &o, c.ids, 1, NULL, w), KBX_ERR_INVALID);
    assert_int_equal(kbx_weigh_docs_top(c.db, q, &o, c.ids, 1, &nobase, w), KBX_ERR_INVALID);
    assert_int_equal(kbx_weigh_docs_top(NULL, q, &o, c.ids, 1, NULL, w), KBX_ERR_INVALID);
    for (size_t b = 0; b < 3; b++) kbx_query_free(branches[b]);
    kbx_query_free(q);
    kbx_db_free(c.db);
}

/* Over two local shards opened as one (kbx_db_open_shards): postings,
   positions, lengths and term statistics are the union's, as the
   matcher's. */
static void test_local_shards(void **state) {
    struct fx *f = *state;
    char path[2][128];
    for (int k = 0; k < 2; k++) {
        snprintf(path[k], sizeof path[k], "%s/s%d", f->dir, k);
        kbx_db *w = open_db(path[k], KBX_OPEN_WRITE);
        for (size_t i = (size_t)k; i < NDOCS - 1; i += 2) {
            char id[16];
            snprintf(id, sizeof id, "Q%zu", i);
            put(w, id, TEXTS[i], 0, NULL);
        }
        if (k == 1) put_same_pos(w);
        assert_int_equal(commit(w), 0);
        kbx_db_free(w);
    }
    const char *specs[2] = {path[0], path[1]};
    char err[512];
    struct corpus c;
    assert_int_equal(kbx_db_open_shards(specs, 2, 500, &c.db, err, sizeof err), 0);
    for (size_t i = 0; i < NDOCS - 1; i++) {
        char id[16];
        snprintf(id, sizeof id, "Q%zu", i);
        c.ids[i] = docid_of(c.db, id);
    }
    c.ids[NDOCS - 1] = docid_of(c.db, "QS");
    assert_true(same_as_matcher(&c, S(0.4, C2(KBX_OP_OR, S(1.3, T("jam")), T("tray"), 0))) > 5);
    assert_true(same_as_matcher(&c, S(0.3, C2(KBX_OP_NEAR, T("paper"), T("jam"), 6))) > 2);
    assert_true(same_as_matcher(&c, C3(KBX_OP_PHRASE, T("clear"), T("paper"), T("jam"), 5)) >= 1);
    assert_int_equal(same_as_matcher(&c, C2(KBX_OP_NEAR, T("err"), T("error"), 4)), 1);
    kbx_db_free(c.db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_terms_and_scales, setup, teardown),
        cmocka_unit_test_setup_teardown(test_near_pairs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_phrases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_or_of_branches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_and_odd_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_best_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_shards, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
