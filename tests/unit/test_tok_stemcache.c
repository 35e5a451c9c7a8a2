/* Unit tests for the tokenizer's stem cache: the "Z" stem a word gets
 * through the cache is always the stemmer's own, whether the word is seen
 * for the first time, again, or after other words took its cache entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb_analyzer.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stems_match_stemmer),
    };
    return cmocka_run_group_tests_name("tok_stemcache", tests, NULL, NULL);
}
