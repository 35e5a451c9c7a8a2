/* Unit tests for kb_stdparse: the five real standards in corpora/standards
 * against hand-checked golden clause lists (tests/unit/golden/std/), the
 * fields and bodies of chosen clauses, synthetic traps (a table of contents
 * without page numbers, numbered steps, dates, measure words, annexes) and
 * hostile input. Run from the repository root. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_doc.h"
#include "kb_stdparse.h"
#include "kb_util.h"

#define STD_DIR "corpora/standards/"
#define GOLDEN_DIR "tests/unit/golden/std/"

static const char *const files[] = {
    "000_261c190d32fb33e4.txt", "001_28b4fc0c5225e510.txt", "002_601057caf311b1b6.txt",
    "003_d1aab48e4a5278ce.txt", "004_a0941ffbbb179b29.txt",
};
#define NFILES (sizeof files / sizeof files[0])

/* ---- helpers ---------------------------------------------------------------- */

struct docs {
    struct kb_doc **d;
    size_t n, cap;
    int stop_after; /* callback returns 7 once this many were kept (0: never) */
};

static int collect(void *ud, struct kb_doc *doc)
{
    struct docs *v = ud;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->d = kb_xrealloc(v->d, v->cap * sizeof *v->d);
    }
    v->d[v->n++] = doc;
    return v->stop_after && (int)v->n >= v->stop_after ? 7 : 0;
}

static void docs_free(struct docs *v)
{
    for (size_t i = 0; i < v->n; i++)
        kb_doc_free(v->d[i]);
    free(v->d);
    memset(v, 0, sizeof *v);
}

/* Parses text given without a terminating NUL (an exact-size copy), so that
 * ASan catches any read past len. */
static int parse_exact(const char *text, size_t len, const char *source, struct docs *v, char *err)
{
    char *copy = kb_xmalloc(len ? len : 1);
    if (len)
        memcpy(copy, text, len);
    int rc = kb_std_parse(copy, len, source, collect, v, err, KB_ERR_MAX);
    free(copy);
    return rc;
}

static void parse_file(const char *base, struct docs *v)
{
    char path[256], source[256], err[KB_ERR_MAX] = "";
    snprintf(path, sizeof path, STD_DIR "%s", base);
    snprintf(source, sizeof source, "standards/%s", base);
    char *text;
    size_t len;
    if (kb_read_file(path, &text, &len, err, sizeof err) != 0)
        fail_msg("cannot read %s: %s", path, err);
    memset(v, 0, sizeof *v);
    int rc = parse_exact(text, len, source, v, err);
    free(text);
    if (rc != 0)
        fail_msg("%s: rc %d: %s", base, rc, err);
    assert_true(v->n > 0);
}

static const struct kb_doc *find(const struct docs *v, const char *clause)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->d[i]->clause, clause))
            return v->d[i];
    return NULL;
}

static size_t count_clause(const struct docs *v, const char *clause)
{
    size_t c = 0;
    for (size_t i = 0; i < v->n; i++)
        c += !strcmp(v->d[i]->clause, clause);
    return c;
}

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        int need = (*p >= 0xC2 && *p <= 0xDF) ? 1 : (*p >= 0xE0 && *p <= 0xEF) ? 2
                 : (*p >= 0xF0 && *p <= 0xF4) ? 3 : -1;
        if (need < 0)
            return 0;
        for (int i = 1; i <= need; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += need + 1;
    }
    return 1;
}

/* Is some line of body exactly a page number (digits or Roman numerals)? */
static int has_pagenum_line(const char *body)
{
    const char *p = body;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 0 && n == strspn(p, "0123456789") && n <= 4)
            return 1;
        if (n > 0 && n == strspn(p, "IVX") && n <= 5)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

