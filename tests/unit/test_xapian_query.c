/* test_xapian_query: unit tests for the query side of the kb_xapian C
 * wrapper (shared/kb_xapian.h): boolean and positional operators and a
 * document's term list with positions, ELITE_SET and scaling, synonyms and
 * spelling, BM25 parameters, all terms with their twin counts, and Chinese
 * UTF-8 terms. The storage side is in test_xapian.c. Each test works in its
 * own fresh directory under /tmp, removed afterwards (xapfix.h). Callbacks
 * only record what they see (no assertions inside them: a failed assertion
 * longjmps, which must not cross the C++ frames of the wrapper). */
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

struct pos_rec_t {
    uint32_t wdf;
    uint32_t pos[4];
    size_t npos;
    int seen;
};
struct docterm_ctx {
    struct pos_rec_t *rec;
    struct strs *c;
};

static int docterm_cb(void *ud, const char *term, size_t len, uint32_t wdf,
               const uint32_t *positions, size_t npos) {
    struct docterm_ctx *x = ud;
    collect_str(x->c, term, len);
    if (len == 5 && !memcmp(term, "brown", 5)) {
        x->rec->seen++;
        x->rec->wdf = wdf;
        x->rec->npos = npos;
        for (size_t i = 0; i < npos && i < 4; i++) x->rec->pos[i] = positions[i];
    }
    return 0;
}

static void test_operators_positions(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    uint32_t a = put(w, "QA", "quick brown fox", 0, NULL);
    put(w, "QB", "brown quick fox", 0, NULL);
    put(w, "QC", "quick red fox brown", 0, NULL);
    assert_int_equal(commit(w), 0);

    assert_int_equal(count(w, C2(KBX_OP_AND, T("quick"), T("fox"), 0)), 3);
    assert_int_equal(count(w, C2(KBX_OP_AND, T("quick"), T("zebra"), 0)), 0);
    assert_int_equal(count(w, C2(KBX_OP_OR, T("red"), T("zebra"), 0)), 1);
    assert_int_equal(count(w, C2(KBX_OP_AND_NOT, T("fox"), T("red"), 0)), 2);
    assert_int_equal(count(w, C2(KBX_OP_XOR, T("red"), T("quick"), 0)), 2);
    assert_int_equal(count(w, C2(KBX_OP_AND_MAYBE, T("red"), T("quick"), 0)), 1);
    assert_int_equal(count(w, C2(KBX_OP_MAX, T("red"), T("zebra"), 0)), 1);
    assert_int_equal(count(w, C2(KBX_OP_SYNONYM, T("red"), T("zebra"), 0)), 1);

    /* Phrase: only adjacent positions in order. */
    kbx_query *ph = C2(KBX_OP_PHRASE, T("quick"), T("brown"), 0);
    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    kbx_mset *m = run(w, ph, &o);
    assert_int_equal(kbx_mset_size(m), 1);
    assert_int_equal(kbx_mset_docid(m, 0), a);
    kbx_mset_free(m);
    kbx_query_free(ph);
    assert_int_equal(count(w, C2(KBX_OP_PHRASE, T("fox"), T("quick"), 0)), 0);
    assert_int_equal(count(w, C2(KBX_OP_PHRASE, T("red"), T("fox"), 0)), 1);
    assert_int_equal(count(w, C2(KBX_OP_PHRASE, T("brown"), T("quick"), 0)), 1);

    /* Near: any order within the window. */
    assert_int_equal(count(w, C2(KBX_OP_NEAR, T("quick"), T("brown"), 2)), 2);
    assert_int_equal(count(w, C2(KBX_OP_NEAR, T("quick"), T("brown"), 4)), 3);

    /* Terms in byte order, and the stored positions of "brown". */
    struct pos_rec_t rec = {0};
    struct strs c = {0};
    struct docterm_ctx ctx = {&rec, &c};
    assert_int_equal(kbx_db_doc_terms(w, "QC", docterm_cb, &ctx), 0);
    assert_string_equal(c.buf, "QC|brown|fox|quick|red");
    assert_int_equal(rec.seen, 1);
    assert_int_equal(rec.wdf, 1);
    assert_int_equal(rec.npos, 1);
    assert_int_equal(rec.pos[0], 4);
    memset(&c, 0, sizeof c);
    memset(&rec, 0, sizeof rec);
    assert_int_equal(kbx_db_doc_terms(w, "QA", docterm_cb, &ctx), 0);
    assert_int_equal(rec.pos[0], 2);
    assert_int_equal(kbx_db_doc_terms(w, "QZ", docterm_cb, &ctx), KBX_ERR_NOTFOUND);

    /* Query construction edge cases. */
    kbx_query *e = kbx_query_combine(KBX_OP_AND, NULL, 0, 0);
    assert_non_null(e);
    assert_int_equal(count(w, e), 0); /* the empty query matches nothing */
    kbx_query *t = T("quick");
    kbx_query *bad[2] = {t, NULL};
    assert_null(kbx_query_combine(KBX_OP_AND, bad, 2, 0));
    assert_null(kbx_query_combine(99, bad, 1, 0));
    assert_null(kbx_query_term("", 0, 1, 0));
    assert_null(kbx_query_scale(t, -1.0));
    kbx_query_free(t);
    assert_int_equal(count(w, kbx_query_match_all()), 3);
    kbx_db_free(w);
}

