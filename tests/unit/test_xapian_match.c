/* test_xapian_match: unit tests of kbdesk's own first-pass matcher
 * (kbx_search_opts.visit_all, shared/kb_xapian_match.cc). The reference is
 * Xapian's matcher on the same read-only database, asked to examine every
 * match (check_at_least past the corpus, so its count is exact): for each
 * query shape the search uses (terms with scale factors, ORs, SYNONYMs of
 * a word and its stem or of three words, AND_MAYBE of rare and common
 * groups, FILTERs by ORed and ANDed terms, and nestings the search does
 * not build) and several pages, both must
 * give the same documents in the same order, the same weights (to the
 * last bits of a sum), the same percentages and the same count; facets,
 * counted over every match, must be Xapian's counted over all; with
 * MaxScore pruning forced on, the pages must stay the same. Then the
 * shapes it leaves to Xapian (a NEAR, a required AND, an elite set, a
 * writable database) must come from Xapian's matcher, unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapfix.h"

#define NDOCS 90
#define SLOT 3

static const char *const WORDS[] = {"printer", "Zprinter", "paper", "Zpaper", "jam",
                                    "tray",    "toner",    "driver", "Zdriver", "install",
                                    "error",   "network",  "scan",   "queue",  "spool"};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

/* A deterministic corpus: document i holds a few words of WORDS picked by
   a linear congruential sequence (some more often than others, some
   repeated), a kind term (Kart or Kknown) and a language term (Len or
   Lzh). Written, committed, then opened read-only. */
static kbx_db *build(struct fx *f) {
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    uint32_t x = 12345;
    for (size_t i = 0; i < NDOCS; i++) {
        char text[512] = "";
        size_t nw = 2 + i % 9;
        for (size_t k = 0; k < nw; k++) {
            x = x * 1103515245u + 12345u;
            size_t pick = (x >> 16) % (NWORDS * 2);
            if (pick >= NWORDS) pick %= 5; /* the first words are common */
            strcat(text, WORDS[pick]);
            strcat(text, " ");
        }
        strcat(text, i % 3 ? "Kart " : "Kknown ");
        strcat(text, i % 4 ? "Len" : "Lzh");
        char id[16];
        snprintf(id, sizeof id, "Q%zu", i);
        kbx_doc *doc = kbx_doc_new();
        assert_non_null(doc);
        add_words(doc, text, 1);
        assert_int_equal(kbx_doc_set_data(doc, id, strlen(id)), 0);
        /* the facet slot: kind and language joined, as the indexer joins them */
        char facets[32];
        snprintf(facets, sizeof facets, "%s%c%s", i % 3 ? "article" : "known_error",
                 KBX_FACET_SEP, i % 4 ? "en" : "zh");
        assert_int_equal(kbx_doc_set_value(doc, SLOT, facets, strlen(facets)), 0);
        assert_int_equal(kbx_db_replace(w, id, doc), 0);
        kbx_doc_free(doc);
    }
    /* a word three times in a short document: a synonym of it with itself
       sums more wdf than the document is long */
    kbx_doc *doc = kbx_doc_new();
    assert_non_null(doc);
    add_words(doc, "queue queue queue Kart Len", 1);
    assert_int_equal(kbx_doc_set_data(doc, "Qshort", 6), 0);
    assert_int_equal(kbx_db_replace(w, "Qshort", doc), 0);
    kbx_doc_free(doc);
    assert_int_equal(commit(w), 0);
    kbx_db_free(w);
    return open_db(f->db, KBX_OPEN_READ);
}

static kbx_query *S(double f, kbx_query *q) {
    kbx_query *r = kbx_query_scale(q, f);
    assert_non_null(r);
    kbx_query_free(q);
    return r;
}