/* Checks shared by every document of every parse. */
static void check_doc_invariants(const struct kb_doc *d, const char *source)
{
    assert_int_equal(d->kind, KB_KIND_STANDARD);
    assert_non_null(d->clause);
    assert_non_null(d->heading);
    assert_non_null(d->body);
    assert_non_null(d->path);
    assert_non_null(d->std_code);
    assert_non_null(d->std_title);
    assert_string_equal(d->visibility, "public");
    assert_string_equal(d->source, source);
    assert_true(d->source_line > 0);
    char want[1024];
    if (d->heading[0])
        snprintf(want, sizeof want, "%s %s", d->clause, d->heading);
    else
        snprintf(want, sizeof want, "%s", d->clause);
    assert_string_equal(d->title, want);
    assert_true(strncmp(d->id, "std-", 4) == 0);
    const char *colon = strrchr(d->id, ':');
    assert_non_null(colon);
    assert_string_equal(colon + 1, d->clause);
    for (const char *p = d->id; p < colon; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                    *p == '-');
    assert_true(valid_utf8(d->body) && valid_utf8(d->heading) && valid_utf8(d->path) &&
                valid_utf8(d->std_title));
    /* bodies are trimmed and never carry TOC leaders or page numbers */
    size_t bl = strlen(d->body);
    if (bl) {
        assert_true(d->body[0] != ' ' && d->body[0] != '\n');
        assert_true(d->body[bl - 1] != ' ' && d->body[bl - 1] != '\n');
    }
    assert_null(strstr(d->body, "....."));
    assert_null(strstr(d->body, "\n\n"));
    assert_false(has_pagenum_line(d->body));
    char *json = kb_doc_to_json(d);
    assert_string_not_equal(json, "{}");
    free(json);
}

/* ---- golden clause lists ---------------------------------------------------- */

static void golden(const char *base)
{
    struct docs v;
    parse_file(base, &v);
    struct kb_buf got;
    kb_buf_init(&got);
    for (size_t i = 0; i < v.n; i++)
        kb_buf_printf(&got, "%s\t%s\n", v.d[i]->clause, v.d[i]->heading);
    char path[256], err[KB_ERR_MAX];
    snprintf(path, sizeof path, GOLDEN_DIR "%s.clauses", base);
    char *want;
    size_t wlen;
    if (kb_read_file(path, &want, &wlen, err, sizeof err) != 0)
        fail_msg("cannot read %s: %s", path, err);
    if (strcmp(got.data, want) != 0) {
        /* point at the first differing line */
        const char *a = got.data, *b = want;
        int line = 1;
        while (*a && *a == *b) {
            line += *a == '\n';
            a++;
            b++;
        }
        fail_msg("%s differs from %s at line %d", base, path, line);
    }
    free(want);
    kb_buf_fin(&got);
    docs_free(&v);
}

static void test_golden_000(void **state) { (void)state; golden(files[0]); }
static void test_golden_001(void **state) { (void)state; golden(files[1]); }
static void test_golden_002(void **state) { (void)state; golden(files[2]); }
static void test_golden_003(void **state) { (void)state; golden(files[3]); }
static void test_golden_004(void **state) { (void)state; golden(files[4]); }

/* ---- the real files: fields and bodies -------------------------------------- */

static void test_invariants_all_files(void **state)
{
    (void)state;
    struct kb_buf ids;
    kb_buf_init(&ids);
    kb_buf_addc(&ids, '\n');
    for (size_t f = 0; f < NFILES; f++) {
        struct docs v;
        parse_file(files[f], &v);
        char source[256];
        snprintf(source, sizeof source, "standards/%s", files[f]);
        for (size_t i = 0; i < v.n; i++) {
            const struct kb_doc *d = v.d[i];
            check_doc_invariants(d, source);
            /* every id unique, across all five files */
            char key[300];
            snprintf(key, sizeof key, "\n%s\n", d->id);
            if (strstr(ids.data, key))
                fail_msg("duplicate id %s", d->id);
            kb_buf_printf(&ids, "%s\n", d->id);
            /* an empty body only for a heading whose content is in sub-clauses */
            if (!d->body[0]) {
                assert_true(i + 1 < v.n);
                size_t cl = strlen(d->clause);
                assert_true(strncmp(v.d[i + 1]->clause, d->clause, cl) == 0 &&
                            v.d[i + 1]->clause[cl] == '.');
            }
            /* document order */
            if (i)
                assert_true(d->source_line > v.d[i - 1]->source_line);
            /* a level-n clause has n-1 parents */
            int dots = 0, seps = 0;
            for (const char *p = d->clause; *p; p++)
                dots += *p == '.';
            for (const char *p = d->path; (p = strstr(p, " > ")); p += 3)
                seps++;
            assert_int_equal(d->path[0] ? seps + 1 : 0, dots);
        }
        docs_free(&v);
    }
    kb_buf_fin(&ids);
}

