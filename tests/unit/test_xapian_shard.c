/* Unit tests of kb_xapian's shards (kbx_db_open_shards: local folders
 * searched as one, a shard missing left out and taken in once it exists,
 * the synthetic revision, bad specs) and of a replica folder whose stub
 * file (XAPIANDB, as xapian-replicate writes it) is switched to a new full
 * copy. Remote shards (xapian-tcpsrv) are tested end to end in
 * tests/e2e/scaleout.test.mjs. Each test works in a fresh folder under /tmp,
 * removed afterwards. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xapfix.h"

/* Writes a database at path holding one document per "idterm word" pair. */
static void make_db(const char *path, const char *const *docs, size_t n) {
    char err[512];
    kbx_db *w = NULL;
    int rc = kbx_db_open(path, KBX_OPEN_WRITE, &w, err, sizeof err);
    if (rc) print_error("open %s: %s\n", path, err);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < n; i += 2) {
        kbx_doc *d = kbx_doc_new();
        assert_non_null(d);
        assert_int_equal(kbx_doc_add_posting(d, docs[i + 1], strlen(docs[i + 1]), 1, 1), 0);
        assert_int_equal(kbx_db_replace(w, docs[i], d), 0);
        kbx_doc_free(d);
    }
    assert_int_equal(kbx_db_begin(w), 0);
    assert_int_equal(kbx_db_commit_tx(w), 0);
    kbx_db_free(w);
}

