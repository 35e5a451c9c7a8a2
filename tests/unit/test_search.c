/* Unit tests for the search core (kb_search) over the real demo corpus,
 * indexed by the real indexer binary into a temporary folder. Run from the
 * repository root (scripts/testrun.sh does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kb_schema.h"
#include "kb_search.h"
#include "kb_util.h"
#include "kb_vis.h"
#include "kb_xapian.h"

/* searchd renders the result structs (codec_json.c); its /search writer is
 * checked here against Jansson, on real results */
#include "../../searchd/codec_json.c"

static char g_dir[64];
static char g_index[128];
static kb_lexicon *g_lx;
static kb_searcher *g_s;

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/kbsearchXXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_index, sizeof g_index, "%s/index", g_dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r corpora %s/corpus && build/bin/indexer build --quiet "
             "--corpus %s/corpus --index %s >/dev/null", g_dir, g_dir, g_index);
    if (run(cmd) != 0)
        return -1;
    g_lx = kb_lexicon_new_builtin();
    char err[KB_ERR_MAX];
    return kb_searcher_new(g_index, g_lx, &g_s, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    kb_searcher_free(g_s);
    kb_lexicon_free(g_lx);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return run(cmd);
}

static void search(const char *q, int internal, const char *kind, struct kb_search_res *res)
{
    struct kb_search_req r = {0};
    r.q = q;
    r.qlen = strlen(q);
    r.internal = internal;
    r.kind = kind;
    r.limit = 10;
    char err[KB_ERR_MAX] = "";
    int rc = kb_search_run(g_s, &r, res, err, sizeof err);
    if (rc != 0)
        fail_msg("search '%s' failed: %d %s", q, rc, err);
}

/* Position (0-based) of id in the hits, or -1. */
static int rank_of(const struct kb_search_res *res, const char *id)
{
    for (size_t i = 0; i < res->nhits; i++)
        if (strcmp(res->hits[i].id, id) == 0)
            return (int)i;
    return -1;
}

static void expect_first(const char *q, const char *id)
{
    struct kb_search_res res;
    search(q, 1, NULL, &res);
    if (res.nhits == 0 || strcmp(res.hits[0].id, id) != 0)
        fail_msg("'%s': expected %s first, got %s", q, id, res.nhits ? res.hits[0].id : "nothing");
    kb_search_res_fin(&res);
}

static void expect_top(const char *q, const char *id, int n)
{
    struct kb_search_res res;
    search(q, 1, NULL, &res);
    int r = rank_of(&res, id);
    if (r < 0 || r >= n)
        fail_msg("'%s': expected %s in the top %d, it is at %d (first: %s)", q, id, n, r,
                 res.nhits ? res.hits[0].id : "nothing");
    kb_search_res_fin(&res);
}

static void chatty_problem_description(void **state)
{
    (void)state;
    expect_first("我的电脑连不上VPN了，提示错误809，怎么办", "KB-0001");
    expect_first("打印机一直显示脱机，别人都能打印", "KB-0022");
}

static void error_codes(void **state)
{
    (void)state;
    struct kb_search_res res;
    search("0x80070005", 1, NULL, &res);
    assert_true(res.nhits >= 2);
    assert_true(rank_of(&res, "KB-0025") >= 0 && rank_of(&res, "KB-0025") < 2);
    assert_true(rank_of(&res, "KE-0012") >= 0 && rank_of(&res, "KE-0012") < 2);
    kb_search_res_fin(&res);
    expect_first("ORA-12154", "KB-0035");
    expect_first("ＯＲＡ－１２１５４", "KB-0035"); /* full-width */
}

static void clause_number(void **state)
{
    (void)state;
    struct kb_search_res res;
    search("8.3.4.1", 1, NULL, &res);
    assert_true(res.nhits > 0);
    assert_string_equal(res.hits[0].id, "std-s004:8.3.4.1");
    assert_string_equal(res.hits[0].clause, "8.3.4.1");
    assert_string_equal(res.hits[0].kind, "standard");
    assert_non_null(res.hits[0].standard);
    assert_non_null(res.hits[0].path);
    kb_search_res_fin(&res);
}

/* A section whose text is all in its sub-clauses yields to the sub-clause
 * that matched, unless the query is the section's heading or number. */
static void sections_and_sub_clauses(void **state)
{
    (void)state;
    expect_first("服务台", "std-s004:7.8");
    expect_first("standard:s004 问题管理有什么要求", "std-s004:8.3.4.1");
    expect_first("8.3.4 问题管理", "std-s004:8.3.4");
    struct kb_search_res res;
    search("服务台的关键指标", 1, "standard", &res);
    assert_true(res.nhits > 1);
    assert_string_equal(res.hits[0].id, "std-s004:7.8.2");
    kb_search_res_fin(&res);
}

static void traditional_and_regional(void **state)
{
    (void)state;
    expect_top("印表機離線怎麼辦", "KB-0022", 3);
    expect_top("運維知識庫", "std-s004:7.6.1.1", 3); /* 7.6.1 知识库 of the O&M standard */
}

static void visibility(void **state)
{
    (void)state;
    /* KB-0030 is an internal article about AD lockouts (event 4740) */
    struct kb_search_res res;
    search("域账号锁定 4740", 0, NULL, &res);
    assert_int_equal(rank_of(&res, "KB-0030"), -1);
    for (size_t i = 0; i < res.nhits; i++)
        assert_string_equal(res.hits[i].visibility, "public");
    kb_search_res_fin(&res);
    search("域账号锁定 4740", 1, NULL, &res);
    assert_true(rank_of(&res, "KB-0030") >= 0);
    kb_search_res_fin(&res);
    struct kb_search_doc doc;
    char err[KB_ERR_MAX];
    assert_int_equal(kb_search_get_doc(g_s, "KB-0030", 0, &doc, err, sizeof err),
                     KB_SEARCH_ENOTFOUND);
    assert_null(doc.doc);
    kb_search_doc_fin(&doc);
    assert_int_equal(kb_search_get_doc(g_s, "KB-0030", 1, &doc, err, sizeof err), 0);
    assert_string_equal(doc.doc->id, "KB-0030");
    kb_search_doc_fin(&doc);
}