static void test_004_service_desk_not_toc(void **state)
{
    (void)state;
    struct docs v;
    parse_file(files[4], &v);
    const struct kb_doc *d = find(&v, "7.8");
    assert_non_null(d);
    assert_int_equal(count_clause(&v, "7.8"), 1);
    assert_string_equal(d->heading, "服务台");
    assert_string_equal(d->title, "7.8 服务台");
    assert_string_equal(d->path, "7 保障");
    assert_int_equal(d->source_line, 499); /* "### 7.8 服务台", not the TOC's line 53 */
    assert_null(strstr(d->body, "....."));
    /* 7.8 has no text of its own: it reads as its sub-clauses 7.8.1, 7.8.2 */
    assert_true(strncmp(d->body, "7.8.1 要求\n服务台管理至少应满足：", 20) == 0);
    assert_non_null(strstr(d->body, "\n7.8.2 关键指标\na) 服务台满意度；"));
    const struct kb_doc *r = find(&v, "7.8.1");
    assert_non_null(r);
    assert_string_equal(r->path, "7 保障 > 7.8 服务台");
    assert_true(strncmp(r->body, "服务台管理至少应满足：\na) 设置专门的团队或岗位", 40) == 0);
    assert_non_null(strstr(r->body, "\ne) 通过过程管理工具实现服务台的日常工作管理。"));
    assert_null(strstr(r->body, "关键指标")); /* 7.8.2's text stays in 7.8.2 */
    const struct kb_doc *k = find(&v, "7.8.2");
    assert_non_null(k);
    assert_string_equal(k->body, "a) 服务台满意度；\nb) 服务请求解决率。");
    /* the TOC's "9.2 内部审计" loses to the body's "9.2 内部审核" */
    assert_string_equal(find(&v, "9.2")->heading, "内部审核");
    assert_int_equal(count_clause(&v, "9.2"), 1);
    docs_free(&v);
}

static void test_004_problem_management(void **state)
{
    (void)state;
    struct docs v;
    parse_file(files[4], &v);
    assert_int_equal(count_clause(&v, "8.3.4.1"), 1);
    const struct kb_doc *d = find(&v, "8.3.4.1");
    assert_non_null(d);
    assert_string_equal(d->heading, "要求");
    assert_string_equal(d->title, "8.3.4.1 要求");
    assert_string_equal(d->path, "8 实施 > 8.3 过程 > 8.3.4 问题管理");
    assert_string_equal(d->id, "std-s004:8.3.4.1");
    assert_int_equal(d->source_line, 689);
    assert_true(strncmp(d->body, "组织需要通过分析事件数据和趋势以识别问题", 20) == 0);
    assert_non_null(strstr(d->body, "至少应满足：\na) 建立统一的问题管理活动"));
    assert_non_null(strstr(d->body, "\nb) 应明确问题管理活动中的角色和职责；\nc) "));
    assert_non_null(strstr(d->body, "\nf) 建立问题解决评估机制，形成问题管理报告。"));
    assert_null(strstr(d->body, "问题解决率")); /* 8.3.4.2 */
    const struct kb_doc *p = find(&v, "8.3.4");
    assert_string_equal(p->heading, "问题管理");
    /* no own text: its direct sub-clauses' titles and bodies */
    assert_true(strncmp(p->body, "8.3.4.1 要求\n组织需要", 15) == 0);
    assert_non_null(strstr(p->body, "\n8.3.4.2 "));
    /* term definitions keep the English term */
    assert_string_equal(find(&v, "3.1")->heading, "运行维护服务 operation maintenance service");
    assert_string_equal(find(&v, "3.1")->path, "3 术语和定义");
    assert_string_equal(find(&v, "1")->path, "");
    assert_string_equal(v.d[0]->clause, "1");
    assert_string_equal(v.d[v.n - 1]->clause, "10.2.2");
    docs_free(&v);
}

