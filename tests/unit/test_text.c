/* Unit tests for the text pipeline: kb_utf8, kb_norm, kb_lexicon, kb_tok
 * (through kb_analyzer) and kb_map. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kb_analyzer.h"
#include "kb_map.h"
#include "kb_norm.h"
#include "kb_utf8.h"
#include "kb_util.h"

/* ---- kb_utf8 -------------------------------------------------------------- */

static void utf8_valid(void **state)
{
    (void)state;
    const char *ok = "IT服务 abc 😀";
    assert_int_equal(kb_utf8_check(ok, strlen(ok), 0, NULL), 0);
    assert_int_equal(kb_utf8_check("", 0, 0, NULL), 0);
}

static void utf8_invalid(void **state)
{
    (void)state;
    static const struct { const char *s; size_t len; size_t bad; } cases[] = {
        {"ab\xff", 3, 2},                /* invalid byte */
        {"\xc0\xaf", 2, 0},              /* overlong '/' */
        {"\xe0\x80\xaf", 3, 0},          /* overlong 3-byte */
        {"x\xed\xa0\x80", 4, 1},         /* surrogate */
        {"\xf4\x90\x80\x80", 4, 0},      /* above U+10FFFF */
        {"\xe7\x9f", 2, 0},              /* truncated */
        {"ok\x80", 3, 2},                /* lone continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t bad = 99;
        assert_int_equal(kb_utf8_check(cases[i].s, cases[i].len, 0, &bad), KB_UTF8_EINVAL);
        assert_int_equal(bad, cases[i].bad);
    }
    size_t bad = 0;
    assert_int_equal(kb_utf8_check("a\0b", 3, 0, &bad), KB_UTF8_ENUL);
    assert_int_equal(bad, 1);
    assert_int_equal(kb_utf8_check("a\0b", 3, 1, &bad), 0);
}

static void utf8_roundtrip(void **state)
{
    (void)state;
    int32_t cps[] = {0x41, 0x7FF, 0x800, 0x4E2D, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        char buf[4];
        size_t n = kb_utf8_encode(cps[i], buf);
        assert_true(n > 0);
        size_t at = 0;
        assert_int_equal(kb_utf8_next(buf, n, &at), cps[i]);
        assert_int_equal(at, n);
    }
    char buf[4];
    assert_int_equal(kb_utf8_encode(0xD800, buf), 0);
    assert_int_equal(kb_utf8_encode(0x110000, buf), 0);
}

/* The inline fast paths of kb_utf8_next agree with the general decoder on
 * every three-byte sequence, at every length, and kb_utf8_check's
 * eight-byte stride finds the same first error as a byte-at-a-time scan
 * wherever the error falls. */
static void utf8_fast_paths(void **state)
{
    (void)state;
    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (unsigned c = 0; c < 256; c += (a >= 0xE0 && a <= 0xEF) ? 1 : 37) {
                char s[3] = {(char)a, (char)b, (char)c};
                for (size_t len = 1; len <= 3; len++) {
                    size_t i = 0, j = 0;
                    int32_t fast = kb_utf8_next(s, len, &i);
                    int32_t slow = kb_utf8_next_slow(s, len, &j);
                    if (fast != slow || i != j)
                        fail_msg("%02x %02x %02x len %zu: %d/%zu vs %d/%zu", a, b, c, len,
                                 fast, i, slow, j);
                }
            }
    unsigned seed = 7;
    for (int round = 0; round < 20000; round++) {
        char buf[40];
        size_t len = (size_t)(round % 40);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) & 0xFF;
            /* mostly ASCII, sometimes NUL, a CJK character or a bad byte */
            buf[k] = (char)(r < 200 ? 'a' + r % 26 : r < 205 ? 0 : r < 240 ? 0xE4 : r);
        }
        for (int nul = 0; nul <= 1; nul++) {
            size_t want_bad = 0, i = 0;
            int want = 0;
            while (i < len) {
                size_t at = i;
                int32_t cp = kb_utf8_next_slow(buf, len, &i);
                if (cp < 0 || (cp == 0 && !nul)) {
                    want = cp < 0 ? KB_UTF8_EINVAL : KB_UTF8_ENUL;
                    want_bad = at;
                    break;
                }
            }
            size_t bad = 999;
            assert_int_equal(kb_utf8_check(buf, len, nul, &bad), want);
            if (want)
                assert_int_equal(bad, want_bad);
        }
    }
}