static void test_elite_set_scale(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    put(w, "Q1", "common rare", 0, NULL);
    put(w, "Q2", "common filler", 0, NULL);
    put(w, "Q3", "common filler", 0, NULL);
    put(w, "Q4", "common filler", 0, NULL);
    put(w, "Q5", "common filler", 0, NULL);
    assert_int_equal(commit(w), 0);

    assert_int_equal(count(w, C2(KBX_OP_OR, T("rare"), T("common"), 0)), 5);
    /* The elite set of size 1 keeps only the most discriminating term. */
    kbx_query *el = C2(KBX_OP_ELITE_SET, T("rare"), T("common"), 1);
    assert_int_equal(count(w, el), 1);

    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    kbx_query *q = T("rare");
    kbx_mset *m = run(w, q, &o);
    double w1 = kbx_mset_weight(m, 0);
    assert_true(w1 > 0);
    kbx_mset_free(m);
    kbx_query *s = kbx_query_scale(q, 2.5);
    assert_non_null(s);
    kbx_query_free(q); /* the scaled query holds its own copy */
    m = run(w, s, &o);
    assert_int_equal(kbx_mset_size(m), 1);
    assert_true(absd(kbx_mset_weight(m, 0) - 2.5 * w1) < 1e-9);
    kbx_mset_free(m);
    kbx_query_free(s);
    kbx_db_free(w);
}

static void test_synonyms_spelling(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    assert_int_equal(kbx_db_add_synonym(w, "db", "database"), 0);
    assert_int_equal(kbx_db_add_synonym(w, "db", "数据库"), 0);
    assert_int_equal(kbx_db_add_synonym(w, "dns", "resolver"), 0);
    assert_int_equal(kbx_db_add_synonym(w, "os", "kernel"), 0);
    assert_int_equal(kbx_db_add_spelling(w, "database", 3), 0);
    assert_int_equal(kbx_db_add_spelling(w, "databank", 1), 0);
    assert_int_equal(kbx_db_add_spelling(w, "数据库", 1), 0);
    assert_int_equal(commit(w), 0);

    struct strs c = {0};
    assert_int_equal(kbx_db_synonyms(w, "db", collect_str, &c), 0);
    assert_string_equal(c.buf, "database|数据库");
    memset(&c, 0, sizeof c);
    assert_int_equal(kbx_db_synonym_keys(w, "d", collect_str, &c), 0);
    assert_string_equal(c.buf, "db|dns");
    assert_int_equal(kbx_db_clear_synonyms(w, "db"), 0);
    assert_int_equal(kbx_db_add_synonym(w, "db", "数据库"), 0);
    assert_int_equal(kbx_db_clear_synonyms(w, "dns"), 0);
    assert_int_equal(commit(w), 0);
    memset(&c, 0, sizeof c);
    assert_int_equal(kbx_db_synonyms(w, "db", collect_str, &c), 0);
    assert_string_equal(c.buf, "数据库");
    memset(&c, 0, sizeof c);
    assert_int_equal(kbx_db_synonym_keys(w, NULL, collect_str, &c), 0);
    assert_string_equal(c.buf, "db|os");

    char *s = NULL;
    assert_int_equal(kbx_db_spelling_suggestion(w, "databse", 2, &s), 0);
    assert_non_null(s);
    assert_string_equal(s, "database");
    free(s);
    assert_int_equal(kbx_db_spelling_suggestion(w, "数据裤", 1, &s), 0);
    assert_non_null(s);
    assert_string_equal(s, "数据库");
    free(s);
    assert_int_equal(kbx_db_spelling_suggestion(w, "qqqqqqqq", 2, &s), 0);
    assert_null(s);
    assert_int_equal(kbx_db_remove_spelling(w, "database", 3), 0);
    assert_int_equal(commit(w), 0);
    assert_int_equal(kbx_db_spelling_suggestion(w, "databse", 2, &s), 0);
    assert_null(s);
    kbx_db_free(w);

    kbx_db *r = open_db(f->db, KBX_OPEN_READ);
    assert_int_equal(kbx_db_add_synonym(r, "a", "b"), KBX_ERR_READONLY);
    assert_int_equal(kbx_db_add_spelling(r, "a", 1), KBX_ERR_READONLY);
    memset(&c, 0, sizeof c);
    assert_int_equal(kbx_db_synonyms(r, "os", collect_str, &c), 0);
    assert_string_equal(c.buf, "kernel");
    kbx_db_free(r);
}

