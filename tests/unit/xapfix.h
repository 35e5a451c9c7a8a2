/* xapfix: what the unit tests of the Xapian wrapper (test_xapian*.c) share:
 * the per-test fixture (a fresh folder /tmp/kbx_test_XXXXXX holding the
 * database path f->db, removed afterwards; cmocka setup/teardown) and the
 * helpers that open a database, index words, store a document, build and
 * run queries, and collect what the wrapper's callbacks report (callbacks
 * only record: a failed assertion longjmps, which must not cross the C++
 * frames of the wrapper). Include after <cmocka.h>; static inline, so a
 * file may use only some. The fixture is calloc'ed by setup and freed by
 * teardown; everything else the caller frees as the wrapper's header says. */
#ifndef KB_XAPFIX_H
#define KB_XAPFIX_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kb_xapian.h"

struct fx {
    char dir[64];
    char db[128];
};

static inline int rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return -1;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[1024];
            int n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            if (n > 0 && (size_t)n < sizeof sub) rm_rf(sub); /* a longer path is left: rmdir fails */
        }
        closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

static inline int setup(void **state) {
    struct fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    strcpy(f->dir, "/tmp/kbx_test_XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    *state = f;
    return 0;
}

static inline int teardown(void **state) {
    struct fx *f = *state;
    int rc = rm_rf(f->dir);
    free(f);
    return rc;
}

/* ---- helpers ------------------------------------------------------------- */

static inline kbx_db *open_db(const char *path, int mode) {
    char err[512];
    kbx_db *db = NULL;
    int rc = kbx_db_open(path, mode, &db, err, sizeof err);
    if (rc) print_error("kbx_db_open(%s): %s: %s\n", path, kbx_strerror(rc), err);
    assert_int_equal(rc, 0);
    assert_non_null(db);
    return db;
}

/* Adds the space-separated words of text as postings at positions 1, 2, ...
 * (no position when positional is 0). */
static inline void add_words(kbx_doc *doc, const char *text, int positional) {
    uint32_t pos = 1;
    const char *p = text;
    while (*p) {
        while (*p == ' ') p++;
        const char *s = p;
        while (*p && *p != ' ') p++;
        if (p > s) {
            int rc = positional ? kbx_doc_add_posting(doc, s, (size_t)(p - s), pos++, 1)
                                : kbx_doc_add_term(doc, s, (size_t)(p - s), 1);
            assert_int_equal(rc, 0);
        }
    }
}

/* The document id of the document indexed by idterm, found as the search
 * core finds one (a search, kbx_mset_docid); it must exist. */
static inline uint32_t docid_of(kbx_db *db, const char *idterm) {
    kbx_query *q = kbx_query_term(idterm, strlen(idterm), 1, 0);
    kbx_mset *m = NULL;
    assert_int_equal(kbx_search(db, q, NULL, &m), 0);
    assert_int_equal(kbx_mset_size(m), 1);
    uint32_t did = kbx_mset_docid(m, 0);
    assert_true(did > 0);
    kbx_mset_free(m);
    kbx_query_free(q);
    return did;
}

/* Commits the changes made so far, as the indexer does: a flushed
 * transaction commits pending changes when it starts. */
static inline int commit(kbx_db *db) {
    int rc = kbx_db_begin(db);
    return rc ? rc : kbx_db_commit_tx(db);
}

/* Stores a document with id term idterm, words text (also its data) and,
 * if v is not NULL, value v in slot. */
static inline uint32_t put(kbx_db *db, const char *idterm, const char *text, unsigned slot,
                    const char *v) {
    kbx_doc *doc = kbx_doc_new();
    assert_non_null(doc);
    add_words(doc, text, 1);
    assert_int_equal(kbx_doc_set_data(doc, text, strlen(text)), 0);
    if (v) assert_int_equal(kbx_doc_set_value(doc, slot, v, strlen(v)), 0);
    int rc = kbx_db_replace(db, idterm, doc);
    if (rc) print_error("replace %s: %s\n", idterm, kbx_db_errmsg(db));
    assert_int_equal(rc, 0);
    kbx_doc_free(doc);
    return docid_of(db, idterm);
}

static inline kbx_query *T(const char *term) {
    kbx_query *q = kbx_query_term(term, strlen(term), 1, 0);
    assert_non_null(q);
    return q;
}

/* Combines two queries and frees them. */
static inline kbx_query *C2(int op, kbx_query *a, kbx_query *b, uint32_t param) {
    kbx_query *subs[2] = {a, b};
    kbx_query *q = kbx_query_combine(op, subs, 2, param);
    assert_non_null(q);
    kbx_query_free(a);
    kbx_query_free(b);
    return q;
}

static inline kbx_mset *run(kbx_db *db, const kbx_query *q, const struct kbx_search_opts *o) {
    kbx_mset *m = NULL;
    int rc = kbx_search(db, q, o, &m);
    if (rc) print_error("search: %s\n", kbx_db_errmsg(db));
    assert_int_equal(rc, 0);
    assert_non_null(m);
    return m;
}

/* Number of matches of q (query freed). */
static inline size_t count(kbx_db *db, kbx_query *q) {
    struct kbx_search_opts o;
    kbx_search_opts_init(&o);
    o.limit = 100;
    kbx_mset *m = run(db, q, &o);
    size_t n = kbx_mset_size(m);
    kbx_mset_free(m);
    kbx_query_free(q);
    return n;
}

/* Data of result i, copied into buf. */
static inline const char *data_of(kbx_mset *m, size_t i, char *buf, size_t n) {
    const char *d = NULL;
    size_t len = 0;
    assert_int_equal(kbx_mset_data(m, i, &d, &len), 0);
    assert_non_null(d);
    snprintf(buf, n, "%.*s", (int)len, d);
    return buf;
}

static inline double absd(double x) { return x < 0 ? -x : x; }

/* Collects strings into one "a|b|c" buffer. */
struct strs {
    char buf[1024];
    size_t n;
    int stop_after; /* 0: never stop; else return 7 after that many */
};

static inline int collect_str(void *ud, const char *s, size_t len) {
    struct strs *c = ud;
    size_t used = strlen(c->buf);
    snprintf(c->buf + used, sizeof c->buf - used, "%s%.*s", c->n ? "|" : "", (int)len, s);
    c->n++;
    if (c->stop_after && c->n >= (size_t)c->stop_after) return 7;
    return 0;
}

static inline int collect_term(void *ud, const char *s, size_t len, uint32_t freq) {
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%.*s=%u", (int)len, s, (unsigned)freq);
    return collect_str(ud, tmp, strlen(tmp));
}

static inline int collect_facet(void *ud, const char *s, size_t len, uint32_t count) {
    return collect_term(ud, s, len, count);
}

#endif