static size_t hits(kbx_db *db, const char *word) {
    kbx_query *q = kbx_query_term(word, strlen(word), 1, 0);
    kbx_mset *m = NULL;
    int rc = kbx_search(db, q, NULL, &m);
    if (rc) print_error("search: %s\n", kbx_db_errmsg(db));
    assert_int_equal(rc, 0);
    size_t n = kbx_mset_size(m);
    kbx_mset_free(m);
    kbx_query_free(q);
    return n;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_local_shards(void **state) {
    struct fx *f = *state;
    char a[128], b[128], c[128];
    snprintf(a, sizeof a, "%s/a", f->dir);
    snprintf(b, sizeof b, "%s/b", f->dir);
    snprintf(c, sizeof c, "%s/c", f->dir); /* missing at first */
    const char *da[] = {"Q1", "alpha", "Q2", "beta"};
    const char *db_[] = {"Q3", "alpha"};
    make_db(a, da, 4);
    make_db(b, db_, 2);
    const char *specs[] = {a, b, c};
    char err[512];
    kbx_db *s = NULL;
    assert_int_equal(kbx_db_open_shards(specs, 3, 500, &s, err, sizeof err), 0);
    assert_int_equal(kbx_db_shard_count(s), 3);
    assert_int_equal(kbx_db_has_remote(s), 0);
    uint32_t n = 0;
    assert_int_equal(kbx_db_doccount(s, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(hits(s, "alpha"), 2); /* one from each shard up */
    const char *why = "x";
    assert_string_equal(kbx_db_shard(s, 0, &why), a);
    assert_null(why);
    assert_string_equal(kbx_db_shard(s, 2, &why), c);
    assert_non_null(why); /* down: the folder does not exist */
    assert_null(kbx_db_shard(s, 3, &why));
    uint64_t rev1 = 0, rev2 = 0;
    assert_int_equal(kbx_db_revision(s, &rev1), 0);
    assert_int_equal(rev1 & ((1u << KBX_MAX_SHARDS) - 1), 3u); /* shards 0 and 1 up */

    /* the missing shard appears: taken in at a reopen, within the retry
       interval (bounded wait on the condition) */
    const char *dc[] = {"Q4", "alpha"};
    make_db(c, dc, 2);
    double end = now_s() + 5;
    int changed = 0;
    for (;;) {
        assert_int_equal(kbx_db_reopen(s, &changed), 0);
        kbx_db_shard(s, 2, &why);
        if (!why || now_s() > end) break;
        nanosleep(&(struct timespec){0, 20000000}, NULL); /* poll interval */
    }
    assert_null(why);
    assert_int_equal(changed, 1);
    assert_int_equal(hits(s, "alpha"), 3);
    assert_int_equal(kbx_db_revision(s, &rev2), 0);
    assert_int_not_equal(rev1, rev2);

    /* a commit on one shard moves the revision; nothing moves it otherwise */
    assert_int_equal(kbx_db_reopen(s, &changed), 0);
    assert_int_equal(changed, 0);
    const char *more[] = {"Q5", "alpha"};
    make_db(a, more, 2);
    assert_int_equal(kbx_db_reopen(s, &changed), 0);
    assert_int_equal(changed, 1);
    uint64_t rev3 = 0;
    assert_int_equal(kbx_db_revision(s, &rev3), 0);
    assert_true(rev3 > rev2);
    assert_int_equal(hits(s, "alpha"), 4);
    kbx_db_free(s);
}

static void test_bad_specs(void **state) {
    (void)state;
    char err[512];
    kbx_db *s = (kbx_db *)1;
    const char *none[] = {NULL};
    assert_int_equal(kbx_db_open_shards(none, 0, 0, &s, err, sizeof err), KBX_ERR_INVALID);
    assert_null(s);
    const char *bad[][1] = {{"tcp:127.0.0.1"}, {"tcp:127.0.0.1:99999"}, {"tcp::7000"},
                            {"tcp:127.0.0.1:7x"}, {""}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        assert_int_equal(kbx_db_open_shards(bad[i], 1, 0, &s, err, sizeof err), KBX_ERR_INVALID);
        assert_null(s);
        assert_true(strlen(err) > 0);
    }
    const char *many[KBX_MAX_SHARDS + 1];
    for (size_t i = 0; i <= KBX_MAX_SHARDS; i++) many[i] = "/nonexistent";
    assert_int_equal(kbx_db_open_shards(many, KBX_MAX_SHARDS + 1, 0, &s, err, sizeof err),
                     KBX_ERR_INVALID);
    /* every shard down: an empty union, each one reported */
    assert_int_equal(kbx_db_open_shards(many, 2, 0, &s, err, sizeof err), 0);
    uint32_t n = 9;
    assert_int_equal(kbx_db_doccount(s, &n), 0);
    assert_int_equal(n, 0);
    const char *why = NULL;
    kbx_db_shard(s, 1, &why);
    assert_non_null(why);
    kbx_db_free(s);
}

/* A replica as xapian-replicate keeps it: a folder with a stub XAPIANDB
 * naming the current copy; a full copy is switched in by a new stub. */
static void test_replica_stub_switch(void **state) {
    struct fx *f = *state;
    char rep[128], c0[160], c1[160], stub[160];
    snprintf(rep, sizeof rep, "%s/rep", f->dir);
    snprintf(c0, sizeof c0, "%s/replica_0", rep);
    snprintf(c1, sizeof c1, "%s/replica_1", rep);
    snprintf(stub, sizeof stub, "%s/XAPIANDB", rep);
    assert_int_equal(mkdir(rep, 0755), 0);
    const char *d0[] = {"Q1", "alpha"};
    make_db(c0, d0, 2);
    FILE *s = fopen(stub, "w");
    assert_non_null(s);
    fputs("auto replica_0\n", s);
    fclose(s);
    char err[512];
    kbx_db *r = NULL;
    assert_int_equal(kbx_db_open(rep, KBX_OPEN_READ, &r, err, sizeof err), 0);
    assert_int_equal(hits(r, "alpha"), 1);
    int changed = -1;
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 0);

    /* the full copy written beside, then the stub replaced by a rename */
    const char *d1[] = {"Q1", "alpha", "Q2", "alpha"};
    make_db(c1, d1, 4);
    char tmp[200];
    snprintf(tmp, sizeof tmp, "%s.tmp", stub);
    s = fopen(tmp, "w");
    assert_non_null(s);
    fputs("auto replica_1\n", s);
    fclose(s);
    assert_int_equal(rename(tmp, stub), 0);
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(hits(r, "alpha"), 2);
    assert_int_equal(rm_rf(c0), 0); /* the old copy removed: nothing reads it */
    assert_int_equal(hits(r, "alpha"), 2);
    assert_int_equal(kbx_db_reopen(r, &changed), 0);
    assert_int_equal(changed, 0);
    kbx_db_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_local_shards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_specs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replica_stub_switch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