static void filters_and_facets(void **state)
{
    (void)state;
    struct kb_search_res res;
    search("服务台", 1, "standard", &res);
    assert_true(res.nhits > 0);
    for (size_t i = 0; i < res.nhits; i++)
        assert_string_equal(res.hits[i].kind, "standard");
    assert_int_equal(res.kind.n, 1);
    assert_string_equal(res.kind.v[0].value, "standard");
    assert_int_equal(res.kind.v[0].count, res.total);
    /* every standard clause is in one standard: those counts add up too */
    uint32_t nstd = 0;
    for (size_t i = 0; i < res.standard.n; i++)
        nstd += res.standard.v[i].count;
    assert_true(res.standard.n > 0);
    assert_int_equal(nstd, res.total);
    kb_search_res_fin(&res);
    /* without a filter the kind counts add up to the total (small corpus:
       every match is counted) */
    search("证书", 1, NULL, &res);
    uint32_t sum = 0;
    for (size_t i = 0; i < res.kind.n; i++)
        sum += res.kind.v[i].count;
    assert_int_equal(sum, res.total);
    assert_true(res.category.n > 0);
    kb_search_res_fin(&res);
    /* field syntax, several values, category prefix level */
    search("kind:article,known_error 证书", 1, NULL, &res);
    for (size_t i = 0; i < res.nhits; i++)
        assert_string_not_equal(res.hits[i].kind, "standard");
    kb_search_res_fin(&res);
    struct kb_search_req r = {0};
    r.q = "连接";
    r.qlen = strlen(r.q);
    r.category = "网络";
    r.internal = 1;
    char err[KB_ERR_MAX];
    assert_int_equal(kb_search_run(g_s, &r, &res, err, sizeof err), 0);
    assert_true(res.nhits > 0);
    for (size_t i = 0; i < res.nhits; i++)
        assert_true(strncmp(res.hits[i].category, "网络/", strlen("网络/")) == 0);
    kb_search_res_fin(&res);
    r.kind = "memo";
    assert_int_equal(kb_search_run(g_s, &r, &res, err, sizeof err), KB_SEARCH_EINPUT);
    assert_non_null(strstr(err, "memo"));
}

/* Hits of q (internal, up to 100). */
static void search_all(const char *q, struct kb_search_res *res)
{
    struct kb_search_req r = {0};
    r.q = q;
    r.qlen = strlen(q);
    r.internal = 1;
    r.limit = 100;
    char err[KB_ERR_MAX] = "";
    if (kb_search_run(g_s, &r, res, err, sizeof err) != 0)
        fail_msg("search '%s' failed: %s", q, err);
}

/* Words most documents have (here: more than 25 of them) only add weight
 * to what the query's rarer words find: with 网络 common and 邮箱 not,
 * every hit of "网络 邮箱" has 邮箱, each with the score it has without the
 * rule, while without it documents with 网络 alone are hits too; a query of
 * common words alone is searched as before; below the floor (the demo
 * corpus has 109 documents, the default floor is 1,000) nothing changes. */
static void common_words_weigh_the_others(void **state)
{
    (void)state;
    struct kb_search_res plain, tuned, rare, alone, alone_t, dflt;
    kb_searcher_set_common(g_s, 0, 0); /* off */
    search_all("网络 邮箱", &plain);
    search_all("邮箱", &rare);
    search_all("网络", &alone);
    kb_searcher_set_common(g_s, KB_SEARCH_COMMON_SHARE, KB_SEARCH_COMMON_MIN);
    search_all("网络 邮箱", &dflt);
    kb_searcher_set_common(g_s, 0.0001, 25);
    search_all("网络 邮箱", &tuned);
    search_all("网络", &alone_t);
    kb_searcher_set_common(g_s, KB_SEARCH_COMMON_SHARE, KB_SEARCH_COMMON_MIN);
    assert_true(alone.total > 25); /* 网络 is common at this floor */
    assert_true(rare.total > 0 && rare.total <= 25);
    /* without the rule some hits have 网络 only */
    int common_only = 0;
    for (size_t i = 0; i < plain.nhits; i++)
        common_only += rank_of(&rare, plain.hits[i].id) < 0;
    assert_true(common_only > 0);
    /* with it, every hit has 邮箱, and weighs what it weighed */
    assert_true(tuned.nhits > 0);
    assert_true(tuned.total < plain.total);
    for (size_t i = 0; i < tuned.nhits; i++) {
        assert_true(rank_of(&rare, tuned.hits[i].id) >= 0);
        int k = rank_of(&plain, tuned.hits[i].id);
        assert_true(k >= 0);
        assert_float_equal(tuned.hits[i].score, plain.hits[k].score, 1e-9);
    }
    /* common words alone, and the default floor on a small corpus: as before */
    assert_int_equal(alone_t.total, alone.total);
    assert_int_equal(alone_t.nhits, alone.nhits);
    for (size_t i = 0; i < alone.nhits; i++)
        assert_string_equal(alone_t.hits[i].id, alone.hits[i].id);
    assert_int_equal(dflt.total, plain.total);
    assert_int_equal(dflt.nhits, plain.nhits);
    for (size_t i = 0; i < plain.nhits; i++)
        assert_string_equal(dflt.hits[i].id, plain.hits[i].id);
    kb_search_res_fin(&plain);
    kb_search_res_fin(&tuned);
    kb_search_res_fin(&rare);
    kb_search_res_fin(&alone);
    kb_search_res_fin(&alone_t);
    kb_search_res_fin(&dflt);
}

