/* Unit tests for kb_norm's OpenCC skip: text in which no OpenCC dictionary
 * key occurs is not passed to OpenCC, and the result must be exactly what
 * OpenCC would have returned. Checked against OpenCC itself (utf8proc, then
 * opencc_convert_utf8 on every text, as kb_norm did before the skip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <opencc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "kb_norm.h"
#include "kb_util.h"

struct fix {
    kb_norm *n;
    opencc_t cc;
};

static int setup(void **state)
{
    struct fix *f = kb_xcalloc(1, sizeof *f);
    char err[KB_ERR_MAX];
    if (kb_norm_new(&f->n, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        free(f);
        return -1;
    }
    f->cc = opencc_open("t2s.json");
    if (f->cc == (opencc_t)-1) {
        kb_norm_free(f->n);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    kb_norm_free(f->n);
    opencc_close(f->cc);
    free(f);
    return 0;
}

/* The reference: NFKC + case fold, then OpenCC always. Caller frees. */
static char *reference(struct fix *f, const char *s)
{
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t fl = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)strlen(s),
                                       &folded,
                                       UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                           UTF8PROC_CASEFOLD | UTF8PROC_IGNORE |
                                           UTF8PROC_NLF2LF);
    assert_true(fl >= 0);
    char *conv = opencc_convert_utf8(f->cc, (const char *)folded, (size_t)fl);
    assert_non_null(conv);
    char *r = kb_xstrdup(conv);
    opencc_convert_utf8_free(conv);
    free(folded);
    return r;
}

/* kb_norm_text and kb_norm_text_map on s both equal the reference (the
 * map variant keeps unconverted text when the length would change). */
static void check(struct fix *f, const char *s)
{
    char err[KB_ERR_MAX];
    char *ref = reference(f, s), *out = NULL, *mout = NULL;
    size_t len = 0, mlen = 0, *map = NULL;
    assert_int_equal(kb_norm_text(f->n, s, strlen(s), &out, &len, err, sizeof err), 0);
    assert_string_equal(out, ref);
    assert_int_equal(len, strlen(ref));
    assert_int_equal(kb_norm_text_map(f->n, s, strlen(s), &mout, &mlen, &map, err, sizeof err), 0);
    if (mlen == strlen(ref))
        assert_string_equal(mout, ref);
    assert_int_equal(map[mlen], strlen(s));
    free(ref);
    free(out);
    free(mout);
    free(map);
}

static char *norm(struct fix *f, const char *s)
{
    char err[KB_ERR_MAX];
    char *out = NULL;
    size_t len;
    assert_int_equal(kb_norm_text(f->n, s, strlen(s), &out, &len, err, sizeof err), 0);
    return out;
}

/* Writes to buf 1 to max (a power of two) strings drawn at random from
 * a[0..na) and b[0..nb), one after the other. */
static void random_text(uint64_t *seed, unsigned max, const char *const *a, size_t na,
                        const char *const *b, size_t nb, char *buf)
{
    buf[0] = '\0';
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t n = 1 + (size_t)((*seed >> 33) & (max - 1));
    for (size_t k = 0; k < n; k++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t i = (*seed >> 33) % (na + nb);
        strcat(buf, i < na ? a[i] : b[i - na]);
    }
}