/* ---- kb_norm -------------------------------------------------------------- */

static char *norm(const char *s)
{
    kb_norm *n;
    char err[KB_ERR_MAX];
    assert_int_equal(kb_norm_new(&n, err, sizeof err), 0);
    char *out = NULL;
    size_t len;
    int rc = kb_norm_text(n, s, strlen(s), &out, &len, err, sizeof err);
    kb_norm_free(n);
    assert_int_equal(rc, 0);
    assert_int_equal(strlen(out), len);
    return out;
}

static void norm_cases(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"ＩＴ服务ＡＢＣ１２３", "it服务abc123"},
        {"IT服务abc123", "it服务abc123"},
        {"知識庫", "知识库"},
        {"服務臺滿意度", "服务台满意度"},
        {"ＯＲＡ－１２１５４", "ora-12154"},
        {"a\xe2\x80\x8b" "b", "ab"},            /* zero-width space dropped */
        {"x\xe3\x80\x80y", "x y"},              /* ideographic space */
        {"（注）：", "(注):"},
        {"line1\r\nline2", "line1\nline2"},
        {"Straße", "strasse"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *o = norm(cases[i][0]);
        assert_string_equal(o, cases[i][1]);
        free(o);
    }
}

static void norm_errors(void **state)
{
    (void)state;
    kb_norm *n;
    char err[KB_ERR_MAX] = "";
    assert_int_equal(kb_norm_new(&n, err, sizeof err), 0);
    char *out = (char *)1;
    size_t len;
    assert_int_equal(kb_norm_text(n, "ab\xfe", 3, &out, &len, err, sizeof err), KB_NORM_EUTF8);
    assert_null(out);
    assert_non_null(strstr(err, "byte 2"));
    assert_int_equal(kb_norm_text(n, "a\0b", 3, &out, &len, err, sizeof err), KB_NORM_ENUL);
    assert_null(out);
    assert_int_equal(kb_norm_text(n, "", 0, &out, &len, err, sizeof err), 0);
    assert_string_equal(out, "");
    free(out);
    /* kb_norm_text_map checks as it reads: the same error and byte as a
       check of the whole text first, wherever the fault is */
    const char *bad[] = {"ab\xfe", "打印机\xe6\x89", "x\xed\xa0\x80y", "IT服务\xc0\xaf",
                         "\x80", "服务台 VPN\r\n 错误 809 \xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t at = 0, *map = (size_t *)1;
        assert_int_equal(kb_utf8_check(bad[i], strlen(bad[i]), 0, &at), KB_UTF8_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "at byte %zu", at);
        out = (char *)1;
        assert_int_equal(kb_norm_text_map(n, bad[i], strlen(bad[i]), &out, &len, &map, err,
                                          sizeof err),
                         KB_NORM_EUTF8);
        assert_null(out);
        assert_null(map);
        assert_non_null(strstr(err, want));
    }
    size_t *map = (size_t *)1;
    assert_int_equal(kb_norm_text_map(n, "服务\r\n台\0x", 13, &out, &len, &map, err, sizeof err),
                     KB_NORM_ENUL);
    assert_null(map);
    assert_non_null(strstr(err, "at byte 11"));
    kb_norm_free(n);
    kb_norm_free(NULL);
}

/* kb_norm_text_map reads ASCII eight bytes at a time: the same text as
 * kb_norm_text, each byte mapped to its source, around CRs, NULs and
 * non-ASCII at every offset of the eight-byte step. */
