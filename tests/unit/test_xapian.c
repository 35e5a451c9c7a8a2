/* test_xapian: unit tests for the kb_xapian C wrapper (shared/kb_xapian.h),
 * its storage side: opening, reopening and locking, replace/delete by id
 * term, transactions, metadata, values and value ranges, facets, document
 * ids, and the error paths. The query side (operators, positions, scaling,
 * synonyms, spelling, BM25, term lists, Chinese terms) is in
 * test_xapian_query.c. Each test works in its own fresh directory under
 * /tmp, removed afterwards (xapfix.h). Callbacks only record what they see
 * (no assertions inside them: a failed assertion longjmps, which must not
 * cross the C++ frames of the wrapper). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xapfix.h"

/* ---- tests ----------------------------------------------------------------- */

static void test_open_create_reopen(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    uint32_t n = 99;
    assert_int_equal(kbx_db_doccount(w, &n), 0);
    assert_int_equal(n, 0);
    put(w, "Qa", "alpha", 0, NULL);
    assert_int_equal(commit(w), 0);
    uint64_t rev1 = 0;
    assert_int_equal(kbx_db_revision(w, &rev1), 0);
    assert_true(rev1 >= 1);

    kbx_db *r = open_db(f->db, KBX_OPEN_READ);
    assert_int_equal(kbx_db_begin(r), KBX_ERR_READONLY); /* read-only */
    assert_int_equal(kbx_db_doccount(r, &n), 0);
    assert_int_equal(n, 1);

    put(w, "Qb", "beta", 0, NULL);
    assert_int_equal(commit(w), 0);
    assert_int_equal(kbx_db_doccount(r, &n), 0);
    assert_int_equal(n, 1); /* still the old snapshot */
    int changed = -1;
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(kbx_db_doccount(r, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 0);
    uint64_t rrev = 0;
    assert_int_equal(kbx_db_revision(r, &rrev), 0);
    assert_true(rrev > rev1);
    /* A writable handle's reopen is a no-op. */
    assert_int_equal(kbx_db_reopen(w, &changed), 0);
    assert_int_equal(changed, 0);
    kbx_db_free(w);

    /* Another writable handle (the first released the lock). */
    kbx_db *w2 = open_db(f->db, KBX_OPEN_WRITE);
    assert_int_equal(kbx_db_doccount(w2, &n), 0);
    assert_int_equal(n, 2);
    put(w2, "Qc", "gamma", 0, NULL);
    assert_int_equal(commit(w2), 0);
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(kbx_db_doccount(r, &n), 0);
    assert_int_equal(n, 3);
    kbx_db_free(r);
    kbx_db_free(w2);

    /* Freeing a writable handle commits pending changes. */
    kbx_db *w3 = open_db(f->db, KBX_OPEN_WRITE);
    put(w3, "Qd", "delta", 0, NULL);
    kbx_db_free(w3);
    r = open_db(f->db, KBX_OPEN_READ);
    assert_int_equal(kbx_db_doccount(r, &n), 0);
    assert_int_equal(n, 4);
    kbx_db_free(r);

    kbx_db *o = open_db(f->db, KBX_OPEN_OVERWRITE);
    assert_int_equal(kbx_db_doccount(o, &n), 0);
    assert_int_equal(n, 0);
    kbx_db_free(o);
}

static void test_replace_delete(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    uint32_t d1 = put(w, "QKB-0001", "first version", 0, NULL);
    uint32_t d2 = put(w, "QKB-0001", "second version", 0, NULL);
    assert_int_equal(d1, d2);
    put(w, "QKB-0002", "other", 0, NULL);
    assert_int_equal(commit(w), 0);

    uint32_t n = 0, tf = 0;
    assert_int_equal(kbx_db_doccount(w, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(kbx_db_termfreq(w, "QKB-0001", &tf), 0);
    assert_int_equal(tf, 1);
    assert_int_equal(kbx_db_termfreq(w, "first", &tf), 0);
    assert_int_equal(tf, 0);
    assert_int_equal(docid_of(w, "QKB-0001"), d1);

    char *data = NULL;
    size_t len = 0;
    assert_int_equal(kbx_db_get_data(w, "QKB-0001", &data, &len), 0);
    assert_string_equal(data, "second version");
    assert_int_equal(len, strlen("second version"));
    free(data);

    assert_int_equal(kbx_db_delete(w, "QKB-0001"), 0);
    assert_int_equal(commit(w), 0);
    assert_int_equal(kbx_db_doccount(w, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(kbx_db_delete(w, "QKB-0001"), KBX_ERR_NOTFOUND);
    data = (char *)"x";
    assert_int_equal(kbx_db_get_data(w, "QKB-0001", &data, &len), KBX_ERR_NOTFOUND);
    assert_null(data);
    assert_true(strlen(kbx_db_errmsg(w)) > 0);
    assert_int_equal(count(w, T("QKB-0001")), 0);
    kbx_db_free(w);
}

static void test_transactions(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    assert_int_equal(commit(w), 0);
    kbx_db *r = open_db(f->db, KBX_OPEN_READ);
    uint32_t n = 99, tf = 99;

    assert_int_equal(kbx_db_begin(w), 0);
    put(w, "Qt1", "cancelled words", 0, NULL);
    assert_int_equal(kbx_db_set_metadata(w, "k", "v", 1), 0);
    assert_int_equal(kbx_db_cancel_tx(w), 0);
    assert_int_equal(kbx_db_doccount(w, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(kbx_db_termfreq(w, "cancelled", &tf), 0);
    assert_int_equal(tf, 0);
    char *v = NULL;
    size_t len = 9;
    assert_int_equal(kbx_db_get_metadata(w, "k", &v, &len), 0);
    assert_int_equal(len, 0);
    free(v);

    assert_int_equal(kbx_db_begin(w), 0);
    assert_int_equal(kbx_db_begin(w), KBX_ERR_INVALID_OP); /* no nesting */
    put(w, "Qt2", "kept words", 0, NULL);
    assert_int_equal(kbx_db_commit_tx(w), 0);
    /* A flushed transaction is committed: a reader sees it. */
    int changed = 0;
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(kbx_db_doccount(r, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(kbx_db_termfreq(r, "kept", &tf), 0);
    assert_int_equal(tf, 1);

    assert_int_equal(kbx_db_commit_tx(w), KBX_ERR_INVALID_OP);
    assert_true(strlen(kbx_db_errmsg(w)) > 0);
    assert_int_equal(kbx_db_cancel_tx(w), KBX_ERR_INVALID_OP);
    assert_int_equal(kbx_db_begin(r), KBX_ERR_READONLY);
    kbx_db_free(r);
    kbx_db_free(w);
}

static void test_metadata(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    assert_int_equal(kbx_db_set_metadata(w, "kb:version", "3", 1), 0);
    assert_int_equal(kbx_db_set_metadata(w, "kb:built", "a\0b", 3), 0);
    assert_int_equal(kbx_db_set_metadata(w, "other", "y", 1), 0);
    assert_int_equal(commit(w), 0);

    char *v = NULL;
    size_t len = 0;
    assert_int_equal(kbx_db_get_metadata(w, "kb:version", &v, &len), 0);
    assert_string_equal(v, "3");
    free(v);
    assert_int_equal(kbx_db_get_metadata(w, "kb:built", &v, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "a\0b", 3);
    free(v);
    assert_int_equal(kbx_db_get_metadata(w, "absent", &v, &len), 0);
    assert_int_equal(len, 0);
    assert_string_equal(v, "");
    free(v);

    struct strs c = {0};
    assert_int_equal(kbx_db_metadata_keys(w, "kb:", collect_str, &c), 0);
    assert_string_equal(c.buf, "kb:built|kb:version");
    memset(&c, 0, sizeof c);
    assert_int_equal(kbx_db_metadata_keys(w, NULL, collect_str, &c), 0);
    assert_int_equal(c.n, 3);
    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    assert_int_equal(kbx_db_metadata_keys(w, NULL, collect_str, &c), 7);
    assert_int_equal(c.n, 1);

    /* Empty value deletes. */
    assert_int_equal(kbx_db_set_metadata(w, "kb:built", NULL, 0), 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(kbx_db_metadata_keys(w, "kb:", collect_str, &c), 0);
    assert_string_equal(c.buf, "kb:version");
    kbx_db_free(w);

    kbx_db *r = open_db(f->db, KBX_OPEN_READ);
    assert_int_equal(kbx_db_get_metadata(r, "kb:version", &v, &len), 0);
    assert_string_equal(v, "3");
    free(v);
    assert_int_equal(kbx_db_set_metadata(r, "x", "y", 1), KBX_ERR_READONLY);
    assert_true(strlen(kbx_db_errmsg(r)) > 0);
    kbx_db_free(r);
}

static void test_values(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    put(w, "Q1", "common one", 1, "2023-05-01");
    put(w, "Q2", "common two", 1, "2024-01-15");
    put(w, "Q3", "common three", 1, "2024-06-30");
    put(w, "Q4", "common four", 0, NULL);
    assert_int_equal(commit(w), 0);

    char *v = NULL;
    size_t len = 0;
    assert_int_equal(kbx_db_get_value(w, "Q2", 1, &v, &len), 0);
    assert_string_equal(v, "2024-01-15");
    assert_int_equal(len, 10);
    free(v);
    assert_int_equal(kbx_db_get_value(w, "Q4", 1, &v, &len), 0);
    assert_int_equal(len, 0);
    free(v);
    assert_int_equal(kbx_db_get_value(w, "Q9", 1, &v, &len), KBX_ERR_NOTFOUND);
    assert_null(v);

    kbx_query *q = C2(KBX_OP_FILTER, T("common"), C2(KBX_OP_OR, T("Q2"), T("Q3"), 0), 0);
    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    kbx_mset *m = run(w, q, &o);
    assert_int_equal(kbx_mset_size(m), 2);
    size_t i2 = kbx_mset_docid(m, 0) == docid_of(w, "Q2") ? 0 : 1;
    const char *val = NULL;
    assert_int_equal(kbx_mset_value(m, i2, 1, &val, &len), 0);
    assert_string_equal(val, "2024-01-15");
    const char *val2 = NULL;
    assert_int_equal(kbx_mset_value(m, i2, 1, &val2, &len), 0);
    assert_ptr_equal(val, val2); /* cached: same borrowed pointer */
    assert_int_equal(kbx_mset_value(m, 1 - i2, 1, &val, &len), 0);
    assert_string_equal(val, "2024-06-30");
    assert_int_equal(kbx_mset_value(m, 1, 5, &val, &len), 0);
    assert_int_equal(len, 0);
    kbx_mset_free(m);
    kbx_query_free(q);

    /* A document value set and then removed. */
    kbx_doc *doc = kbx_doc_new();
    assert_int_equal(kbx_doc_set_value(doc, 2, "x", 1), 0);
    assert_int_equal(kbx_doc_set_value(doc, 2, NULL, 0), 0);
    assert_int_equal(kbx_doc_set_value(doc, 2, NULL, 1), KBX_ERR_INVALID);
    assert_true(strlen(kbx_doc_errmsg(doc)) > 0);
    assert_int_equal(kbx_db_replace(w, "Q5", doc), 0);
    kbx_doc_free(doc);
    assert_int_equal(kbx_db_get_value(w, "Q5", 2, &v, &len), 0);
    assert_int_equal(len, 0);
    free(v);
    kbx_db_free(w);
}

/* facet_joined_slot: the parts of one value counted as separate facets;
 * empty and missing parts are not counted, a missing value counts nothing. */
/* Part k of m's joined-slot facets is exactly want ("v=n|v=n"). */
static void expect_part(kbx_mset *m, size_t k, const char *want) {
    struct strs c = {0};
    assert_int_equal(kbx_mset_part_facets(m, k, collect_facet, &c), 0);
    assert_string_equal(c.buf, want);
}

static void test_part_facets(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    put(w, "Q1", "x one", 4, "article\x1fnet\x1f");
    put(w, "Q2", "x two", 4, "article\x1fnet/vpn\x1f");
    put(w, "Q3", "x three", 4, "standard\x1f\x1fgbt-28827");
    put(w, "Q4", "x four", 4, "standard");     /* later parts missing */
    put(w, "Q5", "x five", 4, NULL);           /* no value at all */
    put(w, "Q6", "y six", 4, "article\x1f" "db\x1f"); /* does not match */
    assert_int_equal(commit(w), 0);

    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    assert_int_equal(o.facet_joined_slot, -1);
    o.facet_joined_slot = 4;
    o.facet_parts = 3;
    o.check_at_least = 100;
    o.limit = 1;
    kbx_query *q = T("x");
    kbx_mset *m = run(w, q, &o);
    struct strs c = {0};
    expect_part(m, 0, "article=2|standard=2");
    expect_part(m, 1, "net=1|net/vpn=1");
    expect_part(m, 2, "gbt-28827=1");
    assert_int_equal(kbx_mset_part_facets(m, 3, collect_facet, &c), KBX_ERR_INVALID);
    assert_true(strlen(kbx_mset_errmsg(m)) > 0);
    assert_int_equal(kbx_mset_part_facets(m, 0, NULL, NULL), KBX_ERR_INVALID);
    kbx_mset_free(m);
    /* a search without a joined slot has no parts */
    struct kbx_search_opts plain;
    kbx_search_opts_init(&plain);
    m = run(w, q, &plain);
    assert_int_equal(kbx_mset_part_facets(m, 0, collect_facet, &c), KBX_ERR_INVALID);
    kbx_mset_free(m);

    /* a read-only handle counts from its in-memory copy of the slot: the
       same counts, and new ones after the index changes and it reopens,
       while a result set from before keeps its own */
    kbx_db *r = open_db(f->db, KBX_OPEN_READ);
    m = run(r, q, &o);
    expect_part(m, 0, "article=2|standard=2");
    expect_part(m, 1, "net=1|net/vpn=1");
    kbx_mset *mold = run(r, q, &o); /* read only after the change */
    put(w, "Q1", "x one", 4, "known_error\x1fnet\x1f"); /* replaced */
    put(w, "Q7", "x seven", 4, "article\x1f" "db\x1f");
    assert_int_equal(commit(w), 0);
    int changed = 0;
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 1);
    o.limit = 10;
    kbx_mset *m2 = run(r, q, &o);
    expect_part(m2, 0, "article=2|known_error=1|standard=2");
    expect_part(m2, 1, "db=1|net=1|net/vpn=1");
    expect_part(mold, 0, "article=2|standard=2"); /* the older set, unchanged */
    /* the joined slot's value, read from the in-memory copy, is the stored one */
    static const char *const want[][2] = {
        {"x one", "known_error\x1fnet\x1f"}, {"x two", "article\x1fnet/vpn\x1f"},
        {"x three", "standard\x1f\x1fgbt-28827"}, {"x four", "standard"}, {"x five", ""},
        {"x seven", "article\x1f" "db\x1f"}};
    assert_int_equal(kbx_mset_size(m2), 6);
    for (size_t i = 0; i < kbx_mset_size(m2); i++) {
        const char *d, *v;
        size_t dl, vl;
        assert_int_equal(kbx_mset_data(m2, i, &d, &dl), 0);
        assert_int_equal(kbx_mset_value(m2, i, 4, &v, &vl), 0);
        size_t k = 0;
        while (k < 6 && strcmp(want[k][0], d) != 0)
            k++;
        assert_true(k < 6);
        assert_int_equal(vl, strlen(want[k][1]));
        assert_memory_equal(v, want[k][1], vl);
    }
    kbx_mset_free(mold);
    kbx_mset_free(m2);
    kbx_mset_free(m);
    kbx_db_free(r);
    kbx_query_free(q);
    kbx_db_free(w);
}

/* kbx_query_docids: exactly the listed documents, weight 0, in any order
 * and with repeats; as a filter it keeps the other side's weights. */
static void test_docids(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    uint32_t id[5];
    const char *texts[5] = {"x one", "x two", "x x three", "x four", "y five"};
    for (int i = 0; i < 5; i++) {
        char idterm[16];
        snprintf(idterm, sizeof idterm, "Q%d", i + 1);
        id[i] = put(w, idterm, texts[i], 2, "net");
    }
    assert_int_equal(commit(w), 0);
    assert_null(kbx_query_docids(NULL, 1));
    assert_null(kbx_query_docids(id, 0));

    uint32_t pick[4] = {id[3], id[2], id[3], id[4]}; /* unsorted, a repeat */
    kbx_query *only = kbx_query_docids(pick, 4);
    assert_non_null(only);
    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    kbx_mset *m = run(w, only, &o);
    assert_int_equal(kbx_mset_size(m), 3);
    for (size_t i = 0; i < 3; i++) assert_true(kbx_mset_weight(m, i) == 0.0);
    kbx_mset_free(m);

    kbx_query *full = T("x");
    kbx_mset *mf = run(w, full, &o);
    kbx_query *fq = C2(KBX_OP_FILTER, T("x"), kbx_query_docids(pick, 4), 0);
    m = run(w, fq, &o);
    assert_int_equal(kbx_mset_size(m), 2); /* docs 3 and 4; 5 has no x */
    for (size_t i = 0; i < kbx_mset_size(m); i++) {
        uint32_t d = kbx_mset_docid(m, i);
        assert_true(d == id[2] || d == id[3]);
        int found = 0;
        for (size_t j = 0; j < kbx_mset_size(mf); j++)
            if (kbx_mset_docid(mf, j) == d) {
                assert_true(kbx_mset_weight(mf, j) == kbx_mset_weight(m, i));
                found = 1;
            }
        assert_true(found);
    }
    kbx_mset_free(m);
    kbx_mset_free(mf);
    kbx_query_free(fq);
    kbx_query_free(full);
    kbx_query_free(only);
    kbx_db_free(w);
}

static void test_errors(void **state) {
    struct fx *f = *state;
    char err[512] = "";
    kbx_db *db = (kbx_db *)1;

    /* Opening a nonexistent database read-only: Xapian throws. */
    int rc = kbx_db_open(f->db, KBX_OPEN_READ, &db, err, sizeof err);
    assert_int_equal(rc, KBX_ERR_NODB);
    assert_null(db);
    assert_true(strlen(err) > 0);
    assert_string_not_equal(kbx_strerror(rc), kbx_strerror(KBX_ERR_LOCK));
    assert_int_equal(kbx_db_open(NULL, KBX_OPEN_READ, &db, err, sizeof err), KBX_ERR_INVALID);
    assert_int_equal(kbx_db_open(f->db, 42, &db, NULL, 0), KBX_ERR_INVALID);
    assert_null(db);

    /* A second writer gets the lock error and a message. */
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    err[0] = '\0';
    rc = kbx_db_open(f->db, KBX_OPEN_WRITE, &db, err, sizeof err);
    assert_int_equal(rc, KBX_ERR_LOCK);
    assert_null(db);
    assert_non_null(strstr(err, "DatabaseLockError"));
    /* ... and a tiny buffer is still NUL-terminated. */
    char small[8];
    assert_int_equal(kbx_db_open(f->db, KBX_OPEN_OVERWRITE, &db, small, sizeof small), KBX_ERR_LOCK);
    assert_int_equal(strlen(small), sizeof small - 1);

    /* NULL arguments. */
    uint32_t n = 0;
    assert_int_equal(kbx_db_doccount(NULL, &n), KBX_ERR_INVALID);
    assert_int_equal(kbx_db_doccount(w, NULL), KBX_ERR_INVALID);
    assert_true(strlen(kbx_db_errmsg(w)) > 0);
    assert_int_equal(kbx_db_doccount(w, &n), 0);
    assert_string_equal(kbx_db_errmsg(w), ""); /* cleared by a successful call */
    assert_non_null(kbx_db_errmsg(NULL));
    assert_int_equal(kbx_db_replace(w, "Qx", NULL), KBX_ERR_INVALID);
    assert_int_equal(kbx_db_replace(NULL, "Qx", NULL), KBX_ERR_INVALID);
    assert_int_equal(kbx_db_get_data(w, NULL, NULL, NULL), KBX_ERR_INVALID);
    assert_int_equal(kbx_db_allterms(w, NULL, NULL, NULL), KBX_ERR_INVALID);
    kbx_mset *m = (kbx_mset *)1;
    assert_int_equal(kbx_search(w, NULL, NULL, &m), KBX_ERR_INVALID);
    assert_null(m);
    assert_int_equal(kbx_doc_add_posting(NULL, "a", 1, 1, 1), KBX_ERR_INVALID);
    assert_null(kbx_query_term(NULL, 3, 1, 0));
    assert_null(kbx_query_scale(NULL, 1.0));
    assert_int_equal(kbx_mset_size(NULL), 0);
    assert_int_equal(kbx_mset_docid(NULL, 0), 0);
    kbx_db_free(NULL);
    kbx_doc_free(NULL);
    kbx_query_free(NULL);
    kbx_mset_free(NULL);

    /* Terms: empty rejected; too long skipped; the limit itself accepted. */
    kbx_doc *doc = kbx_doc_new();
    assert_int_equal(kbx_doc_add_posting(doc, "", 0, 1, 1), KBX_ERR_INVALID);
    assert_true(strlen(kbx_doc_errmsg(doc)) > 0);
    char longterm[400];
    memset(longterm, 'x', sizeof longterm);
    assert_int_equal(kbx_doc_add_posting(doc, longterm, 300, 1, 1), 0);
    assert_int_equal(kbx_doc_add_term(doc, longterm, KBX_MAX_TERM_LEN + 1, 1), 0);
    assert_int_equal(kbx_doc_add_boolean_term(doc, longterm, sizeof longterm), 0);
    assert_int_equal(kbx_doc_add_posting(doc, longterm, KBX_MAX_TERM_LEN, 2, 1), 0);
    assert_int_equal(kbx_db_replace(w, "Qlong", doc), 0);
    assert_int_equal(commit(w), 0);
    char idlong[KBX_MAX_TERM_LEN + 2];
    memset(idlong, 'Q', sizeof idlong - 1);
    idlong[sizeof idlong - 1] = '\0';
    assert_int_equal(kbx_db_replace(w, idlong, doc), KBX_ERR_TOOLONG);
    kbx_doc_free(doc);
    struct strs c = {0};
    assert_int_equal(kbx_db_allterms(w, "xxx", collect_term, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(strlen(c.buf), KBX_MAX_TERM_LEN + 2); /* term + "=1" */

    /* Xapian-side argument errors come back as codes. */
    char longkey[600];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    assert_int_equal(kbx_db_set_metadata(w, longkey, "v", 1), KBX_ERR_TOOLONG);
    assert_true(strlen(kbx_db_errmsg(w)) > 0);
    /* Synonyms and spellings are buffered until commit, where a long key
     * would fail the whole commit: they are refused up front. */
    assert_int_equal(kbx_db_add_synonym(w, longkey, "v"), KBX_ERR_TOOLONG);
    assert_int_equal(kbx_db_add_synonym(w, "v", longkey), KBX_ERR_TOOLONG);
    assert_int_equal(kbx_db_add_spelling(w, longkey, 1), KBX_ERR_TOOLONG);
    assert_int_equal(commit(w), 0);
    /* A Xapian-side InvalidArgumentError (key too long for a lookup). */
    char *mv = NULL;
    rc = kbx_db_get_metadata(w, longkey, &mv, NULL);
    if (rc == 0) {
        free(mv);
    } else {
        assert_true(rc < 0);
        assert_null(mv);
    }

    /* A phrase over an AND subquery: Xapian throws while building it
     * (UnimplementedError: positional operators take leaf subqueries), the
     * wrapper returns NULL. */
    kbx_query *vr = C2(KBX_OP_AND, T("a"), T("b"), 0);
    kbx_query *x = T("x");
    kbx_query *mix[2] = {x, vr};
    assert_null(kbx_query_combine(KBX_OP_PHRASE, mix, 2, 0));
    kbx_query *ok = kbx_query_combine(KBX_OP_AND, mix, 2, 0);
    assert_non_null(ok);
    kbx_query_free(ok);
    kbx_query_free(x);
    kbx_query_free(vr);

    /* Mset indexes past the end. */
    kbx_query *q = kbx_query_match_all();
    m = NULL;
    assert_int_equal(kbx_search(w, q, NULL, &m), 0);
    assert_int_equal(kbx_mset_size(m), 1);
    const char *d = (const char *)1;
    assert_int_equal(kbx_mset_data(m, 5, &d, NULL), KBX_ERR_RANGE);
    assert_null(d);
    assert_true(strlen(kbx_mset_errmsg(m)) > 0);
    assert_int_equal(kbx_mset_docid(m, 5), 0);
    assert_true(kbx_mset_weight(m, 5) == 0);
    kbx_mset_free(m);

    /* Read-only handle writes. */
    kbx_db *r = open_db(f->db, KBX_OPEN_READ);
    doc = kbx_doc_new();
    assert_int_equal(kbx_db_replace(r, "Qy", doc), KBX_ERR_READONLY);
    assert_int_equal(kbx_db_delete(r, "Qlong"), KBX_ERR_READONLY);
    assert_int_equal(kbx_db_begin(r), KBX_ERR_READONLY);
    kbx_doc_free(doc);

    /* An mset used after its db was freed fails cleanly (documented misuse). */
    m = NULL;
    assert_int_equal(kbx_search(r, q, NULL, &m), 0);
    kbx_db_free(r);
    assert_int_equal(kbx_mset_data(m, 0, &d, NULL), KBX_ERR_CLOSED);
    assert_non_null(strstr(kbx_mset_errmsg(m), "DatabaseClosedError"));
    kbx_mset_free(m);
    kbx_query_free(q);
    kbx_db_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_create_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_part_facets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_docids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