static kbx_query *CN(int op, uint32_t param, size_t n, ...) {
    kbx_query *subs[8];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) subs[i] = va_arg(ap, kbx_query *);
    va_end(ap);
    kbx_query *q = kbx_query_combine(op, subs, n, param);
    assert_non_null(q);
    for (size_t i = 0; i < n; i++) kbx_query_free(subs[i]);
    return q;
}

/* 1 in a test that prunes every query (prune_postings 1) */
static int prune_all;

static kbx_mset *search(kbx_db *db, const kbx_query *q, uint32_t offset, uint32_t limit,
                        int own) {
    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    o.bm25_k1 = 1.2; /* the search's first pass (kb_search_rank.c) */
    o.bm25_b = 0.6;
    o.offset = offset;
    o.limit = limit;
    o.check_at_least = own ? 0 : 10 * NDOCS; /* Xapian: an exact count */
    o.visit_all = own;
    o.prune_postings = prune_all;
    return run(db, q, &o);
}

/* Asserts the own matcher ranks q as Xapian's does over several pages, and
   returns how many documents q matches. Frees q. */
static uint32_t same_as_xapian(kbx_db *db, kbx_query *q) {
    static const uint32_t pages[][2] = {{0, 10}, {0, 50}, {3, 7}, {0, 1}, {80, 20}, {0, 200}};
    uint32_t total = 0;
    for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
        kbx_mset *want = search(db, q, pages[p][0], pages[p][1], 0);
        kbx_mset *got = search(db, q, pages[p][0], pages[p][1], 1);
        assert_int_equal(kbx_mset_visited_all(want), 0);
        assert_int_equal(kbx_mset_visited_all(got), 1);
        total = kbx_mset_matches_estimated(want);
        if (prune_all) /* an estimate, never below what it had seen */
            assert_true(kbx_mset_matches_estimated(got) >= kbx_mset_size(got));
        else
            assert_int_equal(kbx_mset_matches_estimated(got), total);
        assert_int_equal(kbx_mset_size(got), kbx_mset_size(want));
        for (size_t i = 0; i < kbx_mset_size(want); i++) {
            double a = kbx_mset_weight(want, i), b = kbx_mset_weight(got, i);
            if (kbx_mset_docid(got, i) != kbx_mset_docid(want, i) ||
                absd(a - b) > 1e-12 * (1 + a) ||
                kbx_mset_percent(got, i) != kbx_mset_percent(want, i))
                print_error("page %zu item %zu: doc %u w %.17g %d%%, Xapian doc %u w %.17g %d%%\n",
                            p, i, kbx_mset_docid(got, i), b, kbx_mset_percent(got, i),
                            kbx_mset_docid(want, i), a, kbx_mset_percent(want, i));
            assert_int_equal(kbx_mset_docid(got, i), kbx_mset_docid(want, i));
            assert_true(absd(a - b) <= 1e-12 * (1 + a));
            assert_int_equal(kbx_mset_percent(got, i), kbx_mset_percent(want, i));
        }
        if (kbx_mset_size(got) > 0) { /* the documents are the right ones */
            const char *d1, *d2;
            assert_int_equal(kbx_mset_data(got, 0, &d1, NULL), 0);
            assert_int_equal(kbx_mset_data(want, 0, &d2, NULL), 0);
            assert_string_equal(d1, d2);
        }
        kbx_mset_free(want);
        kbx_mset_free(got);
    }
    kbx_query_free(q);
    return total;
}

static kbx_query *syn(const char *a, const char *b) {
    return CN(KBX_OP_SYNONYM, 0, 2, T(a), T(b));
}