static void norm_map_ascii_blocks(void **state)
{
    (void)state;
    kb_norm *n;
    char err[KB_ERR_MAX] = "";
    assert_int_equal(kb_norm_new(&n, err, sizeof err), 0);
    const char *inserts[] = {"\r\n", "\r", "É", "服", "\t"};
    for (size_t k = 0; k < sizeof inserts / sizeof *inserts; k++)
        for (size_t at = 0; at < 20; at++) {
            char text[64];
            snprintf(text, sizeof text, "%.*s%sABCDEFGHIJklmnopQRSTUVWX", (int)at,
                     "Hello WORLD Vpn 809 xyz", inserts[k]);
            size_t tl = strlen(text), ol = 0, ml = 0, *map = NULL;
            char *o = NULL, *m = NULL;
            assert_int_equal(kb_norm_text(n, text, tl, &o, &ol, err, sizeof err), 0);
            assert_int_equal(kb_norm_text_map(n, text, tl, &m, &ml, &map, err, sizeof err), 0);
            assert_int_equal(ml, ol);
            assert_memory_equal(m, o, ol);
            for (size_t i = 0; i < ml; i++) {
                unsigned char c = (unsigned char)text[map[i]];
                assert_true(map[i] < tl && (i == 0 || map[i] >= map[i - 1]));
                if (c < 0x80 && c != '\r')
                    assert_int_equal(m[i], c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            assert_int_equal(map[ml], tl);
            free(o);
            free(m);
            free(map);
        }
    char nul[] = "ABCDEFGHIJ\0KLMNOPQRS";
    char *m = (char *)1;
    size_t ml, *map = (size_t *)1;
    assert_int_equal(kb_norm_text_map(n, nul, sizeof nul - 1, &m, &ml, &map, err, sizeof err),
                     KB_NORM_ENUL);
    assert_null(m);
    assert_null(map);
    assert_non_null(strstr(err, "at byte 10"));
    kb_norm_free(n);
}

/* ---- tokenizer through the analyzer --------------------------------------- */

struct terms {
    char *v[512];
    uint32_t pos[512];
    unsigned flags[512];
    size_t n;
};

static int collect(void *ud, const struct kb_token *t)
{
    struct terms *ts = ud;
    if (ts->n < 512) {
        ts->v[ts->n] = kb_xstrndup(t->term, t->len);
        ts->pos[ts->n] = t->pos;
        ts->flags[ts->n] = t->flags;
        ts->n++;
    }
    return 0;
}

static kb_lexicon *g_lx;
static kb_analyzer *g_an;

static int setup_an(void **state)
{
    (void)state;
    char err[KB_ERR_MAX];
    g_lx = kb_lexicon_new_builtin();
    return kb_analyzer_new(g_lx, &g_an, err, sizeof err);
}

static int teardown_an(void **state)
{
    (void)state;
    kb_analyzer_free(g_an);
    kb_lexicon_free(g_lx);
    return 0;
}

static void analyze(const char *s, struct terms *ts)
{
    char err[KB_ERR_MAX];
    memset(ts, 0, sizeof *ts);
    assert_int_equal(kb_analyze(g_an, KB_TOK_DOCUMENT, s, strlen(s), collect, ts, NULL, err,
                                sizeof err), 0);
}

static void terms_free(struct terms *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->v[i]);
}

static int has(const struct terms *ts, const char *t)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->v[i], t) == 0)
            return 1;
    return 0;
}

static int count(const struct terms *ts, const char *t)
{
    int c = 0;
    for (size_t i = 0; i < ts->n; i++)
        c += strcmp(ts->v[i], t) == 0;
    return c;
}

static void tok_chinese_words_and_bigrams(void **state)
{
    (void)state;
    struct terms ts;
    analyze("运行维护服务主责部门应建立知识库", &ts);
    const char *want[] = {"运行", "维护", "服务", "部门", "知识库", "建立", /* words */
                          "行维", "务主", "责部", "立知", "识库"};           /* bigrams */
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!has(&ts, want[i]))
            fail_msg("missing term %s", want[i]);
    /* the lexicon fragment 库 alone is not emitted: 知识库 covers it */
    assert_false(has(&ts, "库"));
    /* a two-character word that is also a bigram is emitted once */
    assert_int_equal(count(&ts, "服务"), 1);
    terms_free(&ts);
}

static void tok_lexicon_overrides_icu(void **state)
{
    (void)state;
    struct terms ts;
    analyze("服务台满意度和已知错误以及配置管理数据库", &ts);
    assert_true(has(&ts, "服务台"));
    assert_true(has(&ts, "满意度"));
    assert_true(has(&ts, "已知错误"));
    assert_true(has(&ts, "配置管理数据库"));
    assert_true(has(&ts, "数据库"));
    terms_free(&ts);
}