static void expert_syntax(void **state)
{
    (void)state;
    struct kb_search_res res;
    search("VPN -l2tp", 1, NULL, &res);
    assert_true(res.nhits > 0);
    assert_int_equal(rank_of(&res, "KB-0001"), -1); /* it is about L2TP */
    kb_search_res_fin(&res);
    search("VPN 错误 -809", 1, NULL, &res); /* -809: a negative number is text */
    assert_int_equal(rank_of(&res, "KB-0001"), 0);
    kb_search_res_fin(&res);
    search("\"共享打印机\"", 1, NULL, &res);
    assert_true(res.nhits > 0);
    for (size_t i = 0; i < res.nhits; i++) {
        struct kb_search_doc doc;
        char err[KB_ERR_MAX];
        assert_int_equal(kb_search_get_doc(g_s, res.hits[i].id, 1, &doc, err, sizeof err), 0);
        char *json = codec_doc_json(&doc);
        assert_non_null(strstr(json, "共享打印机"));
        free(json);
        kb_search_doc_fin(&doc);
    }
    kb_search_res_fin(&res);
    /* a quoted message no document holds word for word (cut short, as
       pasted): its words are searched instead of nothing */
    search("\"VPN 连接 809 打印机 共享\"", 1, NULL, &res);
    assert_true(res.nhits > 0);
    assert_true(rank_of(&res, "KB-0001") >= 0);
    kb_search_res_fin(&res);
    /* unbalanced quote and stray operators are still a query */
    search("\"VPN 809 - : kind:", 1, NULL, &res);
    assert_true(res.nhits > 0);
    kb_search_res_fin(&res);
}

/* The snippet's only markup is <mark>, and it is HTML-escaped. */
static void check_snippet(const char *sn)
{
    for (const char *p = strchr(sn, '<'); p; p = strchr(p + 1, '<'))
        if (strncmp(p, "<mark>", 6) != 0 && strncmp(p, "</mark>", 7) != 0)
            fail_msg("unexpected markup in snippet: %s", sn);
    assert_null(strchr(sn, '"'));
}

static void snippets(void **state)
{
    (void)state;
    struct kb_search_res res;
    search("Outlook 0x800CCC0E <script>", 1, NULL, &res);
    assert_true(res.nhits > 0);
    int marked = 0;
    for (size_t i = 0; i < res.nhits; i++) {
        check_snippet(res.hits[i].snippet);
        marked += strstr(res.hits[i].snippet, "<mark>") != NULL;
    }
    assert_true(marked > 0);
    assert_non_null(strstr(res.hits[0].snippet, "<mark>0x800CCC0E</mark>"));
    kb_search_res_fin(&res);
    search("打印机 脱机", 1, NULL, &res);
    assert_non_null(strstr(res.hits[0].snippet, "<mark>脱机</mark>"));
    kb_search_res_fin(&res);
}

static void bad_and_empty_input(void **state)
{
    (void)state;
    struct kb_search_req r = {0};
    struct kb_search_res res;
    char err[KB_ERR_MAX];
    r.q = "vpn \xff\xfe";
    r.qlen = strlen(r.q);
    assert_int_equal(kb_search_run(g_s, &r, &res, err, sizeof err), KB_SEARCH_EINPUT);
    assert_int_equal(res.nhits, 0);
    r.q = "a\0b";
    r.qlen = 3;
    assert_int_equal(kb_search_run(g_s, &r, &res, err, sizeof err), KB_SEARCH_EINPUT);
    char *big = kb_xmalloc(KB_SEARCH_MAX_QUERY + 2);
    memset(big, 'a', KB_SEARCH_MAX_QUERY + 1);
    big[KB_SEARCH_MAX_QUERY + 1] = '\0';
    r.q = big;
    r.qlen = KB_SEARCH_MAX_QUERY + 1;
    assert_int_equal(kb_search_run(g_s, &r, &res, err, sizeof err), KB_SEARCH_EINPUT);
    free(big);
    r.q = "，。！？   ";
    r.qlen = strlen(r.q);
    assert_int_equal(kb_search_run(g_s, &r, &res, err, sizeof err), 0);
    assert_int_equal(res.nhits, 0);
    kb_search_res_fin(&res);
    /* a long chatty description is a relaxed query, not a strict AND */
    search("您好，我是财务科的，今天早上开机以后发现Outlook收发邮件的时候一直报错，错误代码是"
           "0x800CCC0E，昨天还是好好的，重启电脑也没用，麻烦帮忙看一下是什么原因，谢谢",
           1, NULL, &res);
    assert_true(res.nhits > 0);
    assert_string_equal(res.hits[0].id, "KB-0013");
    kb_search_res_fin(&res);
    r.q = "vpn";
    r.qlen = 3;
    r.limit = 100000;
    r.internal = 1;
    assert_int_equal(kb_search_run(g_s, &r, &res, err, sizeof err), 0);
    assert_true(res.nhits <= KB_SEARCH_MAX_LIMIT);
    kb_search_res_fin(&res);
    /* the one clamp every caller uses */
    assert_int_equal(kb_search_limit(0), KB_SEARCH_DEFAULT_LIMIT);
    assert_int_equal(kb_search_limit(7), 7);
    assert_int_equal(kb_search_limit(KB_SEARCH_MAX_LIMIT), KB_SEARCH_MAX_LIMIT);
    assert_int_equal(kb_search_limit(100000), KB_SEARCH_MAX_LIMIT);
}

static void spelling(void **state)
{
    (void)state;
    struct kb_search_res res;
    search("outlok", 1, NULL, &res);
    assert_non_null(res.suggestion);
    assert_string_equal(res.suggestion, "outlook");
    assert_non_null(res.corrected); /* nothing matched outlok: hits are for outlook */
    assert_true(res.nhits > 0);
    kb_search_res_fin(&res);
    search("outlook", 1, NULL, &res);
    assert_null(res.suggestion);
    kb_search_res_fin(&res);
}

