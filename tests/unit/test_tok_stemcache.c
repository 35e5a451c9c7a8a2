/* Unit tests for the tokenizer's caches: the "Z" stem a word gets through
 * the stem cache is always the stemmer's own, and the words of a short CJK
 * run through the segmentation cache are always ICU's, whether the word or
 * run is seen for the first time, again, or after others took its entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_analyzer.h"
#include "kb_lexicon.h"
#include "kb_stem.h"
#include "kb_util.h"

struct got {
    char stem[KB_TOK_MAX_TERM + 2];
    int nstem;
};

static int on_tok(void *ud, const struct kb_token *t)
{
    struct got *g = ud;
    if (t->flags & KB_TOKF_STEM) {
        assert_true(t->len < sizeof g->stem);
        memcpy(g->stem, t->term, t->len);
        g->stem[t->len] = '\0';
        g->nstem++;
    }
    return 0;
}

static void stems_match_stemmer(void **state)
{
    (void)state;
    char err[KB_ERR_MAX];
    kb_analyzer *an = NULL;
    assert_int_equal(kb_analyzer_new(NULL, &an, err, sizeof err), 0);
    kb_stem *st = kb_stem_new();
    assert_non_null(st);
    static const char *const suffix[] = {"", "s", "ing", "ed", "ation", "ness", "ies", "ly"};
    uint64_t seed = 7;
    for (int round = 0; round < 3; round++) {
        seed = 7; /* the same words again: now from the cache */
        for (int i = 0; i < 6000; i++) {
            char w[64];
            size_t n = 0;
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t len = 2 + (size_t)((seed >> 33) % (round == 2 ? 40 : 12));
            for (size_t k = 0; k < len; k++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                w[n++] = (char)('a' + (seed >> 40) % 26);
            }
            const char *sx = suffix[(seed >> 20) % 8];
            memcpy(w + n, sx, strlen(sx));
            n += strlen(sx);
            w[n] = '\0';
            char want[KB_TOK_MAX_TERM + 2];
            int wn = kb_stem_word(st, w, n, want, sizeof want);
            struct got g = {{0}, 0};
            assert_int_equal(kb_analyze(an, KB_TOK_DOCUMENT, w, n, on_tok, &g, NULL, err,
                                        sizeof err), 0);
            if (wn > 0) {
                assert_int_equal(g.nstem, 1);
                assert_string_equal(g.stem + 1, want);
                assert_int_equal(g.stem[0], 'Z');
            } else {
                assert_int_equal(g.nstem, 0);
            }
        }
    }
    kb_stem_free(st);
    kb_analyzer_free(an);
}

/* The tokens of one run, as "term@pos flags;" in order. */
static int on_run_tok(void *ud, const struct kb_token *t)
{
    char item[128];
    snprintf(item, sizeof item, "%.*s@%u %x;", (int)t->len, t->term, t->pos, t->flags);
    kb_buf_adds(ud, item);
    return 0;
}

static char *run_tokens(kb_analyzer *an, const char *run)
{
    char err[KB_ERR_MAX];
    struct kb_buf b;
    kb_buf_init(&b);
    kb_buf_adds(&b, "");
    assert_int_equal(kb_analyze(an, KB_TOK_DOCUMENT, run, strlen(run), on_run_tok, &b, NULL,
                                err, sizeof err), 0);
    return kb_buf_take(&b);
}

/* 3,000 random runs of 1 to 10 characters (cached up to 8), tokenized
 * once each (ICU's words, or a repeat of an earlier identical run), then
 * twice more in another order, when most come from the cache and some
 * entries have been taken by other runs: the same tokens every time. */
static void segments_match_icu(void **state)
{
    (void)state;
    static const char *const alpha[] = {
        "知", "识", "库", "服", "务", "台", "打", "印", "机", "的", "是", "单", "击", "选",
        "择", "文", "件", "夹", "中", "国", "人", "民", "银", "行", "数", "据", "网", "络",
        "设", "置", "の", "カ", "ナ", "한", "𠀀", "〇", "理", "管", "系", "统",
    };
    enum { NRUNS = 3000 };
    char err[KB_ERR_MAX];
    kb_lexicon *lx = kb_lexicon_new_builtin();
    kb_analyzer *an = NULL;
    assert_int_equal(kb_analyzer_new(lx, &an, err, sizeof err), 0);
    char **runs = kb_xcalloc(NRUNS, sizeof *runs), **want = kb_xcalloc(NRUNS, sizeof *want);
    uint64_t seed = 11;
    for (size_t i = 0; i < NRUNS; i++) {
        char buf[64] = "";
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = 1 + (size_t)((seed >> 33) % 10);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            strcat(buf, alpha[(seed >> 33) % (sizeof alpha / sizeof *alpha)]);
        }
        runs[i] = kb_xstrdup(buf);
        want[i] = run_tokens(an, runs[i]);
    }
    for (int round = 1; round <= 2; round++)
        for (size_t j = 0; j < NRUNS; j++) {
            size_t i = (j * (round == 1 ? 7 : 1999)) % NRUNS; /* another order each round */
            char *got = run_tokens(an, runs[i]);
            assert_string_equal(got, want[i]);
            free(got);
        }
    for (size_t i = 0; i < NRUNS; i++) {
        free(runs[i]);
        free(want[i]);
    }
    free(runs);
    free(want);
    kb_analyzer_free(an);
    kb_lexicon_free(lx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stems_match_stemmer),
        cmocka_unit_test(segments_match_icu),
    };
    return cmocka_run_group_tests_name("tok_stemcache", tests, NULL, NULL);
}