static void tok_codes_whole(void **state)
{
    (void)state;
    struct terms ts;
    analyze("ＯＲＡ－１２１５４ 错误 Windows 更新失败 0x80070005 8.3.4.1 问题管理 "
            "192.168.1.10 Win10 TLS1.2 tnsnames.ora",
            &ts);
    const char *want[] = {"ora-12154", "ora", "12154", "错误", "windows", "Zwindow",
                          "0x80070005", "8.3.4.1", "问题管理", "192.168.1.10", "win10",
                          "tls1.2", "tnsnames.ora", "tnsnames"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!has(&ts, want[i]))
            fail_msg("missing term %s", want[i]);
    /* numeric codes are not split into noise */
    assert_false(has(&ts, "168"));
    assert_false(has(&ts, "8"));
    terms_free(&ts);
}

static void tok_traditional(void **state)
{
    (void)state;
    struct terms a, b;
    analyze("知識庫", &a);
    analyze("知识库", &b);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_string_equal(a.v[i], b.v[i]);
    assert_true(has(&a, "知识库"));
    terms_free(&a);
    terms_free(&b);
}

static void tok_fullwidth_same_as_ascii(void **state)
{
    (void)state;
    struct terms a, b;
    analyze("ＩＴ服务ＡＢＣ１２３", &a);
    analyze("IT服务abc123", &b);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_string_equal(a.v[i], b.v[i]);
    assert_true(has(&a, "it"));
    assert_true(has(&a, "abc123"));
    terms_free(&a);
    terms_free(&b);
}

static void tok_positions(void **state)
{
    (void)state;
    struct terms ts;
    analyze("printer 打印机脱机 offline", &ts);
    /* printer at 0, 打印机 at 1 (first CJK char), offline after 5 CJK chars */
    for (size_t i = 0; i < ts.n; i++) {
        if (!strcmp(ts.v[i], "printer"))
            assert_int_equal(ts.pos[i], 0);
        if (!strcmp(ts.v[i], "打印机"))
            assert_int_equal(ts.pos[i], 1);
        if (!strcmp(ts.v[i], "脱机"))
            assert_int_equal(ts.pos[i], 4);
        if (!strcmp(ts.v[i], "offline"))
            assert_int_equal(ts.pos[i], 6);
    }
    assert_true(has(&ts, "Zprinter"));
    terms_free(&ts);
}

/* KB_TOK_NOSTEM: returned for a Latin word, that word gets no stem and
 * tokenizing goes on; returned for any other token it means 0. */
static int nostem_for_printer(void *ud, const struct kb_token *t)
{
    collect(ud, t);
    if ((t->len == 7 && !memcmp(t->term, "printer", 7)) || (t->flags & (KB_TOKF_CJK | KB_TOKF_CODE)))
        return KB_TOK_NOSTEM;
    return 0;
}

static void tok_nostem(void **state)
{
    (void)state;
    const char *s = "printer 打印机脱机 offline, 错误0x80070005 ora-12154 printers";
    for (int mode = KB_TOK_DOCUMENT; mode <= KB_TOK_RUNS; mode++) {
        struct terms ts;
        memset(&ts, 0, sizeof ts);
        char err[KB_ERR_MAX];
        assert_int_equal(kb_analyze(g_an, mode, s, strlen(s), nostem_for_printer, &ts, NULL, err,
                                    sizeof err), 0);
        assert_true(has(&ts, "printer"));
        assert_int_equal(count(&ts, "Zprinter"), 1); /* from "printers" only */
        assert_true(has(&ts, "Zofflin"));
        assert_true(has(&ts, "0x80070005"));
        assert_true(has(&ts, "ora"));      /* a part after a code: not stopped */
        assert_true(has(&ts, "printers")); /* the last token: nothing stopped */
        terms_free(&ts);
    }
}

/* The snippet matcher relies on a stem starting with its word's first
 * letter: every stem of the README's words and of the stemmer's special
 * cases does. */