static void test_codes_and_titles(void **state)
{
    (void)state;
    static const struct {
        const char *code, *title, *id1;
    } want[NFILES] = {
        {"", "市场监管信息技术服务管理规范", "std-s000:1"},
        {"DB21/T 1799.1—XXXX", "信息服务管理规范 第1部分：总则", "std-db21t1799.1:1"},
        {"DSIA02012007", "信息服务管理规范 第一部分 总则", "std-dsia02012007:1"},
        {"GB/T 34077.5—2020", "基于云计算的电子政务公共平台管理规范 第5部分：技术服务体系",
         "std-gbt34077.5-2020:1"},
        {"", "信息技术服务运行维护通用要求用户实施规范", "std-s004:1"},
    };
    for (size_t f = 0; f < NFILES; f++) {
        struct docs v;
        parse_file(files[f], &v);
        for (size_t i = 0; i < v.n; i++) {
            assert_string_equal(v.d[i]->std_code, want[f].code);
            assert_string_equal(v.d[i]->std_title, want[f].title);
        }
        assert_string_equal(v.d[0]->id, want[f].id1);
        docs_free(&v);
    }
}

static void test_003_bodies(void **state)
{
    (void)state;
    struct docs v;
    parse_file(files[3], &v);
    assert_int_equal(v.n, 36);
    assert_string_equal(find(&v, "8.3") ? "found" : "none", "none");
    /* "服务评测机构和服" / page header "GB/T 34077.5—2020" / "务使用机构。" */
    const struct kb_doc *d = find(&v, "4");
    assert_non_null(strstr(d->body, "服务评测机构和服务使用机构。在技术服务体系的角色中"));
    assert_null(strstr(d->body, "GB/T 34077.5"));
    /* "- a) ..." bullets become list lines */
    assert_non_null(strstr(d->body, "如下:\na) 服务使用机构处于核心位置"));
    assert_non_null(strstr(d->body, "\nb) 服务管理机构负责构建和管理技术服务体系;\nc) "));
    /* a "- " line continuing an item across a page break is joined */
    d = find(&v, "5.3");
    assert_non_null(strstr(d->body, "分类指导服务提供机构、服务使用机构和服务评测机构。"));
    /* broken lines: "调整、改" / "进、控制" */
    assert_non_null(strstr(find(&v, "9.1")->body, "调整、改进、控制和评价等过程活动。"));
    /* bare term number with the term on the next line */
    assert_string_equal(find(&v, "3.2")->heading, "服务资源 service resource");
    assert_int_equal(find(&v, "3.2")->source_line, 109);
    assert_string_equal(find(&v, "13.2")->path, "13 服务制度");
    for (size_t i = 0; i < v.n; i++)
        assert_null(strstr(v.d[i]->body, "前言"));
    docs_free(&v);
}