static void suggest_and_nav(void **state)
{
    (void)state;
    char err[KB_ERR_MAX];
    struct kb_search_completions comp;
    assert_int_equal(kb_search_suggest(g_s, "打印", strlen("打印"), 0, 8, &comp, err,
                                       sizeof err), 0);
    assert_true(comp.n > 0 && comp.n <= 8);
    assert_non_null(strstr(comp.v[0].text, "打印"));
    assert_true(comp.v[0].title);
    assert_non_null(comp.v[0].id);
    kb_search_completions_fin(&comp);
    assert_int_equal(comp.n, 0);
    struct kb_search_nav nav;
    assert_int_equal(kb_search_clause_nav(g_s, "std-s004:8.3.4.1", 0, &nav, err, sizeof err), 0);
    assert_non_null(nav.parent);
    assert_string_equal(nav.parent->id, "std-s004:8.3.4");
    assert_non_null(nav.next);
    assert_string_equal(nav.next->id, "std-s004:8.3.4.2");
    assert_null(nav.prev);
    char *json = codec_nav_json(&nav);
    assert_non_null(strstr(json, "\"prev\":null"));
    free(json);
    kb_search_nav_fin(&nav);
    assert_int_equal(kb_search_clause_nav(g_s, "KB-0001", 0, &nav, err, sizeof err),
                     KB_SEARCH_ENOTFOUND);
    assert_null(nav.parent);
    kb_search_nav_fin(&nav);
    struct kb_search_stds stds;
    assert_int_equal(kb_search_standards(g_s, 0, &stds, err, sizeof err), 0);
    assert_int_equal(stds.n, 5);
    for (size_t i = 0; i < stds.n; i++) {
        assert_non_null(stds.v[i].std);
        assert_non_null(stds.v[i].title);
        assert_true(stds.v[i].clauses > 0);
    }
    kb_search_stds_fin(&stds);
}

/* The results of the look-ups belong to the caller: they stay whole after
 * the searcher that made them is freed (ASan would see a use after free). */
static void results_outlive_searcher(void **state)
{
    (void)state;
    char err[KB_ERR_MAX];
    kb_searcher *s = NULL;
    assert_int_equal(kb_searcher_new(g_index, g_lx, &s, err, sizeof err), 0);
    struct kb_search_doc doc;
    struct kb_search_nav nav;
    struct kb_search_completions comp;
    struct kb_search_stds stds;
    assert_int_equal(kb_search_get_doc(s, "std-s004:8.3.4.1", 0, &doc, err, sizeof err), 0);
    assert_int_equal(kb_search_clause_nav(s, "std-s004:8.3.4", 0, &nav, err, sizeof err), 0);
    assert_int_equal(kb_search_suggest(s, "打印", strlen("打印"), 0, 8, &comp, err, sizeof err),
                     0);
    assert_int_equal(kb_search_standards(s, 0, &stds, err, sizeof err), 0);
    kb_searcher_free(s);
    assert_string_equal(doc.doc->id, "std-s004:8.3.4.1");
    assert_string_equal(doc.std, "s004");
    assert_non_null(doc.standard);
    assert_true(nav.nchildren > 0);
    assert_string_equal(nav.children[0].id, "std-s004:8.3.4.1");
    assert_true(comp.n > 0);
    assert_non_null(strstr(comp.v[0].text, "打印"));
    assert_int_equal(stds.n, 5);
    char *json = codec_doc_json(&doc);
    assert_non_null(strstr(json, "\"std\":\"s004\""));
    free(json);
    kb_search_doc_fin(&doc);
    kb_search_nav_fin(&nav);
    kb_search_completions_fin(&comp);
    kb_search_stds_fin(&stds);
    kb_search_doc_fin(&doc); /* a second _fin is harmless */
}

static void live_refresh(void **state)
{
    (void)state;
    uint64_t rev = kb_searcher_revision(g_s);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "printf -- '---\\nid: KB-9999\\nkind: article\\ntitle: zyxwvmarker 新文章\\n---\\n正文\\n' "
             "> %s/corpus/articles/KB-9999.md && build/bin/indexer build --quiet --corpus "
             "%s/corpus --index %s >/dev/null", g_dir, g_dir, g_index);
    assert_int_equal(run(cmd), 0);
    int changed = 0;
    char err[KB_ERR_MAX];
    assert_int_equal(kb_searcher_refresh(g_s, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 1);
    assert_true(kb_searcher_revision(g_s) > rev);
    expect_first("zyxwvmarker", "KB-9999");
}

/* The reference for codec_search_json: the Jansson tree it used to build,
 * dumped the same way. */
static void ref_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *ref_facets(const struct kb_facets *f)
{
    json_t *o = json_object();
    for (size_t i = 0; i < f->n; i++)
        json_object_set_new(o, f->v[i].value, json_integer(f->v[i].count));
    return o;
}

static char *ref_json(const struct kb_search_res *r, const char *query, size_t qlen,
                      uint32_t offset, uint32_t limit)
{
    json_t *o = json_object();
    json_object_set_new(o, "query", json_stringn(query ? query : "", query ? qlen : 0));
    json_object_set_new(o, "total", json_integer(r->total));
    json_object_set_new(o, "took_ms", json_real(round(r->took_ms * 1000) / 1000));
    json_object_set_new(o, "offset", json_integer(offset));
    json_object_set_new(o, "limit", json_integer(limit));
    json_t *hits = json_array();
    for (size_t i = 0; i < r->nhits; i++) {
        const struct kb_hit *h = &r->hits[i];
        json_t *j = json_object();
        ref_str(j, "id", h->id);
        ref_str(j, "kind", h->kind);
        ref_str(j, "title", h->title);
        json_object_set_new(j, "score", json_real(round(h->score * 10000) / 10000));
        json_object_set_new(j, "percent", json_integer(h->percent));
        json_object_set_new(j, "confidence", json_real(round(h->confidence * 1000) / 1000));
        const char *f[] = {"snippet", h->snippet, "category", h->category, "updated", h->updated,
                           "visibility", h->visibility, "workaround", h->workaround,
                           "status", h->status, "service", h->service, "std", h->std,
                           "standard", h->standard, "clause", h->clause, "heading", h->heading,
                           "path", h->path};
        for (size_t k = 0; k < sizeof f / sizeof *f; k += 2)
            ref_str(j, f[k], f[k + 1]);
        json_array_append_new(hits, j);
    }
    json_object_set_new(o, "hits", hits);
    json_t *fa = json_object();
    json_object_set_new(fa, "kind", ref_facets(&r->kind));
    json_object_set_new(fa, "category", ref_facets(&r->category));
    json_object_set_new(fa, "standard", ref_facets(&r->standard));
    if (!r->has_facets) { /* not counted: null */
        json_decref(fa);
        fa = json_null();
    }
    json_object_set_new(o, "facets", fa);
    json_object_set_new(o, "suggestion", r->suggestion ? json_string(r->suggestion) : json_null());
    json_object_set_new(o, "corrected", r->corrected ? json_string(r->corrected) : json_null());
    json_object_set_new(o, "no_good_match", json_boolean(r->no_good_match));
    char *d = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    json_decref(o);
    return d;
}