static int stem_first_letter(void *ud, const struct kb_token *t)
{
    struct kb_token *last = ud;
    if ((t->flags & KB_TOKF_STEM)) {
        if (t->len < 2 || !last->len || t->term[1] != last->term[0] || t->pos != last->pos)
            fail_msg("stem %.*s of %.*s", (int)t->len, t->term, (int)last->len, last->term);
        last->start++; /* stems seen */
    } else if (!(t->flags & KB_TOKF_CJK)) {
        static char word[KB_TOK_MAX_TERM + 1];
        memcpy(word, t->term, t->len);
        last->term = word;
        last->len = t->len;
        last->pos = t->pos;
    }
    return 0;
}

static void tok_stem_keeps_first_letter(void **state)
{
    (void)state;
    char *text = NULL, err[KB_ERR_MAX];
    size_t len = 0;
    assert_int_equal(kb_read_file("README.md", &text, &len, err, sizeof err), 0);
    const char *special = " skies skis dying lying tying idly gently ugly early only singly news "
                          "howe atlas cosmos bias andes inning outing canning herring earring "
                          "proceed exceed succeed generate generously communism arsenal yelling "
                          "yearly youths";
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_add(&b, text, len);
    kb_buf_adds(&b, special);
    free(text);
    struct kb_token last = {0};
    assert_int_equal(kb_analyze(g_an, KB_TOK_DOCUMENT, b.data, b.len, stem_first_letter, &last,
                                NULL, err, sizeof err), 0);
    assert_true(last.start > 1000); /* stems checked */
    kb_buf_fin(&b);
}

/* ---- JSON numbers and escapes (kb_util) ------------------------------------- */

/* What Jansson's compact dump writes for v with JSON_REAL_PRECISION(8): the
 * bytes kb_buf_json_real promises (kb_util.h). Caller frees. */
static char *json_real_by_jansson(double v)
{
    json_t *j = json_real(v);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(8));
    json_decref(j);
    return s;
}

static void check_real(double v)
{
    struct kb_buf a;
    kb_buf_init(&a);
    kb_buf_json_real(&a, v);
    char *want = json_real_by_jansson(v);
    if (!want || strcmp(a.data, want) != 0)
        fail_msg("%.17g: %s, Jansson %s", v, a.data, want ? want : "(none)");
    free(want);
    kb_buf_fin(&a);
}

static void json_values(void **state)
{
    (void)state;
    /* edges: zeros, the fixed-notation range's ends, powers of ten and
       their neighbours, values that round up to the next power, ties that
       only the exact binary value decides */
    const double edge[] = {0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 1e-4, 9.9999999e-5, 1e-5, 1e7,
                           1e8, 99999999.0, 99999999.5, 99999999.49, 12345678.5, 12345677.5,
                           9.99999995, 9.999999949, 0.099999999, 0.12345675, 1.00000005,
                           2.5e-4, 123.456, 4e7, 3.14159265358979, 1e300, -1e-300, 5e-324,
                           0.30000000000000004, 1234567.85, 0.000123456785};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        check_real(edge[i]);
        check_real(-edge[i]);
    }
    /* every decade, as search answers round them (scores to 1e-4,
       confidences and times to 1e-3), and raw */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
        double v = u * pow(10.0, (double)(i % 15) - 6.0);
        check_real(v);
        check_real(round(v * 10000) / 10000);
        check_real(round(v * 1000) / 1000);
    }
    struct kb_buf b;
    kb_buf_init(&b);
    const long long ints[] = {0, 7, -7, 10, 1234567890123LL, -9223372036854775807LL - 1,
                              9223372036854775807LL};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "%lld", ints[i]);
        kb_buf_reset(&b);
        kb_buf_json_int(&b, ints[i]);
        assert_string_equal(b.data, want);
    }
    /* strings: every special byte at every place of the eight-byte steps,
       against Jansson's dump */
    const char *piece[] = {"a", "\"", "\\", "\n", "\x01", "\x1f", " ", "\x7f", "中", "/"};
    for (int i = 0; i < 20000; i++) {
        char t[64];
        size_t n = 0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for (uint64_t r = x, k = r % 20; k > 0; k--, r /= 3) {
            const char *p = (r % 3) ? "a" : piece[(r >> 8) % 10];
            memcpy(t + n, p, strlen(p));
            n += strlen(p);
        }
        kb_buf_reset(&b);
        kb_buf_json_str(&b, t, n);
        json_t *j = json_stringn(t, n);
        char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        assert_non_null(want);
        assert_string_equal(b.data, want);
        free(want);
    }
    kb_buf_reset(&b);
    kb_buf_json_str(&b, "a\x01\x1f\"\\\n\x7f", 7);
    assert_string_equal(b.data, "\"a\\u0001\\u001F\\\"\\\\\\n\x7f\"");
    kb_buf_fin(&b);
}