static void test_bm25_params(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    put(w, "Q1", "alpha alpha alpha beta gamma delta epsilon zeta eta theta", 0, NULL);
    put(w, "Q2", "alpha beta", 0, NULL);
    put(w, "Q3", "beta gamma", 0, NULL);
    put(w, "Q4", "gamma delta", 0, NULL);
    assert_int_equal(commit(w), 0);

    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    assert_true(o.bm25_k1 == 1 && o.bm25_k2 == 0 && o.bm25_k3 == 1);
    assert_true(o.bm25_b == 0.5 && o.bm25_min_normlen == 0.5);
    assert_int_equal(o.limit, 10);
    assert_int_equal(o.facet_joined_slot, -1);

    kbx_query *q = T("alpha");
    kbx_mset *m = run(w, q, &o);
    assert_int_equal(kbx_mset_size(m), 2);
    double w0 = kbx_mset_weight(m, 0) + kbx_mset_weight(m, 1);
    kbx_mset_free(m);

    o.bm25_k1 = 2.0;
    m = run(w, q, &o);
    double wk = kbx_mset_weight(m, 0) + kbx_mset_weight(m, 1);
    kbx_mset_free(m);
    assert_true(absd(wk - w0) > 1e-6);

    o.bm25_k1 = 1.0;
    o.bm25_b = 1.0;
    m = run(w, q, &o);
    double wb = kbx_mset_weight(m, 0) + kbx_mset_weight(m, 1);
    kbx_mset_free(m);
    assert_true(absd(wb - w0) > 1e-6);

    /* k1 = 0: wdf and length are ignored, both documents weigh the same. */
    o.bm25_k1 = 0;
    m = run(w, q, &o);
    assert_true(absd(kbx_mset_weight(m, 0) - kbx_mset_weight(m, 1)) < 1e-9);
    kbx_mset_free(m);

    kbx_query_free(q);
    kbx_db_free(w);
}

static int collect_twin(void *ud, const char *s, size_t len, uint32_t tf, uint32_t twf) {
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%.*s=%u/%u", (int)len, s, (unsigned)tf, (unsigned)twf);
    return collect_str(ud, tmp, strlen(tmp));
}

/* Each term with the frequency of its twin (H + term), in one walk. */
static void test_allterms_twin(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    put(w, "Q1", "radius radiusd ra Hradius", 0, NULL);
    put(w, "Q2", "radius Hradius Hradiusd", 0, NULL);
    put(w, "Q3", "radio rb", 0, NULL);
    assert_int_equal(commit(w), 0);
    struct strs c = {0};
    assert_int_equal(kbx_db_allterms_twin(w, "ra", "H", collect_twin, &c), 0);
    assert_string_equal(c.buf, "ra=1/0|radio=1/0|radius=2/2|radiusd=1/1");
    struct strs stop = {.stop_after = 2};
    assert_int_equal(kbx_db_allterms_twin(w, "ra", "H", collect_twin, &stop), 7);
    struct strs none = {0};
    assert_int_equal(kbx_db_allterms_twin(w, "zz", "H", collect_twin, &none), 0);
    assert_int_equal(none.n, 0);
    assert_int_equal(kbx_db_allterms_twin(w, "ra", "", collect_twin, &none), KBX_ERR_INVALID);
    assert_int_equal(kbx_db_allterms_twin(w, "ra", "H", NULL, NULL), KBX_ERR_INVALID);
    kbx_db_free(w);
}

static void test_chinese_terms(void **state) {
    struct fx *f = *state;
    kbx_db *w = open_db(f->db, KBX_OPEN_WRITE);
    put(w, "QKE-0001", "数据库 连接 超时 故障", 0, NULL);
    put(w, "QKE-0002", "数据 备份 故障", 0, NULL);
    put(w, "QKB-0003", "服务器 重启", 0, NULL);
    assert_int_equal(commit(w), 0);

    uint32_t tf = 0;
    assert_int_equal(kbx_db_termfreq(w, "故障", &tf), 0);
    assert_int_equal(tf, 2);
    struct strs c = {0};
    assert_int_equal(kbx_db_allterms(w, "数据", collect_term, &c), 0);
    assert_string_equal(c.buf, "数据=1|数据库=1");

    assert_int_equal(count(w, C2(KBX_OP_AND, T("故障"), T("超时"), 0)), 1);
    assert_int_equal(count(w, C2(KBX_OP_PHRASE, T("连接"), T("超时"), 0)), 1);
    assert_int_equal(count(w, C2(KBX_OP_PHRASE, T("超时"), T("连接"), 0)), 0);

    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    kbx_query *q = T("重启");
    kbx_mset *m = run(w, q, &o);
    assert_int_equal(kbx_mset_size(m), 1);
    char buf[128];
    assert_string_equal(data_of(m, 0, buf, sizeof buf), "服务器 重启");
    kbx_mset_free(m);
    kbx_query_free(q);

    char *data = NULL;
    assert_int_equal(kbx_db_get_data(w, "QKE-0002", &data, NULL), 0);
    assert_string_equal(data, "数据 备份 故障");
    free(data);
    kbx_db_free(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_operators_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elite_set_scale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synonyms_spelling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bm25_params, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chinese_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allterms_twin, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