static void test_000_001_bodies(void **state)
{
    (void)state;
    struct docs v;
    parse_file(files[0], &v);
    /* ideographic space between number and heading */
    assert_string_equal(find(&v, "5")->heading, "人员管控");
    const struct kb_doc *d = find(&v, "1");
    assert_string_equal(d->body,
                        "本文件对市场监管领域信息技术服务提供方的服务能力、人员、资源、技术和过程"
                        "等进行规范性要求。\n本文件适用于市场监管领域：\na) 提供或计划提供信息技术服务的"
                        "组织；\nb) 评价、选择信息技术服务提供方的服务需求方；\nc) 评价、认定信息技术服"
                        "务提供方能力水平的第三方。");
    d = find(&v, "4.2");
    assert_non_null(strstr(d->body, "包括但不限于：\n1) 组织结构和人力配备规划；\n2) 基础设施规划；"));
    assert_non_null(strstr(d->body, "\n6) 质量体系规划。\nc) 执行实施方案"));
    /* an untitled clause: a derived heading, the whole sentence in the body */
    d = find(&v, "4.1.1");
    assert_string_equal(d->heading, "服务提供方应对服务进行整体规划");
    assert_string_equal(d->body, "服务提供方应对服务进行整体规划，按合同规定交付服务，保证交付质量满足合同要求。");
    assert_string_equal(d->path, "4 服务能力管理 > 4.1 概述");
    /* the closing rule line is not text */
    assert_null(strstr(find(&v, "8.6")->body, "___"));
    docs_free(&v);

    parse_file(files[1], &v);
    /* the 引言's 0.x clauses are front matter */
    assert_null(find(&v, "0.1"));
    assert_string_equal(v.d[0]->clause, "1");
    /* page headers "DB21/T 1799.1—XXXX" and page numbers "8" / "9" dropped */
    d = find(&v, "7.1.2.3");
    assert_true(strlen(d->body) > 0);
    const char *tail = d->body + strlen(d->body) - strlen("i）计划评估等。");
    assert_string_equal(tail, "i）计划评估等。");
    for (size_t i = 0; i < v.n; i++)
        assert_null(strstr(v.d[i]->body, "1799.1—XXXX"));
    /* "8" right after a page header is a page number, not clause 8 */
    assert_int_equal(find(&v, "8")->source_line, 778);
    assert_string_equal(find(&v, "8")->heading, "信息服务管理过程");
    assert_string_equal(find(&v, "10")->heading, "个人信息管理");
    assert_string_equal(find(&v, "3.5.1")->path, "3 术语和定义 > 3.5 服务能力 service capability");
    /* reference list: one entry per line */
    assert_non_null(strstr(find(&v, "2")->body, "\nGBT22080 信息安全管理体系-要求\nGBT22081 "));
    docs_free(&v);
}

/* ---- synthetic traps -------------------------------------------------------- */

static void parse_str(const char *text, struct docs *v, int want_rc)
{
    char err[KB_ERR_MAX] = "";
    memset(v, 0, sizeof *v);
    int rc = parse_exact(text, strlen(text), "standards/999_test.txt", v, err);
    if (rc != want_rc)
        fail_msg("rc %d, want %d (%s)", rc, want_rc, err);
    for (size_t i = 0; i < v->n; i++)
        check_doc_invariants(v->d[i], "standards/999_test.txt");
}

static void clause_list(const struct docs *v, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < v->n && o + 1 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "", v->d[i]->clause);
}

static void test_steps_dates_toc_annex(void **state)
{
    (void)state;
    static const char text[] =
        "某某运维规范\n"
        "目次\n"
        "1 范围\n"
        "2 规范性引用文件\n"
        "3 术语和定义\n"
        "前言\n"
        "本文件由某单位提出。\n"
        "1 范围\n"
        "本文件规定了运维要求。\n"
        "1. 打开设置\n"
        "2. 选择菜单\n"
        "3. 保存配置\n"
        "2020 年\n"
        "2 规范性引用文件\n"
        "下列文件适用。\n"
        "3 术语和定义\n"
        "3.1 运维 operation\n"
        "定义文字 that is\n"
        "Latin text here\n"
        "4 要求\n"
        "应在\n"
        "5 个工作日内完成。\n"
        "附录 A\n"
        "（资料性附录）\n"
        "A.1 示例\n"
        "5 附录里的编号\n";
    struct docs v;
    parse_str(text, &v, 0);
    char list[256];
    clause_list(&v, list, sizeof list);
    assert_string_equal(list, "1,2,3,3.1,4");
    const struct kb_doc *d = find(&v, "1");
    assert_int_equal(d->source_line, 8); /* not the TOC's line 3 */
    assert_non_null(strstr(d->body, "\n1. 打开设置\n2. 选择菜单\n3. 保存配置"));
    assert_string_equal(find(&v, "3.1")->heading, "运维 operation");
    assert_string_equal(find(&v, "3.1")->body, "定义文字 that is Latin text here");
    assert_string_equal(find(&v, "4")->body, "应在5 个工作日内完成。");
    assert_string_equal(d->std_title, "某某运维规范");
    assert_string_equal(d->std_code, "");
    assert_string_equal(d->id, "std-s999:1");
    docs_free(&v);
}