/* KB_TOK_RUNS: each CJK run whole, Latin tokens and all positions as in the
 * other modes. */
static void tok_runs_mode(void **state)
{
    (void)state;
    const char *s = "printer 打印机脱机 offline, 错误0x80070005。";
    struct terms doc, runs;
    analyze(s, &doc);
    memset(&runs, 0, sizeof runs);
    char err[KB_ERR_MAX];
    assert_int_equal(kb_analyze(g_an, KB_TOK_RUNS, s, strlen(s), collect, &runs, NULL, err,
                                sizeof err), 0);
    const char *want[] = {"printer", "Zprinter", "打印机脱机", "offline", "Zofflin", "错误",
                          "0x80070005"};
    const uint32_t wpos[] = {0, 0, 1, 6, 6, 7, 9};
    assert_int_equal(runs.n, sizeof want / sizeof *want);
    for (size_t i = 0; i < runs.n; i++) {
        assert_string_equal(runs.v[i], want[i]);
        assert_int_equal(runs.pos[i], wpos[i]);
        int cjk = (runs.flags[i] & KB_TOKF_CJK) != 0;
        assert_int_equal(cjk, i == 2 || i == 5);
        assert_int_equal((runs.flags[i] & KB_TOKF_RUN) != 0, cjk);
    }
    /* the Latin tokens sit where document mode puts them */
    for (size_t i = 0; i < doc.n; i++) {
        if (!strcmp(doc.v[i], "offline"))
            assert_int_equal(doc.pos[i], 6);
        if (!strcmp(doc.v[i], "0x80070005"))
            assert_int_equal(doc.pos[i], 9);
        assert_int_equal(doc.flags[i] & KB_TOKF_RUN, 0);
    }
    terms_free(&doc);
    terms_free(&runs);
}

static void map_getn(void **state)
{
    (void)state;
    kb_map *m = kb_map_new();
    kb_map_put(m, "abc", (void *)1);
    kb_map_put(m, "ab", (void *)2);
    const char *text = "abcd";
    assert_int_equal((intptr_t)kb_map_getn(m, text, 3), 1);
    assert_int_equal((intptr_t)kb_map_getn(m, text, 2), 2);
    assert_null(kb_map_getn(m, text, 4));
    assert_null(kb_map_getn(m, text, 1));
    assert_null(kb_map_getn(m, text, 0));
    kb_map_free(m, NULL);
}

static void tok_invalid_input(void **state)
{
    (void)state;
    char err[KB_ERR_MAX] = "";
    struct terms ts = {0};
    assert_int_equal(kb_analyze(g_an, KB_TOK_QUERY, "x\xc3", 2, collect, &ts, NULL, err,
                                sizeof err), KB_AN_EINPUT);
    assert_int_equal(ts.n, 0);
    assert_non_null(strstr(err, "invalid UTF-8"));
}

static int cnt(void *ud, const struct kb_token *t)
{
    assert_true(t->len <= KB_TOK_MAX_TERM);
    (*(size_t *)ud)++;
    return 0;
}

static int stop(void *ud, const struct kb_token *t)
{
    (void)t;
    (*(int *)ud)++;
    return 7;
}

static void tok_long_and_odd_input(void **state)
{
    (void)state;
    /* a 200 KB run of Han characters and one 300-byte Latin token */
    size_t n = 200000 / 3;
    char *s = kb_xmalloc(n * 3 + 400);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * 3, (i % 2) ? "识" : "知", 3);
    memset(s + n * 3, 'a', 300);
    s[n * 3 + 300] = '\0';
    uint32_t npos = 0;
    char err[KB_ERR_MAX];
    size_t count = 0;
    assert_int_equal(kb_analyze(g_an, KB_TOK_DOCUMENT, s, strlen(s),
                                cnt, &count, &npos, err, sizeof err), 0);
    assert_int_equal(npos, n + 1);
    assert_true(count >= n - 1);
    free(s);
    /* punctuation only */
    count = 0;
    assert_int_equal(kb_analyze(g_an, KB_TOK_DOCUMENT, "，。！...---", 15, cnt,
                                &count, &npos, err, sizeof err), 0);
    assert_int_equal(count, 0);
}