static void expect_json_as_jansson(const struct kb_search_res *r, const char *q, size_t qlen,
                                   uint32_t offset, uint32_t limit)
{
    char *got = codec_search_json(r, q, qlen, offset, limit);
    char *want = ref_json(r, q, qlen, offset, limit);
    assert_non_null(want);
    if (strcmp(got, want) != 0)
        fail_msg("query '%s':\n got  %s\n want %s", q, got, want);
    free(got);
    free(want);
}

/* The result JSON is written directly, byte for byte what Jansson wrote:
 * real searches (facets, suggestions, corrections, no hits) and made-up
 * results with every escape, invalid UTF-8, missing fields and odd reals. */
/* no_facets leaves the facets uncounted and says so (has_facets); the hits
 * are the same. */
static void facets_only_when_asked(void **state)
{
    (void)state;
    struct kb_search_req r = {0};
    r.q = "VPN";
    r.qlen = 3;
    r.limit = 10;
    char err[KB_ERR_MAX] = "";
    struct kb_search_res with, without;
    assert_int_equal(kb_search_run(g_s, &r, &with, err, sizeof err), 0);
    r.no_facets = 1;
    assert_int_equal(kb_search_run(g_s, &r, &without, err, sizeof err), 0);
    assert_int_equal(with.has_facets, 1);
    assert_true(with.kind.n >= 1);
    assert_int_equal(without.has_facets, 0);
    assert_int_equal(without.kind.n + without.category.n + without.standard.n, 0);
    assert_int_equal(with.nhits, without.nhits);
    for (size_t i = 0; i < with.nhits; i++)
        assert_string_equal(with.hits[i].id, without.hits[i].id);
    kb_search_res_fin(&with);
    kb_search_res_fin(&without);
}

static void result_json_matches_jansson(void **state)
{
    (void)state;
    const char *qs[] = {"VPN 809", "打印机 无法 连接", "服务台 8.3", "vpnn eror", "qzxqzxqzx",
                        "kind:standard 事件", "\"known error\" workaround", "怎么办"};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        struct kb_search_res res;
        search(qs[i], i % 2, NULL, &res);
        expect_json_as_jansson(&res, qs[i], strlen(qs[i]), 0, 10);
        kb_search_res_fin(&res);
    }
    struct kb_hit h[3];
    memset(h, 0, sizeof h);
    char ctl[40];
    for (int c = 1; c < 32; c++)
        ctl[c - 1] = (char)c;
    memcpy(ctl + 31, "\x7f/\"\\", 5);
    ctl[36] = '\0';
    h[0].id = "KB-1";
    h[0].title = ctl;
    h[0].snippet = "<mark>中文</mark> \"quoted\" 😀 \xe2\x80\xa8";
    h[0].score = 12345678.91234;
    h[0].percent = 100;
    h[1].id = "KB-2";
    h[1].title = "bad \xff utf8"; /* Jansson leaves the member out */
    h[1].kind = "article";
    h[1].score = 1e-9;
    h[2].id = "KB-3";
    h[2].score = 3.0;
    h[2].path = "a/b";
    struct kb_facet fv[2] = {{"网络/VPN", 3}, {"x\"y", 0}};
    struct kb_search_res r;
    memset(&r, 0, sizeof r);
    r.hits = h;
    r.nhits = 3;
    r.total = 4000000000u;
    r.took_ms = 0.0004;
    r.category.v = fv;
    r.category.n = 2;
    r.suggestion = "vpn error";
    r.has_facets = 1;
    expect_json_as_jansson(&r, "a\0b", 3, 20, 50); /* a NUL in the query is kept */
    r.has_facets = 0; /* facets not asked for: "facets":null */
    expect_json_as_jansson(&r, "a\0b", 3, 20, 50);
    char *nf = codec_search_json(&r, "q", 1, 0, 10);
    assert_non_null(strstr(nf, "\"facets\":null"));
    free(nf);
    r.has_facets = 1;
    r.took_ms = 1e12;
    r.suggestion = "bad \xc3";
    r.corrected = "fine";
    expect_json_as_jansson(&r, "bad \xe4\xb8", 6, 0, 10);
    r.took_ms = 0;
    h[0].score = -2.5;
    expect_json_as_jansson(&r, NULL, 0, 0, 0);
}

/* In a fresh folder dir (a mkdtemp pattern, filled in), the index ix
 * (ixlen bytes) of one public article KB-1 titled "qvzmarker 公开" in the
 * corpus dir/c, built by the real indexer; returns a searcher on it (the
 * caller frees it, then removes the folder with scratch_rm). */
static kb_searcher *one_article_index(char *dir, char *ix, size_t ixlen)
{
    char cmd[1024], err[KB_ERR_MAX];
    assert_non_null(mkdtemp(dir));
    snprintf(ix, ixlen, "%s/index", dir);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/c/articles && printf -- '---\\nid: KB-1\\nkind: article\\n"
             "title: qvzmarker 公开\\n---\\n正文\\n' > %s/c/articles/KB-1.md && "
             "build/bin/indexer build --quiet --corpus %s/c --index %s >/dev/null",
             dir, dir, dir, ix);
    assert_int_equal(run(cmd), 0);
    kb_searcher *s = NULL;
    assert_int_equal(kb_searcher_new(ix, g_lx, &s, err, sizeof err), 0);
    return s;
}

/* Removes the folder dir of one_article_index. */
static void scratch_rm(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(run(cmd), 0);
}

/* Writes articles/NAME.md of one_article_index's corpus (dir) with text (a
 * printf format without arguments), rebuilds the index ix and refreshes s,
 * which must see a new revision. */