static void test_terms_and_groups(void **state) {
    kbx_db *db = build(*state);
    assert_true(same_as_xapian(db, T("jam")) > 5);
    assert_int_equal(same_as_xapian(db, T("nosuchword")), 0);
    uint32_t n = same_as_xapian(
        db, CN(KBX_OP_OR, 0, 4, T("jam"), S(0.86, T("tray")), S(0.3, T("toner")), T("spool")));
    assert_true(n > 20 && n < NDOCS);
    /* nested factors, and a term in more than half the documents */
    assert_true(same_as_xapian(db, S(0.4, CN(KBX_OP_OR, 0, 3, S(1.3, T("printer")),
                                             T("Kart"), T("scan")))) > NDOCS / 2);
    /* a word and its stem as one group, as the search builds them */
    n = same_as_xapian(db, CN(KBX_OP_OR, 0, 3, syn("printer", "Zprinter"), syn("paper", "Zpaper"),
                              S(0.35, syn("driver", "Zdriver"))));
    assert_true(n > 20);
    /* three words of different frequencies (the estimate's tree) */
    assert_true(same_as_xapian(db, CN(KBX_OP_SYNONYM, 0, 3, T("jam"), T("network"),
                                      T("install"))) > 10);
    /* a word with itself: its wdf counted twice, at most the length */
    assert_true(same_as_xapian(db, CN(KBX_OP_OR, 0, 2, syn("queue", "queue"), T("tray"))) > 1);
    /* a synonym of one term is the term */
    assert_true(same_as_xapian(db, CN(KBX_OP_SYNONYM, 0, 1, T("queue"))) > 0);
    kbx_db_free(db);
}

static void test_maybe_and_filters(void **state) {
    kbx_db *db = build(*state);
    /* the rare groups find, the common ones only add weight */
    uint32_t n = same_as_xapian(
        db, CN(KBX_OP_AND_MAYBE, 0, 2, CN(KBX_OP_OR, 0, 2, T("spool"), syn("driver", "Zdriver")),
               CN(KBX_OP_OR, 0, 2, T("printer"), S(0.3, T("paper")))));
    assert_true(n > 5 && n < NDOCS);
    /* a kind filter (an OR of kinds), then kind and language ANDed */
    kbx_query *groups = CN(KBX_OP_OR, 0, 3, syn("printer", "Zprinter"), T("jam"), T("toner"));
    kbx_query *g2 = CN(KBX_OP_OR, 0, 3, syn("printer", "Zprinter"), T("jam"), T("toner"));
    uint32_t all = same_as_xapian(db, CN(KBX_OP_OR, 0, 3, syn("printer", "Zprinter"), T("jam"),
                                         T("toner")));
    uint32_t kinds = same_as_xapian(
        db, CN(KBX_OP_FILTER, 0, 2, groups, CN(KBX_OP_OR, 0, 2, T("Kart"), T("Kknown"))));
    assert_int_equal(kinds, all);
    uint32_t some = same_as_xapian(
        db, CN(KBX_OP_FILTER, 0, 2, g2,
               CN(KBX_OP_AND, 0, 2, CN(KBX_OP_OR, 0, 2, T("Kart"), T("Knone")), T("Lzh"))));
    assert_true(some > 0 && some < all);
    /* shapes the search does not build, weighed through the general tree:
       an AND_MAYBE and a FILTER inside an OR */
    assert_true(same_as_xapian(db, CN(KBX_OP_OR, 0, 3, T("toner"),
                                      CN(KBX_OP_AND_MAYBE, 0, 2, T("jam"), T("paper")),
                                      CN(KBX_OP_FILTER, 0, 2, syn("scan", "queue"), T("Lzh")))) >
                10);
    kbx_db_free(db);
}

/* MaxScore on every query: documents that cannot reach the page are
   skipped, and the pages stay Xapian's. */
static void test_pruned(void **state) {
    prune_all = 1;
    test_terms_and_groups(state);
    teardown(state);
    setup(state);
    test_maybe_and_filters(state);
    prune_all = 0;
}