static void tok_callback_stops(void **state)
{
    (void)state;
    char err[KB_ERR_MAX];
    int calls = 0;
    assert_int_equal(kb_analyze(g_an, KB_TOK_DOCUMENT, "one two three", 13, stop,
                                &calls, NULL, err, sizeof err), 7);
    assert_int_equal(calls, 1);
}


/* ---- kb_lexicon and kb_map ------------------------------------------------ */

static void lexicon_basics(void **state)
{
    (void)state;
    kb_lexicon *lx = kb_lexicon_new_builtin();
    assert_true(kb_lexicon_size(lx) > 200);
    assert_true(kb_lexicon_has(lx, "知识库", strlen("知识库")));
    assert_false(kb_lexicon_has(lx, "知识酷", strlen("知识酷")));
    assert_int_equal(kb_lexicon_add(lx, "库", 3), 0); /* one character: ignored */
    assert_int_equal(kb_lexicon_add(lx, "堡垒机", 9), 1);
    assert_int_equal(kb_lexicon_add(lx, "堡垒机", 9), 0);
    assert_true(kb_lexicon_has(lx, "堡垒机", 9));
    char path[] = "/tmp/kblexXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n数据中台\n\n 运维大屏 \nbad\xff\n", f);
    fclose(f);
    char err[KB_ERR_MAX] = "";
    assert_int_equal(kb_lexicon_load(lx, path, err, sizeof err), -1);
    assert_non_null(strstr(err, ":5: invalid UTF-8"));
    f = fopen(path, "w");
    fputs("# comment\n数据中台\n\n 运维大屏 \n", f);
    fclose(f);
    assert_int_equal(kb_lexicon_load(lx, path, err, sizeof err), 2);
    assert_true(kb_lexicon_has(lx, "运维大屏", strlen("运维大屏")));
    unlink(path);
    kb_lexicon_free(lx);
}

static void map_basics(void **state)
{
    (void)state;
    kb_map *m = kb_map_new();
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_null(kb_map_put(m, key, (void *)(intptr_t)(i + 1)));
    }
    assert_int_equal(kb_map_count(m), 1000);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal((intptr_t)kb_map_del(m, key), i + 1);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (i % 2)
            assert_int_equal((intptr_t)kb_map_get(m, key), i + 1);
        else
            assert_null(kb_map_get(m, key));
    }
    size_t it = 0, seen = 0;
    const char *k;
    void *v;
    while (kb_map_next(m, &it, &k, &v))
        seen++;
    assert_int_equal(seen, 500);
    assert_int_equal((intptr_t)kb_map_put(m, "k1", (void *)5), 2);
    kb_map_free(m, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_valid),
        cmocka_unit_test(utf8_invalid),
        cmocka_unit_test(utf8_roundtrip),
        cmocka_unit_test(utf8_fast_paths),
        cmocka_unit_test(norm_cases),
        cmocka_unit_test(norm_errors),
        cmocka_unit_test(norm_map_ascii_blocks),
        cmocka_unit_test(tok_chinese_words_and_bigrams),
        cmocka_unit_test(tok_lexicon_overrides_icu),
        cmocka_unit_test(tok_codes_whole),
        cmocka_unit_test(tok_traditional),
        cmocka_unit_test(tok_fullwidth_same_as_ascii),
        cmocka_unit_test(tok_positions),
        cmocka_unit_test(tok_runs_mode),
        cmocka_unit_test(tok_nostem),
        cmocka_unit_test(tok_stem_keeps_first_letter),
        cmocka_unit_test(map_getn),
        cmocka_unit_test(tok_invalid_input),
        cmocka_unit_test(tok_long_and_odd_input),
        cmocka_unit_test(tok_callback_stops),
        cmocka_unit_test(lexicon_basics),
        cmocka_unit_test(map_basics),
        cmocka_unit_test(json_values),
    };
    return cmocka_run_group_tests_name("text", tests, setup_an, teardown_an);
}