static void rewrite_article(kb_searcher *s, const char *dir, const char *ix, const char *name,
                            const char *text)
{
    char cmd[1024], err[KB_ERR_MAX];
    snprintf(cmd, sizeof cmd,
             "printf -- '%s' > %s/c/articles/%s.md && "
             "build/bin/indexer build --quiet --corpus %s/c --index %s >/dev/null",
             text, dir, name, dir, ix);
    assert_int_equal(run(cmd), 0);
    int changed = 0;
    assert_int_equal(kb_searcher_refresh(s, &changed, err, sizeof err), 0);
    assert_int_equal(changed, 1);
}

/* The whole /search answer of s for q (took_ms left out), caller frees. */
static char *answer_json(kb_searcher *s, const char *q, int internal, int facets)
{
    struct kb_search_req r = {0};
    r.q = q;
    r.qlen = strlen(q);
    r.internal = internal;
    r.limit = 10;
    r.no_facets = !facets;
    struct kb_search_res res;
    char err[KB_ERR_MAX] = "";
    if (kb_search_run(s, &r, &res, err, sizeof err) != 0)
        fail_msg("search '%s' failed: %s", q, err);
    res.took_ms = 0;
    char *j = codec_search_json(&res, q, strlen(q), 0, 10);
    kb_search_res_fin(&res);
    return j;
}

/* A searcher with the cache of decoded heads answers every query as one
 * without, the first time (heads read and kept) and again (heads from the
 * cache): hits, titles, snippets, scores, facets. */
static void doc_cache_same_answers(void **state)
{
    (void)state;
    static const char *const qs[] = {
        "打印机卡纸怎么办", "VPN 连不上 错误 809", "8.3.4.1", "服务级别管理",
        "outlook password reset", "网络 打印", "知识管理 已知错误", "事件管理",
        "磁盘空间不足", "账号 锁定",
    };
    char err[KB_ERR_MAX];
    kb_searcher *c = NULL;
    assert_int_equal(kb_searcher_new(g_index, g_lx, &c, err, sizeof err), 0);
    kb_searcher_set_doc_cache(c, 1 << 20);
    size_t entries = 0;
    assert_int_equal(kb_searcher_doc_cache_bytes(c, &entries), 0);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
            for (int internal = 0; internal < 2; internal++) {
                char *want = answer_json(g_s, qs[i], internal, pass);
                char *got = answer_json(c, qs[i], internal, pass);
                if (strcmp(want, got) != 0)
                    fail_msg("'%s' (pass %d, internal %d):\nwithout: %s\nwith:    %s", qs[i],
                             pass, internal, want, got);
                free(want);
                free(got);
            }
    size_t bytes = kb_searcher_doc_cache_bytes(c, &entries);
    assert_true(entries > 10); /* the second pass read from it */
    assert_true(bytes > 0 && bytes <= 1 << 20);
    kb_searcher_free(c);
}

/* A document changed under a searcher with the cache: after the refresh
 * its hit shows the new title and text, not the head kept for the same
 * document id (Xapian keeps a replaced document's id). */
static void doc_cache_follows_index(void **state)
{
    (void)state;
    char dir[64] = "/tmp/kbdcXXXXXX", ix[128], err[KB_ERR_MAX];
    kb_searcher *s = one_article_index(dir, ix, sizeof ix);
    kb_searcher_set_doc_cache(s, 1 << 20);
    struct kb_search_req r = {0};
    r.q = "qvzmarker";
    r.qlen = strlen(r.q);
    struct kb_search_res res;
    for (int i = 0; i < 2; i++) { /* read, then from the cache */
        assert_int_equal(kb_search_run(s, &r, &res, err, sizeof err), 0);
        assert_int_equal(res.nhits, 1);
        assert_string_equal(res.hits[0].title, "qvzmarker 公开");
        kb_search_res_fin(&res);
    }
    size_t entries = 0;
    kb_searcher_doc_cache_bytes(s, &entries);
    assert_int_equal(entries, 1);
    rewrite_article(s, dir, ix, "KB-1",
                    "---\\nid: KB-1\\nkind: article\\ntitle: qvzmarker 改过\\n---\\n"
                    "新的正文 qvzmarker\\n");
    kb_searcher_doc_cache_bytes(s, &entries);
    assert_int_equal(entries, 0);
    assert_int_equal(kb_search_run(s, &r, &res, err, sizeof err), 0);
    assert_int_equal(res.nhits, 1);
    assert_string_equal(res.hits[0].id, "KB-1");
    assert_string_equal(res.hits[0].title, "qvzmarker 改过");
    assert_non_null(strstr(res.hits[0].snippet, "新的正文"));
    kb_search_res_fin(&res);
    kb_searcher_free(s);
    scratch_rm(dir);
}

/* The public filter is left out while every document is public; once an
 * internal one arrives (seen at the next refresh) it is applied again. */
static void visibility_follows_index(void **state)
{
    (void)state;
    char dir[64] = "/tmp/kbvisXXXXXX", ix[128], err[KB_ERR_MAX];
    kb_searcher *s = one_article_index(dir, ix, sizeof ix);
    struct kb_search_req r = {0};
    r.q = "qvzmarker";
    r.qlen = strlen(r.q);
    struct kb_search_res res;
    assert_int_equal(kb_search_run(s, &r, &res, err, sizeof err), 0);
    assert_int_equal(res.nhits, 1);
    kb_search_res_fin(&res);

    rewrite_article(s, dir, ix, "KB-2",
                    "---\\nid: KB-2\\nkind: article\\nvisibility: internal\\n"
                    "title: qvzmarker 内部\\n---\\n正文\\n");
    assert_int_equal(kb_search_run(s, &r, &res, err, sizeof err), 0);
    assert_int_equal(res.nhits, 1);
    assert_string_equal(res.hits[0].id, "KB-1");
    assert_int_equal(res.total, 1);
    kb_search_res_fin(&res);
    r.internal = 1;
    assert_int_equal(kb_search_run(s, &r, &res, err, sizeof err), 0);
    assert_int_equal(res.nhits, 2);
    kb_search_res_fin(&res);
    kb_searcher_free(s);
    scratch_rm(dir);
}