static void test_toc_without_heading_or_pages(void **state)
{
    (void)state;
    /* a contents list with neither a 目次 line nor page numbers, then a
     * cross-reference "3 术语和定义" inside clause 2, then the real one */
    static const char text[] =
        "GB/T 99999.1—2021\n"
        "1 范围\n"
        "2 规范性引用文件\n"
        "3 术语和定义\n"
        "前言\n"
        "本文件由某单位提出。\n"
        "GB/T 99999.1—2021\n"
        "1 范围\n"
        "本文件规定了要求。\n"
        "12\n"
        "GB/T 99999.1—2021\n"
        "2 规范性引用文件\n"
        "下列文件适用。\n"
        "3 术语和定义\n"
        "见下文。\n"
        "3 术语和定义\n"
        "下列术语适用。\n"
        "— 3 —\n"
        "3.1 术语\n"
        "定义。\n";
    struct docs v;
    parse_str(text, &v, 0);
    char list[256];
    clause_list(&v, list, sizeof list);
    assert_string_equal(list, "1,2,3,3.1");
    assert_int_equal(find(&v, "1")->source_line, 8);
    assert_int_equal(find(&v, "3")->source_line, 16);
    assert_string_equal(find(&v, "1")->body, "本文件规定了要求。");
    assert_string_equal(find(&v, "2")->body, "下列文件适用。\n3 术语和定义\n见下文。");
    assert_string_equal(find(&v, "3")->body, "下列术语适用。");
    assert_string_equal(find(&v, "3.1")->std_code, "GB/T 99999.1—2021");
    assert_string_equal(find(&v, "3.1")->id, "std-gbt99999.1-2021:3.1");
    docs_free(&v);
}

static void test_annex_listed_in_toc(void **state)
{
    (void)state;
    /* the TOC's "附录A" line must not end the main text; the real annex does */
    static const char text[] =
        "目次\n"
        "前言\tI\n"
        "1 范围\t1\n"
        "2 要求\t1\n"
        "附录A（资料性附录） 示例\t3\n"
        "前言\n"
        "本文件由某单位提出。\n"
        "1 范围\n"
        "本文件规定了要求，详见\n"
        "附录A中的示例。\n"
        "2 要求\n"
        "应满足：\n"
        "a) 甲；\n"
        "b) 乙。\n"
        "附录 A\n"
        "（资料性附录）\n"
        "A.1 示例一\n"
        "3 附录里的编号\n";
    struct docs v;
    parse_str(text, &v, 0);
    char list[256];
    clause_list(&v, list, sizeof list);
    assert_string_equal(list, "1,2");
    assert_string_equal(find(&v, "1")->body, "本文件规定了要求，详见附录A中的示例。");
    assert_string_equal(find(&v, "2")->body, "应满足：\na) 甲；\nb) 乙。");
    docs_free(&v);
}

static void test_crlf_no_final_newline(void **state)
{
    (void)state;
    struct docs v;
    parse_str("1\xE3\x80\x80范围\r\n本文件规定了\r\n\r\n要求。\r\n2 规范性引用文件\r\n下列文件", &v, 0);
    assert_int_equal(v.n, 2);
    assert_string_equal(v.d[0]->heading, "范围");
    assert_string_equal(v.d[0]->body, "本文件规定了要求。");
    assert_string_equal(v.d[1]->body, "下列文件");
    docs_free(&v);
}

static void test_callback_stop(void **state)
{
    (void)state;
    struct docs v;
    memset(&v, 0, sizeof v);
    v.stop_after = 2;
    char err[KB_ERR_MAX];
    static const char text[] = "1 范围\n甲。\n2 引用\n乙。\n3 术语\n丙。\n";
    int rc = kb_std_parse(text, strlen(text), "x", collect, &v, err, sizeof err);
    assert_int_equal(rc, 7);
    assert_int_equal(v.n, 2);
    docs_free(&v);
}

/* ---- hostile input ---------------------------------------------------------- */