/* What the own matcher leaves to Xapian's: the same answer, from Xapian. */
static void test_left_to_xapian(void **state) {
    struct fx *f = *state;
    kbx_db *db = build(f);
    kbx_query *shapes[3] = {
        CN(KBX_OP_OR, 0, 2, T("jam"), CN(KBX_OP_NEAR, 3, 2, T("paper"), T("jam"))),
        CN(KBX_OP_AND, 0, 2, T("jam"), T("paper")),
        CN(KBX_OP_ELITE_SET, 2, 3, T("jam"), T("paper"), T("tray")),
    };
    for (size_t s = 0; s < 3; s++) {
        kbx_mset *m = search(db, shapes[s], 0, 10, 1);
        kbx_mset *x = search(db, shapes[s], 0, 10, 0);
        assert_int_equal(kbx_mset_visited_all(m), 0);
        assert_int_equal(kbx_mset_size(m), kbx_mset_size(x));
        assert_true(kbx_mset_size(m) > 0);
        for (size_t i = 0; i < kbx_mset_size(m); i++)
            assert_int_equal(kbx_mset_docid(m, i), kbx_mset_docid(x, i));
        kbx_mset_free(m);
        kbx_mset_free(x);
        kbx_query_free(shapes[s]);
    }
    kbx_query *q = T("jam");
    kbx_db_free(db);
    /* a writable database has no single revision to hold lengths for */
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    kbx_mset *m = search(w, q, 0, 10, 1);
    assert_int_equal(kbx_mset_visited_all(m), 0);
    assert_true(kbx_mset_size(m) > 0);
    kbx_mset_free(m);
    kbx_query_free(q);
    kbx_db_free(w);
}

struct counts {
    char v[8][32];
    uint32_t n[8];
    size_t k;
};

static int add_count(void *ud, const char *v, size_t len, uint32_t n) {
    struct counts *c = ud;
    assert_true(c->k < 8 && len < 32);
    memcpy(c->v[c->k], v, len);
    c->v[c->k][len] = '\0';
    c->n[c->k++] = n;
    return 0;
}

/* Facets over every match: Xapian's spy asked to examine them all gives
   the same counts, and the hits' facet values are read alike. */
static void test_facets(void **state) {
    kbx_db *db = build(*state);
    kbx_query *q = CN(KBX_OP_OR, 0, 2, syn("printer", "Zprinter"), T("scan"));
    kbx_mset *m[2];
    for (int own = 0; own < 2; own++) {
        struct kbx_search_opts o;
        kbx_search_opts_init(&o);
        o.limit = 5;
        o.facet_joined_slot = SLOT;
        o.facet_parts = 2;
        o.check_at_least = own ? 0 : 10 * NDOCS;
        o.visit_all = own;
        m[own] = run(db, q, &o);
        assert_int_equal(kbx_mset_visited_all(m[own]), own);
    }
    assert_true(kbx_mset_matches_estimated(m[1]) > 30);
    for (size_t part = 0; part < 2; part++) {
        struct counts a = {0}, b = {0};
        assert_int_equal(kbx_mset_part_facets(m[0], part, add_count, &a), 0);
        assert_int_equal(kbx_mset_part_facets(m[1], part, add_count, &b), 0);
        assert_int_equal(a.k, 2);
        assert_int_equal(b.k, a.k);
        uint32_t sum = 0;
        for (size_t i = 0; i < a.k; i++) {
            assert_string_equal(b.v[i], a.v[i]);
            assert_int_equal(b.n[i], a.n[i]);
            sum += b.n[i];
        }
        assert_int_equal(sum, kbx_mset_matches_estimated(m[1]));
    }
    for (size_t i = 0; i < kbx_mset_size(m[1]); i++) {
        const char *a, *b;
        size_t al, bl;
        assert_int_equal(kbx_mset_value(m[0], i, SLOT, &a, &al), 0);
        assert_int_equal(kbx_mset_value(m[1], i, SLOT, &b, &bl), 0);
        assert_int_equal(bl, al);
        assert_memory_equal(b, a, al);
    }
    kbx_mset_free(m[0]);
    kbx_mset_free(m[1]);
    kbx_query_free(q);
    kbx_db_free(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_terms_and_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maybe_and_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_facets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_to_xapian, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