static void skip_fixed_cases(void **state)
{
    struct fix *f = *state;
    static const char *const cases[][2] = {
        {"知識庫", "知识库"},                   /* Traditional: converted */
        {"纯简体的中文文本，没有繁体字。", "纯简体的中文文本,没有繁体字。"}, /* unchanged */
        {"有序列表和数据库", "有序列表和数据库"}, /* 有序 is a key that maps to itself */
        {"打印機和服务台", "打印机和服务台"},     /* mixed */
        {"他保持沈默。", "他保持沉默。"},         /* a phrase of characters that alone stay */
        {"沈先生", "沈先生"},                     /* the same character outside the phrase */
        {"計畫", "计划"},                         /* phrase, not character by character (计画) */
        {"角徵", "角徵"},                         /* phrase keeps 徵 (alone: 征) */
        {"徵收", "征收"},
        {"Windows 10 打印機 ok", "windows 10 打印机 ok"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *o = norm(f, cases[i][0]);
        assert_string_equal(o, cases[i][1]);
        free(o);
        check(f, cases[i][0]);
    }
}

/* Random strings over an alphabet rich in dictionary keys, phrase starts
 * and plain Simplified text: the skip never changes the result. */
static void skip_matches_opencc(void **state)
{
    struct fix *f = *state;
    static const char *const alpha[] = {
        "沈", "默", "船", "有", "序", "計", "畫", "角", "徵", "變", "一", "目", "瞭", "然",
        "文", "件", "夾", "知", "識", "庫", "数", "据", "库", "的", "是", "乾", "隆", "著",
        "名", "干", "了", "A", "b", " ", "。", "，", "\n", "1", "😀", "𠀀",
    };
    uint64_t seed = 20260511;
    for (int iter = 0; iter < 3000; iter++) {
        char buf[256];
        random_text(&seed, 16, alpha, sizeof alpha / sizeof *alpha, NULL, 0, buf);
        check(f, buf);
    }
}

/* ASCII text takes a shortcut past utf8proc: every ASCII character alone
 * and every pair (CR LF among them) normalises as utf8proc would. */
static void ascii_matches_utf8proc(void **state)
{
    struct fix *f = *state;
    for (int a = 1; a < 128; a++) {
        for (int b = 0; b < 128; b++) {
            char s[3] = {(char)a, (char)b, 0};
            check(f, s);
        }
    }
    check(f, "Line1\r\nLine2\rLine3\n\r\n\r\rEND Ora-12154 X.509");
}

/* CJK Unified Ideographs take a shortcut past utf8proc in kb_norm_text_map,
 * and most of them are no OpenCC key: every one, in runs of 48, normalises
 * as utf8proc and OpenCC would (Traditional ones converted). */
static void cjk_matches_reference(void **state)
{
    struct fix *f = *state;
    static const int32_t ranges[][2] = {{0x3400, 0x4DBF}, {0x4E00, 0x9FFF}};
    for (size_t r = 0; r < 2; r++) {
        for (int32_t c = ranges[r][0]; c <= ranges[r][1];) {
            char buf[48 * 4 + 1];
            size_t n = 0;
            for (int k = 0; k < 48 && c <= ranges[r][1]; k++, c++)
                n += (size_t)utf8proc_encode_char(c, (utf8proc_uint8_t *)buf + n);
            buf[n] = '\0';
            check(f, buf);
        }
    }
}

/* kb_norm_text_map keeps the normal forms of other characters in a small
 * cache: repeats, two characters sharing a cache slot (U+FF21 and U+FD21),
 * a form too long for it (U+FDFA, 18 characters) and an ignorable one
 * (U+200B) all come out as utf8proc makes them, and the map stays whole. */
static void char_cache_matches_reference(void **state)
{
    struct fix *f = *state;
    const char *s = "Ａﬁ\uFD21Ａ\uFDFAＡ，。，\u200Bx\uFD21ﬁ\uFDFA，Ω ΣΑΣ";
    for (int round = 0; round < 3; round++)
        check(f, s);
    char err[KB_ERR_MAX];
    char *out = NULL;
    size_t olen = 0, *map = NULL;
    assert_int_equal(kb_norm_text_map(f->n, s, strlen(s), &out, &olen, &map, err, sizeof err), 0);
    char *ref = reference(f, s); /* no Han: nothing for OpenCC to change */
    assert_string_equal(out, ref);
    free(ref);
    for (size_t i = 1; i <= olen; i++)
        assert_true(map[i] >= map[i - 1]);
    assert_int_equal(map[olen], strlen(s));
    free(out);
    free(map);
}

/* kb_norm_text against the reference only (kb_norm_text_map normalises
 * character by character, so combining sequences differ there by design). */
static void check_text(struct fix *f, const char *s)
{
    char *ref = reference(f, s), *out = norm(f, s);
    assert_string_equal(out, ref);
    free(ref);
    free(out);
}

/* Characters that combine with or vanish next to their neighbours: combining
 * marks (U+0301, U+0338 makes = into U+2260), kana voicing (U+3099, and the
 * half-width U+FF9E that becomes it), Hangul jamo (L + V + T compose), an
 * ignorable (U+200B), Kannada vowel signs that compose (U+0CC6 + U+0CD5),
 * NEL and CR LF (line breaks). */
static const char *const tricky[] = {
    "", "a", "E", "中", "=", "\r", "\n", "\r\n", "\u0301", "\u0338", "\u3099", "\uFF9E",
    "\u200B", "\u200B\u0301", "\u1100", "\u1161", "\u11A8", "가", "か", "\u0CC6", "\u0CD5",
    "\xC2\x85" /* NEL */, "Ａ", "ﬁ", "𠀀",
};

/* kb_norm_text cuts the text before ASCII, CJK ideographs and the safe
 * punctuation marks and normalises the pieces apart: every safe mark between
 * every pair of tricky neighbours normalises as utf8proc does on the whole. */
static void pieces_safe_marks(void **state)
{
    struct fix *f = *state;
    static const int32_t ranges[][2] = {
        {0x3000, 0x3029}, {0x3030, 0x303F}, {0xFF01, 0xFF5E}, {0x2010, 0x2027}, {0x2030, 0x205E},
    };
    const size_t nt = sizeof tricky / sizeof *tricky;
    for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++)
        for (int32_t c = ranges[r][0]; c <= ranges[r][1]; c++) {
            char mark[5];
            mark[utf8proc_encode_char(c, (utf8proc_uint8_t *)mark)] = '\0';
            for (size_t p = 0; p < nt; p++)
                for (size_t q = 0; q < nt; q++) {
                    char buf[64];
                    snprintf(buf, sizeof buf, "%s%s%s", tricky[p], mark, tricky[q]);
                    check_text(f, buf);
                }
        }
}

/* Random strings of tricky characters, safe marks, ASCII and Han. */
static void pieces_random(void **state)
{
    struct fix *f = *state;
    static const char *const more[] = {"，", "。", "“", "…", "①", "\u00A0", "Ω", "\u3000", "文"};
    uint64_t seed = 20261207;
    for (int iter = 0; iter < 20000; iter++) {
        char buf[512];
        random_text(&seed, 32, tricky, sizeof tricky / sizeof *tricky, more,
                    sizeof more / sizeof *more, buf);
        check_text(f, buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(skip_fixed_cases),
        cmocka_unit_test(skip_matches_opencc),
        cmocka_unit_test(ascii_matches_utf8proc),
        cmocka_unit_test(cjk_matches_reference),
        cmocka_unit_test(char_cache_matches_reference),
        cmocka_unit_test(pieces_safe_marks),
        cmocka_unit_test(pieces_random),
    };
    return cmocka_run_group_tests_name("norm_skip", tests, setup, teardown);
}