static void test_bad_input(void **state)
{
    (void)state;
    struct docs v;
    char err[KB_ERR_MAX];

    memset(&v, 0, sizeof v);
    err[0] = '\0';
    assert_int_equal(kb_std_parse(NULL, 0, "standards/x.txt", collect, &v, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(v.n, 0);

    err[0] = '\0';
    assert_int_equal(parse_exact("", 0, NULL, &v, err), -1);
    assert_non_null(strstr(err, "no numbered clause"));
    assert_int_equal(v.n, 0);

    parse_str("just some text\nwith no clauses at all。\n", &v, -1);
    assert_int_equal(v.n, 0);

    /* garbage bytes, NULs and invalid UTF-8 included */
    uint32_t seed = 12345;
    size_t glen = 1 << 16;
    char *g = kb_xmalloc(glen);
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < glen; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) & 0xFF;
            /* mix in digits, dots, spaces and newlines so some lines look numbered */
            static const char alpha[] = "0123456789.. \n\n\t#-a)";
            g[i] = round % 2 ? (char)r : (r < 200 ? alpha[r % (sizeof alpha - 1)] : (char)r);
        }
        memset(&v, 0, sizeof v);
        int rc = parse_exact(g, glen, "standards/garbage.txt", &v, err);
        assert_true(rc == 0 || rc == -1);
        if (rc == -1)
            assert_int_equal(v.n, 0);
        for (size_t i = 0; i < v.n; i++)
            check_doc_invariants(v.d[i], "standards/garbage.txt");
        docs_free(&v);
    }
    free(g);

    /* one 1 MB line, no newline: nothing to find, or one clause, never a crash */
    size_t big = 1 << 20;
    char *h = kb_xmalloc(big);
    memset(h, 'x', big);
    memset(&v, 0, sizeof v);
    assert_int_equal(parse_exact(h, big, "standards/big.txt", &v, err), -1);
    memcpy(h, "1 范围 ", strlen("1 范围 "));
    for (size_t i = strlen("1 范围 "); i + 3 <= big; i += 3)
        memcpy(h + i, "字", 3);
    int rc = parse_exact(h, big - big % 3, "standards/big.txt", &v, err);
    assert_true(rc == 0 || rc == -1);
    for (size_t i = 0; i < v.n; i++)
        check_doc_invariants(v.d[i], "standards/big.txt");
    docs_free(&v);
    /* the same line cut in the middle of a UTF-8 sequence */
    rc = parse_exact(h, big - big % 3 - 1, "standards/big.txt", &v, err);
    assert_true(rc == 0 || rc == -1);
    for (size_t i = 0; i < v.n; i++)
        check_doc_invariants(v.d[i], "standards/big.txt");
    docs_free(&v);
    free(h);

    /* many numbered lines: must stay fast and sane */
    struct kb_buf b;
    kb_buf_init(&b);
    for (int i = 0; i < 20000; i++)
        kb_buf_printf(&b, "%d.%d\n1\n", 1 + i % 7, 1 + i % 5);
    memset(&v, 0, sizeof v);
    rc = parse_exact(b.data, b.len, "standards/many.txt", &v, err);
    assert_true(rc == 0 || rc == -1);
    for (size_t i = 0; i < v.n; i++)
        check_doc_invariants(v.d[i], "standards/many.txt");
    docs_free(&v);
    kb_buf_fin(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_000),
        cmocka_unit_test(test_golden_001),
        cmocka_unit_test(test_golden_002),
        cmocka_unit_test(test_golden_003),
        cmocka_unit_test(test_golden_004),
        cmocka_unit_test(test_invariants_all_files),
        cmocka_unit_test(test_004_service_desk_not_toc),
        cmocka_unit_test(test_004_problem_management),
        cmocka_unit_test(test_codes_and_titles),
        cmocka_unit_test(test_003_bodies),
        cmocka_unit_test(test_000_001_bodies),
        cmocka_unit_test(test_steps_dates_toc_annex),
        cmocka_unit_test(test_toc_without_heading_or_pages),
        cmocka_unit_test(test_annex_listed_in_toc),
        cmocka_unit_test(test_crlf_no_final_newline),
        cmocka_unit_test(test_callback_stop),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