/* The shadow alphabet of internal spelling words: round trip, refusals. */
static void vis_shadow(void **state)
{
    (void)state;
    assert_true(kb_vis_may_see("public", 0) && kb_vis_may_see(NULL, 0));
    assert_false(kb_vis_may_see("internal", 0));
    assert_true(kb_vis_may_see("internal", 1));
    const char *words[] = {"radius", "配置管理数据库", "sqlserverwriter"};
    for (size_t i = 0; i < 3; i++) {
        char *sh = kb_vis_shadow(words[i], strlen(words[i]));
        assert_non_null(sh);
        assert_true(kb_vis_has_shadow(sh, strlen(sh)));
        assert_false(kb_vis_has_shadow(words[i], strlen(words[i])));
        assert_null(strstr(sh, words[i]));
        char *back = kb_vis_unshadow(sh, strlen(sh));
        assert_string_equal(back, words[i]);
        assert_null(kb_vis_unshadow(words[i], strlen(words[i]))); /* not a shadow */
        free(sh);
        free(back);
    }
    assert_null(kb_vis_shadow("", 0));
    assert_null(kb_vis_shadow("\xff", 1));              /* invalid UTF-8 */
    assert_null(kb_vis_shadow("\xf0\x9f\x98\x80", 4)); /* U+1F600: out of range */
}

static char *suggest_json(const char *prefix, int internal)
{
    char err[KB_ERR_MAX];
    struct kb_search_completions comp;
    assert_int_equal(kb_search_suggest(g_s, prefix, strlen(prefix), internal, 8, &comp, err,
                                       sizeof err), 0);
    char *json = codec_suggest_json(&comp, prefix, strlen(prefix));
    kb_search_completions_fin(&comp);
    return json;
}

/* Completions and spelling corrections from internal documents reach
 * agents only; the rule for one id; refs of a public document. */
static void visibility_of_words(void **state)
{
    (void)state;
    /* KE-0003 (internal) holds the RADIUS servers 10.10.2.11 and .12 */
    char *pub = suggest_json("10.10.2", 0), *agent = suggest_json("10.10.2", 1);
    assert_null(strstr(pub, "10.10.2.1"));
    assert_non_null(strstr(agent, "10.10.2.11"));
    free(pub);
    free(agent);
    /* a public word still completes for everyone, counted by public docs */
    pub = suggest_json("打印", 0);
    assert_non_null(strstr(pub, "\"kind\":\"term\""));
    free(pub);
    /* sqlserverwriter is a word of KE-0033 (internal) only */
    struct kb_search_res res;
    search("sqlserverwritr", 0, NULL, &res);
    assert_null(res.suggestion);
    assert_null(res.corrected);
    assert_int_equal(res.total, 0);
    kb_search_res_fin(&res);
    search("sqlserverwritr", 1, NULL, &res);
    assert_non_null(res.suggestion);
    assert_string_equal(res.suggestion, "sqlserverwriter");
    assert_non_null(res.corrected);
    kb_search_res_fin(&res);
    /* a public misspelling is still corrected for a public caller */
    search("outlok", 0, NULL, &res);
    assert_non_null(res.suggestion);
    assert_string_equal(res.suggestion, "outlook");
    kb_search_res_fin(&res);
    /* a shadow typed by hand is no way in */
    char *sh = kb_vis_shadow("sqlserverwritr", strlen("sqlserverwritr"));
    search(sh, 0, NULL, &res);
    assert_null(res.suggestion);
    kb_search_res_fin(&res);
    free(sh);
    assert_int_equal(kb_search_may_see(g_s, "KB-0045", 0), 0);
    assert_int_equal(kb_search_may_see(g_s, "KB-0045", 1), 1);
    assert_int_equal(kb_search_may_see(g_s, "KB-0044", 0), 1);
    assert_int_equal(kb_search_may_see(g_s, "KB-99999", 1), 0);
    assert_int_equal(kb_search_may_see(g_s, "", 1), 0);
    char err[KB_ERR_MAX];
    struct kb_search_doc doc;
    assert_int_equal(kb_search_get_doc(g_s, "KB-0044", 0, &doc, err, sizeof err), 0);
    for (size_t i = 0; i < doc.nrefs; i++)
        assert_string_not_equal(doc.refs[i], "KB-0045");
    char *json = codec_doc_json(&doc);
    assert_null(strstr(strstr(json, "\"refs\""), "KB-0045"));
    free(json);
    kb_search_doc_fin(&doc);
    assert_int_equal(kb_search_get_doc(g_s, "KB-0044", 1, &doc, err, sizeof err), 0);
    json = codec_doc_json(&doc);
    assert_non_null(strstr(strstr(json, "\"refs\""), "KB-0045"));
    free(json);
    kb_search_doc_fin(&doc);
}

/* An index of another schema (an older layout would leak internal words)
 * is refused at open and, when it appears under a running searcher, at
 * refresh and on every call after, with a message saying to rebuild. */
static void other_schema_refused(void **state)
{
    (void)state;
    char dir[64] = "/tmp/kbschXXXXXX", cmd[1024], ix[128], err[KB_ERR_MAX];
    kb_searcher *s = one_article_index(dir, ix, sizeof ix);
    kbx_db *w = NULL;
    assert_int_equal(kbx_db_open(ix, KBX_OPEN_WRITE, &w, err, sizeof err), 0);
    assert_int_equal(kbx_db_begin(w), 0);
    assert_int_equal(kbx_db_set_metadata(w, KB_META_SCHEMA, "6-0", 3), 0);
    assert_int_equal(kbx_db_commit_tx(w), 0);
    int changed = 0;
    assert_int_equal(kb_searcher_refresh(s, &changed, err, sizeof err), KB_SEARCH_EINDEX);
    assert_non_null(strstr(err, "rebuild"));
    struct kb_search_req r = {0};
    r.q = "qvzmarker";
    r.qlen = strlen(r.q);
    struct kb_search_res res;
    assert_int_equal(kb_search_run(s, &r, &res, err, sizeof err), KB_SEARCH_EINDEX);
    struct kb_search_completions comp;
    assert_int_equal(kb_search_suggest(s, "qvz", 3, 0, 8, &comp, err, sizeof err),
                     KB_SEARCH_EINDEX);
    assert_int_equal(comp.n, 0);
    struct kb_search_doc doc;
    assert_int_equal(kb_search_get_doc(s, "KB-1", 0, &doc, err, sizeof err), KB_SEARCH_EINDEX);
    assert_null(doc.doc);
    struct kb_search_nav nav;
    err[0] = 0;
    assert_int_equal(kb_search_clause_nav(s, "std-s004:8.3.4.1", 0, &nav, err, sizeof err),
                     KB_SEARCH_EINDEX);
    assert_non_null(strstr(err, "rebuild"));
    kb_searcher_free(s);
    s = NULL;
    assert_int_equal(kb_searcher_new(ix, g_lx, &s, err, sizeof err), KB_SEARCH_EINDEX);
    assert_null(s);
    assert_non_null(strstr(err, "schema 6-0"));
    /* the indexer rebuilds it, and it is served again */
    kbx_db_free(w);
    snprintf(cmd, sizeof cmd, "build/bin/indexer build --quiet --corpus %s/c --index %s >/dev/null",
             dir, ix);
    assert_int_equal(run(cmd), 0);
    assert_int_equal(kb_searcher_new(ix, g_lx, &s, err, sizeof err), 0);
    assert_int_equal(kb_search_run(s, &r, &res, err, sizeof err), 0);
    assert_int_equal(res.nhits, 1);
    kb_search_res_fin(&res);
    kb_searcher_free(s);
    scratch_rm(dir);
}

/* A run of Chinese characters found as it is in a page lifts that page
 * over one holding the same words more often but apart (the exact-run
 * boost of kb_search_query.c). */
static void exact_run_boost(void **state)
{
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "printf -- '---\\nid: KB-9996\\nkind: article\\ntitle: qzrunmark 甲\\n---\\n"
             "请先编辑配置表单。\\n' > %s/corpus/articles/KB-9996.md && "
             "printf -- '---\\nid: KB-9995\\nkind: article\\ntitle: qzrunmark 乙\\n---\\n"
             "表单的编辑，配置的表单，编辑表单，配置表单，编辑与配置。\\n' > %s/corpus/articles/KB-9995.md && "
             "build/bin/indexer build --quiet --corpus %s/corpus --index %s >/dev/null",
             g_dir, g_dir, g_dir, g_index);
    assert_int_equal(run(cmd), 0);
    char err[KB_ERR_MAX];
    assert_int_equal(kb_searcher_refresh(g_s, NULL, err, sizeof err), 0);
    expect_top("qzrunmark 表单", "KB-9995", 1); /* more of the words: first without a run */
    expect_first("qzrunmark 编辑配置表单", "KB-9996");
}

/* A fragment cut across words (its characters in no dictionary word of
 * the query) is found by its bigrams: the page that holds them, once,
 * comes before a page holding each of its characters alone many times
 * (the cross-word bigrams weigh more the less of the query is words). */
static void fragment_bigrams(void **state)
{
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "printf -- '---\\nid: KB-9994\\nkind: article\\ntitle: qzfragmark 丙\\n---\\n"
             "图表数据标签格式可以修改。\\n' > %s/corpus/articles/KB-9994.md && "
             "printf -- '---\\nid: KB-9993\\nkind: article\\ntitle: qzfragmark 丁\\n---\\n"
             "表。数。签。格。表。数。签。格。表。数。签。格。\\n' > %s/corpus/articles/KB-9993.md && "
             "build/bin/indexer build --quiet --corpus %s/corpus --index %s >/dev/null",
             g_dir, g_dir, g_dir, g_index);
    assert_int_equal(run(cmd), 0);
    char err[KB_ERR_MAX];
    assert_int_equal(kb_searcher_refresh(g_s, NULL, err, sizeof err), 0);
    expect_first("qzfragmark 表数 签格", "KB-9994");
}

/* Three or more Latin words of the query found in that order, little
 * words included, lift the page that holds them so over one holding the
 * same words more often but apart (the Latin run boost). */
static void latin_run_boost(void **state)
{
    (void)state;
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "printf -- '---\\nid: KB-9992\\nkind: article\\ntitle: qzlatmark one\\n---\\n"
             "Click the border of the frame to move it.\\n' > %s/corpus/articles/KB-9992.md && "
             "printf -- '---\\nid: KB-9991\\nkind: article\\ntitle: qzlatmark two\\n---\\n"
             "Click a border of a frame and the border moves.\\n' > %s/corpus/articles/KB-9991.md && "
             "build/bin/indexer build --quiet --corpus %s/corpus --index %s >/dev/null",
             g_dir, g_dir, g_dir, g_index);
    assert_int_equal(run(cmd), 0);
    char err[KB_ERR_MAX];
    assert_int_equal(kb_searcher_refresh(g_s, NULL, err, sizeof err), 0);
    expect_first("qzlatmark click the border of the frame", "KB-9992");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chatty_problem_description),
        cmocka_unit_test(common_words_weigh_the_others),
        cmocka_unit_test(error_codes),
        cmocka_unit_test(clause_number),
        cmocka_unit_test(sections_and_sub_clauses),
        cmocka_unit_test(traditional_and_regional),
        cmocka_unit_test(visibility),
        cmocka_unit_test(filters_and_facets),
        cmocka_unit_test(facets_only_when_asked),
        cmocka_unit_test(expert_syntax),
        cmocka_unit_test(snippets),
        cmocka_unit_test(bad_and_empty_input),
        cmocka_unit_test(spelling),
        cmocka_unit_test(suggest_and_nav),
        cmocka_unit_test(results_outlive_searcher),
        cmocka_unit_test(live_refresh),
        cmocka_unit_test(doc_cache_same_answers),
        cmocka_unit_test(doc_cache_follows_index),
        cmocka_unit_test(visibility_follows_index),
        cmocka_unit_test(vis_shadow),
        cmocka_unit_test(visibility_of_words),
        cmocka_unit_test(other_schema_refused),
        cmocka_unit_test(result_json_matches_jansson),
        cmocka_unit_test(exact_run_boost),
        cmocka_unit_test(fragment_bigrams),
        cmocka_unit_test(latin_run_boost),
    };
    return cmocka_run_group_tests_name("search", tests, setup, teardown);
}
